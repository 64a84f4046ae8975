//! Snapshots, in ZooKeeper 3.8's `FileSnap` format, byte for byte.
//!
//! A snapshot directory (`<dataDir>/version-2`) holds files named
//! `snapshot.<zxid, lowercase hex>`: the tree and sessions as of that zxid
//! (the last txn applied). Each file is one stream, big-endian:
//!
//! ```text
//! FileHeader   int magic "ZKSN" (0x5A4B534E), int version 2, long dbid -1
//! sessions     int count, then {long id; int timeout} x count
//! ACL map      int count, then {long index; vector<ACL>} x count
//! nodes        {ustring path; buffer data; long acl; StatPersisted} per node,
//!              depth-first pre-order from the root (whose path is ""), each
//!              node's children in Java HashSet iteration order;
//!              then the path "/" as end marker
//! seal         long Adler-32 of every byte before it; ustring "/"
//! digest       (3.6+) ZxidDigest{long zxid; int version 2; long digest}; seal
//! [last zxid]  (3.9, when enabled) long lastProcessedZxid; seal
//! ```
//!
//! The Adler-32 runs over the whole stream (ZooKeeper wraps the file in a
//! `CheckedOutputStream`), so each seal covers everything before it,
//! earlier seals included. Sessions and ACL entries come in the iteration
//! order of the Java `HashMap` ZooKeeper copies them into.
//!
//! Writing: we write the *empty* digest ZooKeeper writes before it has
//! computed one (zxid 0, version 2, digest 0): its reader then skips digest
//! checks ("The digest value is empty in snapshot") instead of warning about
//! a missing section. A file is written under a temporary name
//! (`tmp.snapshot.<hex>`, which ZooKeeper's file scans ignore), fsynced,
//! renamed into place and the directory fsynced, so a `snapshot.*` file is
//! always complete.
//!
//! Reading: everything is checked — magic, version, every length against the
//! bytes left, tree structure (parents first, no duplicates, known ACL
//! indexes), each seal's checksum — and any failure is
//! [`StorageError::Corrupt`] naming the file and the byte offset. The digest
//! and last-zxid sections are optional; their seals are verified, the digest
//! value itself is reported but not recomputed (in a fuzzy snapshot it need
//! not match the nodes written before it). Compressed snapshots
//! (`snapshot.<hex>.gz` / `.snappy`, `zookeeper.snapshot.compression.method`)
//! are not supported: they are skipped with a warning.
//!
//! Loading rebuilds the tree as ZooKeeper's `DataTree.deserialize` does (see
//! [`TreeRestore`]): child sets in file order, ephemeral/container/TTL and
//! quota indexes, the ACL cache with the stored indexes and recounted
//! references, quota stat nodes recounted.

use super::txn_log::StorageError;
use crate::core::acl::AclCache;
use crate::core::data_tree::{DataTree, Node, TreeRestore};
use bytes::{BufMut, BytesMut};
use jute::data::{Acl, Id, StatPersisted};
use jute::persistence::{FileHeader, SNAP_MAGIC};
use jute::Record;
use std::fs::{self, File};
use std::io::{self, BufWriter, Read, Write};
use std::path::{Path, PathBuf};

/// The snapshot format version in the file header.
pub const SNAP_VERSION: i32 = 2;
/// The dbid ZooKeeper's `FileSnap` writes (always −1).
pub const SNAP_DBID: i64 = -1;
/// `DigestCalculator.DIGEST_VERSION` in ZooKeeper 3.6–3.9.
pub const DIGEST_VERSION: i32 = 2;
/// Length of the file header.
pub const FILE_HEADER_LEN: u64 = 16;
/// The end-of-nodes marker and the path of every seal.
const END_PATH: &str = "/";
/// A seal: `long checksum` + `ustring "/"`.
const SEAL_LEN: u64 = 8 + 4 + 1;
/// A `ZxidDigest`: `long zxid; int version; long digest`.
const DIGEST_LEN: u64 = 8 + 4 + 8;
/// A `StatPersisted`: 4 longs, 3 ints, 2 longs.
pub(crate) const STAT_LEN: usize = 60;
/// Prefix of the temporary name a snapshot is written under.
const TEMP_PREFIX: &str = "tmp.";
/// Nodes read before the tree is sized for the rest of the file.
const RESERVE_AFTER_NODES: u64 = 1024;
/// Bytes staged before they go to the file (and the checksum).
const STAGE_BYTES: usize = 256 * 1024;

