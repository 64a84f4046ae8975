//! A member's disk: the txn log thread, the epoch files, and the whole-
//! history operations a [`Peer`](crate::quorum::peer::Peer) asks for
//! (reload, TRUNC, installing a SNAP from the leader).
//!
//! Invariants:
//! - The log thread is the only writer of log files while it runs. Every
//!   whole-history operation first stops it (its queue drained, its thread
//!   joined) and waits for any snapshot thread, then works on the files,
//!   then starts a fresh log thread (which opens a new file at the next
//!   zxid, as ZooKeeper's `FileTxnLog` does after a restart).
//! - A history read back here is what a restart would read: the newest
//!   valid snapshot and the logged txns after it, a torn tail cut off.
//! - Every blocking file operation runs on the blocking pool, never on a
//!   runtime worker.

use crate::core::txn::Txn;
use crate::quorum::peer::{Loaded, Snapshot};
use crate::quorum::types::TxnPacket;
use crate::runner::LogState;
use crate::storage::{self, epoch_file, snapshot, LogConfig};
use std::path::PathBuf;
use std::sync::Arc;
use tokio::sync::{mpsc, watch};

/// The running log thread.
struct RunningLog {
    tx: mpsc::Sender<Arc<Txn>>,
    state: watch::Receiver<LogState>,
    join: std::thread::JoinHandle<()>,
}

/// The member's data directories and its log thread.
pub struct NodeDisk {
    pub snap_dir: PathBuf,
    pub log_dir: PathBuf,
    log_config: LogConfig,
    extended_types_enabled: bool,
    log: Option<RunningLog>,
}

/// A storage failure: fatal for the member (see `runner::fatal`).
pub type DiskResult<T> = Result<T, String>;

impl NodeDisk {
    pub fn new(
        snap_dir: PathBuf,
        log_dir: PathBuf,
        log_config: LogConfig,
        extended_types_enabled: bool,
    ) -> NodeDisk {
        NodeDisk {
            snap_dir,
            log_dir,
            log_config,
            extended_types_enabled,
            log: None,
        }
    }

    /// Starts the log thread (it must not be running).
    pub fn start_log(&mut self) -> DiskResult<()> {
        debug_assert!(self.log.is_none());
        let (state_tx, state) = watch::channel(LogState::default());
        let handle = storage::spawn_log_thread(self.log_config.clone(), move |event| match event {
            storage::LogEvent::Persisted { zxid } => {
                state_tx.send_modify(|s| s.persisted_zxid = zxid);
            }
            storage::LogEvent::Failed { why } => state_tx.send_modify(|s| s.failed = Some(why)),
            storage::LogEvent::Rolled { .. } => state_tx.send_modify(|s| s.snapshots_due += 1),
        })
        .map_err(|e| format!("cannot start the txn log thread: {e}"))?;
        self.log = Some(RunningLog {
            tx: handle.tx,
            state,
            join: handle.join,
        });
        Ok(())
    }

    /// Stops the log thread once everything queued is written.
    pub async fn stop_log(&mut self) -> DiskResult<()> {
        let Some(log) = self.log.take() else {
            return Ok(());
        };
        drop(log.tx);
        tokio::task::spawn_blocking(move || log.join.join())
            .await
            .map_err(|e| format!("joining the txn log thread: {e}"))?
            .map_err(|_| "the txn log thread panicked".to_string())?;
        Ok(())
    }

    /// Appends `txn` (waits while the log's queue is full).
    pub async fn append(&self, txn: Txn) -> DiskResult<()> {
        let Some(log) = self.log.as_ref() else {
            return Err("txn appended while the log is stopped".into());
        };
        log.tx
            .send(Arc::new(txn))
            .await
            .map_err(|_| "the txn log thread stopped".to_string())
    }

    /// Resolves when the log reports progress; `None` if it has no log.
    pub async fn log_changed(&mut self) -> DiskResult<LogState> {
        match self.log.as_mut() {
            Some(log) => {
                if log.state.changed().await.is_err() {
                    return Err("the txn log thread stopped".into());
                }
                let st = log.state.borrow().clone();
                match st.failed {
                    Some(why) => Err(format!("the txn log failed: {why}")),
                    None => Ok(st),
                }
            }
            None => std::future::pending().await,
        }
    }

    /// Writes an epoch file durably.
    pub async fn write_epoch(&self, name: &'static str, value: i64) -> DiskResult<()> {
        let dir = self.snap_dir.clone();
        tokio::task::spawn_blocking(move || epoch_file::write_epoch(&dir, name, value))
            .await
            .map_err(|e| e.to_string())?
            .map(|_| ())
            .map_err(|e| format!("writing {name}: {e}"))
    }

