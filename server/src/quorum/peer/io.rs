//! What goes into and comes out of a [`Peer`](super::Peer), and what it is
//! built from. Pure data.

use crate::core::data_tree::DataTree;
use crate::core::CoreConfig;
use crate::quorum::election::ElectionTiming;
use crate::quorum::types::{LearnerType, Notification, ServerState, Sid, TxnPacket, ZabMessage};
use crate::quorum::verifier::QuorumVerifier;
use crate::quorum::zab::ZabConfig;

/// Everything a member needs to know about itself and its ensemble.
#[derive(Debug, Clone)]
pub struct PeerConfig {
    /// `myid`.
    pub my_sid: Sid,
    /// `peerType`.
    pub learner_type: LearnerType,
    /// The `server.N` lines.
    pub verifier: QuorumVerifier,
    /// `tickTime`, `initLimit`, `syncLimit`, `commitLogCount`.
    pub zab: ZabConfig,
    pub election: ElectionTiming,
    /// The request processor's settings (`server_id` = `my_sid`).
    pub core: CoreConfig,
}

/// A snapshot as loaded from disk or received after SNAP: the tree (at its
/// `last_processed_zxid`) and the sessions with their timeouts.
#[derive(Debug, Clone)]
pub struct Snapshot {
    pub tree: DataTree,
    pub sessions: Vec<(i64, i32)>,
}

/// The node's durable history, as the runtime reads it back from disk
/// (Apache's `loadDataBase`): the newest snapshot, if any, and the logged
/// txns after it in zxid order (txns at or below the snapshot's zxid are
/// skipped).
#[derive(Debug, Clone, Default)]
pub struct Loaded {
    pub snapshot: Option<Snapshot>,
    pub txns: Vec<TxnPacket>,
}

/// An event for the member.
#[derive(Debug, Clone)]
pub enum PeerInput {
    /// A FastLeaderElection notification from `from` (election port).
    Notification { from: Sid, n: Notification },
    /// A Zab message on the quorum-port connection with `from`. SNAP never
    /// comes this way: see [`PeerInput::SnapLoaded`].
    Zab { from: Sid, msg: ZabMessage },
    /// A quorum-port connection with `sid` is up (leader: a learner
    /// connected; learner: the connection to its leader is up).
    QuorumConnected { sid: Sid },
    /// That connection is gone.
    QuorumDisconnected { sid: Sid },
    /// A client connection event or frame.
    Client(crate::core::Input),
    /// The local txn log is durable up to and including `zxid`.
    Persisted { zxid: i64 },
    /// Learner: SNAP(`zxid`) came from `from` and the runtime has read the
    /// snapshot stream after it and made it durable as the node's new
    /// history (snapshot, empty log after it).
    SnapLoaded {
        from: Sid,
        zxid: i64,
        snapshot: Snapshot,
    },
    /// The answer to [`PeerOutput::Reload`] or [`PeerOutput::Truncate`]: the
    /// durable history read back from disk.
    Reloaded(Loaded),
    /// Time passes (at least every `tick_time_ms / 2`, and at
    /// [`Peer::next_deadline_ms`](super::Peer::next_deadline_ms)).
    /// `have_delivered`: some election-port send queue is empty
    /// (`QuorumCnxManager.haveDelivered`).
    Tick { have_delivered: bool },
}

/// An action for the runtime. Executed **in order**, each complete before
/// the next (the Zab contract in `zab/mod.rs`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PeerOutput {
    /// Send a notification on the election port (never to myself: the
    /// member loops those back itself).
    Notify { to: Sid, n: Notification },
    /// `QuorumCnxManager.connectAll`.
    ConnectAll,
    /// Send on the quorum-port connection with `to`.
    ZabSend { to: Sid, msg: ZabMessage },
    /// Learner: open the quorum-port connection to the leader; report
    /// `QuorumConnected` (or `QuorumDisconnected` on failure).
    ConnectToLeader { sid: Sid },
    /// Close the quorum-port connection with `sid`.
    CloseQuorum { sid: Sid },
    /// A client connection action (send a frame, close).
    Client(crate::core::Output),
    /// Append to the txn log; report `Persisted` once durable.
    Persist(TxnPacket),
    /// Write the `acceptedEpoch` file durably.
    WriteAcceptedEpoch(i64),
    /// Write the `currentEpoch` file durably.
    WriteCurrentEpoch(i64),
    /// Learner (TRUNC): drop every logged txn after `zxid`, then read the
    /// history back and answer `Reloaded` before any other input.
    Truncate { zxid: i64 },
    /// Leaving a role: finish pending appends, read the history back and
    /// answer `Reloaded` (Apache reloads its database before each
    /// election). The election starts once it comes.
    Reload,
    /// Leader: write SNAP(`zxid`) and the snapshot stream of
    /// [`Peer::server`](super::Peer::server)'s tree and sessions (which are
    /// at `zxid` now) to `to`.
    SendSnap { to: Sid, zxid: i64 },
    /// Accept (true) or refuse (false) client connections. While refusing,
    /// the member already closes every connection it is told about.
    ServeClients(bool),
    /// `QuorumPeer.setPeerState`.
    StateChanged(ServerState),
}
