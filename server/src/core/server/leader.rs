//! The leader's side of the request processor: learners' forwarded requests
//! are prepped here as local ones are (their txns answer nothing here), the
//! learners' touch tables keep global sessions alive, REVALIDATE is answered
//! from the session table, and session owners decide SESSIONMOVED
//! (`LeaderRequestProcessor`, `Leader.revalidateSession`,
//! `SessionTrackerImpl.checkSession` in Apache ZooKeeper 3.8).
//!
//! Invariants: a session's owner is the server it last (re)connected through
//! (this server's own sid for local clients); only txns from that server
//! pass prep for the session. The role-agnostic dispatch of quorum inputs
//! also lives here.

use super::*;
use crate::core::quorum_io::{QuorumInput, QuorumOutput};
use crate::quorum::types::{make_zxid, ForwardedRequest, Sid};

impl Server {
    /// Serves as `role` from now on. A change of role closes every client
    /// connection and drops what was in flight, as Apache ZooKeeper shuts its
    /// `ZooKeeperServer` down between roles: requests in flight under the old
    /// role would never be answered (their txns may be truncated by the new
    /// leader). Sessions restart their timeouts from `now_ms`.
    pub fn set_role(&mut self, now_ms: i64, role: Role, out: &mut Vec<Output>) {
        if role == self.role.role {
            return;
        }
        tracing::info!(
            from = self.role.role.mode_name(),
            to = role.mode_name(),
            "role"
        );
        // Sorted: the same inputs give the same outputs (a HashMap's order
        // is random per process).
        let mut conns: Vec<ConnId> = self.conns.keys().copied().collect();
        conns.sort_unstable();
        for conn in conns {
            let reason = format!("server is now {}", role.mode_name());
            self.close(conn, reason, out);
        }
        self.in_flight.clear();
        self.pending = PendingChanges::default();
        self.last_zxid = self.tree.last_processed_zxid;
        let figures = std::mem::take(&mut self.role.figures);
        self.role = RoleState {
            role,
            figures,
            ..RoleState::default()
        };
        let ids: Vec<i64> = self.sessions.iter().map(|s| s.id).collect();
        for id in ids {
            self.sessions.touch(id, now_ms);
        }
    }

    /// The role this server serves in.
    pub fn role(&self) -> Role {
        self.role.role
    }

    /// A leader's new epoch: the next txn gets zxid `epoch << 32 | 1`.
    pub fn set_epoch(&mut self, epoch: i64) {
        self.last_zxid = make_zxid(epoch, 0);
    }

    /// The last zxid handed out (leader) or applied (learner).
    pub fn last_zxid(&self) -> i64 {
        self.last_zxid
    }

    /// Figures the Zab layer reports for mntr/srvr.
    pub fn set_quorum_figures(&mut self, figures: QuorumFigures) {
        self.role.figures = figures;
    }

    pub(super) fn quorum_input(&mut self, now_ms: i64, input: QuorumInput, out: &mut Vec<Output>) {
        let role = self.role.role;
        match input {
            QuorumInput::Forwarded { from, request } if role == Role::Leader => {
                self.forwarded(now_ms, from, request, out)
            }
            QuorumInput::Touch(touches) if role == Role::Leader => {
                for t in touches {
                    self.sessions.touch(t.session_id, now_ms);
                }
            }
            QuorumInput::Revalidate {
                from,
                session_id,
                timeout_ms: _,
            } if role == Role::Leader => {
                let valid = self.sessions.touch(session_id, now_ms);
                if valid {
                    self.role.owners.insert(session_id, from);
                }
                out.push(Output::Quorum(QuorumOutput::Revalidated {
                    learner: from,
                    session_id,
                    valid,
                }));
            }
            QuorumInput::Committed(packet) if role.is_learner() => {
                self.committed(now_ms, packet.txn, out)
            }
            QuorumInput::Revalidated { session_id, valid } if role.is_learner() => {
                self.revalidated(now_ms, session_id, valid, out)
            }
            QuorumInput::SyncDone if role.is_learner() => self.sync_done(now_ms, out),
            other => {
                tracing::warn!(
                    role = role.mode_name(),
                    ?other,
                    "quorum input ignored in this role"
                )
            }
        }
    }

    /// Whether `from` may act for `session_id`: a leader checks the owner
    /// (and takes ownership for `from` when there is none, as
    /// `SessionTrackerImpl.checkSession` does).
    pub(super) fn session_moved(&mut self, session_id: i64, from: Sid) -> bool {
        if self.role.role != Role::Leader || session_id == 0 {
            return false;
        }
        match self.role.owners.get(&session_id) {
            Some(&owner) => owner != from,
            None => {
                self.role.owners.insert(session_id, from);
                false
            }
        }
    }

    /// A leader's local client (re)connected: this server owns its session.
    pub(super) fn set_local_owner(&mut self, session_id: i64) {
        if self.role.role == Role::Leader {
            self.role.owners.insert(session_id, self.config.server_id);
        }
    }

    /// Preps a learner's request; its learner answers the client once the
    /// txn is committed.
    fn forwarded(&mut self, now_ms: i64, from: Sid, req: ForwardedRequest, out: &mut Vec<Output>) {
        let ForwardedRequest {
            session_id,
            cxid,
            op,
            mut request,
            auth,
        } = req;
        match OpCode::from_i32(op) {
            Some(OpCode::CreateSession) => {
                // Apache's learner sends the negotiated timeout as 4 bytes.
                let zxid = self.next_zxid();
                let (type_, body) = match <[u8; 4]>::try_from(&request[..]) {
                    Ok(b) => {
                        let time_out = i32::from_be_bytes(b);
                        self.role.owners.insert(session_id, from);
                        (op, TxnBody::CreateSession(CreateSessionTxn { time_out }))
                    }
                    Err(_) => (
                        OpCode::Error.code(),
                        TxnBody::Error(ErrorTxn {
                            err: ErrorCode::MarshallingError.code(),
                        }),
                    ),
                };
                let header = TxnHeader {
                    client_id: session_id,
                    cxid,
                    zxid,
                    time: now_ms,
                    type_,
                };
                self.submit(Txn { header, body }, Origin::Remote, out);
            }
            Some(OpCode::CloseSession) => {
                let txn = self.close_session_txn(now_ms, session_id, cxid);
                self.submit(txn, Origin::Remote, out);
            }
            Some(OpCode::Sync) => out.push(Output::Quorum(QuorumOutput::SyncBarrier {
                learner: from,
                session_id,
                cxid,
            })),
            Some(o) if is_write_op(op) => {
                let txn = self.prep_txn(now_ms, session_id, cxid, o, &mut request, &auth, from);
                self.submit(txn, Origin::Remote, out);
            }
            _ => tracing::warn!(
                from,
                op,
                "a learner forwarded a request that is not a write"
            ),
        }
    }
}
