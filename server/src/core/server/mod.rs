//! The request processor: connection and session handling, the write
//! pipeline (prep → persist → apply → reply), reads against the applied tree,
//! watch delivery, session expiry and container/TTL reaping. One owner calls
//! [`Server::handle`].
//!
//! Pipeline: a write is prepped at once (against the tree plus the change
//! records of txns still in flight, so a connection may pipeline writes),
//! handed out as [`Output::Persist`], and applied and answered when
//! [`Input::Persisted`] covers its zxid. Each connection keeps a FIFO of its
//! in-flight writes and of the frames that must wait behind them: a read (or
//! ping, setWatches...) waits for every earlier write of its connection, so
//! replies leave in request order and a session always reads its own writes.
//! Other connections' reads do not wait. Auth packets are handled on arrival,
//! as ZooKeeper does.
//!
//! Invariants:
//! - Requests of one connection are answered in arrival order.
//! - A watch event is queued for its connection before the reply to the
//!   request whose txn triggered it, so no reply reveals a change before its
//!   event.
//! - Every txn gets the next zxid; failed writes are error txns and consume
//!   one too, as in ZooKeeper.

use super::acl::{self, AclPolicy};
use super::data_tree::{DataTree, Trigger, TxnResult, WatchTable as Table};
use super::java::{concurrent_set_order, session_password};
use super::prep::{PendingChanges, PrepContext};
use super::sessions::SessionTracker;
use super::txn::{SubTxn, Txn, TxnBody};
use super::watches::{WatchMode, Watches};
use super::{ConnId, ConnInfo, CoreConfig, Input, Output, ServerStats};
use bytes::{Bytes, BytesMut};
use jute::data::{perms, ClientInfo, Id};
use jute::multi::{MultiOp, MultiRequest, MultiResponse, OpResult};
use jute::proto::*;
use jute::txn::{CloseSessionTxn, CreateSessionTxn, ErrorTxn, TxnHeader};
use jute::{ErrorCode, OpCode, Record};
use std::collections::{HashMap, VecDeque};
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

/// Whether a request type is a write (goes through the txn pipeline; ZooKeeper's
/// `Request.isQuorum` set, which also decides read vs update latency).
pub fn is_write_op(op: i32) -> bool {
    matches!(
        OpCode::from_i32(op),
        Some(
            OpCode::Create
                | OpCode::Create2
                | OpCode::CreateContainer
                | OpCode::CreateTtl
                | OpCode::Delete
                | OpCode::DeleteContainer
                | OpCode::SetData
                | OpCode::SetAcl
                | OpCode::Check
                | OpCode::Multi
                | OpCode::Reconfig
                | OpCode::CloseSession
        )
    )
}

/// One client connection's state.
#[derive(Debug, Clone)]
struct Conn {
    peer: IpAddr,
    /// 0 until the handshake completes.
    session_id: i64,
    timeout_ms: i32,
    /// Authenticated ids, in the order they were added.
    auth: Vec<Id>,
    /// The same ids in the order ZooKeeper iterates them, kept because every
    /// write needs them (the `auth` ACL scheme's expansion).
    auth_java: Arc<[Id]>,
    established: bool,
    packets_received: u64,
    packets_sent: u64,
    last_zxid: i64,
    /// In-flight writes and the frames queued behind them, in arrival order.
    fifo: VecDeque<Pending>,
    /// The createSession txn of this connection is in flight.
    handshake_pending: bool,
}

impl Conn {
    /// Adds the ids not already held.
    fn add_auth(&mut self, ids: Vec<Id>) {
        for id in ids {
            if !self.auth.contains(&id) {
                self.auth.push(id);
            }
        }
        let ordered =
            concurrent_set_order(self.auth.clone(), |id| (id.scheme.as_str(), id.id.as_str()));
        self.auth_java = ordered.into();
    }
}

