//! Snapshots taken while the server keeps writing: ZooKeeper's "fuzzy"
//! snapshot, cut into small steps the single writer interleaves with its
//! requests, and a thread that puts the bytes on disk.
//!
//! How it works (ARCHITECTURE.md, decision 11):
//! - [`SnapshotWalk::start`] records the last applied zxid (the file's name)
//!   and the sessions as they are at that moment.
//! - [`SnapshotWalk::step`] serializes the next few hundred nodes, depth
//!   first from the root, each node's children copied when the node itself
//!   is written (as ZooKeeper's `serializeNode` copies them under the node's
//!   lock). Between steps the runner applies txns, so a node written late
//!   shows later changes than one written early: the file is fuzzy, exactly
//!   like ZooKeeper's, and made exact on load by replaying the txn log from
//!   the snapshot's zxid (replay tolerates nodes that already exist or are
//!   already gone, as ZooKeeper's does).
//! - The ACL map comes before the nodes in the format, but nodes written
//!   late may use ACL lists created after the walk began. So the walk
//!   remembers every ACL index it writes (indexes are never reused), the
//!   [`SnapshotWriter`] thread spools the node bytes to a side file, and only
//!   at the end writes the real file: header, sessions, the ACL map of every
//!   index the nodes use, the spooled nodes, the seals. The file is written
//!   under a temporary name and renamed into place, so a `snapshot.*` file is
//!   always complete.
//!
//! Invariants:
//! - Every node is written after its parent (pre-order), at most once.
//! - Every ACL index a written node carries is in the file's ACL map.
//! - The walk never blocks the runner: a step is bounded by
//!   [`STEP_BYTES`]/[`STEP_NODES`], and the writer's queue is bounded, the
//!   runner only steps when it has room.
//! - A failed snapshot leaves no `snapshot.*` file behind and loses nothing:
//!   every txn since the previous snapshot is still in the log.

