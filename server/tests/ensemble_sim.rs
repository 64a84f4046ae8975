//! Seeded simulation of whole ensembles on one thread: every node a real
//! `quorum::peer::Peer` (real FastLeaderElection, real Zab, real request
//! processor) on simulated time, a seeded network (election messages
//! delayed, dropped, duplicated, reordered; quorum-port connections FIFO
//! and broken by drops and partitions, as TCP), a model disk per node
//! (durable log, an unsynced tail lost on crash, durable epoch files),
//! clients that create sessions, do sequential creates, compare-and-set
//! setData and sync+read, and reconnect elsewhere; faults: partitions,
//! crashes and restarts, leader kills. Invariants: at most one established
//! leader per epoch; logged txns at one zxid are the same txn everywhere;
//! equal tree digests at equal zxids; per-session FIFO replies; no
//! acknowledged write lost; after healing every node converges to one
//! tree. A failure prints its seed; `ENSEMBLE_SEED=<n>` replays it,
//! `ENSEMBLE_SEEDS=<n>` sets how many seeds each shape runs.

#[path = "ensemble_sim/client.rs"]
mod client;
#[path = "zab_sim/rng.rs"]
mod rng;
#[path = "ensemble_sim/world.rs"]
mod world;

use world::{SimConfig, World};

fn seeds(default: u64) -> Vec<u64> {
    if let Ok(s) = std::env::var("ENSEMBLE_SEED") {
        return vec![s.parse().expect("ENSEMBLE_SEED is a number")];
    }
    let n = std::env::var("ENSEMBLE_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default);
    (1..=n).collect()
}

fn run_shape(name: &str, sim: SimConfig, default_seeds: u64) {
    let mut acked = 0;
    let mut elections = 0;
    for seed in seeds(default_seeds) {
        let mut w = World::new(seed, sim);
        if let Err(e) = w.run() {
            panic!(
                "{name}: seed {seed} failed: {e}\n  replay: ENSEMBLE_SEED={seed} cargo test --release -p zk-server --test ensemble_sim -- --exact {name}"
            );
        }
        acked += w.acked_writes();
        elections += w.leaders_established;
    }
    eprintln!("{name}: acked writes {acked}, leaders established {elections}");
}

fn faulty(voters: usize, observers: usize) -> SimConfig {
    SimConfig {
        voters,
        observers,
        clients: 3,
        fault_ms: 6_000,
        // Longer than FastLeaderElection's longest notification interval
        // (60 s): a node whose notifications were lost during the faults
        // may have backed off that far, and this network does not model
        // QuorumCnxManager's re-send of the last message on reconnect, which
        // wakes such a node sooner in a real ensemble. With 8 s, four_nodes
        // seed 46 ended with one node still LOOKING (backed off, not stuck).
        quiet_ms: 70_000,
        faults: true,
    }
}

#[test]
fn three_nodes_without_faults_serve_writes_through_followers() {
    let sim = SimConfig {
        faults: false,
        ..faulty(3, 0)
    };
    for seed in seeds(20) {
        let mut w = World::new(seed, sim);
        w.run().unwrap_or_else(|e| panic!("seed {seed}: {e}"));
        assert!(
            w.acked_writes() > 20,
            "seed {seed}: acked {}",
            w.acked_writes()
        );
        assert_eq!(w.leaders_established, 1, "seed {seed}: one election");
    }
}

#[test]
fn three_nodes() {
    run_shape("three_nodes", faulty(3, 0), 100);
}

#[test]

fn four_nodes() {
    run_shape("four_nodes", faulty(4, 0), 100);
}

#[test]
fn five_nodes() {
    run_shape("five_nodes", faulty(5, 0), 100);
}

#[test]
fn three_nodes_and_an_observer() {
    run_shape("three_nodes_and_an_observer", faulty(3, 1), 100);
}
