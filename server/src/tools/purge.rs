//! `zkserver purge`: ZooKeeper's `PurgeTxnLog` (`zkCleanup.sh`).
//!
//! Keeps the newest COUNT (at least 3, default 3) *valid* snapshots — a
//! `snapshot.<zxid>` whose last 5 bytes are the end of a seal (`int 1`,
//! `'/'`), as ZooKeeper's `isValidSnapshot` checks; for a compressed one,
//! its gzip or snappy magic — and the txn logs needed to replay from the
//! oldest kept one: the newest log whose zxid is <= that snapshot's zxid,
//! and every later log. Deletes every other snapshot and log older than the
//! oldest kept snapshot, printing `Removing file: <mtime>\t<path>` for each,
//! as `PurgeTxnLog` does (the time in UTC). With no valid snapshot nothing is
//! deleted.
//!
//! Differences from `PurgeTxnLog`: only files named exactly
//! `log.<hex>` / `snapshot.<hex>[.gz|.snappy]` are considered (ZooKeeper
//! also deletes e.g. `log.1.bak`, parsing its zxid from the second
//! dot-separated part); files newer than the oldest kept snapshot are never
//! touched; and both directories are searched for both kinds of file, so
//! the order of DATADIR and DATALOGDIR on the command line does not matter
//! (`PurgeTxnLog` takes `dataLogDir [snapDir]`, this command follows
//! `zoo.cfg`'s `dataDir`/`dataLogDir`).

use super::{wants_help, EXIT_ERROR, EXIT_OK, EXIT_USAGE};
use crate::config::Config;
use crate::storage::snapshot::zxid_of_snapshot_file_name;
use crate::storage::txn_log::zxid_of_log_file_name;
use std::fs;
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

pub const USAGE: &str = "\
Usage: zkserver purge [-n COUNT] [zoo.cfg | DATADIR [DATALOGDIR]]
  Deletes old snapshots and txn logs, as ZooKeeper's zkCleanup.sh/PurgeTxnLog:
  keeps the newest COUNT valid snapshots (default 3, at least 3) and the txn
  logs needed to replay from the oldest of them (the newest log whose zxid is
  <= that snapshot's, and all later logs); deletes older ones, printing
  'Removing file: <mtime>\\t<path>' for each.
  The directories come from zoo.cfg (dataDir, dataLogDir; default: zoo.cfg in
  the --config directory, $ZOOCFGDIR or conf), or are given directly; files
  are looked for in their version-2 subdirectories.
  Exit: 0 ok, 1 a file could not be read or removed, 2 usage.";

/// The smallest COUNT `PurgeTxnLog` accepts.
pub const MIN_COUNT: usize = 3;

/// What kind of data file a name is.
/// (Logs sort before snapshots of the same zxid.)
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    Log,
    Snapshot,
    /// `snapshot.<hex>.gz`
    SnapshotGz,
    /// `snapshot.<hex>.snappy`
    SnapshotSnappy,
}

fn classify(name: &str) -> Option<(Kind, i64)> {
    if let Some(z) = zxid_of_log_file_name(name) {
        return Some((Kind::Log, z));
    }
    if let Some(z) = zxid_of_snapshot_file_name(name) {
        return Some((Kind::Snapshot, z));
    }
    for (ext, kind) in [(".gz", Kind::SnapshotGz), (".snappy", Kind::SnapshotSnappy)] {
        if let Some(z) = name.strip_suffix(ext).and_then(zxid_of_snapshot_file_name) {
            return Some((kind, z));
        }
    }
    None
}

/// One log or snapshot file.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct DataFile {
    pub zxid: i64,
    pub path: PathBuf,
    kind: Kind,
}

impl DataFile {
    pub fn is_log(&self) -> bool {
        self.kind == Kind::Log
    }
}

