//! Snapshots, log rolling and autopurge in the real `zkserver` process.
//!
//! 1. A server with `snapCount=100` takes 3,000 writes from 6 concurrent
//!    sessions. The log must roll (several `log.<zxid>` files, each named
//!    after its first txn, together replaying every zxid once) and fuzzy
//!    snapshots must be taken while the writes go on (several
//!    `snapshot.<zxid>` files besides the start-up one, each readable by our
//!    reader, none left half-written: no `tmp.*` file remains).
//! 2. SIGKILL; the server restarts on the directory: every write is there
//!    and the last zxid is the one before the kill; temporary files of a
//!    snapshot the kill interrupted are removed.
//! 3. SIGKILL; restart with `autopurge.purgeInterval=1`,
//!    `autopurge.snapRetainCount=3`: the purge task runs at start-up and
//!    leaves exactly the 3 newest snapshots and the logs needed to replay
//!    from the oldest of them.
//! 4. SIGKILL; restart on the purged directory: still every write.
//!
//! Processes are started by the test and killed by pid (also on panic);
//! everything listens on 127.0.0.1; loops are bounded in count and time.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};
use zk_client::{Acl, Client, CreateMode};
use zk_server::storage::{snapshot, txn_log};
use zk_tests::servers::{self, OurProcess};

const WRITERS: usize = 6;
const PER_WRITER: usize = 500;
const SNAP_COUNT: u64 = 100;

/// Starts our server on `root/data` with a small `snapCount`.
fn start(root: &Path, name: &str, extra: &str) -> OurProcess {
    let cfg = format!(
        "tickTime=2000\ndataDir={}\nmaxClientCnxns=0\n4lw.commands.whitelist=*\n\
         admin.enableServer=false\npreAllocSize=64\nsnapCount={SNAP_COUNT}\n{extra}",
        root.join("data").display()
    );
    OurProcess::start(root, name, &cfg, "info")
}

fn srvr_zxid(addr: SocketAddr) -> i64 {
    let reply = servers::four_letter(addr, "srvr");
    reply
        .lines()
        .find_map(|l| l.strip_prefix("Zxid: 0x"))
        .and_then(|hex| i64::from_str_radix(hex.trim(), 16).ok())
        .unwrap_or_else(|| panic!("no Zxid in {reply:?}"))
}

fn names(dir: &Path) -> Vec<String> {
    let mut v: Vec<String> = std::fs::read_dir(dir)
        .expect("version-2")
        .filter_map(|e| e.ok()?.file_name().to_str().map(str::to_string))
        .collect();
    v.sort();
    v
}

async fn connect(addr: SocketAddr) -> Client {
    let cs = addr.to_string();
    let c = Client::connect(&cs, Duration::from_secs(30));
    tokio::time::timeout(Duration::from_secs(10), c)
        .await
        .expect("connect timed out")
        .expect("connect")
}

fn path(k: usize, i: usize) -> String {
    format!("/s/w{k}-{i}")
}

