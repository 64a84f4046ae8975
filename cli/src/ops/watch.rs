//! Watch management: addWatch, checkWatches, removeWatches, setWatches(2).

use crate::client::Client;
use crate::error::ZkError;
use jute::proto::*;
use jute::OpCode;

impl Client {
    /// addWatch (106); `mode` from `jute::proto::add_watch_mode`.
    pub async fn add_watch(&self, path: &str, mode: i32) -> Result<(), ZkError> {
        let req = AddWatchRequest {
            path: self.prefix(path),
            mode,
        };
        self.call_unit(OpCode::AddWatch, &req).await
    }

    /// checkWatches (17); `watcher_type` from `jute::proto::watcher_type`.
    pub async fn check_watches(&self, path: &str, watcher_type: i32) -> Result<(), ZkError> {
        let req = CheckWatchesRequest {
            path: self.prefix(path),
            type_: watcher_type,
        };
        self.call_unit(OpCode::CheckWatches, &req).await
    }

    /// removeWatches (18); `watcher_type` from `jute::proto::watcher_type`.
    pub async fn remove_watches(&self, path: &str, watcher_type: i32) -> Result<(), ZkError> {
        let req = RemoveWatchesRequest {
            path: self.prefix(path),
            type_: watcher_type,
        };
        self.call_unit(OpCode::RemoveWatches, &req).await
    }

    /// setWatches (101, xid −8): re-registers watches, e.g. after `reconnect`.
    /// Sent as one request (Apache's client splits above 128 KB; this does not).
    pub async fn set_watches(&self, watches: SetWatches) -> Result<(), ZkError> {
        let req = SetWatches {
            relative_zxid: watches.relative_zxid,
            data_watches: self.chroot().prefix_all(watches.data_watches),
            exist_watches: self.chroot().prefix_all(watches.exist_watches),
            child_watches: self.chroot().prefix_all(watches.child_watches),
        };
        self.call_unit(OpCode::SetWatches, &req).await
    }

    /// setWatches2 (105, xid −8): as `set_watches`, plus persistent watches.
    pub async fn set_watches2(&self, watches: SetWatches2) -> Result<(), ZkError> {
        let c = self.chroot();
        let req = SetWatches2 {
            relative_zxid: watches.relative_zxid,
            data_watches: c.prefix_all(watches.data_watches),
            exist_watches: c.prefix_all(watches.exist_watches),
            child_watches: c.prefix_all(watches.child_watches),
            persistent_watches: c.prefix_all(watches.persistent_watches),
            persistent_recursive_watches: c.prefix_all(watches.persistent_recursive_watches),
        };
        self.call_unit(OpCode::SetWatches2, &req).await
    }
}
