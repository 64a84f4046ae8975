//! One TCP connection to a server: handshake, then a reader task and a writer
//! task sharing a [`ConnShared`].
//!
//! Invariants:
//! - Hosts are tried in connect-string order; the first that completes the
//!   handshake is used. A refused resume (timeout 0) stops the search at once
//!   with `SessionExpired`, marks the session expired and emits `Expired`.
//! - A connection never outlives its session: once it ends (loss, close,
//!   protocol error) it is not reused; the client opens a new one.
//! - The request queue to the writer holds at most `REQUEST_QUEUE_CAPACITY`
//!   requests; callers wait for room (back-pressure), they are never dropped.

mod handshake;
pub(crate) mod pending;
mod reader;
pub(crate) mod shared;
pub(crate) mod writer;

use crate::chroot::Chroot;
use crate::connect_string::HostPort;
use crate::error::ZkError;
use crate::event::EventSink;
use crate::session::SessionInfo;
use jute::proto::{keeper_state, ConnectRequest, ConnectResponse};
use shared::ConnShared;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use writer::Outgoing;

pub use handshake::HANDSHAKE_MAX_BYTES;

/// Requests queued for a connection's writer, not yet on the wire.
pub const REQUEST_QUEUE_CAPACITY: usize = 1024;

/// Settings fixed for a client's lifetime.
#[derive(Debug, Clone)]
pub(crate) struct ConnConfig {
    pub hosts: Vec<HostPort>,
    pub chroot: Chroot,
    pub session_timeout: Duration,
    pub connect_timeout: Duration,
    /// The trailing readOnly byte of `ConnectRequest`; `None` omits it.
    pub read_only: Option<bool>,
    pub max_frame_bytes: usize,
}

/// A live connection: where to queue requests, and its shared state.
#[derive(Debug)]
pub(crate) struct ConnHandle {
    pub tx: mpsc::Sender<Outgoing>,
    pub shared: Arc<ConnShared>,
}

enum HostError {
    Expired,
    Failed(String),
}

/// Opens a connection for `session` (new when its id is 0, resumed otherwise).
pub(crate) async fn open(
    cfg: &ConnConfig,
    session: &Arc<SessionInfo>,
    events: &Arc<EventSink>,
) -> Result<ConnHandle, ZkError> {
    let mut failures = Vec::new();
    for hp in &cfg.hosts {
        match try_host(cfg, hp, session).await {
            Ok((stream, resp)) => return Ok(start(cfg, stream, resp, session, events)),
            Err(HostError::Expired) => {
                session.set_expired();
                events.state(keeper_state::EXPIRED);
                return Err(ZkError::SessionExpired);
            }
            Err(HostError::Failed(why)) => {
                tracing::debug!(host = %hp.host, port = hp.port, %why, "connect failed");
                failures.push(format!("{}:{}: {why}", hp.host, hp.port));
            }
        }
    }
    Err(ZkError::ConnectFailed(failures.join("; ")))
}

async fn try_host(
    cfg: &ConnConfig,
    hp: &HostPort,
    session: &SessionInfo,
) -> Result<(TcpStream, ConnectResponse), HostError> {
    let attempt = async {
        let mut stream = TcpStream::connect((hp.host.as_str(), hp.port))
            .await
            .map_err(|e| e.to_string())?;
        let _ = stream.set_nodelay(true);
        let req = ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: session.last_zxid(),
            time_out: duration_ms(cfg.session_timeout),
            session_id: session.id(),
            passwd: Some(session.password()),
            read_only: cfg.read_only,
        };
        let resp = handshake::handshake(&mut stream, &req).await?;
        Ok::<_, String>((stream, resp))
    };
    let (stream, resp) = tokio::time::timeout(cfg.connect_timeout, attempt)
        .await
        .map_err(|_| HostError::Failed("timed out".into()))?
        .map_err(HostError::Failed)?;
    if resp.time_out <= 0 {
        return Err(HostError::Expired);
    }
    Ok((stream, resp))
}

fn start(
    cfg: &ConnConfig,
    stream: TcpStream,
    resp: ConnectResponse,
    session: &Arc<SessionInfo>,
    events: &Arc<EventSink>,
) -> ConnHandle {
    session.established(
        resp.session_id,
        resp.passwd.clone().unwrap_or_default(),
        resp.time_out,
    );
    let timeout = Duration::from_millis(resp.time_out as u64);
    let shared = Arc::new(ConnShared::new(
        session.clone(),
        events.clone(),
        cfg.chroot.clone(),
    ));
    events.state(if resp.read_only == Some(true) {
        keeper_state::CONNECTED_READ_ONLY
    } else {
        keeper_state::SYNC_CONNECTED
    });
    let (tx, rx) = mpsc::channel(REQUEST_QUEUE_CAPACITY);
    let (input, output) = stream.into_split();
    tokio::spawn(reader::run(
        shared.clone(),
        input,
        cfg.max_frame_bytes,
        timeout * 2 / 3,
    ));
    tokio::spawn(writer::run(shared.clone(), rx, output, timeout / 3));
    ConnHandle { tx, shared }
}

/// A duration in whole milliseconds, saturated to `i32`.
pub(crate) fn duration_ms(d: Duration) -> i32 {
    i32::try_from(d.as_millis()).unwrap_or(i32::MAX)
}