/// Every write of the workload is in the tree, with its data.
async fn check_all(addr: SocketAddr) {
    let c = connect(addr).await;
    let mut children = c.get_children("/s", false).await.expect("ls /s");
    children.sort();
    assert_eq!(children.len(), WRITERS * PER_WRITER, "children of /s");
    for k in 0..WRITERS {
        for i in (0..PER_WRITER).step_by(37) {
            let (data, _) = c.get_data(&path(k, i), false).await.expect("get");
            assert_eq!(data.as_deref(), Some(format!("{k}-{i}").as_bytes()));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn snapshots_roll_and_autopurge_in_the_real_process() {
    let root = servers::fresh_dir("snapshots-e2e");
    let v2 = root.join("data").join("version-2");

    // 1. Writes under a small snapCount.
    let mut server = start(&root, "first", "");
    let c = connect(server.addr).await;
    c.create(
        "/s",
        Some(b"".to_vec()),
        &Acl::open_unsafe(),
        CreateMode::Persistent,
    )
    .await
    .expect("create /s");
    let mut writers = tokio::task::JoinSet::new();
    for k in 0..WRITERS {
        let addr = server.addr;
        writers.spawn(async move {
            let c = connect(addr).await;
            for i in 0..PER_WRITER {
                let data = format!("{k}-{i}").into_bytes();
                c.create(
                    &path(k, i),
                    Some(data),
                    &Acl::open_unsafe(),
                    CreateMode::Persistent,
                )
                .await
                .expect("create");
            }
        });
    }
    while let Some(r) = writers.join_next().await {
        r.expect("writer");
    }
    let last = srvr_zxid(server.addr);

    // Snapshots are written by their own thread: wait (bounded) for it.
    let deadline = Instant::now() + Duration::from_secs(30);
    let files = loop {
        let files = names(&v2);
        let busy = files.iter().any(|f| f.starts_with("tmp."));
        if !busy || Instant::now() > deadline {
            break files;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    };
    let logs: Vec<(i64, PathBuf)> = txn_log::log_files(&v2).expect("logs");
    let snaps: Vec<(i64, PathBuf)> = snapshot::snapshot_files(&v2).expect("snapshots");
    assert!(
        !files.iter().any(|f| f.starts_with("tmp.")),
        "temporary snapshot files left: {files:?}"
    );
    // ~3,000 txns at a randomized 50..100 per roll.
    assert!(logs.len() >= 20, "the log did not roll: {files:?}");
    assert!(snaps.len() >= 20, "too few snapshots: {files:?}");
    let read = txn_log::read_logs(&v2, 0).expect("replay every log");
    let zxids: Vec<i64> = read.txns.iter().map(|t| t.header.zxid).collect();
    assert_eq!(
        zxids,
        (1..=last).collect::<Vec<_>>(),
        "every zxid once, in order"
    );
    for (first, file) in &logs {
        let mut reader = txn_log::LogFileReader::open(file).expect("open log");
        let own = match reader.next_step().expect("read log") {
            txn_log::ReadStep::Entry(e) => Some(e.txn.header.zxid),
            _ => None,
        };
        assert_eq!(
            own,
            Some(*first),
            "{} named after its first txn",
            file.display()
        );
    }
    for (zxid, file) in &snaps {
        let s = snapshot::read_snapshot(file, true)
            .unwrap_or_else(|e| panic!("{}: {e}", file.display()));
        assert_eq!(s.zxid, *zxid);
    }
    let log = server.log_text();
    assert!(
        log.contains("snapshot taken: "),
        "no fuzzy snapshot logged:\n{log}"
    );

    // 2. SIGKILL and restart: everything is there, and what a snapshot cut
    //    short by the kill would leave is cleaned away.
    server.kill();
    let stale = [
        v2.join("tmp.snapshot.fffff"),
        v2.join("tmp.snapshot.fffff.nodes"),
    ];
    for f in &stale {
        std::fs::write(f, b"half a snapshot").expect("plant a stale temp file");
    }
    let mut server = start(&root, "second", "");
    for f in &stale {
        assert!(!f.exists(), "{} was not removed at start-up", f.display());
    }
    assert_eq!(srvr_zxid(server.addr), last);
    check_all(server.addr).await;
    // Its session was a txn too.
    let last = srvr_zxid(server.addr);
    server.kill();

    // 3. Autopurge at start-up keeps 3 snapshots and the logs they need.
    let mut server = start(
        &root,
        "purging",
        "autopurge.purgeInterval=1\nautopurge.snapRetainCount=3\n",
    );
    let deadline = Instant::now() + Duration::from_secs(30);
    while !server.log_text().contains("Purge task completed.") {
        assert!(
            Instant::now() < deadline,
            "no purge:\n{}",
            server.log_text()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let snaps = snapshot::snapshot_files(&v2).expect("snapshots");
    assert_eq!(
        snaps.len(),
        3,
        "snapshots after the purge: {:?}",
        names(&v2)
    );
    let oldest = snaps[0].0;
    let logs = txn_log::log_files(&v2).expect("logs");
    let needed = logs.iter().filter(|(z, _)| *z <= oldest).count();
    assert_eq!(
        needed,
        1,
        "exactly one log older than the oldest snapshot kept: {:?}",
        names(&v2)
    );
    assert_eq!(srvr_zxid(server.addr), last);
    server.kill();

    // 4. The purged directory still recovers everything.
    let server = start(&root, "after-purge", "");
    assert_eq!(srvr_zxid(server.addr), last);
    check_all(server.addr).await;
    drop(server);
    if std::env::var_os("ZK_KEEP_DIRS").is_none() {
        let _ = std::fs::remove_dir_all(&root);
    }
}