/// An entry of a connection's FIFO.
#[derive(Debug, Clone)]
enum Pending {
    /// A write of this connection, by zxid, not yet applied.
    InFlight(#[allow(dead_code)] i64),
    /// A frame that must wait for the writes before it.
    Queued(Bytes),
    /// Learner: a request with the leader (a write, `sync`, or this
    /// connection's createSession/revalidation), by cxid.
    Forwarded { cxid: i32, op: OpCode },
}

impl Pending {
    /// Whether frames behind it must wait (a write or forward in flight).
    fn holds(&self) -> bool {
        !matches!(self, Pending::Queued(_))
    }
}

/// Who waits for an in-flight txn, and what to do once it is applied.
#[derive(Debug, Clone)]
enum Origin {
    Request {
        conn: ConnId,
        xid: i32,
        op: OpCode,
    },
    Connect {
        conn: ConnId,
        read_only: Option<bool>,
    },
    CloseSession {
        conn: ConnId,
        xid: i32,
    },
    Expiry,
    Reap,
    /// Leader: a learner's forwarded request; its learner answers it.
    Remote,
}

/// A prepared txn awaiting durability.
#[derive(Debug, Clone)]
struct InFlight {
    txn: Arc<Txn>,
    origin: Origin,
}

/// The server core.
pub struct Server {
    config: CoreConfig,
    policy: AclPolicy,
    tree: DataTree,
    sessions: SessionTracker,
    watches: Watches,
    pending: PendingChanges,
    // foldhash: these are looked up several times per request; SipHash
    // showed in write profiles.
    conns: HashMap<ConnId, Conn, foldhash::fast::RandomState>,
    session_conn: HashMap<i64, ConnId, foldhash::fast::RandomState>,
    /// The last zxid handed out.
    last_zxid: i64,
    /// Prepared txns awaiting durability, in zxid order.
    in_flight: VecDeque<InFlight>,
    last_reap_ms: i64,
    reaped_this_minute: i64,
    reap_minute_start_ms: i64,
    packets_received: u64,
    packets_sent: u64,
    latency_min_ms: u64,
    latency_max_ms: u64,
    latency_total_ms: u64,
    latency_count: u64,
    role: RoleState,
}

mod admin_view;
mod figures;
mod leader;
mod learner;
mod reads;
mod reply;
mod role;
#[cfg(test)]
mod role_tests;

pub use admin_view::AdminView;
pub use reply::is_read_op;
use reply::*;
use role::RoleState;
pub use role::{QuorumFigures, Role};

impl Server {
    /// A fresh server with an empty tree.
    pub fn new(config: CoreConfig, now_ms: i64) -> Server {
        let session_server_id = if config.server_id == 0 {
            1
        } else {
            config.server_id
        };
        Server {
            policy: AclPolicy {
                skip_acl: config.skip_acl,
                super_digest: config.super_digest.clone(),
            },
            tree: DataTree::new(config.extended_types_enabled),
            sessions: SessionTracker::new(now_ms, session_server_id, config.tick_time_ms),
            watches: Watches::default(),
            pending: PendingChanges::default(),
            conns: HashMap::default(),
            session_conn: HashMap::default(),
            last_zxid: 0,
            in_flight: VecDeque::new(),
            last_reap_ms: now_ms,
            reaped_this_minute: 0,
            reap_minute_start_ms: now_ms,
            packets_received: 0,
            packets_sent: 0,
            latency_min_ms: u64::MAX,
            latency_max_ms: 0,
            latency_total_ms: 0,
            latency_count: 0,
            role: RoleState::default(),
            config,
        }
    }

    /// The data tree (read-only).
    pub fn tree(&self) -> &DataTree {
        &self.tree
    }

