//! Seeded simulation of whole ensembles driving the pure Zab roles
//! (`zk_server::quorum::zab`) through delays, reordering across
//! connections, connection drops, partitions, crash-restarts and power
//! failures (every node at once) that lose unsynced writes; then the network
//! heals and the ensemble must converge. A failure prints its seed;
//! `ZAB_SEED=<n>` replays exactly that run (for every shape; `ZAB_TRACE=1`
//! prints every input and output), `ZAB_SEEDS=<n>` sets how many seeds each
//! shape runs.

#[path = "zab_sim/checker.rs"]
mod checker;
#[path = "zab_sim/oracle.rs"]
mod oracle;
#[path = "zab_sim/replica.rs"]
mod replica;
#[path = "zab_sim/rng.rs"]
mod rng;
#[path = "zab_sim/world.rs"]
mod world;

use world::{SimConfig, World};

fn seeds(default: u64) -> Vec<u64> {
    if let Ok(s) = std::env::var("ZAB_SEED") {
        return vec![s.parse().expect("ZAB_SEED is a number")];
    }
    let n = std::env::var("ZAB_SEEDS")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(default);
    (1..=n).collect()
}

fn run_shape(name: &str, voters: usize, observers: usize, default_seeds: u64) {
    let sim = SimConfig {
        voters,
        observers,
        fault_ms: 12_000,
        quiet_ms: 8_000,
        faults: true,
    };
    let mut total = (0u64, 0u64, 0u64, 0u64);
    for seed in seeds(default_seeds) {
        let mut w = World::new(seed, sim, Box::new(oracle::MaxVote));
        if let Err(e) = w.run() {
            panic!("{name}: seed {seed} failed: {e}\n  stats: {:?}\n  replay: ZAB_SEED={seed} cargo test --release -p zk-server --test zab_sim -- --exact {name}", w.stats);
        }
        total.0 += w.checker.commits;
        total.1 += w.stats.elections;
        total.2 += w.stats.snaps;
        total.3 += w.stats.truncs;
    }
    eprintln!(
        "{name}: commits {} elections {} snaps {} truncs {}",
        total.0, total.1, total.2, total.3
    );
}

#[test]
fn three_nodes() {
    run_shape("three_nodes", 3, 0, 300);
}

#[test]
fn five_nodes() {
    run_shape("five_nodes", 5, 0, 200);
}

#[test]
fn four_nodes() {
    run_shape("four_nodes", 4, 0, 200);
}

#[test]
fn three_nodes_and_an_observer() {
    run_shape("three_nodes_and_an_observer", 3, 1, 200);
}

#[test]
fn no_faults_converges() {
    let sim = SimConfig {
        voters: 3,
        observers: 0,
        fault_ms: 2_000,
        quiet_ms: 3_000,
        faults: false,
    };
    let mut w = World::new(7, sim, Box::new(oracle::MaxVote));
    w.run().expect("a quiet ensemble works");
    assert!(w.checker.commits > 50, "commits: {}", w.checker.commits);
}
