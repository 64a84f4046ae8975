//! Node commands: ls, get, stat, create, set, delete, deleteall, sync,
//! getAllChildrenNumber, getEphemerals.
//!
//! Invariants: paths are checked client-side as zkCli.sh checks them (a bad
//! path never reaches the server); a watch is recorded in the shell's
//! [`WatchSet`](zk_client::WatchSet) only once the server has armed it.

use crate::cmd_acl::parse_acl_arg;
use crate::commands::usage;
use crate::opts::{self, flag, value, Parsed, Spec};
use crate::output::*;
use crate::shell::Shell;
use serde_json::json;
use std::collections::VecDeque;
use zk_client::{op, Acl, Client, CreateMode, ErrorCode, OpResult, WatchKind, ZkError};

/// Parses options, mapping failures to zkCli's messages.
pub fn parse(words: &[String], specs: &[Spec]) -> Result<Parsed, CmdError> {
    opts::parse(words, specs).map_err(|e| match e {
        opts::OptError::Unrecognized(o) => CmdError::msg(
            format!("org.apache.commons.cli.UnrecognizedOptionException: Unrecognized option: {o}"),
            Status::Usage,
        ),
        opts::OptError::MissingValue(_) => CmdError::Usage(usage(&words[0])),
    })
}

/// The path argument `i`, or the command's usage line.
pub fn path_arg(p: &Parsed, i: usize) -> Result<&str, CmdError> {
    let path = p.arg(i).ok_or_else(|| CmdError::Usage(usage(&p.args[0])))?;
    validate_path(path, false)?;
    Ok(path)
}

/// zkCli's client-side path check (`PathUtils.validatePath`).
pub fn validate_path(path: &str, sequential: bool) -> Result<(), CmdError> {
    let bad = |why: String| Err(CmdError::msg(why, Status::Usage));
    if path.is_empty() {
        return bad("Path length must be > 0".into());
    }
    if !path.starts_with('/') {
        return bad("Path must start with / character".into());
    }
    if path.len() == 1 {
        return Ok(());
    }
    if path.ends_with('/') && !sequential {
        return bad("Path must not end with / character".into());
    }
    for (i, seg) in path[1..].split('/').enumerate() {
        let at = 1 + path[1..]
            .split('/')
            .take(i)
            .map(|s| s.len() + 1)
            .sum::<usize>();
        if seg.is_empty() && !(sequential && at == path.len()) {
            return bad(format!("empty node name specified @{at}"));
        }
        if seg == "." || seg == ".." {
            return bad(format!("relative paths not allowed @{at}"));
        }
        if let Some(j) = seg.find('\0') {
            return bad(format!("null character not allowed @{}", at + j));
        }
    }
    Ok(())
}

fn on_path(path: &str) -> impl Fn(ZkError) -> CmdError + '_ {
    move |e| CmdError::Zk(e, Some(path.to_string()))
}

fn deprecated(name: &str, flag_name: &str) -> String {
    format!("'{name} path [watch]' has been deprecated. Please use '{name} [{flag_name}] path' instead.")
}

/// Every path of the subtree at `root`, breadth first (root first), each
/// node's children sorted (zkCli's `ls -R` order).
pub async fn subtree(zk: &Client, root: &str) -> Result<Vec<String>, ZkError> {
    let mut out = vec![root.to_string()];
    let mut queue = VecDeque::from([root.to_string()]);
    while let Some(p) = queue.pop_front() {
        let mut children = zk.get_children(&p, false).await?;
        children.sort();
        for child in children {
            let full = if p == "/" {
                format!("/{child}")
            } else {
                format!("{p}/{child}")
            };
            out.push(full.clone());
            queue.push_back(full);
        }
    }
    Ok(out)
}

pub async fn ls(sh: &mut Shell, words: &[String]) -> Result<Reply, CmdError> {
    let p = parse(words, &[flag('s'), flag('w'), flag('R')])?;
    let path = path_arg(&p, 1)?;
    let mut text = Vec::new();
    let mut watch = p.has('w');
    if p.args.len() > 2 {
        text.push(deprecated("ls", "-w"));
        watch = true;
    }
    let zk = sh.client()?;
    if p.has('R') {
        let all = subtree(zk, path).await.map_err(on_path(path))?;
        text.extend(all.iter().cloned());
        return Ok(Reply::new(text, json!({"path": path, "paths": all})));
    }
    // zkCli.sh sorts what it lists; the server's order is a hash set's.
    let (mut children, stat) = if p.has('s') {
        let (c, s) = zk.get_children2(path, watch).await.map_err(on_path(path))?;
        (c, Some(s))
    } else {
        (
            zk.get_children(path, watch).await.map_err(on_path(path))?,
            None,
        )
    };
    children.sort();
    if watch {
        sh.watches.lock().add(WatchKind::Child, path);
    }
    text.push(java_list(&children));
    let mut j = json!({"path": path, "children": children});
    if let Some(s) = stat {
        text.extend(stat_lines(&s));
        j["stat"] = stat_json(&s);
    }
    Ok(Reply::new(text, j))
}

