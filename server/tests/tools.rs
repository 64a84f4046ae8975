//! The operator subcommands of `zkserver` (`txnlog-dump`, `txnlog-verify`,
//! `snapshot-dump`, `snapshot-verify`, `purge`), run as the binary on
//! Apache ZooKeeper 3.8.0's own files (`tests/fixtures`, compared with what
//! its `TxnLogToolkit` and `SnapshotFormatter` print for them; times in UTC)
//! and on a data directory written by driving the core and our storage
//! writers.

use bytes::Bytes;
use jute::data::Acl;
use jute::proto::*;
use jute::{OpCode, Record};
use std::fs;
use std::net::{IpAddr, Ipv4Addr};
use std::path::{Path, PathBuf};
use std::process::{Command, Output as ProcOutput};
use zk_server::core::txn::Txn;
use zk_server::core::{CoreConfig, Input, Output, Server};
use zk_server::storage::snapshot::write_snapshot;
use zk_server::storage::txn_log::TxnLogWriter;

mod common;
use common::TempDir;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

fn zkserver(args: &[&str]) -> ProcOutput {
    Command::new(env!("CARGO_BIN_EXE_zkserver"))
        .args(args)
        .env_remove("ZOOCFGDIR")
        .output()
        .expect("run zkserver")
}

