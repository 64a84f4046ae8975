//! The txn log: round trips of every txn kind, preallocation, torn tails,
//! corruption, group commit through the log thread, and compatibility with
//! Apache ZooKeeper 3.8.0 both ways (its logs in `tests/fixtures/`, read
//! here; our logs, read by its `TxnLogToolkit` when the jar is installed).

use bytes::{Bytes, BytesMut};
use jute::data::{Acl, Id};
use jute::txn::*;
use jute::OpCode;
use std::fs;
use std::path::{Path, PathBuf};
use std::sync::mpsc as std_mpsc;
use std::sync::Arc;
use std::time::Duration;
use zk_server::core::txn::{SubTxn, Txn, TxnBody};
use zk_server::storage::txn_log::{
    encode_entry, read_logs, serialize_txn, truncate_torn_tail, LogFileReader, ReadStep,
    StorageError, TxnLogWriter, DEFAULT_PREALLOC_BYTES, FILE_HEADER_LEN,
};
use zk_server::storage::{spawn_log_thread, LogConfig, LogEvent};

const WAIT: Duration = Duration::from_secs(10);

mod common;
use common::TempDir;

fn open_acl() -> Vec<Acl> {
    vec![Acl {
        perms: 31,
        id: Id {
            scheme: "world".into(),
            id: "anyone".into(),
        },
    }]
}

fn txn(zxid: i64, op: OpCode, body: TxnBody) -> Txn {
    Txn {
        header: TxnHeader {
            client_id: 0x1000_0abc_0000_0001,
            cxid: zxid as i32,
            zxid,
            time: 1_700_000_000_000 + zxid,
            type_: op.code(),
        },
        body,
    }
}

fn create(path: &str) -> TxnBody {
    TxnBody::Create(CreateTxn {
        path: path.into(),
        data: Some(Bytes::from_static(b"data")),
        acl: open_acl(),
        ephemeral: false,
        parent_c_version: 1,
    })
}

/// One txn of every kind, zxids `first..`.
fn every_kind(first: i64) -> Vec<Txn> {
    let bodies: Vec<(OpCode, TxnBody)> = vec![
        (
            OpCode::CreateSession,
            TxnBody::CreateSession(CreateSessionTxn { time_out: 30000 }),
        ),
        (OpCode::Create, create("/a")),
        (
            OpCode::Create,
            TxnBody::Create(CreateTxn {
                path: "/a/eph".into(),
                data: None,
                acl: vec![
                    Acl {
                        perms: 1,
                        id: Id {
                            scheme: "digest".into(),
                            id: "u:Jq7wMyA/w2Vd5WIDAKdu4OIIFEQ=".into(),
                        },
                    },
                    open_acl().remove(0),
                ],
                ephemeral: true,
                parent_c_version: 2,
            }),
        ),
        (OpCode::Create2, create("/b")),
        (
            OpCode::CreateContainer,
            TxnBody::CreateContainer(CreateContainerTxn {
                path: "/c".into(),
                data: Some(Bytes::new()),
                acl: open_acl(),
                parent_c_version: 3,
            }),
        ),
        (
            OpCode::CreateTtl,
            TxnBody::CreateTtl(CreateTtlTxn {
                path: "/t".into(),
                data: Some(Bytes::from_static(b"\x00\xff binary")),
                acl: open_acl(),
                parent_c_version: 4,
                ttl: 60_000,
            }),
        ),
        (
            OpCode::SetData,
            TxnBody::SetData(SetDataTxn {
                path: "/a".into(),
                data: Some(Bytes::from(vec![7u8; 3000])),
                version: 1,
            }),
        ),
        (
            OpCode::SetAcl,
            TxnBody::SetAcl(SetAclTxn {
                path: "/a".into(),
                acl: open_acl(),
                version: 1,
            }),
        ),
        (
            OpCode::Check,
            TxnBody::Check(CheckVersionTxn {
                path: "/a".into(),
                version: 1,
            }),
        ),
        (
            OpCode::Delete,
            TxnBody::Delete(DeleteTxn { path: "/b".into() }),
        ),
        (
            OpCode::DeleteContainer,
            TxnBody::Delete(DeleteTxn { path: "/c".into() }),
        ),
        (OpCode::Error, TxnBody::Error(ErrorTxn { err: -110 })),
        (
            OpCode::Multi,
            TxnBody::Multi(vec![
                SubTxn {
                    type_: OpCode::Create.code(),
                    body: create("/m"),
                },
                SubTxn {
                    type_: OpCode::SetData.code(),
                    body: TxnBody::SetData(SetDataTxn {
                        path: "/m".into(),
                        data: None,
                        version: 0,
                    }),
                },
                SubTxn {
                    type_: OpCode::Check.code(),
                    body: TxnBody::Check(CheckVersionTxn {
                        path: "/m".into(),
                        version: 1,
                    }),
                },
                SubTxn {
                    type_: OpCode::Delete.code(),
                    body: TxnBody::Delete(DeleteTxn { path: "/m".into() }),
                },
                SubTxn {
                    type_: OpCode::CreateTtl.code(),
                    body: TxnBody::CreateTtl(CreateTtlTxn {
                        path: "/mt".into(),
                        data: None,
                        acl: open_acl(),
                        parent_c_version: 9,
                        ttl: 5,
                    }),
                },
            ]),
        ),
        (
            // A failed multi, as ZooKeeper logs it.
            OpCode::Multi,
            TxnBody::Multi(vec![
                SubTxn {
                    type_: OpCode::Create.code(),
                    body: create("/n"),
                },
                SubTxn {
                    type_: OpCode::Error.code(),
                    body: TxnBody::Error(ErrorTxn { err: -101 }),
                },
                SubTxn {
                    type_: OpCode::Error.code(),
                    body: TxnBody::Error(ErrorTxn { err: -2 }),
                },
            ]),
        ),
        (OpCode::Multi, TxnBody::Multi(vec![])),
        (
            OpCode::CloseSession,
            TxnBody::CloseSession(CloseSessionTxn {
                paths2_delete: vec!["/a/eph".into()],
            }),
        ),
        (
            OpCode::CloseSession,
            TxnBody::CloseSession(CloseSessionTxn::default()),
        ),
    ];
    bodies
        .into_iter()
        .enumerate()
        .map(|(i, (op, body))| txn(first + i as i64, op, body))
        .collect()
}

