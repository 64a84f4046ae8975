//! The data tree: znodes by path, with the indexes ZooKeeper keeps beside
//! them (ephemerals by session, containers, TTL nodes, quota roots) and the
//! txn application that changes them.
//!
//! The nodes themselves live in a [`NodeStore`] (a slab addressed by
//! [`NodeId`] with a path index that stores no paths); a node knows its name,
//! its parent and its children by id (ARCHITECTURE.md, decision 9).
//!
//! Invariants:
//! - Every node but the root has its parent in `nodes`, and appears in the
//!   parent's `children` exactly once. The root's path is `""` (or `/`).
//! - `stat.cversion` stores the number of child *creates* (as ZooKeeper does:
//!   it drives sequential suffixes); clients see `2 × cversion − numChildren`.
//! - `ephemerals[s]` holds exactly the paths whose owner is session `s`.
//! - Applying a txn depends only on the tree and the txn.
//! - `digest` always equals the sum of every node's digest: each change to
//!   a node's path, data or stat goes through a hook that moves it (remove
//!   and add, or `restat` for stat-only changes).

use super::acl::{AclCache, OPEN_UNSAFE_ACL_ID};
use super::child_set::ChildSet;
use super::digest::TreeDigest;
use super::ephemeral::{ephemeral_type, EphemeralType};
use super::java::JavaHashSet;
use super::node_store::NodeStore;
use super::path;
use super::quota::StatsTrack;
use super::txn::{SubTxn, Txn, TxnBody};
use bytes::{BufMut, Bytes, BytesMut};
use jute::data::{Acl, Stat, StatPersisted};
use jute::proto::event_type;
use jute::{ErrorCode, OpCode};
use std::collections::{BTreeSet, HashMap};
use std::sync::Arc;

pub use super::node::{Node, NodeId, ROOT};

/// `/zookeeper`, `/zookeeper/quota`, `/zookeeper/config`.
pub const PROC_ZOOKEEPER: &str = "/zookeeper";
pub const QUOTA_ZOOKEEPER: &str = "/zookeeper/quota";
pub const CONFIG_ZOOKEEPER: &str = "/zookeeper/config";
pub const QUOTA_LIMIT_NODE: &str = "zookeeper_limits";
pub const QUOTA_STAT_NODE: &str = "zookeeper_stats";

/// Which watch table a change fires in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchTable {
    Data,
    Child,
    /// The child table, skipping watchers the preceding data trigger notified.
    ChildSuppressed,
}

/// A watch trigger produced by applying a txn, in firing order. `acl` gates
/// delivery: a watcher whose connection lacks READ on it gets no event (the
/// watch is consumed all the same), as in ZooKeeper 3.8.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Trigger {
    pub table: WatchTable,
    pub path: String,
    pub event_type: i32,
    pub acl: Arc<[Acl]>,
}

/// The result of applying one txn (`ProcessTxnResult`).
#[derive(Debug, Clone, Default)]
pub struct TxnResult {
    pub err: i32,
    pub type_: i32,
    pub path: String,
    pub stat: Option<Stat>,
    pub multi: Vec<TxnResult>,
}

/// The tree and its indexes.
#[derive(Debug, Clone)]
pub struct DataTree {
    /// The znodes, by id, with the path index.
    nodes: NodeStore,
    pub acl_cache: AclCache,
    ephemerals: HashMap<i64, JavaHashSet>,
    containers: BTreeSet<String>,
    ttls: BTreeSet<String>,
    /// Paths with a quota (ZooKeeper's `pTrie`).
    quota_roots: BTreeSet<String>,
    pub last_processed_zxid: i64,
    approximate_data_size: i64,
    pub extended_types_enabled: bool,
    /// The tree digest and its history (`core::digest`).
    digest: TreeDigest,
}

/// A child was created under `parent` by the txn at `zxid`: its cversion
/// takes the txn's `parent_cversion` (−1: one more than now) if that is
/// newer, and then its pzxid is `zxid` (ZooKeeper's `setCversionPzxid`).
fn advance_cversion(parent: &mut Node, parent_cversion: i32, zxid: i64) {
    let cversion = if parent_cversion == -1 {
        parent.cversion.wrapping_add(1)
    } else {
        parent_cversion
    };
    if cversion > parent.cversion {
        parent.cversion = cversion;
        parent.pzxid = zxid;
    }
}

fn new_stat(zxid: i64, time: i64, owner: i64) -> StatPersisted {
    StatPersisted {
        czxid: zxid,
        mzxid: zxid,
        ctime: time,
        mtime: time,
        version: 0,
        cversion: 0,
        aversion: 0,
        ephemeral_owner: owner,
        pzxid: zxid,
    }
}

fn node_size(path: &str, data: Option<&[u8]>) -> i64 {
    (path.len() + data.map_or(0, <[u8]>::len)) as i64
}

/// Adds `child` to `parent`'s children.
/// The digest's name for a path: the root is `""`, as in ZooKeeper's map.
fn key(path: &str) -> &str {
    if path == "/" {
        ""
    } else {
        path
    }
}

fn add_child(parent: &mut Node, child: NodeId) {
    parent
        .children
        .get_or_insert_with(|| Box::new(ChildSet::with_java_capacity(8)))
        .insert_new(child);
}

