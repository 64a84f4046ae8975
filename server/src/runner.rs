//! The single-writer task: owns the [`core::Server`](crate::core::Server),
//! feeds it inputs from every connection in arrival order, and delivers its
//! outputs to the connections' outbound queues.
//!
//! Invariants:
//! - Only this task touches the core, so the core needs no locks.
//! - Txns the core hands out for persistence go to the txn log in zxid order;
//!   the log reports the newest durable zxid through a `watch` channel (it
//!   never waits on this task, so a full inbound queue cannot deadlock them),
//!   and only then does the core apply and answer them. A storage failure
//!   stops the server: it must not go on answering writes it cannot keep.
//! - Every queue is bounded: the inbound queue by `RUNNER_QUEUE_LEN`, each
//!   connection's outbound queue by the capacity its connection chose. A
//!   connection whose outbound queue is full is closed rather than allowed to
//!   stall every other client (a client that stops reading is a dead client).
//! - Snapshots never stall requests: when the log asks for one (it rolled),
//!   this task serializes the tree a bounded step at a time between inputs
//!   ([`SnapshotWalk`]) and a thread writes the file. One snapshot at a time;
//!   a request while one is still being written is skipped, as ZooKeeper's
//!   "Too busy to snap" does.

use crate::core::txn::Txn;
use crate::core::{ConnId, Input, Output, Server, ServerStats};
use crate::storage::fuzzy_snapshot::{SnapshotChunk, SnapshotWalk, SnapshotWriter};
use bytes::Bytes;
use std::collections::HashMap;
use std::net::IpAddr;
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};
use tokio::sync::{mpsc, oneshot, watch};

/// Messages from the connections and admin surfaces to the runner.
#[derive(Debug)]
pub enum RunnerMsg {
    /// A connection was accepted; `out` is its outbound queue.
    Open {
        conn: ConnId,
        peer: IpAddr,
        out: mpsc::Sender<ConnCommand>,
    },
    /// A frame arrived on `conn`.
    Frame { conn: ConnId, frame: Bytes },
    /// The connection ended.
    Closed { conn: ConnId },
    /// Ids the connection layer authenticated (a TLS client certificate);
    /// sent after `Open`, before any frame.
    AddAuthInfo {
        conn: ConnId,
        ids: Vec<jute::data::Id>,
    },
    /// A consistent snapshot of the server's figures is wanted.
    Stats { reply: oneshot::Sender<ServerStats> },
    /// A four-letter word that needs the core's state (`dump`, `wchs`, `wchc`,
    /// `wchp`, `crst`, `srst`): the core formats it.
    Command {
        word: String,
        reply: oneshot::Sender<String>,
    },
    /// A read of the core's state for the admin API, run between inputs.
    Inspect(Inspect),
}

/// A closure the runner runs on the core (admin reads); it replies itself.
pub struct Inspect(pub Box<dyn FnOnce(&mut Server) + Send>);

impl std::fmt::Debug for Inspect {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Inspect")
    }
}

/// What a connection task is told to do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConnCommand {
    /// Write this frame (already length-prefixed).
    Send(Bytes),
    /// Flush, then close; the reason is logged.
    Close(String),
}

/// Capacity of the runner's inbound queue.
pub const RUNNER_QUEUE_LEN: usize = 4096;

/// Handle the I/O side uses to reach the runner.
#[derive(Debug, Clone)]
pub struct RunnerHandle {
    pub tx: mpsc::Sender<RunnerMsg>,
}

impl RunnerHandle {
    /// Asks the runner for current figures; `None` if it has stopped.
    pub async fn stats(&self) -> Option<ServerStats> {
        let (reply, rx) = oneshot::channel();
        self.tx.send(RunnerMsg::Stats { reply }).await.ok()?;
        rx.await.ok()
    }

    /// Runs a state-reading command in the core; `None` if it has stopped.
    pub async fn command(&self, word: &str) -> Option<String> {
        let (reply, rx) = oneshot::channel();
        self.tx
            .send(RunnerMsg::Command {
                word: word.to_string(),
                reply,
            })
            .await
            .ok()?;
        rx.await.ok()
    }

    /// Runs `f` on the core in the runner task; `None` if it has stopped.
    pub async fn inspect<T: Send + 'static>(
        &self,
        f: impl FnOnce(&mut Server) -> T + Send + 'static,
    ) -> Option<T> {
        let (reply, rx) = oneshot::channel();
        let run = Box::new(move |server: &mut Server| {
            let _ = reply.send(f(server));
        });
        self.tx.send(RunnerMsg::Inspect(Inspect(run))).await.ok()?;
        rx.await.ok()
    }
}

/// Wall-clock milliseconds since the epoch: the only clock the core sees.
pub fn wall_clock_ms() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0)
}

/// What the txn log reports: the newest durable zxid, how many times it has
/// asked for a snapshot (it counts up each time the log rolls), or why it
/// stopped.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct LogState {
    pub persisted_zxid: i64,
    pub snapshots_due: u64,
    pub failed: Option<String>,
}

