//! Streaming reads of a txn log directory, and its truncation for the
//! sync phase's TRUNC.
//!
//! - [`LogStream`]: the committed txns after zxid A (and up to B) across
//!   every `log.*` file, one entry in memory at a time: the leader's "DIFF
//!   from the on-disk log" and start-up replay (`txn_log::read_logs`
//!   collects it).
//! - [`truncate_log`]: keeps exactly the txns with zxid ≤ a given one
//!   (Apache's `FileTxnSnapLog.truncateLog` / `FileTxnLog.truncate`), and
//!   removes the snapshots newer than it.
//!
//! Invariants:
//! - Entries come out in file order with strictly increasing zxids; a
//!   zxid that does not increase is corruption (file and offset).
//! - A torn entry ends its file: in the last file it is reported
//!   ([`LogStream::torn_tail`]), in an earlier one it is skipped with a
//!   warning, as in ZooKeeper.
//! - `truncate_log` is crash-safe: every intermediate state on disk is a
//!   contiguous log prefix with no snapshot newer than its end, so a crash
//!   part-way leaves either the old state or a longer-than-asked prefix
//!   (the leader sends TRUNC again), never a gap nor a snapshot that holds
//!   truncated txns.

use super::snapshot;
use super::txn_log::{log_files, LogEntry, LogFileReader, ReadStep, StorageError, FILE_HEADER_LEN};
use std::fs::{File, OpenOptions};
use std::io;
use std::path::{Path, PathBuf};

/// The txns of a log directory with `after < zxid <= up_to`, read lazily.
pub struct LogStream {
    files: std::vec::IntoIter<(bool, PathBuf)>,
    current: Option<(bool, LogFileReader, usize)>,
    after: i64,
    up_to: i64,
    last_zxid: Option<i64>,
    torn_tail: Option<(PathBuf, u64)>,
    saw_at_or_before: bool,
    done: bool,
}

impl LogStream {
    /// Every txn after `after` (start-up replay).
    pub fn open(dir: &Path, after: i64) -> io::Result<LogStream> {
        LogStream::range(dir, after, i64::MAX)
    }

    /// The txns with `after < zxid <= up_to` (a DIFF). Files that can only
    /// hold txns ≤ `after` are not opened.
    pub fn range(dir: &Path, after: i64, up_to: i64) -> io::Result<LogStream> {
        let all = log_files(dir)?;
        let mut files = Vec::new();
        for (i, (_, path)) in all.iter().enumerate() {
            let is_last = i + 1 == all.len();
            // Log i holds zxids below the first zxid of log i+1.
            if !is_last && all[i + 1].0 <= after.saturating_add(1) {
                continue;
            }
            files.push((is_last, path.clone()));
        }
        Ok(LogStream {
            files: files.into_iter(),
            current: None,
            after,
            up_to,
            last_zxid: None,
            torn_tail: None,
            saw_at_or_before: false,
            done: false,
        })
    }

    /// Where the last file ends in a torn entry (file, offset), once the
    /// stream is exhausted; also the header's end for a last file with no
    /// txn at all (start-up removes it, so its name can be reused).
    pub fn torn_tail(&self) -> Option<&(PathBuf, u64)> {
        self.torn_tail.as_ref()
    }

    /// Whether the log held a txn with zxid ≤ `after`: with one, the txns
    /// this stream yields follow `after` with no gap (a DIFF can be served
    /// from the log); without one, older txns have been purged.
    pub fn covers_start(&self) -> bool {
        self.saw_at_or_before
    }

    fn step(&mut self) -> Result<Option<LogEntry>, StorageError> {
        loop {
            let Some((is_last, reader, entries)) = self.current.as_mut() else {
                match self.files.next() {
                    Some((is_last, path)) => {
                        self.current = Some((is_last, LogFileReader::open(&path)?, 0));
                        continue;
                    }
                    None => return Ok(None),
                }
            };
            match reader.next_step()? {
                ReadStep::Entry(entry) => {
                    let zxid = entry.txn.header.zxid;
                    if let Some(prev) = self.last_zxid {
                        if zxid <= prev {
                            return Err(StorageError::Corrupt {
                                file: reader.path().to_path_buf(),
                                offset: entry.offset,
                                why: format!(
                                    "zxid 0x{zxid:x} does not follow the previous zxid 0x{prev:x}"
                                ),
                            });
                        }
                    }
                    self.last_zxid = Some(zxid);
                    *entries += 1;
                    if zxid <= self.after {
                        self.saw_at_or_before = true;
                        continue;
                    }
                    if zxid > self.up_to {
                        return Ok(None);
                    }
                    return Ok(Some(entry));
                }
                ReadStep::End => {
                    if *is_last && *entries == 0 {
                        self.torn_tail = Some((reader.path().to_path_buf(), FILE_HEADER_LEN));
                    }
                    self.current = None;
                }
                ReadStep::Torn { offset, why } => {
                    let path = reader.path().display();
                    if *is_last {
                        tracing::warn!(
                            "txn log {path} ends in a partial txn at offset {offset} ({why}); \
                             it was never acknowledged and is ignored"
                        );
                        self.torn_tail = Some((reader.path().to_path_buf(), offset));
                    } else {
                        tracing::warn!(
                            "txn log {path} ends in a partial txn at offset {offset} ({why}); \
                             continuing with the next log"
                        );
                    }
                    self.current = None;
                }
            }
        }
    }
}

