//! `zkserver snapshot-dump` and `zkserver snapshot-verify`: ZooKeeper's
//! `SnapshotFormatter` for one snapshot file.
//!
//! `snapshot-dump` prints what `SnapshotFormatter` prints: `ZNode Details
//! (count=N)` (N counts the root twice, as ZooKeeper's node map holds it
//! under "" and "/"), then per znode its path, cZxid, ctime, mZxid, mtime,
//! pZxid, cversion, dataVersion, aclVersion, ephemeralOwner and dataLength
//! (or, with `-d`, the data in base64); `Session Details` with each
//! session's id, timeout and ephemeral count; and `Last zxid`. With `-json`
//! it prints the formatter's JSON tree (ncdu format) instead. Znodes and
//! sessions come in the order ZooKeeper's `HashSet`s and `HashMap` iterate
//! them after loading the file, so the output matches line for line; times
//! are printed in UTC (the formatter uses the local time zone).
//!
//! Like the formatter (which loads the snapshot), the dump first checks the
//! file's seals (Adler-32 checksums); a file that fails is not dumped.
//!
//! `snapshot-verify` checks a snapshot completely: header, every length,
//! each seal (after the tree, after the digest, after the last-zxid
//! section), and, through the server's own loader, the tree's structure
//! (parents before children, no duplicates, known ACL indexes). It reports
//! the first problem with its byte offset (exit 1).

use super::{wants_help, EXIT_ERROR, EXIT_OK, EXIT_USAGE};
use crate::storage::snapshot::{read_snapshot, zxid_of_snapshot_file_name};
use crate::storage::txn_log::StorageError;
use base64::Engine;
use jute::persistence::SNAP_MAGIC;
use std::collections::HashMap;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

pub const DUMP_USAGE: &str = "\
Usage: zkserver snapshot-dump [-d|-json] FILE
  Prints the snapshot FILE (version-2/snapshot.<zxid>) as ZooKeeper's
  SnapshotFormatter does: every znode's path and stat, the sessions with their
  timeouts and ephemeral counts, and the last zxid. Times are in UTC.
  -d      print each znode's data (base64) instead of its length
  -json   print the znode tree as JSON (ncdu format)
  Exit: 0 ok, 1 corrupt or unreadable, 2 usage.";

pub const VERIFY_USAGE: &str = "\
Usage: zkserver snapshot-verify FILE
  Checks the snapshot FILE: header, lengths, every seal (Adler-32 checksum) and
  the tree's structure. Reports the first problem with its byte offset.
  Exit: 0 ok, 1 corrupt or unreadable, 2 usage.";

/// One znode as stored.
#[derive(Debug, Clone)]
pub struct SnapNode {
    /// The stored path ("" for the root).
    pub path: String,
    pub data: Option<Vec<u8>>,
    pub acl: i64,
    pub czxid: i64,
    pub mzxid: i64,
    pub ctime: i64,
    pub mtime: i64,
    pub version: i32,
    pub cversion: i32,
    pub aversion: i32,
    pub ephemeral_owner: i64,
    pub pzxid: i64,
}

/// A snapshot file parsed in file order, its seals checked.
#[derive(Debug)]
pub struct ParsedSnapshot {
    pub sessions: Vec<(i64, i32)>,
    pub acl_lists: usize,
    pub nodes: Vec<SnapNode>,
    /// `ZxidDigest` (zxid, version, digest), if present.
    pub digest: Option<(i64, i32, i64)>,
    pub last_processed_zxid: Option<i64>,
    /// How many seals were checked.
    pub seals: usize,
}

/// A problem at a byte offset.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ParseError {
    pub offset: usize,
    pub why: String,
}

struct Cursor<'a> {
    data: &'a [u8],
    pos: usize,
}

