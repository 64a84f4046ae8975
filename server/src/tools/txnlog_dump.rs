//! `zkserver txnlog-dump` and `zkserver txnlog-verify`: ZooKeeper's
//! `TxnLogToolkit` (dump mode) for one txn log file.
//!
//! `txnlog-dump` prints what `TxnLogToolkit -d` prints: the file header line,
//! one line per txn —
//! `<time> session 0x<id> cxid 0x<cxid> zxid 0x<zxid> <type> <details>` —
//! with the details in the toolkit's format (jute's CSV `toString` for most
//! records, `path,data,[acl],...` for creates and setData, the raw bytes of
//! each sub-txn for a multi), a `CRC ERROR - ` line before any txn whose
//! checksum does not match, and `EOF reached after N txns.` Known
//! differences: times are printed in UTC (the toolkit uses the local time
//! zone), and a damaged entry the toolkit would die on with a Java stack
//! trace is reported in one line on stderr. Exit code 1 if any checksum
//! failed or the file is damaged.
//!
//! `txnlog-verify` reads the file with the server's own reader
//! ([`LogFileReader`]), checking the file header, every checksum, every
//! record's encoding and that zxids increase, and reports the first bad
//! entry with its byte offset (exit 1). A partial last entry followed only
//! by zeros is a write cut short by a crash — the server ignores it at
//! start-up — and is reported without failing; one followed by more data is
//! corruption.
//!
//! Neither command writes: the toolkit's recovery (`-r`) and chop (`-c`)
//! modes are not supported.

use super::{wants_help, EXIT_ERROR, EXIT_OK, EXIT_USAGE};
use crate::storage::txn_log::{
    checksum, LogFileReader, ReadStep, StorageError, END_OF_RECORD, FILE_HEADER_LEN, MAX_TXN_LEN,
};
use bytes::Bytes;
use jute::data::Acl;
use jute::persistence::TXNLOG_MAGIC;
use jute::txn::*;
use jute::{OpCode, Record};
use std::io::{self, Write};
use std::path::{Path, PathBuf};

pub const DUMP_USAGE: &str = "\
Usage: zkserver txnlog-dump [-d|--dump] FILE
  Prints every txn of the txn log FILE (version-2/log.<zxid>) as ZooKeeper's
  TxnLogToolkit does:
    <time> session 0x<id> cxid 0x<cxid> zxid 0x<zxid> <type> <details>
  then 'EOF reached after N txns.' Times are in UTC. A txn whose checksum does
  not match is preceded by a 'CRC ERROR - ' line.
  -d, --dump    dump mode (the default; accepted for TxnLogToolkit compatibility)
  TxnLogToolkit's -r/--recover, -c/--chop, -y and -z (which rewrite the log)
  are not supported.
  Exit: 0 ok, 1 checksum errors or a damaged file, 2 usage.";

pub const VERIFY_USAGE: &str = "\
Usage: zkserver txnlog-verify FILE
  Checks the txn log FILE: its header, every txn's checksum and encoding, and
  that zxids increase. Reports the first bad entry with its byte offset.
  A partial last txn followed only by zeros (a write cut short by a crash,
  ignored by the server at start-up) is reported but is not an error.
  Exit: 0 ok, 1 corrupt or unreadable, 2 usage.";

/// Parses `[flags] FILE`; `Err(exit code)` after printing why.
fn parse_args(args: &[String], usage: &str, dump: bool) -> Result<PathBuf, u8> {
    if wants_help(args) {
        println!("{usage}");
        return Err(EXIT_OK);
    }
    let mut file = None;
    for arg in args {
        match arg.as_str() {
            "-d" | "--dump" | "--detail" if dump => {}
            "-r" | "--recover" | "-c" | "--chop" | "-y" | "--yes" | "-v" | "--verbose" | "-z"
            | "--zxid"
                if dump =>
            {
                eprintln!(
                    "zkserver txnlog-dump: {arg}: recovery and chop modes are not supported \
                     (zkserver never rewrites a txn log; use ZooKeeper's TxnLogToolkit)"
                );
                return Err(EXIT_USAGE);
            }
            a if a.starts_with('-') && a.len() > 1 => {
                eprintln!("zkserver: unknown option {a}\n{usage}");
                return Err(EXIT_USAGE);
            }
            a => {
                if file.replace(PathBuf::from(a)).is_some() {
                    eprintln!("zkserver: exactly one FILE expected\n{usage}");
                    return Err(EXIT_USAGE);
                }
            }
        }
    }
    file.ok_or_else(|| {
        eprintln!("{usage}");
        EXIT_USAGE
    })
}

