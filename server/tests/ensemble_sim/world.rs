//! The simulated world: nodes (a `Peer` + a model disk), a seeded network,
//! clients, faults, and one event queue on one thread.

use super::client::{Acked, Client, KEY};
use super::rng::SimRng;
use bytes::Bytes;
use std::collections::BTreeMap;
use std::net::{IpAddr, Ipv4Addr};
use zk_server::core::{CoreConfig, Input, Output};
use zk_server::quorum::election::ElectionTiming;
use zk_server::quorum::peer::{Loaded, Peer, PeerConfig, PeerInput, PeerOutput, Snapshot};
use zk_server::quorum::types::{LearnerType, ServerState, Sid, TxnPacket};
use zk_server::quorum::verifier::QuorumVerifier;
use zk_server::quorum::zab::ZabConfig;

#[derive(Debug, Clone, Copy)]
pub struct SimConfig {
    pub voters: usize,
    pub observers: usize,
    pub clients: usize,
    /// Faults and client load run this long, then everything heals and
    /// restarts and `quiet_ms` follow before convergence is checked.
    pub fault_ms: u64,
    pub quiet_ms: u64,
    pub faults: bool,
}

/// A node's disk: durable epochs, snapshot and log; an unsynced tail.
#[derive(Default)]
struct Disk {
    accepted: i64,
    current: i64,
    snapshot: Option<Snapshot>,
    log: Vec<TxnPacket>,
    tail: Vec<TxnPacket>,
    fsync_pending: bool,
}

impl Disk {
    fn sync(&mut self) {
        self.log.append(&mut self.tail);
    }
    fn loaded(&self) -> Loaded {
        Loaded {
            snapshot: self.snapshot.clone(),
            txns: self.log.clone(),
        }
    }
    fn last(&self) -> i64 {
        self.log
            .last()
            .map(|p| p.txn.header.zxid)
            .or(self.snapshot.as_ref().map(|s| s.tree.last_processed_zxid))
            .unwrap_or(0)
    }
}

struct Node {
    peer: Option<Peer>,
    disk: Disk,
    gen: u64,
}

/// A quorum-port connection between a learner and a leader.
struct QConn {
    id: u64,
    up: bool,
    /// FIFO: the last delivery time each way (to learner, to leader).
    last: [u64; 2],
}

enum Msg {
    Notification(zk_server::quorum::types::Notification),
    Zab(zk_server::quorum::types::ZabMessage),
    Snap(i64, Box<Snapshot>),
    Connected,
    Disconnected,
}

#[allow(clippy::large_enum_variant)]
enum Ev {
    Net {
        to: Sid,
        from: Sid,
        conn: Option<u64>,
        msg: Msg,
    },
    Connect {
        learner: Sid,
        leader: Sid,
        gen: u64,
    },
    Tick {
        sid: Sid,
        gen: u64,
    },
    Fsync {
        sid: Sid,
        gen: u64,
    },
    Reload {
        sid: Sid,
        gen: u64,
    },
    ToServer {
        sid: Sid,
        gen: u64,
        input: Input,
    },
    ToClient {
        client: usize,
        conn: u64,
        frame: Option<Bytes>,
    },
    ClientStep {
        client: usize,
    },
    Fault,
    Restart {
        sid: Sid,
    },
}

pub struct World {
    sim: SimConfig,
    rng: SimRng,
    now: u64,
    seq: u64,
    queue: BTreeMap<(u64, u64), Ev>,
    nodes: BTreeMap<Sid, Node>,
    qconns: BTreeMap<(Sid, Sid), QConn>,
    next_id: u64,
    /// Sides of the partition (None: all connected).
    side: Option<Vec<bool>>,
    clients: Vec<Client>,
    /// conn id → (node, client).
    client_conns: BTreeMap<u64, (Sid, usize)>,
    acked: Acked,
    /// Epoch → the leader established in it.
    leaders: BTreeMap<i64, Sid>,
    pub leaders_established: u64,
    /// zxid → (client, cxid, type) of a txn logged anywhere.
    logged: BTreeMap<i64, (i64, i32, i32)>,
    /// zxid → tree digest seen at it.
    digests: BTreeMap<i64, i64>,
    healed: bool,
}

