//! FastLeaderElection (`electionAlg=3`) as a pure state machine:
//! `FastLeaderElection.lookForLeader` and `Messenger.WorkerReceiver` of
//! Apache ZooKeeper 3.8.0, with the threads and queues taken out.
//!
//! The runtime feeds [`ElectionInput`]s with the time and carries out the
//! [`ElectionOutput`]s: it sends notifications (a notification to my own
//! sid must come back to me as `Received`, as `QuorumCnxManager.toSend`
//! loops it back), reconnects on `ConnectAll`, and on `Decided` moves the
//! peer to FOLLOWING, LEADING or OBSERVING. When that role ends it calls
//! [`Election::start`] again (a new round). No I/O, no clock, no
//! randomness: the same inputs give the same outputs.
//!
//! Invariants:
//! - `logical_clock` (Apache's `logicalclock`, the election epoch of my
//!   round) never decreases; a round begins by incrementing it.
//! - My proposal only moves up in `totalOrderPredicate` order within one
//!   round (higher peer epoch, then zxid, then sid), except when a newer
//!   round's notification resets it to the better of that vote and mine.
//! - `recvset` only holds votes of the current round; every vote recorded
//!   comes from a voter and names a voter.
//! - A decision is emitted once per round, and only while LOOKING.
//! - Memory is bounded by the number of voters (two vote maps); each call
//!   emits at most one notification per voter plus a constant.
//!
//! Where Apache's threads interleave (a reply from the receiver thread,
//! then the main loop consuming the queued notification), we do both in
//! one `handle` call, reply first. Notifications that arrive while the
//! peer is LOOKING but no round is running (before the first `start`) are
//! answered as the receiver would and otherwise dropped: the runtime calls
//! `start` as soon as it turns LOOKING.
//!
//! Not covered: dynamic reconfiguration (a notification's config with a
//! higher version is ignored, where Apache would `processReconfig` and
//! restart the election), and the two-node oracle.

mod timing;
pub mod vote_set;

pub use timing::ElectionTiming;
use vote_set::{ElectionVote, VoteSet};

use crate::quorum::types::{
    LearnerType, Notification, ServerState, Sid, Vote, NOTIFICATION_VERSION,
};
use crate::quorum::verifier::QuorumVerifier;
use bytes::Bytes;

/// What the runtime hands the election.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ElectionInput {
    /// A notification from `from` (the sid of the connection it came on).
    Received { from: Sid, n: Notification },
    /// Time passed. `have_delivered` is `QuorumCnxManager.haveDelivered()`:
    /// some peer's send queue is empty. On a notification timeout the
    /// election re-sends its vote if so, else asks to reconnect.
    Tick { have_delivered: bool },
}

/// What the election asks of the runtime.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ElectionOutput {
    /// Send `n` to `to` (possibly myself: deliver it back as `Received`).
    Send { to: Sid, n: Notification },
    /// `manager.connectAll()`: connect to every voter not connected.
    ConnectAll,
    /// The round is over: become `state` with `vote` as the current vote.
    Decided { state: ServerState, vote: Vote },
}

/// My proposal in the current round (`proposedLeader`, `proposedZxid`,
/// `proposedEpoch`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Proposal {
    leader: Sid,
    zxid: i64,
    peer_epoch: i64,
}

/// One peer's FastLeaderElection.
#[derive(Debug, Clone)]
pub struct Election {
    my_sid: Sid,
    learner_type: LearnerType,
    verifier: QuorumVerifier,
    /// `verifier.config_text()`, sent in every notification.
    config: Bytes,
    timing: ElectionTiming,
    /// `QuorumPeer.getPeerState()`.
    state: ServerState,
    /// `QuorumPeer.getCurrentVote()`: what a non-looking peer answers with.
    current_vote: Option<Vote>,
    logical_clock: i64,
    proposal: Proposal,
    /// This round's inputs: my last logged zxid and current epoch.
    last_logged_zxid: i64,
    current_epoch: i64,
    /// A `lookForLeader` call is in progress.
    running: bool,
    recvset: VoteSet,
    outofelection: VoteSet,
    /// The wait of the main loop's poll (`notTimeout`).
    not_timeout_ms: u64,
    /// When the current poll times out.
    poll_deadline_ms: u64,
    /// In the `finalizeWait` re-check: when it ends without a better vote.
    finalize_deadline_ms: Option<u64>,
}

