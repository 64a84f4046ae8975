//! `zoo.cfg`: Java-properties text turned into a typed [`Config`].
//!
//! Invariants:
//! - Parsing is pure: [`Config::parse`] reads only the text it is given, so
//!   every rule is unit-testable; [`Config::load`] only adds the file read.
//! - A key we act on either parses into its typed field or fails the whole
//!   load with a [`ConfigError`] naming the file, line, key and value: a
//!   server must never start on a half-understood setting.
//! - A key ZooKeeper knows but we do not act on is kept verbatim in
//!   [`Config::extra`]; a key nobody knows only adds to [`Config::warnings`]
//!   (ZooKeeper turns unknown keys into system properties, so refusing them
//!   would reject configs that work with ZooKeeper).
//! - Every key is also accepted with a `zookeeper.` prefix, the spelling used
//!   when the same setting is passed as a JVM system property.
//! - When a key is repeated the last value wins, as in `java.util.Properties`.

pub mod ensemble;
mod key_rules;
pub mod quorum;
pub mod system_properties;
mod tls;

pub use tls::{ClientAuth, ClientTls, TlsVersion, SUPPORTED_CIPHER_SUITES};

use crate::core::CoreConfig;
use std::collections::{BTreeMap, BTreeSet};
use std::fmt;
use std::path::{Path, PathBuf};
pub use system_properties::SystemProperties;

/// ZooKeeper's built-in `tickTime` when the file gives none.
pub const DEFAULT_TICK_TIME_MS: i32 = 3000;
/// `maxClientCnxns` default: connections allowed per client IP.
pub const DEFAULT_MAX_CLIENT_CNXNS: u32 = 60;
/// `globalOutstandingLimit` default.
pub const DEFAULT_GLOBAL_OUTSTANDING_LIMIT: u32 = 1000;
/// `admin.serverPort` default.
pub const DEFAULT_ADMIN_SERVER_PORT: u16 = 8080;

/// The four-letter words ZooKeeper 3.8 knows, in its documentation order.
pub const FOUR_LETTER_WORDS: [&str; 18] = [
    "conf", "cons", "crst", "dump", "envi", "ruok", "srst", "srvr", "stat", "wchs", "wchc", "wchp",
    "dirs", "mntr", "isro", "hash", "gtmk", "stmk",
];

/// Which four-letter words may run (`4lw.commands.whitelist`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FourLetterWhitelist {
    /// `*`: every word.
    All,
    /// Only these words.
    Only(BTreeSet<String>),
}

impl FourLetterWhitelist {
    /// Whether `word` may run.
    pub fn allows(&self, word: &str) -> bool {
        match self {
            FourLetterWhitelist::All => true,
            FourLetterWhitelist::Only(words) => words.contains(word),
        }
    }
}

impl Default for FourLetterWhitelist {
    /// ZooKeeper enables only `srvr` unless told otherwise.
    fn default() -> Self {
        FourLetterWhitelist::Only(BTreeSet::from(["srvr".to_string()]))
    }
}

/// The server's settings, read from `zoo.cfg`.
#[derive(Debug, Clone)]
pub struct Config {
    /// The file name used in messages (as given to `parse`/`load`).
    pub file_name: String,
    pub tick_time_ms: i32,
    pub data_dir: PathBuf,
    /// Defaults to `data_dir`.
    pub data_log_dir: PathBuf,
    /// 0 asks the OS for a free port (useful in tests).
    pub client_port: u16,
    /// Host or IP to bind; `None` binds every address.
    pub client_port_address: Option<String>,
    /// Connections allowed per client IP; 0 = unlimited.
    pub max_client_cnxns_per_ip: u32,
    /// Defaults to 2 × `tick_time_ms`.
    pub session_timeout_ms_min: i32,
    /// Defaults to 20 × `tick_time_ms`.
    pub session_timeout_ms_max: i32,
    pub global_outstanding_limit: u32,
    /// `jute.maxbuffer`: the largest frame a client may send.
    pub jute_max_buffer_bytes: usize,
    pub four_letter_whitelist: FourLetterWhitelist,
    /// `admin.enableServer`: serve the admin HTTP API (default true).
    pub admin_enable_server: bool,
    pub admin_server_port: u16,
    /// `admin.serverAddress` (default `0.0.0.0`).
    pub admin_server_address: String,
    /// `admin.commandURL` (default `/commands`).
    pub admin_command_url: String,
    /// `admin.idleTimeout`: ms an admin connection may wait between requests.
    pub admin_idle_timeout_ms: u64,
    /// `metricsProvider.className`; Prometheus's enables `/metrics`.
    pub metrics_provider_class_name: Option<String>,
    /// `metricsProvider.httpHost` (default `0.0.0.0`).
    pub metrics_provider_http_host: String,
    /// `metricsProvider.httpPort` (default 7000).
    pub metrics_provider_http_port: u16,
    pub reconfig_enabled: bool,
    pub skip_acl: bool,
    /// TTL nodes; on by default here (ZooKeeper defaults it off).
    pub extended_types_enabled: bool,
    pub container_check_interval_ms: i64,
    pub container_max_per_minute: i64,
    /// 0 disables reaping of never-used containers (3.8.0's default).
    pub container_max_never_used_interval_ms: i64,
    /// `DigestAuthenticationProvider.superDigest`: `super:<base64 sha1>`.
    pub super_digest: Option<String>,
    pub enforce_quota: bool,
    /// `forceSync`: fdatasync the txn log once per group commit (default yes).
    pub force_sync: bool,
    /// `preAllocSize`: the txn log grows in blocks of this many KB (64 MB).
    pub prealloc_size_kb: u64,
    /// `fsync.warningthresholdms`: warn when one fsync takes longer.
    pub fsync_warning_threshold_ms: u64,
    /// `snapCount`: roughly how many txns go into one log file before it
    /// rolls and a snapshot is taken (randomized between half and all of
    /// it, as ZooKeeper does). At least 2.
    pub snap_count: u64,
    /// `snapSizeLimitInKb`: the same, by log bytes; 0 disables it.
    pub snap_size_limit_kb: u64,
    /// `autopurge.snapRetainCount`: snapshots (and the logs they need) kept
    /// by the purge task. At least 3.
    pub autopurge_snap_retain_count: u32,
    /// `autopurge.purgeInterval`: hours between purges; 0 disables them.
    pub autopurge_purge_interval_hours: u32,
    /// `secureClientPort`, `ssl.*` and the other client-TLS keys (`config::tls`).
    pub client_tls: ClientTls,
    /// Keys ZooKeeper knows that we accept but do not act on, as written.
    pub extra: BTreeMap<String, String>,
    /// Messages about keys that were ignored; logged at start-up.
    pub warnings: Vec<String>,
    /// Keys accepted with no effect by design (Java internals); logged at
    /// start-up as information.
    pub notes: Vec<String>,
    /// The `server.N` lines, by id (also when they configure no ensemble).
    pub quorum_servers: Vec<ensemble::QuorumServer>,
    /// The ensemble this server belongs to (`config::quorum`); `None` when
    /// standalone.
    pub quorum: Option<quorum::QuorumConfig>,
}

/// Why a configuration could not be used.
#[derive(Debug)]
pub struct ConfigError {
    pub file_name: String,
    pub kind: ConfigErrorKind,
}

/// The specific problem in a [`ConfigError`].
#[derive(Debug)]
pub enum ConfigErrorKind {
    /// The file could not be read.
    Io(std::io::Error),
    /// The text is not valid properties syntax (a bad `\u` escape).
    Syntax { line: usize, reason: &'static str },
    /// A value could not be parsed or is out of range.
    InvalidValue {
        line: usize,
        key: String,
        value: String,
        expected: &'static str,
    },
    /// A required key is absent.
    Missing { key: &'static str },
    /// Values that are fine alone but contradict each other.
    Inconsistent { reason: String },
}

impl fmt::Display for ConfigError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let file = &self.file_name;
        match &self.kind {
            ConfigErrorKind::Io(e) => write!(f, "{file}: cannot read the configuration: {e}"),
            ConfigErrorKind::Syntax { line, reason } => write!(f, "{file}:{line}: {reason}"),
            ConfigErrorKind::InvalidValue {
                line,
                key,
                value,
                expected,
            } if *line == 0 => {
                write!(
                    f,
                    "{file}: invalid value {value:?} for {key}: expected {expected}"
                )
            }
            ConfigErrorKind::InvalidValue {
                line,
                key,
                value,
                expected,
            } => {
                write!(
                    f,
                    "{file}:{line}: invalid value {value:?} for {key}: expected {expected}"
                )
            }
            ConfigErrorKind::Missing { key } => write!(f, "{file}: {key} is not set"),
            ConfigErrorKind::Inconsistent { reason } => write!(f, "{file}: {reason}"),
        }
    }
}

