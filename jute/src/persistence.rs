//! `module org.apache.zookeeper.server.persistence`: file headers of logs and snapshots.

use crate::jute_record;

jute_record!(FileHeader {
    magic: i32,
    version: i32,
    dbid: i64
});

/// `"ZKLG"`: the txn log magic.
pub const TXNLOG_MAGIC: i32 = 0x5A4B_4C47;
/// `"ZKSN"`: the snapshot magic.
pub const SNAP_MAGIC: i32 = 0x5A4B_534E;