/// `n` small create txns, zxids `first..first + n`.
fn creates(first: i64, n: usize) -> Vec<Txn> {
    (0..n as i64)
        .map(|i| {
            let zxid = first + i;
            txn(zxid, OpCode::Create, create(&format!("/n{zxid}")))
        })
        .collect()
}

fn write_log(dir: &Path, txns: &[Txn], prealloc: u64) -> PathBuf {
    let mut w = TxnLogWriter::create(dir, txns[0].header.zxid, prealloc).unwrap();
    for t in txns {
        w.append(t).unwrap();
    }
    w.commit(true).unwrap();
    w.path().to_path_buf()
}

/// Every entry of one file, and how reading it ended.
fn entries(path: &Path) -> (Vec<zk_server::storage::txn_log::LogEntry>, ReadStep) {
    let mut r = LogFileReader::open(path).unwrap();
    let mut out = Vec::new();
    loop {
        match r.next_step().unwrap() {
            ReadStep::Entry(e) => out.push(e),
            end => return (out, end),
        }
    }
}

fn offsets(path: &Path) -> Vec<u64> {
    entries(path).0.iter().map(|e| e.offset).collect()
}

fn encoded(t: &Txn) -> Vec<u8> {
    let mut b = BytesMut::new();
    encode_entry(t, &mut b).unwrap();
    b.to_vec()
}

#[test]
fn every_kind_round_trips() {
    let tmp = TempDir::new("kinds");
    let txns = every_kind(1);
    let path = write_log(&tmp.v2(), &txns, 64 * 1024);
    assert_eq!(path.file_name().unwrap(), "log.1");

    let read = read_logs(&tmp.v2(), 0).unwrap();
    assert_eq!(read.txns, txns);
    assert!(read.torn_tail.is_none());

    // Byte layout: header, then each entry exactly as encoded.
    let bytes = fs::read(&path).unwrap();
    assert_eq!(
        &bytes[..16],
        b"ZKLG\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00"
    );
    let mut at = FILE_HEADER_LEN as usize;
    for t in &txns {
        let e = encoded(t);
        assert_eq!(&bytes[at..at + e.len()], &e[..]);
        assert_eq!(*e.last().unwrap(), b'B');
        at += e.len();
    }
    assert!(bytes[at..].iter().all(|&b| b == 0));

    // after_zxid skips what a snapshot already holds.
    let read = read_logs(&tmp.v2(), 5).unwrap();
    assert_eq!(read.txns, txns[5..]);
    let read = read_logs(&tmp.v2(), 1000).unwrap();
    assert!(read.txns.is_empty());
}

#[test]
fn several_files_in_zxid_order() {
    let tmp = TempDir::new("files");
    let all = creates(1, 40);
    // Written out of order; names sort by zxid, not as text (log.9 < log.1e).
    write_log(&tmp.v2(), &all[30..], 0); // log.1f
    write_log(&tmp.v2(), &all[8..30], 0); // log.9
    write_log(&tmp.v2(), &all[..8], 0); // log.1
    fs::write(tmp.v2().join("snapshot.0"), b"not a log").unwrap();
    fs::write(tmp.v2().join("log.9.bak"), b"not a log").unwrap();

    let read = read_logs(&tmp.v2(), 0).unwrap();
    assert_eq!(read.txns, all);
    let read = read_logs(&tmp.v2(), 12).unwrap();
    assert_eq!(read.txns, all[12..]);
    // A corrupt file that can only hold older txns is not even opened.
    fs::write(tmp.v2().join("log.1"), b"garbage, not a txn log").unwrap();
    let read = read_logs(&tmp.v2(), 8).unwrap();
    assert_eq!(read.txns, all[8..]);
    assert!(read_logs(&tmp.v2(), 7).is_err());

    // A missing directory is an empty log.
    let read = read_logs(&tmp.0.join("nope"), 0).unwrap();
    assert!(read.txns.is_empty() && read.torn_tail.is_none());
}