impl Election {
    pub fn new(my_sid: Sid, learner_type: LearnerType, verifier: QuorumVerifier) -> Election {
        Self::with_timing(my_sid, learner_type, verifier, ElectionTiming::default())
    }

    pub fn with_timing(
        my_sid: Sid,
        learner_type: LearnerType,
        verifier: QuorumVerifier,
        timing: ElectionTiming,
    ) -> Election {
        let config = Bytes::from(verifier.config_text());
        Election {
            my_sid,
            learner_type,
            verifier,
            config,
            timing,
            state: ServerState::Looking,
            current_vote: None,
            logical_clock: 0,
            proposal: Proposal {
                leader: -1,
                zxid: -1,
                peer_epoch: -1,
            },
            last_logged_zxid: -1,
            current_epoch: -1,
            running: false,
            recvset: VoteSet::default(),
            outofelection: VoteSet::default(),
            not_timeout_ms: timing.min_notification_interval_ms,
            poll_deadline_ms: 0,
            finalize_deadline_ms: None,
        }
    }

    pub fn my_sid(&self) -> Sid {
        self.my_sid
    }

    pub fn state(&self) -> ServerState {
        self.state
    }

    pub fn logical_clock(&self) -> i64 {
        self.logical_clock
    }

    pub fn verifier(&self) -> &QuorumVerifier {
        &self.verifier
    }

    /// Is a round in progress?
    pub fn is_looking(&self) -> bool {
        self.running
    }

    /// My current proposal as a vote of this round (`getVote()` with the
    /// logical clock).
    pub fn proposal(&self) -> Vote {
        self.proposal_vote()
    }

    /// The vote a non-looking peer answers with.
    pub fn current_vote(&self) -> Option<Vote> {
        self.current_vote
    }

    /// When the runtime should next `Tick` (None: no timer pending).
    pub fn next_deadline_ms(&self) -> Option<u64> {
        if !self.running {
            None
        } else {
            Some(self.finalize_deadline_ms.unwrap_or(self.poll_deadline_ms))
        }
    }

    /// The runtime's peer state and current vote changed outside the
    /// election (e.g. it stopped following and is about to `start`).
    /// Leaving LOOKING this way ends a round in progress.
    pub fn set_current(&mut self, state: ServerState, vote: Vote) {
        self.state = state;
        self.current_vote = Some(vote);
        if state != ServerState::Looking {
            self.end_round();
        }
    }

    /// `QuorumPeer.updateElectionVote` (ZOOKEEPER-1732): once the role's
    /// epoch is established (leader) or the learner is up to date, the vote
    /// answered to looking peers carries the new epoch, so that every member
    /// of the ensemble reports the same vote to a server that joins.
    pub fn update_election_vote(&mut self, new_epoch: i64) {
        if let Some(v) = self.current_vote.as_mut() {
            v.peer_epoch = new_epoch;
        }
    }

    /// `lookForLeader`'s start: a new round. Increments the logical clock,
    /// votes for myself and sends that vote to every voter.
    pub fn start(
        &mut self,
        now_ms: u64,
        last_logged_zxid: i64,
        current_epoch: i64,
        out: &mut Vec<ElectionOutput>,
    ) {
        if self.current_vote.is_none() {
            // `startLeaderElection`'s first current vote.
            self.current_vote = Some(Vote {
                leader: self.my_sid,
                zxid: last_logged_zxid,
                election_epoch: -1,
                peer_epoch: current_epoch,
            });
        }
        self.state = ServerState::Looking;
        self.last_logged_zxid = last_logged_zxid;
        self.current_epoch = current_epoch;
        self.end_round();
        self.running = true;
        self.not_timeout_ms = self.timing.min_notification_interval_ms;
        self.logical_clock += 1;
        self.proposal = self.init_proposal();
        self.send_notifications(out);
        self.poll_deadline_ms = now_ms.saturating_add(self.not_timeout_ms);
    }

    pub fn handle(&mut self, now_ms: u64, input: ElectionInput, out: &mut Vec<ElectionOutput>) {
        match input {
            ElectionInput::Received { from, n } => self.receive(now_ms, from, n, out),
            ElectionInput::Tick { have_delivered } => self.tick(now_ms, have_delivered, out),
        }
    }