impl DataTree {
    /// A fresh tree: `/`, `/zookeeper`, `/zookeeper/quota`, `/zookeeper/config`.
    pub fn new(extended_types_enabled: bool) -> DataTree {
        let root = Node::new(
            ROOT,
            "",
            Some(&[]),
            OPEN_UNSAFE_ACL_ID,
            &StatPersisted::default(),
        );
        let mut t = DataTree {
            nodes: NodeStore::new(root),
            acl_cache: AclCache::default(),
            ephemerals: HashMap::new(),
            containers: BTreeSet::new(),
            ttls: BTreeSet::new(),
            quota_roots: BTreeSet::new(),
            last_processed_zxid: 0,
            approximate_data_size: 0,
            extended_types_enabled,
            digest: TreeDigest::default(),
        };
        t.digest.add("", None, &StatPersisted::default());
        for p in [PROC_ZOOKEEPER, QUOTA_ZOOKEEPER, CONFIG_ZOOKEEPER] {
            t.insert_builtin(p);
        }
        // The config node is readable by all, writable by none (ZOOKEEPER-2014),
        // set the way ZooKeeper sets it: a setACL with version −1.
        let acl = t.acl_cache.acquire(&Acl::read_unsafe());
        if let Some(id) = t.nodes.find(CONFIG_ZOOKEEPER) {
            let n = t.nodes.node_mut(id);
            n.acl = acl;
            n.aversion = -1;
        }
        t
    }

    fn insert_builtin(&mut self, p: &str) {
        let (parent, child) = path::split(p).expect("built-in paths are absolute");
        self.digest.add(p, None, &StatPersisted::default());
        let parent = self
            .nodes
            .find(parent)
            .expect("built-in parents are inserted first");
        let node = Node::new(
            parent,
            child,
            Some(&[]),
            OPEN_UNSAFE_ACL_ID,
            &StatPersisted::default(),
        );
        let id = self.nodes.insert(p, node).expect("built-in paths are new");
        add_child(self.nodes.node_mut(parent), id);
        self.approximate_data_size += node_size(p, Some(&[]));
    }

    /// The node at `path` (`/` or `` for the root).
    pub fn get(&self, path: &str) -> Option<&Node> {
        self.nodes.find(path).map(|id| self.nodes.node(id))
    }

    fn get_mut(&mut self, path: &str) -> Option<&mut Node> {
        let id = self.nodes.find(path)?;
        Some(self.nodes.node_mut(id))
    }

    /// The names of a node's children in the order ZooKeeper returns them
    /// (`HashSet` iteration order).
    pub fn children_of(&self, node: &Node) -> Vec<String> {
        let Some(c) = &node.children else {
            return Vec::new();
        };
        c.java_ids(|id| self.nodes.node(id).name())
            .iter()
            .map(|&id| self.nodes.node(id).name().to_string())
            .collect()
    }

    /// Appends the node's children as a jute `vector<ustring>` (count, then
    /// each name length-prefixed), in the order `children_of` gives: the
    /// child set's kept listing, so a parent listed again unchanged costs one
    /// copy, and no `String` per child is ever made.
    pub fn write_children(&self, node: &Node, buf: &mut BytesMut) {
        let Some(c) = &node.children else {
            buf.put_i32(0);
            return;
        };
        buf.put_slice(c.listing(|id| self.nodes.node(id).name()));
    }

    fn child_ids_in_java_order(&self, node: &Node) -> Vec<NodeId> {
        node.children
            .as_ref()
            .map_or_else(Vec::new, |c| c.java_order(|id| self.nodes.node(id).name()))
    }

    /// The ACL of a node.
    pub fn acl_of(&self, node: &Node) -> Arc<[Acl]> {
        self.acl_cache.get(node.acl)
    }

    /// The tree digest and its history.
    pub fn digest(&self) -> &TreeDigest {
        &self.digest
    }

    /// The tree digest, to check one read from a snapshot against.
    pub fn digest_mut(&mut self) -> &mut TreeDigest {
        &mut self.digest
    }

    /// Number of znodes, root included.
    pub fn node_count(&self) -> usize {
        self.nodes.len()
    }

    /// ZooKeeper's `approximateDataSize`: path lengths plus data lengths.
    pub fn approximate_data_size(&self) -> i64 {
        self.approximate_data_size
    }

    /// Number of ephemeral nodes.
    pub fn ephemeral_count(&self) -> usize {
        self.ephemerals.values().map(|s| s.len()).sum()
    }

    /// The ephemeral paths of a session, in the order ZooKeeper hands them
    /// out: that of a *clone* of its set (getEphemerals and closeSession both
    /// iterate `(HashSet) set.clone()`).
    pub fn ephemerals_of(&self, session_id: i64) -> Vec<String> {
        self.ephemerals
            .get(&session_id)
            .map_or_else(Vec::new, |s| s.clone_order())
    }

    /// Sessions that own ephemerals, with their paths (for `dump`).
    pub fn all_ephemerals(&self) -> Vec<(i64, Vec<String>)> {
        let mut v: Vec<(i64, Vec<String>)> = self
            .ephemerals
            .iter()
            .map(|(s, p)| (*s, p.java_order()))
            .collect();
        v.sort();
        v
    }

    /// `getAllChildrenNumber`: all descendants of `path`.
    pub fn all_children_number(&self, path: &str) -> i32 {
        // ZooKeeper's map holds the root under both "" and "/": "/" counts
        // every other node, and "" (prefix "/") counts the "/" alias too.
        if path == "/" {
            return self.nodes.len() as i32 - 1;
        }
        if path.is_empty() {
            return self.nodes.len() as i32;
        }
        let Some(id) = self.nodes.find(path) else {
            return 0;
        };
        let mut count = 0;
        let mut stack = vec![id];
        while let Some(id) = stack.pop() {
            if let Some(c) = &self.nodes.node(id).children {
                count += c.len();
                stack.extend(c.iter_inserted());
            }
        }
        count as i32
    }

    /// Container and TTL nodes that are due to be deleted at `now_ms`.
    pub fn reap_candidates(&self, now_ms: i64, max_never_used_ms: i64) -> Vec<String> {
        let mut out = Vec::new();
        for p in &self.containers {
            let Some(n) = self.get(p) else {
                continue;
            };
            if n.num_children() != 0 {
                continue;
            }
            let elapsed = now_ms - n.mtime;
            if n.cversion > 0 || (max_never_used_ms != 0 && elapsed > max_never_used_ms) {
                out.push(p.clone());
            }
        }
        for p in &self.ttls {
            let Some(n) = self.get(p) else {
                continue;
            };
            if n.num_children() != 0 {
                continue;
            }
            let owner = n.ephemeral_owner;
            if ephemeral_type(owner, self.extended_types_enabled) == EphemeralType::Ttl {
                let ttl = super::ephemeral::ttl_of(owner);
                if ttl != 0 && now_ms - n.mtime > ttl {
                    out.push(p.clone());
                }
            }
        }
        out
    }