#[test]
fn create_never_overwrites() {
    let tmp = TempDir::new("overwrite");
    write_log(&tmp.v2(), &creates(5, 1), 0);
    let err = TxnLogWriter::create(&tmp.v2(), 5, 0)
        .err()
        .expect("must fail");
    assert_eq!(err.kind(), std::io::ErrorKind::AlreadyExists);
    assert_eq!(read_logs(&tmp.v2(), 0).unwrap().txns, creates(5, 1));
}

#[test]
fn preallocation_grows_in_blocks() {
    let tmp = TempDir::new("prealloc");
    let block = 16 * 1024;
    let mut w = TxnLogWriter::create(&tmp.v2(), 1, block).unwrap();
    let path = w.path().to_path_buf();
    let txns = creates(1, 600);
    let mut sizes = Vec::new();
    for chunk in txns.chunks(10) {
        for t in chunk {
            w.append(t).unwrap();
        }
        w.commit(true).unwrap();
        let len = fs::metadata(&path).unwrap().len();
        assert_eq!(len, w.file_size());
        assert_eq!(len % block, 0, "size {len} is not a multiple of the block");
        // Never within 4 KiB of the end after a commit.
        assert!(w.written_bytes() + 4096 < len);
        sizes.push(len);
    }
    assert!(sizes.windows(2).all(|s| s[0] <= s[1]));
    assert!(
        *sizes.last().unwrap() >= 3 * block,
        "grew past several blocks"
    );
    let bytes = fs::read(&path).unwrap();
    assert!(bytes[w.written_bytes() as usize..].iter().all(|&b| b == 0));
    let read = read_logs(&tmp.v2(), 0).unwrap();
    assert_eq!(read.txns, txns);
    assert!(read.torn_tail.is_none());

    // ZooKeeper's default block: 64 MiB (a sparse file).
    let path = write_log(&tmp.0.join("big"), &creates(1, 1), DEFAULT_PREALLOC_BYTES);
    assert_eq!(fs::metadata(&path).unwrap().len(), DEFAULT_PREALLOC_BYTES);

    // 0 disables preallocation.
    let path = write_log(&tmp.0.join("none"), &creates(1, 3), 0);
    let expected: usize = 16
        + creates(1, 3)
            .iter()
            .map(|t| encoded(t).len())
            .sum::<usize>();
    assert_eq!(fs::metadata(&path).unwrap().len(), expected as u64);
}

#[test]
fn commit_without_fsync_and_empty_commits() {
    let tmp = TempDir::new("nosync");
    let mut w = TxnLogWriter::create(&tmp.v2(), 1, 4096).unwrap();
    w.commit(true).unwrap(); // header only
    w.append(&creates(1, 1)[0]).unwrap();
    w.commit(false).unwrap();
    assert!(w.last_fsync_duration().is_none());
    w.commit(true).unwrap();
    assert!(w.last_fsync_duration().is_some());
    w.commit(true).unwrap();
    assert!(w.last_fsync_duration().is_none(), "nothing new to sync");
    assert_eq!(read_logs(&tmp.v2(), 0).unwrap().txns, creates(1, 1));
}

/// Writes 5 txns without preallocation; returns the file and entry offsets.
fn five(tmp: &TempDir) -> (PathBuf, Vec<u64>) {
    let path = write_log(&tmp.v2(), &creates(1, 5), 0);
    let offs = offsets(&path);
    assert_eq!(offs.len(), 5);
    (path, offs)
}

fn set_len(path: &Path, len: u64) {
    fs::OpenOptions::new()
        .write(true)
        .open(path)
        .unwrap()
        .set_len(len)
        .unwrap();
}

fn poke(path: &Path, at: u64, byte: u8) {
    let mut bytes = fs::read(path).unwrap();
    bytes[at as usize] = byte;
    fs::write(path, bytes).unwrap();
}

