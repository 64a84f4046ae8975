//! The txn log, in ZooKeeper 3.8's `FileTxnLog` format.
//!
//! A log directory (`<dataLogDir>/version-2`) holds files named
//! `log.<zxid of their first txn, lowercase hex>`. Each file is:
//!
//! ```text
//! FileHeader   int magic "ZKLG" (0x5A4B4C47), int version 2, long dbid 0
//! per txn      long checksum   Adler-32 of the txn bytes (as an unsigned value)
//!              int  length     of the txn bytes
//!              txn bytes       TxnHeader{long clientId, int cxid, long zxid,
//!                              long time, int type} + the txn record
//!                              [+ TxnDigest{int version, long treeDigest}]
//!              byte 0x42       'B', end of record
//! padding      zeros: the file grows in preallocation blocks
//! ```
//!
//! All integers are big-endian. We write no `TxnDigest`; the reader accepts
//! (and reports) one, as ZooKeeper 3.6+ writes it by default.
//!
//! Reading a file ends cleanly at EOF or at a zero entry header (the
//! preallocated zeros). An entry cut short — EOF inside it, or its `'B'`
//! missing — is a *torn tail*: the write that was under way when the process
//! or machine stopped. Such an entry was never acknowledged (it was not
//! durable), so reading stops there and reports where. A checksum mismatch, a
//! bad file header, an impossible length or an undecodable record is
//! *corruption*, reported with the file and byte offset.
//!
//! The writer reaches the disk only through [`LogDisk`]/[`LogFile`] (the real
//! one is [`RealDisk`]), so the fault tests can run it on
//! [`SimDisk`](super::sim_disk::SimDisk): short writes, fsync errors, a full
//! disk, and crashes that keep only what was synced. A dynamic call per
//! commit costs nothing next to the write itself.

use crate::core::txn::{Txn, TxnBody};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use jute::persistence::{FileHeader, TXNLOG_MAGIC};
use jute::txn::{TxnDigest, TxnHeader};
use jute::{OpCode, Record};
use std::fmt;
use std::fs::{File, OpenOptions};
use std::io::{self, BufReader, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, Instant};

/// An open log file, as the writer uses it.
pub trait LogFile: Send {
    /// Writes some of `buf` at the current end; returns how much (a short
    /// write is not an error, as with `write(2)`).
    fn write(&mut self, buf: &[u8]) -> io::Result<usize>;
    /// Sets the file's length (growing it with zeros).
    fn set_len(&mut self, len: u64) -> io::Result<()>;
    /// Makes the file's data and size durable (`fdatasync`).
    fn sync_data(&mut self) -> io::Result<()>;
}

/// Where log files live.
pub trait LogDisk: Send + Sync {
    /// Creates `dir` and its parents.
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;
    /// Creates a new, empty file; fails if `path` exists.
    fn create_new(&self, path: &Path) -> io::Result<Box<dyn LogFile>>;
    /// Makes `dir`'s entries (a new file's name) durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
}

/// The machine's file system.
#[derive(Debug, Clone, Copy, Default)]
pub struct RealDisk;

impl LogFile for File {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        Write::write(self, buf)
    }

    fn set_len(&mut self, len: u64) -> io::Result<()> {
        File::set_len(self, len)
    }

    fn sync_data(&mut self) -> io::Result<()> {
        File::sync_data(self)
    }
}

impl LogDisk for RealDisk {
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        std::fs::create_dir_all(dir)
    }

    fn create_new(&self, path: &Path) -> io::Result<Box<dyn LogFile>> {
        let file = OpenOptions::new().write(true).create_new(true).open(path)?;
        Ok(Box::new(file))
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        File::open(dir)?.sync_all()
    }
}

/// The txn log format version in the file header.
pub const TXNLOG_VERSION: i32 = 2;
/// The dbid ZooKeeper writes (always 0).
pub const TXNLOG_DBID: i64 = 0;
/// Length of the file header.
pub const FILE_HEADER_LEN: u64 = 16;
/// The byte that ends every entry (`'B'`).
pub const END_OF_RECORD: u8 = 0x42;
/// ZooKeeper's default `preAllocSize`: 64 MiB.
pub const DEFAULT_PREALLOC_BYTES: u64 = 64 * 1024 * 1024;
/// The file is extended when the write position comes within this many bytes
/// of its end (as ZooKeeper's `FilePadding` does).
pub const PREALLOC_MARGIN: u64 = 4096;
/// The longest txn we write or accept: far above any sane `jute.maxbuffer`.
/// A longer length field in a log can only be corruption.
pub const MAX_TXN_LEN: usize = 256 * 1024 * 1024;
/// Checksum + length before the txn bytes.
const ENTRY_HEAD_LEN: usize = 12;
/// Length of a serialized `TxnDigest`.
const DIGEST_LEN: usize = 12;

