//! Our election-port connection manager (`quorum::cnx_manager`) in one
//! ensemble with Apache ZooKeeper 3.8.0 `QuorumPeerMain` processes: their
//! handshakes parse, their FastLeaderElection notifications arrive, they
//! answer ours, and the connection the larger sid opened is the one that
//! stays, whichever side that is. Each test is bounded (~60 s) and kills
//! only the JVMs it started, by pid.

use bytes::Bytes;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use zk_server::quorum::cnx_manager::{
    CnxConfig, CnxHandle, CnxManager, CnxReceiver, HandshakeVersion,
};
use zk_tests::reference_peer::ReferencePeer;
use zk_tests::servers;

/// Bounds every wait for the JVMs (start, election, answers).
const JVM_WAIT: Duration = Duration::from_secs(45);

/// The two tests would start four JVMs at once on a two-core machine.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

struct Member {
    sid: i64,
    client_port: u16,
    quorum_port: u16,
    election_port: u16,
}

fn election_addr(m: &Member) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], m.election_port))
}

fn start_jvm(me: &Member, all: &[Member]) -> ReferencePeer {
    let dir = servers::fresh_dir(&format!("quorum-cnx-{}", me.sid));
    let data = dir.join("data");
    let mut cfg = format!(
        "tickTime=500\ninitLimit=10\nsyncLimit=5\ndataDir={}\nclientPort={}\n\
         clientPortAddress=127.0.0.1\n4lw.commands.whitelist=*\nadmin.enableServer=false\n",
        data.display(),
        me.client_port
    );
    for m in all {
        cfg.push_str(&format!(
            "server.{}=127.0.0.1:{}:{}\n",
            m.sid, m.quorum_port, m.election_port
        ));
    }
    ReferencePeer::start(&dir, me.sid, &data, &cfg, &[])
}

fn members(n: i64) -> Vec<Member> {
    (1..=n)
        .map(|sid| Member {
            sid,
            client_port: servers::free_port(),
            quorum_port: servers::free_port(),
            election_port: servers::free_port(),
        })
        .collect()
}

async fn start_ours(me: &Member, all: &[Member]) -> (CnxHandle, CnxReceiver) {
    let peers: BTreeMap<i64, Vec<SocketAddr>> = all
        .iter()
        .map(|m| (m.sid, vec![election_addr(m)]))
        .collect();
    let mut cfg = CnxConfig::new(me.sid, vec![election_addr(me)], peers);
    // Apache reads the handshake under tickTime × syncLimit.
    cfg.handshake_timeout_ms = 500 * 5;
    CnxManager::start(cfg)
        .await
        .expect("bind our election port")
}

/// `Mode:` from `srvr`, once the server answers it.
async fn srvr_mode(m: &Member) -> Option<String> {
    let addr = SocketAddr::from(([127, 0, 0, 1], m.client_port));
    let out = tokio::task::spawn_blocking(move || servers::four_letter(addr, "srvr"))
        .await
        .unwrap();
    out.lines()
        .find_map(|l| l.strip_prefix("Mode: "))
        .map(|s| s.trim().to_string())
}

/// A FastLeaderElection notification, read by hand (`buildMsg`):
/// int state; long leader; long zxid; long electionEpoch; long peerEpoch;
/// int version; int configLen; byte[configLen] config.
#[derive(Debug)]
struct Note {
    state: i32,
    leader: i64,
    zxid: i64,
    election_epoch: i64,
    peer_epoch: i64,
    version: i32,
    config: Vec<u8>,
}

fn decode(b: &[u8]) -> Note {
    assert!(
        b.len() >= 44,
        "a 3.8 notification is 44 bytes + config, got {}",
        b.len()
    );
    let i32_at = |o: usize| i32::from_be_bytes(b[o..o + 4].try_into().unwrap());
    let i64_at = |o: usize| i64::from_be_bytes(b[o..o + 8].try_into().unwrap());
    let len = i32_at(40) as usize;
    assert_eq!(b.len(), 44 + len, "configLen must cover the rest");
    Note {
        state: i32_at(0),
        leader: i64_at(4),
        zxid: i64_at(12),
        election_epoch: i64_at(20),
        peer_epoch: i64_at(28),
        version: i32_at(36),
        config: b[44..].to_vec(),
    }
}

