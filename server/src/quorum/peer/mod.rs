//! One ensemble member: FastLeaderElection, the Zab role of the moment and
//! the request processor (`core::Server`), glued together as a pure state
//! machine — Apache ZooKeeper's `QuorumPeer.run` loop with the threads and
//! sockets taken out. The runtime (sockets, log, epoch files) and the
//! ensemble simulation (`server/tests/ensemble_sim.rs`) drive exactly this
//! type: `handle(now_ms, PeerInput, &mut Vec<PeerOutput>)`, outputs
//! executed in order.
//!
//! Life cycle: LOOKING (election running, clients refused) → `Decided` →
//! LEADING (a [`Leader`]) or FOLLOWING/OBSERVING (a [`Learner`] that
//! connects to the leader) → clients served from `Established` (leader) or
//! `Serving` (learner) → the role abandons → [`PeerOutput::Reload`] → the
//! runtime answers `Reloaded` with the durable history → a new election
//! round starts from it.
//!
//! Invariants:
//! - At most one Zab role at a time; it is built only from a tree that is
//!   exactly the durable log replayed (the Zab precondition): at start, and
//!   after every `Reloaded`.
//! - The accepted and current epochs here are the ones last emitted as
//!   writes; a role always starts from them.
//! - Clients are served only between `Established`/`Serving` and the end of
//!   the role; every client connection is closed when the role ends.
//! - `committed` holds at most `commit_log_count` txns, consecutive, ending
//!   at the tree's last applied zxid (what a leader syncs learners by DIFF).
//! - Outputs keep the order the Zab contract needs: each zab output is fully
//!   carried out (including what the request processor does with it)
//!   before the next one is looked at.

mod io;
#[cfg(test)]
mod tests;

pub use io::{Loaded, PeerConfig, PeerInput, PeerOutput, Snapshot};

use crate::core::quorum_io::{QuorumInput, QuorumOutput};
use crate::core::{self, Role, Server};
use crate::quorum::election::{Election, ElectionInput, ElectionOutput};
use crate::quorum::types::{LearnerType, ServerState, Sid, TxnPacket};
use crate::quorum::zab::{self, Leader, LeaderInit, Learner, LearnerInit, Majority};
use bytes::Bytes;
use std::collections::VecDeque;
use std::sync::Arc;

/// The Zab role of the moment.
enum ZabRole {
    /// LOOKING (or waiting for `Reloaded` before looking).
    None,
    Leading(Box<Leader>),
    Learning(Box<Learner>),
}

/// One ensemble member.
pub struct Peer {
    cfg: PeerConfig,
    election: Election,
    role: ZabRole,
    server: Server,
    accepted_epoch: i64,
    current_epoch: i64,
    /// The newest committed txns (Apache's `ZKDatabase.committedLog`).
    committed: VecDeque<TxnPacket>,
    /// Leader: proposed, not yet committed, in zxid order.
    proposed: VecDeque<TxnPacket>,
    /// Clients are served.
    serving: bool,
    /// Leader: when the epoch was established (`zk_leader_uptime`).
    established_at_ms: Option<u64>,
    /// A `Reload` is out; the election starts when `Reloaded` comes.
    reloading: bool,
    state: ServerState,
}

impl Peer {
    /// A member starting from its durable history and epoch files; it
    /// starts looking at once.
    pub fn new(
        cfg: PeerConfig,
        accepted_epoch: i64,
        current_epoch: i64,
        loaded: Loaded,
        now_ms: u64,
        out: &mut Vec<PeerOutput>,
    ) -> Peer {
        let election = Election::with_timing(
            cfg.my_sid,
            cfg.learner_type,
            cfg.verifier.clone(),
            cfg.election,
        );
        let server = Server::new(cfg.core.clone(), now_ms as i64);
        let mut peer = Peer {
            cfg,
            election,
            role: ZabRole::None,
            server,
            accepted_epoch,
            current_epoch,
            committed: VecDeque::new(),
            proposed: VecDeque::new(),
            serving: false,
            established_at_ms: None,
            reloading: true,
            state: ServerState::Looking,
        };
        out.push(PeerOutput::StateChanged(ServerState::Looking));
        out.push(PeerOutput::ServeClients(false));
        peer.reloaded(now_ms, loaded, out);
        peer
    }

    pub fn my_sid(&self) -> Sid {
        self.cfg.my_sid
    }

    /// `QuorumPeer.getPeerState`.
    pub fn state(&self) -> ServerState {
        self.state
    }

