//! Model-based test of the core: random sequences of creates, deletes,
//! setData, multis and session closes are sent through the pure
//! `core::Server` (as frames, as a client would) and also applied to a plain
//! `BTreeMap` model. Every reply's error code must equal the model's
//! prediction, and after every step the tree must hold exactly the model's
//! paths, data and versions, with ZooKeeper's derived figures (numChildren,
//! client cversion, ephemeral owners) consistent.

use bytes::{Buf, Bytes, BytesMut};
use jute::data::Acl;
use jute::multi::{MultiOp, MultiRequest, MultiResponse, OpResult};
use jute::proto::*;
use jute::{ErrorCode, OpCode, Record};
use proptest::prelude::*;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use zk_server::core::{CoreConfig, Input, Output, Server};

const PATHS: [&str; 7] = ["/a", "/b", "/a/x", "/a/y", "/b/x", "/a/x/z", "/c"];

#[derive(Debug, Clone)]
enum Op {
    Create {
        session: usize,
        path: usize,
        data: u8,
        ephemeral: bool,
        sequential: bool,
    },
    Delete {
        session: usize,
        path: usize,
        version: i32,
    },
    SetData {
        session: usize,
        path: usize,
        data: u8,
        version: i32,
    },
    /// A two-op multi: create `path`, then setData `other` at `version`.
    Multi {
        session: usize,
        path: usize,
        other: usize,
        version: i32,
    },
    CloseSession {
        session: usize,
    },
}

fn op() -> impl Strategy<Value = Op> {
    let s = 0..2usize;
    let p = 0..PATHS.len();
    let v = prop_oneof![Just(-1), 0..3i32];
    prop_oneof![
        (
            s.clone(),
            p.clone(),
            any::<u8>(),
            any::<bool>(),
            any::<bool>()
        )
            .prop_map(|(session, path, data, ephemeral, sequential)| Op::Create {
                session,
                path,
                data,
                ephemeral,
                sequential
            }),
        (s.clone(), p.clone(), v.clone()).prop_map(|(session, path, version)| Op::Delete {
            session,
            path,
            version
        }),
        (s.clone(), p.clone(), any::<u8>(), v.clone()).prop_map(
            |(session, path, data, version)| {
                Op::SetData {
                    session,
                    path,
                    data,
                    version,
                }
            }
        ),
        (s.clone(), p.clone(), p, v).prop_map(|(session, path, other, version)| Op::Multi {
            session,
            path,
            other,
            version
        }),
        s.prop_map(|session| Op::CloseSession { session }),
    ]
}

#[derive(Debug, Clone, PartialEq)]
struct ModelNode {
    data: Vec<u8>,
    version: i32,
    /// Child creates (ZooKeeper's stored cversion).
    creates: i32,
    owner: usize, // 0 = persistent, else session index + 1
}

/// A client session: the connection id and session id it runs on.
struct Client {
    conn: u64,
    session_id: i64,
    xid: i32,
}

struct Harness {
    server: Server,
    now_ms: i64,
    next_conn: u64,
    clients: Vec<Client>,
}

fn connect_frame() -> Bytes {
    let req = ConnectRequest {
        protocol_version: 0,
        last_zxid_seen: 0,
        time_out: 30_000,
        session_id: 0,
        passwd: Some(Bytes::from_static(&[0; 16])),
        read_only: Some(false),
    };
    jute::to_bytes(&req)
}

fn unframe(f: &Bytes) -> Bytes {
    let mut b = f.clone();
    let len = b.get_i32() as usize;
    assert_eq!(len, b.len(), "frame length prefix matches its body");
    b
}

impl Harness {
    fn new() -> Harness {
        let mut h = Harness {
            server: Server::new(CoreConfig::default(), 1_000_000),
            now_ms: 1_000_000,
            next_conn: 1,
            clients: Vec::new(),
        };
        for _ in 0..2 {
            let c = h.open();
            h.clients.push(c);
        }
        h
    }