/// The file name of the snapshot as of `zxid`: `snapshot.<hex>`.
pub fn snapshot_file_name(zxid: i64) -> String {
    format!("snapshot.{zxid:x}")
}

/// The zxid in an (uncompressed) snapshot file name, or `None` for any other name.
pub fn zxid_of_snapshot_file_name(name: &str) -> Option<i64> {
    let hex = name.strip_prefix("snapshot.")?;
    if hex.is_empty() || hex.len() > 16 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(hex, 16).ok().map(|z| z as i64)
}

/// Whether a name is a compressed ZooKeeper snapshot (`snapshot.<hex>.gz` or
/// `.snappy`), which we cannot read.
fn is_compressed_snapshot_name(name: &str) -> bool {
    [".gz", ".snappy"].iter().any(|ext| {
        name.strip_suffix(ext)
            .is_some_and(|base| zxid_of_snapshot_file_name(base).is_some())
    })
}

/// Snapshot files as (zxid, path).
type SnapshotList = Vec<(i64, PathBuf)>;

/// Snapshot files of `dir` and the compressed ones we cannot read.
fn scan(dir: &Path) -> io::Result<(SnapshotList, Vec<PathBuf>)> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Default::default()),
        Err(e) => return Err(e),
    };
    let mut files = Vec::new();
    let mut compressed = Vec::new();
    for entry in entries {
        let entry = entry?;
        let name = entry.file_name();
        let Some(name) = name.to_str() else { continue };
        if !entry.file_type()?.is_file() {
            continue;
        }
        if let Some(zxid) = zxid_of_snapshot_file_name(name) {
            files.push((zxid, entry.path()));
        } else if is_compressed_snapshot_name(name) {
            compressed.push(entry.path());
        }
    }
    files.sort();
    compressed.sort();
    Ok((files, compressed))
}

/// The snapshot files of `dir` as (zxid, path), sorted by zxid. A missing
/// directory has none. Compressed snapshots are not listed.
pub fn snapshot_files(dir: &Path) -> io::Result<Vec<(i64, PathBuf)>> {
    Ok(scan(dir)?.0)
}

/// Removes what an interrupted snapshot left in `dir`: files named
/// `tmp.snapshot.*` (the file being written, and the node spool of a fuzzy
/// snapshot). Only a crash leaves them; nothing reads them. Returns the
/// files removed.
pub fn remove_stale_temp_files(dir: &Path) -> io::Result<Vec<PathBuf>> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut removed = Vec::new();
    for entry in entries {
        let entry = entry?;
        let stale = entry
            .file_name()
            .to_str()
            .is_some_and(|n| n.starts_with(&format!("{TEMP_PREFIX}snapshot.")));
        if stale && entry.file_type()?.is_file() {
            fs::remove_file(entry.path())?;
            removed.push(entry.path());
        }
    }
    Ok(removed)
}

/// A snapshot read back.
#[derive(Debug)]
pub struct SnapshotData {
    /// The zxid in the file name: the last txn the tree reflects.
    pub zxid: i64,
    /// Sessions as (id, timeout in ms), in file order.
    pub sessions: Vec<(i64, i32)>,
    /// The tree, its `last_processed_zxid` set to `zxid`.
    pub tree: DataTree,
    /// The `ZxidDigest` section, if the file has one (zxid 0 means "empty":
    /// ZooKeeper wrote it before it had a digest, and ignores it).
    pub digest: Option<SnapshotDigest>,
    /// The `lastProcessedZxid` section ZooKeeper 3.9 can append, if present.
    pub last_processed_zxid: Option<i64>,
}

/// ZooKeeper's `ZxidDigest`: the tree digest as of a zxid.
pub type SnapshotDigest = crate::core::digest::ZxidDigest;

// ---- writing ----

/// `Long.hashCode`.
pub(crate) fn long_hash(v: i64) -> u32 {
    (v ^ ((v as u64 >> 32) as i64)) as u32
}

/// `HashMap.tableSizeFor`: the smallest power of two ≥ `n` (at least 1).
fn table_size_for(n: usize) -> usize {
    n.max(1).next_power_of_two()
}

