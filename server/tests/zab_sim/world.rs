//! The simulated ensemble: nodes (a Zab role + a replica), a network of
//! FIFO connections with seeded delays, drops and partitions, crashes that
//! lose the unsynced tail, clients, and one event queue on one thread.

use super::checker::Checker;
use super::oracle::{Candidate, ElectionOracle};
use super::replica::{zxid, Replica};
use super::rng::SimRng;
use bytes::Bytes;
use jute::txn::{SetDataTxn, TxnHeader};
use std::collections::{BTreeMap, BTreeSet, HashMap, VecDeque};
use zk_server::core::txn::{Txn, TxnBody};
use zk_server::quorum::types::{
    make_zxid, ForwardedRequest, LearnerType, Sid, TxnPacket, ZabMessage,
};
use zk_server::quorum::zab::{
    Input, Leader, LeaderInit, LeaderPhase, Learner, LearnerInit, Majority, Output, QuorumCheck,
    ZabConfig,
};

#[derive(Debug, Clone, Copy)]
pub struct SimConfig {
    pub voters: usize,
    pub observers: usize,
    /// Faults and client load run this long...
    pub fault_ms: u64,
    /// ...then the network heals, crashed nodes restart, and this much
    /// quiet time follows (clients stop half-way) before liveness is checked.
    pub quiet_ms: u64,
    pub faults: bool,
}

enum Role {
    Looking,
    Leading(Leader),
    Following(Learner),
}

struct Node {
    sid: Sid,
    observer: bool,
    up: bool,
    role: Role,
    rep: Replica,
    /// Bumped at every role change and crash: stale events and inputs for
    /// an older generation are dropped.
    gen: u64,
    serving: bool,
    leader_conn: Option<u64>,
    /// Leader: learner sid → connection.
    conns: BTreeMap<Sid, u64>,
    /// Leader: the request processor's next zxid.
    next_zxid: i64,
    fsync_pending: bool,
    /// Learner: forwarded syncs awaiting SYNC, by id.
    syncs: VecDeque<i32>,
}

struct Conn {
    learner: Sid,
    leader: Sid,
    learner_gen: u64,
    leader_gen: u64,
    up: bool,
    last_to_leader: u64,
    last_to_learner: u64,
}

enum SimMsg {
    Zab(ZabMessage),
    /// SNAP + the snapshot stream: the leader's tree.
    Snap(Vec<TxnPacket>),
}

enum Ev {
    Connect { conn: u64 },
    Deliver { conn: u64, to: Sid, msg: SimMsg },
    Fsync { sid: Sid, gen: u64, upto: i64 },
    Restart { sid: Sid },
    Heal,
    Tick,
    ClientOp,
    Fault,
}

struct Client {
    id: i64,
    next_seq: i32,
    server: Option<(Sid, u64)>,
}

pub struct World {
    rng: SimRng,
    now: u64,
    seq: u64,
    events: BTreeMap<(u64, u64), Ev>,
    nodes: Vec<Node>,
    conns: HashMap<u64, Conn>,
    next_conn: u64,
    cfg: ZabConfig,
    sim: SimConfig,
    voters: BTreeSet<Sid>,
    oracle: Box<dyn ElectionOracle>,
    pub checker: Checker,
    clients: Vec<Client>,
    sync_expect: HashMap<i32, i64>,
    next_sync_id: i32,
    group: Vec<u8>,
    queue: VecDeque<(Sid, u64, Input)>,
    pub stats: Stats,
}

#[derive(Debug, Default)]
pub struct Stats {
    pub elections: u64,
    pub crashes: u64,
    pub partitions: u64,
    pub drops: u64,
    pub snaps: u64,
    pub truncs: u64,
    pub messages: u64,
}

const TICK_MS: u64 = 50;

