//! Where the server's log lines go and which ones, from the environment
//! `zkServer.sh` uses.
//!
//! - `ZOO_LOG4J_PROP` = `LEVEL[,APPENDER...]` (log4j's spelling, as in
//!   `INFO,ROLLINGFILE` or `DEBUG,CONSOLE`): the level, and `CONSOLE`
//!   (stderr) and/or a file appender (`ROLLINGFILE`, `FILE`, `TRACEFILE`).
//! - Without it, the console, plus the file when `ZOO_LOG_FILE` is set (as
//!   3.8's logback.xml logs to the console and writes a file only when told).
//!   `zkserver start` sets `ZOO_LOG4J_PROP=INFO,ROLLINGFILE` for its daemon
//!   unless the operator set one.
//! - The file is `$ZOO_LOG_DIR/$ZOO_LOG_FILE` (defaults `.` and
//!   `zookeeper-$USER-server-$HOSTNAME.log`, the names `zkServer.sh` uses).
//! - `ZK_LOG`, else `RUST_LOG` (tracing filter directives), override the level.
//!
//! Invariants: the file is opened for append and each event reaches it in one
//! unbuffered `write` (the formatter assembles the line first), so nothing is
//! held in memory to be lost at exit and concurrent lines never interleave.
//! A file that cannot be opened stops start-up with the reason.

use std::path::PathBuf;

/// ZooKeeper 3.4's default log directory, the current one.
pub const DEFAULT_LOG_DIR: &str = ".";

/// What [`init`] sets up.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LogSettings {
    /// A tracing `EnvFilter` spec.
    pub filter: String,
    pub console: bool,
    pub file: Option<PathBuf>,
    /// Appender or level names we did not understand.
    pub warnings: Vec<String>,
}

/// `$USER` as the shell has it (empty when unset, as in `zkServer.sh`).
pub fn user() -> String {
    std::env::var("USER").unwrap_or_default()
}

/// `$HOSTNAME`, else the kernel's host name (bash always has `$HOSTNAME`).
pub fn host_name() -> String {
    match std::env::var("HOSTNAME") {
        Ok(h) if !h.is_empty() => h,
        _ => std::fs::read_to_string("/proc/sys/kernel/hostname")
            .map(|h| h.trim().to_string())
            .ok()
            .filter(|h| !h.is_empty())
            .unwrap_or_else(|| "localhost".to_string()),
    }
}

/// `$ZOO_LOG_DIR`, else [`DEFAULT_LOG_DIR`].
pub fn log_dir() -> PathBuf {
    match std::env::var_os("ZOO_LOG_DIR") {
        Some(d) if !d.is_empty() => PathBuf::from(d),
        _ => PathBuf::from(DEFAULT_LOG_DIR),
    }
}

/// `$ZOO_LOG_FILE`, else `zookeeper-$USER-server-$HOSTNAME.log`.
pub fn log_file_name() -> String {
    match std::env::var("ZOO_LOG_FILE") {
        Ok(f) if !f.is_empty() => f,
        _ => format!("zookeeper-{}-server-{}.log", user(), host_name()),
    }
}

/// Maps a log4j level name to a tracing one.
fn tracing_level(log4j: &str) -> Option<&'static str> {
    Some(match log4j.trim().to_ascii_uppercase().as_str() {
        "ALL" | "TRACE" => "trace",
        "DEBUG" => "debug",
        "INFO" => "info",
        "WARN" => "warn",
        "ERROR" | "FATAL" => "error",
        "OFF" => "off",
        _ => return None,
    })
}

impl LogSettings {
    /// Reads the settings from the environment (see the module docs).
    pub fn from_env() -> LogSettings {
        let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
        let file_asked = var("ZOO_LOG_FILE").is_some();
        let override_filter = var("ZK_LOG").or_else(|| var("RUST_LOG"));
        let file = log_dir().join(log_file_name());
        LogSettings::decide(
            var("ZOO_LOG4J_PROP").as_deref(),
            file_asked,
            override_filter,
            file,
        )
    }

