//! Storage faults, through the simulated disk (`storage::sim_disk`): the
//! real log thread writes a stream of txns (rolling its log every few dozen)
//! while a seeded fault strikes — a short write, a write that fails half
//! way, an fsync error, a full disk — or none; then the power is cut at that
//! moment (only synced bytes are sure to survive, plus any prefix of the
//! rest). What the crash left is recovered with the server's own reader.
//!
//! For every seed:
//! - every txn reported `Persisted` before the crash is recovered, with the
//!   bytes that were sent; the recovered txns are exactly 1..=k, in order,
//!   with no gap and no partial txn (a torn tail is cut, as at start-up);
//! - a write error, fsync error or full disk is reported as `Failed`, naming
//!   the log file, and nothing is `Persisted` after it (no retried fsync);
//! - a short write (a partial count, no error) is completed by the writer
//!   and harms nothing.
//!
//! `ZK_FAULT_SEEDS` sets the number of seeds (default 200); a failing seed
//! is printed and replays exactly.

use bytes::Bytes;
use jute::data::Acl;
use jute::txn::{CreateTxn, TxnHeader};
use jute::OpCode;
use rand::{Rng, SeedableRng};
use std::path::{Path, PathBuf};
use std::sync::{mpsc as std_mpsc, Arc};
use std::time::Duration;
use zk_server::core::txn::{Txn, TxnBody};
use zk_server::storage::sim_disk::{Fault, SimDisk};
use zk_server::storage::txn_log::{read_logs, truncate_torn_tail};
use zk_server::storage::{spawn_log_thread_on, LogConfig, LogEvent};

mod common;
use common::TempDir;

const WAIT: Duration = Duration::from_secs(10);

fn txn(zxid: i64, size: usize) -> Txn {
    Txn {
        header: TxnHeader {
            client_id: 0x77,
            cxid: zxid as i32,
            zxid,
            time: 1_700_000_000_000 + zxid,
            type_: OpCode::Create.code(),
        },
        body: TxnBody::Create(CreateTxn {
            path: format!("/f/n{zxid}"),
            data: Some(Bytes::from(vec![(zxid % 251) as u8; size])),
            acl: Acl::open_unsafe(),
            ephemeral: false,
            parent_c_version: zxid as i32,
        }),
    }
}

struct Outcome {
    persisted: i64,
    failed: Option<String>,
    events_after_failure: usize,
}

/// Runs the log thread on `disk` until every txn is persisted or it fails.
fn drive(disk: &SimDisk, dir: &Path, txns: &[Txn], batch: usize, seed: u64) -> Outcome {
    let (ev_tx, ev_rx) = std_mpsc::channel();
    let config = LogConfig {
        prealloc_bytes: 4096,
        batch_max_txns: batch,
        snap_count: 40,
        roll_seed: Some(seed),
        ..LogConfig::new(dir.to_path_buf())
    };
    let handle = spawn_log_thread_on(Arc::new(disk.clone()), config, move |e| {
        let _ = ev_tx.send(e);
    })
    .expect("log thread");
    let last = txns.last().expect("txns").header.zxid;
    let sender = {
        let tx = handle.tx.clone();
        let txns = txns.to_vec();
        std::thread::spawn(move || {
            for t in txns {
                if tx.blocking_send(Arc::new(t)).is_err() {
                    break; // the thread stopped after a failure
                }
            }
        })
    };
    drop(handle);
    let mut out = Outcome {
        persisted: 0,
        failed: None,
        events_after_failure: 0,
    };
    while let Ok(e) = ev_rx.recv_timeout(WAIT) {
        match e {
            LogEvent::Persisted { zxid } => {
                if out.failed.is_some() {
                    out.events_after_failure += 1;
                }
                assert!(
                    zxid > out.persisted,
                    "seed {seed}: Persisted went backwards"
                );
                out.persisted = zxid;
            }
            LogEvent::Failed { why } => out.failed = Some(why),
            LogEvent::Rolled { .. } => {}
        }
        if out.persisted == last {
            break;
        }
    }
    sender.join().expect("sender");
    // Anything still coming after the thread ended counts too.
    while let Ok(e) = ev_rx.recv_timeout(Duration::from_millis(20)) {
        if out.failed.is_some() && matches!(e, LogEvent::Persisted { .. }) {
            out.events_after_failure += 1;
        }
    }
    out
}