#[test]
fn torn_tails_stop_reading() {
    let tmp = TempDir::new("torn");
    let (path, offs) = five(&tmp);
    let full = fs::metadata(&path).unwrap().len();
    let last = offs[4];
    type Damage<'a> = Box<dyn Fn() + 'a>;
    let cases: Vec<(&str, Damage)> = vec![
        (
            "inside the txn bytes",
            Box::new(|| set_len(&path, full - 6)),
        ),
        ("without the 'B'", Box::new(|| set_len(&path, full - 1))),
        ("inside the length", Box::new(|| set_len(&path, last + 10))),
        ("inside the checksum", Box::new(|| set_len(&path, last + 7))),
        ("after the checksum", Box::new(|| set_len(&path, last + 8))),
        ("'B' still zero", Box::new(|| poke(&path, full - 1, 0))),
        ("'B' wrong", Box::new(|| poke(&path, full - 1, b'X'))),
        (
            "zero length after a checksum",
            Box::new(|| {
                set_len(&path, last + 12);
                for i in 8..12 {
                    poke(&path, last + i, 0);
                }
            }),
        ),
    ];
    let original = fs::read(&path).unwrap();
    for (what, damage) in cases {
        fs::write(&path, &original).unwrap();
        damage();
        let read = read_logs(&tmp.v2(), 0).unwrap_or_else(|e| panic!("{what}: {e}"));
        assert_eq!(read.txns, creates(1, 4), "{what}");
        assert_eq!(read.torn_tail, Some((path.clone(), last)), "{what}");
    }

    // Startup truncates the tail; the next writer starts a new file.
    truncate_torn_tail(&path, last).unwrap();
    assert_eq!(fs::metadata(&path).unwrap().len(), last);
    let read = read_logs(&tmp.v2(), 0).unwrap();
    assert_eq!(read.txns, creates(1, 4));
    assert!(read.torn_tail.is_none());
    write_log(&tmp.v2(), &creates(5, 3), 4096);
    let read = read_logs(&tmp.v2(), 0).unwrap();
    assert_eq!(read.txns, creates(1, 7));
    assert!(read.torn_tail.is_none());
}

#[test]
fn torn_tail_in_preallocated_file() {
    let tmp = TempDir::new("torn-prealloc");
    let path = write_log(&tmp.v2(), &creates(1, 5), 64 * 1024);
    let offs = offsets(&path);
    let end = offs[4] + encoded(&creates(5, 1)[0]).len() as u64;
    // The last entry's second half never reached the disk: zeros.
    let mut bytes = fs::read(&path).unwrap();
    for b in &mut bytes[(offs[4] + 20) as usize..end as usize] {
        *b = 0;
    }
    fs::write(&path, bytes).unwrap();
    let read = read_logs(&tmp.v2(), 0).unwrap();
    assert_eq!(read.txns, creates(1, 4));
    assert_eq!(read.torn_tail, Some((path, offs[4])));
}

#[test]
fn logs_without_a_txn_are_removed_at_startup() {
    let tmp = TempDir::new("empty");
    write_log(&tmp.v2(), &creates(1, 3), 0);
    let header_only = tmp.v2().join("log.4");
    let cases: Vec<(&str, Vec<u8>, u64)> = vec![
        ("empty file", vec![], 0),
        ("partial header", b"ZKLG\x00\x00".to_vec(), 0),
        ("zeroed header", vec![0; 4096], 0),
        (
            "header then zeros",
            [&b"ZKLG\x00\x00\x00\x02"[..], &[0u8; 4096][..]].concat(),
            FILE_HEADER_LEN,
        ),
        (
            "first entry torn",
            [
                &b"ZKLG\x00\x00\x00\x02"[..],
                &[0u8; 8][..],
                &encoded(&creates(4, 1)[0])[..30],
            ]
            .concat(),
            FILE_HEADER_LEN,
        ),
    ];
    for (what, content, offset) in cases {
        fs::write(&header_only, content).unwrap();
        let read = read_logs(&tmp.v2(), 0).unwrap();
        assert_eq!(read.txns, creates(1, 3), "{what}");
        assert_eq!(
            read.torn_tail,
            Some((header_only.clone(), offset)),
            "{what}"
        );
        truncate_torn_tail(&header_only, offset).unwrap();
        assert!(!header_only.exists(), "{what}: removed");
        // The next writer can take the name.
        write_log(&tmp.v2(), &creates(4, 1), 0);
        assert_eq!(read_logs(&tmp.v2(), 0).unwrap().txns, creates(1, 4));
    }
}

#[test]
fn torn_tail_in_an_earlier_file_is_tolerated() {
    // ZooKeeper restarts after a crash without truncating: the torn txn's
    // zxid is reused by the next file.
    let tmp = TempDir::new("torn-middle");
    let first = write_log(&tmp.v2(), &creates(1, 5), 0);
    let len = fs::metadata(&first).unwrap().len();
    set_len(&first, len - 3);
    write_log(&tmp.v2(), &creates(5, 5), 0);
    let read = read_logs(&tmp.v2(), 0).unwrap();
    assert_eq!(read.txns, creates(1, 9));
    assert!(read.torn_tail.is_none());
}

fn expect_corrupt(dir: &Path, file: &Path, offset: u64) -> String {
    let err = match read_logs(dir, 0) {
        Err(e) => e,
        Ok(read) => panic!("expected corruption, read {} txns", read.txns.len()),
    };
    let text = err.to_string();
    match err {
        StorageError::Corrupt {
            file: f, offset: o, ..
        } => assert_eq!((f.as_path(), o), (file, offset), "{text}"),
        StorageError::Io(e) => panic!("expected corruption, got {e}"),
    }
    assert!(text.contains(&file.display().to_string()), "{text}");
    assert!(text.contains(&format!("offset {offset}")), "{text}");
    text
}

