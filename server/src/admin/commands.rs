//! The admin commands (ZooKeeper 3.8.0's `server/admin/Commands.java`): their
//! names, aliases and JSON. Key names, nesting and value types follow the
//! reference's answers (captured from a running 3.8.0 with Jetty; checked by
//! `tests/tests/admin_compat.rs`); values come from the same figures the
//! four-letter words print.
//!
//! Differences, on purpose: a standalone server has no quorum, so `leader`
//! answers the reference's "server is not initialized" error and the quorum
//! commands their empty standalone answers; `environment` and
//! `system_properties` report this process (no JVM: Java-only entries read
//! `<NA>`); a connection's `remote_socket_address` is its IP (the core keeps
//! no client port).

use super::{AdminContext, RUNNER_REPLY_TIMEOUT_MS};
use crate::core::{AdminView, ServerStats};
use crate::metrics::catalog::{
    ADVANCED_SUMMARIES, BASIC_SUMMARIES, COUNTERS, GAUGES, MNTR_PERCENTILES,
};
use crate::net::four_letter::{environment, full_version, Figures};
use serde_json::{json, Map, Value};
use std::sync::atomic::Ordering;
use std::time::Duration;

/// Primary names and their aliases, in the reference's listing order.
pub const COMMANDS: &[(&str, &[&str])] = &[
    ("configuration", &["conf", "config"]),
    ("connection_stat_reset", &["crst"]),
    ("connections", &["cons"]),
    ("dirs", &[]),
    ("dump", &[]),
    ("environment", &["env", "envi"]),
    ("get_trace_mask", &["gtmk"]),
    ("hash", &[]),
    ("initial_configuration", &["icfg"]),
    ("is_read_only", &["isro"]),
    ("last_snapshot", &["lsnp"]),
    ("leader", &["lead"]),
    ("monitor", &["mntr"]),
    ("observer_connection_stat_reset", &["orst"]),
    ("observers", &["obsr"]),
    ("ruok", &[]),
    ("server_stats", &["srvr"]),
    ("set_trace_mask", &["stmk"]),
    ("stat_reset", &["srst"]),
    ("stats", &["stat"]),
    ("system_properties", &["sysp"]),
    ("voting_view", &[]),
    ("watch_summary", &["wchs"]),
    ("watches", &["wchc"]),
    ("watches_by_path", &["wchp"]),
    ("zabstate", &[]),
];

/// The primary name of `name` (itself or an alias), if it is a command.
pub fn primary_name(name: &str) -> Option<&'static str> {
    COMMANDS
        .iter()
        .find(|(primary, aliases)| *primary == name || aliases.contains(&name))
        .map(|(primary, _)| *primary)
}

/// The HTML list of links `GET <commandURL>` answers.
pub fn listing(base: &str) -> String {
    let mut out = String::new();
    for (name, _) in COMMANDS {
        out.push_str(&format!("<a href=\"{base}/{name}\">{name}</a>\n<br/>\n"));
    }
    out
}

/// The JSON answer to command `name` (with `query`, for `set_trace_mask`).
pub(crate) async fn run(ctx: &AdminContext, name: &str, query: Option<&str>) -> Value {
    let Some(primary) = primary_name(name) else {
        return json!({ "command": name, "error": format!("Unknown command: {name}") });
    };
    let mut out = match answer(ctx, primary, query).await {
        Ok(Value::Object(map)) => map,
        Ok(_) => Map::new(),
        Err(error) => {
            let mut map = Map::new();
            map.insert("error".into(), Value::String(error));
            map.insert("command".into(), Value::String(primary.into()));
            return Value::Object(map);
        }
    };
    out.insert("command".into(), Value::String(primary.into()));
    out.insert("error".into(), Value::Null);
    Value::Object(out)
}

async fn stats(ctx: &AdminContext) -> Result<ServerStats, String> {
    let wait = Duration::from_millis(RUNNER_REPLY_TIMEOUT_MS);
    match tokio::time::timeout(wait, ctx.shared.runner.stats()).await {
        Ok(Some(stats)) => Ok(stats),
        _ => Err("The server is not running".to_string()),
    }
}

async fn view(ctx: &AdminContext) -> Result<AdminView, String> {
    let wait = Duration::from_millis(RUNNER_REPLY_TIMEOUT_MS);
    match tokio::time::timeout(wait, ctx.shared.runner.inspect(|s| s.admin_view())).await {
        Ok(Some(view)) => Ok(view),
        _ => Err("The server is not running".to_string()),
    }
}

