//! Quota commands: setquota, listquota, delquota.
//!
//! A quota on `/p` lives in `/zookeeper/quota/p/zookeeper_limits` (what the
//! operator set) and `/zookeeper/quota/p/zookeeper_stats` (what the server
//! counts). Invariants kept here, as zkCli.sh keeps them:
//! - at most one quota on any root-to-leaf path: no quota under or over a
//!   node that has one;
//! - the stats node is created before the limits node (the server fills the
//!   stats in when the limits node appears);
//! - the limits text is always the full form zkCli.sh writes:
//!   `count=N,bytes=B=;byteHardLimit=BH;countHardLimit=NH` (-1 = unset);
//! - `delquota` without an option removes the quota nodes and every parent
//!   left empty under `/zookeeper/quota`.

use crate::cmd_node::{delete_tree, parse, subtree, validate_path};
use crate::commands::usage;
use crate::opts::{flag, value};
use crate::output::*;
use crate::shell::Shell;
use serde_json::json;
use zk_client::{Acl, Client, CreateMode, ErrorCode, ZkError};

const QUOTA_ROOT: &str = "/zookeeper/quota";
const LIMITS: &str = "zookeeper_limits";
const STATS: &str = "zookeeper_stats";

fn quota_path(path: &str) -> String {
    format!("{QUOTA_ROOT}{path}")
}

/// Soft count, soft bytes, hard bytes, hard count (−1 = unset).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Limits {
    count: i64,
    bytes: i64,
    byte_hard: i64,
    count_hard: i64,
}

impl Limits {
    const NONE: Limits = Limits {
        count: -1,
        bytes: -1,
        byte_hard: -1,
        count_hard: -1,
    };

    fn parse(text: &str) -> Limits {
        let mut l = Limits::NONE;
        for item in text.split([',', ';']) {
            let Some((key, v)) = item.split_once('=') else {
                continue;
            };
            let v = v.trim_end_matches('=').parse().unwrap_or(-1);
            match key.trim() {
                "count" => l.count = v,
                "bytes" => l.bytes = v,
                "byteHardLimit" => l.byte_hard = v,
                "countHardLimit" => l.count_hard = v,
                _ => {}
            }
        }
        l
    }

    fn set(&mut self, opt: char, v: i64) {
        match opt {
            'n' => self.count = v,
            'b' => self.bytes = v,
            'N' => self.count_hard = v,
            _ => self.byte_hard = v,
        }
    }
}

impl std::fmt::Display for Limits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "count={},bytes={}=;byteHardLimit={};countHardLimit={}",
            self.count, self.bytes, self.byte_hard, self.count_hard
        )
    }
}

fn zk_err(path: &str) -> impl Fn(ZkError) -> CmdError + '_ {
    move |e| CmdError::Zk(e, Some(path.to_string()))
}

async fn read_text(zk: &Client, path: &str) -> Result<Option<String>, ZkError> {
    match zk.get_data(path, false).await {
        Ok((data, _)) => Ok(Some(data_text(&data))),
        Err(e) if e.is(ErrorCode::NoNode) => Ok(None),
        Err(e) => Err(e),
    }
}

