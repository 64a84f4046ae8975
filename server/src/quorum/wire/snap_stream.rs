//! The snapshot a leader streams to a learner after a SNAP packet.
//!
//! ZooKeeper 3.8.0's `LearnerHandler` writes the SNAP packet, then
//! `ZKDatabase.serializeSnapshot(oa)` (= `SerializeUtils.serializeSnapshot`)
//! and `oa.writeString("BenWasHere", "signature")` on the same
//! `BinaryOutputArchive`; `Learner.syncWithLeader` reads them back with
//! `ZKDatabase.deserializeSnapshot(ia)` and checks the signature. So the
//! stream is the snapshot *file* format minus its file header, seals and
//! digest (checked in the bytecode and against a captured stream):
//!
//! ```text
//! int count, then {long sessionId; int timeout} x count
//! int count, then {long aclIndex; int n; {int perms; ustring scheme; ustring id} x n} x count
//! {ustring path; buffer data; long acl; StatPersisted} per node, pre-order from "" (root)
//! ustring "/"                    end of nodes
//! ustring "BenWasHere"           the signature
//! ```
//!
//! The tree's zxid is the SNAP packet's. Writing reuses
//! `storage::snapshot::serialize_snapshot_body` (same node and session order
//! as our snapshot files). Reading is incremental ([`SnapStreamDecoder`]):
//! it consumes whole items (a session, an ACL list, a node) as their bytes
//! arrive, feeding `TreeRestore`, so a big snapshot is never held twice and
//! never re-parsed. Each item is bounded by `max_item_bytes`.

use super::reader::Reader;
use super::WireError;
use crate::core::acl::AclCache;
use crate::core::data_tree::{DataTree, TreeRestore};
use crate::storage::snapshot::{parse_stat, serialize_snapshot_body, STAT_LEN};
use bytes::{Buf, BufMut, BytesMut};
use jute::data::{Acl, Id};
use std::io::{self, Write};

/// The string that ends the stream (`LearnerHandler`).
pub const SIGNATURE: &str = "BenWasHere";
/// The path that ends the nodes.
const END_PATH: &str = "/";

/// What a learner gets from the stream.
#[derive(Debug)]
pub struct SnapStream {
    /// (session id, timeout ms), in stream order.
    pub sessions: Vec<(i64, i32)>,
    /// The tree, its last processed zxid set to the SNAP packet's zxid.
    pub tree: DataTree,
}

/// Writes the stream that follows a SNAP packet: the snapshot body, then
/// the signature.
pub fn write_snap_stream<W: Write>(
    out: &mut W,
    tree: &DataTree,
    sessions: &[(i64, i32)],
) -> io::Result<()> {
    serialize_snapshot_body(out, tree, sessions)?;
    let mut sig = BytesMut::with_capacity(4 + SIGNATURE.len());
    sig.put_i32(SIGNATURE.len() as i32);
    sig.put_slice(SIGNATURE.as_bytes());
    out.write_all(&sig)
}

enum Phase {
    SessionCount,
    Sessions { left: usize },
    AclCount,
    Acls { left: usize },
    Nodes,
    Signature,
    Done,
}

/// Reads the stream after a SNAP packet incrementally from a buffer the
/// caller keeps filling (the quorum connection's read buffer). Bytes after
/// the signature (the packets that follow: NEWLEADER, ...) are left in it.
pub struct SnapStreamDecoder {
    zxid: i64,
    extended_types_enabled: bool,
    max_item_bytes: usize,
    phase: Phase,
    sessions: Vec<(i64, i32)>,
    acls: Vec<(i64, Vec<Acl>)>,
    restore: Option<TreeRestore>,
    path: String,
}

impl SnapStreamDecoder {
    /// `zxid`: the SNAP packet's. `max_item_bytes` bounds one node (path +
    /// data) or one ACL list, as `jute.maxbuffer` does in ZooKeeper.
    pub fn new(zxid: i64, extended_types_enabled: bool, max_item_bytes: usize) -> Self {
        SnapStreamDecoder {
            zxid,
            extended_types_enabled,
            max_item_bytes,
            phase: Phase::SessionCount,
            sessions: Vec::new(),
            acls: Vec::new(),
            restore: None,
            path: String::new(),
        }
    }

    /// Consumes what it can of `buf`: `Ok(None)` until the signature has
    /// been read, then the result once (later calls fail).
    pub fn decode_from(&mut self, buf: &mut BytesMut) -> Result<Option<SnapStream>, WireError> {
        loop {
            let mut r = Reader::new(&buf[..]);
            let step = self.step(&mut r);
            match step {
                Ok(done) => {
                    let used = r.pos();
                    buf.advance(used);
                    if done {
                        return self.finish().map(Some);
                    }
                }
                Err(WireError::Truncated { .. }) => return Ok(None),
                Err(e) => return Err(e),
            }
        }
    }

