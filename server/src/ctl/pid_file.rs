//! The pid file `zkServer.sh` keeps: `$ZOOPIDFILE`, else
//! `<dataDir>/zookeeper_server.pid`, holding the daemon's pid in decimal
//! with no newline (the script writes it with `echo -n`).
//!
//! Invariants: a pid file names a process only while that process is alive
//! and not a zombie; `start` refuses to start a second server while it does,
//! and `stop` removes the file only once the process is gone (or was never
//! there), so a failed stop can be retried.

use nix::errno::Errno;
use nix::sys::signal::{kill, Signal};
use nix::unistd::Pid;
use std::io;
use std::path::{Path, PathBuf};

/// The pid file's name inside the data directory.
pub const PID_FILE_NAME: &str = "zookeeper_server.pid";

/// Where the pid file is: `$ZOOPIDFILE` if set, else in `data_dir`.
pub fn location(data_dir: &Path) -> PathBuf {
    match std::env::var_os("ZOOPIDFILE") {
        Some(p) if !p.is_empty() => PathBuf::from(p),
        _ => data_dir.join(PID_FILE_NAME),
    }
}

/// Writes `pid`, creating the directory as `zkServer.sh` does (`mkdir -p`).
pub fn write(path: &Path, pid: u32) -> io::Result<()> {
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    std::fs::write(path, pid.to_string())
}

/// What a pid file holds.
#[derive(Debug, PartialEq, Eq)]
pub enum Content {
    Missing,
    Pid(i32),
    /// Not a positive decimal number: the text, trimmed.
    Garbage(String),
}

pub fn read(path: &Path) -> io::Result<Content> {
    match std::fs::read_to_string(path) {
        Ok(text) => Ok(match text.trim().parse::<i32>() {
            Ok(pid) if pid > 0 => Content::Pid(pid),
            _ => Content::Garbage(text.trim().to_string()),
        }),
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(Content::Missing),
        Err(e) => Err(e),
    }
}

/// The pid in the file if that process is alive.
pub fn running(path: &Path) -> io::Result<Option<i32>> {
    Ok(match read(path)? {
        Content::Pid(pid) if is_alive(pid) => Some(pid),
        _ => None,
    })
}

/// `kill -0`, except that a zombie (exited, not yet reaped by its parent)
/// counts as gone: it serves nothing and holds no port.
pub fn is_alive(pid: i32) -> bool {
    let exists = match kill(Pid::from_raw(pid), None) {
        Ok(()) => true,
        // It exists but is not ours to signal.
        Err(Errno::EPERM) => true,
        Err(_) => false,
    };
    exists && !is_zombie(pid)
}

fn is_zombie(pid: i32) -> bool {
    // /proc/<pid>/stat: "pid (comm) S ..."; comm may hold spaces and ')'.
    let Ok(stat) = std::fs::read_to_string(format!("/proc/{pid}/stat")) else {
        return false;
    };
    stat.rsplit_once(')')
        .and_then(|(_, rest)| rest.split_whitespace().next())
        .is_some_and(|state| state == "Z" || state == "X")
}

/// Sends SIGTERM. `Ok(false)` when there is no such process.
pub fn terminate(pid: i32) -> io::Result<bool> {
    match kill(Pid::from_raw(pid), Signal::SIGTERM) {
        Ok(()) => Ok(true),
        Err(Errno::ESRCH) => Ok(false),
        Err(e) => Err(io::Error::from(e)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn write_read_and_liveness() {
        let dir = std::env::temp_dir().join(format!("zk-pidfile-{}", std::process::id()));
        let path = dir.join("sub").join(PID_FILE_NAME);
        assert_eq!(read(&path).unwrap(), Content::Missing);
        write(&path, std::process::id()).unwrap();
        assert_eq!(
            std::fs::read_to_string(&path).unwrap(),
            std::process::id().to_string()
        );
        assert_eq!(running(&path).unwrap(), Some(std::process::id() as i32));
        std::fs::write(&path, "12ab\n").unwrap();
        assert_eq!(read(&path).unwrap(), Content::Garbage("12ab".into()));
        assert_eq!(running(&path).unwrap(), None);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn a_reaped_child_is_not_alive_and_a_zombie_neither() {
        let mut child = std::process::Command::new("true").spawn().unwrap();
        let pid = child.id() as i32;
        // Not yet reaped once it exits: a zombie.
        for _ in 0..200 {
            if !is_alive(pid) {
                break;
            }
            std::thread::sleep(std::time::Duration::from_millis(10));
        }
        assert!(!is_alive(pid));
        child.wait().unwrap();
        assert!(!is_alive(pid));
        assert!(!terminate(pid).unwrap());
    }
}
