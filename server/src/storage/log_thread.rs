//! The log thread: owns the [`TxnLogWriter`] so the async runtime never
//! blocks on disk, and group-commits — every txn already queued when it wakes
//! goes into one write and one fdatasync (ZooKeeper's `SyncRequestProcessor`
//! batches the same way).

use super::txn_log::{TxnLogWriter, DEFAULT_PREALLOC_BYTES};
use crate::core::txn::Txn;
use std::path::PathBuf;
use std::time::Duration;
use tokio::sync::mpsc;

/// Capacity of the queue into the log thread. A full queue makes senders
/// wait (back-pressure on the runner), never grows memory.
pub const LOG_QUEUE_CAPACITY: usize = 4096;
/// ZooKeeper's default `fsync.warningthresholdms`.
pub const DEFAULT_FSYNC_WARNING_THRESHOLD_MS: u64 = 1000;
/// ZooKeeper's default `zookeeper.maxBatchSize` (txns per flush).
pub const DEFAULT_BATCH_MAX_TXNS: usize = 1000;
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
}

/// The sending side of the log thread's queue. The thread exits once every
/// sender is dropped (after committing what it received).
#[derive(Debug, Clone)]
pub struct LogHandle {
    pub tx: mpsc::Sender<Txn>,
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
    std::fs::create_dir_all(&config.dir)?;
    let (tx, rx) = mpsc::channel(LOG_QUEUE_CAPACITY);
    std::thread::Builder::new()
        .name(LOG_THREAD_NAME.to_string())
        .spawn(move || run(config, rx, on_event))?;
    Ok(LogHandle { tx })
}

fn run(config: LogConfig, mut rx: mpsc::Receiver<Txn>, mut on_event: impl FnMut(LogEvent)) {
    let batch_max = config.batch_max_txns.max(1);
    let threshold = Duration::from_millis(config.fsync_warning_threshold_ms);
    let mut writer: Option<TxnLogWriter> = None;
    let mut batch: Vec<Txn> = Vec::with_capacity(batch_max.min(LOG_QUEUE_CAPACITY));
    while let Some(first) = rx.blocking_recv() {
        batch.clear();
        batch.push(first);
        while batch.len() < batch_max {
            match rx.try_recv() {
                Ok(txn) => batch.push(txn),
                Err(_) => break,
            }
        }
        match write_batch(&config, &mut writer, &batch) {
            Ok(fsync) => {
                if let Some(took) = fsync.filter(|t| *t > threshold) {
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
                on_event(LogEvent::Persisted { zxid });
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
    config: &LogConfig,
    writer: &mut Option<TxnLogWriter>,
    batch: &[Txn],
) -> std::io::Result<Option<Duration>> {
    let w = match writer {
        Some(w) => w,
        None => writer.insert(TxnLogWriter::create(
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
