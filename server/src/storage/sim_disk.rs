//! A simulated disk for the txn log's fault tests: files in memory, with
//! what has been synced kept apart from what has only been written, and
//! faults on cue.
//!
//! Model (what a real file system promises, and no more):
//! - `write` appends to the file's *written* bytes; `set_len` resizes them
//!   (zeros when growing). Neither is durable.
//! - `sync_data` makes the written bytes and the length durable.
//! - A new file's name is durable only once its directory is synced.
//! - [`SimDisk::crash_image`] is what a power cut leaves: each file whose
//!   name is durable holds its durable bytes, then, of what was written
//!   after the last sync, an arbitrary prefix — the rest reads as zeros if
//!   the file had been extended that far (preallocation), else is cut off.
//!
//! Faults ([`Fault`]) fire on the n-th call of their kind, counted over the
//! whole disk: a short write (part of the buffer, reported as such), a
//! write that stores part of the buffer and then fails, EIO from
//! `sync_data`, and ENOSPC once the written bytes of all files would pass a
//! limit (a full disk). After a failed sync nothing more becomes durable:
//! the kernel may have dropped the dirty pages (the "fsyncgate" lesson).

use super::txn_log::{LogDisk, LogFile};
use parking_lot::Mutex;
use std::collections::{BTreeMap, BTreeSet};
use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

/// A fault to inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Fault {
    /// The n-th write (0-based) stores only half its buffer and says so.
    ShortWrite { nth: u64 },
    /// The n-th write stores half its buffer, then fails with EIO.
    WriteError { nth: u64 },
    /// The n-th `sync_data` fails with EIO (and makes nothing durable).
    SyncError { nth: u64 },
    /// Writes and growth fail with ENOSPC beyond this many bytes in all.
    DiskFull { bytes: u64 },
}

#[derive(Debug, Default, Clone)]
struct SimFile {
    written: Vec<u8>,
    durable: Vec<u8>,
    name_durable: bool,
}

#[derive(Debug, Default)]
struct State {
    files: BTreeMap<PathBuf, SimFile>,
    dirs: BTreeSet<PathBuf>,
    faults: Vec<Fault>,
    writes: u64,
    syncs: u64,
    sync_failed: bool,
}

impl State {
    fn used(&self) -> u64 {
        self.files.values().map(|f| f.written.len() as u64).sum()
    }

    fn full_at(&self) -> Option<u64> {
        self.faults.iter().find_map(|f| match f {
            Fault::DiskFull { bytes } => Some(*bytes),
            _ => None,
        })
    }
}

/// The simulated disk; clones share it.
#[derive(Debug, Clone, Default)]
pub struct SimDisk {
    state: Arc<Mutex<State>>,
}

fn enospc() -> io::Error {
    io::Error::from_raw_os_error(28)
}

fn eio() -> io::Error {
    io::Error::from_raw_os_error(5)
}

impl SimDisk {
    /// A disk that will inject `faults`.
    pub fn with_faults(faults: Vec<Fault>) -> SimDisk {
        let disk = SimDisk::default();
        disk.state.lock().faults = faults;
        disk
    }

    /// What a power cut now would leave, as (path, contents) of every file
    /// whose name is durable. `pick(n)` chooses how many of the `n` bytes
    /// written since the last sync survive (`0..=n`).
    pub fn crash_image(&self, mut pick: impl FnMut(usize) -> usize) -> Vec<(PathBuf, Vec<u8>)> {
        let state = self.state.lock();
        let mut out = Vec::new();
        for (path, f) in &state.files {
            if !f.name_durable {
                continue;
            }
            let mut bytes = f.durable.clone();
            if !state.sync_failed && f.written.len() > f.durable.len() {
                // Bytes past the durable length that were written since:
                // only a prefix may have reached the platter.
                let common = f
                    .durable
                    .iter()
                    .zip(&f.written)
                    .take_while(|(a, b)| a == b)
                    .count();
                bytes.truncate(common);
                let extra = f.written.len() - common;
                let keep = pick(extra).min(extra);
                bytes.extend_from_slice(&f.written[common..common + keep]);
                if bytes.len() < f.durable.len() {
                    // The durable length stays; what is not there is zeros.
                    bytes.resize(f.durable.len(), 0);
                }
            }
            out.push((path.clone(), bytes));
        }
        out
    }

