//! The workloads. Everything lives under the run's own root
//! `/zkbench-<pid>`: a pool of 1000 znodes (`pool/p0..p999`, the targets of
//! get/set/exists/mixed/multi and the parent that `children` lists), and one
//! folder per writing workload. Cleanup deletes what was created, by name
//! (no getChildren over huge parents).

use crate::args::Options;
use crate::driver::{self, Phase};
use crate::report::{Latencies, Report};
use bytes::Bytes;
use futures::future::join_all;
use std::cell::Cell;
use std::time::{Duration, Instant};
use zk_client::{event_type, op, Acl, Client, CreateMode, ErrorCode, ZkError};

/// Znodes in the pool (and children of the `children` workload's parent).
pub const POOL: u64 = 1000;
/// Znodes per folder when a workload creates many (memory, delete).
const FANOUT: u64 = 1000;
/// Ops in one `multi` request.
const MULTI_OPS: u64 = 10;
/// Znodes pre-created for `delete` when only a duration is given.
const DELETE_DEFAULT: u64 = 20_000;
const SESSION_TIMEOUT: Duration = Duration::from_secs(30);

/// A run: its clients and options.
pub struct Bench {
    pub opts: Options,
    pub root: String,
    pub clients: Vec<Client>,
    pub data: Bytes,
    pool_ready: bool,
    /// The server process, when given: its CPU time is sampled around each
    /// measured phase (throughput on cores the client shares says little
    /// about the server alone).
    server_pid: Option<u32>,
    /// Server CPU time (µs) when the latest phase started.
    cpu_start: Cell<Option<u64>>,
}

/// Delete that tolerates an already-missing node.
async fn delete_quietly(c: &Client, path: &str) -> Result<(), ZkError> {
    match c.delete(path, -1).await {
        Err(e) if e.is(ErrorCode::NoNode) => Ok(()),
        r => r,
    }
}

/// Create that tolerates an existing node.
async fn ensure(c: &Client, path: &str) -> Result<(), ZkError> {
    match c
        .create(
            path,
            Bytes::new(),
            &Acl::open_unsafe(),
            CreateMode::Persistent,
        )
        .await
    {
        Err(e) if e.is(ErrorCode::NodeExists) => Ok(()),
        r => r.map(|_| ()),
    }
}

fn leaf_path(base: &str, i: u64) -> String {
    format!("{base}/d{}/n{}", i / FANOUT, i % FANOUT)
}

impl Bench {
    pub async fn connect(opts: Options) -> Result<Bench, ZkError> {
        let mut clients = Vec::with_capacity(opts.sessions);
        for _ in 0..opts.sessions {
            clients.push(Client::connect(&opts.server, SESSION_TIMEOUT).await?);
        }
        let root = format!("/zkbench-{}", std::process::id());
        ensure(&clients[0], &root).await?;
        let data = Bytes::from(vec![b'x'; opts.size]);
        Ok(Bench {
            server_pid: crate::memory::server_pid_if_given(&opts),
            opts,
            root,
            clients,
            data,
            pool_ready: false,
            cpu_start: Cell::new(None),
        })
    }

    fn workers(&self) -> usize {
        self.opts.sessions * self.opts.outstanding
    }

    fn client_for(clients: &[Client], outstanding: usize, worker: usize) -> Client {
        clients[(worker / outstanding) % clients.len()].clone()
    }

    /// Runs `op(client, index)` pipelined over every session.
    async fn drive<F, Fut>(&self, name: &str, ops: Option<u64>, limit: Duration, f: F) -> Phase
    where
        F: Fn(Client, u64) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<(), ZkError>> + Send + 'static,
    {
        self.mark_cpu();
        let clients = self.clients.clone();
        let outstanding = self.opts.outstanding;
        driver::run(name, self.workers(), ops, limit, true, move |w, i| {
            f(Bench::client_for(&clients, outstanding, w), i)
        })
        .await
    }

    /// Runs `f` over `0..n` as untimed setup or cleanup; fails on any error.
    async fn setup<F, Fut>(&self, name: &str, n: u64, f: F) -> Result<(), String>
    where
        F: Fn(Client, u64) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<(), ZkError>> + Send + 'static,
    {
        let phase = self.drive(name, Some(n), crate::args::MAX_PHASE, f).await;
        match phase.first_error {
            None => Ok(()),
            Some(e) => Err(format!("{name}: {} errors, first: {e}", phase.errors)),
        }
    }