impl Cursor<'_> {
    fn err<T>(&self, offset: usize, why: impl Into<String>) -> Result<T, ParseError> {
        Err(ParseError {
            offset,
            why: why.into(),
        })
    }

    fn take(&mut self, n: usize, what: &str) -> Result<&[u8], ParseError> {
        let left = self.data.len() - self.pos;
        if n > left {
            return self.err(
                self.pos,
                format!("truncated: {what} needs {n} bytes, {left} left"),
            );
        }
        let s = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    fn i32(&mut self, what: &str) -> Result<i32, ParseError> {
        Ok(i32::from_be_bytes(
            self.take(4, what)?.try_into().expect("4"),
        ))
    }

    fn i64(&mut self, what: &str) -> Result<i64, ParseError> {
        Ok(i64::from_be_bytes(
            self.take(8, what)?.try_into().expect("8"),
        ))
    }

    fn buffer(&mut self, what: &str) -> Result<Option<Vec<u8>>, ParseError> {
        let at = self.pos;
        let len = self.i32(what)?;
        if len == -1 {
            return Ok(None);
        }
        if len < 0 {
            return self.err(at, format!("negative length {len} of {what}"));
        }
        Ok(Some(self.take(len as usize, what)?.to_vec()))
    }

    fn string(&mut self, what: &str) -> Result<String, ParseError> {
        let at = self.pos;
        match self.buffer(what)? {
            Some(b) => Ok(String::from_utf8_lossy(&b).into_owned()),
            None => self.err(at, format!("{what} is null")),
        }
    }

    fn count(&mut self, what: &str, min_elem: usize) -> Result<usize, ParseError> {
        let at = self.pos;
        let n = self.i32(what)?;
        if n < 0 || (n as usize).saturating_mul(min_elem) > self.data.len() - self.pos {
            return self.err(at, format!("impossible {what} {n}"));
        }
        Ok(n as usize)
    }

    /// A seal: the Adler-32 of every byte before it, then the path "/".
    fn seal(&mut self, after: &str) -> Result<(), ParseError> {
        let at = self.pos;
        let computed = i64::from(adler2::adler32_slice(&self.data[..at]));
        let stored = self.i64(&format!("the checksum after {after}"))?;
        let path_at = self.pos;
        let path = self.string(&format!("the seal after {after}"))?;
        if stored != computed {
            return self.err(
                at,
                format!(
                    "checksum mismatch after {after}: stored 0x{stored:x}, computed 0x{computed:x}"
                ),
            );
        }
        if path != "/" {
            return self.err(
                path_at,
                format!("the seal after {after} ends in {path:?}, not \"/\""),
            );
        }
        Ok(())
    }
}

/// Parses a snapshot's bytes, checking every length and seal.
pub fn parse(data: &[u8]) -> Result<ParsedSnapshot, ParseError> {
    let mut c = Cursor { data, pos: 0 };
    let magic = c.i32("the file header")?;
    if magic != SNAP_MAGIC {
        return c.err(
            0,
            format!("bad magic 0x{magic:08x} (a snapshot has 0x{SNAP_MAGIC:08x})"),
        );
    }
    let version = c.i32("the file header")?;
    if version != 2 {
        return c.err(4, format!("unsupported snapshot version {version}"));
    }
    c.i64("the file header")?;
    let n = c.count("session count", 12)?;
    let mut sessions = Vec::with_capacity(n);
    for _ in 0..n {
        sessions.push((c.i64("a session id")?, c.i32("a session timeout")?));
    }
    let acl_lists = c.count("ACL map size", 12)?;
    for _ in 0..acl_lists {
        c.i64("an ACL index")?;
        let k = c.count("ACL list length", 12)?;
        for _ in 0..k {
            c.i32("an ACL")?;
            c.string("an ACL scheme")?;
            c.string("an ACL id")?;
        }
    }
    let mut nodes = Vec::new();
    loop {
        let path = c.string("a node path")?;
        if path == "/" {
            break;
        }
        let data = c.buffer("node data")?;
        let acl = c.i64("a node's ACL index")?;
        let s = c.take(60, "a node stat")?;
        let l = |i: usize| i64::from_be_bytes(s[i..i + 8].try_into().expect("8"));
        let n = |i: usize| i32::from_be_bytes(s[i..i + 4].try_into().expect("4"));
        nodes.push(SnapNode {
            path,
            data,
            acl,
            czxid: l(0),
            mzxid: l(8),
            ctime: l(16),
            mtime: l(24),
            version: n(32),
            cversion: n(36),
            aversion: n(40),
            ephemeral_owner: l(44),
            pzxid: l(52),
        });
    }
    c.seal("the tree")?;
    let mut seals = 1;
    let left = data.len() - c.pos;
    // Optional sections, each sealed: the digest (20 + 13 bytes) and the
    // last processed zxid (8 + 13).
    let mut digest = None;
    if left == 33 || left == 33 + 21 {
        digest = Some((
            c.i64("the digest")?,
            c.i32("the digest")?,
            c.i64("the digest")?,
        ));
        c.seal("the digest")?;
        seals += 1;
    }
    let mut last_processed_zxid = None;
    if data.len() - c.pos == 21 {
        last_processed_zxid = Some(c.i64("the last processed zxid")?);
        c.seal("the last processed zxid")?;
        seals += 1;
    }
    if c.pos != data.len() {
        return c.err(
            c.pos,
            format!(
                "{} unexpected bytes after the last seal",
                data.len() - c.pos
            ),
        );
    }
    Ok(ParsedSnapshot {
        sessions,
        acl_lists,
        nodes,
        digest,
        last_processed_zxid,
        seals,
    })
}

