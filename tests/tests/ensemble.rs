//! Ensembles of real processes on 127.0.0.1 (`zk_tests::ensemble`): our
//! `zkserver`, Apache ZooKeeper 3.8.0, or both, three members (four or five
//! where named), with `tickTime=200`, `initLimit=10`, `syncLimit=5`.
//!
//! Every check of replicated state reads each member's whole tree over a
//! session of its own on that member alone, after a `sync`: every node but
//! the `/zookeeper` subtree, its data and full Stat (czxid, mzxid, pzxid,
//! ctime, mtime, version, cversion, aversion, ephemeralOwner, dataLength,
//! numChildren). All members must hold the identical tree, and it must be
//! exactly what the test's acknowledged writes made: every node written,
//! with the data, czxid, mzxid, version and ephemeral owner their replies
//! reported, nothing else, and nothing deleted or owned by a closed session.
//! A "batch" of writes is: persistent, sequential and ephemeral creates
//! (create2, Stat checked), setData with expected versions (and a stale
//! version refused with BadVersion, a repeated create with NodeExists), a
//! multi of two creates and a setData (all three with one zxid), and a
//! create + delete.
//!
//! - `three_ours_elect_replicate_and_survive_leader_kill`: 3 of ours elect
//!   one leader; a client on a follower writes a batch; every member holds
//!   it. SIGKILL the leader: the other two elect a new leader, the client's
//!   session resumes on them and its ephemerals are still there, every
//!   acknowledged write is on both, and another batch succeeds (its zxids
//!   in a newer epoch). The killed member restarts on its data directory,
//!   rejoins as a follower and holds every write. Closing the session
//!   removes its ephemerals everywhere.
//! - `four_ours_even_ensemble_survives_leader_kill`,
//!   `five_ours_elect_replicate_and_survive_leader_kill`: the same with 4
//!   (quorum 3) and 5 members, a client on every member writing.
//! - `probes_and_figures_follow_the_role`: a member alone (electing) is
//!   live but not ready on the admin API and `srvr` says it is not serving;
//!   once three elect it is ready; the leader's `srvr` Zxid carries its new
//!   epoch before any write, and `mntr` reports the Zab figures (peer state,
//!   quorum size, learners, synced followers) on the leader and a follower.
//! - `leader_serves_no_keeps_clients_on_followers`: with `leaderServes=no`
//!   no session can be made on the leader; a follower takes writes.
//! - `follower_far_behind_catches_up`: 3 of ours; 100 nodes written, then a
//!   follower is SIGKILLed; while it is down 1000 creates, 100 setData and
//!   50 deletes go through the other follower (more than the leader keeps
//!   in memory for a DIFF, 500 txns in 3.8.0); it restarts, rejoins as a
//!   follower, and every member holds the same tree.
//! - `leader_paused_loses_leadership_and_rejoins`: 3 of ours; a batch; the
//!   leader is SIGSTOPped until the other two have elected a new leader and
//!   taken a batch (in a newer epoch), which takes longer than syncLimit ×
//!   tickTime (1 s, asserted); SIGCONT: the old leader ends as a follower of
//!   the new one, holds every write, and a batch after that succeeds.
//! - `sessions_move_between_members`: 3 of ours; a session on follower A
//!   creates an ephemeral; its connection is dropped and the same session
//!   id and password resume on follower B (the ephemeral is still there,
//!   owned by it; B creates another), a wrong password is refused
//!   (SessionExpired) and does not end the session, then it resumes on the
//!   leader and is closed there: both ephemerals are gone on every member
//!   and resuming the closed session is refused.
//! - `mixed_two_ours_one_apache`, `mixed_one_ours_two_apache`: ours and
//!   Apache 3.8.0 in one ensemble (skipped, with the reason printed, when
//!   Apache's jars or `java` are missing): whoever is elected, a client on
//!   every member writes a batch; identical trees everywhere; SIGKILL the
//!   leader, re-election, every session resumes on a survivor, a batch per
//!   client (in a newer epoch), identical trees; the killed member restarts and rejoins as a
//!   follower with every write.
//! - `fresh_member_joins_by_snap` (3 of ours) and
//!   `mixed_fresh_ours_member_joins_apache_by_snap` (Apache members 1 and 2,
//!   ours 3): with `forceSnapshotSync=true` (the leader syncs every learner
//!   by SNAP), members 1 and 2 elect and take a batch; member 3 then starts
//!   on an empty data directory (no txn log yet, as a new or replaced
//!   server), must follow and hold every write; another batch; it restarts
//!   on what the SNAP left it and rejoins with every write.
//! - `rolling_migration_apache_to_ours`, `rolling_migration_ours_to_apache`:
//!   the operator's migration, one member at a time (followers first, the
//!   leader last): a member is SIGKILLed and started again as the other
//!   implementation on the same config and data directory (its snapshots,
//!   txn log and epoch files written by the other). After each step one
//!   leader and two followers serve, the client's session (connected to the
//!   ensemble throughout) resumes with its ephemerals, a batch succeeds, and
//!   every member holds the identical tree with every acknowledged write.
//!   Throughout, two more clients (`zk_tests::load`) write without pause:
//!   sequential creates and compare-and-set increments after synced reads;
//!   their sessions survive every step (only reconnects), every
//!   acknowledged write is present at the end, and their whole history is
//!   linearizable (`zk_tests::linearizability`).
//! - `apache_only_harness_sanity`: the harness against three Apache
//!   members: election, a batch, SIGSTOP/SIGCONT of the leader (it rejoins
//!   as a follower), SIGKILL of the new leader, restart, identical trees.
//!
//! With `ZK_ENSEMBLE_OURS_KIND=apache` the members the tests mean to be ours
//! run Apache instead: this checks the tests themselves against the
//! reference. The tests of this file run one at a time (a lock), as two
//! ensembles with 200 ms ticks on a small machine would starve each other.
//! A failure prints every member's mode and log tail and keeps the
//! ensemble's directory (printed).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::{Duration, Instant};
use zk_client::{op, Acl, Client, CreateMode, ErrorCode, OpResult};
use zk_tests::acked::{create_acked, create_base, create_numbered, Acked, MAX_LISTED};
use zk_tests::ensemble::{self, call, connect, reconnect, Ensemble, Kind, Mode, Tree};
use zk_tests::load::{self, Load};
use zk_tests::servers;