    /// Processes one input, appending outputs in delivery order.
    pub fn handle(&mut self, now_ms: i64, input: Input, out: &mut Vec<Output>) {
        match input {
            Input::Open { conn, peer } => {
                self.conns.insert(
                    conn,
                    Conn {
                        peer,
                        session_id: 0,
                        timeout_ms: 0,
                        auth: Vec::new(),
                        auth_java: Arc::from([]),
                        established: false,
                        packets_received: 0,
                        packets_sent: 0,
                        last_zxid: 0,
                        fifo: VecDeque::new(),
                        handshake_pending: false,
                    },
                );
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.add_auth(vec![Id {
                        scheme: "ip".into(),
                        id: peer.to_string(),
                    }]);
                }
            }
            Input::Closed { conn } => self.forget_conn(conn),
            Input::AddAuthInfo { conn, ids } => {
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.add_auth(ids);
                }
            }
            Input::Frame { conn, frame } => {
                let Some(c) = self.conns.get_mut(&conn) else {
                    return;
                };
                c.packets_received += 1;
                self.packets_received += 1;
                self.on_frame(now_ms, conn, frame, out);
            }
            Input::Tick => {
                if self.role.role.owns_sessions() {
                    self.expire_sessions(now_ms, out);
                    self.reap_containers(now_ms, out);
                }
            }
            Input::Persisted { zxid } => self.persisted(now_ms, zxid, out),
            Input::Quorum(q) => self.quorum_input(now_ms, q, out),
        }
    }

    fn forget_conn(&mut self, conn: ConnId) {
        if let Some(c) = self.conns.remove(&conn) {
            if self.session_conn.get(&c.session_id) == Some(&conn) {
                self.session_conn.remove(&c.session_id);
            }
        }
        self.watches.remove_conn(conn);
    }

    fn close(&mut self, conn: ConnId, reason: String, out: &mut Vec<Output>) {
        if self.conns.contains_key(&conn) {
            tracing::debug!(conn, %reason, "closing connection");
            self.forget_conn(conn);
            out.push(Output::Close { conn, reason });
        }
    }

    /// Closes every client connection (an ensemble member that stops
    /// serving: Apache shuts its `ZooKeeperServer` down between roles).
    pub fn close_all_connections(&mut self, reason: &str, out: &mut Vec<Output>) {
        let mut conns: Vec<ConnId> = self.conns.keys().copied().collect();
        conns.sort_unstable();
        for conn in conns {
            self.close(conn, reason.to_string(), out);
        }
    }

    fn send(&mut self, conn: ConnId, frame: Bytes, out: &mut Vec<Output>) {
        if let Some(c) = self.conns.get_mut(&conn) {
            c.packets_sent += 1;
            c.last_zxid = self.tree.last_processed_zxid;
        }
        self.packets_sent += 1;
        out.push(Output::Send { conn, frame });
    }

    fn next_zxid(&mut self) -> i64 {
        self.last_zxid += 1;
        self.last_zxid
    }

    /// Routes a frame: straight to processing, or behind the connection's
    /// in-flight writes.
    fn on_frame(&mut self, now_ms: i64, conn: ConnId, frame: Bytes, out: &mut Vec<Output>) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        if !c.established {
            if c.handshake_pending {
                c.fifo.push_back(Pending::Queued(frame));
            } else {
                self.connect(now_ms, conn, frame, out);
            }
            return;
        }
        let op = (frame.len() >= 8)
            .then(|| i32::from_be_bytes([frame[4], frame[5], frame[6], frame[7]]));
        let bypass = op == Some(OpCode::Auth.code());
        let queued = c.fifo.iter().any(|p| !p.holds());
        if !bypass && !c.fifo.is_empty() && (queued || !op.is_some_and(is_write_op)) {
            let session_id = c.session_id;
            c.fifo.push_back(Pending::Queued(frame));
            self.touch_session(session_id, now_ms);
            return;
        }
        self.request(now_ms, conn, frame, out);
    }

    /// Hands a prepared txn out for persistence and records who waits for it.
    fn submit(&mut self, txn: Txn, origin: Origin, out: &mut Vec<Output>) {
        let waiting = match origin {
            Origin::Request { conn, .. }
            | Origin::Connect { conn, .. }
            | Origin::CloseSession { conn, .. } => Some(conn),
            Origin::Expiry | Origin::Reap | Origin::Remote => None,
        };
        if let Some(c) = waiting.and_then(|conn| self.conns.get_mut(&conn)) {
            c.fifo.push_back(Pending::InFlight(txn.header.zxid));
        }
        let txn = Arc::new(txn);
        out.push(Output::Persist { txn: txn.clone() });
        self.in_flight.push_back(InFlight { txn, origin });
    }

    /// Applies every in-flight txn up to `zxid`, in order, and finishes what
    /// waited for each.
    fn persisted(&mut self, now_ms: i64, zxid: i64, out: &mut Vec<Output>) {
        while self
            .in_flight
            .front()
            .is_some_and(|f| f.txn.header.zxid <= zxid)
        {
            let Some(InFlight { txn, origin }) = self.in_flight.pop_front() else {
                break;
            };
            let rc = self.apply(&txn, out);
            self.finish(now_ms, &txn, origin, &rc, out);
        }
    }

    fn finish(
        &mut self,
        now_ms: i64,
        txn: &Txn,
        origin: Origin,
        rc: &TxnResult,
        out: &mut Vec<Output>,
    ) {
        let zxid = self.tree.last_processed_zxid;
        match origin {
            Origin::Request { conn, xid, op } => {
                if self.conns.contains_key(&conn) {
                    self.send(conn, write_reply(xid, zxid, op, rc), out);
                    self.complete(now_ms, conn, out);
                }
            }
            Origin::Connect { conn, read_only } => {
                let id = txn.header.client_id;
                let timeout = match &txn.body {
                    TxnBody::CreateSession(t) => t.time_out,
                    _ => 0,
                };
                self.set_local_owner(id);
                if self.conns.contains_key(&conn) {
                    tracing::info!(
                        conn,
                        "established session 0x{id:x} with negotiated timeout {timeout}"
                    );
                    self.finish_connect(conn, id, timeout, read_only, out);
                    self.complete(now_ms, conn, out);
                }
            }
            Origin::CloseSession { conn, xid } => {
                if self.conns.contains_key(&conn) {
                    self.send(conn, header_only(xid, zxid, ErrorCode::Ok), out);
                    let id = txn.header.client_id;
                    self.close(conn, format!("closed session 0x{id:x}"), out);
                }
            }
            Origin::Expiry | Origin::Remote => {
                // Any committed closeSession closes the session's connection
                // here, if it has one (`FinalRequestProcessor`).
                if !matches!(txn.body, TxnBody::CloseSession(_)) {
                    return;
                }
                let id = txn.header.client_id;
                if let Some(conn) = self.session_conn.get(&id).copied() {
                    self.close(conn, format!("session 0x{id:x} expired"), out);
                }
            }
            Origin::Reap => {}
        }
    }

    /// The connection's oldest in-flight write is done: process the frames
    /// that waited for it, up to its next in-flight write.
    fn complete(&mut self, now_ms: i64, conn: ConnId, out: &mut Vec<Output>) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        c.fifo.pop_front();
        if c.fifo.front().is_none_or(Pending::holds) {
            return;
        }
        let waiting: Vec<Pending> = c.fifo.drain(..).collect();
        for p in waiting {
            match p {
                Pending::Queued(frame) => self.on_frame(now_ms, conn, frame, out),
                held => {
                    // Cannot happen: nothing is submitted behind a queued frame.
                    if let Some(c) = self.conns.get_mut(&conn) {
                        c.fifo.push_back(held);
                    }
                }
            }
            if !self.conns.contains_key(&conn) {
                return;
            }
        }
    }

    /// Recovers state from durable txns (replayed in zxid order), before any
    /// client connects. Sessions restart their timeouts from `now_ms`, as
    /// ZooKeeper's session tracker does when it loads them.
    pub fn recover(&mut self, txns: impl IntoIterator<Item = Txn>, now_ms: i64) {
        let mut out = Vec::new();
        for txn in txns {
            if txn.header.zxid <= self.tree.last_processed_zxid {
                continue;
            }
            self.apply(&txn, &mut out);
        }
        let last = self.tree.last_processed_zxid;
        self.tree.digest_mut().replay_done(last);
        self.last_zxid = self.last_zxid.max(self.tree.last_processed_zxid);
        let ids: Vec<i64> = self.sessions.iter().map(|s| s.id).collect();
        for id in ids {
            self.sessions.touch(id, now_ms);
        }
    }

    /// Starts from a snapshot: its tree, and its sessions with their timeouts
    /// restarting from `now_ms`. Call before [`Server::recover`] replays the
    /// txns logged after the snapshot's zxid.
    pub fn restore(&mut self, tree: DataTree, sessions: &[(i64, i32)], now_ms: i64) {
        self.tree = tree;
        for &(id, timeout_ms) in sessions {
            self.sessions.add(id, timeout_ms, now_ms);
        }
        self.last_zxid = self.last_zxid.max(self.tree.last_processed_zxid);
    }

    /// Live sessions as a snapshot records them: (id, timeout in ms).
    pub fn session_timeouts(&self) -> Vec<(i64, i32)> {
        self.sessions.iter().map(|s| (s.id, s.timeout_ms)).collect()
    }

    /// Handles an input as a server without a txn log would: every txn it
    /// hands out for persistence counts as durable at once. Used by in-memory
    /// runs and by tests that drive the core directly.
    pub fn handle_durable_now(&mut self, now_ms: i64, input: Input, out: &mut Vec<Output>) {
        let mut scanned = out.len();
        self.handle(now_ms, input, out);
        loop {
            let newest = out[scanned..]
                .iter()
                .filter_map(|o| match o {
                    Output::Persist { txn } => Some(txn.header.zxid),
                    _ => None,
                })
                .max();
            scanned = out.len();
            match newest {
                Some(zxid) => self.handle(now_ms, Input::Persisted { zxid }, out),
                None => break,
            }
        }
    }

    // ---- handshake ----

    fn connect(&mut self, now_ms: i64, conn: ConnId, mut frame: Bytes, out: &mut Vec<Output>) {
        let req = match ConnectRequest::read(&mut frame) {
            Ok(r) => r,
            Err(e) => return self.close(conn, format!("malformed connect request: {e}"), out),
        };
        let last = self.tree.last_processed_zxid;
        if req.last_zxid_seen > last {
            let reason = format!(
                "refusing session request: client has seen zxid 0x{:x}, our last zxid is 0x{:x}",
                req.last_zxid_seen, last
            );
            tracing::info!(conn, "{reason}");
            return self.close(conn, reason, out);
        }
        let timeout = req.time_out.clamp(
            self.config.session_timeout_ms_min,
            self.config.session_timeout_ms_max,
        );
        let read_only = req.read_only.map(|_| false);
        if req.session_id == 0 && self.role.role.is_learner() {
            return self.learner_create_session(conn, timeout, read_only, out);
        }
        if req.session_id == 0 {
            let id = self.sessions.next_id();
            let zxid = self.next_zxid();
            let txn = Txn {
                header: TxnHeader {
                    client_id: id,
                    cxid: 0,
                    zxid,
                    time: now_ms,
                    type_: OpCode::CreateSession.code(),
                },
                body: TxnBody::CreateSession(CreateSessionTxn { time_out: timeout }),
            };
            if let Some(c) = self.conns.get_mut(&conn) {
                c.handshake_pending = true;
            }
            self.submit(txn, Origin::Connect { conn, read_only }, out);
            return;
        }
        let id = req.session_id;
        // Any reconnect attempt drops the session's current connection first,
        // before the password is checked, as the reference does.
        if let Some(old) = self.session_conn.get(&id).copied() {
            if old != conn {
                self.close(old, format!("session 0x{id:x} reconnecting elsewhere"), out);
            }
        }
        let passwd_ok = req
            .passwd
            .as_deref()
            .is_some_and(|p| p == session_password(id).as_slice());
        if passwd_ok && self.role.role.is_learner() {
            return self.learner_revalidate(conn, id, timeout, read_only, out);
        }
        if passwd_ok && self.touch_session(id, now_ms) {
            tracing::info!(conn, "revalidated session 0x{id:x}");
            self.set_local_owner(id);
            self.finish_connect(conn, id, timeout, read_only, out);
        } else {
            let why = if passwd_ok {
                "expired"
            } else {
                "invalid password"
            };
            self.refuse_reconnect(conn, id, why, read_only, out);
        }
    }

    /// Answers a reconnect with ZooKeeper's "session expired" handshake
    /// (timeout 0) and closes the connection.
    fn refuse_reconnect(
        &mut self,
        conn: ConnId,
        id: i64,
        why: &str,
        read_only: Option<bool>,
        out: &mut Vec<Output>,
    ) {
        tracing::info!(conn, "refusing reconnect of session 0x{id:x}: {why}");
        let rsp = ConnectResponse {
            protocol_version: 0,
            time_out: 0,
            session_id: 0,
            passwd: Some(Bytes::from_static(&[0u8; 16])),
            read_only,
        };
        let f = make_frame(|b| rsp.write(b));
        self.send(conn, f, out);
        self.close(conn, format!("session 0x{id:x} {why}"), out);
    }

    fn finish_connect(
        &mut self,
        conn: ConnId,
        id: i64,
        timeout: i32,
        read_only: Option<bool>,
        out: &mut Vec<Output>,
    ) {
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        c.session_id = id;
        c.timeout_ms = timeout;
        c.established = true;
        self.session_conn.insert(id, conn);
        let rsp = ConnectResponse {
            protocol_version: 0,
            time_out: timeout,
            session_id: id,
            passwd: Some(Bytes::copy_from_slice(&session_password(id))),
            read_only,
        };
        let f = make_frame(|b| rsp.write(b));
        self.send(conn, f, out);
    }

    // ---- requests ----

    fn request(&mut self, now_ms: i64, conn: ConnId, mut frame: Bytes, out: &mut Vec<Output>) {
        let hdr = match RequestHeader::read(&mut frame) {
            Ok(h) => h,
            Err(e) => return self.close(conn, format!("malformed request header: {e}"), out),
        };
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        let session_id = c.session_id;
        if !self.touch_session(session_id, now_ms) && hdr.type_ != OpCode::CloseSession.code() {
            let f = header_only(
                hdr.xid,
                self.tree.last_processed_zxid,
                ErrorCode::SessionExpired,
            );
            self.send(conn, f, out);
            return self.close(conn, format!("session 0x{session_id:x} is gone"), out);
        }
        let xid = hdr.xid;
        let Some(op) = OpCode::from_i32(hdr.type_) else {
            tracing::debug!(conn, op = hdr.type_, "unknown opcode");
            let f = header_only(xid, self.tree.last_processed_zxid, ErrorCode::Unimplemented);
            return self.send(conn, f, out);
        };
        if self.role.role.is_learner() && (is_write_op(op.code()) || op == OpCode::Sync) {
            return self.forward(conn, xid, op, frame, out);
        }
        match op {
            OpCode::Ping => {
                let f = header_only(xid, self.tree.last_processed_zxid, ErrorCode::Ok);
                self.send(conn, f, out);
            }
            OpCode::Auth => self.auth(conn, xid, frame, out),
            OpCode::SetWatches | OpCode::SetWatches2 => self.set_watches(conn, xid, op, frame, out),
            OpCode::Sasl => {
                // No SASL mechanism is configured: answer with an empty token.
                let rsp = SetSaslResponse { token: None };
                let f = reply(xid, 0, ErrorCode::Ok, Some(&rsp));
                self.send(conn, f, out);
            }
            OpCode::CloseSession => self.close_session(now_ms, conn, xid, out),
            _ if is_write_op(op.code()) => self.write(now_ms, conn, xid, op, frame, out),
            OpCode::CreateSession | OpCode::Notification | OpCode::Error => {
                let f = header_only(xid, self.tree.last_processed_zxid, ErrorCode::Unimplemented);
                self.send(conn, f, out);
            }
            OpCode::MultiRead => {
                let (err, body) = self.multi_read(conn, &mut frame);
                let f = frame_with(xid, self.tree.last_processed_zxid, err, body);
                self.send(conn, f, out);
            }
            _ => {
                let result = self.read(conn, op, &mut frame);
                let zxid = self.tree.last_processed_zxid;
                let f = match result {
                    Ok(body) => frame_with(xid, zxid, ErrorCode::Ok, body),
                    Err(e) => header_only(xid, zxid, e),
                };
                self.send(conn, f, out);
            }
        }
    }

    fn auth(&mut self, conn: ConnId, xid: i32, mut frame: Bytes, out: &mut Vec<Output>) {
        let Ok(pkt) = AuthPacket::read(&mut frame) else {
            return self.close(conn, "malformed auth packet".into(), out);
        };
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        let peer = c.peer;
        // `addauth x509`: X509AuthenticationProvider re-reads the TLS
        // client certificate, which the connection layer already turned
        // into ids; without one it fails, as below.
        if pkt.scheme == "x509" && c.auth.iter().any(|id| id.scheme == "x509") {
            return self.send(conn, header_only(xid, 0, ErrorCode::Ok), out);
        }
        let auth = pkt.auth.as_deref().unwrap_or(&[]);
        match acl::authenticate(&self.policy, &pkt.scheme, auth, peer) {
            Some(ids) => {
                if let Some(c) = self.conns.get_mut(&conn) {
                    c.add_auth(ids);
                }
                self.send(conn, header_only(xid, 0, ErrorCode::Ok), out);
            }
            None => {
                tracing::warn!(conn, scheme = %pkt.scheme, "authentication failed");
                self.send(conn, header_only(xid, 0, ErrorCode::AuthFailed), out);
                self.close(
                    conn,
                    format!("authentication failed for scheme {}", pkt.scheme),
                    out,
                );
            }
        }
    }

    fn set_watches(
        &mut self,
        conn: ConnId,
        xid: i32,
        op: OpCode,
        mut frame: Bytes,
        out: &mut Vec<Output>,
    ) {
        let sw = if op == OpCode::SetWatches {
            SetWatches::read(&mut frame).map(|s| SetWatches2 {
                relative_zxid: s.relative_zxid,
                data_watches: s.data_watches,
                exist_watches: s.exist_watches,
                child_watches: s.child_watches,
                persistent_watches: vec![],
                persistent_recursive_watches: vec![],
            })
        } else {
            SetWatches2::read(&mut frame)
        };
        let Ok(sw) = sw else {
            let f = header_only(
                xid,
                self.tree.last_processed_zxid,
                ErrorCode::MarshallingError,
            );
            return self.send(conn, f, out);
        };
        let rel = sw.relative_zxid;
        for p in &sw.data_watches {
            match self.tree.get(p) {
                None => self.event(conn, event_type::NODE_DELETED, p, out),
                Some(n) if n.stat().mzxid > rel => {
                    self.event(conn, event_type::NODE_DATA_CHANGED, p, out)
                }
                Some(_) => self.watches.data.add(p, conn, WatchMode::Standard),
            }
        }
        for p in &sw.exist_watches {
            if self.tree.get(p).is_some() {
                self.event(conn, event_type::NODE_CREATED, p, out);
            } else {
                self.watches.data.add(p, conn, WatchMode::Standard);
            }
        }
        for p in &sw.child_watches {
            match self.tree.get(p) {
                None => self.event(conn, event_type::NODE_DELETED, p, out),
                Some(n) if n.stat().pzxid > rel => {
                    self.event(conn, event_type::NODE_CHILDREN_CHANGED, p, out)
                }
                Some(_) => self.watches.child.add(p, conn, WatchMode::Standard),
            }
        }
        for p in &sw.persistent_watches {
            self.watches.child.add(p, conn, WatchMode::Persistent);
            self.watches.data.add(p, conn, WatchMode::Persistent);
        }
        for p in &sw.persistent_recursive_watches {
            self.watches
                .child
                .add(p, conn, WatchMode::PersistentRecursive);
            self.watches
                .data
                .add(p, conn, WatchMode::PersistentRecursive);
        }
        let f = header_only(xid, self.tree.last_processed_zxid, ErrorCode::Ok);
        self.send(conn, f, out);
    }

    fn event(&mut self, conn: ConnId, event: i32, path: &str, out: &mut Vec<Output>) {
        let f = event_frame(event, path);
        self.send(conn, f, out);
    }

    fn close_session(&mut self, now_ms: i64, conn: ConnId, xid: i32, out: &mut Vec<Output>) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        let id = c.session_id;
        let txn = self.close_session_txn(now_ms, id, xid);
        self.submit(txn, Origin::CloseSession { conn, xid }, out);
    }

    fn close_session_txn(&mut self, now_ms: i64, id: i64, cxid: i32) -> Txn {
        let paths = self
            .pending
            .adjust_ephemerals(id, self.tree.ephemerals_of(id));
        self.sessions.set_closing(id);
        let zxid = self.next_zxid();
        Txn {
            header: TxnHeader {
                client_id: id,
                cxid,
                zxid,
                time: now_ms,
                type_: OpCode::CloseSession.code(),
            },
            body: TxnBody::CloseSession(CloseSessionTxn {
                paths2_delete: paths,
            }),
        }
    }

    fn write(
        &mut self,
        now_ms: i64,
        conn: ConnId,
        xid: i32,
        op: OpCode,
        mut body: Bytes,
        out: &mut Vec<Output>,
    ) {
        let Some(c) = self.conns.get(&conn) else {
            return;
        };
        let session_id = c.session_id;
        let auth = self.auth_in_java_order(conn);
        let me = self.config.server_id;
        let txn = self.prep_txn(now_ms, session_id, xid, op, &mut body, &auth, me);
        self.submit(txn, Origin::Request { conn, xid, op }, out);
    }

    /// Turns a write into its txn (an error txn if it fails), taking the
    /// next zxid either way. `from`: the server the session's request came
    /// through (a leader refuses a session owned elsewhere: SESSIONMOVED).
    #[allow(clippy::too_many_arguments)]
    fn prep_txn(
        &mut self,
        now_ms: i64,
        session_id: i64,
        cxid: i32,
        op: OpCode,
        body: &mut Bytes,
        auth: &[Id],
        from: crate::quorum::types::Sid,
    ) -> Txn {
        let zxid = self.next_zxid();
        let session_valid = session_id == 0 || self.sessions.is_valid(session_id);
        let session_moved = session_valid && self.session_moved(session_id, from);
        let mut ctx = PrepContext {
            tree: &self.tree,
            pending: &mut self.pending,
            policy: &self.policy,
            auth,
            session_id,
            session_valid,
            session_moved,
            zxid,
            extended_types_enabled: self.config.extended_types_enabled,
            reconfig_enabled: self.config.reconfig_enabled,
            enforce_quota: self.config.enforce_quota,
        };
        let (type_, body) = match ctx.prep(op, body, now_ms) {
            // A standalone check is logged as a one-op multi: it still takes
            // its zxid, changes nothing, and stays readable by ZooKeeper,
            // whose log reader rejects a top-level check txn.
            Ok(TxnBody::Check(c)) => (
                OpCode::Multi.code(),
                TxnBody::Multi(vec![SubTxn {
                    type_: OpCode::Check.code(),
                    body: TxnBody::Check(c),
                }]),
            ),
            Ok(b) => (op.code(), b),
            Err(e) => (
                OpCode::Error.code(),
                TxnBody::Error(ErrorTxn { err: e.code() }),
            ),
        };
        Txn {
            header: TxnHeader {
                client_id: session_id,
                cxid,
                zxid,
                time: now_ms,
                type_,
            },
            body,
        }
    }

    /// Applies a txn to the tree and sessions, and delivers its watch events.
    fn apply(&mut self, txn: &Txn, out: &mut Vec<Output>) -> TxnResult {
        let mut triggers: Vec<Trigger> = Vec::new();
        let rc = self.tree.apply(txn, &mut triggers);
        let h = &txn.header;
        match &txn.body {
            TxnBody::CreateSession(t) => self.sessions.add(h.client_id, t.time_out, h.time),
            TxnBody::CloseSession(_) => {
                self.sessions.remove(h.client_id);
                self.role.owners.remove(&h.client_id);
                self.role.touches.remove(&h.client_id);
            }
            _ => {}
        }
        self.pending.applied(h.zxid);
        self.fire(&triggers, out);
        rc
    }

    fn fire(&mut self, triggers: &[Trigger], out: &mut Vec<Output>) {
        let mut last_data: Vec<ConnId> = Vec::new();
        for t in triggers {
            let notify = match t.table {
                Table::Data => {
                    last_data = self.watches.data.trigger(&t.path, t.event_type, &[]);
                    last_data.clone()
                }
                Table::ChildSuppressed => {
                    self.watches
                        .child
                        .trigger(&t.path, t.event_type, &last_data)
                }
                Table::Child => self.watches.child.trigger(&t.path, t.event_type, &[]),
            };
            if notify.is_empty() {
                continue;
            }
            let f = event_frame(t.event_type, &t.path);
            for conn in notify {
                // Events are filtered by the node's ACL (ZooKeeper 3.8 checks
                // READ in `ServerCnxn.process(event, acl)`).
                let allowed = self
                    .conns
                    .get(&conn)
                    .is_some_and(|c| acl::check(&self.policy, &t.acl, perms::READ, &c.auth));
                if allowed {
                    self.send(conn, f.clone(), out);
                }
            }
        }
    }

    // ---- reads ----

    // ---- time-driven work ----

    fn expire_sessions(&mut self, now_ms: i64, out: &mut Vec<Output>) {
        for id in self.sessions.expired(now_ms) {
            tracing::info!("expiring session 0x{id:x}");
            let txn = self.close_session_txn(now_ms, id, 0);
            self.submit(txn, Origin::Expiry, out);
        }
    }

    fn reap_containers(&mut self, now_ms: i64, out: &mut Vec<Output>) {
        if now_ms - self.last_reap_ms < self.config.container_check_interval_ms {
            return;
        }
        self.last_reap_ms = now_ms;
        if now_ms - self.reap_minute_start_ms >= 60_000 {
            self.reap_minute_start_ms = now_ms;
            self.reaped_this_minute = 0;
        }
        let candidates = self
            .tree
            .reap_candidates(now_ms, self.config.container_max_never_used_interval_ms);
        for p in candidates {
            if self.reaped_this_minute >= self.config.container_max_per_minute {
                break;
            }
            self.reaped_this_minute += 1;
            let mut body = Bytes::from(p.into_bytes());
            let op = OpCode::DeleteContainer;
            let me = self.config.server_id;
            let txn = self.prep_txn(now_ms, 0, 0, op, &mut body, &[], me);
            self.submit(txn, Origin::Reap, out);
        }
    }
}