    fn open(&mut self) -> Client {
        let conn = self.next_conn;
        self.next_conn += 1;
        let mut out = Vec::new();
        let peer = IpAddr::V4(Ipv4Addr::LOCALHOST);
        self.server
            .handle(self.now_ms, Input::Open { conn, peer }, &mut out);
        self.server.handle_durable_now(
            self.now_ms,
            Input::Frame {
                conn,
                frame: connect_frame(),
            },
            &mut out,
        );
        let Some(Output::Send { frame, .. }) = out.pop() else {
            panic!("no connect reply")
        };
        let rsp = ConnectResponse::read(&mut unframe(&frame)).expect("connect response");
        assert!(rsp.session_id != 0 && rsp.time_out == 30_000);
        Client {
            conn,
            session_id: rsp.session_id,
            xid: 0,
        }
    }

    /// Sends one request; returns the reply header and body (events skipped).
    fn call<R: Record>(&mut self, session: usize, op: OpCode, req: &R) -> (ReplyHeader, Bytes) {
        self.now_ms += 1;
        let c = &mut self.clients[session];
        c.xid += 1;
        let xid = c.xid;
        let conn = c.conn;
        let mut buf = BytesMut::new();
        RequestHeader {
            xid,
            type_: op.code(),
        }
        .write(&mut buf);
        req.write(&mut buf);
        let mut out = Vec::new();
        self.server.handle_durable_now(
            self.now_ms,
            Input::Frame {
                conn,
                frame: buf.freeze(),
            },
            &mut out,
        );
        for o in out {
            if let Output::Send { conn: c2, frame } = o {
                if c2 != conn {
                    continue;
                }
                let mut b = unframe(&frame);
                let h = ReplyHeader::read(&mut b).expect("reply header");
                if h.xid == xid {
                    return (h, b);
                }
            }
        }
        panic!("no reply to xid {xid}");
    }
}

fn parent(p: &str) -> &str {
    match p.rfind('/') {
        Some(0) => "/",
        Some(i) => &p[..i],
        None => "/",
    }
}

/// The model's verdict on creating `path` for a session.
fn model_create_err(model: &BTreeMap<String, ModelNode>, path: &str) -> ErrorCode {
    let par = parent(path);
    let parent_node = if par == "/" { None } else { model.get(par) };
    if par != "/" && parent_node.is_none() {
        return ErrorCode::NoNode;
    }
    if model.contains_key(path) {
        return ErrorCode::NodeExists;
    }
    if parent_node.is_some_and(|n| n.owner != 0) {
        return ErrorCode::NoChildrenForEphemerals;
    }
    ErrorCode::Ok
}

fn children_of<'a>(model: &'a BTreeMap<String, ModelNode>, p: &str) -> Vec<&'a String> {
    model
        .keys()
        .filter(|k| parent(k) == p && k.as_str() != p)
        .collect()
}

fn bump_parent(model: &mut BTreeMap<String, ModelNode>, root_creates: &mut i32, path: &str) -> i32 {
    let par = parent(path).to_string();
    if par == "/" {
        *root_creates += 1;
        *root_creates - 1
    } else {
        let n = model.get_mut(&par).expect("parent exists");
        n.creates += 1;
        n.creates - 1
    }
}

