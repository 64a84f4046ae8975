//! Server metrics: ZooKeeper 3.8.0's names (`ServerMetrics`), measured here
//! for real where our design has the same stage, exported to Prometheus on
//! `metricsProvider.httpPort` (`/metrics`) and read by `monitor`/`mntr`.
//!
//! What is measured: `readlatency`/`updatelatency` (request read to reply
//! written, per connection: [`RequestTimer`]); `fsynctime` and
//! `sync_processor_batch_size` (the group-commit thread); `snapshottime`;
//! `dbinittime`, `startup_snap_load_time`, `startup_txns_load_time` and
//! `startup_txns_loaded` (start-up); `bytes_received_count`,
//! `response_bytes`, `connection_request_count` and the client response
//! sizes. Gauges are sampled from the runner at scrape time. Every other
//! ZooKeeper name is exported at zero: its stage does not exist standalone or
//! in our design.
//!
//! Invariants:
//! - One process, one server: the registry is a process-wide static, like
//!   ZooKeeper's `ServerMetrics` singleton; recording is lock-free (atomics),
//!   so the runner, connection tasks and storage threads never wait on it.
//! - Memory is fixed at start (see [`summary`] for the histogram bound).
//! - No metric family is written twice in one exposition.

pub mod catalog;
pub mod exposition;
pub mod http;
pub mod request_timer;
pub mod summary;

pub use request_timer::RequestTimer;
pub use summary::Summary;

use std::sync::atomic::{AtomicI64, AtomicU64, Ordering::Relaxed};
use std::sync::LazyLock;

/// The process's metrics.
#[derive(Debug)]
pub struct ServerMetrics {
    pub readlatency: Summary,
    pub updatelatency: Summary,
    pub fsynctime: Summary,
    pub sync_processor_batch_size: Summary,
    pub snapshottime: Summary,
    pub dbinittime: Summary,
    pub startup_snap_load_time: Summary,
    pub startup_txns_load_time: Summary,
    pub startup_txns_loaded: Summary,
    pub bytes_received_count: AtomicU64,
    pub response_bytes: AtomicU64,
    pub connection_request_count: AtomicU64,
    /// fsyncs slower than `fsync.warningthresholdms` (`server_stats`).
    pub fsync_threshold_exceed_count: AtomicU64,
    /// Sizes of replies sent, header included, length prefix excluded;
    /// -1 until the first.
    pub last_client_response_size: AtomicI64,
    pub min_client_response_size: AtomicI64,
    pub max_client_response_size: AtomicI64,
    /// The newest snapshot written: zxid and Unix seconds; zxid -1 = none.
    pub last_snapshot_zxid: AtomicI64,
    pub last_snapshot_secs: AtomicI64,
}

static METRICS: LazyLock<ServerMetrics> = LazyLock::new(|| ServerMetrics {
    readlatency: Summary::default(),
    updatelatency: Summary::default(),
    fsynctime: Summary::default(),
    sync_processor_batch_size: Summary::default(),
    snapshottime: Summary::default(),
    dbinittime: Summary::default(),
    startup_snap_load_time: Summary::default(),
    startup_txns_load_time: Summary::default(),
    startup_txns_loaded: Summary::default(),
    bytes_received_count: AtomicU64::new(0),
    response_bytes: AtomicU64::new(0),
    connection_request_count: AtomicU64::new(0),
    fsync_threshold_exceed_count: AtomicU64::new(0),
    last_client_response_size: AtomicI64::new(-1),
    min_client_response_size: AtomicI64::new(-1),
    max_client_response_size: AtomicI64::new(-1),
    last_snapshot_zxid: AtomicI64::new(-1),
    last_snapshot_secs: AtomicI64::new(0),
});

/// The process's metrics registry.
pub fn server() -> &'static ServerMetrics {
    &METRICS
}

impl ServerMetrics {
    /// The summary called `name`, if we measure it.
    pub fn summary(&self, name: &str) -> Option<&Summary> {
        Some(match name {
            "readlatency" => &self.readlatency,
            "updatelatency" => &self.updatelatency,
            "fsynctime" => &self.fsynctime,
            "sync_processor_batch_size" => &self.sync_processor_batch_size,
            "snapshottime" => &self.snapshottime,
            "dbinittime" => &self.dbinittime,
            "startup_snap_load_time" => &self.startup_snap_load_time,
            "startup_txns_load_time" => &self.startup_txns_load_time,
            "startup_txns_loaded" => &self.startup_txns_loaded,
            _ => return None,
        })
    }

    /// The counter called `name`; 0 for ones we do not measure.
    /// `connection_rejected` lives with the listener and is passed in.
    pub fn counter(&self, name: &str, connection_rejected: u64) -> u64 {
        match name {
            "bytes_received_count" => self.bytes_received_count.load(Relaxed),
            "response_bytes" => self.response_bytes.load(Relaxed),
            "connection_request_count" => self.connection_request_count.load(Relaxed),
            "connection_rejected" => connection_rejected,
            _ => 0,
        }
    }

    /// Records one reply of `size` bytes (header and body).
    pub fn client_response(&self, size: usize) {
        let size = size as i64;
        self.last_client_response_size.store(size, Relaxed);
        self.response_bytes.fetch_add(size as u64, Relaxed);
        let _ = self
            .min_client_response_size
            .fetch_update(Relaxed, Relaxed, |m| (m < 0 || size < m).then_some(size));
        self.max_client_response_size.fetch_max(size, Relaxed);
    }

    /// Records a snapshot file written for `zxid`.
    pub fn snapshot_written(&self, zxid: i64) {
        let secs = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs() as i64);
        self.last_snapshot_secs.store(secs, Relaxed);
        self.last_snapshot_zxid.store(zxid, Relaxed);
    }

    /// `stat_reset`/`srst`: forgets the latency figures and response sizes,
    /// as ZooKeeper's `ServerStats.reset` does.
    pub fn reset_server_stats(&self) {
        self.last_client_response_size.store(-1, Relaxed);
        self.min_client_response_size.store(-1, Relaxed);
        self.max_client_response_size.store(-1, Relaxed);
        self.fsync_threshold_exceed_count.store(0, Relaxed);
    }
}
