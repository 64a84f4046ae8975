//! Four-letter words (`echo ruok | nc host 2181`), answered in ZooKeeper
//! 3.8.0's exact text so scripts and monitoring that parse it keep working.
//!
//! Invariants:
//! - A word is recognised only as the first four bytes of a connection, and
//!   the connection is closed after the answer.
//! - A word outside `4lw.commands.whitelist` gets ZooKeeper's refusal text
//!   and nothing else runs (not even `stmk`'s read of its argument); `srvr`
//!   is always allowed, as in 3.8.0.
//! - Words that need the tree or sessions (`dump wchs wchc wchp hash crst srst`)
//!   are formatted by the core through the runner; everything else is built
//!   here from [`ServerStats`] and the configuration.
//! - The formatting functions are pure, so the layouts are unit-tested
//!   against text captured from the reference server.

use super::{host_info, java_socket_addr, Shared};
use crate::config::Config;
use crate::core::{ConnInfo, ServerStats};
use std::fmt::Write as _;
use std::net::SocketAddr;
use std::sync::atomic::Ordering;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

/// The version we report: 3.8.0 first, so clients that parse it (kazoo reads
/// `envi`) treat us as the ZooKeeper release we are compatible with.
pub const ZOOKEEPER_VERSION: &str = concat!("3.8.0-zkserver-", env!("CARGO_PKG_VERSION"));

/// The build date shown after the version; set `ZKSERVER_BUILD_DATE` at
/// build time (e.g. `2024-12-29 17:54 UTC`) to fill it in.
pub const BUILD_DATE: &str = match option_env!("ZKSERVER_BUILD_DATE") {
    Some(date) => date,
    None => "unknown",
};

/// `3.8.0-zkserver-0.1.0, built on <date>`, as ZooKeeper's `Version.getFullVersion`.
pub fn full_version() -> String {
    format!("{ZOOKEEPER_VERSION}, built on {BUILD_DATE}")
}

/// How long `stmk` waits for its 8-byte argument.
const STMK_ARG_TIMEOUT: Duration = Duration::from_secs(5);

/// What the first four bytes of a connection asked for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Word {
    /// One of the four-letter words.
    Command(&'static str),
    /// Telnet's interrupt sequence (IAC IP IAC DO): ZooKeeper just closes.
    TelnetClose,
}

/// The word the first four bytes spell, if any (case-sensitive, as in ZooKeeper).
pub fn word_of(first: [u8; 4]) -> Option<Word> {
    if first == [0xff, 0xf4, 0xff, 0xfd] {
        return Some(Word::TelnetClose);
    }
    crate::config::FOUR_LETTER_WORDS
        .iter()
        .find(|w| w.as_bytes() == first)
        .map(|w| Word::Command(w))
}

/// ZooKeeper's answer to a word left out of the whitelist.
pub fn not_whitelisted(word: &str) -> String {
    format!("{word} is not executed because it is not in the whitelist.\n")
}

/// Answers `word` on `stream`, any byte stream (plain TCP, or TLS once the
/// handshake is done) whose first four bytes spelled it; `peer` is the
/// client's address. The caller closes the connection.
pub(crate) async fn serve<S: AsyncRead + AsyncWrite + Unpin>(
    shared: &Shared,
    stream: &mut S,
    peer: SocketAddr,
    word: Word,
) {
    let Word::Command(word) = word else { return };
    // ZooKeeper logs this at info; health checks poll `ruok` every few
    // seconds, so we keep it at debug to leave the info log readable.
    tracing::debug!("Processing {word} command from {}", java_socket_addr(peer));
    // ZooKeeper always allows `srvr` (zkServer.sh status needs it),
    // whatever the whitelist says.
    let reply = if word == "srvr" || shared.config.four_letter_whitelist.allows(word) {
        match answer(shared, stream, peer, word).await {
            Some(reply) => reply,
            None => return,
        }
    } else {
        not_whitelisted(word)
    };
    let _ = stream.write_all(reply.as_bytes()).await;
    let _ = stream.flush().await;
}

