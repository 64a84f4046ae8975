//! The sync phase's storage operations: `LogStream` (txns between two zxids
//! across log files, streamed) and `truncate_log` (TRUNC), read back with
//! our own reader and with Apache ZooKeeper 3.8.0's `TxnLogToolkit` when
//! the jar is installed.

use bytes::Bytes;
use jute::data::{Acl, Id};
use jute::txn::{CreateTxn, TxnHeader};
use jute::OpCode;
use std::fs;
use std::path::{Path, PathBuf};
use zk_server::core::txn::{Txn, TxnBody};
use zk_server::storage::log_stream::{truncate_log, LogStream};
use zk_server::storage::txn_log::{log_files, read_logs, TxnLogWriter};

mod common;
use common::TempDir;

fn txn(zxid: i64) -> Txn {
    Txn {
        header: TxnHeader {
            client_id: 0x1000_0abc_0000_0001,
            cxid: zxid as i32,
            zxid,
            time: 1_700_000_000_000 + zxid,
            type_: OpCode::Create.code(),
        },
        body: TxnBody::Create(CreateTxn {
            path: format!("/n{zxid:x}"),
            data: Some(Bytes::from_static(b"data")),
            acl: vec![Acl {
                perms: 31,
                id: Id {
                    scheme: "world".into(),
                    id: "anyone".into(),
                },
            }],
            ephemeral: false,
            parent_c_version: zxid as i32,
        }),
    }
}

/// Writes log files holding `groups` (each group one file), 4 KB
/// preallocation so the files carry zero padding as real ones do.
fn write_logs(dir: &Path, groups: &[Vec<i64>]) {
    for group in groups {
        let mut w = TxnLogWriter::create(dir, group[0], 4096).unwrap();
        for &z in group {
            w.append(&txn(z)).unwrap();
        }
        w.commit(true).unwrap();
    }
}

fn zxids(stream: LogStream) -> Vec<i64> {
    stream.map(|e| e.unwrap().txn.header.zxid).collect()
}

/// Three files across an epoch change: 1..=5, 6..=10, then epoch 2.
fn three_files(dir: &Path) -> Vec<i64> {
    let e2 = 2i64 << 32;
    let groups = vec![
        (1..=5).collect::<Vec<_>>(),
        (6..=10).collect(),
        (e2 + 1..=e2 + 5).collect(),
    ];
    write_logs(dir, &groups);
    groups.concat()
}

#[test]
fn stream_ranges_across_files() {
    let tmp = TempDir::new("stream");
    let dir = tmp.v2();
    let all = three_files(&dir);
    let e2 = 2i64 << 32;
    assert_eq!(zxids(LogStream::open(&dir, 0).unwrap()), all);
    assert_eq!(
        zxids(LogStream::range(&dir, 3, 7).unwrap()),
        vec![4, 5, 6, 7]
    );
    assert_eq!(
        zxids(LogStream::range(&dir, 9, e2 + 2).unwrap()),
        vec![10, e2 + 1, e2 + 2]
    );
    // A range after the end, and an empty range.
    assert!(zxids(LogStream::range(&dir, e2 + 5, i64::MAX).unwrap()).is_empty());
    assert!(zxids(LogStream::range(&dir, 4, 4).unwrap()).is_empty());
    // covers_start: whether the log reaches back to `after`.
    let mut s = LogStream::range(&dir, 6, 8).unwrap();
    assert_eq!(s.by_ref().count(), 2);
    assert!(s.covers_start());
    let mut s = LogStream::range(&dir, 0, 8).unwrap();
    assert_eq!(s.by_ref().count(), 8);
    assert!(!s.covers_start());
    // read_logs is the stream collected.
    let read = read_logs(&dir, 7).unwrap();
    let want: Vec<i64> = all.iter().copied().filter(|z| *z > 7).collect();
    assert_eq!(
        read.txns.iter().map(|t| t.header.zxid).collect::<Vec<_>>(),
        want
    );
    assert!(read.torn_tail.is_none());
}

#[test]
fn stream_reports_a_torn_tail_and_corruption() {
    let tmp = TempDir::new("stream-torn");
    let dir = tmp.v2();
    three_files(&dir);
    let last = log_files(&dir).unwrap().pop().unwrap().1;
    // Cut the last file inside its last entry.
    let bytes = fs::read(&last).unwrap();
    let end = bytes.iter().rposition(|&b| b == 0x42).unwrap();
    fs::write(&last, &bytes[..end]).unwrap();
    let mut s = LogStream::open(&dir, 0).unwrap();
    assert_eq!(s.by_ref().count(), 14);
    assert_eq!(s.torn_tail().map(|(p, _)| p.clone()), Some(last));
    // A flipped byte in the middle file is corruption, named with its file.
    let middle = log_files(&dir).unwrap()[1].1.clone();
    let mut bytes = fs::read(&middle).unwrap();
    bytes[40] ^= 0xff;
    fs::write(&middle, &bytes).unwrap();
    let results: Vec<_> = LogStream::open(&dir, 0).unwrap().collect();
    let err = results.last().unwrap().as_ref().unwrap_err().to_string();
    assert!(err.contains(&middle.display().to_string()), "{err}");
    assert_eq!(
        results.len(),
        6,
        "5 good entries, then the error, then nothing"
    );
}