/// `Request.op2String` of ZooKeeper 3.8.
pub fn op_name(op: i32) -> String {
    match OpCode::from_i32(op) {
        Some(OpCode::CreateTtl) => "createTtl".to_string(),
        Some(
            code @ (OpCode::Notification
            | OpCode::Create
            | OpCode::Create2
            | OpCode::CreateContainer
            | OpCode::SetWatches
            | OpCode::SetWatches2
            | OpCode::Delete
            | OpCode::DeleteContainer
            | OpCode::Exists
            | OpCode::GetData
            | OpCode::Check
            | OpCode::Multi
            | OpCode::MultiRead
            | OpCode::SetData
            | OpCode::Sync
            | OpCode::GetAcl
            | OpCode::SetAcl
            | OpCode::GetChildren
            | OpCode::GetAllChildrenNumber
            | OpCode::GetChildren2
            | OpCode::Ping
            | OpCode::CreateSession
            | OpCode::CloseSession
            | OpCode::Error
            | OpCode::Reconfig
            | OpCode::CheckWatches
            | OpCode::RemoveWatches
            | OpCode::AddWatch
            | OpCode::WhoAmI),
        ) => code.name().to_string(),
        _ => format!("unknown {op}"),
    }
}

/// jute's `Utils.toCSVString`: `'` then the string with `\0 \n \r , } %`
/// percent-escaped.
fn csv_string(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 1);
    out.push('\'');
    for c in s.chars() {
        match c {
            '\0' => out.push_str("%00"),
            '\n' => out.push_str("%0A"),
            '\r' => out.push_str("%0D"),
            ',' => out.push_str("%2C"),
            '}' => out.push_str("%7D"),
            '%' => out.push_str("%25"),
            c => out.push(c),
        }
    }
    out
}

/// An ACL inside a record: `s{perms,s{'scheme,'id}}`.
fn csv_acl_nested(acl: &Acl) -> String {
    format!(
        "s{{{},s{{{},{}}}}}",
        acl.perms,
        csv_string(&acl.id.scheme),
        csv_string(&acl.id.id)
    )
}

/// `List<ACL>.toString()`: each ACL's top-level CSV form, which ends in a
/// newline: `[31,s{'world,'anyone}\n]`.
fn acl_list(acls: &[Acl]) -> String {
    let items: Vec<String> = acls
        .iter()
        .map(|a| {
            format!(
                "{},s{{{},{}}}\n",
                a.perms,
                csv_string(&a.id.scheme),
                csv_string(&a.id.id)
            )
        })
        .collect();
    format!("[{}]", items.join(", "))
}

/// `new String(data, UTF_8)`, empty for null.
fn utf8(data: &Option<Bytes>) -> String {
    data.as_deref()
        .map(|d| String::from_utf8_lossy(d).into_owned())
        .unwrap_or_default()
}

