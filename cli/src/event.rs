//! [`WatchedEvent`] and the bounded sink that delivers them.
//!
//! Invariants:
//! - Events go into one bounded `tokio::sync::mpsc` channel, in wire order.
//!   The connection's reader never waits on it: when the channel is full the
//!   event is dropped and counted ([`Client::dropped_events`](crate::Client::dropped_events)),
//!   so a caller that never drains events cannot stall replies.
//! - A notification is put into the channel before the reply that follows it
//!   on the wire is handed to its caller.
//! - State changes are events with `event_type == -1` (`None`) and an empty
//!   path: SyncConnected/ConnectedReadOnly on every successful handshake,
//!   Disconnected when a connection is lost, Expired when a resume is
//!   refused, AuthFailed on an auth failure, Closed after `close`.

use jute::proto::event_type;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::mpsc;

/// Capacity of the event channel a client creates for itself.
pub const DEFAULT_EVENT_CAPACITY: usize = 4096;

/// A watch notification or a connection state change.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WatchedEvent {
    /// `Watcher.Event.EventType` (see `jute::proto::event_type`); −1 for state changes.
    pub event_type: i32,
    /// `Watcher.Event.KeeperState` (see `jute::proto::keeper_state`).
    pub state: i32,
    /// The znode path with the chroot stripped; empty for state changes.
    pub path: String,
}

impl WatchedEvent {
    /// A connection state change (no znode).
    pub fn state_change(state: i32) -> WatchedEvent {
        WatchedEvent {
            event_type: event_type::NONE,
            state,
            path: String::new(),
        }
    }

    /// True for state changes, false for znode notifications.
    pub fn is_state_change(&self) -> bool {
        self.event_type == event_type::NONE
    }
}

/// The sending side of a client's event channel, shared by its connections.
#[derive(Debug)]
pub(crate) struct EventSink {
    tx: mpsc::Sender<WatchedEvent>,
    dropped: AtomicU64,
}

impl EventSink {
    pub(crate) fn new(tx: mpsc::Sender<WatchedEvent>) -> EventSink {
        EventSink {
            tx,
            dropped: AtomicU64::new(0),
        }
    }

    /// Queues an event without waiting; a full channel drops and counts it.
    pub(crate) fn deliver(&self, event: WatchedEvent) {
        match self.tx.try_send(event) {
            Ok(()) => {}
            Err(mpsc::error::TrySendError::Full(ev)) => {
                self.dropped.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(?ev, "event channel full; event dropped");
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {}
        }
    }

    /// Queues a state-change event.
    pub(crate) fn state(&self, state: i32) {
        self.deliver(WatchedEvent::state_change(state));
    }

    pub(crate) fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}