    /// Applies one txn, appending the watch triggers it causes.
    pub fn apply(&mut self, txn: &Txn, triggers: &mut Vec<Trigger>) -> TxnResult {
        let h = &txn.header;
        let rc = self.apply_body(h.type_, &txn.body, h.client_id, h.zxid, h.time, triggers);
        if h.zxid > self.last_processed_zxid {
            self.last_processed_zxid = h.zxid;
        }
        self.digest.txn_applied(h.zxid);
        rc
    }

    fn apply_body(
        &mut self,
        type_: i32,
        body: &TxnBody,
        client_id: i64,
        zxid: i64,
        time: i64,
        triggers: &mut Vec<Trigger>,
    ) -> TxnResult {
        let mut rc = TxnResult {
            type_,
            ..TxnResult::default()
        };
        let res: Result<(), ErrorCode> = match body {
            TxnBody::Create(t) => {
                rc.path = t.path.clone();
                let owner = if t.ephemeral { client_id } else { 0 };
                let cv = t.parent_c_version;
                self.create_node(&t.path, &t.data, &t.acl, owner, cv, zxid, time, triggers)
                    .map(|s| rc.stat = Some(s))
            }
            TxnBody::CreateContainer(t) => {
                rc.path = t.path.clone();
                let owner = super::ephemeral::CONTAINER_EPHEMERAL_OWNER;
                let cv = t.parent_c_version;
                self.create_node(&t.path, &t.data, &t.acl, owner, cv, zxid, time, triggers)
                    .map(|s| rc.stat = Some(s))
            }
            TxnBody::CreateTtl(t) => {
                rc.path = t.path.clone();
                let owner = super::ephemeral::ttl_owner(t.ttl);
                let cv = t.parent_c_version;
                self.create_node(&t.path, &t.data, &t.acl, owner, cv, zxid, time, triggers)
                    .map(|s| rc.stat = Some(s))
            }
            TxnBody::Delete(t) => {
                rc.path = t.path.clone();
                self.delete_node(&t.path, zxid, triggers)
            }
            TxnBody::SetData(t) => {
                rc.path = t.path.clone();
                self.set_data(&t.path, &t.data, t.version, zxid, time, triggers)
                    .map(|s| rc.stat = Some(s))
            }
            TxnBody::SetAcl(t) => {
                rc.path = t.path.clone();
                self.set_acl(&t.path, &t.acl, t.version)
                    .map(|s| rc.stat = Some(s))
            }
            TxnBody::Check(t) => {
                rc.path = t.path.clone();
                rc.stat = self
                    .get(&t.path)
                    .map(|n| n.client_stat(self.extended_types_enabled));
                Ok(())
            }
            TxnBody::CreateSession(_) => Ok(()),
            TxnBody::CloseSession(t) => {
                self.kill_session(client_id, zxid, &t.paths2_delete, triggers);
                Ok(())
            }
            TxnBody::Error(t) => {
                rc.err = t.err;
                Ok(())
            }
            TxnBody::Multi(subs) => {
                self.apply_multi(subs, client_id, zxid, time, triggers, &mut rc);
                Ok(())
            }
        };
        if let Err(e) = res {
            rc.err = e.code();
            if type_ == OpCode::Create.code() && e == ErrorCode::NodeExists {
                if let TxnBody::Create(t) = body {
                    self.fix_parent_after_replayed_create(&t.path, t.parent_c_version, zxid);
                }
            }
        }
        rc
    }

    /// A `create` whose node already exists can only be a txn replayed onto
    /// a fuzzy snapshot that caught the node (ZooKeeper's case: the node was
    /// deleted with its session and re-created by another after its parent
    /// was written). The parent's cversion and pzxid then take the txn's
    /// values if they are newer, as ZooKeeper's `setCversionPzxid` does.
    fn fix_parent_after_replayed_create(&mut self, path: &str, parent_cversion: i32, zxid: i64) {
        let Some((parent_key, _)) = path::split(path) else {
            return;
        };
        if let Some(parent_id) = self.nodes.find(parent_key) {
            let parent = self.nodes.node_mut(parent_id);
            let before = parent.stat();
            advance_cversion(parent, parent_cversion, zxid);
            self.digest
                .restat(parent_key, parent.data(), &before, &parent.stat());
        }
    }

