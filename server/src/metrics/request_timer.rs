//! Per-connection request timing: `readlatency` and `updatelatency` as
//! ZooKeeper measures them (from the request being read to its reply), here
//! from the frame leaving the decoder to its reply being written.
//!
//! It relies on the connection's invariant that every request is answered by
//! exactly one non-notification frame, in request order (the connect request
//! by the connect response); so the oldest pending entry is the one a reply
//! answers. Writes (every op with a txn, and the connect request, which
//! creates a session) count as updates, everything else (pings included) as
//! reads, as ZooKeeper splits them by whether the request has a txn header.
//!
//! Invariant: at most `capacity` entries are pending (the connection's
//! outstanding-request limit); past that, requests are not timed rather
//! than grow memory.

use super::server;
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::atomic::Ordering::Relaxed;
use std::time::Instant;

/// Timing state of one connection, shared by its reader and writer halves.
#[derive(Debug)]
pub struct RequestTimer {
    pending: Mutex<VecDeque<(i32, bool, Instant)>>,
    capacity: usize,
    connected: std::sync::atomic::AtomicBool,
}

/// The xid of notifications, which answer no request.
const NOTIFICATION_XID: i32 = -1;

impl RequestTimer {
    pub fn new(capacity: usize) -> RequestTimer {
        RequestTimer {
            pending: Mutex::new(VecDeque::new()),
            capacity: capacity.max(1),
            connected: std::sync::atomic::AtomicBool::new(false),
        }
    }

    /// A request frame (without its length prefix) was read.
    pub fn request(&self, frame: &[u8]) {
        let m = server();
        m.bytes_received_count
            .fetch_add(frame.len() as u64 + 4, Relaxed);
        let now = Instant::now();
        let (xid, is_update) = if !self.connected.swap(true, Relaxed) {
            // The connect request has no header; it creates a session.
            (0, true)
        } else {
            match (frame.get(0..4), frame.get(4..8)) {
                (Some(x), Some(op)) => {
                    let xid = i32::from_be_bytes([x[0], x[1], x[2], x[3]]);
                    let op = i32::from_be_bytes([op[0], op[1], op[2], op[3]]);
                    (xid, crate::core::server::is_write_op(op))
                }
                _ => (0, false),
            }
        };
        let mut pending = self.pending.lock();
        if pending.len() < self.capacity {
            pending.push_back((xid, is_update, now));
        }
    }

    /// A frame (with its length prefix) was written to the client.
    pub fn reply(&self, frame: &[u8]) {
        let Some(x) = frame.get(4..8) else { return };
        let xid = i32::from_be_bytes([x[0], x[1], x[2], x[3]]);
        let m = server();
        m.client_response(frame.len().saturating_sub(4));
        if xid == NOTIFICATION_XID {
            return;
        }
        let entry = self.pending.lock().pop_front();
        if let Some((_, is_update, at)) = entry {
            let ms = at.elapsed().as_millis() as u64;
            if is_update {
                m.updatelatency.observe(ms);
            } else {
                m.readlatency.observe(ms);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn req(xid: i32, op: i32) -> Vec<u8> {
        [xid.to_be_bytes(), op.to_be_bytes()].concat()
    }

    fn reply(xid: i32) -> Vec<u8> {
        let mut f = 16i32.to_be_bytes().to_vec();
        f.extend(xid.to_be_bytes());
        f.extend([0u8; 12]);
        f
    }

    #[test]
    fn replies_close_requests_in_order_and_notifications_close_none() {
        let t = RequestTimer::new(2);
        let m = server();
        let (u0, r0) = (m.updatelatency.count(), m.readlatency.count());
        t.request(&[0u8; 44]); // connect
        t.request(&req(1, jute::OpCode::GetData as i32));
        t.request(&req(2, jute::OpCode::Create as i32)); // over capacity: not timed
        t.reply(&reply(0));
        t.reply(&reply(NOTIFICATION_XID));
        t.reply(&reply(1));
        t.reply(&reply(2));
        // Other tests share the static: at least our observations landed.
        assert!(m.updatelatency.count() > u0);
        assert!(m.readlatency.count() > r0);
        assert!(t.pending.lock().is_empty());
    }
}