fn fake_snapshot(dir: &Path, zxid: i64) -> PathBuf {
    fs::create_dir_all(dir).unwrap();
    let p = dir.join(format!("snapshot.{zxid:x}"));
    fs::write(&p, b"not read by truncate_log").unwrap();
    p
}

#[test]
fn truncate_inside_a_middle_file() {
    let tmp = TempDir::new("trunc-mid");
    let dir = tmp.v2();
    let all = three_files(&dir);
    let e2 = 2i64 << 32;
    let keep_snap = fake_snapshot(&dir, 5);
    let at_point = fake_snapshot(&dir, 7);
    let newer = fake_snapshot(&dir, 8);
    let newest = fake_snapshot(&dir, e2 + 1);
    let files = log_files(&dir).unwrap();
    let t = truncate_log(&dir, &dir, 7).unwrap();
    assert_eq!(t.removed_logs, vec![files[2].1.clone()]);
    assert_eq!(t.removed_snapshots, vec![newest.clone(), newer.clone()]);
    assert_eq!(t.truncated.as_ref().unwrap().0, files[1].1);
    assert!(keep_snap.exists() && at_point.exists());
    assert!(!newer.exists() && !newest.exists());
    let want: Vec<i64> = all.iter().copied().filter(|z| *z <= 7).collect();
    assert_eq!(zxids(LogStream::open(&dir, 0).unwrap()), want);
    let read = read_logs(&dir, 0).unwrap();
    assert!(read.torn_tail.is_none(), "{:?}", read.torn_tail);
    // The writer starts a new file after the kept prefix, and reads go on.
    write_logs(&dir, &[vec![e2 + 1, e2 + 2]]);
    assert_eq!(
        zxids(LogStream::open(&dir, 6).unwrap()),
        vec![7, e2 + 1, e2 + 2]
    );
    toolkit_reads(&files[1].1, &[6, 7]);
}

#[test]
fn truncate_edges() {
    let e2 = 2i64 << 32;
    // At a file's last txn: that file is whole, the later ones go.
    let tmp = TempDir::new("trunc-end");
    let dir = tmp.v2();
    three_files(&dir);
    let t = truncate_log(&dir, &dir, 10).unwrap();
    assert_eq!(t.removed_logs.len(), 1);
    assert_eq!(
        zxids(LogStream::open(&dir, 0).unwrap()),
        (1..=10).collect::<Vec<_>>()
    );
    // A zxid the log does not hold (between epochs): exactly the txns
    // below it stay (3.8.0 would keep one more).
    let tmp = TempDir::new("trunc-gap");
    let dir = tmp.v2();
    three_files(&dir);
    truncate_log(&dir, &dir, e2).unwrap();
    assert_eq!(
        zxids(LogStream::open(&dir, 0).unwrap()),
        (1..=10).collect::<Vec<_>>()
    );
    // Beyond the end: nothing changes.
    let tmp = TempDir::new("trunc-none");
    let dir = tmp.v2();
    let all = three_files(&dir);
    let t = truncate_log(&dir, &dir, e2 + 99).unwrap();
    assert!(t.removed_logs.is_empty());
    assert_eq!(zxids(LogStream::open(&dir, 0).unwrap()), all);
    // Before the first txn: every log goes.
    let tmp = TempDir::new("trunc-all");
    let dir = tmp.v2();
    three_files(&dir);
    let t = truncate_log(&dir, &dir, 0).unwrap();
    assert_eq!(t.removed_logs.len(), 3);
    assert!(t.truncated.is_none());
    assert!(log_files(&dir).unwrap().is_empty());
    // No log at all: refused, as 3.8.0 does.
    let e = truncate_log(&dir, &dir, 5).unwrap_err().to_string();
    assert!(e.contains("No log files found to truncate!"), "{e}");
}

const ZK_JAR: &str = "/usr/share/java/zookeeper.jar";

/// Apache's `TxnLogToolkit -d` reads the truncated file: exactly `zxids`,
/// no CRC error. Skipped (with a message) where the jar is not installed.
fn toolkit_reads(path: &Path, zxids: &[i64]) {
    if !Path::new(ZK_JAR).exists() {
        eprintln!("{ZK_JAR} not installed: skipping the TxnLogToolkit check");
        return;
    }
    let out = std::process::Command::new("java")
        .args(["-cp", ZK_JAR])
        .arg("org.apache.zookeeper.server.persistence.TxnLogToolkit")
        .arg("-d")
        .arg(path)
        .output()
        .expect("run java");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{stdout}");
    assert!(
        stdout.contains(&format!("EOF reached after {} txns.", zxids.len())),
        "{stdout}"
    );
    assert!(!stdout.contains("CRC"), "{stdout}");
    for z in zxids {
        assert!(
            stdout.contains(&format!(" zxid 0x{z:x} ")),
            "{z:x}: {stdout}"
        );
    }
}