async fn runner_command(ctx: &AdminContext, word: &str) -> Result<(), String> {
    let wait = Duration::from_millis(RUNNER_REPLY_TIMEOUT_MS);
    match tokio::time::timeout(wait, ctx.shared.runner.command(word)).await {
        Ok(Some(_)) => Ok(()),
        _ => Err("The server is not running".to_string()),
    }
}

async fn figures(ctx: &AdminContext) -> Result<Figures, String> {
    let shared = &ctx.shared;
    Ok(Figures {
        stats: stats(ctx).await?,
        live_connections: shared.live_connections(),
        uptime_ms: shared.started.elapsed().as_millis() as u64,
        connections_rejected: shared.rejected.load(Ordering::Relaxed),
        self_line: String::new(),
    })
}

async fn dir_sizes(ctx: &AdminContext) -> (u64, u64) {
    let data = ctx.shared.config.data_dir.join("version-2");
    let log = ctx.shared.config.data_log_dir.join("version-2");
    tokio::task::spawn_blocking(move || {
        (
            crate::net::host_info::dir_size_bytes(&data),
            crate::net::host_info::dir_size_bytes(&log),
        )
    })
    .await
    .unwrap_or((0, 0))
}

async fn answer(ctx: &AdminContext, name: &str, query: Option<&str>) -> Result<Value, String> {
    let config = &ctx.shared.config;
    Ok(match name {
        "configuration" => json!({
            "client_port": ctx.shared.local_port,
            "data_dir": config.data_dir.join("version-2").display().to_string(),
            "data_log_dir": config.data_log_dir.join("version-2").display().to_string(),
            "tick_time": config.tick_time_ms,
            "max_client_cnxns": config.max_client_cnxns_per_ip,
            "min_session_timeout": config.session_timeout_ms_min,
            "max_session_timeout": config.session_timeout_ms_max,
            "server_id": 0,
            "client_port_listen_backlog": -1,
        }),
        "connection_stat_reset" => {
            runner_command(ctx, "crst").await?;
            json!({})
        }
        "connections" => {
            let s = stats(ctx).await?;
            json!({
                "connections": s.connections.iter().map(|c| connection(c, false)).collect::<Vec<_>>(),
                "secure_connections": [],
            })
        }
        "dirs" => {
            let (data, log) = dir_sizes(ctx).await;
            json!({ "datadir_size": data, "logdir_size": log })
        }
        "dump" => {
            let v = view(ctx).await?;
            let expiry: Map<String, Value> = v
                .expiry_to_sessions
                .iter()
                .map(|(t, ids)| (t.to_string(), json!(ids)))
                .collect();
            let ephemerals: Map<String, Value> = v
                .ephemerals
                .iter()
                .map(|(sid, paths)| (sid.to_string(), json!(paths)))
                .collect();
            json!({
                "expiry_time_to_session_ids": expiry,
                "session_id_to_ephemeral_paths": ephemerals,
            })
        }
        "environment" => {
            let map: Map<String, Value> = environment()
                .into_iter()
                .map(|(k, v)| (k.to_string(), Value::String(v)))
                .collect();
            Value::Object(map)
        }
        "get_trace_mask" => {
            json!({ "tracemask": ctx.shared.trace_mask.load(Ordering::Relaxed) })
        }
        // 3.8.0's Jackson rendering of its digest log: oldest first.
        "hash" => {
            let v = view(ctx).await?;
            let digests: Vec<Value> = v
                .digests
                .iter()
                .map(|d| json!({ "zxid": d.zxid, "digest": d.digest, "digest_version": d.version }))
                .collect();
            json!({ "digests": digests })
        }
        "initial_configuration" => json!({ "initial_configuration": ctx.initial_configuration }),
        "is_read_only" => json!({ "read_only": false }),
        "last_snapshot" => {
            let dir = config.data_dir.join("version-2");
            let (zxid, secs) = tokio::task::spawn_blocking(move || newest_snapshot(&dir))
                .await
                .unwrap_or((0, 0));
            json!({ "zxid": format!("{zxid:x}"), "timestamp": secs })
        }
        "leader" => return Err("server is not initialized".to_string()),
        "monitor" => monitor(&figures(ctx).await?),
        "observer_connection_stat_reset" => json!({}),
        "observers" => json!({ "synced_observers": 0, "observers": [] }),
        "ruok" => json!({}),
        "server_stats" | "stats" => {
            let f = figures(ctx).await?;
            let (data, log) = dir_sizes(ctx).await;
            let mut out = server_stats(&f, data, log);
            if name == "stats" {
                let conns: Vec<Value> = f
                    .stats
                    .connections
                    .iter()
                    .map(|c| connection(c, true))
                    .collect();
                out["connections"] = json!(conns);
                out["secure_connections"] = json!([]);
            }
            out
        }
        "set_trace_mask" => {
            let arg = query
                .into_iter()
                .flat_map(|q| q.split('&'))
                .find_map(|kv| kv.strip_prefix("traceMask="));
            let Some(arg) = arg else {
                return Err("setTraceMask requires long traceMask argument".to_string());
            };
            let Ok(mask) = arg.parse::<i64>() else {
                return Err(format!(
                    "setTraceMask requires long traceMask argument, got {arg}"
                ));
            };
            ctx.shared.trace_mask.store(mask, Ordering::Relaxed);
            json!({ "tracemask": mask })
        }
        "stat_reset" => {
            runner_command(ctx, "srst").await?;
            crate::metrics::server().reset_server_stats();
            json!({})
        }
        "system_properties" => system_properties(ctx),
        "voting_view" => json!({ "current_config": {} }),
        "watch_summary" => {
            let v = view(ctx).await?;
            json!({
                "num_connections": v.watching_connections,
                "num_paths": v.watches_by_path.len(),
                "num_total_watches": v.data_watch_count,
            })
        }
        "watches" => {
            let v = view(ctx).await?;
            let map: Map<String, Value> = v
                .watches_by_session
                .iter()
                .map(|(sid, paths)| (sid.to_string(), json!(paths)))
                .collect();
            json!({ "session_id_to_watched_paths": map })
        }
        "watches_by_path" => {
            let v = view(ctx).await?;
            let map: Map<String, Value> = v
                .watches_by_path
                .iter()
                .map(|(path, sids)| (path.clone(), json!(sids)))
                .collect();
            json!({ "path_to_session_ids": map })
        }
        "zabstate" => json!({ "voting": false, "zabstate": "" }),
        _ => json!({}),
    })
}

