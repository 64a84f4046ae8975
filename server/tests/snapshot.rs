//! Snapshots: round trips of a tree built through the core (every node kind,
//! ACL kind and index the core keeps), Apache ZooKeeper 3.8.0's own
//! snapshots (`tests/fixtures/zk-3.8.0-snap*`, read here and re-written byte
//! for byte), corrupt and truncated files, the fallback to an older
//! snapshot, and — where Apache ZooKeeper 3.8.0 is installed
//! (/usr/share/java/zookeeper.jar) — its `SnapshotFormatter` reading ours and
//! its server starting from ours. Without the jar those two checks pass
//! without checking (the CI machine has it).

use base64::engine::general_purpose::STANDARD;
use base64::Engine;
use bytes::{Buf, Bytes, BytesMut};
use jute::data::{Acl, Stat, StatPersisted};
use jute::proto::*;
use jute::{OpCode, Record};
use std::collections::BTreeSet;
use std::fs;
use std::io::{Read, Write};
use std::net::{IpAddr, Ipv4Addr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use zk_server::core::data_tree::DataTree;
use zk_server::core::{CoreConfig, Input, Output, Server};
use zk_server::storage::snapshot::{
    read_latest_valid, read_snapshot, serialize_snapshot, snapshot_file_name, snapshot_files,
    write_snapshot, SnapshotDigest, FILE_HEADER_LEN,
};
use zk_server::storage::txn_log::StorageError;

mod common;
use common::TempDir;

fn fixtures() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures")
}

// ---- a tree built through the core ----

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

fn unframe(f: &Bytes) -> Bytes {
    let mut b = f.clone();
    let len = b.get_i32() as usize;
    assert_eq!(len, b.len());
    b
}

impl Harness {
    fn new() -> Harness {
        Harness {
            server: Server::new(CoreConfig::default(), 1_700_000_000_000),
            now_ms: 1_700_000_000_000,
            next_conn: 1,
            clients: Vec::new(),
        }
    }

    /// Opens a session; returns its index.
    fn open(&mut self) -> usize {
        let conn = self.next_conn;
        self.next_conn += 1;
        let mut out = Vec::new();
        let peer = IpAddr::V4(Ipv4Addr::LOCALHOST);
        self.server
            .handle(self.now_ms, Input::Open { conn, peer }, &mut out);
        let req = ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 0,
            time_out: 30_000,
            session_id: 0,
            passwd: Some(Bytes::from_static(&[0; 16])),
            read_only: Some(false),
        };
        self.server.handle_durable_now(
            self.now_ms,
            Input::Frame {
                conn,
                frame: jute::to_bytes(&req),
            },
            &mut out,
        );
        let Some(Output::Send { frame, .. }) = out.pop() else {
            panic!("no connect reply")
        };
        let rsp = ConnectResponse::read(&mut unframe(&frame)).expect("connect response");
        self.clients.push(Client {
            conn,
            session_id: rsp.session_id,
            xid: 0,
        });
        self.clients.len() - 1
    }

    fn frame(&mut self, session: usize, xid: i32, op: OpCode, req: &impl Record) -> Vec<Output> {
        self.now_ms += 7;
        let mut buf = BytesMut::new();
        RequestHeader {
            xid,
            type_: op.code(),
        }
        .write(&mut buf);
        req.write(&mut buf);
        let mut out = Vec::new();
        let conn = self.clients[session].conn;
        self.server.handle_durable_now(
            self.now_ms,
            Input::Frame {
                conn,
                frame: buf.freeze(),
            },
            &mut out,
        );
        out
    }

    /// Sends one request and asserts it succeeds; returns the reply body.
    fn ok(&mut self, session: usize, op: OpCode, req: &impl Record) -> Bytes {
        self.clients[session].xid += 1;
        let xid = self.clients[session].xid;
        let conn = self.clients[session].conn;
        for o in self.frame(session, xid, op, req) {
            if let Output::Send { conn: c, frame } = o {
                let mut b = unframe(&frame);
                let h = ReplyHeader::read(&mut b).expect("reply header");
                if c == conn && h.xid == xid {
                    assert_eq!(h.err, 0, "{op:?} failed");
                    return b;
                }
            }
        }
        panic!("no reply to {op:?}");
    }

    fn add_auth(&mut self, session: usize, user_password: &str) {
        let req = AuthPacket {
            type_: 0,
            scheme: "digest".into(),
            auth: Some(Bytes::from(user_password.as_bytes().to_vec())),
        };
        self.frame(session, -4, OpCode::Auth, &req);
    }

    fn create(
        &mut self,
        session: usize,
        path: &str,
        data: Option<&[u8]>,
        acl: Vec<Acl>,
        flags: i32,
    ) -> String {
        let op = if flags == create_mode::CONTAINER {
            OpCode::CreateContainer
        } else {
            OpCode::Create
        };
        let req = CreateRequest {
            path: path.into(),
            data: data.map(|d| Bytes::from(d.to_vec())),
            acl,
            flags,
        };
        let mut body = self.ok(session, op, &req);
        if op == OpCode::CreateContainer {
            Create2Response::read(&mut body).unwrap().path
        } else {
            CreateResponse::read(&mut body).unwrap().path
        }
    }

    fn create_ttl(&mut self, session: usize, path: &str, ttl: i64) {
        let req = CreateTtlRequest {
            path: path.into(),
            data: Some(Bytes::from_static(b"ttl")),
            acl: Acl::open_unsafe(),
            flags: create_mode::PERSISTENT_WITH_TTL,
            ttl,
        };
        self.ok(session, OpCode::CreateTtl, &req);
    }

    fn set_data(&mut self, session: usize, path: &str, data: &[u8]) {
        let req = SetDataRequest {
            path: path.into(),
            data: Some(Bytes::from(data.to_vec())),
            version: -1,
        };
        self.ok(session, OpCode::SetData, &req);
    }

    fn set_acl(&mut self, session: usize, path: &str, acl: Vec<Acl>) {
        let req = SetAclRequest {
            path: path.into(),
            acl,
            version: -1,
        };
        self.ok(session, OpCode::SetAcl, &req);
    }

    fn delete(&mut self, session: usize, path: &str) {
        let req = DeleteRequest {
            path: path.into(),
            version: -1,
        };
        self.ok(session, OpCode::Delete, &req);
    }

    fn sessions(&self) -> Vec<(i64, i32)> {
        self.clients
            .iter()
            .map(|c| (c.session_id, 30_000))
            .collect()
    }
}