    async fn ensure_pool(&mut self) -> Result<String, String> {
        let pool = format!("{}/pool", self.root);
        if !self.pool_ready {
            ensure(&self.clients[0], &pool)
                .await
                .map_err(|e| e.to_string())?;
            let (p, data) = (pool.clone(), self.data.clone());
            self.setup("setup pool", POOL, move |c, i| {
                let (path, data) = (format!("{p}/p{i}"), data.clone());
                async move {
                    match c
                        .create(&path, data, &Acl::open_unsafe(), CreateMode::Persistent)
                        .await
                    {
                        Err(e) if e.is(ErrorCode::NodeExists) => Ok(()),
                        r => r.map(|_| ()),
                    }
                }
            })
            .await?;
            self.pool_ready = true;
        }
        Ok(pool)
    }

    fn mark_cpu(&self) {
        self.cpu_start
            .set(self.server_pid.and_then(|p| crate::memory::cpu_us(p).ok()));
    }

    /// The report of the phase that just ended (the last `drive` or
    /// `mark_cpu`), with the server's CPU µs per op when its pid is known.
    fn report(&self, workload: &str, phase: Phase) -> Report {
        let cpu_now = self.server_pid.and_then(|p| crate::memory::cpu_us(p).ok());
        let mut extra = Vec::new();
        if let (Some(before), Some(after)) = (self.cpu_start.get(), cpu_now) {
            let per_op = after.saturating_sub(before) as f64 / phase.ok.max(1) as f64;
            extra.push(("server_cpu_us_per_op", (per_op * 10.0).round() / 10.0));
        }
        Report {
            workload: workload.into(),
            label: self.opts.label.clone(),
            sessions: self.opts.sessions,
            outstanding: self.opts.outstanding,
            size: self.opts.size,
            ops: phase.ok,
            errors: phase.errors,
            first_error: phase.first_error,
            seconds: phase.seconds,
            latencies: phase.latencies,
            extra,
        }
    }

    pub async fn run(&mut self, workload: &str) -> Result<Report, String> {
        let (ops, limit) = (self.opts.ops, self.opts.phase_limit());
        let data = self.data.clone();
        match workload {
            "get" | "set" | "exists" | "mixed" | "multi" | "children" => {
                let pool = self.ensure_pool().await?;
                let phase = match workload {
                    "get" => {
                        self.drive(workload, ops, limit, move |c, i| {
                            let path = format!("{pool}/p{}", i % POOL);
                            async move { c.get_data(&path, false).await.map(|_| ()) }
                        })
                        .await
                    }
                    "set" => {
                        self.drive(workload, ops, limit, move |c, i| {
                            let (path, data) = (format!("{pool}/p{}", i % POOL), data.clone());
                            async move { c.set_data(&path, data, -1).await.map(|_| ()) }
                        })
                        .await
                    }
                    "exists" => {
                        self.drive(workload, ops, limit, move |c, i| {
                            let path = format!("{pool}/p{}", i % POOL);
                            async move { c.exists(&path, false).await.map(|_| ()) }
                        })
                        .await
                    }
                    "mixed" => {
                        self.drive(workload, ops, limit, move |c, i| {
                            let (path, data) = (format!("{pool}/p{}", i % POOL), data.clone());
                            async move {
                                if i % 10 == 9 {
                                    c.set_data(&path, data, -1).await.map(|_| ())
                                } else {
                                    c.get_data(&path, false).await.map(|_| ())
                                }
                            }
                        })
                        .await
                    }
                    "multi" => {
                        self.drive(workload, ops, limit, move |c, i| {
                            let ops = (0..MULTI_OPS)
                                .map(|k| {
                                    let n = (i * MULTI_OPS + k) % POOL;
                                    op::set_data(&format!("{pool}/p{n}"), data.clone(), -1)
                                })
                                .collect();
                            async move {
                                let results = c.multi(ops).await?;
                                match op::first_error(&results) {
                                    Some(code) => Err(ZkError::from_code(code)),
                                    None => Ok(()),
                                }
                            }
                        })
                        .await
                    }
                    _ => {
                        self.drive(workload, ops, limit, move |c, _| {
                            let pool = pool.clone();
                            async move {
                                let names = c.get_children(&pool, false).await?;
                                if names.len() as u64 == POOL {
                                    Ok(())
                                } else {
                                    Err(ZkError::InvalidArgument(format!(
                                        "{} children, expected {POOL}",
                                        names.len()
                                    )))
                                }
                            }
                        })
                        .await
                    }
                };
                Ok(self.report(workload, phase))
            }
            "create" => {
                // Flat under one parent (the creates of a duration-bound run
                // cannot be foldered ahead of time without racing the folders).
                let base = format!("{}/create", self.root);
                ensure(&self.clients[0], &base)
                    .await
                    .map_err(|e| e.to_string())?;
                let b = base.clone();
                let phase = self
                    .drive(workload, ops, limit, move |c, i| {
                        let (path, data) = (format!("{b}/c{i}"), data.clone());
                        async move {
                            c.create(&path, data, &Acl::open_unsafe(), CreateMode::Persistent)
                                .await
                                .map(|_| ())
                        }
                    })
                    .await;
                let attempted = phase.attempted;
                let report = self.report(workload, phase);
                self.remove(&base, attempted, true).await?;
                Ok(report)
            }
            "delete" => {
                let base = format!("{}/delete", self.root);
                let n = ops.unwrap_or(DELETE_DEFAULT);
                self.populate(&base, n).await?;
                let b = base.clone();
                let phase = self
                    .drive(workload, Some(n), limit, move |c, i| {
                        let path = leaf_path(&b, i);
                        async move { c.delete(&path, -1).await }
                    })
                    .await;
                let report = self.report(workload, phase);
                self.remove(&base, n, false).await?;
                Ok(report)
            }
            "watch" => self.watch().await,
            "sessions" => self.sessions().await,
            "memory" => self.memory().await,
            other => Err(format!("unknown workload {other}")),
        }
    }

