//! The admin HTTP API, as ZooKeeper 3.8.0's Jetty `AdminServer`: on
//! `admin.serverAddress:admin.serverPort`, `GET <admin.commandURL>` lists the
//! commands as links and `GET <admin.commandURL>/<name or alias>` answers a
//! command's JSON (always with `command` and `error`), 200 even for an
//! unknown command, as the reference does. Plus two endpoints of ours for
//! Kubernetes probes: `/ready` (200 while the client port is accepting and
//! the runner answers, else 503) and `/live` (200 while the runner answers
//! within [`LIVE_PROBE_TIMEOUT_MS`], else 503).
//!
//! Invariants:
//! - Admin commands are not subject to `4lw.commands.whitelist` (as in
//!   ZooKeeper: the whitelist guards only the client port).
//! - Every read of the core goes through the runner with a bounded wait, so
//!   a stuck runner makes commands answer an error, never hang a probe.
//! - A bind failure is logged and the server goes on without the admin API:
//!   a monitoring port must not take the coordination service down.

pub mod commands;
pub mod http;
pub mod role_keys;

use crate::net::{Listener, Shared};
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// How long `/live` and `/ready` wait for the runner to answer.
pub const LIVE_PROBE_TIMEOUT_MS: u64 = 1000;
/// How long a command waits for the runner before answering an error.
pub const RUNNER_REPLY_TIMEOUT_MS: u64 = 5000;

/// What the admin handlers read.
pub(crate) struct AdminContext {
    pub(crate) shared: Arc<Shared>,
    /// The configuration file as read at start (`initial_configuration`).
    pub(crate) initial_configuration: String,
}

/// Starts the admin server if `admin.enableServer`; returns its task.
pub async fn spawn(listener: &Listener) -> Option<tokio::task::JoinHandle<()>> {
    let shared = Arc::clone(listener.shared());
    let config = &shared.config;
    if !config.admin_enable_server {
        return None;
    }
    let tcp = match http::bind(&config.admin_server_address, config.admin_server_port).await {
        Ok(tcp) => tcp,
        Err(e) => {
            tracing::warn!(
                "cannot start the AdminServer on {}:{}: {e}; continuing without it",
                config.admin_server_address,
                config.admin_server_port
            );
            return None;
        }
    };
    let port = tcp.local_addr().map(|a| a.port()).unwrap_or(0);
    tracing::info!(
        "Started AdminServer on address {}, port {port} and command URL {}",
        config.admin_server_address,
        config.admin_command_url
    );
    let initial_configuration = std::fs::read_to_string(&config.file_name).unwrap_or_default();
    let idle = Duration::from_millis(config.admin_idle_timeout_ms);
    let ctx = Arc::new(AdminContext {
        shared,
        initial_configuration,
    });
    let handler: http::Handler = Arc::new(move |method, path, query| {
        let ctx = Arc::clone(&ctx);
        Box::pin(async move { handle(&ctx, method, &path, query.as_deref()).await })
    });
    Some(http::serve("AdminServer", tcp, idle, handler))
}

async fn handle(
    ctx: &AdminContext,
    method: hyper::Method,
    path: &str,
    query: Option<&str>,
) -> http::HttpResponse {
    if method != hyper::Method::GET && method != hyper::Method::HEAD {
        return http::method_not_allowed();
    }
    match path {
        "/live" => return probe(runner_answers(ctx).await),
        "/ready" => {
            // An ensemble member is ready only while it serves clients
            // (not while electing or syncing), so a Service routes clients
            // to serving members only.
            let accepting = ctx.shared.serving.load(Ordering::Relaxed);
            return probe(accepting && runner_serves(ctx).await);
        }
        _ => {}
    }
    let base = ctx.shared.config.admin_command_url.as_str();
    let Some(rest) = path.strip_prefix(base) else {
        return http::not_found();
    };
    match rest {
        // The listing has no content type in the reference either.
        "" | "/" => http::response(200, None, commands::listing(base)),
        _ => match rest.strip_prefix('/') {
            Some(name) => {
                let json = commands::run(ctx, name, query).await;
                let body = serde_json::to_string_pretty(&json).unwrap_or_default();
                http::response(200, Some("application/json"), body)
            }
            None => http::not_found(),
        },
    }
}

fn probe(ok: bool) -> http::HttpResponse {
    if ok {
        http::response(200, Some("text/plain; charset=utf-8"), "OK\n")
    } else {
        http::response(
            503,
            Some("text/plain; charset=utf-8"),
            "Service Unavailable\n",
        )
    }
}

/// Whether the runner runs a no-op within [`LIVE_PROBE_TIMEOUT_MS`].
/// The runner answers in time and serves clients.
async fn runner_serves(ctx: &AdminContext) -> bool {
    let wait = Duration::from_millis(LIVE_PROBE_TIMEOUT_MS);
    matches!(
        tokio::time::timeout(wait, ctx.shared.runner.stats()).await,
        Ok(Some(stats)) if !stats.not_serving
    )
}

async fn runner_answers(ctx: &AdminContext) -> bool {
    let wait = Duration::from_millis(LIVE_PROBE_TIMEOUT_MS);
    matches!(
        tokio::time::timeout(wait, ctx.shared.runner.inspect(|_| ())).await,
        Ok(Some(()))
    )
}
