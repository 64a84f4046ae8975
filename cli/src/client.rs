//! [`Client`]: a handle to one ZooKeeper session over one connection at a time.
//!
//! Invariants:
//! - `Client` is cheap to clone; all clones share the session, the event
//!   channel and the current connection. Calls may run concurrently; their
//!   requests go on the wire in the order they reach the writer.
//! - The client never reconnects by itself. After a connection loss every
//!   call fails with `ConnectionLoss` until [`Client::reconnect`] succeeds;
//!   watches do not survive a reconnect unless re-sent with `set_watches`.
//!   Successful `add_auth` credentials *are* replayed on reconnect.
//! - After `close` (or a refused resume) every call fails with `Closed`
//!   (or `SessionExpired`) without touching the network.
//! - A reply whose body cannot be decoded closes the connection and fails the
//!   call with `ConnectionLoss`; nothing a server sends can panic the client.
//! - Dropping the last handle drops the connection without closing the
//!   session (the server expires it after the timeout), as Apache's does.

use crate::builder::ClientBuilder;
use crate::chroot::Chroot;
use crate::conn::shared::ConnShared;
use crate::conn::writer::Outgoing;
use crate::conn::{self, ConnConfig, ConnHandle};
use crate::error::ZkError;
use crate::event::{EventSink, WatchedEvent};
use crate::session::SessionInfo;
use bytes::Bytes;
use jute::proto::{keeper_state, xid, AuthPacket, ReplyHeader};
use jute::{OpCode, Record};
use parking_lot::Mutex;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::{mpsc, oneshot};

/// A ZooKeeper session. See the module docs for its invariants.
#[derive(Debug, Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    cfg: ConnConfig,
    session: Arc<SessionInfo>,
    events: Arc<EventSink>,
    events_rx: Mutex<Option<mpsc::Receiver<WatchedEvent>>>,
    conn: Mutex<Arc<ConnHandle>>,
    auths: Mutex<Vec<(String, Bytes)>>,
    reconnecting: tokio::sync::Mutex<()>,
}

/// A reply whose header has been received; the body is not yet decoded.
pub(crate) struct Reply {
    pub header: ReplyHeader,
    pub body: Bytes,
    conn: Arc<ConnShared>,
}

impl Reply {
    /// The reply, or the server's error code as an error.
    pub(crate) fn ok(self) -> Result<Reply, ZkError> {
        match self.header.err {
            0 => Ok(self),
            code => Err(ZkError::from_code(code)),
        }
    }

    /// Decodes the body; a malformed body closes the connection.
    pub(crate) fn decode<T: Record>(mut self) -> Result<T, ZkError> {
        T::read(&mut self.body).map_err(|e| {
            tracing::warn!(error = %e, "malformed reply body");
            self.conn.abort(&format!("malformed reply body: {e}"));
            ZkError::ConnectionLoss
        })
    }
}

impl Client {
    /// Connects with a new session; see [`ClientBuilder`] for more options.
    pub async fn connect(
        connect_string: &str,
        session_timeout: Duration,
    ) -> Result<Client, ZkError> {
        ClientBuilder::new(connect_string)
            .session_timeout(session_timeout)
            .connect()
            .await
    }

    /// Options for connecting to `connect_string`.
    pub fn builder(connect_string: &str) -> ClientBuilder {
        ClientBuilder::new(connect_string)
    }

