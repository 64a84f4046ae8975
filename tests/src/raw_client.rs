//! A minimal raw-frame ZooKeeper client for tests: it speaks the wire protocol
//! directly (length-prefixed jute frames), with none of a real client's
//! retries, pipelining or watcher bookkeeping, so that a test sees exactly what
//! a server sends and in which order.
//!
//! - [`RawClient::connect`] performs the handshake (a new session, or a
//!   reattach with an existing session id and password).
//! - [`RawClient::call`] sends one request frame (`RequestHeader` + record) and
//!   reads frames until the reply carrying that xid; notifications (xid −1)
//!   read on the way are appended to [`RawClient::events`] in arrival order,
//!   and any other unexpected frame to [`RawClient::strays`].
//! - [`RawClient::drain`] sends a ping (xid −2) and collects every event the
//!   server queued before it: a watch event caused by another session's write
//!   is queued before that write is answered, so after the write's reply a
//!   drain collects it deterministically.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use jute::proto::{ConnectRequest, ConnectResponse, ReplyHeader, RequestHeader, WatcherEvent};
use jute::{OpCode, Record};
use std::io;
use std::net::SocketAddr;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;

/// How long to wait for a reply (or any frame) before calling it missing.
pub const DEFAULT_REPLY_TIMEOUT: Duration = Duration::from_secs(10);

/// Largest frame accepted from a server (jute.maxbuffer plus slack).
const MAX_FRAME: usize = 4 << 20;

/// A notification as received: the header's zxid plus the event.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// The `ReplyHeader.zxid` of the notification frame (−1 in 3.8).
    pub zxid: i64,
    pub event: WatcherEvent,
}

/// A frame that was neither a notification nor the awaited reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stray {
    pub header: Option<ReplyHeader>,
    pub raw: Bytes,
}

/// What became of a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CallResult {
    /// The reply: its header and the undecoded rest of the frame.
    Reply { header: ReplyHeader, body: Bytes },
    /// The server closed the connection before replying.
    Closed,
    /// Nothing arrived within the timeout.
    TimedOut,
    /// The socket failed (reset, broken pipe, malformed frame ...).
    IoError(String),
}

impl CallResult {
    /// The reply header, if there was a reply.
    pub fn header(&self) -> Option<&ReplyHeader> {
        match self {
            CallResult::Reply { header, .. } => Some(header),
            _ => None,
        }
    }
}

/// What became of a handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnectResult {
    Connected(ConnectResponse),
    Closed,
    TimedOut,
    IoError(String),
}

/// A byte stream a [`RawClient`] can speak over (TCP, or TLS over TCP).
pub trait RawStream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> RawStream for T {}

/// One connection to a server.
pub struct RawClient {
    stream: Box<dyn RawStream>,
    rbuf: BytesMut,
    next_xid: i32,
    /// Notifications in arrival order (the owner clears them when it likes).
    pub events: Vec<Notification>,
    /// Unexpected frames in arrival order.
    pub strays: Vec<Stray>,
    /// The largest zxid seen in a regular reply (as `ClientCnxn` tracks it:
    /// not from pings, auth replies or notifications).
    pub last_zxid: i64,
    /// Timeout for each read.
    pub reply_timeout: Duration,
    /// Set once the server has closed the connection (or it failed).
    pub closed: bool,
}

impl RawClient {
    /// Opens a TCP connection and performs the handshake. The connection is
    /// returned even when the server refused the session (timeout 0) so the
    /// caller can watch it close.
    pub async fn connect(
        addr: SocketAddr,
        req: &ConnectRequest,
    ) -> io::Result<(RawClient, ConnectResult)> {
        let stream = TcpStream::connect(addr).await?;
        stream.set_nodelay(true)?;
        RawClient::connect_over(Box::new(stream), req).await
    }

    /// Performs the handshake over a stream the caller opened (a TLS
    /// stream, for instance).
    pub async fn connect_over(
        stream: Box<dyn RawStream>,
        req: &ConnectRequest,
    ) -> io::Result<(RawClient, ConnectResult)> {
        let mut client = RawClient {
            stream,
            rbuf: BytesMut::with_capacity(4096),
            next_xid: 1,
            events: Vec::new(),
            strays: Vec::new(),
            last_zxid: req.last_zxid_seen,
            reply_timeout: DEFAULT_REPLY_TIMEOUT,
            closed: false,
        };
        client.send_payload(&jute::to_bytes(req)).await?;
        let res = match client.read_frame().await {
            FrameRead::Frame(mut f) => match ConnectResponse::read(&mut f) {
                Ok(r) => ConnectResult::Connected(r),
                Err(e) => ConnectResult::IoError(format!("bad ConnectResponse: {e}")),
            },
            FrameRead::Eof => ConnectResult::Closed,
            FrameRead::TimedOut => ConnectResult::TimedOut,
            FrameRead::Err(e) => ConnectResult::IoError(e),
        };
        Ok((client, res))
    }

