//! Data-tree operations at 10^5 and 10^6 znodes, through the in-process
//! core (`core::Server`, durability acknowledged at once): create, getData,
//! setData (100 bytes over 100), getChildren (a parent of 1000 children)
//! and delete, each against a tree
//! that stays at its size (what a timed create adds is deleted untimed, and
//! what a timed delete removes was created untimed).
//!
//! The big trees are built once per size, when their group starts. Under
//! `cargo bench -- --test` (every bench run once, as CI does) the sizes are
//! 10^3 and 10^4 so the setup stays short; the code path is the same.
use bytes::{Bytes, BytesMut};
use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use jute::data::Acl;
use jute::proto::{
    ConnectRequest, CreateRequest, DeleteRequest, GetChildrenRequest, GetDataRequest, ReplyHeader,
    RequestHeader, SetDataRequest,
};
use jute::{OpCode, Record};
use std::net::{IpAddr, Ipv4Addr};
use std::time::{Duration, Instant};
use zk_server::core::{CoreConfig, Input, Output, Server};

const NOW: i64 = 1_700_000_000_000;
/// Children per folder: the tree is `/d<k>/n<j>`, j < FANOUT.
const FANOUT: u64 = 1000;

fn frame<R: Record>(op: OpCode, r: &R) -> Bytes {
    let mut b = BytesMut::new();
    RequestHeader {
        xid: 1,
        type_: op.code(),
    }
    .write(&mut b);
    r.write(&mut b);
    b.freeze()
}

fn create_frame(path: String) -> Bytes {
    let req = CreateRequest {
        path,
        data: Some(Bytes::from_static(&[7u8; 100])),
        acl: Acl::open_unsafe(),
        flags: 0,
    };
    frame(OpCode::Create, &req)
}

fn delete_frame(path: String) -> Bytes {
    frame(OpCode::Delete, &DeleteRequest { path, version: -1 })
}

/// A core with one session (connection 1) and `n` znodes of 100 bytes
/// under `n / FANOUT` folders, plus an empty `/bench` for the creates.
struct Tree {
    server: Server,
    out: Vec<Output>,
    n: u64,
}

impl Tree {
    fn build(n: u64) -> Tree {
        let mut t = Tree {
            server: Server::new(CoreConfig::default(), NOW),
            out: Vec::with_capacity(16),
            n,
        };
        let peer = IpAddr::V4(Ipv4Addr::LOCALHOST);
        t.input(Input::Open { conn: 1, peer });
        let connect = ConnectRequest {
            time_out: 30_000,
            passwd: Some(Bytes::from_static(&[0; 16])),
            ..ConnectRequest::default()
        };
        t.send(jute::to_bytes(&connect));
        t.send(create_frame("/bench".into()));
        for d in 0..n.div_ceil(FANOUT) {
            t.send(create_frame(format!("/d{d}")));
        }
        for i in 0..n {
            t.send(create_frame(leaf(i)));
        }
        // root, /zookeeper, /zookeeper/quota, /zookeeper/config, /bench, folders, leaves
        let expected = 5 + n.div_ceil(FANOUT) + n;
        assert_eq!(t.server.tree().node_count() as u64, expected, "tree of {n}");
        t
    }

    fn input(&mut self, input: Input) {
        self.out.clear();
        self.server.handle_durable_now(NOW, input, &mut self.out);
    }

    fn send(&mut self, frame: Bytes) {
        self.input(Input::Frame { conn: 1, frame });
    }

    /// Asserts that the last request was answered without an error (a bench
    /// of NoNode replies would measure the wrong thing).
    fn assert_ok(&self, what: &str) {
        let reply = self.out.iter().rev().find_map(|o| match o {
            Output::Send { frame, .. } => Some(frame.clone()),
            _ => None,
        });
        let mut reply = reply.unwrap_or_else(|| panic!("{what}: no reply"));
        let _len = i32::read(&mut reply).expect("length prefix");
        let header = ReplyHeader::read(&mut reply).expect("reply header");
        assert_eq!(header.err, 0, "{what}: error reply");
    }