/// How txns become durable.
pub enum Durability {
    /// No txn log: a txn is durable as soon as it is prepared (tests only).
    Memory,
    /// The txn log: txns go to `txns`; progress comes back on `state`;
    /// snapshots it asks for go to `snap_dir`.
    Log {
        txns: mpsc::Sender<Arc<Txn>>,
        state: watch::Receiver<LogState>,
        snap_dir: PathBuf,
    },
}

/// The snapshot in progress, if any.
#[derive(Default)]
pub(crate) struct Snapshotting {
    /// Nodes still being serialized: the walk and its writer.
    walk: Option<(SnapshotWalk, SnapshotWriter)>,
    /// A writer that has all its nodes and is finishing the file.
    finishing: Option<SnapshotWriter>,
    /// The `snapshots_due` count already acted on.
    seen_due: u64,
}

impl Snapshotting {
    /// Starts a snapshot if the log asked for one since the last call.
    pub(crate) fn start_if_due(&mut self, server: &Server, due: u64, dir: &std::path::Path) {
        if due <= self.seen_due {
            return;
        }
        self.seen_due = due;
        if self.finishing.as_ref().is_some_and(|w| w.is_finished()) {
            self.finishing = None;
        }
        if self.walk.is_some() || self.finishing.is_some() {
            tracing::warn!("Too busy to snap, skipping");
            return;
        }
        let walk = SnapshotWalk::start(server.tree(), server.session_timeouts());
        tracing::info!("Creating new snapshot 0x{:x}", walk.zxid());
        match SnapshotWriter::spawn(dir.to_path_buf(), walk.zxid()) {
            Ok(writer) => self.walk = Some((walk, writer)),
            Err(e) => tracing::error!("cannot start the snapshot thread: {e}"),
        }
    }

    /// Serializes one bounded step if the writer has room for it; hands the
    /// writer the head once every node is out.
    pub(crate) fn step(&mut self, server: &Server) {
        let Some((walk, writer)) = self.walk.as_mut() else {
            return;
        };
        let Ok(permit) = writer.tx.try_reserve() else {
            return;
        };
        if !walk.is_done() {
            permit.send(SnapshotChunk::Nodes(walk.step(server.tree())));
            return;
        }
        drop(permit);
        if let Some((walk, writer)) = self.walk.take() {
            // The queue had room: this cannot fail unless the thread died,
            // which it logs itself.
            let mut head = walk.finish();
            head.digest = server.tree().digest().last();
            let _ = writer.tx.try_send(SnapshotChunk::Finish(head));
            self.finishing = Some(writer);
        }
    }

    /// Resolves when the writer can take another step's bytes.
    /// Abandons the walk in progress and waits for a finishing writer: the
    /// snapshot directory is left to the caller (a quorum member's reload
    /// or truncation).
    pub(crate) async fn settle(&mut self) {
        self.walk = None;
        if let Some(writer) = self.finishing.take() {
            while !writer.is_finished() {
                tokio::time::sleep(Duration::from_millis(5)).await;
            }
        }
    }

    pub(crate) async fn ready(&self) {
        match self.walk.as_ref() {
            Some((_, writer)) => match writer.tx.reserve().await {
                Ok(_permit) => {}
                Err(_) => std::future::pending().await,
            },
            None => std::future::pending().await,
        }
    }
}

/// Starts the runner task for `server`, ticking every `tick_interval`.
pub fn spawn(server: Server, tick_interval: Duration, durability: Durability) -> RunnerHandle {
    let (tx, rx) = mpsc::channel(RUNNER_QUEUE_LEN);
    tokio::spawn(run(server, rx, tick_interval, durability));
    RunnerHandle { tx }
}

/// One wake-up of the runner.
enum Wake {
    Msg(RunnerMsg),
    Tick,
    Persisted(i64),
    SnapshotStep,
}

