//! The election port's connection manager (`quorum::cnx_manager`) in
//! process: several managers on 127.0.0.1 free ports, and raw sockets that
//! play misbehaving peers.

use bytes::Bytes;
use std::collections::BTreeMap;
use std::net::{SocketAddr, TcpListener as StdListener};
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use zk_server::quorum::cnx_manager::handshake::{self, HandshakeVersion, PROTOCOL_VERSION_V1};
use zk_server::quorum::cnx_manager::{CnxConfig, CnxHandle, CnxManager, CnxReceiver};

const WAIT: Duration = Duration::from_secs(10);
const HANDSHAKE_TIMEOUT_MS: u64 = 800;

fn free_port() -> u16 {
    StdListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

struct Node {
    handle: CnxHandle,
    rx: CnxReceiver,
    /// Messages taken from `rx` while waiting for another sender's.
    held: std::sync::Mutex<Vec<(i64, Bytes)>>,
}

fn config(sid: i64, peers: &BTreeMap<i64, Vec<SocketAddr>>) -> CnxConfig {
    let mut c = CnxConfig::new(sid, peers[&sid].clone(), peers.clone());
    c.cnx_timeout_ms = 1000;
    c.handshake_timeout_ms = HANDSHAKE_TIMEOUT_MS;
    c
}

async fn start(cfg: CnxConfig) -> Node {
    let (handle, rx) = CnxManager::start(cfg).await.expect("bind election port");
    Node {
        handle,
        rx,
        held: Default::default(),
    }
}

async fn cluster(n: i64) -> (BTreeMap<i64, Vec<SocketAddr>>, Vec<Node>) {
    let peers: BTreeMap<i64, Vec<SocketAddr>> =
        (1..=n).map(|s| (s, vec![addr(free_port())])).collect();
    let mut nodes = Vec::new();
    for sid in 1..=n {
        nodes.push(start(config(sid, &peers)).await);
    }
    (peers, nodes)
}

/// Polls `cond` every 20 ms until it holds or `WAIT` passes.
async fn eventually(what: &str, mut cond: impl FnMut() -> bool) {
    let end = Instant::now() + WAIT;
    while !cond() {
        assert!(Instant::now() < end, "timed out waiting for {what}");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// The next message from `from`; messages from others wait in `held`
/// (bounded by the test's own sends).
async fn recv_from(node: &Node, from: i64) -> Bytes {
    recv_matching(node, from, |_| true).await
}

/// Waits for `want` from `from`, skipping that sender's other messages
/// (older ones, and re-sends of its last message after a reconnection,
/// which the protocol allows) and keeping other senders' for later.
async fn recv_matching(node: &Node, from: i64, want: impl Fn(&[u8]) -> bool) -> Bytes {
    match try_recv_matching(node, from, &want, WAIT).await {
        Some(b) => b,
        None => panic!("nothing wanted from {from} at {}", node.handle.my_sid()),
    }
}

/// As [`recv_matching`], giving up after `wait`.
async fn try_recv_matching(
    node: &Node,
    from: i64,
    want: &impl Fn(&[u8]) -> bool,
    wait: Duration,
) -> Option<Bytes> {
    {
        let mut held = node.held.lock().unwrap();
        while let Some(i) = held.iter().position(|(sid, _)| *sid == from) {
            let (_, b) = held.remove(i);
            if want(&b) {
                return Some(b);
            }
        }
    }
    let end = Instant::now() + wait;
    loop {
        let left = end.saturating_duration_since(Instant::now());
        let (sid, b) = node.rx.recv_timeout(left).await?;
        if sid == from && want(&b) {
            return Some(b);
        }
        if sid != from {
            node.held.lock().unwrap().push((sid, b));
        }
    }
}

/// Waits until the mesh has one connection per pair and it has not changed
/// for 300 ms (a crossing dial still in flight would replace one).
async fn settle(nodes: &[Node]) {
    let end = Instant::now() + WAIT;
    loop {
        assert!(Instant::now() < end, "mesh did not settle");
        let before: Vec<_> = nodes.iter().map(|n| n.handle.connections()).collect();
        if one_connection_per_pair(nodes) {
            tokio::time::sleep(Duration::from_millis(300)).await;
            let after: Vec<_> = nodes.iter().map(|n| n.handle.connections()).collect();
            if before == after {
                // Forget what the set-up left behind (re-sends included).
                for n in nodes {
                    n.held.lock().unwrap().clear();
                    while n.rx.try_recv().is_some() {}
                }
                return;
            }
        } else {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }
}

/// For every pair exactly one connection, opened by the larger sid, and
/// both ends see the same socket.
fn one_connection_per_pair(nodes: &[Node]) -> bool {
    for a in nodes {
        for b in nodes {
            let (sa, sb) = (a.handle.my_sid(), b.handle.my_sid());
            if sa >= sb {
                continue;
            }
            let ca = a.handle.connections().into_iter().find(|c| c.sid == sb);
            let cb = b.handle.connections().into_iter().find(|c| c.sid == sa);
            let (Some(ca), Some(cb)) = (ca, cb) else {
                return false;
            };
            if ca.initiated_by_me || !cb.initiated_by_me {
                return false;
            }
            if ca.local_addr != cb.remote_addr || ca.remote_addr != cb.local_addr {
                return false;
            }
        }
    }
    true
}

/// Every node sends `"<tag> <sid>"` to every other until each has arrived.
/// While two servers' dials cross, a message written into the connection
/// that loses can be lost (a narrow race Apache's SendWorker has too;
/// FastLeaderElection re-sends on its timeout), so unanswered pairs are
/// sent again every `RESEND`, as the election would.
async fn all_to_all(nodes: &[Node], tag: &str) {
    const RESEND: Duration = Duration::from_millis(500);
    let mut missing: Vec<(usize, usize)> = (0..nodes.len())
        .flat_map(|a| (0..nodes.len()).map(move |b| (a, b)))
        .filter(|(a, b)| a != b)
        .collect();
    let end = Instant::now() + WAIT;
    while !missing.is_empty() {
        assert!(Instant::now() < end, "{tag}: never delivered {missing:?}");
        for &(a, b) in &missing {
            let (from, to) = (nodes[a].handle.my_sid(), nodes[b].handle.my_sid());
            nodes[a]
                .handle
                .send(to, Bytes::from(format!("{tag} {from}")))
                .unwrap();
        }
        let mut still = Vec::new();
        for &(a, b) in &missing {
            let from = nodes[a].handle.my_sid();
            let want = format!("{tag} {from}");
            let got =
                try_recv_matching(&nodes[b], from, &|m: &[u8]| m == want.as_bytes(), RESEND).await;
            if got.is_none() {
                still.push((a, b));
            }
        }
        missing = still;
    }
}

async fn check_mesh(n: i64) {
    let (_peers, nodes) = cluster(n).await;
    assert!(
        !nodes[0].handle.have_delivered(),
        "no queues yet: Apache says false"
    );
    all_to_all(&nodes, "hello").await;
    settle(&nodes).await;
    let before: Vec<_> = nodes.iter().map(|n| n.handle.connections()).collect();
    // Another round must flow over the same sockets: no churn.
    all_to_all(&nodes, "again").await;
    tokio::time::sleep(Duration::from_millis(200)).await;
    let after: Vec<_> = nodes.iter().map(|n| n.handle.connections()).collect();
    assert_eq!(before, after);
    for node in &nodes {
        assert_eq!(node.handle.connections().len() as i64, n - 1);
        assert!(node.handle.have_delivered());
    }
    for node in &nodes {
        node.handle.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_managers_keep_one_connection_per_pair() {
    check_mesh(3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn four_managers_keep_one_connection_per_pair() {
    check_mesh(4).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn messages_keep_their_order_both_ways() {
    let peers: BTreeMap<i64, Vec<SocketAddr>> =
        (1..=2).map(|s| (s, vec![addr(free_port())])).collect();
    let mut nodes = Vec::new();
    for sid in 1..=2 {
        let mut c = config(sid, &peers);
        c.send_capacity = 64;
        nodes.push(start(c).await);
    }
    all_to_all(&nodes, "up").await;
    settle(&nodes).await;
    for i in 0..50u32 {
        nodes[0]
            .handle
            .send(2, Bytes::from(format!("a{i}")))
            .unwrap();
        nodes[1]
            .handle
            .send(1, Bytes::from(format!("b{i}")))
            .unwrap();
    }
    // On a settled connection with room for all of them, nothing may be
    // dropped or reordered. (While two servers' dials cross, a message
    // written into the losing connection is lost; only the last one is
    // re-sent, as in Apache.)
    for i in 0..50u32 {
        assert_eq!(recv_from(&nodes[1], 1).await, format!("a{i}").as_bytes());
        assert_eq!(recv_from(&nodes[0], 2).await, format!("b{i}").as_bytes());
    }
    // Apache's capacity of one keeps the newest: what arrives is in order
    // and ends with the last message.
    let (_p, two) = cluster(2).await;
    all_to_all(&two, "up").await;
    settle(&two).await;
    for i in 0..200u32 {
        two[0]
            .handle
            .send(2, Bytes::from(i.to_be_bytes().to_vec()))
            .unwrap();
    }
    let mut last = None;
    while last != Some(199u32) {
        let b = recv_from(&two[1], 1).await;
        let v = u32::from_be_bytes(b[..].try_into().unwrap());
        assert!(last.is_none_or(|l| v > l), "{v} after {last:?}");
        last = Some(v);
    }
    for n in nodes.iter().chain(two.iter()) {
        n.handle.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn loopback_goes_to_the_receive_queue() {
    let (_p, nodes) = cluster(1).await;
    nodes[0].handle.send(1, Bytes::from_static(b"me")).unwrap();
    assert_eq!(recv_from(&nodes[0], 1).await, &b"me"[..]);
    assert!(nodes[0].handle.connections().is_empty());
    nodes[0].handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restarted_manager_is_reconnected() {
    let (peers, mut nodes) = cluster(3).await;
    all_to_all(&nodes, "first").await;
    nodes[1].handle.shutdown().await;
    eventually("peers notice sid 2 is gone", || {
        !nodes[0].handle.connected_to_peer(2) && !nodes[2].handle.connected_to_peer(2)
    })
    .await;
    nodes[1] = start(config(2, &peers)).await;
    // Both a lower and a higher sid reach the new instance, and it reaches them.
    nodes[0]
        .handle
        .send(2, Bytes::from_static(b"from 1"))
        .unwrap();
    nodes[2]
        .handle
        .send(2, Bytes::from_static(b"from 3"))
        .unwrap();
    recv_matching(&nodes[1], 1, |m| m == b"from 1").await;
    recv_matching(&nodes[1], 3, |m| m == b"from 3").await;
    all_to_all(&nodes, "after").await;
    settle(&nodes).await;
    for n in &nodes {
        n.handle.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_last_message_is_resent_on_a_new_connection() {
    let (peers, mut nodes) = cluster(2).await;
    nodes[1]
        .handle
        .send(1, Bytes::from_static(b"vote of 2"))
        .unwrap();
    assert_eq!(recv_from(&nodes[0], 2).await, &b"vote of 2"[..]);
    nodes[0].handle.shutdown().await;
    eventually("2 notices 1 is gone", || {
        !nodes[1].handle.connected_to_peer(1)
    })
    .await;
    nodes[0] = start(config(1, &peers)).await;
    // The new sid 1 speaks first; sid 2 dials back and, with nothing newer
    // queued, re-sends its last message unasked.
    nodes[0].handle.send(2, Bytes::from_static(b"hi")).unwrap();
    assert_eq!(recv_from(&nodes[1], 1).await, &b"hi"[..]);
    assert_eq!(recv_from(&nodes[0], 2).await, &b"vote of 2"[..]);
    for n in &nodes {
        n.handle.shutdown().await;
    }
}

/// Reads until EOF or error; true if the socket was closed within `limit`.
async fn closed_within(s: &mut TcpStream, limit: Duration) -> bool {
    let mut buf = [0u8; 64];
    let end = Instant::now() + limit;
    loop {
        let left = end.saturating_duration_since(Instant::now());
        match tokio::time::timeout(left, s.read(&mut buf)).await {
            Err(_) => return false,
            Ok(Ok(0)) | Ok(Err(_)) => return true,
            Ok(Ok(_)) => continue,
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn bad_handshakes_and_frames_close_only_that_socket() {
    let (peers, nodes) = cluster(2).await;
    all_to_all(&nodes, "before").await;
    settle(&nodes).await;
    let live = nodes[0].handle.connections();
    let target = peers[&1][0];

    let mut bad_version = (-3i64).to_be_bytes().to_vec();
    bad_version.extend_from_slice(&[0; 12]);
    let mut long_addr = PROTOCOL_VERSION_V1.to_be_bytes().to_vec();
    long_addr.extend_from_slice(&7i64.to_be_bytes());
    long_addr.extend_from_slice(&4096i32.to_be_bytes());
    long_addr.extend_from_slice(&[b'x'; 64]);
    let bad_port = {
        let mut v = PROTOCOL_VERSION_V1.to_be_bytes().to_vec();
        v.extend_from_slice(&7i64.to_be_bytes());
        v.extend_from_slice(&(b"h:99999".len() as i32).to_be_bytes());
        v.extend_from_slice(b"h:99999");
        v
    };
    for (what, bytes) in [
        ("version", bad_version),
        ("length", long_addr),
        ("port", bad_port),
    ] {
        let mut s = TcpStream::connect(target).await.unwrap();
        s.write_all(&bytes).await.unwrap();
        assert!(
            closed_within(&mut s, Duration::from_secs(3)).await,
            "bad {what} not closed"
        );
    }
    let refused: Vec<String> = nodes[0]
        .handle
        .handshakes()
        .into_iter()
        .filter_map(|h| h.outcome.err())
        .collect();
    assert!(
        refused
            .iter()
            .any(|r| r.contains("unrecognized protocol version -3")),
        "{refused:?}"
    );
    assert!(
        refused
            .iter()
            .any(|r| r.contains("Unreasonable buffer length: 4096")),
        "{refused:?}"
    );
    assert!(
        refused.iter().any(|r| r.contains("Bad port number: 99999")),
        "{refused:?}"
    );

    // A good handshake (legacy form, larger sid 9, unknown to the config)
    // is kept and talks both ways; then bad frame lengths close it.
    for bad_len in [512 * 1024 + 1, 0, -5i32] {
        let mut s = TcpStream::connect(target).await.unwrap();
        s.write_all(&handshake::encode(HandshakeVersion::Legacy, 9, &[]))
            .await
            .unwrap();
        let mut frame = 5i32.to_be_bytes().to_vec();
        frame.extend_from_slice(b"hello");
        s.write_all(&frame).await.unwrap();
        assert_eq!(recv_from(&nodes[0], 9).await, &b"hello"[..]);
        nodes[0]
            .handle
            .send(9, Bytes::from_static(b"back"))
            .unwrap();
        let len = s.read_i32().await.unwrap();
        let mut back = vec![0; len as usize];
        s.read_exact(&mut back).await.unwrap();
        // Our first message on a new connection may be the resend of the
        // last one; either way it is ours.
        assert_eq!(back, b"back");
        s.write_all(&bad_len.to_be_bytes()).await.unwrap();
        assert!(
            closed_within(&mut s, Duration::from_secs(3)).await,
            "length {bad_len} not closed"
        );
        eventually("sid 9 dropped", || !nodes[0].handle.connected_to_peer(9)).await;
    }
    // The real peer's connection was never touched.
    assert_eq!(nodes[0].handle.connections(), live);
    all_to_all(&nodes, "after").await;
    for n in &nodes {
        n.handle.shutdown().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_silent_peer_is_cut_after_the_handshake_timeout() {
    let (peers, nodes) = cluster(1).await;
    let t0 = Instant::now();
    let mut s = TcpStream::connect(peers[&1][0]).await.unwrap();
    assert!(closed_within(&mut s, Duration::from_secs(5)).await);
    let took = t0.elapsed();
    assert!(
        took >= Duration::from_millis(HANDSHAKE_TIMEOUT_MS - 50)
            && took < Duration::from_millis(HANDSHAKE_TIMEOUT_MS + 2000),
        "cut after {took:?}"
    );
    let recs = nodes[0].handle.handshakes();
    assert!(recs.iter().any(|r| r
        .outcome
        .as_ref()
        .is_err_and(|e| e.contains("no handshake within"))));
    nodes[0].handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_smaller_sid_is_dialled_back_at_the_address_it_announced() {
    let (peers, nodes) = cluster(1).await;
    // sid 0 is not in the config: the only way back is its handshake.
    let back = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let back_addr = back.local_addr().unwrap();
    let mut s = TcpStream::connect(peers[&1][0]).await.unwrap();
    s.write_all(&handshake::encode(HandshakeVersion::V1, 0, &[back_addr]))
        .await
        .unwrap();
    assert!(
        closed_within(&mut s, Duration::from_secs(3)).await,
        "smaller sid kept"
    );
    let (mut c, _) = tokio::time::timeout(WAIT, back.accept())
        .await
        .unwrap()
        .unwrap();
    let hs = tokio::time::timeout(WAIT, handshake::read(&mut c))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        hs.version,
        HandshakeVersion::V1,
        "3.8.0 sends v1 without multiAddress.enabled"
    );
    assert_eq!(hs.sid, 1);
    assert_eq!(hs.election_addrs.len(), 1);
    assert_eq!(hs.election_addrs[0].to_string(), peers[&1][0].to_string());
    eventually("sid 0 connected", || nodes[0].handle.connected_to_peer(0)).await;
    let conn = nodes[0].handle.connections();
    assert!(conn[0].initiated_by_me && conn[0].sid == 0);
    nodes[0].handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn have_delivered_is_apaches() {
    let peers: BTreeMap<i64, Vec<SocketAddr>> =
        [(1, vec![addr(free_port())]), (2, vec![addr(free_port())])].into();
    // Nobody listens for sid 2: its queue keeps the message.
    let n = start(config(1, &peers)).await;
    assert!(!n.handle.have_delivered());
    n.handle.send(2, Bytes::from_static(b"x")).unwrap();
    tokio::time::sleep(Duration::from_millis(100)).await;
    assert!(!n.handle.have_delivered(), "the only queue is not empty");
    assert!(!n.handle.connected_to_peer(2));
    assert!(n.handle.send(2, Bytes::new()).is_err());
    n.handle.shutdown().await;
    assert!(n.handle.send(2, Bytes::from_static(b"x")).is_err());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_anonymous_observer_gets_a_negative_sid_and_is_dialled_back() {
    let (peers, nodes) = cluster(1).await;
    let back = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut s = TcpStream::connect(peers[&1][0]).await.unwrap();
    let hello = handshake::encode(
        HandshakeVersion::V1,
        handshake::OBSERVER_ID,
        &[back.local_addr().unwrap()],
    );
    s.write_all(&hello).await.unwrap();
    assert!(closed_within(&mut s, Duration::from_secs(3)).await);
    let (_c, _) = tokio::time::timeout(WAIT, back.accept())
        .await
        .unwrap()
        .unwrap();
    eventually("observer -1 connected", || {
        nodes[0].handle.connected_to_peer(-1)
    })
    .await;
    nodes[0].handle.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn multi_address_and_listen_on_all_ips() {
    // Two election addresses for sid 2; with multiAddress.enabled its
    // handshake is v2 and names both; with quorumListenOnAllIPs it binds the
    // wildcard on its port and is still reached at 127.0.0.1.
    let peers: BTreeMap<i64, Vec<SocketAddr>> = [
        (1, vec![addr(free_port())]),
        (2, vec![addr(free_port()), addr(free_port())]),
    ]
    .into();
    let mut c2 = config(2, &peers);
    c2.multi_address_enabled = true;
    c2.listen_on_all_ips = true;
    let n2 = start(c2).await;
    let wild: Vec<String> = n2
        .handle
        .listen_addrs()
        .iter()
        .map(|a| a.to_string())
        .collect();
    let want: Vec<String> = peers[&2]
        .iter()
        .map(|a| format!("0.0.0.0:{}", a.port()))
        .collect();
    assert_eq!(wild, want);
    let n1 = start(config(1, &peers)).await;
    n1.handle.send(2, Bytes::from_static(b"x")).unwrap();
    assert_eq!(recv_from(&n2, 1).await, &b"x"[..]);
    n2.handle.send(1, Bytes::from_static(b"y")).unwrap();
    assert_eq!(recv_from(&n1, 2).await, &b"y"[..]);
    let hs: Vec<_> = n1
        .handle
        .handshakes()
        .into_iter()
        .filter_map(|r| r.outcome.ok())
        .collect();
    assert!(!hs.is_empty());
    for h in hs {
        assert_eq!(h.version, HandshakeVersion::V2);
        let shown: Vec<String> = h.election_addrs.iter().map(|a| a.to_string()).collect();
        let want: Vec<String> = peers[&2].iter().map(|a| a.to_string()).collect();
        assert_eq!(shown, want);
    }
    n1.handle.shutdown().await;
    n2.handle.shutdown().await;
}
