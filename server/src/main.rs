//! The `zkserver` binary, invoked like `zkServer.sh`:
//! `zkserver [--config <dir>] {start|start-foreground|stop|restart|status|print-cmd} [zoo.cfg]`
//! or `zkserver version`; the lifecycle commands live in `ctl`.
//!
//! Invariants:
//! - A bad command line, configuration or port exits non-zero with one
//!   readable line on stderr: never a panic or a backtrace.
//! - The configuration is resolved as `zkServer.sh` resolves it: a bare file
//!   name is looked up in the config directory (`--config`, else
//!   `$ZOOCFGDIR`, else `conf`), a path containing `/` is used as given.
//! - SIGINT and SIGTERM stop the server cleanly (exit 0).
//! - Under systemd (`NOTIFY_SOCKET`), `READY=1` once clients are served and
//!   `STOPPING=1` when shutdown begins (`notify`).

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;
use zk_server::config::Config;
use zk_server::net::four_letter::full_version;
use zk_server::net::tls::TlsServer;
use zk_server::net::Listener;
use zk_server::{core, ctl, logging, notify, runner, storage};

const USAGE: &str = "Usage: zkserver [--config <conf-dir>] \
    {start|start-foreground|stop|version|restart|status|print-cmd} [zoo.cfg]
Operator commands (exit 0 ok, 1 corruption or error, 2 usage; COMMAND --help for details):
  zkserver txnlog-dump [-d] FILE        print every txn of a txn log, as TxnLogToolkit
  zkserver txnlog-verify FILE           check a txn log's checksums; report the first bad entry
  zkserver snapshot-dump [-d|-json] FILE
                                        print a snapshot's znodes and sessions, as SnapshotFormatter
  zkserver snapshot-verify FILE         check a snapshot's seals and structure
  zkserver [--config <conf-dir>] purge [-n COUNT] [zoo.cfg | DATADIR [DATALOGDIR]]
                                        keep the newest COUNT (>= 3) snapshots and the logs they
                                        need, delete older ones, as zkCleanup.sh/PurgeTxnLog
  zkserver [--config <conf-dir>] check-config [zoo.cfg]
                                        validate the configuration (and myid) as start would;
                                        print the parsed ensemble";

fn main() -> ExitCode {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let mut conf_dir = std::env::var_os("ZOOCFGDIR").map(PathBuf::from);
    if args.first().map(String::as_str) == Some("--config") {
        if args.len() < 2 {
            eprintln!("{USAGE}");
            return ExitCode::from(1);
        }
        conf_dir = Some(PathBuf::from(args[1].clone()));
        args.drain(..2);
    }
    let command = args.first().map(String::as_str).unwrap_or("");
    match command {
        "start-foreground" => {
            let path = ctl::config_path(conf_dir, args.get(1).map(String::as_str));
            start_foreground(path)
        }
        "version" => {
            println!("zkserver, version {}", full_version());
            ExitCode::SUCCESS
        }
        "txnlog-dump" | "txnlog-verify" | "snapshot-dump" | "snapshot-verify" | "purge"
        | "check-config" => ExitCode::from(zk_server::tools::run(command, &args[1..], conf_dir)),
        "start" | "stop" | "status" | "restart" | "print-cmd" => {
            let path = ctl::config_path(conf_dir, args.get(1).map(String::as_str));
            ExitCode::from(ctl::run(command, &ctl::Ctl::new(path)))
        }
        _ => {
            eprintln!("{USAGE}");
            ExitCode::from(1)
        }
    }
}