impl World {
    pub fn new(seed: u64, sim: SimConfig, oracle: Box<dyn ElectionOracle>) -> World {
        let n = sim.voters + sim.observers;
        let nodes = (1..=n as Sid)
            .map(|sid| Node {
                sid,
                observer: sid as usize > sim.voters,
                up: true,
                role: Role::Looking,
                rep: Replica::default(),
                gen: 0,
                serving: false,
                leader_conn: None,
                conns: BTreeMap::new(),
                next_zxid: 0,
                fsync_pending: false,
                syncs: VecDeque::new(),
            })
            .collect();
        let mut w = World {
            rng: SimRng::new(seed),
            now: 0,
            seq: 0,
            events: BTreeMap::new(),
            nodes,
            conns: HashMap::new(),
            next_conn: 1,
            cfg: ZabConfig {
                tick_time_ms: 100,
                init_limit_ticks: 10,
                sync_limit_ticks: 5,
                commit_log_count: 8,
            },
            sim,
            voters: (1..=sim.voters as Sid).collect(),
            oracle,
            checker: Checker::default(),
            clients: (1..=4)
                .map(|id| Client {
                    id,
                    next_seq: 1,
                    server: None,
                })
                .collect(),
            sync_expect: HashMap::new(),
            next_sync_id: 1,
            group: vec![0; n],
            queue: VecDeque::new(),
            stats: Stats::default(),
        };
        w.at(0, Ev::Tick);
        w.at(10, Ev::ClientOp);
        if sim.faults {
            w.at(500, Ev::Fault);
        }
        w
    }

    fn at(&mut self, t: u64, ev: Ev) {
        self.seq += 1;
        self.events.insert((t, self.seq), ev);
    }

    fn node(&mut self, sid: Sid) -> &mut Node {
        &mut self.nodes[(sid - 1) as usize]
    }

    fn quorum(&self) -> Box<dyn QuorumCheck> {
        Box::new(Majority::new(self.voters.iter().copied()))
    }

    /// Runs to the end; `Err` names the first invariant broken.
    pub fn run(&mut self) -> Result<(), String> {
        let end = self.sim.fault_ms + self.sim.quiet_ms;
        self.at(self.sim.fault_ms, Ev::Heal);
        while let Some(((t, _), ev)) = self.events.pop_first() {
            if t > end {
                break;
            }
            self.now = t;
            self.event(ev)?;
            self.drain()?;
        }
        self.check_converged()
    }

    fn event(&mut self, ev: Ev) -> Result<(), String> {
        match ev {
            Ev::Tick => {
                for i in 0..self.nodes.len() {
                    let n = &self.nodes[i];
                    if n.up && !matches!(n.role, Role::Looking) {
                        self.queue.push_back((n.sid, n.gen, Input::Tick));
                    }
                }
                self.drain()?;
                self.elect()?;
                self.at(self.now + TICK_MS, Ev::Tick);
            }
            Ev::Connect { conn } => self.connect(conn),
            Ev::Deliver { conn, to, msg } => self.deliver(conn, to, msg)?,
            Ev::Fsync { sid, gen, upto } => {
                let n = self.node(sid);
                if n.up && n.gen == gen {
                    n.rep.fsync(upto);
                    n.fsync_pending = false;
                    self.queue
                        .push_back((sid, gen, Input::Persisted { zxid: upto }));
                    self.schedule_fsync(sid);
                }
            }
            Ev::Restart { sid } => {
                let n = self.node(sid);
                if !n.up {
                    n.up = true;
                    n.rep.drain_and_load();
                }
            }
            Ev::Heal => {
                self.group.iter_mut().for_each(|g| *g = 0);
                for sid in 1..=self.nodes.len() as Sid {
                    self.at(self.now + 1, Ev::Restart { sid });
                }
            }
            Ev::ClientOp => {
                self.client_op()?;
                if self.now < self.sim.fault_ms + self.sim.quiet_ms / 2 {
                    let d = self.rng.range(3, 25);
                    self.at(self.now + d, Ev::ClientOp);
                }
            }
            Ev::Fault => {
                if self.now < self.sim.fault_ms {
                    self.fault()?;
                    let d = self.rng.range(100, 1200);
                    self.at(self.now + d, Ev::Fault);
                }
            }
        }
        Ok(())
    }