fn peer_cfg(sid: Sid, verifier: &QuorumVerifier, observer: bool) -> PeerConfig {
    PeerConfig {
        my_sid: sid,
        learner_type: if observer {
            LearnerType::Observer
        } else {
            LearnerType::Participant
        },
        verifier: verifier.clone(),
        zab: ZabConfig {
            tick_time_ms: 100,
            init_limit_ticks: 10,
            sync_limit_ticks: 5,
            commit_log_count: 20,
        },
        election: ElectionTiming {
            finalize_wait_ms: 200,
            min_notification_interval_ms: 200,
            max_notification_interval_ms: 1_600,
        },
        core: CoreConfig {
            server_id: sid,
            tick_time_ms: 100,
            session_timeout_ms_min: 2_000,
            session_timeout_ms_max: 20_000,
            ..CoreConfig::default()
        },
    }
}

impl World {
    pub fn new(seed: u64, sim: SimConfig) -> World {
        let mut w = World {
            sim,
            rng: SimRng::new(seed),
            now: 0,
            seq: 0,
            queue: BTreeMap::new(),
            nodes: BTreeMap::new(),
            qconns: BTreeMap::new(),
            next_id: 1,
            side: None,
            clients: (0..sim.clients).map(|_| Client::new()).collect(),
            client_conns: BTreeMap::new(),
            acked: Acked::default(),
            leaders: BTreeMap::new(),
            leaders_established: 0,
            logged: BTreeMap::new(),
            digests: BTreeMap::new(),
            healed: false,
        };
        for sid in w.sids() {
            w.nodes.insert(
                sid,
                Node {
                    peer: None,
                    disk: Disk::default(),
                    gen: 0,
                },
            );
        }
        w
    }

    pub fn acked_writes(&self) -> u64 {
        self.acked.count
    }

    fn sids(&self) -> Vec<Sid> {
        (1..=(self.sim.voters + self.sim.observers) as Sid).collect()
    }

    fn at(&mut self, delay: u64, ev: Ev) {
        self.seq += 1;
        self.queue.insert((self.now + delay, self.seq), ev);
    }

    fn reachable(&self, a: Sid, b: Sid) -> bool {
        match &self.side {
            None => true,
            Some(s) => s[a as usize] == s[b as usize],
        }
    }

    fn up(&self, sid: Sid) -> bool {
        self.nodes[&sid].peer.is_some()
    }

    pub fn run(&mut self) -> Result<(), String> {
        for sid in self.sids() {
            self.start(sid)?;
        }
        for c in 0..self.sim.clients {
            let d = self.rng.range(100, 600);
            self.at(d, Ev::ClientStep { client: c });
        }
        if self.sim.faults {
            self.at(500, Ev::Fault);
        }
        let end = self.sim.fault_ms + self.sim.quiet_ms;
        let mut steps = 0u64;
        while let Some(((t, _), ev)) = self.queue.pop_first() {
            if t > end {
                break;
            }
            self.now = t;
            if !self.healed && t >= self.sim.fault_ms {
                self.heal()?;
            }
            self.event(ev)?;
            steps += 1;
            if steps > 3_000_000 {
                return Err("too many events".into());
            }
        }
        self.check_converged()
    }

    fn start(&mut self, sid: Sid) -> Result<(), String> {
        let observer = sid as usize > self.sim.voters;
        let verifier = QuorumVerifier::local(self.sim.voters, self.sim.observers);
        let node = self.nodes.get_mut(&sid).expect("node");
        node.gen += 1;
        let gen = node.gen;
        let mut out = Vec::new();
        let peer = Peer::new(
            peer_cfg(sid, &verifier, observer),
            node.disk.accepted,
            node.disk.current,
            node.disk.loaded(),
            self.now,
            &mut out,
        );
        node.peer = Some(peer);
        self.at(50, Ev::Tick { sid, gen });
        self.outputs(sid, out)
    }

