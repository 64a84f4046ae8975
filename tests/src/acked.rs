//! What the acknowledged writes of an ensemble test left: every node with
//! the data and Stat fields its write replies gave, and the paths that must
//! be absent with the reason. `check` compares a dumped tree with it.
//!
//! Invariant: a path is in `nodes` or in `absent`, never both.

use crate::ensemble::{call, Tree};
use std::collections::BTreeMap;
use zk_client::{Acl, Client, CreateMode, Stat};

/// Differences listed in one failure message.
pub const MAX_LISTED: usize = 20;

/// A node as the replies of the writes that made it describe it.
#[derive(Debug, Clone)]
struct Want {
    data: Vec<u8>,
    czxid: i64,
    mzxid: i64,
    version: i32,
    ephemeral_owner: i64,
}

/// The nodes the acknowledged writes left (all but `/` and the `/zookeeper`
/// subtree), and the paths that must not exist.
#[derive(Debug, Default)]
pub struct Acked {
    nodes: BTreeMap<String, Want>,
    /// Path -> why it must not exist.
    absent: BTreeMap<String, String>,
}

impl Acked {
    /// A create of `path` with `data` was answered with `stat`.
    pub fn created(&mut self, path: &str, data: &[u8], stat: &Stat) -> Result<(), String> {
        if stat.czxid != stat.mzxid || stat.version != 0 || stat.data_length != data.len() as i32 {
            return Err(format!("create {path}: odd Stat {stat:?}"));
        }
        self.absent.remove(path);
        self.nodes.insert(
            path.to_string(),
            Want {
                data: data.to_vec(),
                czxid: stat.czxid,
                mzxid: stat.mzxid,
                version: stat.version,
                ephemeral_owner: stat.ephemeral_owner,
            },
        );
        Ok(())
    }

    /// A setData of `path` to `data` was answered with `stat`.
    pub fn set(&mut self, path: &str, data: &[u8], stat: &Stat) -> Result<(), String> {
        let want = self
            .nodes
            .get_mut(path)
            .ok_or_else(|| format!("setData {path}: the test never created it"))?;
        if stat.czxid != want.czxid
            || stat.version != want.version + 1
            || stat.mzxid <= want.mzxid
            || stat.data_length != data.len() as i32
        {
            return Err(format!(
                "setData {path}: Stat {stat:?} after czxid {:#x} version {} mzxid {:#x}",
                want.czxid, want.version, want.mzxid
            ));
        }
        want.data = data.to_vec();
        want.mzxid = stat.mzxid;
        want.version = stat.version;
        Ok(())
    }

    /// A delete of `path` was acknowledged.
    pub fn removed(&mut self, path: &str) {
        self.gone(path, "was deleted");
    }

    /// `path` must not exist, for the reason given (a write that was never
    /// acknowledged, for instance).
    pub fn must_be_absent(&mut self, path: &str, why: &str) {
        self.gone(path, why);
    }

    /// Ephemerals of `session` are gone (it was closed).
    pub fn session_closed(&mut self, session: i64) {
        let paths: Vec<String> = self
            .nodes
            .iter()
            .filter(|(_, w)| w.ephemeral_owner == session)
            .map(|(p, _)| p.clone())
            .collect();
        for p in paths {
            self.gone(&p, "its session was closed");
        }
    }

    fn gone(&mut self, path: &str, why: &str) {
        self.nodes.remove(path);
        self.absent.insert(path.to_string(), why.to_string());
    }

    /// Number of nodes the acknowledged writes left.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether the acknowledged writes left no node.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The highest zxid any expected node was created or changed at.
    pub fn max_zxid(&self) -> i64 {
        self.nodes.values().map(|w| w.mzxid).max().unwrap_or(0)
    }

