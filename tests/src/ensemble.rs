//! A ZooKeeper ensemble of real processes on 127.0.0.1 for the ensemble
//! tests: each member is our `zkserver` or Apache ZooKeeper 3.8.0's
//! `QuorumPeerMain`, started, SIGKILLed, SIGSTOPped/SIGCONTed and
//! restarted on its own data directory by the test.
//!
//! - Every member gets three free ports of 127.0.0.1 (quorum, election,
//!   client). All members share one config text (`tickTime`, limits,
//!   `server.N=127.0.0.1:QP:EP;127.0.0.1:CP` lines, ...); only `dataDir`
//!   differs. The layout is `<root>/n<sid>/{zoo.cfg, server.log, data/myid}`
//!   (Apache's JVM writes its stdout/stderr to `n<sid>/server.out`).
//! - [`Ensemble::mode`] asks `srvr`: `Mode: leader|follower|observer` while
//!   serving, "not currently serving requests" while electing or syncing.
//! - [`Ensemble::wait_for_leader`] polls (bounded in time and count) until
//!   exactly one member reports leader and every other running member
//!   follower or observer. A member that exits by itself fails every wait
//!   at once, with its log; so does one that keeps answering `Mode:
//!   standalone` for a few seconds (it is not running as a member).
//! - Every process is killed by pid (SIGKILL) when the [`Ensemble`] is
//!   dropped, also while a test panics; then the root directory is removed,
//!   unless the thread is panicking or `ZK_KEEP_DIRS` is set: then it is
//!   kept and printed.
//! - Failure messages ([`Ensemble::describe`]) carry every member's state,
//!   mode and log tail.
//! - [`Ensemble::new_placed`] puts members elsewhere: each on an address of
//!   its own and, optionally, inside a network namespace (started as `ip
//!   netns exec <ns> <program> ...`, which execs the program in place, so
//!   the pid is still the server's); such members use the fixed ports
//!   2888, 3888 and 2181 of their address (see [`crate::netns`]).
//!
//! Environment: `ZK_LOG` sets our servers' log filter (default `info`);
//! `ZK_SERVER_BIN` the binary (see [`servers::our_binary`]).
//!
//! The client-side helpers ([`connect`], [`synced_tree`], [`diff_trees`])
//! read a member's whole tree (after a `sync`) for comparisons.

use crate::reference_peer::{reference_classpath, write_log4j};
use crate::servers;
use bytes::Bytes;
use std::collections::BTreeMap;
use std::ffi::OsString;
use std::fmt::Write as _;
use std::io::Write as _;
use std::net::{IpAddr, Ipv4Addr, SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use zk_client::{op, Client, OpResult, Stat, ZkError};

/// `tickTime` of the ensembles, in ms.
pub const TICK_MS: u64 = 200;
/// `initLimit`, in ticks.
pub const INIT_LIMIT: u64 = 10;
/// `syncLimit`, in ticks.
pub const SYNC_LIMIT: u64 = 5;
/// `maxSessionTimeout`: well above any outage a test causes, so sessions
/// survive leader changes (the default, 20 ticks, would be 4 s).
pub const MAX_SESSION_TIMEOUT_MS: u64 = 30_000;
/// How often waits poll `srvr`.
const POLL: Duration = Duration::from_millis(100);
/// How long [`Ensemble::wait_for_leader`] tolerates a member that answers
/// `Mode: standalone`.
const STANDALONE_GRACE: Duration = Duration::from_secs(3);
/// Log lines per member in a failure message.
const TAIL_LINES: usize = 25;

/// Which implementation a member runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Our `zkserver`.
    Ours,
    /// Apache ZooKeeper 3.8.0 (`QuorumPeerMain`).
    Apache,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Ours => "ours",
            Kind::Apache => "apache",
        }
    }
}

/// What a member's `srvr` says.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Mode {
    Leader,
    Follower,
    Observer,
    /// `Mode: standalone`: not an ensemble member at all.
    Standalone,
    /// "This ZooKeeper instance is not currently serving requests"
    /// (electing, or syncing with the leader).
    NotServing,
    /// No answer (not listening, stopped, or closed without a word).
    Unreachable,
    /// Any other answer, verbatim.
    Other(String),
}