const OPEN: i32 = create_mode::PERSISTENT;

/// A tree with every kind of node, ACL and index the core keeps: plain,
/// sequential, ephemeral (and ephemeral sequential) nodes of three
/// sessions, containers (empty and not), TTL nodes, null, empty and binary
/// data, world/digest/ip/auth ACLs and a setACL that frees an index, a quota
/// with its stat node, a parent with 20 children, deletes and setData.
fn build_tree() -> Harness {
    let mut h = Harness::new();
    let a = h.open();
    let b = h.open();
    let c = h.open();
    h.add_auth(b, "alice:secret");
    let digest = Acl::new(31, "digest", "u:Jq7wMyA/w2Vd5WIDAKdu4OIIFEQ=");
    h.create(a, "/app", Some(b"hello"), Acl::open_unsafe(), OPEN);
    for _ in 0..3 {
        h.create(
            a,
            "/app/seq-",
            Some(b"s"),
            Acl::open_unsafe(),
            create_mode::PERSISTENT_SEQUENTIAL,
        );
    }
    h.delete(a, "/app/seq-0000000001");
    h.create(
        a,
        "/app/eph",
        Some(b"e"),
        Acl::open_unsafe(),
        create_mode::EPHEMERAL,
    );
    h.create(
        b,
        "/app/eph-b",
        None,
        Acl::open_unsafe(),
        create_mode::EPHEMERAL,
    );
    h.create(
        b,
        "/app/eph-seq-",
        Some(b""),
        Acl::open_unsafe(),
        create_mode::EPHEMERAL_SEQUENTIAL,
    );
    h.create(
        c,
        "/c-eph",
        Some(b"c"),
        Acl::read_unsafe(),
        create_mode::EPHEMERAL,
    );
    h.create(
        a,
        "/bin",
        Some(&(0..=255u8).collect::<Vec<u8>>()),
        Acl::open_unsafe(),
        OPEN,
    );
    h.create(a, "/null", None, Acl::open_unsafe(), OPEN);
    h.create(a, "/empty", Some(b""), Acl::open_unsafe(), OPEN);
    h.create(
        a,
        "/acl-digest",
        Some(b"d"),
        vec![digest.clone(), Acl::new(1, "world", "anyone")],
        OPEN,
    );
    h.create(
        a,
        "/acl-ip",
        Some(b"i"),
        vec![Acl::new(31, "ip", "127.0.0.0/8")],
        OPEN,
    );
    h.create(
        b,
        "/acl-auth",
        Some(b"a"),
        vec![Acl::new(31, "auth", "")],
        OPEN,
    );
    h.create(a, "/acl-read", Some(b"r"), Acl::read_unsafe(), OPEN);
    h.create(
        a,
        "/acl-gone",
        Some(b"g"),
        vec![Acl::new(23, "world", "anyone")],
        OPEN,
    );
    // The only user of ACL [23 world:anyone] moves off it: its index is freed.
    h.set_acl(a, "/acl-gone", Acl::read_unsafe());
    h.set_acl(a, "/app", vec![digest, Acl::new(31, "world", "anyone")]);
    h.create(a, "/cont", None, Acl::open_unsafe(), create_mode::CONTAINER);
    h.create(a, "/cont/child", Some(b"c"), Acl::open_unsafe(), OPEN);
    h.create(
        a,
        "/cont-empty",
        None,
        Acl::open_unsafe(),
        create_mode::CONTAINER,
    );
    h.create_ttl(a, "/ttl", 60_000);
    h.create(a, "/many", None, Acl::open_unsafe(), OPEN);
    for i in 0..20 {
        h.create(
            a,
            &format!("/many/child-{i}"),
            Some(i.to_string().as_bytes()),
            Acl::open_unsafe(),
            OPEN,
        );
    }
    h.delete(a, "/many/child-7");
    // A quota on /app, made as zkCli's setquota makes it.
    h.create(a, "/zookeeper/quota/app", None, Acl::open_unsafe(), OPEN);
    h.create(
        a,
        "/zookeeper/quota/app/zookeeper_limits",
        Some(b"count=100,bytes=-1"),
        Acl::open_unsafe(),
        OPEN,
    );
    h.create(
        a,
        "/zookeeper/quota/app/zookeeper_stats",
        Some(b"count=0,bytes=0"),
        Acl::open_unsafe(),
        OPEN,
    );
    h.create(
        a,
        "/app/after-quota",
        Some(b"12345"),
        Acl::open_unsafe(),
        OPEN,
    );
    h.set_data(a, "/app", b"world!");
    h.set_data(a, "/", b"root data");
    h
}

