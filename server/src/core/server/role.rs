//! The part this server plays in its ensemble, and the per-role state the
//! request processor keeps. Standalone is the default and changes nothing.
//!
//! - Leader: the pipeline is the standalone one ("persisted" means
//!   committed by the quorum); learners' requests are prepped here; sessions
//!   are global and owned here (expiry, owners for SESSIONMOVED).
//! - Learner (follower or observer; the same here): reads are served from the
//!   local tree, writes and `sync` are forwarded, committed txns are applied
//!   in zxid order and answer the local request waiting for them.
//!
//! Invariants:
//! - Only a standalone server or a leader expires sessions and reaps
//!   containers/TTL nodes.
//! - Every map here is bounded by the open connections (pending connects,
//!   revalidations, syncs) or by the live sessions (owners, touches).

use crate::core::ConnId;
use crate::quorum::types::{SessionTouch, Sid};
use std::collections::{BTreeMap, HashMap, VecDeque};

/// What this server is, as `srvr`'s `Mode:` line prints it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Role {
    #[default]
    Standalone,
    Leader,
    Follower,
    Observer,
}

impl Role {
    /// `srvr`'s `Mode:`, mntr's `zk_server_state`.
    pub fn mode_name(self) -> &'static str {
        match self {
            Role::Standalone => "standalone",
            Role::Leader => "leader",
            Role::Follower => "follower",
            Role::Observer => "observer",
        }
    }

    /// Follower or observer: forwards writes, applies committed txns.
    pub fn is_learner(self) -> bool {
        matches!(self, Role::Follower | Role::Observer)
    }

    /// Expires sessions and reaps containers/TTL nodes.
    pub fn owns_sessions(self) -> bool {
        matches!(self, Role::Standalone | Role::Leader)
    }

    /// mntr's `zk_peer_state` prefix (`QuorumPeer.getDetailedPeerState`).
    pub fn peer_state_name(self) -> &'static str {
        match self {
            Role::Standalone => "",
            Role::Leader => "leading",
            Role::Follower => "following",
            Role::Observer => "observing",
        }
    }
}

/// Figures only the Zab layer knows, reported by mntr on a quorum member
/// (keys as a 3.8.0 ensemble prints them; set with `set_quorum_figures`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumFigures {
    /// `zk_peer_state` suffix: `discovery`, `synchronization`, `broadcast`.
    pub zab_state: &'static str,
    /// `zk_quorum_size`: voting members.
    pub quorum_size: u64,
    /// Leader: `zk_learners`.
    pub learners: u64,
    /// Leader: `zk_synced_followers`.
    pub synced_followers: u64,
    /// Leader: `zk_synced_non_voting_followers`.
    pub synced_non_voting_followers: u64,
    /// Leader: `zk_synced_observers`.
    pub synced_observers: u64,
    /// Leader: `zk_pending_syncs`.
    pub pending_syncs: u64,
    /// Leader: `zk_leader_uptime`, ms.
    pub leader_uptime_ms: u64,
    /// Leader: proposal sizes in bytes, -1 until one is made.
    pub last_proposal_size: i64,
    pub min_proposal_size: i64,
    pub max_proposal_size: i64,
}

impl Default for QuorumFigures {
    fn default() -> Self {
        QuorumFigures {
            zab_state: "broadcast",
            quorum_size: 0,
            learners: 0,
            synced_followers: 0,
            synced_non_voting_followers: 0,
            synced_observers: 0,
            pending_syncs: 0,
            leader_uptime_ms: 0,
            last_proposal_size: -1,
            min_proposal_size: -1,
            max_proposal_size: -1,
        }
    }
}

/// A connect a learner is finishing through the leader.
#[derive(Debug, Clone, Copy)]
pub(super) struct PendingConnect {
    pub conn: ConnId,
    pub timeout_ms: i32,
    pub read_only: Option<bool>,
}

/// A `sync` a learner forwarded, answered on SYNC.
#[derive(Debug, Clone)]
pub(super) struct PendingSync {
    pub conn: ConnId,
    pub cxid: i32,
    pub path: String,
}

/// The request processor's per-role state.
#[derive(Debug, Default)]
pub(super) struct RoleState {
    pub role: Role,
    pub figures: QuorumFigures,
    /// Leader: the server each session is connected through
    /// (`SessionTrackerImpl`'s owner); a write from elsewhere is SESSIONMOVED.
    pub owners: HashMap<i64, Sid>,
    /// Learner: sessions active since the last PING, with their timeouts.
    pub touches: BTreeMap<i64, i32>,
    /// Learner: new sessions whose createSession is with the leader.
    pub connecting: HashMap<i64, PendingConnect>,
    /// Learner: reconnects waiting for the leader's REVALIDATE answer.
    pub revalidating: HashMap<i64, PendingConnect>,
    /// Learner: forwarded syncs, oldest first (Apache's `pendingSyncs`).
    pub syncs: VecDeque<PendingSync>,
}

impl RoleState {
    /// Takes the touch table, leaving it empty (a PING reply carries it).
    pub fn take_touches(&mut self) -> Vec<SessionTouch> {
        std::mem::take(&mut self.touches)
            .into_iter()
            .map(|(session_id, timeout_ms)| SessionTouch {
                session_id,
                timeout_ms,
            })
            .collect()
    }
}