    fn apply_multi(
        &mut self,
        subs: &[SubTxn],
        client_id: i64,
        zxid: i64,
        time: i64,
        triggers: &mut Vec<Trigger>,
        rc: &mut TxnResult,
    ) {
        let failed = subs.iter().any(|s| s.type_ == OpCode::Error.code());
        let mut post_failed = false;
        for sub in subs {
            let replaced;
            let (type_, body) = if sub.type_ == OpCode::Error.code() {
                post_failed = true;
                (sub.type_, &sub.body)
            } else if failed {
                // Ops of a failed multi are recorded as errors: 0 before the
                // failing op, RuntimeInconsistency after it.
                let err = if post_failed {
                    ErrorCode::RuntimeInconsistency.code()
                } else {
                    0
                };
                replaced = TxnBody::Error(jute::txn::ErrorTxn { err });
                (OpCode::Error.code(), &replaced)
            } else {
                (sub.type_, &sub.body)
            };
            let sub_rc = self.apply_body(type_, body, client_id, zxid, time, triggers);
            if sub_rc.err != 0 && rc.err == 0 {
                rc.err = sub_rc.err;
            }
            rc.multi.push(sub_rc);
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn create_node(
        &mut self,
        path: &str,
        data: &Option<Bytes>,
        acl: &[Acl],
        owner: i64,
        parent_cversion: i32,
        zxid: i64,
        time: i64,
        triggers: &mut Vec<Trigger>,
    ) -> Result<Stat, ErrorCode> {
        let (parent_key, child) = path::split(path).ok_or(ErrorCode::NoNode)?;
        let parent_key = parent_key.to_string();
        let parent_id = self.nodes.find(&parent_key).ok_or(ErrorCode::NoNode)?;
        // The path index answers membership in O(1); the parent's child set
        // would scan every child.
        if self.nodes.find(path).is_some() {
            return Err(ErrorCode::NodeExists);
        }
        let acl_index = self.acl_cache.acquire(acl);
        let data = data.as_deref();
        let stat = new_stat(zxid, time, owner);
        self.digest.add(path, data, &stat);
        let node = Node::new(parent_id, child, data, acl_index, &stat);
        let stat = node.client_stat(self.extended_types_enabled);
        let id = self
            .nodes
            .insert(path, node)
            .map_err(|_| ErrorCode::NodeExists)?;
        let parent = self.nodes.node_mut(parent_id);
        let before = parent.stat();
        advance_cversion(parent, parent_cversion, zxid);
        self.digest
            .restat(&parent_key, parent.data(), &before, &parent.stat());
        add_child(parent, id);
        self.approximate_data_size += node_size(path, data);
        self.index_owner(path, owner);
        if let Some(quota_path) = parent_key.strip_prefix(QUOTA_ZOOKEEPER) {
            if child == QUOTA_LIMIT_NODE {
                self.quota_roots.insert(quota_path.to_string());
            }
            if child == QUOTA_STAT_NODE {
                self.refresh_quota_stats(quota_path);
            }
        }
        if let Some(prefix) = self.quota_prefix(path) {
            self.update_quota_stat(&prefix, data.map_or(0, |d| d.len() as i64), 1);
        }
        let parent_acl = self.acl_cache.get(self.nodes.node(parent_id).acl);
        triggers.push(Trigger {
            table: WatchTable::Data,
            path: path.to_string(),
            event_type: event_type::NODE_CREATED,
            acl: self.acl_cache.get(acl_index),
        });
        triggers.push(Trigger {
            table: WatchTable::Child,
            path: path::parent_for_watch(&parent_key).to_string(),
            event_type: event_type::NODE_CHILDREN_CHANGED,
            acl: parent_acl,
        });
        Ok(stat)
    }

    /// Records a new node in the index its owner puts it in: containers,
    /// TTL nodes, or its session's ephemerals.
    fn index_owner(&mut self, path: &str, owner: i64) {
        match ephemeral_type(owner, self.extended_types_enabled) {
            EphemeralType::Container => {
                self.containers.insert(path.to_string());
            }
            EphemeralType::Ttl => {
                self.ttls.insert(path.to_string());
            }
            EphemeralType::Normal => {
                self.ephemerals
                    .entry(owner)
                    .or_insert_with(|| JavaHashSet::with_java_capacity(16))
                    .insert(path);
            }
            EphemeralType::Void => {}
        }
    }

    fn delete_node(
        &mut self,
        path: &str,
        zxid: i64,
        triggers: &mut Vec<Trigger>,
    ) -> Result<(), ErrorCode> {
        let (parent_key, child) = path::split(path).ok_or(ErrorCode::NoNode)?;
        let parent_id = self.nodes.find(parent_key).ok_or(ErrorCode::NoNode)?;
        // As ZooKeeper (3.6+): the parent's pzxid moves even when the child
        // is already gone (a replayed delete onto a fuzzy snapshot).
        // The root is never deleted (a txn naming "/" finds no node, as in
        // ZooKeeper's map, where "/" and "" are the root's keys but only
        // children are removable).
        let id = self.nodes.find(path).filter(|&id| id != ROOT);
        let parent = self.nodes.node_mut(parent_id);
        if let (Some(id), Some(c)) = (id, parent.children.as_mut()) {
            c.remove(id);
        }
        if zxid > parent.pzxid {
            let before = parent.stat();
            parent.pzxid = zxid;
            self.digest
                .restat(parent_key, parent.data(), &before, &parent.stat());
        }
        let parent_acl = self.acl_cache.get(parent.acl);
        let id = id.ok_or(ErrorCode::NoNode)?;
        let node = self.nodes.remove(id);
        self.digest.remove(path, node.data(), &node.stat());
        let node_acl = self.acl_cache.get(node.acl);
        self.acl_cache.release(node.acl);
        self.approximate_data_size -= node_size(path, node.data());
        let owner = node.ephemeral_owner;
        match ephemeral_type(owner, self.extended_types_enabled) {
            EphemeralType::Container => {
                self.containers.remove(path);
            }
            EphemeralType::Ttl => {
                self.ttls.remove(path);
            }
            EphemeralType::Normal => {
                if let Some(set) = self.ephemerals.get_mut(&owner) {
                    set.remove(path);
                }
            }
            EphemeralType::Void => {}
        }
        if parent_key.starts_with(PROC_ZOOKEEPER) && child == QUOTA_LIMIT_NODE {
            if let Some(q) = parent_key.strip_prefix(QUOTA_ZOOKEEPER) {
                self.quota_roots.remove(q);
            }
        }
        if let Some(prefix) = self.quota_prefix(path) {
            let bytes = node.data_len() as i64;
            self.update_quota_stat(&prefix, -bytes, -1);
        }
        triggers.push(Trigger {
            table: WatchTable::Data,
            path: path.to_string(),
            event_type: event_type::NODE_DELETED,
            acl: node_acl.clone(),
        });
        triggers.push(Trigger {
            table: WatchTable::ChildSuppressed,
            path: path.to_string(),
            event_type: event_type::NODE_DELETED,
            acl: node_acl,
        });
        triggers.push(Trigger {
            table: WatchTable::Child,
            path: path::parent_for_watch(parent_key).to_string(),
            event_type: event_type::NODE_CHILDREN_CHANGED,
            acl: parent_acl,
        });
        Ok(())
    }

    fn set_data(
        &mut self,
        path: &str,
        data: &Option<Bytes>,
        version: i32,
        zxid: i64,
        time: i64,
        triggers: &mut Vec<Trigger>,
    ) -> Result<Stat, ErrorCode> {
        let ext = self.extended_types_enabled;
        let id = self.nodes.find(path).ok_or(ErrorCode::NoNode)?;
        let node = self.nodes.node_mut(id);
        let old_len = node.data_len() as i64;
        let old_size = node_size(path, node.data());
        self.digest.remove(key(path), node.data(), &node.stat());
        node.set_data(data.as_deref());
        node.mtime = time;
        node.mzxid = zxid;
        node.version = version;
        self.digest.add(key(path), node.data(), &node.stat());
        let stat = node.client_stat(ext);
        let node_acl = node.acl;
        let new_len = data.as_ref().map_or(0, |d| d.len() as i64);
        self.approximate_data_size += node_size(path, data.as_deref()) - old_size;
        if let Some(prefix) = self.quota_prefix(path) {
            self.update_quota_stat(&prefix, new_len - old_len, 0);
        }
        triggers.push(Trigger {
            table: WatchTable::Data,
            path: path.to_string(),
            event_type: event_type::NODE_DATA_CHANGED,
            acl: self.acl_cache.get(node_acl),
        });
        Ok(stat)
    }

    fn set_acl(&mut self, path: &str, acl: &[Acl], version: i32) -> Result<Stat, ErrorCode> {
        let ext = self.extended_types_enabled;
        let id = self.nodes.find(path).ok_or(ErrorCode::NoNode)?;
        let old = self.nodes.node(id).acl;
        self.acl_cache.release(old);
        let index = self.acl_cache.acquire(acl);
        let node = self.nodes.node_mut(id);
        let before = node.stat();
        node.aversion = version;
        node.acl = index;
        self.digest
            .restat(key(path), node.data(), &before, &node.stat());
        Ok(node.client_stat(ext))
    }

    fn kill_session(
        &mut self,
        session_id: i64,
        zxid: i64,
        paths: &[String],
        triggers: &mut Vec<Trigger>,
    ) {
        let owned = self.ephemerals.remove(&session_id);
        // Newer txns name the paths to delete; older ones leave it to the tree.
        let to_delete: Vec<String> = if !paths.is_empty() {
            paths.to_vec()
        } else {
            owned.map_or_else(Vec::new, |s| s.clone_order())
        };
        for p in to_delete {
            let _ = self.delete_node(&p, zxid, triggers);
        }
    }

    /// The quota root governing `path`, if any (`getMaxPrefixWithQuota`).
    fn quota_prefix(&self, path: &str) -> Option<String> {
        if self.quota_roots.is_empty() {
            return None;
        }
        self.quota_roots
            .iter()
            .filter(|q| q.as_str() != "/" && !q.is_empty() && path::is_path_prefix(q, path))
            .max_by_key(|q| q.len())
            .cloned()
    }

    fn update_quota_stat(&mut self, prefix: &str, bytes_diff: i64, count_diff: i64) {
        let stat_path = format!("{QUOTA_ZOOKEEPER}{prefix}/{QUOTA_STAT_NODE}");
        let Some(node) = self.get_mut(&stat_path) else {
            return;
        };
        let mut st = StatsTrack::parse(node.data().unwrap_or(&[]));
        st.set_count(st.count() + count_diff);
        st.set_bytes(st.bytes() + bytes_diff);
        let old = node_size(&stat_path, node.data());
        node.set_data(Some(st.to_string().as_bytes()));
        self.approximate_data_size += node_size(&stat_path, node.data()) - old;
        let limit_path = format!("{QUOTA_ZOOKEEPER}{prefix}/{QUOTA_LIMIT_NODE}");
        if let Some(limit) = self.get(&limit_path) {
            let lim = StatsTrack::parse(limit.data().unwrap_or(&[]));
            if lim.count_exceeded(&st) || lim.bytes_exceeded(&st) {
                tracing::warn!(path = prefix, "quota exceeded: {} (limit {})", st, lim);
            }
        }
    }

    fn refresh_quota_stats(&mut self, quota_path: &str) {
        let (mut count, mut bytes) = (0i64, 0i64);
        let mut stack: Vec<NodeId> = self.nodes.find(quota_path).into_iter().collect();
        while let Some(id) = stack.pop() {
            let n = self.nodes.node(id);
            count += 1;
            bytes += n.data_len() as i64;
            if let Some(c) = &n.children {
                stack.extend(c.iter_inserted());
            }
        }
        let stat_path = format!("{QUOTA_ZOOKEEPER}{quota_path}/{QUOTA_STAT_NODE}");
        if let Some(node) = self.get_mut(&stat_path) {
            let mut st = StatsTrack::default();
            st.set_count(count);
            st.set_bytes(bytes);
            let old = node_size(&stat_path, node.data());
            node.set_data(Some(st.to_string().as_bytes()));
            self.approximate_data_size += node_size(&stat_path, node.data()) - old;
        }
    }

    /// The quota limits and current usage governing `path`, for enforcement.
    pub fn quota_for(&self, path: &str) -> Option<(StatsTrack, StatsTrack)> {
        let prefix = self.quota_prefix(path)?;
        let lim = self.get(&format!("{QUOTA_ZOOKEEPER}{prefix}/{QUOTA_LIMIT_NODE}"))?;
        let st = self.get(&format!("{QUOTA_ZOOKEEPER}{prefix}/{QUOTA_STAT_NODE}"))?;
        Some((
            StatsTrack::parse(lim.data().unwrap_or(&[])),
            StatsTrack::parse(st.data().unwrap_or(&[])),
        ))
    }

    /// Visits every node depth-first, pre-order from the root, each node's
    /// children in `HashSet` iteration order: the order in which ZooKeeper's
    /// `DataTree.serializeNode` writes a snapshot. Paths are as a snapshot
    /// stores them: `""` for the root, else the full path. Stops at the first
    /// error `visit` returns.
    pub fn try_for_each_node_preorder<E>(
        &self,
        mut visit: impl FnMut(&str, &Node) -> Result<(), E>,
    ) -> Result<(), E> {
        let mut cursor = PreorderCursor::new();
        while let Some((path, node)) = self.next_preorder(&mut cursor) {
            visit(path, node)?;
        }
        Ok(())
    }

    /// One step of that walk, resumable across changes to the tree: pops
    /// the next node of `cursor` that still exists, pushes its children
    /// (copied now, as ZooKeeper's `serializeNode` copies them under the
    /// node's lock) and returns it with its path. Nodes deleted since they
    /// were pushed are skipped (a slot since reused by a newer node is told
    /// apart by its czxid and parent).
    pub fn next_preorder<'a>(
        &'a self,
        cursor: &'a mut PreorderCursor,
    ) -> Option<(&'a str, &'a Node)> {
        while let Some(e) = cursor.stack.pop() {
            let depth = e.depth as usize;
            let Some(node) = self.nodes.get_slot(e.id) else {
                continue;
            };
            if depth > 0 && (node.czxid != e.czxid || node.parent != cursor.chain[depth - 1].1) {
                continue;
            }
            cursor.chain.truncate(depth);
            let parent_len = cursor.chain.last().map_or(0, |c| c.0);
            cursor.path.truncate(parent_len);
            if depth > 0 {
                cursor.path.push('/');
                cursor.path.push_str(node.name());
            }
            cursor.chain.push((cursor.path.len(), e.id));
            for id in self.child_ids_in_java_order(node).into_iter().rev() {
                cursor.stack.push(PreorderEntry {
                    id,
                    czxid: self.nodes.node(id).czxid,
                    depth: e.depth + 1,
                });
            }
            return Some((&cursor.path, node));
        }
        None
    }

    /// Every path, for dumps and tests, sorted.
    pub fn paths(&self) -> Vec<String> {
        let mut v: Vec<String> = self
            .nodes
            .iter()
            .map(|(id, _)| self.nodes.path_of(id))
            .collect();
        v.sort();
        v
    }
}

/// A pre-order walk in progress (see [`DataTree::next_preorder`]): the nodes
/// still to visit, and the path of the last one visited with its ancestors.
#[derive(Debug, Clone)]
pub struct PreorderCursor {
    /// Next on top.
    stack: Vec<PreorderEntry>,
    /// The last visited node's path (`""` for the root).
    path: String,
    /// Its ancestors and itself as (length of their path, id), root first.
    chain: Vec<(usize, NodeId)>,
}

#[derive(Debug, Clone, Copy)]
struct PreorderEntry {
    id: NodeId,
    /// The node's czxid when it was pushed: a slot freed and reused by a
    /// newer node since has a larger one.
    czxid: i64,
    depth: u32,
}

impl PreorderCursor {
    /// A walk from the root.
    pub fn new() -> PreorderCursor {
        PreorderCursor {
            stack: vec![PreorderEntry {
                id: ROOT,
                czxid: 0,
                depth: 0,
            }],
            path: String::new(),
            chain: Vec::new(),
        }
    }