#[test]
fn corruption_is_an_error_with_file_and_offset() {
    let tmp = TempDir::new("corrupt");
    let (path, offs) = five(&tmp);
    let original = fs::read(&path).unwrap();

    // A flipped byte in the middle entry's txn bytes.
    poke(
        &path,
        offs[2] + 12 + 30,
        original[(offs[2] + 12 + 30) as usize] ^ 0x10,
    );
    let why = expect_corrupt(&tmp.v2(), &path, offs[2]);
    assert!(why.contains("checksum"), "{why}");

    // A flipped checksum.
    fs::write(&path, &original).unwrap();
    poke(&path, offs[1] + 7, original[(offs[1] + 7) as usize] ^ 1);
    expect_corrupt(&tmp.v2(), &path, offs[1]);

    // An impossible length.
    fs::write(&path, &original).unwrap();
    poke(&path, offs[3] + 8, 0x80);
    expect_corrupt(&tmp.v2(), &path, offs[3] + 8);

    // Bad magic, bad version.
    fs::write(&path, &original).unwrap();
    poke(&path, 0, b'X');
    let why = expect_corrupt(&tmp.v2(), &path, 0);
    assert!(why.contains("magic"), "{why}");
    fs::write(&path, &original).unwrap();
    poke(&path, 7, 3);
    expect_corrupt(&tmp.v2(), &path, 4);

    // Corruption in an earlier file is an error too.
    fs::write(&path, &original).unwrap();
    write_log(&tmp.v2(), &creates(6, 2), 0);
    poke(
        &path,
        offs[4] + 20,
        original[(offs[4] + 20) as usize] ^ 0xff,
    );
    expect_corrupt(&tmp.v2(), &path, offs[4]);
}

#[test]
fn zxids_must_increase() {
    let tmp = TempDir::new("zxids");
    let mut txns = creates(1, 4);
    txns[2].header.zxid = 2;
    let path = write_log(&tmp.v2(), &txns, 0);
    let offs = offsets(&path);
    expect_corrupt(&tmp.v2(), &path, offs[2]);
}

#[test]
fn an_undecodable_record_is_corruption() {
    let tmp = TempDir::new("undecodable");
    let mut bad = creates(1, 2);
    bad[1].header.type_ = 99; // no such txn type: written, but unreadable
    let path = write_log(&tmp.v2(), &bad, 0);
    let second = FILE_HEADER_LEN + encoded(&bad[0]).len() as u64;
    let why = expect_corrupt(&tmp.v2(), &path, second);
    assert!(why.contains("type 99"), "{why}");
}

// ---- Apache ZooKeeper 3.8.0's own logs (see tests/fixtures/README.md) ----

fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
        .join("version-2")
}

#[test]
fn reads_a_reference_log_exactly() {
    let dir = fixture("zk-3.8.0-log");
    let read = read_logs(&dir, 0).unwrap();
    assert!(read.torn_tail.is_none());
    let types: Vec<i32> = read.txns.iter().map(|t| t.header.type_).collect();
    use OpCode::*;
    let expected = [
        CreateSession,
        Create,
        Create,
        Create,
        SetData,
        SetAcl,
        Error,
        CreateSession,
        CreateContainer,
        CreateSession,
        CreateTtl,
        Multi,
        Multi,
        Delete,
        CloseSession,
        CloseSession,
        CloseSession,
        DeleteContainer,
    ];
    assert_eq!(types, expected.map(OpCode::code));
    let zxids: Vec<i64> = read.txns.iter().map(|t| t.header.zxid).collect();
    assert_eq!(zxids, (1..=18).collect::<Vec<_>>());

    let t = &read.txns;
    assert_eq!(
        t[0].body,
        TxnBody::CreateSession(CreateSessionTxn { time_out: 10000 })
    );
    let TxnBody::Create(c) = &t[3].body else {
        panic!("{:?}", t[3])
    };
    assert_eq!(
        (c.path.as_str(), c.ephemeral, c.parent_c_version),
        ("/app/eph", true, 2)
    );
    assert_eq!(t[6].body, TxnBody::Error(ErrorTxn { err: -110 }));
    let TxnBody::CreateTtl(c) = &t[10].body else {
        panic!("{:?}", t[10])
    };
    assert_eq!((c.path.as_str(), c.ttl), ("/ttl", 60000));
    let TxnBody::Multi(subs) = &t[11].body else {
        panic!("{:?}", t[11])
    };
    let sub_types: Vec<i32> = subs.iter().map(|s| s.type_).collect();
    assert_eq!(sub_types, [1, 5, 13, 2]);
    // A failed multi: the ops before the failure, then the error.
    let TxnBody::Multi(subs) = &t[12].body else {
        panic!("{:?}", t[12])
    };
    assert_eq!(subs.len(), 2);
    assert_eq!(subs[1].body, TxnBody::Error(ErrorTxn { err: -101 }));
    assert_eq!(
        t[14].body,
        TxnBody::CloseSession(CloseSessionTxn {
            paths2_delete: vec!["/app/eph".into()]
        })
    );
    assert_eq!(t[17].header.client_id, 0);
    assert_eq!(
        t[17].body,
        TxnBody::Delete(DeleteTxn {
            path: "/ttl".into()
        })
    );

    // Re-serializing each entry gives the reference's bytes exactly.
    let path = dir.join("log.1");
    let bytes = fs::read(&path).unwrap();
    let (entries, end) = entries(&path);
    assert!(matches!(end, ReadStep::End));
    assert_eq!(entries.len(), 18);
    let mut at = FILE_HEADER_LEN as usize;
    for e in &entries {
        assert!(e.digest.is_none());
        assert_eq!(e.offset as usize, at);
        let ours = encoded(&e.txn);
        assert_eq!(
            &bytes[at..at + ours.len()],
            &ours[..],
            "zxid {}",
            e.txn.header.zxid
        );
        at += ours.len();
    }
    assert!(bytes[at..].iter().all(|&b| b == 0));
    assert_eq!(
        &bytes[..16],
        b"ZKLG\x00\x00\x00\x02\x00\x00\x00\x00\x00\x00\x00\x00"
    );
}