    /// Parses one whole item from `r` (nothing is kept if it is cut
    /// short: the caller then leaves the buffer as it was). True when the
    /// signature has been read.
    fn step(&mut self, r: &mut Reader<'_>) -> Result<bool, WireError> {
        let max = self.max_item_bytes;
        match self.phase {
            Phase::SessionCount => {
                let n = count(r, "snapshot session count")?;
                self.sessions.reserve(n.min(1 << 16));
                self.phase = Phase::Sessions { left: n };
            }
            Phase::Sessions { left: 0 } => self.phase = Phase::AclCount,
            Phase::Sessions { left } => {
                let id = r.i64("snapshot session id")?;
                let timeout = r.i32("snapshot session timeout")?;
                self.sessions.push((id, timeout));
                self.phase = Phase::Sessions { left: left - 1 };
            }
            Phase::AclCount => {
                let n = count(r, "snapshot ACL map size")?;
                self.phase = Phase::Acls { left: n };
            }
            Phase::Acls { left: 0 } => {
                let cache = AclCache::from_snapshot(std::mem::take(&mut self.acls))
                    .map_err(WireError::Invalid)?;
                self.restore = Some(TreeRestore::new(self.extended_types_enabled, cache));
                self.phase = Phase::Nodes;
            }
            Phase::Acls { left } => {
                let start = r.pos();
                let index = r.i64("snapshot ACL index")?;
                let k = count(r, "snapshot ACL list length")?;
                let mut list = Vec::with_capacity(k.min(64));
                for _ in 0..k {
                    let perms = r.i32("an ACL's perms")?;
                    let scheme = r.string("an ACL's scheme", max)?;
                    let id = r.string("an ACL's id", max)?;
                    if r.pos() - start > max {
                        return Err(WireError::BadLength {
                            what: "snapshot ACL list",
                            len: (r.pos() - start) as i64,
                            max,
                        });
                    }
                    list.push(Acl {
                        perms,
                        id: Id { scheme, id },
                    });
                }
                self.acls.push((index, list));
                self.phase = Phase::Acls { left: left - 1 };
            }
            Phase::Nodes => {
                let plen = r.len("snapshot node path", max)?.unwrap_or(0);
                let path = r.take(plen, "snapshot node path")?;
                if path == END_PATH.as_bytes() {
                    self.phase = Phase::Signature;
                    return Ok(false);
                }
                let data = r.buffer("snapshot node data", max.saturating_sub(plen))?;
                let acl = r.i64("snapshot node acl")?;
                let stat = parse_stat(r.take(STAT_LEN, "snapshot node stat")?);
                self.path.clear();
                self.path.push_str(&String::from_utf8_lossy(path));
                let restore = self.restore.as_mut().expect("set when the ACL map ended");
                restore
                    .add_node(&self.path, data, acl, stat)
                    .map_err(|why| {
                        WireError::Invalid(format!("snapshot node {:?}: {why}", self.path))
                    })?;
            }
            Phase::Signature => {
                let sig = r.string("snapshot signature", max)?;
                if sig != SIGNATURE {
                    return Err(WireError::Invalid(format!(
                        "snapshot signature {sig:?}, expected {SIGNATURE:?}"
                    )));
                }
                self.phase = Phase::Done;
                return Ok(true);
            }
            Phase::Done => {
                return Err(WireError::Invalid("snapshot stream already read".into()));
            }
        }
        Ok(false)
    }

    fn finish(&mut self) -> Result<SnapStream, WireError> {
        let restore = self
            .restore
            .take()
            .ok_or_else(|| WireError::Invalid("snapshot stream without nodes".into()))?;
        let tree = restore.finish(self.zxid).map_err(WireError::Invalid)?;
        Ok(SnapStream {
            sessions: std::mem::take(&mut self.sessions),
            tree,
        })
    }
}

/// A count that is non-negative (a count is not a length: −1 is invalid).
/// It is not bounded by the bytes present, as the stream is still arriving;
/// each element is read only when its bytes are there.
fn count(r: &mut Reader<'_>, what: &'static str) -> Result<usize, WireError> {
    let n = r.i32(what)?;
    if n < 0 {
        return Err(WireError::BadLength {
            what,
            len: i64::from(n),
            max: i32::MAX as usize,
        });
    }
    Ok(n as usize)
}

impl tokio_util::codec::Decoder for SnapStreamDecoder {
    type Item = SnapStream;
    type Error = io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<SnapStream>, io::Error> {
        Ok(self.decode_from(src)?)
    }
}

#[cfg(test)]
#[path = "snap_stream_tests.rs"]
mod tests;
