//! A learner's side of the request processor (follower or observer: the
//! same here). Reads are served from the local tree; writes, `sync`, new
//! sessions and reconnects go to the leader and wait in the connection's
//! FIFO; committed txns are applied in zxid order and answer the local
//! request at the head of the session's FIFO (`FollowerRequestProcessor`,
//! `CommitProcessor`, `Learner.validateSession` in Apache ZooKeeper 3.8).
//!
//! Invariants:
//! - A learner never prepares a txn, never expires a session, never reaps.
//! - Per connection, replies keep request order: a committed txn answers
//!   only the head of its session's FIFO (matched by cxid).
//! - Every packet of an established session enters the touch table, which
//!   the next PING reply takes whole.

use super::role::{PendingConnect, PendingSync};
use super::*;
use crate::core::quorum_io::QuorumOutput;
use crate::quorum::types::{ForwardedRequest, SessionTouch};

impl Server {
    /// A learner has applied the txn at `zxid`, which the leader sent with
    /// the tree digest it expects after it (3.8.0's PROPOSAL `TxnDigest`):
    /// a different digest here is logged and counted
    /// (`zk_digest_mismatches_count`), as `DataTree.compareDigest` does.
    /// Skipped unless the txn was just applied and the versions agree.
    pub fn check_txn_digest(&mut self, zxid: i64, version: i32, tree_digest: i64) {
        if self.tree.last_processed_zxid != zxid || version != crate::core::digest::DIGEST_VERSION {
            return;
        }
        let stored = crate::core::digest::ZxidDigest {
            zxid,
            version,
            digest: tree_digest,
        };
        self.tree.digest_mut().expect(stored, zxid);
    }

    /// Takes the learner's touch table (sessions active since the last
    /// PING, with their timeouts), leaving it empty.
    pub fn take_touches(&mut self) -> Vec<SessionTouch> {
        self.role.take_touches()
    }

    /// Extends a session; a learner also records it for its next PING.
    pub(super) fn touch_session(&mut self, id: i64, now_ms: i64) -> bool {
        let live = self.sessions.touch(id, now_ms);
        if live && self.role.role.is_learner() {
            if let Some(s) = self.sessions.get(id) {
                self.role.touches.insert(id, s.timeout_ms);
            }
        }
        live
    }

    /// Holds `conn`'s handshake until the leader answers: the connect waits
    /// at the head of its FIFO as a forwarded createSession (cxid 0).
    fn begin_learner_connect(
        &mut self,
        conn: ConnId,
        timeout_ms: i32,
        read_only: Option<bool>,
    ) -> Option<PendingConnect> {
        let c = self.conns.get_mut(&conn)?;
        c.handshake_pending = true;
        c.fifo.push_back(Pending::Forwarded {
            cxid: 0,
            op: OpCode::CreateSession,
        });
        Some(PendingConnect {
            conn,
            timeout_ms,
            read_only,
        })
    }

    /// A new session on a learner: its id is ours (sid in the top byte),
    /// its createSession goes to the leader, the reply waits for the commit.
    pub(super) fn learner_create_session(
        &mut self,
        conn: ConnId,
        timeout_ms: i32,
        read_only: Option<bool>,
        out: &mut Vec<Output>,
    ) {
        let id = self.sessions.next_id();
        let Some(pending) = self.begin_learner_connect(conn, timeout_ms, read_only) else {
            return;
        };
        self.role.connecting.insert(id, pending);
        out.push(Output::Quorum(QuorumOutput::Forward(ForwardedRequest {
            session_id: id,
            cxid: 0,
            op: OpCode::CreateSession.code(),
            request: Bytes::copy_from_slice(&timeout_ms.to_be_bytes()),
            auth: vec![],
        })));
    }

    /// A reconnect with a good password: only the leader knows whether the
    /// session lives, so ask it (REVALIDATE).
    pub(super) fn learner_revalidate(
        &mut self,
        conn: ConnId,
        id: i64,
        timeout_ms: i32,
        read_only: Option<bool>,
        out: &mut Vec<Output>,
    ) {
        let Some(pending) = self.begin_learner_connect(conn, timeout_ms, read_only) else {
            return;
        };
        if let Some(old) = self.role.revalidating.insert(id, pending) {
            // One revalidation per session at a time, as Apache's
            // `pendingRevalidations`; the newer connect wins.
            self.close(
                old.conn,
                format!("session 0x{id:x} reconnecting elsewhere"),
                out,
            );
        }
        out.push(Output::Quorum(QuorumOutput::Revalidate {
            session_id: id,
            timeout_ms,
        }));
    }

    /// The leader's REVALIDATE answer: finish or refuse the connect.
    pub(super) fn revalidated(&mut self, now_ms: i64, id: i64, valid: bool, out: &mut Vec<Output>) {
        let Some(p) = self.role.revalidating.remove(&id) else {
            return;
        };
        if !self.conns.contains_key(&p.conn) {
            return;
        }
        if !valid {
            return self.refuse_reconnect(p.conn, id, "expired", p.read_only, out);
        }
        if let Some(old) = self.session_conn.get(&id).copied() {
            if old != p.conn {
                self.close(old, format!("session 0x{id:x} reconnecting elsewhere"), out);
            }
        }
        tracing::info!(conn = p.conn, "revalidated session 0x{id:x}");
        self.finish_connect(p.conn, id, p.timeout_ms, p.read_only, out);
        self.role.touches.insert(id, p.timeout_ms);
        self.complete(now_ms, p.conn, out);
    }

