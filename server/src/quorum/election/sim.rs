//! A seeded simulation of whole ensembles electing, on one thread, with
//! simulated time: every peer runs its own [`Election`]; a network model
//! delays, drops, duplicates and reorders notifications, partitions the
//! peers and crashes and restarts them.
//!
//! `ELECTION_SEEDS=n` runs seeds `0..n` (default 1000); `ELECTION_SEED=s`
//! replays one seed exactly, with a trace on stderr. A failure names its
//! seed.
//!
//! Seed `s` picks the ensemble from `s % 4` (3, 4, 5 voters, or 3 voters
//! + 1 observer) and the regime from `(s / 4) % 3`:
//! - timely: no drops, partitions or crashes; delays 1–100 ms (half of
//!   finalizeWait), duplicates, reordering, start times jittered 0–50 ms;
//! - chaos: up to 15 s of drops (≤ 30 %), delays up to 1 s, duplicates
//!   (no likelier than drops),
//!   two-way partitions and crash-restarts; then the network heals and
//!   every peer is up;
//! - chaos with one voter down for good (its ensemble still has a quorum
//!   of the rest: with 4 voters, 3 must elect).
//!
//! What a peer does after deciding is modelled, not implemented (Zab is
//! another layer): a follower or observer whose leader is down, partitioned
//! away or not LEADING, and a leader without a quorum of voters (itself
//! included) reachable and following it, go back to LOOKING (a new round)
//! when checked, every 500 ms starting 2 s after the decision (initLimit).
//! Peers keep their zxid and epoch (no Zab runs).
//!
//! Checked, per seed:
//! - liveness: after the heal (at time 0 in the timely regime), within
//!   180 s of simulated time, every up peer is out of LOOKING, all name one
//!   leader, the leader is LEADING, voters FOLLOWING and observers
//!   OBSERVING it; and it stays so for 5 s more;
//! - timely regime: every decision names the maximum (peerEpoch, zxid,
//!   sid) of the voters and is taken in election epoch 1 (so no two peers
//!   decide different leaders in one election epoch);
//! - all regimes: at no check are there two leaders each with a quorum of
//!   voters reachable and following it;
//! - all regimes: a decision always names a voter, and LEADING only for
//!   oneself.

use super::*;
use crate::quorum::types::make_zxid;
use std::cmp::Reverse;
use std::collections::{BTreeMap, BinaryHeap};