fn check_tree(h: &Harness, model: &BTreeMap<String, ModelNode>, root_creates: i32) {
    let tree = h.server.tree();
    let user_paths: Vec<String> = tree
        .paths()
        .into_iter()
        .filter(|p| p != "/" && !p.starts_with("/zookeeper"))
        .collect();
    let model_paths: Vec<String> = model.keys().cloned().collect();
    assert_eq!(
        user_paths, model_paths,
        "the tree holds exactly the model's paths"
    );
    for (p, m) in model {
        let n = tree.get(p).expect("node present");
        let stat = n.client_stat(true);
        assert_eq!(n.data().unwrap_or(&[]), &m.data[..], "{p} data");
        assert_eq!(stat.version, m.version, "{p} version");
        let kids = children_of(model, p).len() as i32;
        assert_eq!(stat.num_children, kids, "{p} numChildren");
        assert_eq!(stat.cversion, m.creates * 2 - kids, "{p} client cversion");
        let owner = if m.owner == 0 {
            0
        } else {
            h.clients[m.owner - 1].session_id
        };
        assert_eq!(stat.ephemeral_owner, owner, "{p} ephemeralOwner");
    }
    let root = tree.get("/").expect("root");
    // /zookeeper is added to the root without a create, as in ZooKeeper
    // (whose fresh root therefore reports cversion -1).
    assert_eq!(root.stat().cversion, root_creates, "root creates");
}