/// Orders `Long`-keyed entries (given in the source map's insertion order)
/// as `new HashMap<>(source)` iterates them: by bucket of the spread hash in
/// the copy's table (`tableSizeFor(n / 0.75 + 1)`); entries sharing a bucket
/// in the order the source iterates them, which is its own bucket order
/// (table size estimated from its default growth: its size history is
/// unknown) and then insertion order. ZooKeeper copies the session table
/// (a `ConcurrentHashMap`) and the ACL map (a `HashMap`) this way before
/// writing them.
fn java_long_map_order<T>(
    mut items: Vec<T>,
    key: impl Fn(&T) -> i64,
    source_concurrent: bool,
) -> Vec<T> {
    let n = items.len();
    let copy_mask = table_size_for((n as f32 / 0.75f32 + 1.0f32) as usize) as u32 - 1;
    let mut source_cap = 16usize;
    // A HashMap grows when its size exceeds 0.75 × capacity, a
    // ConcurrentHashMap when its size reaches it.
    while n * 4 > source_cap * 3 || (source_concurrent && n * 4 == source_cap * 3) {
        source_cap *= 2;
    }
    let source_mask = source_cap as u32 - 1;
    items.sort_by_key(|x| {
        let h = long_hash(key(x));
        let spread = h ^ (h >> 16);
        let source_spread = if source_concurrent {
            spread & 0x7fff_ffff
        } else {
            spread
        };
        (spread & copy_mask, source_spread & source_mask)
    });
    items
}

/// Writes through to `out`, keeping the running Adler-32 of everything written.
pub(crate) struct SealedWriter<'a, W: Write> {
    out: &'a mut W,
    adler: adler2::Adler32,
    stage: BytesMut,
}

impl<'a, W: Write> SealedWriter<'a, W> {
    pub(crate) fn new(out: &'a mut W) -> Self {
        SealedWriter {
            out,
            adler: adler2::Adler32::new(),
            stage: BytesMut::with_capacity(STAGE_BYTES + 64 * 1024),
        }
    }

    fn flush_stage(&mut self) -> io::Result<()> {
        self.adler.write_slice(&self.stage);
        self.out.write_all(&self.stage)?;
        self.stage.clear();
        Ok(())
    }

    fn maybe_flush(&mut self) -> io::Result<()> {
        if self.stage.len() >= STAGE_BYTES {
            self.flush_stage()?;
        }
        Ok(())
    }

    /// Writes bytes already serialized (nodes, as [`put_node`] lays them out).
    pub(crate) fn write_raw(&mut self, bytes: &[u8]) -> io::Result<()> {
        self.flush_stage()?;
        self.adler.write_slice(bytes);
        self.out.write_all(bytes)
    }

    /// Appends the checksum of everything so far and the path "/".
    fn seal(&mut self) -> io::Result<()> {
        self.flush_stage()?;
        let sum = i64::from(self.adler.checksum());
        sum.write(&mut self.stage);
        END_PATH.to_string().write(&mut self.stage);
        self.flush_stage()
    }

    /// The file header, the sessions and the ACL map: everything before the
    /// nodes. `acls` are (index, list) pairs, any order.
    pub(crate) fn write_head(
        &mut self,
        sessions: &[(i64, i32)],
        acls: Vec<(i64, &[Acl])>,
    ) -> io::Result<()> {
        FileHeader {
            magic: SNAP_MAGIC,
            version: SNAP_VERSION,
            dbid: SNAP_DBID,
        }
        .write(&mut self.stage);
        self.write_sessions_and_acls(sessions, acls)
    }

    /// The sessions and the ACL map (`SerializeUtils.serializeSnapshot`'s
    /// sessions, then `DataTree.serializeAcls`).
    fn write_sessions_and_acls(
        &mut self,
        sessions: &[(i64, i32)],
        acls: Vec<(i64, &[Acl])>,
    ) -> io::Result<()> {
        let mut by_id = sessions.to_vec();
        by_id.sort();
        let ordered = java_long_map_order(by_id, |s| s.0, true);
        self.stage.put_i32(ordered.len() as i32);
        for (id, timeout) in ordered {
            self.stage.put_i64(id);
            self.stage.put_i32(timeout);
            self.maybe_flush()?;
        }

        let mut acls = acls;
        acls.sort_by_key(|e| e.0);
        let entries = java_long_map_order(acls, |e| e.0, false);
        self.stage.put_i32(entries.len() as i32);
        for (index, list) in entries {
            self.stage.put_i64(index);
            self.stage.put_i32(list.len() as i32);
            for acl in list {
                acl.write(&mut self.stage);
            }
            self.maybe_flush()?;
        }
        Ok(())
    }

