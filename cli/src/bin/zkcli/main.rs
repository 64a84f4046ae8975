//! `zkcli`: the bundled ZooKeeper shell, a drop-in for zkCli.sh.
//!
//! Invariants:
//! - Called as zkCli.sh is (`-server host:port[,...][/chroot] [-timeout ms]
//!   [-r] [cmd args]`), it prints what zkCli.sh 3.8 prints.
//! - With a command it runs that one command and exits with a status a
//!   script can test (see `HELP`); without one it reads commands from the
//!   terminal (line editing, history, completion) or, when stdin is not a
//!   terminal, line by line without a prompt, as zkCli.sh does.

mod cmd_acl;
mod cmd_extra;
mod cmd_node;
mod cmd_quota;
mod cmd_watch;
mod commands;
mod opts;
mod output;
mod repl;
mod shell;
mod tokenize;

use output::{CmdError, Reply, Status};
use shell::{Options, Outcome, Shell, StdoutPrinter};
use std::io::{IsTerminal, Write};
use std::sync::Arc;
use std::time::Duration;

const HELP: &str = "\
usage: zkcli [-server host:port[,host:port...][/chroot]] [-timeout ms] [-r] [-o json] [cmd args...]

The ZooKeeper shell. Without a command it is interactive (history in
~/.zkcli_history or $ZKCLI_HISTORY, Tab completes commands and znode paths);
with stdin not a terminal it reads one command per line. With a command it
runs it and exits. `zkcli help` lists the commands.

  -server    servers to try in turn, optional chroot (default localhost:2181)
  -timeout   session timeout in ms (default 30000); also the connect timeout
  -r         allow a read-only server
  -o json    one JSON value per command result (errors: {\"error\",\"code\",\"status\"})

Exit status of a one-shot command:
  0  success
  1  ZooKeeper error answered by the server (NoNode, NoAuth, BadVersion, NodeExists, ...)
  2  usage: unknown command or option, missing or malformed argument, bad path
  3  connection: no server reachable (refused, timed out), connection or session lost
(zkCli.sh itself exits 1 for every failure, including a refused connection.)
";

fn main() {
    std::process::exit(run());
}

struct Args {
    opts: Options,
    command: Vec<String>,
}

fn parse_args() -> Result<Args, String> {
    let mut opts = Options {
        server: "localhost:2181".into(),
        timeout: Duration::from_millis(30_000),
        read_only: false,
        json: false,
    };
    let mut it = std::env::args().skip(1).peekable();
    while let Some(a) = it.peek().cloned() {
        match a.as_str() {
            "-server" => {
                it.next();
                opts.server = it.next().ok_or("-server needs host:port")?;
            }
            "-timeout" => {
                it.next();
                let ms: u64 = it
                    .next()
                    .and_then(|v| v.parse().ok())
                    .ok_or("-timeout needs a number of milliseconds")?;
                opts.timeout = Duration::from_millis(ms.max(1));
            }
            "-r" => {
                it.next();
                opts.read_only = true;
            }
            "-o" => {
                it.next();
                match it.next().as_deref() {
                    Some("json") => opts.json = true,
                    Some("text") => opts.json = false,
                    _ => return Err("-o takes json or text".into()),
                }
            }
            "-client-configuration" => {
                it.next();
                it.next();
                eprintln!("zkcli: -client-configuration is not supported; ignored");
            }
            _ => break,
        }
    }
    Ok(Args {
        opts,
        command: it.collect(),
    })
}

fn run() -> i32 {
    let args = match parse_args() {
        Ok(a) => a,
        Err(why) => {
            eprintln!("zkcli: {why}\n{HELP}");
            return Status::Usage as i32;
        }
    };
    if matches!(
        args.command.first().map(String::as_str),
        Some("-h" | "--help")
    ) {
        print!("{HELP}");
        return 0;
    }
    let rt = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("zkcli: cannot start the runtime: {e}");
            return 1;
        }
    };
    if !args.command.is_empty() {
        return rt.block_on(one_shot(args));
    }
    if std::io::stdin().is_terminal() {
        repl::interactive(&rt, args.opts)
    } else {
        rt.block_on(repl::piped(args.opts))
    }
}

/// Prints a command's result; returns its status.
pub fn show(json: bool, result: &Result<Reply, CmdError>) -> Status {
    let mut out = std::io::stdout().lock();
    match result {
        Ok(reply) => {
            if json {
                let _ = writeln!(out, "{}", reply.json);
            } else {
                for line in &reply.text {
                    let _ = writeln!(out, "{line}");
                }
            }
            let _ = out.flush();
            Status::Ok
        }
        Err(e) => {
            if json {
                let _ = writeln!(out, "{}", e.json());
                let _ = out.flush();
            } else {
                let _ = out.flush();
                drop(out);
                let mut err = std::io::stderr().lock();
                for line in e.lines() {
                    let _ = writeln!(err, "{line}");
                }
                let _ = err.flush();
            }
            e.status()
        }
    }
}

/// Pause between connection attempts at start-up.
const RETRY_PAUSE: Duration = Duration::from_millis(250);

/// Connects, printing zkCli's banner lines (none in JSON mode).
pub async fn open(shell: &mut Shell, banner: &[&str]) -> Result<(), CmdError> {
    let server = shell.opts.server.clone();
    if !shell.json() {
        println!("Connecting to {server}");
        for line in banner {
            println!("{line}");
        }
    }
    // zkCli.sh keeps trying while a server starts up; retry until the
    // timeout (bounded: one attempt per RETRY_PAUSE at most).
    let deadline = tokio::time::Instant::now() + shell.opts.timeout;
    let mut result = shell.connect(&server).await;
    while matches!(result, Err(zk_client::ZkError::ConnectFailed(_)))
        && tokio::time::Instant::now() + RETRY_PAUSE < deadline
    {
        tokio::time::sleep(RETRY_PAUSE).await;
        result = shell.connect(&server).await;
    }
    result.map_err(|e| {
        CmdError::Msg(
            vec![
                output::keeper_message(&zk_client::ZkError::ConnectionLoss, Some("/")),
                format!("zkcli: {e}"),
            ],
            Status::Connection,
        )
    })
}

async fn one_shot(args: Args) -> i32 {
    let json = args.opts.json;
    let printer = Arc::new(StdoutPrinter);
    let mut shell = Shell::new(args.opts, printer);
    if args.command[0] == "help" {
        show(
            json,
            &Ok(Reply::new(commands::help_lines(), serde_json::json!(null))),
        );
        return 0;
    }
    // The connect event is not part of a JSON result.
    if json {
        shell
            .print_watches
            .store(false, std::sync::atomic::Ordering::Relaxed);
    }
    if let Err(e) = open(&mut shell, &[]).await {
        return show(json, &Err(e)) as i32;
    }
    let line = args
        .command
        .iter()
        .map(|w| {
            if w.contains(char::is_whitespace) {
                format!("\"{w}\"")
            } else {
                w.clone()
            }
        })
        .collect::<Vec<_>>()
        .join(" ");
    let status = match shell.run_line(&line).await {
        Outcome::Quit => Status::Ok,
        Outcome::Done(result) => show(json, &result),
    };
    // Without a close the server would keep ephemerals until the session expires.
    shell
        .print_watches
        .store(false, std::sync::atomic::Ordering::Relaxed);
    shell.disconnect().await;
    status as i32
}
