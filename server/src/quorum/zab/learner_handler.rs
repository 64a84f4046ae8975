//! The leader's view of one learner connection (`LearnerHandler`): where
//! that learner is in discovery and sync, and when it was last heard from.

use crate::quorum::types::{LearnerType, Sid};

/// Where a learner is, from the leader's side.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandlerPhase {
    /// Connected; FOLLOWERINFO/OBSERVERINFO not yet received.
    AwaitInfo,
    /// Registered; waiting for the leader to settle the new epoch.
    AwaitEpoch,
    /// LEADERINFO sent; waiting for ACKEPOCH.
    AwaitAckEpoch,
    /// ACKEPOCH received; waiting for a quorum of them.
    AwaitEpochQuorum,
    /// Sync packets and NEWLEADER queued; waiting for its ACK.
    AwaitNewLeaderAck,
    /// NEWLEADER acked; waiting for the leader's NEWLEADER quorum.
    AwaitStartup,
    /// UPTODATE sent.
    Broadcast,
}

#[derive(Debug, Clone)]
pub struct LearnerHandler {
    pub sid: Sid,
    pub learner_type: LearnerType,
    pub phase: HandlerPhase,
    /// When the last packet from it arrived.
    pub last_heard_ms: u64,
    /// The last zxid it reported in ACKEPOCH.
    pub peer_last_zxid: i64,
}

impl LearnerHandler {
    pub fn new(sid: Sid, now_ms: u64) -> LearnerHandler {
        LearnerHandler {
            sid,
            learner_type: LearnerType::Participant,
            phase: HandlerPhase::AwaitInfo,
            last_heard_ms: now_ms,
            peer_last_zxid: -1,
        }
    }

    /// Does it get proposals as they are made (`forwardingFollowers`)?
    pub fn forwarding(&self) -> bool {
        matches!(
            self.phase,
            HandlerPhase::AwaitNewLeaderAck | HandlerPhase::AwaitStartup | HandlerPhase::Broadcast
        )
    }

    pub fn is_observer(&self) -> bool {
        self.learner_type == LearnerType::Observer
    }

    /// Has it been silent too long? Before its NEWLEADER ACK the limit is
    /// initLimit, after it syncLimit.
    pub fn silent_too_long(&self, now_ms: u64, init_limit_ms: u64, sync_limit_ms: u64) -> bool {
        let limit = match self.phase {
            HandlerPhase::AwaitStartup | HandlerPhase::Broadcast => sync_limit_ms,
            _ => init_limit_ms,
        };
        now_ms.saturating_sub(self.last_heard_ms) > limit
    }
}
