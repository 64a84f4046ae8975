//! `acceptedEpoch` and `currentEpoch`: the two numbers a quorum member keeps
//! beside its snapshots (`<dataDir>/version-2/`), in ZooKeeper's format —
//! the epoch in ASCII decimal, nothing else (no newline). A reader takes the
//! first line, as ZooKeeper's `readLongFromFile` does.
//!
//! Invariants:
//! - A write is atomic: the value goes to `<name>.tmp`, is fsynced, and is
//!   renamed over the file, then the directory is fsynced (ZooKeeper's
//!   `AtomicFileWritingIdiom`). A crash leaves the old value or the new one.
//! - A file that exists but does not hold a number is an error naming it,
//!   never silently zero: an epoch going backwards could elect a stale leader.

use std::fs::{self, File};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

/// The file holding the epoch a member has accepted (NEWEPOCH / LEADERINFO).
pub const ACCEPTED_EPOCH: &str = "acceptedEpoch";
/// The file holding the epoch a member has acknowledged as current (NEWLEADER).
pub const CURRENT_EPOCH: &str = "currentEpoch";

/// Reads `dir/name`; `None` if the file does not exist.
pub fn read_epoch(dir: &Path, name: &str) -> io::Result<Option<i64>> {
    let path = dir.join(name);
    let text = match fs::read_to_string(&path) {
        Ok(t) => t,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(io::Error::new(e.kind(), format!("{}: {e}", path.display()))),
    };
    let line = text.lines().next().unwrap_or("");
    line.trim().parse::<i64>().map(Some).map_err(|_| {
        io::Error::new(
            io::ErrorKind::InvalidData,
            format!("{}: {line:?} is not an epoch", path.display()),
        )
    })
}

/// Writes `value` to `dir/name` atomically (see the module invariants).
pub fn write_epoch(dir: &Path, name: &str, value: i64) -> io::Result<PathBuf> {
    let path = dir.join(name);
    let tmp = dir.join(format!("{name}.tmp"));
    let with_path =
        |p: &Path, e: io::Error| io::Error::new(e.kind(), format!("{}: {e}", p.display()));
    fs::create_dir_all(dir).map_err(|e| with_path(dir, e))?;
    let written = (|| {
        let mut f = File::create(&tmp)?;
        f.write_all(value.to_string().as_bytes())?;
        f.sync_all()
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(with_path(&tmp, e));
    }
    fs::rename(&tmp, &path).map_err(|e| with_path(&path, e))?;
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| with_path(dir, e))?;
    Ok(path)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn temp_dir(tag: &str) -> PathBuf {
        let dir = std::env::temp_dir().join(format!("zk-epoch-{tag}-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        dir
    }

    #[test]
    fn round_trip_in_zookeepers_format() {
        let dir = temp_dir("rt");
        assert_eq!(read_epoch(&dir, CURRENT_EPOCH).expect("read"), None);
        write_epoch(&dir, CURRENT_EPOCH, 7).expect("write");
        assert_eq!(fs::read(dir.join(CURRENT_EPOCH)).expect("bytes"), b"7");
        assert_eq!(read_epoch(&dir, CURRENT_EPOCH).expect("read"), Some(7));
        write_epoch(&dir, CURRENT_EPOCH, 8).expect("overwrite");
        assert_eq!(read_epoch(&dir, CURRENT_EPOCH).expect("read"), Some(8));
        assert!(!dir.join("currentEpoch.tmp").exists());
        let _ = fs::remove_dir_all(&dir);
    }

    #[test]
    fn first_line_counts_and_garbage_is_an_error() {
        let dir = temp_dir("garbage");
        fs::create_dir_all(&dir).expect("dir");
        fs::write(dir.join(ACCEPTED_EPOCH), "12\nignored").expect("write");
        assert_eq!(read_epoch(&dir, ACCEPTED_EPOCH).expect("read"), Some(12));
        fs::write(dir.join(ACCEPTED_EPOCH), "twelve").expect("write");
        let e = read_epoch(&dir, ACCEPTED_EPOCH).expect_err("not a number");
        assert!(e.to_string().contains("acceptedEpoch"), "{e}");
        let _ = fs::remove_dir_all(&dir);
    }
}
