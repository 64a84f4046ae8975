//! Durable-write figures against any ZooKeeper-compatible server (run it on
//! one with `forceSync=yes`): `write_load HOST:PORT [SECONDS] [SESSIONS] [OUTSTANDING]`.
//! 1. synchronous latency: one session, one create at a time (100-byte
//!    data), 1,000 creates: p50 / p99 in µs;
//! 2. throughput: SESSIONS sessions (default 8) each keeping OUTSTANDING
//!    creates in flight (default 32) for SECONDS (default 5): creates/s and
//!    the p99 of their latencies.
//!
//! Everything it creates is under `/write-load-<pid>`; bounded in count and
//! time.
use std::time::{Duration, Instant};
use zk_client::{Acl, Client, CreateMode};

/// Creates `path` (persistent, `data`, open ACL); returns how long it took in µs.
async fn timed_create(c: &Client, path: &str, data: &[u8]) -> u128 {
    let t = Instant::now();
    c.create(
        path,
        Some(data.to_vec()),
        &Acl::open_unsafe(),
        CreateMode::Persistent,
    )
    .await
    .expect("create");
    t.elapsed().as_micros()
}

fn pct(sorted: &[u128], p: f64) -> u128 {
    sorted[((sorted.len() as f64 * p) as usize).min(sorted.len() - 1)]
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let server = args
        .first()
        .cloned()
        .unwrap_or_else(|| "127.0.0.1:2181".into());
    let secs: u64 = args.get(1).and_then(|v| v.parse().ok()).unwrap_or(5);
    let sessions: usize = args.get(2).and_then(|v| v.parse().ok()).unwrap_or(8);
    let outstanding: usize = args.get(3).and_then(|v| v.parse().ok()).unwrap_or(32);
    let root = format!("/write-load-{}", std::process::id());
    let open = Acl::open_unsafe();
    let c = Client::connect(&server, Duration::from_secs(30))
        .await
        .expect("connect");
    c.create(&root, None::<Vec<u8>>, &open, CreateMode::Persistent)
        .await
        .expect("root");
    let data = vec![b'x'; 100];

    let mut lat = Vec::with_capacity(1000);
    for i in 0..1000 {
        lat.push(timed_create(&c, &format!("{root}/s{i}"), &data).await);
    }
    lat.sort_unstable();
    println!(
        "sync create: p50 {} us, p99 {} us (1000 creates, 100 B)",
        pct(&lat, 0.50),
        pct(&lat, 0.99)
    );

    let deadline = Instant::now() + Duration::from_secs(secs);
    let mut tasks = tokio::task::JoinSet::new();
    for s in 0..sessions {
        let server = server.clone();
        let root = root.clone();
        let data = data.clone();
        tasks.spawn(async move {
            let c = Client::connect(&server, Duration::from_secs(30))
                .await
                .expect("connect");
            let mut workers = tokio::task::JoinSet::new();
            for w in 0..outstanding {
                let (c, root, data) = (c.clone(), root.clone(), data.clone());
                workers.spawn(async move {
                    let mut lat = Vec::new();
                    let mut i = 0u64;
                    while Instant::now() < deadline && i < 1_000_000 {
                        lat.push(timed_create(&c, &format!("{root}/t{s}-{w}-{i}"), &data).await);
                        i += 1;
                    }
                    lat
                });
            }
            let mut lat = Vec::new();
            while let Some(r) = workers.join_next().await {
                lat.extend(r.expect("worker"));
            }
            lat
        });
    }
    let start = Instant::now();
    let mut all = Vec::new();
    while let Some(r) = tasks.join_next().await {
        all.extend(r.expect("session"));
    }
    let took = start.elapsed().as_secs_f64();
    all.sort_unstable();
    println!(
        "loaded create: {:.0} creates/s, p50 {} us, p99 {} us ({sessions} sessions x {outstanding} outstanding, {} creates in {took:.1} s)",
        all.len() as f64 / took,
        pct(&all, 0.50),
        pct(&all, 0.99),
        all.len()
    );
}
