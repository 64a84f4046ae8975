//! Reading a data directory back, as ZooKeeper's `FileTxnSnapLog.restore`
//! does: the newest valid snapshot (falling back past incomplete or corrupt
//! ones) and the txns logged after it. Start-up (standalone and ensemble)
//! and an ensemble member's reloads all read through here.
//!
//! Side effects, each logged: temporary files a stopped snapshot left are
//! removed, and a torn last txn (a write cut short by a crash, never
//! acknowledged) is cut off, as ZooKeeper ignores a partial last txn.
//! Corruption anywhere else is an error.

use super::log_stream::LogStream;
use super::snapshot::{self, SnapshotData};
use super::txn_log::{self, StorageError};
use crate::core::txn::Txn;
use jute::txn::TxnDigest;
use std::path::Path;
use std::time::{Duration, Instant};

/// What a data directory holds.
#[derive(Debug)]
pub struct History {
    /// The newest valid snapshot; a digest it stores is already expected
    /// by its tree (checked when the tree reaches that zxid).
    pub snapshot: Option<SnapshotData>,
    /// The txns logged after the snapshot, in zxid order, each with the
    /// `TxnDigest` ZooKeeper 3.6+ appends, if present.
    pub txns: Vec<(Txn, Option<TxnDigest>)>,
    /// Time spent reading the snapshot, and then the log.
    pub snapshot_load: Duration,
    pub txn_load: Duration,
}

/// Reads `snap_dir` and `log_dir` (the version-2 directories).
pub fn read_history(
    snap_dir: &Path,
    log_dir: &Path,
    extended_types_enabled: bool,
) -> Result<History, StorageError> {
    let started = Instant::now();
    for stale in snapshot::remove_stale_temp_files(snap_dir)? {
        tracing::info!(
            "removed {}, left by a snapshot a stop interrupted",
            stale.display()
        );
    }
    let mut snap = snapshot::read_latest_valid(snap_dir, extended_types_enabled)?;
    let mut after = 0;
    if let Some(s) = snap.as_mut() {
        tracing::info!(
            "loaded snapshot 0x{:x} ({} znodes, {} sessions)",
            s.zxid,
            s.tree.node_count(),
            s.sessions.len()
        );
        after = s.zxid;
        if let Some(stored) = s.digest {
            s.tree.digest_mut().expect(stored, s.zxid);
        }
    }
    let snapshot_load = started.elapsed();
    let started = Instant::now();
    let mut stream = LogStream::open(log_dir, after)?;
    let mut txns = Vec::new();
    for entry in stream.by_ref() {
        let entry = entry?;
        txns.push((entry.txn, entry.digest));
    }
    if let Some((file, offset)) = stream.torn_tail().cloned() {
        tracing::warn!(
            "{}: partial txn at offset {offset} (a write cut short by a crash); truncating it",
            file.display()
        );
        txn_log::truncate_torn_tail(&file, offset)?;
    }
    Ok(History {
        snapshot: snap,
        txns,
        snapshot_load,
        txn_load: started.elapsed(),
    })
}
