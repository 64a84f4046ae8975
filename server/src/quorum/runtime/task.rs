//! The member's single-writer task: owns the [`Peer`], feeds it every input
//! in arrival order (election notifications, quorum packets, client frames,
//! the log's progress, time) and carries out its outputs in order — the
//! runtime half of the seam whose pure half the ensemble simulation drives.
//!
//! Invariants:
//! - Only this task touches the `Peer` (and its request processor).
//! - Outputs are carried out in the order given, each complete before the
//!   next: a txn is queued to the log before anything after it, an epoch
//!   file is durable before anything after it is sent.
//! - A `Reload`, `Truncate` or SNAP stops the log, works on the files, reads
//!   the history back and hands it to the `Peer` (`Reloaded` /
//!   `SnapLoaded`) before it sees any other input.
//! - Storage failures stop the process (`runner::fatal`): a member must not
//!   acknowledge what it cannot keep.

use super::disk::NodeDisk;
use super::quorum_conn::{AbortOnDrop, Conn, QuorumEvent, QuorumNet, WriteCmd};
use crate::core::{ConnId, Input};
use crate::quorum::cnx_manager::{CnxHandle, CnxReceiver};
use crate::quorum::peer::{Peer, PeerInput, PeerOutput, Snapshot};
use crate::quorum::types::{ServerState, Sid};
use crate::quorum::wire::notification::{decode_notification, encode_notification};
use crate::runner::{fatal, wall_clock_ms, ConnCommand, Inspect, RunnerMsg, Snapshotting};
use crate::storage::epoch_file;
use std::collections::{HashMap, VecDeque};
use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::sync::mpsc;

/// What `srvr`, `mntr` and the other state words answer while the member
/// is not serving (Apache's `ZK_NOT_SERVING`).
pub const ZK_NOT_SERVING: &str = "This ZooKeeper instance is not currently serving requests\n";

/// Everything the task owns besides the `Peer`.
pub struct PeerTask {
    pub peer: Peer,
    pub disk: NodeDisk,
    pub cnx: CnxHandle,
    pub election_rx: CnxReceiver,
    pub net: QuorumNet,
    pub quorum_events: mpsc::Receiver<QuorumEvent>,
    pub clients_rx: mpsc::Receiver<RunnerMsg>,
    /// Each member's quorum-port `host:port`s (where a learner connects),
    /// resolved at each connect.
    pub quorum_addrs: HashMap<Sid, Vec<(String, u16)>>,
    /// Where this member listens for learners while it leads.
    pub quorum_listen: Vec<SocketAddr>,
    /// How long a connecting learner has to send its LEARNERINFO.
    pub identify_timeout: Duration,
    /// How long a learner may take to reach its leader.
    pub connect_limit: Duration,
    pub tick_interval: Duration,
    /// `leaderServes`: the leader accepts client connections.
    pub leader_serves: bool,
    /// Largest election notification config accepted, bytes.
    pub max_notification_config_bytes: usize,
    /// Outputs to start from (those of `Peer::new`).
    pub initial: Vec<PeerOutput>,
}

/// One wake-up.
enum Wake {
    Persisted(i64, u64),
    Quorum(QuorumEvent),
    Notification(Sid, bytes::Bytes),
    Client(RunnerMsg),
    Tick,
    SnapshotStep,
}

struct State {
    conns: HashMap<Sid, Conn>,
    clients: HashMap<ConnId, mpsc::Sender<ConnCommand>>,
    snapshot: Snapshotting,
    /// Inputs that must reach the peer before any other (`Reloaded`).
    pending: VecDeque<PeerInput>,
    /// The quorum-port accept loops, while leading.
    acceptors: Vec<AbortOnDrop>,
}

