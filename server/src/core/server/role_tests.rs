//! A leader and two followers wired by hand: the harness plays Zab's part
//! (REQUEST → leader, leader's txns committed in order to everyone,
//! REVALIDATE both ways, SYNC after the txns before it), one FIFO of
//! deliveries, so every run is deterministic.

use super::*;
use crate::core::quorum_io::{QuorumInput, QuorumOutput};
use crate::quorum::types::TxnPacket;
use jute::data::Acl;
use std::collections::VecDeque;
use std::sync::Arc;

const T0: i64 = 1_700_000_000_000;
const LEADER: usize = 0;

enum Delivery {
    To(usize, QuorumInput),
    Commit(Txn),
}

struct Cluster {
    nodes: Vec<Server>,
    queue: VecDeque<Delivery>,
    /// Frames sent to each (node, conn), length prefix removed.
    inbox: HashMap<(usize, ConnId), Vec<Bytes>>,
    closed: Vec<(usize, ConnId)>,
    now: i64,
    xid: i32,
    next_conn: ConnId,
}

fn sid(node: usize) -> i64 {
    node as i64 + 1
}

impl Cluster {
    fn new(n: usize) -> Cluster {
        let mut nodes = Vec::new();
        for i in 0..n {
            let config = CoreConfig {
                server_id: sid(i),
                ..CoreConfig::default()
            };
            let mut s = Server::new(config, T0);
            let role = if i == LEADER {
                Role::Leader
            } else {
                Role::Follower
            };
            s.set_role(T0, role, &mut Vec::new());
            nodes.push(s);
        }
        nodes[LEADER].set_epoch(1);
        Cluster {
            nodes,
            queue: VecDeque::new(),
            inbox: HashMap::new(),
            closed: Vec::new(),
            now: T0,
            xid: 0,
            next_conn: 1,
        }
    }

    fn input(&mut self, node: usize, input: Input) {
        let mut out = Vec::new();
        let now = self.now;
        self.nodes[node].handle(now, input, &mut out);
        self.route(node, out);
    }

    fn route(&mut self, node: usize, out: Vec<Output>) {
        for o in out {
            match o {
                Output::Send { conn, frame } => self
                    .inbox
                    .entry((node, conn))
                    .or_default()
                    .push(frame.slice(4..)),
                Output::Close { conn, .. } => self.closed.push((node, conn)),
                Output::Persist { txn } => {
                    assert_eq!(node, LEADER, "only the leader prepares txns");
                    self.queue
                        .push_back(Delivery::Commit(Arc::unwrap_or_clone(txn)));
                }
                Output::Quorum(q) => {
                    let (to, input) = match q {
                        QuorumOutput::Forward(request) => (
                            LEADER,
                            QuorumInput::Forwarded {
                                from: sid(node),
                                request,
                            },
                        ),
                        QuorumOutput::Revalidate {
                            session_id,
                            timeout_ms,
                        } => (
                            LEADER,
                            QuorumInput::Revalidate {
                                from: sid(node),
                                session_id,
                                timeout_ms,
                            },
                        ),
                        QuorumOutput::Revalidated {
                            learner,
                            session_id,
                            valid,
                        } => (
                            (learner - 1) as usize,
                            QuorumInput::Revalidated { session_id, valid },
                        ),
                        QuorumOutput::SyncBarrier { learner, .. } => {
                            ((learner - 1) as usize, QuorumInput::SyncDone)
                        }
                    };
                    self.queue.push_back(Delivery::To(to, input));
                }
            }
        }
    }

    /// Delivers everything queued, in order, until the ensemble is quiet.
    fn pump(&mut self) {
        let mut steps = 0;
        while let Some(d) = self.queue.pop_front() {
            steps += 1;
            assert!(steps < 100_000, "the ensemble never went quiet");
            match d {
                Delivery::To(node, q) => self.input(node, Input::Quorum(q)),
                Delivery::Commit(txn) => {
                    let zxid = txn.header.zxid;
                    self.input(LEADER, Input::Persisted { zxid });
                    for n in 0..self.nodes.len() {
                        if n != LEADER {
                            let p = TxnPacket {
                                txn: txn.clone(),
                                digest: None,
                            };
                            self.input(n, Input::Quorum(QuorumInput::Committed(p)));
                        }
                    }
                }
            }
        }
    }

