//! One client connection: four-letter word or framed session.
//!
//! Invariants:
//! - The first four bytes decide: a known four-letter word is answered and
//!   the socket closed without the runner ever hearing of it; anything else
//!   is the length prefix of the first frame and goes to the frame decoder.
//! - Once `RunnerMsg::Open` has been sent, `RunnerMsg::Closed` is sent
//!   exactly once when the connection ends, whoever ended it.
//! - Reading and writing run concurrently on the split socket in one task,
//!   so a client that pipelines requests is never blocked on its replies.
//! - Writes are batched: every command already queued is written before one
//!   flush, so a burst of replies costs one syscall, not one per frame.
//! - A framing error (negative or over `jute.maxbuffer`) closes only this
//!   connection; it is the client's fault, so it is logged at info, not warn.
//! - At most `globalOutstandingLimit` requests of one connection await their
//!   replies: past that, reading pauses (the client's further requests wait
//!   in the socket) until replies go out, as ZooKeeper throttles reading.
//!   Every request is answered by exactly one non-notification frame (the
//!   connect request by the connect response), which returns its permit.
//! - The code after accept is generic over the stream ([`ClientStream`]):
//!   plain TCP and TLS (`net::tls`) connections behave the same; ids the
//!   TLS layer authenticated reach the runner right after `Open`, before
//!   any frame.

use super::{four_letter, java_socket_addr, ConnSlot, Shared, CONN_QUEUE_LEN};
use crate::core::ConnId;
use crate::runner::{ConnCommand, RunnerMsg};
use futures::StreamExt;
use jute::data::Id;
use jute::frame::FrameError;
use jute::FrameCodec;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufWriter};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, Semaphore};
use tokio_util::codec::FramedRead;

/// How long a new connection may stay silent before its first four bytes;
/// ZooKeeper expires session-less connections after the same 10 s.
pub const FIRST_BYTES_TIMEOUT: Duration = Duration::from_secs(10);

/// After we close our side, how long we keep draining what the client still
/// sends. Closing with unread input makes the kernel send RST, which can
/// destroy the reply the client has not read yet (`echo srvr | nc` sends a
/// newline after the word, for instance).
pub const LINGER_TIMEOUT: Duration = Duration::from_millis(500);

/// Read buffer size: a few typical requests, grown by the codec as needed.
const READ_BUF_BYTES: usize = 16 * 1024;
/// Write buffer size: replies are gathered here and flushed once per batch.
const WRITE_BUF_BYTES: usize = 64 * 1024;

/// A client's byte stream, split into halves that are read and written
/// concurrently by one task.
pub(crate) trait ClientStream: AsyncRead + AsyncWrite + Unpin + Send {
    fn halves(
        &mut self,
    ) -> (
        impl AsyncRead + Unpin + Send + '_,
        impl AsyncWrite + Unpin + Send + '_,
    );
}

impl ClientStream for TcpStream {
    fn halves(
        &mut self,
    ) -> (
        impl AsyncRead + Unpin + Send + '_,
        impl AsyncWrite + Unpin + Send + '_,
    ) {
        // Borrowed halves of a TCP socket cost nothing.
        self.split()
    }
}

impl ClientStream for tokio_rustls::server::TlsStream<TcpStream> {
    fn halves(
        &mut self,
    ) -> (
        impl AsyncRead + Unpin + Send + '_,
        impl AsyncWrite + Unpin + Send + '_,
    ) {
        // One TLS session state serves both directions: halves share it.
        tokio::io::split(self)
    }
}

/// Runs plain connection `conn` from `peer` to completion.
pub(crate) async fn serve(
    shared: Arc<Shared>,
    stream: TcpStream,
    peer: SocketAddr,
    conn: ConnId,
    slot: ConnSlot,
) {
    // Replies are already batched, so Nagle would only add latency.
    let _ = stream.set_nodelay(true);
    serve_stream(shared, stream, peer, conn, slot, Vec::new()).await;
}

/// Runs connection `conn` over any stream; `auth` are ids its transport
/// authenticated (empty for plain TCP).
pub(crate) async fn serve_stream<S: ClientStream>(
    shared: Arc<Shared>,
    mut stream: S,
    peer: SocketAddr,
    conn: ConnId,
    slot: ConnSlot,
    auth: Vec<Id>,
) {
    let mut first = [0u8; 4];
    match tokio::time::timeout(FIRST_BYTES_TIMEOUT, stream.read_exact(&mut first)).await {
        Ok(Ok(_)) => {}
        Ok(Err(e)) => {
            tracing::debug!(
                conn,
                "connection from {} ended before a request: {e}",
                java_socket_addr(peer)
            );
            return;
        }
        Err(_) => {
            tracing::debug!(
                conn,
                "closing silent connection from {}",
                java_socket_addr(peer)
            );
            return;
        }
    }
    if let Some(word) = four_letter::word_of(first) {
        four_letter::serve(&shared, &mut stream, peer, word).await;
        linger(&mut stream).await;
        return;
    }
    let opened = session(&shared, &mut stream, peer, conn, first, auth).await;
    // Socket and slot go before the runner hears `Closed`, so by then the
    // client's IP may already connect again.
    drop(stream);
    drop(slot);
    if opened {
        let _ = shared.runner.tx.send(RunnerMsg::Closed { conn }).await;
    }
}

/// Why the framed part of a connection ended.
enum End {
    /// The runner asked us to close, after flushing.
    Closed,
    /// Anything else: client gone, I/O or framing error, runner stopped.
    Dropped,
}

