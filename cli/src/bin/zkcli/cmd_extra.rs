//! config, reconfig, and zkcli's own commands: tree, dump, restore.
//!
//! Dump format (JSON, version 1): `{"format":"zkcli-dump","version":1,
//! "root":P,"nodes":[{"path":REL,"data":BASE64|null,"acl":[...]}]}` with
//! nodes breadth first, the root first (`REL` = "" for it). Invariants:
//! ephemeral nodes are not dumped (they belong to a session, not to the
//! data); restore creates parents before children, so the file's order
//! is a valid creation order, and never overwrites an existing node except
//! the restore root itself (its data and ACL are set).

use crate::cmd_node::{parse, path_arg, subtree};
use crate::commands::usage;
use crate::opts::{flag, value};
use crate::output::*;
use crate::shell::Shell;
use base64::Engine;
use serde_json::{json, Value};
use zk_client::{Acl, CreateMode, ErrorCode, ZkError};

fn zk_err(path: &str) -> impl Fn(ZkError) -> CmdError + '_ {
    move |e| CmdError::Zk(e, Some(path.to_string()))
}

/// `version=V` and each server's client address, as `config -c` shows them.
fn client_config(text: &str) -> String {
    let mut version = "";
    let mut hosts = Vec::new();
    for line in text.lines() {
        if let Some(v) = line.strip_prefix("version=") {
            version = v;
        } else if line.starts_with("server.") {
            if let Some((_, client)) = line.split_once(';') {
                hosts.push(client.to_string());
            }
        }
    }
    format!("{version} {}", hosts.join(","))
}

pub async fn config(sh: &mut Shell, words: &[String]) -> Result<Reply, CmdError> {
    let p = parse(words, &[flag('c'), flag('w'), flag('s')])?;
    let (data, stat) = sh
        .client()?
        .get_config(p.has('w'))
        .await
        .map_err(|e| CmdError::Zk(e, None))?;
    let text = data
        .as_ref()
        .map(|d| String::from_utf8_lossy(d).into_owned())
        .unwrap_or_default();
    let mut lines = vec![if p.has('c') {
        client_config(&text)
    } else {
        text.clone()
    }];
    let mut j = json!({"config": text});
    if p.has('s') {
        lines.extend(stat_lines(&stat));
        j["stat"] = stat_json(&stat);
    }
    Ok(Reply::new(lines, j))
}

pub async fn reconfig(sh: &mut Shell, words: &[String]) -> Result<Reply, CmdError> {
    let (mut joining, mut leaving, mut members) = (None, None, None);
    let mut from_config = -1i64;
    let mut show_stat = false;
    let bad = || CmdError::Usage(usage("reconfig"));
    let mut it = words[1..].iter();
    while let Some(w) = it.next() {
        match w.as_str() {
            "-s" => show_stat = true,
            "-v" => {
                let v = it.next().ok_or_else(bad)?;
                from_config =
                    i64::from_str_radix(v.trim_start_matches("0x"), 16).map_err(|_| bad())?;
            }
            "-add" => joining = Some(it.next().ok_or_else(bad)?.clone()),
            "-remove" => leaving = Some(it.next().ok_or_else(bad)?.clone()),
            "-members" => members = Some(it.next().ok_or_else(bad)?.clone()),
            "-file" => {
                let file = it.next().ok_or_else(bad)?;
                let text = std::fs::read_to_string(file)
                    .map_err(|e| CmdError::msg(format!("{file}: {e}"), Status::Usage))?;
                let lines: Vec<&str> = text
                    .lines()
                    .filter(|l| {
                        l.starts_with("server.")
                            || l.starts_with("group")
                            || l.starts_with("weight")
                    })
                    .collect();
                members = Some(lines.join(","));
            }
            _ => return Err(bad()),
        }
    }
    if joining.is_none() && leaving.is_none() && members.is_none() {
        return Err(bad());
    }
    let (data, stat) = sh
        .client()?
        .reconfig(
            joining.as_deref(),
            leaving.as_deref(),
            members.as_deref(),
            from_config,
        )
        .await
        .map_err(|e| CmdError::Zk(e, None))?;
    let mut lines = vec!["Committed new configuration:".to_string(), data_text(&data)];
    if show_stat {
        lines.extend(stat_lines(&stat));
    }
    Ok(Reply::new(
        lines,
        json!({"config": data_json(&data), "stat": stat_json(&stat)}),
    ))
}

pub async fn tree(sh: &mut Shell, words: &[String]) -> Result<Reply, CmdError> {
    let p = parse(words, &[value('d')])?;
    let path = path_arg(&p, 1)?;
    let max_depth = match p.value('d') {
        None => usize::MAX,
        Some(d) => d
            .parse()
            .map_err(|_| CmdError::msg("-d argument must be an int value", Status::Usage))?,
    };
    let zk = sh.client()?;
    // Depth first with an explicit stack: (path, name, prefix, last-child?, depth).
    let mut lines = vec![path.to_string()];
    let mut json_nodes = vec![json!(path)];
    let mut stack: Vec<(String, String, usize)> = Vec::new();
    let push_children = |stack: &mut Vec<(String, String, usize)>,
                         parent: &str,
                         kids: Vec<String>,
                         prefix: &str,
                         depth: usize| {
        let n = kids.len();
        for (i, k) in kids.into_iter().enumerate().rev() {
            let full = if parent == "/" {
                format!("/{k}")
            } else {
                format!("{parent}/{k}")
            };
            let (branch, next) = if i + 1 == n {
                ("└── ", "    ")
            } else {
                ("├── ", "│   ")
            };
            stack.push((
                full,
                format!("{prefix}{branch}{k}\u{0}{prefix}{next}"),
                depth,
            ));
        }
    };
    let mut kids = zk.get_children(path, false).await.map_err(zk_err(path))?;
    kids.sort();
    if max_depth > 0 {
        push_children(&mut stack, path, kids, "", 1);
    }
    while let Some((full, label, depth)) = stack.pop() {
        let (line, prefix) = label.split_once('\u{0}').unwrap_or((&label, ""));
        lines.push(line.to_string());
        json_nodes.push(json!(full));
        if depth >= max_depth {
            continue;
        }
        let mut kids = match zk.get_children(&full, false).await {
            Ok(k) => k,
            // A node deleted meanwhile simply has no subtree to show.
            Err(e) if e.is(ErrorCode::NoNode) => continue,
            Err(e) => return Err(zk_err(&full)(e)),
        };
        kids.sort();
        let prefix = prefix.to_string();
        push_children(&mut stack, &full, kids, &prefix, depth + 1);
    }
    Ok(Reply::new(
        lines,
        json!({"path": path, "paths": json_nodes}),
    ))
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::STANDARD
}

