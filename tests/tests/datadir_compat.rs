//! Data-directory compatibility with Apache ZooKeeper 3.8.0, both ways: a
//! dataDir written by one implementation, left by a SIGKILL, is loaded by the
//! other, and every client sees the same tree.
//!
//! Two tests, each a seeded workload of a few hundred operations through
//! `zk_client` (persistent, sequential, ephemeral, container and TTL nodes,
//! nested paths, non-ASCII and space in names, data of assorted sizes from
//! null and empty up to 200 KB of random bytes, data on `/`, setData and
//! setACL with right, any (−1) and wrong versions, world / digest / ip /
//! auth ACLs, deletes, successful and failing multis (with container and
//! TTL creates), deliberate error replies (each an error txn), a quota set
//! up as zkCli's `setquota -n` does it (`/zookeeper/quota/app/qt/
//! zookeeper_limits` and `zookeeper_stats`), sessions that close with
//! ephemerals, and two that stay open with ephemerals at the SIGKILL):
//!
//! 1. `ours_datadir_loads_in_reference`: the first half of the workload runs
//!    on our server; SIGKILL; our server restarts on the dataDir (so a
//!    snapshot of a rich tree is written at start-up) and the second half
//!    runs (the open session is resumed with its password and makes more
//!    ephemerals); the tree is dumped; SIGKILL; the reference starts on the
//!    same dataDir and the tree is dumped again. Then one restored session
//!    is closed on the reference: exactly its ephemerals must go.
//! 2. `reference_datadir_loads_in_ours_and_back`: the same with the roles
//!    swapped (the reference's log tail is 64 MB of preallocated zeros; one
//!    of its sessions is closed on ours); then a few more writes on ours (a
//!    new session with ephemerals left open, the restored session making
//!    ephemerals too, one session closing), SIGKILL, and the reference
//!    starts once more on the dataDir: a round trip.
//!
//! Every restart on a dataDir with snapshots must load the newest one (the
//! reference's log names it; ours' info-level log too), not fall back to an
//! older one it could read.
//!
//! After each cross-implementation start:
//! - the server's last zxid (`srvr`, before any client connects) equals the
//!   last zxid of the server that was killed;
//! - the dumped trees are identical: every path, data (null distinct from
//!   empty), the full Stat (czxid, mzxid, ctime, mtime, version, cversion,
//!   aversion, ephemeralOwner, dataLength, numChildren, pzxid), the ACL
//!   (read by a client authenticated as every digest user of the workload,
//!   so digest ids are unmasked where that user has ADMIN, and masked alike
//!   on both sides where not) and the set of child names (sorted: the
//!   order of a Java hash set is not preserved across a restart, even by
//!   the reference itself); on a mismatch the first differing paths are
//!   printed with both sides;
//! - the dump of the server that wrote the dataDir agrees with the
//!   workload's own record of the tree (paths, and ephemeral owners), and
//!   its `zookeeper_stats` holds the live count and bytes of `/app/qt`;
//! - the snapshot the new server wrote at start-up, read by the reference's
//!   `SnapshotFormatter`, has the internal owner of every node (hidden
//!   from clients): 0 for persistent, the session for ephemerals,
//!   0x8000000000000000 for containers, 0xff00000000000000|ttl for TTL
//!   nodes; and every open session with its timeout;
//! - every session left open can be resumed with its id and password and
//!   `getEphemerals` lists exactly its ephemerals.
//!
//! Servers run on free ports of 127.0.0.1 with the container/TTL reaper
//! interval at one hour and TTLs of one day, so nothing is reaped during a
//! test; sessions time out after 30 s, longer than a test. Every process is
//! started by the test and killed by pid (SIGKILL), also on panic. A
//! failing test keeps its directory (printed) with the servers' logs.
//!
//! Needs our binary (`cargo build -p zk-server`, or `ZK_SERVER_BIN`) and
//! the reference (`scripts/install-test-deps.sh`). Environment:
//! `ZK_DATADIR_SEED` (the workload seed), `ZK_KEEP_DIRS=1` (keep the
//! directories of passing tests too), `ZK_LOG` (our server's log filter,
//! default `info`; another value skips the check of which snapshot ours
//! loaded).

use bytes::Bytes;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::future::Future;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use zk_client::jute::data::perms;
use zk_client::{digest_acl, op, Acl, Client, CreateMode, ErrorCode, MultiOp, OpResult, Stat};
use zk_client::{ZkError, NO_DATA};
use zk_tests::servers::{self, Kind};

/// How long one client call may take.
const OP_TIMEOUT: Duration = Duration::from_secs(10);
/// How long a server may take to serve after it was started.
const START_TIMEOUT: Duration = Duration::from_secs(40);
/// How long the reference's SnapshotFormatter may run.
const FORMATTER_TIMEOUT: Duration = Duration::from_secs(60);
/// Session timeout every client asks for: longer than a test.
const SESSION_TIMEOUT: Duration = Duration::from_secs(30);
/// TTL of the TTL nodes: never reached during a test.
const TTL_MS: i64 = 86_400_000;
/// Reaper interval (`znode.container.checkIntervalMs`): never reached.
const CONTAINER_CHECK_MS: u64 = 3_600_000;
/// Internal owner of a container (`EphemeralType.CONTAINER_EPHEMERAL_OWNER`).
const CONTAINER_OWNER: u64 = 0x8000_0000_0000_0000;
/// Internal owner of a TTL node is this | ttl (`EphemeralType.TTL`).
const TTL_OWNER_BITS: u64 = 0xff00_0000_0000_0000;
/// Random operations per workload half.
const OPS_PER_HALF: usize = 150;
/// Random operations of the round trip's writes on ours.
const OPS_ROUND_TRIP: usize = 40;
/// Parents deeper than this get no more children.
const MAX_DEPTH: usize = 6;
/// A tree larger than this is a runaway.
const MAX_TREE_NODES: usize = 100_000;
/// Differences listed in a failure.
const MAX_LISTED: usize = 15;
/// Default workload seeds.
const SEED_OURS_TO_REF: u64 = 0x5eed_0001;
const SEED_REF_TO_OURS: u64 = 0x5eed_0002;

/// The digest users of the workload (user, password).
const USERS: [(&str, &str); 2] = [("alice", "alice-secret"), ("bob", "bob-secret")];
const ALICE: usize = 0;
const BOB: usize = 1;

/// Nodes the random operations never delete (the workload's skeleton).
const PROTECTED: [&str; 7] = [
    "/app",
    "/app/qt",
    "/seq",
    "/containers",
    "/ttl",
    "/acl",
    "/deep",
];

// ---------------------------------------------------------------------------
// Server processes.

/// A server process started by this test; SIGKILLed (by pid) when dropped.
struct Server {
    kind: Kind,
    name: String,
    addr: SocketAddr,
    logs: Vec<PathBuf>,
    child: Option<Child>,
}

impl Server {
    /// SIGKILL (`Child::kill` sends SIGKILL to the child's pid), then reap.
    fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn log_tail(&self, n: usize) -> String {
        let mut out = String::new();
        for log in &self.logs {
            let text = std::fs::read_to_string(log).unwrap_or_default();
            let lines: Vec<&str> = text.lines().collect();
            let _ = writeln!(out, "--- {} (last {n} lines)", log.display());
            for line in &lines[lines.len().saturating_sub(n)..] {
                let _ = writeln!(out, "{line}");
            }
        }
        out
    }

