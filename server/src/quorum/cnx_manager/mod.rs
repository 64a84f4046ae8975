//! The election port's connections: Apache ZooKeeper's `QuorumCnxManager`
//! (3.8.0), in tokio. It moves opaque payloads (one FastLeaderElection
//! notification each, for its users) between servers by sid; it does not
//! look inside them.
//!
//! Behaviour, as 3.8.0's:
//! - The listener (`listener`) takes connections on this server's election
//!   addresses (the wildcard with `quorumListenOnAllIPs`); the initiator
//!   writes a [`handshake`] first. A connection from a *smaller* sid is
//!   closed and dialled back (to the address its handshake names, else the
//!   configured one); one from a larger sid replaces any connection we had
//!   to it. The initiator keeps its connection only if it has the larger
//!   sid. So between two servers exactly one connection survives, the one
//!   the larger sid opened. Observers are peers like any other; one that
//!   announces `OBSERVER_ID` gets a fresh negative sid.
//! - After the handshake each direction carries `int length; byte[length]`
//!   frames; `length ≤ 0` or `> packet_max_size_bytes` closes the
//!   connection (`worker`).
//! - Per peer, a send queue of `send_capacity` (1) keeping the newest
//!   message, and the last message taken from it; a new connection's sender
//!   first re-sends that last message if the queue is empty, because it may
//!   have been lost with the old connection (FastLeaderElection's liveness
//!   relies on it, and tolerates duplicates).
//! - One receive queue ([`CnxReceiver`], `recv_capacity` = 100) for all
//!   peers, oldest dropped when full. A message to myself goes straight to it.
//!
//! Invariants:
//! - At most one live connection per sid in the table (`Peer::worker`); a
//!   replaced connection's tasks are cancelled, and a finishing connection
//!   removes only its own entry (by connection id).
//! - At most one dial per sid in flight (`State::dialing`).
//! - Every queue is bounded (send, receive, pending handshakes, handshake
//!   log); every wait is bounded (`cnx_timeout_ms`, `handshake_timeout_ms`)
//!   except reads on an established connection (Apache: `SO_TIMEOUT` 0).
//! - Bad bytes from a peer close that socket only, with a logged reason.

mod config;
mod dial;
pub mod handshake;
mod listener;
mod recv_queue;
mod worker;

pub use config::{CnxConfig, CNX_TIMEOUT_MS, PACKET_MAX_SIZE_BYTES, RECV_CAPACITY, SEND_CAPACITY};
pub use handshake::{Handshake, HandshakeVersion, HostPort};
pub use recv_queue::CnxReceiver;

use crate::quorum::types::Sid;
use bytes::Bytes;
use parking_lot::Mutex;
use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// A live connection, as [`CnxHandle::connections`] reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectionInfo {
    pub sid: Sid,
    /// True if this server dialled it (so `sid` is the smaller one).
    pub initiated_by_me: bool,
    pub local_addr: SocketAddr,
    pub remote_addr: SocketAddr,
}

/// One incoming handshake, kept for inspection.
#[derive(Debug, Clone)]
pub struct HandshakeRecord {
    pub remote_addr: SocketAddr,
    /// The parsed handshake, or why it was refused.
    pub outcome: Result<Handshake, String>,
}

/// Why a message was not queued.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CnxError {
    /// The manager is shut down.
    Shutdown,
    /// Empty or larger than `packet_max_size_bytes`: the peer would close
    /// the connection on it.
    MessageSize(usize),
}

impl std::fmt::Display for CnxError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            CnxError::Shutdown => write!(f, "connection manager is shut down"),
            CnxError::MessageSize(n) => write!(f, "message of {n} bytes cannot be sent"),
        }
    }
}

impl std::error::Error for CnxError {}

struct Worker {
    id: u64,
    cancel: CancellationToken,
    info: ConnectionInfo,
}

/// `queueSendMap`, `lastMessageSent` and `senderWorkerMap` for one sid.
struct Peer {
    queue: VecDeque<Bytes>,
    last_sent: Option<Bytes>,
    worker: Option<Worker>,
    /// Wakes this peer's sender when the queue gets a message.
    wake: Arc<Notify>,
}

impl Peer {
    fn new() -> Peer {
        Peer {
            queue: VecDeque::new(),
            last_sent: None,
            worker: None,
            wake: Arc::new(Notify::new()),
        }
    }
}

struct State {
    peers: HashMap<Sid, Peer>,
    dialing: HashSet<Sid>,
    /// `observerCounter`: the next sid for an `OBSERVER_ID` peer.
    observer_counter: Sid,
    handshakes: VecDeque<HandshakeRecord>,
}

