//! Prep: turns a write request into a txn, validating it against the tree as
//! it will be once every txn already prepared has been applied (ZooKeeper's
//! `PrepRequestProcessor` with its outstanding-change records).
//!
//! Invariants:
//! - Checks run in ZooKeeper's order, so the same request fails with the same
//!   code (BadArguments, InvalidACL, NoNode, NoAuth, NodeExists, ...).
//! - A failed request still becomes a txn (an error txn) and consumes a zxid.
//! - Inside a multi, each op sees the effects of the ops before it; a failure
//!   rolls back the change records the multi added.

use super::acl::{self, AclPolicy};
use super::data_tree::{DataTree, CONFIG_ZOOKEEPER, PROC_ZOOKEEPER, QUOTA_ZOOKEEPER};
use super::ephemeral::{self, ephemeral_type, EphemeralType};
use super::path;
use super::txn::{SubTxn, TxnBody};
use bytes::Bytes;
use jute::data::{perms, Acl, Id, StatPersisted};
use jute::multi::{MultiOp, MultiRequest};
use jute::proto::*;
use jute::txn::*;
use jute::{ErrorCode, OpCode, Record};
use std::collections::{HashMap, VecDeque};
use std::hash::BuildHasher;
use std::sync::Arc;

/// What prep knows of a node that may not be applied yet.
#[derive(Debug, Clone)]
pub struct ChangeRecord {
    pub zxid: i64,
    /// `None`: deleted.
    pub stat: Option<StatPersisted>,
    pub child_count: i32,
    pub acl: Arc<[Acl]>,
    pub data_len: i64,
}

/// Change records of prepared but unapplied txns, in the order they were
/// made (ZooKeeper's `outstandingChanges`); the newest record of a path wins.
///
/// Invariants: records are in zxid order (txns are prepared in zxid order),
/// so the applied ones are always at the front, as in ZooKeeper's queue.
/// `held` counts the records of each path's hash, so a path with none (most
/// lookups, with many writes outstanding on different paths) is answered
/// without scanning every record; a hash collision only costs that scan.
#[derive(Debug, Default, Clone)]
pub struct PendingChanges {
    records: VecDeque<(String, ChangeRecord)>,
    held: HashMap<u64, u32, foldhash::fast::RandomState>,
}

fn path_key(path: &str) -> u64 {
    foldhash::fast::FixedState::default().hash_one(path)
}

fn release(held: &mut HashMap<u64, u32, foldhash::fast::RandomState>, path: &str) {
    let key = path_key(path);
    if let Some(n) = held.get_mut(&key) {
        *n -= 1;
        if *n == 0 {
            held.remove(&key);
        }
    }
}

impl PendingChanges {
    /// Drops records made by txns up to `zxid`, now that they are applied.
    pub fn applied(&mut self, zxid: i64) {
        while self.records.front().is_some_and(|(_, r)| r.zxid <= zxid) {
            if let Some((p, _)) = self.records.pop_front() {
                release(&mut self.held, &p);
            }
        }
    }

    fn get(&self, path: &str) -> Option<&ChangeRecord> {
        if !self.held.contains_key(&path_key(path)) {
            return None;
        }
        self.records
            .iter()
            .rev()
            .find(|(p, _)| p == path)
            .map(|(_, r)| r)
    }

    fn insert(&mut self, path: String, record: ChangeRecord) {
        debug_assert!(self
            .records
            .back()
            .is_none_or(|(_, r)| r.zxid <= record.zxid));
        *self.held.entry(path_key(&path)).or_insert(0) += 1;
        self.records.push_back((path, record));
    }

    /// A session's ephemerals as they will be once every pending change is
    /// applied: deleted paths go, ephemerals it is creating are added (what
    /// a closeSession must delete).
    pub fn adjust_ephemerals(&self, session_id: i64, mut paths: Vec<String>) -> Vec<String> {
        for (p, r) in &self.records {
            match &r.stat {
                None => paths.retain(|x| x != p),
                Some(s) if s.ephemeral_owner == session_id && !paths.contains(p) => {
                    paths.push(p.clone())
                }
                Some(_) => {}
            }
        }
        paths
    }