    fn describe(&self) -> String {
        format!("{} ({}, {})", self.name, self.kind.name(), self.addr)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

fn jar_classpath() -> String {
    let jars = servers::reference_jar_dir();
    ["zookeeper.jar", "slf4j-log4j12.jar", "log4j-1.2.jar"]
        .iter()
        .map(|j| jars.join(j).display().to_string())
        .collect::<Vec<_>>()
        .join(":")
}

/// Starts a server of `kind` on `root/data` (kept as it is) on a free port,
/// logging to `root/<name>.*`, and waits until it serves. If the dataDir
/// has snapshots, the server must have loaded the newest one (not fallen
/// back to an older one because it could not read it).
fn start_server(kind: Kind, root: &Path, name: &str) -> Result<Server, String> {
    let newest = newest_snapshot(&root.join("data")).ok();
    let mut last_err = String::new();
    for _ in 0..3 {
        match start_once(kind, root, name, servers::free_port()) {
            Ok(s) => {
                if let Some((zxid, path)) = &newest {
                    check_loaded_snapshot(&s, *zxid, path)?;
                }
                return Ok(s);
            }
            // The port was taken between choosing and binding it: try another.
            Err((e, true)) => last_err = e,
            Err((e, false)) => return Err(e),
        }
    }
    Err(last_err)
}

/// Small enough that both servers roll their logs and take fuzzy snapshots
/// while the workload runs (it writes a few hundred txns), so each reads
/// the other's rolled logs and snapshots taken under load.
const SNAP_COUNT: u32 = 60;

fn start_once(kind: Kind, root: &Path, name: &str, port: u16) -> Result<Server, (String, bool)> {
    let fail = |e: String| (e, false);
    let cfg_path = root.join(format!("{name}.cfg"));
    let mut cfg = format!(
        "tickTime=2000\ninitLimit=10\nsyncLimit=5\ndataDir={}\nclientPort={port}\n\
         clientPortAddress=127.0.0.1\nmaxClientCnxns=0\n4lw.commands.whitelist=*\n\
         admin.enableServer=false\nsnapCount={SNAP_COUNT}\n",
        root.join("data").display()
    );
    if kind == Kind::Ours {
        let _ = write!(
            cfg,
            "znode.container.checkIntervalMs={CONTAINER_CHECK_MS}\nextendedTypesEnabled=true\n"
        );
    }
    std::fs::write(&cfg_path, cfg)
        .map_err(|e| fail(format!("write {}: {e}", cfg_path.display())))?;
    let out_path = root.join(format!("{name}.out"));
    let out = std::fs::File::create(&out_path)
        .map_err(|e| fail(format!("create {}: {e}", out_path.display())))?;
    let err = out.try_clone().map_err(|e| fail(e.to_string()))?;
    let mut logs = vec![out_path];
    let mut cmd = match kind {
        Kind::Reference => {
            if let Some(why) = servers::reference_missing() {
                return Err(fail(why));
            }
            let log = root.join(format!("{name}.log"));
            let props = root.join(format!("{name}.log4j.properties"));
            std::fs::write(
                &props,
                format!(
                    "log4j.rootLogger=INFO, FILE\n\
                     log4j.appender.FILE=org.apache.log4j.FileAppender\n\
                     log4j.appender.FILE.File={}\n\
                     log4j.appender.FILE.Append=true\n\
                     log4j.appender.FILE.layout=org.apache.log4j.PatternLayout\n\
                     log4j.appender.FILE.layout.ConversionPattern=%d{{ISO8601}} - %-5p [%t:%C{{1}}@%L] - %m%n\n",
                    log.display()
                ),
            )
            .map_err(|e| fail(format!("write {}: {e}", props.display())))?;
            logs.push(log);
            let mut c = Command::new("java");
            c.arg("-Xmx512m")
                .arg("-XX:+UseSerialGC")
                .arg("-XX:TieredStopAtLevel=1")
                .arg("-Dzookeeper.extendedTypesEnabled=true")
                .arg(format!(
                    "-Dznode.container.checkIntervalMs={CONTAINER_CHECK_MS}"
                ))
                .arg("-Dzookeeper.admin.enableServer=false")
                .arg(format!("-Dlog4j.configuration=file:{}", props.display()))
                .arg(format!("-Dzookeeper.log.dir={}", root.display()))
                .arg("-cp")
                .arg(jar_classpath())
                .arg("org.apache.zookeeper.server.ZooKeeperServerMain")
                .arg(&cfg_path);
            c
        }
        Kind::Ours => {
            let bin = servers::our_binary().map_err(fail)?;
            let mut c = Command::new(bin);
            c.arg("start-foreground").arg(&cfg_path);
            if std::env::var_os("ZK_LOG").is_none() {
                // Info: the log names the snapshot it loaded.
                c.env("ZK_LOG", "info");
            }
            c
        }
    };
    cmd.stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .current_dir(root);
    let child = cmd
        .spawn()
        .map_err(|e| fail(format!("spawn the {} server: {e}", kind.name())))?;
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut server = Server {
        kind,
        name: name.to_string(),
        addr,
        logs,
        child: Some(child),
    };
    let deadline = Instant::now() + START_TIMEOUT;
    loop {
        let exited = server
            .child
            .as_mut()
            .and_then(|c| c.try_wait().ok().flatten());
        if let Some(status) = exited {
            server.child = None;
            let tail = server.log_tail(40);
            let port_taken = ["Address already in use", "BindException", "cannot listen"]
                .iter()
                .any(|s| tail.contains(s));
            return Err((
                format!(
                    "{} exited during start-up ({status}):\n{tail}",
                    server.describe()
                ),
                port_taken,
            ));
        }
        // `imok` comes before the reference serves sessions: also wait for
        // `srvr` to report a mode.
        if servers::four_letter(addr, "ruok") == "imok"
            && servers::four_letter(addr, "srvr").contains("Mode:")
        {
            return Ok(server);
        }
        if Instant::now() > deadline {
            return Err((
                format!(
                    "{} does not serve after {START_TIMEOUT:?}:\n{}",
                    server.describe(),
                    server.log_tail(40)
                ),
                false,
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The server's log says it loaded the snapshot `path` (at `zxid`).
fn check_loaded_snapshot(server: &Server, zxid: i64, path: &Path) -> Result<(), String> {
    let log: String = server
        .logs
        .iter()
        .map(|l| std::fs::read_to_string(l).unwrap_or_default())
        .collect();
    let file = path
        .file_name()
        .map(|f| f.to_string_lossy().to_string())
        .unwrap_or_default();
    let loaded = match server.kind {
        // `Reading snapshot <dataDir>/version-2/snapshot.<zxid>`
        Kind::Reference => log
            .lines()
            .rfind(|l| l.contains("Reading snapshot "))
            .is_some_and(|l| l.trim_end().ends_with(&format!("/version-2/{file}"))),
        // Only our info-level log says which snapshot it loaded.
        Kind::Ours if std::env::var_os("ZK_LOG").is_none() => {
            log.contains(&format!("loaded snapshot 0x{zxid:x} ("))
        }
        Kind::Ours => true,
    };
    if loaded {
        Ok(())
    } else {
        Err(format!(
            "{} did not load the newest snapshot {} (its log does not say so):\n{}",
            server.describe(),
            path.display(),
            server.log_tail(30)
        ))
    }
}

/// The server's last processed zxid, from `srvr`.
fn srvr_zxid(server: &Server) -> Result<i64, String> {
    let reply = servers::four_letter(server.addr, "srvr");
    reply
        .lines()
        .find_map(|l| l.strip_prefix("Zxid: 0x"))
        .and_then(|hex| i64::from_str_radix(hex.trim(), 16).ok())
        .ok_or_else(|| format!("{}: no Zxid in the srvr reply {reply:?}", server.describe()))
}

// ---------------------------------------------------------------------------
// Client calls.

/// Runs a call with a timeout: `Ok(Err(code))` when the server answered an
/// error code; `Err` for anything else (no reply, connection loss...).
async fn attempt<T>(
    what: &str,
    fut: impl Future<Output = Result<T, ZkError>>,
) -> Result<Result<T, ErrorCode>, String> {
    match tokio::time::timeout(OP_TIMEOUT, fut).await {
        Err(_) => Err(format!("{what}: no reply within {OP_TIMEOUT:?}")),
        Ok(Ok(v)) => Ok(Ok(v)),
        Ok(Err(ZkError::Api(code))) => Ok(Err(code)),
        Ok(Err(e)) => Err(format!("{what}: {e}")),
    }
}

/// Runs a call that must succeed.
async fn call<T>(what: &str, fut: impl Future<Output = Result<T, ZkError>>) -> Result<T, String> {
    attempt(what, fut)
        .await?
        .map_err(|code| format!("{what}: server answered {code:?}"))
}

/// Connects a new session and authenticates it as `users`.
async fn connect(addr: SocketAddr, users: &[usize]) -> Result<Client, String> {
    let client = call(
        &format!("connect to {addr}"),
        Client::builder(&addr.to_string())
            .session_timeout(SESSION_TIMEOUT)
            .connect_timeout(OP_TIMEOUT)
            .connect(),
    )
    .await?;
    for &u in users {
        let (user, pw) = USERS[u];
        call(
            &format!("addauth digest {user}"),
            client.add_auth("digest", format!("{user}:{pw}").as_bytes()),
        )
        .await?;
    }
    Ok(client)
}

/// A session of the workload that may own ephemerals.
struct Session {
    client: Client,
    id: i64,
    password: Bytes,
    users: Vec<usize>,
}

async fn new_session(addr: SocketAddr, users: &[usize]) -> Result<Session, String> {
    let client = connect(addr, users).await?;
    Ok(Session {
        id: client.session_id(),
        password: client.session_password(),
        client,
        users: users.to_vec(),
    })
}

/// Resumes `session` (by id and password) on the server at `addr`: the
/// server must know it (restored from disk) and list exactly `expected` as
/// its ephemerals.
async fn resume(
    addr: SocketAddr,
    session: &Session,
    expected: &BTreeSet<String>,
) -> Result<Session, String> {
    let what = format!("resume session 0x{:x} on {addr}", session.id);
    let client = match tokio::time::timeout(
        OP_TIMEOUT,
        Client::builder(&addr.to_string())
            .session_timeout(SESSION_TIMEOUT)
            .connect_timeout(OP_TIMEOUT)
            .resume_session(session.id, session.password.clone())
            .connect(),
    )
    .await
    {
        Err(_) => return Err(format!("{what}: no reply within {OP_TIMEOUT:?}")),
        Ok(Err(ZkError::SessionExpired)) => {
            return Err(format!(
                "{what}: refused as expired: the session was not restored from the dataDir \
                 (or its password differs)"
            ))
        }
        Ok(Err(e)) => return Err(format!("{what}: {e}")),
        Ok(Ok(c)) => c,
    };
    if client.session_id() != session.id {
        return Err(format!(
            "{what}: got session 0x{:x} instead",
            client.session_id()
        ));
    }
    for &u in &session.users {
        let (user, pw) = USERS[u];
        call(
            &format!("{what}: addauth digest {user}"),
            client.add_auth("digest", format!("{user}:{pw}").as_bytes()),
        )
        .await?;
    }
    let listed: BTreeSet<String> = call(
        &format!("{what}: getEphemerals /"),
        client.get_ephemerals("/"),
    )
    .await?
    .into_iter()
    .collect();
    if &listed != expected {
        return Err(format!(
            "{what}: getEphemerals lists {} paths, the workload left {}: missing {:?}, extra {:?}",
            listed.len(),
            expected.len(),
            expected
                .difference(&listed)
                .take(MAX_LISTED)
                .collect::<Vec<_>>(),
            listed
                .difference(expected)
                .take(MAX_LISTED)
                .collect::<Vec<_>>()
        ));
    }
    Ok(Session {
        id: session.id,
        password: session.password.clone(),
        client,
        users: session.users.clone(),
    })
}

// ---------------------------------------------------------------------------
// The workload.

/// What a node is, as the workload created it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum NodeKind {
    Persistent,
    Ephemeral(i64),
    Container,
    Ttl,
}

impl NodeKind {
    fn of(mode: CreateMode, session: i64) -> NodeKind {
        match mode {
            CreateMode::Persistent | CreateMode::PersistentSequential => NodeKind::Persistent,
            CreateMode::Ephemeral | CreateMode::EphemeralSequential => NodeKind::Ephemeral(session),
            CreateMode::Container => NodeKind::Container,
            CreateMode::PersistentWithTtl | CreateMode::PersistentSequentialWithTtl => {
                NodeKind::Ttl
            }
        }
    }

    /// The ephemeralOwner a client sees.
    fn visible_owner(self) -> i64 {
        match self {
            NodeKind::Ephemeral(s) => s,
            _ => 0,
        }
    }

    /// The owner stored on disk.
    fn stored_owner(self) -> u64 {
        match self {
            NodeKind::Persistent => 0,
            NodeKind::Ephemeral(s) => s as u64,
            NodeKind::Container => CONTAINER_OWNER,
            NodeKind::Ttl => TTL_OWNER_BITS | TTL_MS as u64,
        }
    }
}

/// A change a successful multi makes to the workload's record.
enum Effect {
    Create(NodeKind),
    Delete(String),
    Nothing,
}

/// The seeded workload and its record of the tree it built (every node
/// outside `/zookeeper`, by path).
struct Workload {
    rng: StdRng,
    nodes: BTreeMap<String, NodeKind>,
    next_id: u64,
    /// Write requests sent.
    writes: usize,
    /// Error replies, by code.
    errors: BTreeMap<String, usize>,
}

fn join(parent: &str, name: &str) -> String {
    if parent == "/" {
        format!("/{name}")
    } else {
        format!("{parent}/{name}")
    }
}

fn depth(path: &str) -> usize {
    path.matches('/').count()
}

fn user_acl(perms: i32, user: usize) -> Acl {
    digest_acl(perms, USERS[user].0, USERS[user].1)
}

impl Workload {
    fn new(seed: u64) -> Workload {
        Workload {
            rng: StdRng::seed_from_u64(seed),
            nodes: BTreeMap::new(),
            next_id: 0,
            writes: 0,
            errors: BTreeMap::new(),
        }
    }

    fn id(&mut self) -> u64 {
        self.next_id += 1;
        self.next_id
    }

    fn gen_data(&mut self) -> Option<Vec<u8>> {
        let len = match self.rng.gen_range(0..100) {
            0..=9 => return None,
            10..=19 => 0,
            20..=59 => self.rng.gen_range(1..=32),
            60..=89 => self.rng.gen_range(33..=1024),
            90..=97 => self.rng.gen_range(1025..=16 * 1024),
            _ => self.rng.gen_range(16 * 1024..=128 * 1024),
        };
        let mut v = vec![0u8; len];
        self.rng.fill(&mut v[..]);
        Some(v)
    }

    /// An ACL that always lets a client authenticated as alice and bob (from
    /// 127.0.0.1) read, so the dump sees every node.
    fn gen_acl(&mut self) -> Vec<Acl> {
        match self.rng.gen_range(0..100) {
            0..=49 => Acl::open_unsafe(),
            50..=61 => vec![
                Acl::new(perms::READ, "world", "anyone"),
                user_acl(perms::ALL, ALICE),
            ],
            62..=71 => vec![
                user_acl(perms::ALL, ALICE),
                user_acl(perms::READ | perms::WRITE, BOB),
            ],
            72..=81 => Acl::creator_all(),
            82..=89 => vec![user_acl(perms::ALL, BOB)],
            90..=94 => vec![Acl::new(perms::ALL, "ip", "127.0.0.1")],
            _ => vec![
                Acl::new(perms::CREATE | perms::DELETE, "world", "anyone"),
                user_acl(perms::READ | perms::ADMIN, ALICE),
            ],
        }
    }

    fn pick<T: Clone>(&mut self, items: &[T]) -> Option<T> {
        if items.is_empty() {
            None
        } else {
            Some(items[self.rng.gen_range(0..items.len())].clone())
        }
    }

    fn pick_node(&mut self) -> Option<String> {
        let all: Vec<String> = self.nodes.keys().cloned().collect();
        self.pick(&all)
    }

    fn pick_parent(&mut self) -> String {
        let quota = self.rng.gen_bool(0.15);
        let parents: Vec<String> = self
            .nodes
            .iter()
            .filter(|(p, k)| {
                !matches!(k, NodeKind::Ephemeral(_))
                    && depth(p) < MAX_DEPTH
                    && (!quota || p.starts_with("/app/qt"))
            })
            .map(|(p, _)| p.clone())
            .collect();
        self.pick(&parents).unwrap_or_else(|| "/app".to_string())
    }

    fn pick_deletable(&mut self) -> Option<String> {
        let all: Vec<String> = self
            .nodes
            .keys()
            .filter(|p| !PROTECTED.contains(&p.as_str()))
            .cloned()
            .collect();
        self.pick(&all)
    }

    fn pick_version(&mut self, current: i32) -> i32 {
        match self.rng.gen_range(0..10) {
            0..=6 => current,
            7..=8 => -1,
            _ => current + 1,
        }
    }

    /// Counts a reply; `Some(v)` when it succeeded.
    fn record<T>(&mut self, reply: Result<T, ErrorCode>) -> Option<T> {
        self.writes += 1;
        match reply {
            Ok(v) => Some(v),
            Err(code) => {
                *self.errors.entry(format!("{code:?}")).or_default() += 1;
                None
            }
        }
    }

    async fn create_fixed(
        &mut self,
        client: &Client,
        path: &str,
        data: Option<Vec<u8>>,
        acl: &[Acl],
    ) -> Result<(), String> {
        call(
            &format!("create {path}"),
            client.create(path, data, acl, CreateMode::Persistent),
        )
        .await?;
        self.writes += 1;
        self.nodes.insert(path.to_string(), NodeKind::Persistent);
        Ok(())
    }

    /// The skeleton, a few fixed cases, and the quota (as `setquota -n 1000
    /// /app/qt` creates it).
    async fn setup(&mut self, main: &Client) -> Result<(), String> {
        let open = Acl::open_unsafe();
        self.create_fixed(main, "/app", Some(b"app".to_vec()), &open)
            .await?;
        self.create_fixed(main, "/app/empty", Some(Vec::new()), &open)
            .await?;
        self.create_fixed(main, "/app/null", None, &open).await?;
        call("setData /", main.set_data("/", "root data", -1)).await?;
        self.writes += 1;
        for name in ["/app/ünïcødé ☃", "/app/with space", "/app/dots.and-dashes_"] {
            self.create_fixed(main, name, Some(name.as_bytes().to_vec()), &open)
                .await?;
        }
        let mut big = vec![0u8; 200_000];
        self.rng.fill(&mut big[..]);
        self.create_fixed(main, "/app/big", Some(big), &open)
            .await?;
        self.create_fixed(main, "/app/cfg", Some(b"v0".to_vec()), &open)
            .await?;
        call("setData /app/cfg v1", main.set_data("/app/cfg", "v1", 0)).await?;
        call("setData /app/cfg v2", main.set_data("/app/cfg", "v2", 1)).await?;
        self.writes += 2;
        let mut deep = String::new();
        for (i, part) in ["deep", "a", "b", "c", "d"].iter().enumerate() {
            deep.push('/');
            deep.push_str(part);
            let data = Some(vec![b'x'; i * 100]);
            self.create_fixed(main, &deep, data, &open).await?;
        }
        self.create_fixed(main, "/seq", None, &open).await?;
        self.create_fixed(main, "/containers", Some(b"c".to_vec()), &open)
            .await?;
        self.create_fixed(main, "/ttl", Some(b"t".to_vec()), &open)
            .await?;
        self.create_fixed(main, "/acl", Some(b"acl".to_vec()), &open)
            .await?;
        let acl = vec![
            user_acl(perms::ALL, ALICE),
            Acl::new(perms::READ, "world", "anyone"),
        ];
        call("setACL /acl", main.set_acl("/acl", &acl, 0)).await?;
        self.writes += 1;
        for i in 0..3 {
            let path = format!("/containers/c{i}");
            call(
                &format!("createContainer {path}"),
                main.create_container(&path, format!("container {i}"), &open),
            )
            .await?;
            self.writes += 1;
            self.nodes.insert(path, NodeKind::Container);
        }
        for mode in [
            CreateMode::PersistentWithTtl,
            CreateMode::PersistentSequentialWithTtl,
        ] {
            let (path, _) = call(
                "createTTL under /ttl",
                main.create_ttl("/ttl/t-", "ttl", &open, mode, TTL_MS),
            )
            .await?;
            self.writes += 1;
            self.nodes.insert(path, NodeKind::Ttl);
        }
        // The quota: the node, then zkCli's setquota.
        self.create_fixed(main, "/app/qt", Some(b"quota root".to_vec()), &open)
            .await?;
        self.create_fixed(main, "/app/qt/seed", Some(b"abc".to_vec()), &open)
            .await?;
        for path in ["/zookeeper/quota/app", "/zookeeper/quota/app/qt"] {
            call(
                &format!("create {path}"),
                main.create(path, NO_DATA, &open, CreateMode::Persistent),
            )
            .await?;
            self.writes += 1;
        }
        call(
            "create zookeeper_limits",
            main.create(
                "/zookeeper/quota/app/qt/zookeeper_limits",
                "count=1000,bytes=-1",
                &open,
                CreateMode::Persistent,
            ),
        )
        .await?;
        call(
            "create zookeeper_stats",
            main.create(
                "/zookeeper/quota/app/qt/zookeeper_stats",
                "count=0,bytes=0",
                &open,
                CreateMode::Persistent,
            ),
        )
        .await?;
        self.writes += 2;
        Ok(())
    }

    async fn op_create(&mut self, main: &Client, eph: &[&Session]) -> Result<(), String> {
        let mode = match self.rng.gen_range(0..100) {
            0..=39 => CreateMode::Persistent,
            40..=54 => CreateMode::PersistentSequential,
            55..=66 => CreateMode::Ephemeral,
            67..=75 => CreateMode::EphemeralSequential,
            76..=83 => CreateMode::Container,
            84..=91 => CreateMode::PersistentWithTtl,
            _ => CreateMode::PersistentSequentialWithTtl,
        };
        let parent = if mode.is_sequential() && self.rng.gen_bool(0.4) {
            "/seq".to_string()
        } else {
            self.pick_parent()
        };
        let id = self.id();
        let path = if mode.is_sequential() {
            join(&parent, &format!("s{id}-"))
        } else {
            join(&parent, &format!("n{id}"))
        };
        let data = self.gen_data();
        let acl = self.gen_acl();
        let what = format!("create {path} ({mode:?})");
        let (created, owner) = if mode.is_ephemeral() {
            let Some(s) = self.pick(eph) else {
                return Ok(());
            };
            let r = attempt(&what, s.client.create(&path, data, &acl, mode)).await?;
            (self.record(r), s.id)
        } else if mode == CreateMode::Container {
            let r = attempt(&what, main.create_container(&path, data, &acl)).await?;
            (self.record(r).map(|(p, _)| p), 0)
        } else if mode.is_ttl() {
            let r = attempt(&what, main.create_ttl(&path, data, &acl, mode, TTL_MS)).await?;
            (self.record(r).map(|(p, _)| p), 0)
        } else if self.rng.gen_bool(0.5) {
            let r = attempt(&what, main.create2(&path, data, &acl, mode)).await?;
            (self.record(r).map(|(p, _)| p), 0)
        } else {
            let r = attempt(&what, main.create(&path, data, &acl, mode)).await?;
            (self.record(r), 0)
        };
        if let Some(p) = created {
            self.nodes.insert(p, NodeKind::of(mode, owner));
        }
        Ok(())
    }

    async fn current_stat(&self, client: &Client, path: &str) -> Result<Stat, String> {
        call(&format!("exists {path}"), client.exists(path, false))
            .await?
            .ok_or_else(|| format!("{path} is in the workload's record but does not exist"))
    }

    async fn op_set_data(&mut self, main: &Client) -> Result<(), String> {
        let Some(path) = self.pick_node() else {
            return Ok(());
        };
        let stat = self.current_stat(main, &path).await?;
        let version = self.pick_version(stat.version);
        let data = self.gen_data();
        let r = attempt(
            &format!("setData {path}"),
            main.set_data(&path, data, version),
        )
        .await?;
        self.record(r);
        Ok(())
    }

    async fn op_set_acl(&mut self, main: &Client) -> Result<(), String> {
        let Some(path) = self.pick_node() else {
            return Ok(());
        };
        let stat = self.current_stat(main, &path).await?;
        let version = self.pick_version(stat.aversion);
        let acl = self.gen_acl();
        let r = attempt(
            &format!("setACL {path}"),
            main.set_acl(&path, &acl, version),
        )
        .await?;
        self.record(r);
        Ok(())
    }

    async fn op_delete(&mut self, main: &Client) -> Result<(), String> {
        let Some(path) = self.pick_deletable() else {
            return Ok(());
        };
        let stat = self.current_stat(main, &path).await?;
        let version = self.pick_version(stat.version);
        let r = attempt(&format!("delete {path}"), main.delete(&path, version)).await?;
        if self.record(r).is_some() {
            self.nodes.remove(&path);
        }
        Ok(())
    }

    /// Requests that fail on purpose (each still takes a zxid).
    async fn op_error(&mut self, main: &Client, eph: &[&Session]) -> Result<(), String> {
        let id = self.id();
        let r = match self.rng.gen_range(0..5) {
            0 => {
                let ephemerals: Vec<String> = self
                    .nodes
                    .iter()
                    .filter(|(_, k)| matches!(k, NodeKind::Ephemeral(_)))
                    .map(|(p, _)| p.clone())
                    .collect();
                let parent = self
                    .pick(&ephemerals)
                    .unwrap_or_else(|| format!("/app/missing{id}"));
                let path = join(&parent, &format!("child{id}"));
                attempt(
                    &format!("create {path}"),
                    main.create(&path, "x", &Acl::open_unsafe(), CreateMode::Persistent),
                )
                .await?
                .map(|_| ())
            }
            1 => attempt(
                "setData on a missing node",
                main.set_data(&format!("/app/missing{id}"), "x", -1),
            )
            .await?
            .map(|_| ()),
            2 => {
                let path = self.pick_node().unwrap_or_else(|| "/app".into());
                attempt(
                    &format!("create existing {path}"),
                    main.create(&path, "dup", &Acl::open_unsafe(), CreateMode::Persistent),
                )
                .await?
                .map(|_| ())
            }
            3 => attempt("delete a non-empty node", main.delete("/app", -1)).await?,
            _ => {
                // An ephemeral under a missing parent.
                let s = self.pick(eph);
                let path = format!("/app/missing{id}/e");
                match s {
                    Some(s) => attempt(
                        &format!("create {path}"),
                        s.client
                            .create(&path, "e", &Acl::creator_all(), CreateMode::Ephemeral),
                    )
                    .await?
                    .map(|_| ()),
                    None => Ok(()),
                }
            }
        };
        if self.record(r).is_some() {
            return Err(format!("op {id}: a request meant to fail succeeded"));
        }
        Ok(())
    }

    async fn op_multi(&mut self, main: &Client) -> Result<(), String> {
        let id = self.id();
        let open = Acl::open_unsafe();
        let mut ops: Vec<MultiOp> = Vec::new();
        let mut effects: Vec<Effect> = Vec::new();
        match self.rng.gen_range(0..3) {
            0 => {
                // New paths only: succeeds.
                let base = format!("/app/m{id}");
                let data = self.gen_data();
                ops.push(op::create(&base, data, &open, CreateMode::Persistent));
                effects.push(Effect::Create(NodeKind::Persistent));
                let data = self.gen_data();
                ops.push(op::create(
                    &format!("{base}/s-"),
                    data,
                    &open,
                    CreateMode::PersistentSequential,
                ));
                effects.push(Effect::Create(NodeKind::Persistent));
                ops.push(op::create(
                    &format!("{base}/c"),
                    NO_DATA,
                    &open,
                    CreateMode::Container,
                ));
                effects.push(Effect::Create(NodeKind::Container));
                let data = self.gen_data();
                ops.push(op::create_ttl(
                    &format!("{base}/t"),
                    data,
                    &open,
                    CreateMode::PersistentWithTtl,
                    TTL_MS,
                ));
                effects.push(Effect::Create(NodeKind::Ttl));
                let data = self.gen_data();
                ops.push(op::set_data(&base, data, 0));
                effects.push(Effect::Nothing);
                ops.push(op::check(&base, 1));
                effects.push(Effect::Nothing);
                ops.push(op::create(
                    &format!("{base}/tmp"),
                    "tmp",
                    &open,
                    CreateMode::Persistent,
                ));
                effects.push(Effect::Create(NodeKind::Persistent));
                ops.push(op::delete(&format!("{base}/tmp"), 0));
                effects.push(Effect::Delete(format!("{base}/tmp")));
            }
            1 => {
                // Random targets: may fail (NoAuth, NotEmpty...).
                if let Some(path) = self.pick_node() {
                    let data = self.gen_data();
                    ops.push(op::set_data(&path, data, -1));
                    effects.push(Effect::Nothing);
                }
                if let Some(path) = self.pick_deletable() {
                    ops.push(op::delete(&path, -1));
                    effects.push(Effect::Delete(path));
                }
                let parent = self.pick_parent();
                let data = self.gen_data();
                ops.push(op::create(
                    &join(&parent, &format!("m{id}")),
                    data,
                    &open,
                    CreateMode::Persistent,
                ));
                effects.push(Effect::Create(NodeKind::Persistent));
            }
            _ => {
                // Fails at its last op: nothing applied.
                ops.push(op::create(
                    &format!("/app/mf{id}"),
                    "never",
                    &open,
                    CreateMode::Persistent,
                ));
                effects.push(Effect::Create(NodeKind::Persistent));
                ops.push(op::set_data(&format!("/app/missing{id}"), "x", -1));
                effects.push(Effect::Nothing);
            }
        }
        let results = call(&format!("multi {id}"), main.multi(ops)).await?;
        self.writes += 1;
        if let Some(err) = op::first_error(&results) {
            *self.errors.entry(format!("multi {err}")).or_default() += 1;
            return Ok(());
        }
        if results.len() != effects.len() {
            return Err(format!(
                "multi {id}: {} results for {} ops",
                results.len(),
                effects.len()
            ));
        }
        for (effect, result) in effects.into_iter().zip(results) {
            match (effect, result) {
                (Effect::Create(kind), OpResult::Create { path })
                | (Effect::Create(kind), OpResult::Create2 { path, .. }) => {
                    self.nodes.insert(path, kind);
                }
                (Effect::Delete(path), OpResult::Delete) => {
                    self.nodes.remove(&path);
                }
                (Effect::Nothing, _) => {}
                (_, other) => return Err(format!("multi {id}: unexpected result {other:?}")),
            }
        }
        Ok(())
    }

    async fn random_ops(
        &mut self,
        main: &Client,
        eph: &[&Session],
        n: usize,
    ) -> Result<(), String> {
        for _ in 0..n {
            match self.rng.gen_range(0..100) {
                0..=34 => self.op_create(main, eph).await?,
                35..=56 => self.op_set_data(main).await?,
                57..=64 => self.op_set_acl(main).await?,
                65..=80 => self.op_delete(main).await?,
                81..=88 => self.op_multi(main).await?,
                _ => self.op_error(main, eph).await?,
            }
        }
        Ok(())
    }

    /// Paths of the recorded ephemerals of `session`.
    fn ephemerals_of(&self, session: i64) -> BTreeSet<String> {
        self.nodes
            .iter()
            .filter(|(_, k)| **k == NodeKind::Ephemeral(session))
            .map(|(p, _)| p.clone())
            .collect()
    }

    /// Makes sure `session` owns at least two ephemerals.
    async fn ensure_ephemerals(&mut self, s: &Session) -> Result<(), String> {
        for mode in [CreateMode::Ephemeral, CreateMode::EphemeralSequential] {
            let path = format!("/app/eph-{}-", self.id());
            let acl = Acl::open_unsafe();
            let created = call(
                &format!("create {path}"),
                s.client.create(&path, "held", &acl, mode),
            )
            .await?;
            self.writes += 1;
            self.nodes.insert(created, NodeKind::Ephemeral(s.id));
        }
        Ok(())
    }

    /// Closes `s` (closeSession): its ephemerals go.
    async fn close(&mut self, s: Session) -> Result<(), String> {
        call(&format!("close session 0x{:x}", s.id), s.client.close()).await?;
        self.writes += 1;
        self.nodes.retain(|_, k| *k != NodeKind::Ephemeral(s.id));
        Ok(())
    }

    fn summary(&self) -> String {
        format!(
            "{} writes ({} error replies: {:?}), {} nodes in the record",
            self.writes,
            self.errors.values().sum::<usize>(),
            self.errors,
            self.nodes.len()
        )
    }
}

/// First half: setup, two sessions with ephemerals, random ops; one session
/// closes, the other (returned) stays open.
async fn first_half(w: &mut Workload, addr: SocketAddr) -> Result<Session, String> {
    let main = connect(addr, &[ALICE, BOB]).await?;
    w.setup(&main).await?;
    let s1 = new_session(addr, &[ALICE]).await?;
    let s2 = new_session(addr, &[BOB]).await?;
    w.ensure_ephemerals(&s1).await?;
    w.ensure_ephemerals(&s2).await?;
    w.random_ops(&main, &[&s1, &s2], OPS_PER_HALF).await?;
    w.close(s1).await?;
    Ok(s2)
}

/// Second half, after a restart of the same implementation: the open
/// session is resumed and makes more ephemerals, another session comes and
/// closes, a third makes ephemerals and stays open (the new server closes
/// it).
async fn second_half(
    w: &mut Workload,
    addr: SocketAddr,
    s2: &Session,
) -> Result<(Session, Session), String> {
    let s2 = resume(addr, s2, &w.ephemerals_of(s2.id)).await?;
    let main = connect(addr, &[ALICE, BOB]).await?;
    let s3 = new_session(addr, &[ALICE, BOB]).await?;
    let s6 = new_session(addr, &[ALICE]).await?;
    w.ensure_ephemerals(&s3).await?;
    w.random_ops(&main, &[&s2, &s3, &s6], OPS_PER_HALF).await?;
    w.close(s3).await?;
    w.ensure_ephemerals(&s2).await?;
    w.ensure_ephemerals(&s6).await?;
    Ok((s2, s6))
}

// ---------------------------------------------------------------------------
// Dumping and comparing trees.

/// One node as a client sees it.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Entry {
    data: Result<Option<Bytes>, ErrorCode>,
    stat: Stat,
    acl: Result<Vec<Acl>, ErrorCode>,
    /// Sorted.
    children: Result<Vec<String>, ErrorCode>,
}

type Tree = BTreeMap<String, Entry>;

/// Every node reachable from `/`, read by a client authenticated as every
/// user of the workload. The client closes its session afterwards.
async fn dump(addr: SocketAddr) -> Result<Tree, String> {
    let client = connect(addr, &[ALICE, BOB]).await?;
    let mut tree = Tree::new();
    let mut queue = vec!["/".to_string()];
    while let Some(path) = queue.pop() {
        let Some(exists) = call(&format!("exists {path}"), client.exists(&path, false)).await?
        else {
            return Err(format!(
                "dump: {path} was listed as a child but does not exist"
            ));
        };
        let (data, stat) =
            match attempt(&format!("getData {path}"), client.get_data(&path, false)).await? {
                Ok((d, s)) => (Ok(d), s),
                Err(code) => (Err(code), exists),
            };
        let acl = attempt(&format!("getACL {path}"), client.get_acl(&path))
            .await?
            .map(|(a, _)| a);
        let children = attempt(
            &format!("getChildren {path}"),
            client.get_children(&path, false),
        )
        .await?
        .map(|mut c| {
            c.sort();
            c
        });
        if let Ok(kids) = &children {
            queue.extend(kids.iter().map(|k| join(&path, k)));
        }
        tree.insert(
            path,
            Entry {
                data,
                stat,
                acl,
                children,
            },
        );
        if tree.len() > MAX_TREE_NODES {
            return Err(format!("dump: more than {MAX_TREE_NODES} nodes"));
        }
    }
    call("close the dump session", client.close()).await?;
    Ok(tree)
}

fn fmt_data(data: &Result<Option<Bytes>, ErrorCode>) -> String {
    match data {
        Err(code) => format!("<{code:?}>"),
        Ok(None) => "null".to_string(),
        Ok(Some(d)) => {
            let head = &d[..d.len().min(24)];
            let hex: String = head.iter().map(|b| format!("{b:02x}")).collect();
            let text = if head.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
                format!(" {:?}", String::from_utf8_lossy(head))
            } else {
                String::new()
            };
            format!(
                "{} bytes [{hex}{}]{text}",
                d.len(),
                if d.len() > head.len() { "…" } else { "" }
            )
        }
    }
}

fn fmt_perms(p: i32) -> String {
    [
        (perms::CREATE, 'c'),
        (perms::DELETE, 'd'),
        (perms::READ, 'r'),
        (perms::WRITE, 'w'),
        (perms::ADMIN, 'a'),
    ]
    .iter()
    .filter(|(bit, _)| p & bit != 0)
    .map(|(_, c)| *c)
    .collect()
}

fn fmt_acl(acl: &Result<Vec<Acl>, ErrorCode>) -> String {
    match acl {
        Err(code) => format!("<{code:?}>"),
        Ok(list) => {
            let items: Vec<String> = list
                .iter()
                .map(|a| format!("{}:{}={}", a.id.scheme, a.id.id, fmt_perms(a.perms)))
                .collect();
            format!("[{}]", items.join(", "))
        }
    }
}

fn stat_fields(s: &Stat) -> [(&'static str, String); 11] {
    [
        ("czxid", format!("0x{:x}", s.czxid)),
        ("mzxid", format!("0x{:x}", s.mzxid)),
        ("pzxid", format!("0x{:x}", s.pzxid)),
        ("ctime", s.ctime.to_string()),
        ("mtime", s.mtime.to_string()),
        ("version", s.version.to_string()),
        ("cversion", s.cversion.to_string()),
        ("aversion", s.aversion.to_string()),
        ("ephemeralOwner", format!("0x{:x}", s.ephemeral_owner)),
        ("dataLength", s.data_length.to_string()),
        ("numChildren", s.num_children.to_string()),
    ]
}

/// Every difference between two dumps, one line per differing field.
fn diff_trees(a_name: &str, a: &Tree, b_name: &str, b: &Tree) -> Vec<String> {
    let mut out = Vec::new();
    let paths: BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    for path in paths {
        match (a.get(path), b.get(path)) {
            (Some(x), None) => out.push(format!(
                "{path}: only on {a_name} (data {}, owner 0x{:x})",
                fmt_data(&x.data),
                x.stat.ephemeral_owner
            )),
            (None, Some(y)) => out.push(format!(
                "{path}: only on {b_name} (data {}, owner 0x{:x})",
                fmt_data(&y.data),
                y.stat.ephemeral_owner
            )),
            (Some(x), Some(y)) if x != y => {
                let mut parts = Vec::new();
                if x.data != y.data {
                    parts.push(format!(
                        "data: {a_name} {} | {b_name} {}",
                        fmt_data(&x.data),
                        fmt_data(&y.data)
                    ));
                }
                for ((name, vx), (_, vy)) in stat_fields(&x.stat).iter().zip(stat_fields(&y.stat)) {
                    if *vx != vy {
                        parts.push(format!("{name}: {a_name} {vx} | {b_name} {vy}"));
                    }
                }
                if x.acl != y.acl {
                    parts.push(format!(
                        "acl: {a_name} {} | {b_name} {}",
                        fmt_acl(&x.acl),
                        fmt_acl(&y.acl)
                    ));
                }
                if x.children != y.children {
                    parts.push(format!(
                        "children: {a_name} {:?} | {b_name} {:?}",
                        x.children, y.children
                    ));
                }
                out.push(format!("{path}: {}", parts.join("; ")));
            }
            _ => {}
        }
    }
    out
}

fn listed(lines: &[String]) -> String {
    let mut s = String::new();
    for line in lines.iter().take(MAX_LISTED) {
        let _ = writeln!(s, "  {line}");
    }
    if lines.len() > MAX_LISTED {
        let _ = writeln!(s, "  ... and {} more", lines.len() - MAX_LISTED);
    }
    s
}

/// The dump of the server that wrote the dataDir against the workload's
/// record: same paths outside `/zookeeper`, same ephemeral owners.
fn check_model(w: &Workload, tree: &Tree, server: &str) -> Result<(), String> {
    let mut problems = Vec::new();
    for (path, entry) in tree {
        if path == "/" || path == "/zookeeper" || path.starts_with("/zookeeper/") {
            continue;
        }
        match w.nodes.get(path) {
            None => problems.push(format!("{path}: on the server, not in the record")),
            Some(kind) if kind.visible_owner() != entry.stat.ephemeral_owner => {
                problems.push(format!(
                    "{path}: ephemeralOwner 0x{:x}, the record says {kind:?}",
                    entry.stat.ephemeral_owner
                ))
            }
            Some(_) => {}
        }
    }
    for path in w.nodes.keys() {
        if !tree.contains_key(path) {
            problems.push(format!("{path}: in the record, not on the server"));
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{server}'s tree differs from the workload's record of its replies ({} problems):\n{}",
            problems.len(),
            listed(&problems)
        ))
    }
}

/// The quota's `zookeeper_stats` node holds the live count and bytes of the
/// subtree under `/app/qt` (the server maintains it; zkCli created it as
/// `count=0,bytes=0`).
fn check_quota_stats(tree: &Tree, server: &str) -> Result<(), String> {
    let (mut count, mut bytes) = (0usize, 0usize);
    for (path, entry) in tree {
        if path != "/app/qt" && !path.starts_with("/app/qt/") {
            continue;
        }
        count += 1;
        bytes += entry.stat.data_length as usize;
    }
    let stats_path = "/zookeeper/quota/app/qt/zookeeper_stats";
    let want = format!("count={count},bytes={bytes}");
    match tree.get(stats_path).map(|e| &e.data) {
        Some(Ok(Some(d))) if d.as_ref() == want.as_bytes() => Ok(()),
        other => Err(format!(
            "{server}: {stats_path} is {}, the subtree has {want}",
            other.map(fmt_data).unwrap_or_else(|| "missing".to_string())
        )),
    }
}

// ---------------------------------------------------------------------------
// The snapshot written at start-up, as the reference's SnapshotFormatter reads it.

/// What SnapshotFormatter printed: each node's stored owner, each session's
/// timeout.
struct RawSnapshot {
    owners: BTreeMap<String, u64>,
    sessions: BTreeMap<i64, i64>,
}

fn newest_snapshot(data_dir: &Path) -> Result<(i64, PathBuf), String> {
    let dir = data_dir.join("version-2");
    let entries = std::fs::read_dir(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let mut best: Option<(i64, PathBuf)> = None;
    for entry in entries {
        let entry = entry.map_err(|e| e.to_string())?;
        let name = entry.file_name().to_string_lossy().to_string();
        let Some(hex) = name.strip_prefix("snapshot.") else {
            continue;
        };
        let Ok(zxid) = i64::from_str_radix(hex, 16) else {
            continue;
        };
        let newer = match &best {
            None => true,
            Some((z, _)) => zxid > *z,
        };
        if newer {
            best = Some((zxid, entry.path()));
        }
    }
    best.ok_or_else(|| format!("no snapshot in {}", dir.display()))
}

fn parse_hex(s: &str) -> Option<u64> {
    u64::from_str_radix(s.trim().trim_start_matches("0x"), 16).ok()
}

fn run_formatter(root: &Path, snapshot: &Path, tag: &str) -> Result<RawSnapshot, String> {
    let out_path = root.join(format!("{tag}.formatter.txt"));
    let err_path = root.join(format!("{tag}.formatter.err"));
    let out = std::fs::File::create(&out_path).map_err(|e| e.to_string())?;
    let err = std::fs::File::create(&err_path).map_err(|e| e.to_string())?;
    let mut child = Command::new("java")
        .arg("-XX:+UseSerialGC")
        .arg("-XX:TieredStopAtLevel=1")
        .arg("-Dzookeeper.extendedTypesEnabled=true")
        .arg("-Dfile.encoding=UTF-8")
        .arg("-Dsun.stdout.encoding=UTF-8")
        .arg("-Dstdout.encoding=UTF-8")
        .arg("-cp")
        .arg(jar_classpath())
        .arg("org.apache.zookeeper.server.SnapshotFormatter")
        .arg(snapshot)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(|e| format!("spawn java SnapshotFormatter: {e}"))?;
    let deadline = Instant::now() + FORMATTER_TIMEOUT;
    let status = loop {
        if let Some(status) = child.try_wait().map_err(|e| e.to_string())? {
            break status;
        }
        if Instant::now() > deadline {
            let _ = child.kill();
            let _ = child.wait();
            return Err(format!(
                "SnapshotFormatter: no result after {FORMATTER_TIMEOUT:?}"
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    let text = std::fs::read_to_string(&out_path).map_err(|e| e.to_string())?;
    if !status.success() {
        let err_text = std::fs::read_to_string(&err_path).unwrap_or_default();
        return Err(format!(
            "the reference's SnapshotFormatter cannot read {} ({status}):\n{}\n{}",
            snapshot.display(),
            text.lines().rev().take(10).collect::<Vec<_>>().join("\n"),
            err_text.lines().take(30).collect::<Vec<_>>().join("\n")
        ));
    }
    let mut raw = RawSnapshot {
        owners: BTreeMap::new(),
        sessions: BTreeMap::new(),
    };
    let mut path: Option<String> = None;
    let mut in_sessions = false;
    for line in text.lines() {
        if line.starts_with("Session Details") {
            in_sessions = true;
            continue;
        }
        if in_sessions {
            // `0x<sid>, <timeout>, <ephemeral count>`
            let parts: Vec<&str> = line.split(',').map(str::trim).collect();
            if parts.len() == 3 {
                if let (Some(sid), Ok(timeout)) = (parse_hex(parts[0]), parts[1].parse::<i64>()) {
                    raw.sessions.insert(sid as i64, timeout);
                }
            }
            continue;
        }
        if line.starts_with('/') {
            path = Some(line.trim_end().to_string());
        } else if let Some(v) = line.trim().strip_prefix("ephemeralOwner = ") {
            if let (Some(p), Some(owner)) = (path.take(), parse_hex(v)) {
                raw.owners.insert(p, owner);
            }
        }
    }
    if raw.owners.is_empty() {
        return Err(format!(
            "no znodes parsed from SnapshotFormatter's output ({})",
            out_path.display()
        ));
    }
    Ok(raw)
}

/// The new server's start-up snapshot: at its recovered zxid, with every
/// recorded node's stored owner and the open sessions.
fn check_startup_snapshot(
    root: &Path,
    server: &Server,
    zxid: i64,
    w: &Workload,
    open: &[(i64, i64)],
) -> Result<(), String> {
    let (snap_zxid, snap) = newest_snapshot(&root.join("data"))?;
    if snap_zxid != zxid {
        return Err(format!(
            "{}: newest snapshot is {}, not at the recovered zxid 0x{zxid:x}",
            server.describe(),
            snap.display()
        ));
    }
    let raw = run_formatter(root, &snap, &server.name)?;
    let mut problems = Vec::new();
    for (path, kind) in &w.nodes {
        match raw.owners.get(path) {
            None => problems.push(format!("{path}: missing")),
            Some(&owner) if owner != kind.stored_owner() => problems.push(format!(
                "{path}: stored owner 0x{owner:x}, expected 0x{:x} ({kind:?})",
                kind.stored_owner()
            )),
            Some(_) => {}
        }
    }
    for &(sid, timeout) in open {
        match raw.sessions.get(&sid) {
            None => problems.push(format!("session 0x{sid:x}: not in the snapshot")),
            Some(&t) if t != timeout => problems.push(format!(
                "session 0x{sid:x}: timeout {t} ms, negotiated {timeout} ms"
            )),
            Some(_) => {}
        }
    }
    if problems.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "{}'s start-up snapshot {} (read by SnapshotFormatter) ({} problems):\n{}",
            server.describe(),
            snap.display(),
            problems.len(),
            listed(&problems)
        ))
    }
}

// ---------------------------------------------------------------------------
// The steps shared by both tests.

/// The test's directory: removed on success (unless `ZK_KEEP_DIRS`), kept
/// and printed on failure.
struct TestDir {
    root: PathBuf,
    keep: bool,
}

impl Drop for TestDir {
    fn drop(&mut self) {
        if !self.keep && std::env::var_os("ZK_KEEP_DIRS").is_none() {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }
}

fn seed(default: u64) -> u64 {
    std::env::var("ZK_DATADIR_SEED")
        .ok()
        .and_then(|s| s.trim().parse().ok())
        .unwrap_or(default)
}

/// Fails the test at once when a prerequisite is missing.
fn require_servers() {
    if let Some(why) = servers::reference_missing() {
        panic!("{why}");
    }
    if let Err(why) = servers::our_binary() {
        panic!("{why}");
    }
}

/// Runs `body` with a fresh directory and a runtime; panics with its error,
/// keeping the directory.
fn run_test(tag: &str, body: impl FnOnce(&Path, &tokio::runtime::Runtime) -> Result<(), String>) {
    require_servers();
    let root = servers::fresh_dir(tag);
    let mut dir = TestDir { root, keep: false };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let started = Instant::now();
    let result = body(&dir.root, &rt);
    rt.shutdown_timeout(Duration::from_secs(2));
    if let Err(e) = result {
        dir.keep = true;
        panic!(
            "{tag}: {e}\n(directory kept: {}; ZK_DATADIR_SEED reproduces the workload)",
            dir.root.display()
        );
    }
    eprintln!("{tag}: passed in {:.1?}", started.elapsed());
}

/// What the server that wrote the dataDir looked like just before its SIGKILL.
struct Before {
    server: String,
    tree: Tree,
    zxid: i64,
}

/// Dumps the server, checks its tree against the workload's record, reads
/// its last zxid, and SIGKILLs it.
fn dump_and_kill(
    rt: &tokio::runtime::Runtime,
    w: &Workload,
    mut server: Server,
) -> Result<Before, String> {
    let tree = rt.block_on(dump(server.addr))?;
    check_model(w, &tree, &server.describe())?;
    check_quota_stats(&tree, &server.describe())?;
    let zxid = srvr_zxid(&server)?;
    server.kill();
    Ok(Before {
        server: server.describe(),
        tree,
        zxid,
    })
}

/// Starts `kind` on the dataDir `before` left and checks what it loaded:
/// last zxid, start-up snapshot, tree, and the open sessions (resumed;
/// returned in the order given).
fn load_and_compare(
    rt: &tokio::runtime::Runtime,
    root: &Path,
    kind: Kind,
    name: &str,
    before: &Before,
    w: &Workload,
    open: &[&Session],
) -> Result<(Server, Vec<Session>), String> {
    let server = start_server(kind, root, name)?;
    let zxid = srvr_zxid(&server)?;
    if zxid != before.zxid {
        return Err(format!(
            "{} recovered up to zxid 0x{zxid:x}; {} had reached 0x{:x}\n{}",
            server.describe(),
            before.server,
            before.zxid,
            server.log_tail(30)
        ));
    }
    let timeouts: Vec<(i64, i64)> = open
        .iter()
        .map(|s| (s.id, s.client.negotiated_timeout().as_millis() as i64))
        .collect();
    check_startup_snapshot(root, &server, zxid, w, &timeouts)?;
    let tree = rt.block_on(dump(server.addr))?;
    let diffs = diff_trees(&before.server, &before.tree, &server.describe(), &tree);
    if !diffs.is_empty() {
        return Err(format!(
            "the tree {} loaded from the dataDir differs from the one {} wrote \
             ({} nodes vs {}; {} differing paths):\n{}",
            server.describe(),
            before.server,
            tree.len(),
            before.tree.len(),
            diffs.len(),
            listed(&diffs)
        ));
    }
    let mut resumed = Vec::new();
    for s in open {
        let expected = w.ephemerals_of(s.id);
        if expected.is_empty() {
            return Err(format!("session 0x{:x} was meant to hold ephemerals", s.id));
        }
        let visible: BTreeSet<String> = tree
            .iter()
            .filter(|(_, e)| e.stat.ephemeral_owner == s.id)
            .map(|(p, _)| p.clone())
            .collect();
        if visible != expected {
            return Err(format!(
                "{}: the nodes owned by open session 0x{:x} are {visible:?}, expected {expected:?}",
                server.describe(),
                s.id
            ));
        }
        resumed.push(rt.block_on(resume(server.addr, s, &expected))?);
    }
    eprintln!(
        "{} loaded {}'s dataDir: last zxid 0x{zxid:x}, {} nodes identical, {} open session(s) resumed",
        server.describe(),
        before.server,
        tree.len(),
        open.len()
    );
    Ok((server, resumed))
}

/// Runs the workload on `origin` (two halves around a SIGKILL and restart
/// of the same implementation), and kills it after dumping.
fn workload_on(
    rt: &tokio::runtime::Runtime,
    root: &Path,
    origin: Kind,
    w: &mut Workload,
) -> Result<(Before, Session, Session), String> {
    let tag = origin.name();
    let mut first = start_server(origin, root, &format!("{tag}-1"))?;
    let s2 = rt.block_on(first_half(w, first.addr))?;
    first.kill();
    let second = start_server(origin, root, &format!("{tag}-2"))?;
    let (s2, s6) = rt.block_on(second_half(w, second.addr, &s2))?;
    eprintln!("workload on {}: {}", second.describe(), w.summary());
    let before = dump_and_kill(rt, w, second)?;
    Ok((before, s2, s6))
}

/// Closes a session the new server restored from the dataDir: exactly its
/// ephemerals (which this server only knows from disk) must go.
fn close_restored(
    rt: &tokio::runtime::Runtime,
    w: &mut Workload,
    server: &Server,
    s: Session,
) -> Result<(), String> {
    let id = s.id;
    let tree = rt.block_on(async {
        w.close(s).await?;
        dump(server.addr).await
    })?;
    check_model(w, &tree, &server.describe())
        .map_err(|e| format!("after closing the restored session 0x{id:x}: {e}"))?;
    check_quota_stats(&tree, &server.describe())
}

// ---------------------------------------------------------------------------
// The tests.

#[test]
fn ours_datadir_loads_in_reference() {
    run_test("datadir-ours-to-ref", |root, rt| {
        let seed = seed(SEED_OURS_TO_REF);
        eprintln!(
            "ours -> reference: seed {seed}, directory {}",
            root.display()
        );
        let mut w = Workload::new(seed);
        let (before, s2, s6) = workload_on(rt, root, Kind::Ours, &mut w)?;
        let (reference, mut resumed) = load_and_compare(
            rt,
            root,
            Kind::Reference,
            "reference",
            &before,
            &w,
            &[&s2, &s6],
        )?;
        let s6 = resumed.pop().ok_or("no resumed session")?;
        close_restored(rt, &mut w, &reference, s6)?;
        Ok(())
    });
}

#[test]
fn reference_datadir_loads_in_ours_and_back() {
    run_test("datadir-ref-to-ours", |root, rt| {
        let seed = seed(SEED_REF_TO_OURS);
        eprintln!(
            "reference -> ours -> reference: seed {seed}, directory {}",
            root.display()
        );
        let mut w = Workload::new(seed);
        let (before, s2, s6) = workload_on(rt, root, Kind::Reference, &mut w)?;
        let (ours, mut resumed) =
            load_and_compare(rt, root, Kind::Ours, "ours", &before, &w, &[&s2, &s6])?;
        let s6 = resumed.pop().ok_or("no resumed session")?;
        let s2 = resumed.pop().ok_or("no resumed session")?;
        close_restored(rt, &mut w, &ours, s6)?;
        // A few writes on ours: the restored session makes ephemerals, a new
        // session makes some and stays open, one closes.
        let s4 = rt.block_on(async {
            let main = connect(ours.addr, &[ALICE, BOB]).await?;
            let s4 = new_session(ours.addr, &[BOB]).await?;
            let s5 = new_session(ours.addr, &[ALICE]).await?;
            w.ensure_ephemerals(&s2).await?;
            w.ensure_ephemerals(&s4).await?;
            w.ensure_ephemerals(&s5).await?;
            w.random_ops(&main, &[&s2, &s4, &s5], OPS_ROUND_TRIP)
                .await?;
            w.close(s5).await?;
            Ok::<_, String>(s4)
        })?;
        eprintln!("round trip writes on {}: {}", ours.describe(), w.summary());
        let before = dump_and_kill(rt, &w, ours)?;
        let (_reference, _resumed) = load_and_compare(
            rt,
            root,
            Kind::Reference,
            "reference-again",
            &before,
            &w,
            &[&s2, &s4],
        )?;
        Ok(())
    });
}