// ---- comparing trees ----

#[derive(Debug, PartialEq)]
struct NodeView {
    path: String,
    data: Option<Vec<u8>>,
    acl_index: i64,
    acl: Vec<Acl>,
    stat: StatPersisted,
    client_stat: Stat,
    children: Vec<String>,
}

#[derive(Debug, PartialEq)]
struct TreeView {
    nodes: Vec<NodeView>,
    acl_entries: Vec<(i64, Vec<Acl>, u64)>,
    /// Each session's ephemerals (as a set: a loaded set iterates in load
    /// order, as ZooKeeper's does).
    ephemerals: Vec<(i64, BTreeSet<String>)>,
    /// Containers and TTL nodes due for reaping in a far future.
    reapable: BTreeSet<String>,
    quota: Vec<Option<(String, String)>>,
    data_size: i64,
    node_count: usize,
    last_processed_zxid: i64,
}

fn view(tree: &DataTree) -> TreeView {
    let mut nodes = Vec::new();
    tree.try_for_each_node_preorder(|path, n| {
        nodes.push(NodeView {
            path: path.to_string(),
            data: n.data().map(|d| d.to_vec()),
            acl_index: n.acl,
            acl: tree.acl_of(n).to_vec(),
            stat: n.stat(),
            client_stat: n.client_stat(tree.extended_types_enabled),
            children: tree.children_of(n),
        });
        Ok::<(), ()>(())
    })
    .unwrap();
    TreeView {
        nodes,
        acl_entries: tree
            .acl_cache
            .entries()
            .into_iter()
            .map(|(i, a, r)| (i, a.to_vec(), r))
            .collect(),
        ephemerals: tree
            .all_ephemerals()
            .into_iter()
            .map(|(s, p)| (s, p.into_iter().collect()))
            .collect(),
        reapable: tree.reap_candidates(i64::MAX / 2, 1).into_iter().collect(),
        quota: ["/app", "/app/after-quota", "/many"]
            .iter()
            .map(|p| {
                tree.quota_for(p)
                    .map(|(l, s)| (l.to_string(), s.to_string()))
            })
            .collect(),
        data_size: tree.approximate_data_size(),
        node_count: tree.node_count(),
        last_processed_zxid: tree.last_processed_zxid,
    }
}

fn serialize(tree: &DataTree, sessions: &[(i64, i32)]) -> Vec<u8> {
    let mut out = Vec::new();
    serialize_snapshot(&mut out, tree, sessions).unwrap();
    out
}

fn sorted(mut v: Vec<(i64, i32)>) -> Vec<(i64, i32)> {
    v.sort();
    v
}

/// Bytes of an empty digest section: ZxidDigest{0, 2, 0} and its seal
/// (whose checksum depends on what precedes it).
const DIGEST_SECTION_LEN: usize = 20 + 13;

#[test]
fn round_trip_of_a_tree_built_through_the_core() {
    let h = build_tree();
    let tree = h.server.tree();
    let zxid = tree.last_processed_zxid;
    assert!(zxid > 40);
    let tmp = TempDir::new("round-trip");
    let path = write_snapshot(&tmp.v2(), zxid, tree, &h.sessions()).unwrap();
    assert_eq!(path, tmp.v2().join(format!("snapshot.{zxid:x}")));
    assert_eq!(
        snapshot_files(&tmp.v2()).unwrap(),
        vec![(zxid, path.clone())]
    );
    assert_eq!(
        fs::read_dir(tmp.v2()).unwrap().count(),
        1,
        "no temporary file is left"
    );

    let snap = read_snapshot(&path, true).unwrap();
    assert_eq!(snap.zxid, zxid);
    assert_eq!(sorted(snap.sessions.clone()), sorted(h.sessions()));
    // The digest after the last txn the core applied (it applied them all).
    assert_eq!(
        snap.digest,
        Some(SnapshotDigest {
            zxid,
            version: 2,
            digest: tree.digest().value()
        })
    );
    assert_eq!(snap.tree.digest().value(), tree.digest().value());
    assert_eq!(snap.last_processed_zxid, None);

    let before = view(tree);
    let after = view(&snap.tree);
    for (b, a) in before.nodes.iter().zip(&after.nodes) {
        assert_eq!(b, a);
    }
    assert_eq!(before, after);

    // The tree holds what the test built.
    let t = &snap.tree;
    let ids: Vec<i64> = h.clients.iter().map(|c| c.session_id).collect();
    let eph = |s: i64| -> BTreeSet<String> { t.ephemerals_of(s).into_iter().collect() };
    assert_eq!(eph(ids[0]), ["/app/eph".to_string()].into());
    assert_eq!(
        eph(ids[1]),
        [
            "/app/eph-b".to_string(),
            "/app/eph-seq-0000000005".to_string()
        ]
        .into()
    );
    assert_eq!(eph(ids[2]), ["/c-eph".to_string()].into());
    assert_eq!(
        after.reapable,
        ["/cont-empty".to_string(), "/ttl".to_string()].into(),
        "containers and TTL nodes are indexed"
    );
    assert_eq!(
        after.quota[1],
        Some((
            "count=100,bytes=-1".to_string(),
            // /app, /app/seq-0 and -2, /app/eph, /app/eph-b, /app/eph-seq-5,
            // /app/after-quota; 6 + 1 + 1 + 1 + 0 + 0 + 5 bytes.
            "count=7,bytes=14".to_string()
        )),
        "the quota is indexed and its usage recounted"
    );
    assert_eq!(after.quota[2], None);
    assert!(t.get("/null").unwrap().data().is_none());
    assert_eq!(t.get("/empty").unwrap().data(), Some(&b""[..]));
    assert_eq!(t.get("/").unwrap().data(), Some(&b"root data"[..]));
    // The freed ACL index stays free; later lists continue after the largest.
    // 1 read (config's), 2 open, 3 digest+read, 4 ip, 5 auth (alice's
    // digest), 6 [23 world:anyone] (released), 7 /app's digest+open.
    let indexes: Vec<i64> = after.acl_entries.iter().map(|e| e.0).collect();
    assert_eq!(indexes, vec![1, 2, 3, 4, 5, 7]);
    assert_eq!(t.acl_cache.last_index(), 7);
    assert!(
        after.acl_entries.iter().all(|e| e.2 > 0),
        "every kept list is referenced"
    );

    // Writing the loaded tree again gives the same bytes up to the digest,
    // which is empty: no txn has been applied since the load (ZooKeeper's
    // `lastProcessedZxidDigest` is unset then too).
    let again = serialize(t, &snap.sessions);
    let first = fs::read(&path).unwrap();
    let cut = first.len() - DIGEST_SECTION_LEN;
    assert_eq!(again.len(), first.len());
    assert_eq!(again[..cut], first[..cut]);
    assert_eq!(
        read_snapshot_bytes_digest(&again),
        (0, 2, 0),
        "the empty digest"
    );
}