async fn run(
    mut server: Server,
    mut rx: mpsc::Receiver<RunnerMsg>,
    tick_interval: Duration,
    durability: Durability,
) {
    let mut conns: HashMap<ConnId, mpsc::Sender<ConnCommand>, foldhash::fast::RandomState> =
        HashMap::default();
    let mut outputs: Vec<Output> = Vec::new();
    let mut ticker = tokio::time::interval(tick_interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let (log_tx, mut log_state, snap_dir) = match durability {
        Durability::Memory => (None, None, None),
        Durability::Log {
            txns,
            state,
            snap_dir,
        } => (Some(txns), Some(state), Some(snap_dir)),
    };
    let mut snapshot = Snapshotting::default();
    loop {
        let wake = tokio::select! {
            biased;
            changed = async {
                match log_state.as_mut() {
                    Some(state) => state.changed().await,
                    None => std::future::pending().await,
                }
            } => {
                let Some(state) = log_state.as_ref() else { continue };
                if changed.is_err() {
                    fatal("the txn log thread stopped");
                }
                let st = state.borrow().clone();
                if let Some(why) = st.failed {
                    fatal(&format!("the txn log failed: {why}"));
                }
                if let Some(dir) = snap_dir.as_deref() {
                    snapshot.start_if_due(&server, st.snapshots_due, dir);
                }
                Wake::Persisted(st.persisted_zxid)
            }
            msg = rx.recv() => match msg {
                Some(msg) => Wake::Msg(msg),
                None => break,
            },
            _ = ticker.tick() => Wake::Tick,
            // Last: requests come first, but an idle server finishes its
            // snapshot too.
            _ = snapshot.ready() => Wake::SnapshotStep,
        };
        let started = Instant::now();
        let now_ms = wall_clock_ms();
        // Without a log, everything prepared is durable at once.
        let step = |server: &mut Server, input: Input, out: &mut Vec<Output>| {
            if log_tx.is_some() {
                server.handle(now_ms, input, out)
            } else {
                server.handle_durable_now(now_ms, input, out)
            }
        };
        // Under load a step rides along with every input; idle, the
        // SnapshotStep wake-up drives it.
        snapshot.step(&server);
        let msg = match wake {
            Wake::Tick => None,
            Wake::SnapshotStep => continue,
            Wake::Persisted(zxid) => {
                step(&mut server, Input::Persisted { zxid }, &mut outputs);
                deliver(
                    &mut server,
                    &mut conns,
                    &mut outputs,
                    now_ms,
                    log_tx.as_ref(),
                )
                .await;
                continue;
            }
            Wake::Msg(msg) => Some(msg),
        };
        match msg {
            None => step(&mut server, Input::Tick, &mut outputs),
            Some(RunnerMsg::Open { conn, peer, out }) => {
                conns.insert(conn, out);
                step(&mut server, Input::Open { conn, peer }, &mut outputs);
            }
            Some(RunnerMsg::Frame { conn, frame }) => {
                step(&mut server, Input::Frame { conn, frame }, &mut outputs);
            }
            Some(RunnerMsg::AddAuthInfo { conn, ids }) => {
                step(&mut server, Input::AddAuthInfo { conn, ids }, &mut outputs);
            }
            Some(RunnerMsg::Closed { conn }) => {
                conns.remove(&conn);
                step(&mut server, Input::Closed { conn }, &mut outputs);
            }
            Some(RunnerMsg::Stats { reply }) => {
                let _ = reply.send(server.stats());
            }
            Some(RunnerMsg::Command { word, reply }) => {
                let _ = reply.send(server.command(&word));
            }
            Some(RunnerMsg::Inspect(Inspect(f))) => f(&mut server),
        }
        deliver(
            &mut server,
            &mut conns,
            &mut outputs,
            now_ms,
            log_tx.as_ref(),
        )
        .await;
        server.record_latency(started.elapsed());
    }
}

/// Storage failures are fatal: log loudly and stop the process.
pub(crate) fn fatal(why: &str) -> ! {
    tracing::error!("{why}; stopping the server");
    std::process::exit(3);
}

/// Hands outputs to their connections, and txns to the log. A connection
/// whose queue is full or gone is dropped, and the core is told it closed.
async fn deliver(
    server: &mut Server,
    conns: &mut HashMap<ConnId, mpsc::Sender<ConnCommand>, foldhash::fast::RandomState>,
    outputs: &mut Vec<Output>,
    now_ms: i64,
    log: Option<&mpsc::Sender<Arc<Txn>>>,
) {
    while !outputs.is_empty() {
        let mut dead: Vec<ConnId> = Vec::new();
        let mut batch: Vec<Output> = std::mem::take(outputs);
        for out in batch.drain(..) {
            let (conn, cmd) = match out {
                Output::Send { conn, frame } => (conn, ConnCommand::Send(frame)),
                Output::Close { conn, reason } => (conn, ConnCommand::Close(reason)),
                Output::Persist { txn } => {
                    if let Some(log) = log {
                        // Backpressure: a full log queue holds the runner.
                        if log.send(txn).await.is_err() {
                            fatal("the txn log thread stopped");
                        }
                    }
                    continue;
                }
                // This runner serves standalone: the core asks nothing of a
                // Zab layer in that role.
                Output::Quorum(_) => continue,
            };
            let Some(tx) = conns.get(&conn) else { continue };
            let closing = matches!(cmd, ConnCommand::Close(_));
            if tx.try_send(cmd).is_err() {
                tracing::warn!(
                    conn,
                    "closing connection: its outbound queue is full or gone"
                );
                dead.push(conn);
            } else if closing {
                conns.remove(&conn);
            }
        }
        if outputs.is_empty() {
            // The next input's outputs reuse this allocation.
            std::mem::swap(outputs, &mut batch);
        }
        for conn in dead {
            conns.remove(&conn);
            if log.is_some() {
                server.handle(now_ms, Input::Closed { conn }, outputs);
            } else {
                server.handle_durable_now(now_ms, Input::Closed { conn }, outputs);
            }
        }
    }
}
