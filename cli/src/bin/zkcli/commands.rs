//! The command table: each command's usage line and its handler.
//!
//! Invariant: the usage lines and their order are zkCli.sh 3.8's (sorted by
//! name, case-sensitive), followed by zkcli's own commands, so `help` output
//! and every "wrong arguments" line match zkCli.sh's.

use crate::output::{CmdError, Reply, Status};
use crate::shell::Shell;
use crate::{cmd_acl, cmd_extra, cmd_node, cmd_quota, cmd_watch};
use serde_json::json;

/// (name, usage line), zkCli.sh's first.
pub const COMMANDS: &[(&str, &str)] = &[
    ("addWatch", "addWatch [-m mode] path # optional mode is one of [PERSISTENT, PERSISTENT_RECURSIVE] - default is PERSISTENT_RECURSIVE"),
    ("addauth", "addauth scheme auth"),
    ("close", "close "),
    ("config", "config [-c] [-w] [-s]"),
    ("connect", "connect host:port"),
    ("create", "create [-s] [-e] [-c] [-t ttl] path [data] [acl]"),
    ("delete", "delete [-v version] path"),
    ("deleteall", "deleteall path [-b batch size]"),
    ("delquota", "delquota [-n|-b|-N|-B] path"),
    ("get", "get [-s] [-w] path"),
    ("getAcl", "getAcl [-s] path"),
    ("getAllChildrenNumber", "getAllChildrenNumber path"),
    ("getEphemerals", "getEphemerals path"),
    ("history", "history "),
    ("listquota", "listquota path"),
    ("ls", "ls [-s] [-w] [-R] path"),
    ("printwatches", "printwatches on|off"),
    ("quit", "quit "),
    ("reconfig", "reconfig [-s] [-v version] [[-file path] | [-members serverID=host:port1:port2;port3[,...]*]] | [-add serverId=host:port1:port2;port3[,...]]* [-remove serverId[,...]*]"),
    ("redo", "redo cmdno"),
    ("removewatches", "removewatches path [-c|-d|-a] [-l]"),
    ("set", "set [-s] [-v version] path data"),
    ("setAcl", "setAcl [-s] [-v version] [-R] path acl"),
    ("setquota", "setquota -n|-b|-N|-B val path"),
    ("stat", "stat [-w] path"),
    ("sync", "sync path"),
    ("version", "version "),
    ("whoami", "whoami "),
    // zkcli's own, beyond zkCli.sh:
    ("tree", "tree [-d depth] path"),
    ("dump", "dump path file"),
    ("restore", "restore file path"),
];

/// The usage line of a command.
pub fn usage(name: &str) -> String {
    COMMANDS
        .iter()
        .find(|(n, _)| *n == name)
        .map(|(_, u)| u.to_string())
        .unwrap_or_default()
}

/// zkCli.sh's help text.
pub fn help_lines() -> Vec<String> {
    let mut lines = vec![
        "ZooKeeper -server host:port[,host:port...][/chroot] [-timeout ms] [-r] [-o json] cmd args"
            .to_string(),
    ];
    lines.extend(COMMANDS.iter().map(|(_, u)| format!("\t{u}")));
    lines
}

/// `zkcli version`'s line; walk-style drivers wait for its prefix.
pub fn version_line() -> String {
    format!(
        "ZooKeeper CLI version: zkcli {} (ZooKeeper 3.8 protocol)",
        env!("CARGO_PKG_VERSION")
    )
}

/// Runs `words` (a command and its arguments) on the shell.
pub async fn dispatch(sh: &mut Shell, words: &[String]) -> Result<Reply, CmdError> {
    match words[0].as_str() {
        "ls" => cmd_node::ls(sh, words).await,
        "get" => cmd_node::get(sh, words).await,
        "stat" => cmd_node::stat(sh, words).await,
        "create" => cmd_node::create(sh, words).await,
        "set" => cmd_node::set(sh, words).await,
        "delete" => cmd_node::delete(sh, words).await,
        "deleteall" | "rmr" => cmd_node::deleteall(sh, words).await,
        "sync" => cmd_node::sync(sh, words).await,
        "getAllChildrenNumber" => cmd_node::all_children_number(sh, words).await,
        "getEphemerals" => cmd_node::ephemerals(sh, words).await,
        "getAcl" => cmd_acl::get_acl(sh, words).await,
        "setAcl" => cmd_acl::set_acl(sh, words).await,
        "addauth" => cmd_acl::addauth(sh, words).await,
        "whoami" => cmd_acl::whoami(sh, words).await,
        "addWatch" => cmd_watch::add_watch(sh, words).await,
        "removewatches" => cmd_watch::remove_watches(sh, words).await,
        "printwatches" => cmd_watch::printwatches(sh, words),
        "setquota" => cmd_quota::setquota(sh, words).await,
        "listquota" => cmd_quota::listquota(sh, words).await,
        "delquota" => cmd_quota::delquota(sh, words).await,
        "config" => cmd_extra::config(sh, words).await,
        "reconfig" => cmd_extra::reconfig(sh, words).await,
        "tree" => cmd_extra::tree(sh, words).await,
        "dump" => cmd_extra::dump(sh, words).await,
        "restore" => cmd_extra::restore(sh, words).await,
        "history" => Ok(history(sh)),
        "version" => Ok(Reply::new(
            vec![version_line()],
            json!({"version": env!("CARGO_PKG_VERSION")}),
        )),
        "close" => {
            sh.disconnect().await;
            Ok(Reply::quiet(json!({"closed": true})))
        }
        "connect" => connect(sh, words).await,
        other => {
            let mut lines = help_lines();
            lines.push(format!("Command not found: Command not found {other}"));
            Err(CmdError::Msg(lines, Status::Usage))
        }
    }
}

fn history(sh: &Shell) -> Reply {
    let last = sh.history.len().saturating_sub(1);
    let first = last.saturating_sub(10);
    let lines: Vec<String> = (first..=last)
        .map(|i| format!("{i} - {}", sh.history[i]))
        .collect();
    Reply::new(lines.clone(), json!(lines))
}

async fn connect(sh: &mut Shell, words: &[String]) -> Result<Reply, CmdError> {
    let server = match words.get(1) {
        Some(s) if words.len() == 2 => s.clone(),
        // zkCli reconnects to the same servers when given no address.
        None => sh.opts.server.clone(),
        _ => return Err(CmdError::Usage(usage("connect"))),
    };
    sh.connect(&server)
        .await
        .map_err(|e| CmdError::Zk(e, None))?;
    Ok(Reply::quiet(json!({"connected": server})))
}