    /// Reads both epoch files (0 when absent, as a new member).
    pub fn read_epochs(&self) -> DiskResult<(i64, i64)> {
        let read = |name| {
            epoch_file::read_epoch(&self.snap_dir, name)
                .map(|v| v.unwrap_or(0))
                .map_err(|e| e.to_string())
        };
        Ok((
            read(epoch_file::ACCEPTED_EPOCH)?,
            read(epoch_file::CURRENT_EPOCH)?,
        ))
    }

    /// Reads the durable history back (the log must be stopped).
    pub async fn load(&self) -> DiskResult<Loaded> {
        let (snap_dir, log_dir) = (self.snap_dir.clone(), self.log_dir.clone());
        let ext = self.extended_types_enabled;
        tokio::task::spawn_blocking(move || load_history(&snap_dir, &log_dir, ext))
            .await
            .map_err(|e| e.to_string())?
    }

    /// TRUNC: drops every logged txn after `zxid` (the log must be stopped).
    pub async fn truncate(&self, zxid: i64) -> DiskResult<()> {
        let (snap_dir, log_dir) = (self.snap_dir.clone(), self.log_dir.clone());
        tokio::task::spawn_blocking(move || {
            let t = storage::log_stream::truncate_log(&log_dir, &snap_dir, zxid)
                .map_err(|e| format!("truncating the log to 0x{zxid:x}: {e}"))?;
            tracing::info!(
                "truncated the txn log to 0x{zxid:x} ({} log files and {} snapshots removed)",
                t.removed_logs.len(),
                t.removed_snapshots.len()
            );
            Ok(())
        })
        .await
        .map_err(|e| e.to_string())?
    }

    /// Makes a SNAP from the leader the node's history: nothing logged after
    /// its zxid survives, and a snapshot file at its zxid holds it (the log
    /// must be stopped). Returns the snapshot to hand to the member.
    pub async fn install_snap(&self, zxid: i64, snap: Snapshot) -> DiskResult<Snapshot> {
        let (snap_dir, log_dir) = (self.snap_dir.clone(), self.log_dir.clone());
        tokio::task::spawn_blocking(move || {
            // Truncate first: a crash in between leaves an older history,
            // never a mix of the two. A new member has no log yet: then only
            // snapshots beyond the SNAP (none, normally) must go.
            let logs = storage::txn_log::log_files(&log_dir)
                .map_err(|e| format!("listing {}: {e}", log_dir.display()))?;
            if logs.is_empty() {
                let removed = storage::log_stream::remove_snapshots_after(&snap_dir, zxid)
                    .map_err(|e| format!("{}: {e}", snap_dir.display()))?;
                for path in removed {
                    tracing::info!("removed {} (beyond the SNAP)", path.display());
                }
            } else {
                storage::log_stream::truncate_log(&log_dir, &snap_dir, zxid)
                    .map_err(|e| format!("truncating the log for SNAP 0x{zxid:x}: {e}"))?;
            }
            let path = snapshot::write_snapshot(&snap_dir, zxid, &snap.tree, &snap.sessions)
                .map_err(|e| format!("writing the SNAP 0x{zxid:x} snapshot: {e}"))?;
            tracing::info!(
                "snapshot from the leader saved: {} ({} znodes, {} sessions)",
                path.display(),
                snap.tree.node_count(),
                snap.sessions.len()
            );
            Ok(snap)
        })
        .await
        .map_err(|e| e.to_string())?
    }
}

/// The durable history (`storage::history`) as a member takes it.
fn load_history(
    snap_dir: &std::path::Path,
    log_dir: &std::path::Path,
    extended_types_enabled: bool,
) -> DiskResult<Loaded> {
    let h = storage::history::read_history(snap_dir, log_dir, extended_types_enabled)
        .map_err(|e| format!("reading the history in {}: {e}", snap_dir.display()))?;
    let after = h.snapshot.as_ref().map_or(0, |s| s.zxid);
    tracing::info!(
        "history loaded: snapshot 0x{after:x}, {} txns after it",
        h.txns.len()
    );
    Ok(Loaded {
        snapshot: h.snapshot.map(|s| Snapshot {
            tree: s.tree,
            sessions: s.sessions,
        }),
        txns: h
            .txns
            .into_iter()
            .map(|(txn, digest)| TxnPacket { txn, digest })
            .collect(),
    })
}
