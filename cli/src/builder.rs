//! [`ClientBuilder`]: every connection option, then `connect`.
//!
//! Invariants:
//! - Without [`ClientBuilder::resume_session`] a new session is requested
//!   (session id 0, 16 zero bytes of password).
//! - The event channel is always bounded: either the caller's sender, or one
//!   of `event_capacity` (default [`DEFAULT_EVENT_CAPACITY`]) whose receiver
//!   [`Client::take_events`] hands out.

use crate::client::Client;
use crate::conn::{self, ConnConfig};
use crate::connect_string::ConnectString;
use crate::error::ZkError;
use crate::event::{EventSink, WatchedEvent, DEFAULT_EVENT_CAPACITY};
use crate::session::{SessionInfo, PASSWORD_LEN};
use bytes::Bytes;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc;

/// Session timeout requested when none is given.
pub const DEFAULT_SESSION_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest reply frame accepted by default: well above the server's default
/// `jute.maxbuffer` (1 MiB), so the largest znode plus its Stat always fits.
pub const DEFAULT_MAX_FRAME_BYTES: usize = 4 * 1024 * 1024;

/// Options for [`Client`]; finish with [`connect`](ClientBuilder::connect).
#[derive(Debug)]
pub struct ClientBuilder {
    connect_string: String,
    session_timeout: Duration,
    connect_timeout: Option<Duration>,
    session: Option<(i64, Bytes)>,
    last_zxid: i64,
    read_only: Option<bool>,
    event_capacity: usize,
    event_sender: Option<mpsc::Sender<WatchedEvent>>,
    max_frame_bytes: usize,
}

impl ClientBuilder {
    /// Options for `connect_string` (`host:port[,host:port...][/chroot]`).
    pub fn new(connect_string: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            connect_string: connect_string.into(),
            session_timeout: DEFAULT_SESSION_TIMEOUT,
            connect_timeout: None,
            session: None,
            last_zxid: 0,
            read_only: Some(false),
            event_capacity: DEFAULT_EVENT_CAPACITY,
            event_sender: None,
            max_frame_bytes: DEFAULT_MAX_FRAME_BYTES,
        }
    }

    /// The session timeout to request (the server may negotiate it).
    pub fn session_timeout(mut self, timeout: Duration) -> Self {
        self.session_timeout = timeout;
        self
    }

    /// How long to wait for each host's TCP connect plus handshake
    /// (default: the session timeout).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// Resume an existing session instead of creating one.
    pub fn resume_session(mut self, session_id: i64, password: impl Into<Bytes>) -> Self {
        self.session = Some((session_id, password.into()));
        self
    }

    /// The `lastZxidSeen` sent in the handshake (default 0).
    pub fn last_zxid_seen(mut self, zxid: i64) -> Self {
        self.last_zxid = zxid;
        self
    }

    /// The trailing readOnly byte of the handshake: `Some(flag)` sends it
    /// (default `Some(false)`, as Apache's 3.8 client does), `None` sends the
    /// 44-byte form without it.
    pub fn read_only(mut self, flag: Option<bool>) -> Self {
        self.read_only = flag;
        self
    }

    /// Capacity of the event channel the client creates (ignored with
    /// [`event_sender`](Self::event_sender)); at least 1.
    pub fn event_capacity(mut self, capacity: usize) -> Self {
        self.event_capacity = capacity.max(1);
        self
    }

    /// Deliver events to this (bounded) channel instead of one of our own;
    /// it also receives the `Expired` event when a resume is refused.
    pub fn event_sender(mut self, tx: mpsc::Sender<WatchedEvent>) -> Self {
        self.event_sender = Some(tx);
        self
    }

    /// Largest reply frame accepted; a longer one closes the connection.
    pub fn max_frame_bytes(mut self, max: usize) -> Self {
        self.max_frame_bytes = max;
        self
    }

    /// Connects to the first host that completes the handshake.
    pub async fn connect(self) -> Result<Client, ZkError> {
        let cs = ConnectString::parse(&self.connect_string)?;
        let (tx, rx) = match self.event_sender {
            Some(tx) => (tx, None),
            None => {
                let (tx, rx) = mpsc::channel(self.event_capacity);
                (tx, Some(rx))
            }
        };
        let events = Arc::new(EventSink::new(tx));
        let (id, password) = self
            .session
            .unwrap_or((0, Bytes::from_static(&[0u8; PASSWORD_LEN])));
        let session = Arc::new(SessionInfo::new(id, password, self.last_zxid));
        let cfg = ConnConfig {
            hosts: cs.hosts,
            chroot: cs.chroot,
            session_timeout: self.session_timeout,
            connect_timeout: self.connect_timeout.unwrap_or(self.session_timeout),
            read_only: self.read_only,
            max_frame_bytes: self.max_frame_bytes,
        };
        let handle = conn::open(&cfg, &session, &events).await?;
        Ok(Client::from_parts(cfg, session, events, rx, handle))
    }
}