pub async fn get(sh: &mut Shell, words: &[String]) -> Result<Reply, CmdError> {
    let p = parse(words, &[flag('s'), flag('w')])?;
    let path = path_arg(&p, 1)?;
    let mut text = Vec::new();
    let mut watch = p.has('w');
    if p.args.len() > 2 {
        text.push(deprecated("get", "-w"));
        watch = true;
    }
    let (data, stat) = sh
        .client()?
        .get_data(path, watch)
        .await
        .map_err(on_path(path))?;
    if watch {
        sh.watches.lock().add(WatchKind::Data, path);
    }
    text.push(data_text(&data));
    let mut j = json!({"path": path, "data": data_json(&data)});
    if p.has('s') {
        text.extend(stat_lines(&stat));
        j["stat"] = stat_json(&stat);
    }
    Ok(Reply::new(text, j))
}

pub async fn stat(sh: &mut Shell, words: &[String]) -> Result<Reply, CmdError> {
    let p = parse(words, &[flag('w')])?;
    let path = path_arg(&p, 1)?;
    let mut text = Vec::new();
    let mut watch = p.has('w');
    if p.args.len() > 2 {
        text.push(deprecated("stat", "-w"));
        watch = true;
    }
    let found = sh
        .client()?
        .exists(path, watch)
        .await
        .map_err(on_path(path))?;
    if watch {
        let kind = if found.is_some() {
            WatchKind::Data
        } else {
            WatchKind::Exist
        };
        sh.watches.lock().add(kind, path);
    }
    let stat = found.ok_or_else(|| on_path(path)(ZkError::Api(ErrorCode::NoNode)))?;
    text.extend(stat_lines(&stat));
    Ok(Reply::new(
        text,
        json!({"path": path, "stat": stat_json(&stat)}),
    ))
}

/// Largest TTL ZooKeeper accepts (`EphemeralType.TTL.maxValue()`).
const MAX_TTL_MS: i64 = 0xFF_FFFF_FFFF;

fn create_mode(p: &Parsed) -> Result<(CreateMode, Option<i64>), CmdError> {
    let msg = |m: &str| Err(CmdError::msg(m, Status::Usage));
    let (s, e, c) = (p.has('s'), p.has('e'), p.has('c'));
    let ttl = match p.value('t') {
        None => None,
        Some(v) => match v.parse::<i64>() {
            Ok(t) => Some(t),
            Err(_) => return msg("-t argument must be a long value"),
        },
    };
    if c && (s || e) {
        return msg(
            "-c cannot be combined with -s or -e. Containers cannot be ephemeral or sequential.",
        );
    }
    if let Some(t) = ttl {
        if e {
            return msg("TTLs cannot be used with Ephemeral znodes");
        }
        if c {
            return msg("TTLs cannot be used with Container znodes");
        }
        if t <= 0 || t > MAX_TTL_MS {
            return msg("ttl must be positive and cannot be larger than: 1099511627775");
        }
    }
    let mode = match (s, e, c, ttl.is_some()) {
        (_, _, true, _) => CreateMode::Container,
        (true, true, _, _) => CreateMode::EphemeralSequential,
        (false, true, _, _) => CreateMode::Ephemeral,
        (true, false, _, true) => CreateMode::PersistentSequentialWithTtl,
        (false, false, _, true) => CreateMode::PersistentWithTtl,
        (true, false, _, false) => CreateMode::PersistentSequential,
        (false, false, _, false) => CreateMode::Persistent,
    };
    Ok((mode, ttl))
}

pub async fn create(sh: &mut Shell, words: &[String]) -> Result<Reply, CmdError> {
    let p = parse(words, &[flag('s'), flag('e'), flag('c'), value('t')])?;
    let (mode, ttl) = create_mode(&p)?;
    let path = p.arg(1).ok_or_else(|| CmdError::Usage(usage("create")))?;
    validate_path(path, mode.is_sequential())?;
    let data = p.arg(2).map(|d| d.as_bytes().to_vec());
    let mut notes = Vec::new();
    let acl = match p.arg(3) {
        None => Acl::open_unsafe(),
        Some(spec) => {
            let (acl, warnings) = parse_acl_arg(spec);
            notes = warnings;
            if acl.is_empty() {
                notes.push("KeeperErrorCode = InvalidACL".into());
                notes.push("Acl is not valid : null".into());
                return Err(CmdError::Msg(notes, Status::Usage));
            }
            acl
        }
    };
    let zk = sh.client()?;
    let result = match (mode, ttl) {
        (CreateMode::Container, _) => zk.create_container(path, data, &acl).await.map(|r| r.0),
        (_, Some(t)) => zk.create_ttl(path, data, &acl, mode, t).await.map(|r| r.0),
        _ => zk.create2(path, data, &acl, mode).await.map(|r| r.0),
    };
    match result {
        Ok(created) => {
            let mut reply = Reply::new(
                vec![format!("Created {created}")],
                json!({"created": created}),
            );
            // zkCli prints ACL-parsing warnings before the result.
            notes.append(&mut reply.text);
            reply.text = notes;
            Ok(reply)
        }
        Err(ZkError::Api(ErrorCode::InvalidAcl)) => {
            let e = ZkError::Api(ErrorCode::InvalidAcl);
            notes.push(keeper_message(&e, Some(path)));
            notes.push(zk_message(&e, Some(path)));
            Err(CmdError::Msg(notes, Status::ZkError))
        }
        Err(e) => Err(on_path(path)(e)),
    }
}

