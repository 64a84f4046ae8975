//! The tree digest (ZooKeeper 3.6+'s `digest.enabled`, on by default): a
//! 64-bit sum, wrapping, of one CRC-32 per znode, kept up to date as txns
//! are applied, and a history of it every [`DIGEST_LOG_INTERVAL`] zxids that
//! the `hash` four-letter word prints.
//!
//! A node's digest is the CRC-32 of, in this order: its path (`""` for the
//! root, never `"/"`), its data, and the 60 bytes of `czxid mzxid pzxid
//! ctime mtime version cversion aversion ephemeralOwner`, big-endian (the
//! field list and order of ZooKeeper's `DigestCalculator`, version 2). The
//! stored `cversion` is used (creates, not creates + deletes).
//!
//! Invariants:
//! - [`TreeDigest::value`] equals the sum of [`node_digest`] over every node
//!   of the tree, the root counted once under `""`.
//! - Nodes under `/zookeeper/` count 0 (ZooKeeper excludes them: quota stat
//!   nodes change outside txns); `/zookeeper` itself counts.
//! - The history holds at most [`DIGEST_LOG_LIMIT`] entries, oldest first,
//!   each for a zxid that is a multiple of [`DIGEST_LOG_INTERVAL`].
//! - Nothing here allocates per update (the CRC state lives on the stack);
//!   the history grows by one entry every 128 txns, up to its cap.

use jute::data::StatPersisted;
use std::collections::VecDeque;

/// `DigestCalculator.DIGEST_VERSION` (3.6–3.9).
pub const DIGEST_VERSION: i32 = 2;

/// A digest is logged for every zxid that is a multiple of this (0x80).
pub const DIGEST_LOG_INTERVAL: i64 = 128;

/// At most this many logged digests are kept (the oldest are dropped).
pub const DIGEST_LOG_LIMIT: usize = 1024;

/// Paths under this prefix count 0 (`ZooDefs.ZOOKEEPER_NODE_SUBTREE`).
const EXCLUDED_SUBTREE: &str = "/zookeeper/";

/// The tree digest as of one zxid (ZooKeeper's `ZxidDigest`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZxidDigest {
    pub zxid: i64,
    pub version: i32,
    pub digest: i64,
}

/// The 60 stat bytes a node's digest covers, in `DigestCalculator`'s order.
fn stat_bytes(stat: &StatPersisted) -> [u8; 60] {
    let mut b = [0u8; 60];
    let longs_then_ints = [
        (0, stat.czxid),
        (8, stat.mzxid),
        (16, stat.pzxid),
        (24, stat.ctime),
        (32, stat.mtime),
    ];
    for (at, v) in longs_then_ints {
        b[at..at + 8].copy_from_slice(&v.to_be_bytes());
    }
    b[40..44].copy_from_slice(&stat.version.to_be_bytes());
    b[44..48].copy_from_slice(&stat.cversion.to_be_bytes());
    b[48..52].copy_from_slice(&stat.aversion.to_be_bytes());
    b[52..60].copy_from_slice(&stat.ephemeral_owner.to_be_bytes());
    b
}

/// Whether a node at `path` takes part in the digest.
fn counted(path: &str) -> bool {
    !path.starts_with(EXCLUDED_SUBTREE)
}

/// The CRC state after the path and the data (shared by the before and
/// after digests of a stat-only change).
fn path_and_data(path: &str, data: Option<&[u8]>) -> crc32fast::Hasher {
    let mut h = crc32fast::Hasher::new();
    // "/" and "" both name the root; ZooKeeper maps "/" to "".
    if path != "/" {
        h.update(path.as_bytes());
    }
    if let Some(d) = data {
        h.update(d);
    }
    h
}

/// One node's digest (0 for nodes the digest leaves out).
pub fn node_digest(path: &str, data: Option<&[u8]>, stat: &StatPersisted) -> i64 {
    if !counted(path) {
        return 0;
    }
    let mut h = path_and_data(path, data);
    h.update(&stat_bytes(stat));
    i64::from(h.finalize())
}