    fn crash(&mut self, sid: Sid) {
        let node = self.nodes.get_mut(&sid).expect("node");
        if node.peer.take().is_none() {
            return;
        }
        node.gen += 1;
        node.disk.tail.clear();
        node.disk.fsync_pending = false;
        let keys: Vec<(Sid, Sid)> = self
            .qconns
            .keys()
            .filter(|(a, b)| *a == sid || *b == sid)
            .copied()
            .collect();
        for k in keys {
            self.break_conn(k);
        }
        let conns: Vec<u64> = self
            .client_conns
            .iter()
            .filter(|(_, (s, _))| *s == sid)
            .map(|(c, _)| *c)
            .collect();
        for conn in conns {
            let (_, client) = self.client_conns.remove(&conn).expect("conn");
            self.at(
                1,
                Ev::ToClient {
                    client,
                    conn,
                    frame: None,
                },
            );
        }
    }

    fn input(&mut self, sid: Sid, input: PeerInput) -> Result<(), String> {
        let now = self.now;
        let Some(peer) = self.nodes.get_mut(&sid).and_then(|n| n.peer.as_mut()) else {
            return Ok(());
        };
        let mut out = Vec::new();
        peer.handle(now, input, &mut out);
        self.outputs(sid, out)
    }

    fn outputs(&mut self, sid: Sid, out: Vec<PeerOutput>) -> Result<(), String> {
        let gen = self.nodes[&sid].gen;
        for o in out {
            if self.nodes[&sid].gen != gen || !self.up(sid) {
                break;
            }
            self.output(sid, gen, o)?;
        }
        self.check_node(sid)
    }

    fn output(&mut self, sid: Sid, gen: u64, o: PeerOutput) -> Result<(), String> {
        match o {
            PeerOutput::Notify { to, n } => {
                if !self.reachable(sid, to) || self.rng.chance(20) {
                    return Ok(());
                }
                let copies = if self.rng.chance(20) { 2 } else { 1 };
                for _ in 0..copies {
                    let d = self.rng.range(1, 30);
                    let msg = Msg::Notification(n.clone());
                    self.at(
                        d,
                        Ev::Net {
                            to,
                            from: sid,
                            conn: None,
                            msg,
                        },
                    );
                }
            }
            PeerOutput::ConnectAll => {}
            PeerOutput::ConnectToLeader { sid: leader } => self.at(
                5,
                Ev::Connect {
                    learner: sid,
                    leader,
                    gen,
                },
            ),
            PeerOutput::ZabSend { to, msg } => self.send_q(sid, to, Msg::Zab(msg)),
            PeerOutput::SendSnap { to, zxid } => {
                let server = self.nodes[&sid].peer.as_ref().expect("up").server();
                let snap = Snapshot {
                    tree: server.tree().clone(),
                    sessions: server.session_timeouts(),
                };
                self.send_q(sid, to, Msg::Snap(zxid, Box::new(snap)));
            }
            PeerOutput::CloseQuorum { sid: other } => {
                self.break_conn((sid, other));
                self.break_conn((other, sid));
            }
            PeerOutput::Client(Output::Send { conn, frame }) => {
                if let Some(&(_, client)) = self.client_conns.get(&conn) {
                    // Client connections are FIFO: one fixed delay.
                    self.at(
                        2,
                        Ev::ToClient {
                            client,
                            conn,
                            frame: Some(frame),
                        },
                    );
                }
            }
            PeerOutput::Client(Output::Close { conn, .. }) => {
                if let Some((_, client)) = self.client_conns.remove(&conn) {
                    self.at(
                        3,
                        Ev::ToClient {
                            client,
                            conn,
                            frame: None,
                        },
                    );
                }
            }
            PeerOutput::Client(other) => return Err(format!("unexpected client output {other:?}")),
            PeerOutput::Persist(p) => {
                let h = &p.txn.header;
                let id = (h.client_id, h.cxid, h.type_);
                if let Some(old) = self.logged.insert(h.zxid, id) {
                    if old != id {
                        return Err(format!(
                            "two txns at zxid {:#x}: {old:?} and {id:?}",
                            h.zxid
                        ));
                    }
                }
                let disk = &mut self.nodes.get_mut(&sid).expect("node").disk;
                disk.tail.push(p);
                if !disk.fsync_pending {
                    disk.fsync_pending = true;
                    let d = self.rng.range(1, 10);
                    self.at(d, Ev::Fsync { sid, gen });
                }
            }
            PeerOutput::WriteAcceptedEpoch(e) => self.node(sid).disk.accepted = e,
            PeerOutput::WriteCurrentEpoch(e) => self.node(sid).disk.current = e,
            PeerOutput::Truncate { zxid } => {
                let disk = &mut self.node(sid).disk;
                disk.sync();
                disk.log.retain(|p| p.txn.header.zxid <= zxid);
                self.at(0, Ev::Reload { sid, gen });
            }
            PeerOutput::Reload => {
                self.node(sid).disk.sync();
                self.at(0, Ev::Reload { sid, gen });
            }
            PeerOutput::ServeClients(_) => {}
            PeerOutput::StateChanged(_) => {}
        }
        Ok(())
    }