impl std::error::Error for ConfigError {}

/// Keys ZooKeeper knows that we accept without acting on them.
const KNOWN_IGNORED: &[&str] = &[
    "initLimit",
    "syncLimit",
    "connectToLearnerMasterLimit",
    "txnLogSizeLimitInKb",
    "standaloneEnabled",
    "maxCnxns",
    "electionAlg",
    "electionPortBindRetry",
    "quorumListenOnAllIPs",
    "peerType",
    "dynamicConfigFile",
    "localSessionsEnabled",
    "localSessionsUpgradingEnabled",
    "observerMasterPort",
    "sslQuorum",
    "portUnification",
    "sslQuorumReloadCertFiles",
    "client.secure",
    "digest.enabled",
    "snapshot.compression.method",
    "snapshot.trust.empty",
    "maxConcurrentSnapSyncs",
    "maxConcurrentDiffSyncs",
    "leaderServes",
    "cnxTimeout",
    "quorumCnxnTimeoutMs",
    "clientPortListenBacklog",
    "serverCnxnFactory",
    "readonlymode.enabled",
    "audit.enable",
    "tcpKeepAlive",
    "clientTcpKeepAlive",
    "sessionRequireClientSASLAuth",
    "superUser",
    "ensembleAuthName",
    "emulate353TTLNodes",
    "multiAddress.enabled",
    "multiAddress.reachabilityCheckEnabled",
    "multiAddress.reachabilityCheckTimeoutMs",
    "learnerTimeout",
    "syncEnabled",
    "jute.maxbuffer.extrasize",
    "request_throttler.shutdownTimeout",
    "requestThrottleLimit",
    "requestThrottleStallTime",
    "requestThrottleDropStale",
    "requestStaleLatencyCheck",
    "requestStaleConnectionCheck",
    "throttledOpWaitTime",
    "connectionMaxTokens",
    "connectionTokenFillTime",
    "connectionTokenFillCount",
    "connectionFreezeTime",
    "connectionDropIncrease",
    "connectionDropDecrease",
    "connectionDecreaseRatio",
    "commitLogCount",
    "snapshotSizeFactor",
    "forceSnapshotSync",
    "flushDelay",
    "maxWriteQueuePollTime",
    "maxBatchSize",
    "closeSessionTxn.enabled",
    "DigestAuthenticationProvider.digestAlg",
    "DigestAuthenticationProvider.enabled",
    "IPAuthenticationProvider.usexforwardedfor",
    "kerberos.removeHostFromPrincipal",
    "kerberos.removeRealmFromPrincipal",
    "admin.commandURL",
    "admin.idleTimeout",
    "admin.serverAddress",
    "admin.portUnification",
    "admin.needClientAuth",
    "admin.forceHttps",
];

/// Key families ZooKeeper knows (`server.1`, `autopurge.purgeInterval`, ...).
const KNOWN_IGNORED_PREFIXES: &[&str] = &[
    "server.",
    "group.",
    "weight.",
    "autopurge.",
    "metricsProvider.",
    "ssl.",
    "quorum.",
    "nio.",
    "netty.",
    "commitProcessor.",
    "authProvider.",
    "enforce.auth.",
    "jvm.pause.",
    "learner.",
    "leader.",
    "follower.",
    "observer.",
    "fastleader.",
];

/// One `key=value` entry with the line it started on.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    line: usize,
    key: String,
    value: String,
}

impl Entry {
    /// This entry's value refused: `expected` says what it should be.
    fn invalid(&self, expected: &'static str) -> ConfigErrorKind {
        ConfigErrorKind::InvalidValue {
            line: self.line,
            key: self.key.clone(),
            value: self.value.clone(),
            expected,
        }
    }
}

impl Config {
    /// Reads and parses the file at `path`.
    pub fn load(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        Config::load_with(path, &SystemProperties::default())
    }

    /// Reads the file at `path`, with the system properties of
    /// `$SERVER_JVMFLAGS $JVMFLAGS` under it: what the server runs on.
    pub fn load_for_server(path: impl AsRef<Path>) -> Result<Config, ConfigError> {
        Config::load_with(path, &SystemProperties::from_env())
    }

    /// Reads and parses the file at `path`, with `props` under it.
    pub fn load_with(
        path: impl AsRef<Path>,
        props: &SystemProperties,
    ) -> Result<Config, ConfigError> {
        let path = path.as_ref();
        let file_name = path.display().to_string();
        let text = std::fs::read_to_string(path).map_err(|e| ConfigError {
            file_name: file_name.clone(),
            kind: ConfigErrorKind::Io(e),
        })?;
        Config::parse_inner(&text, &file_name, props, &read_myid)
    }

    /// Parses `text`; `file_name` is only used in messages.
    pub fn parse(text: &str, file_name: &str) -> Result<Config, ConfigError> {
        Config::parse_with(text, file_name, &SystemProperties::default())
    }

    /// Parses `text` with the system properties `props` under it: a key the
    /// file sets wins over its property (see [`system_properties`]). An error
    /// in a property names `JVMFLAGS` and the `-D` flag.
    pub fn parse_with(
        text: &str,
        file_name: &str,
        props: &SystemProperties,
    ) -> Result<Config, ConfigError> {
        Config::parse_inner(text, file_name, props, &|dir| quorum::MyId::Missing {
            path: dir.join("myid"),
        })
    }

    /// As [`Config::parse_with`], with `myid` as the content of
    /// `<dataDir>/myid` (`None`: there is no such file).
    pub fn parse_with_myid(
        text: &str,
        file_name: &str,
        props: &SystemProperties,
        myid: Option<&str>,
    ) -> Result<Config, ConfigError> {
        Config::parse_inner(text, file_name, props, &|dir| {
            let path = dir.join("myid");
            match myid {
                None => quorum::MyId::Missing { path },
                Some(text) => quorum::MyId::FirstLine {
                    path,
                    line: first_line(text),
                },
            }
        })
    }

    fn parse_inner(
        text: &str,
        file_name: &str,
        props: &SystemProperties,
        myid: &dyn Fn(&Path) -> quorum::MyId,
    ) -> Result<Config, ConfigError> {
        let err = |kind| ConfigError {
            file_name: file_name.to_string(),
            kind,
        };
        let entries = parse_properties(text)
            .map_err(|(line, reason)| err(ConfigErrorKind::Syntax { line, reason }))?;
        let mut b = Builder::default();
        // Last value wins, as `java.util.Properties` would have it.
        let mut latest: BTreeMap<String, Entry> = BTreeMap::new();
        for entry in entries {
            latest.insert(canonical_key(&entry.key).to_string(), entry);
        }
        b.add_system_properties(props, &mut latest);
        let mut ordered: Vec<(String, Entry)> = latest.into_iter().collect();
        ordered.sort_by_key(|(_, e)| e.line);
        for (key, entry) in &ordered {
            b.apply(key, entry).map_err(|kind| match kind {
                // Line 0 is where system properties live.
                ConfigErrorKind::InvalidValue {
                    line: 0,
                    key,
                    value,
                    expected,
                } => ConfigError {
                    file_name: "JVMFLAGS".to_string(),
                    kind: ConfigErrorKind::InvalidValue {
                        line: 0,
                        key: format!("-D{key}"),
                        value,
                        expected,
                    },
                },
                kind => err(kind),
            })?;
        }
        b.finish(myid).map_err(err).map(|mut c| {
            c.file_name = file_name.to_string();
            c
        })
    }

    /// The settings the core needs.
    pub fn core_config(&self) -> CoreConfig {
        CoreConfig {
            tick_time_ms: self.tick_time_ms,
            session_timeout_ms_min: self.session_timeout_ms_min,
            session_timeout_ms_max: self.session_timeout_ms_max,
            server_id: 0,
            skip_acl: self.skip_acl,
            extended_types_enabled: self.extended_types_enabled,
            reconfig_enabled: self.reconfig_enabled,
            container_check_interval_ms: self.container_check_interval_ms,
            container_max_per_minute: self.container_max_per_minute,
            container_max_never_used_interval_ms: self.container_max_never_used_interval_ms,
            super_digest: self.super_digest.clone(),
            jute_max_buffer_bytes: self.jute_max_buffer_bytes,
            outstanding_requests_max: self.global_outstanding_limit as usize,
            enforce_quota: self.enforce_quota,
        }
    }

