//! The ensemble's wire codecs (`zk_server::quorum::wire`) against a real
//! Apache ZooKeeper 3.8.0 ensemble, and against the bytes captured from it.
//!
//! 1. `fake_peer_against_apache_ensemble`: servers 1 and 2 are Apache
//!    `QuorumPeerMain` processes; server 3 is this test. The two elect a
//!    leader (2 of 3). Then, as sid 3:
//!    (a) on the election port: the handshakes the Apache nodes dial us with
//!    are recorded and checked (`long -65536, long sid, int len,
//!    "host:port"`); we dial each node, send a LOOKING notification made
//!    by our encoder, and decode the replies: they name the leader that
//!    `srvr` reports, in state LEADING / FOLLOWING, with the config text.
//!    (b) on the leader's quorum port, as a fresh follower: FOLLOWERINFO →
//!    LEADERINFO → ACKEPOCH → SNAP + snapshot stream (read into a tree
//!    holding the znodes a client created) → NEWLEADER → ACK → UPTODATE →
//!    ACK; a client write → PROPOSAL with that txn → ACK → COMMIT; PINGs
//!    answered with a touch table, after which the leader's `mntr`
//!    counts us as a synced follower; then forwarded REQUESTs
//!    (createSession, create, sync) and a REVALIDATE, answered by
//!    PROPOSAL/COMMIT pairs, SYNC and the REVALIDATE reply. Every packet
//!    must decode and re-encode to the bytes the leader sent. Last, we
//!    rejoin one write behind and are synced by DIFF + PROPOSAL/COMMIT.
//!    With `UPDATE_QUORUM_GOLDEN=1` the Apache bytes are written to
//!    `tests/golden/quorum/*.hex`.
//! 2. `golden_quorum_fixtures_decode`: those fixtures decode with our
//!    codecs and re-encode to the identical bytes (no Java needed).
//!
//! The JVMs are killed by pid on drop; everything listens on free ports of
//! 127.0.0.1; every wait is bounded.

use bytes::{BufMut, Bytes, BytesMut};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};
use zk_client::{Acl, Client, CreateMode};
use zk_server::core::txn::TxnBody;
use zk_server::quorum::types::{
    make_zxid, ForwardedRequest, Notification, ServerState, SessionTouch, TxnPacket, Vote,
    ZabMessage, NOTIFICATION_VERSION, ZAB_PROTOCOL_VERSION,
};
use zk_server::quorum::wire::notification::{decode_notification, encode_notification};
use zk_server::quorum::wire::packet::{
    decode_packet, encode_message, from_packet, parse_packet, to_packet, write_packet, Sender,
    DEFAULT_MAX_PACKET_BYTES,
};
use zk_server::quorum::wire::snap_stream::{write_snap_stream, SnapStreamDecoder};
use zk_tests::reference_peer::ReferencePeer;
use zk_tests::servers;

/// The handshake's protocol version a 3.8.0 node sends by default:
/// `QuorumCnxManager.PROTOCOL_VERSION_V1`; V2 (−65535, "a|b" address lists)
/// only with `multiAddress.enabled=true`. Its receiver accepts both.
const PROTOCOL_VERSION_V1: i64 = -65536;
const TICK_MS: u64 = 1000;
const OUR_SID: i64 = 3;

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("golden/quorum")
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

fn unhex(s: &str) -> Vec<u8> {
    (0..s.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(&s[i..i + 2], 16).expect("hex"))
        .collect()
}

/// The ports of one `server.N` line plus its client port.
#[derive(Clone, Copy)]
struct Ports {
    quorum: u16,
    election: u16,
    client: u16,
}

fn server_lines(ports: &[Ports]) -> String {
    ports
        .iter()
        .enumerate()
        .map(|(i, p)| {
            format!(
                "server.{}=127.0.0.1:{}:{}:participant\n",
                i + 1,
                p.quorum,
                p.election
            )
        })
        .collect()
}

fn start_member(root: &Path, sid: usize, ports: &[Ports]) -> ReferencePeer {
    let dir = root.join(format!("n{sid}"));
    let data = dir.join("data");
    let cfg = format!(
        "tickTime={TICK_MS}\ninitLimit=10\nsyncLimit=5\ndataDir={}\nclientPort={}\n\
         clientPortAddress=127.0.0.1\nmaxClientCnxns=0\nadmin.enableServer=false\n\
         4lw.commands.whitelist=*\nelectionAlg=3\ncnxTimeout=2000\n{}",
        data.display(),
        ports[sid - 1].client,
        server_lines(ports)
    );
    // Sync a learner by SNAP rather than by a DIFF from the txn log, so the
    // snapshot stream is exercised (ZKDatabase.snapshotSizeFactor < 0
    // disables txn-log sync).
    ReferencePeer::start(
        &dir,
        sid as i64,
        &data,
        &cfg,
        &["-Dzookeeper.snapshotSizeFactor=-1"],
    )
}

