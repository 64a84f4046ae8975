//! The ensemble: ZooKeeper's own peer protocols, so that our nodes and
//! Apache ZooKeeper 3.8 nodes can serve in one ensemble.
//!
//! Layers (each pure unless it says otherwise; see ARCHITECTURE.md):
//! - [`types`]: the vocabulary every layer shares (sids, votes,
//!   notifications, typed Zab messages).
//! - `wire`: bytes ↔ types, exactly as Apache ZooKeeper writes them
//!   (FastLeaderElection notifications, `QuorumPacket` payloads, the SNAP
//!   stream). No I/O.
//! - `verifier`: who votes and what a quorum is (`QuorumMaj`).
//! - `election`: FastLeaderElection as a state machine (inputs in, outputs
//!   out, time passed in).
//! - `zab`: discovery, synchronisation and broadcast as state machines.
//! - `peer`: one member — election, Zab role and request processor glued
//!   together, pure (what the runtime and the ensemble simulation drive).
//! - `cnx_manager`: the election port's connections (QuorumCnxManager),
//!   tokio; the only part of the election that does I/O.
//! - `runtime`: sockets, threads and files around a `peer` — what
//!   `zkserver` runs for an ensemble member.

pub mod cnx_manager;
pub mod election;
pub mod peer;
pub mod runtime;
pub mod types;
pub mod verifier;
pub mod wire;
pub mod zab;
