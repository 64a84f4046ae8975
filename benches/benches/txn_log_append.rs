//! Txn-log append + commit at several group-commit batch sizes, without
//! fsync (the fsync cost is the disk's; measure it with the load tool);
//! and the encoding of one multi-of-10 entry, written in place.
use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion, Throughput};
use jute::data::Acl;
use jute::txn::{CreateTxn, SetDataTxn, TxnHeader};
use jute::OpCode;
use zk_server::core::txn::{SubTxn, Txn, TxnBody};
use zk_server::storage::txn_log::{encode_entry, TxnLogWriter};

fn txn(zxid: i64) -> Txn {
    Txn {
        header: TxnHeader {
            client_id: 1,
            cxid: 1,
            zxid,
            time: 0,
            type_: OpCode::Create.code(),
        },
        body: TxnBody::Create(CreateTxn {
            path: format!("/bench/n{zxid}"),
            data: Some(Bytes::from_static(&[7u8; 100])),
            acl: Acl::open_unsafe(),
            ephemeral: false,
            parent_c_version: 1,
        }),
    }
}

fn bench(c: &mut Criterion) {
    let mut group = c.benchmark_group("txn log append+commit (no fsync)");
    // Every iteration grows a real file: keep the run short.
    group.measurement_time(std::time::Duration::from_secs(2));
    group.sample_size(20);
    for batch in [1usize, 10, 100] {
        let dir = std::env::temp_dir().join(format!("zk-bench-log-{}-{batch}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let mut writer = TxnLogWriter::create(&dir, 1, 64 * 1024 * 1024).expect("log file");
        let mut zxid = 0i64;
        group.throughput(Throughput::Elements(batch as u64));
        group.bench_with_input(BenchmarkId::from_parameter(batch), &batch, |b, &batch| {
            b.iter(|| {
                for _ in 0..batch {
                    zxid += 1;
                    writer.append(&txn(zxid)).expect("append");
                }
                writer.commit(false).expect("commit");
            })
        });
        drop(writer);
        let _ = std::fs::remove_dir_all(&dir);
    }
    group.finish();
}

fn multi_entry(c: &mut Criterion) {
    let subs = (0..10)
        .map(|i| SubTxn {
            type_: OpCode::SetData.code(),
            body: TxnBody::SetData(SetDataTxn {
                path: format!("/bench/p{i}"),
                data: Some(Bytes::from_static(&[7u8; 100])),
                version: 3,
            }),
        })
        .collect();
    let multi = Txn {
        header: TxnHeader {
            client_id: 1,
            cxid: 1,
            zxid: 1,
            time: 0,
            type_: OpCode::Multi.code(),
        },
        body: TxnBody::Multi(subs),
    };
    let mut buf = BytesMut::with_capacity(4096);
    c.bench_function("txn log: encode a multi of 10 setData", |b| {
        b.iter(|| {
            buf.clear();
            encode_entry(&multi, &mut buf).expect("encode");
        })
    });
}

criterion_group!(benches, bench, multi_entry);
criterion_main!(benches);