    /// The runner's tick: often enough to expire sessions promptly, but at
    /// most every 500 ms so an idle server stays cheap.
    pub fn runner_tick_ms(&self) -> u64 {
        (self.tick_time_ms as u64 / 2).clamp(1, 500)
    }
}

/// The last value of `key` in the file at `path`, read with the same
/// properties syntax but none of the validation: for tools that need one
/// setting from a file that may not load (`zkserver stop` and `dataDir`).
pub fn raw_value(path: &Path, key: &str) -> Option<String> {
    let text = std::fs::read_to_string(path).ok()?;
    parse_properties(&text)
        .ok()?
        .into_iter()
        .rev()
        .find(|e| canonical_key(&e.key) == key && !e.value.is_empty())
        .map(|e| e.value)
}

/// `<data_dir>/myid` as 3.8.0's `setupMyId` reads it: missing unless it is
/// a regular file; else its first line.
pub fn read_myid(data_dir: &Path) -> quorum::MyId {
    let path = data_dir.join("myid");
    match std::fs::read(&path) {
        Ok(bytes) if path.is_file() => {
            let line = first_line(&String::from_utf8_lossy(&bytes));
            quorum::MyId::FirstLine { path, line }
        }
        _ => quorum::MyId::Missing { path },
    }
}

/// Java's `BufferedReader.readLine`: up to the first `\n` or `\r`; `None`
/// for empty text.
fn first_line(text: &str) -> Option<String> {
    if text.is_empty() {
        return None;
    }
    Some(text.split(['\n', '\r']).next().unwrap_or("").to_string())
}

/// The key with any `zookeeper.` prefix removed when the rest is a key we know.
fn canonical_key(key: &str) -> &str {
    match key.strip_prefix("zookeeper.") {
        Some(rest) if is_known(rest) => rest,
        _ => key,
    }
}

fn is_acted_on(key: &str) -> bool {
    matches!(
        key,
        "tickTime"
            | "dataDir"
            | "dataLogDir"
            | "clientPort"
            | "clientPortAddress"
            | "maxClientCnxns"
            | "minSessionTimeout"
            | "maxSessionTimeout"
            | "globalOutstandingLimit"
            | "jute.maxbuffer"
            | "4lw.commands.whitelist"
            | "admin.enableServer"
            | "admin.serverPort"
            | "reconfigEnabled"
            | "skipACL"
            | "extendedTypesEnabled"
            | "znode.container.checkIntervalMs"
            | "znode.container.maxPerMinute"
            | "znode.container.maxNeverUsedIntervalMs"
            | "DigestAuthenticationProvider.superDigest"
            | "enforceQuota"
            | "forceSync"
            | "preAllocSize"
            | "fsync.warningthresholdms"
            | "snapCount"
            | "snapSizeLimitInKb"
            | "autopurge.snapRetainCount"
            | "autopurge.purgeInterval"
    )
}

fn is_known_ignored(key: &str) -> bool {
    KNOWN_IGNORED.contains(&key) || KNOWN_IGNORED_PREFIXES.iter().any(|p| key.starts_with(p))
}

fn is_known(key: &str) -> bool {
    is_acted_on(key) || tls::is_tls_key(key) || is_known_ignored(key)
}

/// Accumulates values; `finish` fills defaults that depend on other keys.
#[derive(Default)]
struct Builder {
    tick_time_ms: Option<i32>,
    data_dir: Option<PathBuf>,
    data_log_dir: Option<PathBuf>,
    client_port: Option<u16>,
    client_port_address: Option<String>,
    max_client_cnxns_per_ip: Option<u32>,
    session_timeout_ms_min: Option<(usize, i32)>,
    session_timeout_ms_max: Option<(usize, i32)>,
    global_outstanding_limit: Option<u32>,
    jute_max_buffer_bytes: Option<usize>,
    four_letter_whitelist: Option<FourLetterWhitelist>,
    admin_enable_server: Option<bool>,
    admin_server_port: Option<u16>,
    admin_server_address: Option<String>,
    admin_command_url: Option<String>,
    admin_idle_timeout_ms: Option<u64>,
    metrics_provider_class_name: Option<String>,
    metrics_provider_http_host: Option<String>,
    metrics_provider_http_port: Option<u16>,
    reconfig_enabled: Option<bool>,
    skip_acl: Option<bool>,
    extended_types_enabled: Option<bool>,
    container_check_interval_ms: Option<i64>,
    container_max_per_minute: Option<i64>,
    container_max_never_used_interval_ms: Option<i64>,
    super_digest: Option<String>,
    enforce_quota: Option<bool>,
    force_sync: Option<bool>,
    prealloc_size_kb: Option<u64>,
    fsync_warning_threshold_ms: Option<u64>,
    snap_count: Option<u64>,
    snap_size_limit_kb: Option<u64>,
    autopurge_snap_retain_count: Option<u32>,
    autopurge_purge_interval_hours: Option<u32>,
    tls: tls::TlsBuilder,
    extra: BTreeMap<String, String>,
    warnings: Vec<String>,
    notes: Vec<String>,
    ensemble_keys: Vec<String>,
    /// The `server.N` lines with the line each came from.
    quorum_servers: Vec<(usize, ensemble::QuorumServer)>,
    /// The keys `config::quorum` acts on, as written.
    quorum_keys: BTreeMap<String, quorum::Raw>,
    /// Lines of `clientPort` and `clientPortAddress`, for quorum messages.
    client_port_line: usize,
    client_port_address_line: usize,
}

impl Builder {
    /// Adds each property that sets a key the file does not set, as an entry
    /// on line 0; notes the ones that do nothing.
    fn add_system_properties(
        &mut self,
        props: &SystemProperties,
        latest: &mut BTreeMap<String, Entry>,
    ) {
        use system_properties::Target;
        for flag in &props.ignored_flags {
            self.warnings
                .push(format!("JVMFLAGS: {flag} is a JVM option; ignored"));
        }
        let mut from_props: BTreeMap<String, Entry> = BTreeMap::new();
        for (name, value) in &props.properties {
            match system_properties::target(name, is_known) {
                Target::Key(key) => {
                    let entry = Entry {
                        line: 0,
                        key: name.clone(),
                        value: value.clone(),
                    };
                    from_props.insert(key.to_string(), entry);
                }
                Target::FileOnly(key) => self.warnings.push(format!(
                    "JVMFLAGS: -D{name} ignored: ZooKeeper reads {key} only from the configuration file"
                )),
                Target::Other => {}
            }
        }
        for (key, entry) in from_props {
            match latest.get(&key) {
                Some(file_entry) => self.warnings.push(format!(
                    "line {}: {} overrides JVMFLAGS -D{}",
                    file_entry.line, file_entry.key, entry.key
                )),
                None => {
                    latest.insert(key, entry);
                }
            }
        }
    }