impl PeerTask {
    pub async fn run(mut self) {
        let mut st = State {
            conns: HashMap::new(),
            clients: HashMap::new(),
            snapshot: Snapshotting::default(),
            pending: VecDeque::new(),
            acceptors: Vec::new(),
        };
        let initial = std::mem::take(&mut self.initial);
        self.execute(&mut st, initial).await;
        let mut next_tick = tokio::time::Instant::now() + self.tick_interval;
        loop {
            let now_ms = wall_clock_ms() as u64;
            let mut wake_at = next_tick;
            if let Some(d) = self.peer.next_deadline_ms() {
                let at =
                    tokio::time::Instant::now() + Duration::from_millis(d.saturating_sub(now_ms));
                wake_at = wake_at.min(at);
            }
            let wake = tokio::select! {
                biased;
                st_log = self.disk.log_changed() => match st_log {
                    Ok(s) => Wake::Persisted(s.persisted_zxid, s.snapshots_due),
                    Err(why) => fatal(&why),
                },
                ev = self.quorum_events.recv() => match ev {
                    Some(ev) => Wake::Quorum(ev),
                    None => break,
                },
                n = self.election_rx.recv() => match n {
                    Some((sid, bytes)) => Wake::Notification(sid, bytes),
                    None => break,
                },
                msg = self.clients_rx.recv() => match msg {
                    Some(msg) => Wake::Client(msg),
                    None => break,
                },
                _ = tokio::time::sleep_until(wake_at) => Wake::Tick,
                _ = st.snapshot.ready() => Wake::SnapshotStep,
            };
            let started = Instant::now();
            let now_ms = wall_clock_ms() as u64;
            st.snapshot.step(self.peer.server());
            let input = match wake {
                Wake::Persisted(zxid, due) => {
                    st.snapshot
                        .start_if_due(self.peer.server(), due, &self.disk.snap_dir);
                    Some(PeerInput::Persisted { zxid })
                }
                Wake::Quorum(ev) => self.quorum_event(&mut st, ev).await,
                Wake::Notification(from, bytes) => {
                    match decode_notification(&bytes, self.max_notification_config_bytes) {
                        Ok(n) => {
                            tracing::debug!(from, ?n, "notification");
                            Some(PeerInput::Notification { from, n })
                        }
                        Err(e) => {
                            tracing::warn!(from, "bad election notification dropped: {e}");
                            None
                        }
                    }
                }
                Wake::Client(msg) => self.client_msg(&mut st, msg),
                Wake::Tick => {
                    if tokio::time::Instant::now() >= next_tick {
                        next_tick = tokio::time::Instant::now() + self.tick_interval;
                    }
                    Some(PeerInput::Tick {
                        have_delivered: self.cnx.have_delivered(),
                    })
                }
                Wake::SnapshotStep => None,
            };
            if let Some(input) = input {
                self.feed(&mut st, now_ms, input).await;
            }
            if self.peer.is_serving() {
                self.peer.server_mut().record_latency(started.elapsed());
            }
        }
        self.cnx.shutdown().await;
    }

    /// Hands `input` to the peer and carries out everything that follows,
    /// including the inputs that must come before any other.
    async fn feed(&mut self, st: &mut State, now_ms: u64, input: PeerInput) {
        st.pending.push_back(input);
        while let Some(input) = st.pending.pop_front() {
            let mut out = Vec::new();
            self.peer.handle(now_ms, input, &mut out);
            self.execute(st, out).await;
        }
    }

    async fn quorum_event(&mut self, st: &mut State, ev: QuorumEvent) -> Option<PeerInput> {
        match ev {
            QuorumEvent::Accepted { sid, conn, first } => {
                if self.peer.state() != ServerState::Leading {
                    tracing::info!(sid, "learner connected while not leading; closing");
                    return None;
                }
                let now_ms = wall_clock_ms() as u64;
                if st.conns.insert(sid, conn.0).is_some() {
                    self.feed(st, now_ms, PeerInput::QuorumDisconnected { sid })
                        .await;
                }
                self.feed(st, now_ms, PeerInput::QuorumConnected { sid })
                    .await;
                Some(PeerInput::Zab {
                    from: sid,
                    msg: first,
                })
            }
            QuorumEvent::Connected { gen, sid } => {
                current(st, sid, gen).then_some(PeerInput::QuorumConnected { sid })
            }
            QuorumEvent::Message { gen, sid, msg } => {
                current(st, sid, gen).then_some(PeerInput::Zab { from: sid, msg })
            }
            QuorumEvent::Closed { gen, sid, reason } => {
                if !current(st, sid, gen) {
                    return None;
                }
                tracing::info!(sid, "quorum connection closed: {reason}");
                st.conns.remove(&sid);
                Some(PeerInput::QuorumDisconnected { sid })
            }
            QuorumEvent::Snap {
                gen,
                sid,
                zxid,
                stream,
            } => {
                if !current(st, sid, gen) {
                    return None;
                }
                tracing::info!(sid, "SNAP 0x{zxid:x} received from the leader");
                self.stop_disk(st).await;
                let snap = Snapshot {
                    tree: stream.tree,
                    sessions: stream.sessions,
                };
                let snapshot = self
                    .disk
                    .install_snap(zxid, snap)
                    .await
                    .unwrap_or_else(|why| fatal(&why));
                self.start_disk();
                Some(PeerInput::SnapLoaded {
                    from: sid,
                    zxid,
                    snapshot,
                })
            }
        }
    }