    /// Whether every node has been visited.
    pub fn is_done(&self) -> bool {
        self.stack.is_empty()
    }
}

impl Default for PreorderCursor {
    fn default() -> Self {
        PreorderCursor::new()
    }
}

/// Builds a [`DataTree`] from the parts of a snapshot, as ZooKeeper's
/// `DataTree.deserialize` does: nodes arrive parent first (the root, keyed
/// `""`, first of all); each is added to its parent's children in arrival
/// order, indexed as ephemeral, container, TTL or quota root by its owner and
/// path; ACL indexes are kept as stored, each node adding a reference, and
/// lists no node uses are dropped at the end; quota stat nodes are recounted
/// from the tree (`setupQuota`).
#[derive(Debug)]
pub struct TreeRestore {
    tree: DataTree,
    has_root: bool,
    /// The previous node's path and its ancestors and itself as (length of
    /// their path, id), root first. Nodes come in pre-order, so a node's
    /// parent is nearly always on it: no index lookup for the parent.
    last_path: String,
    chain: Vec<(usize, NodeId)>,
}

impl TreeRestore {
    /// Starts an empty tree (no root yet) over a snapshot's ACL cache (see
    /// [`AclCache::from_snapshot`]).
    pub fn new(extended_types_enabled: bool, acl_cache: AclCache) -> TreeRestore {
        let placeholder = Node::new(ROOT, "", None, 0, &StatPersisted::default());
        TreeRestore {
            tree: DataTree {
                nodes: NodeStore::new(placeholder),
                acl_cache,
                ephemerals: HashMap::new(),
                containers: BTreeSet::new(),
                ttls: BTreeSet::new(),
                quota_roots: BTreeSet::new(),
                last_processed_zxid: 0,
                approximate_data_size: 0,
                extended_types_enabled,
                digest: TreeDigest::default(),
            },
            has_root: false,
            last_path: String::new(),
            chain: Vec::new(),
        }
    }

