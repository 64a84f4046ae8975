//! Durable storage: the txn log (ZooKeeper 3.8 `FileTxnLog` format, byte for
//! byte), the thread that group-commits it, and snapshots (`FileSnap` format).
//!
//! - [`txn_log`]: the file format — [`txn_log::TxnLogWriter`] appends and
//!   commits, [`txn_log::read_logs`] replays a `version-2` directory,
//!   [`txn_log::truncate_torn_tail`] cleans up after a crash.
//! - [`log_thread`]: a std thread that owns the writer, so the async runtime
//!   never blocks on disk; one fdatasync per batch of queued txns.
//! - [`sim_disk`]: an in-memory disk with faults on cue, for the fault tests.
//! - [`snapshot`]: snapshots in ZooKeeper 3.8's `FileSnap` format —
//!   [`snapshot::write_snapshot`] (atomic), [`snapshot::read_latest_valid`]
//!   (falls back past corrupt ones).
//! - [`log_stream`]: the txns between two zxids across log files, one at a
//!   time (DIFF from the log; `read_logs` collects it), and
//!   [`log_stream::truncate_log`] for TRUNC.
//! - [`epoch_file`]: `acceptedEpoch` / `currentEpoch`, for quorum members.
//! - [`fuzzy_snapshot`]: snapshots taken while writes go on, a few nodes per
//!   step of the runner, written by their own thread.

pub mod epoch_file;
pub mod fuzzy_snapshot;
pub mod history;
pub mod log_stream;
pub mod log_thread;
pub mod sim_disk;
pub mod snapshot;
pub mod txn_log;

pub use log_thread::{spawn_log_thread, spawn_log_thread_on, LogConfig, LogEvent, LogHandle};