    /// Forgets every record made after `len` records were held: a multi's
    /// rollback when one of its ops fails. Records are only appended while
    /// txns are prepared, so the first `len` are those held then.
    fn truncate(&mut self, len: usize) {
        for (p, _) in self.records.drain(len.min(self.records.len())..) {
            release(&mut self.held, &p);
        }
    }

    /// Number of change records held.
    pub fn len(&self) -> usize {
        self.records.len()
    }

    /// Whether no change is pending.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }
}

/// Everything prep reads besides the request.
pub struct PrepContext<'a> {
    pub tree: &'a DataTree,
    pub pending: &'a mut PendingChanges,
    pub policy: &'a AclPolicy,
    pub auth: &'a [Id],
    pub session_id: i64,
    /// The session is live and not closing.
    pub session_valid: bool,
    /// A leader: the session is connected through another server.
    pub session_moved: bool,
    pub zxid: i64,
    pub extended_types_enabled: bool,
    pub reconfig_enabled: bool,
    pub enforce_quota: bool,
}

type PrepResult = Result<TxnBody, ErrorCode>;

impl PrepContext<'_> {
    fn record(&self, p: &str) -> Result<ChangeRecord, ErrorCode> {
        let p = if p.is_empty() { "/" } else { p };
        if let Some(r) = self.pending.get(p) {
            return if r.stat.is_some() {
                Ok(r.clone())
            } else {
                Err(ErrorCode::NoNode)
            };
        }
        let n = self.tree.get(p).ok_or(ErrorCode::NoNode)?;
        Ok(ChangeRecord {
            zxid: n.stat().mzxid,
            stat: Some(n.stat()),
            child_count: n.num_children() as i32,
            acl: self.tree.acl_of(n),
            data_len: n.data_len() as i64,
        })
    }

    fn add_record(&mut self, p: &str, r: ChangeRecord) {
        let p = if p.is_empty() { "/" } else { p };
        self.pending.insert(p.to_string(), r);
    }

    fn check_acl(&self, acl: &[Acl], perm: i32) -> Result<(), ErrorCode> {
        if acl::check(self.policy, acl, perm, self.auth) {
            Ok(())
        } else {
            Err(ErrorCode::NoAuth)
        }
    }

    fn check_session(&self) -> Result<(), ErrorCode> {
        if !self.session_valid {
            Err(ErrorCode::SessionExpired)
        } else if self.session_moved {
            Err(ErrorCode::SessionMoved)
        } else {
            Ok(())
        }
    }

    fn check_quota(
        &self,
        p: &str,
        old_len: i64,
        new_len: i64,
        is_create: bool,
    ) -> Result<(), ErrorCode> {
        if !self.enforce_quota {
            return Ok(());
        }
        let Some((limit, usage)) = self.tree.quota_for(p) else {
            return Ok(());
        };
        if is_create
            && limit.count_hard_limit() > -1
            && usage.count() + 1 > limit.count_hard_limit()
        {
            return Err(ErrorCode::QuotaExceeded);
        }
        let new_bytes = usage.bytes() + new_len - old_len;
        if limit.byte_hard_limit() > -1 && new_bytes > limit.byte_hard_limit() {
            return Err(ErrorCode::QuotaExceeded);
        }
        Ok(())
    }

    /// Prepares one write request whose record is still encoded in `body`.
    pub fn prep(&mut self, op: OpCode, body: &mut Bytes, time: i64) -> PrepResult {
        match op {
            OpCode::Create | OpCode::Create2 | OpCode::CreateContainer => {
                let req = CreateRequest::read(body).map_err(|_| ErrorCode::MarshallingError)?;
                self.create(op, &req.path, req.data, &req.acl, req.flags, -1, time)
            }
            OpCode::CreateTtl => {
                let req = CreateTtlRequest::read(body).map_err(|_| ErrorCode::MarshallingError)?;
                self.create(op, &req.path, req.data, &req.acl, req.flags, req.ttl, time)
            }
            OpCode::Delete => {
                let req = DeleteRequest::read(body).map_err(|_| ErrorCode::MarshallingError)?;
                self.delete(&req.path, req.version)
            }
            OpCode::DeleteContainer => {
                let p = String::from_utf8_lossy(body).into_owned();
                self.delete_container(&p)
            }
            OpCode::SetData => {
                let req = SetDataRequest::read(body).map_err(|_| ErrorCode::MarshallingError)?;
                self.set_data(&req.path, req.data, req.version, time)
            }
            OpCode::SetAcl => {
                let req = SetAclRequest::read(body).map_err(|_| ErrorCode::MarshallingError)?;
                self.set_acl(&req.path, &req.acl, req.version)
            }
            OpCode::Check => {
                let req =
                    CheckVersionRequest::read(body).map_err(|_| ErrorCode::MarshallingError)?;
                self.check(&req.path, req.version)
            }
            OpCode::Reconfig => {
                if !self.reconfig_enabled {
                    return Err(ErrorCode::ReconfigDisabled);
                }
                self.check_session()?;
                // A standalone server cannot change its membership.
                Err(ErrorCode::Unimplemented)
            }
            OpCode::Multi => {
                let req = MultiRequest::read(body).map_err(|_| ErrorCode::MarshallingError)?;
                self.multi(&req, time)
            }
            _ => Err(ErrorCode::Unimplemented),
        }
    }

    #[allow(clippy::too_many_arguments)]
    fn create(
        &mut self,
        op: OpCode,
        p: &str,
        data: Option<Bytes>,
        acl: &[Acl],
        flags: i32,
        ttl: i64,
        time: i64,
    ) -> PrepResult {
        let mode = CreateModeInfo::from_flags(flags).ok_or(ErrorCode::BadArguments)?;
        // validateCreateRequest
        if mode.ttl && !self.extended_types_enabled {
            return Err(ErrorCode::Unimplemented);
        }
        if mode.ttl {
            if !ephemeral::ttl_valid(ttl) {
                return Err(ErrorCode::BadArguments);
            }
        } else if ttl >= 0 || (op == OpCode::CreateTtl) {
            // A createTTL whose mode is not a TTL mode is refused cleanly.
            return Err(ErrorCode::BadArguments);
        }
        self.check_session()?;
        // validatePathForCreate
        let slash = p.rfind('/').ok_or(ErrorCode::BadArguments)?;
        if p.contains('\0') {
            return Err(ErrorCode::BadArguments);
        }
        let parent_path = &p[..slash];
        let acl = acl::fixup(acl, self.auth).ok_or(ErrorCode::InvalidAcl)?;
        let parent = self.record(parent_path)?;
        self.check_acl(&parent.acl, perms::CREATE)?;
        let parent_stat = parent.stat.clone().ok_or(ErrorCode::NoNode)?;
        let mut p = p.to_string();
        if mode.sequential {
            p.push_str(&format!("{:010}", parent_stat.cversion));
        }
        path::validate_path(&p).map_err(|_| ErrorCode::BadArguments)?;
        if self.record(&p).is_ok() {
            return Err(ErrorCode::NodeExists);
        }
        if ephemeral_type(parent_stat.ephemeral_owner, self.extended_types_enabled)
            == EphemeralType::Normal
        {
            return Err(ErrorCode::NoChildrenForEphemerals);
        }
        let new_cversion = parent_stat.cversion.wrapping_add(1);
        let data_len = data.as_ref().map_or(0, |d| d.len() as i64);
        self.check_quota(&p, 0, data_len, true)?;
        let owner = if op == OpCode::CreateContainer || mode.container {
            ephemeral::CONTAINER_EPHEMERAL_OWNER
        } else if mode.ttl {
            ephemeral::ttl_owner(ttl)
        } else if mode.ephemeral {
            self.session_id
        } else {
            0
        };
        let body = match op {
            OpCode::CreateContainer => TxnBody::CreateContainer(CreateContainerTxn {
                path: p.clone(),
                data,
                acl: acl.clone(),
                parent_c_version: new_cversion,
            }),
            OpCode::CreateTtl => TxnBody::CreateTtl(CreateTtlTxn {
                path: p.clone(),
                data,
                acl: acl.clone(),
                parent_c_version: new_cversion,
                ttl,
            }),
            _ => TxnBody::Create(CreateTxn {
                path: p.clone(),
                data,
                acl: acl.clone(),
                ephemeral: mode.ephemeral,
                parent_c_version: new_cversion,
            }),
        };
        let mut ps = parent_stat;
        ps.cversion = new_cversion;
        ps.pzxid = self.zxid;
        self.add_record(
            parent_path,
            ChangeRecord {
                zxid: self.zxid,
                stat: Some(ps),
                child_count: parent.child_count + 1,
                acl: parent.acl,
                data_len: parent.data_len,
            },
        );
        let stat = StatPersisted {
            czxid: self.zxid,
            mzxid: self.zxid,
            ctime: time,
            mtime: time,
            ephemeral_owner: owner,
            pzxid: self.zxid,
            ..StatPersisted::default()
        };
        self.add_record(
            &p,
            ChangeRecord {
                zxid: self.zxid,
                stat: Some(stat),
                child_count: 0,
                acl: acl.into(),
                data_len,
            },
        );
        Ok(body)
    }

    fn parent_and_validate(&self, p: &str) -> Result<String, ErrorCode> {
        let slash = p.rfind('/').ok_or(ErrorCode::BadArguments)?;
        if p.contains('\0') || is_special_path(p) {
            return Err(ErrorCode::BadArguments);
        }
        Ok(p[..slash].to_string())
    }

    fn delete(&mut self, p: &str, version: i32) -> PrepResult {
        self.check_session()?;
        let parent_path = self.parent_and_validate(p)?;
        let parent = self.record(&parent_path)?;
        self.check_acl(&parent.acl, perms::DELETE)?;
        let node = self.record(p)?;
        let stat = node.stat.clone().ok_or(ErrorCode::NoNode)?;
        check_version(stat.version, version)?;
        if node.child_count > 0 {
            return Err(ErrorCode::NotEmpty);
        }
        self.record_delete(&parent_path, parent, p);
        Ok(TxnBody::Delete(DeleteTxn {
            path: p.to_string(),
        }))
    }

    fn record_delete(&mut self, parent_path: &str, parent: ChangeRecord, p: &str) {
        let mut ps = parent.stat.clone().unwrap_or_default();
        ps.pzxid = self.zxid;
        self.add_record(
            parent_path,
            ChangeRecord {
                zxid: self.zxid,
                stat: Some(ps),
                child_count: parent.child_count - 1,
                acl: parent.acl,
                data_len: parent.data_len,
            },
        );
        self.add_record(
            p,
            ChangeRecord {
                zxid: self.zxid,
                stat: None,
                child_count: 0,
                acl: Arc::from([]),
                data_len: 0,
            },
        );
    }

    fn delete_container(&mut self, p: &str) -> PrepResult {
        let parent_path = self.parent_and_validate(p)?;
        let node = self.record(p)?;
        if node.child_count > 0 {
            return Err(ErrorCode::NotEmpty);
        }
        let owner = node.stat.as_ref().map_or(0, |s| s.ephemeral_owner);
        if ephemeral_type(owner, self.extended_types_enabled) == EphemeralType::Normal {
            return Err(ErrorCode::BadVersion);
        }
        let parent = self.record(&parent_path)?;
        self.record_delete(&parent_path, parent, p);
        Ok(TxnBody::Delete(DeleteTxn {
            path: p.to_string(),
        }))
    }

    fn set_data(&mut self, p: &str, data: Option<Bytes>, version: i32, time: i64) -> PrepResult {
        self.check_session()?;
        path::validate_path(p).map_err(|_| ErrorCode::BadArguments)?;
        let node = self.record(p)?;
        self.check_acl(&node.acl, perms::WRITE)?;
        let new_len = data.as_ref().map_or(0, |d| d.len() as i64);
        self.check_quota(p, node.data_len, new_len, false)?;
        let mut stat = node.stat.clone().ok_or(ErrorCode::NoNode)?;
        let new_version = check_version(stat.version, version)?;
        stat.version = new_version;
        stat.mtime = time;
        stat.mzxid = self.zxid;
        self.add_record(
            p,
            ChangeRecord {
                zxid: self.zxid,
                stat: Some(stat),
                data_len: new_len,
                ..node
            },
        );
        Ok(TxnBody::SetData(SetDataTxn {
            path: p.to_string(),
            data,
            version: new_version,
        }))
    }

    fn set_acl(&mut self, p: &str, acl: &[Acl], version: i32) -> PrepResult {
        self.check_session()?;
        path::validate_path(p).map_err(|_| ErrorCode::BadArguments)?;
        let acl = acl::fixup(acl, self.auth).ok_or(ErrorCode::InvalidAcl)?;
        let node = self.record(p)?;
        self.check_acl(&node.acl, perms::ADMIN)?;
        let mut stat = node.stat.clone().ok_or(ErrorCode::NoNode)?;
        let new_version = check_version(stat.aversion, version)?;
        stat.aversion = new_version;
        self.add_record(
            p,
            ChangeRecord {
                zxid: self.zxid,
                stat: Some(stat),
                acl: acl.as_slice().into(),
                ..node
            },
        );
        Ok(TxnBody::SetAcl(SetAclTxn {
            path: p.to_string(),
            acl,
            version: new_version,
        }))
    }

    fn check(&mut self, p: &str, version: i32) -> PrepResult {
        self.check_session()?;
        path::validate_path(p).map_err(|_| ErrorCode::BadArguments)?;
        let node = self.record(p)?;
        self.check_acl(&node.acl, perms::READ)?;
        let stat = node.stat.ok_or(ErrorCode::NoNode)?;
        let v = check_version(stat.version, version)?;
        Ok(TxnBody::Check(CheckVersionTxn {
            path: p.to_string(),
            version: v,
        }))
    }

    /// Prepares a multi. Its ops see each other's effects; the first failing
    /// op turns the rest into RuntimeInconsistency errors. The only failure of
    /// the whole request is a create op whose flags ask for a TTL node without
    /// being a createTTL op (ZooKeeper fails such a multi with
    /// MarshallingError, consuming a zxid).
    fn multi(&mut self, req: &MultiRequest, time: i64) -> PrepResult {
        // A multi may hold only writes; any read op fails the whole request
        // (ZooKeeper's record decoding refuses it), still as an error txn.
        if req.ops.iter().any(super::server::is_read_op) {
            return Err(ErrorCode::MarshallingError);
        }
        // A rollback point, not a copy: the records held can be many (every
        // outstanding write's), a multi adds a few.
        let saved = self.pending.len();
        let mut failed = false;
        let mut subs = Vec::with_capacity(req.ops.len());
        for op in &req.ops {
            if failed {
                subs.push(error_sub(ErrorCode::RuntimeInconsistency));
                continue;
            }
            let res = match op {
                MultiOp::Create { req, .. } => {
                    let (op, flags) = multi_create_kind(req.flags, false)?;
                    self.create(op, &req.path, req.data.clone(), &req.acl, flags, -1, time)
                }
                MultiOp::CreateTtl(r) => {
                    let (op, flags) = multi_create_kind(r.flags, true)?;
                    let ttl = if op == OpCode::CreateTtl { r.ttl } else { -1 };
                    self.create(op, &r.path, r.data.clone(), &r.acl, flags, ttl, time)
                }
                MultiOp::Delete(r) => self.delete(&r.path, r.version),
                MultiOp::SetData(r) => self.set_data(&r.path, r.data.clone(), r.version, time),
                MultiOp::Check(r) => self.check(&r.path, r.version),
                MultiOp::GetChildren(_) | MultiOp::GetData(_) => Err(ErrorCode::MarshallingError),
            };
            match res {
                Ok(body) => subs.push(SubTxn {
                    type_: sub_type(op, &body),
                    body,
                }),
                Err(e) => {
                    failed = true;
                    self.pending.truncate(saved);
                    subs.push(error_sub(e));
                }
            }
        }
        Ok(TxnBody::Multi(subs))
    }
}

