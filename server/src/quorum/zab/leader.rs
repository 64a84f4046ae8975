//! The leader of one epoch: discovery (`getEpochToPropose`,
//! `waitForEpochAck`), synchronisation (`syncFollower`, NEWLEADER quorum)
//! and broadcast (`propose`, `processAck`, `tryToCommit`, pings, the quorum
//! check), as `Leader.java` and `LearnerHandler.java` of ZooKeeper 3.8.0.
//!
//! Invariants: `outstanding` holds exactly the proposals made and not yet
//! committed, keyed by consecutive zxids after `log.last_processed()`;
//! commits go out in zxid order; the epoch is settled once (and written as
//! acceptedEpoch before the first LEADERINFO); no proposal is accepted
//! before `Established`.

use super::committed_log::CommittedLog;
use super::config::ZabConfig;
use super::io::{Input, Output};
use super::learner_handler::{HandlerPhase, LearnerHandler};
use super::quorum_check::QuorumCheck;
use super::sync_plan::sync_plan;
use crate::quorum::types::{
    counter_of, make_zxid, LearnerType, Sid, TxnPacket, ZabMessage, ZAB_PROTOCOL_VERSION,
};
use bytes::Bytes;
use std::collections::{BTreeMap, BTreeSet};

/// The leader's own durable state and history when it starts leading.
#[derive(Debug, Clone)]
pub struct LeaderInit {
    pub accepted_epoch: i64,
    pub current_epoch: i64,
    /// The last zxid of the local log (all of it applied).
    pub last_zxid: i64,
    /// The newest txns of the local log (up to `commit_log_count` kept).
    pub committed_log: Vec<TxnPacket>,
    /// NEWLEADER's data: the quorum config as `QuorumVerifier.toString()`.
    pub quorum_config: Bytes,
}

/// Where the leader is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LeaderPhase {
    /// Waiting for a quorum of FOLLOWERINFO to settle the epoch.
    Discovery,
    /// Waiting for a quorum of ACKEPOCH.
    EpochAck,
    /// Syncing; waiting for a quorum of NEWLEADER ACKs.
    Synchronization,
    Broadcast,
    Abandoned,
}

struct Proposal {
    packet: TxnPacket,
    acks: BTreeSet<Sid>,
}

pub struct Leader {
    cfg: ZabConfig,
    me: Sid,
    quorum: Box<dyn QuorumCheck>,
    quorum_config: Bytes,
    phase: LeaderPhase,
    /// (currentEpoch, last zxid) when leading began: `leaderStateSummary`.
    summary: (i64, i64),
    /// The epoch being established; -1 until the first FOLLOWERINFO.
    epoch: i64,
    connecting: BTreeSet<Sid>,
    electing: BTreeSet<Sid>,
    newleader_acks: BTreeSet<Sid>,
    learners: BTreeMap<Sid, LearnerHandler>,
    log: CommittedLog,
    last_proposed: i64,
    outstanding: BTreeMap<i64, Proposal>,
    /// Syncs waiting for the proposal they were made behind.
    pending_syncs: BTreeMap<i64, Vec<Sid>>,
    phase_deadline_ms: u64,
    next_ping_ms: u64,
    next_quorum_check_ms: u64,
}

impl Leader {
    /// Starts leading: the leader registers its own accepted epoch, as
    /// `lead()` calls `getEpochToPropose(self)` first.
    pub fn new(
        cfg: ZabConfig,
        me: Sid,
        quorum: Box<dyn QuorumCheck>,
        init: LeaderInit,
        now_ms: u64,
        out: &mut Vec<Output>,
    ) -> Leader {
        let mut leader = Leader {
            cfg,
            me,
            quorum,
            quorum_config: init.quorum_config,
            phase: LeaderPhase::Discovery,
            summary: (init.current_epoch, init.last_zxid),
            epoch: -1,
            connecting: BTreeSet::new(),
            electing: BTreeSet::new(),
            newleader_acks: BTreeSet::new(),
            learners: BTreeMap::new(),
            log: CommittedLog::new(cfg.commit_log_count, init.committed_log, init.last_zxid),
            last_proposed: init.last_zxid,
            outstanding: BTreeMap::new(),
            pending_syncs: BTreeMap::new(),
            phase_deadline_ms: now_ms + cfg.init_limit_ms(),
            next_ping_ms: now_ms,
            next_quorum_check_ms: now_ms,
        };
        leader.register(
            me,
            LearnerType::Participant,
            init.accepted_epoch,
            now_ms,
            out,
        );
        leader
    }

