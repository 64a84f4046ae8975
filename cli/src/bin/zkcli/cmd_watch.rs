//! Watch commands: addWatch, removewatches, printwatches.
//!
//! Invariant: removewatches first checks the shell's own record of the
//! session's watches (as Apache's client does): removing a watch the session
//! does not hold is NoWatcher without a round trip; after a successful
//! removal the matching *WatchRemoved events are printed like server events.

use crate::cmd_node::{parse, path_arg};
use crate::commands::usage;
use crate::opts::{flag, value};
use crate::output::*;
use crate::shell::Shell;
use jute::proto::{add_watch_mode, event_type, keeper_state, watcher_type};
use serde_json::json;
use std::sync::atomic::Ordering;
use zk_client::{ErrorCode, WatchKind, ZkError};

pub async fn add_watch(sh: &mut Shell, words: &[String]) -> Result<Reply, CmdError> {
    let p = parse(words, &[value('m')])?;
    let (mode, kind) = match p.value('m') {
        None | Some("PERSISTENT_RECURSIVE") => (
            add_watch_mode::PERSISTENT_RECURSIVE,
            WatchKind::PersistentRecursive,
        ),
        Some("PERSISTENT") => (add_watch_mode::PERSISTENT, WatchKind::Persistent),
        Some(_) => return Err(CmdError::Usage(usage("addWatch"))),
    };
    let path = path_arg(&p, 1)?;
    sh.client()?
        .add_watch(path, mode)
        .await
        .map_err(|e| CmdError::Zk(e, Some(path.into())))?;
    sh.watches.lock().add(kind, path);
    Ok(Reply::quiet(
        json!({"path": path, "watch": format!("{kind:?}")}),
    ))
}

pub async fn remove_watches(sh: &mut Shell, words: &[String]) -> Result<Reply, CmdError> {
    let p = parse(words, &[flag('c'), flag('d'), flag('a'), flag('l')])?;
    let path = path_arg(&p, 1)?;
    let wtype = if p.has('c') {
        watcher_type::CHILDREN
    } else if p.has('d') {
        watcher_type::DATA
    } else {
        watcher_type::ANY
    };
    let (data, child, persistent) = {
        let w = sh.watches.lock();
        let data = w.contains(WatchKind::Data, path) || w.contains(WatchKind::Exist, path);
        let child = w.contains(WatchKind::Child, path);
        let persistent = w.contains(WatchKind::Persistent, path)
            || w.contains(WatchKind::PersistentRecursive, path);
        match wtype {
            watcher_type::CHILDREN => (false, child, false),
            watcher_type::DATA => (data, false, false),
            _ => (data, child, persistent),
        }
    };
    let no_watcher = || CmdError::Zk(ZkError::Api(ErrorCode::NoWatcher), Some(path.into()));
    if !(data || child || persistent) {
        return Err(no_watcher());
    }
    if !p.has('l') {
        sh.client()?
            .remove_watches(path, wtype)
            .await
            .map_err(|e| CmdError::Zk(e, Some(path.into())))?;
    }
    {
        let mut w = sh.watches.lock();
        if data {
            w.remove(WatchKind::Data, path);
            w.remove(WatchKind::Exist, path);
        }
        if child {
            w.remove(WatchKind::Child, path);
        }
        if persistent {
            w.remove(WatchKind::Persistent, path);
            w.remove(WatchKind::PersistentRecursive, path);
        }
    }
    let ok = keeper_state::SYNC_CONNECTED;
    if data {
        sh.local_event(event_type::DATA_WATCH_REMOVED, ok, path);
    }
    if child {
        sh.local_event(event_type::CHILD_WATCH_REMOVED, ok, path);
    }
    if persistent {
        sh.local_event(event_type::PERSISTENT_WATCH_REMOVED, ok, path);
    }
    Ok(Reply::quiet(json!({"path": path, "removed": true})))
}

pub fn printwatches(sh: &mut Shell, words: &[String]) -> Result<Reply, CmdError> {
    match words.get(1).map(String::as_str) {
        None => {
            let on = sh.print_watches.load(Ordering::Relaxed);
            let word = if on { "on" } else { "off" };
            Ok(Reply::new(
                vec![format!("printwatches is {word}")],
                json!({"printwatches": on}),
            ))
        }
        Some(v @ ("on" | "off")) => {
            sh.print_watches.store(v == "on", Ordering::Relaxed);
            Ok(Reply::quiet(json!({"printwatches": v == "on"})))
        }
        Some(_) => Err(CmdError::Usage(usage("printwatches"))),
    }
}