/// The `ZxidDigest` fields of serialized snapshot bytes.
fn read_snapshot_bytes_digest(bytes: &[u8]) -> (i64, i32, i64) {
    let at = bytes.len() - DIGEST_SECTION_LEN;
    let d = &bytes[at..at + 20];
    (
        i64::from_be_bytes(d[..8].try_into().unwrap()),
        i32::from_be_bytes(d[8..12].try_into().unwrap()),
        i64::from_be_bytes(d[12..20].try_into().unwrap()),
    )
}

#[test]
fn a_loaded_tree_keeps_working() {
    let h = build_tree();
    let tmp = TempDir::new("keeps-working");
    let zxid = h.server.tree().last_processed_zxid;
    let path = write_snapshot(&tmp.v2(), zxid, h.server.tree(), &h.sessions()).unwrap();
    let mut t = read_snapshot(&path, true).unwrap().tree;
    // Same ACL list: same index, one more reference.
    let read_idx = t.acl_cache.acquire(&Acl::read_unsafe());
    let n_before = h.server.tree().acl_cache.entries();
    let (_, _, refs) = n_before.iter().find(|e| e.0 == read_idx).unwrap();
    let entries = t.acl_cache.entries();
    assert_eq!(
        entries.iter().find(|e| e.0 == read_idx).unwrap().2,
        refs + 1
    );
    // A new list: the index after the largest.
    let last = t.acl_cache.last_index();
    assert_eq!(
        t.acl_cache.acquire(&[Acl::new(3, "world", "anyone")]),
        last + 1
    );
}

// ---- Apache ZooKeeper 3.8.0's snapshots ----

/// The children of /many in the order the 3.8.0 server wrote them.
const MANY_ORDER: [&str; 19] = [
    "child-0", "child-19", "child-18", "child-9", "child-4", "child-11", "child-3", "child-10",
    "child-2", "child-13", "child-1", "child-12", "child-8", "child-15", "child-14", "child-6",
    "child-17", "child-5", "child-16",
];

const REF_SESSION: i64 = 0x0100_003d_e399_0000;