    pub fn phase(&self) -> LeaderPhase {
        self.phase
    }

    /// The epoch being established (-1 before it is settled).
    pub fn epoch(&self) -> i64 {
        self.epoch
    }

    pub fn last_committed(&self) -> i64 {
        self.log.last_processed()
    }

    pub fn last_proposed(&self) -> i64 {
        self.last_proposed
    }

    /// Learners currently connected, with their phases.
    pub fn learners(&self) -> impl Iterator<Item = (Sid, HandlerPhase)> + '_ {
        self.learners.values().map(|h| (h.sid, h.phase))
    }

    pub fn handle(&mut self, now_ms: u64, input: Input, out: &mut Vec<Output>) {
        if self.phase == LeaderPhase::Abandoned {
            return;
        }
        match input {
            Input::Received { from, msg } => self.received(now_ms, from, msg, out),
            Input::PeerConnected { sid } => {
                self.forget_learner(sid);
                self.learners.insert(sid, LearnerHandler::new(sid, now_ms));
            }
            Input::PeerDisconnected { sid } => self.forget_learner(sid),
            Input::Persisted { zxid } => {
                for (_, p) in self.outstanding.range_mut(..=zxid) {
                    p.acks.insert(self.me);
                }
                self.try_commit(out);
            }
            Input::Propose(p) => self.propose(p, out),
            Input::ProcessSync { from } => {
                if !self.learners.contains_key(&from) {
                    // Its connection is gone, and the SYNC with it.
                } else if self.outstanding.is_empty() {
                    out.push(send(from, ZabMessage::Sync));
                } else {
                    self.pending_syncs
                        .entry(self.last_proposed)
                        .or_default()
                        .push(from);
                }
            }
            Input::RevalidateAnswer {
                to,
                session_id,
                valid,
            } => {
                if self.learners.contains_key(&to) {
                    out.push(send(to, ZabMessage::RevalidateReply { session_id, valid }));
                }
            }
            Input::Tick => self.tick(now_ms, out),
            Input::Forward(_) | Input::Revalidate { .. } | Input::Touches { .. } => {
                tracing::warn!("leader: learner-only input ignored");
            }
        }
    }

    fn abandon(&mut self, reason: String, out: &mut Vec<Output>) {
        self.phase = LeaderPhase::Abandoned;
        out.push(Output::Abandon { reason });
    }

    /// Forgets a learner's connection, and the SYNCs owed on it (a new
    /// connection from the same server did not ask for them).
    fn forget_learner(&mut self, sid: Sid) {
        self.learners.remove(&sid);
        for waiting in self.pending_syncs.values_mut() {
            waiting.retain(|s| *s != sid);
        }
    }

    /// Drops a learner after a protocol error or silence.
    fn close(&mut self, sid: Sid, why: &str, out: &mut Vec<Output>) {
        tracing::warn!(sid, why, "leader: closing learner connection");
        self.forget_learner(sid);
        out.push(Output::Close { sid });
    }

    fn received(&mut self, now_ms: u64, from: Sid, msg: ZabMessage, out: &mut Vec<Output>) {
        let Some(h) = self.learners.get_mut(&from) else {
            tracing::warn!(from, "leader: packet from an unconnected learner ignored");
            return;
        };
        h.last_heard_ms = now_ms;
        let phase = h.phase;
        match (phase, msg) {
            (HandlerPhase::AwaitInfo, ZabMessage::FollowerInfo { accepted_epoch, .. }) => {
                self.register(from, LearnerType::Participant, accepted_epoch, now_ms, out)
            }
            (HandlerPhase::AwaitInfo, ZabMessage::ObserverInfo { accepted_epoch, .. }) => {
                self.register(from, LearnerType::Observer, accepted_epoch, now_ms, out)
            }
            (
                HandlerPhase::AwaitAckEpoch,
                ZabMessage::AckEpoch {
                    last_logged_zxid,
                    current_epoch,
                },
            ) => self.ack_epoch(from, current_epoch as i64, last_logged_zxid, now_ms, out),
            (HandlerPhase::AwaitNewLeaderAck, ZabMessage::Ack { zxid }) => {
                self.newleader_ack(from, zxid, now_ms, out)
            }
            (HandlerPhase::AwaitNewLeaderAck, _) => {
                // `LearnerHandler`: the first packet after NEWLEADER must be ACK.
                self.close(from, "expected the NEWLEADER ACK", out)
            }
            (HandlerPhase::AwaitStartup | HandlerPhase::Broadcast, msg) => {
                self.broadcast_packet(from, msg, out)
            }
            (_, _) => self.close(from, "unexpected packet during discovery", out),
        }
    }

    /// `getEpochToPropose`: a participant or observer registers its
    /// accepted epoch; a quorum of participants (the leader among them)
    /// settles the new epoch.
    fn register(
        &mut self,
        sid: Sid,
        learner_type: LearnerType,
        accepted_epoch: i64,
        now_ms: u64,
        out: &mut Vec<Output>,
    ) {
        if sid != self.me {
            let h = self
                .learners
                .get_mut(&sid)
                .expect("registered learners are connected");
            h.learner_type = learner_type;
            h.phase = HandlerPhase::AwaitEpoch;
        }
        if self.phase != LeaderPhase::Discovery {
            // The epoch is settled: LEADERINFO at once.
            self.send_leader_info(sid, out);
            return;
        }
        if accepted_epoch >= self.epoch {
            self.epoch = accepted_epoch + 1;
        }
        if learner_type == LearnerType::Participant && self.quorum.is_voter(sid) {
            self.connecting.insert(sid);
        }
        if self.connecting.contains(&self.me) && self.quorum.contains_quorum(&self.connecting) {
            self.phase = LeaderPhase::EpochAck;
            self.phase_deadline_ms = now_ms + self.cfg.init_limit_ms();
            out.push(Output::WriteAcceptedEpoch(self.epoch));
            let waiting: Vec<Sid> = self
                .learners
                .values()
                .filter(|h| h.phase == HandlerPhase::AwaitEpoch)
                .map(|h| h.sid)
                .collect();
            for sid in waiting {
                self.send_leader_info(sid, out);
            }
            // The leader's own ACKEPOCH (`waitForEpochAck(self, summary)`).
            let (e, z) = self.summary;
            self.ack_epoch(self.me, e, z, now_ms, out);
        }
    }

    fn send_leader_info(&mut self, sid: Sid, out: &mut Vec<Output>) {
        if sid == self.me {
            return;
        }
        if let Some(h) = self.learners.get_mut(&sid) {
            h.phase = HandlerPhase::AwaitAckEpoch;
            out.push(send(
                sid,
                ZabMessage::LeaderInfo {
                    new_epoch: self.epoch,
                    protocol_version: ZAB_PROTOCOL_VERSION,
                },
            ));
        }
    }

    /// `waitForEpochAck`: counts a participant's ACKEPOCH unless it had
    /// already accepted this epoch (-1); a peer ahead of the leader ends
    /// this leadership.
    fn ack_epoch(
        &mut self,
        sid: Sid,
        current_epoch: i64,
        last_zxid: i64,
        now_ms: u64,
        out: &mut Vec<Output>,
    ) {
        if let Some(h) = self.learners.get_mut(&sid) {
            h.peer_last_zxid = last_zxid;
            h.phase = HandlerPhase::AwaitEpochQuorum;
        }
        if self.phase == LeaderPhase::EpochAck {
            if current_epoch != -1 {
                let (le, lz) = self.summary;
                if current_epoch > le || (current_epoch == le && last_zxid > lz) {
                    self.abandon(
                        format!(
                            "Follower is ahead of the leader, leader summary: {le} (current epoch), {lz:#x} (last zxid)"
                        ),
                        out,
                    );
                    return;
                }
                if last_zxid != -1 && self.quorum.is_voter(sid) {
                    let participant = self.learners.get(&sid).is_none_or(|h| !h.is_observer());
                    if participant {
                        self.electing.insert(sid);
                    }
                }
            }
            if self.electing.contains(&self.me) && self.quorum.contains_quorum(&self.electing) {
                self.phase = LeaderPhase::Synchronization;
                self.phase_deadline_ms = now_ms + self.cfg.init_limit_ms();
                out.push(Output::WriteCurrentEpoch(self.epoch));
                // The leader's own NEWLEADER ACK.
                self.newleader_acks.insert(self.me);
                let ready: Vec<Sid> = self
                    .learners
                    .values()
                    .filter(|h| h.phase == HandlerPhase::AwaitEpochQuorum)
                    .map(|h| h.sid)
                    .collect();
                for sid in ready {
                    self.sync_learner(sid, out);
                }
                self.check_newleader_quorum(out);
            }
        } else if self.phase != LeaderPhase::Discovery {
            self.sync_learner(sid, out);
        }
    }

    /// `syncFollower` + `startForwarding` + NEWLEADER.
    fn sync_learner(&mut self, sid: Sid, out: &mut Vec<Output>) {
        let Some(h) = self.learners.get_mut(&sid) else {
            return;
        };
        let plan = sync_plan(h.peer_last_zxid, &self.log);
        let last_seen = if plan.snap {
            out.push(Output::SendSnap {
                to: sid,
                zxid: self.log.last_processed(),
            });
            self.log.last_processed()
        } else {
            out.extend(plan.packets.into_iter().map(|m| send(sid, m)));
            plan.current_zxid
        };
        if !h.is_observer() {
            for (_, p) in self.outstanding.range(last_seen + 1..) {
                out.push(send(sid, ZabMessage::Proposal(p.packet.clone())));
            }
        }
        h.phase = HandlerPhase::AwaitNewLeaderAck;
        out.push(send(
            sid,
            ZabMessage::NewLeader {
                zxid: make_zxid(self.epoch, 0),
                config: self.quorum_config.clone(),
            },
        ));
    }

    /// `waitForNewLeaderAck` and, once the leader serves, UPTODATE.
    fn newleader_ack(&mut self, sid: Sid, zxid: i64, now_ms: u64, out: &mut Vec<Output>) {
        if let Some(h) = self.learners.get_mut(&sid) {
            h.phase = HandlerPhase::AwaitStartup;
        }
        if self.phase == LeaderPhase::Synchronization {
            if zxid == make_zxid(self.epoch, 0) {
                let observer = self.learners.get(&sid).is_some_and(|h| h.is_observer());
                if !observer && self.quorum.is_voter(sid) {
                    self.newleader_acks.insert(sid);
                }
            } else {
                tracing::error!(sid, zxid, "NEWLEADER ACK is from a different epoch");
            }
            if self.check_newleader_quorum(out) {
                self.next_ping_ms = now_ms + self.cfg.tick_time_ms / 2;
                self.next_quorum_check_ms = now_ms + self.cfg.tick_time_ms;
            }
        } else if self.phase == LeaderPhase::Broadcast {
            self.send_uptodate(sid, out);
        }
    }

    fn check_newleader_quorum(&mut self, out: &mut Vec<Output>) -> bool {
        if self.phase != LeaderPhase::Synchronization
            || !self.quorum.contains_quorum(&self.newleader_acks)
        {
            return false;
        }
        self.phase = LeaderPhase::Broadcast;
        self.last_proposed = self.last_proposed.max(make_zxid(self.epoch, 0));
        out.push(Output::Established { epoch: self.epoch });
        let waiting: Vec<Sid> = self
            .learners
            .values()
            .filter(|h| h.phase == HandlerPhase::AwaitStartup)
            .map(|h| h.sid)
            .collect();
        for sid in waiting {
            self.send_uptodate(sid, out);
        }
        true
    }

    fn send_uptodate(&mut self, sid: Sid, out: &mut Vec<Output>) {
        if let Some(h) = self.learners.get_mut(&sid) {
            h.phase = HandlerPhase::Broadcast;
            out.push(send(sid, ZabMessage::UpToDate));
        }
    }

    /// Packets from a synced learner (`LearnerHandler.run`'s main loop).
    fn broadcast_packet(&mut self, from: Sid, msg: ZabMessage, out: &mut Vec<Output>) {
        match msg {
            ZabMessage::Ack { zxid } => self.process_ack(from, zxid, out),
            ZabMessage::PingReply { touches, .. } => {
                if !touches.is_empty() {
                    out.push(Output::Touch(touches));
                }
            }
            ZabMessage::Request(request) => out.push(Output::Forwarded { from, request }),
            ZabMessage::Revalidate {
                session_id,
                timeout_ms,
            } => out.push(Output::Revalidate {
                from,
                session_id,
                timeout_ms,
            }),
            other => tracing::warn!(from, ?other, "leader: unexpected quorum packet"),
        }
    }

    /// `processAck`.
    fn process_ack(&mut self, sid: Sid, zxid: i64, out: &mut Vec<Output>) {
        if self.phase != LeaderPhase::Broadcast || counter_of(zxid) == 0 {
            // The learner's ACK after UPTODATE (counter 0) is ignored.
            return;
        }
        if self.learners.get(&sid).is_some_and(|h| h.is_observer()) || !self.quorum.is_voter(sid) {
            return;
        }
        if zxid <= self.log.last_processed() {
            return;
        }
        match self.outstanding.get_mut(&zxid) {
            Some(p) => {
                p.acks.insert(sid);
            }
            None => {
                tracing::warn!(sid, zxid, "Trying to commit future proposal");
                return;
            }
        }
        self.try_commit(out);
    }

    /// `propose`: log it, send it to the forwarding participants.
    fn propose(&mut self, p: TxnPacket, out: &mut Vec<Output>) {
        let zxid = p.txn.header.zxid;
        if self.phase != LeaderPhase::Broadcast {
            tracing::error!(
                zxid,
                "leader: proposal before the epoch is established ignored"
            );
            return;
        }
        if counter_of(zxid) == 0xffff_ffff {
            self.abandon(
                "zxid lower 32 bits have rolled over, forcing re-election, and therefore new epoch start".into(),
                out,
            );
            return;
        }
        if zxid != self.last_proposed + 1 {
            self.abandon(
                format!(
                    "proposal {zxid:#x} does not follow the last proposed {:#x}",
                    self.last_proposed
                ),
                out,
            );
            return;
        }
        self.last_proposed = zxid;
        for h in self.learners.values() {
            if h.forwarding() && !h.is_observer() {
                out.push(send(h.sid, ZabMessage::Proposal(p.clone())));
            }
        }
        out.push(Output::Persist(p.clone()));
        self.outstanding.insert(
            zxid,
            Proposal {
                packet: p,
                acks: BTreeSet::new(),
            },
        );
    }

    /// `tryToCommit`, in a loop: commit the oldest outstanding proposal while
    /// it has a quorum of ACKs.
    fn try_commit(&mut self, out: &mut Vec<Output>) {
        while let Some(entry) = self.outstanding.first_entry() {
            if !self.quorum.contains_quorum(&entry.get().acks) {
                break;
            }
            let (zxid, p) = entry.remove_entry();
            out.push(Output::Commit { zxid });
            for h in self.learners.values() {
                if !h.forwarding() {
                    continue;
                }
                if h.is_observer() {
                    out.push(send(h.sid, ZabMessage::Inform(p.packet.clone())));
                } else {
                    out.push(send(h.sid, ZabMessage::Commit { zxid }));
                }
            }
            self.log.push(p.packet);
            if let Some(syncs) = self.pending_syncs.remove(&zxid) {
                for sid in syncs {
                    if self.learners.contains_key(&sid) {
                        out.push(send(sid, ZabMessage::Sync));
                    }
                }
            }
        }
    }

    fn tick(&mut self, now_ms: u64, out: &mut Vec<Output>) {
        let (init_ms, sync_ms) = (self.cfg.init_limit_ms(), self.cfg.sync_limit_ms());
        let silent: Vec<Sid> = self
            .learners
            .values()
            .filter(|h| h.silent_too_long(now_ms, init_ms, sync_ms))
            .map(|h| h.sid)
            .collect();
        for sid in silent {
            self.close(sid, "learner silent too long", out);
        }
        match self.phase {
            LeaderPhase::Discovery | LeaderPhase::EpochAck | LeaderPhase::Synchronization => {
                if now_ms > self.phase_deadline_ms {
                    let what = match self.phase {
                        LeaderPhase::Discovery => "Timeout while waiting for epoch from quorum",
                        LeaderPhase::EpochAck => {
                            "Timeout while waiting for epoch to be acked by quorum"
                        }
                        _ => "Timeout while waiting for NEWLEADER to be acked by quorum",
                    };
                    self.abandon(what.into(), out);
                    return;
                }
            }
            LeaderPhase::Broadcast => {
                if now_ms >= self.next_quorum_check_ms {
                    self.next_quorum_check_ms = now_ms + self.cfg.tick_time_ms;
                    let mut synced: BTreeSet<Sid> = self
                        .learners
                        .values()
                        .filter(|h| h.phase != HandlerPhase::AwaitInfo && !h.is_observer())
                        .map(|h| h.sid)
                        .collect();
                    synced.insert(self.me);
                    if !self.quorum.contains_quorum(&synced) {
                        self.abandon(
                            format!("Not sufficient followers synced, only synced with sids: {synced:?}"),
                            out,
                        );
                        return;
                    }
                }
            }
            LeaderPhase::Abandoned => return,
        }
        if now_ms >= self.next_ping_ms {
            self.next_ping_ms = now_ms + (self.cfg.tick_time_ms / 2).max(1);
            for h in self.learners.values() {
                if h.forwarding() {
                    out.push(send(
                        h.sid,
                        ZabMessage::Ping {
                            zxid: self.last_proposed,
                        },
                    ));
                }
            }
        }
    }
}

fn send(to: Sid, msg: ZabMessage) -> Output {
    Output::Send { to, msg }
}