/// `TxnLogToolkit.getFormattedTxnStr` of the record of a txn of type `op`.
fn details(op: i32, mut buf: Bytes) -> Result<String, String> {
    let bad = |e: jute::JuteError| format!("record of txn type {op}: {e}");
    let Some(code) = OpCode::from_i32(op) else {
        return Ok(String::new());
    };
    Ok(match code {
        OpCode::Create | OpCode::Create2 => {
            let t = CreateTxn::read(&mut buf).map_err(bad)?;
            format!(
                "{},{},{},{},{}",
                t.path,
                utf8(&t.data),
                acl_list(&t.acl),
                t.ephemeral,
                t.parent_c_version
            )
        }
        OpCode::CreateContainer => {
            let t = CreateContainerTxn::read(&mut buf).map_err(bad)?;
            format!(
                "{},{},{},{}",
                t.path,
                utf8(&t.data),
                acl_list(&t.acl),
                t.parent_c_version
            )
        }
        OpCode::CreateTtl => {
            let t = CreateTtlTxn::read(&mut buf).map_err(bad)?;
            format!(
                "{},{},{},{},{}",
                t.path,
                utf8(&t.data),
                acl_list(&t.acl),
                t.parent_c_version,
                t.ttl
            )
        }
        OpCode::SetData | OpCode::Reconfig => {
            let t = SetDataTxn::read(&mut buf).map_err(bad)?;
            format!("{},{},{}", t.path, utf8(&t.data), t.version)
        }
        OpCode::Multi => {
            let t = MultiTxn::read(&mut buf).map_err(bad)?;
            let parts: Vec<String> = t
                .txns
                .iter()
                .map(|s| format!("{}:{}", op_name(s.type_), utf8(&s.data)))
                .collect();
            parts.join(";")
        }
        // The rest print jute's CSV toString, which ends in a newline.
        OpCode::Delete | OpCode::DeleteContainer => {
            let t = DeleteTxn::read(&mut buf).map_err(bad)?;
            format!("{}\n", csv_string(&t.path))
        }
        OpCode::SetAcl => {
            let t = SetAclTxn::read(&mut buf).map_err(bad)?;
            let acls: Vec<String> = t.acl.iter().map(csv_acl_nested).collect();
            format!(
                "{},v{{{}}},{}\n",
                csv_string(&t.path),
                acls.join(","),
                t.version
            )
        }
        OpCode::Check => {
            let t = CheckVersionTxn::read(&mut buf).map_err(bad)?;
            format!("{},{}\n", csv_string(&t.path), t.version)
        }
        OpCode::CreateSession => {
            let t = CreateSessionTxn::read(&mut buf).map_err(bad)?;
            format!("{}\n", t.time_out)
        }
        OpCode::CloseSession => {
            if buf.is_empty() {
                // Written without its record (closeSessionTxn disabled).
                String::new()
            } else {
                let t = CloseSessionTxn::read(&mut buf).map_err(bad)?;
                let paths: Vec<String> = t.paths2_delete.iter().map(|p| csv_string(p)).collect();
                format!("v{{{}}}\n", paths.join(","))
            }
        }
        OpCode::Error => {
            let t = ErrorTxn::read(&mut buf).map_err(bad)?;
            format!("{}\n", t.err)
        }
        _ => String::new(),
    })
}

/// The toolkit's line for one txn (with its trailing newline).
pub fn format_txn(raw: &[u8]) -> Result<String, String> {
    let mut buf = Bytes::copy_from_slice(raw);
    let h = TxnHeader::read(&mut buf).map_err(|e| format!("txn header: {e}"))?;
    let details = details(h.type_, buf)?;
    let mut line = format!(
        "{} session 0x{:x} cxid 0x{:x} zxid 0x{:x} {} {details}",
        super::java_short_long_date(h.time),
        h.client_id,
        h.cxid,
        h.zxid,
        op_name(h.type_)
    );
    if !line.ends_with('\n') {
        line.push('\n');
    }
    Ok(line)
}

fn be_i64(b: &[u8]) -> i64 {
    i64::from_be_bytes(b[..8].try_into().expect("8 bytes"))
}

fn be_i32(b: &[u8]) -> i32 {
    i32::from_be_bytes(b[..4].try_into().expect("4 bytes"))
}

/// What [`dump`] found.
#[derive(Debug, Default, PartialEq, Eq)]
pub struct DumpSummary {
    pub txns: usize,
    pub crc_errors: usize,
    /// Why the dump stopped early (damage the toolkit dies on), if it did.
    pub damaged: Option<String>,
}