    fn open(&mut self, node: usize) -> ConnId {
        let conn = self.next_conn;
        self.next_conn += 1;
        let peer = IpAddr::V4(std::net::Ipv4Addr::LOCALHOST);
        self.input(node, Input::Open { conn, peer });
        conn
    }

    /// Sends a connect; returns the conn (the reply may wait for a commit).
    fn send_connect(&mut self, node: usize, session_id: i64, passwd: [u8; 16]) -> ConnId {
        let conn = self.open(node);
        let req = ConnectRequest {
            time_out: 10_000,
            session_id,
            passwd: Some(Bytes::copy_from_slice(&passwd)),
            read_only: Some(false),
            ..ConnectRequest::default()
        };
        self.input(
            node,
            Input::Frame {
                conn,
                frame: jute::to_bytes(&req),
            },
        );
        conn
    }

    fn take(&mut self, node: usize, conn: ConnId) -> Vec<Bytes> {
        self.inbox.remove(&(node, conn)).unwrap_or_default()
    }

    /// Connects a new session through `node`; returns (conn, session id).
    fn session(&mut self, node: usize) -> (ConnId, i64) {
        let conn = self.send_connect(node, 0, [0; 16]);
        self.pump();
        let mut frames = self.take(node, conn);
        assert_eq!(frames.len(), 1, "one connect reply");
        let rsp = ConnectResponse::read(&mut frames[0]).unwrap();
        assert_eq!(rsp.time_out, 10_000);
        (conn, rsp.session_id)
    }

    /// Sends a request frame; returns its xid (replies land in the inbox).
    fn send<R: Record>(&mut self, node: usize, conn: ConnId, op: OpCode, r: &R) -> i32 {
        self.xid += 1;
        let mut b = BytesMut::new();
        RequestHeader {
            xid: self.xid,
            type_: op.code(),
        }
        .write(&mut b);
        r.write(&mut b);
        self.input(
            node,
            Input::Frame {
                conn,
                frame: b.freeze(),
            },
        );
        self.xid
    }

    /// A request answered after the ensemble is quiet: (header, body).
    fn call<R: Record>(
        &mut self,
        node: usize,
        conn: ConnId,
        op: OpCode,
        r: &R,
    ) -> (ReplyHeader, Bytes) {
        let xid = self.send(node, conn, op, r);
        self.pump();
        self.reply(node, conn, xid)
    }

    fn reply(&mut self, node: usize, conn: ConnId, xid: i32) -> (ReplyHeader, Bytes) {
        let frames = self.take(node, conn);
        let mut found = None;
        for mut f in frames {
            let h = ReplyHeader::read(&mut f).unwrap();
            if h.xid == xid {
                found = Some((h, f));
            }
        }
        found.unwrap_or_else(|| panic!("no reply to xid {xid} on node {node}"))
    }

    fn digests(&self) -> Vec<i64> {
        self.nodes
            .iter()
            .map(|s| s.tree().digest().value())
            .collect()
    }
}

fn create(path: &str, data: &[u8], flags: i32) -> CreateRequest {
    CreateRequest {
        path: path.into(),
        data: Some(Bytes::copy_from_slice(data)),
        acl: Acl::open_unsafe(),
        flags,
    }
}