/// The text for a whitelisted `word`; `None` when the server is stopping
/// (or `stmk` got no argument), in which case we close without answering.
async fn answer<S: AsyncRead + Unpin>(
    shared: &Shared,
    stream: &mut S,
    peer: SocketAddr,
    word: &str,
) -> Option<String> {
    let config = &shared.config;
    Some(match word {
        "ruok" => "imok".to_string(),
        "isro" => "rw".to_string(),
        "gtmk" => shared.trace_mask.load(Ordering::Relaxed).to_string(),
        "stmk" => {
            let mut arg = [0u8; 8];
            tokio::time::timeout(STMK_ARG_TIMEOUT, stream.read_exact(&mut arg))
                .await
                .ok()?
                .ok()?;
            let mask = i64::from_be_bytes(arg);
            shared.trace_mask.store(mask, Ordering::Relaxed);
            mask.to_string()
        }
        "dump" | "wchs" | "wchc" | "wchp" | "hash" | "crst" | "srst" => {
            shared.runner.command(word).await?
        }
        "envi" => envi_text(&environment()),
        "conf" | "dirs" => {
            let (data, log) = dir_sizes(config).await;
            if word == "conf" {
                conf_text(config, shared.local_port, data, log)
            } else {
                dirs_text(data, log)
            }
        }
        "srvr" | "stat" | "cons" | "mntr" => {
            let stats = shared.runner.stats().await?;
            if stats.not_serving {
                return Some(crate::quorum::runtime::ZK_NOT_SERVING.to_string());
            }
            let figures = Figures {
                stats,
                live_connections: shared.live_connections(),
                uptime_ms: shared.started.elapsed().as_millis() as u64,
                connections_rejected: shared.rejected.load(Ordering::Relaxed),
                // This connection, as ZooKeeper lists it while answering.
                self_line: format!(" {}[0](queued=0,recved=1,sent=0)", java_socket_addr(peer)),
            };
            match word {
                "srvr" => srvr_text(&figures, false),
                "stat" => srvr_text(&figures, true),
                "cons" => cons_text(&figures),
                _ => mntr_text(&figures),
            }
        }
        _ => return None,
    })
}

/// Sizes of the snapshot and log directories (`<dir>/version-2`).
async fn dir_sizes(config: &Config) -> (u64, u64) {
    let data = config.data_dir.join("version-2");
    let log = config.data_log_dir.join("version-2");
    tokio::task::spawn_blocking(move || {
        (
            host_info::dir_size_bytes(&data),
            host_info::dir_size_bytes(&log),
        )
    })
    .await
    .unwrap_or((0, 0))
}

/// Everything the statistics words print.
#[derive(Debug, Clone, Default)]
pub struct Figures {
    pub stats: ServerStats,
    /// Open connections, four-letter ones included.
    pub live_connections: usize,
    pub uptime_ms: u64,
    pub connections_rejected: u64,
    /// The line `cons`/`stat` print for the asking connection itself.
    pub self_line: String,
}

/// A double as Java's `Double.toString` prints ordinary values (`0.0`, `7.5`).
pub fn java_double(x: f64) -> String {
    if !x.is_finite() {
        return if x.is_nan() {
            "NaN".into()
        } else if x > 0.0 {
            "Infinity".into()
        } else {
            "-Infinity".into()
        };
    }
    let s = format!("{x}");
    if s.contains('.') {
        s
    } else {
        format!("{s}.0")
    }
}

/// A connection as `stat` lists it.
fn conn_brief(c: &ConnInfo) -> String {
    format!(
        " {}[1](queued={},recved={},sent={})",
        peer_text(&c.peer),
        c.outstanding_requests,
        c.packets_received,
        c.packets_sent
    )
}

/// A connection as `cons` lists it: with session details once it has one.
/// Figures the core does not report yet print as ZooKeeper's neutral values.
fn conn_full(c: &ConnInfo) -> String {
    let mut line = conn_brief(c);
    if c.session_id != 0 {
        line.pop(); // the closing ')'
        let _ = write!(
            line,
            ",sid=0x{:x},lop=NA,est=0,to={},lcxid=0x0,lzxid=0x{:x},lresp=0,\
             llat=0,minlat=0,avglat=0,maxlat=0)",
            c.session_id, c.timeout_ms, c.last_zxid
        );
    }
    line
}

fn peer_text(peer: &str) -> String {
    if peer.starts_with('/') {
        peer.to_string()
    } else {
        format!("/{peer}")
    }
}