impl Mode {
    /// Parses a `srvr` reply.
    pub fn from_srvr(reply: &str) -> Mode {
        if reply.is_empty() {
            return Mode::Unreachable;
        }
        if reply.contains("not currently serving requests") {
            return Mode::NotServing;
        }
        match reply
            .lines()
            .find_map(|l| l.strip_prefix("Mode: "))
            .map(str::trim)
        {
            Some("leader") => Mode::Leader,
            Some("follower") => Mode::Follower,
            Some("observer") => Mode::Observer,
            Some("standalone") => Mode::Standalone,
            _ => Mode::Other(reply.trim().to_string()),
        }
    }

    /// A serving member of an ensemble (leader, follower or observer).
    pub fn is_serving_member(&self) -> bool {
        matches!(self, Mode::Leader | Mode::Follower | Mode::Observer)
    }
}

/// The process state of a member, as the harness knows it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum State {
    NotStarted,
    Running,
    /// SIGSTOPped by the test.
    Paused,
    /// SIGKILLed by the test.
    Killed,
    /// Exited by itself (always a failure in these tests).
    Exited(String),
}

/// The ports of one member.
#[derive(Debug, Clone, Copy)]
pub struct Ports {
    pub quorum: u16,
    pub election: u16,
    pub client: u16,
}

/// Where a member runs (see [`Ensemble::new_placed`]).
#[derive(Debug, Clone)]
pub struct Placement {
    /// The address its quorum, election and client ports are on.
    pub host: IpAddr,
    /// The network namespace (an `ip netns` name) its process runs in.
    pub netns: Option<String>,
}

impl Placement {
    /// 127.0.0.1 in the test's own namespace (the default).
    pub fn loopback() -> Placement {
        Placement {
            host: IpAddr::V4(Ipv4Addr::LOCALHOST),
            netns: None,
        }
    }
}

/// The ports of members that have an address of their own.
const PLACED_PORTS: Ports = Ports {
    quorum: 2888,
    election: 3888,
    client: 2181,
};

struct Member {
    sid: u64,
    kind: Kind,
    host: IpAddr,
    netns: Option<String>,
    ports: Ports,
    dir: PathBuf,
    child: Option<Child>,
    state: State,
    starts: u32,
}

impl Member {
    fn log_path(&self) -> PathBuf {
        self.dir.join("server.log")
    }

    fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Notices a process that exited by itself.
    fn refresh(&mut self) {
        if !matches!(self.state, State::Running | State::Paused) {
            return;
        }
        if let Some(child) = self.child.as_mut() {
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                self.state = State::Exited(status.to_string());
            }
        }
    }

    fn log_tail(&self, n: usize) -> String {
        let mut out = tail(&self.log_path(), n);
        if self.kind == Kind::Apache {
            let extra = tail(&self.dir.join("server.out"), 10);
            if !extra.trim().is_empty() {
                out.push_str("\n  [server.out]\n");
                out.push_str(&extra);
            }
        }
        out
    }
}

fn tail(path: &Path, n: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

/// Sends a signal to a process by pid (`kill -SIG pid`).
fn signal(pid: u32, sig: &str) -> Result<(), String> {
    let status = Command::new("kill")
        .arg(format!("-{sig}"))
        .arg(pid.to_string())
        .stdin(Stdio::null())
        .status()
        .map_err(|e| format!("kill -{sig} {pid}: {e}"))?;
    if status.success() {
        Ok(())
    } else {
        Err(format!("kill -{sig} {pid}: {status}"))
    }
}

/// Distinct free ports of 127.0.0.1: all bound at once, then released.
fn distinct_free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0"))
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().expect("local addr").port())
        .collect()
}

/// N members on 127.0.0.1; see the module docs.
pub struct Ensemble {
    name: String,
    root: PathBuf,
    members: Vec<Member>,
    /// The config lines every member shares (everything but `dataDir`).
    common_cfg: String,
}

impl Ensemble {
    /// Writes the configs of `kinds.len()` members (sid 1.. in order) with
    /// `extra_cfg` lines appended, starts none of them.
    pub fn new(name: &str, kinds: &[Kind], extra_cfg: &[&str]) -> Ensemble {
        let loopback = vec![Placement::loopback(); kinds.len()];
        Ensemble::new_placed(name, kinds, extra_cfg, &loopback)
    }