/// Runs the framed protocol; returns whether the runner was told of the
/// connection (and so must be told it closed).
async fn session<S: ClientStream>(
    shared: &Shared,
    stream: &mut S,
    peer: SocketAddr,
    conn: ConnId,
    first: [u8; 4],
    auth: Vec<Id>,
) -> bool {
    let (out_tx, out_rx) = mpsc::channel(CONN_QUEUE_LEN);
    let open = RunnerMsg::Open {
        conn,
        peer: peer.ip(),
        out: out_tx,
    };
    if shared.runner.tx.send(open).await.is_err() {
        return false; // The runner has stopped: the server is shutting down.
    }
    if !auth.is_empty() {
        let add = RunnerMsg::AddAuthInfo { conn, ids: auth };
        if shared.runner.tx.send(add).await.is_err() {
            return true;
        }
    }
    let max = shared.config.jute_max_buffer_bytes;
    let limit = shared.config.global_outstanding_limit.max(1) as usize;
    let outstanding = Semaphore::new(limit);
    let timer = crate::metrics::RequestTimer::new(limit + 1);
    let (rd, wr) = stream.halves();
    let end = tokio::select! {
        end = read_frames(shared, conn, peer, first, rd, max, &outstanding, &timer) => end,
        end = write_frames(conn, peer, out_rx, wr, &outstanding, &timer) => end,
    };
    if matches!(end, End::Closed) {
        linger(stream).await;
    }
    true
}

/// Decodes frames and hands them to the runner until the input ends.
#[allow(clippy::too_many_arguments)] // the connection's parts, borrowed once
async fn read_frames(
    shared: &Shared,
    conn: ConnId,
    peer: SocketAddr,
    first: [u8; 4],
    rd: impl AsyncRead + Unpin,
    max_frame_bytes: usize,
    outstanding: &Semaphore,
    timer: &crate::metrics::RequestTimer,
) -> End {
    // The first four bytes were read to rule out a four-letter word; put
    // them back in front of the stream for the decoder.
    let input = (&first[..]).chain(rd);
    let mut frames =
        FramedRead::with_capacity(input, FrameCodec::new(max_frame_bytes), READ_BUF_BYTES);
    while let Some(item) = frames.next().await {
        match item {
            Ok(frame) => {
                if outstanding.available_permits() == 0 {
                    tracing::debug!(
                        conn,
                        "throttling {}: too many outstanding requests",
                        java_socket_addr(peer)
                    );
                }
                match outstanding.acquire().await {
                    Ok(permit) => permit.forget(),
                    Err(_) => return End::Dropped,
                }
                timer.request(&frame);
                if shared
                    .runner
                    .tx
                    .send(RunnerMsg::Frame { conn, frame })
                    .await
                    .is_err()
                {
                    return End::Dropped;
                }
            }
            Err(FrameError::Jute(e)) => {
                tracing::info!(
                    conn,
                    "closing connection from {}: bad frame: {e}",
                    java_socket_addr(peer)
                );
                return End::Dropped;
            }
            Err(FrameError::Io(e)) => {
                tracing::debug!(
                    conn,
                    "connection from {} failed: {e}",
                    java_socket_addr(peer)
                );
                return End::Dropped;
            }
        }
    }
    tracing::debug!(
        conn,
        "client {} closed the connection",
        java_socket_addr(peer)
    );
    End::Dropped
}

/// Writes what the runner queues for this connection, one flush per batch.
async fn write_frames(
    conn: ConnId,
    peer: SocketAddr,
    mut rx: mpsc::Receiver<ConnCommand>,
    wr: impl AsyncWrite + Unpin,
    outstanding: &Semaphore,
    timer: &crate::metrics::RequestTimer,
) -> End {
    let mut wr = BufWriter::with_capacity(WRITE_BUF_BYTES, wr);
    while let Some(cmd) = rx.recv().await {
        let mut next = Some(cmd);
        while let Some(cmd) = next.take() {
            match cmd {
                ConnCommand::Send(frame) => {
                    // A notification (xid -1) answers no request.
                    if frame.get(4..8) != Some(&[0xff, 0xff, 0xff, 0xff][..]) {
                        outstanding.add_permits(1);
                    }
                    timer.reply(&frame);
                    if let Err(e) = wr.write_all(&frame).await {
                        tracing::debug!(conn, "write to {} failed: {e}", java_socket_addr(peer));
                        return End::Dropped;
                    }
                }
                ConnCommand::Close(reason) => {
                    tracing::debug!(
                        conn,
                        "closing connection to {}: {reason}",
                        java_socket_addr(peer)
                    );
                    let _ = wr.flush().await;
                    let _ = wr.shutdown().await;
                    return End::Closed;
                }
            }
            next = rx.try_recv().ok();
        }
        if let Err(e) = wr.flush().await {
            tracing::debug!(conn, "write to {} failed: {e}", java_socket_addr(peer));
            return End::Dropped;
        }
    }
    // The runner dropped our queue: it gave up on this connection (its
    // queue overflowed) or it stopped.
    let _ = wr.flush().await;
    End::Dropped
}

/// Discards input until the client closes or [`LINGER_TIMEOUT`] passes.
async fn linger<S: AsyncRead + AsyncWrite + Unpin>(stream: &mut S) {
    let _ = stream.shutdown().await;
    let mut sink = [0u8; 1024];
    let drain = async {
        while let Ok(n) = stream.read(&mut sink).await {
            if n == 0 {
                break;
            }
        }
    };
    let _ = tokio::time::timeout(LINGER_TIMEOUT, drain).await;
}
