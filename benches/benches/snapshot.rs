//! Snapshots at 10^6 znodes (100-byte data, 1,000 parents × 1,000
//! children): serializing the whole tree (CPU only, to a sink), writing the
//! file (with its fsync), reading it back into a tree, and one step of the
//! fuzzy walk — the longest a snapshot holds up the request loop at a time.
//! `ZK_BENCH_SNAPSHOT_NODES` changes the node count (rounded to whole
//! parents).
use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion, Throughput};
use jute::data::Acl;
use jute::txn::{CreateTxn, TxnHeader};
use jute::OpCode;
use std::time::Duration;
use zk_server::core::data_tree::DataTree;
use zk_server::core::txn::{Txn, TxnBody};
use zk_server::storage::fuzzy_snapshot::SnapshotWalk;
use zk_server::storage::snapshot;

fn create(zxid: i64, path: String) -> Txn {
    Txn {
        header: TxnHeader {
            client_id: 1,
            cxid: 1,
            zxid,
            time: 1_700_000_000_000,
            type_: OpCode::Create.code(),
        },
        body: TxnBody::Create(CreateTxn {
            path,
            data: Some(Bytes::from_static(&[7u8; 100])),
            acl: Acl::open_unsafe(),
            ephemeral: false,
            parent_c_version: -1,
        }),
    }
}

fn tree(nodes: usize) -> DataTree {
    let mut tree = DataTree::new(true);
    let mut triggers = Vec::new();
    let parents = nodes.div_ceil(1000).max(1);
    let mut zxid = 0;
    for p in 0..parents {
        zxid += 1;
        tree.apply(&create(zxid, format!("/p{p}")), &mut triggers);
        for c in 0..1000 {
            zxid += 1;
            tree.apply(&create(zxid, format!("/p{p}/c{c}")), &mut triggers);
            triggers.clear();
        }
    }
    tree
}

fn bench(c: &mut Criterion) {
    let nodes: usize = std::env::var("ZK_BENCH_SNAPSHOT_NODES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1_000_000);
    let tree = tree(nodes);
    let count = tree.node_count() as u64;
    let dir = std::env::temp_dir().join(format!("zk-bench-snapshot-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let zxid = tree.last_processed_zxid;

    let mut group = c.benchmark_group(format!("snapshot {count} znodes"));
    group.sample_size(10);
    group.measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(count));
    group.bench_function("serialize (no I/O)", |b| {
        b.iter(|| snapshot::serialize_snapshot(&mut std::io::sink(), &tree, &[]).expect("sink"))
    });
    group.bench_function("write file + fsync", |b| {
        b.iter(|| snapshot::write_snapshot(&dir, zxid, &tree, &[]).expect("write"))
    });
    let file = snapshot::write_snapshot(&dir, zxid, &tree, &[]).expect("write");
    let size = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
    eprintln!("snapshot of {count} znodes: {size} bytes");
    group.bench_function("read into a tree", |b| {
        b.iter(|| snapshot::read_snapshot(&file, true).expect("read"))
    });
    group.finish();

    let mut group = c.benchmark_group("fuzzy snapshot walk");
    group.throughput(Throughput::Elements(512));
    let mut walk = SnapshotWalk::start(&tree, Vec::new());
    group.bench_function("one step (512 nodes)", |b| {
        b.iter(|| {
            if walk.is_done() {
                walk = SnapshotWalk::start(&tree, Vec::new());
            }
            walk.step(&tree)
        })
    });
    group.finish();
    let _ = std::fs::remove_dir_all(&dir);
}

criterion_group!(benches, bench);
criterion_main!(benches);