/// One connection as `connections` (full) or `stats` (brief) lists it.
fn connection(c: &crate::core::ConnInfo, brief: bool) -> Value {
    let mut v = json!({
        "remote_socket_address": c.peer.trim_start_matches('/'),
        "interest_ops": 1,
        "outstanding_requests": c.outstanding_requests,
        "packets_received": c.packets_received,
        "packets_sent": c.packets_sent,
    });
    if !brief {
        let extra = json!({
            "session_id": c.session_id,
            "last_operation": "NA",
            "established": 0,
            "session_timeout": c.timeout_ms,
            "last_cxid": -1,
            "last_zxid": c.last_zxid,
            "last_response_time": 0,
            "last_latency": 0,
            "min_latency": 0,
            "avg_latency": 0,
            "max_latency": 0,
        });
        if let (Value::Object(a), Value::Object(b)) = (&mut v, extra) {
            a.extend(b);
        }
    }
    v
}

fn client_response() -> Value {
    let m = crate::metrics::server();
    json!({
        "last_buffer_size": m.last_client_response_size.load(Ordering::Relaxed),
        "min_buffer_size": m.min_client_response_size.load(Ordering::Relaxed),
        "max_buffer_size": m.max_client_response_size.load(Ordering::Relaxed),
    })
}

/// `server_stats`: ZooKeeper's `ServerStats` as JSON.
fn server_stats(f: &Figures, data_size: u64, log_size: u64) -> Value {
    let s = &f.stats;
    let m = crate::metrics::server();
    json!({
        "version": full_version(),
        "read_only": false,
        "server_stats": {
            "packets_sent": s.packets_sent,
            "packets_received": s.packets_received,
            "fsync_threshold_exceed_count": m.fsync_threshold_exceed_count.load(Ordering::Relaxed),
            "client_response_stats": client_response(),
            "data_dir_size": data_size,
            "log_dir_size": log_size,
            "provider_null": false,
            "server_state": s.role.mode_name(),
            "last_processed_zxid": s.last_zxid,
            "outstanding_requests": s.outstanding_requests,
            "avg_latency": round4(s.avg_latency_ms),
            "max_latency": s.max_latency_ms,
            "min_latency": s.min_latency_ms,
            "num_alive_client_connections": f.live_connections,
            "auth_failed_count": 0,
            "non_mtlsremote_conn_count": 0,
            "non_mtlslocal_conn_count": 0,
            "uptime": f.uptime_ms,
        },
        "client_response": client_response(),
        "node_count": s.znode_count,
    })
}

/// ZooKeeper rounds averages to 4 decimals (`Math.round(x * 10000) / 10000.0`).
fn round4(x: f64) -> f64 {
    (x * 10_000.0).round() / 10_000.0
}

