//! The write pipeline with a slow "disk": txns handed out as
//! `Output::Persist` are acknowledged only when the test says so. Checks that
//! a session's reads wait for its own earlier writes and see them, that other
//! sessions neither wait nor see unacknowledged writes, that a connection can
//! pipeline writes whose prep sees the earlier ones, and that nothing is
//! applied or answered before it is durable.

use bytes::{Buf, Bytes, BytesMut};
use jute::data::Acl;
use jute::proto::*;
use jute::{ErrorCode, OpCode, Record};
use std::net::{IpAddr, Ipv4Addr};
use zk_server::core::{CoreConfig, Input, Output, Server};

const NOW: i64 = 5_000_000;

struct Rig {
    server: Server,
    /// Newest zxid handed out for persistence.
    newest: i64,
}

/// A decoded reply: (conn, xid, zxid, err, body).
type Reply = (u64, i32, i64, i32, Bytes);

impl Rig {
    fn new() -> Rig {
        Rig {
            server: Server::new(CoreConfig::default(), NOW),
            newest: 0,
        }
    }

    fn step(&mut self, input: Input) -> Vec<Reply> {
        let mut out = Vec::new();
        self.server.handle(NOW, input, &mut out);
        let mut replies = Vec::new();
        for o in out {
            match o {
                Output::Persist { txn } => {
                    assert!(txn.header.zxid > self.newest, "persisted in zxid order");
                    self.newest = txn.header.zxid;
                }
                Output::Send { conn, frame } => {
                    let mut b = frame.clone();
                    b.advance(4);
                    if b.len() >= 16 {
                        let h = ReplyHeader::read(&mut b.clone()).expect("header");
                        b.advance(16);
                        replies.push((conn, h.xid, h.zxid, h.err, b));
                    } else {
                        replies.push((conn, 0, 0, 0, b));
                    }
                }
                Output::Close { .. } | Output::Quorum(_) => {}
            }
        }
        replies
    }

    /// Opens a connection and completes its handshake (a createSession txn).
    fn session(&mut self, conn: u64) {
        let peer = IpAddr::V4(Ipv4Addr::LOCALHOST);
        assert!(self.step(Input::Open { conn, peer }).is_empty());
        let req = ConnectRequest {
            time_out: 30_000,
            passwd: Some(Bytes::from_static(&[0; 16])),
            read_only: Some(false),
            ..ConnectRequest::default()
        };
        let early = self.step(Input::Frame {
            conn,
            frame: jute::to_bytes(&req),
        });
        assert!(
            early.is_empty(),
            "no handshake reply before the session is durable"
        );
        let zxid = self.newest;
        let done = self.step(Input::Persisted { zxid });
        assert_eq!(done.len(), 1, "the connect response");
    }

    fn send<R: Record>(&mut self, conn: u64, xid: i32, op: OpCode, r: &R) -> Vec<Reply> {
        let mut b = BytesMut::new();
        RequestHeader {
            xid,
            type_: op.code(),
        }
        .write(&mut b);
        r.write(&mut b);
        self.step(Input::Frame {
            conn,
            frame: b.freeze(),
        })
    }

    fn persist_all(&mut self) -> Vec<Reply> {
        let zxid = self.newest;
        self.step(Input::Persisted { zxid })
    }
}

fn create(path: &str) -> CreateRequest {
    CreateRequest {
        path: path.into(),
        data: None,
        acl: Acl::open_unsafe(),
        flags: 0,
    }
}

fn get(path: &str) -> GetDataRequest {
    GetDataRequest {
        path: path.into(),
        watch: false,
    }
}

#[test]
fn reads_wait_for_their_own_writes_only() {
    let mut rig = Rig::new();
    rig.session(1);
    rig.session(2);
    // Session 1 writes, then reads, then pipelines a dependent write.
    assert!(
        rig.send(1, 1, OpCode::Create, &create("/a")).is_empty(),
        "not durable yet"
    );
    let z_create_a = rig.newest;
    assert!(
        rig.send(1, 2, OpCode::GetData, &get("/a")).is_empty(),
        "waits behind its write"
    );
    assert!(rig.send(1, 3, OpCode::Create, &create("/a/b")).is_empty());
    assert_eq!(
        rig.newest, z_create_a,
        "a write behind a queued read waits too"
    );
    // Session 2 is not held up, and does not see the unacknowledged write.
    let r = rig.send(2, 1, OpCode::GetData, &get("/a"));
    assert_eq!(r.len(), 1);
    assert_eq!(r[0].3, ErrorCode::NoNode.code());
    // Acknowledge only the first write: its reply, then the queued read.
    let r = rig.step(Input::Persisted { zxid: z_create_a });
    let order: Vec<(u64, i32, i32)> = r.iter().map(|x| (x.0, x.1, x.3)).collect();
    assert_eq!(order, vec![(1, 1, 0), (1, 2, 0)]);
    assert_eq!(r[1].2, z_create_a, "the read saw exactly the first write");
    assert_eq!(
        rig.newest,
        z_create_a + 1,
        "the queued write is now prepped"
    );
    // Then the second write.
    let r = rig.persist_all();
    assert_eq!(
        r.iter().map(|x| (x.0, x.1, x.3)).collect::<Vec<_>>(),
        vec![(1, 3, 0)]
    );
    let mut body = r[0].4.clone();
    assert_eq!(CreateResponse::read(&mut body).unwrap().path, "/a/b");
}