    /// [`new`](Self::new) with each member placed as `placements` says (in
    /// sid order): a member on 127.0.0.1 outside any namespace gets free
    /// ports as with `new`; any other uses ports 2888, 3888 and 2181 of its
    /// own address.
    pub fn new_placed(
        name: &str,
        kinds: &[Kind],
        extra_cfg: &[&str],
        placements: &[Placement],
    ) -> Ensemble {
        assert!(!kinds.is_empty(), "an ensemble needs members");
        assert_eq!(kinds.len(), placements.len(), "one placement per member");
        let root = servers::fresh_dir(&format!("ens-{name}"));
        let ports = distinct_free_ports(3 * kinds.len());
        let members: Vec<Member> = kinds
            .iter()
            .zip(placements)
            .enumerate()
            .map(|(i, (&kind, place))| Member {
                sid: i as u64 + 1,
                kind,
                host: place.host,
                netns: place.netns.clone(),
                ports: if place.host.is_loopback() && place.netns.is_none() {
                    Ports {
                        quorum: ports[3 * i],
                        election: ports[3 * i + 1],
                        client: ports[3 * i + 2],
                    }
                } else {
                    PLACED_PORTS
                },
                dir: root.join(format!("n{}", i + 1)),
                child: None,
                state: State::NotStarted,
                starts: 0,
            })
            .collect();
        let mut common_cfg = format!(
            "tickTime={TICK_MS}\ninitLimit={INIT_LIMIT}\nsyncLimit={SYNC_LIMIT}\n\
             maxSessionTimeout={MAX_SESSION_TIMEOUT_MS}\nmaxClientCnxns=0\n\
             4lw.commands.whitelist=*\nadmin.enableServer=false\n"
        );
        for m in &members {
            let _ = writeln!(
                common_cfg,
                "server.{}={host}:{}:{};{host}:{}",
                m.sid,
                m.ports.quorum,
                m.ports.election,
                m.ports.client,
                host = m.host
            );
        }
        for line in extra_cfg {
            common_cfg.push_str(line);
            common_cfg.push('\n');
        }
        for m in &members {
            let data = m.dir.join("data");
            std::fs::create_dir_all(&data).expect("member data dir");
            std::fs::write(data.join("myid"), format!("{}\n", m.sid)).expect("myid");
            std::fs::write(
                m.dir.join("zoo.cfg"),
                format!("dataDir={}\n{common_cfg}", data.display()),
            )
            .expect("zoo.cfg");
            if m.kind == Kind::Apache {
                write_log4j(&m.dir.join("log4j.properties"), &m.log_path());
            }
        }
        let ens = Ensemble {
            name: name.to_string(),
            root,
            members,
            common_cfg,
        };
        println!(
            "ensemble {}: {} in {}",
            ens.name,
            ens.members
                .iter()
                .map(|m| match &m.netns {
                    Some(ns) => format!("{}={}@{}({ns})", m.sid, m.kind.name(), m.host),
                    None => format!("{}={}", m.sid, m.kind.name()),
                })
                .collect::<Vec<_>>()
                .join(" "),
            ens.root.display()
        );
        ens
    }

    /// [`new`](Self::new), then starts every member.
    pub fn start(name: &str, kinds: &[Kind]) -> Ensemble {
        let mut ens = Ensemble::new(name, kinds, &[]);
        for sid in ens.sids() {
            ens.start_member(sid);
        }
        ens
    }

    /// Where everything is.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// The shared config text (without `dataDir`).
    pub fn common_cfg(&self) -> &str {
        &self.common_cfg
    }

    /// Every member's sid, ascending.
    pub fn sids(&self) -> Vec<u64> {
        self.members.iter().map(|m| m.sid).collect()
    }

    fn member(&self, sid: u64) -> &Member {
        self.members
            .iter()
            .find(|m| m.sid == sid)
            .unwrap_or_else(|| panic!("ensemble {}: no member {sid}", self.name))
    }

    fn member_mut(&mut self, sid: u64) -> &mut Member {
        let name = self.name.clone();
        self.members
            .iter_mut()
            .find(|m| m.sid == sid)
            .unwrap_or_else(|| panic!("ensemble {name}: no member {sid}"))
    }

    pub fn kind(&self, sid: u64) -> Kind {
        self.member(sid).kind
    }

    pub fn ports(&self, sid: u64) -> Ports {
        self.member(sid).ports
    }