#[test]
fn writes_through_a_follower_get_replies_and_zxids() {
    let mut c = Cluster::new(3);
    let (conn, id) = c.session(1);
    assert_eq!(id >> 56, sid(1), "a follower's session ids carry its sid");
    // createSession took zxid 1 of epoch 1.
    let (h, mut b) = c.call(1, conn, OpCode::Create, &create("/a", b"x", 0));
    assert_eq!((h.err, h.zxid), (0, (1 << 32) | 2));
    assert_eq!(CreateResponse::read(&mut b).unwrap().path, "/a");
    let set = SetDataRequest {
        path: "/a".into(),
        data: Some(Bytes::from_static(b"y")),
        version: 0,
    };
    let (h, mut b) = c.call(1, conn, OpCode::SetData, &set);
    assert_eq!((h.err, h.zxid), (0, (1 << 32) | 3));
    assert_eq!(SetDataResponse::read(&mut b).unwrap().stat.version, 1);
    // NodeExists through the follower: an error txn, its zxid in the reply.
    let (h, _) = c.call(1, conn, OpCode::Create, &create("/a", b"", 0));
    assert_eq!(
        (h.err, h.zxid),
        (ErrorCode::NodeExists.code(), (1 << 32) | 4)
    );
    let multi = MultiRequest {
        ops: vec![
            MultiOp::Create {
                op: OpCode::Create,
                req: create("/m", b"", 0),
            },
            MultiOp::Delete(DeleteRequest {
                path: "/a".into(),
                version: 1,
            }),
        ],
    };
    let (h, mut b) = c.call(1, conn, OpCode::Multi, &multi);
    assert_eq!((h.err, h.zxid), (0, (1 << 32) | 5));
    let r = MultiResponse::read(&mut b).unwrap();
    assert_eq!(
        r.results,
        vec![OpResult::Create { path: "/m".into() }, OpResult::Delete]
    );
    // Every tree has the same nodes and digest.
    for s in &c.nodes {
        assert!(s.tree().get("/a").is_none());
        assert!(s.tree().get("/m").is_some());
        assert_eq!(s.tree().last_processed_zxid, (1 << 32) | 5);
    }
    let d = c.digests();
    assert!(d.iter().all(|x| *x == d[0]), "{d:?}");
}

#[test]
fn a_read_behind_a_forwarded_write_waits_for_it() {
    let mut c = Cluster::new(3);
    let (conn, _) = c.session(2);
    let w = c.send(2, conn, OpCode::Create, &create("/r", b"v", 0));
    let r = c.send(
        2,
        conn,
        OpCode::GetData,
        &GetDataRequest {
            path: "/r".into(),
            watch: false,
        },
    );
    assert!(
        c.take(2, conn).is_empty(),
        "nothing answered before the commit"
    );
    c.pump();
    let frames = c.take(2, conn);
    let xids: Vec<i32> = frames
        .iter()
        .map(|f| ReplyHeader::read(&mut f.clone()).unwrap().xid)
        .collect();
    assert_eq!(xids, vec![w, r]);
    let mut f = frames[1].clone();
    let h = ReplyHeader::read(&mut f).unwrap();
    assert_eq!(h.err, 0, "the read sees the write");
    assert_eq!(
        GetDataResponse::read(&mut f).unwrap().data.as_deref(),
        Some(&b"v"[..])
    );
}

#[test]
fn a_session_made_on_a_follower_owns_ephemerals_everywhere() {
    let mut c = Cluster::new(3);
    let conn = c.send_connect(1, 0, [0; 16]);
    assert!(
        c.take(1, conn).is_empty(),
        "the connect reply waits for the commit"
    );
    c.pump();
    let mut f = c.take(1, conn);
    let id = ConnectResponse::read(&mut f[0]).unwrap().session_id;
    assert_eq!(id >> 56, 2);
    let (h, _) = c.call(1, conn, OpCode::Create, &create("/e", b"", 1));
    assert_eq!(h.err, 0);
    for s in &c.nodes {
        assert_eq!(s.tree().get("/e").unwrap().stat().ephemeral_owner, id);
    }
    // closeSession through the follower: answered, closed, ephemeral gone.
    let (h, _) = c.call(1, conn, OpCode::CloseSession, &Empty);
    assert_eq!(h.err, 0);
    assert!(c.closed.contains(&(1, conn)));
    for s in &c.nodes {
        assert!(s.tree().get("/e").is_none());
        assert!(s.sessions.get(id).is_none());
    }
}

/// An empty record (closeSession and ping have no body).
struct Empty;
impl Record for Empty {
    fn write(&self, _: &mut BytesMut) {}
    fn read(_: &mut Bytes) -> Result<Self, jute::JuteError> {
        Ok(Empty)
    }
}