#[test]
fn reads_a_reference_log_with_digests() {
    let plain = read_logs(&fixture("zk-3.8.0-log"), 0).unwrap().txns;
    let path = fixture("zk-3.8.0-log-digest").join("log.1");
    let (entries, end) = entries(&path);
    assert!(matches!(end, ReadStep::End));
    assert_eq!(entries.len(), 18);
    for (e, p) in entries.iter().zip(&plain) {
        // Same operations as the digest-less run (other sessions and times).
        assert_eq!(e.txn.body, p.body);
        assert_eq!(
            (e.txn.header.zxid, e.txn.header.type_),
            (p.header.zxid, p.header.type_)
        );
        let mut ours = BytesMut::new();
        serialize_txn(&e.txn, &mut ours);
        if e.txn.header.type_ == OpCode::Error.code() {
            // 3.8.0 writes no digest after an error txn.
            assert!(e.digest.is_none());
            assert_eq!(e.raw, ours);
        } else {
            let digest = e.digest.as_ref().expect("3.8 writes a digest per txn");
            assert_eq!(digest.version, 2);
            // Our bytes are the stored bytes without the digest.
            assert_eq!(&e.raw[..e.raw.len() - 12], &ours[..]);
        }
    }
    let read = read_logs(&fixture("zk-3.8.0-log-digest"), 0).unwrap();
    assert_eq!(read.txns.len(), 18);
    assert!(read.torn_tail.is_none());
}

// ---- The log thread ----

fn config(dir: PathBuf, batch: usize) -> LogConfig {
    LogConfig {
        prealloc_bytes: 64 * 1024,
        fsync_warning_threshold_ms: 1000,
        batch_max_txns: batch,
        ..LogConfig::new(dir)
    }
}

/// With `snapCount` 10 the log rolls after 6 to 10 txns (ZooKeeper's
/// randomized `snapCount / 2 + [0, snapCount / 2)` rule), announcing each
/// roll after the batch's `Persisted`; each file is named after its first
/// txn and together they replay every txn once. The size rule rolls too.
#[test]
fn log_thread_rolls_as_snapcount_says() {
    for (snap_count, size_limit) in [(10, 0), (1_000_000, 4096)] {
        let tmp = TempDir::new("roll");
        let (ev_tx, ev_rx) = std_mpsc::channel();
        let cfg = LogConfig {
            snap_count,
            snap_size_limit_bytes: size_limit,
            roll_seed: Some(42),
            ..config(tmp.v2(), 1)
        };
        let handle = spawn_log_thread(cfg, move |e| ev_tx.send(e).unwrap()).unwrap();
        let txns = creates(1, 200);
        let mut events = Vec::new();
        for t in &txns {
            handle.tx.blocking_send(Arc::new(t.clone())).unwrap();
            // One txn per batch: wait for its events before the next.
            loop {
                let e = ev_rx.recv_timeout(WAIT).unwrap();
                let persisted = matches!(e, LogEvent::Persisted { .. });
                events.push(e);
                if persisted {
                    break;
                }
            }
        }
        drop(handle);
        while let Ok(e) = ev_rx.recv_timeout(Duration::from_millis(200)) {
            events.push(e);
        }
        let rolls: Vec<i64> = events
            .iter()
            .filter_map(|e| match e {
                LogEvent::Rolled { zxid } => Some(*zxid),
                _ => None,
            })
            .collect();
        assert!(
            rolls.len() >= 3,
            "{snap_count}/{size_limit}: rolls {rolls:?}"
        );
        // Each Rolled follows the Persisted of the same zxid.
        for w in events.windows(2) {
            if let LogEvent::Rolled { zxid } = w[1] {
                assert_eq!(w[0], LogEvent::Persisted { zxid });
            }
        }
        let files = zk_server::storage::txn_log::log_files(&tmp.v2()).unwrap();
        let mut expected_first = vec![1];
        expected_first.extend(rolls.iter().map(|z| z + 1).filter(|z| *z <= 200));
        let names: Vec<i64> = files.iter().map(|f| f.0).collect();
        assert_eq!(names, expected_first);
        if size_limit == 0 {
            let mut bounds = vec![0];
            bounds.extend(&rolls);
            for w in bounds.windows(2) {
                let n = w[1] - w[0];
                assert!((6..=10).contains(&n), "{n} txns in a file: rolls {rolls:?}");
            }
        }
        assert_eq!(read_logs(&tmp.v2(), 0).unwrap().txns, txns);
    }
}

