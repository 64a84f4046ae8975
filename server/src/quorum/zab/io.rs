//! What goes into and comes out of the Zab roles. Leader-only and
//! learner-only variants say so; a role ignores the other's.

use crate::quorum::types::{ForwardedRequest, SessionTouch, Sid, TxnPacket, ZabMessage};

/// An event for a role.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Input {
    /// A message from a peer's quorum-port connection.
    Received { from: Sid, msg: ZabMessage },
    /// A quorum-port connection is up (leader: a learner's; learner: its
    /// leader's — the learner then registers with FOLLOWERINFO/OBSERVERINFO).
    PeerConnected { sid: Sid },
    /// That connection is gone (leader: forget the learner; learner: abandon).
    PeerDisconnected { sid: Sid },
    /// The local txn log is durable up to and including `zxid`.
    Persisted { zxid: i64 },
    /// Leader: the request processor made the next txn (zxid = last + 1).
    Propose(TxnPacket),
    /// Leader: the request processor reached a sync forwarded by `from`
    /// (in order with the writes before it).
    ProcessSync { from: Sid },
    /// Leader: the answer to [`Output::Revalidate`].
    RevalidateAnswer {
        to: Sid,
        session_id: i64,
        valid: bool,
    },
    /// Learner: forward a client's write, createSession/closeSession or sync.
    Forward(ForwardedRequest),
    /// Learner: a client reconnected here with this session; ask the leader.
    Revalidate { session_id: i64, timeout_ms: i32 },
    /// Learner: the touch table asked for by [`Output::ReportTouches`].
    Touches {
        zxid: i64,
        touches: Vec<SessionTouch>,
    },
    /// Time passes (call at least every `tick_time_ms / 2`).
    Tick,
}

/// An action for the runtime, executed in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    Send {
        to: Sid,
        msg: ZabMessage,
    },
    /// Leader: close this learner's connection (silent, or a protocol error).
    Close {
        sid: Sid,
    },
    /// Append to the local txn log; report `Input::Persisted` once durable.
    Persist(TxnPacket),
    /// Write the `acceptedEpoch` file (durably) before going on.
    WriteAcceptedEpoch(i64),
    /// Write the `currentEpoch` file (durably) before going on.
    WriteCurrentEpoch(i64),
    /// Leader: a quorum acked NEWLEADER; serve, proposing from
    /// `make_zxid(epoch, 1)`.
    Established {
        epoch: i64,
    },
    /// Leader: every txn up to `zxid` is committed; apply and answer them
    /// before the next output.
    Commit {
        zxid: i64,
    },
    /// Leader: write SNAP(`zxid`) and the snapshot of the tree (which is at
    /// `zxid`, the last commit) to `to`.
    SendSnap {
        to: Sid,
        zxid: i64,
    },
    /// Leader: a learner's REQUEST for the request processor.
    Forwarded {
        from: Sid,
        request: ForwardedRequest,
    },
    /// Leader: touch these global sessions (a learner's PING reply).
    Touch(Vec<SessionTouch>),
    /// Leader: may this session move to learner `from`? Answer with
    /// `Input::RevalidateAnswer` (ZooKeeper touches the session if valid).
    Revalidate {
        from: Sid,
        session_id: i64,
        timeout_ms: i32,
    },
    /// Learner: the leader's answer to `Input::Revalidate`.
    Revalidated {
        session_id: i64,
        valid: bool,
    },
    /// Learner: the leader pinged; answer with `Input::Touches { zxid, .. }`.
    ReportTouches {
        zxid: i64,
    },
    /// Learner: apply this committed txn.
    Deliver(TxnPacket),
    /// Learner: drop every logged txn after `zxid` (log and tree).
    Truncate {
        zxid: i64,
    },
    /// Learner: the oldest sync it forwarded is through; answer it.
    SyncDone,
    /// Learner: UPTODATE processed; serve clients in `epoch`.
    Serving {
        epoch: i64,
    },
    /// Give up this role and go back to LOOKING.
    Abandon {
        reason: String,
    },
}