    /// A new-session handshake request: protocol 0, 16 zero password bytes.
    pub fn new_session_request(time_out: i32, read_only: Option<bool>) -> ConnectRequest {
        ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 0,
            time_out,
            session_id: 0,
            passwd: Some(Bytes::from_static(&[0u8; 16])),
            read_only,
        }
    }

    /// The xid the next [`call`](Self::call) will use.
    pub fn peek_xid(&self) -> i32 {
        self.next_xid
    }

    /// Sends a request with the next xid and waits for its reply.
    pub async fn call(&mut self, op: OpCode, body: &[u8]) -> CallResult {
        let xid = self.next_xid;
        self.next_xid += 1;
        self.call_xid(xid, op.code(), body).await
    }

    /// Sends a request with a chosen xid and type, and waits for the reply
    /// carrying that xid.
    pub async fn call_xid(&mut self, xid: i32, type_: i32, body: &[u8]) -> CallResult {
        if self.closed {
            return CallResult::Closed;
        }
        let mut payload = BytesMut::with_capacity(8 + body.len());
        RequestHeader { xid, type_ }.write(&mut payload);
        payload.put_slice(body);
        if let Err(e) = self.send_payload(&payload).await {
            self.closed = true;
            return CallResult::IoError(e.to_string());
        }
        self.await_reply(xid).await
    }

    /// Pings (xid −2) and collects every frame that arrives before the ping's reply.
    pub async fn drain(&mut self) -> CallResult {
        self.call_xid(jute::proto::xid::PING, OpCode::Ping.code(), &[])
            .await
    }

    /// Reads frames until the server closes the connection (or `wait` passes
    /// without a frame), collecting notifications and strays. Returns true if
    /// the connection was closed by the server.
    pub async fn read_until_closed(&mut self, wait: Duration) -> bool {
        if self.closed {
            return true;
        }
        let saved = self.reply_timeout;
        self.reply_timeout = wait;
        let closed = loop {
            match self.read_frame().await {
                FrameRead::Frame(f) => self.absorb(f, None),
                FrameRead::Eof | FrameRead::Err(_) => break true,
                FrameRead::TimedOut => break false,
            };
        };
        self.reply_timeout = saved;
        if closed {
            self.closed = true;
        }
        closed
    }

    /// Closes our side of the connection.
    pub async fn shutdown(mut self) {
        let _ = self.stream.shutdown().await;
    }

    async fn await_reply(&mut self, xid: i32) -> CallResult {
        loop {
            match self.read_frame().await {
                FrameRead::Frame(f) => {
                    if let Some(r) = self.absorb(f, Some(xid)) {
                        return r;
                    }
                }
                FrameRead::Eof => {
                    self.closed = true;
                    return CallResult::Closed;
                }
                FrameRead::TimedOut => return CallResult::TimedOut,
                FrameRead::Err(e) => {
                    self.closed = true;
                    return CallResult::IoError(e);
                }
            }
        }
    }

    /// Files one frame: a notification, the awaited reply (returned), or a stray.
    fn absorb(&mut self, mut frame: Bytes, want: Option<i32>) -> Option<CallResult> {
        let raw = frame.clone();
        let header = match ReplyHeader::read(&mut frame) {
            Ok(h) => h,
            Err(_) => {
                self.strays.push(Stray { header: None, raw });
                return None;
            }
        };
        if header.xid == jute::proto::xid::NOTIFICATION {
            match WatcherEvent::read(&mut frame) {
                Ok(event) if !frame.has_remaining() => self.events.push(Notification {
                    zxid: header.zxid,
                    event,
                }),
                _ => self.strays.push(Stray {
                    header: Some(header),
                    raw,
                }),
            }
            return None;
        }
        if Some(header.xid) == want {
            if header.xid >= 0 && header.zxid > 0 {
                self.last_zxid = self.last_zxid.max(header.zxid);
            }
            return Some(CallResult::Reply {
                header,
                body: frame,
            });
        }
        self.strays.push(Stray {
            header: Some(header),
            raw,
        });
        None
    }

    async fn send_payload(&mut self, payload: &[u8]) -> io::Result<()> {
        let mut frame = BytesMut::with_capacity(4 + payload.len());
        frame.put_i32(payload.len() as i32);
        frame.put_slice(payload);
        self.stream.write_all(&frame).await
    }

    async fn read_frame(&mut self) -> FrameRead {
        loop {
            if self.rbuf.len() >= 4 {
                let len =
                    i32::from_be_bytes([self.rbuf[0], self.rbuf[1], self.rbuf[2], self.rbuf[3]]);
                if len < 0 || len as usize > MAX_FRAME {
                    return FrameRead::Err(format!("bad frame length {len}"));
                }
                let len = len as usize;
                if self.rbuf.len() >= 4 + len {
                    self.rbuf.advance(4);
                    return FrameRead::Frame(self.rbuf.split_to(len).freeze());
                }
            }
            let read =
                tokio::time::timeout(self.reply_timeout, self.stream.read_buf(&mut self.rbuf));
            match read.await {
                Err(_) => return FrameRead::TimedOut,
                Ok(Ok(0)) => {
                    return if self.rbuf.is_empty() {
                        FrameRead::Eof
                    } else {
                        FrameRead::Err(format!(
                            "connection closed mid-frame ({} bytes)",
                            self.rbuf.len()
                        ))
                    }
                }
                Ok(Ok(_)) => {}
                Ok(Err(e)) => {
                    return if e.kind() == io::ErrorKind::ConnectionReset {
                        FrameRead::Eof
                    } else {
                        FrameRead::Err(e.to_string())
                    }
                }
            }
        }
    }
}

enum FrameRead {
    Frame(Bytes),
    Eof,
    TimedOut,
    Err(String),
}