/// The file name of the log whose first txn has `zxid`: `log.<hex>`.
pub fn log_file_name(zxid: i64) -> String {
    format!("log.{zxid:x}")
}

/// The zxid in a log file name (`log.<hex>`), or `None` for any other name.
pub fn zxid_of_log_file_name(name: &str) -> Option<i64> {
    let hex = name.strip_prefix("log.")?;
    if hex.is_empty() || hex.len() > 16 || !hex.bytes().all(|b| b.is_ascii_hexdigit()) {
        return None;
    }
    u64::from_str_radix(hex, 16).ok().map(|z| z as i64)
}

/// The log files of `dir` as (first zxid, path), sorted by zxid. A missing
/// directory has none.
pub fn log_files(dir: &Path) -> io::Result<Vec<(i64, PathBuf)>> {
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(Vec::new()),
        Err(e) => return Err(e),
    };
    let mut files = Vec::new();
    for entry in entries {
        let entry = entry?;
        let Some(zxid) = entry.file_name().to_str().and_then(zxid_of_log_file_name) else {
            continue;
        };
        if entry.file_type()?.is_file() {
            files.push((zxid, entry.path()));
        }
    }
    files.sort();
    Ok(files)
}

/// The Adler-32 checksum of the txn bytes, as the `long` ZooKeeper stores.
pub fn checksum(txn_bytes: &[u8]) -> i64 {
    i64::from(adler2::adler32_slice(txn_bytes))
}

/// Serializes a txn as it is stored in an entry: header then record.
pub fn serialize_txn(txn: &Txn, buf: &mut BytesMut) {
    txn.header.write(buf);
    txn.body.write(buf);
}

/// Appends one complete entry (checksum, length, txn bytes, `'B'`) to `buf`.
/// Fails, leaving `buf` as it was, if the txn exceeds [`MAX_TXN_LEN`].
pub fn encode_entry(txn: &Txn, buf: &mut BytesMut) -> io::Result<()> {
    let start = buf.len();
    buf.put_i64(0);
    buf.put_i32(0);
    serialize_txn(txn, buf);
    let len = buf.len() - start - ENTRY_HEAD_LEN;
    if len > MAX_TXN_LEN {
        buf.truncate(start);
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!(
                "txn zxid 0x{:x} is {len} bytes, over the {MAX_TXN_LEN}-byte limit",
                txn.header.zxid
            ),
        ));
    }
    let sum = checksum(&buf[start + ENTRY_HEAD_LEN..]);
    buf[start..start + 8].copy_from_slice(&sum.to_be_bytes());
    buf[start + 8..start + 12].copy_from_slice(&(len as i32).to_be_bytes());
    buf.put_u8(END_OF_RECORD);
    Ok(())
}

fn file_header_bytes() -> BytesMut {
    let mut buf = BytesMut::with_capacity(FILE_HEADER_LEN as usize);
    FileHeader {
        magic: TXNLOG_MAGIC,
        version: TXNLOG_VERSION,
        dbid: TXNLOG_DBID,
    }
    .write(&mut buf);
    buf
}

/// The size a preallocated file must have so that `end` (the write position
/// after the pending write) is more than [`PREALLOC_MARGIN`] bytes from its
/// end: unchanged if it already is, else the next multiple of `block` past
/// `end + margin`. `block == 0` disables preallocation.
fn padded_size(end: u64, current: u64, block: u64) -> io::Result<u64> {
    if block == 0 || end + PREALLOC_MARGIN < current {
        return Ok(current);
    }
    ((end + PREALLOC_MARGIN) / block + 1)
        .checked_mul(block)
        .ok_or_else(|| io::Error::new(io::ErrorKind::InvalidInput, "preallocation overflows"))
}