fn check_seed(seed: u64) {
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let n = rng.gen_range(50..300);
    let txns: Vec<Txn> = (1..=n).map(|z| txn(z, rng.gen_range(0..600))).collect();
    let fault = match rng.gen_range(0..5) {
        0 => None,
        1 => Some(Fault::ShortWrite {
            nth: rng.gen_range(0..40),
        }),
        2 => Some(Fault::WriteError {
            nth: rng.gen_range(0..40),
        }),
        3 => Some(Fault::SyncError {
            nth: rng.gen_range(0..40),
        }),
        _ => Some(Fault::DiskFull {
            bytes: rng.gen_range(100..60_000),
        }),
    };
    let disk = SimDisk::with_faults(fault.into_iter().collect());
    let sim_dir = PathBuf::from("/sim/datalog/version-2");
    let batch = rng.gen_range(1..20);
    let out = drive(&disk, &sim_dir, &txns, batch, seed);
    let what = format!("seed {seed} ({fault:?}, batch {batch}, {n} txns)");

    match fault {
        Some(Fault::ShortWrite { .. }) | None => {
            assert_eq!(out.failed, None, "{what}: no failure expected");
            assert_eq!(out.persisted, n, "{what}: every txn persisted");
        }
        Some(Fault::WriteError { nth }) | Some(Fault::SyncError { nth }) => {
            // A fault beyond the writes/syncs the run made never fires.
            if let Some(why) = &out.failed {
                assert!(why.contains("log."), "{what}: reason names no file: {why}");
            } else {
                assert!(nth > 0, "{what}: the first write or sync always happens");
                assert_eq!(out.persisted, n, "{what}");
            }
        }
        Some(Fault::DiskFull { .. }) => {
            if let Some(why) = &out.failed {
                assert!(why.contains("log."), "{what}: reason names no file: {why}");
                assert!(
                    why.contains("No space") || why.contains("os error 28"),
                    "{what}: {why}"
                );
            } else {
                assert_eq!(out.persisted, n, "{what}");
            }
        }
    }
    assert_eq!(
        out.events_after_failure, 0,
        "{what}: Persisted after Failed (a retried fsync?)"
    );

    // The power cut, and recovery as start-up does it.
    let tmp = TempDir::new(&format!("faults-{seed}"));
    let root = tmp.v2();
    disk.materialize(&sim_dir, &root, |extra| rng.gen_range(0..=extra))
        .expect("materialize");
    let read = read_logs(&root, 0).unwrap_or_else(|e| panic!("{what}: recovery failed: {e}"));
    if let Some((file, offset)) = &read.torn_tail {
        truncate_torn_tail(file, *offset).expect("truncate");
        let again = read_logs(&root, 0).expect("re-read");
        assert!(again.torn_tail.is_none(), "{what}: tail still torn");
        assert_eq!(again.txns.len(), read.txns.len(), "{what}");
    }
    let got: Vec<i64> = read.txns.iter().map(|t| t.header.zxid).collect();
    let k = got.len() as i64;
    assert_eq!(got, (1..=k).collect::<Vec<_>>(), "{what}: gap or disorder");
    assert!(
        k >= out.persisted,
        "{what}: acknowledged up to {} but recovered only {k}",
        out.persisted
    );
    for t in &read.txns {
        assert_eq!(
            t,
            &txns[(t.header.zxid - 1) as usize],
            "{what}: txn changed"
        );
    }
}

#[test]
fn no_acknowledged_txn_is_lost_to_a_storage_fault() {
    let seeds: u64 = std::env::var("ZK_FAULT_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(200);
    for seed in 0..seeds {
        check_seed(seed);
    }
}

/// Each fault kind, pinned: the reason names the file, and the thread stops.
#[test]
fn each_fault_kind_stops_the_log_loudly() {
    let dir = PathBuf::from("/sim/pinned/version-2");
    let txns: Vec<Txn> = (1..=20).map(|z| txn(z, 100)).collect();
    for (fault, word) in [
        (Fault::SyncError { nth: 0 }, "os error 5"),
        (Fault::WriteError { nth: 0 }, "os error 5"),
        (Fault::DiskFull { bytes: 10 }, "os error 28"),
    ] {
        let disk = SimDisk::with_faults(vec![fault]);
        let out = drive(&disk, &dir, &txns, 1, 1);
        let why = out
            .failed
            .unwrap_or_else(|| panic!("{fault:?}: no failure"));
        assert!(
            why.contains("log.1") && why.contains(word),
            "{fault:?}: {why}"
        );
        assert_eq!(out.persisted, 0, "{fault:?}");
        // Nothing acknowledged, and nothing a reader would take for a txn.
        let image = disk.crash_image(|extra| extra);
        let tmp = TempDir::new("faults-pinned");
        let root = tmp.v2();
        disk.materialize(&dir, &root, |extra| extra)
            .expect("materialize");
        let read = read_logs(&root, 0).expect("read");
        assert!(read.txns.is_empty(), "{fault:?}: {} files", image.len());
    }
    // A short write is completed: everything persists.
    let disk = SimDisk::with_faults(vec![Fault::ShortWrite { nth: 0 }]);
    let out = drive(&disk, &dir, &txns, 1, 1);
    assert_eq!((out.failed, out.persisted), (None, 20));
}