fn client_addr(p: &Ports) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], p.client))
}

/// `Mode: ...` from `srvr`, if the server answers.
fn mode(p: &Ports) -> Option<String> {
    let out = servers::four_letter(client_addr(p), "srvr");
    out.lines()
        .find_map(|l| l.strip_prefix("Mode: "))
        .map(str::to_string)
}

fn mntr_value(p: &Ports, key: &str) -> Option<String> {
    servers::four_letter(client_addr(p), "mntr")
        .lines()
        .find_map(|l| l.strip_prefix(&format!("{key}\t")).map(str::to_string))
}

/// Everything the Apache nodes sent on the connections they dialled to our
/// election port (each closes it after its handshake: our sid is higher).
fn accept_dialled(listener: TcpListener, stop: Arc<AtomicBool>) -> Arc<Mutex<Vec<Vec<u8>>>> {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let out = seen.clone();
    listener.set_nonblocking(true).expect("nonblocking");
    std::thread::spawn(move || {
        let deadline = Instant::now() + Duration::from_secs(120);
        while !stop.load(Ordering::Relaxed) && Instant::now() < deadline {
            match listener.accept() {
                Ok((mut s, _)) => {
                    let _ = s.set_nonblocking(false);
                    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
                    let mut bytes = Vec::new();
                    let mut chunk = [0u8; 4096];
                    while let Ok(n) = s.read(&mut chunk) {
                        if n == 0 || bytes.len() > 1 << 16 {
                            break;
                        }
                        bytes.extend_from_slice(&chunk[..n]);
                    }
                    out.lock().unwrap().push(bytes);
                }
                Err(_) => std::thread::sleep(Duration::from_millis(20)),
            }
        }
    });
    seen
}

/// Parses a QuorumCnxManager handshake: (protocol version, sid, address).
fn parse_handshake(b: &[u8]) -> (i64, i64, String, usize) {
    assert!(b.len() >= 20, "handshake of {} bytes", b.len());
    let version = i64::from_be_bytes(b[0..8].try_into().unwrap());
    let sid = i64::from_be_bytes(b[8..16].try_into().unwrap());
    let len = i32::from_be_bytes(b[16..20].try_into().unwrap()) as usize;
    assert!(b.len() >= 20 + len, "handshake address cut short");
    let addr = String::from_utf8(b[20..20 + len].to_vec()).expect("utf8 address");
    (version, sid, addr, 20 + len)
}

fn read_exact_by(s: &mut TcpStream, n: usize, deadline: Instant) -> Vec<u8> {
    let mut out = vec![0u8; n];
    let mut got = 0;
    while got < n {
        assert!(Instant::now() < deadline, "timed out reading {n} bytes");
        match s.read(&mut out[got..]) {
            Ok(0) => panic!("peer closed after {got} of {n} bytes"),
            Ok(k) => got += k,
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(e) => panic!("read: {e}"),
        }
    }
    out
}

/// The Apache bytes worth keeping as fixtures, by name.
#[derive(Default)]
struct Captures(Vec<(String, &'static str, &'static str, Vec<u8>)>);

impl Captures {
    fn add(&mut self, name: &str, kind: &'static str, sender: &'static str, bytes: &[u8]) {
        if !self.0.iter().any(|c| c.0 == name) {
            self.0
                .push((name.to_string(), kind, sender, bytes.to_vec()));
        }
    }

    fn write(&self, dir: &Path) {
        std::fs::create_dir_all(dir).expect("golden dir");
        for (name, kind, sender, bytes) in &self.0 {
            let text = format!(
                "# {name}: captured from Apache ZooKeeper 3.8.0 by tests/tests/quorum_wire.rs\n\
                 kind: {kind}\nsender: {sender}\nhex: {}\n",
                hex(bytes)
            );
            std::fs::write(dir.join(format!("{name}.hex")), text).expect("write fixture");
        }
    }
}

