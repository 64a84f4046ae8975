//! [`Pending`]: requests written to the socket and not yet answered.
//!
//! Invariants:
//! - One FIFO queue per reply stream: ordinary xids, pings (−2), auth (−4)
//!   and setWatches (−8). The server answers each stream in order, but auth
//!   replies are sent straight from the connection and may overtake ordinary
//!   replies, so they cannot share the ordinary queue.
//! - An ordinary reply must match the xid at the head of the ordinary queue;
//!   anything else is a protocol violation and closes the connection.
//! - Once `terminal` is set nothing more is queued, and every waiter has been
//!   (or is being) failed with the terminal error.
//! - Every waiter holds one permit of the connection's in-flight semaphore,
//!   so the queues together never exceed `MAX_IN_FLIGHT` entries.

use crate::error::ZkError;
use bytes::Bytes;
use jute::proto::{xid, ReplyHeader};
use std::collections::VecDeque;
use tokio::sync::{oneshot, OwnedSemaphorePermit};

/// What a waiter receives: the exact header and body bytes, or why not.
pub(crate) type ReplyResult = Result<(ReplyHeader, Bytes), ZkError>;

/// A request on the wire awaiting its reply.
#[derive(Debug)]
pub(crate) struct Waiter {
    pub xid: i32,
    pub op: i32,
    /// `None` for requests nobody awaits (internal pings, auth replays).
    pub tx: Option<oneshot::Sender<ReplyResult>>,
    pub _permit: OwnedSemaphorePermit,
}

impl Waiter {
    /// Hands the outcome to the caller, if it is still waiting.
    pub(crate) fn complete(self, result: ReplyResult) {
        if let Some(tx) = self.tx {
            let _ = tx.send(result);
        }
    }
}

/// Why a reply could not be matched.
#[derive(Debug)]
pub(crate) enum Unmatched {
    /// A reply on a special stream nobody asked for; harmless.
    Unsolicited,
    /// An ordinary reply that is not the oldest outstanding request.
    OutOfOrder { expected: Option<i32> },
}

#[derive(Debug, Default)]
pub(crate) struct Pending {
    ordinary: VecDeque<Waiter>,
    pings: VecDeque<Waiter>,
    auths: VecDeque<Waiter>,
    set_watches: VecDeque<Waiter>,
    terminal: Option<ZkError>,
}

impl Pending {
    fn queue(&mut self, xid: i32) -> &mut VecDeque<Waiter> {
        match xid {
            xid::PING => &mut self.pings,
            xid::AUTH => &mut self.auths,
            xid::SET_WATCHES => &mut self.set_watches,
            _ => &mut self.ordinary,
        }
    }

    /// Queues a waiter, or gives it back with the terminal error.
    pub(crate) fn push(&mut self, waiter: Waiter) -> Result<(), (Waiter, ZkError)> {
        if let Some(err) = &self.terminal {
            return Err((waiter, err.clone()));
        }
        self.queue(waiter.xid).push_back(waiter);
        Ok(())
    }

    /// Takes the waiter a reply with `xid` answers.
    pub(crate) fn pop(&mut self, xid: i32) -> Result<Waiter, Unmatched> {
        let special = matches!(xid, xid::PING | xid::AUTH | xid::SET_WATCHES);
        let queue = self.queue(xid);
        match queue.pop_front() {
            Some(w) if w.xid == xid => Ok(w),
            Some(w) => {
                let expected = Some(w.xid);
                queue.push_front(w);
                Err(Unmatched::OutOfOrder { expected })
            }
            None if special => Err(Unmatched::Unsolicited),
            None => Err(Unmatched::OutOfOrder { expected: None }),
        }
    }

    /// The terminal error, once the connection has ended.
    pub(crate) fn terminal(&self) -> Option<&ZkError> {
        self.terminal.as_ref()
    }

    /// Marks the connection ended; returns every waiter to fail, or `None`
    /// when it had already ended.
    pub(crate) fn terminate(&mut self, err: ZkError) -> Option<Vec<Waiter>> {
        if self.terminal.is_some() {
            return None;
        }
        self.terminal = Some(err);
        let mut all = Vec::new();
        for q in [
            &mut self.ordinary,
            &mut self.pings,
            &mut self.auths,
            &mut self.set_watches,
        ] {
            all.extend(q.drain(..));
        }
        Some(all)
    }
}