fn looking_notification(leader: i64, election_epoch: i64, config: &[u8]) -> Bytes {
    let mut b = Vec::with_capacity(44 + config.len());
    b.extend_from_slice(&0i32.to_be_bytes()); // LOOKING
    b.extend_from_slice(&leader.to_be_bytes());
    b.extend_from_slice(&0i64.to_be_bytes()); // zxid
    b.extend_from_slice(&election_epoch.to_be_bytes());
    b.extend_from_slice(&0i64.to_be_bytes()); // peerEpoch
    b.extend_from_slice(&2i32.to_be_bytes()); // version
    b.extend_from_slice(&(config.len() as i32).to_be_bytes());
    b.extend_from_slice(config);
    Bytes::from(b)
}

fn mode_state(mode: &str) -> i32 {
    match mode {
        "leader" => 2,
        "follower" => 1,
        other => panic!("unexpected mode {other}"),
    }
}

/// Panics with the JVMs' logs once `end` has passed; else sleeps 100 ms.
async fn tick(end: Instant, what: &str, jvms: &[&ReferencePeer]) {
    if Instant::now() >= end {
        let logs: Vec<String> = jvms.iter().map(|j| j.log_tail(30)).collect();
        panic!(
            "timed out waiting for {what}; logs:\n{}",
            logs.join("\n-----\n")
        );
    }
    tokio::time::sleep(Duration::from_millis(100)).await;
}

/// Checks every parsed handshake from an Apache member: v1 (3.8.0 sends v2
/// only with `multiAddress.enabled`), its sid, its configured election
/// address.
fn check_handshakes(ours: &CnxHandle, apache: &[&Member]) {
    let recs = ours.handshakes();
    for m in apache {
        let hs: Vec<_> = recs
            .iter()
            .filter_map(|r| r.outcome.as_ref().ok())
            .filter(|h| h.sid == m.sid)
            .collect();
        assert!(!hs.is_empty(), "no handshake from {}: {recs:?}", m.sid);
        for h in hs {
            assert_eq!(h.version, HandshakeVersion::V1);
            let shown: Vec<String> = h.election_addrs.iter().map(|a| a.to_string()).collect();
            assert_eq!(shown, [election_addr(m).to_string()]);
        }
    }
    assert!(recs.iter().all(|r| r.outcome.is_ok()), "refused: {recs:?}");
}

/// Waits until every Apache member reports a mode; returns (mode by sid,
/// leader sid).
async fn elected(apache: &[&Member], jvms: &[&ReferencePeer]) -> (BTreeMap<i64, String>, i64) {
    let end = Instant::now() + JVM_WAIT;
    let modes = loop {
        let mut modes = BTreeMap::new();
        for m in apache {
            if let Some(mode) = srvr_mode(m)
                .await
                .filter(|m| m == "leader" || m == "follower")
            {
                modes.insert(m.sid, mode);
            }
        }
        if modes.len() == apache.len() {
            break modes;
        }
        tick(end, "the Apache members to elect", jvms).await;
    };
    let leaders: Vec<i64> = modes
        .iter()
        .filter(|(_, m)| *m == "leader")
        .map(|(s, _)| *s)
        .collect();
    assert_eq!(leaders.len(), 1, "{modes:?}");
    (modes, leaders[0])
}

/// Sends each Apache member a LOOKING notification and checks its answer:
/// its current vote, with the state and leader `srvr` reports.
async fn ask_for_votes(
    ours: &CnxHandle,
    rx: &CnxReceiver,
    apache: &[&Member],
    jvms: &[&ReferencePeer],
    my_vote: i64,
    config: &[u8],
) {
    let (modes, leader) = elected(apache, jvms).await;
    while rx.try_recv().is_some() {}
    for m in apache {
        ours.send(m.sid, looking_notification(my_vote, 1, config))
            .unwrap();
    }
    let mut answered = BTreeMap::new();
    let end = Instant::now() + Duration::from_secs(20);
    while answered.len() < apache.len() {
        let left = end.saturating_duration_since(Instant::now());
        let Some((sid, b)) = rx.recv_timeout(left).await else {
            panic!(
                "answers so far {answered:?}; want one from each of {:?}",
                modes.keys()
            );
        };
        let n = decode(&b);
        // Answers to a LOOKING peer carry the sender's settled state.
        if n.state != 0 {
            answered.insert(sid, n);
        }
    }
    for (sid, n) in &answered {
        assert_eq!(
            n.state,
            mode_state(&modes[sid]),
            "sid {sid}: {n:?} vs srvr {}",
            modes[sid]
        );
        assert_eq!(n.leader, leader, "sid {sid}: {n:?}");
        assert_eq!(n.version, 2);
        assert_eq!(n.config, config, "sid {sid}");
    }
}

