//! [`WatchSet`]: the watches a session holds, kept client-side so they can be
//! re-armed on a new connection (setWatches2) and checked before a
//! removeWatches, as Apache's client does with its `ZKWatchManager`.
//!
//! Invariants:
//! - A one-shot watch (data, exist, child) is in the set from the successful
//!   reply that armed it until the event that consumes it: NodeCreated and
//!   NodeDataChanged consume data and exist watches, NodeChildrenChanged child
//!   watches, NodeDeleted all three kinds on the path.
//! - Persistent and persistent-recursive watches stay until removed.
//! - Paths are client paths (chroot stripped); the client adds the chroot
//!   when it re-sends them.

use crate::client::Client;
use crate::error::ZkError;
use crate::event::WatchedEvent;
use jute::proto::{event_type, SetWatches2};
use std::collections::BTreeSet;

/// What kind of watch a path holds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum WatchKind {
    /// getData(watch) or exists(watch) on an existing node.
    Data,
    /// exists(watch) on a missing node: fires on its creation.
    Exist,
    /// getChildren(watch).
    Child,
    /// addWatch PERSISTENT.
    Persistent,
    /// addWatch PERSISTENT_RECURSIVE.
    PersistentRecursive,
}

impl WatchKind {
    /// Every kind, in the order setWatches2 lists them.
    pub const ALL: [WatchKind; 5] = [
        WatchKind::Data,
        WatchKind::Exist,
        WatchKind::Child,
        WatchKind::Persistent,
        WatchKind::PersistentRecursive,
    ];
}

/// The watches one session holds. See the module docs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct WatchSet {
    data: BTreeSet<String>,
    exist: BTreeSet<String>,
    child: BTreeSet<String>,
    persistent: BTreeSet<String>,
    recursive: BTreeSet<String>,
}

impl WatchSet {
    /// An empty set.
    pub fn new() -> WatchSet {
        WatchSet::default()
    }

    fn table(&self, kind: WatchKind) -> &BTreeSet<String> {
        match kind {
            WatchKind::Data => &self.data,
            WatchKind::Exist => &self.exist,
            WatchKind::Child => &self.child,
            WatchKind::Persistent => &self.persistent,
            WatchKind::PersistentRecursive => &self.recursive,
        }
    }

    fn table_mut(&mut self, kind: WatchKind) -> &mut BTreeSet<String> {
        match kind {
            WatchKind::Data => &mut self.data,
            WatchKind::Exist => &mut self.exist,
            WatchKind::Child => &mut self.child,
            WatchKind::Persistent => &mut self.persistent,
            WatchKind::PersistentRecursive => &mut self.recursive,
        }
    }

    /// Records a watch the server armed.
    pub fn add(&mut self, kind: WatchKind, path: &str) {
        self.table_mut(kind).insert(path.to_string());
    }

    /// Forgets a watch; true if it was there.
    pub fn remove(&mut self, kind: WatchKind, path: &str) -> bool {
        self.table_mut(kind).remove(path)
    }

    /// True if `path` holds a watch of this kind.
    pub fn contains(&self, kind: WatchKind, path: &str) -> bool {
        self.table(kind).contains(path)
    }

    /// True when no watch is held.
    pub fn is_empty(&self) -> bool {
        WatchKind::ALL.iter().all(|k| self.table(*k).is_empty())
    }

    /// The paths holding a watch of this kind, sorted.
    pub fn paths(&self, kind: WatchKind) -> Vec<String> {
        self.table(kind).iter().cloned().collect()
    }

    /// Consumes the one-shot watches an event fires (state changes fire none).
    pub fn on_event(&mut self, event: &WatchedEvent) {
        let path = event.path.as_str();
        match event.event_type {
            event_type::NODE_CREATED | event_type::NODE_DATA_CHANGED => {
                self.data.remove(path);
                self.exist.remove(path);
            }
            event_type::NODE_CHILDREN_CHANGED => {
                self.child.remove(path);
            }
            event_type::NODE_DELETED => {
                self.data.remove(path);
                self.exist.remove(path);
                self.child.remove(path);
            }
            _ => {}
        }
    }

    /// The setWatches2 request that re-arms every watch, relative to the
    /// last zxid the session saw (so changes missed while disconnected fire).
    pub fn to_set_watches2(&self, relative_zxid: i64) -> SetWatches2 {
        SetWatches2 {
            relative_zxid,
            data_watches: self.paths(WatchKind::Data),
            exist_watches: self.paths(WatchKind::Exist),
            child_watches: self.paths(WatchKind::Child),
            persistent_watches: self.paths(WatchKind::Persistent),
            persistent_recursive_watches: self.paths(WatchKind::PersistentRecursive),
        }
    }
}

impl Client {
    /// [`reconnect`](Client::reconnect) (the same session, on the first host
    /// that answers), then re-arms `watches` with setWatches2 relative to the
    /// last zxid seen. Nothing is sent when the set is empty.
    pub async fn reconnect_with_watches(&self, watches: &WatchSet) -> Result<(), ZkError> {
        self.reconnect().await?;
        if watches.is_empty() {
            return Ok(());
        }
        self.set_watches2(watches.to_set_watches2(self.last_zxid()))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jute::proto::keeper_state;

    fn ev(t: i32, path: &str) -> WatchedEvent {
        WatchedEvent {
            event_type: t,
            state: keeper_state::SYNC_CONNECTED,
            path: path.into(),
        }
    }

    #[test]
    fn events_consume_one_shot_watches_only() {
        let mut w = WatchSet::new();
        w.add(WatchKind::Data, "/a");
        w.add(WatchKind::Child, "/a");
        w.add(WatchKind::Persistent, "/a");
        w.add(WatchKind::Exist, "/b");
        w.on_event(&ev(event_type::NODE_DATA_CHANGED, "/a"));
        assert!(!w.contains(WatchKind::Data, "/a"));
        assert!(w.contains(WatchKind::Child, "/a"));
        w.on_event(&ev(event_type::NODE_DELETED, "/a"));
        assert!(!w.contains(WatchKind::Child, "/a"));
        assert!(w.contains(WatchKind::Persistent, "/a"));
        w.on_event(&ev(event_type::NODE_CREATED, "/b"));
        let req = w.to_set_watches2(7);
        assert_eq!(req.relative_zxid, 7);
        assert!(req.exist_watches.is_empty());
        assert_eq!(req.persistent_watches, ["/a"]);
        assert!(w.remove(WatchKind::Persistent, "/a"));
        assert!(w.is_empty());
    }
}
