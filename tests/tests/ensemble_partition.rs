//! Network partitions of a real ensemble (issue 7): every member is a
//! `zkserver` process (one test also runs Apache ZooKeeper 3.8.0) in a
//! network namespace of its own, all on one bridge (`zk_tests::netns`),
//! with `tickTime=200`, `initLimit=10`, `syncLimit=5`. A cut between two
//! members is a pair of blackhole routes in their namespaces: every packet
//! between them is dropped, as on a pulled cable, while the test's clients
//! (in a namespace of their own on the same bridge) still reach every
//! member. Nothing is configured in the host's namespace; every namespace
//! is created by the test (names unique per run) and deleted when it ends,
//! also on panic, after its members were SIGKILLed by pid.
//!
//! Replicated state is checked as in `ensemble.rs`: each member's whole
//! tree (data and full Stat of every node but `/zookeeper`), read over a
//! session of its own on that member alone after a `sync`, is identical on
//! every member and holds exactly the acknowledged writes: each node with
//! the data, czxid, mzxid and version its replies reported.
//!
//! - `isolated_leader_steps_down_and_majority_continues`: 3 members; the
//!   leader is cut off from both followers. It must stop serving (`srvr`:
//!   not serving) and the two others must elect a new leader, each within
//!   syncLimit × tickTime plus an election bound; a create sent to the old
//!   leader right after the cut and one sent after it stepped down are
//!   never acknowledged, and it hands out no new session; the majority
//!   accepts writes in a newer epoch. After healing, the old leader follows
//!   the new one and every member holds the identical tree with every
//!   acknowledged write, and not the create the isolated leader took (it
//!   never reached a quorum: it must have been truncated).
//! - `minority_follower_partition_then_heal`: 5 members; two followers are
//!   cut off from everyone. They stop serving; the leader keeps its quorum
//!   of three and its epoch, and takes writes; after healing the two follow
//!   the same leader again and hold the identical tree.
//! - `flapping_partitions_keep_acknowledged_writes`: 5 members, three
//!   clients writing sequential creates and compare-and-set increments of a
//!   counter (setData with the version read) while a seeded RNG cuts and
//!   heals random links (a pair, a member from all, the current leader from
//!   all, one cut healed, all healed) a bounded number of times. At the end, healed with one leader: every
//!   member holds the identical tree, every acknowledged create with its
//!   czxid, nothing that was never attempted and nothing twice; no counter
//!   value was acknowledged twice, acknowledged values have increasing
//!   mzxids, and the counter holds the last acknowledged value or a later
//!   one whose write was not acknowledged (its version equal to its
//!   value). The whole history (every synced read — `sync` then `getData`
//!   — and every CAS of the counter, with when each was invoked and
//!   answered) passes `zk_tests::linearizability`'s check, and acknowledged
//!   sequential numbers follow real-time order. The seed is printed; `ZK_PARTITION_SEED=<n>` replays the
//!   schedule of actions and hold times (not the timing of the servers, so
//!   "the leader" may be another member in a replay).
//! - `mixed_ensemble_isolated_leader_steps_down`: the first test with
//!   members 1 and 2 ours and 3 Apache, whichever of them leads (usually
//!   one of ours, as the JVM starts last; then Apache's member leads the
//!   majority and syncs our old leader back) — skipped, with the reason,
//!   when Apache's jars or `java` are missing.
//!
//! Every test skips, printing why, where network namespaces cannot be made
//! (not root, or `ip netns add` fails). Tests run one at a time (a lock).
//! A failure prints every member's mode and log tail plus the cut links,
//! and keeps the ensemble's directory (printed).

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use zk_client::{Acl, Client, CreateMode};
use zk_tests::acked::{create_base, create_numbered, Acked, MAX_LISTED};
use zk_tests::ensemble::{
    self, call, connect, reconnect, Ensemble, Kind, Mode, Placement, Tree, SYNC_LIMIT, TICK_MS,
};
use zk_tests::linearizability::{Cas, CasOutcome};
use zk_tests::load::{self, Load};
use zk_tests::netns::{self, Net};
use zk_tests::servers;