    /// The member's directory (`zoo.cfg`, `server.log`, `data/`).
    pub fn dir(&self, sid: u64) -> PathBuf {
        self.member(sid).dir.clone()
    }

    pub fn pid(&self, sid: u64) -> Option<u32> {
        self.member(sid).pid()
    }

    pub fn client_addr(&self, sid: u64) -> SocketAddr {
        let m = self.member(sid);
        SocketAddr::new(m.host, m.ports.client)
    }

    /// The network namespace the member runs in, if any.
    pub fn netns(&self, sid: u64) -> Option<&str> {
        self.member(sid).netns.as_deref()
    }

    /// `first`'s client address, then the other members' (a client tries
    /// them in this order).
    pub fn connect_string(&self, first: u64) -> String {
        let mut hosts = vec![self.client_addr(first).to_string()];
        for m in &self.members {
            if m.sid != first {
                hosts.push(self.client_addr(m.sid).to_string());
            }
        }
        hosts.join(",")
    }

    /// The member's process state (noticing one that exited by itself).
    pub fn state(&mut self, sid: u64) -> State {
        let m = self.member_mut(sid);
        m.refresh();
        m.state.clone()
    }

    /// Running or paused (a process of ours exists).
    pub fn is_up(&mut self, sid: u64) -> bool {
        matches!(self.state(sid), State::Running | State::Paused)
    }

