//! The request pipeline in-process: frames through `core::Server` (prep,
//! apply, reply) with durability acknowledged at once, so this measures the
//! core alone — no sockets, no disk. The multi bench reports durability
//! late instead, so that writes stay outstanding as under load.
use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, Criterion};
use jute::data::Acl;
use jute::multi::{MultiOp, MultiRequest};
use jute::proto::{ConnectRequest, CreateRequest, GetDataRequest, RequestHeader, SetDataRequest};
use jute::{OpCode, Record};
use std::collections::VecDeque;
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
    multi_with_writes_outstanding(c, &mut server);
}

/// Writes in flight at once, as under zkbench's 4 sessions x 16.
const OUTSTANDING: usize = 64;

/// A multi of 10 setData while 64 writes await the log: prep looks up
/// pending change records (640 of them here) and keeps a rollback point.
/// Durability is reported for the oldest write once 64 are in flight.
fn multi_with_writes_outstanding(c: &mut Criterion, server: &mut Server) {
    let mut out: Vec<Output> = Vec::new();
    for k in 0..10 {
        let req = CreateRequest {
            path: format!("/m{k}"),
            data: None,
            acl: Acl::open_unsafe(),
            flags: 0,
        };
        let frame = frame(3, OpCode::Create, &req);
        server.handle_durable_now(NOW, Input::Frame { conn: 1, frame }, &mut out);
    }
    let multi = frame(
        4,
        OpCode::Multi,
        &MultiRequest {
            ops: (0..10)
                .map(|k| {
                    MultiOp::SetData(SetDataRequest {
                        path: format!("/m{k}"),
                        data: Some(Bytes::from_static(&[7u8; 100])),
                        version: -1,
                    })
                })
                .collect(),
        },
    );
    let mut in_flight: VecDeque<i64> = VecDeque::new();
    c.bench_function("core: multi of 10 setData, 64 writes outstanding", |b| {
        b.iter(|| {
            out.clear();
            let frame = multi.clone();
            server.handle(NOW, Input::Frame { conn: 1, frame }, &mut out);
            in_flight.extend(out.iter().filter_map(|o| match o {
                Output::Persist { txn } => Some(txn.header.zxid),
                _ => None,
            }));
            if in_flight.len() > OUTSTANDING {
                let zxid = in_flight.pop_front().expect("in flight");
                server.handle(NOW, Input::Persisted { zxid }, &mut out);
            }
        })
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
