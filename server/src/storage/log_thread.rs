//! The log thread: owns the [`TxnLogWriter`] so the async runtime never
//! blocks on disk, and group-commits — every txn already queued when it wakes
//! goes into one write and one fdatasync (ZooKeeper's `SyncRequestProcessor`
//! batches the same way).

use super::txn_log::{LogDisk, RealDisk, TxnLogWriter, DEFAULT_PREALLOC_BYTES};
use crate::core::txn::Txn;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Capacity of the queue into the log thread. A full queue makes senders
/// wait (back-pressure on the runner), never grows memory.
pub const LOG_QUEUE_CAPACITY: usize = 4096;
/// ZooKeeper's default `fsync.warningthresholdms`.
pub const DEFAULT_FSYNC_WARNING_THRESHOLD_MS: u64 = 1000;
/// ZooKeeper's default `zookeeper.maxBatchSize` (txns per flush).
pub const DEFAULT_BATCH_MAX_TXNS: usize = 1000;
/// ZooKeeper's default `snapCount`.
pub const DEFAULT_SNAP_COUNT: u64 = 100_000;
/// ZooKeeper's default `snapSizeLimitInKb` (4 GB), in bytes.
pub const DEFAULT_SNAP_SIZE_LIMIT_BYTES: u64 = 4_194_304 * 1024;
/// The log thread's name, as it appears in logs.
pub const LOG_THREAD_NAME: &str = "SyncThread";

/// How the log thread writes.
#[derive(Debug, Clone)]
pub struct LogConfig {
    /// The version-2 directory.
    pub dir: PathBuf,
    /// fdatasync every batch (`forceSync`, default yes).
    pub force_sync: bool,
    /// Preallocation block in bytes (`preAllocSize`); 0 disables it.
    pub prealloc_bytes: u64,
    /// Warn when one fsync takes longer than this.
    pub fsync_warning_threshold_ms: u64,
    /// The most txns written per commit.
    pub batch_max_txns: usize,
    /// `snapCount`: the log rolls (and asks for a snapshot) after more than
    /// `snap_count / 2 + r` txns, `r` uniform in `[0, snap_count / 2)`.
    pub snap_count: u64,
    /// `snapSizeLimitInKb` in bytes: the same rule by bytes written to the
    /// current file; 0 disables it.
    pub snap_size_limit_bytes: u64,
    /// Seed of the randomized thresholds (`None`: from the clock).
    pub roll_seed: Option<u64>,
}

impl LogConfig {
    /// ZooKeeper's defaults for `dir`.
    pub fn new(dir: PathBuf) -> LogConfig {
        LogConfig {
            dir,
            force_sync: true,
            prealloc_bytes: DEFAULT_PREALLOC_BYTES,
            fsync_warning_threshold_ms: DEFAULT_FSYNC_WARNING_THRESHOLD_MS,
            batch_max_txns: DEFAULT_BATCH_MAX_TXNS,
            snap_count: DEFAULT_SNAP_COUNT,
            snap_size_limit_bytes: DEFAULT_SNAP_SIZE_LIMIT_BYTES,
            roll_seed: None,
        }
    }
}

/// What the log thread reports.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogEvent {
    /// Every txn up to and including `zxid` is durable (with `force_sync`).
    Persisted { zxid: i64 },
    /// Writing failed; the thread has stopped and persists nothing more.
    Failed { why: String },
    /// The log rolled after `zxid` (the next txn opens a new file): a
    /// snapshot is due. Comes after the `Persisted` of the same batch.
    Rolled { zxid: i64 },
}

/// ZooKeeper's `SyncRequestProcessor.shouldSnapshot`: randomized thresholds
/// so that the members of an ensemble do not all snapshot at once.
struct RollRule {
    snap_count: u64,
    size_limit: u64,
    rand_roll: u64,
    rand_size: u64,
    rng: crate::core::java::JavaRandom,
}

impl RollRule {
    fn new(config: &LogConfig) -> RollRule {
        let seed = config.roll_seed.unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .map_or(0, |d| d.as_nanos() as u64)
        });
        let mut rule = RollRule {
            snap_count: config.snap_count.max(2),
            size_limit: config.snap_size_limit_bytes,
            rand_roll: 0,
            rand_size: 0,
            rng: crate::core::java::JavaRandom::new(seed as i64),
        };
        rule.reset();
        rule
    }

    fn below(&mut self, bound: u64) -> u64 {
        if bound == 0 {
            0
        } else {
            u64::from(self.rng.next_int() as u32) % bound
        }
    }

    /// Draws new thresholds (after each roll).
    fn reset(&mut self) {
        self.rand_roll = self.below(self.snap_count / 2);
        self.rand_size = self.below(self.size_limit / 2);
    }

    fn due(&self, txns: u64, bytes: u64) -> bool {
        txns > self.snap_count / 2 + self.rand_roll
            || (self.size_limit > 0 && bytes > self.size_limit / 2 + self.rand_size)
    }
}

