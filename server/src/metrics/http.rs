//! `/metrics` on `metricsProvider.httpHost:httpPort`, served when
//! `metricsProvider.className` names ZooKeeper's Prometheus provider (the
//! only provider with an HTTP endpoint), through the admin module's HTTP
//! server. Gauges are sampled from the runner per scrape, with a bounded
//! wait; a bind failure is logged and the server goes on without metrics.

use crate::admin::http;
use crate::net::four_letter::Figures;
use crate::net::Listener;
use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

/// The class name that enables the endpoint, as in ZooKeeper's zoo.cfg.
pub const PROMETHEUS_PROVIDER: &str =
    "org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider";
/// How long a scrape waits for the runner's figures.
pub const SCRAPE_TIMEOUT_MS: u64 = 5000;
/// Idle keep-alive connections of scrapers are closed after this long.
pub const IDLE_TIMEOUT_MS: u64 = 60_000;

/// Starts the metrics endpoint if configured; returns its task.
pub async fn spawn(listener: &Listener) -> Option<tokio::task::JoinHandle<()>> {
    let shared = Arc::clone(listener.shared());
    let config = &shared.config;
    match config.metrics_provider_class_name.as_deref() {
        Some(PROMETHEUS_PROVIDER) => {}
        Some(other) => {
            tracing::info!("metricsProvider.className={other}: no /metrics endpoint");
            return None;
        }
        None => return None,
    }
    let (host, port) = (
        config.metrics_provider_http_host.clone(),
        config.metrics_provider_http_port,
    );
    let tcp = match http::bind(&host, port).await {
        Ok(tcp) => tcp,
        Err(e) => {
            tracing::warn!("Cannot start /metrics server on {host}:{port}: {e}; continuing");
            return None;
        }
    };
    tracing::info!("Starting /metrics HTTP endpoint at host: {host}, port: {port}");
    let handler: http::Handler = Arc::new(move |method, path, _query| {
        let shared = Arc::clone(&shared);
        Box::pin(async move {
            if method != hyper::Method::GET && method != hyper::Method::HEAD {
                return http::method_not_allowed();
            }
            if path != "/metrics" {
                return http::not_found();
            }
            let wait = Duration::from_millis(SCRAPE_TIMEOUT_MS);
            let Ok(Some(stats)) = tokio::time::timeout(wait, shared.runner.stats()).await else {
                return http::response(503, Some("text/plain"), "the server is not running\n");
            };
            let figures = Figures {
                stats,
                live_connections: shared.live_connections(),
                uptime_ms: shared.started.elapsed().as_millis() as u64,
                connections_rejected: shared.rejected.load(Ordering::Relaxed),
                self_line: String::new(),
            };
            let text = super::exposition::render(super::server(), &figures);
            http::response(200, Some(super::exposition::CONTENT_TYPE), text)
        })
    });
    Some(http::serve(
        "metrics",
        tcp,
        Duration::from_millis(IDLE_TIMEOUT_MS),
        handler,
    ))
}
