//! The invariants, checked as the run goes: one established leader per
//! epoch; every serving node's applied list is a prefix of one history (same
//! txn and same running hash at each zxid); acknowledged writes are in every
//! later leader's and every later-synced learner's state; per-client FIFO;
//! a sync answered at a learner shows what the leader had proposed.

use std::collections::{BTreeMap, BTreeSet};
use zk_server::quorum::types::{Sid, TxnPacket};

#[derive(Default)]
pub struct Checker {
    /// (zxid, client, seq, running hash) of the one history.
    history: Vec<(i64, i64, i32, u64)>,
    leaders: BTreeMap<i64, Sid>,
    /// Acknowledged writes: (client, seq) → zxid.
    acked: BTreeMap<(i64, i32), i64>,
    acked_zxids: BTreeSet<i64>,
    /// The leader's last zxid when it established each epoch.
    established_zxid: BTreeMap<i64, i64>,
    client_last_seq: BTreeMap<i64, i32>,
    pub commits: u64,
    pub syncs_checked: u64,
}

fn entry_hash(prev: u64, t: &TxnPacket) -> u64 {
    let h = &t.txn.header;
    let mut x = prev ^ (h.zxid as u64).wrapping_mul(0x9E37_79B9_7F4A_7C15);
    x = x.rotate_left(17) ^ (h.client_id as u64).wrapping_mul(0xC2B2_AE3D_27D4_EB4F);
    x = x.rotate_left(23) ^ (h.cxid as u64).wrapping_mul(0x1656_67B1_9E37_79F9);
    x.wrapping_mul(0xFF51_AFD7_ED55_8CCD)
}

impl Checker {
    /// Checks `applied[from..]` of a serving node against the history,
    /// extending the history where the node is ahead.
    pub fn check_applied(
        &mut self,
        sid: Sid,
        applied: &[TxnPacket],
        from: usize,
    ) -> Result<(), String> {
        let mut hash = if from == 0 {
            0
        } else {
            self.hash_at(sid, applied, from - 1)?
        };
        for (i, t) in applied.iter().enumerate().skip(from) {
            hash = entry_hash(hash, t);
            let h = &t.txn.header;
            let mine = (h.zxid, h.client_id, h.cxid, hash);
            if i < self.history.len() {
                if self.history[i] != mine {
                    return Err(format!(
                        "node {sid}: applied[{i}] = {mine:x?} but history has {:x?}",
                        self.history[i]
                    ));
                }
            } else {
                if let Some(prev) = self.history.last() {
                    if prev.0 >= h.zxid {
                        return Err(format!(
                            "node {sid}: zxid {:#x} after {:#x}",
                            h.zxid, prev.0
                        ));
                    }
                }
                if let Some(&last) = self.client_last_seq.get(&h.client_id) {
                    if h.cxid <= last {
                        return Err(format!(
                            "client {} FIFO broken: seq {} committed after {}",
                            h.client_id, h.cxid, last
                        ));
                    }
                }
                self.client_last_seq.insert(h.client_id, h.cxid);
                self.history.push(mine);
            }
        }
        Ok(())
    }

    fn hash_at(&self, sid: Sid, applied: &[TxnPacket], i: usize) -> Result<u64, String> {
        match self.history.get(i) {
            Some(e) if e.0 == applied[i].txn.header.zxid => Ok(e.3),
            _ => Err(format!("node {sid}: applied[{i}] is not in the history")),
        }
    }

    pub fn on_established(
        &mut self,
        sid: Sid,
        epoch: i64,
        applied: &[TxnPacket],
    ) -> Result<(), String> {
        if let Some(other) = self.leaders.insert(epoch, sid) {
            return Err(format!(
                "two leaders established epoch {epoch}: {other} and {sid}"
            ));
        }
        self.check_applied(sid, applied, 0)?;
        // Every write acknowledged in an earlier epoch. (A leader whose
        // NEWLEADER quorum formed from ACKs in flight may establish after a
        // later epoch's leader already wrote; it can never commit, since
        // every quorum now holds a node that accepted the later epoch.)
        let last = applied.last().map_or(0, |t| t.txn.header.zxid);
        if let Some(&need) = self.acked_zxids.range(..(epoch << 32)).next_back() {
            if last < need {
                return Err(format!(
                    "leader {sid} of epoch {epoch} lacks acknowledged writes: last {last:#x} < acked {need:#x}"
                ));
            }
        }
        self.established_zxid.insert(epoch, last);
        Ok(())
    }

    pub fn on_serving(
        &mut self,
        sid: Sid,
        epoch: i64,
        applied: &[TxnPacket],
    ) -> Result<(), String> {
        self.check_applied(sid, applied, 0)?;
        let last = applied.last().map_or(0, |t| t.txn.header.zxid);
        let need = self.established_zxid.get(&epoch).copied().unwrap_or(0);
        if last < need {
            return Err(format!(
                "learner {sid} serves epoch {epoch} at {last:#x}, before the leader's {need:#x}"
            ));
        }
        Ok(())
    }

    /// The leader answered the client: the write is acknowledged.
    pub fn on_ack(&mut self, t: &TxnPacket) {
        let h = &t.txn.header;
        self.acked.insert((h.client_id, h.cxid), h.zxid);
        self.acked_zxids.insert(h.zxid);
        self.commits += 1;
    }

    pub fn on_sync_done(
        &mut self,
        sid: Sid,
        applied_last: i64,
        required: i64,
    ) -> Result<(), String> {
        self.syncs_checked += 1;
        if applied_last < required {
            return Err(format!(
                "sync at {sid} answered at {applied_last:#x} before the leader's {required:#x}"
            ));
        }
        Ok(())
    }

    pub fn acked_count(&self) -> usize {
        self.acked.len()
    }
}
