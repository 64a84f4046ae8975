//! Work added to every request or every write by the operations features:
//! one latency summary observation (each request; `metrics::summary`) and
//! one node digest (each changed znode, twice for a setData;
//! `core::digest`). Both must stay far below a request's few microseconds.
use criterion::{black_box, criterion_group, criterion_main, Criterion, Throughput};
use jute::data::StatPersisted;
use zk_server::core::digest::node_digest;
use zk_server::metrics::summary::Summary;

fn bench(c: &mut Criterion) {
    let mut g = c.benchmark_group("per request");
    g.throughput(Throughput::Elements(1));
    let summary = Summary::default();
    let mut v = 0u64;
    g.bench_function("latency summary observe", |b| {
        b.iter(|| {
            // A spread of latencies (µs), so every bucket path is taken.
            v = (v * 7 + 13) % 50_000;
            summary.observe(black_box(v));
        })
    });
    let stat = StatPersisted {
        czxid: 0x1_0000_0001,
        mzxid: 0x1_0000_0002,
        ctime: 1_700_000_000_000,
        mtime: 1_700_000_000_001,
        version: 1,
        cversion: 0,
        aversion: 0,
        ephemeral_owner: 0,
        pzxid: 0x1_0000_0001,
    };
    let data = [7u8; 100];
    g.bench_function("node digest, 100-byte data", |b| {
        b.iter(|| node_digest(black_box("/bench/n0000012345"), Some(&data), &stat))
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
