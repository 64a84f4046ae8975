//! A follower or observer of one leader: registration
//! (`Learner.registerWithLeader`), sync (`syncWithLeader`) and the broadcast
//! phase (`Follower.processPacket`, `Observer.processPacket`), as ZooKeeper
//! 3.8.0 does them.
//!
//! Invariants: `pending` holds the logged, not yet delivered txns in zxid
//! order; a COMMIT delivers the head of `pending` and nothing else; no ACK
//! of a proposal leaves before the NEWLEADER ACK; currentEpoch is written,
//! and the NEWLEADER ACK leaves, only once the log is durable up to
//! everything the sync brought.

use super::config::ZabConfig;
use super::io::{Input, Output};
use crate::quorum::types::{
    epoch_of, make_zxid, ForwardedRequest, LearnerType, Sid, TxnPacket, ZabMessage,
    ZAB_PROTOCOL_VERSION,
};
use jute::quorum::LearnerInfo;
use std::collections::VecDeque;

/// The learner's durable state when it starts following.
#[derive(Debug, Clone, Copy)]
pub struct LearnerInit {
    pub accepted_epoch: i64,
    pub current_epoch: i64,
    /// The last zxid of the local log (durable, all of it applied).
    pub last_logged_zxid: i64,
    /// `LearnerInfo.configVersion` to send in FOLLOWERINFO.
    pub config_version: i64,
}

/// Where the learner is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LearnerPhase {
    /// Waiting for the connection to the leader.
    Connecting,
    /// FOLLOWERINFO/OBSERVERINFO sent; waiting for LEADERINFO.
    AwaitLeaderInfo,
    /// ACKEPOCH sent; waiting for DIFF, TRUNC or SNAP.
    AwaitSyncMode,
    /// Collecting the sync's proposals and commits until NEWLEADER.
    Syncing,
    /// NEWLEADER received; its ACK waits for the log to be durable.
    AwaitDurable,
    /// NEWLEADER acked; waiting for UPTODATE.
    AwaitUpToDate,
    Serving,
    Abandoned,
}

pub struct Learner {
    cfg: ZabConfig,
    me: Sid,
    leader: Sid,
    learner_type: LearnerType,
    phase: LearnerPhase,
    init: LearnerInit,
    accepted_epoch: i64,
    new_epoch: i64,
    /// The last zxid handed to the log (durable or not).
    last_logged: i64,
    last_persisted: i64,
    /// Logged (or, before NEWLEADER, to be logged) txns not yet delivered.
    pending: VecDeque<TxnPacket>,
    /// Sync proposals not yet handed to the log (before NEWLEADER).
    unlogged: usize,
    /// COMMITs received before UPTODATE, delivered at UPTODATE.
    commits_before_uptodate: Vec<i64>,
    /// Proposals logged whose ACK waits for `Persisted`.
    to_ack: VecDeque<i64>,
    last_heard_ms: u64,
    connect_deadline_ms: u64,
}

impl Learner {
    pub fn new(
        cfg: ZabConfig,
        me: Sid,
        leader: Sid,
        learner_type: LearnerType,
        init: LearnerInit,
        now_ms: u64,
    ) -> Learner {
        Learner {
            cfg,
            me,
            leader,
            learner_type,
            phase: LearnerPhase::Connecting,
            init,
            accepted_epoch: init.accepted_epoch,
            new_epoch: -1,
            last_logged: init.last_logged_zxid,
            last_persisted: init.last_logged_zxid,
            pending: VecDeque::new(),
            unlogged: 0,
            commits_before_uptodate: Vec::new(),
            to_ack: VecDeque::new(),
            last_heard_ms: now_ms,
            connect_deadline_ms: now_ms + cfg.init_limit_ms(),
        }
    }

    pub fn phase(&self) -> LearnerPhase {
        self.phase
    }

    pub fn leader(&self) -> Sid {
        self.leader
    }

    /// The epoch of the leader, once LEADERINFO came (-1 before).
    pub fn epoch(&self) -> i64 {
        self.new_epoch
    }