    /// `WorkerReceiver.run`'s handling of one message.
    fn receive(&mut self, now_ms: u64, from: Sid, n: Notification, out: &mut Vec<ElectionOutput>) {
        if !self.verifier.is_voter(from) {
            // An observer (or a stranger): answer at once with my current
            // vote, whatever my state; never count it.
            let current = self.current_vote.unwrap_or_else(|| self.proposal_vote());
            let reply = Vote {
                election_epoch: self.logical_clock,
                ..current
            };
            self.send(from, self.state, reply, out);
            return;
        }
        if self.state == ServerState::Looking {
            if n.state == ServerState::Looking && n.vote.election_epoch < self.logical_clock {
                // The sender is behind: tell it my round and proposal.
                self.send(from, ServerState::Looking, self.proposal_vote(), out);
            }
            if self.running {
                self.process(now_ms, from, n, out);
            }
        } else if n.state == ServerState::Looking {
            // Out of the election: tell a looking peer whom I follow.
            if let Some(current) = self.current_vote {
                self.send(from, self.state, current, out);
            }
        }
    }

    /// The main loop of `lookForLeader` for one notification taken from
    /// the queue.
    fn process(&mut self, now_ms: u64, from: Sid, n: Notification, out: &mut Vec<ElectionOutput>) {
        if self.finalize_deadline_ms.is_some() {
            // finalizeWait: only a better vote reopens the round; anything
            // else is consumed unseen and the wait starts over.
            if self.total_order(n.vote.leader, n.vote.zxid, n.vote.peer_epoch, self.proposal) {
                self.finalize_deadline_ms = None;
            } else {
                self.finalize_deadline_ms =
                    Some(now_ms.saturating_add(self.timing.finalize_wait_ms));
                return;
            }
        }
        // The poll returned; the next one waits `notTimeout` from now.
        self.poll_deadline_ms = now_ms.saturating_add(self.not_timeout_ms);
        if !self.verifier.is_voter(from) || !self.verifier.is_voter(n.vote.leader) {
            tracing::warn!(
                "Ignoring notification for sid {} from sid {} (not both voters)",
                n.vote.leader,
                from
            );
            return;
        }
        match n.state {
            ServerState::Looking => self.on_looking(now_ms, from, &n, out),
            ServerState::Observing => {}
            ServerState::Following | ServerState::Leading => self.on_out_of_election(from, &n, out),
        }
    }

    fn on_looking(
        &mut self,
        now_ms: u64,
        from: Sid,
        n: &Notification,
        out: &mut Vec<ElectionOutput>,
    ) {
        if self.init_proposal().zxid == -1 || n.vote.zxid == -1 {
            return;
        }
        let nv = &n.vote;
        if nv.election_epoch > self.logical_clock {
            // A newer round: join it, with the better of its vote and mine.
            self.logical_clock = nv.election_epoch;
            self.recvset.clear();
            let init = self.init_proposal();
            self.proposal = if self.total_order(nv.leader, nv.zxid, nv.peer_epoch, init) {
                proposal_of(nv)
            } else {
                init
            };
            self.send_notifications(out);
        } else if nv.election_epoch < self.logical_clock {
            return;
        } else if self.total_order(nv.leader, nv.zxid, nv.peer_epoch, self.proposal) {
            self.proposal = proposal_of(nv);
            self.send_notifications(out);
        }
        self.recvset.put(from, ElectionVote::looking(*nv));
        if self
            .recvset
            .has_quorum(&self.verifier, &ElectionVote::looking(self.proposal_vote()))
        {
            self.finalize_deadline_ms = Some(now_ms.saturating_add(self.timing.finalize_wait_ms));
        }
    }

    /// `receivedFollowingNotification` / `receivedLeadingNotification`.
    fn on_out_of_election(&mut self, from: Sid, n: &Notification, out: &mut Vec<ElectionOutput>) {
        let nv = n.vote;
        let as_sent = ElectionVote {
            vote: nv,
            state: n.state,
            version: n.version,
        };
        if nv.election_epoch == self.logical_clock {
            // Recorded without the version, as Apache does.
            self.recvset.put(
                from,
                ElectionVote {
                    version: 0,
                    ..as_sent
                },
            );
            if self.recvset.has_quorum(&self.verifier, &as_sent)
                && self.recvset.check_leader(
                    self.my_sid,
                    self.logical_clock,
                    nv.leader,
                    nv.election_epoch,
                )
            {
                self.decide(nv, out);
                return;
            }
        }
        // Join an established ensemble (even from another round) once a
        // quorum follows the same leader and the leader says it leads
        // (ZOOKEEPER-1732: this map also keeps this round's votes).
        self.outofelection.put(from, as_sent);
        if self.outofelection.has_quorum(&self.verifier, &as_sent)
            && self.outofelection.check_leader(
                self.my_sid,
                self.logical_clock,
                nv.leader,
                nv.election_epoch,
            )
        {
            self.logical_clock = nv.election_epoch;
            self.decide(nv, out);
        }
    }

