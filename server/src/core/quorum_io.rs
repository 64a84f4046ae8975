//! What the request processor exchanges with the Zab layer when it serves
//! in an ensemble: the inputs it is told and the outputs it asks for, on top
//! of the standalone [`Input`](super::Input)/[`Output`](super::Output).
//! Names follow ZooKeeper's packets (`REQUEST`, `REVALIDATE`, `SYNC`, `PING`).
//!
//! Invariants: pure data, no I/O. A learner is told committed txns in zxid
//! order; a leader's `Persisted { zxid }` means "committed by the quorum".

use crate::quorum::types::{ForwardedRequest, SessionTouch, Sid, TxnPacket};

/// Told by the Zab layer.
#[derive(Debug, Clone)]
pub enum QuorumInput {
    /// Leader: learner `from` forwarded a client request (REQUEST).
    Forwarded {
        from: Sid,
        request: ForwardedRequest,
    },
    /// Leader: a learner's touch table (its PING reply).
    Touch(Vec<SessionTouch>),
    /// Leader: learner `from` asks whether a session may (re)connect there.
    Revalidate {
        from: Sid,
        session_id: i64,
        timeout_ms: i32,
    },
    /// Learner: the next committed txn (COMMIT of a PROPOSAL, or INFORM),
    /// in zxid order.
    Committed(TxnPacket),
    /// Learner: the leader's answer to [`QuorumOutput::Revalidate`].
    Revalidated { session_id: i64, valid: bool },
    /// Learner: SYNC arrived; the oldest forwarded `sync` is through
    /// (Apache's `pendingSyncs` is a FIFO, and SYNC names no session).
    SyncDone,
}

/// Asked of the Zab layer, in order with the other outputs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum QuorumOutput {
    /// Learner: send this request to the leader (REQUEST).
    Forward(ForwardedRequest),
    /// Learner: ask the leader whether a session may reconnect here
    /// (REVALIDATE); answered by [`QuorumInput::Revalidated`].
    Revalidate { session_id: i64, timeout_ms: i32 },
    /// Leader: the answer to learner `learner`'s REVALIDATE.
    Revalidated {
        learner: Sid,
        session_id: i64,
        valid: bool,
    },
    /// Leader: learner `learner` forwarded a `sync`: send it SYNC once every
    /// txn handed out before this output is committed (`Leader.processSync`).
    SyncBarrier {
        learner: Sid,
        session_id: i64,
        cxid: i32,
    },
}