    fn node(&mut self, sid: Sid) -> &mut Node {
        self.nodes.get_mut(&sid).expect("node")
    }

    /// Invariants checked after every step of a node.
    fn check_node(&mut self, sid: Sid) -> Result<(), String> {
        let Some(peer) = self.nodes[&sid].peer.as_ref() else {
            return Ok(());
        };
        if let Some(e) = peer.established_epoch() {
            match self.leaders.get(&e) {
                Some(&l) if l != sid => {
                    return Err(format!("two leaders in epoch {e}: {l} and {sid}"))
                }
                Some(_) => {}
                None => {
                    self.leaders.insert(e, sid);
                    self.leaders_established += 1;
                }
            }
        }
        let tree = peer.server().tree();
        let (z, d) = (tree.last_processed_zxid, tree.digest().value());
        if let Some(&old) = self.digests.get(&z) {
            if old != d {
                return Err(format!(
                    "node {sid}: digest {d:#x} at zxid {z:#x}, elsewhere {old:#x}"
                ));
            }
        } else {
            self.digests.insert(z, d);
        }
        Ok(())
    }

    fn qkey(&self, a: Sid, b: Sid) -> Option<(Sid, Sid)> {
        [(a, b), (b, a)]
            .into_iter()
            .find(|k| self.qconns.contains_key(k))
    }

    fn send_q(&mut self, from: Sid, to: Sid, msg: Msg) {
        let Some(key) = self.qkey(from, to) else {
            return;
        };
        if !self.reachable(from, to) || (self.sim.faults && !self.healed && self.rng.chance(2)) {
            // A lost segment: TCP breaks the connection.
            return self.break_conn(key);
        }
        let dir = usize::from(key.1 == to);
        let d = self.rng.range(1, 10);
        let c = self.qconns.get_mut(&key).expect("conn");
        if !c.up {
            return;
        }
        let t = (self.now + d).max(c.last[dir]);
        c.last[dir] = t;
        let id = c.id;
        self.seq += 1;
        self.queue.insert(
            (t, self.seq),
            Ev::Net {
                to,
                from,
                conn: Some(id),
                msg,
            },
        );
    }

    fn break_conn(&mut self, key: (Sid, Sid)) {
        let Some(c) = self.qconns.remove(&key) else {
            return;
        };
        if !c.up {
            return;
        }
        let (learner, leader) = key;
        for (to, from) in [(learner, leader), (leader, learner)] {
            let d = self.rng.range(1, 20);
            self.at(
                d,
                Ev::Net {
                    to,
                    from,
                    conn: None,
                    msg: Msg::Disconnected,
                },
            );
        }
    }

