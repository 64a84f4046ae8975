//! The pure core: data tree, sessions, watches, ACLs, and the request
//! processor that turns client frames into replies.
//!
//! Invariants:
//! - Nothing in here performs I/O, reads a clock, or draws randomness: time
//!   arrives as `now_ms` with every input, so the same inputs give the same
//!   outputs (this is what lets a simulation drive it).
//! - One owner (the runner task) calls [`Server::handle`]; there is no locking.
//! - For each connection, outputs are produced in the order the client must
//!   see them: a watch event is always emitted before any reply that reveals
//!   the change that triggered it.
//! - A write is applied and answered only after [`Input::Persisted`] covers
//!   its zxid: nothing a client sees was not durable first.

pub mod acl;
pub mod child_set;
pub mod data_tree;
pub mod digest;
pub mod ephemeral;
pub mod java;
pub mod node;
pub mod node_store;
pub mod path;
pub mod prep;
pub mod quorum_io;
pub mod quota;
pub mod server;
pub mod sessions;
pub mod stats;
pub mod txn;
pub mod watches;

pub use quorum_io::{QuorumInput, QuorumOutput};
pub use server::{AdminView, QuorumFigures, Role, Server};
pub use stats::{ConnInfo, ServerStats};

use bytes::Bytes;
use std::net::IpAddr;

/// Identifies one client connection for its lifetime (never reused).
pub type ConnId = u64;

/// What the core is told.
#[derive(Debug, Clone)]
pub enum Input {
    /// A client connection was accepted from `peer`.
    Open { conn: ConnId, peer: IpAddr },
    /// One complete frame (length prefix removed) arrived on `conn`.
    Frame { conn: ConnId, frame: Bytes },
    /// The connection's socket is gone (client closed it, or an I/O error).
    Closed { conn: ConnId },
    /// The connection layer authenticated `conn` (a verified TLS client
    /// certificate: `acl::x509_ids`); the ids join its auth info
    /// (ZooKeeper's `ServerCnxn.addAuthInfo`). Sent before any frame.
    AddAuthInfo {
        conn: ConnId,
        ids: Vec<jute::data::Id>,
    },
    /// Time passed; sessions may expire and container/TTL nodes may be reaped.
    Tick,
    /// Every txn up to `zxid` handed out in [`Output::Persist`] is durable:
    /// apply them, in zxid order, and answer their requests.
    Persisted { zxid: i64 },
    /// From the Zab layer, when serving in an ensemble.
    Quorum(QuorumInput),
}

/// What the core asks the I/O layer to do, in order.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Output {
    /// Send one frame (already length-prefixed) on `conn`.
    Send { conn: ConnId, frame: Bytes },
    /// Flush what was sent, then close `conn`. `reason` is for the log.
    Close { conn: ConnId, reason: String },
    /// Make this txn durable (append it to the txn log), then report
    /// [`Input::Persisted`]. Txns arrive in zxid order. Shared with the
    /// core, which keeps it to apply once durable: no copy per write.
    Persist { txn: std::sync::Arc<txn::Txn> },
    /// For the Zab layer, when serving in an ensemble (never standalone).
    Quorum(QuorumOutput),
}

/// The settings the core needs, derived from `zoo.cfg` by `config`.
#[derive(Debug, Clone)]
pub struct CoreConfig {
    pub tick_time_ms: i32,
    pub session_timeout_ms_min: i32,
    pub session_timeout_ms_max: i32,
    /// This server's id (top byte of session ids); 0 standalone.
    pub server_id: i64,
    pub skip_acl: bool,
    pub extended_types_enabled: bool,
    pub reconfig_enabled: bool,
    pub container_check_interval_ms: i64,
    pub container_max_per_minute: i64,
    pub container_max_never_used_interval_ms: i64,
    /// `DigestAuthenticationProvider.superDigest`: `super:<base64 sha1>`.
    pub super_digest: Option<String>,
    pub jute_max_buffer_bytes: usize,
    /// Outstanding requests allowed per connection before reading pauses.
    pub outstanding_requests_max: usize,
    /// `enforceQuota`: hard quota limits answer QuotaExceeded.
    pub enforce_quota: bool,
}

impl Default for CoreConfig {
    fn default() -> Self {
        CoreConfig {
            tick_time_ms: 2000,
            session_timeout_ms_min: 4000,
            session_timeout_ms_max: 40000,
            server_id: 0,
            skip_acl: false,
            extended_types_enabled: true,
            reconfig_enabled: false,
            container_check_interval_ms: 60_000,
            container_max_per_minute: 10_000,
            // 3.8.0 ships with never-used containers kept forever (0).
            container_max_never_used_interval_ms: 0,
            super_digest: None,
            jute_max_buffer_bytes: jute::DEFAULT_MAX_BUFFER,
            outstanding_requests_max: 1000,
            enforce_quota: false,
        }
    }
}