    pub fn last_logged(&self) -> i64 {
        self.last_logged
    }

    pub fn handle(&mut self, now_ms: u64, input: Input, out: &mut Vec<Output>) {
        if self.phase == LearnerPhase::Abandoned {
            return;
        }
        match input {
            Input::PeerConnected { sid } if sid == self.leader => self.connected(now_ms, out),
            Input::PeerDisconnected { sid } if sid == self.leader => {
                self.abandon("connection to the leader closed".into(), out)
            }
            Input::Received { from, msg } if from == self.leader => {
                self.last_heard_ms = now_ms;
                self.received(msg, out)
            }
            Input::Persisted { zxid } => self.persisted(zxid, out),
            Input::Forward(req) => self.forward(req, out),
            Input::Revalidate {
                session_id,
                timeout_ms,
            } => self.send(
                ZabMessage::Revalidate {
                    session_id,
                    timeout_ms,
                },
                out,
            ),
            Input::Touches { zxid, touches } => {
                if self.phase == LearnerPhase::Serving {
                    self.send(ZabMessage::PingReply { zxid, touches }, out)
                }
            }
            Input::Tick => self.tick(now_ms, out),
            other => tracing::warn!(?other, "learner: input ignored"),
        }
    }

    fn send(&self, msg: ZabMessage, out: &mut Vec<Output>) {
        out.push(Output::Send {
            to: self.leader,
            msg,
        });
    }

    fn abandon(&mut self, reason: String, out: &mut Vec<Output>) {
        self.phase = LearnerPhase::Abandoned;
        out.push(Output::Abandon { reason });
    }

    fn connected(&mut self, now_ms: u64, out: &mut Vec<Output>) {
        if self.phase != LearnerPhase::Connecting {
            return;
        }
        self.last_heard_ms = now_ms;
        self.phase = LearnerPhase::AwaitLeaderInfo;
        let info = LearnerInfo {
            serverid: self.me,
            protocol_version: ZAB_PROTOCOL_VERSION,
            config_version: self.init.config_version,
        };
        let msg = match self.learner_type {
            LearnerType::Participant => ZabMessage::FollowerInfo {
                accepted_epoch: self.accepted_epoch,
                info,
            },
            LearnerType::Observer => ZabMessage::ObserverInfo {
                accepted_epoch: self.accepted_epoch,
                info,
            },
        };
        self.send(msg, out);
    }

    fn tick(&mut self, now_ms: u64, out: &mut Vec<Output>) {
        if self.phase == LearnerPhase::Connecting {
            if now_ms > self.connect_deadline_ms {
                self.abandon("could not connect to the leader".into(), out);
            }
            return;
        }
        // The socket timeout: initLimit until NEWLEADER, then syncLimit.
        let limit = match self.phase {
            LearnerPhase::AwaitLeaderInfo | LearnerPhase::AwaitSyncMode | LearnerPhase::Syncing => {
                self.cfg.init_limit_ms()
            }
            _ => self.cfg.sync_limit_ms(),
        };
        if now_ms.saturating_sub(self.last_heard_ms) > limit {
            self.abandon("leader silent too long".into(), out);
        }
    }

    fn received(&mut self, msg: ZabMessage, out: &mut Vec<Output>) {
        match self.phase {
            LearnerPhase::AwaitLeaderInfo => self.leader_info(msg, out),
            LearnerPhase::AwaitSyncMode => self.sync_mode(msg, out),
            LearnerPhase::Syncing | LearnerPhase::AwaitDurable | LearnerPhase::AwaitUpToDate => {
                self.sync_packet(msg, out)
            }
            LearnerPhase::Serving => self.serving_packet(msg, out),
            LearnerPhase::Connecting | LearnerPhase::Abandoned => {}
        }
    }