fn run(ops: Vec<Op>) {
    let mut h = Harness::new();
    let mut model: BTreeMap<String, ModelNode> = BTreeMap::new();
    let mut root_creates = 0i32;
    let mut last_zxid = 2; // two createSession txns
    for op in ops {
        match op {
            Op::Create {
                session,
                path,
                data,
                ephemeral,
                sequential,
            } => {
                let base = PATHS[path];
                let flags = (ephemeral as i32) | ((sequential as i32) << 1);
                let req = CreateRequest {
                    path: base.to_string(),
                    data: Some(Bytes::from(vec![data])),
                    acl: Acl::open_unsafe(),
                    flags,
                };
                let (hdr, mut body) = h.call(session, OpCode::Create, &req);
                let mut expect_path = base.to_string();
                let mut expect = model_create_err(&model, base);
                if sequential && (parent(base) == "/" || model.contains_key(parent(base))) {
                    let creates = if parent(base) == "/" {
                        root_creates
                    } else {
                        model[parent(base)].creates
                    };
                    expect_path = format!("{base}{creates:010}");
                    expect = model_create_err(&model, &expect_path);
                }
                assert_eq!(hdr.err, expect.code(), "create {expect_path}");
                if expect == ErrorCode::Ok {
                    let rsp = CreateResponse::read(&mut body).expect("create response");
                    assert_eq!(rsp.path, expect_path);
                    bump_parent(&mut model, &mut root_creates, &expect_path);
                    let owner = if ephemeral { session + 1 } else { 0 };
                    model.insert(
                        expect_path,
                        ModelNode {
                            data: vec![data],
                            version: 0,
                            creates: 0,
                            owner,
                        },
                    );
                }
                last_zxid += 1;
                assert_eq!(hdr.zxid, last_zxid, "every write takes one zxid");
            }
            Op::Delete {
                session,
                path,
                version,
            } => {
                let p = PATHS[path];
                let req = DeleteRequest {
                    path: p.to_string(),
                    version,
                };
                let (hdr, _) = h.call(session, OpCode::Delete, &req);
                let expect = match model.get(p) {
                    None => ErrorCode::NoNode,
                    Some(n) if version != -1 && version != n.version => ErrorCode::BadVersion,
                    Some(_) if !children_of(&model, p).is_empty() => ErrorCode::NotEmpty,
                    Some(_) => ErrorCode::Ok,
                };
                assert_eq!(hdr.err, expect.code(), "delete {p} v{version}");
                if expect == ErrorCode::Ok {
                    model.remove(p);
                }
                last_zxid += 1;
                assert_eq!(hdr.zxid, last_zxid);
            }
            Op::SetData {
                session,
                path,
                data,
                version,
            } => {
                let p = PATHS[path];
                let req = SetDataRequest {
                    path: p.to_string(),
                    data: Some(Bytes::from(vec![data, data])),
                    version,
                };
                let (hdr, mut body) = h.call(session, OpCode::SetData, &req);
                let expect = match model.get(p) {
                    None => ErrorCode::NoNode,
                    Some(n) if version != -1 && version != n.version => ErrorCode::BadVersion,
                    Some(_) => ErrorCode::Ok,
                };
                assert_eq!(hdr.err, expect.code(), "setData {p} v{version}");
                if expect == ErrorCode::Ok {
                    let n = model.get_mut(p).expect("exists");
                    n.version += 1;
                    n.data = vec![data, data];
                    let rsp = SetDataResponse::read(&mut body).expect("setData response");
                    assert_eq!(rsp.stat.version, n.version);
                    assert_eq!(rsp.stat.mzxid, last_zxid + 1);
                }
                last_zxid += 1;
            }
            Op::Multi {
                session,
                path,
                other,
                version,
            } => {
                let p = PATHS[path];
                let o = PATHS[other];
                let req = MultiRequest {
                    ops: vec![
                        MultiOp::Create {
                            op: OpCode::Create,
                            req: CreateRequest {
                                path: p.to_string(),
                                data: None,
                                acl: Acl::open_unsafe(),
                                flags: 0,
                            },
                        },
                        MultiOp::SetData(SetDataRequest {
                            path: o.to_string(),
                            data: Some(Bytes::from_static(b"m")),
                            version,
                        }),
                    ],
                };
                let (hdr, mut body) = h.call(session, OpCode::Multi, &req);
                assert_eq!(hdr.err, 0, "a multi's header carries no error");
                let rsp = MultiResponse::read(&mut body).expect("multi response");
                let first = model_create_err(&model, p);
                // The second op sees the first's effect.
                let mut after = model.clone();
                if first == ErrorCode::Ok {
                    after.insert(
                        p.to_string(),
                        ModelNode {
                            data: vec![],
                            version: 0,
                            creates: 0,
                            owner: 0,
                        },
                    );
                }
                let second = match after.get(o) {
                    None => ErrorCode::NoNode,
                    Some(n) if version != -1 && version != n.version => ErrorCode::BadVersion,
                    Some(_) => ErrorCode::Ok,
                };
                let expected: Vec<i32> = match (first, second) {
                    (ErrorCode::Ok, ErrorCode::Ok) => vec![],
                    (ErrorCode::Ok, e) => vec![0, e.code()],
                    (e, _) => vec![e.code(), ErrorCode::RuntimeInconsistency.code()],
                };
                if expected.is_empty() {
                    assert!(matches!(rsp.results[0], OpResult::Create { .. }));
                    assert!(matches!(rsp.results[1], OpResult::SetData { .. }));
                    model = after;
                    bump_parent(&mut model, &mut root_creates, p);
                    let n = model.get_mut(o).expect("exists");
                    n.version += 1;
                    n.data = b"m".to_vec();
                } else {
                    let got: Vec<i32> = rsp
                        .results
                        .iter()
                        .map(|r| match r {
                            OpResult::Error { err } => *err,
                            other => panic!("failed multi returned {other:?}"),
                        })
                        .collect();
                    assert_eq!(got, expected, "multi create {p} + setData {o} v{version}");
                }
                last_zxid += 1;
                assert_eq!(hdr.zxid, last_zxid, "a multi takes one zxid");
            }
            Op::CloseSession { session } => {
                let (hdr, _) = h.call(session, OpCode::CloseSession, &Empty);
                assert_eq!(hdr.err, 0);
                model.retain(|_, n| n.owner != session + 1);
                let c = h.open();
                h.clients[session] = c;
                last_zxid += 2; // closeSession + the new createSession
            }
        }
        check_tree(&h, &model, root_creates);
    }
}

/// The empty record: requests that are a header only.
struct Empty;

impl Record for Empty {
    fn write(&self, _buf: &mut BytesMut) {}
    fn read(_buf: &mut Bytes) -> Result<Self, jute::JuteError> {
        Ok(Empty)
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]
    #[test]
    fn core_matches_model(ops in proptest::collection::vec(op(), 1..60)) {
        run(ops);
    }
}