/// splitmix64: small, seeded, identical on every platform.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }
    /// Uniform in `lo..=hi`.
    fn range(&mut self, lo: u64, hi: u64) -> u64 {
        lo + self.next() % (hi - lo + 1)
    }
    fn chance(&mut self, p: f64) -> bool {
        (self.next() >> 11) as f64 / (1u64 << 53) as f64 > 1.0 - p
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Regime {
    Timely,
    Chaos,
    ChaosOneDown,
}

#[derive(Debug)]
enum Event {
    Deliver {
        from: Sid,
        to: Sid,
        /// The incarnations the message was sent between: a restart
        /// breaks the connections, so older messages are lost.
        from_inc: u32,
        to_inc: u32,
        n: Notification,
    },
    Tick(Sid),
    RoleCheck(Sid),
    Start(Sid),
    Restart(Sid),
    Chaos,
    Heal,
}

struct Peer {
    sid: Sid,
    learner_type: LearnerType,
    election: Election,
    up: bool,
    /// Down for good (ChaosOneDown).
    dead: bool,
    incarnation: u32,
    zxid: i64,
    epoch: i64,
    decided_at: Option<u64>,
    /// When the first start is due.
    start_at: u64,
}

struct Sim {
    trace: bool,
    rng: Rng,
    now: u64,
    seq: u64,
    events: BinaryHeap<Reverse<(u64, u64, usize)>>,
    slab: BTreeMap<usize, Event>,
    next_id: usize,
    peers: BTreeMap<Sid, Peer>,
    verifier: QuorumVerifier,
    /// Partition component of each sid.
    component: BTreeMap<Sid, u8>,
    in_flight: BTreeMap<(Sid, Sid), u32>,
    drop_p: f64,
    dup_p: f64,
    max_delay: u64,
    healed_at: Option<u64>,
    regime: Regime,
    /// (sid, election epoch, decided vote) for every decision.
    decisions: Vec<(Sid, u64, ServerState, Vote)>,
    stable_since: Option<u64>,
    /// Pending ticks, so that each (peer, time) is scheduled once.
    ticks: std::collections::BTreeSet<(Sid, u64)>,
}

const LIVENESS_BOUND_MS: u64 = 180_000;
const STABLE_FOR_MS: u64 = 5_000;
const ROLE_GRACE_MS: u64 = 2_000;
const ROLE_CHECK_MS: u64 = 500;
/// Events one seed may take; a run beyond it is a failure (a storm).
const EVENT_BUDGET: u64 = 2_000_000;

impl Sim {
    fn new(seed: u64, trace: bool) -> Sim {
        let mut rng = Rng(seed ^ 0x5eed_e1ec_7104_0000);
        let (voters, observers) = match seed % 4 {
            0 => (3, 0),
            1 => (4, 0),
            2 => (5, 0),
            _ => (3, 1),
        };
        let regime = match (seed / 4) % 3 {
            0 => Regime::Timely,
            1 => Regime::Chaos,
            _ => Regime::ChaosOneDown,
        };
        let verifier = QuorumVerifier::local(voters, observers);
        let mut peers = BTreeMap::new();
        for m in verifier.members() {
            let epoch = rng.range(0, 2) as i64;
            let zxid = make_zxid(epoch, rng.range(0, 2) as i64);
            peers.insert(
                m.sid,
                Peer {
                    sid: m.sid,
                    learner_type: m.learner_type,
                    election: Election::new(m.sid, m.learner_type, verifier.clone()),
                    up: false,
                    dead: false,
                    incarnation: 0,
                    zxid,
                    epoch,
                    decided_at: None,
                    start_at: 0,
                },
            );
        }
        let mut sim = Sim {
            trace,
            rng,
            now: 0,
            seq: 0,
            events: BinaryHeap::new(),
            slab: BTreeMap::new(),
            next_id: 0,
            component: peers.keys().map(|s| (*s, 0)).collect(),
            peers,
            verifier,
            in_flight: BTreeMap::new(),
            drop_p: 0.0,
            dup_p: 0.05,
            max_delay: 100,
            healed_at: None,
            regime,
            decisions: Vec::new(),
            stable_since: None,
            ticks: Default::default(),
        };
        let sids: Vec<Sid> = sim.peers.keys().copied().collect();
        if regime == Regime::ChaosOneDown {
            let victim = sids[sim.rng.range(0, voters as u64 - 1) as usize];
            sim.peers.get_mut(&victim).unwrap().dead = true;
        }
        for sid in sids {
            let at = sim.rng.range(0, 50);
            sim.peers.get_mut(&sid).unwrap().start_at = at;
            sim.schedule(at, Event::Start(sid));
        }
        if regime == Regime::Timely {
            sim.healed_at = Some(0);
        } else {
            sim.drop_p = sim.rng.range(0, 30) as f64 / 100.0;
            // Duplicates no likelier than drops: an observer whose round is
            // ahead of looking voters ping-pongs with them (as Apache's
            // WorkerReceivers do), and each duplicate starts another such
            // chain; with dup ≤ drop the chains die out.
            sim.dup_p = sim.rng.range(0, (sim.drop_p * 100.0) as u64) as f64 / 100.0;
            sim.max_delay = sim.rng.range(100, 1_000);
            sim.schedule(0, Event::Chaos);
            let heal = sim.rng.range(1_000, 15_000);
            sim.schedule(heal, Event::Heal);
        }
        sim
    }

    fn schedule(&mut self, at: u64, e: Event) {
        let id = self.next_id;
        self.next_id += 1;
        self.seq += 1;
        self.slab.insert(id, e);
        self.events.push(Reverse((at, self.seq, id)));
    }

    fn reachable(&self, a: Sid, b: Sid) -> bool {
        let (pa, pb) = (&self.peers[&a], &self.peers[&b]);
        pa.up && pb.up && self.component[&a] == self.component[&b]
    }

    fn run(&mut self) -> Result<(), String> {
        let mut budget = EVENT_BUDGET;
        while let Some(Reverse((at, _, id))) = self.events.pop() {
            budget -= 1;
            if budget == 0 {
                return Err(format!(
                    "over {EVENT_BUDGET} events at {} ms: {}",
                    at,
                    self.describe()
                ));
            }
            self.now = at;
            let e = self.slab.remove(&id).unwrap();
            self.step(e)?;
            if let Some(h) = self.healed_at {
                if let Some(since) = self.stable_since {
                    if self.now >= since + STABLE_FOR_MS {
                        return Ok(());
                    }
                }
                if self.now > h + LIVENESS_BOUND_MS {
                    return Err(format!(
                        "no stable leader {} ms after the heal: {}",
                        LIVENESS_BOUND_MS,
                        self.describe()
                    ));
                }
            }
        }
        Err("ran out of events".into())
    }

    fn describe(&self) -> String {
        self.peers
            .values()
            .map(|p| {
                format!(
                    "{}:{}{:?}/{:?}@{}",
                    p.sid,
                    if p.up { "" } else { "down " },
                    p.election.state(),
                    p.election.current_vote().map(|v| v.leader),
                    p.election.logical_clock()
                )
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    fn step(&mut self, e: Event) -> Result<(), String> {
        match e {
            Event::Start(sid) | Event::Restart(sid) => {
                let p = self.peers.get_mut(&sid).unwrap();
                if p.dead || p.up {
                    return Ok(());
                }
                p.up = true;
                p.incarnation += 1;
                p.decided_at = None;
                p.election = Election::new(sid, p.learner_type, self.verifier.clone());
                let mut out = Vec::new();
                let (z, ep) = (p.zxid, p.epoch);
                p.election.start(self.now, z, ep, &mut out);
                if self.trace {
                    eprintln!("{:>7} start {sid}", self.now);
                }
                self.apply(sid, out)?;
            }
            Event::Deliver {
                from,
                to,
                from_inc,
                to_inc,
                n,
            } => {
                if let Some(c) = self.in_flight.get_mut(&(from, to)) {
                    *c = c.saturating_sub(1);
                }
                let ok = self.reachable(from, to)
                    && self.peers[&from].incarnation == from_inc
                    && self.peers[&to].incarnation == to_inc;
                if !ok {
                    return Ok(());
                }
                if self.trace {
                    eprintln!("{:>7} {from}->{to} {:?} {:?}", self.now, n.state, n.vote);
                }
                let mut out = Vec::new();
                let p = self.peers.get_mut(&to).unwrap();
                p.election
                    .handle(self.now, ElectionInput::Received { from, n }, &mut out);
                self.apply(to, out)?;
            }
            Event::Tick(sid) => {
                self.ticks.remove(&(sid, self.now));
                if !self.peers[&sid].up {
                    return Ok(());
                }
                let have_delivered = self
                    .verifier
                    .voting_members()
                    .filter(|v| *v != sid)
                    .any(|v| self.in_flight.get(&(sid, v)).copied().unwrap_or(0) == 0);
                let mut out = Vec::new();
                let p = self.peers.get_mut(&sid).unwrap();
                p.election
                    .handle(self.now, ElectionInput::Tick { have_delivered }, &mut out);
                self.apply(sid, out)?;
            }
            Event::RoleCheck(sid) => self.role_check(sid)?,
            Event::Chaos => {
                if self.healed_at.is_some() {
                    return Ok(());
                }
                if self.rng.chance(0.5) {
                    for c in self.component.values_mut() {
                        *c = 0;
                    }
                } else {
                    let sids: Vec<Sid> = self.component.keys().copied().collect();
                    for s in sids {
                        let c = self.rng.range(0, 1) as u8;
                        self.component.insert(s, c);
                    }
                }
                if self.rng.chance(0.3) {
                    let sids: Vec<Sid> = self.peers.keys().copied().collect();
                    let victim = sids[self.rng.range(0, sids.len() as u64 - 1) as usize];
                    let p = self.peers.get_mut(&victim).unwrap();
                    if p.up {
                        p.up = false;
                        if self.trace {
                            eprintln!("{:>7} crash {victim}", self.now);
                        }
                        let back = self.now + self.rng.range(500, 4_000);
                        self.schedule(back, Event::Restart(victim));
                    }
                }
                let next = self.now + self.rng.range(1_000, 3_000);
                self.schedule(next, Event::Chaos);
            }
            Event::Heal => {
                if self.trace {
                    eprintln!("{:>7} heal", self.now);
                }
                self.healed_at = Some(self.now);
                self.drop_p = 0.0;
                self.dup_p = self.dup_p.min(0.02);
                self.max_delay = 100;
                for c in self.component.values_mut() {
                    *c = 0;
                }
                let sids: Vec<Sid> = self.peers.keys().copied().collect();
                for sid in sids {
                    self.schedule(self.now, Event::Restart(sid));
                }
            }
        }
        self.check_stable();
        Ok(())
    }

    /// Carries out one peer's outputs.
    fn apply(&mut self, sid: Sid, out: Vec<ElectionOutput>) -> Result<(), String> {
        for o in out {
            match o {
                ElectionOutput::Send { to, n } => self.send(sid, to, n),
                ElectionOutput::ConnectAll => {}
                ElectionOutput::Decided { state, vote } => {
                    if self.trace {
                        eprintln!("{:>7} {sid} decided {state:?} {vote:?}", self.now);
                    }
                    if !self.verifier.is_voter(vote.leader) {
                        return Err(format!("{sid} decided for non-voter {vote:?}"));
                    }
                    if (state == ServerState::Leading) != (vote.leader == sid) {
                        return Err(format!("{sid} decided {state:?} for {vote:?}"));
                    }
                    let ee = self.peers[&sid].election.logical_clock() as u64;
                    self.decisions.push((sid, ee, state, vote));
                    self.peers.get_mut(&sid).unwrap().decided_at = Some(self.now);
                    self.schedule(self.now + ROLE_GRACE_MS, Event::RoleCheck(sid));
                }
            }
        }
        if let Some(d) = self.peers[&sid].election.next_deadline_ms() {
            let at = d.max(self.now);
            if self.ticks.insert((sid, at)) {
                self.schedule(at, Event::Tick(sid));
            }
        }
        Ok(())
    }

    fn send(&mut self, from: Sid, to: Sid, n: Notification) {
        let from_inc = self.peers[&from].incarnation;
        let Some(target) = self.peers.get(&to) else {
            return;
        };
        // A peer not yet started is reached once it is: QuorumCnxManager
        // keeps the message queued and dials until it connects.
        let (to_inc, not_before) = if target.incarnation == 0 {
            (1, target.start_at + 1)
        } else {
            (target.incarnation, 0)
        };
        if from == to {
            // QuorumCnxManager loops a message to myself back at once.
            self.schedule(
                self.now,
                Event::Deliver {
                    from,
                    to,
                    from_inc,
                    to_inc,
                    n,
                },
            );
            return;
        }
        let copies = if self.rng.chance(self.dup_p) { 2 } else { 1 };
        for _ in 0..copies {
            if self.rng.chance(self.drop_p) {
                continue;
            }
            let delay = self.rng.range(1, self.max_delay);
            *self.in_flight.entry((from, to)).or_default() += 1;
            self.schedule(
                (self.now + delay).max(not_before),
                Event::Deliver {
                    from,
                    to,
                    from_inc,
                    to_inc,
                    n: n.clone(),
                },
            );
        }
    }

    /// The modelled roles after a decision (see the module doc).
    fn role_check(&mut self, sid: Sid) -> Result<(), String> {
        let p = &self.peers[&sid];
        if !p.up || p.election.is_looking() || p.decided_at.is_none() {
            return Ok(());
        }
        let Some(vote) = p.election.current_vote() else {
            return Ok(());
        };
        let ok = match p.election.state() {
            ServerState::Leading => self.established(sid),
            _ => {
                let l = vote.leader;
                self.reachable(sid, l) && self.peers[&l].election.state() == ServerState::Leading
            }
        };
        // Two established leaders would share a voter: never.
        let leaders: Vec<Sid> = self
            .peers
            .values()
            .filter(|q| {
                q.up && q.election.state() == ServerState::Leading && self.established(q.sid)
            })
            .map(|q| q.sid)
            .collect();
        if leaders.len() > 1 {
            return Err(format!(
                "two established leaders {leaders:?}: {}",
                self.describe()
            ));
        }
        if ok {
            self.schedule(self.now + ROLE_CHECK_MS, Event::RoleCheck(sid));
        } else {
            if self.trace {
                eprintln!("{:>7} {sid} back to LOOKING", self.now);
            }
            let p = self.peers.get_mut(&sid).unwrap();
            p.decided_at = None;
            let (z, ep) = (p.zxid, p.epoch);
            let mut out = Vec::new();
            p.election.start(self.now, z, ep, &mut out);
            self.apply(sid, out)?;
        }
        Ok(())
    }

    /// Has leader `l` a quorum of voters reachable and following it?
    fn established(&self, l: Sid) -> bool {
        let following: Vec<Sid> = self
            .verifier
            .voting_members()
            .filter(|v| {
                *v == l
                    || (self.reachable(*v, l)
                        && self.peers[v].election.state() == ServerState::Following
                        && self.peers[v].election.current_vote().map(|c| c.leader) == Some(l))
            })
            .collect();
        self.peers[&l].up && self.verifier.contains_quorum(&following)
    }

    fn check_stable(&mut self) {
        let Some(h) = self.healed_at else { return };
        let up: Vec<&Peer> = self.peers.values().filter(|p| p.up).collect();
        let leader = up
            .iter()
            .find(|p| p.election.state() == ServerState::Leading)
            .map(|p| p.sid);
        let stable = self.now >= h
            && leader.is_some_and(|l| {
                up.iter().all(|p| {
                    let names = p.election.current_vote().map(|v| v.leader) == Some(l);
                    let want = if p.sid == l {
                        ServerState::Leading
                    } else if p.learner_type == LearnerType::Observer {
                        ServerState::Observing
                    } else {
                        ServerState::Following
                    };
                    names && p.election.state() == want && !p.election.is_looking()
                })
            });
        match (stable, self.stable_since) {
            (true, None) => self.stable_since = Some(self.now),
            (false, Some(_)) => self.stable_since = None,
            _ => {}
        }
    }

    /// The timely regime's checks on the decisions.
    fn check_decisions(&self) -> Result<(), String> {
        if self.regime != Regime::Timely {
            return Ok(());
        }
        let best = self
            .peers
            .values()
            .filter(|p| self.verifier.is_voter(p.sid))
            .map(|p| (p.epoch, p.zxid, p.sid))
            .max()
            .unwrap();
        for (sid, ee, _, vote) in &self.decisions {
            if vote.leader != best.2 || *ee != 1 {
                return Err(format!(
                    "{sid} decided {vote:?} in epoch {ee}; the maximum voter is {best:?}"
                ));
            }
        }
        if self.decisions.len() != self.peers.len() {
            return Err(format!(
                "{} decisions for {} peers",
                self.decisions.len(),
                self.peers.len()
            ));
        }
        Ok(())
    }
}

fn run_seed(seed: u64, trace: bool) -> Result<(Regime, usize), String> {
    let mut sim = Sim::new(seed, trace);
    sim.run()?;
    sim.check_decisions()?;
    Ok((sim.regime, sim.decisions.len()))
}

#[test]
fn simulated_ensembles_elect() {
    if let Ok(s) = std::env::var("ELECTION_SEED") {
        let seed: u64 = s.parse().expect("ELECTION_SEED is a number");
        if let Err(e) = run_seed(seed, true) {
            panic!("seed {seed}: {e}");
        }
        return;
    }
    let seeds: u64 = std::env::var("ELECTION_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(1000);
    let mut failures = Vec::new();
    let mut per_regime: BTreeMap<String, usize> = BTreeMap::new();
    for seed in 0..seeds {
        match run_seed(seed, false) {
            Ok((regime, _)) => *per_regime.entry(format!("{regime:?}")).or_default() += 1,
            Err(e) => failures.push(format!("seed {seed}: {e} (replay: ELECTION_SEED={seed})")),
        }
    }
    eprintln!("election simulation: {seeds} seeds, passed by regime {per_regime:?}");
    assert!(
        failures.is_empty(),
        "{} failing seeds:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn a_seed_replays_exactly() {
    let trace = |seed| {
        let mut sim = Sim::new(seed, false);
        let _ = sim.run();
        (sim.now, sim.decisions.clone(), sim.describe())
    };
    for seed in [5, 17, 42] {
        assert_eq!(trace(seed), trace(seed));
    }
}