/// Appends txns to one log file. Appends are buffered; [`commit`] writes
/// them and (optionally) makes them durable.
///
/// [`commit`]: TxnLogWriter::commit
pub struct TxnLogWriter {
    file: Box<dyn LogFile>,
    disk: Arc<dyn LogDisk>,
    path: PathBuf,
    dir: PathBuf,
    /// Bytes appended but not yet written (the file header before the first commit).
    pending: BytesMut,
    /// Bytes written to the file: where the next write goes.
    written: u64,
    /// The file's length (greater than `written` once preallocated).
    allocated: u64,
    prealloc: u64,
    /// Whether data was written since the last fdatasync.
    unsynced: bool,
    /// Whether the directory entry of the new file has been made durable.
    dir_synced: bool,
    last_fsync: Option<Duration>,
    /// Set when a write or sync failed: the file's state is then unknown and
    /// every later call fails.
    failed: bool,
}

impl TxnLogWriter {
    /// Opens a NEW log file `log.<hex first_zxid>` in `dir` (the version-2
    /// dir, created if missing). Never overwrites an existing file (error).
    /// The file header is written with the first commit.
    pub fn create(dir: &Path, first_zxid: i64, prealloc_bytes: u64) -> io::Result<TxnLogWriter> {
        TxnLogWriter::create_on(Arc::new(RealDisk), dir, first_zxid, prealloc_bytes)
    }

    /// [`create`](Self::create) on another disk.
    pub fn create_on(
        disk: Arc<dyn LogDisk>,
        dir: &Path,
        first_zxid: i64,
        prealloc_bytes: u64,
    ) -> io::Result<TxnLogWriter> {
        disk.create_dir_all(dir)?;
        let path = dir.join(log_file_name(first_zxid));
        let file = disk
            .create_new(&path)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        Ok(TxnLogWriter {
            file,
            disk,
            path,
            dir: dir.to_path_buf(),
            pending: file_header_bytes(),
            written: 0,
            allocated: 0,
            prealloc: prealloc_bytes,
            unsynced: false,
            dir_synced: false,
            last_fsync: None,
            failed: false,
        })
    }

    /// Appends one txn (buffered; not yet durable).
    pub fn append(&mut self, txn: &Txn) -> io::Result<()> {
        self.check_usable()?;
        encode_entry(txn, &mut self.pending)
    }

    /// Writes buffered entries and, if `fsync`, fdatasyncs. After Ok,
    /// everything appended is durable (with `fsync`) or at least in the OS.
    pub fn commit(&mut self, fsync: bool) -> io::Result<()> {
        self.check_usable()?;
        let result = self.commit_inner(fsync);
        if result.is_err() {
            self.failed = true;
        }
        result
    }

    fn commit_inner(&mut self, fsync: bool) -> io::Result<()> {
        self.last_fsync = None;
        if !self.pending.is_empty() {
            let end = self.written + self.pending.len() as u64;
            let size = padded_size(end, self.allocated, self.prealloc)?;
            if size != self.allocated {
                // Extends the file with zeros; fdatasync then persists the
                // new size once per block rather than on every commit.
                self.file.set_len(size)?;
                self.allocated = size;
            }
            let mut rest = &self.pending[..];
            while !rest.is_empty() {
                match self.file.write(rest) {
                    Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                    Ok(n) => rest = &rest[n..],
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                    Err(e) => return Err(e),
                }
            }
            self.written = end;
            self.allocated = self.allocated.max(end);
            self.pending.clear();
            self.unsynced = true;
        }
        if fsync && self.unsynced {
            let start = Instant::now();
            self.file.sync_data()?;
            if !self.dir_synced {
                // The new file's directory entry must survive a crash too.
                self.disk.sync_dir(&self.dir)?;
                self.dir_synced = true;
            }
            self.unsynced = false;
            self.last_fsync = Some(start.elapsed());
        }
        Ok(())
    }

    fn check_usable(&self) -> io::Result<()> {
        if self.failed {
            Err(io::Error::other(format!(
                "{}: an earlier write failed; the log is unusable",
                self.path.display()
            )))
        } else {
            Ok(())
        }
    }

    /// The file being written.
    pub fn path(&self) -> &Path {
        &self.path
    }