    fn event(&mut self, ev: Ev) -> Result<(), String> {
        match ev {
            Ev::Net {
                to,
                from,
                conn,
                msg,
            } => {
                if let Some(id) = conn {
                    let live = self
                        .qkey(from, to)
                        .and_then(|k| self.qconns.get(&k))
                        .is_some_and(|c| c.id == id && c.up);
                    if !live {
                        return Ok(());
                    }
                }
                let input = match msg {
                    Msg::Notification(n) => {
                        if !self.reachable(from, to) {
                            return Ok(());
                        }
                        PeerInput::Notification { from, n }
                    }
                    Msg::Zab(msg) => PeerInput::Zab { from, msg },
                    Msg::Snap(zxid, snapshot) => {
                        let disk = &mut self.node(to).disk;
                        disk.snapshot = Some((*snapshot).clone());
                        disk.log.clear();
                        disk.tail.clear();
                        PeerInput::SnapLoaded {
                            from,
                            zxid,
                            snapshot: *snapshot,
                        }
                    }
                    Msg::Connected => PeerInput::QuorumConnected { sid: from },
                    Msg::Disconnected => PeerInput::QuorumDisconnected { sid: from },
                };
                self.input(to, input)
            }
            Ev::Connect {
                learner,
                leader,
                gen,
            } => {
                let wants = self.nodes[&learner].gen == gen
                    && self.nodes[&learner].peer.as_ref().is_some_and(|p| {
                        matches!(p.state(), ServerState::Following | ServerState::Observing)
                    });
                if !wants {
                    return Ok(());
                }
                let leading = self.nodes[&leader]
                    .peer
                    .as_ref()
                    .is_some_and(|p| p.state() == ServerState::Leading);
                if !leading || !self.reachable(learner, leader) {
                    self.at(
                        100,
                        Ev::Connect {
                            learner,
                            leader,
                            gen,
                        },
                    );
                    return Ok(());
                }
                if let Some(k) = self.qkey(learner, leader) {
                    self.break_conn(k);
                }
                let id = self.next_id;
                self.next_id += 1;
                let t = self.now + 2;
                self.qconns.insert(
                    (learner, leader),
                    QConn {
                        id,
                        up: true,
                        last: [t, t],
                    },
                );
                self.seq += 1;
                self.queue.insert(
                    (t, self.seq),
                    Ev::Net {
                        to: leader,
                        from: learner,
                        conn: Some(id),
                        msg: Msg::Connected,
                    },
                );
                self.seq += 1;
                self.queue.insert(
                    (t, self.seq),
                    Ev::Net {
                        to: learner,
                        from: leader,
                        conn: Some(id),
                        msg: Msg::Connected,
                    },
                );
                Ok(())
            }
            Ev::Tick { sid, gen } => {
                if self.nodes[&sid].gen != gen {
                    return Ok(());
                }
                self.input(
                    sid,
                    PeerInput::Tick {
                        have_delivered: true,
                    },
                )?;
                self.at(50, Ev::Tick { sid, gen });
                Ok(())
            }
            Ev::Fsync { sid, gen } => {
                if self.nodes[&sid].gen != gen {
                    return Ok(());
                }
                let disk = &mut self.node(sid).disk;
                disk.fsync_pending = false;
                if disk.tail.is_empty() {
                    return Ok(());
                }
                disk.sync();
                let zxid = disk.last();
                self.input(sid, PeerInput::Persisted { zxid })
            }
            Ev::Reload { sid, gen } => {
                if self.nodes[&sid].gen != gen {
                    return Ok(());
                }
                let loaded = self.nodes[&sid].disk.loaded();
                self.input(sid, PeerInput::Reloaded(loaded))
            }
            Ev::ToServer { sid, gen, input } => {
                if self.nodes[&sid].gen != gen {
                    return Ok(());
                }
                self.input(sid, PeerInput::Client(input))
            }
            Ev::ToClient {
                client,
                conn,
                frame,
            } => {
                if self.clients[client].conn != Some(conn) {
                    return Ok(());
                }
                match frame {
                    None => self.clients[client].closed(),
                    Some(f) => {
                        let more = self.clients[client]
                            .on_frame(f, &mut self.acked)
                            .map_err(|e| format!("client {client}: {e}"))?;
                        if let Some(frame) = more {
                            if let Some(&(sid, _)) = self.client_conns.get(&conn) {
                                let gen = self.nodes[&sid].gen;
                                let input = Input::Frame { conn, frame };
                                self.at(1, Ev::ToServer { sid, gen, input });
                            }
                        }
                    }
                }
                Ok(())
            }
            Ev::ClientStep { client } => {
                self.client_step(client);
                if self.now < self.sim.fault_ms + self.sim.quiet_ms / 2 {
                    let d = self.rng.range(10, 60);
                    self.at(d, Ev::ClientStep { client });
                }
                Ok(())
            }
            Ev::Fault => {
                self.fault()?;
                let d = self.rng.range(300, 1_200);
                self.at(d, Ev::Fault);
                Ok(())
            }
            Ev::Restart { sid } => {
                if !self.up(sid) {
                    self.start(sid)?;
                }
                Ok(())
            }
        }
    }