    /// Feeds queued inputs to their roles until none is left.
    fn drain(&mut self) -> Result<(), String> {
        while let Some((sid, gen, input)) = self.queue.pop_front() {
            let now = self.now;
            let n = self.node(sid);
            if !n.up || n.gen != gen {
                continue;
            }
            let mut outs = Vec::new();
            if trace() {
                eprintln!("{now} n{sid} <- {}", brief(&input));
            }
            match &mut n.role {
                Role::Looking => continue,
                Role::Leading(l) => l.handle(now, input, &mut outs),
                Role::Following(l) => l.handle(now, input, &mut outs),
            }
            for o in outs {
                if trace() {
                    eprintln!("{now} n{sid} -> {}", brief(&o));
                }
                if self.node(sid).gen != gen {
                    break;
                }
                self.output(sid, gen, o)?;
            }
        }
        Ok(())
    }

    fn output(&mut self, sid: Sid, gen: u64, o: Output) -> Result<(), String> {
        match o {
            Output::Send { to, msg } => {
                let conn = {
                    let n = self.node(sid);
                    match n.role {
                        Role::Leading(_) => n.conns.get(&to).copied(),
                        _ => n.leader_conn,
                    }
                };
                if let Some(c) = conn {
                    self.send(c, sid, to, SimMsg::Zab(msg));
                }
            }
            Output::Close { sid: l } => {
                if let Some(c) = self.node(sid).conns.get(&l).copied() {
                    self.drop_conn(c);
                }
            }
            Output::Persist(p) => {
                self.node(sid).rep.tail.push(p);
                self.schedule_fsync(sid);
            }
            Output::WriteAcceptedEpoch(e) => self.node(sid).rep.accepted_epoch = e,
            Output::WriteCurrentEpoch(e) => self.node(sid).rep.current_epoch = e,
            Output::Established { epoch } => {
                let n = &mut self.nodes[(sid - 1) as usize];
                n.serving = true;
                n.next_zxid = make_zxid(epoch, 1);
                self.checker.on_established(sid, epoch, &n.rep.applied)?;
            }
            Output::Commit { zxid: upto } => {
                let n = &mut self.nodes[(sid - 1) as usize];
                let from = n.rep.applied.len();
                let z = n.rep.last_applied_zxid();
                let d = n.rep.durable.partition_point(|t| zxid(t) <= z);
                let t = n.rep.tail.partition_point(|t| zxid(t) <= z);
                let new: Vec<TxnPacket> = n.rep.durable[d..]
                    .iter()
                    .chain(n.rep.tail[t..].iter())
                    .take_while(|t| zxid(t) <= upto)
                    .cloned()
                    .collect();
                if new.last().map_or(z, zxid) != upto {
                    return Err(format!("leader {sid}: commit {upto:#x} of unlogged txns"));
                }
                n.rep.applied.extend(new.iter().cloned());
                self.checker.check_applied(sid, &n.rep.applied, from)?;
                for t in &new {
                    self.checker.on_ack(t);
                }
            }
            Output::SendSnap { to, zxid: z } => {
                let n = self.node(sid);
                if n.rep.last_applied_zxid() != z {
                    return Err(format!(
                        "leader {sid}: SNAP at {z:#x} but the tree is at {:#x}",
                        n.rep.last_applied_zxid()
                    ));
                }
                let snap = n.rep.applied.clone();
                if let Some(c) = n.conns.get(&to).copied() {
                    self.stats.snaps += 1;
                    self.send(c, sid, to, SimMsg::Snap(snap));
                }
            }
            Output::Forwarded { from, request } => {
                if request.op == 9 {
                    // The last txn proposed before this sync: the processor's
                    // last zxid, or the history the leader started from.
                    let n = self.node(sid);
                    let last = if n.next_zxid & 0xffff_ffff == 1 {
                        n.rep.last_logged_zxid()
                    } else {
                        n.next_zxid - 1
                    };
                    self.sync_expect.insert(request.cxid, last);
                    self.queue
                        .push_back((sid, gen, Input::ProcessSync { from }));
                } else {
                    self.propose(sid, request.session_id, request.cxid);
                }
            }
            Output::Touch(_) => {}
            Output::Revalidate {
                from, session_id, ..
            } => self.queue.push_back((
                sid,
                gen,
                Input::RevalidateAnswer {
                    to: from,
                    session_id,
                    valid: true,
                },
            )),
            Output::Revalidated { .. } => {}
            Output::ReportTouches { zxid: z } => self.queue.push_back((
                sid,
                gen,
                Input::Touches {
                    zxid: z,
                    touches: Vec::new(),
                },
            )),
            Output::Deliver(p) => {
                let n = &mut self.nodes[(sid - 1) as usize];
                n.rep.applied.push(p);
                if n.serving {
                    let from = n.rep.applied.len() - 1;
                    self.checker.check_applied(sid, &n.rep.applied, from)?;
                }
            }
            Output::Truncate { zxid: z } => {
                self.stats.truncs += 1;
                self.node(sid).rep.truncate(z);
            }
            Output::SyncDone => {
                let n = self.node(sid);
                let last = n.rep.last_applied_zxid();
                let Some(id) = n.syncs.pop_front() else {
                    return Err(format!("learner {sid}: SYNC without a forwarded sync"));
                };
                let need = self.sync_expect.get(&id).copied().ok_or(format!(
                    "learner {sid}: SYNC for sync {id} the leader never processed"
                ))?;
                self.checker.on_sync_done(sid, last, need)?;
            }
            Output::Serving { epoch } => {
                let n = &mut self.nodes[(sid - 1) as usize];
                n.serving = true;
                self.checker.on_serving(sid, epoch, &n.rep.applied)?;
            }
            Output::Abandon { .. } => self.end_role(sid),
        }
        Ok(())
    }