pub async fn dump(sh: &mut Shell, words: &[String]) -> Result<Reply, CmdError> {
    let p = parse(words, &[])?;
    let path = path_arg(&p, 1)?;
    let file = p.arg(2).ok_or_else(|| CmdError::Usage(usage("dump")))?;
    let zk = sh.client()?;
    let mut nodes = Vec::new();
    for node in subtree(zk, path).await.map_err(zk_err(path))? {
        let (data, stat) = zk.get_data(&node, false).await.map_err(zk_err(&node))?;
        if stat.ephemeral_owner != 0 && node != path {
            continue;
        }
        let (acl, _) = zk.get_acl(&node).await.map_err(zk_err(&node))?;
        let rel = node
            .strip_prefix(path)
            .unwrap_or(&node)
            .trim_start_matches('/');
        let rel = if path == "/" {
            node.trim_start_matches('/')
        } else {
            rel
        };
        nodes.push(json!({
            "path": rel,
            "data": data.as_ref().map(|d| b64().encode(d)),
            "acl": acl.iter().map(|a| json!({"scheme": a.id.scheme, "id": a.id.id, "perms": a.perms})).collect::<Vec<_>>(),
        }));
    }
    let count = nodes.len();
    let doc = json!({"format": "zkcli-dump", "version": 1, "root": path, "nodes": nodes});
    let text = serde_json::to_string_pretty(&doc).expect("JSON values always serialize"); // why: no maps with non-string keys
    std::fs::write(file, text + "\n")
        .map_err(|e| CmdError::msg(format!("cannot write {file}: {e}"), Status::Usage))?;
    Ok(Reply::new(
        vec![format!("Dumped {count} nodes from {path} to {file}")],
        json!({"path": path, "file": file, "count": count}),
    ))
}

fn parse_node(v: &Value) -> Option<(String, Option<Vec<u8>>, Vec<Acl>)> {
    let rel = v.get("path")?.as_str()?.to_string();
    let data = match v.get("data")? {
        Value::Null => None,
        d => Some(b64().decode(d.as_str()?).ok()?),
    };
    let mut acl = Vec::new();
    for a in v.get("acl")?.as_array()? {
        let perms = i32::try_from(a.get("perms")?.as_i64()?).ok()?;
        acl.push(Acl::new(
            perms,
            a.get("scheme")?.as_str()?,
            a.get("id")?.as_str()?,
        ));
    }
    Some((rel, data, acl))
}

pub async fn restore(sh: &mut Shell, words: &[String]) -> Result<Reply, CmdError> {
    let p = parse(words, &[])?;
    let file = p.arg(1).ok_or_else(|| CmdError::Usage(usage("restore")))?;
    let path = path_arg(&p, 2)?;
    let bad = |why: String| CmdError::msg(format!("{file}: {why}"), Status::Usage);
    let text = std::fs::read_to_string(file).map_err(|e| bad(e.to_string()))?;
    let doc: Value = serde_json::from_str(&text).map_err(|e| bad(e.to_string()))?;
    if doc.get("format").and_then(Value::as_str) != Some("zkcli-dump") {
        return Err(bad("not a zkcli dump".into()));
    }
    let nodes = doc
        .get("nodes")
        .and_then(Value::as_array)
        .ok_or_else(|| bad("no nodes".into()))?;
    let zk = sh.client()?;
    let mut count = 0;
    for v in nodes {
        let (rel, data, acl) = parse_node(v).ok_or_else(|| bad("malformed node entry".into()))?;
        let target = match (rel.is_empty(), path) {
            (true, _) => path.to_string(),
            (false, "/") => format!("/{rel}"),
            (false, _) => format!("{path}/{rel}"),
        };
        let created = zk
            .create(&target, data.clone(), &acl, CreateMode::Persistent)
            .await;
        match created {
            Ok(_) => {}
            Err(e) if rel.is_empty() && e.is(ErrorCode::NodeExists) => {
                if target != "/" || data.is_some() {
                    zk.set_data(&target, data, -1)
                        .await
                        .map_err(zk_err(&target))?;
                }
                zk.set_acl(&target, &acl, -1)
                    .await
                    .map_err(zk_err(&target))?;
            }
            Err(e) => return Err(zk_err(&target)(e)),
        }
        count += 1;
    }
    Ok(Reply::new(
        vec![format!("Restored {count} nodes from {file} to {path}")],
        json!({"path": path, "file": file, "count": count}),
    ))
}