    /// Makes room for about `nodes` more nodes.
    pub fn reserve(&mut self, nodes: usize) {
        self.tree.nodes.reserve(nodes);
    }

    /// The parent of the node at `path`, whose parent path is `parent_key`.
    fn parent_of(&mut self, parent_key: &str) -> Option<NodeId> {
        let last = self.last_path.as_bytes();
        let l = parent_key.len();
        let on_chain = last.len() >= l
            && &last[..l] == parent_key.as_bytes()
            && (last.len() == l || last[l] == b'/');
        if on_chain {
            if let Some(i) = self.chain.iter().rposition(|c| c.0 == l) {
                self.chain.truncate(i + 1);
                return Some(self.chain[i].1);
            }
        }
        // Not in pre-order after all: look it up, and rebuild the chain.
        let nodes = &self.tree.nodes;
        let parent = nodes.find(parent_key)?;
        let mut ids = Vec::new();
        let mut cur = parent;
        while cur != ROOT {
            ids.push(cur);
            cur = nodes.node(cur).parent;
        }
        ids.push(ROOT);
        let mut lens: Vec<usize> = parent_key
            .match_indices('/')
            .map(|(i, _)| i)
            .filter(|&i| i > 0)
            .collect();
        lens.insert(0, 0);
        if l > 0 {
            lens.push(l);
        }
        self.chain = lens.into_iter().zip(ids.into_iter().rev()).collect();
        Some(parent)
    }