/// Election bound (JVM members need a few seconds to start).
const ELECTION_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a restarted or resumed member may take to follow again.
const REJOIN_TIMEOUT: Duration = Duration::from_secs(60);
/// How long a client may take to find a serving member.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(30);

static SERIAL: Mutex<()> = Mutex::new(());

/// The test's lock, or `None` (the reason printed) when its kinds cannot
/// run here.
fn setup(kinds: &[Kind]) -> Option<MutexGuard<'static, ()>> {
    let serial = serial();
    if let Some(why) = missing(kinds) {
        println!("skipped: {why}");
        return None;
    }
    Some(serial)
}

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

/// The kind of the members meant to be ours (see the module docs).
fn ours() -> Kind {
    match std::env::var("ZK_ENSEMBLE_OURS_KIND").as_deref() {
        Ok("apache") => {
            println!("ZK_ENSEMBLE_OURS_KIND=apache: running Apache where ours would run");
            Kind::Apache
        }
        _ => Kind::Ours,
    }
}

/// Why a test with these kinds cannot run here, if it cannot.
fn missing(kinds: &[Kind]) -> Option<String> {
    if kinds.contains(&Kind::Apache) {
        if let Some(why) = servers::reference_missing() {
            return Some(why);
        }
    }
    if kinds.contains(&Kind::Ours) {
        if let Err(why) = servers::our_binary() {
            return Some(why);
        }
    }
    None
}

// ---------------------------------------------------------------------------
// Writes.

fn err_is(result: &Result<impl std::fmt::Debug, zk_client::ZkError>, code: ErrorCode) -> bool {
    matches!(result, Err(e) if e.is(code))
}

/// One batch of writes through `c` under `base` (see the module docs):
/// `n` persistent and `n` sequential nodes, two ephemerals, setData with
/// versions, a multi, a create + delete; all recorded in `exp`.
async fn write_batch(
    c: &Client,
    base: &str,
    tag: &str,
    n: usize,
    exp: &mut Acked,
) -> Result<(), String> {
    let acl = Acl::open_unsafe();
    let sid = c.session_id();
    create_numbered(c, base, tag, n, exp).await?;
    for i in 0..2 {
        let path = format!("{base}/{tag}-e{i}");
        let data = format!("{tag}-e{i}");
        let (p, stat) = create_acked(c, &path, data.as_bytes(), CreateMode::Ephemeral, exp).await?;
        if stat.ephemeral_owner != sid {
            return Err(format!(
                "ephemeral {p}: owner {:#x}, session {sid:#x}",
                stat.ephemeral_owner
            ));
        }
    }
    for i in 0..n {
        let path = format!("{base}/{tag}-p{i}");
        let rounds = if i % 2 == 0 { 2 } else { 1 };
        for v in 0..rounds {
            let data = format!("{tag}-p{i}-v{}", v + 1);
            let stat = call(
                &format!("setData {path} version {v}"),
                c.set_data(&path, data.as_bytes(), v),
            )
            .await?;
            exp.set(&path, data.as_bytes(), &stat)?;
        }
    }
    if n > 0 {
        let path = format!("{base}/{tag}-p0");
        let stale = tokio::time::timeout(ensemble::OP_TIMEOUT, c.set_data(&path, &b"stale"[..], 0))
            .await
            .map_err(|_| format!("setData {path} (stale version): no reply"))?;
        if !err_is(&stale, ErrorCode::BadVersion) {
            return Err(format!(
                "setData {path} with a stale version: {stale:?}, not BadVersion"
            ));
        }
        let again = tokio::time::timeout(
            ensemble::OP_TIMEOUT,
            c.create2(&path, &b"again"[..], &acl, CreateMode::Persistent),
        )
        .await
        .map_err(|_| format!("create {path} again: no reply"))?;
        if !err_is(&again, ErrorCode::NodeExists) {
            return Err(format!("create {path} again: {again:?}, not NodeExists"));
        }
    }
    // A multi: two creates and a setData, one txn.
    let (ma, mb, mset) = (
        format!("{base}/{tag}-ma"),
        format!("{base}/{tag}-mb"),
        format!("{base}/{tag}-mset"),
    );
    let (_, st) = call(
        &format!("create {mset}"),
        c.create2(&mset, &b"0"[..], &acl, CreateMode::Persistent),
    )
    .await?;
    exp.created(&mset, b"0", &st)?;
    let results = call(
        "multi",
        c.multi(vec![
            op::create(&ma, &b"a"[..], &acl, CreateMode::Persistent),
            op::create(&mb, &b"b"[..], &acl, CreateMode::Persistent),
            op::set_data(&mset, &b"1"[..], 0),
        ]),
    )
    .await?;
    let ss = match results.as_slice() {
        [OpResult::Create { path: pa }, OpResult::Create { path: pb }, OpResult::SetData { stat }]
            if *pa == ma && *pb == mb =>
        {
            stat.clone()
        }
        other => return Err(format!("multi results {other:?}")),
    };
    let sa = call("exists (multi a)", c.exists(&ma, false))
        .await?
        .ok_or("multi node a missing right after the multi")?;
    let sb = call("exists (multi b)", c.exists(&mb, false))
        .await?
        .ok_or("multi node b missing right after the multi")?;
    if sa.czxid != sb.czxid || sa.czxid != ss.mzxid {
        return Err(format!(
            "multi not one txn: czxid {:#x} / {:#x}, setData mzxid {:#x}",
            sa.czxid, sb.czxid, ss.mzxid
        ));
    }
    exp.created(&ma, b"a", &sa)?;
    exp.created(&mb, b"b", &sb)?;
    exp.set(&mset, b"1", &ss)?;
    // Create and delete.
    let del = format!("{base}/{tag}-del");
    let (_, st) = call(
        &format!("create {del}"),
        c.create2(&del, &b"x"[..], &acl, CreateMode::Persistent),
    )
    .await?;
    exp.created(&del, b"x", &st)?;
    call(&format!("delete {del}"), c.delete(&del, 0)).await?;
    exp.removed(&del);
    Ok(())
}

