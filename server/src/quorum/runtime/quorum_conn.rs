//! The quorum port's connections (Apache's `LearnerHandler` socket on the
//! leader, `Learner.connectToLeader` on a follower or observer): raw
//! consecutive `QuorumPacket`s both ways, and after a SNAP packet the
//! snapshot stream. Each connection is one task that writes and a child
//! task that reads; the peer task talks to it through a [`Conn`].
//!
//! Invariants:
//! - Every event names the connection's generation: the peer task ignores
//!   events of a connection it has already replaced or closed, so a late
//!   "closed" never tears down its successor.
//! - Dropping a [`Conn`] ends the connection at once (both tasks, the
//!   socket), even when the other side has stopped reading.
//! - Reading and writing never wait on each other (two tasks), so two
//!   members streaming at each other cannot deadlock on full buffers.
//! - Queues are bounded: the send queue by [`SEND_QUEUE_LEN`] (a learner
//!   that falls that far behind is dropped and resyncs), the event queue by
//!   the peer task's channel (a reader waits for room, which pushes back on
//!   TCP).

use crate::quorum::types::{Sid, ZabMessage};
use crate::quorum::wire::packet::{decode_packet, encode_message, from_packet, Sender};
use crate::quorum::wire::snap_stream::{SnapStream, SnapStreamDecoder};
use bytes::{Bytes, BytesMut};
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{mpsc, oneshot};

/// Messages queued for one connection before it is dropped as too slow.
pub const SEND_QUEUE_LEN: usize = 65_536;
/// Learner connections still identifying themselves at once.
pub const MAX_PENDING_LEARNERS: usize = 64;
/// Apache's `Learner.connectToLeader`: attempts, one second apart.
pub const CONNECT_ATTEMPTS: u32 = 5;

/// What the peer task writes on a connection.
#[derive(Debug)]
pub enum WriteCmd {
    Msg(ZabMessage),
    /// A SNAP packet followed by the snapshot stream bytes.
    Snap {
        zxid: i64,
        stream: Bytes,
    },
}

/// The peer task's end of one connection.
pub struct Conn {
    pub gen: u64,
    pub tx: mpsc::Sender<WriteCmd>,
    /// Dropped with the `Conn`: the connection's task ends.
    _close: oneshot::Sender<()>,
}

/// What a connection reports.
#[derive(Debug)]
pub enum QuorumEvent {
    /// Leader side: a learner connected and sent its first packet
    /// (FOLLOWERINFO / OBSERVERINFO naming its sid).
    Accepted {
        sid: Sid,
        conn: ConnParts,
        first: ZabMessage,
    },
    /// Learner side: the connection to the leader is up.
    Connected {
        gen: u64,
        sid: Sid,
    },
    Message {
        gen: u64,
        sid: Sid,
        msg: ZabMessage,
    },
    /// Learner side: SNAP(`zxid`) and its stream arrived whole.
    Snap {
        gen: u64,
        sid: Sid,
        zxid: i64,
        stream: Box<SnapStream>,
    },
    /// The connection ended (or never came up).
    Closed {
        gen: u64,
        sid: Sid,
        reason: String,
    },
}

/// A [`Conn`] travelling in an event (not `Debug`-able otherwise).
pub struct ConnParts(pub Conn);

impl std::fmt::Debug for ConnParts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Conn(gen {})", self.0.gen)
    }
}

/// Limits of the stream readers.
#[derive(Debug, Clone, Copy)]
pub struct ReadLimits {
    pub max_packet_bytes: usize,
    pub extended_types_enabled: bool,
    /// `jute.maxbuffer`: one snapshot item's bound.
    pub max_item_bytes: usize,
}

/// Shared by every connection of a member.
#[derive(Clone)]
pub struct QuorumNet {
    pub events: mpsc::Sender<QuorumEvent>,
    pub limits: ReadLimits,
    gens: Arc<AtomicU64>,
}

impl QuorumNet {
    pub fn new(events: mpsc::Sender<QuorumEvent>, limits: ReadLimits) -> QuorumNet {
        QuorumNet {
            events,
            limits,
            gens: Arc::new(AtomicU64::new(1)),
        }
    }

    fn conn(&self) -> (Conn, mpsc::Receiver<WriteCmd>, oneshot::Receiver<()>) {
        let (tx, rx) = mpsc::channel(SEND_QUEUE_LEN);
        let (close, closed) = oneshot::channel();
        let conn = Conn {
            gen: self.gens.fetch_add(1, Ordering::Relaxed),
            tx,
            _close: close,
        };
        (conn, rx, closed)
    }

