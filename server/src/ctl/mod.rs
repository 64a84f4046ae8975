//! The lifecycle commands of the `zkserver` binary, as `zkServer.sh` 3.8.0
//! has them: `start`, `stop`, `restart`, `status`, `print-cmd`
//! (`start-foreground` and `version` are the binary's own).
//!
//! Output and exit codes follow the script, line for line (recorded from
//! the reference in `tests/tests/zkserver_ctl.rs`): "Using config: F" on
//! stderr, then on stdout "Starting zookeeper ... STARTED" (exit 0),
//! "... already running as process N." (exit 1), "... FAILED TO START"
//! (exit 1); "Stopping zookeeper ... STOPPED" or "... no zookeeper to stop
//! (could not find file F)" (both exit 0); status's "Client port found: ..."
//! then the `Mode:` line (exit 0) or "Error contacting service. It is
//! probably not running." (exit 1). Java's "ZooKeeper JMX enabled by
//! default" line has no meaning here and is not printed.
//!
//! Invariants:
//! - The configuration file is resolved as `zkServer.sh` resolves it (see
//!   [`config_path`]); the pid file is `$ZOOPIDFILE` or
//!   `<dataDir>/zookeeper_server.pid`; the daemon's output goes to
//!   `$ZOO_LOG_DIR/zookeeper-$USER-server-$HOSTNAME.out`.
//! - Every wait is bounded ([`daemon::START_WAIT`], [`daemon::STOP_WAIT`]).
//! - Where the script is sloppy we are strict only to report better, never
//!   to change an exit code the script gives for the same situation, except
//!   one: an unknown command exits 1 (the script prints usage and exits 0).

pub mod daemon;
pub mod pid_file;
pub mod status;

use crate::config::Config;
use std::path::{Path, PathBuf};

/// What every command needs to know about where things are.
#[derive(Debug, Clone)]
pub struct Ctl {
    /// The resolved configuration file.
    pub config_path: PathBuf,
    /// `$ZOO_LOG_DIR` or `.`.
    pub log_dir: PathBuf,
    /// The binary to run as the daemon (this one).
    pub exe: PathBuf,
}

/// Where the configuration file is, following `zkServer.sh`'s rules: a bare
/// file name is looked up in the config directory (`--config`, else
/// `$ZOOCFGDIR`, else `conf`), a path containing `/` is used as given.
pub fn config_path(conf_dir: Option<PathBuf>, arg: Option<&str>) -> PathBuf {
    let dir = conf_dir.unwrap_or_else(|| PathBuf::from("conf"));
    match arg {
        None => dir.join("zoo.cfg"),
        Some(arg) if arg.contains('/') => PathBuf::from(arg),
        Some(arg) => {
            let in_dir = dir.join(arg);
            // Friendlier than zkServer.sh: a bare name that is not in the
            // config directory but is in the current one is used from there.
            if !in_dir.exists() && Path::new(arg).exists() {
                PathBuf::from(arg)
            } else {
                in_dir
            }
        }
    }
}

impl Ctl {
    pub fn new(config_path: PathBuf) -> Ctl {
        Ctl {
            config_path,
            log_dir: crate::logging::log_dir(),
            exe: std::env::current_exe().unwrap_or_else(|_| PathBuf::from("zkserver")),
        }
    }

    /// `zookeeper-$USER-server-$HOSTNAME.out` in the log directory.
    pub fn daemon_out(&self) -> PathBuf {
        self.log_dir.join(format!(
            "zookeeper-{}-server-{}.out",
            crate::logging::user(),
            crate::logging::host_name()
        ))
    }

    /// The configuration the server would run on (with `JVMFLAGS`).
    pub fn load_config(&self) -> Result<Config, crate::config::ConfigError> {
        Config::load_for_server(&self.config_path)
    }

    /// The pid file, from the configuration's `dataDir`. A configuration
    /// that does not load still yields its `dataDir` line when it has one,
    /// so a server can be stopped after its file was broken (the script
    /// greps for the line too).
    pub fn pid_file(&self) -> Result<PathBuf, String> {
        let data_dir = match self.load_config() {
            Ok(config) => config.data_dir,
            Err(e) => match crate::config::raw_value(&self.config_path, "dataDir") {
                Some(dir) => PathBuf::from(dir),
                None => return Err(e.to_string()),
            },
        };
        Ok(pid_file::location(&data_dir))
    }
}

/// Runs a lifecycle command; returns the exit status.
pub fn run(command: &str, ctl: &Ctl) -> u8 {
    eprintln!("Using config: {}", ctl.config_path.display());
    match command {
        "start" => daemon::start(ctl),
        "stop" => daemon::stop(ctl),
        "restart" => match daemon::stop(ctl) {
            0 => daemon::start(ctl),
            code => code,
        },
        "status" => status_command(ctl),
        "print-cmd" => {
            println!("{}", daemon::command_line(ctl));
            0
        }
        _ => 1,
    }
}

fn status_command(ctl: &Ctl) -> u8 {
    let config = match ctl.load_config() {
        Ok(c) => c,
        Err(e) => {
            eprintln!("zkserver: {e}");
            return 1;
        }
    };
    // The script greps clientPortAddress and falls back to "localhost".
    let address = config
        .client_port_address
        .clone()
        .unwrap_or_else(|| "localhost".to_string());
    println!(
        "Client port found: {}. Client address: {address}. Client SSL: false.",
        config.client_port
    );
    match status::mode(&address, config.client_port) {
        Some(mode) => {
            println!("{mode}");
            0
        }
        None => {
            println!("Error contacting service. It is probably not running.");
            1
        }
    }
}