    fn apply(&mut self, key: &str, e: &Entry) -> Result<(), ConfigErrorKind> {
        let v = e.value.as_str();
        let bad = |expected: &'static str| e.invalid(expected);
        match key {
            "tickTime" => {
                let ms = v.parse::<i32>().ok().filter(|ms| *ms > 0);
                self.tick_time_ms = Some(ms.ok_or_else(|| bad("a positive number of ms"))?);
            }
            "dataDir" | "dataLogDir" => {
                if v.is_empty() {
                    return Err(bad("a directory path"));
                }
                let slot = if key == "dataDir" {
                    &mut self.data_dir
                } else {
                    &mut self.data_log_dir
                };
                *slot = Some(PathBuf::from(v));
            }
            "clientPort" => {
                self.client_port = Some(parse_port(v).ok_or_else(|| bad(PORT))?);
                self.client_port_line = e.line;
            }
            "admin.serverPort" => {
                self.admin_server_port = Some(parse_port(v).ok_or_else(|| bad(PORT))?)
            }
            "admin.serverAddress" => self.admin_server_address = Some(v.to_string()),
            "admin.commandURL" => {
                if !v.starts_with('/') {
                    return Err(bad("a URL path starting with /"));
                }
                self.admin_command_url = Some(v.trim_end_matches('/').to_string());
            }
            "admin.idleTimeout" => {
                let n = v.parse::<u64>().ok().filter(|n| *n > 0);
                self.admin_idle_timeout_ms = Some(n.ok_or_else(|| bad("a positive number of ms"))?);
            }
            "metricsProvider.className" => self.metrics_provider_class_name = Some(v.to_string()),
            "metricsProvider.httpHost" => self.metrics_provider_http_host = Some(v.to_string()),
            "metricsProvider.httpPort" => {
                self.metrics_provider_http_port = Some(parse_port(v).ok_or_else(|| bad(PORT))?)
            }
            "clientPortAddress" => {
                let ok = v.parse::<std::net::IpAddr>().is_ok() || is_host_name(v);
                if !ok {
                    return Err(bad("a host name or IP address"));
                }
                self.client_port_address = Some(v.to_string());
                self.client_port_address_line = e.line;
            }
            "maxClientCnxns" => {
                let n = v.parse::<u32>().ok().filter(|n| *n <= i32::MAX as u32);
                self.max_client_cnxns_per_ip =
                    Some(n.ok_or_else(|| bad("a number of connections (0 = unlimited)"))?);
            }
            "minSessionTimeout" | "maxSessionTimeout" => {
                // -1 is ZooKeeper's "use the default derived from tickTime".
                let ms = v.parse::<i32>().ok().filter(|ms| *ms >= -1);
                let ms = ms.ok_or_else(|| bad("a number of ms (-1 = default)"))?;
                let slot = if key == "minSessionTimeout" {
                    &mut self.session_timeout_ms_min
                } else {
                    &mut self.session_timeout_ms_max
                };
                *slot = if ms == -1 { None } else { Some((e.line, ms)) };
            }
            "globalOutstandingLimit" => {
                let n = v.parse::<i32>().ok().filter(|n| *n > 0).map(|n| n as u32);
                self.global_outstanding_limit = Some(n.ok_or_else(|| bad("a positive number"))?);
            }
            "jute.maxbuffer" => {
                let n = parse_decimal_or_hex(v).filter(|n| *n > 0 && *n <= i32::MAX as u64);
                self.jute_max_buffer_bytes = Some(
                    n.ok_or_else(|| bad("a positive number of bytes (decimal or 0x hex)"))?
                        as usize,
                );
            }
            "4lw.commands.whitelist" => self.four_letter_whitelist = Some(self.whitelist(e)),
            "admin.enableServer" => {
                self.admin_enable_server = Some(parse_bool(v).ok_or_else(|| bad(BOOL))?)
            }
            "reconfigEnabled" => {
                self.reconfig_enabled = Some(parse_bool(v).ok_or_else(|| bad(BOOL))?)
            }
            "skipACL" => self.skip_acl = Some(parse_bool(v).ok_or_else(|| bad(BOOL))?),
            "extendedTypesEnabled" => {
                self.extended_types_enabled = Some(parse_bool(v).ok_or_else(|| bad(BOOL))?)
            }
            "enforceQuota" => self.enforce_quota = Some(parse_bool(v).ok_or_else(|| bad(BOOL))?),
            "forceSync" => self.force_sync = Some(parse_bool(v).ok_or_else(|| bad(BOOL))?),
            "preAllocSize" => {
                let n = v
                    .parse::<u64>()
                    .ok()
                    .filter(|n| *n > 0 && *n <= 16 * 1024 * 1024);
                self.prealloc_size_kb = Some(n.ok_or_else(|| bad("a positive number of KB"))?);
            }
            "fsync.warningthresholdms" => {
                let n = v.parse::<u64>().ok();
                self.fsync_warning_threshold_ms = Some(n.ok_or_else(|| bad("a number of ms"))?);
            }
            "snapCount" => {
                let n = v.parse::<i32>().ok();
                let n = n.ok_or_else(|| bad("a number of txns"))?;
                if n < 2 {
                    // ZooKeeper resets it to 2 with a warning.
                    self.warnings.push(format!(
                        "line {}: snapCount should be 2 or more; using 2",
                        e.line
                    ));
                }
                self.snap_count = Some(n.max(2) as u64);
            }
            "snapSizeLimitInKb" => {
                // ZooKeeper reads a long; zero or less disables the size rule.
                let n = v.parse::<i64>().ok();
                let n = n.ok_or_else(|| bad("a number of KB (0 or less = no limit)"))?;
                self.snap_size_limit_kb = Some(n.max(0) as u64);
            }
            "autopurge.snapRetainCount" => {
                let n = v.parse::<i32>().ok();
                let n = n.ok_or_else(|| bad("a number of snapshots (at least 3)"))?;
                if n < 3 {
                    // DatadirCleanupManager keeps at least 3, with a warning.
                    self.warnings.push(format!(
                        "line {}: autopurge.snapRetainCount should be 3 or more; using 3",
                        e.line
                    ));
                }
                self.autopurge_snap_retain_count = Some(n.max(3) as u32);
            }
            "autopurge.purgeInterval" => {
                // Hours; zero or less disables the purge task.
                let n = v.parse::<i32>().ok();
                let n = n.ok_or_else(|| bad("a number of hours (0 = never)"))?;
                self.autopurge_purge_interval_hours = Some(n.max(0) as u32);
            }
            "znode.container.checkIntervalMs" => {
                let n = v.parse::<i64>().ok().filter(|n| *n > 0);
                self.container_check_interval_ms =
                    Some(n.ok_or_else(|| bad("a positive number of ms"))?);
            }
            "znode.container.maxPerMinute" => {
                let n = v.parse::<i64>().ok().filter(|n| *n > 0);
                self.container_max_per_minute = Some(n.ok_or_else(|| bad("a positive number"))?);
            }
            "znode.container.maxNeverUsedIntervalMs" => {
                let n = v.parse::<i64>().ok().filter(|n| *n >= 0);
                self.container_max_never_used_interval_ms =
                    Some(n.ok_or_else(|| bad("a number of ms (0 = never)"))?);
            }
            "DigestAuthenticationProvider.superDigest" => {
                let (user, digest) = v.split_once(':').unwrap_or_default();
                let ok = !user.is_empty() && !digest.is_empty();
                if !ok {
                    return Err(bad("user:base64-digest, e.g. super:<base64 sha1>"));
                }
                self.super_digest = Some(v.to_string());
            }
            _ if tls::is_tls_key(key) => self.tls.apply(key, e)?,
            _ if is_known_ignored(key) => {
                match key_rules::check(key, v).map_err(bad)? {
                    Some(key_rules::Kind::Ensemble) => self.ensemble_keys.push(e.key.clone()),
                    Some(key_rules::Kind::JavaInternals) => self.notes.push(format!(
                        "line {}: {} tunes ZooKeeper's Java internals; it has no meaning here \
                         and is ignored",
                        e.line, e.key
                    )),
                    Some(key_rules::Kind::Accepted) | None => {}
                }
                if let Some(id) = key.strip_prefix("server.") {
                    // check() has vetted both the id and the value.
                    let id = id.parse::<u64>().unwrap_or_default();
                    if let Some(server) = ensemble::parse_server(id, v) {
                        self.quorum_servers.push((e.line, server));
                    }
                }
                if quorum::is_quorum_key(key) {
                    let raw = quorum::Raw {
                        line: e.line,
                        value: e.value.clone(),
                    };
                    self.quorum_keys.insert(key.to_string(), raw);
                }
                self.extra.insert(e.key.clone(), e.value.clone());
            }
            _ => self
                .warnings
                .push(format!("line {}: unknown key {} ignored", e.line, e.key)),
        }
        Ok(())
    }

    /// ZooKeeper splits on commas, trims, treats `*` as everything and drops
    /// words it does not know (we warn about them).
    fn whitelist(&mut self, e: &Entry) -> FourLetterWhitelist {
        let mut words = BTreeSet::new();
        for word in e.value.split(',').map(str::trim).filter(|w| !w.is_empty()) {
            if word == "*" {
                return FourLetterWhitelist::All;
            }
            if FOUR_LETTER_WORDS.contains(&word) {
                words.insert(word.to_string());
            } else {
                self.warnings.push(format!(
                    "line {}: unknown four-letter word {word:?} in {} ignored",
                    e.line, e.key
                ));
            }
        }
        FourLetterWhitelist::Only(words)
    }