    fn client_step(&mut self, client: usize) {
        let c = &mut self.clients[client];
        match c.conn {
            None => {
                let sids = self.sids();
                let sid = *self.rng.pick(&sids).expect("nodes");
                let conn = self.next_id;
                self.next_id += 1;
                let frame = self.clients[client].connect(conn);
                self.client_conns.insert(conn, (sid, client));
                let gen = self.nodes[&sid].gen;
                if !self.up(sid) {
                    self.client_conns.remove(&conn);
                    self.at(
                        5,
                        Ev::ToClient {
                            client,
                            conn,
                            frame: None,
                        },
                    );
                    return;
                }
                let peer = IpAddr::V4(Ipv4Addr::LOCALHOST);
                self.at(
                    1,
                    Ev::ToServer {
                        sid,
                        gen,
                        input: Input::Open { conn, peer },
                    },
                );
                self.at(
                    2,
                    Ev::ToServer {
                        sid,
                        gen,
                        input: Input::Frame { conn, frame },
                    },
                );
            }
            Some(conn) => {
                if let Some(frame) = c.next_request(&mut self.rng) {
                    if let Some(&(sid, _)) = self.client_conns.get(&conn) {
                        let gen = self.nodes[&sid].gen;
                        self.at(
                            1,
                            Ev::ToServer {
                                sid,
                                gen,
                                input: Input::Frame { conn, frame },
                            },
                        );
                    }
                }
            }
        }
    }

    fn leader(&self) -> Option<Sid> {
        self.nodes
            .iter()
            .find(|(_, n)| {
                n.peer
                    .as_ref()
                    .is_some_and(|p| p.established_epoch().is_some())
            })
            .map(|(s, _)| *s)
    }

    fn fault(&mut self) -> Result<(), String> {
        if self.healed {
            return Ok(());
        }
        let sids = self.sids();
        match self.rng.range(0, 6) {
            0 => {
                // Partition: a random split.
                let mut side = vec![false; sids.len() + 1];
                for s in &sids {
                    side[*s as usize] = self.rng.chance(500);
                }
                self.side = Some(side);
                let keys: Vec<(Sid, Sid)> = self.qconns.keys().copied().collect();
                for (a, b) in keys {
                    if !self.reachable(a, b) {
                        self.break_conn((a, b));
                    }
                }
            }
            1 | 2 => self.side = None,
            3 => {
                let sid = *self.rng.pick(&sids).expect("nodes");
                self.crash(sid);
                let d = self.rng.range(200, 1_500);
                self.at(d, Ev::Restart { sid });
            }
            4 => {
                if let Some(sid) = self.leader() {
                    self.crash(sid);
                    let d = self.rng.range(200, 1_500);
                    self.at(d, Ev::Restart { sid });
                }
            }
            _ => {}
        }
        Ok(())
    }

    fn heal(&mut self) -> Result<(), String> {
        self.healed = true;
        self.side = None;
        for sid in self.sids() {
            if !self.up(sid) {
                self.start(sid)?;
            }
        }
        Ok(())
    }

    fn check_converged(&self) -> Result<(), String> {
        let mut seen: Option<(Sid, i64, i64)> = None;
        for (sid, n) in &self.nodes {
            let p = n
                .peer
                .as_ref()
                .ok_or(format!("node {sid} down at the end"))?;
            if !p.is_serving() {
                return Err(format!(
                    "node {sid} not serving at the end ({:?})",
                    p.state()
                ));
            }
            let t = p.server().tree();
            let me = (*sid, t.last_processed_zxid, t.digest().value());
            if let Some((s, z, d)) = seen {
                if (z, d) != (me.1, me.2) {
                    return Err(format!(
                        "not converged: node {s} at {z:#x}/{d:#x}, node {sid} at {:#x}/{:#x}",
                        me.1, me.2
                    ));
                }
            }
            seen = Some(me);
            for path in &self.acked.created {
                if t.get(path).is_none() {
                    return Err(format!("node {sid}: acknowledged create {path} lost"));
                }
            }
            let v = t.get(KEY).map(|n| n.stat().version).unwrap_or(-1);
            if v < self.acked.key_version {
                return Err(format!(
                    "node {sid}: {KEY} at version {v}, an acknowledged setData made {}",
                    self.acked.key_version
                ));
            }
        }
        Ok(())
    }
}
