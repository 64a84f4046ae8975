//! The one small HTTP/1.1 server (hyper) behind both the admin API and
//! `/metrics`: bind, accept, one task per connection, a handler per request.
//!
//! Invariants:
//! - At most [`MAX_HTTP_CONNECTIONS`] connections per server are served at
//!   once; further ones are closed on accept (probes and scrapers retry).
//! - A connection that sends no request header within the idle timeout is
//!   closed (`admin.idleTimeout`), so idle keep-alive sockets do not pile up.
//! - Handlers never panic on input: every path and query is answered.

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Request, Response};
use hyper_util::rt::{TokioIo, TokioTimer};
use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

/// Concurrent HTTP connections one server serves.
pub const MAX_HTTP_CONNECTIONS: usize = 64;

/// A response with its whole body.
pub type HttpResponse = Response<Full<Bytes>>;

/// What a server does with one request: method, path and query in, response out.
pub type Handler = Arc<
    dyn Fn(
            hyper::Method,
            String,
            Option<String>,
        ) -> Pin<Box<dyn Future<Output = HttpResponse> + Send>>
        + Send
        + Sync,
>;

/// Binds `host:port` (an empty host or `0.0.0.0` means every IPv4 address).
pub async fn bind(host: &str, port: u16) -> io::Result<TcpListener> {
    let host = if host.is_empty() { "0.0.0.0" } else { host };
    TcpListener::bind((host, port)).await
}

/// Serves `listener` until the returned task is aborted.
pub fn serve(
    name: &'static str,
    listener: TcpListener,
    idle_timeout: Duration,
    handler: Handler,
) -> tokio::task::JoinHandle<()> {
    let slots = Arc::new(Semaphore::new(MAX_HTTP_CONNECTIONS));
    tokio::spawn(async move {
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!("{name}: accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let Ok(permit) = Arc::clone(&slots).try_acquire_owned() else {
                tracing::debug!("{name}: too many connections; closing one from {peer}");
                continue;
            };
            let handler = Arc::clone(&handler);
            tokio::spawn(async move {
                let _permit = permit;
                connection(name, stream, peer, idle_timeout, handler).await;
            });
        }
    })
}

async fn connection(
    name: &'static str,
    stream: tokio::net::TcpStream,
    peer: SocketAddr,
    idle_timeout: Duration,
    handler: Handler,
) {
    let service = hyper::service::service_fn(move |req: Request<Incoming>| {
        let handler = Arc::clone(&handler);
        async move {
            let method = req.method().clone();
            let path = req.uri().path().to_string();
            let query = req.uri().query().map(str::to_string);
            Ok::<_, std::convert::Infallible>(handler(method, path, query).await)
        }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(idle_timeout)
        .keep_alive(true)
        .serve_connection(TokioIo::new(stream), service);
    if let Err(e) = conn.await {
        tracing::debug!("{name}: connection from {peer} ended: {e}");
    }
}

/// A response with `status`, an optional content type and `body`.
pub fn response(status: u16, content_type: Option<&str>, body: impl Into<Bytes>) -> HttpResponse {
    let mut r = Response::new(Full::new(body.into()));
    *r.status_mut() = hyper::StatusCode::from_u16(status).unwrap_or(hyper::StatusCode::OK);
    if let Some(ct) = content_type {
        if let Ok(v) = hyper::header::HeaderValue::from_str(ct) {
            r.headers_mut().insert(hyper::header::CONTENT_TYPE, v);
        }
    }
    r
}

/// 404 for paths a server does not have.
pub fn not_found() -> HttpResponse {
    response(404, Some("text/plain; charset=utf-8"), "Not Found\n")
}

/// 405 for methods other than GET and HEAD.
pub fn method_not_allowed() -> HttpResponse {
    let mut r = response(
        405,
        Some("text/plain; charset=utf-8"),
        "Method Not Allowed\n",
    );
    r.headers_mut().insert(
        hyper::header::ALLOW,
        hyper::header::HeaderValue::from_static("GET, HEAD"),
    );
    r
}
