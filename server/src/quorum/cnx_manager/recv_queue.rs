//! The one receive queue for all peers (`QuorumCnxManager.recvQueue`, a
//! `CircularBlockingQueue` of `RECV_CAPACITY`).
//!
//! Invariant: it never holds more than its capacity; a push onto a full
//! queue drops the oldest message (a stale notification is worth less than
//! a fresh one), so a slow election never blocks a connection's reader.

use crate::quorum::types::Sid;
use bytes::Bytes;
use parking_lot::Mutex;
use std::collections::VecDeque;
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::Notify;

struct Inner {
    queue: VecDeque<(Sid, Bytes)>,
    closed: bool,
    dropped: u64,
}

/// The receiving end the election reads: `(sender sid, payload)`.
#[derive(Clone)]
pub struct CnxReceiver {
    inner: Arc<Mutex<Inner>>,
    wake: Arc<Notify>,
    capacity: usize,
}

impl CnxReceiver {
    pub(crate) fn new(capacity: usize) -> CnxReceiver {
        CnxReceiver {
            inner: Arc::new(Mutex::new(Inner {
                queue: VecDeque::with_capacity(capacity.min(1024)),
                closed: false,
                dropped: 0,
            })),
            wake: Arc::new(Notify::new()),
            capacity: capacity.max(1),
        }
    }

    /// `addToRecvQueue`: appends, dropping the oldest when full.
    pub(crate) fn push(&self, sid: Sid, payload: Bytes) {
        {
            let mut g = self.inner.lock();
            if g.closed {
                return;
            }
            if g.queue.len() >= self.capacity {
                g.queue.pop_front();
                g.dropped += 1;
            }
            g.queue.push_back((sid, payload));
        }
        self.wake.notify_waiters();
    }

    /// After shutdown: pending messages are discarded and `recv` ends.
    pub(crate) fn close(&self) {
        {
            let mut g = self.inner.lock();
            g.closed = true;
            g.queue.clear();
        }
        self.wake.notify_waiters();
    }

    /// The next message, if one is queued.
    pub fn try_recv(&self) -> Option<(Sid, Bytes)> {
        self.inner.lock().queue.pop_front()
    }

    /// Waits for the next message; `None` once the manager is shut down.
    pub async fn recv(&self) -> Option<(Sid, Bytes)> {
        loop {
            let notified = self.wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            {
                let mut g = self.inner.lock();
                if let Some(m) = g.queue.pop_front() {
                    return Some(m);
                }
                if g.closed {
                    return None;
                }
            }
            notified.await;
        }
    }

    /// `pollRecvQueue(timeout)`: the next message, or `None` after `timeout`.
    pub async fn recv_timeout(&self, timeout: Duration) -> Option<(Sid, Bytes)> {
        tokio::time::timeout(timeout, self.recv())
            .await
            .ok()
            .flatten()
    }

    /// Messages now queued.
    pub fn len(&self) -> usize {
        self.inner.lock().queue.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Messages dropped because the queue was full, since start.
    pub fn dropped(&self) -> u64 {
        self.inner.lock().dropped
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn drops_the_oldest_when_full() {
        let q = CnxReceiver::new(3);
        for i in 0..5u8 {
            q.push(1, Bytes::from(vec![i]));
        }
        assert_eq!(q.len(), 3);
        assert_eq!(q.dropped(), 2);
        let got: Vec<u8> = std::iter::from_fn(|| q.try_recv())
            .map(|(_, b)| b[0])
            .collect();
        assert_eq!(got, [2, 3, 4]);
        assert!(q.recv_timeout(Duration::from_millis(20)).await.is_none());
        q.close();
        assert!(q.recv().await.is_none());
    }
}