    fn tick(&mut self, now_ms: u64, have_delivered: bool, out: &mut Vec<ElectionOutput>) {
        if !self.running {
            return;
        }
        if let Some(deadline) = self.finalize_deadline_ms {
            if now_ms >= deadline {
                let vote = self.proposal_vote();
                self.decide(vote, out);
            }
            return;
        }
        if now_ms < self.poll_deadline_ms {
            return;
        }
        if have_delivered {
            self.send_notifications(out);
        } else {
            out.push(ElectionOutput::ConnectAll);
        }
        // Exponential backoff, capped.
        self.not_timeout_ms = self
            .not_timeout_ms
            .saturating_mul(2)
            .min(self.timing.max_notification_interval_ms);
        tracing::info!("Notification time out: {} ms", self.not_timeout_ms);
        self.poll_deadline_ms = now_ms.saturating_add(self.not_timeout_ms);
    }

    /// Ends the round with `vote` (`setPeerState` + `leaveInstance`).
    fn decide(&mut self, vote: Vote, out: &mut Vec<ElectionOutput>) {
        let state = if vote.leader == self.my_sid {
            ServerState::Leading
        } else {
            self.learning_state()
        };
        self.state = state;
        self.current_vote = Some(vote);
        self.end_round();
        out.push(ElectionOutput::Decided { state, vote });
    }

    fn end_round(&mut self) {
        self.running = false;
        self.recvset.clear();
        self.outofelection.clear();
        self.finalize_deadline_ms = None;
    }

    fn learning_state(&self) -> ServerState {
        match self.learner_type {
            LearnerType::Participant => ServerState::Following,
            LearnerType::Observer => ServerState::Observing,
        }
    }

    /// `getInitId`, `getInitLastLoggedZxid`, `getPeerEpoch`: a non-voter
    /// proposes `Long.MIN_VALUE` everywhere, which no voter ever adopts.
    fn init_proposal(&self) -> Proposal {
        let participant = self.learner_type == LearnerType::Participant;
        Proposal {
            leader: if self.verifier.is_voter(self.my_sid) {
                self.my_sid
            } else {
                i64::MIN
            },
            zxid: if participant {
                self.last_logged_zxid
            } else {
                i64::MIN
            },
            peer_epoch: if participant {
                self.current_epoch
            } else {
                i64::MIN
            },
        }
    }

    /// `totalOrderPredicate`: does (leader, zxid, epoch) beat `cur`? A
    /// candidate that is not a voter never does.
    fn total_order(&self, leader: Sid, zxid: i64, peer_epoch: i64, cur: Proposal) -> bool {
        if !self.verifier.is_voter(leader) {
            return false;
        }
        (peer_epoch, zxid, leader) > (cur.peer_epoch, cur.zxid, cur.leader)
    }

    fn proposal_vote(&self) -> Vote {
        Vote {
            leader: self.proposal.leader,
            zxid: self.proposal.zxid,
            election_epoch: self.logical_clock,
            peer_epoch: self.proposal.peer_epoch,
        }
    }

    /// `sendNotifications`: my proposal to every voter, myself included.
    fn send_notifications(&self, out: &mut Vec<ElectionOutput>) {
        let vote = self.proposal_vote();
        for to in self.verifier.voting_members() {
            self.send(to, ServerState::Looking, vote, out);
        }
    }

    fn send(&self, to: Sid, state: ServerState, vote: Vote, out: &mut Vec<ElectionOutput>) {
        out.push(ElectionOutput::Send {
            to,
            n: Notification {
                state,
                vote,
                version: NOTIFICATION_VERSION,
                config: self.config.clone(),
            },
        });
    }
}

fn proposal_of(v: &Vote) -> Proposal {
    Proposal {
        leader: v.leader,
        zxid: v.zxid,
        peer_epoch: v.peer_epoch,
    }
}

#[cfg(test)]
mod sim;
#[cfg(test)]
mod tests;