    fn client_msg(&mut self, st: &mut State, msg: RunnerMsg) -> Option<PeerInput> {
        if matches!(
            msg,
            RunnerMsg::Stats { .. } | RunnerMsg::Command { .. } | RunnerMsg::Inspect(_)
        ) {
            let figures = self.peer.quorum_figures(wall_clock_ms() as u64);
            self.peer.server_mut().set_quorum_figures(figures);
        }
        match msg {
            RunnerMsg::Open { conn, peer, out } => {
                if !self.leader_serves && self.peer.state() == ServerState::Leading {
                    // `leaderServes=no`: the leader's client port serves no one.
                    let why = "this server leads and leaderServes=no".to_string();
                    let _ = out.try_send(ConnCommand::Close(why));
                    return None;
                }
                st.clients.insert(conn, out);
                Some(PeerInput::Client(Input::Open { conn, peer }))
            }
            RunnerMsg::Frame { conn, frame } => {
                Some(PeerInput::Client(Input::Frame { conn, frame }))
            }
            RunnerMsg::AddAuthInfo { conn, ids } => {
                Some(PeerInput::Client(Input::AddAuthInfo { conn, ids }))
            }
            RunnerMsg::Closed { conn } => {
                st.clients.remove(&conn);
                Some(PeerInput::Client(Input::Closed { conn }))
            }
            RunnerMsg::Stats { reply } => {
                let mut stats = self.peer.server().stats();
                stats.not_serving = !self.peer.is_serving();
                let _ = reply.send(stats);
                None
            }
            RunnerMsg::Command { word, reply } => {
                let text = if self.peer.is_serving() {
                    self.peer.server_mut().command(&word)
                } else {
                    ZK_NOT_SERVING.to_string()
                };
                let _ = reply.send(text);
                None
            }
            RunnerMsg::Inspect(Inspect(f)) => {
                f(self.peer.server_mut());
                None
            }
        }
    }

    /// Carries out `outs` in order.
    async fn execute(&mut self, st: &mut State, outs: Vec<PeerOutput>) {
        for o in outs {
            match o {
                PeerOutput::Notify { to, n } => {
                    if let Err(e) = self.cnx.send(to, encode_notification(&n)) {
                        tracing::debug!(to, "notification not sent: {e}");
                    }
                }
                PeerOutput::ConnectAll => self.cnx.connect_all(),
                PeerOutput::ZabSend { to, msg } => send(st, to, WriteCmd::Msg(msg)),
                PeerOutput::ConnectToLeader { sid } => {
                    let addrs = self.quorum_addrs.get(&sid).cloned().unwrap_or_default();
                    tracing::info!(sid, ?addrs, "connecting to the leader");
                    let conn = self.net.connect_to_leader(sid, addrs, self.connect_limit);
                    st.conns.insert(sid, conn);
                }
                PeerOutput::CloseQuorum { sid } => {
                    st.conns.remove(&sid);
                }
                PeerOutput::Client(o) => self.client_output(st, o),
                PeerOutput::Persist(p) => {
                    if let Err(why) = self.disk.append(p.txn).await {
                        fatal(&why);
                    }
                }
                PeerOutput::WriteAcceptedEpoch(e) => {
                    let r = self.disk.write_epoch(epoch_file::ACCEPTED_EPOCH, e).await;
                    r.unwrap_or_else(|why| fatal(&why));
                }
                PeerOutput::WriteCurrentEpoch(e) => {
                    let r = self.disk.write_epoch(epoch_file::CURRENT_EPOCH, e).await;
                    r.unwrap_or_else(|why| fatal(&why));
                }
                PeerOutput::Truncate { zxid } => {
                    tracing::info!("TRUNC: truncating the history to 0x{zxid:x}");
                    self.stop_disk(st).await;
                    self.disk
                        .truncate(zxid)
                        .await
                        .unwrap_or_else(|why| fatal(&why));
                    self.reload(st).await;
                }
                PeerOutput::Reload => {
                    self.stop_disk(st).await;
                    self.reload(st).await;
                }
                PeerOutput::SendSnap { to, zxid } => {
                    let server = self.peer.server();
                    let mut bytes = Vec::new();
                    let sessions = server.session_timeouts();
                    if let Err(e) = crate::quorum::wire::snap_stream::write_snap_stream(
                        &mut bytes,
                        server.tree(),
                        &sessions,
                    ) {
                        tracing::error!(to, "cannot serialize the SNAP: {e}");
                        st.conns.remove(&to);
                        continue;
                    }
                    tracing::info!(to, "sending SNAP 0x{zxid:x} ({} bytes)", bytes.len());
                    send(
                        st,
                        to,
                        WriteCmd::Snap {
                            zxid,
                            stream: bytes.into(),
                        },
                    );
                }
                PeerOutput::ServeClients(on) => {
                    tracing::info!("{} clients", if on { "serving" } else { "not serving" });
                }
                PeerOutput::StateChanged(state) => {
                    tracing::info!("peer state: {}", state_name(state));
                    st.acceptors.clear();
                    if state == ServerState::Leading {
                        self.listen_for_learners(st).await;
                    }
                }
            }
        }
    }

