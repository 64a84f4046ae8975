//! The leader's in-memory tail of committed txns (`ZKDatabase.committedLog`),
//! from which learners are synced by DIFF.
//!
//! Invariant: zxids strictly increase; at most `capacity` entries; when
//! empty, `min`/`max` are the last processed zxid (as `syncFollower` treats
//! an empty log).

use crate::quorum::types::TxnPacket;
use std::collections::VecDeque;

#[derive(Debug, Clone)]
pub struct CommittedLog {
    txns: VecDeque<TxnPacket>,
    capacity: usize,
    last_processed: i64,
}

impl CommittedLog {
    /// `txns` are the newest committed txns ending at `last_processed`
    /// (older ones beyond `capacity` are dropped).
    pub fn new(capacity: usize, txns: Vec<TxnPacket>, last_processed: i64) -> CommittedLog {
        let mut log = CommittedLog {
            txns: VecDeque::new(),
            capacity,
            last_processed,
        };
        for t in txns {
            log.push(t);
        }
        log.last_processed = last_processed;
        log
    }

    /// Appends a newly committed txn, evicting the oldest beyond capacity.
    pub fn push(&mut self, txn: TxnPacket) {
        self.last_processed = txn.txn.header.zxid;
        if self.capacity == 0 {
            return;
        }
        if self.txns.len() == self.capacity {
            self.txns.pop_front();
        }
        self.txns.push_back(txn);
    }

    /// The zxid of the last committed (processed) txn.
    pub fn last_processed(&self) -> i64 {
        self.last_processed
    }

    pub fn min(&self) -> i64 {
        self.txns
            .front()
            .map_or(self.last_processed, |t| t.txn.header.zxid)
    }

    pub fn max(&self) -> i64 {
        self.txns
            .back()
            .map_or(self.last_processed, |t| t.txn.header.zxid)
    }

    pub fn is_empty(&self) -> bool {
        self.txns.is_empty()
    }

    pub fn iter(&self) -> impl Iterator<Item = &TxnPacket> {
        self.txns.iter()
    }
}