    /// The request processor (its tree and sessions, for SNAP and admin).
    pub fn server(&self) -> &Server {
        &self.server
    }

    /// The request processor, for the runtime's admin reads between inputs
    /// (figures, `dump`, the admin API's inspections).
    pub fn server_mut(&mut self) -> &mut Server {
        &mut self.server
    }

    pub fn election(&self) -> &Election {
        &self.election
    }

    pub fn accepted_epoch(&self) -> i64 {
        self.accepted_epoch
    }

    pub fn current_epoch(&self) -> i64 {
        self.current_epoch
    }

    /// Clients are being served.
    pub fn is_serving(&self) -> bool {
        self.serving
    }

    /// Leader: the established epoch (None otherwise, or before that).
    pub fn established_epoch(&self) -> Option<i64> {
        match &self.role {
            ZabRole::Leading(l) if l.phase() == zab::LeaderPhase::Broadcast => Some(l.epoch()),
            _ => None,
        }
    }

    /// What mntr reports of the Zab layer (`zk_peer_state`'s suffix,
    /// `zk_quorum_size`, a leader's learner counts and uptime).
    pub fn quorum_figures(&self, now_ms: u64) -> core::QuorumFigures {
        let mut f = core::QuorumFigures {
            quorum_size: self.cfg.verifier.voting_members().count() as u64,
            zab_state: "election",
            ..Default::default()
        };
        match &self.role {
            ZabRole::Leading(l) => {
                f.zab_state = match l.phase() {
                    zab::LeaderPhase::Discovery | zab::LeaderPhase::EpochAck => "discovery",
                    zab::LeaderPhase::Synchronization => "synchronization",
                    zab::LeaderPhase::Broadcast => "broadcast",
                    zab::LeaderPhase::Abandoned => "election",
                };
                for (sid, phase) in l.learners() {
                    f.learners += 1;
                    if phase == zab::HandlerPhase::Broadcast {
                        if self.cfg.verifier.is_voter(sid) {
                            f.synced_followers += 1;
                        } else {
                            f.synced_observers += 1;
                        }
                    }
                }
                f.leader_uptime_ms = self
                    .established_at_ms
                    .map_or(0, |t| now_ms.saturating_sub(t));
            }
            ZabRole::Learning(l) => {
                f.zab_state = match l.phase() {
                    zab::LearnerPhase::Connecting
                    | zab::LearnerPhase::AwaitLeaderInfo
                    | zab::LearnerPhase::AwaitSyncMode => "discovery",
                    zab::LearnerPhase::Syncing
                    | zab::LearnerPhase::AwaitDurable
                    | zab::LearnerPhase::AwaitUpToDate => "synchronization",
                    zab::LearnerPhase::Serving => "broadcast",
                    zab::LearnerPhase::Abandoned => "election",
                };
            }
            ZabRole::None => {}
        }
        f
    }

    /// The committed txns kept for DIFF, oldest first.
    pub fn committed_log(&self) -> impl Iterator<Item = &TxnPacket> {
        self.committed.iter()
    }

    /// When the election next needs a `Tick` (None: no election timer).
    pub fn next_deadline_ms(&self) -> Option<u64> {
        self.election.next_deadline_ms()
    }

    pub fn handle(&mut self, now_ms: u64, input: PeerInput, out: &mut Vec<PeerOutput>) {
        match input {
            PeerInput::Notification { from, n } => {
                self.election_input(now_ms, ElectionInput::Received { from, n }, out)
            }
            PeerInput::Zab { from, msg } => {
                self.zab(now_ms, zab::Input::Received { from, msg }, out)
            }
            PeerInput::QuorumConnected { sid } => {
                self.zab(now_ms, zab::Input::PeerConnected { sid }, out)
            }
            PeerInput::QuorumDisconnected { sid } => {
                self.zab(now_ms, zab::Input::PeerDisconnected { sid }, out)
            }
            PeerInput::Persisted { zxid } => self.zab(now_ms, zab::Input::Persisted { zxid }, out),
            PeerInput::Client(input) => self.client(now_ms, input, out),
            PeerInput::SnapLoaded {
                from,
                zxid,
                snapshot,
            } => {
                if !matches!(self.role, ZabRole::Learning(_)) {
                    return;
                }
                self.rebuild(
                    now_ms,
                    Loaded {
                        snapshot: Some(snapshot),
                        txns: Vec::new(),
                    },
                    out,
                );
                let msg = crate::quorum::types::ZabMessage::Snap { zxid };
                self.zab(now_ms, zab::Input::Received { from, msg }, out);
            }
            PeerInput::Reloaded(loaded) => self.reloaded(now_ms, loaded, out),
            PeerInput::Tick { have_delivered } => {
                self.election_input(now_ms, ElectionInput::Tick { have_delivered }, out);
                self.zab(now_ms, zab::Input::Tick, out);
                if self.serving {
                    self.core(now_ms, core::Input::Tick, out);
                }
            }
        }
    }