#[test]
fn a_watch_on_one_follower_fires_for_a_write_through_another() {
    let mut c = Cluster::new(3);
    let (a, _) = c.session(1);
    let (b, _) = c.session(2);
    let (h, _) = c.call(
        2,
        b,
        OpCode::Exists,
        &ExistsRequest {
            path: "/w".into(),
            watch: true,
        },
    );
    assert_eq!(h.err, ErrorCode::NoNode.code());
    let (h, _) = c.call(1, a, OpCode::Create, &create("/w", b"", 0));
    assert_eq!(h.err, 0);
    let mut frames = c.take(2, b);
    assert_eq!(frames.len(), 1);
    let h = ReplyHeader::read(&mut frames[0]).unwrap();
    assert_eq!(h.xid, -1);
    let e = WatcherEvent::read(&mut frames[0]).unwrap();
    assert_eq!((e.type_, e.path.as_str()), (event_type::NODE_CREATED, "/w"));
}

#[test]
fn a_session_moves_between_followers_after_revalidation() {
    let mut c = Cluster::new(3);
    let (a, id) = c.session(1);
    let passwd = session_password(id);
    let b = c.send_connect(2, id, passwd);
    assert!(c.take(2, b).is_empty(), "waits for the leader's answer");
    c.pump();
    let mut f = c.take(2, b);
    let rsp = ConnectResponse::read(&mut f[0]).unwrap();
    assert_eq!((rsp.session_id, rsp.time_out), (id, 10_000));
    // The leader now owns the session through node 2: a write still queued
    // from node 1 is SESSIONMOVED, one through node 2 works.
    let (h, _) = c.call(1, a, OpCode::Create, &create("/old", b"", 0));
    assert_eq!(h.err, ErrorCode::SessionMoved.code());
    let (h, _) = c.call(2, b, OpCode::Create, &create("/new", b"", 0));
    assert_eq!(h.err, 0);
    // An unknown session is refused as expired (timeout 0), and closed.
    let bogus = (3_i64 << 56) | 77;
    let x = c.send_connect(2, bogus, session_password(bogus));
    c.pump();
    let mut f = c.take(2, x);
    let rsp = ConnectResponse::read(&mut f[0]).unwrap();
    assert_eq!((rsp.session_id, rsp.time_out), (0, 0));
    assert!(c.closed.contains(&(2, x)));
}

#[test]
fn touches_keep_sessions_alive_and_only_the_leader_expires() {
    let mut c = Cluster::new(3);
    let (busy, busy_id) = c.session(1);
    let (_idle, idle_id) = c.session(1);
    c.nodes[1].take_touches();
    // 30 s in 1 s ticks; the busy session pings its follower every second,
    // whose touch table reaches the leader (its PING reply).
    for _ in 0..30 {
        c.now += 1000;
        c.send(1, busy, OpCode::Ping, &Empty);
        let touches = c.nodes[1].take_touches();
        assert_eq!(
            touches,
            vec![crate::quorum::types::SessionTouch {
                session_id: busy_id,
                timeout_ms: 10_000
            }]
        );
        c.input(LEADER, Input::Quorum(QuorumInput::Touch(touches)));
        for n in 0..3 {
            c.input(n, Input::Tick);
        }
        c.pump();
    }
    for s in &c.nodes {
        assert!(s.sessions.get(busy_id).is_some());
        assert!(
            s.sessions.get(idle_id).is_none(),
            "expired by the leader, everywhere"
        );
    }
    // A follower alone never expires anything.
    let mut f = Cluster::new(2);
    let (_, id) = f.session(1);
    f.nodes[LEADER].set_role(f.now, Role::Follower, &mut Vec::new());
    f.now += 100_000;
    f.input(1, Input::Tick);
    assert!(f.queue.is_empty());
    assert!(f.nodes[1].sessions.get(id).is_some());
}

#[test]
fn sync_on_a_follower_waits_for_the_barrier() {
    let mut c = Cluster::new(3);
    let (conn, _) = c.session(1);
    let w = c.send(1, conn, OpCode::Create, &create("/s", b"", 0));
    let s = c.send(1, conn, OpCode::Sync, &SyncRequest { path: "/s".into() });
    let r = c.send(
        1,
        conn,
        OpCode::Exists,
        &ExistsRequest {
            path: "/s".into(),
            watch: false,
        },
    );
    c.pump();
    let frames = c.take(1, conn);
    let heads: Vec<ReplyHeader> = frames
        .iter()
        .map(|f| ReplyHeader::read(&mut f.clone()).unwrap())
        .collect();
    assert_eq!(
        heads.iter().map(|h| h.xid).collect::<Vec<_>>(),
        vec![w, s, r]
    );
    let mut f = frames[1].slice(16..);
    assert_eq!(SyncResponse::read(&mut f).unwrap().path, "/s");
    assert!(heads.iter().all(|h| h.err == 0));
}

