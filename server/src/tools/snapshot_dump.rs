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
use crate::storage::snapshot::{
    long_hash, read_snapshot_as, zxid_of_snapshot_file_name, SnapshotData,
};
use crate::storage::txn_log::StorageError;
use base64::Engine;
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

/// `SnapshotFormatter.printDetails`.
pub fn print_details(
    snap: &SnapshotData,
    file_zxid: i64,
    dump_data: bool,
    out: &mut impl Write,
) -> io::Result<()> {
    let tree = &snap.tree;
    // The root is in ZooKeeper's node map twice: "" and "/".
    writeln!(out, "ZNode Details (count={}):", tree.node_count() + 1)?;
    let mut max_zxid = i64::MIN;
    tree.try_for_each_node_preorder(|path, node| -> io::Result<()> {
        let n = &node.stat();
        max_zxid = max_zxid.max(n.mzxid).max(n.pzxid);
        writeln!(out, "----")?;
        writeln!(out, "{}", if path.is_empty() { "/" } else { path })?;
        writeln!(out, "  cZxid = 0x{:014x}", n.czxid)?;
        writeln!(out, "  ctime = {}", super::java_date_string(n.ctime))?;
        writeln!(out, "  mZxid = 0x{:014x}", n.mzxid)?;
        writeln!(out, "  mtime = {}", super::java_date_string(n.mtime))?;
        writeln!(out, "  pZxid = 0x{:014x}", n.pzxid)?;
        writeln!(out, "  cversion = {}", n.cversion)?;
        writeln!(out, "  dataVersion = {}", n.version)?;
        writeln!(out, "  aclVersion = {}", n.aversion)?;
        writeln!(out, "  ephemeralOwner = 0x{:014x}", n.ephemeral_owner)?;
        let data = node.data().unwrap_or_default();
        if dump_data {
            let b64 = base64::engine::general_purpose::STANDARD.encode(data);
            writeln!(out, "  data = {b64}")
        } else {
            writeln!(out, "  dataLength = {}", data.len())
        }
    })?;
    writeln!(out, "----")?;
    writeln!(out, "Session Details (sid, timeout, ephemeralCount):")?;
    // The formatter loads them into a HashMap<Long, Integer> in file order.
    let mut sessions = snap.sessions.clone();
    let table = super::java_table_size(16, sessions.len());
    super::java_hash_order(&mut sessions, table, |s| long_hash(s.0));
    for (id, timeout) in sessions {
        let count = tree.ephemerals_of(id).len();
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
pub fn print_json(snap: &SnapshotData, timestamp_ms: i64, out: &mut impl Write) -> io::Result<()> {
    write!(
        out,
        "[1,0,{{\"progname\":\"SnapshotFormatter.java\",\"progver\":\"0.01\",\"timestamp\":{timestamp_ms}}}"
    )?;
    let mut inode = 1000u64;
    // Depths whose arrays are still open.
    let mut open: Vec<usize> = Vec::new();
    snap.tree
        .try_for_each_node_preorder(|path, node| -> io::Result<()> {
            let depth = path.matches('/').count();
            while open.last().is_some_and(|&d| d >= depth) {
                open.pop();
                write!(out, "]")?;
            }
            let name = if path.is_empty() {
                "/"
            } else {
                &path[path.rfind('/').map_or(0, |s| s + 1)..]
            };
            let len = node.data_len();
            inode += 1;
            let obj = format!(
                "{{\"name\":{},\"asize\":{len},\"dsize\":{len},\"dev\":0,\"ino\":{inode}}}",
                json_string(name)
            );
            if node.num_children() == 0 {
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

/// Reads and checks the whole file with the server's own snapshot reader.
fn load(path: &Path) -> Result<SnapshotData, StorageError> {
    read_snapshot_as(path, file_zxid(path), true)
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
    let snap = match load(&file) {
        Ok(snap) => snap,
        Err(StorageError::Corrupt { offset, why, .. }) => {
            eprintln!(
                "zkserver snapshot-dump: corrupt snapshot {} at byte offset {offset}: {why}",
                file.display()
            );
            return Ok(EXIT_ERROR);
        }
        Err(StorageError::Io(e)) => {
            eprintln!("zkserver snapshot-dump: {}: {e}", file.display());
            return Ok(EXIT_ERROR);
        }
    };
    let printed = if json {
        let now = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_millis() as i64);
        print_json(&snap, now, out)
    } else {
        print_details(&snap, file_zxid(&file), dump_data, out)
    };
    printed?;
    out.flush()?;
    Ok(EXIT_OK)
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
    let snap = match load(&file) {
        Ok(snap) => snap,
        Err(StorageError::Corrupt { offset, why, .. }) => {
            writeln!(out, "{shown}: CORRUPT at byte offset {offset}: {why}")?;
            return Ok(EXIT_ERROR);
        }
        Err(StorageError::Io(e)) => {
            eprintln!("zkserver snapshot-verify: {shown}: {e}");
            return Ok(EXIT_ERROR);
        }
    };
    let digest = match &snap.digest {
        Some(d) if d.zxid == 0 => ", empty digest".to_string(),
        Some(d) => format!(
            ", digest zxid 0x{:x} version {} value 0x{:x}",
            d.zxid, d.version, d.digest
        ),
        None => ", no digest".to_string(),
    };
    let last = snap
        .last_processed_zxid
        .map(|z| format!(", last processed zxid 0x{z:x}"))
        .unwrap_or_default();
    let seals =
        1 + usize::from(snap.digest.is_some()) + usize::from(snap.last_processed_zxid.is_some());
    writeln!(
        out,
        "{shown}: OK: {} znodes, {} sessions, {} ACL lists{digest}{last}; {seals} seal(s) match; tree structure checked",
        snap.tree.node_count(),
        snap.sessions.len(),
        snap.tree.acl_cache.len(),
    )?;
    Ok(EXIT_OK)
}
