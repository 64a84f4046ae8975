//! Encode/decode cost of the hottest records.
use bytes::Bytes;
use criterion::{criterion_group, criterion_main, Criterion};
use jute::data::Stat;
use jute::proto::{CreateRequest, GetDataResponse};
use jute::Record;

fn bench(c: &mut Criterion) {
    let resp = GetDataResponse {
        data: Some(Bytes::from(vec![7u8; 100])),
        stat: Stat::default(),
    };
    let enc = jute::to_bytes(&resp);
    c.bench_function("encode GetDataResponse 100B", |b| {
        b.iter(|| jute::to_bytes(&resp))
    });
    c.bench_function("decode GetDataResponse 100B", |b| {
        b.iter(|| GetDataResponse::read(&mut enc.clone()).expect("valid"))
    });
    let req = CreateRequest {
        path: "/app/locks/lock-0000000001".into(),
        data: Some(Bytes::from_static(b"hello")),
        acl: jute::data::Acl::open_unsafe(),
        flags: 3,
    };
    let enc = jute::to_bytes(&req);
    c.bench_function("decode CreateRequest", |b| {
        b.iter(|| CreateRequest::read(&mut enc.clone()).expect("valid"))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