#[test]
fn random_workload_leaves_identical_trees() {
    for seed in 0..20u64 {
        let mut rng = Rng(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
        let mut c = Cluster::new(3);
        let mut conns = Vec::new();
        for n in 0..3 {
            conns.push((n, c.session(n).0));
            conns.push((n, c.session(n).0));
        }
        for _ in 0..300 {
            let (n, conn) = conns[rng.next_int_bound(conns.len() as i32) as usize];
            let path = format!("/n{}", rng.next_int_bound(8));
            let child = format!("{path}/c{}", rng.next_int_bound(4));
            match rng.next_int_bound(6) {
                0 => c.send(n, conn, OpCode::Create, &create(&path, b"d", 0)),
                1 => c.send(n, conn, OpCode::Create, &create(&child, b"e", 1 | 2)),
                2 => c.send(
                    n,
                    conn,
                    OpCode::SetData,
                    &SetDataRequest {
                        path,
                        data: Some(Bytes::from_static(b"z")),
                        version: -1,
                    },
                ),
                3 => c.send(
                    n,
                    conn,
                    OpCode::Delete,
                    &DeleteRequest {
                        path: child,
                        version: -1,
                    },
                ),
                4 => c.send(
                    n,
                    conn,
                    OpCode::Delete,
                    &DeleteRequest { path, version: -1 },
                ),
                _ => c.send(
                    n,
                    conn,
                    OpCode::GetData,
                    &GetDataRequest { path, watch: true },
                ),
            };
            // Let deliveries lag behind requests now and then.
            if rng.next_int_bound(3) == 0 {
                c.pump();
            }
        }
        c.pump();
        let d = c.digests();
        assert!(d.iter().all(|x| *x == d[0]), "seed {seed}: {d:?}");
        let z: Vec<i64> = c
            .nodes
            .iter()
            .map(|s| s.tree().last_processed_zxid)
            .collect();
        assert!(z.iter().all(|x| *x == z[0]), "seed {seed}: {z:?}");
        assert!(
            z[0] & 0xffff_ffff > 150,
            "seed {seed}: the writes went through"
        );
        assert!(
            c.nodes[1].tree().node_count() > 3,
            "seed {seed}: nodes exist"
        );
        assert!(
            c.closed.is_empty(),
            "seed {seed}: no connection was dropped"
        );
    }
}

/// xorshift64*: a seeded, dependency-free generator for the workload.
struct Rng(u64);

impl Rng {
    fn next_int_bound(&mut self, n: i32) -> i32 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        (self.0.wrapping_mul(0x2545_F491_4F6C_DD1D) >> 33) as i32 % n
    }
}

#[test]
fn a_learner_counts_a_proposal_digest_that_differs_from_its_tree() {
    let mut c = Cluster::new(3);
    let (conn, _) = c.session(1);
    let (h, _) = c.call(1, conn, OpCode::Create, &create("/d", b"x", 0));
    assert_eq!(h.err, 0);
    let zxid = c.nodes[1].tree().last_processed_zxid;
    let leaders = c.nodes[LEADER].tree().digest().value();
    assert_eq!(c.nodes[1].tree().digest().value(), leaders);
    let v = crate::core::digest::DIGEST_VERSION;
    // The leader's digest after the txn: no mismatch.
    c.nodes[1].check_txn_digest(zxid, v, leaders);
    assert_eq!(c.nodes[1].tree().digest().mismatches(), 0);
    // Another version, or a zxid not just applied: not compared.
    c.nodes[1].check_txn_digest(zxid, v + 1, leaders ^ 1);
    c.nodes[1].check_txn_digest(zxid - 1, v, leaders ^ 1);
    assert_eq!(c.nodes[1].tree().digest().mismatches(), 0);
    // A different digest for the txn just applied: counted.
    c.nodes[1].check_txn_digest(zxid, v, leaders ^ 1);
    assert_eq!(c.nodes[1].tree().digest().mismatches(), 1);
}