    /// Starts the member (first start or restart) on its config and data
    /// directory; does not wait for it.
    pub fn start_member(&mut self, sid: u64) {
        let state = self.state(sid);
        assert!(
            !matches!(state, State::Running | State::Paused),
            "ensemble {}: member {sid} is already up ({state:?})",
            self.name
        );
        let m = self.member_mut(sid);
        m.starts += 1;
        let start_no = m.starts;
        let log_path = m.log_path();
        let mut log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&log_path)
            .expect("member log");
        let _ = writeln!(log, "==== harness: start #{start_no} of member {sid} ====");
        let cfg = m.dir.join("zoo.cfg");
        // The program and its arguments; run as is, or through `ip netns
        // exec` (which execs it in place: same pid).
        let (program, args): (OsString, Vec<OsString>) = match m.kind {
            Kind::Ours => (
                servers::our_binary().expect("zkserver binary").into(),
                vec!["start-foreground".into(), cfg.clone().into()],
            ),
            Kind::Apache => {
                if let Some(why) = servers::reference_missing() {
                    panic!("ensemble {}: member {sid} needs Apache: {why}", self.name);
                }
                let mut args: Vec<OsString> = [
                    "-Xmx256m",
                    "-XX:+UseSerialGC",
                    "-XX:TieredStopAtLevel=1",
                    "-Dzookeeper.admin.enableServer=false",
                ]
                .map(OsString::from)
                .to_vec();
                args.push(
                    format!(
                        "-Dlog4j.configuration=file:{}",
                        m.dir.join("log4j.properties").display()
                    )
                    .into(),
                );
                args.push(format!("-Dzookeeper.log.dir={}", m.dir.display()).into());
                args.push("-cp".into());
                args.push(reference_classpath().into());
                args.push("org.apache.zookeeper.server.quorum.QuorumPeerMain".into());
                args.push(cfg.clone().into());
                ("java".into(), args)
            }
        };
        let mut cmd = match &m.netns {
            Some(ns) => {
                let mut c = Command::new("ip");
                c.args(["netns", "exec", ns.as_str()])
                    .arg(&program)
                    .args(&args);
                c
            }
            None => {
                let mut c = Command::new(&program);
                c.args(&args);
                c
            }
        };
        match m.kind {
            Kind::Ours => {
                if std::env::var_os("ZK_LOG").is_none() {
                    cmd.env("ZK_LOG", "info");
                }
                let err = log.try_clone().expect("log file");
                cmd.stdout(log).stderr(err);
            }
            Kind::Apache => {
                let out = std::fs::OpenOptions::new()
                    .create(true)
                    .append(true)
                    .open(m.dir.join("server.out"))
                    .expect("server.out");
                cmd.stdout(Stdio::null()).stderr(out);
            }
        }
        cmd.stdin(Stdio::null()).current_dir(&m.dir);
        let child = cmd
            .spawn()
            .unwrap_or_else(|e| panic!("spawn member {sid} ({}): {e}", m.kind.name()));
        m.child = Some(child);
        m.state = State::Running;
    }

    /// SIGKILL by pid, then reap.
    pub fn kill(&mut self, sid: u64) {
        let m = self.member_mut(sid);
        if let Some(mut child) = m.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
        m.state = State::Killed;
    }

    /// SIGSTOP by pid.
    pub fn pause(&mut self, sid: u64) {
        let state = self.state(sid);
        assert_eq!(state, State::Running, "pause member {sid}");
        let pid = self.pid(sid).expect("running member has a pid");
        if let Err(e) = signal(pid, "STOP") {
            self.fail(&e);
        }
        self.member_mut(sid).state = State::Paused;
    }

    /// SIGCONT by pid.
    pub fn resume(&mut self, sid: u64) {
        let state = self.state(sid);
        assert_eq!(state, State::Paused, "resume member {sid}");
        let pid = self.pid(sid).expect("paused member has a pid");
        if let Err(e) = signal(pid, "CONT") {
            self.fail(&e);
        }
        self.member_mut(sid).state = State::Running;
    }

    /// Switches a member that is down to the other implementation, on the
    /// same config and data directory (a rolling migration's step).
    pub fn set_kind(&mut self, sid: u64, kind: Kind) {
        let state = self.state(sid);
        assert!(
            !matches!(state, State::Running | State::Paused),
            "ensemble {}: member {sid} must be down to change kind ({state:?})",
            self.name
        );
        let m = self.member_mut(sid);
        if kind == Kind::Apache {
            write_log4j(&m.dir.join("log4j.properties"), &m.log_path());
        }
        m.kind = kind;
    }

    /// Kills the member if it is up, then starts it again on the same
    /// config and data directory.
    pub fn restart(&mut self, sid: u64) {
        if self.is_up(sid) {
            self.kill(sid);
        }
        self.start_member(sid);
    }

    /// The member's mode by `srvr` (a paused or dead member is not asked:
    /// [`Mode::Unreachable`]).
    pub fn mode(&mut self, sid: u64) -> Mode {
        if self.state(sid) != State::Running {
            return Mode::Unreachable;
        }
        Mode::from_srvr(&servers::four_letter(self.client_addr(sid), "srvr"))
    }

    /// The `Zxid: 0x...` of the member's `srvr`, if it answers one.
    pub fn zxid(&mut self, sid: u64) -> Option<i64> {
        if self.state(sid) != State::Running {
            return None;
        }
        servers::four_letter(self.client_addr(sid), "srvr")
            .lines()
            .find_map(|l| l.strip_prefix("Zxid: 0x"))
            .and_then(|h| i64::from_str_radix(h.trim(), 16).ok())
    }

    /// The last `n` lines of the member's log.
    pub fn log_tail(&self, sid: u64, n: usize) -> String {
        self.member(sid).log_tail(n)
    }

    /// The member's whole log so far.
    pub fn log(&self, sid: u64) -> String {
        std::fs::read_to_string(self.member(sid).log_path()).unwrap_or_default()
    }

    /// Every member: kind, pid, state, mode, and its log tail.
    pub fn describe(&mut self) -> String {
        let mut out = format!("ensemble {} in {}:\n", self.name, self.root.display());
        for sid in self.sids() {
            let state = self.state(sid);
            let mode = if state == State::Running {
                format!("{:?}", self.mode(sid))
            } else {
                "-".to_string()
            };
            let m = self.member(sid);
            let _ = writeln!(
                out,
                "member {sid} ({}, pid {:?}, {}{} ports q{} e{} c{}, started {}x): {state:?}, \
                 mode {mode}",
                m.kind.name(),
                m.pid(),
                m.host,
                m.netns
                    .as_ref()
                    .map(|ns| format!(" in netns {ns},"))
                    .unwrap_or_default(),
                m.ports.quorum,
                m.ports.election,
                m.ports.client,
                m.starts
            );
        }
        for sid in self.sids() {
            let m = self.member(sid);
            let _ = writeln!(
                out,
                "---- member {sid} ({}) log tail ({}):\n{}",
                m.kind.name(),
                m.log_path().display(),
                m.log_tail(TAIL_LINES)
            );
        }
        out
    }

    /// Every member's mode, in one line (for progress output).
    pub fn modes(&mut self) -> String {
        self.sids()
            .into_iter()
            .map(|sid| {
                let state = self.state(sid);
                let what = match state {
                    State::Running => format!("{:?}", self.mode(sid)),
                    other => format!("{other:?}"),
                };
                format!("{sid}:{what}")
            })
            .collect::<Vec<_>>()
            .join(" ")
    }

    /// Panics with `msg` and [`describe`](Self::describe).
    pub fn fail(&mut self, msg: &str) -> ! {
        let description = self.describe();
        panic!("{msg}\n{description}")
    }

    /// The value, or a panic with the error and [`describe`](Self::describe).
    pub fn check<T>(&mut self, what: &str, result: Result<T, String>) -> T {
        match result {
            Ok(v) => v,
            Err(e) => self.fail(&format!("{what}: {e}")),
        }
    }

    /// Members that exited by themselves, with their status.
    fn exited(&mut self) -> Vec<(u64, String)> {
        self.sids()
            .into_iter()
            .filter_map(|sid| match self.state(sid) {
                State::Exited(status) => Some((sid, status)),
                _ => None,
            })
            .collect()
    }

    /// Polls until exactly one running member reports leader and every
    /// other running member follower or observer; returns the leader's sid.
    /// Paused and killed members are not asked. Fails at once if a member
    /// exited by itself.
    pub fn wait_for_leader(&mut self, timeout: Duration) -> Result<u64, String> {
        let all = self.sids();
        self.wait_for_leader_among(&all, timeout)
    }

    /// [`wait_for_leader`](Self::wait_for_leader) asking only the members
    /// in `sids` (e.g. the majority side of a partition).
    pub fn wait_for_leader_among(
        &mut self,
        sids: &[u64],
        timeout: Duration,
    ) -> Result<u64, String> {
        let started = Instant::now();
        let max_polls = (timeout.as_millis() / POLL.as_millis()).max(1) + 1;
        let mut last = String::new();
        let mut standalone_since: Option<Instant> = None;
        for _ in 0..max_polls {
            let exited = self.exited();
            if !exited.is_empty() {
                return Err(format!("members exited by themselves: {exited:?}"));
            }
            let mut leaders = Vec::new();
            let mut all_serving = true;
            let mut any_standalone = false;
            let mut seen = Vec::new();
            for &sid in sids {
                if self.state(sid) != State::Running {
                    continue;
                }
                let mode = self.mode(sid);
                if mode == Mode::Leader {
                    leaders.push(sid);
                }
                all_serving &= mode.is_serving_member();
                any_standalone |= mode == Mode::Standalone;
                seen.push(format!("{sid}:{mode:?}"));
            }
            last = seen.join(" ");
            // A member of an ensemble config never serves standalone (nor
            // does Apache's): one that keeps doing so will not elect.
            standalone_since = match (any_standalone, standalone_since) {
                (false, _) => None,
                (true, None) => Some(Instant::now()),
                (true, Some(t)) if t.elapsed() > STANDALONE_GRACE => {
                    return Err(format!(
                        "members serve standalone for {STANDALONE_GRACE:?} on an ensemble \
                         config ({last})"
                    ));
                }
                (true, since) => since,
            };
            if all_serving && leaders.len() == 1 {
                println!(
                    "ensemble {}: leader {} after {:.1}s ({last})",
                    self.name,
                    leaders[0],
                    started.elapsed().as_secs_f64()
                );
                return Ok(leaders[0]);
            }
            if started.elapsed() > timeout {
                break;
            }
            std::thread::sleep(POLL);
        }
        Err(format!(
            "no single leader with all running members serving after {:.1}s; last modes: {last}",
            started.elapsed().as_secs_f64()
        ))
    }

    /// Polls until the member reports `want`.
    pub fn wait_for_mode(&mut self, sid: u64, want: Mode, timeout: Duration) -> Result<(), String> {
        let started = Instant::now();
        let max_polls = (timeout.as_millis() / POLL.as_millis()).max(1) + 1;
        let mut last = Mode::Unreachable;
        let mut standalone_since: Option<Instant> = None;
        for _ in 0..max_polls {
            if let State::Exited(status) = self.state(sid) {
                return Err(format!("member {sid} exited by itself ({status})"));
            }
            last = self.mode(sid);
            if last == Mode::Standalone && want != Mode::Standalone {
                let since = *standalone_since.get_or_insert_with(Instant::now);
                if since.elapsed() > STANDALONE_GRACE {
                    return Err(format!(
                        "member {sid} serves standalone on an ensemble config"
                    ));
                }
            } else {
                standalone_since = None;
            }
            if last == want {
                println!(
                    "ensemble {}: member {sid} is {want:?} after {:.1}s",
                    self.name,
                    started.elapsed().as_secs_f64()
                );
                return Ok(());
            }
            if started.elapsed() > timeout {
                break;
            }
            std::thread::sleep(POLL);
        }
        Err(format!(
            "member {sid} is not {want:?} after {:.1}s (last: {last:?})",
            started.elapsed().as_secs_f64()
        ))
    }
}

