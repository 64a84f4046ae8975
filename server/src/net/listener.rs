//! The accept loop on `clientPortAddress:clientPort`, and the same loop on
//! `secureClientPortAddress:secureClientPort` with TLS.
//!
//! Invariants:
//! - A connection over `maxClientCnxns` for its IP is closed at once, before
//!   any byte is read, and never reaches the runner (as in ZooKeeper).
//! - An accept error never ends the loop: errors such as running out of file
//!   descriptors are transient, so we log, pause briefly and go on.

use super::tls::{TlsMode, TlsServer};
use super::{connection, java_ip, tls, Shared};
use crate::config::Config;
use crate::runner::RunnerHandle;
use std::io;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

/// How long to pause after a failed accept (e.g. EMFILE) before retrying,
/// so a persistent error does not spin a core.
const ACCEPT_RETRY_DELAY: Duration = Duration::from_millis(100);

/// A bound client port, ready to [`run`](Listener::run).
#[derive(Debug)]
pub struct Listener {
    tcp: TcpListener,
    shared: Arc<Shared>,
    tls: Option<(Arc<TlsServer>, TlsMode)>,
}

impl Listener {
    /// Binds `clientPortAddress:clientPort` (every address if unset).
    pub async fn bind(config: Arc<Config>, runner: RunnerHandle) -> io::Result<Listener> {
        let port = config.client_port;
        let tcp = bind_tcp(config.client_port_address.as_deref(), port).await?;
        let local = tcp.local_addr()?;
        tracing::info!("binding to port {}", super::java_socket_addr(local));
        let shared = Arc::new(Shared::new(config, runner, local.port()));
        Ok(Listener {
            tcp,
            shared,
            tls: None,
        })
    }

    /// Binds `secureClientPortAddress:secureClientPort` next to this (plain)
    /// listener; every connection there is TLS with `tls`'s current context.
    /// Both listeners share one [`Shared`]: connection ids stay unique for
    /// the runner, and per-IP limits and counts cover both ports.
    pub async fn bind_secure(&self, tls: Arc<TlsServer>) -> io::Result<Listener> {
        let config = &self.shared.config;
        let port = config.client_tls.secure_client_port.unwrap_or(0);
        let host = config.client_tls.secure_client_port_address.clone();
        let tcp = bind_tcp(host.as_deref(), port).await?;
        let local = tcp.local_addr()?;
        tracing::info!("binding to secure port {}", super::java_socket_addr(local));
        let shared = Arc::clone(&self.shared);
        Ok(Listener {
            tcp,
            shared,
            tls: Some((tls, TlsMode::Secure)),
        })
    }

    /// `client.portUnification`: this (plain) port also accepts TLS clients.
    pub fn with_port_unification(mut self, tls: Arc<TlsServer>) -> Listener {
        self.tls = Some((tls, TlsMode::Unified));
        self
    }

    /// The address actually bound (useful when the config says port 0).
    pub fn local_addr(&self) -> io::Result<SocketAddr> {
        self.tcp.local_addr()
    }

    /// State shared with the connections (the admin API reads it too).
    pub(crate) fn shared(&self) -> &Arc<Shared> {
        &self.shared
    }

    /// Accepts connections until the task is dropped; never returns.
    pub async fn run(self) {
        // Ready while this loop runs; the guard clears it when the loop is
        // dropped at shutdown.
        let _serving = Serving::start(Arc::clone(&self.shared));
        loop {
            let (stream, peer) = match self.tcp.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    tracing::warn!("error accepting new connection: {e}");
                    tokio::time::sleep(ACCEPT_RETRY_DELAY).await;
                    continue;
                }
            };
            let ip: IpAddr = peer.ip().to_canonical();
            let peer = SocketAddr::new(ip, peer.port());
            let Some(slot) = self.shared.admit(ip) else {
                tracing::warn!(
                    "Too many connections from {} - max is {}",
                    java_ip(ip),
                    self.shared.config.max_client_cnxns_per_ip
                );
                drop(stream);
                continue;
            };
            crate::metrics::server()
                .connection_request_count
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            let conn = self.shared.next_conn_id();
            let shared = Arc::clone(&self.shared);
            match &self.tls {
                None => tokio::spawn(connection::serve(shared, stream, peer, conn, slot)),
                Some((server, mode)) => tokio::spawn(tls::serve(
                    shared,
                    stream,
                    peer,
                    conn,
                    slot,
                    Arc::clone(server),
                    *mode,
                )),
            };
        }
    }
}

/// Marks the accept loop as running for as long as it lives.
struct Serving(Arc<Shared>);

impl Serving {
    fn start(shared: Arc<Shared>) -> Serving {
        shared
            .serving
            .store(true, std::sync::atomic::Ordering::Relaxed);
        Serving(shared)
    }
}

impl Drop for Serving {
    fn drop(&mut self) {
        self.0
            .serving
            .store(false, std::sync::atomic::Ordering::Relaxed);
    }
}

/// Binds `host:port`, or every address when `host` is `None`.
async fn bind_tcp(host: Option<&str>, port: u16) -> io::Result<TcpListener> {
    match host {
        Some(host) => TcpListener::bind((host, port)).await,
        // The IPv6 wildcard also accepts IPv4 on dual-stack hosts, as
        // Java's wildcard does; fall back to IPv4 where IPv6 is off.
        None => match TcpListener::bind((Ipv6Addr::UNSPECIFIED, port)).await {
            Ok(tcp) => Ok(tcp),
            Err(_) => TcpListener::bind((Ipv4Addr::UNSPECIFIED, port)).await,
        },
    }
}