/// The running digest of a tree and its history.
#[derive(Debug, Clone, Default)]
pub struct TreeDigest {
    value: i64,
    /// The digest after the last txn applied since start-up (ZooKeeper's
    /// `lastProcessedZxidDigest`; what a snapshot records).
    last: Option<ZxidDigest>,
    history: VecDeque<ZxidDigest>,
    /// A digest read from a snapshot, not yet checked: the tree is fuzzy
    /// until the txn of its zxid has been replayed, and nothing is logged.
    expected: Option<ZxidDigest>,
    mismatches: u64,
}

impl TreeDigest {
    /// The current digest of the whole tree.
    pub fn value(&self) -> i64 {
        self.value
    }

    /// Counts a node in.
    pub fn add(&mut self, path: &str, data: Option<&[u8]>, stat: &StatPersisted) {
        self.value = self.value.wrapping_add(node_digest(path, data, stat));
    }

    /// Counts a node out.
    pub fn remove(&mut self, path: &str, data: Option<&[u8]>, stat: &StatPersisted) {
        self.value = self.value.wrapping_sub(node_digest(path, data, stat));
    }

    /// A node's stat changed from `before` to `after`, its data did not:
    /// one pass over path and data serves both digests.
    pub fn restat(
        &mut self,
        path: &str,
        data: Option<&[u8]>,
        before: &StatPersisted,
        after: &StatPersisted,
    ) {
        if !counted(path) || before == after {
            return;
        }
        let prefix = path_and_data(path, data);
        let mut old = prefix.clone();
        old.update(&stat_bytes(before));
        let mut new = prefix;
        new.update(&stat_bytes(after));
        self.value = self
            .value
            .wrapping_sub(i64::from(old.finalize()))
            .wrapping_add(i64::from(new.finalize()));
    }

    /// A whole txn at `zxid` has been applied (not a multi's sub-txn): check
    /// a pending snapshot digest, or record the digest (ZooKeeper's
    /// `processTxn` tail: `compareSnapshotDigests` or `logZxidDigest`).
    pub fn txn_applied(&mut self, zxid: i64) {
        if let Some(expected) = self.expected {
            if zxid == expected.zxid {
                self.check_expected();
            }
            return;
        }
        let entry = ZxidDigest {
            zxid,
            version: DIGEST_VERSION,
            digest: self.value,
        };
        self.last = Some(entry);
        if zxid % DIGEST_LOG_INTERVAL == 0 {
            if self.history.len() == DIGEST_LOG_LIMIT {
                self.history.pop_front();
            }
            self.history.push_back(entry);
        }
    }

    /// A snapshot as of `snap_zxid` carried `stored` (ZooKeeper's
    /// `deserializeZxidDigest` and the check `FileSnap` runs right after):
    /// an empty digest, one older than the snapshot, or one of another
    /// version is ignored; one for the snapshot's own zxid is checked now;
    /// a later one (a fuzzy snapshot) is checked when replay reaches it.
    pub fn expect(&mut self, stored: ZxidDigest, snap_zxid: i64) {
        if stored.zxid <= 0 || stored.zxid < snap_zxid || stored.version != DIGEST_VERSION {
            self.expected = None;
            return;
        }
        self.expected = Some(stored);
        if stored.zxid == snap_zxid {
            self.check_expected();
        }
    }

    fn check_expected(&mut self) {
        if let Some(expected) = self.expected.take() {
            if expected.digest != self.value {
                self.mismatches += 1;
                tracing::error!(
                    "Digests are not matching. Value is Zxid. 0x{:x}: stored {}, tree {}",
                    expected.zxid,
                    expected.digest,
                    self.value
                );
            }
        }
    }

    /// Replay ended: a snapshot digest whose txn never came is reported
    /// (ZooKeeper warns the state may be inconsistent) and dropped.
    pub fn replay_done(&mut self, last_zxid: i64) {
        if let Some(expected) = self.expected.take() {
            tracing::warn!(
                "Highest txn zxid 0x{last_zxid:x} is not covering the snapshot digest zxid 0x{:x}, \
                 which might lead to inconsistent state",
                expected.zxid
            );
        }
    }