pub(crate) struct Shared {
    cfg: CnxConfig,
    state: Mutex<State>,
    recv: CnxReceiver,
    shutdown: CancellationToken,
    handshake_slots: Arc<Semaphore>,
    next_conn_id: AtomicU64,
    bound: Vec<SocketAddr>,
    listeners: Mutex<Vec<JoinHandle<()>>>,
}

/// Starts connection managers.
pub struct CnxManager;

impl CnxManager {
    /// Binds the election addresses and starts accepting. Nothing is dialled
    /// until the first `send` or `connect_all`.
    pub async fn start(cfg: CnxConfig) -> std::io::Result<(CnxHandle, CnxReceiver)> {
        let mut listeners = Vec::new();
        let mut bound = Vec::new();
        for addr in cfg.listen_addrs() {
            let l = TcpListener::bind(addr).await?;
            bound.push(l.local_addr()?);
            tracing::info!(
                "{} is accepting connections now, my election bind port: {}",
                cfg.my_sid,
                addr
            );
            listeners.push(l);
        }
        let recv = CnxReceiver::new(cfg.recv_capacity);
        let shared = Arc::new(Shared {
            handshake_slots: Arc::new(Semaphore::new(cfg.max_pending_handshakes.max(1))),
            cfg,
            state: Mutex::new(State {
                peers: HashMap::new(),
                dialing: HashSet::new(),
                observer_counter: -1,
                handshakes: VecDeque::new(),
            }),
            recv: recv.clone(),
            shutdown: CancellationToken::new(),
            next_conn_id: AtomicU64::new(1),
            bound,
            listeners: Mutex::new(Vec::new()),
        });
        let tasks: Vec<JoinHandle<()>> = listeners
            .into_iter()
            .map(|l| tokio::spawn(listener::accept_loop(shared.clone(), l)))
            .collect();
        *shared.listeners.lock() = tasks;
        Ok((CnxHandle { shared }, recv))
    }
}

/// The election's side of the manager. Cheap to clone.
#[derive(Clone)]
pub struct CnxHandle {
    shared: Arc<Shared>,
}

impl CnxHandle {
    pub fn my_sid(&self) -> Sid {
        self.shared.cfg.my_sid
    }

    /// The addresses the listener is bound to.
    pub fn listen_addrs(&self) -> &[SocketAddr] {
        &self.shared.bound
    }

    /// `toSend`: queue `payload` for `sid` (the older queued message is
    /// dropped if the queue is full) and dial `sid` if not connected. To
    /// myself, it goes straight to the receive queue.
    pub fn send(&self, sid: Sid, payload: Bytes) -> Result<(), CnxError> {
        self.shared.send(sid, payload)
    }

    /// `connectAll`: dial every peer that has a send queue and no connection.
    pub fn connect_all(&self) {
        let sids: Vec<Sid> = self.shared.state.lock().peers.keys().copied().collect();
        for sid in sids {
            self.shared.connect_one(sid, Vec::new());
        }
    }

    /// `haveDelivered`, exactly as 3.8.0 computes it: true if *some* peer's
    /// send queue is empty, false if none is (or there are no queues).
    /// FastLeaderElection re-sends its notifications when this is true and
    /// only reconnects when it is false; "all empty" would stop the re-sends
    /// as long as one peer is down.
    pub fn have_delivered(&self) -> bool {
        self.shared
            .state
            .lock()
            .peers
            .values()
            .any(|p| p.queue.is_empty())
    }

    /// `connectedToPeer`.
    pub fn connected_to_peer(&self, sid: Sid) -> bool {
        self.shared
            .state
            .lock()
            .peers
            .get(&sid)
            .is_some_and(|p| p.worker.is_some())
    }

    /// The live connections, by sid.
    pub fn connections(&self) -> Vec<ConnectionInfo> {
        let st = self.shared.state.lock();
        let mut v: Vec<ConnectionInfo> = st
            .peers
            .values()
            .filter_map(|p| p.worker.as_ref().map(|w| w.info.clone()))
            .collect();
        v.sort_by_key(|c| c.sid);
        v
    }

    /// The most recent incoming handshakes (at most `handshake_log_capacity`).
    pub fn handshakes(&self) -> Vec<HandshakeRecord> {
        self.shared
            .state
            .lock()
            .handshakes
            .iter()
            .cloned()
            .collect()
    }

    /// `halt`: stop listening (the ports are released when this returns),
    /// close every connection, end the receive queue.
    pub async fn shutdown(&self) {
        self.shared.shutdown.cancel();
        {
            let mut st = self.shared.state.lock();
            for p in st.peers.values_mut() {
                if let Some(w) = p.worker.take() {
                    w.cancel.cancel();
                }
            }
        }
        self.shared.recv.close();
        let tasks = std::mem::take(&mut *self.shared.listeners.lock());
        for t in tasks {
            let _ = t.await;
        }
    }
}