/// `srvr`, or `stat` when `clients` is set (the same plus a client list).
pub fn srvr_text(f: &Figures, clients: bool) -> String {
    let s = &f.stats;
    let mut out = format!("Zookeeper version: {}\n", full_version());
    if clients {
        out.push_str("Clients:\n");
        for c in &s.connections {
            out.push_str(&conn_brief(c));
            out.push('\n');
        }
        if !f.self_line.is_empty() {
            out.push_str(&f.self_line);
            out.push('\n');
        }
        out.push('\n');
    }
    let _ = write!(
        out,
        "Latency min/avg/max: {}/{}/{}\nReceived: {}\nSent: {}\nConnections: {}\nOutstanding: {}\n\
         Zxid: 0x{:x}\nMode: {}\nNode count: {}\n",
        s.min_latency_ms,
        java_double(s.avg_latency_ms),
        s.max_latency_ms,
        s.packets_received,
        s.packets_sent,
        f.live_connections,
        s.outstanding_requests,
        s.last_zxid,
        s.role.mode_name(),
        s.znode_count
    );
    if s.role == crate::core::Role::Leader {
        let q = &s.quorum;
        let _ = writeln!(
            out,
            "Proposal sizes last/min/max: {}/{}/{}",
            q.last_proposal_size, q.min_proposal_size, q.max_proposal_size
        );
    }
    out
}

/// `cons`: one line per connection, then a blank line.
pub fn cons_text(f: &Figures) -> String {
    let mut out = String::new();
    for c in &f.stats.connections {
        out.push_str(&conn_full(c));
        out.push('\n');
    }
    if !f.self_line.is_empty() {
        out.push_str(&f.self_line);
        out.push('\n');
    }
    out.push('\n');
    out
}

/// `conf`: the settings that matter to a standalone server, in 3.8.0's order.
pub fn conf_text(c: &Config, client_port: u16, data_size: u64, log_size: u64) -> String {
    format!(
        "clientPort={client_port}\nsecureClientPort=-1\ndataDir={}\ndataDirSize={data_size}\n\
         dataLogDir={}\ndataLogSize={log_size}\ntickTime={}\nmaxClientCnxns={}\n\
         minSessionTimeout={}\nmaxSessionTimeout={}\nclientPortListenBacklog=-1\nserverId=0\n",
        c.data_dir.join("version-2").display(),
        c.data_log_dir.join("version-2").display(),
        c.tick_time_ms,
        c.max_client_cnxns_per_ip,
        c.session_timeout_ms_min,
        c.session_timeout_ms_max,
    )
}

/// `dirs`: sizes of the snapshot and log directories.
pub fn dirs_text(data_size: u64, log_size: u64) -> String {
    format!("datadir_size: {data_size}\nlogdir_size: {log_size}\n")
}

/// The `envi` entries for this process, in 3.8.0's order. Java-only entries
/// keep their keys (parsers look for them) with `<NA>` as the value.
pub fn environment() -> Vec<(&'static str, String)> {
    let na = || "<NA>".to_string();
    vec![
        ("zookeeper.version", full_version()),
        ("host.name", host_info::host_name()),
        ("java.version", na()),
        ("java.vendor", na()),
        ("java.home", na()),
        ("java.class.path", na()),
        ("java.library.path", na()),
        ("java.io.tmpdir", std::env::temp_dir().display().to_string()),
        ("java.compiler", na()),
        ("os.name", host_info::os_name()),
        ("os.arch", host_info::os_arch()),
        ("os.version", host_info::os_version()),
        ("user.name", host_info::user_name()),
        ("user.home", host_info::user_home()),
        ("user.dir", host_info::user_dir()),
        (
            "os.memory.free",
            format!("{}MB", host_info::memory_free_mb()),
        ),
        ("os.memory.max", format!("{}MB", host_info::memory_max_mb())),
        (
            "os.memory.total",
            format!("{}MB", host_info::memory_used_mb()),
        ),
    ]
}

/// `envi`: `Environment:` then one `key=value` line per entry.
pub fn envi_text(entries: &[(&str, String)]) -> String {
    let mut out = String::from("Environment:\n");
    for (key, value) in entries {
        let _ = writeln!(out, "{key}={value}");
    }
    out
}

/// `mntr`: tab-separated `zk_<key>\t<value>` lines, from the same typed map
/// the admin API's `monitor` answers (as in ZooKeeper, where both dump one
/// metrics map): doubles as Java prints them, everything else as is.
pub fn mntr_text(f: &Figures) -> String {
    let mut out = String::with_capacity(16 * 1024);
    if let serde_json::Value::Object(map) = crate::admin::commands::monitor(f) {
        for (key, value) in map {
            let _ = match value {
                serde_json::Value::String(s) => writeln!(out, "zk_{key}\t{s}"),
                serde_json::Value::Number(n) if n.is_f64() => {
                    writeln!(out, "zk_{key}\t{}", java_double(n.as_f64().unwrap_or(0.0)))
                }
                other => writeln!(out, "zk_{key}\t{other}"),
            };
        }
    }
    out
}

#[cfg(test)]
mod tests;
