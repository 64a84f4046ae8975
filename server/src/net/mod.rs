//! Client connections: the accept loop ([`listener`]), one task per
//! connection ([`connection`]), and the four-letter words answered on a
//! connection's first four bytes ([`four_letter`]); [`tls`] serves the same
//! over TLS on `secureClientPort` (and port unification on the plain port).
//!
//! Invariants:
//! - Every accepted socket gets a fresh [`ConnId`]; ids are never reused.
//! - Every queue is bounded: frames go to the runner through its bounded
//!   queue (a full queue makes readers wait, which is the back-pressure), and
//!   each connection's outbound queue holds at most [`CONN_QUEUE_LEN`]
//!   commands (the runner closes a connection whose queue is full).
//! - The per-IP connection count always equals the number of live
//!   connection tasks from that IP: a [`ConnSlot`] is taken before the task
//!   starts and released when it is dropped, however the task ends.

pub mod connection;
pub mod four_letter;
pub(crate) mod host_info;
pub mod listener;
pub mod tls;
pub mod tls_subject;

pub use listener::Listener;

use crate::config::Config;
use crate::core::ConnId;
use crate::runner::RunnerHandle;
use parking_lot::Mutex;
use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::atomic::{AtomicI64, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Instant;

/// Capacity of each connection's outbound queue, in commands. Large enough
/// that a burst of watch events does not close a healthy client.
pub const CONN_QUEUE_LEN: usize = 4096;

/// ZooKeeper's default trace mask, as `gtmk` reports it on a fresh server.
pub const DEFAULT_TRACE_MASK: i64 = 306;

/// State every connection task shares with the accept loop.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) config: Arc<Config>,
    pub(crate) runner: RunnerHandle,
    /// The port actually bound (differs from the config when it says 0).
    pub(crate) local_port: u16,
    pub(crate) started: Instant,
    /// Set by `stmk`, read by `gtmk`; nothing else uses it yet.
    pub(crate) trace_mask: AtomicI64,
    /// Connections refused by `maxClientCnxns` (mntr's `zk_connection_rejected`).
    pub(crate) rejected: AtomicU64,
    /// The accept loop is running (the admin API's `/ready`).
    pub(crate) serving: std::sync::atomic::AtomicBool,
    next_conn: AtomicU64,
    per_ip: Mutex<HashMap<IpAddr, u32>>,
    live: AtomicUsize,
}

impl Shared {
    pub(crate) fn new(config: Arc<Config>, runner: RunnerHandle, local_port: u16) -> Shared {
        Shared {
            config,
            runner,
            local_port,
            started: Instant::now(),
            trace_mask: AtomicI64::new(DEFAULT_TRACE_MASK),
            rejected: AtomicU64::new(0),
            serving: std::sync::atomic::AtomicBool::new(false),
            next_conn: AtomicU64::new(1),
            per_ip: Mutex::new(HashMap::new()),
            live: AtomicUsize::new(0),
        }
    }

    /// A fresh connection id.
    pub(crate) fn next_conn_id(&self) -> ConnId {
        self.next_conn.fetch_add(1, Ordering::Relaxed)
    }

    /// Connections currently open, four-letter ones included (as ZooKeeper counts).
    pub(crate) fn live_connections(&self) -> usize {
        self.live.load(Ordering::Relaxed)
    }

    /// Takes a slot for a new connection from `ip`, or `None` when the IP
    /// already has `maxClientCnxns` connections (0 = no limit).
    pub(crate) fn admit(self: &Arc<Self>, ip: IpAddr) -> Option<ConnSlot> {
        let max = self.config.max_client_cnxns_per_ip;
        let mut per_ip = self.per_ip.lock();
        let count = per_ip.entry(ip).or_insert(0);
        if max > 0 && *count >= max {
            self.rejected.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        *count += 1;
        self.live.fetch_add(1, Ordering::Relaxed);
        Some(ConnSlot {
            shared: Arc::clone(self),
            ip,
        })
    }
}

/// One admitted connection's place in the per-IP count; released on drop.
#[derive(Debug)]
pub(crate) struct ConnSlot {
    shared: Arc<Shared>,
    ip: IpAddr,
}

impl Drop for ConnSlot {
    fn drop(&mut self) {
        let mut per_ip = self.shared.per_ip.lock();
        if let Some(count) = per_ip.get_mut(&self.ip) {
            *count -= 1;
            if *count == 0 {
                per_ip.remove(&self.ip);
            }
        }
        self.shared.live.fetch_sub(1, Ordering::Relaxed);
    }
}

/// An address as Java prints an `InetSocketAddress` (`/127.0.0.1:2181`,
/// `/0:0:0:0:0:0:0:1:2181`), so logs and `cons` read like ZooKeeper's.
pub fn java_socket_addr(addr: SocketAddr) -> String {
    format!("{}:{}", java_ip(addr.ip()), addr.port())
}

/// An IP as Java prints an `InetAddress`: a leading `/`, IPv6 uncompressed.
pub fn java_ip(ip: IpAddr) -> String {
    match ip.to_canonical() {
        IpAddr::V4(v4) => format!("/{v4}"),
        IpAddr::V6(v6) => {
            let parts: Vec<String> = v6.segments().iter().map(|s| format!("{s:x}")).collect();
            format!("/{}", parts.join(":"))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_address_forms() {
        assert_eq!(
            java_socket_addr("127.0.0.1:2181".parse().unwrap()),
            "/127.0.0.1:2181"
        );
        assert_eq!(
            java_socket_addr("[::1]:5".parse().unwrap()),
            "/0:0:0:0:0:0:0:1:5"
        );
        assert_eq!(
            java_socket_addr("[::ffff:10.0.0.1]:7".parse().unwrap()),
            "/10.0.0.1:7"
        );
        assert_eq!(java_ip("fe80::1".parse().unwrap()), "/fe80:0:0:0:0:0:0:1");
    }
}