    /// The tree holds `/` and exactly the acknowledged nodes, as acknowledged.
    pub fn check(&self, tree: &Tree) -> Result<(), String> {
        let mut problems = Vec::new();
        for (path, want) in &self.nodes {
            match tree.get(path) {
                None => problems.push(format!("{path}: acknowledged, missing")),
                Some(node) => {
                    let s = &node.stat;
                    let data = node.data.as_deref().unwrap_or_default();
                    if data != want.data.as_slice()
                        || s.czxid != want.czxid
                        || s.mzxid != want.mzxid
                        || s.version != want.version
                        || s.ephemeral_owner != want.ephemeral_owner
                    {
                        problems.push(format!(
                            "{path}: data {:?} czxid {:#x} mzxid {:#x} version {} owner {:#x}; \
                             acknowledged: data {:?} czxid {:#x} mzxid {:#x} version {} owner {:#x}",
                            String::from_utf8_lossy(data),
                            s.czxid,
                            s.mzxid,
                            s.version,
                            s.ephemeral_owner,
                            String::from_utf8_lossy(&want.data),
                            want.czxid,
                            want.mzxid,
                            want.version,
                            want.ephemeral_owner
                        ));
                    }
                }
            }
        }
        for (path, node) in tree {
            if path != "/" && !self.nodes.contains_key(path) {
                let why = self
                    .absent
                    .get(path)
                    .map_or("was never written", String::as_str);
                problems.push(format!(
                    "{path}: present (czxid {:#x}, data {:?}) but {why}",
                    node.stat.czxid,
                    String::from_utf8_lossy(node.data.as_deref().unwrap_or_default())
                ));
            }
        }
        if !tree.contains_key("/") {
            problems.push("/: missing".to_string());
        }
        if problems.is_empty() {
            return Ok(());
        }
        let n = problems.len();
        problems.truncate(MAX_LISTED);
        Err(format!(
            "{n} differences from the acknowledged writes:\n  {}",
            problems.join("\n  ")
        ))
    }
}

/// Creates `path` (open ACL) through `c` and records the acknowledged node
/// in `acked`; returns the path the server named and the node's stat, for
/// the caller's checks of them.
pub async fn create_acked(
    c: &Client,
    path: &str,
    data: &[u8],
    mode: CreateMode,
    acked: &mut Acked,
) -> Result<(String, Stat), String> {
    let (p, stat) = call(
        &format!("create {path} ({mode:?})"),
        c.create2(path, data, &Acl::open_unsafe(), mode),
    )
    .await?;
    acked.created(&p, data, &stat)?;
    Ok((p, stat))
}

/// Creates the persistent node `path` (its data is its path) through `c`.
pub async fn create_base(c: &Client, path: &str, acked: &mut Acked) -> Result<(), String> {
    create_acked(c, path, path.as_bytes(), CreateMode::Persistent, acked)
        .await
        .map(|_| ())
}

/// Through `c` under `base`: `n` persistent nodes `{tag}-p{i}` (data
/// `{tag}-p{i}`), then `n` sequential ones under the prefix `{tag}-s-`,
/// each reply checked for the path it names.
pub async fn create_numbered(
    c: &Client,
    base: &str,
    tag: &str,
    n: usize,
    acked: &mut Acked,
) -> Result<(), String> {
    for i in 0..n {
        let path = format!("{base}/{tag}-p{i}");
        let data = format!("{tag}-p{i}");
        let (p, _) = create_acked(c, &path, data.as_bytes(), CreateMode::Persistent, acked).await?;
        if p != path {
            return Err(format!("create {path} answered path {p}"));
        }
    }
    let prefix = format!("{base}/{tag}-s-");
    for i in 0..n {
        let data = format!("{tag}-s{i}");
        let mode = CreateMode::PersistentSequential;
        let (p, _) = create_acked(c, &prefix, data.as_bytes(), mode, acked).await?;
        if !p.starts_with(&prefix) || p.len() != prefix.len() + 10 {
            return Err(format!("sequential create {prefix} answered path {p}"));
        }
    }
    Ok(())
}
