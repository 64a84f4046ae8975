//! The ensemble's wire formats: bytes ↔ the types in [`super::types`],
//! exactly as Apache ZooKeeper 3.8.0 writes and reads them.
//!
//! - [`notification`]: FastLeaderElection notifications (the payload of one
//!   `int length + payload` message on the election port).
//! - [`packet`]: `QuorumPacket`s on the quorum port, typed as
//!   [`ZabMessage`](super::types::ZabMessage), and the streaming decoder
//!   (packets follow each other as raw jute records, no length prefix).
//! - [`snap_stream`]: what a leader writes on the quorum stream right after
//!   a SNAP packet (sessions + tree, then the string "BenWasHere"), and the
//!   learner's incremental reader of it.
//!
//! Invariants: no I/O, no clock. Every length read from the wire is checked
//! against a named bound and against the bytes present before anything is
//! allocated; bad bytes are a [`WireError`], never a panic. Where ZooKeeper
//! writes a null (`-1` length) we write a null, so our packets are
//! byte-identical to its own (checked against captured fixtures in
//! `tests/golden/quorum/`).

pub mod error;
pub mod notification;
pub mod packet;
mod reader;
pub mod snap_stream;

pub use error::WireError;
