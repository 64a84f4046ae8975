//! Four-letter words (`echo ruok | nc host 2181`), answered in ZooKeeper
//! 3.8.0's exact text so scripts and monitoring that parse it keep working.
//!
//! Invariants:
//! - A word is recognised only as the first four bytes of a connection, and
//!   the connection is closed after the answer.
//! - A word outside `4lw.commands.whitelist` gets ZooKeeper's refusal text
//!   and nothing else runs (not even `stmk`'s read of its argument).
//! - Words that need the tree or sessions (`dump wchs wchc wchp crst srst`)
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

/// Answers `word` on `stream`; the caller closes the connection.
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
    let reply = if shared.config.four_letter_whitelist.allows(word) {
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
        // No digest history is kept yet; 3.8.0 prints nothing until it has some.
        "hash" => String::new(),
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
        "dump" | "wchs" | "wchc" | "wchp" | "crst" | "srst" => shared.runner.command(word).await?,
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
            let figures = Figures {
                stats: shared.runner.stats().await?,
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
         Zxid: 0x{:x}\nMode: standalone\nNode count: {}\n",
        s.min_latency_ms,
        java_double(s.avg_latency_ms),
        s.max_latency_ms,
        s.packets_received,
        s.packets_sent,
        f.live_connections,
        s.outstanding_requests,
        s.last_zxid,
        s.znode_count
    );
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

/// mntr's gauges and counters, in the order 3.8.0 prints them standalone.
const MNTR_KEYS: &[&str] = &[
    "version",
    "server_state",
    "ephemerals_count",
    "num_alive_connections",
    "avg_latency",
    "outstanding_requests",
    "znode_count",
    "global_sessions",
    "non_mtls_remote_conn_count",
    "last_client_response_size",
    "packets_sent",
    "packets_received",
    "max_client_response_size",
    "connection_drop_probability",
    "watch_count",
    "auth_failed_count",
    "min_latency",
    "max_file_descriptor_count",
    "approximate_data_size",
    "open_file_descriptor_count",
    "local_sessions",
    "uptime",
    "max_latency",
    "outstanding_tls_handshake",
    "min_client_response_size",
    "non_mtls_local_conn_count",
    "proposal_count",
    "watch_bytes",
    "outstanding_changes_removed",
    "throttled_ops",
    "stale_requests_dropped",
    "large_requests_rejected",
    "insecure_admin_count",
    "connection_rejected",
    "cnxn_closed_without_zk_server_running",
    "sessionless_connections_expired",
    "looking_count",
    "dead_watchers_queued",
    "stale_requests",
    "connection_drop_count",
    "learner_proposal_received_count",
    "digest_mismatches_count",
    "dead_watchers_cleared",
    "response_packet_cache_hits",
    "bytes_received_count",
    "add_dead_watcher_stall_time",
    "request_throttle_wait_count",
    "requests_not_forwarded_to_commit_processor",
    "response_packet_cache_misses",
    "ensemble_auth_success",
    "prep_processor_request_queued",
    "learner_commit_received_count",
    "stale_replies",
    "connection_request_count",
    "response_bytes",
    "ensemble_auth_fail",
    "diff_count",
    "response_packet_get_children_cache_misses",
    "connection_revalidate_count",
    "quit_leading_due_to_disloyal_voter",
    "snap_count",
    "unrecoverable_error_count",
    "unsuccessful_handshake",
    "commit_count",
    "stale_sessions_expired",
    "response_packet_get_children_cache_hits",
    "sync_processor_request_queued",
    "outstanding_changes_queued",
    "request_commit_queued",
    "ensemble_auth_skip",
    "skip_learner_request_to_next_processor_count",
    "tls_handshake_exceeded",
    "revalidate_count",
];

/// mntr's summaries (avg/min/max/cnt/sum), in 3.8.0's order; we do not
/// measure these yet, so they print as an empty summary.
const MNTR_SUMMARIES: &[&str] = &[
    "socket_closing_time",
    "proposal_process_time",
    "leader_unavailable_time",
    "node_created_watch_count",
    "session_queues_drained",
    "write_commit_proc_req_queued",
    "connection_token_deficit",
    "read_commit_proc_req_queued",
    "node_deleted_watch_count",
    "startup_txns_load_time",
    "sync_processor_queue_size",
    "follower_sync_time",
    "prep_processor_queue_size",
    "fsynctime",
    "inflight_snap_count",
    "reads_issued_from_session_queue",
    "learner_request_processor_queue_size",
    "snapshottime",
    "unavailable_time",
    "startup_txns_loaded",
    "reads_after_write_in_session_queue",
    "requests_in_session_queue",
    "write_commit_proc_issued",
    "prep_process_time",
    "pending_session_queue_size",
    "time_waiting_empty_pool_in_commit_processor_read_ms",
    "commit_process_time",
    "dbinittime",
    "inflight_diff_count",
    "netty_queued_buffer_capacity",
    "election_time",
    "commit_commit_proc_req_queued",
    "sync_processor_batch_size",
    "node_children_watch_count",
    "write_batch_time_in_commit_processor",
    "read_commit_proc_issued",
    "concurrent_request_processing_in_commit_processor",
    "observer_sync_time",
    "node_changed_watch_count",
    "sync_process_time",
    "startup_snap_load_time",
];

/// mntr's summaries that also print percentiles (p50/p95/p99/p999).
const MNTR_PERCENTILE_SUMMARIES: &[&str] = &[
    "prep_processor_queue_time_ms",
    "jvm_pause_time_ms",
    "close_session_prep_time",
    "read_commitproc_time_ms",
    "updatelatency",
    "local_write_committed_time_ms",
    "request_throttle_queue_time_ms",
    "readlatency",
    "quorum_ack_latency",
    "om_commit_process_time_ms",
    "read_final_proc_time_ms",
    "commit_propagation_latency",
    "dead_watchers_cleaner_latency",
    "write_final_proc_time_ms",
    "proposal_ack_creation_latency",
    "proposal_latency",
    "om_proposal_process_time_ms",
    "sync_processor_queue_and_flush_time_ms",
    "propagation_latency",
    "server_write_committed_time_ms",
    "sync_processor_queue_time_ms",
    "sync_processor_queue_flush_time_ms",
    "write_commitproc_time_ms",
];

/// The value of one mntr gauge or counter; ones we do not track read 0.
fn mntr_value(f: &Figures, key: &str) -> String {
    let s = &f.stats;
    match key {
        "version" => full_version(),
        "server_state" => "standalone".to_string(),
        "ephemerals_count" => s.ephemerals_count.to_string(),
        "num_alive_connections" => f.live_connections.to_string(),
        "avg_latency" => java_double(s.avg_latency_ms),
        "min_latency" => s.min_latency_ms.to_string(),
        "max_latency" => s.max_latency_ms.to_string(),
        "outstanding_requests" => s.outstanding_requests.to_string(),
        "znode_count" => s.znode_count.to_string(),
        "global_sessions" => s.session_count.to_string(),
        "packets_sent" => s.packets_sent.to_string(),
        "packets_received" => s.packets_received.to_string(),
        "watch_count" => s.watch_count.to_string(),
        "approximate_data_size" => s.approximate_data_size.to_string(),
        "uptime" => f.uptime_ms.to_string(),
        "connection_rejected" => f.connections_rejected.to_string(),
        "max_file_descriptor_count" => host_info::max_fd_count().to_string(),
        "open_file_descriptor_count" => host_info::open_fd_count().to_string(),
        "last_client_response_size" | "max_client_response_size" | "min_client_response_size" => {
            "-1".to_string()
        }
        "connection_drop_probability" => "0.0".to_string(),
        _ => "0".to_string(),
    }
}

/// `mntr`: tab-separated `zk_<key>\t<value>` lines.
pub fn mntr_text(f: &Figures) -> String {
    let mut out = String::with_capacity(16 * 1024);
    for key in MNTR_KEYS {
        let _ = writeln!(out, "zk_{key}\t{}", mntr_value(f, key));
    }
    let summary = |out: &mut String, name: &str, percentiles: bool| {
        let _ = write!(
            out,
            "zk_avg_{name}\t0.0\nzk_min_{name}\t0\nzk_max_{name}\t0\n\
             zk_cnt_{name}\t0\nzk_sum_{name}\t0\n"
        );
        if percentiles {
            for p in ["p50", "p95", "p99", "p999"] {
                let _ = writeln!(out, "zk_{p}_{name}\t0");
            }
        }
    };
    for name in MNTR_SUMMARIES {
        summary(&mut out, name, false);
    }
    for name in MNTR_PERCENTILE_SUMMARIES {
        summary(&mut out, name, true);
    }
    out
}

#[cfg(test)]
mod tests;
