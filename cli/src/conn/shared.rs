//! [`ConnShared`]: the state a connection's reader, writer and callers share.
//!
//! Invariants:
//! - The connection ends exactly once (`terminate`): the state event is
//!   delivered first, then every pending caller is failed with the terminal
//!   error, then both tasks are cancelled.
//! - A notification is delivered to the event sink before the reply that
//!   follows it on the wire is handed to its caller (both happen on the
//!   reader task, in wire order).
//! - The reply to a closeSession ends the connection with `Closed`, so the
//!   server's subsequent close is not reported as a loss.

use super::pending::{Pending, ReplyResult, Unmatched, Waiter};
use crate::chroot::Chroot;
use crate::error::ZkError;
use crate::event::{EventSink, WatchedEvent};
use crate::session::SessionInfo;
use bytes::Bytes;
use jute::proto::{keeper_state, xid, ReplyHeader, WatcherEvent};
use jute::{ErrorCode, OpCode, Record};
use parking_lot::Mutex;
use std::sync::Arc;
use tokio::sync::Semaphore;
use tokio_util::sync::{CancellationToken, WaitForCancellationFuture};

/// Most requests one connection keeps on the wire awaiting replies.
pub const MAX_IN_FLIGHT: usize = 1024;

#[derive(Debug)]
pub(crate) struct ConnShared {
    pending: Mutex<Pending>,
    cancel: CancellationToken,
    events: Arc<EventSink>,
    session: Arc<SessionInfo>,
    chroot: Chroot,
    in_flight: Arc<Semaphore>,
}

impl ConnShared {
    pub(crate) fn new(session: Arc<SessionInfo>, events: Arc<EventSink>, chroot: Chroot) -> Self {
        ConnShared {
            pending: Mutex::new(Pending::default()),
            cancel: CancellationToken::new(),
            events,
            session,
            chroot,
            in_flight: Arc::new(Semaphore::new(MAX_IN_FLIGHT)),
        }
    }

    pub(crate) fn in_flight(&self) -> &Arc<Semaphore> {
        &self.in_flight
    }

    pub(crate) fn cancelled(&self) -> WaitForCancellationFuture<'_> {
        self.cancel.cancelled()
    }

    /// Queues a waiter; returns false (having failed it) once the connection ended.
    pub(crate) fn register(&self, waiter: Waiter) -> bool {
        let refused = self.pending.lock().push(waiter);
        match refused {
            Ok(()) => true,
            Err((waiter, err)) => {
                waiter.complete(Err(err));
                false
            }
        }
    }

    /// Why the connection ended; `ConnectionLoss` while it is still up.
    pub(crate) fn terminal_error(&self) -> ZkError {
        self.pending
            .lock()
            .terminal()
            .cloned()
            .unwrap_or(ZkError::ConnectionLoss)
    }

    pub(crate) fn is_terminated(&self) -> bool {
        self.pending.lock().terminal().is_some()
    }

    /// Ends the connection once: state event, then fail the waiters, then cancel.
    pub(crate) fn terminate(&self, err: ZkError, state: i32) {
        let waiters = self.pending.lock().terminate(err.clone());
        let Some(waiters) = waiters else {
            return;
        };
        self.events.state(state);
        for w in waiters {
            w.complete(Err(err.clone()));
        }
        self.cancel.cancel();
    }

    /// Ends the connection as lost.
    pub(crate) fn abort(&self, why: &str) {
        if !self.is_terminated() {
            tracing::debug!(why, "connection lost");
        }
        self.terminate(ZkError::ConnectionLoss, keeper_state::DISCONNECTED);
    }

    /// Handles one frame from the server; `Err` means the connection must close.
    pub(crate) fn on_frame(&self, frame: Bytes) -> Result<(), String> {
        let mut body = frame;
        let header = ReplyHeader::read(&mut body).map_err(|e| format!("reply header: {e}"))?;
        if header.xid == xid::NOTIFICATION {
            let ev = WatcherEvent::read(&mut body).map_err(|e| format!("notification: {e}"))?;
            let path = self.chroot.strip(&ev.path);
            self.events.deliver(WatchedEvent {
                event_type: ev.type_,
                state: ev.state,
                path,
            });
            return Ok(());
        }
        if header.xid != xid::PING && header.xid != xid::AUTH && header.zxid > 0 {
            self.session.set_last_zxid(header.zxid);
        }
        let popped = self.pending.lock().pop(header.xid);
        let waiter = match popped {
            Ok(w) => Some(w),
            Err(Unmatched::Unsolicited) => None,
            Err(Unmatched::OutOfOrder { expected }) => {
                return Err(format!(
                    "reply xid {} but expected {expected:?}",
                    header.xid
                ));
            }
        };
        if header.xid == xid::AUTH && header.err == ErrorCode::AuthFailed.code() {
            self.events.state(keeper_state::AUTH_FAILED);
        }
        if let Some(w) = waiter {
            self.complete(w, header, body);
        }
        Ok(())
    }

    fn complete(&self, waiter: Waiter, header: ReplyHeader, body: Bytes) {
        let closing = waiter.op == OpCode::CloseSession.code();
        let ok = header.err == 0;
        let result: ReplyResult = Ok((header, body));
        waiter.complete(result);
        if closing {
            if ok {
                self.session.set_closed();
            }
            self.terminate(ZkError::Closed, keeper_state::CLOSED);
        }
    }
}