    /// How long the fdatasync of the last [`commit`](Self::commit) took
    /// (`None` if it did not sync).
    pub fn last_fsync_duration(&self) -> Option<Duration> {
        self.last_fsync
    }

    /// The file's current length, preallocation included.
    pub fn file_size(&self) -> u64 {
        self.allocated
    }

    /// Bytes written so far (header and entries, no padding).
    pub fn written_bytes(&self) -> u64 {
        self.written
    }
}

/// Why the log could not be read.
#[derive(Debug)]
pub enum StorageError {
    Io(io::Error),
    Corrupt {
        file: PathBuf,
        offset: u64,
        why: String,
    },
}

impl fmt::Display for StorageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            StorageError::Io(e) => write!(f, "txn log I/O error: {e}"),
            StorageError::Corrupt { file, offset, why } => write!(
                f,
                "corrupt txn log {} at byte offset {offset}: {why}",
                file.display()
            ),
        }
    }
}

impl std::error::Error for StorageError {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        match self {
            StorageError::Io(e) => Some(e),
            StorageError::Corrupt { .. } => None,
        }
    }
}

impl From<io::Error> for StorageError {
    fn from(e: io::Error) -> Self {
        StorageError::Io(e)
    }
}

/// What [`read_logs`] found.
#[derive(Debug, Default)]
pub struct LogRead {
    /// Every complete txn after `after_zxid`, in zxid order.
    pub txns: Vec<Txn>,
    /// Where the last file ends in a torn (partial) entry, if it does: the
    /// file and the offset of that entry. Also set, at the end of the file
    /// header, for a last file that holds no txn at all.
    pub torn_tail: Option<(PathBuf, u64)>,
}

/// One complete entry of a log file.
#[derive(Debug, Clone)]
pub struct LogEntry {
    /// Offset of the entry (its checksum field) in the file.
    pub offset: u64,
    pub txn: Txn,
    /// The `TxnDigest` ZooKeeper 3.6+ appends, if present.
    pub digest: Option<TxnDigest>,
    /// The stored txn bytes (header, record, digest), as checksummed.
    pub raw: Bytes,
}

/// One step of reading a log file.
#[derive(Debug)]
pub enum ReadStep {
    Entry(LogEntry),
    /// A clean end: EOF or the preallocated zeros.
    End,
    /// A partial entry (or file header) starting at `offset`.
    Torn {
        offset: u64,
        why: String,
    },
}

/// Reads one log file entry by entry.
pub struct LogFileReader {
    input: BufReader<File>,
    path: PathBuf,
    offset: u64,
    header_read: bool,
    finished: bool,
}

