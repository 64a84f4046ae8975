//! How the leader brings a learner up to date: `LearnerHandler.syncFollower`
//! and `queueCommittedProposals` of ZooKeeper 3.8.0, over the in-memory
//! committed log only (no DIFF from the on-disk log: past the committed log
//! the learner gets SNAP).

use super::committed_log::CommittedLog;
use crate::quorum::types::{counter_of, epoch_of, ZabMessage};

/// The packets that sync a learner, or SNAP.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SyncPlan {
    /// DIFF/TRUNC and PROPOSAL+COMMIT pairs, in order (empty when `snap`).
    pub packets: Vec<ZabMessage>,
    /// Send SNAP and a snapshot instead.
    pub snap: bool,
    /// The zxid the learner will have once it processed `packets`; the leader
    /// forwards proposals after it.
    pub current_zxid: i64,
}

/// Plans the sync of a learner whose last logged zxid is `peer_last_zxid`.
pub fn sync_plan(peer_last_zxid: i64, log: &CommittedLog) -> SyncPlan {
    let is_peer_new_epoch_zxid = counter_of(peer_last_zxid) == 0;
    let last_processed = log.last_processed();
    let (min, max) = (log.min(), log.max());
    let mut plan = SyncPlan {
        packets: Vec::new(),
        snap: true,
        current_zxid: peer_last_zxid,
    };
    if last_processed == peer_last_zxid {
        // Already in sync: an empty DIFF.
        plan.packets.push(ZabMessage::Diff {
            zxid: peer_last_zxid,
        });
        plan.snap = false;
    } else if peer_last_zxid > max && !is_peer_new_epoch_zxid {
        // The peer has txns we never saw (an old leader's): TRUNC.
        plan.packets.push(ZabMessage::Trunc { zxid: max });
        plan.current_zxid = max;
        plan.snap = false;
    } else if max >= peer_last_zxid && min <= peer_last_zxid {
        if let Some(z) = queue_committed(log, peer_last_zxid, max, &mut plan.packets) {
            plan.current_zxid = z;
            plan.snap = false;
        }
    }
    if plan.snap {
        plan.packets.clear();
        plan.current_zxid = last_processed;
    }
    plan
}

/// `queueCommittedProposals`: DIFF (or TRUNC to the last common zxid) then
/// PROPOSAL+COMMIT pairs. `None` when that needs a TRUNC across an epoch
/// boundary (ZooKeeper falls back to SNAP then).
fn queue_committed(
    log: &CommittedLog,
    peer_last_zxid: i64,
    last_committed: i64,
    out: &mut Vec<ZabMessage>,
) -> Option<i64> {
    let is_peer_new_epoch_zxid = counter_of(peer_last_zxid) == 0;
    let mut queued = peer_last_zxid;
    let mut prev = -1;
    let mut need_op = true;
    for p in log.iter() {
        let z = p.txn.header.zxid;
        if z < peer_last_zxid {
            prev = z;
            continue;
        }
        if need_op {
            if z == peer_last_zxid {
                out.push(ZabMessage::Diff {
                    zxid: last_committed,
                });
                need_op = false;
                continue;
            }
            if is_peer_new_epoch_zxid {
                out.push(ZabMessage::Diff {
                    zxid: last_committed,
                });
                need_op = false;
            } else if z > peer_last_zxid {
                if epoch_of(z) != epoch_of(peer_last_zxid) {
                    return None;
                }
                out.push(ZabMessage::Trunc { zxid: prev });
                need_op = false;
            }
        }
        if z <= queued {
            continue;
        }
        out.push(ZabMessage::Proposal(p.clone()));
        out.push(ZabMessage::Commit { zxid: z });
        queued = z;
    }
    if need_op && is_peer_new_epoch_zxid {
        out.push(ZabMessage::Diff {
            zxid: last_committed,
        });
        need_op = false;
    }
    if need_op {
        return None;
    }
    Some(queued)
}