/// The tree as ZooKeeper rebuilds it: each node's children in the order
/// its `HashSet` iterates them (built by adding them in file order).
struct Tree<'a> {
    nodes: &'a [SnapNode],
    children: Vec<Vec<(usize, &'a str)>>,
    root: usize,
}

impl<'a> Tree<'a> {
    fn build(nodes: &'a [SnapNode]) -> Result<Tree<'a>, String> {
        let mut index: HashMap<&str, usize> = HashMap::new();
        let mut children: Vec<Vec<(usize, &str)>> = vec![Vec::new(); nodes.len()];
        let mut root = None;
        for (i, node) in nodes.iter().enumerate() {
            match node.path.rfind('/') {
                None => root = Some(i),
                Some(slash) => {
                    let parent = &node.path[..slash];
                    let Some(&p) = index.get(parent) else {
                        return Err(format!(
                            "znode {} comes before its parent {parent:?}",
                            node.path
                        ));
                    };
                    children[p].push((i, &node.path[slash + 1..]));
                }
            }
            index.insert(&node.path, i);
        }
        let root = root.ok_or("the snapshot has no root znode")?;
        for list in &mut children {
            // DataNode.addChild: new HashSet<>(8).
            let table = super::java_table_size(8, list.len());
            super::java_hash_order(list, table, |c| super::java_string_hash(c.1));
        }
        Ok(Tree {
            nodes,
            children,
            root,
        })
    }

    /// Pre-order (full path, node index).
    fn walk(&self, mut visit: impl FnMut(&str, usize, usize) -> io::Result<()>) -> io::Result<()> {
        // (path, index, depth); children pushed in reverse.
        let mut stack = vec![("/".to_string(), self.root, 0usize)];
        while let Some((path, i, depth)) = stack.pop() {
            visit(&path, i, depth)?;
            for &(c, name) in self.children[i].iter().rev() {
                let child = if path == "/" {
                    format!("/{name}")
                } else {
                    format!("{path}/{name}")
                };
                stack.push((child, c, depth + 1));
            }
        }
        Ok(())
    }
}

/// `SnapshotFormatter.printDetails`.
pub fn print_details(
    snap: &ParsedSnapshot,
    file_zxid: i64,
    dump_data: bool,
    out: &mut impl Write,
) -> io::Result<()> {
    let tree = Tree::build(&snap.nodes).map_err(io::Error::other)?;
    // The root is in ZooKeeper's node map twice: "" and "/".
    writeln!(out, "ZNode Details (count={}):", snap.nodes.len() + 1)?;
    let mut max_zxid = i64::MIN;
    tree.walk(|path, i, _| {
        let n = &tree.nodes[i];
        max_zxid = max_zxid.max(n.mzxid).max(n.pzxid);
        writeln!(out, "----")?;
        writeln!(out, "{path}")?;
        writeln!(out, "  cZxid = 0x{:014x}", n.czxid)?;
        writeln!(out, "  ctime = {}", super::java_date_string(n.ctime))?;
        writeln!(out, "  mZxid = 0x{:014x}", n.mzxid)?;
        writeln!(out, "  mtime = {}", super::java_date_string(n.mtime))?;
        writeln!(out, "  pZxid = 0x{:014x}", n.pzxid)?;
        writeln!(out, "  cversion = {}", n.cversion)?;
        writeln!(out, "  dataVersion = {}", n.version)?;
        writeln!(out, "  aclVersion = {}", n.aversion)?;
        writeln!(out, "  ephemeralOwner = 0x{:014x}", n.ephemeral_owner)?;
        let data = n.data.as_deref().unwrap_or_default();
        if dump_data {
            let b64 = base64::engine::general_purpose::STANDARD.encode(data);
            writeln!(out, "  data = {b64}")
        } else {
            writeln!(out, "  dataLength = {}", data.len())
        }
    })?;
    writeln!(out, "----")?;
    writeln!(out, "Session Details (sid, timeout, ephemeralCount):")?;
    // A HashMap<Long, Integer> filled in file order.
    let mut sessions = snap.sessions.clone();
    let table = super::java_table_size(16, sessions.len());
    super::java_hash_order(&mut sessions, table, |s| super::java_long_hash(s.0));
    let mut ephemerals: HashMap<i64, usize> = HashMap::new();
    for n in &snap.nodes {
        if n.ephemeral_owner != 0 {
            *ephemerals.entry(n.ephemeral_owner).or_default() += 1;
        }
    }
    for (id, timeout) in sessions {
        let count = ephemerals.get(&id).copied().unwrap_or(0);
        writeln!(out, "0x{id:x}, {timeout}, {count}")?;
    }
    writeln!(out, "----")?;
    writeln!(out, "Last zxid: 0x{:x}", file_zxid.max(max_zxid))?;
    Ok(())
}

/// A JSON string literal.
fn json_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            c if (c as u32) < 0x20 => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// `SnapshotFormatter.printSnapshotJson`: `[1,0,{header},tree]` where a
/// znode with children is `[{node},child,...]` and a leaf is `{node}`; no
/// trailing newline. `timestamp_ms` goes into the header.
pub fn print_json(
    snap: &ParsedSnapshot,
    timestamp_ms: i64,
    out: &mut impl Write,
) -> io::Result<()> {
    let tree = Tree::build(&snap.nodes).map_err(io::Error::other)?;
    write!(
        out,
        "[1,0,{{\"progname\":\"SnapshotFormatter.java\",\"progver\":\"0.01\",\"timestamp\":{timestamp_ms}}}"
    )?;
    let mut inode = 1000u64;
    // Depths whose arrays are still open.
    let mut open: Vec<usize> = Vec::new();
    tree.walk(|path, i, depth| {
        while open.last().is_some_and(|&d| d >= depth) {
            open.pop();
            write!(out, "]")?;
        }
        let n = &tree.nodes[i];
        let name = if path == "/" {
            "/"
        } else {
            &path[path.rfind('/').map_or(0, |s| s + 1)..]
        };
        let len = n.data.as_ref().map_or(0, Vec::len);
        inode += 1;
        let obj = format!(
            "{{\"name\":{},\"asize\":{len},\"dsize\":{len},\"dev\":0,\"ino\":{inode}}}",
            json_string(name)
        );
        if tree.children[i].is_empty() {
            write!(out, ",{obj}")
        } else {
            open.push(depth);
            write!(out, ",[{obj}")
        }
    })?;
    for _ in open {
        write!(out, "]")?;
    }
    write!(out, "]")?;
    Ok(())
}

fn parse_file(path: &Path) -> Result<Result<ParsedSnapshot, ParseError>, io::Error> {
    let data = std::fs::read(path)?;
    Ok(parse(&data))
}

/// The zxid in the file name, or −1 as ZooKeeper's `Util.getZxidFromName`.
fn file_zxid(path: &Path) -> i64 {
    let name = path.file_name().and_then(|n| n.to_str()).unwrap_or("");
    zxid_of_snapshot_file_name(name).unwrap_or(-1)
}

/// `zkserver snapshot-dump`.
pub fn dump_main(args: &[String], out: &mut impl Write) -> io::Result<u8> {
    if wants_help(args) {
        println!("{DUMP_USAGE}");
        return Ok(EXIT_OK);
    }
    let mut dump_data = false;
    let mut json = false;
    let mut file = None;
    for arg in args {
        match arg.as_str() {
            "-d" | "--data" => dump_data = true,
            "-json" | "--json" => json = true,
            a if a.starts_with('-') && a.len() > 1 => {
                eprintln!("zkserver: unknown option {a}\n{DUMP_USAGE}");
                return Ok(EXIT_USAGE);
            }
            a => {
                if file.replace(PathBuf::from(a)).is_some() {
                    eprintln!("zkserver: exactly one FILE expected\n{DUMP_USAGE}");
                    return Ok(EXIT_USAGE);
                }
            }
        }
    }
    let Some(file) = file else {
        eprintln!("{DUMP_USAGE}");
        return Ok(EXIT_USAGE);
    };
    if dump_data && json {
        eprintln!("zkserver snapshot-dump: -d and -json are mutually exclusive\n{DUMP_USAGE}");
        return Ok(EXIT_USAGE);
    }
    let snap = match parse_file(&file) {
        Err(e) => {
            eprintln!("zkserver snapshot-dump: {}: {e}", file.display());
            return Ok(EXIT_ERROR);
        }
        Ok(Err(e)) => {
            eprintln!(
                "zkserver snapshot-dump: corrupt snapshot {} at byte offset {}: {}",
                file.display(),
                e.offset,
                e.why
            );
            return Ok(EXIT_ERROR);
        }
        Ok(Ok(snap)) => snap,
    };
    let printed = if json {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        print_json(&snap, now, out)
    } else {
        print_details(&snap, file_zxid(&file), dump_data, out)
    };
    match printed {
        Ok(()) => {
            out.flush()?;
            Ok(EXIT_OK)
        }
        Err(e) if e.kind() == io::ErrorKind::Other => {
            eprintln!(
                "zkserver snapshot-dump: corrupt snapshot {}: {e}",
                file.display()
            );
            Ok(EXIT_ERROR)
        }
        Err(e) => Err(e),
    }
}

/// `zkserver snapshot-verify`.
pub fn verify_main(args: &[String], out: &mut impl Write) -> io::Result<u8> {
    if wants_help(args) {
        println!("{VERIFY_USAGE}");
        return Ok(EXIT_OK);
    }
    let file = match args {
        [f] if !f.starts_with('-') => PathBuf::from(f),
        _ => {
            eprintln!("{VERIFY_USAGE}");
            return Ok(EXIT_USAGE);
        }
    };
    let shown = file.display();
    let snap = match parse_file(&file) {
        Err(e) => {
            eprintln!("zkserver snapshot-verify: {shown}: {e}");
            return Ok(EXIT_ERROR);
        }
        Ok(Err(e)) => {
            writeln!(
                out,
                "{shown}: CORRUPT at byte offset {}: {}",
                e.offset, e.why
            )?;
            return Ok(EXIT_ERROR);
        }
        Ok(Ok(snap)) => snap,
    };
    // The structural checks of the server's loader (it needs the zxid from
    // a snapshot.<hex> name).
    let structure =
        if zxid_of_snapshot_file_name(file.file_name().and_then(|n| n.to_str()).unwrap_or(""))
            .is_some()
        {
            match read_snapshot(&file, true) {
                Ok(_) => "tree structure checked",
                Err(StorageError::Corrupt { offset, why, .. }) => {
                    writeln!(out, "{shown}: CORRUPT at byte offset {offset}: {why}")?;
                    return Ok(EXIT_ERROR);
                }
                Err(StorageError::Io(e)) => {
                    eprintln!("zkserver snapshot-verify: {shown}: {e}");
                    return Ok(EXIT_ERROR);
                }
            }
        } else {
            "tree structure not checked: not a snapshot.<zxid> file name"
        };
    if let Err(why) = Tree::build(&snap.nodes) {
        writeln!(out, "{shown}: CORRUPT: {why}")?;
        return Ok(EXIT_ERROR);
    }
    let digest = match snap.digest {
        Some((0, _, _)) => ", empty digest".to_string(),
        Some((z, v, d)) => format!(", digest zxid 0x{z:x} version {v} value 0x{d:x}"),
        None => ", no digest".to_string(),
    };
    let last = snap
        .last_processed_zxid
        .map(|z| format!(", last processed zxid 0x{z:x}"))
        .unwrap_or_default();
    writeln!(
        out,
        "{shown}: OK: {} znodes, {} sessions, {} ACL lists{digest}{last}; {} seal(s) match; {structure}",
        snap.nodes.len(),
        snap.sessions.len(),
        snap.acl_lists,
        snap.seals
    )?;
    Ok(EXIT_OK)
}