#[test]
fn reads_reference_snapshot() {
    let dir = fixtures().join("zk-3.8.0-snap/version-2");
    let file = dir.join("snapshot.31");
    let snap = read_snapshot(&file, true).unwrap();
    assert_eq!(snap.zxid, 0x31);
    assert_eq!(snap.tree.last_processed_zxid, 0x31);
    assert_eq!(
        snap.sessions,
        [4, 0, 1, 2, 3]
            .iter()
            .map(|i| (REF_SESSION + i, 30_000))
            .collect::<Vec<_>>(),
        "sessions in the server's HashMap order"
    );
    assert_eq!(
        snap.digest,
        Some(SnapshotDigest {
            zxid: 0x31,
            version: 2,
            digest: 0x14_d5f8_9570
        })
    );
    let t = &snap.tree;
    assert_eq!(t.node_count(), 43);
    let app = t.get("/app").unwrap();
    assert_eq!(app.data(), Some(&b"world!"[..]));
    assert_eq!(
        t.acl_of(app).to_vec(),
        vec![
            Acl::new(31, "digest", "u:Jq7wMyA/w2Vd5WIDAKdu4OIIFEQ="),
            Acl::new(31, "world", "anyone")
        ]
    );
    assert_eq!(app.stat().version, 2);
    assert_eq!(app.stat().aversion, 1);
    assert_eq!(
        t.acl_of(t.get("/acl-auth").unwrap()).to_vec(),
        vec![Acl::new(31, "digest", "alice:aYXlLOpEooaV1cRAvUL1fp9Qt7E=")]
    );
    assert_eq!(
        t.acl_of(t.get("/acl-ip").unwrap()).to_vec(),
        vec![Acl::new(31, "ip", "127.0.0.0/8")]
    );
    assert_eq!(t.get("/").unwrap().acl, -1, "the root keeps index -1");
    assert_eq!(t.get("/zookeeper/config").unwrap().stat().aversion, -1);
    assert_eq!(
        t.acl_of(t.get("/zookeeper/config").unwrap()).to_vec(),
        Acl::read_unsafe()
    );
    let entries: Vec<(i64, u64)> = t.acl_cache.entries().iter().map(|e| (e.0, e.2)).collect();
    // 1 read (config, /acl-read, /acl-read2), 2 open (33 nodes), 3 digest+read,
    // 4 ip, 5 auth-expanded digest, 6 /app's digest+open.
    assert_eq!(
        entries,
        vec![(1, 3), (2, 33), (3, 1), (4, 1), (5, 1), (6, 1)]
    );
    assert_eq!(
        t.ephemerals_of(REF_SESSION)
            .into_iter()
            .collect::<BTreeSet<_>>(),
        [
            "/app/eph".to_string(),
            "/app/eph-seq-0000000003".to_string()
        ]
        .into()
    );
    assert!(t.ephemerals_of(REF_SESSION + 1).is_empty());
    assert_eq!(
        t.get("/bin").unwrap().data().unwrap(),
        &(0..=255u8).collect::<Vec<_>>()[..]
    );
    assert_eq!(t.children_of(t.get("/many").unwrap()), MANY_ORDER);
    assert_eq!(t.get("/cont").unwrap().stat().ephemeral_owner, i64::MIN);
    assert_eq!(
        t.get("/ttl").unwrap().stat().ephemeral_owner,
        0xff00_0000_0009_27c0_u64 as i64
    );
    assert_eq!(
        view(t).reapable,
        ["/ttl".to_string()].into(),
        "/cont has a child; /ttl is a TTL node"
    );
    // The quota is indexed, and its stat node as the server wrote it is
    // what loading recounts: /app, its 4 children and /app/eph-seq-...3.
    let quota = |p: &str| t.get(p).unwrap().data().unwrap().to_vec();
    assert_eq!(
        quota("/zookeeper/quota/app/zookeeper_limits"),
        b"count=100,bytes=-1=;byteHardLimit=-1;countHardLimit=-1"
    );
    assert_eq!(
        quota("/zookeeper/quota/app/zookeeper_stats"),
        b"count=6,bytes=14"
    );
    let (_, usage) = t.quota_for("/app/x").unwrap();
    assert_eq!(usage.to_string(), "count=6,bytes=14");

    // The same snapshot written without a digest (zookeeper.digest.enabled=false).
    let plain = read_snapshot(
        &fixtures().join("zk-3.8.0-snap-nodigest/version-2/snapshot.31"),
        true,
    )
    .unwrap();
    assert_eq!(plain.digest, None);
    assert_eq!(view(&plain.tree), view(t));
    assert_eq!(plain.sessions, snap.sessions);
}

#[test]
fn rewrites_reference_snapshots_byte_for_byte() {
    let dir = fixtures().join("zk-3.8.0-snap/version-2");
    // snapshot.31: identical up to the digest section (ours is empty).
    let theirs = fs::read(dir.join("snapshot.31")).unwrap();
    let snap = read_snapshot(&dir.join("snapshot.31"), true).unwrap();
    let ours = serialize(&snap.tree, &snap.sessions);
    let tree_end = theirs.len() - DIGEST_SECTION_LEN;
    assert_eq!(ours.len(), theirs.len());
    assert!(
        ours[..tree_end] == theirs[..tree_end],
        "first difference at byte {:?}",
        ours.iter().zip(&theirs).position(|(a, b)| a != b)
    );
    let nodigest =
        fs::read(fixtures().join("zk-3.8.0-snap-nodigest/version-2/snapshot.31")).unwrap();
    assert_eq!(&ours[..tree_end], &nodigest[..]);

    // snapshot.0, a fresh server's: identical to a fresh tree of ours,
    // empty digest included.
    let theirs = fs::read(dir.join("snapshot.0")).unwrap();
    assert_eq!(serialize(&DataTree::new(true), &[]), theirs);
    let fresh = read_snapshot(&dir.join("snapshot.0"), true).unwrap();
    assert_eq!(view(&fresh.tree), view(&DataTree::new(true)));
    assert!(fresh.sessions.is_empty());
}

// ---- corruption ----

fn assert_corrupt(
    r: Result<impl std::fmt::Debug, StorageError>,
    file: &Path,
    what: &str,
) -> (u64, String) {
    match r {
        Err(StorageError::Corrupt {
            file: f,
            offset,
            why,
        }) => {
            assert_eq!(f, file, "{what}");
            (offset, why)
        }
        other => panic!("{what}: expected corruption, got {other:?}"),
    }
}