/// syncLimit × tickTime: how long a leader keeps leading without a quorum,
/// and a follower follows a silent leader.
const SYNC_BOUND: Duration = Duration::from_millis(SYNC_LIMIT * TICK_MS);
/// What a partition may take on top of [`SYNC_BOUND`] to settle: noticing,
/// leaving the old roles, an election (5 s is also Apache's connect
/// timeout between peers, which a blackholed peer runs into).
const ELECTION_BOUND: Duration = Duration::from_secs(12);
/// The first election (JVM members need a few seconds to start).
const START_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a healed member may take to follow again.
const REJOIN_TIMEOUT: Duration = Duration::from_secs(30);
/// How long a client may take to find a serving member.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

static SERIAL: Mutex<()> = Mutex::new(());

/// One ensemble at a time (a failed test poisons the lock; that is fine).
fn serial() -> MutexGuard<'static, ()> {
    SERIAL.lock().unwrap_or_else(|e| e.into_inner())
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime")
}

/// The namespaces for `kinds.len()` members, or `None` (with the reason
/// printed) when the test cannot run here.
fn setup(kinds: &[Kind]) -> Option<Net> {
    if let Some(why) = netns::unavailable() {
        println!("skipped: network namespaces unavailable: {why}");
        return None;
    }
    if kinds.contains(&Kind::Ours) {
        if let Err(why) = servers::our_binary() {
            println!("skipped: {why}");
            return None;
        }
    }
    if kinds.contains(&Kind::Apache) {
        if let Some(why) = servers::reference_missing() {
            println!("skipped: {why}");
            return None;
        }
    }
    let sids: Vec<u64> = (1..=kinds.len() as u64).collect();
    match Net::create(&sids) {
        Ok(net) => Some(net),
        Err(e) => panic!("creating the test's network namespaces: {e}"),
    }
}

/// Runs `body` on a thread in the client namespace of a fresh [`Net`],
/// then deletes the namespaces (also when `body` panics).
fn with_net(name: &str, kinds: &[Kind], body: impl FnOnce(&mut Net) + Send) {
    let started = Instant::now();
    let Some(mut net) = setup(kinds) else {
        return;
    };
    let client_ns = net.client_ns().to_string();
    netns::run_in(&client_ns, || body(&mut net));
    drop(net);
    println!("{name}: passed in {:.1}s", started.elapsed().as_secs_f64());
}

// ---------------------------------------------------------------------------
// An ensemble in namespaces.

/// An ensemble whose members run in the namespaces of `net`.
struct Part<'a> {
    ens: Ensemble,
    net: &'a mut Net,
}