    /// The rules, on explicit inputs.
    pub fn decide(
        log4j_prop: Option<&str>,
        file_asked: bool,
        override_filter: Option<String>,
        file: PathBuf,
    ) -> LogSettings {
        let mut warnings = Vec::new();
        let mut level = "info";
        let (mut console, mut to_file) = (true, file_asked);
        if let Some(prop) = log4j_prop {
            let mut parts = prop.split(',');
            let first = parts.next().unwrap_or("");
            match tracing_level(first) {
                Some(l) => level = l,
                None => warnings.push(format!("ZOO_LOG4J_PROP: unknown level {first:?}")),
            }
            let appenders: Vec<String> = parts
                .map(|a| a.trim().to_ascii_uppercase())
                .filter(|a| !a.is_empty())
                .collect();
            if !appenders.is_empty() {
                console = false;
                to_file = false;
                for a in &appenders {
                    match a.as_str() {
                        "CONSOLE" => console = true,
                        "ROLLINGFILE" | "FILE" | "TRACEFILE" => to_file = true,
                        _ => warnings.push(format!("ZOO_LOG4J_PROP: unknown appender {a:?}")),
                    }
                }
            }
        }
        LogSettings {
            filter: override_filter.unwrap_or_else(|| level.to_string()),
            console,
            file: to_file.then_some(file),
            warnings,
        }
    }
}

/// Installs the global subscriber. Errors only when the log file cannot be
/// opened; a bad filter falls back to `info` with a warning.
pub fn init(settings: &LogSettings) -> std::io::Result<()> {
    use tracing_subscriber::prelude::*;
    use tracing_subscriber::{fmt, EnvFilter};
    let (filter, bad_filter) = match EnvFilter::try_new(&settings.filter) {
        Ok(f) => (f, false),
        Err(_) => (EnvFilter::new("info"), true),
    };
    let file_layer = match &settings.file {
        Some(path) => {
            if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
                std::fs::create_dir_all(dir)?;
            }
            let file = std::fs::OpenOptions::new()
                .create(true)
                .append(true)
                .open(path)
                .map_err(|e| {
                    std::io::Error::new(e.kind(), format!("log file {}: {e}", path.display()))
                })?;
            Some(
                fmt::layer()
                    .with_writer(std::sync::Mutex::new(file))
                    .with_ansi(false),
            )
        }
        None => None,
    };
    // Colour only for a terminal: escape codes in a log file are noise.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
    let console_layer = settings
        .console
        .then(|| fmt::layer().with_writer(std::io::stderr).with_ansi(ansi));
    tracing_subscriber::registry()
        .with(filter)
        .with(file_layer)
        .with(console_layer)
        .init();
    if bad_filter {
        tracing::warn!(
            "bad log filter {:?} (ZK_LOG/RUST_LOG); using info",
            settings.filter
        );
    }
    for w in &settings.warnings {
        tracing::warn!("{w}");
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn decide(prop: Option<&str>, file_asked: bool) -> LogSettings {
        LogSettings::decide(prop, file_asked, None, PathBuf::from("/l/z.log"))
    }

    #[test]
    fn console_by_default_file_when_asked() {
        let s = decide(None, false);
        assert_eq!((s.filter.as_str(), s.console, s.file), ("info", true, None));
        let s = decide(None, true);
        assert!(s.console);
        assert_eq!(s.file, Some(PathBuf::from("/l/z.log")));
    }

    #[test]
    fn log4j_prop_names_level_and_appenders() {
        let s = decide(Some("INFO,ROLLINGFILE"), false);
        assert_eq!((s.filter.as_str(), s.console), ("info", false));
        assert!(s.file.is_some());
        let s = decide(Some("DEBUG,CONSOLE"), true);
        assert_eq!(
            (s.filter.as_str(), s.console, s.file),
            ("debug", true, None)
        );
        let s = decide(Some("WARN"), false);
        assert_eq!((s.filter.as_str(), s.console, s.file), ("warn", true, None));
        let s = decide(Some("TRACE, CONSOLE , ROLLINGFILE"), false);
        assert!(s.console && s.file.is_some() && s.filter == "trace");
        let s = decide(Some("LOUD,PIGEON"), false);
        assert_eq!(s.filter, "info");
        assert_eq!(s.warnings.len(), 2, "{:?}", s.warnings);
    }

    #[test]
    fn zk_log_overrides_the_level() {
        let s = LogSettings::decide(
            Some("ERROR,CONSOLE"),
            false,
            Some("zk_server=debug".into()),
            PathBuf::from("x"),
        );
        assert_eq!(s.filter, "zk_server=debug");
    }
}