    /// Adds the next node (`""` for the root). Fails, with the reason, on a
    /// node whose parent has not been added, a path added twice, a root that
    /// is not first, or an ACL index the cache does not hold.
    pub fn add_node(
        &mut self,
        path: &str,
        data: Option<&[u8]>,
        acl: i64,
        stat: StatPersisted,
    ) -> Result<(), String> {
        if !self.has_root {
            let t = &mut self.tree;
            if !path.is_empty() {
                return Err(format!("the first node is {path:?}, not the root"));
            }
            if !t.acl_cache.add_usage(acl) {
                return Err(format!("the root has ACL index {acl}, not in the ACL map"));
            }
            t.approximate_data_size += node_size(path, data);
            t.digest.add("", data, &stat);
            *t.nodes.node_mut(ROOT) = Node::new(ROOT, "", data, acl, &stat);
            self.has_root = true;
            self.chain = vec![(0, ROOT)];
            return Ok(());
        }
        let (parent_key, child) = match path::split(path) {
            Some((p, c)) if path.starts_with('/') && !c.is_empty() => (p, c),
            _ => return Err(format!("invalid node path {path:?}")),
        };
        let Some(parent) = self.parent_of(parent_key) else {
            if self.tree.nodes.find(path).is_some() {
                return Err(format!("node {path} appears twice"));
            }
            return Err(format!("node {path} comes before its parent"));
        };
        let t = &mut self.tree;
        let owner = stat.ephemeral_owner;
        let id = t
            .nodes
            .insert(path, Node::new(parent, child, data, acl, &stat))
            .map_err(|_| format!("node {path} appears twice"))?;
        if !t.acl_cache.add_usage(acl) {
            return Err(format!(
                "node {path} has ACL index {acl}, not in the ACL map"
            ));
        }
        add_child(t.nodes.node_mut(parent), id);
        t.approximate_data_size += node_size(path, data);
        t.digest.add(path, data, &stat);
        t.index_owner(path, owner);
        if child == QUOTA_LIMIT_NODE {
            if let Some(quota_path) = parent_key.strip_prefix(QUOTA_ZOOKEEPER) {
                t.quota_roots.insert(quota_path.to_string());
            }
        }
        self.chain.push((path.len(), id));
        self.last_path.clear();
        self.last_path.push_str(path);
        Ok(())
    }