/// The log and snapshot files in `dirs` (duplicates removed), sorted by zxid.
fn scan(dirs: &[PathBuf]) -> io::Result<Vec<DataFile>> {
    let mut files = Vec::new();
    for dir in dirs {
        let entries = fs::read_dir(dir)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", dir.display())))?;
        for entry in entries {
            let entry = entry?;
            let name = entry.file_name();
            let Some((kind, zxid)) = name.to_str().and_then(classify) else {
                continue;
            };
            if entry.file_type()?.is_file() {
                files.push(DataFile {
                    zxid,
                    path: entry.path(),
                    kind,
                });
            }
        }
    }
    files.sort();
    files.dedup();
    Ok(files)
}

/// `SnapStream.isValidSnapshot`: a complete snapshot ends in its seal's
/// path "/" (`int 1`, `'/'`); a compressed one starts with its magic.
fn is_valid_snapshot(file: &DataFile) -> io::Result<bool> {
    let mut f = fs::File::open(&file.path)?;
    let len = f.metadata()?.len();
    match file.kind {
        Kind::Snapshot => {
            if len < 10 {
                return Ok(false);
            }
            f.seek(SeekFrom::Start(len - 5))?;
            let mut tail = [0u8; 5];
            f.read_exact(&mut tail)?;
            Ok(tail == [0, 0, 0, 1, b'/'])
        }
        Kind::SnapshotGz => {
            let mut magic = [0u8; 2];
            Ok(len >= 2 && f.read_exact(&mut magic).is_ok() && magic == [0x1f, 0x8b])
        }
        Kind::SnapshotSnappy => {
            let mut magic = [0u8; 8];
            Ok(len >= 8 && f.read_exact(&mut magic).is_ok() && &magic == b"\x82SNAPPY\0")
        }
        Kind::Log => Ok(false),
    }
}

/// What to keep and delete.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct Plan {
    /// The snapshots kept, newest first.
    pub kept_snapshots: Vec<DataFile>,
    /// Files to delete: logs, then snapshots, each by zxid.
    pub delete: Vec<DataFile>,
}

/// Decides what `PurgeTxnLog.purge(dataDir, snapDir, count)` deletes, over
/// the version-2 directories `dirs`.
pub fn plan(dirs: &[PathBuf], count: usize) -> io::Result<Plan> {
    let files = scan(dirs)?;
    let mut kept = Vec::new();
    for f in files.iter().rev().filter(|f| !f.is_log()) {
        if kept.len() == count {
            break;
        }
        if is_valid_snapshot(f)? {
            kept.push(f.clone());
        }
    }
    let Some(oldest) = kept.last() else {
        return Ok(Plan::default());
    };
    let least = oldest.zxid;
    // The newest log that can hold txns up to `least`: replay starts there.
    let first_log = files
        .iter()
        .filter(|f| f.is_log() && f.zxid <= least)
        .map(|f| f.zxid)
        .max()
        .unwrap_or(0);
    let mut delete: Vec<DataFile> = files
        .iter()
        .filter(|f| f.is_log() && f.zxid < least && f.zxid < first_log)
        .cloned()
        .collect();
    delete.extend(
        files
            .iter()
            .filter(|f| !f.is_log() && f.zxid < least)
            .cloned(),
    );
    Ok(Plan {
        kept_snapshots: kept,
        delete,
    })
}

/// The purge the server runs every `autopurge.purgeInterval` hours
/// (ZooKeeper's `DatadirCleanupManager`): deletes what [`plan`] says over the
/// version-2 directories `dirs`, keeping `count` snapshots. Returns the
/// files removed; one that cannot be removed is logged and skipped.
pub fn purge_now(dirs: &[PathBuf], count: usize) -> io::Result<Vec<PathBuf>> {
    let plan = plan(dirs, count.max(MIN_COUNT))?;
    let mut removed = Vec::new();
    for f in plan.delete {
        match fs::remove_file(&f.path) {
            Ok(()) => removed.push(f.path),
            Err(e) => tracing::warn!("autopurge: cannot remove {}: {e}", f.path.display()),
        }
    }
    Ok(removed)
}

