//! Facts about the host and process for `envi`, `mntr`, `conf` and `dirs`.
//!
//! Invariants: every function is best-effort and never fails; what cannot be
//! read (non-Linux hosts, missing `/proc`) reads as a neutral value, because
//! a monitoring command must not break over a missing figure.

use std::path::Path;

/// Reads a small text file, trimmed; `None` if unreadable.
fn read_trimmed(path: &str) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

pub(crate) fn host_name() -> String {
    read_trimmed("/proc/sys/kernel/hostname")
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "localhost".to_string())
}

/// The OS name as Java's `os.name` spells it.
pub(crate) fn os_name() -> String {
    match std::env::consts::OS {
        "linux" => "Linux".to_string(),
        "macos" => "Mac OS X".to_string(),
        "windows" => "Windows".to_string(),
        "freebsd" => "FreeBSD".to_string(),
        other => other.to_string(),
    }
}

/// The CPU architecture as Java's `os.arch` spells it.
pub(crate) fn os_arch() -> String {
    match std::env::consts::ARCH {
        "x86_64" => "amd64".to_string(),
        "x86" => "i386".to_string(),
        other => other.to_string(),
    }
}

pub(crate) fn os_version() -> String {
    read_trimmed("/proc/sys/kernel/osrelease").unwrap_or_else(|| "<NA>".to_string())
}

/// The user the process runs as: `$USER`, else the passwd entry for our uid.
pub(crate) fn user_name() -> String {
    if let Ok(user) = std::env::var("USER") {
        if !user.is_empty() {
            return user;
        }
    }
    let uid = std::fs::read_to_string("/proc/self/status")
        .ok()
        .and_then(|status| {
            status
                .lines()
                .find_map(|l| l.strip_prefix("Uid:"))
                .and_then(|rest| rest.split_whitespace().next().map(str::to_string))
        });
    let passwd = std::fs::read_to_string("/etc/passwd").unwrap_or_default();
    uid.and_then(|uid| {
        passwd.lines().find_map(|line| {
            let fields: Vec<&str> = line.split(':').collect();
            (fields.len() > 2 && fields[2] == uid).then(|| fields[0].to_string())
        })
    })
    .unwrap_or_else(|| "?".to_string())
}

pub(crate) fn user_home() -> String {
    std::env::var("HOME").unwrap_or_else(|_| "?".to_string())
}

pub(crate) fn user_dir() -> String {
    std::env::current_dir()
        .map(|d| d.display().to_string())
        .unwrap_or_else(|_| "?".to_string())
}

/// A `/proc/meminfo` figure in MB.
fn meminfo_mb(key: &str) -> u64 {
    let text = std::fs::read_to_string("/proc/meminfo").unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix(key))
        .and_then(|rest| {
            rest.trim_start_matches(':')
                .split_whitespace()
                .next()?
                .parse::<u64>()
                .ok()
        })
        .map_or(0, |kb| kb / 1024)
}

/// Memory available to processes, in MB (`os.memory.free`).
pub(crate) fn memory_free_mb() -> u64 {
    meminfo_mb("MemAvailable")
}

/// Physical memory, in MB (`os.memory.max`).
pub(crate) fn memory_max_mb() -> u64 {
    meminfo_mb("MemTotal")
}

/// This process's resident memory, in MB (`os.memory.total`).
pub(crate) fn memory_used_mb() -> u64 {
    let text = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
        .map_or(0, |kb| kb / 1024)
}

/// Open file descriptors of this process.
pub(crate) fn open_fd_count() -> u64 {
    std::fs::read_dir("/proc/self/fd").map_or(0, |d| d.count() as u64)
}

/// The soft limit on open files.
pub(crate) fn max_fd_count() -> u64 {
    let text = std::fs::read_to_string("/proc/self/limits").unwrap_or_default();
    text.lines()
        .find_map(|l| l.strip_prefix("Max open files"))
        .and_then(|rest| rest.split_whitespace().next()?.parse::<u64>().ok())
        .unwrap_or(0)
}

/// Total size of the regular files directly in `dir` (0 if it is missing),
/// as ZooKeeper sizes its snapshot and log directories.
pub(crate) fn dir_size_bytes(dir: &Path) -> u64 {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return 0;
    };
    entries
        .filter_map(Result::ok)
        .filter_map(|e| e.metadata().ok())
        .filter(|m| m.is_file())
        .map(|m| m.len())
        .sum()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn figures_are_sane_on_linux() {
        if std::env::consts::OS != "linux" {
            return;
        }
        assert!(open_fd_count() > 0);
        assert!(max_fd_count() >= open_fd_count());
        assert!(memory_max_mb() > 0);
        assert!(!host_name().is_empty());
        assert_ne!(user_name(), "");
    }

    #[test]
    fn dir_size_counts_files_only() {
        let dir = std::env::temp_dir().join(format!("zk-dirsize-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        std::fs::write(dir.join("a"), [0u8; 10]).unwrap();
        std::fs::write(dir.join("sub/b"), [0u8; 99]).unwrap();
        assert_eq!(dir_size_bytes(&dir), 10);
        assert_eq!(dir_size_bytes(&dir.join("missing")), 0);
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