    fn finish(mut self, myid: &dyn Fn(&Path) -> quorum::MyId) -> Result<Config, ConfigErrorKind> {
        self.quorum_servers.sort_by_key(|(_, s)| s.id);
        let tick_time_ms = self.tick_time_ms.unwrap_or(DEFAULT_TICK_TIME_MS);
        let data_dir = self
            .data_dir
            .take()
            .ok_or(ConfigErrorKind::Missing { key: "dataDir" })?;
        let resolved = self.resolve_quorum(tick_time_ms, &data_dir, myid)?;
        let quorum = resolved.quorum;
        self.client_port_address = resolved.client_address;
        let client_port = resolved
            .client_port
            .ok_or(ConfigErrorKind::Missing { key: "clientPort" })?;
        let min = self
            .session_timeout_ms_min
            .map_or(tick_time_ms.saturating_mul(2), |(_, v)| v);
        let max = self
            .session_timeout_ms_max
            .map_or(tick_time_ms.saturating_mul(20), |(_, v)| v);
        if min > max {
            return Err(ConfigErrorKind::Inconsistent {
                reason: format!(
                    "minSessionTimeout ({min} ms) must not be larger than \
                     maxSessionTimeout ({max} ms)"
                ),
            });
        }
        Ok(Config {
            file_name: String::new(),
            tick_time_ms,
            data_log_dir: self.data_log_dir.unwrap_or_else(|| data_dir.clone()),
            data_dir,
            client_port,
            client_port_address: self.client_port_address,
            max_client_cnxns_per_ip: self
                .max_client_cnxns_per_ip
                .unwrap_or(DEFAULT_MAX_CLIENT_CNXNS),
            session_timeout_ms_min: min,
            session_timeout_ms_max: max,
            global_outstanding_limit: self
                .global_outstanding_limit
                .unwrap_or(DEFAULT_GLOBAL_OUTSTANDING_LIMIT),
            jute_max_buffer_bytes: self
                .jute_max_buffer_bytes
                .unwrap_or(jute::DEFAULT_MAX_BUFFER),
            four_letter_whitelist: self.four_letter_whitelist.unwrap_or_default(),
            admin_enable_server: self.admin_enable_server.unwrap_or(true),
            admin_server_port: self.admin_server_port.unwrap_or(DEFAULT_ADMIN_SERVER_PORT),
            admin_server_address: self
                .admin_server_address
                .unwrap_or_else(|| "0.0.0.0".to_string()),
            admin_command_url: self
                .admin_command_url
                .unwrap_or_else(|| "/commands".to_string()),
            admin_idle_timeout_ms: self.admin_idle_timeout_ms.unwrap_or(30_000),
            metrics_provider_class_name: self.metrics_provider_class_name,
            metrics_provider_http_host: self
                .metrics_provider_http_host
                .unwrap_or_else(|| "0.0.0.0".to_string()),
            metrics_provider_http_port: self.metrics_provider_http_port.unwrap_or(7000),
            reconfig_enabled: self.reconfig_enabled.unwrap_or(false),
            skip_acl: self.skip_acl.unwrap_or(false),
            extended_types_enabled: self.extended_types_enabled.unwrap_or(true),
            container_check_interval_ms: self.container_check_interval_ms.unwrap_or(60_000),
            container_max_per_minute: self.container_max_per_minute.unwrap_or(10_000),
            container_max_never_used_interval_ms: self
                .container_max_never_used_interval_ms
                .unwrap_or(0),
            super_digest: self.super_digest,
            enforce_quota: self.enforce_quota.unwrap_or(false),
            force_sync: self.force_sync.unwrap_or(true),
            prealloc_size_kb: self.prealloc_size_kb.unwrap_or(65_536),
            fsync_warning_threshold_ms: self.fsync_warning_threshold_ms.unwrap_or(1000),
            snap_count: self.snap_count.unwrap_or(DEFAULT_SNAP_COUNT),
            snap_size_limit_kb: self
                .snap_size_limit_kb
                .unwrap_or(DEFAULT_SNAP_SIZE_LIMIT_KB),
            autopurge_snap_retain_count: self.autopurge_snap_retain_count.unwrap_or(3),
            autopurge_purge_interval_hours: self.autopurge_purge_interval_hours.unwrap_or(0),
            client_tls: self.tls.finish()?,
            extra: self.extra,
            warnings: self.warnings,
            notes: self.notes,
            quorum_servers: self.quorum_servers.into_iter().map(|(_, s)| s).collect(),
            quorum,
        })
    }

    /// The ensemble rules (`config::quorum`), and the start-up message
    /// that says what this build does with an ensemble.
    fn resolve_quorum(
        &mut self,
        tick_time_ms: i32,
        data_dir: &Path,
        myid: &dyn Fn(&Path) -> quorum::MyId,
    ) -> Result<quorum::Resolved, ConfigErrorKind> {
        let client = quorum::ClientPort {
            port: self.client_port.map(|p| (self.client_port_line, p)),
            address: self
                .client_port_address
                .clone()
                .map(|a| (self.client_port_address_line, a)),
        };
        let myid = if self.quorum_servers.is_empty() {
            quorum::MyId::Missing {
                path: data_dir.join("myid"),
            }
        } else {
            myid(data_dir)
        };
        let resolved = quorum::resolve(
            &self.quorum_keys,
            &self.quorum_servers,
            &client,
            tick_time_ms,
            &myid,
        )
        .map_err(|e| match e {
            quorum::QuorumError::Missing(key) => ConfigErrorKind::Missing { key },
            quorum::QuorumError::Inconsistent(reason) => ConfigErrorKind::Inconsistent { reason },
        })?;
        self.warnings.extend(resolved.warnings.iter().cloned());
        match &resolved.quorum {
            Some(q) => self.notes.push(format!(
                "server.{} is {} in a {}-server ensemble (quorum {})",
                q.my_id,
                match q.peer_type {
                    quorum::PeerType::Participant => "a participant",
                    quorum::PeerType::Observer => "an observer",
                },
                q.servers.len(),
                q.quorum_size()
            )),
            None if !self.ensemble_keys.is_empty() => self.notes.push(format!(
                "no ensemble is configured (standalone), so these ensemble settings do \
                 nothing: {}",
                self.ensemble_keys.join(", ")
            )),
            None => {}
        }
        Ok(resolved)
    }
}

/// ZooKeeper's default `snapCount`.
pub const DEFAULT_SNAP_COUNT: u64 = 100_000;
/// ZooKeeper's default `snapSizeLimitInKb` (4 GB).
pub const DEFAULT_SNAP_SIZE_LIMIT_KB: u64 = 4_194_304;

pub(crate) const PORT: &str = "a port number";
pub(crate) const BOOL: &str = "true/false or yes/no";

pub(crate) fn parse_port(v: &str) -> Option<u16> {
    v.parse::<u16>().ok()
}

pub(crate) fn parse_bool(v: &str) -> Option<bool> {
    match v.to_ascii_lowercase().as_str() {
        "true" | "yes" => Some(true),
        "false" | "no" => Some(false),
        _ => None,
    }
}

fn parse_decimal_or_hex(v: &str) -> Option<u64> {
    match v.strip_prefix("0x").or_else(|| v.strip_prefix("0X")) {
        Some(hex) => u64::from_str_radix(hex, 16).ok(),
        None => v.parse::<u64>().ok(),
    }
}

fn is_host_name(v: &str) -> bool {
    !v.is_empty()
        && v.len() <= 253
        && v.split('.').all(|label| {
            !label.is_empty()
                && label.len() <= 63
                && label
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b == b'-')
        })
}

/// Splits properties text into entries the way `java.util.Properties.load`
/// does, then trims key and value as ZooKeeper does. Errors carry a line.
fn parse_properties(text: &str) -> Result<Vec<Entry>, (usize, &'static str)> {
    let normalized = text.replace("\r\n", "\n").replace('\r', "\n");
    let lines: Vec<&str> = normalized.split('\n').collect();
    let is_ws = |c: char| c == ' ' || c == '\t' || c == '\x0c';
    let mut entries = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line_no = i + 1;
        let first = lines[i].trim_start_matches(is_ws);
        i += 1;
        // Comment lines never continue, even when they end in a backslash.
        if first.is_empty() || first.starts_with('#') || first.starts_with('!') {
            continue;
        }
        let mut logical = String::new();
        let mut cur = first;
        loop {
            let trailing = cur.len() - cur.trim_end_matches('\\').len();
            if trailing % 2 == 1 {
                logical.push_str(&cur[..cur.len() - 1]);
                match lines.get(i) {
                    Some(next) => {
                        cur = next.trim_start_matches(is_ws);
                        i += 1;
                    }
                    None => break,
                }
            } else {
                logical.push_str(cur);
                break;
            }
        }
        let (raw_key, raw_value) = split_key_value(&logical);
        let key = unescape(raw_key).map_err(|r| (line_no, r))?;
        let value = unescape(raw_value).map_err(|r| (line_no, r))?;
        entries.push(Entry {
            line: line_no,
            key: key.trim().to_string(),
            value: value.trim().to_string(),
        });
    }
    Ok(entries)
}