/// Part (a): dial `p`'s election port as sid 3, send a LOOKING notification,
/// return the first non-LOOKING notification it answers with (raw + decoded).
fn election_exchange(p: &Ports, our: &Ports, config: &Bytes) -> (Vec<u8>, Notification) {
    let addr = SocketAddr::from(([127, 0, 0, 1], p.election));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).expect("dial election");
    s.set_read_timeout(Some(Duration::from_millis(200)))
        .unwrap();
    let mut hs = BytesMut::new();
    let me = format!("127.0.0.1:{}", our.election);
    hs.put_i64(PROTOCOL_VERSION_V1);
    hs.put_i64(OUR_SID);
    hs.put_i32(me.len() as i32);
    hs.put_slice(me.as_bytes());
    let looking = Notification {
        state: ServerState::Looking,
        vote: Vote {
            leader: OUR_SID,
            zxid: 0,
            election_epoch: 1,
            peer_epoch: 0,
        },
        version: NOTIFICATION_VERSION,
        config: config.clone(),
    };
    let msg = encode_notification(&looking);
    hs.put_i32(msg.len() as i32);
    hs.put_slice(&msg);
    s.write_all(&hs).expect("send handshake + notification");
    let deadline = Instant::now() + Duration::from_secs(15);
    loop {
        let len = read_exact_by(&mut s, 4, deadline);
        let len = i32::from_be_bytes(len.try_into().unwrap());
        assert!(len > 0 && len <= 512 * 1024, "message length {len}");
        let payload = read_exact_by(&mut s, len as usize, deadline);
        let n = decode_notification(&payload, 512 * 1024).expect("a notification we can decode");
        if n.state != ServerState::Looking {
            return (payload, n);
        }
        // A LOOKING one is the node's last message from its own election,
        // still queued for sid 3: it resends that first.
    }
}

/// The follower side of part (b): a socket, its read buffer, the raw log.
struct Learner {
    sock: TcpStream,
    buf: BytesMut,
    received: Vec<u8>,
}

impl Learner {
    fn fill(&mut self, deadline: Instant) {
        assert!(
            Instant::now() < deadline,
            "timed out waiting for the leader"
        );
        let mut chunk = [0u8; 65536];
        match self.sock.read(&mut chunk) {
            Ok(0) => panic!("the leader closed the connection"),
            Ok(n) => {
                self.buf.put_slice(&chunk[..n]);
                self.received.extend_from_slice(&chunk[..n]);
            }
            Err(e)
                if e.kind() == std::io::ErrorKind::WouldBlock
                    || e.kind() == std::io::ErrorKind::TimedOut => {}
            Err(e) => panic!("read: {e}"),
        }
    }

    /// Offset in `received` of the next unread byte.
    fn consumed(&self) -> usize {
        self.received.len() - self.buf.len()
    }

    /// The next packet, typed, with its raw bytes.
    fn next(&mut self, deadline: Instant) -> (ZabMessage, Vec<u8>) {
        loop {
            if let Some((_, used)) =
                parse_packet(&self.buf, DEFAULT_MAX_PACKET_BYTES).expect("well-formed packet")
            {
                let raw = self.buf[..used].to_vec();
                let p = decode_packet(&mut self.buf, DEFAULT_MAX_PACKET_BYTES)
                    .unwrap()
                    .unwrap();
                let m = from_packet(&p, Sender::Leader)
                    .unwrap_or_else(|e| panic!("leader packet {p:?}: {e}"));
                // Our encoder writes exactly the bytes ZooKeeper wrote.
                let mut again = BytesMut::new();
                write_packet(&to_packet(&m), &mut again);
                assert_eq!(hex(&again), hex(&raw), "re-encoding {m:?}");
                return (m, raw);
            }
            self.fill(deadline);
        }
    }

    fn send(&mut self, m: &ZabMessage) {
        let mut b = BytesMut::new();
        encode_message(m, &mut b);
        self.sock.write_all(&b).expect("send to leader");
    }
}

/// Answers a leader's PING with our touch table, as `Learner.ping` does.
fn answer_ping(
    l: &mut Learner,
    zxid: i64,
    raw: &[u8],
    c: &mut Captures,
    touches: &[SessionTouch],
    pings: &mut usize,
) {
    c.add("ping", "packet", "leader", raw);
    l.send(&ZabMessage::PingReply {
        zxid,
        touches: touches.to_vec(),
    });
    *pings += 1;
}