/// Creates `path` and its missing parents (empty, open ACL).
async fn create_parents(zk: &Client, path: &str) -> Result<(), ZkError> {
    let mut at = String::new();
    for seg in path.split('/').filter(|s| !s.is_empty()) {
        at.push('/');
        at.push_str(seg);
        match zk
            .create(
                &at,
                None::<Vec<u8>>,
                &Acl::open_unsafe(),
                CreateMode::Persistent,
            )
            .await
        {
            Ok(_) => {}
            Err(e) if e.is(ErrorCode::NodeExists) => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// The reason a new quota on `path` would overlap another, if it would.
async fn overlap(zk: &Client, path: &str) -> Result<Option<String>, ZkError> {
    let mut ancestor = path;
    while let Some(i) = ancestor.rfind('/').filter(|i| *i > 0) {
        ancestor = &path[..i];
        if zk
            .exists(&format!("{}/{LIMITS}", quota_path(ancestor)), false)
            .await?
            .is_some()
        {
            return Ok(Some(format!(
                "{path} has a parent {ancestor} which has a quota"
            )));
        }
    }
    let own = quota_path(path);
    if zk.exists(&own, false).await?.is_none() {
        return Ok(None);
    }
    for node in subtree(zk, &own).await? {
        if let Some(parent) = node.strip_suffix(&format!("/{LIMITS}")) {
            if parent != own {
                let child = &parent[QUOTA_ROOT.len()..];
                return Ok(Some(format!("{path} has child {child} which has a quota")));
            }
        }
    }
    Ok(None)
}

/// Warnings when a new limit is already below what the subtree holds, as
/// the server counted it into the stats node (zkCli.sh reads the same).
fn below_usage(stats: &str, limits: &[(char, i64)]) -> Vec<String> {
    let usage = Limits::parse(stats);
    let mut out = Vec::new();
    for (opt, v) in limits {
        if matches!(opt, 'n' | 'N') && *v < usage.count {
            out.push(format!(
                "[Warning]: the count quota you create is less than the existing count:{}",
                usage.count
            ));
        }
        if matches!(opt, 'b' | 'B') && *v < usage.bytes {
            out.push(format!(
                "[Warning]: the bytes quota you create is less than the existing bytes:{}",
                usage.bytes
            ));
        }
    }
    out
}

pub async fn setquota(sh: &mut Shell, words: &[String]) -> Result<Reply, CmdError> {
    let p = parse(words, &[value('n'), value('b'), value('N'), value('B')])?;
    let mut given = Vec::new();
    for opt in ['n', 'b', 'N', 'B'] {
        if let Some(v) = p.value(opt) {
            let v: i64 = v.parse().map_err(|_| {
                CmdError::msg(
                    "NumberFormatException happens when parsing the option value",
                    Status::Usage,
                )
            })?;
            given.push((opt, v));
        }
    }
    if given.is_empty() {
        return Err(CmdError::msg(
            "org.apache.commons.cli.MissingOptionException: Missing required option: [-n num soft quota, -b bytes soft quota, -N num hard quota, -B bytes hard quota]",
            Status::Usage,
        ));
    }
    let path = p.arg(1).ok_or_else(|| CmdError::Usage(usage("setquota")))?;
    validate_path(path, false)?;
    validate_path(&quota_path(path), false)?;
    let zk = sh.client()?;
    let err = zk_err(path);
    if zk.exists(path, false).await.map_err(&err)?.is_none() {
        return Err(CmdError::msg(
            format!("{path} does not exist."),
            Status::ZkError,
        ));
    }
    let limits_path = format!("{}/{LIMITS}", quota_path(path));
    let existing = read_text(zk, &limits_path).await.map_err(&err)?;
    if existing.is_none() {
        if let Some(why) = overlap(zk, path).await.map_err(&err)? {
            return Err(CmdError::msg(why, Status::ZkError));
        }
    }
    let mut limits = existing
        .as_deref()
        .map(Limits::parse)
        .unwrap_or(Limits::NONE);
    for (opt, v) in &given {
        limits.set(*opt, *v);
    }
    match existing {
        Some(_) => {
            zk.set_data(&limits_path, limits.to_string(), -1)
                .await
                .map_err(&err)?;
        }
        None => {
            create_parents(zk, &quota_path(path)).await.map_err(&err)?;
            let stats_path = format!("{}/{STATS}", quota_path(path));
            let open = Acl::open_unsafe();
            let persistent = CreateMode::Persistent;
            zk.create(&stats_path, "count=0,bytes=0", &open, persistent)
                .await
                .map_err(&err)?;
            zk.create(&limits_path, limits.to_string(), &open, persistent)
                .await
                .map_err(&err)?;
        }
    }
    let stats_path = format!("{}/{STATS}", quota_path(path));
    let stats = read_text(zk, &stats_path).await.map_err(&err)?;
    let warnings = below_usage(stats.as_deref().unwrap_or_default(), &given);
    Ok(Reply::new(
        warnings,
        json!({"path": path, "quota": limits.to_string()}),
    ))
}

pub async fn listquota(sh: &mut Shell, words: &[String]) -> Result<Reply, CmdError> {
    let p = parse(words, &[])?;
    let path = p
        .arg(1)
        .ok_or_else(|| CmdError::Usage(usage("listquota")))?;
    validate_path(path, false)?;
    let zk = sh.client()?;
    let err = zk_err(path);
    let limits_path = format!("{}/{LIMITS}", quota_path(path));
    let mut text = vec![format!("absolute path is {limits_path}")];
    let Some(limits) = read_text(zk, &limits_path).await.map_err(&err)? else {
        text.push(format!("quota for {path} does not exist."));
        return Ok(Reply::new(text, json!({"path": path, "quota": null})));
    };
    let stats_path = format!("{}/{STATS}", quota_path(path));
    let stats = read_text(zk, &stats_path)
        .await
        .map_err(&err)?
        .unwrap_or_default();
    text.push(format!("Output quota for {path} {limits}"));
    text.push(format!("Output stat for {path} {stats}"));
    Ok(Reply::new(
        text,
        json!({"path": path, "quota": limits, "stat": stats}),
    ))
}

pub async fn delquota(sh: &mut Shell, words: &[String]) -> Result<Reply, CmdError> {
    let p = parse(words, &[flag('n'), flag('b'), flag('N'), flag('B')])?;
    let path = p.arg(1).ok_or_else(|| CmdError::Usage(usage("delquota")))?;
    validate_path(path, false)?;
    let zk = sh.client()?;
    let err = zk_err(path);
    let limits_path = format!("{}/{LIMITS}", quota_path(path));
    let Some(text) = read_text(zk, &limits_path).await.map_err(&err)? else {
        return Err(CmdError::msg(
            format!("Quota does not exist for {path}"),
            Status::ZkError,
        ));
    };
    let opts: Vec<char> = ['n', 'b', 'N', 'B']
        .into_iter()
        .filter(|o| p.has(*o))
        .collect();
    if !opts.is_empty() {
        let mut limits = Limits::parse(&text);
        for o in opts {
            limits.set(o, -1);
        }
        zk.set_data(&limits_path, limits.to_string(), -1)
            .await
            .map_err(&err)?;
        return Ok(Reply::quiet(
            json!({"path": path, "quota": limits.to_string()}),
        ));
    }
    let own = quota_path(path);
    delete_tree(zk, &own, 1000).await?;
    // Remove parents the quota alone kept alive.
    let mut at = own.as_str();
    while let Some(i) = at.rfind('/') {
        at = &own[..i];
        if at.len() <= QUOTA_ROOT.len() {
            break;
        }
        match zk.get_children(at, false).await {
            Ok(c) if c.is_empty() => zk.delete(at, -1).await.map_err(&err)?,
            _ => break,
        }
    }
    Ok(Reply::quiet(json!({"path": path, "quota": null})))
}

#[cfg(test)]
mod tests {
    use super::Limits;

    #[test]
    fn limits_round_trip_in_zkclis_form() {
        let text = "count=5,bytes=-1=;byteHardLimit=-1;countHardLimit=10";
        let l = Limits::parse(text);
        assert_eq!((l.count, l.bytes, l.count_hard), (5, -1, 10));
        assert_eq!(l.to_string(), text);
        assert_eq!(Limits::parse("count=3,bytes=5").bytes, 5);
    }
}