impl Iterator for LogStream {
    type Item = Result<LogEntry, StorageError>;

    fn next(&mut self) -> Option<Self::Item> {
        if self.done {
            return None;
        }
        match self.step() {
            Ok(Some(entry)) => Some(Ok(entry)),
            Ok(None) => {
                self.done = true;
                None
            }
            Err(e) => {
                self.done = true;
                Some(Err(e))
            }
        }
    }
}

/// What [`truncate_log`] did.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Truncation {
    /// The file cut short, and its new length.
    pub truncated: Option<(PathBuf, u64)>,
    /// Log files removed whole (every txn in them was after the zxid).
    pub removed_logs: Vec<PathBuf>,
    /// Snapshots removed (named after a zxid beyond the truncation point).
    pub removed_snapshots: Vec<PathBuf>,
}

fn sync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

/// Removes the snapshots in `snap_dir` named after a zxid beyond `zxid`,
/// newest first, each removal durable (directory fsync) before the next, so
/// a crash leaves a contiguous prefix of them. Returns them, newest first.
pub fn remove_snapshots_after(snap_dir: &Path, zxid: i64) -> io::Result<Vec<PathBuf>> {
    let mut newer: Vec<PathBuf> = snapshot::snapshot_files(snap_dir)?
        .into_iter()
        .filter(|(z, _)| *z > zxid)
        .map(|(_, p)| p)
        .collect();
    newer.reverse();
    for path in &newer {
        std::fs::remove_file(path)?;
        sync_dir(snap_dir)?;
    }
    Ok(newer)
}

/// Makes the txn log in `log_dir` hold exactly the txns with zxid ≤ `zxid`
/// (a learner's TRUNC), and removes the snapshots in `snap_dir` named after
/// a later zxid: loading one would bring the truncated txns back. Apache
/// ZooKeeper 3.8.0's `FileTxnSnapLog.truncateLog` leaves such snapshots in
/// place (and keeps the first txn after `zxid` when `zxid` itself is not in
/// the log); we do neither.
///
/// Order, for crash safety: newer snapshots first (newest first), then the
/// later log files (newest first), then the file holding `zxid` is cut
/// after its last txn ≤ `zxid` and fsynced; each removal is made durable
/// (directory fsync) before the next step. Like 3.8.0, a directory with no
/// log file at all is an error ("No log files found to truncate!").
pub fn truncate_log(
    log_dir: &Path,
    snap_dir: &Path,
    zxid: i64,
) -> Result<Truncation, StorageError> {
    let files = log_files(log_dir)?;
    if files.is_empty() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            format!(
                "{}: No log files found to truncate! This could happen if you still have \
                 snapshots from an old setup or log files were deleted accidentally or \
                 dataLogDir was changed in zoo.cfg.",
                log_dir.display()
            ),
        )
        .into());
    }
    let mut out = Truncation {
        removed_snapshots: remove_snapshots_after(snap_dir, zxid)?,
        ..Truncation::default()
    };
    // The file that may hold `zxid`: the last one starting at or before it.
    let keep = files.iter().rposition(|(first, _)| *first <= zxid);
    let first_removed = keep.map_or(0, |i| i + 1);
    for (_, path) in files[first_removed..].iter().rev() {
        std::fs::remove_file(path)?;
        sync_dir(log_dir)?;
        out.removed_logs.push(path.clone());
    }
    out.removed_logs.reverse();
    let Some(keep) = keep else {
        return Ok(out);
    };
    let path = &files[keep].1;
    let mut reader = LogFileReader::open(path)?;
    let mut end = FILE_HEADER_LEN;
    loop {
        match reader.next_step()? {
            ReadStep::Entry(entry) if entry.txn.header.zxid <= zxid => {
                // checksum (8) + length (4) + txn bytes + end-of-record.
                end = entry.offset + 12 + entry.raw.len() as u64 + 1;
            }
            _ => break,
        }
    }
    let file = OpenOptions::new().write(true).open(path)?;
    file.set_len(end)?;
    file.sync_all()?;
    out.truncated = Some((path.clone(), end));
    Ok(out)
}