/// Dumps the log bytes `data` as `TxnLogToolkit` dump mode does. `name` is
/// the file name for messages.
pub fn dump(data: &[u8], name: &str, out: &mut impl Write) -> io::Result<DumpSummary> {
    let mut summary = DumpSummary::default();
    if data.len() < FILE_HEADER_LEN as usize {
        summary.damaged = Some(format!(
            "{name}: file header incomplete ({} of {FILE_HEADER_LEN} bytes)",
            data.len()
        ));
        return Ok(summary);
    }
    let magic = be_i32(&data[0..]);
    if magic != TXNLOG_MAGIC {
        summary.damaged = Some(format!(
            "Invalid magic number for {name} (0x{magic:08x}; a txn log has 0x{TXNLOG_MAGIC:08x})"
        ));
        return Ok(summary);
    }
    writeln!(
        out,
        "ZooKeeper Transactional Log File with dbid {} txnlog format version {}",
        be_i64(&data[8..]),
        be_i32(&data[4..])
    )?;
    let mut pos = FILE_HEADER_LEN as usize;
    loop {
        let start = pos;
        // EOF inside checksum, length or txn bytes, or a zero length (the
        // preallocated zeros), all end the dump as in the toolkit.
        if data.len() - pos < 12 {
            break;
        }
        let stored = be_i64(&data[pos..]);
        let len = be_i32(&data[pos + 8..]);
        pos += 12;
        if len == 0 {
            break;
        }
        if len < 0 || len as usize > MAX_TXN_LEN {
            summary.damaged = Some(format!(
                "{name}: unreasonable txn length {len} at byte offset {}",
                start + 8
            ));
            return Ok(summary);
        }
        let len = len as usize;
        if data.len() - pos < len {
            break;
        }
        let raw = &data[pos..pos + len];
        pos += len;
        let line = format_txn(raw)
            .unwrap_or_else(|why| format!("<undecodable txn at byte offset {start}: {why}>\n"));
        if checksum(raw) != stored {
            summary.crc_errors += 1;
            write!(out, "CRC ERROR - {line}")?;
        }
        write!(out, "{line}")?;
        match data.get(pos) {
            None => {
                eprintln!(
                    "{name}: partial txn at byte offset {start}: EOF before its end-of-record byte"
                );
                break;
            }
            Some(&END_OF_RECORD) => pos += 1,
            Some(&b) => {
                summary.damaged = Some(format!(
                    "Last transaction was partial. ({name}: end-of-record byte 0x{b:02x} at \
                     byte offset {pos}, not 0x{END_OF_RECORD:02x})"
                ));
                return Ok(summary);
            }
        }
        summary.txns += 1;
    }
    writeln!(out, "EOF reached after {} txns.", summary.txns)?;
    Ok(summary)
}

fn display_name(path: &Path) -> String {
    path.file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_else(|| path.display().to_string())
}

/// `zkserver txnlog-dump`.
pub fn dump_main(args: &[String], out: &mut impl Write) -> io::Result<u8> {
    let file = match parse_args(args, DUMP_USAGE, true) {
        Ok(f) => f,
        Err(code) => return Ok(code),
    };
    let data = match std::fs::read(&file) {
        Ok(d) => d,
        Err(e) => {
            eprintln!("zkserver txnlog-dump: {}: {e}", file.display());
            return Ok(EXIT_ERROR);
        }
    };
    let summary = dump(&data, &display_name(&file), out)?;
    out.flush()?;
    if let Some(why) = &summary.damaged {
        eprintln!("{why}");
        return Ok(EXIT_ERROR);
    }
    if summary.crc_errors > 0 {
        eprintln!(
            "zkserver txnlog-dump: {}: {} txn(s) with a bad checksum",
            file.display(),
            summary.crc_errors
        );
        return Ok(EXIT_ERROR);
    }
    Ok(EXIT_OK)
}

/// The outcome of [`verify`].
#[derive(Debug)]
pub enum Verdict {
    /// Every entry is sound. `partial` describes a torn last entry.
    Ok {
        txns: usize,
        first_zxid: Option<i64>,
        last_zxid: Option<i64>,
        with_digest: usize,
        partial: Option<(u64, String)>,
    },
    /// The first bad entry: its byte offset and why; `txns` good ones precede it.
    Corrupt {
        offset: u64,
        why: String,
        txns: usize,
        last_zxid: Option<i64>,
    },
}

/// Whether anything but zeros follows the torn entry at `offset`.
fn data_after_torn_entry(path: &Path, offset: u64) -> io::Result<bool> {
    let data = std::fs::read(path)?;
    let start = offset as usize;
    if start >= data.len() {
        return Ok(false);
    }
    let mut end = start + 12;
    if data.len() >= start + 12 {
        let len = be_i32(&data[start + 8..]);
        if len > 0 {
            // Up to and including the end-of-record byte's position.
            end = start + 12 + len as usize;
        }
    }
    Ok(data
        .get(end..)
        .is_some_and(|rest| rest.iter().any(|&b| b != 0)))
}