// ---------------------------------------------------------------------------
// Checks.

/// Every member in `sids`, read after a `sync`, holds the same tree, and it
/// is exactly what `exp` says. Returns that tree.
async fn check_replicas(ens: &mut Ensemble, sids: &[u64], exp: &Acked, when: &str) -> Tree {
    let started = Instant::now();
    let mut trees: Vec<(u64, Tree)> = Vec::new();
    for &sid in sids {
        let result = ensemble::synced_tree(ens.client_addr(sid), CONNECT_TIMEOUT).await;
        let tree = ens.check(&format!("{when}: reading member {sid}"), result);
        trees.push((sid, tree));
    }
    let (first_sid, first) = &trees[0];
    for (sid, tree) in &trees[1..] {
        let diff = diff_trees_of(*first_sid, first, *sid, tree);
        if !diff.is_empty() {
            ens.fail(&format!(
                "{when}: members {first_sid} and {sid} differ:\n  {}",
                diff.join("\n  ")
            ));
        }
    }
    if let Err(e) = exp.check(first) {
        ens.fail(&format!("{when}: member {first_sid}: {e}"));
    }
    println!(
        "{when}: members {sids:?} hold the same {} nodes, as acknowledged ({:.1}s to read)",
        first.len(),
        started.elapsed().as_secs_f64()
    );
    trees.swap_remove(0).1
}

fn diff_trees_of(a: u64, ta: &Tree, b: u64, tb: &Tree) -> Vec<String> {
    ensemble::diff_trees(
        &format!("member {a}"),
        ta,
        &format!("member {b}"),
        tb,
        MAX_LISTED,
    )
}

fn leader(ens: &mut Ensemble, when: &str) -> u64 {
    let r = ens.wait_for_leader(ELECTION_TIMEOUT);
    ens.check(&format!("{when}: election"), r)
}

fn followers(ens: &Ensemble, leader: u64) -> Vec<u64> {
    ens.sids().into_iter().filter(|&s| s != leader).collect()
}

/// Waits until `sid` follows and the ensemble's leader is `leader`.
fn rejoined(ens: &mut Ensemble, sid: u64, want_leader: u64, when: &str) {
    let r = ens.wait_for_mode(sid, Mode::Follower, REJOIN_TIMEOUT);
    ens.check(&format!("{when}: member {sid} following"), r);
    let now = leader(ens, when);
    if now != want_leader {
        ens.fail(&format!(
            "{when}: member {sid} rejoined, but the leader is now {now}, not {want_leader}"
        ));
    }
}

async fn client_on(ens: &mut Ensemble, sid: u64, when: &str) -> Client {
    let r = connect(&ens.connect_string(sid), CONNECT_TIMEOUT).await;
    ens.check(&format!("{when}: a client on member {sid}"), r)
}

async fn resume(ens: &mut Ensemble, c: &Client, when: &str) {
    let r = reconnect(c, CONNECT_TIMEOUT).await;
    ens.check(&format!("{when}: session resumes"), r);
}

async fn batch(ens: &mut Ensemble, c: &Client, base: &str, tag: &str, n: usize, exp: &mut Acked) {
    let started = Instant::now();
    let r = write_batch(c, base, tag, n, exp).await;
    ens.check(&format!("writes {tag}"), r);
    println!(
        "batch {tag}: {} nodes expected now ({:.2}s)",
        exp.len(),
        started.elapsed().as_secs_f64()
    );
}

async fn close(ens: &mut Ensemble, c: &Client, exp: &mut Acked, when: &str) {
    let r = call("closeSession", c.close()).await;
    ens.check(when, r);
    exp.session_closed(c.session_id());
}

/// Writes acknowledged under a newly elected leader carry a higher epoch
/// (zxid >> 32) than every write before the election.
fn new_epoch(ens: &mut Ensemble, before: i64, exp: &Acked, when: &str) {
    let after = exp.max_zxid();
    if after >> 32 <= before >> 32 {
        ens.fail(&format!(
            "{when}: last zxid {after:#x} is not in a newer epoch than {before:#x}"
        ));
    }
    println!("{when}: epoch {} -> {}", before >> 32, after >> 32);
}

fn done(name: &str, started: Instant) {
    println!("{name}: passed in {:.1}s", started.elapsed().as_secs_f64());
}

// ---------------------------------------------------------------------------
// Scenarios.