    /// Writes [`crash_image`](Self::crash_image) under `root`, each file at
    /// its path relative to `from` (the simulated directory).
    pub fn materialize(
        &self,
        from: &Path,
        root: &Path,
        pick: impl FnMut(usize) -> usize,
    ) -> io::Result<Vec<PathBuf>> {
        std::fs::create_dir_all(root)?;
        let mut written = Vec::new();
        for (path, bytes) in self.crash_image(pick) {
            let rel = path.strip_prefix(from).unwrap_or(&path);
            let target = root.join(rel);
            if let Some(parent) = target.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&target, bytes)?;
            written.push(target);
        }
        Ok(written)
    }
}

impl LogDisk for SimDisk {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        self.state.lock().dirs.insert(dir.to_path_buf());
        Ok(())
    }

    fn create_new(&self, path: &Path) -> io::Result<Box<dyn LogFile>> {
        let mut state = self.state.lock();
        if state.files.contains_key(path) {
            return Err(io::ErrorKind::AlreadyExists.into());
        }
        state.files.insert(path.to_path_buf(), SimFile::default());
        Ok(Box::new(SimHandle {
            disk: self.clone(),
            path: path.to_path_buf(),
            pos: 0,
        }))
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let mut state = self.state.lock();
        for (path, f) in state.files.iter_mut() {
            if path.parent() == Some(dir) {
                f.name_durable = true;
            }
        }
        Ok(())
    }
}

/// An open file: like a file descriptor, it writes at its own offset,
/// which `set_len` does not move.
struct SimHandle {
    disk: SimDisk,
    path: PathBuf,
    pos: usize,
}

impl LogFile for SimHandle {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        let mut state = self.disk.state.lock();
        let nth = state.writes;
        state.writes += 1;
        let mut take = buf.len();
        let mut fail = false;
        for fault in &state.faults {
            match *fault {
                Fault::ShortWrite { nth: n } if n == nth => take = buf.len() / 2,
                Fault::WriteError { nth: n } if n == nth => {
                    take = buf.len() / 2;
                    fail = true;
                }
                _ => {}
            }
        }
        if let Some(limit) = state.full_at() {
            let room = limit.saturating_sub(state.used()) as usize;
            if room == 0 {
                return Err(enospc());
            }
            take = take.min(room);
        }
        let file = state
            .files
            .get_mut(&self.path)
            .ok_or(io::ErrorKind::NotFound)?;
        let at = self.pos;
        let end = at + take;
        if file.written.len() < end {
            file.written.resize(end, 0);
        }
        file.written[at..end].copy_from_slice(&buf[..take]);
        self.pos = end;
        if fail {
            return Err(eio());
        }
        Ok(take)
    }

    fn set_len(&mut self, len: u64) -> io::Result<()> {
        let mut state = self.disk.state.lock();
        let current = state
            .files
            .get(&self.path)
            .map_or(0, |f| f.written.len() as u64);
        if let Some(limit) = state.full_at() {
            if len > current && state.used() + (len - current) > limit {
                return Err(enospc());
            }
        }
        let file = state
            .files
            .get_mut(&self.path)
            .ok_or(io::ErrorKind::NotFound)?;
        file.written.resize(len as usize, 0);
        Ok(())
    }

    fn sync_data(&mut self) -> io::Result<()> {
        let mut state = self.disk.state.lock();
        let nth = state.syncs;
        state.syncs += 1;
        let failing = state
            .faults
            .iter()
            .any(|f| matches!(f, Fault::SyncError { nth: n } if *n == nth));
        if failing || state.sync_failed {
            state.sync_failed = true;
            return Err(eio());
        }
        let file = state
            .files
            .get_mut(&self.path)
            .ok_or(io::ErrorKind::NotFound)?;
        file.durable = file.written.clone();
        Ok(())
    }
}