impl<'a> Part<'a> {
    /// Starts every member in its namespace and checks that each pid the
    /// harness holds is the server itself, inside that namespace.
    fn start(name: &str, kinds: &[Kind], net: &'a mut Net) -> Part<'a> {
        let placements: Vec<Placement> = net
            .members()
            .iter()
            .map(|m| Placement {
                host: IpAddr::V4(m.addr),
                netns: Some(m.ns.clone()),
            })
            .collect();
        let ens = Ensemble::new_placed(name, kinds, &[], &placements);
        let mut p = Part { ens, net };
        for sid in p.ens.sids() {
            p.ens.start_member(sid);
        }
        for sid in p.ens.sids() {
            let pid = p.ens.pid(sid).expect("started member has a pid");
            let program = match p.ens.kind(sid) {
                Kind::Ours => "zkserver",
                Kind::Apache => "java",
            };
            let r = p.net.check_member_pid(sid, pid, program);
            p.check("member process", r);
        }
        p
    }

    fn fail(&mut self, msg: &str) -> ! {
        let cuts = self.net.describe_cuts();
        self.ens.fail(&format!("{msg}\n(cut links: {cuts})"))
    }

    fn check<T>(&mut self, what: &str, result: Result<T, String>) -> T {
        match result {
            Ok(v) => v,
            Err(e) => self.fail(&format!("{what}: {e}")),
        }
    }

    fn sids(&self) -> Vec<u64> {
        self.ens.sids()
    }

    fn others(&self, sid: u64) -> Vec<u64> {
        self.sids().into_iter().filter(|&s| s != sid).collect()
    }

    fn isolate(&mut self, sid: u64) {
        let r = self.net.isolate(sid);
        self.check(&format!("cutting member {sid} off"), r);
        println!(
            "cut member {sid} off (cut links: {})",
            self.net.describe_cuts()
        );
    }

    fn heal_all(&mut self) {
        let r = self.net.heal_all();
        self.check("healing every link", r);
        println!("healed every link");
    }

    fn leader(&mut self, when: &str, timeout: Duration) -> u64 {
        let r = self.ens.wait_for_leader(timeout);
        self.check(&format!("{when}: election"), r)
    }

    fn leader_among(&mut self, sids: &[u64], when: &str, timeout: Duration) -> u64 {
        let r = self.ens.wait_for_leader_among(sids, timeout);
        self.check(&format!("{when}: election among {sids:?}"), r)
    }

    fn wait_mode(&mut self, sid: u64, want: Mode, when: &str, timeout: Duration) {
        let r = self.ens.wait_for_mode(sid, want, timeout);
        self.check(when, r);
    }

    /// The member answers `srvr` with `want`, now.
    fn assert_mode(&mut self, sid: u64, want: Mode, when: &str) {
        let mode = self.ens.mode(sid);
        if mode != want {
            self.fail(&format!("{when}: member {sid} is {mode:?}, not {want:?}"));
        }
    }

    /// Healed member `sid` follows, and the leader is `want_leader`.
    fn rejoined(&mut self, sid: u64, want_leader: u64, when: &str) {
        self.wait_mode(sid, Mode::Follower, when, REJOIN_TIMEOUT);
        let now = self.leader(when, REJOIN_TIMEOUT);
        if now != want_leader {
            self.fail(&format!(
                "{when}: member {sid} rejoined, but the leader is now {now}, not {want_leader}"
            ));
        }
    }

    /// A session on `sid` (then the other members, in order).
    async fn client_on(&mut self, sid: u64, when: &str) -> Client {
        let cs = self.ens.connect_string(sid);
        let r = connect(&cs, CONNECT_TIMEOUT).await;
        self.check(&format!("{when}: a client on member {sid}"), r)
    }

    /// A session on `sid` alone.
    async fn client_only_on(&mut self, sid: u64, when: &str) -> Client {
        let addr = self.ens.client_addr(sid).to_string();
        let r = connect(&addr, CONNECT_TIMEOUT).await;
        self.check(&format!("{when}: a client on member {sid} alone"), r)
    }

    async fn resume(&mut self, c: &Client, when: &str) {
        let r = reconnect(c, CONNECT_TIMEOUT).await;
        self.check(&format!("{when}: session resumes"), r);
    }

    /// Every member's tree after a `sync` (a session on that member alone).
    async fn trees(&mut self, sids: &[u64], when: &str) -> Vec<(u64, Tree)> {
        let mut trees = Vec::new();
        for &sid in sids {
            let r = ensemble::synced_tree(self.ens.client_addr(sid), CONNECT_TIMEOUT).await;
            let tree = self.check(&format!("{when}: reading member {sid}"), r);
            trees.push((sid, tree));
        }
        trees
    }

    /// The members in `sids` hold one identical tree; returns it.
    async fn same_tree(&mut self, sids: &[u64], when: &str) -> Tree {
        let mut trees = self.trees(sids, when).await;
        let (first_sid, first) = &trees[0];
        for (sid, tree) in &trees[1..] {
            let diff = ensemble::diff_trees(
                &format!("member {first_sid}"),
                first,
                &format!("member {sid}"),
                tree,
                MAX_LISTED,
            );
            if !diff.is_empty() {
                let msg = format!(
                    "{when}: members {first_sid} and {sid} differ:\n  {}",
                    diff.join("\n  ")
                );
                self.fail(&msg);
            }
        }
        trees.swap_remove(0).1
    }

    /// [`same_tree`](Self::same_tree), and it is exactly what `acked` says.
    async fn check_replicas(&mut self, sids: &[u64], acked: &Acked, when: &str) {
        let started = Instant::now();
        let tree = self.same_tree(sids, when).await;
        if let Err(e) = acked.check(&tree) {
            self.fail(&format!("{when}: {e}"));
        }
        println!(
            "{when}: members {sids:?} hold the same {} nodes, as acknowledged ({:.1}s)",
            tree.len(),
            started.elapsed().as_secs_f64()
        );
    }
}

fn open() -> Vec<Acl> {
    Acl::open_unsafe()
}

/// Through `c` under `base`: `n` persistent creates, `n` sequential
/// creates, a setData (version 0) on each persistent node and a delete
/// (version 1) of the first one; all recorded in `acked`.
async fn write_round(
    c: &Client,
    base: &str,
    tag: &str,
    n: usize,
    acked: &mut Acked,
) -> Result<(), String> {
    create_numbered(c, base, tag, n, acked).await?;
    for i in 0..n {
        let path = format!("{base}/{tag}-p{i}");
        let data = format!("{tag}-p{i}-v1");
        let stat = call(
            &format!("setData {path} version 0"),
            c.set_data(&path, data.as_bytes(), 0),
        )
        .await?;
        acked.set(&path, data.as_bytes(), &stat)?;
    }
    if n > 0 {
        let path = format!("{base}/{tag}-p0");
        call(&format!("delete {path}"), c.delete(&path, 1)).await?;
        acked.removed(&path);
    }
    Ok(())
}

async fn round(p: &mut Part<'_>, c: &Client, base: &str, tag: &str, n: usize, acked: &mut Acked) {
    let started = Instant::now();
    let r = write_round(c, base, tag, n, acked).await;
    p.check(&format!("writes {tag}"), r);
    println!(
        "writes {tag}: acknowledged ({} nodes expected now, {:.2}s)",
        acked.len(),
        started.elapsed().as_secs_f64()
    );
}

fn epoch(zxid: i64) -> i64 {
    zxid >> 32
}

// ---------------------------------------------------------------------------
// 1 and 4: an isolated leader.

fn isolated_leader(name: &str, kinds: &[Kind]) {
    with_net(name, kinds, |net| {
        let rt = runtime();
        let mut p = Part::start(name, kinds, net);
        rt.block_on(isolated_leader_scenario(&mut p));
    });
}

async fn isolated_leader_scenario(p: &mut Part<'_>) {
    let all = p.sids();
    let mut acked = Acked::default();
    let old = p.leader("start", START_TIMEOUT);
    let majority = p.others(old);
    let w = p.client_on(majority[0], "start").await;
    let r = create_base(&w, "/part", &mut acked).await;
    p.check("create /part", r);
    round(p, &w, "/part", "pre", 5, &mut acked).await;
    // A session on the leader alone; it writes while the leader leads.
    let o = p.client_only_on(old, "start").await;
    round(p, &o, "/part", "old", 2, &mut acked).await;
    p.check_replicas(&all, &acked, "before the partition").await;
    let before = acked.max_zxid();

    let zxid_at_cut = p.ens.zxid(old).unwrap_or(0);
    let cut_at = Instant::now();
    p.isolate(old);
    // A create the isolated leader receives while it still believes it
    // leads: it can reach no quorum, so it must never be acknowledged.
    let phantom = "/part/phantom-inflight";
    let inflight = {
        let o = o.clone();
        tokio::spawn(async move {
            call(
                "create (sent to the isolated leader)",
                o.create2(phantom, &b"phantom"[..], &open(), CreateMode::Persistent),
            )
            .await
        })
    };
    acked.must_be_absent(
        phantom,
        "was only sent to the isolated leader (never acknowledged, no quorum)",
    );
    tokio::time::sleep(Duration::from_millis(200)).await;
    let handed_out = p.ens.zxid(old).unwrap_or(0);
    println!(
        "the isolated leader's last zxid {handed_out:#x} ({zxid_at_cut:#x} at the cut): {}",
        if handed_out > zxid_at_cut {
            "it proposed the create, which can reach no quorum"
        } else {
            "the create did not reach it as a proposal"
        }
    );
    p.wait_mode(
        old,
        Mode::NotServing,
        "the isolated leader stops serving",
        SYNC_BOUND + ELECTION_BOUND,
    );
    let stepped_down = cut_at.elapsed();
    let new = p.leader_among(
        &majority,
        "the majority elects a new leader",
        SYNC_BOUND + ELECTION_BOUND,
    );
    let elected = cut_at.elapsed();
    if new == old {
        p.fail("the isolated member leads the majority");
    }
    println!(
        "after the cut: member {old} stopped serving after {:.1}s, member {new} leads the \
         majority after {:.1}s (bound {:.1}s)",
        stepped_down.as_secs_f64(),
        elected.as_secs_f64(),
        (SYNC_BOUND + ELECTION_BOUND).as_secs_f64()
    );
    let outcome = match tokio::time::timeout(ensemble::OP_TIMEOUT * 2, inflight).await {
        Ok(Ok(r)) => r,
        Ok(Err(join)) => p.fail(&format!("the in-flight create's task: {join}")),
        Err(_) => p.fail("the in-flight create never ended"),
    };
    match outcome {
        Ok((path, stat)) => p.fail(&format!(
            "the isolated leader acknowledged create {path} (czxid {:#x})",
            stat.czxid
        )),
        Err(e) => println!("the create sent to the isolated leader failed, as it must: {e}"),
    }
    // After it stepped down: the same session's write fails (resuming it
    // there is refused too), and no new session is handed out.
    let later = "/part/phantom-after";
    acked.must_be_absent(later, "was only sent to the isolated, not serving member");
    let _ = tokio::time::timeout(ensemble::OP_TIMEOUT, o.reconnect()).await;
    match call(
        "create (sent to the stepped-down leader)",
        o.create2(later, &b"phantom"[..], &open(), CreateMode::Persistent),
    )
    .await
    {
        Ok((path, _)) => p.fail(&format!(
            "member {old}, cut off and not serving, acknowledged create {path}"
        )),
        Err(e) => println!("a create on the stepped-down leader failed, as it must: {e}"),
    }
    let addr = p.ens.client_addr(old).to_string();
    match connect(&addr, Duration::from_secs(2)).await {
        Ok(c) => {
            let id = c.session_id();
            p.fail(&format!(
                "member {old}, cut off and not serving, opened session {id:#x}"
            ))
        }
        Err(e) => println!("no new session on the stepped-down leader, as it must be: {e}"),
    }

    // The majority takes writes, in a newer epoch.
    p.resume(&w, "on the majority").await;
    round(p, &w, "/part", "during", 5, &mut acked).await;
    if epoch(acked.max_zxid()) <= epoch(before) {
        p.fail(&format!(
            "writes under the new leader: zxid {:#x} is not in a newer epoch than {before:#x}",
            acked.max_zxid()
        ));
    }
    p.assert_mode(old, Mode::NotServing, "while cut off");
    p.check_replicas(&majority, &acked, "the majority, during the partition")
        .await;

    p.heal_all();
    p.rejoined(old, new, "the old leader after healing");
    p.check_replicas(&all, &acked, "after healing").await;
    let back = p.client_only_on(old, "after healing").await;
    round(p, &back, "/part", "after", 3, &mut acked).await;
    p.check_replicas(&all, &acked, "writes through the old leader")
        .await;
    for c in [&w, &o, &back] {
        let _ = tokio::time::timeout(ensemble::OP_TIMEOUT, c.close()).await;
    }
}

#[test]
fn isolated_leader_steps_down_and_majority_continues() {
    let _serial = serial();
    isolated_leader("p1-isolated-leader", &[Kind::Ours; 3]);
}

#[test]
fn mixed_ensemble_isolated_leader_steps_down() {
    let _serial = serial();
    isolated_leader(
        "p4-mixed-isolated-leader",
        &[Kind::Ours, Kind::Ours, Kind::Apache],
    );
}

// ---------------------------------------------------------------------------
// 2: a minority of followers.

#[test]
fn minority_follower_partition_then_heal() {
    let _serial = serial();
    let name = "p2-minority";
    let kinds = [Kind::Ours; 5];
    with_net(name, &kinds, |net| {
        let rt = runtime();
        let mut p = Part::start(name, &kinds, net);
        rt.block_on(async {
            let p = &mut p;
            let all = p.sids();
            let mut acked = Acked::default();
            let lead = p.leader("start", START_TIMEOUT);
            let followers = p.others(lead);
            let (cut, writer) = (vec![followers[0], followers[1]], followers[2]);
            let majority: Vec<u64> = all.iter().copied().filter(|s| !cut.contains(s)).collect();
            let w = p.client_on(writer, "start").await;
            let r = create_base(&w, "/minor", &mut acked).await;
            p.check("create /minor", r);
            round(p, &w, "/minor", "pre", 5, &mut acked).await;
            p.check_replicas(&all, &acked, "before the partition").await;
            let before = acked.max_zxid();

            let cut_at = Instant::now();
            for &sid in &cut {
                p.isolate(sid);
            }
            for &sid in &cut {
                p.wait_mode(
                    sid,
                    Mode::NotServing,
                    &format!("cut-off follower {sid} stops serving"),
                    SYNC_BOUND + ELECTION_BOUND,
                );
            }
            println!(
                "followers {cut:?} stopped serving within {:.1}s of the cut",
                cut_at.elapsed().as_secs_f64()
            );
            let still = p.leader_among(&majority, "the majority", ELECTION_BOUND);
            if still != lead {
                p.fail(&format!(
                    "the majority's leader changed from {lead} to {still}, though it kept a quorum"
                ));
            }
            if !w.is_connected() {
                p.resume(&w, "on the majority").await;
            }
            round(p, &w, "/minor", "during", 20, &mut acked).await;
            if epoch(acked.max_zxid()) != epoch(before) {
                p.fail(&format!(
                    "the leader kept its quorum, yet the epoch moved: {before:#x} -> {:#x}",
                    acked.max_zxid()
                ));
            }
            for &sid in &cut {
                p.assert_mode(sid, Mode::NotServing, "while cut off");
            }
            p.check_replicas(&majority, &acked, "the majority, during the partition")
                .await;

            p.heal_all();
            for &sid in &cut {
                p.rejoined(sid, lead, &format!("follower {sid} after healing"));
            }
            p.check_replicas(&all, &acked, "after healing").await;
            let back = p.client_only_on(cut[0], "after healing").await;
            round(p, &back, "/minor", "after", 3, &mut acked).await;
            p.check_replicas(&all, &acked, "writes through a healed follower")
                .await;
            for c in [&w, &back] {
                let _ = tokio::time::timeout(ensemble::OP_TIMEOUT, c.close()).await;
            }
        });
    });
}

// ---------------------------------------------------------------------------
// 3: flapping links under load.

/// Cut/heal steps of the flapping test.
const FLAPS: usize = 16;
/// How long each step holds, in ms (uniform).
const HOLD_MS: std::ops::Range<u64> = 600..3000;
/// Writers.
const WRITERS: u64 = 3;
/// Operations per writer, at most.
const MAX_OPS: usize = 5000;
/// A writer's pause after each operation, so that writes go on through the
/// whole schedule (~40 per second and writer).
const WRITE_PAUSE: Duration = Duration::from_millis(25);
/// One call's bound while links flap.
const FLAP_OP_TIMEOUT: Duration = Duration::from_secs(5);
const COUNTER: &str = "/flap-counter";
const SEQ_BASE: &str = "/flap";

/// The flapping test's writers.
fn flap_load() -> Load {
    Load {
        counter: COUNTER.to_string(),
        seq_base: SEQ_BASE.to_string(),
        op_timeout: FLAP_OP_TIMEOUT,
        connect_timeout: CONNECT_TIMEOUT,
        max_ops: MAX_OPS,
        pause: WRITE_PAUSE,
    }
}

/// One step of the schedule: what it did. The RNG picks the action and
/// its members; "the leader" is whoever `srvr` says leads right then.
fn flap(p: &mut Part<'_>, rng: &mut StdRng) -> String {
    let sids = p.sids();
    let cuts = p.net.cuts();
    let roll = rng.gen_range(0..100);
    let (what, r) = if roll < 25 {
        let i = rng.gen_range(0..sids.len());
        let mut j = rng.gen_range(0..sids.len() - 1);
        if j >= i {
            j += 1;
        }
        let (a, b) = (sids[i].min(sids[j]), sids[i].max(sids[j]));
        (format!("cut {a}-{b}"), p.net.cut(a, b))
    } else if roll < 40 {
        let sid = sids[rng.gen_range(0..sids.len())];
        (format!("cut member {sid} off"), p.net.isolate(sid))
    } else if roll < 60 {
        let fallback = sids[rng.gen_range(0..sids.len())];
        let leader = sids
            .iter()
            .copied()
            .find(|&s| p.ens.mode(s) == Mode::Leader);
        match leader {
            Some(l) => (format!("cut the leader ({l}) off"), p.net.isolate(l)),
            None => (
                format!("cut member {fallback} off (no leader now)"),
                p.net.isolate(fallback),
            ),
        }
    } else if roll < 80 && !cuts.is_empty() {
        let (a, b) = cuts[rng.gen_range(0..cuts.len())];
        (format!("heal {a}-{b}"), p.net.heal(a, b))
    } else {
        ("heal all".to_string(), p.net.heal_all())
    };
    p.check(&what, r);
    what
}

#[test]
fn flapping_partitions_keep_acknowledged_writes() {
    let _serial = serial();
    let name = "p3-flapping";
    let kinds = [Kind::Ours; 5];
    let seed = match std::env::var("ZK_PARTITION_SEED") {
        Ok(s) => s
            .trim()
            .parse::<u64>()
            .unwrap_or_else(|e| panic!("ZK_PARTITION_SEED={s:?}: {e}")),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos() as u64)
            .unwrap_or(7),
    };
    println!("{name}: seed {seed} (replay the schedule with ZK_PARTITION_SEED={seed})");
    with_net(name, &kinds, |net| {
        let rt = runtime();
        let mut p = Part::start(name, &kinds, net);
        rt.block_on(async {
            let p = &mut p;
            let mut rng = StdRng::seed_from_u64(seed);
            let all = p.sids();
            p.leader("start", START_TIMEOUT);
            let c = p.client_on(all[0], "start").await;
            for (path, data) in [(SEQ_BASE, "base"), (COUNTER, "0")] {
                let r = call(
                    &format!("create {path}"),
                    c.create2(path, data.as_bytes(), &open(), CreateMode::Persistent),
                )
                .await;
                p.check("setup", r);
            }
            let _ = call("close", c.close()).await;

            let stop = Arc::new(AtomicBool::new(false));
            let deadline = Instant::now() + Duration::from_secs(90);
            let writers: Vec<_> = (0..WRITERS)
                .map(|i| {
                    let first = all[(i as usize * 2) % all.len()];
                    let cs = p.ens.connect_string(first);
                    tokio::spawn(load::writer(i + 1, cs, flap_load(), stop.clone(), deadline))
                })
                .collect();
            tokio::time::sleep(Duration::from_millis(500)).await;
            let flapping = Instant::now();
            for step in 0..FLAPS {
                let what = flap(p, &mut rng);
                let hold = rng.gen_range(HOLD_MS);
                println!(
                    "flap {step} at {:.1}s: {what}; cut: {}; holding {hold} ms; modes {}",
                    flapping.elapsed().as_secs_f64(),
                    p.net.describe_cuts(),
                    p.ens.modes()
                );
                tokio::time::sleep(Duration::from_millis(hold)).await;
            }
            p.heal_all();
            let lead = p.leader("after the last heal", SYNC_BOUND + ELECTION_BOUND * 2);
            println!(
                "flapping: {:.1}s; leader {lead} after healing",
                flapping.elapsed().as_secs_f64()
            );
            // Let the writers go on a moment on the healed ensemble.
            tokio::time::sleep(Duration::from_secs(1)).await;
            stop.store(true, Ordering::Relaxed);
            let mut logs = Vec::new();
            for h in writers {
                match tokio::time::timeout(Duration::from_secs(60), h).await {
                    Ok(Ok(log)) => logs.push(log),
                    Ok(Err(e)) => p.fail(&format!("a writer task: {e}")),
                    Err(_) => p.fail("a writer did not stop within 60 s"),
                }
            }
            // The healed ensemble takes writes: a create and an increment.
            let c = p.client_on(lead, "after healing").await;
            let mut last = load::WriterLog {
                id: 0,
                sessions: 1,
                ..load::WriterLog::default()
            };
            let r = call(
                "create after healing",
                c.create2(
                    &format!("{SEQ_BASE}/w0-"),
                    &b"w0-0"[..],
                    &open(),
                    CreateMode::PersistentSequential,
                ),
            )
            .await;
            let (path, stat) = p.check("after healing", r);
            last.creates.push((path, "w0-0".to_string(), stat.czxid));
            let r = call("getData counter", c.get_data(COUNTER, false)).await;
            let (_, stat) = p.check("after healing", r);
            let next = i64::from(stat.version) + 1;
            let invoked = Instant::now();
            let r = call(
                "increment after healing",
                c.set_data(COUNTER, next.to_string().as_bytes(), stat.version),
            )
            .await;
            let st = p.check("after healing", r);
            last.counter.push((next, st.mzxid));
            last.register.cas.push(Cas {
                from: stat.version,
                invoked,
                outcome: CasOutcome::Ok {
                    answered: Instant::now(),
                },
            });
            let _ = call("close", c.close()).await;
            logs.push(last);

            for log in &logs {
                println!(
                    "writer {}: {} creates and {} increments acknowledged, {} creates and {} \
                     increments unanswered, {} lost races, {} failures, {} sessions",
                    log.id,
                    log.creates.len(),
                    log.counter.len(),
                    log.maybe_creates.len(),
                    log.maybe_counter.len(),
                    log.lost_races,
                    log.failures,
                    log.sessions
                );
            }
            let violations: Vec<&String> = logs.iter().flat_map(|l| &l.violations).collect();
            if !violations.is_empty() {
                p.fail(&format!("writers saw: {violations:?} (seed {seed})"));
            }
            let lead_now = p.leader("before reading the trees", REJOIN_TIMEOUT);
            let tree = p.same_tree(&all, "after flapping").await;
            let load = flap_load();
            let checked = load::check_tree(&tree, &logs, &load)
                .and_then(|summary| {
                    // Nothing but the writers' nodes.
                    let prefix = format!("{SEQ_BASE}/");
                    let stray: Vec<&String> = tree
                        .keys()
                        .filter(|p| {
                            *p != "/" && *p != COUNTER && *p != SEQ_BASE && !p.starts_with(&prefix)
                        })
                        .collect();
                    match stray.is_empty() {
                        true => Ok(summary),
                        false => Err(format!("never written: {stray:?}")),
                    }
                })
                .and_then(|summary| {
                    let lin = load::check_history(&tree, &logs, &load)?;
                    Ok(format!("{summary}; {lin}"))
                });
            match checked {
                Ok(summary) => println!(
                    "after flapping (leader {lead_now}): members {all:?} hold the same {} \
                     nodes; {summary}",
                    tree.len()
                ),
                Err(e) => p.fail(&format!("after flapping (seed {seed}): {e}")),
            }
        });
    });
}