/// Replaces every member of a `from` ensemble by a `to` member on the same
/// data directory, followers first, writing and checking after each step.
fn rolling_migration(name: &str, from: Kind, to: Kind) {
    let started = Instant::now();
    let rt = runtime();
    let mut ens = Ensemble::start(name, &[from; 3]);
    rt.block_on(async {
        let mut exp = Acked::default();
        let first = leader(&mut ens, "start");
        let on = followers(&ens, first)[0];
        let c = client_on(&mut ens, on, "start").await;
        let r = create_base(&c, "/roll", &mut exp).await;
        ens.check("create /roll", r);
        batch(&mut ens, &c, "/roll", "before", 5, &mut exp).await;
        // Continuous load through the whole migration: two writers on
        // sessions of their own, connected to the ensemble, resuming on
        // another member when theirs goes away.
        let load = Load {
            counter: "/roll-counter".to_string(),
            seq_base: "/roll-seq".to_string(),
            op_timeout: Duration::from_secs(5),
            connect_timeout: CONNECT_TIMEOUT,
            max_ops: 20_000,
            pause: Duration::from_millis(20),
        };
        for (path, data) in [(&load.seq_base, "base"), (&load.counter, "0")] {
            let r = call(
                &format!("create {path}"),
                c.create2(
                    path,
                    data.as_bytes(),
                    &Acl::open_unsafe(),
                    CreateMode::Persistent,
                ),
            )
            .await;
            ens.check("the load's nodes", r);
        }
        let stop = Arc::new(AtomicBool::new(false));
        let deadline = Instant::now() + Duration::from_secs(300);
        let sids = ens.sids();
        let writers: Vec<_> = (1..=2u64)
            .map(|i| {
                let cs = ens.connect_string(sids[i as usize % sids.len()]);
                tokio::spawn(load::writer(i, cs, load.clone(), stop.clone(), deadline))
            })
            .collect();
        let all = ens.sids();
        loaded_replicas(&mut ens, &all, &exp, &load, "before the migration", false).await;
        let mut order = followers(&ens, first);
        order.push(first);
        for (step, &sid) in order.iter().enumerate() {
            let when = format!("step {}: member {sid} now {}", step + 1, to.name());
            ens.kill(sid);
            ens.set_kind(sid, to);
            ens.start_member(sid);
            println!("{when}");
            let now = leader(&mut ens, &when);
            let want = if sid == now {
                Mode::Leader
            } else {
                Mode::Follower
            };
            let r = ens.wait_for_mode(sid, want, REJOIN_TIMEOUT);
            ens.check(&format!("{when}: member {sid} serving"), r);
            resume(&mut ens, &c, &when).await;
            let tag = format!("step{}", step + 1);
            batch(&mut ens, &c, "/roll", &tag, 5, &mut exp).await;
            loaded_replicas(&mut ens, &all, &exp, &load, &when, false).await;
        }
        stop.store(true, Ordering::Relaxed);
        let mut logs = Vec::new();
        for h in writers {
            match tokio::time::timeout(Duration::from_secs(60), h).await {
                Ok(Ok(log)) => logs.push(log),
                Ok(Err(e)) => ens.fail(&format!("a writer task: {e}")),
                Err(_) => ens.fail("a writer did not stop within 60 s"),
            }
        }
        let violations: Vec<&String> = logs.iter().flat_map(|l| &l.violations).collect();
        if !violations.is_empty() {
            ens.fail(&format!("writers saw: {violations:?}"));
        }
        close(&mut ens, &c, &mut exp, "closing the writer").await;
        let tree = loaded_replicas(&mut ens, &all, &exp, &load, "after the migration", true).await;
        let checked = load::check_tree(&tree, &logs, &load).and_then(|t| {
            Ok(format!(
                "{t}; {}",
                load::check_history(&tree, &logs, &load)?
            ))
        });
        match checked {
            Ok(summary) => println!("load during the migration: {summary}"),
            Err(e) => ens.fail(&format!("load during the migration: {e}")),
        }
        for log in &logs {
            println!(
                "writer {}: {} creates and {} increments acknowledged, {} calls without an \
                 answer (then a reconnect), {} sessions",
                log.id,
                log.creates.len(),
                log.counter.len(),
                log.failures,
                log.sessions
            );
            if log.sessions != 1 {
                ens.fail(&format!(
                    "writer {}: its session ended during the migration ({} sessions)",
                    log.id, log.sessions
                ));
            }
        }
    });
    drop(ens);
    done(name, started);
}

/// [`check_replicas`] while the background load writes: every member
/// holds the identical tree outside the load's paths (inside them members
/// may differ by the load's newest writes until it stops: with `whole`,
/// once it has, the whole trees are compared), as `exp` says.
async fn loaded_replicas(
    ens: &mut Ensemble,
    sids: &[u64],
    exp: &Acked,
    load: &Load,
    when: &str,
    whole: bool,
) -> Tree {
    let outside = |t: &Tree| -> Tree {
        t.iter()
            .filter(|(p, _)| !p.starts_with(&load.seq_base) && **p != load.counter)
            .map(|(p, n)| (p.clone(), n.clone()))
            .collect()
    };
    let mut trees: Vec<(u64, Tree)> = Vec::new();
    for &sid in sids {
        let result = ensemble::synced_tree(ens.client_addr(sid), CONNECT_TIMEOUT).await;
        let tree = ens.check(&format!("{when}: reading member {sid}"), result);
        trees.push((sid, tree));
    }
    let first = outside(&trees[0].1);
    for (sid, tree) in &trees[1..] {
        let diff = diff_trees_of(trees[0].0, &first, *sid, &outside(tree));
        if !diff.is_empty() {
            ens.fail(&format!(
                "{when}: members {} and {sid} differ:\n  {}",
                trees[0].0,
                diff.join("\n  ")
            ));
        }
    }
    if let Err(e) = exp.check(&first) {
        ens.fail(&format!("{when}: member {}: {e}", trees[0].0));
    }
    if whole {
        for (sid, tree) in &trees[1..] {
            let diff = diff_trees_of(trees[0].0, &trees[0].1, *sid, tree);
            if !diff.is_empty() {
                ens.fail(&format!(
                    "{when}: members {} and {sid} differ in the load's nodes:\n  {}",
                    trees[0].0,
                    diff.join("\n  ")
                ));
            }
        }
    }
    println!(
        "{when}: members {sids:?} agree ({} nodes outside the load)",
        first.len()
    );
    trees.swap_remove(0).1
}

#[test]
fn rolling_migration_apache_to_ours() {
    let kinds = [Kind::Apache, ours()];
    let Some(_serial) = setup(&kinds) else {
        return;
    };
    rolling_migration("h-roll-to-ours", Kind::Apache, ours());
}

#[test]
fn rolling_migration_ours_to_apache() {
    let kinds = [Kind::Apache, ours()];
    let Some(_serial) = setup(&kinds) else {
        return;
    };
    rolling_migration("h-roll-to-apache", ours(), Kind::Apache);
}