/// Checks one txn log file.
pub fn verify(path: &Path) -> Result<Verdict, io::Error> {
    let mut reader = match LogFileReader::open(path) {
        Ok(r) => r,
        Err(StorageError::Io(e)) => return Err(e),
        Err(e) => return Err(io::Error::other(e.to_string())),
    };
    let mut txns = 0;
    let mut first_zxid = None;
    let mut last_zxid: Option<i64> = None;
    let mut with_digest = 0;
    loop {
        match reader.next_step() {
            Ok(ReadStep::Entry(entry)) => {
                let zxid = entry.txn.header.zxid;
                if let Some(prev) = last_zxid {
                    if zxid <= prev {
                        return Ok(Verdict::Corrupt {
                            offset: entry.offset,
                            why: format!(
                                "zxid 0x{zxid:x} does not follow the previous zxid 0x{prev:x}"
                            ),
                            txns,
                            last_zxid,
                        });
                    }
                }
                first_zxid.get_or_insert(zxid);
                last_zxid = Some(zxid);
                with_digest += usize::from(entry.digest.is_some());
                txns += 1;
            }
            Ok(ReadStep::End) => {
                return Ok(Verdict::Ok {
                    txns,
                    first_zxid,
                    last_zxid,
                    with_digest,
                    partial: None,
                })
            }
            Ok(ReadStep::Torn { offset, why }) => {
                if data_after_torn_entry(path, offset)? {
                    return Ok(Verdict::Corrupt {
                        offset,
                        why: format!("{why}, and more data follows it"),
                        txns,
                        last_zxid,
                    });
                }
                return Ok(Verdict::Ok {
                    txns,
                    first_zxid,
                    last_zxid,
                    with_digest,
                    partial: Some((offset, why)),
                });
            }
            Err(StorageError::Corrupt { offset, why, .. }) => {
                return Ok(Verdict::Corrupt {
                    offset,
                    why,
                    txns,
                    last_zxid,
                })
            }
            Err(StorageError::Io(e)) => return Err(e),
        }
    }
}

fn zxid_range(first: Option<i64>, last: Option<i64>) -> String {
    match (first, last) {
        (Some(f), Some(l)) => format!(", zxid 0x{f:x} to 0x{l:x}"),
        _ => String::new(),
    }
}

/// `zkserver txnlog-verify`.
pub fn verify_main(args: &[String], out: &mut impl Write) -> io::Result<u8> {
    let file = match parse_args(args, VERIFY_USAGE, false) {
        Ok(f) => f,
        Err(code) => return Ok(code),
    };
    let shown = file.display();
    match verify(&file) {
        Err(e) => {
            eprintln!("zkserver txnlog-verify: {shown}: {e}");
            Ok(EXIT_ERROR)
        }
        Ok(Verdict::Ok {
            txns,
            first_zxid,
            last_zxid,
            with_digest,
            partial,
        }) => {
            let digests = if with_digest > 0 {
                format!(" ({with_digest} with a TxnDigest)")
            } else {
                String::new()
            };
            writeln!(
                out,
                "{shown}: OK: {txns} txns{}{digests}, all checksums match",
                zxid_range(first_zxid, last_zxid)
            )?;
            if let Some((offset, why)) = partial {
                writeln!(
                    out,
                    "{shown}: note: ends in a partial txn at byte offset {offset} ({why}): \
                     a write cut short by a crash, never acknowledged; the server ignores it"
                )?;
            }
            Ok(EXIT_OK)
        }
        Ok(Verdict::Corrupt {
            offset,
            why,
            txns,
            last_zxid,
        }) => {
            let after = match last_zxid {
                Some(z) => format!("txn #{}, after {txns} good (last zxid 0x{z:x})", txns + 1),
                None if offset < FILE_HEADER_LEN => "the file header".to_string(),
                None => "txn #1".to_string(),
            };
            writeln!(
                out,
                "{shown}: CORRUPT at byte offset {offset}: {why} ({after})"
            )?;
            Ok(EXIT_ERROR)
        }
    }
}