    fn schedule_fsync(&mut self, sid: Sid) {
        let d = self.rng.range(1, 40);
        let n = self.node(sid);
        if n.fsync_pending || n.rep.tail.is_empty() {
            return;
        }
        n.fsync_pending = true;
        let ev = Ev::Fsync {
            sid,
            gen: n.gen,
            upto: zxid(n.rep.tail.last().expect("non-empty")),
        };
        self.at(self.now + d, ev);
    }

    /// The leader's request processor: the next zxid, a txn, `Propose`.
    fn propose(&mut self, sid: Sid, client: i64, seq: i32) {
        let now = self.now as i64;
        let n = self.node(sid);
        let z = n.next_zxid;
        n.next_zxid += 1;
        let txn = Txn {
            header: TxnHeader {
                client_id: client,
                cxid: seq,
                zxid: z,
                time: now,
                type_: 5,
            },
            body: TxnBody::SetData(SetDataTxn {
                path: format!("/c{client}"),
                data: Some(Bytes::from(seq.to_be_bytes().to_vec())),
                version: -1,
            }),
        };
        let gen = n.gen;
        self.queue
            .push_back((sid, gen, Input::Propose(TxnPacket { txn, digest: None })));
    }

    fn send(&mut self, c: u64, from: Sid, to: Sid, msg: SimMsg) {
        // Spikes of up to 300 ms while faults run; a healed network is fast.
        let spikes = self.now < self.sim.fault_ms;
        let base = if spikes && self.rng.chance(50) {
            self.rng.range(30, 300)
        } else {
            self.rng.range(1, 30)
        };
        let Some(conn) = self.conns.get_mut(&c) else {
            return;
        };
        if !conn.up {
            return;
        }
        self.stats.messages += 1;
        // FIFO per direction: never before the previous message.
        let last = if to == conn.leader && from == conn.learner {
            &mut conn.last_to_leader
        } else {
            &mut conn.last_to_learner
        };
        let t = (self.now + base).max(*last);
        *last = t;
        self.at(t, Ev::Deliver { conn: c, to, msg });
    }

    fn deliver(&mut self, c: u64, to: Sid, msg: SimMsg) -> Result<(), String> {
        let Some(conn) = self.conns.get(&c) else {
            return Ok(());
        };
        if !conn.up {
            return Ok(());
        }
        let (from, gen) = if to == conn.leader {
            (conn.learner, conn.leader_gen)
        } else {
            (conn.leader, conn.learner_gen)
        };
        let msg = match msg {
            SimMsg::Zab(m) => m,
            SimMsg::Snap(tree) => {
                let n = self.node(to);
                let z = tree.last().map_or(0, zxid);
                n.rep.durable = tree.clone();
                n.rep.tail.clear();
                n.rep.applied = tree;
                ZabMessage::Snap { zxid: z }
            }
        };
        self.queue
            .push_back((to, gen, Input::Received { from, msg }));
        Ok(())
    }