#[test]
fn log_thread_group_commits() {
    let tmp = TempDir::new("group");
    let (ev_tx, ev_rx) = std_mpsc::channel();
    let (release_tx, release_rx) = std_mpsc::channel::<()>();
    let mut first = true;
    let handle = spawn_log_thread(config(tmp.v2(), 100), move |e| {
        ev_tx.send(e).unwrap();
        if first {
            // Hold the thread after its first batch so the rest queue up.
            first = false;
            release_rx.recv().unwrap();
        }
    })
    .unwrap();
    let txns = creates(1, 251);
    handle.tx.blocking_send(Arc::new(txns[0].clone())).unwrap();
    assert_eq!(
        ev_rx.recv_timeout(WAIT).unwrap(),
        LogEvent::Persisted { zxid: 1 }
    );
    for t in &txns[1..] {
        handle.tx.blocking_send(Arc::new(t.clone())).unwrap();
    }
    release_tx.send(()).unwrap();
    // 250 queued txns, at most 100 per commit: three commits.
    for zxid in [101, 201, 251] {
        assert_eq!(
            ev_rx.recv_timeout(WAIT).unwrap(),
            LogEvent::Persisted { zxid }
        );
    }
    drop(handle);
    assert!(ev_rx.recv_timeout(Duration::from_millis(200)).is_err());
    let read = read_logs(&tmp.v2(), 0).unwrap();
    assert_eq!(read.txns, txns);
    assert!(tmp.v2().join("log.1").exists());
}

#[test]
fn log_thread_batches_under_load() {
    // Without holding the thread: whatever queues during an fsync goes into
    // the next commit, so there are fewer commits than txns.
    let tmp = TempDir::new("load");
    let (ev_tx, ev_rx) = std_mpsc::channel();
    let mut cfg = config(tmp.v2(), 1000);
    cfg.fsync_warning_threshold_ms = 0; // exercises the slow-fsync warning
    let handle = spawn_log_thread(cfg, move |e| ev_tx.send(e).unwrap()).unwrap();
    let txns = creates(0x5_0000_0001, 2000);
    for t in &txns {
        handle.tx.blocking_send(Arc::new(t.clone())).unwrap();
    }
    let mut events = Vec::new();
    loop {
        let e = ev_rx.recv_timeout(WAIT).unwrap();
        let done = e
            == LogEvent::Persisted {
                zxid: 0x5_0000_07d0,
            };
        events.push(e);
        if done {
            break;
        }
    }
    assert!(events.len() < txns.len(), "{} commits", events.len());
    let zxids: Vec<i64> = events
        .iter()
        .map(|e| match e {
            LogEvent::Persisted { zxid } => *zxid,
            other => panic!("{other:?}"),
        })
        .collect();
    assert!(zxids.windows(2).all(|w| w[0] < w[1]));
    assert!(tmp.v2().join("log.500000001").exists());
    assert_eq!(read_logs(&tmp.v2(), 0).unwrap().txns, txns);
}