    // ---- election ----

    fn election_input(&mut self, now_ms: u64, input: ElectionInput, out: &mut Vec<PeerOutput>) {
        let mut eo = Vec::new();
        self.election.handle(now_ms, input, &mut eo);
        self.election_outputs(now_ms, eo, out);
    }

    fn election_outputs(
        &mut self,
        now_ms: u64,
        eo: Vec<ElectionOutput>,
        out: &mut Vec<PeerOutput>,
    ) {
        // Notifications to myself come back as input (`QuorumCnxManager`
        // loops them back), after the outputs before them.
        let mut queue: VecDeque<ElectionOutput> = eo.into();
        while let Some(o) = queue.pop_front() {
            match o {
                ElectionOutput::Send { to, n } if to == self.cfg.my_sid => {
                    let mut more = Vec::new();
                    let input = ElectionInput::Received { from: to, n };
                    self.election.handle(now_ms, input, &mut more);
                    queue.extend(more);
                }
                ElectionOutput::Send { to, n } => out.push(PeerOutput::Notify { to, n }),
                ElectionOutput::ConnectAll => out.push(PeerOutput::ConnectAll),
                ElectionOutput::Decided { state, vote } => {
                    self.decided(now_ms, state, vote.leader, out)
                }
            }
        }
    }

    /// `QuorumPeer.run`: the round is over; take up the role.
    fn decided(&mut self, now_ms: u64, state: ServerState, leader: Sid, out: &mut Vec<PeerOutput>) {
        self.state = state;
        out.push(PeerOutput::StateChanged(state));
        let mut zo = Vec::new();
        match state {
            ServerState::Leading => {
                let voters: Vec<Sid> = self.cfg.verifier.voting_members().collect();
                let init = LeaderInit {
                    accepted_epoch: self.accepted_epoch,
                    current_epoch: self.current_epoch,
                    last_zxid: self.server.tree().last_processed_zxid,
                    committed_log: self.committed.iter().cloned().collect(),
                    quorum_config: Bytes::from(self.cfg.verifier.config_text()),
                };
                self.set_server_role(now_ms, Role::Leader, out);
                let l = Leader::new(
                    self.cfg.zab,
                    self.cfg.my_sid,
                    Box::new(Majority::new(voters)),
                    init,
                    now_ms,
                    &mut zo,
                );
                self.role = ZabRole::Leading(Box::new(l));
            }
            ServerState::Following | ServerState::Observing => {
                let init = LearnerInit {
                    accepted_epoch: self.accepted_epoch,
                    current_epoch: self.current_epoch,
                    last_logged_zxid: self.server.tree().last_processed_zxid,
                    config_version: self.cfg.verifier.version(),
                };
                let (learner_type, role) = if state == ServerState::Observing {
                    (LearnerType::Observer, Role::Observer)
                } else {
                    (LearnerType::Participant, Role::Follower)
                };
                self.set_server_role(now_ms, role, out);
                let l = Learner::new(
                    self.cfg.zab,
                    self.cfg.my_sid,
                    leader,
                    learner_type,
                    init,
                    now_ms,
                );
                self.role = ZabRole::Learning(Box::new(l));
                out.push(PeerOutput::ConnectToLeader { sid: leader });
            }
            ServerState::Looking => {}
        }
        self.zab_outputs(now_ms, zo, out);
    }

    fn set_server_role(&mut self, now_ms: u64, role: Role, out: &mut Vec<PeerOutput>) {
        let mut co = Vec::new();
        self.server.set_role(now_ms as i64, role, &mut co);
        self.core_outputs(now_ms, co, out);
    }

    // ---- durable history ----