    /// `registerWithLeader`'s answer to LEADERINFO.
    fn leader_info(&mut self, msg: ZabMessage, out: &mut Vec<Output>) {
        let ZabMessage::LeaderInfo { new_epoch, .. } = msg else {
            return self.abandon(
                format!("First packet {msg:?} should have been LEADERINFO"),
                out,
            );
        };
        let current_epoch = if new_epoch > self.accepted_epoch {
            out.push(Output::WriteAcceptedEpoch(new_epoch));
            self.accepted_epoch = new_epoch;
            self.init.current_epoch as i32
        } else if new_epoch == self.accepted_epoch {
            // Already acked this epoch once: ZAB 1.0 does not ack it again.
            -1
        } else {
            return self.abandon(
                format!(
                    "Leaders epoch, {new_epoch} is less than accepted epoch, {}",
                    self.accepted_epoch
                ),
                out,
            );
        };
        self.new_epoch = new_epoch;
        self.phase = LearnerPhase::AwaitSyncMode;
        self.send(
            ZabMessage::AckEpoch {
                last_logged_zxid: self.last_logged,
                current_epoch,
            },
            out,
        );
    }

    /// The first packet of `syncWithLeader`.
    fn sync_mode(&mut self, msg: ZabMessage, out: &mut Vec<Output>) {
        match msg {
            ZabMessage::Diff { .. } => {}
            ZabMessage::Trunc { zxid } => {
                out.push(Output::Truncate { zxid });
                self.last_logged = zxid;
                self.last_persisted = self.last_persisted.min(zxid);
            }
            ZabMessage::Snap { zxid } => {
                // The runtime loaded and persisted the snapshot already.
                self.last_logged = zxid;
                self.last_persisted = zxid;
            }
            other => {
                return self.abandon(format!("Got unexpected packet from leader: {other:?}"), out)
            }
        }
        self.phase = LearnerPhase::Syncing;
    }

    /// Packets between the sync mode and UPTODATE.
    fn sync_packet(&mut self, msg: ZabMessage, out: &mut Vec<Output>) {
        match msg {
            ZabMessage::Proposal(p) => self.accept_proposal(p, out),
            ZabMessage::Inform(p) => {
                let zxid = p.txn.header.zxid;
                self.accept_proposal(p, out);
                self.commits_before_uptodate.push(zxid);
            }
            ZabMessage::Commit { zxid } => self.commits_before_uptodate.push(zxid),
            ZabMessage::NewLeader { .. } if self.phase == LearnerPhase::Syncing => {
                // Log what the sync brought; currentEpoch and the ACK wait
                // until it is durable.
                let n = self.pending.len();
                for p in self.pending.iter().skip(n - self.unlogged) {
                    out.push(Output::Persist(p.clone()));
                }
                self.unlogged = 0;
                self.phase = LearnerPhase::AwaitDurable;
                self.maybe_ack_newleader(out);
            }
            ZabMessage::UpToDate if self.phase == LearnerPhase::AwaitUpToDate => self.uptodate(out),
            ZabMessage::Ping { .. } => {}
            other => self.abandon(format!("unexpected packet during sync: {other:?}"), out),
        }
    }

    /// A proposal during sync: held before NEWLEADER, logged after it.
    fn accept_proposal(&mut self, p: TxnPacket, out: &mut Vec<Output>) {
        let zxid = p.txn.header.zxid;
        if zxid <= self.last_logged {
            tracing::warn!(zxid, "learner: proposal at or below the last logged zxid");
            return;
        }
        self.last_logged = zxid;
        if self.phase == LearnerPhase::Syncing {
            self.unlogged += 1;
        } else {
            out.push(Output::Persist(p.clone()));
        }
        if self.learner_type == LearnerType::Participant {
            self.to_ack.push_back(zxid);
        }
        self.pending.push_back(p);
    }

