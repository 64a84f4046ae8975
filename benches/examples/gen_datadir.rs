//! Writes a data directory holding one snapshot of N znodes (100-byte data,
//! 1,000 children per parent), for restart-time measurements of either
//! server: `cargo run --release -p zk-benches --example gen_datadir -- DIR N`.
//! The directory is ZooKeeper's format, so Apache ZooKeeper starts on it too.
use bytes::Bytes;
use jute::data::Acl;
use jute::txn::{CreateTxn, TxnHeader};
use jute::OpCode;
use std::path::PathBuf;
use zk_server::core::data_tree::DataTree;
use zk_server::core::txn::{Txn, TxnBody};
use zk_server::storage::snapshot;

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (Some(dir), Some(n)) = (
        args.first(),
        args.get(1).and_then(|n| n.parse::<usize>().ok()),
    ) else {
        eprintln!("usage: gen_datadir DIR N");
        std::process::exit(2);
    };
    let mut tree = DataTree::new(true);
    let mut triggers = Vec::new();
    let mut zxid = 0i64;
    let mut create = |tree: &mut DataTree, path: String| {
        zxid += 1;
        let txn = Txn {
            header: TxnHeader {
                client_id: 0,
                cxid: 0,
                zxid,
                time: 1_700_000_000_000,
                type_: OpCode::Create.code(),
            },
            body: TxnBody::Create(CreateTxn {
                path,
                data: Some(Bytes::from_static(&[b'x'; 100])),
                acl: Acl::open_unsafe(),
                ephemeral: false,
                parent_c_version: -1,
            }),
        };
        tree.apply(&txn, &mut triggers);
        triggers.clear();
    };
    for p in 0..n.div_ceil(1000) {
        create(&mut tree, format!("/p{p}"));
        for c in 0..1000.min(n - p * 1000) {
            create(&mut tree, format!("/p{p}/c{c}"));
        }
    }
    let v2 = PathBuf::from(dir).join("version-2");
    let file = snapshot::write_snapshot(&v2, tree.last_processed_zxid, &tree, &[])
        .expect("write snapshot");
    println!("{} ({} znodes)", file.display(), tree.node_count());
}