#[test]
fn truncated_snapshots_are_errors() {
    let h = build_tree();
    let bytes = serialize(h.server.tree(), &h.sessions());
    let tmp = TempDir::new("truncated");
    let file = tmp.0.join("snapshot.99");
    for len in 0..bytes.len() {
        fs::write(&file, &bytes[..len]).unwrap();
        let r = read_snapshot(&file, true);
        if len == bytes.len() - DIGEST_SECTION_LEN {
            // Cut right after the tree's seal: a valid snapshot without digest.
            let snap = r.unwrap();
            assert_eq!(snap.digest, None);
            assert_eq!(view(&snap.tree), view(h.server.tree()).with_zxid(0x99));
            continue;
        }
        let (offset, why) = assert_corrupt(r, &file, &format!("cut at {len}"));
        assert!(
            offset <= len as u64,
            "cut at {len}: offset {offset} ({why})"
        );
    }
}

impl TreeView {
    fn with_zxid(mut self, zxid: i64) -> TreeView {
        self.last_processed_zxid = zxid;
        self
    }
}

#[test]
fn damaged_snapshots_are_errors() {
    let h = build_tree();
    let bytes = serialize(h.server.tree(), &h.sessions());
    let tmp = TempDir::new("damaged");
    let file = tmp.0.join("snapshot.1");
    // Every single-byte change is caught (Adler-32 detects them all), by a
    // seal or earlier by a structural check.
    for i in 0..bytes.len() {
        for flip in [0x01u8, 0x80] {
            let mut b = bytes.clone();
            b[i] ^= flip;
            fs::write(&file, &b).unwrap();
            assert_corrupt(
                read_snapshot(&file, true),
                &file,
                &format!("byte {i} ^ {flip:#x}"),
            );
        }
    }
    // Messages name what is wrong.
    let mut b = bytes.clone();
    b[0] = b'X';
    fs::write(&file, &b).unwrap();
    let (offset, why) = assert_corrupt(read_snapshot(&file, true), &file, "magic");
    assert_eq!(offset, 0);
    assert!(why.contains("bad magic"), "{why}");
    let mut b = bytes.clone();
    let last_data = bytes.len() - DIGEST_SECTION_LEN - 20;
    b[last_data] ^= 1;
    fs::write(&file, &b).unwrap();
    let (offset, why) = assert_corrupt(read_snapshot(&file, true), &file, "tree byte");
    assert_eq!(
        offset,
        (bytes.len() - DIGEST_SECTION_LEN - 13) as u64,
        "{why}"
    );
    assert!(why.contains("checksum mismatch after the tree"), "{why}");
    let mut b = bytes.clone();
    b.extend_from_slice(b"junk");
    fs::write(&file, &b).unwrap();
    let (_, why) = assert_corrupt(read_snapshot(&file, true), &file, "trailing bytes");
    assert!(why.contains("bytes after the tree's seal"), "{why}");
    let shown = format!("{}", read_snapshot(&file, true).unwrap_err());
    assert!(shown.contains(&file.display().to_string()), "{shown}");
}

#[test]
fn structural_errors_are_reported() {
    // A node whose parent is missing, written with a valid seal.
    let h = build_tree();
    let good = serialize(h.server.tree(), &h.sessions());
    let tmp = TempDir::new("structure");
    let file = tmp.0.join("snapshot.2");
    // Rename the first child of the root ("/acl-..." or similar) in place:
    // its children then have no parent. Find "/many/child-0" and turn
    // "/many" into "/manx" there and nowhere else.
    let needle = b"/many/child-0";
    let at = good
        .windows(needle.len())
        .position(|w| w == needle)
        .unwrap();
    let mut bad = good.clone();
    bad[at + 4] = b'x';
    let bad = reseal(&bad);
    fs::write(&file, &bad).unwrap();
    let (offset, why) = assert_corrupt(read_snapshot(&file, true), &file, "orphan");
    assert_eq!(offset, at as u64 - 4, "{why}");
    assert!(why.contains("comes before its parent"), "{why}");
}

/// Recomputes both seals of a snapshot we wrote (tree seal, then the empty
/// digest's), so a deliberately altered tree passes the checksum.
fn reseal(bytes: &[u8]) -> Vec<u8> {
    let mut b = bytes.to_vec();
    let digest_seal = b.len() - 13;
    let tree_seal = b.len() - DIGEST_SECTION_LEN - 13;
    let sum = adler(&b[..tree_seal]);
    b[tree_seal..tree_seal + 8].copy_from_slice(&sum.to_be_bytes());
    let sum = adler(&b[..digest_seal]);
    b[digest_seal..digest_seal + 8].copy_from_slice(&sum.to_be_bytes());
    b
}

/// Adler-32, computed here independently of the code under test.
fn adler(data: &[u8]) -> i64 {
    let (mut a, mut b) = (1u32, 0u32);
    for &x in data {
        a = (a + x as u32) % 65521;
        b = (b + a) % 65521;
    }
    i64::from((b << 16) | a)
}