    /// Sends `frames` and returns how long that took; then asserts that the
    /// last one succeeded.
    fn timed(&mut self, frames: Vec<Bytes>, what: &str) -> Duration {
        let start = Instant::now();
        for f in frames {
            self.send(f);
        }
        let elapsed = start.elapsed();
        self.assert_ok(what);
        elapsed
    }
}

fn leaf(i: u64) -> String {
    format!("/d{}/n{}", i / FANOUT, i % FANOUT)
}

fn sizes() -> [u64; 2] {
    if std::env::args().any(|a| a == "--test") {
        [1_000, 10_000]
    } else {
        [100_000, 1_000_000]
    }
}

fn bench(c: &mut Criterion) {
    for n in sizes() {
        let build_start = Instant::now();
        let mut tree = Tree::build(n);
        eprintln!("data_tree: built {n} znodes in {:?}", build_start.elapsed());
        let mut group = c.benchmark_group(format!("data tree, {n} znodes"));
        group.sample_size(20);
        group.measurement_time(Duration::from_secs(2));
        group.warm_up_time(Duration::from_millis(500));
        let mut seq = 0u64;
        group.bench_function(BenchmarkId::from_parameter("create 100 B"), |b| {
            b.iter_custom(|iters| {
                let first = seq;
                let frames: Vec<Bytes> = (0..iters)
                    .map(|k| create_frame(format!("/bench/c{}", first + k)))
                    .collect();
                let elapsed = tree.timed(frames, "create");
                for k in 0..iters {
                    tree.send(delete_frame(format!("/bench/c{}", first + k)));
                }
                seq += iters;
                elapsed
            })
        });
        // A stride coprime with n walks the whole tree, defeating the caches.
        let stride = 7919u64;
        let mut at = 0u64;
        group.bench_function(BenchmarkId::from_parameter("getData 100 B"), |b| {
            b.iter_custom(|iters| {
                let frames: Vec<Bytes> = (0..iters)
                    .map(|_| {
                        at = (at + stride) % tree.n;
                        let req = GetDataRequest {
                            path: leaf(at),
                            watch: false,
                        };
                        frame(OpCode::GetData, &req)
                    })
                    .collect();
                tree.timed(frames, "getData")
            })
        });
        group.bench_function(BenchmarkId::from_parameter("setData 100 B"), |b| {
            b.iter_custom(|iters| {
                let frames: Vec<Bytes> = (0..iters)
                    .map(|_| {
                        at = (at + stride) % tree.n;
                        let req = SetDataRequest {
                            path: leaf(at),
                            data: Some(Bytes::from_static(&[9u8; 100])),
                            version: -1,
                        };
                        frame(OpCode::SetData, &req)
                    })
                    .collect();
                tree.timed(frames, "setData")
            })
        });
        let folders = tree.n.div_ceil(FANOUT);
        let mut folder = 0u64;
        group.bench_function(BenchmarkId::from_parameter("getChildren of 1000"), |b| {
            b.iter_custom(|iters| {
                let frames: Vec<Bytes> = (0..iters)
                    .map(|_| {
                        folder = (folder + 1) % folders;
                        let req = GetChildrenRequest {
                            path: format!("/d{folder}"),
                            watch: false,
                        };
                        frame(OpCode::GetChildren, &req)
                    })
                    .collect();
                tree.timed(frames, "getChildren")
            })
        });
        group.bench_function(BenchmarkId::from_parameter("delete"), |b| {
            b.iter_custom(|iters| {
                let first = seq;
                for k in 0..iters {
                    tree.send(create_frame(format!("/bench/c{}", first + k)));
                }
                let frames: Vec<Bytes> = (0..iters)
                    .map(|k| delete_frame(format!("/bench/c{}", first + k)))
                    .collect();
                let elapsed = tree.timed(frames, "delete");
                seq += iters;
                elapsed
            })
        });
        group.finish();
        let expected = 5 + folders + tree.n;
        assert_eq!(
            tree.server.tree().node_count() as u64,
            expected,
            "tree kept its size"
        );
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