/// First notifications from each Apache member (by hand): LOOKING at
/// first, voting for a member of the ensemble, version 2 with config.
async fn first_notifications(
    rx: &CnxReceiver,
    apache: &[&Member],
    jvms: &[&ReferencePeer],
) -> Vec<u8> {
    let mut seen: BTreeMap<i64, Note> = BTreeMap::new();
    let end = Instant::now() + JVM_WAIT;
    loop {
        while let Some((sid, b)) = rx.try_recv() {
            seen.entry(sid).or_insert_with(|| decode(&b));
        }
        if apache.iter().all(|m| seen.contains_key(&m.sid)) {
            break;
        }
        tick(end, "notifications from every Apache member", jvms).await;
    }
    let config = seen.values().next().unwrap().config.clone();
    let text = String::from_utf8_lossy(&config).to_string();
    for m in apache {
        let n = &seen[&m.sid];
        assert!((0..=2).contains(&n.state), "{n:?}");
        assert!((1..=3).contains(&n.leader), "{n:?}");
        assert_eq!(
            (n.zxid, n.peer_epoch),
            (0, 0),
            "fresh data directories: {n:?}"
        );
        assert!(n.election_epoch >= 1, "{n:?}");
        assert_eq!(n.version, 2);
        assert_eq!(n.config, config, "both members send the same config");
        assert!(
            text.contains(&format!(
                "server.{}=127.0.0.1:{}:{}",
                m.sid, m.quorum_port, m.election_port
            )),
            "{text}"
        );
    }
    config
}

fn skip() -> bool {
    if let Some(why) = servers::reference_missing() {
        eprintln!("skipped: {why}");
        return true;
    }
    false
}

fn java_running(jvms: &mut [&mut ReferencePeer]) {
    for j in jvms {
        if let Some(st) = j.exited() {
            panic!("QuorumPeerMain exited ({st}):\n{}", j.log_tail(30));
        }
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apache_members_talk_to_ours_as_the_largest_sid() {
    if skip() {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().await;
    let all = members(3);
    let (ours, rx) = start_ours(&all[2], &all).await;
    let mut j1 = start_jvm(&all[0], &all);
    let mut j2 = start_jvm(&all[1], &all);
    let apache = [&all[0], &all[1]];

    let config = first_notifications(&rx, &apache, &[&j1, &j2]).await;
    check_handshakes(&ours, &apache);
    // Their connections (smaller sids) were closed and we dialled back:
    // ours are the ones that live.
    let end = Instant::now() + JVM_WAIT;
    while !(ours.connected_to_peer(1) && ours.connected_to_peer(2)) {
        tick(end, "our connections to 1 and 2", &[&j1, &j2]).await;
    }
    ask_for_votes(&ours, &rx, &apache, &[&j1, &j2], 3, &config).await;
    java_running(&mut [&mut j1, &mut j2]);
    let live = ours.connections();
    assert_eq!(live.len(), 2, "{live:?}");
    assert!(live.iter().all(|c| c.initiated_by_me), "{live:?}");
    // Apache keeps them: the same sockets still carry answers a while later.
    tokio::time::sleep(Duration::from_secs(1)).await;
    ask_for_votes(&ours, &rx, &apache, &[&j1, &j2], 3, &config).await;
    assert_eq!(ours.connections(), live);
    ours.shutdown().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn apache_members_keep_their_connections_to_ours_as_the_smallest_sid() {
    if skip() {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().await;
    let all = members(3);
    let (ours, rx) = start_ours(&all[0], &all).await;
    let mut j2 = start_jvm(&all[1], &all);
    let mut j3 = start_jvm(&all[2], &all);
    let apache = [&all[1], &all[2]];

    let config = first_notifications(&rx, &apache, &[&j2, &j3]).await;
    check_handshakes(&ours, &apache);
    let live = ours.connections();
    assert_eq!(live.len(), 2, "{live:?}");
    assert!(live.iter().all(|c| !c.initiated_by_me), "{live:?}");
    for c in &live {
        let m = apache.iter().find(|m| m.sid == c.sid).unwrap();
        assert_ne!(
            c.remote_addr,
            election_addr(m),
            "they dialled us, from an ephemeral port"
        );
        assert_eq!(c.local_addr, election_addr(&all[0]));
    }
    ask_for_votes(&ours, &rx, &apache, &[&j2, &j3], 1, &config).await;
    java_running(&mut [&mut j2, &mut j3]);
    tokio::time::sleep(Duration::from_secs(1)).await;
    ask_for_votes(&ours, &rx, &apache, &[&j2, &j3], 1, &config).await;
    assert_eq!(
        ours.connections(),
        live,
        "the larger sids' connections survive"
    );
    ours.shutdown().await;
}