fn start_foreground(path: PathBuf) -> ExitCode {
    eprintln!("Using config: {}", path.display());
    if let Err(e) = logging::init(&logging::LogSettings::from_env()) {
        eprintln!("zkserver: cannot open the log: {e}");
        return ExitCode::from(1);
    }
    tracing::info!("Using config: {}", path.display());
    let config = match Config::load_for_server(&path) {
        Ok(config) => config,
        Err(e) => {
            tracing::error!("{e}");
            eprintln!("zkserver: {e}");
            return ExitCode::from(1);
        }
    };
    for warning in &config.warnings {
        tracing::warn!("{}: {warning}", config.file_name);
    }
    for note in &config.notes {
        tracing::info!("{}: {note}", config.file_name);
    }
    let runtime = match runtime_builder().enable_all().build() {
        Ok(runtime) => runtime,
        Err(e) => {
            eprintln!("zkserver: cannot start the runtime: {e}");
            return ExitCode::from(1);
        }
    };
    let code = runtime.block_on(serve(config));
    // Connection tasks may be mid-write; they are abandoned, not awaited.
    runtime.shutdown_timeout(Duration::from_secs(1));
    code
}

/// The runtime's worker threads: half the cores, at least one (the
/// `TOKIO_WORKER_THREADS` environment variable overrides it). Every request
/// goes through the one runner task (the single writer) and every write
/// through the log thread, which is not a worker; the workers otherwise only
/// move bytes and frames. More workers than that take CPU from the runner and
/// the log thread and add cross-thread wake-ups: on 2 cores, 1 worker instead
/// of tokio's default 2 served 30% more reads per second at 20% less CPU per
/// read (docs/PERFORMANCE.md).
fn worker_threads() -> usize {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    (cores / 2).max(1)
}

/// One worker's worth of tasks runs on the main thread itself (a
/// current-thread runtime): its run queue is first in, first out, so the
/// watch notifications a write triggers reach their sockets before the
/// write's reply, in the order the core emitted them, as ZooKeeper sends
/// them. A one-worker multi-thread runtime runs the most recently woken
/// task first (its LIFO slot) and so wrote the reply first. More workers
/// (from the core count, or `TOKIO_WORKER_THREADS` above 1) give a
/// multi-thread runtime; a value tokio cannot use is left for it to report.
fn runtime_builder() -> tokio::runtime::Builder {
    let workers = match std::env::var("TOKIO_WORKER_THREADS") {
        Ok(v) => v.trim().parse::<usize>().ok(),
        Err(_) => Some(worker_threads()),
    };
    match workers {
        Some(1) => tokio::runtime::Builder::new_current_thread(),
        Some(n) if n > 1 => {
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            builder.worker_threads(n);
            builder
        }
        _ => tokio::runtime::Builder::new_multi_thread(),
    }
}

/// Loads the newest valid snapshot (falling back past incomplete or corrupt
/// ones), then replays the txn log after it. A torn tail (a txn cut short by
/// a crash, never acknowledged) is logged and cut off, as ZooKeeper ignores a
/// partial last txn; corruption anywhere else stops start-up. Then, as
/// ZooKeeper does once its database is loaded, takes a snapshot: the data
/// directory always holds one, so Apache ZooKeeper can start on it too.
fn recover(
    server: &mut core::Server,
    config: &Config,
    snap_dir: &std::path::Path,
    log_dir: &std::path::Path,
    now_ms: i64,
) -> Result<(), Box<dyn std::error::Error>> {
    use storage::snapshot;
    let metrics = zk_server::metrics::server();
    let started = std::time::Instant::now();
    let history = storage::history::read_history(snap_dir, log_dir, config.extended_types_enabled)?;
    metrics
        .startup_snap_load_time
        .observe(history.snapshot_load.as_millis() as u64);
    if let Some(snap) = history.snapshot {
        server.restore(snap.tree, &snap.sessions, now_ms);
    }
    let replay_started = std::time::Instant::now();
    let count = history.txns.len();
    server.recover(history.txns.into_iter().map(|(txn, _)| txn), now_ms);
    metrics.startup_txns_loaded.observe(count as u64);
    metrics
        .startup_txns_load_time
        .observe((history.txn_load + replay_started.elapsed()).as_millis() as u64);
    metrics
        .dbinittime
        .observe(started.elapsed().as_millis() as u64);
    let zxid = server.tree().last_processed_zxid;
    tracing::info!(
        "replayed {count} txns from {}; last zxid 0x{zxid:x}",
        log_dir.display()
    );
    let written =
        snapshot::ensure_snapshot(snap_dir, zxid, server.tree(), &server.session_timeouts())?;
    if let Some(path) = written {
        tracing::info!("snapshot taken: {}", path.display());
    }
    Ok(())
}

