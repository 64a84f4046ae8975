//! The server's resident memory and CPU time, from `/proc/<pid>/`.

use crate::args::Options;

/// The server's pid if `--pid` or `--pid-file` names one.
pub fn server_pid_if_given(opts: &Options) -> Option<u32> {
    (opts.pid.is_some() || opts.pid_file.is_some())
        .then(|| server_pid(opts).ok())
        .flatten()
}

/// The server's pid: `--pid`, else the first line of `--pid-file`.
pub fn server_pid(opts: &Options) -> Result<u32, String> {
    if let Some(pid) = opts.pid {
        return Ok(pid);
    }
    let file = opts
        .pid_file
        .as_ref()
        .ok_or("the memory workload needs --pid or --pid-file")?;
    let text = std::fs::read_to_string(file).map_err(|e| format!("{}: {e}", file.display()))?;
    text.trim()
        .parse()
        .map_err(|_| format!("{}: not a pid: {:?}", file.display(), text.trim()))
}

/// `VmRSS` of `pid`, in bytes.
pub fn rss_bytes(pid: u32) -> Result<u64, String> {
    let path = format!("/proc/{pid}/status");
    let status = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    parse_vm_rss(&status).ok_or_else(|| format!("{path}: no VmRSS line"))
}

/// CPU time `pid` has used (user + system), in µs, from `/proc/<pid>/stat`.
pub fn cpu_us(pid: u32) -> Result<u64, String> {
    let path = format!("/proc/{pid}/stat");
    let stat = std::fs::read_to_string(&path).map_err(|e| format!("{path}: {e}"))?;
    parse_cpu_ticks(&stat)
        .map(|ticks| ticks * 1_000_000 / CLOCK_TICKS_PER_SEC)
        .ok_or_else(|| format!("{path}: unexpected format"))
}

/// `sysconf(_SC_CLK_TCK)`: 100 on every Linux target Rust supports.
const CLOCK_TICKS_PER_SEC: u64 = 100;

/// utime + stime: fields 14 and 15, counted after the `(comm)` field,
/// which may itself contain spaces.
fn parse_cpu_ticks(stat: &str) -> Option<u64> {
    let rest = &stat[stat.rfind(')')? + 1..];
    let mut fields = rest.split_whitespace().skip(11);
    let utime: u64 = fields.next()?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(utime + stime)
}

fn parse_vm_rss(status: &str) -> Option<u64> {
    let line = status.lines().find(|l| l.starts_with("VmRSS:"))?;
    let mut words = line["VmRSS:".len()..].split_whitespace();
    let value: u64 = words.next()?.parse().ok()?;
    match words.next() {
        Some("kB") => Some(value * 1024),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_vm_rss_in_bytes() {
        let status = "Name:\tzkserver\nVmPeak:\t  9999 kB\nVmRSS:\t    5120 kB\nThreads:\t3\n";
        assert_eq!(parse_vm_rss(status), Some(5120 * 1024));
        assert_eq!(parse_vm_rss("Name: x\n"), None);
    }

    #[test]
    fn reads_cpu_ticks_after_the_command_name() {
        let stat = "42 (zk server) S 1 42 42 0 -1 4194560 100 0 0 0 250 30 0 0 20 0 3 0";
        assert_eq!(parse_cpu_ticks(stat), Some(280));
        assert!(cpu_us(std::process::id()).is_ok());
    }

    #[test]
    fn reads_our_own_rss() {
        let rss = rss_bytes(std::process::id()).unwrap();
        assert!(rss > 0);
    }
}