    fn connect(&mut self, c: u64) {
        let Some(conn) = self.conns.get(&c) else {
            return;
        };
        let (l, ld) = (conn.learner, conn.leader);
        let (lg, ldg) = (conn.learner_gen, conn.leader_gen);
        let ok = {
            let a = &self.nodes[(l - 1) as usize];
            let b = &self.nodes[(ld - 1) as usize];
            a.up && b.up
                && a.gen == lg
                && b.gen == ldg
                && self.group[(l - 1) as usize] == self.group[(ld - 1) as usize]
        };
        if !ok {
            self.conns.remove(&c);
            return;
        }
        self.conns.get_mut(&c).expect("exists").up = true;
        if let Some(old) = self.node(ld).conns.insert(l, c) {
            self.conns.remove(&old);
        }
        self.queue
            .push_back((ld, ldg, Input::PeerConnected { sid: l }));
        self.queue
            .push_back((l, lg, Input::PeerConnected { sid: ld }));
    }

    /// A connection breaks: both ends hear of it, in-flight data is lost.
    fn drop_conn(&mut self, c: u64) {
        let Some(conn) = self.conns.remove(&c) else {
            return;
        };
        let (l, ld) = (conn.learner, conn.leader);
        if self.node(ld).conns.get(&l) == Some(&c) {
            self.node(ld).conns.remove(&l);
            self.queue
                .push_back((ld, conn.leader_gen, Input::PeerDisconnected { sid: l }));
        }
        if self.node(l).leader_conn == Some(c) {
            self.node(l).leader_conn = None;
            self.queue
                .push_back((l, conn.learner_gen, Input::PeerDisconnected { sid: ld }));
        }
    }

    fn end_role(&mut self, sid: Sid) {
        let n = self.node(sid);
        let mut cs: Vec<u64> = n.conns.values().copied().collect();
        cs.extend(n.leader_conn);
        for c in cs {
            self.drop_conn(c);
        }
        let n = self.node(sid);
        n.role = Role::Looking;
        n.serving = false;
        n.gen += 1;
        n.fsync_pending = false;
        n.syncs.clear();
        n.conns.clear();
        n.leader_conn = None;
        if n.up {
            n.rep.drain_and_load();
        }
    }

    fn crash(&mut self, sid: Sid) {
        self.stats.crashes += 1;
        // Down first: the unsynced tail must not be drained by `end_role`.
        self.node(sid).up = false;
        self.node(sid).rep.crash();
        self.end_role(sid);
        let d = self.rng.range(100, 3000);
        self.at(self.now + d, Ev::Restart { sid });
    }

    fn start_leader(&mut self, sid: Sid) -> Result<(), String> {
        self.stats.elections += 1;
        let (cfg, q, now) = (self.cfg, self.quorum(), self.now);
        let n = self.node(sid);
        n.rep.drain_and_load();
        n.gen += 1;
        let keep = n.rep.durable.len().saturating_sub(cfg.commit_log_count);
        let init = LeaderInit {
            accepted_epoch: n.rep.accepted_epoch,
            current_epoch: n.rep.current_epoch,
            last_zxid: n.rep.last_durable_zxid(),
            committed_log: n.rep.durable[keep..].to_vec(),
            quorum_config: Bytes::from_static(b"version=0"),
        };
        let mut outs = Vec::new();
        n.role = Role::Leading(Leader::new(cfg, sid, q, init, now, &mut outs));
        let gen = n.gen;
        for o in outs {
            self.output(sid, gen, o)?;
        }
        Ok(())
    }