    /// Everything after the nodes: the end marker, the seal, the digest
    /// (ZooKeeper's `lastProcessedZxidDigest`: the tree digest after the last
    /// txn applied since start-up; without one, the empty digest ZooKeeper
    /// writes then, which readers skip), its seal. Returns the final
    /// Adler-32 value.
    pub(crate) fn write_tail(&mut self, digest: Option<SnapshotDigest>) -> io::Result<u32> {
        put_string(&mut self.stage, END_PATH);
        self.seal()?;
        let d = digest.unwrap_or(SnapshotDigest {
            zxid: 0,
            version: DIGEST_VERSION,
            digest: 0,
        });
        self.stage.put_i64(d.zxid);
        self.stage.put_i32(d.version);
        self.stage.put_i64(d.digest);
        self.seal()?;
        Ok(self.adler.checksum())
    }
}

fn put_string(buf: &mut BytesMut, s: &str) {
    buf.put_i32(s.len() as i32);
    buf.put_slice(s.as_bytes());
}

/// One node as a snapshot stores it: path, data, ACL index, `StatPersisted`.
pub(crate) fn put_node(buf: &mut BytesMut, path: &str, node: &Node) {
    put_string(buf, path);
    match node.data() {
        None => buf.put_i32(-1),
        Some(d) => {
            buf.put_i32(d.len() as i32);
            buf.put_slice(d);
        }
    }
    buf.put_i64(node.acl);
    node.stat().write(buf);
}

/// The tree's ACL map as the snapshot lists it (index, ACL list).
fn acl_map(tree: &DataTree) -> Vec<(i64, &[Acl])> {
    tree.acl_cache
        .entries()
        .into_iter()
        .map(|(index, list, _)| (index, list))
        .collect()
}

/// Every node in pre-order, flushed as the stage fills.
fn write_nodes<W: Write>(w: &mut SealedWriter<W>, tree: &DataTree) -> io::Result<()> {
    tree.try_for_each_node_preorder(|path, node| {
        put_node(&mut w.stage, path, node);
        w.maybe_flush()
    })
}

/// Writes a complete snapshot of `tree` and `sessions` to `out`: header,
/// sessions, ACL map, nodes, seal, digest, seal. Session ids should be
/// distinct. Returns the final Adler-32 value (ZooKeeper logs it).
pub fn serialize_snapshot<W: Write>(
    out: &mut W,
    tree: &DataTree,
    sessions: &[(i64, i32)],
) -> io::Result<u32> {
    let mut w = SealedWriter::new(out);
    w.write_head(sessions, acl_map(tree))?;
    write_nodes(&mut w, tree)?;
    w.write_tail(tree.digest().last())
}

/// Writes what ZooKeeper's `ZKDatabase.serializeSnapshot` writes on a
/// learner's stream after a SNAP packet: the file format's sessions, ACL map
/// and nodes up to the `"/"` end marker — no file header, no seals, no
/// digest (see `quorum::wire::snap_stream`).
pub fn serialize_snapshot_body<W: Write>(
    out: &mut W,
    tree: &DataTree,
    sessions: &[(i64, i32)],
) -> io::Result<()> {
    let mut w = SealedWriter::new(out);
    w.write_sessions_and_acls(sessions, acl_map(tree))?;
    write_nodes(&mut w, tree)?;
    put_string(&mut w.stage, END_PATH);
    w.flush_stage()
}

fn with_path(path: &Path, e: io::Error) -> io::Error {
    io::Error::new(e.kind(), format!("{}: {e}", path.display()))
}

/// Writes `snapshot.<zxid>` unless the directory already has one for that
/// zxid, as ZooKeeper does once its database is loaded: the data directory
/// always holds a snapshot of what it replays, so Apache ZooKeeper (which
/// refuses txn logs without a snapshot) can start on it too. Returns the
/// file written, if any.
pub fn ensure_snapshot(
    dir: &Path,
    zxid: i64,
    tree: &DataTree,
    sessions: &[(i64, i32)],
) -> io::Result<Option<PathBuf>> {
    if snapshot_files(dir)?.iter().any(|(z, _)| *z == zxid) {
        return Ok(None);
    }
    write_snapshot(dir, zxid, tree, sessions).map(Some)
}

/// Writes `snapshot.<hex zxid>` in `dir` (the version-2 dir, created if
/// missing) atomically: to `tmp.snapshot.<hex>` in the same dir, fsync,
/// rename over the final name, fsync the dir. Returns the file's path. On
/// failure the temporary file is removed and no snapshot file changes.
pub fn write_snapshot(
    dir: &Path,
    zxid: i64,
    tree: &DataTree,
    sessions: &[(i64, i32)],
) -> io::Result<PathBuf> {
    write_snapshot_with(dir, zxid, |out| {
        serialize_snapshot(out, tree, sessions).map(|_| ())
    })
}

