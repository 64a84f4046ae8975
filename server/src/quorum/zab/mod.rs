//! Zab — discovery, synchronisation and broadcast — as pure state machines,
//! speaking Apache ZooKeeper 3.8's peer protocol (typed [`ZabMessage`]s;
//! `wire` maps them to `QuorumPacket`s).
//!
//! # Contract
//!
//! One [`Leader`] per established epoch and one [`Learner`] (follower or
//! observer) per connection to a leader. Each has
//! `handle(now_ms, Input, &mut Vec<Output>)`: time comes in with the input;
//! no I/O, no clock, no randomness. A role ends with [`Output::Abandon`]
//! (back to LOOKING); after that it ignores every input, and the runtime
//! drops it and runs the election again.
//!
//! The runtime executes outputs **in order**, each completed before the
//! next: an epoch write is durable before a later `Send` leaves; after
//! `Commit { zxid }` the request processor has applied every txn up to zxid
//! before the next output runs (so a later `SendSnap` sends exactly the tree
//! as of the last commit); `Persist` only *starts* an append and its
//! completion comes back as `Input::Persisted`.
//!
//! Preconditions on the runtime when it builds a role: the local log is
//! durable (pending appends drained) and fully applied to the tree, as
//! Apache's `loadDataBase` replays the whole log; the role is told the last
//! zxid of that log and, for a leader, the last `commit_log_count` txns of it
//! (`committed_log`, Apache's `ZKDatabase.committedLog`). When a learner is
//! handed `Received(Snap)`, the runtime has already loaded the snapshot that
//! followed the SNAP packet, replaced its tree and log with it and made it
//! durable (Apache writes it with `takeSnapshot(true)` before ACKing
//! NEWLEADER).
//!
//! # Invariants
//!
//! - Leader: acceptedEpoch is written before any LEADERINFO; currentEpoch
//!   before any NEWLEADER; proposals are committed strictly in zxid order
//!   and only once a quorum (the leader's own `Persisted` counting for
//!   itself) has ACKed; observers never count, and get INFORM at commit.
//! - Learner: acceptedEpoch is written before ACKEPOCH; currentEpoch is
//!   written, and the NEWLEADER ACK leaves, only once every txn the sync
//!   brought is durable (stricter than 3.8.0, see ARCHITECTURE); a txn is
//!   delivered only after its COMMIT (or INFORM), in zxid order.
//! - A sync REQUEST is answered only after every proposal made before the
//!   request processor reached it is committed.

mod committed_log;
mod config;
mod io;
mod leader;
mod learner;
mod learner_handler;
mod quorum_check;
mod sync_plan;

pub use committed_log::CommittedLog;
pub use config::ZabConfig;
pub use io::{Input, Output};
pub use leader::{Leader, LeaderInit, LeaderPhase};
pub use learner::{Learner, LearnerInit, LearnerPhase};
pub use learner_handler::HandlerPhase;
pub use quorum_check::{Majority, QuorumCheck};
pub use sync_plan::{sync_plan, SyncPlan};

#[cfg(test)]
mod tests;