use super::snapshot::{put_node, snapshot_file_name, write_snapshot_with, SealedWriter};
use crate::core::acl::OPEN_UNSAFE_ACL_ID;
use crate::core::data_tree::{DataTree, PreorderCursor};
use bytes::{Bytes, BytesMut};
use jute::data::Acl;
use std::collections::HashMap;
use std::fs::{self, File};
use std::io::{self, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Instant;
use tokio::sync::mpsc;

/// A step stops once it has serialized this many bytes...
pub const STEP_BYTES: usize = 64 * 1024;
/// ... or this many nodes, whichever comes first.
pub const STEP_NODES: usize = 512;
/// Chunks queued for the writer thread (each about [`STEP_BYTES`]).
pub const WRITER_QUEUE_CHUNKS: usize = 32;

/// A snapshot being serialized, a few nodes at a time.
#[derive(Debug)]
pub struct SnapshotWalk {
    zxid: i64,
    sessions: Vec<(i64, i32)>,
    /// Where the pre-order walk is.
    cursor: PreorderCursor,
    /// Every ACL index written so far, with its list as it was then.
    acls: HashMap<i64, Arc<[Acl]>>,
    nodes: u64,
    started: Instant,
}

/// What the writer needs once every node has been written.
#[derive(Debug)]
pub struct SnapshotHead {
    pub zxid: i64,
    pub sessions: Vec<(i64, i32)>,
    pub acls: Vec<(i64, Arc<[Acl]>)>,
    pub nodes: u64,
    pub started: Instant,
    /// The tree digest when the last node was written (ZooKeeper reads
    /// `lastProcessedZxidDigest` then): set by the caller of `finish`, who
    /// holds the tree; `None` writes the empty digest.
    pub digest: Option<super::snapshot::SnapshotDigest>,
}

impl SnapshotWalk {
    /// Begins a snapshot of `tree` as of its last applied zxid, with these
    /// sessions (id, timeout ms).
    pub fn start(tree: &DataTree, sessions: Vec<(i64, i32)>) -> SnapshotWalk {
        SnapshotWalk {
            zxid: tree.last_processed_zxid,
            sessions,
            cursor: PreorderCursor::new(),
            acls: HashMap::new(),
            nodes: 0,
            started: Instant::now(),
        }
    }

    /// The zxid the snapshot is named after.
    pub fn zxid(&self) -> i64 {
        self.zxid
    }

    /// Whether every node has been written.
    pub fn is_done(&self) -> bool {
        self.cursor.is_done()
    }

    /// Serializes the next nodes of `tree` (at most [`STEP_NODES`], stopping
    /// after [`STEP_BYTES`]). Nodes deleted since their parent was written
    /// are skipped; children are listed in `HashSet` iteration order.
    pub fn step(&mut self, tree: &DataTree) -> Bytes {
        self.step_nodes(tree, STEP_NODES)
    }

    /// [`step`](Self::step) with another node bound (tests take tiny steps).
    pub fn step_nodes(&mut self, tree: &DataTree, max_nodes: usize) -> Bytes {
        let mut buf = BytesMut::with_capacity(STEP_BYTES + 1024);
        let mut count = 0;
        // Neighbouring nodes mostly share one ACL list: the map is only
        // consulted when the index changes.
        let mut last_acl = OPEN_UNSAFE_ACL_ID;
        while count < max_nodes && buf.len() < STEP_BYTES {
            let Some((path, node)) = tree.next_preorder(&mut self.cursor) else {
                break;
            };
            put_node(&mut buf, path, node);
            if node.acl != OPEN_UNSAFE_ACL_ID && node.acl != last_acl {
                last_acl = node.acl;
                self.acls
                    .entry(node.acl)
                    .or_insert_with(|| tree.acl_cache.get(node.acl));
            }
            count += 1;
        }
        self.nodes += count as u64;
        buf.freeze()
    }

    /// Ends the walk: what the writer puts before the nodes.
    pub fn finish(self) -> SnapshotHead {
        let mut acls: Vec<(i64, Arc<[Acl]>)> = self.acls.into_iter().collect();
        acls.sort_by_key(|e| e.0);
        SnapshotHead {
            zxid: self.zxid,
            sessions: self.sessions,
            acls,
            nodes: self.nodes,
            started: self.started,
            digest: None,
        }
    }
}

/// What the runner sends the writer thread.
#[derive(Debug)]
pub enum SnapshotChunk {
    /// Serialized nodes, in order.
    Nodes(Bytes),
    /// Every node has been sent: write the file.
    Finish(SnapshotHead),
}

/// The thread that puts one fuzzy snapshot on disk.
#[derive(Debug)]
pub struct SnapshotWriter {
    pub tx: mpsc::Sender<SnapshotChunk>,
    thread: JoinHandle<()>,
}

impl SnapshotWriter {
    /// Starts a writer for `snapshot.<zxid>` in `dir`. It logs the outcome;
    /// a failure removes its temporary files and leaves the directory as it
    /// was (the txn log still holds everything).
    pub fn spawn(dir: PathBuf, zxid: i64) -> io::Result<SnapshotWriter> {
        let (tx, rx) = mpsc::channel(WRITER_QUEUE_CHUNKS);
        let thread = std::thread::Builder::new()
            .name("Snapshot Thread".to_string())
            .spawn(move || {
                match write(&dir, zxid, rx) {
                    Ok(Some((path, head, size))) => {
                        crate::metrics::server()
                            .snapshottime
                            .observe(head.started.elapsed().as_millis() as u64);
                        tracing::info!(
                            "snapshot taken: {} ({} znodes, {} sessions, {size} bytes) in {} ms",
                            path.display(),
                            head.nodes,
                            head.sessions.len(),
                            head.started.elapsed().as_millis()
                        )
                    }
                    // The runner went away mid-walk (shutdown): nothing to keep.
                    Ok(None) => {}
                    Err(e) => tracing::error!(
                        "snapshot 0x{zxid:x} in {} failed: {e}; the txn log still holds \
                         every txn since the previous snapshot",
                        dir.display()
                    ),
                }
            })?;
        Ok(SnapshotWriter { tx, thread })
    }

    /// Whether the thread has finished (written, failed or abandoned).
    pub fn is_finished(&self) -> bool {
        self.thread.is_finished()
    }
}

/// The side file node bytes are spooled to: `tmp.snapshot.<hex>.nodes`.
fn spool_path(dir: &Path, zxid: i64) -> PathBuf {
    dir.join(format!("tmp.{}.nodes", snapshot_file_name(zxid)))
}

type Written = Option<(PathBuf, SnapshotHead, u64)>;

fn write(dir: &Path, zxid: i64, mut rx: mpsc::Receiver<SnapshotChunk>) -> io::Result<Written> {
    fs::create_dir_all(dir)?;
    let spool = spool_path(dir, zxid);
    let result = (|| {
        let mut nodes = BufWriter::with_capacity(256 * 1024, File::create(&spool)?);
        let head = loop {
            match rx.blocking_recv() {
                Some(SnapshotChunk::Nodes(bytes)) => nodes.write_all(&bytes)?,
                Some(SnapshotChunk::Finish(head)) => break head,
                None => return Ok(None),
            }
        };
        nodes.flush()?;
        drop(nodes);
        let path = write_snapshot_with(dir, zxid, |out| {
            let mut w = SealedWriter::new(out);
            let acls = head.acls.iter().map(|(i, l)| (*i, &l[..])).collect();
            w.write_head(&head.sessions, acls)?;
            let mut spooled = BufReader::with_capacity(256 * 1024, File::open(&spool)?);
            let mut buf = vec![0u8; 256 * 1024];
            loop {
                let n = spooled.read(&mut buf)?;
                if n == 0 {
                    break;
                }
                w.write_raw(&buf[..n])?;
            }
            w.write_tail(head.digest).map(|_| ())
        })?;
        let size = fs::metadata(&path).map(|m| m.len()).unwrap_or(0);
        Ok(Some((path, head, size)))
    })();
    let _ = fs::remove_file(&spool);
    result
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::txn::{Txn, TxnBody};
    use jute::data::Id;
    use jute::txn::{CreateTxn, SetAclTxn, TxnHeader};
    use jute::OpCode;

    fn txn(zxid: i64, type_: OpCode, body: TxnBody) -> Txn {
        Txn {
            header: TxnHeader {
                client_id: 1,
                cxid: 1,
                zxid,
                time: 1,
                type_: type_.code(),
            },
            body,
        }
    }

    /// A node written after an ACL list was created mid-walk carries an
    /// index the ACL map at the walk's start did not have: the file must
    /// still hold it (the map is written last, from what the nodes used).
    #[test]
    fn acl_lists_created_during_the_walk_are_in_the_file() {
        let mut tree = DataTree::new(true);
        let mut triggers = Vec::new();
        for (zxid, path) in [(1, "/a"), (2, "/b")] {
            let body = TxnBody::Create(CreateTxn {
                path: path.into(),
                data: None,
                acl: Acl::open_unsafe(),
                ephemeral: false,
                parent_c_version: -1,
            });
            tree.apply(&txn(zxid, OpCode::Create, body), &mut triggers);
        }
        let mut walk = SnapshotWalk::start(&tree, Vec::new());
        let first = walk.step_nodes(&tree, 1); // the root only
        let fresh = vec![Acl {
            perms: 1,
            id: Id {
                scheme: "digest".into(),
                id: "u:x".into(),
            },
        }];
        let mut chunks = vec![first];
        for path in ["/a", "/b"] {
            let set = TxnBody::SetAcl(SetAclTxn {
                path: path.into(),
                acl: fresh.clone(),
                version: 1,
            });
            tree.apply(&txn(3, OpCode::SetAcl, set), &mut triggers);
        }
        while !walk.is_done() {
            chunks.push(walk.step(&tree));
        }
        let dir = std::env::temp_dir().join(format!("zk-fuzzy-acl-{}", std::process::id()));
        let _ = fs::remove_dir_all(&dir);
        let writer = SnapshotWriter::spawn(dir.clone(), walk.zxid()).expect("writer");
        for c in chunks {
            writer
                .tx
                .blocking_send(SnapshotChunk::Nodes(c))
                .expect("send");
        }
        let zxid = walk.zxid();
        writer
            .tx
            .blocking_send(SnapshotChunk::Finish(walk.finish()))
            .expect("send");
        while !writer.is_finished() {
            std::thread::sleep(std::time::Duration::from_millis(2));
        }
        let file = dir.join(snapshot_file_name(zxid));
        let snap = super::super::snapshot::read_snapshot(&file, true).expect("readable");
        for path in ["/a", "/b"] {
            let node = snap.tree.get(path).expect("node");
            assert_eq!(&snap.tree.acl_of(node)[..], &fresh[..], "{path}");
        }
        let _ = fs::remove_dir_all(&dir);
    }

    /// The ACL map holds every list the walked nodes use, once, however
    /// their indexes alternate from node to node, and never the reserved
    /// index of `OPEN_ACL_UNSAFE` (which needs no entry).
    #[test]
    fn the_acl_map_holds_each_list_the_nodes_use() {
        let mut tree = DataTree::new(true);
        let mut triggers = Vec::new();
        let digest = |user: &str| {
            vec![Acl {
                perms: 31,
                id: Id {
                    scheme: "digest".into(),
                    id: format!("{user}:x"),
                },
            }]
        };
        let lists = [digest("u"), digest("v"), Acl::open_unsafe()];
        // Enough names that some precede `zookeeper` (whose nodes have the
        // reserved index) in the root's child order.
        for i in 0..40 {
            let body = TxnBody::Create(CreateTxn {
                path: format!("/n{i}"),
                data: None,
                acl: lists[i % 3].clone(),
                ephemeral: false,
                parent_c_version: -1,
            });
            tree.apply(&txn(i as i64 + 1, OpCode::Create, body), &mut triggers);
        }
        let mut walk = SnapshotWalk::start(&tree, Vec::new());
        while !walk.is_done() {
            walk.step_nodes(&tree, 1000);
        }
        let mut used: Vec<i64> = tree
            .paths()
            .iter()
            .map(|p| tree.get(p).expect("node").acl)
            .filter(|&i| i != OPEN_UNSAFE_ACL_ID)
            .collect();
        used.sort_unstable();
        used.dedup();
        let head = walk.finish();
        let indexes: Vec<i64> = head.acls.iter().map(|(i, _)| *i).collect();
        assert_eq!(indexes, used);
        for (i, acl) in &head.acls {
            assert_eq!(&tree.acl_cache.get(*i)[..], &acl[..]);
        }
    }
}