    /// Creates `base` and the folders `base/d0..` for `n` leaves.
    async fn make_folders(&self, base: &str, n: u64) -> Result<(), String> {
        ensure(&self.clients[0], base)
            .await
            .map_err(|e| e.to_string())?;
        let b = base.to_string();
        self.setup("setup folders", n.div_ceil(FANOUT), move |c, d| {
            let path = format!("{b}/d{d}");
            async move { ensure(&c, &path).await }
        })
        .await
    }

    /// Creates `n` leaves of `--size` bytes under `base` (untimed).
    async fn populate(&self, base: &str, n: u64) -> Result<(), String> {
        self.make_folders(base, n).await?;
        let (b, data) = (base.to_string(), self.data.clone());
        self.setup("populate", n, move |c, i| {
            let (path, data) = (leaf_path(&b, i), data.clone());
            async move {
                c.create(&path, data, &Acl::open_unsafe(), CreateMode::Persistent)
                    .await
                    .map(|_| ())
            }
        })
        .await
    }

    /// Deletes the leaves `0..n` under `base` (`base/c<i>` when `flat`,
    /// else `base/d<folder>/n<i>` and the folders), then `base`.
    async fn remove(&self, base: &str, n: u64, flat: bool) -> Result<(), String> {
        if self.opts.keep {
            return Ok(());
        }
        let b = base.to_string();
        self.setup("cleanup", n, move |c, i| {
            let path = if flat {
                format!("{b}/c{i}")
            } else {
                leaf_path(&b, i)
            };
            async move { delete_quietly(&c, &path).await }
        })
        .await?;
        if flat {
            return delete_quietly(&self.clients[0], base)
                .await
                .map_err(|e| e.to_string());
        }
        let b = base.to_string();
        self.setup("cleanup folders", n.div_ceil(FANOUT), move |c, d| {
            let path = format!("{b}/d{d}");
            async move { delete_quietly(&c, &path).await }
        })
        .await?;
        delete_quietly(&self.clients[0], base)
            .await
            .map_err(|e| e.to_string())
    }