#[test]
fn log_thread_reports_failure_and_stops() {
    let tmp = TempDir::new("fail");
    write_log(&tmp.v2(), &creates(1, 1), 0); // log.1 exists already
    let (ev_tx, ev_rx) = std_mpsc::channel();
    let handle = spawn_log_thread(config(tmp.v2(), 10), move |e| ev_tx.send(e).unwrap()).unwrap();
    handle
        .tx
        .blocking_send(Arc::new(creates(1, 1)[0].clone()))
        .unwrap();
    match ev_rx.recv_timeout(WAIT).unwrap() {
        LogEvent::Failed { why } => assert!(why.contains("log.1"), "{why}"),
        other => panic!("{other:?}"),
    }
    // The thread has stopped: its queue closes.
    let deadline = std::time::Instant::now() + WAIT;
    while !handle.tx.is_closed() {
        assert!(std::time::Instant::now() < deadline, "thread still running");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert!(ev_rx.recv_timeout(Duration::from_millis(100)).is_err());
}

#[tokio::test]
async fn log_thread_from_async_code() {
    let tmp = TempDir::new("async");
    let (ev_tx, mut ev_rx) = tokio::sync::mpsc::unbounded_channel();
    let handle = spawn_log_thread(config(tmp.v2(), 50), move |e| {
        let _ = ev_tx.send(e);
    })
    .unwrap();
    let txns = every_kind(7);
    for t in &txns {
        handle.tx.send(Arc::new(t.clone())).await.unwrap();
    }
    let last = txns.last().unwrap().header.zxid;
    loop {
        let e = tokio::time::timeout(WAIT, ev_rx.recv())
            .await
            .unwrap()
            .unwrap();
        if e == (LogEvent::Persisted { zxid: last }) {
            break;
        }
    }
    assert_eq!(read_logs(&tmp.v2(), 0).unwrap().txns, txns);
}

// ---- Apache ZooKeeper reads our logs ----

const ZK_JAR: &str = "/usr/share/java/zookeeper.jar";

/// Runs ZooKeeper's `TxnLogToolkit -d` on a log we wrote and checks that it
/// reads every txn without a CRC error. Runs only where Apache ZooKeeper
/// 3.8.0 is installed (Debian's `zookeeper` package: /usr/share/java/
/// zookeeper.jar, whose manifest brings its dependencies); elsewhere it
/// passes without checking (the CI machine has the jar).
#[test]
fn zookeeper_txn_log_toolkit_reads_our_log() {
    if !Path::new(ZK_JAR).exists() {
        eprintln!("{ZK_JAR} not installed: skipping the TxnLogToolkit check");
        return;
    }
    let tmp = TempDir::new("toolkit");
    // ZooKeeper 3.8.0 cannot read a top-level check txn (its
    // SerializeUtils.deserializeTxn throws "Unsupported Txn with type=%d13");
    // it only ever logs check inside a multi.
    let mut txns: Vec<Txn> = every_kind(1)
        .into_iter()
        .filter(|t| t.header.type_ != OpCode::Check.code())
        .enumerate()
        .map(|(i, mut t)| {
            t.header.zxid = i as i64 + 1;
            t
        })
        .collect();
    txns.extend(creates(txns.len() as i64 + 1, 100));
    let path = write_log(&tmp.v2(), &txns, DEFAULT_PREALLOC_BYTES);
    let mut cp = ZK_JAR.to_string();
    // slf4j-nop silences SLF4J's "no binding" warning, if installed.
    let nop = Path::new("/usr/share/java/slf4j-nop.jar");
    if nop.exists() {
        cp.push(':');
        cp.push_str(nop.to_str().unwrap());
    }
    let out = std::process::Command::new("java")
        .args(["-cp", &cp])
        .arg("org.apache.zookeeper.server.persistence.TxnLogToolkit")
        .arg("-d")
        .arg(&path)
        .output()
        .expect("run java");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    eprintln!("TxnLogToolkit -d {}:\n{stdout}", path.display());
    assert!(out.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.contains("ZooKeeper Transactional Log File with dbid 0 txnlog format version 2"),
        "{stdout}"
    );
    assert!(
        stdout.contains(&format!("EOF reached after {} txns.", txns.len())),
        "{stdout}\n{stderr}"
    );
    for bad in ["CRC", "Exception", "rror reading"] {
        assert!(
            !stdout.contains(bad) && !stderr.contains(bad),
            "{stdout}\n{stderr}"
        );
    }
    for t in &txns {
        let needle = format!(" zxid 0x{:x} ", t.header.zxid);
        assert!(stdout.contains(&needle), "{needle} missing:\n{stdout}");
    }
    for needle in [
        "createSession 30000",
        "create /a,data,",
        "createContainer /c,,",
        "createTtl /t,",
        "setData /a,",
        "setACL '/a,",
        "delete '/b",
        "deleteContainer '/c",
        "error -110",
        "closeSession v{'/a/eph}",
        "multi create:",
    ] {
        assert!(stdout.contains(needle), "{needle:?} missing:\n{stdout}");
    }
}

/// A crash that kept a new log's length and only the first bytes of its
/// header ("ZKLG", then zeros) left a torn tail at offset 0, not corruption:
/// nothing in that file was acknowledged.
#[test]
fn a_file_header_cut_short_is_a_torn_tail_not_corruption() {
    let tmp = TempDir::new("header-cut");
    std::fs::create_dir_all(tmp.v2()).unwrap();
    let mut bytes = b"ZKLG".to_vec();
    bytes.resize(64, 0);
    std::fs::write(tmp.v2().join("log.1"), &bytes).unwrap();
    let read = read_logs(&tmp.v2(), 0).unwrap();
    assert!(read.txns.is_empty());
    assert_eq!(read.torn_tail.map(|(_, at)| at), Some(0));
    // A wrong magic is still corruption.
    bytes[..4].copy_from_slice(b"ZKLX");
    std::fs::write(tmp.v2().join("log.1"), &bytes).unwrap();
    assert!(read_logs(&tmp.v2(), 0).is_err());
}