#[test]
fn pipelined_writes_see_each_other_in_prep() {
    let mut rig = Rig::new();
    rig.session(1);
    assert!(rig.send(1, 1, OpCode::Create, &create("/p")).is_empty());
    assert!(rig.send(1, 2, OpCode::Create, &create("/p/q")).is_empty());
    assert!(rig
        .send(
            1,
            3,
            OpCode::Delete,
            &DeleteRequest {
                path: "/p".into(),
                version: -1
            }
        )
        .is_empty());
    let r = rig.persist_all();
    let got: Vec<(i32, i32)> = r.iter().map(|x| (x.1, x.3)).collect();
    // /p/q's create saw /p in flight; /p's delete saw its pending child.
    assert_eq!(got, vec![(1, 0), (2, 0), (3, ErrorCode::NotEmpty.code())]);
}

#[test]
fn frames_after_a_pending_handshake_wait_for_it() {
    let mut rig = Rig::new();
    let peer = IpAddr::V4(Ipv4Addr::LOCALHOST);
    rig.step(Input::Open { conn: 7, peer });
    let req = ConnectRequest {
        time_out: 30_000,
        passwd: Some(Bytes::from_static(&[0; 16])),
        ..ConnectRequest::default()
    };
    assert!(rig
        .step(Input::Frame {
            conn: 7,
            frame: jute::to_bytes(&req)
        })
        .is_empty());
    // A pipelining client sends a request before the handshake completes.
    assert!(rig
        .send(
            7,
            1,
            OpCode::Exists,
            &ExistsRequest {
                path: "/".into(),
                watch: false
            }
        )
        .is_empty());
    let r = rig.persist_all();
    assert_eq!(r.len(), 2, "connect response, then the exists reply");
    assert_eq!((r[1].1, r[1].3), (1, 0));
}

#[test]
fn close_session_answers_after_its_txn_is_durable() {
    let mut rig = Rig::new();
    rig.session(1);
    assert!(rig
        .send(
            1,
            1,
            OpCode::Create,
            &CreateRequest {
                flags: 1,
                ..create("/e")
            }
        )
        .is_empty());
    #[derive(Default)]
    struct Empty;
    impl Record for Empty {
        fn write(&self, _: &mut BytesMut) {}
        fn read(_: &mut Bytes) -> Result<Self, jute::JuteError> {
            Ok(Empty)
        }
    }
    assert!(rig.send(1, 2, OpCode::CloseSession, &Empty).is_empty());
    let r = rig.persist_all();
    assert_eq!(
        r.iter().map(|x| (x.1, x.3)).collect::<Vec<_>>(),
        vec![(1, 0), (2, 0)]
    );
    assert!(
        rig.server.tree().get("/e").is_none(),
        "the ephemeral went with the session"
    );
}

/// A standalone check (opcode 13) is answered (3.8.0 never answers it) with
/// the node's Stat, takes a zxid, and goes to the log as a one-op multi,
/// which ZooKeeper's log reader accepts.
#[test]
fn standalone_check_is_answered_and_logged_as_a_multi() {
    let mut rig = Rig::new();
    rig.session(1);
    rig.send(1, 1, OpCode::Create, &create("/c"));
    rig.persist_all();
    let mut out = Vec::new();
    let mut b = BytesMut::new();
    RequestHeader {
        xid: 2,
        type_: OpCode::Check.code(),
    }
    .write(&mut b);
    CheckVersionRequest {
        path: "/c".into(),
        version: 0,
    }
    .write(&mut b);
    rig.server.handle(
        NOW,
        Input::Frame {
            conn: 1,
            frame: b.freeze(),
        },
        &mut out,
    );
    let Some(Output::Persist { txn }) = out.first() else {
        panic!("a txn: {out:?}")
    };
    assert_eq!(txn.header.type_, OpCode::Multi.code());
    rig.newest = txn.header.zxid;
    let r = rig.persist_all();
    assert_eq!((r[0].1, r[0].2, r[0].3), (2, rig.newest, 0));
    let mut body = r[0].4.clone();
    assert_eq!(SetDataResponse::read(&mut body).unwrap().stat.version, 0);
    let r = rig.send(
        1,
        3,
        OpCode::Check,
        &CheckVersionRequest {
            path: "/c".into(),
            version: 5,
        },
    );
    assert!(r.is_empty());
    let r = rig.persist_all();
    assert_eq!(r[0].3, ErrorCode::BadVersion.code());
}
