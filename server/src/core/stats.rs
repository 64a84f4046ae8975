//! Counters and gauges the four-letter words, the admin API and metrics read.

/// A snapshot of server-wide figures, taken by [`Server::stats`](super::Server::stats).
#[derive(Debug, Clone, Default)]
pub struct ServerStats {
    pub znode_count: u64,
    pub watch_count: u64,
    /// Distinct paths with at least one watch.
    pub watched_paths: u64,
    pub ephemerals_count: u64,
    /// Sum of path lengths and data lengths, as ZooKeeper's `approximateDataSize`.
    pub approximate_data_size: u64,
    pub session_count: u64,
    pub last_zxid: i64,
    pub packets_received: u64,
    pub packets_sent: u64,
    pub outstanding_requests: u64,
    pub min_latency_ms: u64,
    pub max_latency_ms: u64,
    pub avg_latency_ms: f64,
    pub connections: Vec<ConnInfo>,
    /// Snapshot digests that did not match the loaded tree (`zk_digest_mismatches_count`).
    pub digest_mismatches: u64,
    /// Standalone, leader, follower or observer (`Mode:`, `zk_server_state`).
    pub role: super::Role,
    /// What the Zab layer reported, for a quorum member's mntr.
    pub quorum: super::QuorumFigures,
    /// A quorum member that is electing or syncing: the state words answer
    /// Apache's "not currently serving requests".
    pub not_serving: bool,
}

/// One client connection as `cons` prints it.
#[derive(Debug, Clone, Default)]
pub struct ConnInfo {
    pub peer: String,
    pub session_id: i64,
    pub timeout_ms: i32,
    pub packets_received: u64,
    pub packets_sent: u64,
    pub last_zxid: i64,
    pub outstanding_requests: u64,
}
