//! A snapshot taken while writes go on (fuzzy, a few nodes per step between
//! requests), loaded and replayed with the log from its zxid, gives exactly
//! the live tree: every node's data, Stat, ACL and children, and the same
//! sessions. Seeded random workloads from the differential test's generator
//! (every write kind, multis, ACL changes, ephemerals and closed sessions)
//! run through the in-process core between the steps.

use bytes::{Bytes, BytesMut};
use jute::multi::MultiRequest;
use jute::proto::{ConnectRequest, ReplyHeader, RequestHeader};
use jute::{OpCode, Record};
use rand::{Rng, SeedableRng};
use std::net::{IpAddr, Ipv4Addr};
use std::sync::Arc;
use std::time::{Duration, Instant};
use zk_server::core::txn::Txn;
use zk_server::core::{CoreConfig, Input, Output, Server};
use zk_server::storage::fuzzy_snapshot::{SnapshotChunk, SnapshotWalk, SnapshotWriter};
use zk_server::storage::snapshot;
use zk_tests::gen::{Generator, Op, SESSIONS};

const NOW: i64 = 1_700_000_000_000;

struct Rig {
    server: Server,
    /// Every txn handed out for persistence: the log.
    log: Vec<Txn>,
    /// The connection of each session slot.
    conns: Vec<u64>,
    next_conn: u64,
    xid: i32,
}

impl Rig {
    fn new() -> Rig {
        let mut rig = Rig {
            server: Server::new(CoreConfig::default(), NOW),
            log: Vec::new(),
            conns: Vec::new(),
            next_conn: 1,
            xid: 0,
        };
        for _ in 0..SESSIONS {
            let conn = rig.open_session();
            rig.conns.push(conn);
        }
        rig
    }

    /// Runs an input; returns the frames sent back (length prefix removed).
    fn handle(&mut self, input: Input) -> Vec<Bytes> {
        let mut out = Vec::new();
        self.server.handle_durable_now(NOW, input, &mut out);
        let mut frames = Vec::new();
        for o in out {
            match o {
                Output::Persist { txn } => self.log.push(Arc::unwrap_or_clone(txn)),
                Output::Send { frame, .. } => frames.push(frame.slice(4..)),
                Output::Close { .. } | Output::Quorum(_) => {}
            }
        }
        frames
    }

    fn open_session(&mut self) -> u64 {
        let conn = self.next_conn;
        self.next_conn += 1;
        let peer = IpAddr::V4(Ipv4Addr::LOCALHOST);
        self.handle(Input::Open { conn, peer });
        let req = ConnectRequest {
            time_out: 30_000,
            passwd: Some(Bytes::from_static(&[0; 16])),
            read_only: Some(false),
            ..ConnectRequest::default()
        };
        let frame = jute::to_bytes(&req);
        assert_eq!(self.handle(Input::Frame { conn, frame }).len(), 1);
        conn
    }

    /// Sends a request on slot `s`; returns (err, body) of its reply.
    fn call(&mut self, s: usize, op: OpCode, body: Bytes) -> Option<(i32, Bytes)> {
        self.xid += 1;
        let mut b = BytesMut::new();
        RequestHeader {
            xid: self.xid,
            type_: op.code(),
        }
        .write(&mut b);
        b.extend_from_slice(&body);
        let conn = self.conns[s];
        let frames = self.handle(Input::Frame {
            conn,
            frame: b.freeze(),
        });
        frames.into_iter().find_map(|mut f| {
            let h = ReplyHeader::read(&mut f).ok()?;
            (h.xid == self.xid).then_some((h.err, f))
        })
    }

    /// Runs the writes among the generator's ops (reads cannot change what
    /// a snapshot holds); learns the paths creates made.
    fn run(&mut self, gen: &mut Generator) {
        let op = gen.next_op();
        let reply = match &op {
            Op::Create { s, op, req } => self.call(*s, *op, jute::to_bytes(req)),
            Op::CreateTtl { s, req } => self.call(*s, OpCode::CreateTtl, jute::to_bytes(req)),
            Op::Delete { s, req } => self.call(*s, OpCode::Delete, jute::to_bytes(req)),
            Op::SetData { s, req } => self.call(*s, OpCode::SetData, jute::to_bytes(req)),
            Op::SetAcl { s, req } => self.call(*s, OpCode::SetAcl, jute::to_bytes(req)),
            Op::Multi { s, ops } => {
                let body = jute::to_bytes(&MultiRequest { ops: ops.clone() });
                self.call(*s, OpCode::Multi, body)
            }
            Op::CloseSession { s, .. } => {
                self.call(*s, OpCode::CloseSession, Bytes::new());
                let conn = self.conns[*s];
                self.handle(Input::Closed { conn });
                self.conns[*s] = self.open_session();
                None
            }
            _ => None,
        };
        let is_create = matches!(op, Op::Create { .. } | Op::CreateTtl { .. });
        if let Some((0, mut body)) = reply.filter(|_| is_create) {
            if let Ok(path) = String::read(&mut body) {
                gen.learn_path(&path);
            }
        }
    }
}