fn run(args: &[&str]) -> (i32, String, String) {
    let out = zkserver(args);
    (
        out.status.code().expect("exit code"),
        String::from_utf8(out.stdout).expect("utf-8 stdout"),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

fn path_str(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A copy of `src` in `dir` with the byte at `offset` flipped.
fn flipped_copy(src: &Path, dir: &Path, offset: usize) -> PathBuf {
    let mut bytes = fs::read(src).unwrap();
    bytes[offset] ^= 0xff;
    let dst = dir.join(src.file_name().unwrap());
    fs::write(&dst, bytes).unwrap();
    dst
}

// ---- a data directory written by the core and our storage writers ----

const NOW: i64 = 1_700_000_000_000;

/// Drives a core server through a session, creates, setData and a delete,
/// and writes its txns to `log.1` and its state to `snapshot.<last zxid>`
/// in `dir/version-2`. Returns the last zxid.
fn write_data_dir(dir: &Path) -> i64 {
    let v2 = dir.join("version-2");
    let mut server = Server::new(CoreConfig::default(), NOW);
    let mut out = Vec::new();
    let conn = 1;
    server.handle(
        NOW,
        Input::Open {
            conn,
            peer: IpAddr::V4(Ipv4Addr::LOCALHOST),
        },
        &mut out,
    );
    let connect = ConnectRequest {
        protocol_version: 0,
        last_zxid_seen: 0,
        time_out: 30_000,
        session_id: 0,
        passwd: Some(Bytes::from_static(&[0; 16])),
        read_only: Some(false),
    };
    server.handle_durable_now(
        NOW,
        Input::Frame {
            conn,
            frame: jute::to_bytes(&connect),
        },
        &mut out,
    );
    let mut xid = 0;
    let mut send = |server: &mut Server, op: OpCode, req: &dyn Fn(&mut bytes::BytesMut)| {
        xid += 1;
        let mut buf = bytes::BytesMut::new();
        RequestHeader {
            xid,
            type_: op.code(),
        }
        .write(&mut buf);
        req(&mut buf);
        server.handle_durable_now(
            NOW + i64::from(xid) * 1000,
            Input::Frame {
                conn,
                frame: buf.freeze(),
            },
            &mut out,
        );
    };
    let create = |path: &'static str, data: &'static [u8], flags: i32| {
        move |buf: &mut bytes::BytesMut| {
            CreateRequest {
                path: path.into(),
                data: Some(Bytes::from_static(data)),
                acl: Acl::open_unsafe(),
                flags,
            }
            .write(buf)
        }
    };
    send(&mut server, OpCode::Create, &create("/app", b"hello", 0));
    send(&mut server, OpCode::Create, &create("/app/eph", b"e", 1));
    send(&mut server, OpCode::Create, &create("/tmp", b"", 0));
    send(&mut server, OpCode::SetData, &|buf| {
        SetDataRequest {
            path: "/app".into(),
            data: Some(Bytes::from_static(b"world")),
            version: -1,
        }
        .write(buf)
    });
    send(&mut server, OpCode::Delete, &|buf| {
        DeleteRequest {
            path: "/tmp".into(),
            version: -1,
        }
        .write(buf)
    });
    let txns: Vec<Txn> = out
        .iter()
        .filter_map(|o| match o {
            Output::Persist { txn } => Some(Txn::clone(txn)),
            _ => None,
        })
        .collect();
    assert_eq!(txns.len(), 6, "createSession + 5 writes");
    let mut writer = TxnLogWriter::create(&v2, txns[0].header.zxid, 64 * 1024).unwrap();
    for txn in &txns {
        writer.append(txn).unwrap();
    }
    writer.commit(true).unwrap();
    let zxid = server.tree().last_processed_zxid;
    write_snapshot(&v2, zxid, server.tree(), &server.session_timeouts()).unwrap();
    zxid
}

// ---- txnlog-dump / txnlog-verify ----

#[test]
fn txnlog_dump_of_reference_log_matches_txn_log_toolkit() {
    for dir in ["zk-3.8.0-log", "zk-3.8.0-log-digest"] {
        let log = fixtures().join(dir).join("version-2/log.1");
        let (code, stdout, stderr) = run(&["txnlog-dump", path_str(&log)]);
        assert_eq!(code, 0, "{stderr}");
        if dir == "zk-3.8.0-log" {
            assert_eq!(stdout, REFERENCE_LOG_DUMP);
        } else {
            // Same txns, another run: other session ids and times.
            assert_eq!(stdout.lines().count(), REFERENCE_LOG_DUMP.lines().count());
            assert!(stdout.ends_with("EOF reached after 18 txns.\n"));
        }
    }
    // -d (TxnLogToolkit's dump mode) is the default.
    let log = fixtures().join("zk-3.8.0-log/version-2/log.1");
    let (code, stdout, _) = run(&["txnlog-dump", "-d", path_str(&log)]);
    assert_eq!((code, stdout.as_str()), (0, REFERENCE_LOG_DUMP));
}

#[test]
fn txnlog_dump_of_our_log() {
    let tmp = TempDir::new("dump-ours");
    write_data_dir(&tmp.0);
    let log = tmp.0.join("version-2/log.1");
    let (code, stdout, stderr) = run(&["txnlog-dump", path_str(&log)]);
    assert_eq!(code, 0, "{stderr}");
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines[0],
        "ZooKeeper Transactional Log File with dbid 0 txnlog format version 2"
    );
    // 2023-11-14 22:13:20 UTC is NOW.
    assert!(
        lines[1].starts_with("11/14/23, 10:13:20 PM UTC session 0x"),
        "{}",
        lines[1]
    );
    assert!(
        lines[1].ends_with(" cxid 0x0 zxid 0x1 createSession 30000"),
        "{}",
        lines[1]
    );
    assert!(lines[2].ends_with(" cxid 0x1 zxid 0x2 create /app,hello,[31,s{'world,'anyone}"));
    assert_eq!(lines[3], "],false,1");
    assert!(lines[4].ends_with(" zxid 0x3 create /app/eph,e,[31,s{'world,'anyone}"));
    assert_eq!(lines[5], "],true,1");
    assert!(
        lines[8].ends_with(" cxid 0x4 zxid 0x5 setData /app,world,1"),
        "{}",
        lines[8]
    );
    assert!(
        lines[9].ends_with(" cxid 0x5 zxid 0x6 delete '/tmp"),
        "{}",
        lines[9]
    );
    assert_eq!(lines[10], "EOF reached after 6 txns.");
    assert_eq!(lines.len(), 11);
}

#[test]
fn txnlog_verify_accepts_good_logs() {
    let log = fixtures().join("zk-3.8.0-log-digest/version-2/log.1");
    let (code, stdout, _) = run(&["txnlog-verify", path_str(&log)]);
    assert_eq!(code, 0);
    assert!(
        stdout
            .contains(": OK: 18 txns, zxid 0x1 to 0x12 (17 with a TxnDigest), all checksums match"),
        "{stdout}"
    );
    let tmp = TempDir::new("verify-ours");
    write_data_dir(&tmp.0);
    let (code, stdout, _) = run(&["txnlog-verify", path_str(&tmp.0.join("version-2/log.1"))]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains(": OK: 6 txns, zxid 0x1 to 0x6, all checksums match"),
        "{stdout}"
    );
}

#[test]
fn a_flipped_byte_is_caught() {
    let tmp = TempDir::new("flip-log");
    // Offset 100 is inside the second txn (the entry at offset 65).
    let log = flipped_copy(
        &fixtures().join("zk-3.8.0-log/version-2/log.1"),
        &tmp.0,
        100,
    );
    let (code, stdout, _) = run(&["txnlog-verify", path_str(&log)]);
    assert_eq!(code, 1, "{stdout}");
    assert!(
        stdout.contains("CORRUPT at byte offset 65: checksum mismatch"),
        "{stdout}"
    );
    assert!(stdout.contains("txn #2"), "{stdout}");
    // The dump flags it as TxnLogToolkit does, prints the rest, and fails.
    let (code, stdout, stderr) = run(&["txnlog-dump", path_str(&log)]);
    assert_eq!(code, 1);
    assert_eq!(stdout.matches("CRC ERROR - ").count(), 1, "{stdout}");
    let crc_line = stdout
        .lines()
        .find(|l| l.starts_with("CRC ERROR - "))
        .unwrap();
    assert!(
        crc_line.contains(" zxid 0x2 create /app,hello,"),
        "{crc_line}"
    );
    assert!(stdout.ends_with("EOF reached after 18 txns.\n"));
    assert!(stderr.contains("1 txn(s) with a bad checksum"), "{stderr}");

    // Every byte of every entry is covered by its checksum (or breaks the
    // framing): no flip in the txns goes unnoticed by verify.
    let src = fixtures().join("zk-3.8.0-log/version-2/log.1");
    for offset in (16..1446).step_by(37) {
        let log = flipped_copy(&src, &tmp.0, offset);
        let (code, stdout, _) = run(&["txnlog-verify", path_str(&log)]);
        assert_eq!(code, 1, "flip at {offset}: {stdout}");
    }
}

#[test]
fn a_torn_tail_is_not_corruption() {
    let tmp = TempDir::new("torn");
    let bytes = fs::read(fixtures().join("zk-3.8.0-log/version-2/log.1")).unwrap();
    let log = tmp.0.join("log.1");
    fs::write(&log, &bytes[..700]).unwrap();
    let (code, stdout, _) = run(&["txnlog-verify", path_str(&log)]);
    assert_eq!(code, 0, "{stdout}");
    assert!(stdout.contains("OK: 8 txns"), "{stdout}");
    assert!(
        stdout.contains("partial txn at byte offset 653"),
        "{stdout}"
    );
    let (code, stdout, _) = run(&["txnlog-dump", path_str(&log)]);
    assert_eq!(code, 0);
    assert!(stdout.ends_with("EOF reached after 8 txns.\n"));
}

#[test]
fn txnlog_usage_errors() {
    let (code, _, stderr) = run(&["txnlog-dump"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("Usage: zkserver txnlog-dump"));
    let (code, _, stderr) = run(&["txnlog-dump", "-r", "x"]);
    assert_eq!(code, 2);
    assert!(stderr.contains("not supported"), "{stderr}");
    let (code, stdout, _) = run(&["txnlog-verify", "--help"]);
    assert_eq!(code, 0);
    assert!(stdout.contains("Usage: zkserver txnlog-verify FILE"));
    let (code, _, stderr) = run(&["txnlog-verify", "/nonexistent/log.1"]);
    assert_eq!(code, 1, "{stderr}");
}

// ---- snapshot-dump / snapshot-verify ----

#[test]
fn snapshot_dump_of_reference_snapshots_matches_snapshot_formatter() {
    let snap0 = fixtures().join("zk-3.8.0-snap/version-2/snapshot.0");
    let (code, stdout, stderr) = run(&["snapshot-dump", path_str(&snap0)]);
    assert_eq!(code, 0, "{stderr}");
    assert_eq!(stdout, REFERENCE_SNAPSHOT_0_DUMP);

    for dir in ["zk-3.8.0-snap", "zk-3.8.0-snap-nodigest"] {
        let snap = fixtures().join(dir).join("version-2/snapshot.31");
        let (code, stdout, stderr) = run(&["snapshot-dump", "-d", path_str(&snap)]);
        assert_eq!(code, 0, "{stderr}");
        assert!(stdout.starts_with("ZNode Details (count=44):\n----\n/\n"));
        // Znodes in the order ZooKeeper's child HashSets iterate them.
        let paths: Vec<&str> = stdout.lines().filter(|l| l.starts_with("/many")).collect();
        let order = [
            0, 19, 18, 9, 4, 11, 3, 10, 2, 13, 1, 12, 8, 15, 14, 6, 17, 5, 16,
        ];
        let want: Vec<String> = std::iter::once("/many".to_string())
            .chain(order.iter().map(|i| format!("/many/child-{i}")))
            .collect();
        assert_eq!(paths, want);
        assert!(stdout.contains(
            "/app\n  cZxid = 0x00000000000002\n  ctime = Sat Nov 21 15:46:16 UTC 2026\n  \
             mZxid = 0x00000000000025\n  mtime = Sat Nov 21 15:46:16 UTC 2026\n  \
             pZxid = 0x00000000000031\n  cversion = 5\n  dataVersion = 2\n  aclVersion = 1\n  \
             ephemeralOwner = 0x00000000000000\n  data = d29ybGQh\n"
        ));
        assert!(stdout.contains("  ephemeralOwner = 0xff000000000927c0\n  data = dA==\n"));
        assert!(stdout.ends_with(
            "----\nSession Details (sid, timeout, ephemeralCount):\n\
             0x100003de3990004, 30000, 0\n0x100003de3990000, 30000, 2\n\
             0x100003de3990001, 30000, 0\n0x100003de3990002, 30000, 0\n\
             0x100003de3990003, 30000, 0\n----\nLast zxid: 0x31\n"
        ));
    }
}

#[test]
fn snapshot_dump_json() {
    let snap0 = fixtures().join("zk-3.8.0-snap/version-2/snapshot.0");
    let (code, stdout, _) = run(&["snapshot-dump", "-json", path_str(&snap0)]);
    assert_eq!(code, 0);
    let (head, rest) = stdout.split_once("\"timestamp\":").unwrap();
    assert_eq!(
        head,
        "[1,0,{\"progname\":\"SnapshotFormatter.java\",\"progver\":\"0.01\","
    );
    let rest = rest.trim_start_matches(|c: char| c.is_ascii_digit());
    assert_eq!(
        rest,
        "},[{\"name\":\"/\",\"asize\":0,\"dsize\":0,\"dev\":0,\"ino\":1001},\
         [{\"name\":\"zookeeper\",\"asize\":0,\"dsize\":0,\"dev\":0,\"ino\":1002},\
         {\"name\":\"config\",\"asize\":0,\"dsize\":0,\"dev\":0,\"ino\":1003},\
         {\"name\":\"quota\",\"asize\":0,\"dsize\":0,\"dev\":0,\"ino\":1004}]]]"
    );
    let snap = fixtures().join("zk-3.8.0-snap/version-2/snapshot.31");
    let (code, stdout, _) = run(&["snapshot-dump", "-json", path_str(&snap)]);
    assert_eq!(code, 0);
    assert_eq!(stdout.matches("\"ino\":").count(), 43);
    assert_eq!(stdout.matches('[').count(), stdout.matches(']').count());
}

#[test]
fn snapshot_dump_and_verify_of_our_snapshot() {
    let tmp = TempDir::new("snap-ours");
    let zxid = write_data_dir(&tmp.0);
    let snap = tmp.0.join(format!("version-2/snapshot.{zxid:x}"));
    let (code, stdout, stderr) = run(&["snapshot-dump", path_str(&snap)]);
    assert_eq!(code, 0, "{stderr}");
    // /, /app, /app/eph, /zookeeper, /zookeeper/config, /zookeeper/quota.
    assert!(stdout.starts_with("ZNode Details (count=7):\n"), "{stdout}");
    assert!(
        stdout.contains("----\n/app\n  cZxid = 0x00000000000002\n"),
        "{stdout}"
    );
    assert!(stdout.contains("  dataVersion = 1\n  aclVersion = 0\n  ephemeralOwner = 0x00000000000000\n  dataLength = 5\n"));
    assert!(!stdout.contains("/tmp"));
    assert!(
        stdout.contains(", 30000, 1\n----\nLast zxid: 0x6\n"),
        "{stdout}"
    );
    let (code, stdout, _) = run(&["snapshot-dump", "-d", path_str(&snap)]);
    assert_eq!(code, 0);
    assert!(stdout.contains("/app/eph\n"));
    assert!(stdout.contains("  data = d29ybGQ=\n")); // "world"
    let (code, stdout, _) = run(&["snapshot-verify", path_str(&snap)]);
    assert_eq!(code, 0, "{stdout}");
    assert!(
        // Our snapshots carry the tree digest after the last applied txn.
        stdout.contains(
            ": OK: 6 znodes, 1 sessions, 2 ACL lists, digest zxid 0x6 version 2 value 0x"
        ),
        "{stdout}"
    );
}

#[test]
fn snapshot_verify_catches_a_flipped_byte() {
    let snap = fixtures().join("zk-3.8.0-snap/version-2/snapshot.31");
    let (code, stdout, _) = run(&["snapshot-verify", path_str(&snap)]);
    assert_eq!(code, 0);
    assert!(
        stdout.contains("OK: 43 znodes, 5 sessions, 6 ACL lists, digest zxid 0x31"),
        "{stdout}"
    );
    let tmp = TempDir::new("flip-snap");
    // Inside a znode's data: only the checksum notices.
    let bad = flipped_copy(&snap, &tmp.0, 2000);
    let (code, stdout, _) = run(&["snapshot-verify", path_str(&bad)]);
    assert_eq!(code, 1);
    assert!(
        stdout.contains("CORRUPT at byte offset 4636: checksum mismatch after the tree"),
        "{stdout}"
    );
    let (code, stdout, stderr) = run(&["snapshot-dump", path_str(&bad)]);
    assert_eq!(code, 1);
    assert!(stdout.is_empty());
    assert!(stderr.contains("checksum mismatch"), "{stderr}");
    // In the digest section: its own seal.
    let bad = flipped_copy(&snap, &tmp.0, 4655);
    let (code, stdout, _) = run(&["snapshot-verify", path_str(&bad)]);
    assert_eq!(code, 1);
    assert!(
        stdout.contains("checksum mismatch after the digest"),
        "{stdout}"
    );
    // Anywhere at all.
    for offset in (0..4682).step_by(41) {
        let bad = flipped_copy(&snap, &tmp.0, offset);
        let (code, stdout, _) = run(&["snapshot-verify", path_str(&bad)]);
        assert_eq!(code, 1, "flip at {offset}: {stdout}");
    }
    let (code, _, _) = run(&["snapshot-dump"]);
    assert_eq!(code, 2);
    let (code, _, _) = run(&["snapshot-dump", "-d", "-json", path_str(&snap)]);
    assert_eq!(code, 2);
}

// ---- purge ----

/// A version-2 dir with valid snapshots 0, 5, a, 10, 20, an incomplete
/// snapshot.30, logs 1, 6, b, 15, 21 and an unrelated file.
fn purge_layout(dir: &Path) {
    let v2 = dir.join("version-2");
    fs::create_dir_all(&v2).unwrap();
    let snap = fs::read(fixtures().join("zk-3.8.0-snap/version-2/snapshot.31")).unwrap();
    let log = fs::read(fixtures().join("zk-3.8.0-log/version-2/log.1")).unwrap();
    for z in ["0", "5", "a", "10", "20"] {
        fs::write(v2.join(format!("snapshot.{z}")), &snap).unwrap();
    }
    fs::write(v2.join("snapshot.30"), &snap[..100]).unwrap();
    for z in ["1", "6", "b", "15", "21"] {
        fs::write(v2.join(format!("log.{z}")), &log).unwrap();
    }
    fs::write(v2.join("notes.txt"), b"keep me").unwrap();
}

fn listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    names.sort();
    names
}

fn removed(stdout: &str) -> Vec<String> {
    let mut v: Vec<String> = stdout
        .lines()
        .map(|l| {
            assert!(l.starts_with("Removing file: "), "{l}");
            let (_, path) = l.split_once('\t').expect("tab");
            Path::new(path)
                .file_name()
                .unwrap()
                .to_str()
                .unwrap()
                .to_string()
        })
        .collect();
    v.sort();
    v
}

#[test]
fn purge_keeps_the_newest_snapshots_and_the_logs_they_need() {
    let tmp = TempDir::new("purge");
    purge_layout(&tmp.0);
    let (code, stdout, stderr) = run(&["purge", path_str(&tmp.0)]);
    assert_eq!(code, 0, "{stderr}");
    // Kept: the three newest valid snapshots 20, 10, a (snapshot.30 is
    // incomplete); log.6 holds the txns after snapshot.a, so it stays.
    assert_eq!(removed(&stdout), ["log.1", "snapshot.0", "snapshot.5"]);
    assert_eq!(
        listing(&tmp.0.join("version-2")),
        [
            "log.15",
            "log.21",
            "log.6",
            "log.b",
            "notes.txt",
            "snapshot.10",
            "snapshot.20",
            "snapshot.30",
            "snapshot.a"
        ]
    );
    // Nothing more to do.
    let (code, stdout, _) = run(&["purge", path_str(&tmp.0)]);
    assert_eq!((code, stdout.as_str()), (0, ""));
    // -n 4 keeps more; -n 2 is refused.
    let (code, _, stderr) = run(&["purge", "-n", "2", path_str(&tmp.0)]);
    assert_eq!(code, 2);
    assert!(stderr.contains("count should be greater than or equal to 3"));
    // The same count again: nothing (the incomplete snapshot.30 does not count).
    let (code, stdout, _) = run(&["purge", "-n", "3", path_str(&tmp.0)]);
    assert_eq!((code, stdout.as_str()), (0, ""));
}

#[test]
fn purge_with_count_and_separate_log_dir_from_zoo_cfg() {
    let tmp = TempDir::new("purge-cfg");
    let data = tmp.0.join("data");
    let logs = tmp.0.join("logs");
    purge_layout(&data);
    // Move the logs to the dataLogDir.
    fs::create_dir_all(logs.join("version-2")).unwrap();
    for z in ["1", "6", "b", "15", "21"] {
        let name = format!("log.{z}");
        fs::rename(
            data.join("version-2").join(&name),
            logs.join("version-2").join(&name),
        )
        .unwrap();
    }
    let cfg = tmp.0.join("zoo.cfg");
    fs::write(
        &cfg,
        format!(
            "tickTime=2000\nclientPort=2181\ndataDir={}\ndataLogDir={}\n",
            data.display(),
            logs.display()
        ),
    )
    .unwrap();
    let (code, stdout, stderr) = run(&["purge", "-n", "4", path_str(&cfg)]);
    assert_eq!(code, 0, "{stderr}");
    // Keeps 20, 10, a, 5; log.1 holds the txns after snapshot.5.
    assert_eq!(removed(&stdout), ["snapshot.0"]);
    let (code, stdout, _) = run(&["purge", path_str(&cfg)]);
    assert_eq!(code, 0);
    assert_eq!(removed(&stdout), ["log.1", "snapshot.5"]);
    assert_eq!(
        listing(&logs.join("version-2")),
        ["log.15", "log.21", "log.6", "log.b"]
    );
    // The same, given as DATADIR DATALOGDIR (in either order).
    let (code, stdout, _) = run(&["purge", path_str(&logs), path_str(&data)]);
    assert_eq!((code, stdout.as_str()), (0, ""));
    // --config DIR finds zoo.cfg there.
    let out = Command::new(env!("CARGO_BIN_EXE_zkserver"))
        .args(["--config", path_str(&tmp.0), "purge"])
        .output()
        .unwrap();
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

#[test]
fn purge_without_valid_snapshots_deletes_nothing() {
    let tmp = TempDir::new("purge-none");
    let v2 = tmp.0.join("version-2");
    fs::create_dir_all(&v2).unwrap();
    fs::write(v2.join("snapshot.5"), b"garbage!!!!!").unwrap();
    fs::write(v2.join("log.1"), b"x").unwrap();
    let (code, stdout, _) = run(&["purge", path_str(&tmp.0)]);
    assert_eq!((code, stdout.as_str()), (0, ""));
    assert_eq!(listing(&v2), ["log.1", "snapshot.5"]);
    let (code, _, stderr) = run(&["purge", path_str(&tmp.0.join("missing"))]);
    assert_eq!(code, 1, "{stderr}");
    let (code, _, _) = run(&["purge", "--bogus"]);
    assert_eq!(code, 2);
}

#[test]
fn usage_lists_the_operator_commands() {
    let (code, _, stderr) = run(&["no-such-command"]);
    assert_ne!(code, 0);
    for cmd in [
        "txnlog-dump",
        "txnlog-verify",
        "snapshot-dump",
        "snapshot-verify",
        "purge",
    ] {
        assert!(
            stderr.contains(&format!("zkserver {cmd}")) || stderr.contains(&format!("] {cmd}")),
            "{cmd}: {stderr}"
        );
        let (code, stdout, _) = run(&[cmd, "--help"]);
        assert_eq!(code, 0, "{cmd}");
        assert!(stdout.starts_with("Usage: zkserver "), "{cmd}: {stdout}");
    }
}

// ---- what the reference tools print for the fixtures (UTC) ----

const REFERENCE_LOG_DUMP: &str = concat!(
    "ZooKeeper Transactional Log File with dbid 0 txnlog format version 2\n",
    "11/21/26, 3:19:54 PM UTC session 0x1000025b5820000 cxid 0x0 zxid 0x1 createSession 10000\n",
    "11/21/26, 3:19:54 PM UTC session 0x1000025b5820000 cxid 0x1 zxid 0x2 create /app,hello,[31,s{'world,'anyone}\n",
    "],false,1\n",
    "11/21/26, 3:19:54 PM UTC session 0x1000025b5820000 cxid 0x2 zxid 0x3 create /app/seq-0000000000,,[31,s{'world,'anyone}\n",
    "],false,1\n",
    "11/21/26, 3:19:54 PM UTC session 0x1000025b5820000 cxid 0x3 zxid 0x4 create /app/eph,e,[31,s{'world,'anyone}\n",
    "],true,2\n",
    "11/21/26, 3:19:54 PM UTC session 0x1000025b5820000 cxid 0x4 zxid 0x5 setData /app,world,1\n",
    "11/21/26, 3:19:54 PM UTC session 0x1000025b5820000 cxid 0x5 zxid 0x6 setACL '/app,v{s{31,s{'digest,'u:Jq7wMyA/w2Vd5WIDAKdu4OIIFEQ=}},s{31,s{'world,'anyone}}},1\n",
    "11/21/26, 3:19:54 PM UTC session 0x1000025b5820000 cxid 0x6 zxid 0x7 error -110\n",
    "11/21/26, 3:19:54 PM UTC session 0x1000025b5820001 cxid 0x0 zxid 0x8 createSession 30000\n",
    "11/21/26, 3:19:54 PM UTC session 0x1000025b5820001 cxid 0x1 zxid 0x9 createContainer /cont,,[31,s{'world,'anyone}\n",
    "],2\n",
    "11/21/26, 3:19:55 PM UTC session 0x1000025b5820002 cxid 0x0 zxid 0xa createSession 30000\n",
    "11/21/26, 3:19:55 PM UTC session 0x1000025b5820002 cxid 0x1 zxid 0xb createTtl /ttl,t,[31,s{'world,'anyone}\n",
    "],3,60000\n",
    "11/21/26, 3:19:55 PM UTC session 0x1000025b5820000 cxid 0x7 zxid 0xc multi create:\x00\x00\x00\x03/m1\x00\x00\x00\x01x\x00\x00\x00\x01\x00\x00\x00\x1f\x00\x00\x00\x05world\x00\x00\x00\x06anyone\x00\x00\x00\x00\x04;setData:\x00\x00\x00\x04/app\x00\x00\x00\x05multi\x00\x00\x00\x02;check:\x00\x00\x00\x04/app\x00\x00\x00\x03;delete:\x00\x00\x00\x13/app/seq-0000000000\n",
    "11/21/26, 3:19:55 PM UTC session 0x1000025b5820000 cxid 0x8 zxid 0xd multi create:\x00\x00\x00\x03/m2\x00\x00\x00\x01y\x00\x00\x00\x01\x00\x00\x00\x1f\x00\x00\x00\x05world\x00\x00\x00\x06anyone\x00\x00\x00\x00\x05;error:\u{fffd}\u{fffd}\u{fffd}\u{fffd}\n",
    "11/21/26, 3:19:55 PM UTC session 0x1000025b5820000 cxid 0x9 zxid 0xe delete '/m1\n",
    "11/21/26, 3:19:55 PM UTC session 0x1000025b5820000 cxid 0xa zxid 0xf closeSession v{'/app/eph}\n",
    "11/21/26, 3:20:26 PM UTC session 0x1000025b5820002 cxid 0x0 zxid 0x10 closeSession v{}\n",
    "11/21/26, 3:20:26 PM UTC session 0x1000025b5820001 cxid 0x0 zxid 0x11 closeSession v{}\n",
    "11/21/26, 3:21:51 PM UTC session 0x0 cxid 0x0 zxid 0x12 deleteContainer '/ttl\n",
    "EOF reached after 18 txns.\n",
);

const REFERENCE_SNAPSHOT_0_DUMP: &str = concat!(
    "ZNode Details (count=5):\n",
    "----\n",
    "/\n",
    "  cZxid = 0x00000000000000\n",
    "  ctime = Thu Jan 01 00:00:00 UTC 1970\n",
    "  mZxid = 0x00000000000000\n",
    "  mtime = Thu Jan 01 00:00:00 UTC 1970\n",
    "  pZxid = 0x00000000000000\n",
    "  cversion = 0\n",
    "  dataVersion = 0\n",
    "  aclVersion = 0\n",
    "  ephemeralOwner = 0x00000000000000\n",
    "  dataLength = 0\n",
    "----\n",
    "/zookeeper\n",
    "  cZxid = 0x00000000000000\n",
    "  ctime = Thu Jan 01 00:00:00 UTC 1970\n",
    "  mZxid = 0x00000000000000\n",
    "  mtime = Thu Jan 01 00:00:00 UTC 1970\n",
    "  pZxid = 0x00000000000000\n",
    "  cversion = 0\n",
    "  dataVersion = 0\n",
    "  aclVersion = 0\n",
    "  ephemeralOwner = 0x00000000000000\n",
    "  dataLength = 0\n",
    "----\n",
    "/zookeeper/config\n",
    "  cZxid = 0x00000000000000\n",
    "  ctime = Thu Jan 01 00:00:00 UTC 1970\n",
    "  mZxid = 0x00000000000000\n",
    "  mtime = Thu Jan 01 00:00:00 UTC 1970\n",
    "  pZxid = 0x00000000000000\n",
    "  cversion = 0\n",
    "  dataVersion = 0\n",
    "  aclVersion = -1\n",
    "  ephemeralOwner = 0x00000000000000\n",
    "  dataLength = 0\n",
    "----\n",
    "/zookeeper/quota\n",
    "  cZxid = 0x00000000000000\n",
    "  ctime = Thu Jan 01 00:00:00 UTC 1970\n",
    "  mZxid = 0x00000000000000\n",
    "  mtime = Thu Jan 01 00:00:00 UTC 1970\n",
    "  pZxid = 0x00000000000000\n",
    "  cversion = 0\n",
    "  dataVersion = 0\n",
    "  aclVersion = 0\n",
    "  ephemeralOwner = 0x00000000000000\n",
    "  dataLength = 0\n",
    "----\n",
    "Session Details (sid, timeout, ephemeralCount):\n",
    "----\n",
    "Last zxid: 0x0\n",
);