/// Starts the group-commit thread; its progress reaches the runner through
/// a `watch` channel.
fn start_log(
    config: &Config,
    log_dir: PathBuf,
    snap_dir: PathBuf,
) -> std::io::Result<runner::Durability> {
    let mut log_config = storage::LogConfig::new(log_dir);
    log_config.force_sync = config.force_sync;
    log_config.prealloc_bytes = config.prealloc_size_kb * 1024;
    log_config.fsync_warning_threshold_ms = config.fsync_warning_threshold_ms;
    log_config.snap_count = config.snap_count;
    log_config.snap_size_limit_bytes = config.snap_size_limit_kb.saturating_mul(1024);
    let (state_tx, state_rx) = tokio::sync::watch::channel(runner::LogState::default());
    let handle = storage::spawn_log_thread(log_config, move |event| match event {
        storage::LogEvent::Persisted { zxid } => {
            state_tx.send_modify(|s| s.persisted_zxid = zxid);
        }
        storage::LogEvent::Failed { why } => state_tx.send_modify(|s| s.failed = Some(why)),
        storage::LogEvent::Rolled { .. } => state_tx.send_modify(|s| s.snapshots_due += 1),
    })?;
    Ok(runner::Durability::Log {
        txns: handle.tx,
        state: state_rx,
        snap_dir,
    })
}

/// The purge task (`autopurge.purgeInterval` hours, 0 = off): keeps the
/// newest `autopurge.snapRetainCount` snapshots and the logs they need, as
/// ZooKeeper's `DatadirCleanupManager` does, first at start-up and then
/// every interval, on its own thread.
fn start_autopurge(config: &Config, snap_dir: &std::path::Path, log_dir: &std::path::Path) {
    let count = config.autopurge_snap_retain_count as usize;
    let hours = config.autopurge_purge_interval_hours;
    tracing::info!("autopurge.snapRetainCount set to {count}");
    tracing::info!("autopurge.purgeInterval set to {hours}");
    if hours == 0 {
        tracing::info!("Purge task is not scheduled.");
        return;
    }
    let mut dirs = vec![snap_dir.to_path_buf()];
    if log_dir != snap_dir {
        dirs.push(log_dir.to_path_buf());
    }
    let interval = Duration::from_secs(u64::from(hours) * 3600);
    let spawned = std::thread::Builder::new()
        .name("PurgeTask".to_string())
        .spawn(move || loop {
            tracing::info!("Purge task started.");
            match zk_server::tools::purge::purge_now(&dirs, count) {
                Ok(removed) => {
                    for f in &removed {
                        tracing::info!("Removing file: {}", f.display());
                    }
                    tracing::info!("Purge task completed.");
                }
                Err(e) => tracing::error!("Error occurred while purging: {e}"),
            }
            std::thread::sleep(interval);
        });
    if let Err(e) = spawned {
        tracing::error!("cannot start the purge task: {e}");
    }
}

