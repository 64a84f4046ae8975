//! The writer task: turns queued [`Outgoing`] requests into frames.
//!
//! Invariants:
//! - A request's waiter is registered *before* its bytes are written, so its
//!   reply can never arrive unmatched.
//! - Ordinary xids count up from 1 and wrap back to 1, never reaching the
//!   special negative xids; pings use −2, auth −4, setWatches −8.
//! - Requests queued together are written in one `write_all` (bounded by
//!   `WRITE_BATCH_BYTES`/`WRITE_BATCH_FRAMES`); when no permit is free the
//!   batch is flushed before waiting, so a batch never waits on itself.
//!   While other requests await replies, the writer yields once before
//!   writing so that callers woken together can add to the batch.
//! - When nothing has been written for the ping interval, a ping is sent.

use super::pending::{ReplyResult, Waiter};
use super::shared::{ConnShared, MAX_IN_FLIGHT};
use bytes::{BufMut, Bytes, BytesMut};
use jute::proto::{xid, RequestHeader};
use jute::{OpCode, Record};
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::tcp::OwnedWriteHalf;
use tokio::sync::{mpsc, oneshot, OwnedSemaphorePermit};
use tokio::time::{sleep_until, Instant};

/// Stop adding requests to a write batch past this many bytes.
pub const WRITE_BATCH_BYTES: usize = 64 * 1024;
/// Stop adding requests to a write batch past this many frames.
pub const WRITE_BATCH_FRAMES: usize = 128;

/// One request for the writer.
#[derive(Debug)]
pub(crate) struct Outgoing {
    /// `None`: chosen from the opcode (ordinary counter or a special xid).
    pub xid: Option<i32>,
    pub op: i32,
    pub body: Bytes,
    pub reply: Option<oneshot::Sender<ReplyResult>>,
}

impl Outgoing {
    fn ping() -> Outgoing {
        Outgoing {
            xid: Some(xid::PING),
            op: OpCode::Ping.code(),
            body: Bytes::new(),
            reply: None,
        }
    }
}

struct Writer {
    shared: Arc<ConnShared>,
    out: OwnedWriteHalf,
    buf: BytesMut,
    next_xid: i32,
}

impl Writer {
    fn xid_for(&mut self, msg: &Outgoing) -> i32 {
        if let Some(x) = msg.xid {
            return x;
        }
        match OpCode::from_i32(msg.op) {
            Some(OpCode::Ping) => xid::PING,
            Some(OpCode::Auth) => xid::AUTH,
            Some(OpCode::SetWatches | OpCode::SetWatches2) => xid::SET_WATCHES,
            _ => {
                let x = self.next_xid;
                self.next_xid = if x == i32::MAX { 1 } else { x + 1 };
                x
            }
        }
    }

    fn enqueue(&mut self, msg: Outgoing, permit: OwnedSemaphorePermit) {
        let xid = self.xid_for(&msg);
        let waiter = Waiter {
            xid,
            op: msg.op,
            tx: msg.reply,
            _permit: permit,
        };
        if !self.shared.register(waiter) {
            return;
        }
        self.buf.put_i32((8 + msg.body.len()) as i32);
        RequestHeader { xid, type_: msg.op }.write(&mut self.buf);
        self.buf.put_slice(&msg.body);
    }

    /// Writes the batch; false once the connection is gone.
    async fn flush(&mut self) -> bool {
        if self.buf.is_empty() {
            return true;
        }
        let data = self.buf.split().freeze();
        let written = tokio::select! {
            biased;
            _ = self.shared.cancelled() => return false,
            r = self.out.write_all(&data) => r,
        };
        match written {
            Ok(()) => true,
            Err(e) => {
                self.shared.abort(&format!("write failed: {e}"));
                false
            }
        }
    }

    /// Whether more requests are in flight than the `batch` about to be
    /// written.
    fn replies_due_beyond(&self, batch: usize) -> bool {
        MAX_IN_FLIGHT - self.shared.in_flight().available_permits() > batch
    }

    /// An in-flight permit; flushes the batch first if it must wait.
    async fn permit(&mut self) -> Option<OwnedSemaphorePermit> {
        let sem = self.shared.in_flight().clone();
        if let Ok(p) = sem.clone().try_acquire_owned() {
            return Some(p);
        }
        if !self.flush().await {
            return None;
        }
        tokio::select! {
            biased;
            _ = self.shared.cancelled() => None,
            p = sem.acquire_owned() => p.ok(),
        }
    }
}

/// Runs until the connection ends or every client handle is dropped.
pub(crate) async fn run(
    shared: Arc<ConnShared>,
    mut rx: mpsc::Receiver<Outgoing>,
    out: OwnedWriteHalf,
    ping_interval: Duration,
) {
    let mut w = Writer {
        shared: shared.clone(),
        out,
        buf: BytesMut::new(),
        next_xid: 1,
    };
    let mut last_send = Instant::now();
    'outer: loop {
        let mut msg = tokio::select! {
            biased;
            _ = shared.cancelled() => break,
            m = rx.recv() => match m {
                Some(m) => m,
                None => {
                    shared.abort("every client handle was dropped");
                    break;
                }
            },
            _ = sleep_until(last_send + ping_interval) => Outgoing::ping(),
        };
        let mut frames = 0;
        let mut yielded = false;
        loop {
            let Some(permit) = w.permit().await else {
                break 'outer;
            };
            w.enqueue(msg, permit);
            frames += 1;
            if w.buf.len() >= WRITE_BATCH_BYTES || frames >= WRITE_BATCH_FRAMES {
                break;
            }
            match rx.try_recv() {
                Ok(m) => msg = m,
                Err(_) if yielded || !w.replies_due_beyond(frames) => break,
                Err(_) => {
                    // Other requests are awaiting replies, so callers are
                    // woken in groups (one read can complete many): let
                    // those already woken send before writing, so one
                    // syscall carries all of them. A lone request (a
                    // synchronous caller) is written at once.
                    yielded = true;
                    tokio::task::yield_now().await;
                    match rx.try_recv() {
                        Ok(m) => msg = m,
                        Err(_) => break,
                    }
                }
            }
        }
        if !w.flush().await {
            break;
        }
        last_send = Instant::now();
    }
    // Requests still queued are dropped here; their callers see the terminal error.
    rx.close();
}