/// The version-2 directory of a data dir.
fn version2(dir: &Path) -> io::Result<PathBuf> {
    let v2 = dir.join("version-2");
    if v2.is_dir() {
        return Ok(v2);
    }
    if dir.file_name().is_some_and(|n| n == "version-2") && dir.is_dir() {
        return Ok(dir.to_path_buf());
    }
    Err(io::Error::new(
        io::ErrorKind::NotFound,
        format!("{}: no version-2 directory", dir.display()),
    ))
}

fn mtime_ms(path: &Path) -> i64 {
    fs::metadata(path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_millis() as i64)
}

/// Where the data lives: (dataDir, dataLogDir).
fn resolve_dirs(
    positional: &[String],
    conf_dir: Option<PathBuf>,
) -> Result<(PathBuf, PathBuf), String> {
    let conf_dir = conf_dir.unwrap_or_else(|| PathBuf::from("conf"));
    let config_file = match positional {
        [] => Some(conf_dir.join("zoo.cfg")),
        [one] => {
            let p = PathBuf::from(one);
            if p.is_dir() {
                return Ok((p.clone(), p));
            }
            if p.is_file() {
                Some(p)
            } else if !one.contains('/') && conf_dir.join(one).is_file() {
                Some(conf_dir.join(one))
            } else {
                return Err(format!("{one}: no such file or directory"));
            }
        }
        [data, log] => {
            for d in [data, log] {
                if !Path::new(d).is_dir() {
                    return Err(format!("{d}: not a directory"));
                }
            }
            return Ok((PathBuf::from(data), PathBuf::from(log)));
        }
        _ => return Err("too many arguments".to_string()),
    };
    let path = config_file.expect("set above");
    let config = Config::load(&path).map_err(|e| e.to_string())?;
    Ok((config.data_dir, config.data_log_dir))
}

/// `zkserver purge`.
pub fn purge_main(
    args: &[String],
    conf_dir: Option<PathBuf>,
    out: &mut impl Write,
) -> io::Result<u8> {
    if wants_help(args) {
        println!("{USAGE}");
        return Ok(EXIT_OK);
    }
    let mut count = MIN_COUNT;
    let mut positional = Vec::new();
    let mut it = args.iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "-n" | "--count" => {
                let parsed = it.next().and_then(|v| v.parse::<usize>().ok());
                match parsed {
                    Some(n) if n >= MIN_COUNT => count = n,
                    _ => {
                        eprintln!(
                            "zkserver purge: count should be greater than or equal to \
                             {MIN_COUNT}\n{USAGE}"
                        );
                        return Ok(EXIT_USAGE);
                    }
                }
            }
            a if a.starts_with('-') && a.len() > 1 => {
                eprintln!("zkserver purge: unknown option {a}\n{USAGE}");
                return Ok(EXIT_USAGE);
            }
            a => positional.push(a.to_string()),
        }
    }
    if positional.len() > 2 {
        eprintln!("zkserver purge: too many arguments\n{USAGE}");
        return Ok(EXIT_USAGE);
    }
    let (data_dir, log_dir) = match resolve_dirs(&positional, conf_dir) {
        Ok(d) => d,
        Err(why) => {
            eprintln!("zkserver purge: {why}");
            return Ok(EXIT_ERROR);
        }
    };
    let mut dirs = Vec::new();
    for d in [&data_dir, &log_dir] {
        match version2(d) {
            Ok(v2) if !dirs.contains(&v2) => dirs.push(v2),
            Ok(_) => {}
            Err(e) => {
                eprintln!("zkserver purge: {e}");
                return Ok(EXIT_ERROR);
            }
        }
    }
    let plan = match plan(&dirs, count) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("zkserver purge: {e}");
            return Ok(EXIT_ERROR);
        }
    };
    let mut code = EXIT_OK;
    for f in &plan.delete {
        writeln!(
            out,
            "Removing file: {}\t{}",
            super::java_medium_date(mtime_ms(&f.path)),
            f.path.display()
        )?;
        if let Err(e) = fs::remove_file(&f.path) {
            eprintln!("Failed to remove {}: {e}", f.path.display());
            code = EXIT_ERROR;
        }
    }
    out.flush()?;
    Ok(code)
}
