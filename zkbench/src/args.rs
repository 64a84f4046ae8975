//! Command-line options: hand-parsed (`--name value` or `--name=value`), so
//! the tool needs no argument-parsing dependency.

use std::path::PathBuf;
use std::time::Duration;

/// What to run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Command {
    /// Drive the listed workloads against `--server` (the default).
    Load,
    /// Time write + fdatasync on a file in `--dir`.
    Fsync,
    /// Poll `--server` until `srvr` reports `Mode:`; print the time since `--since-ns`.
    Ready,
}

/// Every workload the load command knows, in the order `--workloads all` runs them.
pub const ALL_WORKLOADS: &[&str] = &[
    "create", "get", "set", "exists", "children", "delete", "mixed", "multi", "watch", "sessions",
];

/// Hard upper bound on any one measured phase, whatever the options say.
pub const MAX_PHASE: Duration = Duration::from_secs(3600);

#[derive(Debug, Clone)]
pub struct Options {
    pub command: Command,
    pub server: String,
    pub sessions: usize,
    pub outstanding: usize,
    pub ops: Option<u64>,
    pub duration: Option<Duration>,
    pub size: usize,
    pub sync: bool,
    pub workloads: Vec<String>,
    pub json: bool,
    pub pid: Option<u32>,
    pub pid_file: Option<PathBuf>,
    /// Leave the znodes in place (the memory workload's population, for a restart test).
    pub keep: bool,
    pub dir: PathBuf,
    pub since_ns: Option<u128>,
    pub timeout: Duration,
    pub label: String,
    pub threads: usize,
}

impl Default for Options {
    fn default() -> Self {
        Options {
            command: Command::Load,
            server: "127.0.0.1:2181".into(),
            sessions: 4,
            outstanding: 16,
            ops: None,
            duration: None,
            size: 100,
            sync: false,
            workloads: vec!["get".into()],
            json: false,
            pid: None,
            pid_file: None,
            keep: false,
            dir: std::env::temp_dir(),
            since_ns: None,
            timeout: Duration::from_secs(60),
            label: String::new(),
            threads: 2,
        }
    }
}

pub const USAGE: &str = "\
usage: zkbench [load] [options]      drive workloads against a ZooKeeper-compatible server
       zkbench fsync --dir D [--ops N] [--size B] [--json]
       zkbench ready --server H:P --since-ns T [--timeout S] [--json]

load options:
  --server host:port     target (127.0.0.1:2181)
  --workloads a,b,c      create,get,set,exists,children,delete,mixed,multi,watch,
                         sessions,memory, or `all` (all but memory)   [get]
  --sessions N           client sessions (watch: watchers; sessions: parallel storms)  [4]
  --outstanding K        requests in flight per session                             [16]
  --sync                 one session, one request at a time (unloaded latency)
  --ops N                operations per workload (memory: znodes to create)
  --duration S           seconds per workload (default 10 unless --ops is given)
  --size B               znode data bytes                                          [100]
  --pid PID | --pid-file F   server process for the memory workload (VmRSS)
  --keep                 do not delete what the run created (memory population)
  --label TEXT           copied into each JSON object (e.g. the server's name)
  --threads N            client runtime worker threads                              [2]
  --json                 one JSON object per workload on stdout
";

fn parse_num<T: std::str::FromStr>(name: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("{name}: not a number: {value:?}"))
}