async fn serve(config: Config) -> ExitCode {
    tracing::info!(
        "Created server with tickTime {} ms minSessionTimeout {} ms maxSessionTimeout {} ms \
         datadir {} snapdir {}",
        config.tick_time_ms,
        config.session_timeout_ms_min,
        config.session_timeout_ms_max,
        config.data_log_dir.join("version-2").display(),
        config.data_dir.join("version-2").display(),
    );
    let log_dir = config.data_log_dir.join("version-2");
    let snap_dir = config.data_dir.join("version-2");
    let runner = match config.quorum.clone() {
        Some(q) => match zk_server::quorum::runtime::start(&config, &q).await {
            Ok(handle) => handle,
            Err(e) => {
                tracing::error!("{e}");
                eprintln!("zkserver: cannot start the ensemble member: {e}");
                return ExitCode::from(1);
            }
        },
        None => {
            let now_ms = runner::wall_clock_ms();
            let mut server = core::Server::new(config.core_config(), now_ms);
            if let Err(e) = recover(&mut server, &config, &snap_dir, &log_dir, now_ms) {
                eprintln!("zkserver: cannot recover from {}: {e}", snap_dir.display());
                return ExitCode::from(1);
            }
            let durability = match start_log(&config, log_dir.clone(), snap_dir.clone()) {
                Ok(durability) => durability,
                Err(e) => {
                    eprintln!("zkserver: cannot start the txn log: {e}");
                    return ExitCode::from(1);
                }
            };
            let tick = Duration::from_millis(config.runner_tick_ms());
            runner::spawn(server, tick, durability)
        }
    };
    start_autopurge(&config, &snap_dir, &log_dir);
    let port = config.client_port;
    let config = Arc::new(config);
    let tls = match client_tls(&config) {
        Ok(tls) => tls,
        Err(e) => {
            eprintln!("zkserver: cannot set up client TLS: {e}");
            return ExitCode::from(1);
        }
    };
    let listener = match Listener::bind(Arc::clone(&config), runner).await {
        Ok(listener) => match &tls {
            Some(tls) if config.client_tls.port_unification => {
                listener.with_port_unification(Arc::clone(tls))
            }
            _ => listener,
        },
        Err(e) => {
            eprintln!("zkserver: cannot listen on client port {port}: {e}");
            return ExitCode::from(1);
        }
    };
    let secure = match (&tls, config.client_tls.secure_client_port) {
        (Some(tls), Some(secure_port)) => match listener.bind_secure(Arc::clone(tls)).await {
            Ok(secure) => Some(secure),
            Err(e) => {
                eprintln!("zkserver: cannot listen on secure client port {secure_port}: {e}");
                return ExitCode::from(1);
            }
        },
        _ => None,
    };
    if let Some(secure) = &secure {
        if let Ok(addr) = secure.local_addr() {
            tracing::info!("serving TLS clients on {addr}");
        }
    }
    let _admin = zk_server::admin::spawn(&listener).await;
    let _metrics = zk_server::metrics::http::spawn(&listener).await;
    match listener.local_addr() {
        Ok(addr) => tracing::info!(
            "zkserver {} ready: serving clients on {addr}",
            full_version()
        ),
        Err(_) => tracing::info!("zkserver {} ready", full_version()),
    }
    let secure_run = async {
        match secure {
            Some(secure) => secure.run().await,
            None => std::future::pending().await,
        }
    };
    notify::ready();
    tokio::select! {
        _ = listener.run() => {}
        _ = secure_run => {}
        signal = shutdown_signal() => tracing::info!("received {signal}, shutting down"),
    }
    notify::stopping();
    ExitCode::SUCCESS
}

/// The client TLS context when `secureClientPort` or port unification asks
/// for one, with its reload task when `client.certReload` is set.
fn client_tls(config: &Config) -> Result<Option<Arc<TlsServer>>, String> {
    if !config.client_tls.enabled() {
        return Ok(None);
    }
    let tls = TlsServer::load(&config.client_tls).map_err(|e| e.to_string())?;
    if config.client_tls.cert_reload {
        tls.spawn_reload();
    }
    Ok(Some(tls))
}

/// Resolves on SIGINT or SIGTERM, naming which.
async fn shutdown_signal() -> &'static str {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{signal, SignalKind};
        match signal(SignalKind::terminate()) {
            Ok(mut term) => tokio::select! {
                _ = tokio::signal::ctrl_c() => "SIGINT",
                _ = term.recv() => "SIGTERM",
            },
            Err(_) => {
                let _ = tokio::signal::ctrl_c().await;
                "SIGINT"
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
        "Ctrl-C"
    }
}