    fn start_learner(&mut self, sid: Sid, leader: Sid) {
        let (cfg, now) = (self.cfg, self.now);
        let leader_gen = self.node(leader).gen;
        let c = self.next_conn;
        self.next_conn += 1;
        let n = self.node(sid);
        n.rep.drain_and_load();
        n.gen += 1;
        let init = LearnerInit {
            accepted_epoch: n.rep.accepted_epoch,
            current_epoch: n.rep.current_epoch,
            last_logged_zxid: n.rep.last_durable_zxid(),
            config_version: 0,
        };
        let ty = if n.observer {
            LearnerType::Observer
        } else {
            LearnerType::Participant
        };
        n.role = Role::Following(Learner::new(cfg, sid, leader, ty, init, now));
        n.leader_conn = Some(c);
        let learner_gen = n.gen;
        self.conns.insert(
            c,
            Conn {
                learner: sid,
                leader,
                learner_gen,
                leader_gen,
                up: false,
                last_to_leader: 0,
                last_to_learner: 0,
            },
        );
        let d = self.rng.range(1, 20);
        self.at(self.now + d, Ev::Connect { conn: c });
    }

    /// The election oracle at work, per side of the partition.
    fn elect(&mut self) -> Result<(), String> {
        for g in 0..2u8 {
            let side: Vec<usize> = (0..self.nodes.len())
                .filter(|&i| self.nodes[i].up && self.group[i] == g)
                .collect();
            let leader = side.iter().copied().find(|&i| {
                matches!(&self.nodes[i].role, Role::Leading(l) if l.phase() != LeaderPhase::Abandoned)
            });
            let looking: Vec<usize> = side
                .iter()
                .copied()
                .filter(|&i| matches!(self.nodes[i].role, Role::Looking))
                .collect();
            if looking.is_empty() {
                continue;
            }
            let leader = match leader {
                Some(i) => Some(self.nodes[i].sid),
                None => {
                    let cands: Vec<Candidate> = looking
                        .iter()
                        .filter(|&&i| !self.nodes[i].observer)
                        .map(|&i| Candidate {
                            sid: self.nodes[i].sid,
                            current_epoch: self.nodes[i].rep.current_epoch,
                            last_zxid: self.nodes[i].rep.last_logged_zxid(),
                        })
                        .collect();
                    let set: BTreeSet<Sid> = cands.iter().map(|c| c.sid).collect();
                    if !self.quorum().contains_quorum(&set) {
                        continue;
                    }
                    let Some(w) = self.oracle.elect(&cands) else {
                        continue;
                    };
                    self.start_leader(w)?;
                    Some(w)
                }
            };
            let leader = leader.expect("chosen");
            for i in looking {
                let sid = self.nodes[i].sid;
                if sid != leader && matches!(self.nodes[i].role, Role::Looking) {
                    self.start_learner(sid, leader);
                }
            }
        }
        Ok(())
    }

    fn fault(&mut self) -> Result<(), String> {
        let n = self.nodes.len() as u64;
        match self.rng.range(0, 11) {
            10 => {
                // A power failure: every node crashes at once, each losing
                // its unsynced tail.
                for sid in 1..=self.nodes.len() as Sid {
                    if self.node(sid).up {
                        self.crash(sid);
                    }
                }
            }
            0..=2 => {
                let sid = self.rng.range(1, n + 1) as Sid;
                if self.node(sid).up {
                    self.crash(sid);
                }
            }
            3..=4 => {
                // Crash whoever leads.
                let leader = self
                    .nodes
                    .iter()
                    .find(|x| x.up && matches!(x.role, Role::Leading(_)))
                    .map(|x| x.sid);
                if let Some(sid) = leader {
                    self.crash(sid);
                }
            }
            5..=6 => {
                self.stats.partitions += 1;
                for i in 0..self.group.len() {
                    self.group[i] = self.rng.range(0, 2) as u8;
                }
                let cut: Vec<u64> = self
                    .conns
                    .iter()
                    .filter(|(_, c)| {
                        self.group[(c.learner - 1) as usize] != self.group[(c.leader - 1) as usize]
                    })
                    .map(|(&id, _)| id)
                    .collect();
                for c in cut {
                    self.drop_conn(c);
                }
                let d = self.rng.range(200, 3000);
                self.at(self.now + d, Ev::Heal);
            }
            _ => {
                let mut ids: Vec<u64> = self.conns.keys().copied().collect();
                ids.sort_unstable();
                if let Some(&c) = self.rng.pick(&ids) {
                    self.stats.drops += 1;
                    self.drop_conn(c);
                }
            }
        }
        Ok(())
    }