/// Every node as (path, data, stat, acl, sorted children).
type NodeView = (
    String,
    Option<Vec<u8>>,
    jute::data::StatPersisted,
    Vec<jute::data::Acl>,
    Vec<String>,
);

fn view(server: &Server) -> (Vec<NodeView>, Vec<(i64, i32)>) {
    let tree = server.tree();
    let nodes = tree
        .paths()
        .into_iter()
        .map(|p| {
            let n = tree.get(&p).expect("listed path exists");
            let mut children = tree.children_of(n);
            children.sort();
            (
                p,
                n.data().map(<[u8]>::to_vec),
                n.stat(),
                tree.acl_of(n).to_vec(),
                children,
            )
        })
        .collect();
    let mut sessions = server.session_timeouts();
    sessions.sort();
    (nodes, sessions)
}

fn check_seed(seed: u64) {
    let dir = std::env::temp_dir().join(format!("zk-fuzzy-snapshot-{}-{seed}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    let mut rng = rand::rngs::StdRng::seed_from_u64(seed);
    let mut gen = Generator::new(seed);
    let mut rig = Rig::new();
    for _ in 0..400 {
        rig.run(&mut gen);
    }

    // The walk: a few nodes per step, writes in between.
    let mut walk = SnapshotWalk::start(rig.server.tree(), rig.server.session_timeouts());
    let zxid = walk.zxid();
    let writer = SnapshotWriter::spawn(dir.clone(), zxid).expect("writer thread");
    let mut writes_during = 0;
    while !walk.is_done() {
        let chunk = walk.step_nodes(rig.server.tree(), rng.gen_range(1..4));
        writer
            .tx
            .blocking_send(SnapshotChunk::Nodes(chunk))
            .expect("writer alive");
        for _ in 0..rng.gen_range(1..4) {
            rig.run(&mut gen);
            writes_during += 1;
        }
    }
    writer
        .tx
        .blocking_send(SnapshotChunk::Finish(walk.finish()))
        .expect("writer alive");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !writer.is_finished() {
        assert!(Instant::now() < deadline, "snapshot writer stuck");
        std::thread::sleep(Duration::from_millis(2));
    }
    for _ in 0..100 {
        rig.run(&mut gen);
    }
    assert!(writes_during > 0, "seed {seed}: the snapshot was not fuzzy");
    assert!(
        rig.log.last().expect("txns").header.zxid > zxid,
        "seed {seed}: nothing was logged after the snapshot began"
    );

    // Load the file, replay the log after its zxid: the live tree.
    let path = dir.join(snapshot::snapshot_file_name(zxid));
    let snap = snapshot::read_snapshot(&path, true).unwrap_or_else(|e| panic!("seed {seed}: {e}"));
    assert_eq!(snap.zxid, zxid);
    let mut restored = Server::new(CoreConfig::default(), NOW);
    restored.restore(snap.tree, &snap.sessions, NOW);
    restored.recover(rig.log.iter().cloned(), NOW);
    let (live_nodes, live_sessions) = view(&rig.server);
    let (got_nodes, got_sessions) = view(&restored);
    assert_eq!(
        restored.tree().last_processed_zxid,
        rig.server.tree().last_processed_zxid,
        "seed {seed}"
    );
    assert_eq!(got_sessions, live_sessions, "seed {seed}: sessions");
    let live_paths: Vec<&String> = live_nodes.iter().map(|n| &n.0).collect();
    let got_paths: Vec<&String> = got_nodes.iter().map(|n| &n.0).collect();
    assert_eq!(got_paths, live_paths, "seed {seed}: paths");
    for (got, live) in got_nodes.iter().zip(&live_nodes) {
        assert_eq!(got, live, "seed {seed}: node {}", live.0);
    }
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn fuzzy_snapshot_plus_replay_is_the_live_tree() {
    let seeds: u64 = std::env::var("ZK_FUZZY_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(40);
    for seed in 1..=seeds {
        check_seed(seed);
    }
}