/// The atomic part of [`write_snapshot`]: `fill` writes the whole stream to
/// the temporary file, which is then fsynced and renamed into place.
pub(crate) fn write_snapshot_with(
    dir: &Path,
    zxid: i64,
    fill: impl FnOnce(&mut BufWriter<File>) -> io::Result<()>,
) -> io::Result<PathBuf> {
    fs::create_dir_all(dir).map_err(|e| with_path(dir, e))?;
    let name = snapshot_file_name(zxid);
    let path = dir.join(&name);
    let tmp = dir.join(format!("{TEMP_PREFIX}{name}"));
    let written = (|| {
        let file = File::create(&tmp)?;
        let mut out = BufWriter::with_capacity(STAGE_BYTES, file);
        fill(&mut out)?;
        let file = out.into_inner().map_err(|e| e.into_error())?;
        file.sync_all()
    })();
    if let Err(e) = written {
        let _ = fs::remove_file(&tmp);
        return Err(with_path(&tmp, e));
    }
    if let Err(e) = fs::rename(&tmp, &path) {
        let _ = fs::remove_file(&tmp);
        return Err(with_path(&path, e));
    }
    File::open(dir)
        .and_then(|d| d.sync_all())
        .map_err(|e| with_path(dir, e))?;
    Ok(path)
}

// ---- reading ----

/// Bytes the reader asks the file for at a time.
const READ_BYTES: usize = 1024 * 1024;

/// A `StatPersisted` from its 60 bytes.
pub(crate) fn parse_stat(b: &[u8]) -> StatPersisted {
    let l = |i: usize| i64::from_be_bytes(b[i..i + 8].try_into().expect("8 bytes"));
    let n = |i: usize| i32::from_be_bytes(b[i..i + 4].try_into().expect("4 bytes"));
    StatPersisted {
        czxid: l(0),
        mzxid: l(8),
        ctime: l(16),
        mtime: l(24),
        version: n(32),
        cversion: n(36),
        aversion: n(40),
        ephemeral_owner: l(44),
        pzxid: l(52),
    }
}

/// Reads a snapshot stream from its own buffer (fields are parsed in place,
/// not copied out one by one), tracking the offset and the running Adler-32,
/// which is brought up to date a buffer at a time rather than per field.
struct SnapReader {
    file: File,
    path: PathBuf,
    /// `buf[pos..end]` is read and not yet parsed; `buf[..summed]` is
    /// already in `adler` (`summed <= pos`).
    buf: Vec<u8>,
    pos: usize,
    end: usize,
    summed: usize,
    /// The file offset of `buf[pos]`.
    offset: u64,
    len: u64,
    adler: adler2::Adler32,
}

impl SnapReader {
    fn new(file: File, path: &Path, len: u64) -> SnapReader {
        SnapReader {
            file,
            path: path.to_path_buf(),
            buf: vec![0; READ_BYTES],
            pos: 0,
            end: 0,
            summed: 0,
            offset: 0,
            len,
            adler: adler2::Adler32::new(),
        }
    }

    fn corrupt(&self, offset: u64, why: impl Into<String>) -> StorageError {
        StorageError::Corrupt {
            file: self.path.clone(),
            offset,
            why: why.into(),
        }
    }

    fn remaining(&self) -> u64 {
        self.len.saturating_sub(self.offset)
    }

    /// The Adler-32 of every byte parsed so far.
    fn checksum(&mut self) -> u32 {
        self.adler.write_slice(&self.buf[self.summed..self.pos]);
        self.summed = self.pos;
        self.adler.checksum()
    }

    /// Makes `n` bytes (no more than the file has left) available at `pos`.
    fn fill(&mut self, n: usize, what: &str) -> Result<(), StorageError> {
        if self.end - self.pos >= n {
            return Ok(());
        }
        self.adler.write_slice(&self.buf[self.summed..self.pos]);
        self.buf.copy_within(self.pos..self.end, 0);
        self.end -= self.pos;
        self.pos = 0;
        self.summed = 0;
        if self.buf.len() < n {
            // A field larger than the buffer (its length was checked
            // against the file's size, so this is bounded by the file).
            self.buf.resize(n, 0);
        }
        while self.end < n {
            let got = match self.file.read(&mut self.buf[self.end..]) {
                Ok(0) => return Err(self.corrupt(self.offset, format!("truncated: EOF in {what}"))),
                Ok(k) => k,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                Err(e) => {
                    return Err(StorageError::Io(io::Error::new(
                        e.kind(),
                        format!("{} at offset {}: {e}", self.path.display(), self.offset),
                    )))
                }
            };
            self.end += got;
        }
        Ok(())
    }