/// Reads until `buf` is full or EOF; returns how many bytes were read.
fn read_full(input: &mut impl Read, buf: &mut [u8]) -> io::Result<usize> {
    let mut n = 0;
    while n < buf.len() {
        match input.read(&mut buf[n..]) {
            Ok(0) => break,
            Ok(k) => n += k,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(n)
}

impl LogFileReader {
    pub fn open(path: &Path) -> Result<LogFileReader, StorageError> {
        let file = File::open(path)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", path.display())))?;
        Ok(LogFileReader {
            input: BufReader::with_capacity(256 * 1024, file),
            path: path.to_path_buf(),
            offset: 0,
            header_read: false,
            finished: false,
        })
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn corrupt(&self, offset: u64, why: String) -> StorageError {
        StorageError::Corrupt {
            file: self.path.clone(),
            offset,
            why,
        }
    }

    fn read_full(&mut self, buf: &mut [u8]) -> Result<usize, StorageError> {
        let n = read_full(&mut self.input, buf).map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("{} at offset {}: {e}", self.path.display(), self.offset),
            )
        })?;
        self.offset += n as u64;
        Ok(n)
    }

    fn read_header(&mut self) -> Result<Option<ReadStep>, StorageError> {
        let mut raw = [0u8; FILE_HEADER_LEN as usize];
        let n = self.read_full(&mut raw)?;
        // A header cut short by a crash: a prefix of the one we write, then
        // zeros (the file's length reached the disk, the rest of the header
        // did not). Nothing in such a file was ever acknowledged.
        let expected = file_header_bytes();
        let written = raw.iter().rposition(|&b| b != 0).map_or(0, |i| i + 1);
        let cut_short = raw[..] != expected[..] && raw[..written] == expected[..written];
        if n < raw.len() || cut_short {
            // Created but the header never reached the disk.
            return Ok(Some(ReadStep::Torn {
                offset: 0,
                why: if n < raw.len() {
                    format!("file header incomplete ({n} of {FILE_HEADER_LEN} bytes)")
                } else {
                    "file header is all zeros".to_string()
                },
            }));
        }
        let header = FileHeader::read(&mut Bytes::copy_from_slice(&raw))
            .map_err(|e| self.corrupt(0, e.to_string()))?;
        if header.magic != TXNLOG_MAGIC {
            return Err(self.corrupt(
                0,
                format!(
                    "bad magic 0x{:08x} (a txn log has 0x{TXNLOG_MAGIC:08x})",
                    header.magic
                ),
            ));
        }
        if header.version != TXNLOG_VERSION {
            return Err(self.corrupt(4, format!("unsupported txn log version {}", header.version)));
        }
        Ok(None)
    }

    /// The next entry, a clean end, or a torn entry. After `End` or `Torn`
    /// every call returns `End`.
    pub fn next_step(&mut self) -> Result<ReadStep, StorageError> {
        if self.finished {
            return Ok(ReadStep::End);
        }
        let step = self.step();
        if !matches!(step, Ok(ReadStep::Entry(_))) {
            self.finished = true;
        }
        step
    }

    fn step(&mut self) -> Result<ReadStep, StorageError> {
        if !self.header_read {
            self.header_read = true;
            if let Some(step) = self.read_header()? {
                return Ok(step);
            }
        }
        let start = self.offset;
        let torn = |why: &str| {
            Ok(ReadStep::Torn {
                offset: start,
                why: why.to_string(),
            })
        };
        let mut head = [0u8; ENTRY_HEAD_LEN];
        let n = self.read_full(&mut head)?;
        if head[..n].iter().all(|&b| b == 0) {
            // EOF, or the preallocated zeros (possibly cut short).
            return Ok(ReadStep::End);
        }
        if n < ENTRY_HEAD_LEN {
            return torn("EOF inside the entry header");
        }
        let stored_sum = i64::from_be_bytes(head[..8].try_into().expect("8 bytes"));
        let len = i32::from_be_bytes(head[8..].try_into().expect("4 bytes"));
        if len == 0 {
            // ZooKeeper ends the log at any zero length; a checksum without
            // its length is a write cut short.
            return torn("zero length after a non-zero checksum");
        }
        if len < 0 || len as usize > MAX_TXN_LEN {
            return Err(self.corrupt(start + 8, format!("impossible txn length {len}")));
        }
        // Grown as bytes arrive, so a damaged length near the end of a file
        // costs no more memory than the file holds.
        let len = len as usize;
        let mut body = Vec::with_capacity(len.min(1 << 20));
        let got = (&mut self.input)
            .take(len as u64)
            .read_to_end(&mut body)
            .map_err(|e| {
                io::Error::new(
                    e.kind(),
                    format!("{} at offset {}: {e}", self.path.display(), self.offset),
                )
            })?;
        self.offset += got as u64;
        if got < len {
            return torn("EOF inside the txn bytes");
        }
        let mut eor = [0u8; 1];
        if self.read_full(&mut eor)? == 0 {
            return torn("EOF before the end-of-record byte");
        }
        if eor[0] != END_OF_RECORD {
            return torn(&format!(
                "end-of-record byte is 0x{:02x}, not 0x{END_OF_RECORD:02x}",
                eor[0]
            ));
        }
        let computed = checksum(&body);
        if computed != stored_sum {
            return Err(self.corrupt(
                start,
                format!(
                    "checksum mismatch: stored 0x{stored_sum:x}, computed 0x{computed:x} over {len} bytes"
                ),
            ));
        }
        let raw = Bytes::from(body);
        let (txn, digest) = decode_txn(raw.clone()).map_err(|why| self.corrupt(start, why))?;
        Ok(ReadStep::Entry(LogEntry {
            offset: start,
            txn,
            digest,
            raw,
        }))
    }
}