impl Shared {
    fn send(self: &Arc<Self>, sid: Sid, payload: Bytes) -> Result<(), CnxError> {
        if self.shutdown.is_cancelled() {
            return Err(CnxError::Shutdown);
        }
        if payload.is_empty() || payload.len() > self.cfg.packet_max_size_bytes {
            return Err(CnxError::MessageSize(payload.len()));
        }
        if sid == self.cfg.my_sid {
            self.recv.push(sid, payload);
            return Ok(());
        }
        {
            let mut st = self.state.lock();
            let peer = st.peers.entry(sid).or_insert_with(Peer::new);
            while peer.queue.len() >= self.cfg.send_capacity.max(1) {
                peer.queue.pop_front();
            }
            peer.queue.push_back(payload);
            peer.wake.notify_waiters();
        }
        self.connect_one(sid, Vec::new());
        Ok(())
    }

    /// `connectOne`: dial `sid` unless connected or already dialling, at
    /// `hint` (the addresses its handshake named) if any, else at its
    /// configured election addresses.
    fn connect_one(self: &Arc<Self>, sid: Sid, hint: Vec<HostPort>) {
        {
            let mut st = self.state.lock();
            if self.shutdown.is_cancelled()
                || st.peers.get(&sid).is_some_and(|p| p.worker.is_some())
                || !st.dialing.insert(sid)
            {
                return;
            }
        }
        tokio::spawn(dial::dial(self.clone(), sid, hint));
    }

    /// Makes `stream` the connection to `sid`, replacing (and closing) any
    /// other, and starts its sender and receiver.
    fn install(self: &Arc<Self>, sid: Sid, stream: TcpStream, initiated_by_me: bool) {
        let (Ok(local_addr), Ok(remote_addr)) = (stream.local_addr(), stream.peer_addr()) else {
            tracing::warn!("connection to server {sid} closed before it was set up");
            return;
        };
        let id = self.next_conn_id.fetch_add(1, Ordering::Relaxed);
        let cancel = self.shutdown.child_token();
        let wake = {
            let mut st = self.state.lock();
            if self.shutdown.is_cancelled() {
                return;
            }
            let peer = st.peers.entry(sid).or_insert_with(Peer::new);
            if let Some(old) = peer.worker.take() {
                old.cancel.cancel();
            }
            peer.worker = Some(Worker {
                id,
                cancel: cancel.clone(),
                info: ConnectionInfo {
                    sid,
                    initiated_by_me,
                    local_addr,
                    remote_addr,
                },
            });
            peer.wake.clone()
        };
        worker::spawn(self.clone(), sid, id, stream, cancel, wake);
    }

    /// `SendWorker.finish`: forget connection `id` to `sid` if it is still
    /// the current one.
    fn finish(&self, sid: Sid, id: u64) {
        let mut st = self.state.lock();
        if let Some(p) = st.peers.get_mut(&sid) {
            if p.worker.as_ref().is_some_and(|w| w.id == id) {
                if let Some(w) = p.worker.take() {
                    w.cancel.cancel();
                }
            }
        }
    }

    /// `handleConnection` after a good handshake.
    fn handle_connection(self: &Arc<Self>, hs: Handshake, stream: TcpStream) {
        let mut sid = hs.sid;
        if sid == handshake::OBSERVER_ID {
            let mut st = self.state.lock();
            sid = st.observer_counter;
            st.observer_counter -= 1;
            tracing::info!("Setting arbitrary identifier to observer: {sid}");
        }
        let me = self.cfg.my_sid;
        if sid < me {
            // The peer may still think its old connection is up: close ours
            // too, then dial it back (the larger sid initiates).
            {
                let mut st = self.state.lock();
                if let Some(w) = st.peers.get_mut(&sid).and_then(|p| p.worker.take()) {
                    w.cancel.cancel();
                }
            }
            drop(stream);
            tracing::debug!("Create new connection to server: {sid}");
            self.connect_one(sid, hs.election_addrs);
        } else if sid == me {
            // Apache leaves this socket open (ZOOKEEPER-2164); we close it.
            tracing::warn!(
                "We got a connection request from a server with our own ID. \
                 This should be either a configuration error, or a bug."
            );
        } else {
            self.install(sid, stream, false);
        }
    }

    fn record_handshake(&self, rec: HandshakeRecord) {
        let mut st = self.state.lock();
        if st.handshakes.len() >= self.cfg.handshake_log_capacity.max(1) {
            st.handshakes.pop_front();
        }
        st.handshakes.push_back(rec);
    }
}