#[test]
fn fake_peer_against_apache_ensemble() {
    if let Some(why) = servers::reference_missing() {
        eprintln!("skipped: {why}");
        return;
    }
    let started = Instant::now();
    let root = servers::fresh_dir("quorum-wire");
    let ports: Vec<Ports> = (0..3)
        .map(|_| Ports {
            quorum: servers::free_port(),
            election: servers::free_port(),
            client: servers::free_port(),
        })
        .collect();
    let config_text = format!("{}version=0", server_lines(&ports));
    let config = Bytes::from(config_text.clone());

    // Our election port first, so the Apache nodes' dials are seen.
    let listener = TcpListener::bind(("127.0.0.1", ports[2].election)).expect("bind election");
    let stop = Arc::new(AtomicBool::new(false));
    let dialled = accept_dialled(listener, stop.clone());

    let nodes = [
        start_member(&root, 1, &ports),
        start_member(&root, 2, &ports),
    ];
    let deadline = Instant::now() + Duration::from_secs(40);
    let (leader, follower) = loop {
        let m = [mode(&ports[0]), mode(&ports[1])];
        match (m[0].as_deref(), m[1].as_deref()) {
            (Some("leader"), Some("follower")) => break (0usize, 1usize),
            (Some("follower"), Some("leader")) => break (1, 0),
            _ => {}
        }
        assert!(
            Instant::now() < deadline,
            "no leader elected: {m:?}\n{}\n{}",
            nodes[0].log(),
            nodes[1].log()
        );
        std::thread::sleep(Duration::from_millis(200));
    };
    let leader_sid = leader as i64 + 1;
    eprintln!("leader: server.{leader_sid} after {:?}", started.elapsed());

    let mut captures = Captures::default();

    // (a) The handshakes the Apache nodes sent when they dialled us.
    let deadline = Instant::now() + Duration::from_secs(10);
    let handshakes = loop {
        let seen = dialled.lock().unwrap().clone();
        let sids: Vec<i64> = seen
            .iter()
            .filter(|b| b.len() >= 20)
            .map(|b| parse_handshake(b).1)
            .collect();
        if sids.contains(&1) && sids.contains(&2) {
            break seen;
        }
        assert!(Instant::now() < deadline, "handshakes seen: {seen:?}");
        std::thread::sleep(Duration::from_millis(100));
    };
    for b in handshakes.iter().filter(|b| b.len() >= 20) {
        let (version, sid, addr, len) = parse_handshake(b);
        assert_eq!(version, PROTOCOL_VERSION_V1);
        assert_eq!(
            addr,
            format!("127.0.0.1:{}", ports[sid as usize - 1].election)
        );
        // Nothing after the handshake: sid 3 > theirs, so they dropped it.
        assert_eq!(b.len(), len, "bytes after the handshake of sid {sid}");
        captures.add(
            &format!("election_handshake_sid{sid}"),
            "handshake",
            "initiator",
            b,
        );
    }

    // (a) Our LOOKING notification, their answers.
    for (idx, name) in [(leader, "leader"), (follower, "follower")] {
        let (raw, n) = election_exchange(&ports[idx], &ports[2], &config);
        let want_state = if idx == leader {
            ServerState::Leading
        } else {
            ServerState::Following
        };
        assert_eq!(n.state, want_state, "server.{} answered {n:?}", idx + 1);
        assert_eq!(n.vote.leader, leader_sid);
        assert_eq!(n.vote.peer_epoch, 1, "a fresh ensemble's first epoch");
        assert_eq!(n.version, NOTIFICATION_VERSION);
        assert_eq!(
            std::str::from_utf8(&n.config).unwrap(),
            config_text,
            "the config text in the notification"
        );
        assert_eq!(encode_notification(&n), &raw[..], "re-encoding");
        captures.add(
            &format!("notification_from_{name}"),
            "notification",
            name,
            &raw,
        );
    }

    // (b) Znodes and a session on the leader before we join.
    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let connect = format!("127.0.0.1:{}", ports[leader].client);
    let client = rt
        .block_on(async {
            tokio::time::timeout(
                Duration::from_secs(10),
                Client::connect(&connect, Duration::from_secs(30)),
            )
            .await
        })
        .expect("connect in time")
        .expect("connect");
    let open = Acl::open_unsafe();
    rt.block_on(async {
        client
            .create("/wire", b"root".as_slice(), &open, CreateMode::Persistent)
            .await?;
        client
            .create(
                "/wire/a",
                b"alpha".as_slice(),
                &open,
                CreateMode::Persistent,
            )
            .await?;
        client
            .create("/wire/b", b"beta".as_slice(), &open, CreateMode::Ephemeral)
            .await
    })
    .expect("creates");
    let session = client.session_id();

    // (b) Join the leader as follower 3.
    let addr = SocketAddr::from(([127, 0, 0, 1], ports[leader].quorum));
    let sock = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).expect("quorum port");
    sock.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    sock.set_nodelay(true).unwrap();
    let mut l = Learner {
        sock,
        buf: BytesMut::new(),
        received: Vec::new(),
    };
    let deadline = Instant::now() + Duration::from_secs(20);
    l.send(&ZabMessage::FollowerInfo {
        accepted_epoch: 0,
        info: jute::quorum::LearnerInfo {
            serverid: OUR_SID,
            protocol_version: ZAB_PROTOCOL_VERSION,
            config_version: 0,
        },
    });
    let (m, raw) = l.next(deadline);
    assert_eq!(
        m,
        ZabMessage::LeaderInfo {
            new_epoch: 1,
            protocol_version: ZAB_PROTOCOL_VERSION
        }
    );
    captures.add("leaderinfo", "packet", "leader", &raw);
    // A fresh follower: acceptedEpoch 0 < 1, so it sends its currentEpoch (0).
    l.send(&ZabMessage::AckEpoch {
        last_logged_zxid: 0,
        current_epoch: 0,
    });
    let snap_start = l.consumed();
    let (m, _) = l.next(deadline);
    let ZabMessage::Snap { zxid: snap_zxid } = m else {
        panic!("expected SNAP, got {m:?}");
    };
    assert_eq!(snap_zxid >> 32, 1, "SNAP zxid {snap_zxid:#x}");
    let mut dec = SnapStreamDecoder::new(snap_zxid, false, DEFAULT_MAX_PACKET_BYTES);
    let snap = loop {
        if let Some(s) = dec.decode_from(&mut l.buf).expect("snapshot stream") {
            break s;
        }
        l.fill(deadline);
    };
    let snap_raw = l.received[snap_start..l.consumed()].to_vec();
    let node = |p: &str| snap.tree.get(p).map(|n| n.data().map(<[u8]>::to_vec));
    assert_eq!(node("/wire"), Some(Some(b"root".to_vec())));
    assert_eq!(node("/wire/a"), Some(Some(b"alpha".to_vec())));
    assert_eq!(node("/wire/b"), Some(Some(b"beta".to_vec())));
    assert_eq!(snap.tree.get("/wire/b").unwrap().ephemeral_owner(), session);
    assert!(snap.tree.get("/zookeeper/config").is_some());
    assert!(
        snap.sessions
            .iter()
            // 30 s asked, capped at maxSessionTimeout = 20 ticks.
            .any(|&(id, to)| id == session && to == 20 * TICK_MS as i32),
        "sessions {:?}, ours {session:#x}",
        snap.sessions
    );
    assert_eq!(snap.tree.last_processed_zxid, snap_zxid);
    // Our writer gives the same stream for the same tree and sessions.
    let mut ours = Vec::new();
    write_snap_stream(&mut ours, &snap.tree, &snap.sessions).unwrap();
    let stream_at = snap_raw.len() - ours.len();
    assert_eq!(hex(&ours), hex(&snap_raw[stream_at..]), "snap stream bytes");
    captures.add("snap_with_stream", "snap", "leader", &snap_raw);

    let (m, raw) = l.next(deadline);
    let ZabMessage::NewLeader {
        zxid: nl_zxid,
        config: nl_config,
    } = m
    else {
        panic!("expected NEWLEADER, got {m:?}");
    };
    assert_eq!(nl_zxid, make_zxid(1, 0));
    assert_eq!(std::str::from_utf8(&nl_config).unwrap(), config_text);
    captures.add("newleader", "packet", "leader", &raw);
    l.send(&ZabMessage::Ack { zxid: nl_zxid });
    loop {
        let (m, raw) = l.next(deadline);
        match m {
            ZabMessage::UpToDate => {
                captures.add("uptodate", "packet", "leader", &raw);
                break;
            }
            // Before UPTODATE a learner ignores PINGs (Learner.syncWithLeader).
            ZabMessage::Ping { .. } => captures.add("ping", "packet", "leader", &raw),
            m => panic!("expected UPTODATE, got {m:?}"),
        }
    }
    l.send(&ZabMessage::Ack {
        zxid: make_zxid(1, 0),
    });

    // A write on the leader: PROPOSAL to us, ACK, COMMIT.
    let touch = vec![SessionTouch {
        session_id: session,
        timeout_ms: 20 * TICK_MS as i32,
    }];
    let mut pings = 0;
    rt.block_on(client.create(
        "/wire/c",
        b"proposed".as_slice(),
        &open,
        CreateMode::Persistent,
    ))
    .expect("create /wire/c");
    let deadline = Instant::now() + Duration::from_secs(10);
    let proposed = loop {
        match l.next(deadline) {
            (ZabMessage::Proposal(t), raw) => {
                captures.add("proposal", "packet", "leader", &raw);
                break t;
            }
            (ZabMessage::Ping { zxid }, raw) => {
                answer_ping(&mut l, zxid, &raw, &mut captures, &touch, &mut pings)
            }
            (m, _) => panic!("expected PROPOSAL, got {m:?}"),
        }
    };
    let TxnBody::Create(c) = &proposed.txn.body else {
        panic!("proposal {proposed:?}");
    };
    assert_eq!(c.path, "/wire/c");
    assert_eq!(c.data.as_deref(), Some(&b"proposed"[..]));
    assert_eq!(proposed.txn.header.client_id, session);
    let zxid = proposed.txn.header.zxid;
    assert_eq!(zxid >> 32, 1);
    assert!(proposed.digest.is_some(), "3.8.0 sends the txn digest");
    l.send(&ZabMessage::Ack { zxid });
    loop {
        match l.next(deadline) {
            (ZabMessage::Commit { zxid: z }, raw) => {
                assert_eq!(z, zxid);
                captures.add("commit", "packet", "leader", &raw);
                break;
            }
            (ZabMessage::Ping { zxid }, raw) => {
                answer_ping(&mut l, zxid, &raw, &mut captures, &touch, &mut pings)
            }
            (m, _) => panic!("expected COMMIT, got {m:?}"),
        }
    }

    // PINGs answered with the touch table keep us synced (the leader drops
    // a learner silent for syncLimit ticks).
    let until = Instant::now() + Duration::from_millis(3 * TICK_MS);
    while Instant::now() < until || pings < 2 {
        match l.next(Instant::now() + Duration::from_secs(5)) {
            (ZabMessage::Ping { zxid }, raw) => {
                assert_eq!(
                    zxid, proposed.txn.header.zxid,
                    "PING carries the last proposed zxid"
                );
                answer_ping(&mut l, zxid, &raw, &mut captures, &touch, &mut pings);
            }
            (m, _) => panic!("unexpected {m:?}"),
        }
    }
    assert_eq!(
        mntr_value(&ports[leader], "zk_synced_followers").as_deref(),
        Some("2")
    );
    assert_eq!(
        mntr_value(&ports[leader], "zk_learners").as_deref(),
        Some("2")
    );

    // Forwarded REQUESTs, as a follower's clients would send them: a global
    // session created through us (createSession, data = the timeout), a
    // create in it (data = CreateRequest), a sync (SyncRequest); each
    // write comes back as a PROPOSAL, which we ACK, then COMMIT.
    let ours = (OUR_SID << 56) | 0x77;
    let mut ping = |l: &mut Learner, zxid: i64, raw: &[u8], c: &mut Captures| {
        answer_ping(l, zxid, raw, c, &touch, &mut pings)
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut commit_of = |l: &mut Learner, c: &mut Captures| -> TxnPacket {
        let t = loop {
            match l.next(deadline) {
                (ZabMessage::Proposal(t), _) => break t,
                (ZabMessage::Ping { zxid }, raw) => ping(l, zxid, &raw, c),
                (m, _) => panic!("expected PROPOSAL, got {m:?}"),
            }
        };
        l.send(&ZabMessage::Ack {
            zxid: t.txn.header.zxid,
        });
        loop {
            match l.next(deadline) {
                (ZabMessage::Commit { zxid }, _) => {
                    assert_eq!(zxid, t.txn.header.zxid);
                    break t;
                }
                (ZabMessage::Ping { zxid }, raw) => ping(l, zxid, &raw, c),
                (m, _) => panic!("expected COMMIT, got {m:?}"),
            }
        }
    };
    l.send(&ZabMessage::Request(ForwardedRequest {
        session_id: ours,
        cxid: 0,
        op: zk_client::OpCode::CreateSession as i32,
        request: Bytes::copy_from_slice(&15000i32.to_be_bytes()),
        auth: vec![],
    }));
    let t = commit_of(&mut l, &mut captures);
    assert_eq!(t.txn.header.client_id, ours);
    assert!(
        matches!(t.txn.body, TxnBody::CreateSession(ref c) if c.time_out == 15000),
        "{t:?}"
    );
    let create = jute::proto::CreateRequest {
        path: "/wire/fwd".into(),
        data: Some(Bytes::from_static(b"forwarded")),
        acl: Acl::open_unsafe(),
        flags: 0,
    };
    l.send(&ZabMessage::Request(ForwardedRequest {
        session_id: ours,
        cxid: 1,
        op: zk_client::OpCode::Create as i32,
        request: jute::to_bytes(&create),
        auth: vec![],
    }));
    let t = commit_of(&mut l, &mut captures);
    assert_eq!((t.txn.header.client_id, t.txn.header.cxid), (ours, 1));
    assert!(
        matches!(t.txn.body, TxnBody::Create(ref c) if c.path == "/wire/fwd"),
        "{t:?}"
    );
    // The leader sends COMMIT before its own CommitProcessor applies the
    // txn, so its clients may see the node a moment later.
    let seen_by = Instant::now() + Duration::from_secs(3);
    let data = loop {
        match rt.block_on(client.get_data("/wire/fwd", false)) {
            Ok((data, _)) => break data,
            Err(e) if Instant::now() < seen_by => {
                eprintln!("not yet visible: {e}");
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => panic!("the forwarded create never became visible: {e}"),
        }
    };
    assert_eq!(data.as_deref(), Some(&b"forwarded"[..]));
    // sync: the leader answers with a SYNC packet once nothing is pending.
    l.send(&ZabMessage::Request(ForwardedRequest {
        session_id: ours,
        cxid: 2,
        op: zk_client::OpCode::Sync as i32,
        request: jute::to_bytes(&jute::proto::SyncRequest {
            path: "/wire".into(),
        }),
        auth: vec![],
    }));
    // REVALIDATE of our session: the leader knows it.
    l.send(&ZabMessage::Revalidate {
        session_id: ours,
        timeout_ms: 15000,
    });
    let (mut synced, mut revalidated) = (false, false);
    while !(synced && revalidated) {
        match l.next(deadline) {
            (ZabMessage::Sync, raw) => {
                captures.add("sync", "packet", "leader", &raw);
                synced = true;
            }
            (ZabMessage::RevalidateReply { session_id, valid }, raw) => {
                assert_eq!((session_id, valid), (ours, true));
                captures.add("revalidate_reply", "packet", "leader", &raw);
                revalidated = true;
            }
            (ZabMessage::Ping { zxid }, raw) => ping(&mut l, zxid, &raw, &mut captures),
            (m, _) => panic!("expected SYNC and REVALIDATE, got {m:?}"),
        }
    }

    // Rejoin with our log: a learner one write behind is synced by DIFF
    // (then the missed PROPOSAL + COMMIT pairs, then NEWLEADER).
    let our_last = t.txn.header.zxid;
    drop(l);
    rt.block_on(client.create(
        "/wire/missed",
        b"while away".as_slice(),
        &open,
        CreateMode::Persistent,
    ))
    .expect("create /wire/missed");
    let sock = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).expect("quorum port");
    sock.set_read_timeout(Some(Duration::from_millis(100)))
        .unwrap();
    let mut l = Learner {
        sock,
        buf: BytesMut::new(),
        received: Vec::new(),
    };
    let deadline = Instant::now() + Duration::from_secs(10);
    l.send(&ZabMessage::FollowerInfo {
        accepted_epoch: 1,
        info: jute::quorum::LearnerInfo {
            serverid: OUR_SID,
            protocol_version: ZAB_PROTOCOL_VERSION,
            config_version: 0,
        },
    });
    assert!(matches!(
        l.next(deadline).0,
        ZabMessage::LeaderInfo { new_epoch: 1, .. }
    ));
    // The epoch was already accepted: -1 (Learner.registerWithLeader).
    l.send(&ZabMessage::AckEpoch {
        last_logged_zxid: our_last,
        current_epoch: -1,
    });
    let (m, raw) = l.next(deadline);
    let ZabMessage::Diff { zxid: diff_zxid } = m else {
        panic!("expected DIFF, got {m:?}");
    };
    captures.add("diff", "packet", "leader", &raw);
    let mut missed = Vec::new();
    let nl_zxid = loop {
        match l.next(deadline).0 {
            ZabMessage::Proposal(t) => missed.push(t),
            ZabMessage::Commit { zxid } => {
                assert_eq!(Some(zxid), missed.last().map(|t| t.txn.header.zxid))
            }
            ZabMessage::NewLeader { zxid, .. } => break zxid,
            m => panic!("expected the DIFF's proposals, got {m:?}"),
        }
    };
    assert_eq!(nl_zxid, make_zxid(1, 0));
    assert!(missed.iter().all(|t| t.txn.header.zxid > our_last));
    assert_eq!(missed.last().map(|t| t.txn.header.zxid), Some(diff_zxid));
    assert!(
        missed
            .iter()
            .any(|t| matches!(t.txn.body, TxnBody::Create(ref c) if c.path == "/wire/missed")),
        "{missed:?}"
    );
    l.send(&ZabMessage::Ack { zxid: nl_zxid });
    loop {
        match l.next(deadline).0 {
            ZabMessage::UpToDate => break,
            ZabMessage::Ping { .. } => {}
            m => panic!("expected UPTODATE, got {m:?}"),
        }
    }
    l.send(&ZabMessage::Ack { zxid: nl_zxid });

    stop.store(true, Ordering::Relaxed);
    let _ = rt.block_on(client.close());
    if std::env::var_os("UPDATE_QUORUM_GOLDEN").is_some() {
        captures.write(&golden_dir());
    }
    drop(nodes);
    let _ = std::fs::remove_dir_all(&root);
    eprintln!("done in {:?}", started.elapsed());
}