#[test]
fn read_latest_valid_falls_back() {
    let tmp = TempDir::new("fallback");
    let dir = tmp.v2();
    assert!(
        read_latest_valid(&dir, true).unwrap().is_none(),
        "missing dir"
    );
    fs::create_dir_all(&dir).unwrap();
    assert!(
        read_latest_valid(&dir, true).unwrap().is_none(),
        "empty dir"
    );

    let mut h = Harness::new();
    let s = h.open();
    let mut zxids = Vec::new();
    for i in 0..4 {
        h.create(s, &format!("/n{i}"), Some(b"x"), Acl::open_unsafe(), OPEN);
        let t = h.server.tree();
        write_snapshot(&dir, t.last_processed_zxid, t, &h.sessions()).unwrap();
        zxids.push(t.last_processed_zxid);
    }
    let files: Vec<i64> = snapshot_files(&dir).unwrap().iter().map(|f| f.0).collect();
    assert_eq!(files, zxids);
    let latest = read_latest_valid(&dir, true).unwrap().unwrap();
    assert_eq!(latest.zxid, zxids[3]);
    assert!(latest.tree.get("/n3").is_some());

    // Newest truncated, the one before it damaged: the second oldest wins.
    let f3 = dir.join(snapshot_file_name(zxids[3]));
    let b = fs::read(&f3).unwrap();
    fs::write(&f3, &b[..b.len() / 2]).unwrap();
    let f2 = dir.join(snapshot_file_name(zxids[2]));
    let mut b = fs::read(&f2).unwrap();
    let mid = b.len() / 2;
    b[mid] ^= 0x10;
    fs::write(&f2, &b).unwrap();
    // Names that are not snapshots we read are ignored.
    fs::write(dir.join("tmp.snapshot.ffff"), b"partial").unwrap();
    fs::write(dir.join("snapshot.ffff.gz"), b"compressed").unwrap();
    fs::write(dir.join("log.1"), b"a log").unwrap();
    let latest = read_latest_valid(&dir, true).unwrap().unwrap();
    assert_eq!(latest.zxid, zxids[1]);
    assert!(latest.tree.get("/n1").is_some() && latest.tree.get("/n2").is_none());
    assert_eq!(latest.tree.last_processed_zxid, zxids[1]);

    // Only invalid ones: an error naming the newest.
    for z in &zxids[..2] {
        fs::write(dir.join(snapshot_file_name(*z)), b"ZKSN").unwrap();
    }
    let (_, why) = assert_corrupt(read_latest_valid(&dir, true), &f3, "all invalid");
    assert!(why.contains("none of the 4 snapshots"), "{why}");
}

#[test]
fn write_replaces_a_snapshot_atomically() {
    let tmp = TempDir::new("replace");
    let dir = tmp.0.join("deep/version-2");
    let mut h = Harness::new();
    let s = h.open();
    let first = write_snapshot(&dir, 5, h.server.tree(), &h.sessions()).unwrap();
    h.create(s, "/later", None, Acl::open_unsafe(), OPEN);
    let again = write_snapshot(&dir, 5, h.server.tree(), &h.sessions()).unwrap();
    assert_eq!(first, again);
    let names: Vec<String> = fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().into_string().unwrap())
        .collect();
    assert_eq!(names, vec!["snapshot.5"]);
    let snap = read_snapshot(&again, true).unwrap();
    assert!(snap.tree.get("/later").is_some());
    assert_eq!(
        snap.tree.last_processed_zxid, 5,
        "the tree takes the file's zxid"
    );
    // A file header alone is not a snapshot.
    assert_eq!(FILE_HEADER_LEN, 16);
}

// ---- Apache ZooKeeper reads ours ----

const ZK_JAR: &str = "/usr/share/java/zookeeper.jar";

fn zk_classpath() -> Option<String> {
    if !Path::new(ZK_JAR).exists() {
        eprintln!("{ZK_JAR} not installed: skipping the Apache ZooKeeper check");
        return None;
    }
    let mut cp = ZK_JAR.to_string();
    // slf4j-nop silences SLF4J's "no binding" warning, if installed.
    let nop = Path::new("/usr/share/java/slf4j-nop.jar");
    if nop.exists() {
        cp.push(':');
        cp.push_str(nop.to_str().unwrap());
    }
    Some(cp)
}

/// ZooKeeper's `SnapshotFormatter -d` on a snapshot we wrote: it reads every
/// node, with its data, and the sessions.
#[test]
fn zookeeper_snapshot_formatter_reads_ours() {
    let Some(cp) = zk_classpath() else { return };
    let h = build_tree();
    let tree = h.server.tree();
    let tmp = TempDir::new("formatter");
    let path = write_snapshot(&tmp.v2(), tree.last_processed_zxid, tree, &h.sessions()).unwrap();
    let out = Command::new("java")
        .args([
            "-cp",
            &cp,
            "org.apache.zookeeper.server.SnapshotFormatter",
            "-d",
        ])
        .arg(&path)
        .output()
        .expect("run java");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for bad in ["Exception", "CRC", "rror"] {
        assert!(
            !stdout.contains(bad) && !stderr.contains(bad),
            "{stdout}\n{stderr}"
        );
    }
    // Its count includes the "/" alias of the root.
    assert!(
        stdout.contains(&format!("ZNode Details (count={}):", tree.node_count() + 1)),
        "{stdout}"
    );
    // Each node's block, as it prints it: every stored field and the data.
    let blocks: Vec<&str> = stdout.split("----\n").collect();
    tree.try_for_each_node_preorder(|key, n| {
        let p = if key.is_empty() { "/" } else { key };
        let block = blocks
            .iter()
            .find(|b| b.starts_with(&format!("{p}\n")))
            .unwrap_or_else(|| panic!("{p} missing:\n{stdout}"));
        let s = &n.stat();
        let data = n.data().unwrap_or(&[]);
        for line in [
            format!("  cZxid = 0x{:014x}\n", s.czxid),
            format!("  mZxid = 0x{:014x}\n", s.mzxid),
            format!("  pZxid = 0x{:014x}\n", s.pzxid),
            format!("  cversion = {}\n", s.cversion),
            format!("  dataVersion = {}\n", s.version),
            format!("  aclVersion = {}\n", s.aversion),
            format!("  ephemeralOwner = 0x{:014x}\n", s.ephemeral_owner),
            format!("  data = {}\n", STANDARD.encode(data)),
        ] {
            assert!(block.contains(&line), "{p}: {line:?} missing in\n{block}");
        }
        Ok::<(), ()>(())
    })
    .unwrap();
    for c in &h.clients {
        let eph = tree.ephemerals_of(c.session_id).len();
        assert!(
            stdout.contains(&format!("0x{:x}, 30000, {eph}", c.session_id)),
            "session 0x{:x}:\n{stdout}",
            c.session_id
        );
    }
    assert!(
        stdout.contains(&format!("Last zxid: 0x{:x}", tree.last_processed_zxid)),
        "{stdout}"
    );
}