    /// The next `n` bytes, in place.
    fn take(&mut self, n: usize, what: &str) -> Result<&[u8], StorageError> {
        if (n as u64) > self.remaining() {
            return Err(self.corrupt(
                self.offset,
                format!(
                    "truncated: {what} needs {n} bytes, {} left",
                    self.remaining()
                ),
            ));
        }
        self.fill(n, what)?;
        let start = self.pos;
        self.pos += n;
        self.offset += n as u64;
        Ok(&self.buf[start..start + n])
    }

    fn i32(&mut self, what: &str) -> Result<i32, StorageError> {
        let b = self.take(4, what)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    fn i64(&mut self, what: &str) -> Result<i64, StorageError> {
        let b = self.take(8, what)?;
        Ok(i64::from_be_bytes(b.try_into().expect("8 bytes")))
    }

    /// The length of a length-prefixed byte array; `None` for the null
    /// encoding (−1). The bytes themselves are checked to be in the file.
    fn buffer_len(&mut self, what: &str) -> Result<Option<usize>, StorageError> {
        let at = self.offset;
        let len = self.i32(what)?;
        if len == -1 {
            return Ok(None);
        }
        if len < 0 {
            return Err(self.corrupt(at, format!("negative length {len} of {what}")));
        }
        if len as u64 > self.remaining() {
            return Err(self.corrupt(
                at,
                format!(
                    "truncated: {what} of {len} bytes, {} left",
                    self.remaining()
                ),
            ));
        }
        Ok(Some(len as usize))
    }

    /// A string into `out` (replacing its contents).
    fn string_into(&mut self, out: &mut String, what: &str) -> Result<(), StorageError> {
        let at = self.offset;
        let Some(len) = self.buffer_len(what)? else {
            return Err(self.corrupt(at, format!("{what} is null")));
        };
        let b = self.take(len, what)?;
        out.clear();
        // Java decodes malformed UTF-8 with replacement characters.
        match std::str::from_utf8(b) {
            Ok(s) => out.push_str(s),
            Err(_) => out.push_str(&String::from_utf8_lossy(b)),
        }
        Ok(())
    }

    fn string(&mut self, what: &str) -> Result<String, StorageError> {
        let mut s = String::new();
        self.string_into(&mut s, what)?;
        Ok(s)
    }

    /// A count that must be non-negative, each element taking at least
    /// `min_elem` bytes of what is left.
    fn count(&mut self, what: &str, min_elem: u64) -> Result<usize, StorageError> {
        let at = self.offset;
        let n = self.i32(what)?;
        if n < 0 {
            return Err(self.corrupt(at, format!("negative {what} {n}")));
        }
        if n as u64 * min_elem > self.remaining() {
            return Err(self.corrupt(
                at,
                format!(
                    "truncated: {what} {n} cannot fit in the {} bytes left",
                    self.remaining()
                ),
            ));
        }
        Ok(n as usize)
    }

    /// Checks a seal: the checksum of every byte before it, then "/".
    fn seal(&mut self, after: &str) -> Result<(), StorageError> {
        let at = self.offset;
        let expected = i64::from(self.checksum());
        let stored = self.i64(&format!("the checksum after {after}"))?;
        let path_at = self.offset;
        let path = self.string(&format!("the seal after {after}"))?;
        if stored != expected {
            return Err(self.corrupt(
                at,
                format!(
                    "checksum mismatch after {after}: stored 0x{stored:x}, computed 0x{expected:x}"
                ),
            ));
        }
        if path != END_PATH {
            return Err(self.corrupt(
                path_at,
                format!("the seal after {after} ends in {path:?}, not \"/\""),
            ));
        }
        Ok(())
    }

    /// The nodes, up to and including the end marker, into `restore`.
    fn nodes(&mut self, restore: &mut TreeRestore) -> Result<(), StorageError> {
        let mut path = String::new();
        let mut count = 0u64;
        let start = self.offset;
        loop {
            let at = self.offset;
            self.string_into(&mut path, "a node path")?;
            if path == END_PATH {
                return Ok(());
            }
            let data_len = self.buffer_len("node data")?;
            // Data, ACL index and stat in place, in one piece.
            let n = data_len.unwrap_or(0);
            let rec = self.take(n + 8 + STAT_LEN, "a node's data, ACL index and stat")?;
            let (data, rest) = rec.split_at(n);
            let acl = i64::from_be_bytes(rest[..8].try_into().expect("8 bytes"));
            let stat = parse_stat(&rest[8..]);
            restore
                .add_node(&path, data_len.map(|_| data), acl, stat)
                .map_err(|why| self.corrupt(at, why))?;
            count += 1;
            if count == RESERVE_AFTER_NODES {
                // Size the tree for the rest of the file at the average so far.
                let per_node = (self.offset - start) / count;
                restore.reserve((self.remaining() / per_node.max(1)) as usize);
            }
        }
    }

    fn read(
        mut self,
        zxid: i64,
        extended_types_enabled: bool,
    ) -> Result<SnapshotData, StorageError> {
        let magic = self.i32("the file header")?;
        if magic != SNAP_MAGIC {
            return Err(self.corrupt(
                0,
                format!("bad magic 0x{magic:08x} (a snapshot has 0x{SNAP_MAGIC:08x})"),
            ));
        }
        let version = self.i32("the file header")?;
        if version != SNAP_VERSION {
            return Err(self.corrupt(4, format!("unsupported snapshot version {version}")));
        }
        let _dbid = self.i64("the file header")?;

        let n = self.count("session count", 12)?;
        let mut sessions = Vec::with_capacity(n);
        for _ in 0..n {
            let id = self.i64("a session id")?;
            let timeout = self.i32("a session timeout")?;
            sessions.push((id, timeout));
        }

        let acl_map_at = self.offset;
        let n = self.count("ACL map size", 12)?;
        let mut entries = Vec::with_capacity(n);
        for _ in 0..n {
            let index = self.i64("an ACL index")?;
            let at = self.offset;
            let k = self.i32("an ACL list length")?;
            if k < 0 {
                return Err(self.corrupt(at, format!("ACL list {index} has length {k}")));
            }
            let mut acls = Vec::new();
            for _ in 0..k {
                let perms = self.i32("an ACL")?;
                let scheme = self.string("an ACL scheme")?;
                let id = self.string("an ACL id")?;
                acls.push(Acl {
                    perms,
                    id: Id { scheme, id },
                });
            }
            entries.push((index, acls));
        }
        let cache =
            AclCache::from_snapshot(entries).map_err(|why| self.corrupt(acl_map_at, why))?;

        let mut restore = TreeRestore::new(extended_types_enabled, cache);
        self.nodes(&mut restore)?;
        let end = self.offset;
        self.seal("the tree")?;
        let tree = restore.finish(zxid).map_err(|why| self.corrupt(end, why))?;

        // The optional sections, told apart by what is left: each ends in a seal.
        let mut digest = None;
        let mut last_processed_zxid = None;
        let left = self.remaining();
        let digest_section = DIGEST_LEN + SEAL_LEN;
        let zxid_section = 8 + SEAL_LEN;
        if left == digest_section || left == digest_section + zxid_section {
            digest = Some(SnapshotDigest {
                zxid: self.i64("the digest")?,
                version: self.i32("the digest")?,
                digest: self.i64("the digest")?,
            });
            self.seal("the digest")?;
        }
        if self.remaining() == zxid_section {
            last_processed_zxid = Some(self.i64("the last processed zxid")?);
            self.seal("the last processed zxid")?;
        }
        if self.remaining() != 0 {
            return Err(self.corrupt(
                self.offset,
                format!(
                    "{} bytes after the tree's seal are neither a digest ({digest_section} \
                     bytes) nor a last-zxid section ({zxid_section} bytes)",
                    self.remaining()
                ),
            ));
        }
        Ok(SnapshotData {
            zxid,
            sessions,
            tree,
            digest,
            last_processed_zxid,
        })
    }
}

/// Reads one snapshot file fully and verifies its seal(s). The zxid comes
/// from the file name (`snapshot.<hex>`); anything wrong with the contents
/// is [`StorageError::Corrupt`] naming the file and offset.
pub fn read_snapshot(
    file: &Path,
    extended_types_enabled: bool,
) -> Result<SnapshotData, StorageError> {
    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let Some(zxid) = zxid_of_snapshot_file_name(name) else {
        return Err(StorageError::Io(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "{}: not a snapshot file name (snapshot.<hex zxid>)",
                file.display()
            ),
        )));
    };
    read_snapshot_as(file, zxid, extended_types_enabled)
}