/// The sending side of the log thread's queue. The thread exits once every
/// sender is dropped (after committing what it received).
#[derive(Debug)]
pub struct LogHandle {
    pub tx: mpsc::Sender<Arc<Txn>>,
    /// The thread; it ends once `tx` (every sender) is dropped and the
    /// queued txns are written.
    pub join: std::thread::JoinHandle<()>,
}

/// Spawns a std::thread that receives txns (blocking_recv), appends every
/// txn already queued (up to `batch_max_txns`), commits once (one fdatasync
/// per batch = group commit), then calls
/// `on_event(LogEvent::Persisted { zxid: last zxid of the batch })`. The
/// first txn creates the file `log.<its zxid>`. On any I/O error it calls
/// `on_event(Failed { why })` and stops. A fsync slower than
/// `fsync_warning_threshold_ms` is logged as a warning.
pub fn spawn_log_thread(
    config: LogConfig,
    on_event: impl FnMut(LogEvent) + Send + 'static,
) -> std::io::Result<LogHandle> {
    spawn_log_thread_on(Arc::new(RealDisk), config, on_event)
}

/// [`spawn_log_thread`] on another disk (the fault tests' simulated one).
pub fn spawn_log_thread_on(
    disk: Arc<dyn LogDisk>,
    config: LogConfig,
    on_event: impl FnMut(LogEvent) + Send + 'static,
) -> std::io::Result<LogHandle> {
    disk.create_dir_all(&config.dir)?;
    let (tx, rx) = mpsc::channel(LOG_QUEUE_CAPACITY);
    let join = std::thread::Builder::new()
        .name(LOG_THREAD_NAME.to_string())
        .spawn(move || run(disk, config, rx, on_event))?;
    Ok(LogHandle { tx, join })
}

fn run(
    disk: Arc<dyn LogDisk>,
    config: LogConfig,
    mut rx: mpsc::Receiver<Arc<Txn>>,
    mut on_event: impl FnMut(LogEvent),
) {
    let batch_max = config.batch_max_txns.max(1);
    let threshold = Duration::from_millis(config.fsync_warning_threshold_ms);
    let mut writer: Option<TxnLogWriter> = None;
    let mut rule = RollRule::new(&config);
    let mut txns_in_file: u64 = 0;
    let mut batch: Vec<Arc<Txn>> = Vec::with_capacity(batch_max.min(LOG_QUEUE_CAPACITY));
    while let Some(first) = rx.blocking_recv() {
        batch.clear();
        batch.push(first);
        while batch.len() < batch_max {
            match rx.try_recv() {
                Ok(txn) => batch.push(txn),
                Err(_) => break,
            }
        }
        match write_batch(&disk, &config, &mut writer, &batch) {
            Ok(fsync) => {
                let metrics = crate::metrics::server();
                metrics
                    .sync_processor_batch_size
                    .observe(batch.len() as u64);
                if let Some(took) = fsync {
                    metrics.fsynctime.observe(took.as_millis() as u64);
                }
                if let Some(took) = fsync.filter(|t| *t > threshold) {
                    metrics
                        .fsync_threshold_exceed_count
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    let size = writer.as_ref().map_or(0, TxnLogWriter::file_size);
                    tracing::warn!(
                        "fsync-ing the write ahead log in {} took {}ms which will adversely \
                         effect operation latency. File size is {size} bytes. See the \
                         ZooKeeper troubleshooting guide",
                        LOG_THREAD_NAME,
                        took.as_millis()
                    );
                }
                let zxid = batch.last().expect("non-empty batch").header.zxid;
                txns_in_file += batch.len() as u64;
                // Released before reporting: the core then holds the last
                // reference and frees each txn on its own thread.
                batch.clear();
                on_event(LogEvent::Persisted { zxid });
                let bytes = writer.as_ref().map_or(0, TxnLogWriter::written_bytes);
                if rule.due(txns_in_file, bytes) {
                    // The file keeps its preallocated zero tail; the next
                    // batch opens log.<its first zxid>.
                    writer = None;
                    txns_in_file = 0;
                    rule.reset();
                    on_event(LogEvent::Rolled { zxid });
                }
            }
            Err(e) => {
                let file = writer.as_ref().map_or_else(
                    || config.dir.display().to_string(),
                    |w| w.path().display().to_string(),
                );
                let why = format!("txn log {file}: {e}");
                tracing::error!("severe unrecoverable error writing the txn log: {why}");
                on_event(LogEvent::Failed { why });
                return;
            }
        }
    }
}

/// Appends and commits one batch; returns how long its fsync took.
fn write_batch(
    disk: &Arc<dyn LogDisk>,
    config: &LogConfig,
    writer: &mut Option<TxnLogWriter>,
    batch: &[Arc<Txn>],
) -> std::io::Result<Option<Duration>> {
    let w = match writer {
        Some(w) => w,
        None => writer.insert(TxnLogWriter::create_on(
            disk.clone(),
            &config.dir,
            batch[0].header.zxid,
            config.prealloc_bytes,
        )?),
    };
    for txn in batch {
        w.append(txn)?;
    }
    w.commit(config.force_sync)?;
    Ok(w.last_fsync_duration())
}