/// What a create inside a multi really is. ZooKeeper rebuilds each create op
/// from its flags, so the op code in the multi header does not matter: a
/// container flag makes a createContainer, TTL flags a createTTL (which only a
/// createTTL record can carry), anything else a plain create.
fn multi_create_kind(flags: i32, is_ttl_record: bool) -> Result<(OpCode, i32), ErrorCode> {
    match flags {
        create_mode::CONTAINER => Ok((OpCode::CreateContainer, flags)),
        create_mode::PERSISTENT_WITH_TTL | create_mode::PERSISTENT_SEQUENTIAL_WITH_TTL => {
            if is_ttl_record {
                Ok((OpCode::CreateTtl, flags))
            } else {
                Err(ErrorCode::MarshallingError)
            }
        }
        // Unknown flags make a plain create op that keeps them, and fails
        // with BadArguments when prepped.
        _ => Ok((OpCode::Create, flags)),
    }
}

fn error_sub(e: ErrorCode) -> SubTxn {
    SubTxn {
        type_: OpCode::Error.code(),
        body: TxnBody::Error(ErrorTxn { err: e.code() }),
    }
}

/// A multi sub-txn's type follows its record: plain creates are `create`,
/// container and TTL creates keep their own codes (clients see `create2`
/// results for those).
fn sub_type(op: &MultiOp, body: &TxnBody) -> i32 {
    match body {
        TxnBody::Create(_) => OpCode::Create.code(),
        TxnBody::CreateContainer(_) => OpCode::CreateContainer.code(),
        TxnBody::CreateTtl(_) => OpCode::CreateTtl.code(),
        _ => op.op_code().code(),
    }
}