    /// Sends a write or `sync` to the leader; it waits in the FIFO.
    pub(super) fn forward(
        &mut self,
        conn: ConnId,
        xid: i32,
        op: OpCode,
        request: Bytes,
        out: &mut Vec<Output>,
    ) {
        if op == OpCode::Sync {
            let Ok(r) = SyncRequest::read(&mut request.clone()) else {
                let f = header_only(
                    xid,
                    self.tree.last_processed_zxid,
                    ErrorCode::MarshallingError,
                );
                return self.send(conn, f, out);
            };
            self.role.syncs.push_back(PendingSync {
                conn,
                cxid: xid,
                path: r.path,
            });
        }
        let auth = self.auth_in_java_order(conn);
        let Some(c) = self.conns.get_mut(&conn) else {
            return;
        };
        c.fifo.push_back(Pending::Forwarded { cxid: xid, op });
        out.push(Output::Quorum(QuorumOutput::Forward(ForwardedRequest {
            session_id: c.session_id,
            cxid: xid,
            op: op.code(),
            request,
            auth: auth.to_vec(),
        })));
    }

    /// Applies the next committed txn and answers the request it finishes.
    pub(super) fn committed(&mut self, now_ms: i64, txn: Txn, out: &mut Vec<Output>) {
        if txn.header.zxid <= self.tree.last_processed_zxid {
            tracing::debug!(zxid = txn.header.zxid, "committed txn already applied");
            return;
        }
        let rc = self.apply(&txn, out);
        self.last_zxid = self.last_zxid.max(txn.header.zxid);
        let h = &txn.header;
        let id = h.client_id;
        if let TxnBody::CreateSession(t) = &txn.body {
            if let Some(p) = self.role.connecting.remove(&id) {
                if self.conns.contains_key(&p.conn) {
                    tracing::info!(
                        conn = p.conn,
                        "established session 0x{id:x} with negotiated timeout {}",
                        t.time_out
                    );
                    self.finish_connect(p.conn, id, t.time_out, p.read_only, out);
                    self.role.touches.insert(id, t.time_out);
                    self.complete(now_ms, p.conn, out);
                }
                return;
            }
        }
        let Some(conn) = self.session_conn.get(&id).copied() else {
            return;
        };
        let head = self.conns.get(&conn).and_then(|c| c.fifo.front().cloned());
        let is_close = matches!(txn.body, TxnBody::CloseSession(_));
        match head {
            Some(Pending::Forwarded { cxid, op }) if cxid == h.cxid && op != OpCode::Sync => {
                let zxid = self.tree.last_processed_zxid;
                if op == OpCode::CloseSession {
                    self.send(conn, header_only(cxid, zxid, ErrorCode::Ok), out);
                    return self.close(conn, format!("closed session 0x{id:x}"), out);
                }
                self.send(conn, write_reply(cxid, zxid, op, &rc), out);
                self.complete(now_ms, conn, out);
            }
            _ if is_close => {
                self.close(conn, format!("session 0x{id:x} expired"), out);
            }
            _ if h.cxid != 0 || !matches!(txn.body, TxnBody::CreateSession(_)) => {
                // Another server's txn for this session (it moved here
                // after sending it), or a commit out of FIFO order: the
                // head can no longer be answered in order.
                let ours = self.conns.get(&conn).is_some_and(|c| {
                    c.fifo
                        .iter()
                        .any(|p| matches!(p, Pending::Forwarded { cxid, .. } if *cxid == h.cxid))
                });
                if ours {
                    tracing::warn!(conn, cxid = h.cxid, "commit out of request order");
                    self.close(conn, "commit out of request order".into(), out);
                }
            }
            _ => {}
        }
    }

    /// SYNC: the oldest forwarded `sync` is through; answer it in order.
    pub(super) fn sync_done(&mut self, now_ms: i64, out: &mut Vec<Output>) {
        let Some(s) = self.role.syncs.pop_front() else {
            tracing::warn!("SYNC with no sync pending");
            return;
        };
        let head = self
            .conns
            .get(&s.conn)
            .and_then(|c| c.fifo.front().cloned());
        match head {
            Some(Pending::Forwarded {
                cxid,
                op: OpCode::Sync,
            }) if cxid == s.cxid => {
                let rsp = SyncResponse { path: s.path };
                let f = reply(
                    cxid,
                    self.tree.last_processed_zxid,
                    ErrorCode::Ok,
                    Some(&rsp),
                );
                self.send(s.conn, f, out);
                self.complete(now_ms, s.conn, out);
            }
            Some(_) => {
                tracing::warn!(conn = s.conn, "sync answered out of request order");
                self.close(s.conn, "sync out of request order".into(), out);
            }
            None => {}
        }
    }
}