impl Drop for Ensemble {
    fn drop(&mut self) {
        for m in &mut self.members {
            if let Some(mut child) = m.child.take() {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
        if std::thread::panicking() || std::env::var_os("ZK_KEEP_DIRS").is_some() {
            eprintln!(
                "ensemble {}: kept {} (member logs: n<sid>/server.log)",
                self.name,
                self.root.display()
            );
        } else {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }
}

// ---------------------------------------------------------------------------
// Clients.

/// How long one client call may take.
pub const OP_TIMEOUT: Duration = Duration::from_secs(10);
/// The session timeout the clients ask for (below [`MAX_SESSION_TIMEOUT_MS`]).
pub const SESSION_TIMEOUT: Duration = Duration::from_secs(20);

/// A call bounded by [`OP_TIMEOUT`], its failure as text.
pub async fn call<T>(
    what: &str,
    fut: impl std::future::Future<Output = Result<T, ZkError>>,
) -> Result<T, String> {
    match tokio::time::timeout(OP_TIMEOUT, fut).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(format!("{what}: {e}")),
        Err(_) => Err(format!("{what}: no reply in {OP_TIMEOUT:?}")),
    }
}

/// A new session on `connect_string`, retried (a member that is syncing
/// refuses sessions) until `timeout`.
pub async fn connect(connect_string: &str, timeout: Duration) -> Result<Client, String> {
    let deadline = Instant::now() + timeout;
    let mut last = String::new();
    for _ in 0..1000 {
        let attempt = Client::builder(connect_string)
            .session_timeout(SESSION_TIMEOUT)
            .connect_timeout(Duration::from_secs(3))
            .connect();
        match tokio::time::timeout(OP_TIMEOUT, attempt).await {
            Ok(Ok(c)) => return Ok(c),
            Ok(Err(e)) => last = e.to_string(),
            Err(_) => last = format!("no handshake in {OP_TIMEOUT:?}"),
        }
        if Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(format!("connect to {connect_string}: {last}"))
}

/// Resumes the client's session on a new connection (its connect string's
/// hosts in order), retried until `timeout`.
pub async fn reconnect(client: &Client, timeout: Duration) -> Result<(), String> {
    let deadline = Instant::now() + timeout;
    let mut last = String::new();
    for _ in 0..1000 {
        match tokio::time::timeout(OP_TIMEOUT, client.reconnect()).await {
            Ok(Ok(())) => return Ok(()),
            Ok(Err(e @ (ZkError::SessionExpired | ZkError::Closed))) => {
                return Err(format!("reconnect session {:#x}: {e}", client.session_id()))
            }
            Ok(Err(e)) => last = e.to_string(),
            Err(_) => last = format!("no handshake in {OP_TIMEOUT:?}"),
        }
        if Instant::now() > deadline {
            break;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    Err(format!(
        "reconnect session {:#x}: {last}",
        client.session_id()
    ))
}

/// One node of a dumped tree.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Node {
    /// `None` is null data (distinct from empty).
    pub data: Option<Bytes>,
    pub stat: Stat,
}

/// A dumped tree, by path.
pub type Tree = BTreeMap<String, Node>;

/// getData ops per multiRead while dumping a tree.
const READ_BATCH: usize = 256;
/// A tree larger than this is a runaway.
const MAX_TREE_NODES: usize = 200_000;

/// Every node (data and Stat) but the `/zookeeper` subtree, whose config
/// node each member writes locally rather than through a txn.
pub async fn dump_tree(client: &Client) -> Result<Tree, String> {
    let mut tree = Tree::new();
    let (data, stat) = call("getData /", client.get_data("/", false)).await?;
    tree.insert("/".to_string(), Node { data, stat });
    let mut parents = vec!["/".to_string()];
    while let Some(parent) = parents.pop() {
        let mut children = call(
            &format!("getChildren {parent}"),
            client.get_children(&parent, false),
        )
        .await?;
        children.sort();
        let prefix = if parent == "/" { "" } else { parent.as_str() };
        let paths: Vec<String> = children
            .iter()
            .map(|c| format!("{prefix}/{c}"))
            .filter(|p| p != "/zookeeper")
            .collect();
        for chunk in paths.chunks(READ_BATCH) {
            let ops = chunk.iter().map(|p| op::get_data(p)).collect();
            let results =
                call(&format!("multiRead under {parent}"), client.multi_read(ops)).await?;
            if results.len() != chunk.len() {
                return Err(format!(
                    "multiRead of {} paths under {parent} gave {} results",
                    chunk.len(),
                    results.len()
                ));
            }
            for (path, result) in chunk.iter().zip(results) {
                match result {
                    OpResult::GetData { data, stat } => {
                        if stat.num_children > 0 {
                            parents.push(path.clone());
                        }
                        tree.insert(path.clone(), Node { data, stat });
                    }
                    other => return Err(format!("getData {path} in a multiRead: {other:?}")),
                }
            }
            if tree.len() > MAX_TREE_NODES {
                return Err(format!("more than {MAX_TREE_NODES} nodes"));
            }
        }
    }
    Ok(tree)
}

/// Connects to `addr` alone (a new session), `sync`s, dumps the tree and
/// closes the session.
pub async fn synced_tree(addr: SocketAddr, connect_timeout: Duration) -> Result<Tree, String> {
    let client = connect(&addr.to_string(), connect_timeout).await?;
    let result = async {
        call(&format!("sync / on {addr}"), client.sync("/")).await?;
        dump_tree(&client).await
    }
    .await;
    let _ = tokio::time::timeout(OP_TIMEOUT, client.close()).await;
    result.map_err(|e| format!("{addr}: {e}"))
}

fn show(node: Option<&Node>) -> String {
    match node {
        None => "absent".to_string(),
        Some(n) => {
            let data = match &n.data {
                Some(d) if d.len() > 40 => format!("{:?}...", String::from_utf8_lossy(&d[..40])),
                Some(d) => format!("{:?}", String::from_utf8_lossy(d)),
                None => "null".to_string(),
            };
            format!("data {data} {:?}", n.stat)
        }
    }
}

/// The differences between two trees, at most `max` of them (one line
/// each), plus a count of the rest.
pub fn diff_trees(a_name: &str, a: &Tree, b_name: &str, b: &Tree, max: usize) -> Vec<String> {
    let mut out = Vec::new();
    let mut more = 0usize;
    let mut paths: Vec<&String> = a.keys().chain(b.keys()).collect();
    paths.sort();
    paths.dedup();
    for p in paths {
        let (x, y) = (a.get(p), b.get(p));
        if x != y {
            if out.len() < max {
                out.push(format!(
                    "{p}: {a_name} has {}; {b_name} has {}",
                    show(x),
                    show(y)
                ));
            } else {
                more += 1;
            }
        }
    }
    if more > 0 {
        out.push(format!("... and {more} more differences"));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn srvr_replies_parse() {
        assert_eq!(Mode::from_srvr(""), Mode::Unreachable);
        assert_eq!(
            Mode::from_srvr("This ZooKeeper instance is not currently serving requests\n"),
            Mode::NotServing
        );
        let srvr = "Zookeeper version: 3.8.0\nLatency min/avg/max: 0/0.0/0\nReceived: 1\n\
                    Sent: 0\nConnections: 1\nOutstanding: 0\nZxid: 0x100000002\n\
                    Mode: follower\nNode count: 5\n";
        assert_eq!(Mode::from_srvr(srvr), Mode::Follower);
        assert_eq!(
            Mode::from_srvr(&srvr.replace("follower", "leader")),
            Mode::Leader
        );
        assert_eq!(
            Mode::from_srvr(&srvr.replace("follower", "standalone")),
            Mode::Standalone
        );
        assert!(matches!(Mode::from_srvr("junk"), Mode::Other(_)));
    }

    #[test]
    fn ports_are_distinct() {
        let mut p = distinct_free_ports(30);
        p.sort_unstable();
        p.dedup();
        assert_eq!(p.len(), 30);
    }
}
