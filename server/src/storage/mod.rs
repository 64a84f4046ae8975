//! Durable storage: the txn log (ZooKeeper 3.8 `FileTxnLog` format, byte for
//! byte) and the thread that group-commits it.
//!
//! - [`txn_log`]: the file format — [`txn_log::TxnLogWriter`] appends and
//!   commits, [`txn_log::read_logs`] replays a `version-2` directory,
//!   [`txn_log::truncate_torn_tail`] cleans up after a crash.
//! - [`log_thread`]: a std thread that owns the writer, so the async runtime
//!   never blocks on disk; one fdatasync per batch of queued txns.

pub mod log_thread;
pub mod txn_log;

pub use log_thread::{spawn_log_thread, LogConfig, LogEvent, LogHandle};
