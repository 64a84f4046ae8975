//! The request pipeline in-process: frames through `core::Server` (prep,
//! apply, reply) with durability acknowledged at once, so this measures the
//! core alone — no sockets, no disk.
use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, Criterion};
use jute::data::Acl;
use jute::proto::{ConnectRequest, CreateRequest, GetDataRequest, RequestHeader};
use jute::{OpCode, Record};
use std::net::{IpAddr, Ipv4Addr};
use zk_server::core::{CoreConfig, Input, Output, Server};

const NOW: i64 = 1_700_000_000_000;

fn frame<R: Record>(xid: i32, op: OpCode, r: &R) -> Bytes {
    let mut b = BytesMut::new();
    RequestHeader {
        xid,
        type_: op.code(),
    }
    .write(&mut b);
    r.write(&mut b);
    b.freeze()
}

fn server_with_session() -> Server {
    let mut server = Server::new(CoreConfig::default(), NOW);
    let mut out = Vec::new();
    let peer = IpAddr::V4(Ipv4Addr::LOCALHOST);
    server.handle_durable_now(NOW, Input::Open { conn: 1, peer }, &mut out);
    let connect = ConnectRequest {
        time_out: 30_000,
        passwd: Some(Bytes::from_static(&[0; 16])),
        ..ConnectRequest::default()
    };
    let frame = jute::to_bytes(&connect);
    server.handle_durable_now(NOW, Input::Frame { conn: 1, frame }, &mut out);
    server
}

fn bench(c: &mut Criterion) {
    let mut server = server_with_session();
    let mut out: Vec<Output> = Vec::with_capacity(16);
    let mut i = 0u64;
    c.bench_function("core: create 100 B znode", |b| {
        b.iter(|| {
            i += 1;
            let req = CreateRequest {
                path: format!("/n{i}"),
                data: Some(Bytes::from_static(&[7u8; 100])),
                acl: Acl::open_unsafe(),
                flags: 0,
            };
            let frame = frame(1, OpCode::Create, &req);
            out.clear();
            server.handle_durable_now(NOW, Input::Frame { conn: 1, frame }, &mut out);
        })
    });
    let get = frame(
        2,
        OpCode::GetData,
        &GetDataRequest {
            path: "/n1".into(),
            watch: false,
        },
    );
    c.bench_function("core: getData 100 B", |b| {
        b.iter(|| {
            out.clear();
            let frame = get.clone();
            server.handle_durable_now(NOW, Input::Frame { conn: 1, frame }, &mut out);
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