fn version_opt(p: &Parsed) -> Result<i32, CmdError> {
    match p.value('v') {
        None => Ok(-1),
        Some(v) => v
            .parse()
            .map_err(|_| CmdError::msg("-v argument must be an int value", Status::Usage)),
    }
}

pub async fn set(sh: &mut Shell, words: &[String]) -> Result<Reply, CmdError> {
    let p = parse(words, &[flag('s'), value('v')])?;
    if p.args.len() < 3 {
        return Err(CmdError::Usage(usage("set")));
    }
    let path = path_arg(&p, 1)?;
    let version = version_opt(&p)?;
    let data = p.arg(2).unwrap_or_default().as_bytes().to_vec();
    let stat = sh
        .client()?
        .set_data(path, data, version)
        .await
        .map_err(on_path(path))?;
    let text = if p.has('s') {
        stat_lines(&stat)
    } else {
        Vec::new()
    };
    Ok(Reply::new(
        text,
        json!({"path": path, "stat": stat_json(&stat)}),
    ))
}

pub async fn delete(sh: &mut Shell, words: &[String]) -> Result<Reply, CmdError> {
    let p = parse(words, &[value('v')])?;
    let path = path_arg(&p, 1)?;
    let version = version_opt(&p)?;
    sh.client()?
        .delete(path, version)
        .await
        .map_err(on_path(path))?;
    Ok(Reply::quiet(json!({"deleted": path})))
}

/// Deletes the subtree at `path`, deepest first, `batch` deletes per multi.
pub async fn delete_tree(zk: &Client, path: &str, batch: usize) -> Result<usize, CmdError> {
    let mut all = subtree(zk, path).await.map_err(on_path(path))?;
    all.reverse();
    for chunk in all.chunks(batch.max(1)) {
        let ops = chunk.iter().map(|p| op::delete(p, -1)).collect();
        let results = zk.multi(ops).await.map_err(on_path(path))?;
        for (r, p) in results.iter().zip(chunk) {
            if let OpResult::Error { err } = r {
                if *err != 0 && *err != ErrorCode::RuntimeInconsistency.code() {
                    return Err(on_path(p)(ZkError::from_code(*err)));
                }
            }
        }
    }
    Ok(all.len())
}

pub async fn deleteall(sh: &mut Shell, words: &[String]) -> Result<Reply, CmdError> {
    let p = parse(words, &[value('b')])?;
    let path = path_arg(&p, 1)?;
    let batch = match p.value('b') {
        None => 1000,
        Some(b) => b
            .parse::<usize>()
            .map_err(|_| CmdError::msg("-b argument must be an int value", Status::Usage))?,
    };
    let n = delete_tree(sh.client()?, path, batch).await?;
    Ok(Reply::quiet(json!({"deleted": path, "count": n})))
}

pub async fn sync(sh: &mut Shell, words: &[String]) -> Result<Reply, CmdError> {
    let p = parse(words, &[])?;
    let path = path_arg(&p, 1)?;
    sh.client()?.sync(path).await.map_err(on_path(path))?;
    Ok(Reply::new(
        vec!["Sync is OK".into()],
        json!({"synced": path}),
    ))
}

pub async fn all_children_number(sh: &mut Shell, words: &[String]) -> Result<Reply, CmdError> {
    let p = parse(words, &[])?;
    let path = path_arg(&p, 1)?;
    let n = sh
        .client()?
        .get_all_children_number(path)
        .await
        .map_err(on_path(path))?;
    Ok(Reply::new(
        vec![n.to_string()],
        json!({"path": path, "count": n}),
    ))
}

pub async fn ephemerals(sh: &mut Shell, words: &[String]) -> Result<Reply, CmdError> {
    let p = parse(words, &[])?;
    let path = match p.arg(1) {
        Some(_) => path_arg(&p, 1)?,
        None => "/",
    };
    let list = sh
        .client()?
        .get_ephemerals(path)
        .await
        .map_err(on_path(path))?;
    Ok(Reply::new(
        vec![java_list(&list)],
        json!({"path": path, "ephemerals": list}),
    ))
}

#[cfg(test)]
mod tests {
    use super::validate_path;

    #[test]
    fn paths_checked_like_zkcli() {
        assert!(validate_path("/", false).is_ok());
        assert!(validate_path("/a/b", false).is_ok());
        assert!(validate_path("/a/", true).is_ok());
        for bad in ["", "a", "/a/", "/a//b", "/a/./b", "/a/.."] {
            assert!(validate_path(bad, false).is_err(), "{bad}");
        }
    }
}