/// Reads one snapshot file whose zxid is given rather than taken from its
/// name (the dump tools accept any file name, as ZooKeeper's do).
pub fn read_snapshot_as(
    file: &Path,
    zxid: i64,
    extended_types_enabled: bool,
) -> Result<SnapshotData, StorageError> {
    let f = File::open(file).map_err(|e| with_path(file, e))?;
    let len = f.metadata().map_err(|e| with_path(file, e))?.len();
    SnapReader::new(f, file, len).read(zxid, extended_types_enabled)
}

/// The newest snapshot in `dir` that reads back valid. Newer ones that are
/// corrupt or incomplete are skipped, each with a warning (the caller then
/// replays the txn log from the older snapshot's zxid). `None` if `dir` holds
/// no snapshot file. If it holds some but none is valid, that is an error
/// (as in ZooKeeper, which will not start from nothing when snapshots
/// exist): the newest one's, noting that the others failed too. An I/O
/// error other than a short file is returned at once, not skipped.
pub fn read_latest_valid(
    dir: &Path,
    extended_types_enabled: bool,
) -> Result<Option<SnapshotData>, StorageError> {
    let (files, compressed) = scan(dir)?;
    for path in &compressed {
        tracing::warn!(
            "snapshot {} is compressed, which is not supported: ignored",
            path.display()
        );
    }
    let mut newest_err: Option<StorageError> = None;
    for (_, path) in files.iter().rev() {
        match read_snapshot(path, extended_types_enabled) {
            Ok(snap) => {
                if newest_err.is_some() {
                    tracing::warn!(
                        "using snapshot {} (zxid 0x{:x}): newer snapshots are invalid",
                        path.display(),
                        snap.zxid
                    );
                }
                return Ok(Some(snap));
            }
            Err(e @ StorageError::Corrupt { .. }) => {
                tracing::warn!("skipping invalid snapshot: {e}");
                newest_err.get_or_insert(e);
            }
            Err(e) => return Err(e),
        }
    }
    match newest_err {
        None => Ok(None),
        Some(StorageError::Corrupt { file, offset, why }) => Err(StorageError::Corrupt {
            file,
            offset,
            why: format!(
                "{why} (and none of the {} snapshots in {} is valid)",
                files.len(),
                dir.display()
            ),
        }),
        Some(e) => Err(e),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names() {
        assert_eq!(snapshot_file_name(0), "snapshot.0");
        assert_eq!(snapshot_file_name(0x1_0000_00ab), "snapshot.1000000ab");
        assert_eq!(zxid_of_snapshot_file_name("snapshot.31"), Some(0x31));
        assert_eq!(zxid_of_snapshot_file_name("snapshot."), None);
        assert_eq!(zxid_of_snapshot_file_name("snapshot.31.gz"), None);
        assert_eq!(zxid_of_snapshot_file_name("tmp.snapshot.31"), None);
        assert_eq!(zxid_of_snapshot_file_name("log.31"), None);
        assert!(is_compressed_snapshot_name("snapshot.31.gz"));
        assert!(is_compressed_snapshot_name("snapshot.31.snappy"));
        assert!(!is_compressed_snapshot_name("snapshot.31"));
        assert!(!is_compressed_snapshot_name("snapshot.x.gz"));
    }

    #[test]
    fn long_hash_matches_java() {
        // Long.hashCode(0x100003de3990004L) == 0xe2990039.
        assert_eq!(long_hash(0x0100_003d_e399_0004), 0xe299_0039);
        assert_eq!(long_hash(5), 5);
        assert_eq!(long_hash(-1), 0);
    }

    #[test]
    fn hash_map_order() {
        // Observed in a 3.8.0 snapshot: five sessions 0x100003de399000{0..4}
        // are written 4, 0, 1, 2, 3.
        let ids: Vec<i64> = (0..5).map(|i| 0x0100_003d_e399_0000 + i).collect();
        let got = java_long_map_order(ids.clone(), |x| *x, true);
        let want: Vec<i64> = [4, 0, 1, 2, 3].iter().map(|i| ids[*i]).collect();
        assert_eq!(got, want);
        // Small ACL indexes come in ascending order ...
        let got = java_long_map_order(vec![1i64, 2, 3, 6, 7], |x| *x, false);
        assert_eq!(got, vec![1, 2, 3, 6, 7]);
        // ... unless the copy's table is smaller than an index: 5 entries
        // give a table of 8, where 9 lands in bucket 1; 2 entries a table of
        // 4, where 5 lands in bucket 1 and 2 in bucket 2.
        let got = java_long_map_order(vec![1i64, 2, 3, 6, 9], |x| *x, false);
        assert_eq!(got, vec![1, 9, 2, 3, 6]);
        let got = java_long_map_order(vec![2i64, 5], |x| *x, false);
        assert_eq!(got, vec![5, 2]);
    }
}