/// A ZooKeeper server started on a dataDir holding only our snapshot (once
/// as written, once cut after the tree's seal, i.e. without the digest
/// section): it loads it (its reader checks both seals), serves it
/// (four-letter words agree on the zxid, node count and ephemerals), and the
/// snapshot it writes at start-up under the same name — its own
/// serialization of the tree it loaded — is byte for byte the one we write.
#[test]
fn zookeeper_server_starts_from_our_snapshot() {
    let Some(cp) = zk_classpath() else { return };
    let h = build_tree();
    let tree = h.server.tree();
    let zxid = tree.last_processed_zxid;
    let mut ours = Vec::new();
    serialize_snapshot(&mut ours, tree, &h.sessions()).unwrap();
    let variants = [
        ours.clone(),
        ours[..ours.len() - DIGEST_SECTION_LEN].to_vec(),
    ];
    for (i, variant) in variants.iter().enumerate() {
        let tmp = TempDir::new("refserver");
        let v2 = tmp.0.join("data/version-2");
        let path = write_snapshot(&v2, zxid, tree, &h.sessions()).unwrap();
        fs::write(&path, variant).unwrap();
        let written_at = fs::metadata(&path).unwrap().modified().unwrap();
        let port = TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let cfg = tmp.0.join("zoo.cfg");
        fs::write(
            &cfg,
            format!(
                "tickTime=2000\ndataDir={}\nclientPort={port}\nclientPortAddress=127.0.0.1\n\
                 maxClientCnxns=0\n4lw.commands.whitelist=*\nadmin.enableServer=false\n",
                tmp.0.join("data").display()
            ),
        )
        .unwrap();
        let log = fs::File::create(tmp.0.join("server.out")).unwrap();
        let child = Command::new("java")
            .args([
                "-Xmx256m",
                "-Dzookeeper.extendedTypesEnabled=true",
                "-Dzookeeper.admin.enableServer=false",
                "-cp",
                &cp,
                "org.apache.zookeeper.server.ZooKeeperServerMain",
            ])
            .arg(&cfg)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .expect("run java");
        let _guard = KillOnDrop(child);

        // Serving (`srvr` reports a mode) comes after loading and the
        // start-up snapshot.
        let deadline = Instant::now() + Duration::from_secs(60);
        let srvr = loop {
            let r = four_letter(port, "srvr");
            let rewritten = fs::metadata(&path).and_then(|m| m.modified()).ok() != Some(written_at);
            if r.contains("Mode:") && rewritten {
                break r;
            }
            assert!(
                Instant::now() < deadline,
                "variant {i}: the server did not start from our snapshot:\n{r}\n{}",
                fs::read_to_string(tmp.0.join("server.out")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(100));
        };
        assert!(srvr.contains(&format!("Zxid: 0x{zxid:x}")), "{srvr}");
        // Its count includes the "/" alias of the root.
        assert!(
            srvr.contains(&format!("Node count: {}", tree.node_count() + 1)),
            "{srvr}"
        );
        let dump = four_letter(port, "dump");
        for c in &h.clients {
            for p in tree.ephemerals_of(c.session_id) {
                assert!(dump.contains(&format!("\t{p}\n")), "{p}:\n{dump}");
            }
        }
        // Its start-up snapshot: just loaded, it has no digest yet and
        // writes the empty one (ours carries the tree's digest, which it has
        // just checked); everything before the digest section is identical.
        let theirs = fs::read(&path).unwrap();
        let cut = ours.len() - DIGEST_SECTION_LEN;
        assert!(
            theirs.len() == ours.len() && theirs[..cut] == ours[..cut],
            "variant {i}: {} bytes vs our {}, first difference at byte {:?}",
            theirs.len(),
            ours.len(),
            ours.iter().zip(&theirs).position(|(a, b)| a != b)
        );
    }
}

struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn four_letter(port: u16, word: &str) -> String {
    let Ok(mut s) = TcpStream::connect(("127.0.0.1", port)) else {
        return String::new();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
    if s.write_all(word.as_bytes()).is_err() {
        return String::new();
    }
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}