    /// Deletes the pool and the root; closes the sessions.
    pub async fn finish(self) -> Result<(), String> {
        if !self.opts.keep {
            if self.pool_ready {
                let pool = format!("{}/pool", self.root);
                let p = pool.clone();
                self.setup("cleanup pool", POOL, move |c, i| {
                    let path = format!("{p}/p{i}");
                    async move { delete_quietly(&c, &path).await }
                })
                .await?;
                delete_quietly(&self.clients[0], &pool)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            for folder in ["watch", "sessions"] {
                let path = format!("{}/{folder}", self.root);
                delete_quietly(&self.clients[0], &path)
                    .await
                    .map_err(|e| e.to_string())?;
            }
            delete_quietly(&self.clients[0], &self.root)
                .await
                .map_err(|e| e.to_string())?;
        }
        for c in &self.clients {
            let _ = c.close().await;
        }
        Ok(())
    }

    /// W watchers (one per session) each hold a data watch on one znode; a
    /// separate writer sets it. Latency: from the setData reply until the
    /// last watcher has its notification (0 if all arrived before the reply).
    async fn watch(&mut self) -> Result<Report, String> {
        let path = format!("{}/watch", self.root);
        ensure(&self.clients[0], &path)
            .await
            .map_err(|e| e.to_string())?;
        let writer = Client::connect(&self.opts.server, SESSION_TIMEOUT)
            .await
            .map_err(|e| e.to_string())?;
        let watchers = self.clients.len();
        let (tx, mut rx) = tokio::sync::mpsc::channel::<Instant>(watchers * 4);
        let mut listeners = Vec::new();
        for c in &self.clients {
            let mut events = c.take_events().ok_or("event receiver already taken")?;
            let (tx, p) = (tx.clone(), path.clone());
            listeners.push(tokio::spawn(async move {
                while let Some(ev) = events.recv().await {
                    if ev.event_type == event_type::NODE_DATA_CHANGED && ev.path == p {
                        let _ = tx.send(Instant::now()).await;
                    }
                }
            }));
        }
        let rounds = self.opts.ops.unwrap_or(u64::MAX);
        self.mark_cpu();
        let start = Instant::now();
        let deadline = start + self.opts.phase_limit();
        let mut latencies = Latencies::new();
        let (mut errors, mut first_error) = (0u64, None::<String>);
        let mut round = 0u64;
        while round < rounds && Instant::now() < deadline {
            round += 1;
            let arm = join_all(self.clients.iter().map(|c| c.exists(&path, true))).await;
            if let Some(Err(e)) = arm.into_iter().find(|r| r.is_err()) {
                return Err(format!("watch: arming failed: {e}"));
            }
            let sent = writer.set_data(&path, self.data.clone(), -1).await;
            let replied = Instant::now();
            if let Err(e) = sent {
                errors += 1;
                first_error.get_or_insert(e.to_string());
                continue;
            }
            let mut last = replied;
            let mut got = 0;
            while got < watchers {
                match tokio::time::timeout(Duration::from_secs(10), rx.recv()).await {
                    Ok(Some(at)) => {
                        last = last.max(at);
                        got += 1;
                    }
                    _ => break,
                }
            }
            if got < watchers {
                errors += 1;
                first_error.get_or_insert(format!("{got} of {watchers} notified within 10 s"));
                break;
            }
            latencies.record(last - replied);
        }
        let seconds = start.elapsed().as_secs_f64();
        for l in listeners {
            l.abort();
        }
        let _ = writer.close().await;
        let phase = Phase {
            attempted: round,
            ok: latencies.count(),
            errors,
            first_error,
            seconds,
            latencies,
        };
        let mut report = self.report("watch", phase);
        report.outstanding = 1;
        Ok(report)
    }

    /// Session storm: `--sessions` tasks, each repeatedly opening a
    /// session, creating an ephemeral znode and closing the session.
    async fn sessions(&mut self) -> Result<Report, String> {
        let base = format!("{}/sessions", self.root);
        ensure(&self.clients[0], &base)
            .await
            .map_err(|e| e.to_string())?;
        let (server, data) = (self.opts.server.clone(), self.data.clone());
        self.mark_cpu();
        let phase = driver::run(
            "sessions",
            self.opts.sessions,
            self.opts.ops,
            self.opts.phase_limit(),
            true,
            move |_, i| {
                let (server, data, path) = (server.clone(), data.clone(), format!("{base}/e{i}"));
                async move {
                    let c = Client::connect(&server, SESSION_TIMEOUT).await?;
                    let created = c
                        .create(&path, data, &Acl::open_unsafe(), CreateMode::Ephemeral)
                        .await;
                    let closed = c.close().await;
                    created.and(closed).map(|_| ())
                }
            },
        )
        .await;
        let mut report = self.report("sessions", phase);
        report.outstanding = 1;
        Ok(report)
    }

    /// Creates N = `--ops` znodes of `--size` bytes and reports the server's
    /// resident memory growth per znode (VmRSS of `--pid`).
    async fn memory(&mut self) -> Result<Report, String> {
        let pid = crate::memory::server_pid(&self.opts)?;
        let n = self
            .opts
            .ops
            .ok_or("the memory workload needs --ops (the znode count)")?;
        let base = format!("{}/mem", self.root);
        let before = crate::memory::rss_bytes(pid)?;
        self.make_folders(&base, n).await?;
        let (b, data) = (base.clone(), self.data.clone());
        let phase = self
            .drive("memory", Some(n), crate::args::MAX_PHASE, move |c, i| {
                let (path, data) = (leaf_path(&b, i), data.clone());
                async move {
                    c.create(&path, data, &Acl::open_unsafe(), CreateMode::Persistent)
                        .await
                        .map(|_| ())
                }
            })
            .await;
        // Let the server settle (a JVM may still be growing its heap).
        tokio::time::sleep(Duration::from_secs(1)).await;
        let after = crate::memory::rss_bytes(pid)?;
        let created = phase.ok;
        let mut report = self.report("memory", phase);
        let per = if created > 0 {
            (after as f64 - before as f64) / created as f64
        } else {
            0.0
        };
        report.extra.extend([
            ("znodes", created as f64),
            ("rss_before_bytes", before as f64),
            ("rss_after_bytes", after as f64),
            ("bytes_per_znode", per.round()),
        ]);
        self.remove(&base, n, false).await?;
        Ok(report)
    }
}