    /// Client actions, as the standalone runner delivers them: a connection
    /// whose queue is full or gone is dropped and the core told.
    fn client_output(&mut self, st: &mut State, o: crate::core::Output) {
        use crate::core::Output;
        let (conn, cmd) = match o {
            Output::Send { conn, frame } => (conn, ConnCommand::Send(frame)),
            Output::Close { conn, reason } => (conn, ConnCommand::Close(reason)),
            // The peer routes these itself.
            Output::Persist { .. } | Output::Quorum(_) => return,
        };
        let Some(tx) = st.clients.get(&conn) else {
            return;
        };
        let closing = matches!(cmd, ConnCommand::Close(_));
        if tx.try_send(cmd).is_err() {
            tracing::warn!(
                conn,
                "closing connection: its outbound queue is full or gone"
            );
            st.clients.remove(&conn);
            st.pending
                .push_back(PeerInput::Client(Input::Closed { conn }));
        } else if closing {
            st.clients.remove(&conn);
        }
    }

    /// Opens the quorum port for learners (a failure is logged: without
    /// learners the leader gives up after `initLimit`).
    async fn listen_for_learners(&mut self, st: &mut State) {
        for addr in &self.quorum_listen {
            match tokio::net::TcpListener::bind(addr).await {
                Ok(listener) => {
                    tracing::info!("leading: accepting learners on {addr}");
                    let accept = self
                        .net
                        .clone()
                        .accept_learners(listener, self.identify_timeout);
                    st.acceptors.push(AbortOnDrop(tokio::spawn(accept)));
                }
                Err(e) => tracing::error!("cannot listen for learners on {addr}: {e}"),
            }
        }
    }

    /// Stops the log and any snapshot being written.
    async fn stop_disk(&mut self, st: &mut State) {
        st.snapshot.settle().await;
        self.disk.stop_log().await.unwrap_or_else(|why| fatal(&why));
    }

    fn start_disk(&mut self) {
        self.disk.start_log().unwrap_or_else(|why| fatal(&why));
    }

    /// Reads the history back (log stopped), restarts the log, and queues
    /// `Reloaded` ahead of every other input.
    async fn reload(&mut self, st: &mut State) {
        let loaded = self.disk.load().await.unwrap_or_else(|why| fatal(&why));
        self.start_disk();
        st.pending.push_front(PeerInput::Reloaded(loaded));
    }
}

/// Whether `gen` is still the connection with `sid`.
fn current(st: &State, sid: Sid, gen: u64) -> bool {
    st.conns.get(&sid).is_some_and(|c| c.gen == gen)
}

/// Queues `cmd` on the connection with `to`; a connection that cannot take
/// it is dropped (the Zab layer then sees it disconnect).
fn send(st: &mut State, to: Sid, cmd: WriteCmd) {
    let Some(conn) = st.conns.get(&to) else {
        return;
    };
    if let Err(e) = conn.tx.try_send(cmd) {
        match e {
            mpsc::error::TrySendError::Full(_) => {
                tracing::warn!(to, "quorum connection's send queue is full; closing it")
            }
            mpsc::error::TrySendError::Closed(_) => {
                tracing::info!(to, "quorum connection already closed")
            }
        }
        st.conns.remove(&to);
        st.pending
            .push_back(PeerInput::QuorumDisconnected { sid: to });
    }
}

/// `QuorumPeer.ServerState` as Apache logs it.
pub fn state_name(s: ServerState) -> &'static str {
    match s {
        ServerState::Looking => "LOOKING",
        ServerState::Following => "FOLLOWING",
        ServerState::Leading => "LEADING",
        ServerState::Observing => "OBSERVING",
    }
}