    fn client_op(&mut self) -> Result<(), String> {
        let ci = self.rng.range(0, self.clients.len() as u64) as usize;
        let valid = |w: &World, s: Option<(Sid, u64)>| match s {
            Some((sid, gen)) => {
                let n = &w.nodes[(sid - 1) as usize];
                n.up && n.serving && n.gen == gen
            }
            None => false,
        };
        if !valid(self, self.clients[ci].server) {
            let serving: Vec<(Sid, u64)> = self
                .nodes
                .iter()
                .filter(|n| n.up && n.serving)
                .map(|n| (n.sid, n.gen))
                .collect();
            self.clients[ci].server = self.rng.pick(&serving).copied();
        }
        let Some((sid, gen)) = self.clients[ci].server else {
            return Ok(());
        };
        let client = self.clients[ci].id;
        let is_leader = matches!(self.node(sid).role, Role::Leading(_));
        if !is_leader && self.rng.chance(100) {
            let id = self.next_sync_id;
            self.next_sync_id += 1;
            self.node(sid).syncs.push_back(id);
            self.queue
                .push_back((sid, gen, Input::Forward(request(client, id, 9))));
            return Ok(());
        }
        let seq = self.clients[ci].next_seq;
        self.clients[ci].next_seq += 1;
        if is_leader {
            self.propose(sid, client, seq);
        } else {
            self.queue
                .push_back((sid, gen, Input::Forward(request(client, seq, 5))));
        }
        Ok(())
    }

    /// After the faults: one leader, everyone synced and equal.
    fn check_converged(&self) -> Result<(), String> {
        let leaders: Vec<&Node> = self
            .nodes
            .iter()
            .filter(|n| matches!(&n.role, Role::Leading(l) if l.phase() == LeaderPhase::Broadcast))
            .collect();
        if leaders.len() != 1 {
            return Err(format!(
                "not converged: {} leaders in broadcast",
                leaders.len()
            ));
        }
        let want = &leaders[0].rep.applied;
        for n in &self.nodes {
            if !n.up || !n.serving {
                let role = match &n.role {
                    Role::Looking => "looking".to_string(),
                    Role::Leading(l) => format!("leading {:?} epoch {}", l.phase(), l.epoch()),
                    Role::Following(l) => format!(
                        "following {} {:?} epoch {}",
                        l.leader(),
                        l.phase(),
                        l.epoch()
                    ),
                };
                return Err(format!(
                    "not converged: node {} (up {}) is not serving: {role}; accepted {} current {} last {:#x}",
                    n.sid, n.up, n.rep.accepted_epoch, n.rep.current_epoch, n.rep.last_logged_zxid()
                ));
            }
            if n.rep.applied.len() != want.len() {
                return Err(format!(
                    "not converged: node {} applied {} txns, the leader {}",
                    n.sid,
                    n.rep.applied.len(),
                    want.len()
                ));
            }
        }
        if self.checker.acked_count() == 0 {
            return Err("no write was ever acknowledged".into());
        }
        Ok(())
    }
}

fn request(session_id: i64, cxid: i32, op: i32) -> ForwardedRequest {
    ForwardedRequest {
        session_id,
        cxid,
        op,
        request: Bytes::new(),
        auth: Vec::new(),
    }
}

/// `ZAB_TRACE=1` prints every input and output (for replaying one seed).
fn trace() -> bool {
    static ON: std::sync::OnceLock<bool> = std::sync::OnceLock::new();
    *ON.get_or_init(|| std::env::var_os("ZAB_TRACE").is_some())
}

fn brief(x: &dyn std::fmt::Debug) -> String {
    let s = format!("{x:?}");
    if s.len() > 160 {
        format!("{}…", &s[..160])
    } else {
        s
    }
}