impl Options {
    pub fn parse(args: impl IntoIterator<Item = String>) -> Result<Options, String> {
        let mut o = Options::default();
        let mut args = args.into_iter().peekable();
        match args.peek().map(String::as_str) {
            Some("load") => {
                args.next();
            }
            Some("fsync") => {
                args.next();
                o.command = Command::Fsync;
            }
            Some("ready") => {
                args.next();
                o.command = Command::Ready;
            }
            _ => {}
        }
        while let Some(arg) = args.next() {
            let (name, inline) = match arg.split_once('=') {
                Some((n, v)) if n.starts_with("--") => (n.to_string(), Some(v.to_string())),
                _ => (arg.clone(), None),
            };
            let flag = |o: &mut Options| -> Result<bool, String> {
                match name.as_str() {
                    "--sync" => o.sync = true,
                    "--json" => o.json = true,
                    "--keep" => o.keep = true,
                    "-h" | "--help" => return Err(String::new()),
                    _ => return Ok(false),
                }
                Ok(true)
            };
            if flag(&mut o)? {
                continue;
            }
            let value = match inline {
                Some(v) => v,
                None => args.next().ok_or_else(|| format!("{name} needs a value"))?,
            };
            match name.as_str() {
                "--server" => o.server = value,
                "--sessions" => o.sessions = parse_num(&name, &value)?,
                "--outstanding" => o.outstanding = parse_num(&name, &value)?,
                "--ops" => o.ops = Some(parse_num(&name, &value)?),
                "--duration" => {
                    let secs: f64 = parse_num(&name, &value)?;
                    if !(secs > 0.0 && secs <= MAX_PHASE.as_secs_f64()) {
                        return Err(format!(
                            "--duration must be in (0, {}]",
                            MAX_PHASE.as_secs()
                        ));
                    }
                    o.duration = Some(Duration::from_secs_f64(secs));
                }
                "--size" => o.size = parse_num(&name, &value)?,
                "--workloads" => {
                    o.workloads = if value == "all" {
                        ALL_WORKLOADS.iter().map(|s| s.to_string()).collect()
                    } else {
                        value.split(',').map(|s| s.trim().to_string()).collect()
                    }
                }
                "--pid" => o.pid = Some(parse_num(&name, &value)?),
                "--pid-file" => o.pid_file = Some(PathBuf::from(value)),
                "--dir" => o.dir = PathBuf::from(value),
                "--since-ns" => o.since_ns = Some(parse_num(&name, &value)?),
                "--timeout" => o.timeout = Duration::from_secs_f64(parse_num(&name, &value)?),
                "--label" => o.label = value,
                "--threads" => o.threads = parse_num(&name, &value)?,
                _ => return Err(format!("unknown option {name}")),
            }
        }
        if o.sync {
            o.sessions = 1;
            o.outstanding = 1;
        }
        if o.sessions == 0 || o.outstanding == 0 || o.threads == 0 {
            return Err("--sessions, --outstanding and --threads must be at least 1".into());
        }
        for w in &o.workloads {
            if w != "memory" && !ALL_WORKLOADS.contains(&w.as_str()) {
                return Err(format!("unknown workload {w:?}"));
            }
        }
        if o.ops.is_none() && o.duration.is_none() {
            o.duration = Some(Duration::from_secs(10));
        }
        Ok(o)
    }

    /// When the measured phase must stop, at the latest.
    pub fn phase_limit(&self) -> Duration {
        self.duration.unwrap_or(MAX_PHASE).min(MAX_PHASE)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(s: &str) -> Result<Options, String> {
        Options::parse(s.split_whitespace().map(String::from))
    }

    #[test]
    fn sync_forces_one_session_one_request() {
        let o = parse("--sync --sessions 8 --outstanding 4 --workloads set,get").unwrap();
        assert_eq!((o.sessions, o.outstanding), (1, 1));
        assert_eq!(o.workloads, vec!["set", "get"]);
        assert_eq!(o.duration, Some(Duration::from_secs(10)));
    }

    #[test]
    fn ops_alone_leaves_the_duration_open_but_capped() {
        let o = parse("--ops=500 --server=127.0.0.1:1").unwrap();
        assert_eq!(o.ops, Some(500));
        assert_eq!(o.duration, None);
        assert_eq!(o.phase_limit(), MAX_PHASE);
        assert_eq!(o.server, "127.0.0.1:1");
    }

    #[test]
    fn subcommands_and_errors() {
        assert_eq!(parse("fsync --dir /tmp").unwrap().command, Command::Fsync);
        assert_eq!(parse("ready --since-ns 5").unwrap().since_ns, Some(5));
        assert!(parse("--workloads nope").is_err());
        assert!(parse("--sessions 0").is_err());
        assert!(parse("--ops").is_err());
        assert!(parse("--bogus 1").is_err());
    }
}