    /// Rebuilds the request processor from the durable history.
    fn rebuild(&mut self, now_ms: u64, loaded: Loaded, out: &mut Vec<PeerOutput>) {
        let mut co = Vec::new();
        self.server
            .close_all_connections("reloading the database", &mut co);
        self.core_outputs(now_ms, co, out);
        let role = self.server.role();
        let mut server = Server::new(self.cfg.core.clone(), now_ms as i64);
        let mut snap_zxid = i64::MIN;
        if let Some(s) = loaded.snapshot {
            snap_zxid = s.tree.last_processed_zxid;
            server.restore(s.tree, &s.sessions, now_ms as i64);
        }
        let txns: Vec<TxnPacket> = loaded
            .txns
            .into_iter()
            .filter(|p| p.txn.header.zxid > snap_zxid)
            .collect();
        server.recover(txns.iter().map(|p| p.txn.clone()), now_ms as i64);
        let mut co = Vec::new();
        server.set_role(now_ms as i64, role, &mut co);
        self.server = server;
        let keep = self.cfg.zab.commit_log_count;
        let skip = txns.len().saturating_sub(keep);
        self.committed = txns.into_iter().skip(skip).collect();
        self.proposed.clear();
    }

    fn reloaded(&mut self, now_ms: u64, loaded: Loaded, out: &mut Vec<PeerOutput>) {
        self.rebuild(now_ms, loaded, out);
        if self.reloading {
            self.reloading = false;
            let mut eo = Vec::new();
            let last = self.server.tree().last_processed_zxid;
            self.election
                .start(now_ms, last, self.current_epoch, &mut eo);
            self.election_outputs(now_ms, eo, out);
        }
    }

    /// The role is over: back to LOOKING once the history is reloaded.
    fn abandon(&mut self, now_ms: u64, reason: &str, out: &mut Vec<PeerOutput>) {
        tracing::info!(sid = self.cfg.my_sid, reason, "leaving the role");
        let peers: Vec<Sid> = match std::mem::replace(&mut self.role, ZabRole::None) {
            ZabRole::Leading(l) => l.learners().map(|(sid, _)| sid).collect(),
            ZabRole::Learning(l) => vec![l.leader()],
            ZabRole::None => Vec::new(),
        };
        for sid in peers {
            out.push(PeerOutput::CloseQuorum { sid });
        }
        self.set_serving(false, out);
        self.established_at_ms = None;
        let mut co = Vec::new();
        self.server
            .close_all_connections("server is looking", &mut co);
        self.core_outputs(now_ms, co, out);
        self.state = ServerState::Looking;
        out.push(PeerOutput::StateChanged(ServerState::Looking));
        self.reloading = true;
        out.push(PeerOutput::Reload);
    }

    fn set_serving(&mut self, serving: bool, out: &mut Vec<PeerOutput>) {
        if self.serving != serving {
            self.serving = serving;
            out.push(PeerOutput::ServeClients(serving));
        }
    }

    // ---- clients ----

    fn client(&mut self, now_ms: u64, input: core::Input, out: &mut Vec<PeerOutput>) {
        if !self.serving {
            // `ServerCnxnFactory` with no running `ZooKeeperServer`.
            if let core::Input::Open { conn, .. } = input {
                out.push(PeerOutput::Client(core::Output::Close {
                    conn,
                    reason: "ZooKeeperServer not running".into(),
                }));
            }
            if let core::Input::Closed { .. } = input {
                self.core(now_ms, input, out);
            }
            return;
        }
        self.core(now_ms, input, out);
    }

    // ---- request processor ----

    fn core(&mut self, now_ms: u64, input: core::Input, out: &mut Vec<PeerOutput>) {
        let mut co = Vec::new();
        self.server.handle(now_ms as i64, input, &mut co);
        self.core_outputs(now_ms, co, out);
    }

    fn core_outputs(&mut self, now_ms: u64, co: Vec<core::Output>, out: &mut Vec<PeerOutput>) {
        for o in co {
            match o {
                core::Output::Send { .. } | core::Output::Close { .. } => {
                    out.push(PeerOutput::Client(o))
                }
                core::Output::Persist { txn } => {
                    // Only a leader prepares txns; its "persisted" is the
                    // quorum's commit.
                    // The core keeps its own reference until applied.
                    let p = TxnPacket {
                        txn: Arc::unwrap_or_clone(txn),
                        digest: None,
                    };
                    if matches!(self.role, ZabRole::Leading(_)) {
                        self.proposed.push_back(p.clone());
                        self.zab(now_ms, zab::Input::Propose(p), out);
                    } else {
                        tracing::warn!(zxid = p.txn.header.zxid, "txn prepared outside leading");
                    }
                }
                core::Output::Quorum(q) => {
                    let input = match q {
                        QuorumOutput::Forward(req) => zab::Input::Forward(req),
                        QuorumOutput::Revalidate {
                            session_id,
                            timeout_ms,
                        } => zab::Input::Revalidate {
                            session_id,
                            timeout_ms,
                        },
                        QuorumOutput::Revalidated {
                            learner,
                            session_id,
                            valid,
                        } => zab::Input::RevalidateAnswer {
                            to: learner,
                            session_id,
                            valid,
                        },
                        QuorumOutput::SyncBarrier { learner, .. } => {
                            zab::Input::ProcessSync { from: learner }
                        }
                    };
                    self.zab(now_ms, input, out);
                }
            }
        }
    }

