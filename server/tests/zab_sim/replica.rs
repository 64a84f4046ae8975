//! A node's storage and state, as the Zab roles see it: a durable log, an
//! unsynced tail (lost by a crash), the epoch files, and the applied list
//! (the tree) with a running hash per entry.

use zk_server::quorum::types::TxnPacket;

#[derive(Default, Clone)]
pub struct Replica {
    pub durable: Vec<TxnPacket>,
    pub tail: Vec<TxnPacket>,
    pub accepted_epoch: i64,
    pub current_epoch: i64,
    pub applied: Vec<TxnPacket>,
}

impl Replica {
    pub fn last_durable_zxid(&self) -> i64 {
        self.durable.last().map_or(0, zxid)
    }

    pub fn last_logged_zxid(&self) -> i64 {
        self.tail.last().or(self.durable.last()).map_or(0, zxid)
    }

    pub fn last_applied_zxid(&self) -> i64 {
        self.applied.last().map_or(0, zxid)
    }

    /// A crash: the unsynced tail and the tree are gone.
    pub fn crash(&mut self) {
        self.tail.clear();
        self.applied.clear();
    }

    /// Between roles the log thread drains, and the tree is fast-forwarded
    /// to the whole log (`ZKDatabase.fastForwardDataBase`).
    pub fn drain_and_load(&mut self) {
        self.durable.append(&mut self.tail);
        self.applied = self.durable.clone();
    }

    /// The log thread made everything up to `upto` durable.
    pub fn fsync(&mut self, upto: i64) {
        let n = self.tail.iter().take_while(|t| zxid(t) <= upto).count();
        self.durable.extend(self.tail.drain(..n));
    }

    pub fn truncate(&mut self, upto: i64) {
        self.durable.retain(|t| zxid(t) <= upto);
        self.tail.retain(|t| zxid(t) <= upto);
        self.applied.retain(|t| zxid(t) <= upto);
    }
}

pub fn zxid(t: &TxnPacket) -> i64 {
    t.txn.header.zxid
}