/// The key ends at the first unescaped `=`, `:` or whitespace; one `=`/`:`
/// and the whitespace around it separate it from the value.
fn split_key_value(line: &str) -> (&str, &str) {
    let bytes = line.as_bytes();
    let mut key_end = bytes.len();
    let mut escaped = false;
    for (idx, &b) in bytes.iter().enumerate() {
        if escaped {
            escaped = false;
        } else if b == b'\\' {
            escaped = true;
        } else if matches!(b, b'=' | b':' | b' ' | b'\t' | b'\x0c') {
            key_end = idx;
            break;
        }
    }
    let mut rest = line[key_end..].trim_start_matches([' ', '\t', '\x0c']);
    if let Some(r) = rest.strip_prefix(['=', ':']) {
        rest = r.trim_start_matches([' ', '\t', '\x0c']);
    }
    (&line[..key_end], rest)
}

/// Resolves `\t \n \r \f \uXXXX`; any other escaped character stands for itself.
fn unescape(s: &str) -> Result<String, &'static str> {
    let mut out = String::with_capacity(s.len());
    let mut chars = s.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            out.push(c);
            continue;
        }
        match chars.next() {
            Some('t') => out.push('\t'),
            Some('n') => out.push('\n'),
            Some('r') => out.push('\r'),
            Some('f') => out.push('\x0c'),
            Some('u') => {
                let hex: String = chars.by_ref().take(4).collect();
                let code = (hex.len() == 4)
                    .then(|| u32::from_str_radix(&hex, 16).ok())
                    .flatten();
                let c = code
                    .and_then(char::from_u32)
                    .ok_or("malformed \\uxxxx escape")?;
                out.push(c);
            }
            Some(other) => out.push(other),
            None => {}
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    const MINIMAL: &str = "dataDir=/tmp/zk\nclientPort=2181\n";

    fn parse(text: &str) -> Config {
        Config::parse(text, "zoo.cfg").unwrap_or_else(|e| panic!("{e}"))
    }

    fn parse_err(text: &str) -> String {
        Config::parse(text, "zoo.cfg")
            .expect_err("expected an error")
            .to_string()
    }

    fn with(extra: &str) -> Config {
        parse(&format!("{MINIMAL}{extra}\n"))
    }

    #[test]
    fn defaults() {
        let c = parse(MINIMAL);
        assert_eq!(c.file_name, "zoo.cfg");
        assert_eq!(c.tick_time_ms, 3000);
        assert_eq!(c.data_dir, PathBuf::from("/tmp/zk"));
        assert_eq!(c.data_log_dir, PathBuf::from("/tmp/zk"));
        assert_eq!(c.client_port, 2181);
        assert_eq!(c.client_port_address, None);
        assert_eq!(c.max_client_cnxns_per_ip, 60);
        assert_eq!(c.session_timeout_ms_min, 6000);
        assert_eq!(c.session_timeout_ms_max, 60000);
        assert_eq!(c.global_outstanding_limit, 1000);
        assert_eq!(c.jute_max_buffer_bytes, 0xfffff);
        assert_eq!(c.four_letter_whitelist, FourLetterWhitelist::default());
        assert!(c.four_letter_whitelist.allows("srvr"));
        assert!(!c.four_letter_whitelist.allows("ruok"));
        assert!(c.admin_enable_server);
        assert_eq!(c.admin_server_port, 8080);
        assert!(!c.reconfig_enabled);
        assert!(!c.skip_acl);
        assert!(c.extended_types_enabled);
        assert_eq!(c.container_check_interval_ms, 60_000);
        assert_eq!(c.container_max_per_minute, 10_000);
        assert_eq!(c.container_max_never_used_interval_ms, 0);
        assert_eq!(c.super_digest, None);
        assert!(!c.enforce_quota);
        assert!(c.extra.is_empty());
        assert!(c.warnings.is_empty());
    }

    #[test]
    fn every_key() {
        let c = parse(
            "tickTime=2000\n\
             dataDir=/var/zk\n\
             dataLogDir=/var/zklog\n\
             clientPort=2182\n\
             clientPortAddress=127.0.0.1\n\
             maxClientCnxns=0\n\
             minSessionTimeout=1000\n\
             maxSessionTimeout=90000\n\
             globalOutstandingLimit=50\n\
             jute.maxbuffer=0x200000\n\
             4lw.commands.whitelist=ruok, stat ,mntr\n\
             admin.enableServer=false\n\
             admin.serverPort=9090\n\
             reconfigEnabled=true\n\
             skipACL=yes\n\
             extendedTypesEnabled=false\n\
             znode.container.checkIntervalMs=1000\n\
             znode.container.maxPerMinute=5\n\
             znode.container.maxNeverUsedIntervalMs=3000\n\
             DigestAuthenticationProvider.superDigest=super:D/InIHSb7yEEbrWz8b9l71RjZJU=\n\
             enforceQuota=true\n",
        );
        assert_eq!(c.tick_time_ms, 2000);
        assert_eq!(c.data_dir, PathBuf::from("/var/zk"));
        assert_eq!(c.data_log_dir, PathBuf::from("/var/zklog"));
        assert_eq!(c.client_port, 2182);
        assert_eq!(c.client_port_address.as_deref(), Some("127.0.0.1"));
        assert_eq!(c.max_client_cnxns_per_ip, 0);
        assert_eq!(c.session_timeout_ms_min, 1000);
        assert_eq!(c.session_timeout_ms_max, 90000);
        assert_eq!(c.global_outstanding_limit, 50);
        assert_eq!(c.jute_max_buffer_bytes, 0x200000);
        let words = ["mntr", "ruok", "stat"].map(String::from);
        assert_eq!(
            c.four_letter_whitelist,
            FourLetterWhitelist::Only(BTreeSet::from(words))
        );
        assert!(!c.admin_enable_server);
        assert_eq!(c.admin_server_port, 9090);
        assert!(c.reconfig_enabled);
        assert!(c.skip_acl);
        assert!(!c.extended_types_enabled);
        assert_eq!(c.container_check_interval_ms, 1000);
        assert_eq!(c.container_max_per_minute, 5);
        assert_eq!(c.container_max_never_used_interval_ms, 3000);
        assert_eq!(
            c.super_digest.as_deref(),
            Some("super:D/InIHSb7yEEbrWz8b9l71RjZJU=")
        );
        assert!(c.enforce_quota);
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);

        let core = c.core_config();
        assert_eq!(core.tick_time_ms, 2000);
        assert_eq!(core.session_timeout_ms_min, 1000);
        assert_eq!(core.session_timeout_ms_max, 90000);
        assert_eq!(core.server_id, 0);
        assert!(core.skip_acl && core.reconfig_enabled && core.enforce_quota);
        assert!(!core.extended_types_enabled);
        assert_eq!(core.container_check_interval_ms, 1000);
        assert_eq!(core.container_max_per_minute, 5);
        assert_eq!(core.container_max_never_used_interval_ms, 3000);
        assert_eq!(core.super_digest, c.super_digest);
        assert_eq!(core.jute_max_buffer_bytes, 0x200000);
        assert_eq!(core.outstanding_requests_max, 50);
    }

    #[test]
    fn session_timeouts_follow_tick_time() {
        let c = with("tickTime=2000");
        assert_eq!(
            (c.session_timeout_ms_min, c.session_timeout_ms_max),
            (4000, 40000)
        );
        let c = with("tickTime=2000\nminSessionTimeout=-1\nmaxSessionTimeout=-1");
        assert_eq!(
            (c.session_timeout_ms_min, c.session_timeout_ms_max),
            (4000, 40000)
        );
        let c = with("tickTime=100\nmaxSessionTimeout=500");
        assert_eq!(
            (c.session_timeout_ms_min, c.session_timeout_ms_max),
            (200, 500)
        );
        assert_eq!(c.runner_tick_ms(), 50);
        assert_eq!(with("tickTime=2000").runner_tick_ms(), 500);
        assert_eq!(with("tickTime=1").runner_tick_ms(), 1);
    }

    #[test]
    fn min_above_max_is_an_error() {
        let e =
            parse_err("dataDir=/d\nclientPort=1\nminSessionTimeout=5000\nmaxSessionTimeout=4000");
        assert_eq!(
            e,
            "zoo.cfg: minSessionTimeout (5000 ms) must not be larger than \
             maxSessionTimeout (4000 ms)"
        );
    }

    #[test]
    fn zookeeper_prefix_is_accepted() {
        let c = with(
            "zookeeper.skipACL=true\n\
             zookeeper.4lw.commands.whitelist=*\n\
             zookeeper.DigestAuthenticationProvider.superDigest=super:abc\n\
             zookeeper.jute.maxbuffer=4096\n\
             zookeeper.extendedTypesEnabled=no\n\
             zookeeper.snapCount=10",
        );
        assert!(c.skip_acl);
        assert_eq!(c.four_letter_whitelist, FourLetterWhitelist::All);
        assert_eq!(c.super_digest.as_deref(), Some("super:abc"));
        assert_eq!(c.jute_max_buffer_bytes, 4096);
        assert!(!c.extended_types_enabled);
        assert_eq!(c.snap_count, 10);
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    }

    #[test]
    fn booleans() {
        for (text, want) in [
            ("true", true),
            ("YES", true),
            ("no", false),
            ("False", false),
        ] {
            assert_eq!(with(&format!("skipACL={text}")).skip_acl, want, "{text}");
        }
        assert_eq!(
            parse_err(&format!("{MINIMAL}enforceQuota=maybe")),
            "zoo.cfg:3: invalid value \"maybe\" for enforceQuota: expected true/false or yes/no"
        );
    }

    #[test]
    fn jute_maxbuffer_decimal_and_hex() {
        assert_eq!(
            with("jute.maxbuffer=1048575").jute_max_buffer_bytes,
            0xfffff
        );
        assert_eq!(with("jute.maxbuffer=0XFF").jute_max_buffer_bytes, 255);
        let e = parse_err(&format!("{MINIMAL}jute.maxbuffer=0xzz"));
        assert!(
            e.starts_with("zoo.cfg:3: invalid value \"0xzz\" for jute.maxbuffer"),
            "{e}"
        );
        assert!(parse_err(&format!("{MINIMAL}jute.maxbuffer=0")).contains("jute.maxbuffer"));
    }

    #[test]
    fn whitelist_forms() {
        assert_eq!(
            with("4lw.commands.whitelist=*").four_letter_whitelist,
            FourLetterWhitelist::All
        );
        assert_eq!(
            with("4lw.commands.whitelist=ruok, *").four_letter_whitelist,
            FourLetterWhitelist::All
        );
        let c = with("4lw.commands.whitelist=ruok,nope");
        assert!(c.four_letter_whitelist.allows("ruok"));
        assert!(!c.four_letter_whitelist.allows("srvr"));
        assert!(!c.four_letter_whitelist.allows("nope"));
        assert_eq!(c.warnings.len(), 1);
        assert!(c.warnings[0].contains("\"nope\""), "{:?}", c.warnings);
        let c = with("4lw.commands.whitelist=");
        assert_eq!(
            c.four_letter_whitelist,
            FourLetterWhitelist::Only(BTreeSet::new())
        );
    }

    #[test]
    fn bad_values_name_key_line_and_file() {
        let e = parse_err("dataDir=/d\n# comment\nclientPort=abc\n");
        assert_eq!(
            e,
            "zoo.cfg:3: invalid value \"abc\" for clientPort: expected a port number"
        );
        let e = parse_err("tickTime=0\ndataDir=/d\nclientPort=1");
        assert_eq!(
            e,
            "zoo.cfg:1: invalid value \"0\" for tickTime: expected a positive number of ms"
        );
        for bad in [
            "clientPort=65536",
            "clientPort=-1",
            "maxClientCnxns=-1",
            "minSessionTimeout=-2",
            "maxSessionTimeout=x",
            "globalOutstandingLimit=0",
            "admin.serverPort=70000",
            "clientPortAddress=not a host",
            "znode.container.checkIntervalMs=0",
            "znode.container.maxPerMinute=-5",
            "znode.container.maxNeverUsedIntervalMs=-1",
            "DigestAuthenticationProvider.superDigest=nocolon",
            "dataLogDir=",
            "reconfigEnabled=1",
        ] {
            let e = parse_err(&format!("{MINIMAL}{bad}\n"));
            let key = bad.split('=').next().unwrap();
            assert!(e.starts_with("zoo.cfg:3: invalid value"), "{bad}: {e}");
            assert!(e.contains(&format!(" for {key}: expected ")), "{bad}: {e}");
        }
    }

    #[test]
    fn required_keys() {
        assert_eq!(parse_err("clientPort=1"), "zoo.cfg: dataDir is not set");
        assert_eq!(parse_err("dataDir=/d"), "zoo.cfg: clientPort is not set");
    }

    #[test]
    fn snapshot_and_purge_keys() {
        let c = with("");
        assert_eq!(c.snap_count, 100_000);
        assert_eq!(c.snap_size_limit_kb, 4_194_304);
        assert_eq!(c.autopurge_snap_retain_count, 3);
        assert_eq!(c.autopurge_purge_interval_hours, 0);
        // ZooKeeper's floors: snapCount 2, snapRetainCount 3, each with a warning.
        let c = with("snapCount=1\nautopurge.snapRetainCount=1\nsnapSizeLimitInKb=-1");
        assert_eq!(c.snap_count, 2);
        assert_eq!(c.autopurge_snap_retain_count, 3);
        assert_eq!(c.snap_size_limit_kb, 0);
        assert_eq!(c.warnings.len(), 2, "{:?}", c.warnings);
        let e = parse_err("dataDir=/d\nclientPort=1\nautopurge.purgeInterval=soon\n");
        assert!(
            e.contains("zoo.cfg:3") && e.contains("autopurge.purgeInterval"),
            "{e}"
        );
    }

    #[test]
    fn admin_and_metrics_keys() {
        let c = with("");
        assert_eq!(c.admin_server_address, "0.0.0.0");
        assert_eq!(c.admin_command_url, "/commands");
        assert_eq!(c.admin_idle_timeout_ms, 30_000);
        assert_eq!(c.metrics_provider_class_name, None);
        assert_eq!(c.metrics_provider_http_port, 7000);
        assert_eq!(c.metrics_provider_http_host, "0.0.0.0");
        let c = with(
            "admin.serverAddress=127.0.0.1\nadmin.commandURL=/zk/\nadmin.idleTimeout=5000\n\
             metricsProvider.className=X\nmetricsProvider.httpPort=7001\n\
             metricsProvider.httpHost=127.0.0.1",
        );
        assert_eq!(c.admin_server_address, "127.0.0.1");
        assert_eq!(c.admin_command_url, "/zk");
        assert_eq!(c.admin_idle_timeout_ms, 5000);
        assert_eq!(c.metrics_provider_class_name.as_deref(), Some("X"));
        assert_eq!(c.metrics_provider_http_port, 7001);
        assert_eq!(c.metrics_provider_http_host, "127.0.0.1");
        assert!(c.extra.is_empty(), "{:?}", c.extra);
        for bad in [
            "admin.commandURL=zk",
            "admin.idleTimeout=0",
            "metricsProvider.httpPort=x",
        ] {
            let e = parse_err(&format!("dataDir=/d\nclientPort=1\n{bad}\n"));
            assert!(e.contains("invalid value"), "{bad}: {e}");
        }
    }

    #[test]
    fn known_and_unknown_keys() {
        let c = with(
            "initLimit=10\nsyncLimit=5\nserver.1=localhost:2888:3888\nautopurge.purgeInterval=1\n\
             metricsProvider.exportJvmInfo=false\nsslQuorum=false\nstandaloneEnabled=true\n\
             snapCount=1000\npreAllocSize=100\nforceSync=no\nfrobnicate=1",
        );
        for key in [
            "initLimit",
            "syncLimit",
            "server.1",
            "metricsProvider.exportJvmInfo",
            "sslQuorum",
            "standaloneEnabled",
        ] {
            assert!(c.extra.contains_key(key), "{key} missing from extra");
        }
        // The storage keys are acted on, not just kept.
        assert!(!c.force_sync);
        assert_eq!(c.prealloc_size_kb, 100);
        assert_eq!(c.snap_count, 1000);
        assert_eq!(c.autopurge_purge_interval_hours, 1);
        assert!(!c.extra.contains_key("snapCount"));
        assert!(!c.extra.contains_key("forceSync"));
        assert_eq!(c.extra["server.1"], "localhost:2888:3888");
        assert!(!c.extra.contains_key("frobnicate"));
        // One participant with standaloneEnabled=true: standalone, as 3.8.0
        // ("Invalid configuration, only one server specified (ignoring)").
        assert!(c.quorum.is_none());
        assert_eq!(c.warnings.len(), 2, "{:?}", c.warnings);
        assert_eq!(c.warnings[0], "line 13: unknown key frobnicate ignored");
        assert!(c.warnings[1].starts_with("only one server specified"));
        assert_eq!(
            c.notes,
            vec![
                "no ensemble is configured (standalone), so these ensemble settings do \
                 nothing: initLimit, syncLimit, server.1, standaloneEnabled"
                    .to_string()
            ]
        );
        assert_eq!(c.quorum_servers.len(), 1);
        assert_eq!(c.quorum_servers[0].id, 1);
        assert_eq!(c.quorum_servers[0].addresses[0].host, "localhost");
    }

    #[test]
    fn known_keys_are_validated_with_file_and_line() {
        for bad in [
            "initLimit=ten",
            "syncLimit=0",
            "server.1=localhost:2888",
            "server.one=localhost:2888:3888",
            "peerType=leader",
            "electionAlg=1",
            "standaloneEnabled=maybe",
            "maxCnxns=-3",
            "snapshot.compression.method=zip",
            "digest.enabled=on",
            "observerMasterPort=99999",
            "connectionDropIncrease=x",
            "nio.numWorkerThreads=x",
        ] {
            let key = bad.split('=').next().unwrap();
            let e = parse_err(&format!("{MINIMAL}{bad}\n"));
            assert!(
                e.starts_with("zoo.cfg:3: invalid value")
                    && e.contains(&format!(" for {key}: expected ")),
                "{bad}: {e}"
            );
        }
        let c = Config::parse_with_myid(
            "dataDir=/d\nclientPort=2181\ninitLimit=5\nsyncLimit=2\n\
             server.1=a:2888:3888;2181\nserver.2=b:2888:3888:observer\npeerType=participant\n\
             nio.numWorkerThreads=8\nmaxCnxns=100\ndigest.enabled=false\n\
             server.3=c:2888:3888\n",
            "zoo.cfg",
            &SystemProperties::default(),
            Some("2\n"),
        )
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(
            c.quorum_servers
                .iter()
                .map(|s| (s.id, s.observer))
                .collect::<Vec<_>>(),
            vec![(1, false), (2, true), (3, false)]
        );
        let q = c.quorum.as_ref().expect("an ensemble");
        assert_eq!((q.my_id, q.peer_type), (2, quorum::PeerType::Observer));
        assert_eq!(q.quorum_size(), 2);
        assert_eq!(c.quorum_servers[0].client_port, Some(2181));
        assert_eq!(c.notes.len(), 2, "{:?}", c.notes);
        assert!(c.notes[0].contains("nio.numWorkerThreads"), "{:?}", c.notes);
        assert_eq!(
            c.notes[1],
            "server.2 is an observer in a 3-server ensemble (quorum 2)"
        );
        assert_eq!(c.warnings.len(), 2, "{:?}", c.warnings);
        assert!(c.warnings[0].starts_with("No server failure will be tolerated"));
        assert!(
            c.warnings[1].contains(
                "line 7: Peer type from servers list (OBSERVER) doesn't match peerType \
                 (PARTICIPANT)"
            ),
            "{:?}",
            c.warnings
        );
        assert_eq!(c.extra["maxCnxns"], "100");
    }

    #[test]
    fn system_properties_sit_under_the_file() {
        let props = SystemProperties::parse(
            "-Xmx1g -Dzookeeper.snapCount=10 -Djute.maxbuffer=0x1000 \
             -Dzookeeper.skipACL=yes -Dzookeeper.tickTime=5 -Dznode.container.checkIntervalMs=1000 \
             -Djava.io.tmpdir=/x -Dzookeeper.jute.maxbuffer=5",
        );
        let c = Config::parse_with(&format!("{MINIMAL}skipACL=no\n"), "zoo.cfg", &props)
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.snap_count, 10);
        assert_eq!(c.jute_max_buffer_bytes, 0x1000);
        assert_eq!(c.container_check_interval_ms, 1000);
        assert!(!c.skip_acl, "the file wins");
        assert_eq!(c.tick_time_ms, 3000, "tickTime is read only from the file");
        let w = c.warnings.join("\n");
        assert!(
            w.contains("JVMFLAGS: -Xmx1g is a JVM option; ignored"),
            "{w}"
        );
        assert!(w.contains("-Dzookeeper.tickTime ignored"), "{w}");
        assert!(
            w.contains("line 3: skipACL overrides JVMFLAGS -Dzookeeper.skipACL"),
            "{w}"
        );
        assert_eq!(c.warnings.len(), 3, "{w}");
        // The last of a repeated property wins.
        let props = SystemProperties::parse("-Dzookeeper.snapCount=10 -Dzookeeper.snapCount=20");
        let c = Config::parse_with(MINIMAL, "zoo.cfg", &props).unwrap();
        assert_eq!(c.snap_count, 20);
        let props = SystemProperties::parse("-Dzookeeper.snapCount=lots");
        let e = Config::parse_with(MINIMAL, "zoo.cfg", &props)
            .unwrap_err()
            .to_string();
        assert_eq!(
            e,
            "JVMFLAGS: invalid value \"lots\" for -Dzookeeper.snapCount: expected a number of txns"
        );
    }

    #[test]
    fn properties_syntax() {
        let c = parse(
            "# comment\n\
             ! also a comment \\\n\
             \x20\x20tickTime : 2500  \n\
             dataDir /tmp/a\\\n\
             \x20\x20\x20\x20/b\n\
             clientPort\t=\t2183\r\n\
             \n\
             clientPortAddress=127.0.0.\\u0031\n",
        );
        assert_eq!(c.tick_time_ms, 2500);
        assert_eq!(c.data_dir, PathBuf::from("/tmp/a/b"));
        assert_eq!(c.client_port, 2183);
        assert_eq!(c.client_port_address.as_deref(), Some("127.0.0.1"));
        // An escaped trailing backslash does not continue the line.
        let c = with("dataLogDir=/x\\\\\ntickTime=1000");
        assert_eq!(c.data_log_dir, PathBuf::from("/x\\"));
        assert_eq!(c.tick_time_ms, 1000);
        // Last value wins, even across the prefixed spelling.
        let c = with("clientPort=1\nzookeeper.clientPort=2");
        assert_eq!(c.client_port, 2);
        let e = parse_err("dataDir=\\u00zz");
        assert_eq!(e, "zoo.cfg:1: malformed \\uxxxx escape");
    }

    #[test]
    fn error_line_is_where_the_entry_starts() {
        let e = parse_err("dataDir=/d\nclientPort=1\ntickTime=\\\n  abc\n");
        assert_eq!(
            e,
            "zoo.cfg:3: invalid value \"abc\" for tickTime: expected a positive number of ms"
        );
    }

    #[test]
    fn load_reports_the_path() {
        let e = Config::load("/nonexistent/dir/zoo.cfg")
            .unwrap_err()
            .to_string();
        assert!(
            e.starts_with("/nonexistent/dir/zoo.cfg: cannot read the configuration:"),
            "{e}"
        );
        let dir = std::env::temp_dir().join(format!("zkcfg-test-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("zoo.cfg");
        std::fs::write(&path, "dataDir=/d\nclientPort=oops\n").unwrap();
        let e = Config::load(&path).unwrap_err().to_string();
        assert_eq!(
            e,
            format!(
                "{}:2: invalid value \"oops\" for clientPort: expected a port number",
                path.display()
            )
        );
        std::fs::write(&path, MINIMAL).unwrap();
        assert_eq!(Config::load(&path).unwrap().client_port, 2181);
        std::fs::remove_dir_all(&dir).unwrap();
    }

    #[test]
    fn sample_config_in_repo_parses() {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../conf/zoo.cfg");
        let c = Config::load(path).unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(c.tick_time_ms, 2000);
        assert_eq!(c.client_port, 2181);
        assert_eq!(c.four_letter_whitelist, FourLetterWhitelist::All);
        assert!(!c.admin_enable_server);
        assert!(c.warnings.is_empty(), "{:?}", c.warnings);
    }
}