    pub(crate) fn from_parts(
        cfg: ConnConfig,
        session: Arc<SessionInfo>,
        events: Arc<EventSink>,
        events_rx: Option<mpsc::Receiver<WatchedEvent>>,
        handle: ConnHandle,
    ) -> Client {
        Client {
            inner: Arc::new(Inner {
                cfg,
                session,
                events,
                events_rx: Mutex::new(events_rx),
                conn: Mutex::new(Arc::new(handle)),
                auths: Mutex::new(Vec::new()),
                reconnecting: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// The session id the server assigned.
    pub fn session_id(&self) -> i64 {
        self.inner.session.id()
    }

    /// The session password (16 bytes from a real server).
    pub fn session_password(&self) -> Bytes {
        self.inner.session.password()
    }

    /// The session timeout the server negotiated.
    pub fn negotiated_timeout(&self) -> Duration {
        Duration::from_millis(self.inner.session.timeout_ms().max(0) as u64)
    }

    /// The zxid of the latest ordinary reply seen.
    pub fn last_zxid(&self) -> i64 {
        self.inner.session.last_zxid()
    }

    /// The chroot of the connect string.
    pub fn chroot(&self) -> &Chroot {
        &self.inner.cfg.chroot
    }

    /// The event receiver, once (`None` afterwards, or when the builder was
    /// given its own sender).
    pub fn take_events(&self) -> Option<mpsc::Receiver<WatchedEvent>> {
        self.inner.events_rx.lock().take()
    }

    /// Events dropped because the event channel was full.
    pub fn dropped_events(&self) -> u64 {
        self.inner.events.dropped()
    }

    /// True once the session is over (closed with `close`, or expired):
    /// no call will be sent again.
    pub fn is_session_ended(&self) -> bool {
        self.inner.session.is_closed() || self.inner.session.is_expired()
    }

    /// True while the current connection is up.
    pub fn is_connected(&self) -> bool {
        !self.current().shared.is_terminated()
    }

    fn current(&self) -> Arc<ConnHandle> {
        self.inner.conn.lock().clone()
    }

    pub(crate) fn prefix(&self, path: &str) -> String {
        self.inner.cfg.chroot.prefix(path)
    }

    pub(crate) fn strip(&self, path: &str) -> String {
        self.inner.cfg.chroot.strip(path)
    }

    pub(crate) fn remember_auth(&self, scheme: &str, auth: Bytes) {
        self.inner.auths.lock().push((scheme.to_string(), auth));
    }

    /// Sends one request and waits for its reply.
    pub(crate) async fn submit(
        &self,
        xid: Option<i32>,
        op: i32,
        body: Bytes,
    ) -> Result<Reply, ZkError> {
        if self.inner.session.is_closed() {
            return Err(ZkError::Closed);
        }
        if self.inner.session.is_expired() {
            return Err(ZkError::SessionExpired);
        }
        let conn = self.current();
        let (tx, rx) = oneshot::channel();
        let msg = Outgoing {
            xid,
            op,
            body,
            reply: Some(tx),
        };
        if conn.tx.send(msg).await.is_err() {
            return Err(conn.shared.terminal_error());
        }
        let (header, body) = match rx.await {
            Ok(result) => result?,
            Err(_) => return Err(conn.shared.terminal_error()),
        };
        Ok(Reply {
            header,
            body,
            conn: conn.shared.clone(),
        })
    }

    /// Sends `req` as opcode `op`; decodes the body of a successful reply.
    pub(crate) async fn call<T: Record>(
        &self,
        op: OpCode,
        req: &impl Record,
    ) -> Result<T, ZkError> {
        self.submit(None, op.code(), jute::to_bytes(req))
            .await?
            .ok()?
            .decode()
    }

    /// Sends `req` as opcode `op`; the reply body is ignored.
    pub(crate) async fn call_unit(&self, op: OpCode, req: &impl Record) -> Result<(), ZkError> {
        self.submit(None, op.code(), jute::to_bytes(req))
            .await?
            .ok()
            .map(|_| ())
    }

    /// Sends `body` as opcode `op` (xid chosen from the opcode: −2 ping,
    /// −4 auth, −8 setWatches/setWatches2, else the next ordinary xid) and
    /// returns the reply header and body bytes exactly as received, whatever
    /// the error code. No chroot is applied.
    pub async fn request_raw(&self, op: i32, body: Bytes) -> Result<(ReplyHeader, Bytes), ZkError> {
        let reply = self.submit(None, op, body).await?;
        Ok((reply.header, reply.body))
    }

    /// Like [`request_raw`](Self::request_raw) with an explicit xid. Replies
    /// to −2, −4 and −8 are matched per stream; any other xid joins the
    /// ordinary FIFO, and a reply out of that order closes the connection.
    pub async fn request_raw_with_xid(
        &self,
        xid: i32,
        op: i32,
        body: Bytes,
    ) -> Result<(ReplyHeader, Bytes), ZkError> {
        if xid == xid::NOTIFICATION {
            return Err(ZkError::InvalidArgument(
                "xid -1 is reserved for notifications".into(),
            ));
        }
        let reply = self.submit(Some(xid), op, body).await?;
        Ok((reply.header, reply.body))
    }

    /// Replaces the connection with a new one resuming the same session
    /// (trying the hosts in order), then replays `add_auth` credentials.
    /// A refused resume gives `SessionExpired` and an `Expired` event.
    pub async fn reconnect(&self) -> Result<(), ZkError> {
        let _guard = self.inner.reconnecting.lock().await;
        if self.inner.session.is_closed() {
            return Err(ZkError::Closed);
        }
        if self.inner.session.is_expired() {
            return Err(ZkError::SessionExpired);
        }
        self.current().shared.abort("reconnect requested");
        let handle = conn::open(&self.inner.cfg, &self.inner.session, &self.inner.events).await?;
        let auths = self.inner.auths.lock().clone();
        for (scheme, auth) in auths {
            let packet = AuthPacket {
                type_: 0,
                scheme,
                auth: Some(auth),
            };
            let body = jute::to_bytes(&packet);
            let msg = Outgoing {
                xid: None,
                op: OpCode::Auth.code(),
                body,
                reply: None,
            };
            // The queue is fresh; a failure means the new connection already ended.
            let _ = handle.tx.send(msg).await;
        }
        *self.inner.conn.lock() = Arc::new(handle);
        Ok(())
    }

    /// Closes the session (closeSession, −11) and waits for the reply. Later
    /// calls fail with `Closed`; closing twice is a no-op.
    pub async fn close(&self) -> Result<(), ZkError> {
        if self.inner.session.is_closed() {
            return Ok(());
        }
        let result = self
            .submit(None, OpCode::CloseSession.code(), Bytes::new())
            .await;
        self.inner.session.set_closed();
        self.current()
            .shared
            .terminate(ZkError::Closed, keeper_state::CLOSED);
        result?.ok().map(|_| ())
    }
}