    /// Learner: connects to the leader at `addrs` (up to
    /// [`CONNECT_ATTEMPTS`] tries within `limit`), then reports
    /// `Connected` and runs the connection.
    pub fn connect_to_leader(&self, sid: Sid, addrs: Vec<(String, u16)>, limit: Duration) -> Conn {
        let (conn, rx, closed) = self.conn();
        let net = self.clone();
        let gen = conn.gen;
        tokio::spawn(async move {
            let run = async {
                let stream = match connect(&addrs, limit).await {
                    Ok(s) => s,
                    Err(reason) => {
                        let _ = net
                            .events
                            .send(QuorumEvent::Closed { gen, sid, reason })
                            .await;
                        return;
                    }
                };
                if net
                    .events
                    .send(QuorumEvent::Connected { gen, sid })
                    .await
                    .is_err()
                {
                    return;
                }
                net.run(stream, gen, sid, Sender::Leader, BytesMut::new(), rx)
                    .await;
            };
            tokio::select! {
                _ = run => {}
                _ = closed => {}
            }
        });
        conn
    }

    /// Leader: accepts learners on `listener` forever.
    pub async fn accept_learners(self, listener: TcpListener, identify_timeout: Duration) {
        let pending = Arc::new(tokio::sync::Semaphore::new(MAX_PENDING_LEARNERS));
        loop {
            let (stream, addr) = match listener.accept().await {
                Ok(s) => s,
                Err(e) => {
                    tracing::warn!("quorum port accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            };
            let Ok(permit) = Arc::clone(&pending).try_acquire_owned() else {
                tracing::warn!(%addr, "too many learners connecting at once; closing");
                continue;
            };
            let net = self.clone();
            tokio::spawn(async move {
                let _ = stream.set_nodelay(true);
                let first = tokio::time::timeout(identify_timeout, net.identify(stream)).await;
                drop(permit);
                match first {
                    Ok(Ok(())) => {}
                    Ok(Err(why)) => tracing::warn!(%addr, "learner connection refused: {why}"),
                    Err(_) => tracing::warn!(%addr, "learner sent no LEARNERINFO in time"),
                }
            });
        }
    }

    /// Reads the learner's first packet, reports it, then runs the
    /// connection (returns once identified; the connection goes on in its
    /// own task).
    async fn identify(&self, mut stream: TcpStream) -> Result<(), String> {
        let mut buf = BytesMut::with_capacity(1024);
        let first = loop {
            match decode_packet(&mut buf, self.limits.max_packet_bytes) {
                Ok(Some(p)) => {
                    break from_packet(&p, Sender::Learner).map_err(|e| e.to_string())?
                }
                Ok(None) => {}
                Err(e) => return Err(e.to_string()),
            }
            if stream.read_buf(&mut buf).await.map_err(|e| e.to_string())? == 0 {
                return Err("closed before LEARNERINFO".into());
            }
        };
        let sid = match &first {
            ZabMessage::FollowerInfo { info, .. } | ZabMessage::ObserverInfo { info, .. } => {
                info.serverid
            }
            other => return Err(format!("first packet is {other:?}, not LEARNERINFO")),
        };
        let (conn, rx, closed) = self.conn();
        let gen = conn.gen;
        // Reported before the reader starts: the peer task must know the
        // connection before its next packet.
        self.events
            .send(QuorumEvent::Accepted {
                sid,
                conn: ConnParts(conn),
                first,
            })
            .await
            .map_err(|_| "the member is stopping".to_string())?;
        let net = self.clone();
        tokio::spawn(async move {
            tokio::select! {
                _ = net.run(stream, gen, sid, Sender::Learner, buf, rx) => {}
                _ = closed => {}
            }
        });
        Ok(())
    }

    /// Writes what the peer task queues, and reads in a child task, until
    /// either side ends.
    async fn run(
        &self,
        stream: TcpStream,
        gen: u64,
        sid: Sid,
        from: Sender,
        buf: BytesMut,
        rx: mpsc::Receiver<WriteCmd>,
    ) {
        let _ = stream.set_nodelay(true);
        let (rd, wr) = stream.into_split();
        let net = self.clone();
        let reader = AbortOnDrop(tokio::spawn(async move {
            let reason = net.read_loop(rd, gen, sid, from, buf).await;
            let _ = net
                .events
                .send(QuorumEvent::Closed { gen, sid, reason })
                .await;
        }));
        if let Err(e) = write_loop(wr, rx).await {
            let reason = format!("write failed: {e}");
            let _ = self
                .events
                .send(QuorumEvent::Closed { gen, sid, reason })
                .await;
        }
        drop(reader);
    }

    /// Reads packets (and a SNAP's stream) until the connection ends;
    /// returns why.
    async fn read_loop(
        &self,
        mut rd: OwnedReadHalf,
        gen: u64,
        sid: Sid,
        from: Sender,
        mut buf: BytesMut,
    ) -> String {
        let mut snap: Option<(i64, SnapStreamDecoder)> = None;
        loop {
            loop {
                if let Some((zxid, dec)) = snap.as_mut() {
                    match dec.decode_from(&mut buf) {
                        Ok(Some(stream)) => {
                            let ev = QuorumEvent::Snap {
                                gen,
                                sid,
                                zxid: *zxid,
                                stream: Box::new(stream),
                            };
                            snap = None;
                            if self.events.send(ev).await.is_err() {
                                return "the member is stopping".into();
                            }
                            continue;
                        }
                        Ok(None) => break,
                        Err(e) => return format!("bad snapshot stream: {e}"),
                    }
                }
                let p = match decode_packet(&mut buf, self.limits.max_packet_bytes) {
                    Ok(Some(p)) => p,
                    Ok(None) => break,
                    Err(e) => return format!("bad packet: {e}"),
                };
                let msg = match from_packet(&p, from) {
                    Ok(m) => m,
                    Err(e) => return format!("bad packet: {e}"),
                };
                if let (ZabMessage::Snap { zxid }, Sender::Leader) = (&msg, from) {
                    let l = self.limits;
                    let dec =
                        SnapStreamDecoder::new(*zxid, l.extended_types_enabled, l.max_item_bytes);
                    snap = Some((*zxid, dec));
                    continue;
                }
                if self
                    .events
                    .send(QuorumEvent::Message { gen, sid, msg })
                    .await
                    .is_err()
                {
                    return "the member is stopping".into();
                }
            }
            if buf.capacity() - buf.len() < 4096 {
                buf.reserve(64 * 1024);
            }
            match rd.read_buf(&mut buf).await {
                Ok(0) => return "closed by the other side".into(),
                Ok(_) => {}
                Err(e) => return format!("read failed: {e}"),
            }
        }
    }
}

/// Writes every queued command, batching what is already queued into one
/// write.
async fn write_loop(
    mut wr: OwnedWriteHalf,
    mut rx: mpsc::Receiver<WriteCmd>,
) -> std::io::Result<()> {
    let mut out = BytesMut::with_capacity(64 * 1024);
    while let Some(cmd) = rx.recv().await {
        let mut next = Some(cmd);
        while let Some(cmd) = next.take() {
            match cmd {
                WriteCmd::Msg(m) => encode_message(&m, &mut out),
                WriteCmd::Snap { zxid, stream } => {
                    encode_message(&ZabMessage::Snap { zxid }, &mut out);
                    wr.write_all(&out).await?;
                    out.clear();
                    wr.write_all(&stream).await?;
                }
            }
            if out.len() < 256 * 1024 {
                next = rx.try_recv().ok();
            }
        }
        wr.write_all(&out).await?;
        out.clear();
        wr.flush().await?;
    }
    let _ = wr.shutdown().await;
    Ok(())
}

/// Connects to the first of `addrs` that answers, retrying as Apache's
/// learner does.
async fn connect(names: &[(String, u16)], limit: Duration) -> Result<TcpStream, String> {
    let deadline = tokio::time::Instant::now() + limit;
    let mut last = String::from("no address");
    for attempt in 0..CONNECT_ATTEMPTS {
        if attempt > 0 {
            tokio::time::sleep(Duration::from_secs(1)).await;
        }
        // Resolved at each attempt: a name may point elsewhere by now.
        let mut addrs: Vec<SocketAddr> = Vec::new();
        for (host, port) in names {
            match tokio::net::lookup_host((host.as_str(), *port)).await {
                Ok(found) => addrs.extend(found),
                Err(e) => last = format!("{host}:{port}: {e}"),
            }
        }
        for addr in &addrs {
            let left = deadline.saturating_duration_since(tokio::time::Instant::now());
            if left.is_zero() {
                return Err(format!("could not connect to the leader in time: {last}"));
            }
            match tokio::time::timeout(left, TcpStream::connect(addr)).await {
                Ok(Ok(s)) => return Ok(s),
                Ok(Err(e)) => last = format!("{addr}: {e}"),
                Err(_) => last = format!("{addr}: timed out"),
            }
        }
        tracing::warn!(
            "connecting to the leader failed (attempt {}): {last}",
            attempt + 1
        );
    }
    Err(format!("could not connect to the leader: {last}"))
}

/// Aborts a task when dropped (a reader dies with its connection, an
/// accept loop with the leadership).
pub struct AbortOnDrop(pub tokio::task::JoinHandle<()>);

impl Drop for AbortOnDrop {
    fn drop(&mut self) {
        self.0.abort();
    }
}