    /// The finished tree, as of `last_processed_zxid`. Fails if no root was added.
    pub fn finish(self, last_processed_zxid: i64) -> Result<DataTree, String> {
        if !self.has_root {
            return Err("the snapshot holds no nodes".to_string());
        }
        let mut t = self.tree;
        t.acl_cache.purge_unused();
        let roots: Vec<String> = t.quota_roots.iter().cloned().collect();
        for q in roots {
            t.refresh_quota_stats(&q);
        }
        t.last_processed_zxid = last_processed_zxid;
        Ok(t)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jute::txn::{CreateTxn, TxnHeader};

    /// A txn of session 1, cxid 1, time 1.
    fn txn(type_: OpCode, zxid: i64, body: TxnBody) -> Txn {
        Txn {
            header: TxnHeader {
                client_id: 1,
                cxid: 1,
                zxid,
                time: 1,
                type_: type_.code(),
            },
            body,
        }
    }

    fn create(type_: OpCode, zxid: i64, path: &str, parent_c_version: i32) -> Txn {
        let body = TxnBody::Create(CreateTxn {
            path: path.into(),
            data: None,
            acl: Acl::open_unsafe(),
            ephemeral: false,
            parent_c_version,
        });
        txn(type_, zxid, body)
    }

    /// A replayed `create` of a node a fuzzy snapshot already holds moves
    /// the parent's cversion and pzxid forward (ZooKeeper's
    /// `setCversionPzxid`), only for the plain `create` type, as there.
    #[test]
    fn replayed_create_of_an_existing_node_fixes_the_parent() {
        let mut tree = DataTree::new(true);
        let mut triggers = Vec::new();
        assert_eq!(
            tree.apply(&create(OpCode::Create, 5, "/p", 1), &mut triggers)
                .err,
            0
        );
        assert_eq!(
            tree.apply(&create(OpCode::Create, 6, "/p/c", 1), &mut triggers)
                .err,
            0
        );
        let rc = tree.apply(&create(OpCode::Create, 9, "/p/c", 4), &mut triggers);
        assert_eq!(rc.err, ErrorCode::NodeExists.code());
        let p = tree.get("/p").expect("parent");
        assert_eq!((p.cversion, p.pzxid), (4, 9));
        // An older cversion changes nothing.
        tree.apply(&create(OpCode::Create, 10, "/p/c", 2), &mut triggers);
        let p = tree.get("/p").expect("parent");
        assert_eq!((p.cversion, p.pzxid), (4, 9));
        // create2 is not adjusted (ZooKeeper checks for `create` only).
        tree.apply(&create(OpCode::Create2, 11, "/p/c", 7), &mut triggers);
        let p = tree.get("/p").expect("parent");
        assert_eq!((p.cversion, p.pzxid), (4, 9));
    }

    /// getChildren's reply bytes written straight from the tree are the
    /// jute encoding of `children_of` (same names, same Java order), for an
    /// empty parent, a leaf, and a parent whose set grew and lost members.
    #[test]
    fn written_children_encode_children_of() {
        let mut tree = DataTree::new(true);
        let mut tr = Vec::new();
        tree.apply(&create(OpCode::Create, 1, "/p", 0), &mut tr);
        let mut zxid = 2;
        // Listed between changes too: a kept listing must follow each one.
        let listed = |tree: &DataTree| {
            let node = tree.get("/p").expect("/p");
            let mut written = BytesMut::new();
            tree.write_children(node, &mut written);
            let expected = jute::to_bytes(&tree.children_of(node));
            assert_eq!(&written[..], &expected[..]);
        };
        for i in 0..40 {
            tree.apply(
                &create(OpCode::Create, zxid, &format!("/p/c{i}"), 0),
                &mut tr,
            );
            zxid += 1;
            listed(&tree);
        }
        for i in (0..40).step_by(3) {
            tree.apply(&delete(zxid, &format!("/p/c{i}")), &mut tr);
            zxid += 1;
            listed(&tree);
            listed(&tree);
        }
        for path in ["/p", "/p/c1", "", "/zookeeper"] {
            let node = tree.get(path).expect("node");
            let mut written = BytesMut::new();
            tree.write_children(node, &mut written);
            let expected = jute::to_bytes(&tree.children_of(node));
            assert_eq!(&written[..], &expected[..], "children of {path:?}");
        }
        let mut b = BytesMut::new();
        tree.write_children(tree.get("/p").unwrap(), &mut b);
        assert_eq!(i32::from_be_bytes(b[..4].try_into().unwrap()), 26);
    }

    fn delete(zxid: i64, path: &str) -> Txn {
        let body = TxnBody::Delete(jute::txn::DeleteTxn { path: path.into() });
        txn(OpCode::Delete, zxid, body)
    }

    /// A node pushed on a walk, deleted, and its slot reused by a newer node
    /// elsewhere is skipped, not written under the old path; nodes created
    /// under a parent not yet written are found.
    #[test]
    fn preorder_walk_survives_slot_reuse() {
        let mut tree = DataTree::new(true);
        let mut tr = Vec::new();
        for (z, p) in [(1, "/a"), (2, "/a/x"), (3, "/a/y"), (4, "/b")] {
            assert_eq!(
                tree.apply(&create(OpCode::Create, z, p, -1), &mut tr).err,
                0
            );
        }
        let mut cursor = PreorderCursor::new();
        let mut seen = Vec::new();
        // Up to /a, which pushes /a/x and /a/y.
        while let Some((p, _)) = tree.next_preorder(&mut cursor) {
            seen.push(p.to_string());
            if p == "/a" {
                break;
            }
        }
        let x = tree.nodes.find("/a/x").expect("x");
        let y = tree.nodes.find("/a/y").expect("y");
        assert_eq!(tree.apply(&delete(5, "/a/x"), &mut tr).err, 0);
        assert_eq!(tree.apply(&delete(6, "/a/y"), &mut tr).err, 0);
        // One slot comes back under the same parent (told apart by czxid),
        // the other under another parent.
        for (z, p) in [(7, "/a/new"), (8, "/b/new")] {
            assert_eq!(
                tree.apply(&create(OpCode::Create, z, p, -1), &mut tr).err,
                0
            );
        }
        let mut reused = [tree.nodes.find("/a/new"), tree.nodes.find("/b/new")];
        reused.sort();
        let mut freed = [Some(x), Some(y)];
        freed.sort();
        assert_eq!(reused, freed, "the freed slots are reused");
        while let Some((p, _)) = tree.next_preorder(&mut cursor) {
            seen.push(p.to_string());
        }
        let mut sorted = seen.clone();
        sorted.sort();
        sorted.dedup();
        assert_eq!(sorted.len(), seen.len(), "each node once: {seen:?}");
        for p in &seen[1..] {
            assert!(tree.get(p).is_some(), "{p} is written but gone: {seen:?}");
        }
        assert!(!seen.iter().any(|p| p.starts_with("/a/")), "{seen:?}");
        assert!(seen.contains(&"/b/new".to_string()), "{seen:?}");
    }

    /// A delete naming the root changes nothing but the root's pzxid.
    #[test]
    fn the_root_is_never_deleted() {
        let mut tree = DataTree::new(true);
        let mut tr = Vec::new();
        let rc = tree.apply(&delete(3, "/"), &mut tr);
        assert_eq!(rc.err, ErrorCode::NoNode.code());
        assert_eq!(tree.node_count(), 4);
        assert!(tree.get("/zookeeper").is_some());
        assert_eq!(tree.get("/").expect("root").stat().pzxid, 3);
    }

    /// Loading accepts parents first in any order, not only pre-order, and
    /// reports duplicates and orphans.
    #[test]
    fn restore_finds_parents_off_the_preorder_chain() {
        let st = |z: i64| StatPersisted {
            czxid: z,
            mzxid: z,
            pzxid: z,
            ..StatPersisted::default()
        };
        let mut r = TreeRestore::new(true, AclCache::default());
        let order = ["", "/a", "/b", "/a/x", "/b/y", "/a/x/z", "/b/y/w", "/c"];
        for (i, p) in order.iter().enumerate() {
            r.add_node(p, Some(p.as_bytes()), -1, st(i as i64))
                .expect(p);
        }
        assert!(r
            .add_node("/a/x", None, -1, st(9))
            .unwrap_err()
            .contains("twice"));
        assert!(r
            .add_node("/q/r", None, -1, st(9))
            .unwrap_err()
            .contains("before its parent"));
        let t = r.finish(9).expect("tree");
        let mut want: Vec<String> = order[1..].iter().map(|p| p.to_string()).collect();
        want.push("/".into());
        want.sort();
        assert_eq!(t.paths(), want);
        for p in &order[1..] {
            let n = t.get(p).expect(p);
            assert_eq!(n.data(), Some(p.as_bytes()));
        }
        assert_eq!(t.children_of(t.get("/b/y").expect("y")), vec!["w"]);
        assert_eq!(t.all_children_number("/a"), 2);
    }
}