    /// The digest after the last txn applied since start-up, if any.
    pub fn last(&self) -> Option<ZxidDigest> {
        self.last
    }

    /// Logged digests, oldest first.
    pub fn history(&self) -> impl Iterator<Item = &ZxidDigest> {
        self.history.iter()
    }

    /// Digest mismatches seen (mntr's `zk_digest_mismatches_count`).
    pub fn mismatches(&self) -> u64 {
        self.mismatches
    }

    /// The `hash` four-letter word: one `<hex zxid>: <digest>` line per
    /// logged digest, oldest first (`DigestCommand`).
    pub fn hash_text(&self) -> String {
        use std::fmt::Write as _;
        let mut out = String::with_capacity(self.history.len() * 32);
        for d in &self.history {
            let _ = writeln!(out, "{:x}: {}", d.zxid, d.digest);
        }
        out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn stat(zxid: i64) -> StatPersisted {
        StatPersisted {
            czxid: zxid,
            mzxid: zxid,
            pzxid: zxid,
            ctime: 1000,
            mtime: 1000,
            ..StatPersisted::default()
        }
    }

    #[test]
    fn node_digest_is_crc32_of_path_data_and_stat_fields() {
        let s = stat(5);
        let mut h = crc32fast::Hasher::new();
        h.update(b"/a");
        h.update(b"xy");
        h.update(&stat_bytes(&s));
        assert_eq!(node_digest("/a", Some(b"xy"), &s), i64::from(h.finalize()));
        // The root is "" whichever way it is named; /zookeeper/ is left out.
        assert_eq!(node_digest("/", None, &s), node_digest("", Some(b""), &s));
        assert_eq!(node_digest("/zookeeper/quota", None, &s), 0);
        assert_ne!(node_digest("/zookeeper", None, &s), 0);
        // Field order: pzxid sits third, before the times.
        let b = stat_bytes(&StatPersisted {
            pzxid: 7,
            ..StatPersisted::default()
        });
        assert_eq!(b[23], 7);
    }

    #[test]
    fn restat_equals_remove_then_add() {
        let (a, b) = (stat(5), stat(9));
        let mut x = TreeDigest::default();
        x.add("/n", Some(b"data"), &a);
        let mut y = x.clone();
        x.restat("/n", Some(b"data"), &a, &b);
        y.remove("/n", Some(b"data"), &a);
        y.add("/n", Some(b"data"), &b);
        assert_eq!(x.value(), y.value());
    }

    #[test]
    fn history_every_128_zxids_capped() {
        let mut d = TreeDigest::default();
        for zxid in 1..=(DIGEST_LOG_INTERVAL * (DIGEST_LOG_LIMIT as i64 + 3)) {
            d.txn_applied(zxid);
        }
        assert_eq!(d.history().count(), DIGEST_LOG_LIMIT);
        assert_eq!(d.history().next().map(|e| e.zxid), Some(4 * 128));
        assert!(d.hash_text().starts_with("200: 0\n"));
    }

    #[test]
    fn a_snapshot_digest_is_checked_at_its_zxid_and_logging_waits() {
        let mut d = TreeDigest::default();
        d.add("/a", None, &stat(1));
        let v = d.value();
        d.expect(
            ZxidDigest {
                zxid: 256,
                version: DIGEST_VERSION,
                digest: v,
            },
            200,
        );
        d.txn_applied(255);
        d.txn_applied(256);
        assert_eq!((d.history().count(), d.mismatches()), (0, 0));
        d.txn_applied(384);
        assert_eq!(d.history().count(), 1);
        d.expect(
            ZxidDigest {
                zxid: 400,
                version: DIGEST_VERSION,
                digest: v + 1,
            },
            400,
        );
        assert_eq!(d.mismatches(), 1);
    }
}