/// One fixture file: (name, kind, sender, bytes).
fn fixtures() -> Vec<(String, String, String, Vec<u8>)> {
    let mut out = Vec::new();
    let mut paths: Vec<_> = std::fs::read_dir(golden_dir())
        .expect("tests/golden/quorum")
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "hex"))
        .collect();
    paths.sort();
    for p in paths {
        let text = std::fs::read_to_string(&p).unwrap();
        let field = |k: &str| {
            text.lines()
                .find_map(|l| l.strip_prefix(&format!("{k}: ")))
                .unwrap_or_else(|| panic!("{}: no {k}", p.display()))
                .to_string()
        };
        let name = p.file_stem().unwrap().to_string_lossy().into_owned();
        out.push((name, field("kind"), field("sender"), unhex(&field("hex"))));
    }
    out
}

#[test]
fn golden_quorum_fixtures_decode() {
    let all = fixtures();
    let names: Vec<&str> = all.iter().map(|f| f.0.as_str()).collect();
    for want in [
        "election_handshake_sid1",
        "election_handshake_sid2",
        "notification_from_leader",
        "notification_from_follower",
        "leaderinfo",
        "snap_with_stream",
        "newleader",
        "uptodate",
        "proposal",
        "commit",
        "ping",
        "sync",
        "revalidate_reply",
        "diff",
    ] {
        assert!(names.contains(&want), "fixture {want} missing: {names:?}");
    }
    for (name, kind, _sender, bytes) in &all {
        match kind.as_str() {
            "handshake" => {
                let (version, sid, addr, len) = parse_handshake(bytes);
                assert_eq!((version, len), (PROTOCOL_VERSION_V1, bytes.len()), "{name}");
                assert!(sid == 1 || sid == 2, "{name}");
                assert!(addr.starts_with("127.0.0.1:"), "{name}: {addr}");
            }
            "notification" => {
                let n = decode_notification(bytes, 1 << 20).expect(name);
                assert_ne!(n.state, ServerState::Looking, "{name}");
                assert_eq!(n.version, NOTIFICATION_VERSION);
                let text = std::str::from_utf8(&n.config).unwrap();
                assert!(text.starts_with("server.1=127.0.0.1:"), "{name}: {text}");
                assert!(text.ends_with("\nversion=0"), "{name}: {text}");
                assert_eq!(&encode_notification(&n)[..], &bytes[..], "{name}");
            }
            "packet" => {
                let mut buf = BytesMut::from(&bytes[..]);
                let p = decode_packet(&mut buf, DEFAULT_MAX_PACKET_BYTES)
                    .expect(name)
                    .expect("a whole packet");
                assert!(buf.is_empty(), "{name}: {} bytes left", buf.len());
                let m = from_packet(&p, Sender::Leader).expect(name);
                let mut again = BytesMut::new();
                encode_message(&m, &mut again);
                assert_eq!(&again[..], &bytes[..], "{name}: {m:?}");
                if name == "proposal" {
                    let ZabMessage::Proposal(t) = m else {
                        panic!("{name}")
                    };
                    assert!(matches!(t.txn.body, TxnBody::Create(ref c) if c.path == "/wire/c"));
                }
            }
            "snap" => {
                let mut buf = BytesMut::from(&bytes[..]);
                let p = decode_packet(&mut buf, DEFAULT_MAX_PACKET_BYTES)
                    .expect(name)
                    .expect("SNAP packet");
                let ZabMessage::Snap { zxid } = from_packet(&p, Sender::Leader).unwrap() else {
                    panic!("{name}: {p:?}");
                };
                let stream = buf.to_vec();
                let s = SnapStreamDecoder::new(zxid, false, DEFAULT_MAX_PACKET_BYTES)
                    .decode_from(&mut buf)
                    .expect(name)
                    .expect("a whole stream");
                assert!(
                    buf.is_empty(),
                    "{name}: {} bytes after the signature",
                    buf.len()
                );
                assert_eq!(
                    s.tree
                        .get("/wire/a")
                        .and_then(|n| n.data().map(<[u8]>::to_vec)),
                    Some(b"alpha".to_vec())
                );
                let mut ours = Vec::new();
                write_snap_stream(&mut ours, &s.tree, &s.sessions).unwrap();
                assert_eq!(ours, stream, "{name}: re-serialized stream");
            }
            k => panic!("{name}: unknown kind {k}"),
        }
    }
}