    // ---- zab ----

    fn zab(&mut self, now_ms: u64, input: zab::Input, out: &mut Vec<PeerOutput>) {
        let mut zo = Vec::new();
        match &mut self.role {
            ZabRole::Leading(l) => l.handle(now_ms, input, &mut zo),
            ZabRole::Learning(l) => l.handle(now_ms, input, &mut zo),
            ZabRole::None => return,
        }
        self.zab_outputs(now_ms, zo, out);
    }

    fn zab_outputs(&mut self, now_ms: u64, zo: Vec<zab::Output>, out: &mut Vec<PeerOutput>) {
        use zab::Output as Z;
        for o in zo {
            match o {
                Z::Send { to, msg } => out.push(PeerOutput::ZabSend { to, msg }),
                Z::Close { sid } => out.push(PeerOutput::CloseQuorum { sid }),
                Z::Persist(p) => out.push(PeerOutput::Persist(p)),
                Z::WriteAcceptedEpoch(e) => {
                    self.accepted_epoch = e;
                    out.push(PeerOutput::WriteAcceptedEpoch(e));
                }
                Z::WriteCurrentEpoch(e) => {
                    self.current_epoch = e;
                    out.push(PeerOutput::WriteCurrentEpoch(e));
                }
                Z::Established { epoch } => {
                    self.established_at_ms = Some(now_ms);
                    self.server.set_epoch(epoch);
                    self.election.update_election_vote(epoch);
                    self.set_serving(true, out);
                }
                Z::Commit { zxid } => {
                    while self
                        .proposed
                        .front()
                        .is_some_and(|p| p.txn.header.zxid <= zxid)
                    {
                        let p = self.proposed.pop_front().expect("front exists");
                        self.remember(p);
                    }
                    self.core(now_ms, core::Input::Persisted { zxid }, out);
                }
                Z::SendSnap { to, zxid } => out.push(PeerOutput::SendSnap { to, zxid }),
                Z::Forwarded { from, request } => {
                    self.quorum(now_ms, QuorumInput::Forwarded { from, request }, out)
                }
                Z::Touch(t) => self.quorum(now_ms, QuorumInput::Touch(t), out),
                Z::Revalidate {
                    from,
                    session_id,
                    timeout_ms,
                } => self.quorum(
                    now_ms,
                    QuorumInput::Revalidate {
                        from,
                        session_id,
                        timeout_ms,
                    },
                    out,
                ),
                Z::Revalidated { session_id, valid } => {
                    self.quorum(now_ms, QuorumInput::Revalidated { session_id, valid }, out)
                }
                Z::ReportTouches { zxid } => {
                    let touches = self.server.take_touches();
                    self.zab(now_ms, zab::Input::Touches { zxid, touches }, out);
                }
                Z::Deliver(p) => {
                    let zxid = p.txn.header.zxid;
                    let digest = p.digest.clone();
                    self.remember(p.clone());
                    self.quorum(now_ms, QuorumInput::Committed(p), out);
                    if let Some(d) = digest {
                        self.server.check_txn_digest(zxid, d.version, d.tree_digest);
                    }
                }
                Z::Truncate { zxid } => out.push(PeerOutput::Truncate { zxid }),
                Z::SyncDone => self.quorum(now_ms, QuorumInput::SyncDone, out),
                Z::Serving { epoch } => {
                    self.election.update_election_vote(epoch);
                    self.set_serving(true, out);
                }
                Z::Abandon { reason } => self.abandon(now_ms, &reason, out),
            }
        }
    }

    fn quorum(&mut self, now_ms: u64, input: QuorumInput, out: &mut Vec<PeerOutput>) {
        self.core(now_ms, core::Input::Quorum(input), out);
    }

    /// Keeps a committed txn for DIFF, within `commit_log_count`.
    fn remember(&mut self, p: TxnPacket) {
        if self.cfg.zab.commit_log_count == 0 {
            return;
        }
        if self.committed.len() == self.cfg.zab.commit_log_count {
            self.committed.pop_front();
        }
        self.committed.push_back(p);
    }
}