/// Election, writes, leader SIGKILL, re-election, restart and rejoin; with
/// `through_all` a client on every member writes, else one on a follower.
fn elect_write_kill_rejoin(name: &str, kinds: &[Kind], through_all: bool) {
    let started = Instant::now();
    let rt = runtime();
    let mut ens = Ensemble::start(name, kinds);
    rt.block_on(async {
        let mut exp = Acked::default();
        let first = leader(&mut ens, "start");
        let writers: Vec<u64> = if through_all {
            ens.sids()
        } else {
            vec![followers(&ens, first)[0]]
        };
        let mut clients = Vec::new();
        for &sid in &writers {
            clients.push((sid, client_on(&mut ens, sid, "start").await));
        }
        let r = create_base(&clients[0].1, "/ens", &mut exp).await;
        ens.check("create /ens", r);
        for (sid, c) in &clients {
            batch(&mut ens, c, "/ens", &format!("w{sid}"), 10, &mut exp).await;
        }
        let all = ens.sids();
        check_replicas(&mut ens, &all, &exp, "after the first writes").await;

        ens.kill(first);
        println!("killed leader {first}");
        let second = leader(&mut ens, "after the leader's SIGKILL");
        assert_ne!(second, first, "the killed member cannot lead");
        for (_, c) in &clients {
            resume(&mut ens, c, "after the re-election").await;
        }
        let survivors = followers(&ens, first);
        check_replicas(&mut ens, &survivors, &exp, "after the re-election").await;
        let before = exp.max_zxid();
        for (sid, c) in &clients {
            batch(&mut ens, c, "/ens", &format!("after{sid}"), 5, &mut exp).await;
        }
        new_epoch(&mut ens, before, &exp, "writes under the new leader");
        check_replicas(&mut ens, &survivors, &exp, "writes under the new leader").await;

        ens.restart(first);
        rejoined(&mut ens, first, second, "restart of the old leader");
        check_replicas(&mut ens, &all, &exp, "after the old leader rejoined").await;

        for (_, c) in &clients {
            close(&mut ens, c, &mut exp, "closing the writers").await;
        }
        check_replicas(&mut ens, &all, &exp, "after the sessions closed").await;
    });
    drop(ens);
    done(name, started);
}

#[test]
fn three_ours_elect_replicate_and_survive_leader_kill() {
    let kinds = [ours(); 3];
    let Some(_serial) = setup(&kinds) else {
        return;
    };
    elect_write_kill_rejoin("a-kill-leader", &kinds, false);
}

#[test]
fn four_ours_even_ensemble_survives_leader_kill() {
    let kinds = [ours(); 4];
    let Some(_serial) = setup(&kinds) else {
        return;
    };
    // Quorum 3 of 4: with the leader down the other three still elect.
    elect_write_kill_rejoin("a4-kill-leader", &kinds, true);
}

#[test]
fn five_ours_elect_replicate_and_survive_leader_kill() {
    let kinds = [ours(); 5];
    let Some(_serial) = setup(&kinds) else {
        return;
    };
    elect_write_kill_rejoin("a5-kill-leader", &kinds, true);
}