fn check_version(current: i32, expected: i32) -> Result<i32, ErrorCode> {
    if expected != -1 && expected != current {
        return Err(ErrorCode::BadVersion);
    }
    Ok(current.wrapping_add(1))
}

fn is_special_path(p: &str) -> bool {
    matches!(p, "/" | PROC_ZOOKEEPER | QUOTA_ZOOKEEPER | CONFIG_ZOOKEEPER)
}

/// `CreateMode` decoded from flags.
#[derive(Debug, Clone, Copy)]
struct CreateModeInfo {
    ephemeral: bool,
    sequential: bool,
    container: bool,
    ttl: bool,
}

impl CreateModeInfo {
    fn from_flags(flags: i32) -> Option<CreateModeInfo> {
        let m = |ephemeral, sequential, container, ttl| {
            Some(CreateModeInfo {
                ephemeral,
                sequential,
                container,
                ttl,
            })
        };
        match flags {
            create_mode::PERSISTENT => m(false, false, false, false),
            create_mode::EPHEMERAL => m(true, false, false, false),
            create_mode::PERSISTENT_SEQUENTIAL => m(false, true, false, false),
            create_mode::EPHEMERAL_SEQUENTIAL => m(true, true, false, false),
            create_mode::CONTAINER => m(false, false, true, false),
            create_mode::PERSISTENT_WITH_TTL => m(false, false, false, true),
            create_mode::PERSISTENT_SEQUENTIAL_WITH_TTL => m(false, true, false, true),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn open_acl() -> Vec<Acl> {
        vec![Acl {
            perms: perms::ALL,
            id: Id {
                scheme: "world".into(),
                id: "anyone".into(),
            },
        }]
    }

    fn create(path: &str) -> CreateRequest {
        CreateRequest {
            path: path.into(),
            data: None,
            acl: open_acl(),
            flags: 0,
        }
    }

    /// Preps `op` with `req` as the request body, as txn `zxid`.
    fn prep<R: Record>(
        tree: &DataTree,
        pending: &mut PendingChanges,
        zxid: i64,
        op: OpCode,
        req: &R,
    ) -> PrepResult {
        let policy = AclPolicy::default();
        let mut ctx = PrepContext {
            tree,
            pending,
            policy: &policy,
            auth: &[],
            session_id: 1,
            session_valid: true,
            session_moved: false,
            zxid,
            extended_types_enabled: false,
            reconfig_enabled: false,
            enforce_quota: false,
        };
        ctx.prep(op, &mut jute::to_bytes(req), 0)
    }

    /// Against a plain list of records: every lookup finds the newest
    /// record of its path (or none) through inserts, applies and multi
    /// rollbacks, and the per-path counts always add up to the records.
    #[test]
    fn lookups_match_a_scan_of_every_record() {
        let rec = |zxid| ChangeRecord {
            zxid,
            stat: None,
            child_count: 0,
            acl: Arc::from(Vec::<Acl>::new()),
            data_len: 0,
        };
        let mut pending = PendingChanges::default();
        let mut model: Vec<(String, i64)> = Vec::new();
        let mut seed = 7u64;
        for step in 0..2000i64 {
            seed = seed
                .wrapping_mul(6_364_136_223_846_793_005)
                .wrapping_add(1_442_695_040_888_963_407);
            let path = format!("/p{}", (seed >> 33) % 17);
            match (seed >> 20) % 4 {
                0 | 1 => {
                    pending.insert(path.clone(), rec(step));
                    model.push((path, step));
                }
                2 => {
                    let zxid = step - 40;
                    pending.applied(zxid);
                    model.retain(|(_, z)| *z > zxid);
                }
                _ => {
                    let len = model.len().saturating_sub(((seed >> 8) % 3) as usize);
                    pending.truncate(len);
                    model.truncate(len);
                }
            }
            for i in 0..17 {
                let p = format!("/p{i}");
                let want = model.iter().rev().find(|(q, _)| *q == p).map(|(_, z)| *z);
                assert_eq!(pending.get(&p).map(|r| r.zxid), want, "step {step}, {p}");
            }
            let counted: usize = pending.held.values().map(|&n| n as usize).sum();
            assert_eq!(counted, pending.len());
        }
    }

    /// A multi whose last op fails forgets the records of its own earlier
    /// ops, and only those: an earlier outstanding txn's records stay.
    #[test]
    fn failed_multi_rolls_back_only_its_own_records() {
        let tree = DataTree::new(false);
        let mut pending = PendingChanges::default();
        assert!(prep(&tree, &mut pending, 1, OpCode::Create, &create("/kept")).is_ok());
        let held = pending.len();
        assert!(held > 0);
        let multi = MultiRequest {
            ops: vec![
                MultiOp::Create {
                    op: OpCode::Create,
                    req: create("/a"),
                },
                MultiOp::Create {
                    op: OpCode::Create,
                    req: create("/a/b"),
                },
                MultiOp::Delete(DeleteRequest {
                    path: "/missing".into(),
                    version: -1,
                }),
            ],
        };
        let Ok(TxnBody::Multi(subs)) = prep(&tree, &mut pending, 2, OpCode::Multi, &multi) else {
            panic!("a multi preps as a multi txn");
        };
        // As ZooKeeper logs it: the ops before the failure keep their txns
        // (applying the multi undoes them), the failing one is an error.
        let types: Vec<i32> = subs.iter().map(|s| s.type_).collect();
        let (created, failed) = (OpCode::Create.code(), OpCode::Error.code());
        assert_eq!(types, [created, created, failed]);
        assert_eq!(pending.len(), held);
        // /a was never created; /kept still is about to be.
        assert_eq!(
            prep(&tree, &mut pending, 3, OpCode::Create, &create("/a/c")).err(),
            Some(ErrorCode::NoNode)
        );
        assert_eq!(
            prep(&tree, &mut pending, 4, OpCode::Create, &create("/kept")).err(),
            Some(ErrorCode::NodeExists)
        );
    }
}