    fn maybe_ack_newleader(&mut self, out: &mut Vec<Output>) {
        if self.phase != LearnerPhase::AwaitDurable || self.last_persisted < self.last_logged {
            return;
        }
        // currentEpoch only now: written earlier, a crash could leave a
        // node claiming the new epoch (and so winning elections) without
        // the history that epoch started from.
        out.push(Output::WriteCurrentEpoch(self.new_epoch));
        self.phase = LearnerPhase::AwaitUpToDate;
        self.send(
            ZabMessage::Ack {
                zxid: make_zxid(self.new_epoch, 0),
            },
            out,
        );
        self.flush_acks(out);
    }

    fn persisted(&mut self, zxid: i64, out: &mut Vec<Output>) {
        self.last_persisted = self.last_persisted.max(zxid);
        match self.phase {
            LearnerPhase::AwaitDurable => self.maybe_ack_newleader(out),
            LearnerPhase::AwaitUpToDate | LearnerPhase::Serving => self.flush_acks(out),
            _ => {}
        }
    }

    /// ACKs of logged proposals that are durable (`SendAckRequestProcessor`).
    fn flush_acks(&mut self, out: &mut Vec<Output>) {
        while let Some(&z) = self.to_ack.front() {
            if z > self.last_persisted {
                break;
            }
            self.to_ack.pop_front();
            self.send(ZabMessage::Ack { zxid: z }, out);
        }
    }

    fn uptodate(&mut self, out: &mut Vec<Output>) {
        for zxid in std::mem::take(&mut self.commits_before_uptodate) {
            if !self.commit(zxid, out) {
                return;
            }
        }
        self.phase = LearnerPhase::Serving;
        out.push(Output::Serving {
            epoch: self.new_epoch,
        });
        // `syncWithLeader` acks UPTODATE with the epoch's zero zxid.
        self.send(
            ZabMessage::Ack {
                zxid: make_zxid(self.new_epoch, 0),
            },
            out,
        );
    }

    /// `FollowerZooKeeperServer.commit`: the COMMIT must name the oldest
    /// pending txn. Returns false if the role was abandoned.
    fn commit(&mut self, zxid: i64, out: &mut Vec<Output>) -> bool {
        match self.pending.front() {
            None => {
                tracing::warn!(zxid, "Committing without seeing txn");
                true
            }
            Some(p) if p.txn.header.zxid == zxid => {
                let p = self.pending.pop_front().expect("front exists");
                out.push(Output::Deliver(p));
                true
            }
            Some(p) => {
                let head = p.txn.header.zxid;
                self.abandon(
                    format!("Committing zxid {zxid:#x} but next pending txn {head:#x}"),
                    out,
                );
                false
            }
        }
    }

    fn serving_packet(&mut self, msg: ZabMessage, out: &mut Vec<Output>) {
        match msg {
            ZabMessage::Proposal(p) if self.learner_type == LearnerType::Participant => {
                if epoch_of(p.txn.header.zxid) != self.new_epoch {
                    tracing::warn!(zxid = p.txn.header.zxid, "proposal from another epoch");
                }
                self.accept_proposal(p, out);
            }
            ZabMessage::Commit { zxid } if self.learner_type == LearnerType::Participant => {
                self.commit(zxid, out);
            }
            ZabMessage::Inform(p) if self.learner_type == LearnerType::Observer => {
                let zxid = p.txn.header.zxid;
                if zxid <= self.last_logged {
                    return;
                }
                self.last_logged = zxid;
                out.push(Output::Persist(p.clone()));
                out.push(Output::Deliver(p));
            }
            ZabMessage::Ping { zxid } => out.push(Output::ReportTouches { zxid }),
            ZabMessage::Sync => out.push(Output::SyncDone),
            ZabMessage::RevalidateReply { session_id, valid } => {
                out.push(Output::Revalidated { session_id, valid })
            }
            other => tracing::warn!(?other, "learner: unexpected packet while serving"),
        }
    }

    fn forward(&mut self, req: ForwardedRequest, out: &mut Vec<Output>) {
        if self.phase == LearnerPhase::Serving {
            self.send(ZabMessage::Request(req), out);
        } else {
            tracing::warn!("learner: request before serving dropped");
        }
    }
}