/// `monitor`: mntr's keys, typed (averages and probabilities as doubles).
pub fn monitor(f: &Figures) -> Value {
    let m = crate::metrics::server();
    let mut out = Map::new();
    out.insert("version".into(), json!(full_version()));
    out.insert("server_state".into(), json!(f.stats.role.mode_name()));
    for name in GAUGES {
        let v = crate::metrics::exposition::gauge_value(m, f, name);
        let v = match *name {
            "avg_latency" => json!(round4(v)),
            "connection_drop_probability" => json!(v),
            _ => json!(v as i64),
        };
        out.insert((*name).into(), v);
    }
    for name in COUNTERS {
        out.insert(
            (*name).into(),
            json!(m.counter(name, f.connections_rejected)),
        );
    }
    let summaries = BASIC_SUMMARIES
        .iter()
        .map(|n| (n, false))
        .chain(ADVANCED_SUMMARIES.iter().map(|n| (n, true)));
    for (name, percentiles) in summaries {
        let s = m.summary(name);
        let (avg, min, max, cnt, sum) = s.map_or((0.0, 0, 0, 0, 0), |s| {
            (round4(s.avg()), s.min(), s.max(), s.count(), s.sum())
        });
        out.insert(format!("avg_{name}"), json!(avg));
        out.insert(format!("min_{name}"), json!(min));
        out.insert(format!("max_{name}"), json!(max));
        out.insert(format!("cnt_{name}"), json!(cnt));
        out.insert(format!("sum_{name}"), json!(sum));
        if percentiles {
            let qs: Vec<f64> = MNTR_PERCENTILES.iter().map(|(_, q)| *q).collect();
            let values = s.map_or_else(|| vec![None; qs.len()], |s| s.quantiles(&qs));
            for ((label, _), v) in MNTR_PERCENTILES.iter().zip(values) {
                out.insert(format!("{label}_{name}"), json!(v.unwrap_or(0)));
            }
        }
    }
    Value::Object(super::role_keys::with_role_keys(out, &f.stats))
}

/// This process's counterpart of Java's system properties: the entries that
/// mean something outside a JVM, and the `zookeeper.*` settings passed
/// through from the configuration.
fn system_properties(ctx: &AdminContext) -> Value {
    let mut map = Map::new();
    for (k, v) in environment() {
        if v != "<NA>" && !k.starts_with("os.memory") && k != "zookeeper.version" {
            map.insert(k.to_string(), Value::String(v));
        }
    }
    map.insert("file.separator".into(), json!("/"));
    map.insert("line.separator".into(), json!("\n"));
    map.insert("path.separator".into(), json!(":"));
    for (k, v) in &ctx.shared.config.extra {
        map.insert(format!("zookeeper.{k}"), Value::String(v.clone()));
    }
    Value::Object(map)
}

/// The newest snapshot's zxid and modification time (Unix seconds), as
/// ZooKeeper's `lastSnapshotInfo`; (0, 0) when there is none.
fn newest_snapshot(dir: &std::path::Path) -> (i64, i64) {
    let files = crate::storage::snapshot::snapshot_files(dir).unwrap_or_default();
    let Some((zxid, path)) = files.into_iter().max_by_key(|(z, _)| *z) else {
        return (0, 0);
    };
    let secs = std::fs::metadata(&path)
        .and_then(|m| m.modified())
        .ok()
        .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
        .map_or(0, |d| d.as_secs() as i64);
    (zxid, secs)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn aliases_resolve_and_the_listing_links_every_command() {
        assert_eq!(primary_name("conf"), Some("configuration"));
        assert_eq!(primary_name("config"), Some("configuration"));
        assert_eq!(primary_name("wchp"), Some("watches_by_path"));
        assert_eq!(primary_name("RUOK"), None);
        assert_eq!(primary_name("ruok/"), None);
        let l = listing("/commands");
        assert!(l.starts_with("<a href=\"/commands/configuration\">configuration</a>\n<br/>\n"));
        assert_eq!(l.matches("<a href").count(), COMMANDS.len());
        let mut sorted: Vec<&str> = COMMANDS.iter().map(|(n, _)| *n).collect();
        sorted.sort_unstable();
        assert!(COMMANDS.iter().map(|(n, _)| *n).eq(sorted));
    }

    #[test]
    fn monitor_types_match_mntr() {
        let v = monitor(&Figures::default());
        assert!(v["avg_latency"].is_f64());
        assert!(v["znode_count"].is_i64());
        assert!(v["avg_readlatency"].is_f64());
        assert!(v["p999_readlatency"].is_u64());
        assert!(v.get("p50_fsynctime").is_none());
    }
}