/// Decodes the stored txn bytes: header, record, optional digest.
pub fn decode_txn(raw: Bytes) -> Result<(Txn, Option<TxnDigest>), String> {
    let mut buf = raw;
    let header = TxnHeader::read(&mut buf).map_err(|e| format!("txn header: {e}"))?;
    let after_header = buf.clone();
    let parsed = TxnBody::read(header.type_, &mut buf);
    let (body, mut rest) = match parsed {
        Ok(body) if buf.is_empty() || buf.len() == DIGEST_LEN => (body, buf),
        // A closeSession written without its record (closeSessionTxn
        // disabled) but with a digest.
        _ if header.type_ == OpCode::CloseSession as i32 && after_header.len() == DIGEST_LEN => {
            (TxnBody::CloseSession(Default::default()), after_header)
        }
        Ok(_) => {
            return Err(format!(
                "{} unexpected bytes after the record of a txn of type {}",
                buf.len(),
                header.type_
            ))
        }
        Err(e) => return Err(format!("record of txn type {}: {e}", header.type_)),
    };
    let digest = if rest.has_remaining() {
        Some(TxnDigest::read(&mut rest).map_err(|e| format!("txn digest: {e}"))?)
    } else {
        None
    };
    Ok((Txn { header, body }, digest))
}

/// Reads every txn in every `log.*` file of `dir` in zxid order (files
/// sorted by their zxid), skipping txns with zxid <= `after_zxid` (and the
/// files that can only hold such txns). A torn tail in the LAST file ends
/// reading (returned in [`LogRead::torn_tail`]); in an earlier file it ends
/// that file, with a warning, as in ZooKeeper. Corruption anywhere is an
/// `Err` naming file and offset, as are zxids that do not increase.
pub fn read_logs(dir: &Path, after_zxid: i64) -> Result<LogRead, StorageError> {
    let mut stream = super::log_stream::LogStream::open(dir, after_zxid)?;
    let mut out = LogRead::default();
    for entry in stream.by_ref() {
        out.txns.push(entry?.txn);
    }
    out.torn_tail = stream.torn_tail().cloned();
    Ok(out)
}

/// Truncates a file at a torn tail so the next writer does not append after
/// garbage (used at startup). If no complete txn precedes `offset` (it is
/// within the file header, or right after it) the file is removed instead:
/// it holds nothing, and the next writer may need its name.
pub fn truncate_torn_tail(file: &Path, offset: u64) -> io::Result<()> {
    if offset <= FILE_HEADER_LEN {
        std::fs::remove_file(file)?;
        if let Some(dir) = file.parent() {
            File::open(dir)?.sync_all()?;
        }
        return Ok(());
    }
    let f = OpenOptions::new().write(true).open(file)?;
    f.set_len(offset)?;
    f.sync_all()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn file_names() {
        assert_eq!(log_file_name(1), "log.1");
        assert_eq!(log_file_name(0x1_0000_00ab), "log.1000000ab");
        assert_eq!(zxid_of_log_file_name("log.1000000ab"), Some(0x1_0000_00ab));
        assert_eq!(zxid_of_log_file_name("log.FF"), Some(255));
        assert_eq!(zxid_of_log_file_name("log."), None);
        assert_eq!(zxid_of_log_file_name("log.1.bak"), None);
        assert_eq!(zxid_of_log_file_name("snapshot.1"), None);
        assert_eq!(zxid_of_log_file_name("log.ffffffffffffffff"), Some(-1));
    }

    #[test]
    fn padding_follows_file_padding() {
        let mb = 1 << 20;
        // Fresh file: one block.
        assert_eq!(padded_size(16, 0, mb).unwrap(), mb);
        // Well inside: unchanged.
        assert_eq!(padded_size(1000, mb, mb).unwrap(), mb);
        // Within 4 KiB of the end: one more block.
        assert_eq!(padded_size(mb - 4096, mb, mb).unwrap(), 2 * mb);
        assert_eq!(padded_size(mb - 4097, mb, mb).unwrap(), mb);
        // A write larger than a block: enough blocks to cover it.
        assert_eq!(padded_size(3 * mb + 5, mb, mb).unwrap(), 4 * mb);
        // Disabled.
        assert_eq!(padded_size(3 * mb, 0, 0).unwrap(), 0);
    }

    #[test]
    fn checksum_is_java_adler32() {
        // java.util.zip.Adler32 of "Wikipedia" is 0x11E60398.
        assert_eq!(checksum(b"Wikipedia"), 0x11E6_0398);
        assert_eq!(checksum(b""), 1);
    }
}