/// Polls `probe` every 100 ms until it holds, for at most `limit`.
fn eventually(limit: Duration, mut probe: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + limit;
    for _ in 0..10_000 {
        if probe() {
            return true;
        }
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    false
}

fn http_status(port: u16, path: &str) -> u16 {
    servers::http_request(port, "GET", path).map_or(0, |r| r.status)
}

#[test]
fn probes_and_figures_follow_the_role() {
    let kinds = [ours(); 3];
    let Some(_serial) = setup(&kinds) else {
        return;
    };
    let mut ens = Ensemble::new("i-probes", &kinds, &[]);
    // Member 1 alone gets the admin API (the shared lines turn it off).
    let admin = servers::free_port();
    let cfg = ens.dir(1).join("zoo.cfg");
    let mut text = std::fs::read_to_string(&cfg).expect("zoo.cfg");
    text.push_str(&format!(
        "admin.enableServer=true\nadmin.serverAddress=127.0.0.1\nadmin.serverPort={admin}\n"
    ));
    std::fs::write(&cfg, text).expect("zoo.cfg");
    ens.start_member(1);
    // Alone it elects forever: alive, not ready, srvr says not serving.
    if !eventually(Duration::from_secs(30), || {
        http_status(admin, "/live") == 200
    }) {
        ens.fail("member 1's /live never answered 200");
    }
    assert_eq!(ens.mode(1), Mode::NotServing, "{}", ens.describe());
    assert_eq!(http_status(admin, "/ready"), 503, "ready while electing");
    ens.start_member(2);
    ens.start_member(3);
    let lead = leader(&mut ens, "all three");
    if !eventually(Duration::from_secs(30), || {
        http_status(admin, "/ready") == 200
    }) {
        ens.fail("member 1's /ready stayed 503 while it serves");
    }
    // A new leader reports its epoch as its zxid before any write.
    let zxid = ens.zxid(lead).unwrap_or(0);
    assert!(zxid >> 32 >= 1, "leader srvr Zxid {zxid:#x}");
    let mntr = servers::four_letter(ens.client_addr(lead), "mntr");
    for line in [
        "zk_server_state\tleader",
        "zk_peer_state\tleading - broadcast",
        "zk_quorum_size\t3",
        "zk_learners\t2",
        "zk_synced_followers\t2",
        "zk_synced_observers\t0",
    ] {
        assert!(
            mntr.lines().any(|l| l == line),
            "leader mntr lacks {line:?}:\n{mntr}"
        );
    }
    let follower = followers(&ens, lead)[0];
    let mntr = servers::four_letter(ens.client_addr(follower), "mntr");
    assert!(
        mntr.lines()
            .any(|l| l == "zk_peer_state\tfollowing - broadcast"),
        "follower mntr:\n{mntr}"
    );
    drop(ens);
}

#[test]
fn leader_serves_no_keeps_clients_on_followers() {
    let kinds = [ours(); 3];
    let Some(_serial) = setup(&kinds) else {
        return;
    };
    let rt = runtime();
    let mut ens = Ensemble::new("j-leader-serves-no", &kinds, &["leaderServes=no"]);
    for sid in ens.sids() {
        ens.start_member(sid);
    }
    let lead = leader(&mut ens, "start");
    let follower = followers(&ens, lead)[0];
    rt.block_on(async {
        let only_leader = ens.client_addr(lead).to_string();
        let refused = connect(&only_leader, Duration::from_secs(3)).await;
        if refused.is_ok() {
            ens.fail("a session was established on the leader with leaderServes=no");
        }
        let c = client_on(&mut ens, follower, "a follower").await;
        let r = call(
            "create",
            c.create2("/ls", b"x", &Acl::open_unsafe(), CreateMode::Persistent),
        )
        .await;
        ens.check("a write through a follower", r);
        let _ = call("close", c.close()).await;
    });
    drop(ens);
}

#[test]
fn follower_far_behind_catches_up() {
    let kinds = [ours(); 3];
    let Some(_serial) = setup(&kinds) else {
        return;
    };
    let started = Instant::now();
    let rt = runtime();
    let mut ens = Ensemble::start("b-far-behind", &kinds);
    rt.block_on(async {
        let mut exp = Acked::default();
        let lead = leader(&mut ens, "start");
        let f = followers(&ens, lead);
        let (behind, writer) = (f[0], f[1]);
        let c = client_on(&mut ens, writer, "start").await;
        let r = create_base(&c, "/far", &mut exp).await;
        ens.check("create /far", r);
        let r = create_many(&c, "/far/pre-", 100, &mut exp).await;
        ens.check("100 creates", r);
        let all = ens.sids();
        check_replicas(&mut ens, &all, &exp, "before the kill").await;

        ens.kill(behind);
        println!("killed follower {behind}");
        let t = Instant::now();
        let r = create_many(&c, "/far/n-", 1000, &mut exp).await;
        ens.check("1000 creates", r);
        for i in 0..100 {
            let path = format!("/far/pre-{i}");
            let data = format!("set-{i}");
            let r = call(
                &format!("setData {path}"),
                c.set_data(&path, data.as_bytes(), 0),
            )
            .await;
            let stat = ens.check("setData while a follower is down", r);
            let r = exp.set(&path, data.as_bytes(), &stat);
            ens.check("setData reply", r);
        }
        for i in (0..100).step_by(2) {
            let path = format!("/far/pre-{i}");
            let r = call(&format!("delete {path}"), c.delete(&path, 1)).await;
            ens.check("delete while a follower is down", r);
            exp.removed(&path);
        }
        println!(
            "1150 writes while member {behind} was down: {:.1}s",
            t.elapsed().as_secs_f64()
        );
        let up = [lead, writer];
        check_replicas(&mut ens, &up, &exp, "while the follower is down").await;

        ens.restart(behind);
        rejoined(&mut ens, behind, lead, "restart of the follower");
        check_replicas(&mut ens, &all, &exp, "after the follower caught up").await;
        close(&mut ens, &c, &mut exp, "closing the writer").await;
    });
    drop(ens);
    done("follower_far_behind_catches_up", started);
}

/// `count` persistent nodes `<prefix><i>` (data `<i>`), 100 requests in
/// flight at a time.
async fn create_many(
    c: &Client,
    prefix: &str,
    count: usize,
    exp: &mut Acked,
) -> Result<(), String> {
    let mut i = 0;
    while i < count {
        let end = (i + 100).min(count);
        let mut set = tokio::task::JoinSet::new();
        for k in i..end {
            let c = c.clone();
            let path = format!("{prefix}{k}");
            set.spawn(async move {
                let data = k.to_string();
                let r = call(
                    &format!("create {path}"),
                    c.create2(
                        &path,
                        data.as_bytes(),
                        &Acl::open_unsafe(),
                        CreateMode::Persistent,
                    ),
                )
                .await;
                (path, data, r)
            });
        }
        while let Some(joined) = set.join_next().await {
            let (path, data, r) = joined.map_err(|e| format!("create task: {e}"))?;
            let (p, stat) = r?;
            if p != path {
                return Err(format!("create {path} answered {p}"));
            }
            exp.created(&path, data.as_bytes(), &stat)?;
        }
        i = end;
    }
    Ok(())
}

#[test]
fn leader_paused_loses_leadership_and_rejoins() {
    let kinds = [ours(); 3];
    let Some(_serial) = setup(&kinds) else {
        return;
    };
    paused_leader("c-paused-leader", &kinds);
}

/// SIGSTOP the leader, re-election, writes, SIGCONT, the old leader follows.
fn paused_leader(name: &str, kinds: &[Kind]) {
    let started = Instant::now();
    let rt = runtime();
    let mut ens = Ensemble::start(name, kinds);
    rt.block_on(async {
        let mut exp = Acked::default();
        let first = leader(&mut ens, "start");
        let writer = followers(&ens, first)[0];
        let c = client_on(&mut ens, writer, "start").await;
        let r = create_base(&c, "/paused", &mut exp).await;
        ens.check("create /paused", r);
        batch(&mut ens, &c, "/paused", "before", 10, &mut exp).await;
        let all = ens.sids();
        check_replicas(&mut ens, &all, &exp, "before the pause").await;

        ens.pause(first);
        let paused_at = Instant::now();
        println!("SIGSTOP leader {first}");
        let second = leader(&mut ens, "while the leader is paused");
        assert_ne!(second, first, "a paused member cannot be the new leader");
        resume(&mut ens, &c, "while the leader is paused").await;
        let before = exp.max_zxid();
        batch(&mut ens, &c, "/paused", "during", 10, &mut exp).await;
        new_epoch(
            &mut ens,
            before,
            &exp,
            "writes while the old leader is paused",
        );
        let others = followers(&ens, first);
        check_replicas(&mut ens, &others, &exp, "while the old leader is paused").await;
        let limit = Duration::from_millis(ensemble::SYNC_LIMIT * ensemble::TICK_MS);
        assert!(
            paused_at.elapsed() > limit,
            "paused for less than syncLimit x tickTime"
        );

        ens.resume(first);
        println!(
            "SIGCONT old leader {first} after {:.1}s",
            paused_at.elapsed().as_secs_f64()
        );
        rejoined(&mut ens, first, second, "after SIGCONT");
        check_replicas(&mut ens, &all, &exp, "after the old leader rejoined").await;
        batch(&mut ens, &c, "/paused", "after", 3, &mut exp).await;
        check_replicas(&mut ens, &all, &exp, "writes after the rejoin").await;
        close(&mut ens, &c, &mut exp, "closing the writer").await;
    });
    drop(ens);
    done(name, started);
}

#[test]
fn sessions_move_between_members() {
    let kinds = [ours(); 3];
    let Some(_serial) = setup(&kinds) else {
        return;
    };
    let started = Instant::now();
    let rt = runtime();
    let mut ens = Ensemble::start("d-sessions-move", &kinds);
    rt.block_on(async {
        let mut exp = Acked::default();
        let lead = leader(&mut ens, "start");
        let f = followers(&ens, lead);
        let (a, b) = (f[0], f[1]);
        let acl = Acl::open_unsafe();

        // On follower A: the session and its first ephemeral.
        let ca = connect(&ens.client_addr(a).to_string(), CONNECT_TIMEOUT).await;
        let ca = ens.check("a client on member A", ca);
        let (id, password) = (ca.session_id(), ca.session_password());
        let r = create_base(&ca, "/moves", &mut exp).await;
        ens.check("create /moves", r);
        let r = call(
            "create /moves/eph-a",
            ca.create2("/moves/eph-a", &b"a"[..], &acl, CreateMode::Ephemeral),
        )
        .await;
        let (_, st) = ens.check("ephemeral on A", r);
        let r = exp.created("/moves/eph-a", b"a", &st);
        ens.check("ephemeral on A", r);
        let zxid = ca.last_zxid();
        drop(ca);
        println!("session {id:#x} created on member {a}; connection dropped");

        // Resumed on follower B.
        let cb = resume_on(&mut ens, b, id, &password, zxid).await;
        let r = call("sync", cb.sync("/")).await;
        ens.check("sync on B", r);
        let r = call("exists /moves/eph-a", cb.exists("/moves/eph-a", false)).await;
        match ens.check("exists on B", r) {
            Some(st) if st.ephemeral_owner == id => {}
            other => ens.fail(&format!(
                "after resuming on member {b}: /moves/eph-a is {other:?}, owner should be {id:#x}"
            )),
        }
        let r = call(
            "create /moves/eph-b",
            cb.create2("/moves/eph-b", &b"b"[..], &acl, CreateMode::Ephemeral),
        )
        .await;
        let (_, st) = ens.check("ephemeral on B", r);
        let r = exp.created("/moves/eph-b", b"b", &st);
        ens.check("ephemeral on B", r);
        let all = ens.sids();
        check_replicas(&mut ens, &all, &exp, "session moved to B").await;

        // A wrong password is refused and leaves the session alone.
        let mut wrong = password.to_vec();
        wrong[0] ^= 0xff;
        let refused = tokio::time::timeout(
            ensemble::OP_TIMEOUT,
            Client::builder(&ens.client_addr(lead).to_string())
                .session_timeout(ensemble::SESSION_TIMEOUT)
                .resume_session(id, wrong)
                .connect(),
        )
        .await;
        match refused {
            Ok(Err(zk_client::ZkError::SessionExpired)) => {}
            Ok(Ok(c)) => ens.fail(&format!(
                "a wrong password resumed session {:#x} on the leader",
                c.session_id()
            )),
            other => ens.fail(&format!(
                "a wrong password on the leader: {:?}, not SessionExpired",
                other.map(|r| r.map(|c| c.session_id()))
            )),
        }
        let r = call(
            "exists after a wrong password",
            cb.exists("/moves/eph-b", false),
        )
        .await;
        if ens.check("session B after a wrong password", r).is_none() {
            ens.fail("a refused wrong password removed the session's ephemeral");
        }
        let zxid = cb.last_zxid();
        drop(cb);

        // Resumed on the leader, then closed there.
        let cl = resume_on(&mut ens, lead, id, &password, zxid).await;
        for p in ["/moves/eph-a", "/moves/eph-b"] {
            let r = call(&format!("exists {p}"), cl.exists(p, false)).await;
            match ens.check("exists on the leader", r) {
                Some(st) if st.ephemeral_owner == id => {}
                other => ens.fail(&format!(
                    "after resuming on the leader {lead}: {p} is {other:?}"
                )),
            }
        }
        close(&mut ens, &cl, &mut exp, "closing the session on the leader").await;
        check_replicas(&mut ens, &all, &exp, "session closed").await;

        // The closed session cannot be resumed anywhere.
        for sid in all.clone() {
            let r = tokio::time::timeout(
                ensemble::OP_TIMEOUT,
                Client::builder(&ens.client_addr(sid).to_string())
                    .session_timeout(ensemble::SESSION_TIMEOUT)
                    .resume_session(id, password.clone())
                    .connect(),
            )
            .await;
            if !matches!(r, Ok(Err(zk_client::ZkError::SessionExpired))) {
                ens.fail(&format!(
                    "resuming closed session {id:#x} on member {sid}: {:?}, not SessionExpired",
                    r.map(|r| r.map(|c| c.session_id()))
                ));
            }
        }
    });
    drop(ens);
    done("sessions_move_between_members", started);
}

/// The session `id` resumed on member `sid` alone. A member behind the
/// client's last zxid refuses the handshake (closes the connection, as
/// Apache's "Refusing session request ... client has seen zxid" does) until
/// it has caught up: that is retried, within [`CONNECT_TIMEOUT`].
async fn resume_on(
    ens: &mut Ensemble,
    sid: u64,
    id: i64,
    password: &bytes::Bytes,
    last_zxid: i64,
) -> Client {
    let deadline = Instant::now() + CONNECT_TIMEOUT;
    let mut attempts = 0;
    let c = loop {
        attempts += 1;
        let r = tokio::time::timeout(
            ensemble::OP_TIMEOUT,
            Client::builder(&ens.client_addr(sid).to_string())
                .session_timeout(ensemble::SESSION_TIMEOUT)
                .resume_session(id, password.clone())
                .last_zxid_seen(last_zxid)
                .connect(),
        )
        .await;
        let why = match r {
            Ok(Ok(c)) => break c,
            Ok(Err(e @ zk_client::ZkError::ConnectFailed(_))) => e.to_string(),
            Ok(Err(e)) => ens.fail(&format!("resume session {id:#x} on member {sid}: {e}")),
            Err(_) => "no handshake".to_string(),
        };
        if Instant::now() > deadline || attempts >= 500 {
            ens.fail(&format!(
                "resume session {id:#x} on member {sid}: {why} ({attempts} attempts)"
            ));
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    if attempts > 1 {
        println!("session {id:#x}: member {sid} took {attempts} handshakes");
    }
    if c.session_id() != id || c.negotiated_timeout().is_zero() {
        ens.fail(&format!(
            "resume on member {sid}: session {:#x} timeout {:?}, asked {id:#x}",
            c.session_id(),
            c.negotiated_timeout()
        ));
    }
    println!("session {id:#x} resumed on member {sid}");
    c
}

#[test]
fn mixed_two_ours_one_apache() {
    let kinds = [ours(), ours(), Kind::Apache];
    let Some(_serial) = setup(&kinds) else {
        return;
    };
    elect_write_kill_rejoin("e-mixed-2ours", &kinds, true);
}

#[test]
fn mixed_one_ours_two_apache() {
    let kinds = [Kind::Apache, Kind::Apache, ours()];
    let Some(_serial) = setup(&kinds) else {
        return;
    };
    elect_write_kill_rejoin("e-mixed-1ours", &kinds, true);
}

/// Members 1 and 2 elect and take writes; member 3 starts on an empty data
/// directory and is synced by SNAP (`forceSnapshotSync=true`).
fn fresh_member_snap(name: &str, kinds: &[Kind]) {
    let started = Instant::now();
    let rt = runtime();
    let mut ens = Ensemble::new(name, kinds, &["forceSnapshotSync=true"]);
    ens.start_member(1);
    ens.start_member(2);
    rt.block_on(async {
        let mut exp = Acked::default();
        let lead = leader(&mut ens, "members 1 and 2");
        let c = client_on(&mut ens, 1, "members 1 and 2").await;
        let r = create_base(&c, "/fresh", &mut exp).await;
        ens.check("create /fresh", r);
        batch(&mut ens, &c, "/fresh", "two", 10, &mut exp).await;

        ens.start_member(3);
        println!("started member 3 on an empty data directory");
        rejoined(&mut ens, 3, lead, "fresh member 3");
        let all = ens.sids();
        check_replicas(&mut ens, &all, &exp, "after the fresh member's SNAP").await;
        batch(&mut ens, &c, "/fresh", "three", 5, &mut exp).await;
        check_replicas(&mut ens, &all, &exp, "writes after the SNAP").await;

        ens.restart(3);
        rejoined(&mut ens, 3, lead, "restart of member 3");
        check_replicas(&mut ens, &all, &exp, "after member 3 restarted").await;
        close(&mut ens, &c, &mut exp, "closing the writer").await;
    });
    drop(ens);
    done(name, started);
}

#[test]
fn fresh_member_joins_by_snap() {
    let kinds = [ours(); 3];
    let Some(_serial) = setup(&kinds) else {
        return;
    };
    fresh_member_snap("g-fresh-snap", &kinds);
}

#[test]
fn mixed_fresh_ours_member_joins_apache_by_snap() {
    let kinds = [Kind::Apache, Kind::Apache, ours()];
    let Some(_serial) = setup(&kinds) else {
        return;
    };
    fresh_member_snap("g-mixed-fresh-snap", &kinds);
}

#[test]
fn apache_only_harness_sanity() {
    let kinds = [Kind::Apache; 3];
    let Some(_serial) = setup(&kinds) else {
        return;
    };
    let started = Instant::now();
    let rt = runtime();
    let mut ens = Ensemble::start("f-apache", &kinds);
    rt.block_on(async {
        let mut exp = Acked::default();
        let first = leader(&mut ens, "start");
        for sid in ens.sids() {
            let want = if sid == first { "LEADING" } else { "FOLLOWING" };
            if !ens.log(sid).contains(want) {
                ens.fail(&format!("member {sid}'s log does not say {want}"));
            }
            if ens.zxid(sid).is_none() {
                ens.fail(&format!("member {sid}: no Zxid in srvr"));
            }
        }
        let writer = followers(&ens, first)[0];
        let c = client_on(&mut ens, writer, "start").await;
        let r = create_base(&c, "/sanity", &mut exp).await;
        ens.check("create /sanity", r);
        batch(&mut ens, &c, "/sanity", "one", 5, &mut exp).await;
        let all = ens.sids();
        check_replicas(&mut ens, &all, &exp, "after the first writes").await;

        // SIGSTOP: the paused member is skipped; the others re-elect.
        ens.pause(first);
        let second = leader(&mut ens, "leader paused");
        assert_ne!(second, first);
        assert_eq!(
            ens.mode(first),
            Mode::Unreachable,
            "a paused member is not asked"
        );
        resume(&mut ens, &c, "leader paused").await;
        batch(&mut ens, &c, "/sanity", "two", 5, &mut exp).await;
        ens.resume(first);
        rejoined(&mut ens, first, second, "after SIGCONT");

        // SIGKILL and restart.
        ens.kill(second);
        let third = leader(&mut ens, "leader killed");
        assert_ne!(third, second);
        resume(&mut ens, &c, "leader killed").await;
        batch(&mut ens, &c, "/sanity", "three", 5, &mut exp).await;
        ens.restart(second);
        rejoined(&mut ens, second, third, "restart");
        check_replicas(&mut ens, &all, &exp, "after pause, kill and restart").await;
        close(&mut ens, &c, &mut exp, "closing the writer").await;
        check_replicas(&mut ens, &all, &exp, "after the session closed").await;
    });
    drop(ens);
    done("apache_only_harness_sanity", started);
}
