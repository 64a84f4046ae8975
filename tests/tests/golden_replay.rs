//! Replays the golden exchanges (`tests/golden/*.hex`, captured from Apache
//! ZooKeeper 3.8.0 by `tests/golden/capture.py`) against OUR server and
//! compares every reply frame with the captured one, byte for byte.
//!
//! How the run mirrors the capture:
//! - a fresh `zkserver start-foreground zoo.cfg` on a free 127.0.0.1 port
//!   (tickTime=2000, maxClientCnxns=0, `4lw.commands.whitelist=*`,
//!   extendedTypesEnabled=true, containers never reaped during the run),
//!   started once, killed by pid when the test ends (also on panic);
//! - the fixtures' requests are sent in `seq` order, each on its `conn`
//!   (a `connect` fixture opens that connection's socket); a connection is
//!   closed by us after its last exchange, except one whose session a later
//!   reattach names: it stays open until just before that reattach, as
//!   capture.py does (so a refused reconnect naming it can be seen to close it);
//! - a reconnect naming a session carries OUR session id and, if it is the
//!   session's password, OUR password (taken from our earlier connect reply);
//! - after the request's own reply (notifications come first) we read what
//!   else arrives within a short grace period (`ZK_GOLDEN_GRACE_MS`, default
//!   100 ms); where the reference closes the socket (closeSession, AUTHFAILED,
//!   a refused session) we wait for our server to close it too.
//!
//! Normalised before comparing, and nothing else: session ids and passwords
//! in handshake replies (ours mapped to the reference's, pairing the replies to
//! the same new-session handshakes), `ctime`/`mtime` in every Stat (zeroed on
//! both sides), and `ephemeralOwner` values equal to one of our session ids
//! (mapped likewise). zxids, versions, errors, paths, data, ACLs, the order of
//! frames and of list elements must be identical. The normalisation decodes a
//! frame with the `jute` records and re-encodes it; a frame of ours that does
//! not decode to exactly its own bytes is compared raw.
//!
//! Every difference of the whole run is collected and reported together at
//! the end (fixture name, the request, both frames in hex and decoded).
//!
//! Our binary must be built first (`cargo build -p zk-server`); it is
//! `target/<profile>/zkserver` next to this test's executable, or
//! `ZK_SERVER_BIN` (a relative path is also tried from the workspace root, so
//! `ZK_SERVER_BIN=tests/compat/ref-as-zkserver.sh` replays against the
//! reference itself, which proves the harness: that run must be clean).
//! `ZK_KEEP_DIRS=1` keeps the server's temporary directory (log included).

// The fixture loader (its tests come along and run here too).
#[path = "golden.rs"]
#[allow(dead_code)]
mod golden;

use bytes::{BufMut, Bytes, BytesMut};
use golden::Fixture;
use jute::data::Stat;
use jute::multi::{MultiRequest, MultiResponse, OpResult};
use jute::proto::*;
use jute::{OpCode, Record};
use std::fmt::{Debug, Write as _};
use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// How long to wait for the request's own reply.
const REPLY_TIMEOUT: Duration = Duration::from_secs(5);
/// How long to wait for the server to close a socket where the reference does.
const CLOSE_TIMEOUT: Duration = Duration::from_secs(3);
/// How long to wait for our server to accept sessions.
const START_TIMEOUT: Duration = Duration::from_secs(60);

// ------------------------------------------------------------------ our server

/// Our server, started on a free port with a fresh data directory; killed
/// (by pid) and cleaned up on drop.
struct OurServer {
    child: Child,
    dir: PathBuf,
    addr: SocketAddr,
}

impl OurServer {
    fn start() -> OurServer {
        let bin = server_binary();
        let mut last = String::new();
        for attempt in 0..3 {
            match OurServer::start_once(&bin, attempt) {
                Ok(s) => return s,
                Err(e) => last = e,
            }
        }
        panic!("could not start {}: {last}", bin.display());
    }

    fn start_once(bin: &Path, attempt: u32) -> Result<OurServer, String> {
        let port = {
            let l = TcpListener::bind("127.0.0.1:0").map_err(|e| format!("bind: {e}"))?;
            l.local_addr().map_err(|e| e.to_string())?.port()
        };
        let dir =
            std::env::temp_dir().join(format!("zk-golden-replay-{}-{attempt}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("data")).map_err(|e| format!("mkdir: {e}"))?;
        let cfg = dir.join("zoo.cfg");
        std::fs::write(
            &cfg,
            format!(
                "tickTime=2000\ndataDir={}\nclientPort={port}\nclientPortAddress=127.0.0.1\n\
                 maxClientCnxns=0\n4lw.commands.whitelist=*\nadmin.enableServer=false\n\
                 extendedTypesEnabled=true\nznode.container.checkIntervalMs=3600000\n",
                dir.join("data").display()
            ),
        )
        .map_err(|e| format!("write zoo.cfg: {e}"))?;
        let log = std::fs::File::create(dir.join("server.log")).map_err(|e| e.to_string())?;
        let log2 = log.try_clone().map_err(|e| e.to_string())?;
        let mut cmd = Command::new(bin);
        cmd.arg("start-foreground")
            .arg(&cfg)
            .current_dir(&dir)
            .stdin(Stdio::null())
            .stdout(log)
            .stderr(log2);
        if std::env::var_os("ZK_LOG").is_none() {
            cmd.env("ZK_LOG", "warn");
        }
        let child = cmd
            .spawn()
            .map_err(|e| format!("spawn {}: {e}", bin.display()))?;
        let mut server = OurServer {
            child,
            dir,
            addr: ([127, 0, 0, 1], port).into(),
        };
        let deadline = Instant::now() + START_TIMEOUT;
        loop {
            if let Ok(Some(status)) = server.child.try_wait() {
                return Err(format!(
                    "server exited during startup ({status}); log tail:\n{}",
                    server.log_tail(30)
                ));
            }
            // `srvr` too: the reference answers imok before it serves sessions.
            if four_letter(server.addr, "ruok") == "imok"
                && four_letter(server.addr, "srvr").contains("Mode:")
            {
                return Ok(server);
            }
            if Instant::now() > deadline {
                return Err(format!(
                    "no imok on {} after {START_TIMEOUT:?}; log tail:\n{}",
                    server.addr,
                    server.log_tail(30)
                ));
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    fn log_tail(&self, n: usize) -> String {
        let text = std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }
}

impl Drop for OurServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        if std::env::var_os("ZK_KEEP_DIRS").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// `ZK_SERVER_BIN`, else `target/<profile>/zkserver` next to `target/<profile>/deps/<this test>`.
fn server_binary() -> PathBuf {
    if let Some(p) = std::env::var_os("ZK_SERVER_BIN") {
        let p = PathBuf::from(p);
        if p.exists() {
            return p;
        }
        let from_root = Path::new(env!("CARGO_MANIFEST_DIR")).join("..").join(&p);
        assert!(
            from_root.exists(),
            "ZK_SERVER_BIN={} does not exist",
            p.display()
        );
        return from_root;
    }
    let exe = std::env::current_exe().expect("current_exe");
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .expect("test executable in target/<profile>/deps");
    let bin = profile_dir.join(format!("zkserver{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} not found: run `cargo build -p zk-server` first (or set ZK_SERVER_BIN)",
        bin.display()
    );
    bin
}

fn four_letter(addr: SocketAddr, word: &str) -> String {
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return String::new();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(word.as_bytes()).is_err() {
        return String::new();
    }
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

// ------------------------------------------------------------------ raw frames

/// One client socket: whole frames out, whole frames (prefix included) in.
struct Wire {
    stream: TcpStream,
    buf: Vec<u8>,
}

enum Got {
    Frame(Bytes),
    Eof,
    Timeout,
    Failed(String),
}

impl Wire {
    fn open(addr: SocketAddr) -> io::Result<Wire> {
        let stream = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
        stream.set_nodelay(true)?;
        Ok(Wire {
            stream,
            buf: Vec::new(),
        })
    }

    fn send(&mut self, frame: &[u8]) -> io::Result<()> {
        self.stream.write_all(frame)
    }

    fn read_frame(&mut self, wait: Duration) -> Got {
        let deadline = Instant::now() + wait;
        loop {
            if self.buf.len() >= 4 {
                let len = i32::from_be_bytes([self.buf[0], self.buf[1], self.buf[2], self.buf[3]]);
                if !(0..=16 << 20).contains(&len) {
                    return Got::Failed(format!("bad frame length {len}"));
                }
                let total = 4 + len as usize;
                if self.buf.len() >= total {
                    let frame: Vec<u8> = self.buf.drain(..total).collect();
                    return Got::Frame(frame.into());
                }
            }
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return Got::Timeout;
            }
            if let Err(e) = self.stream.set_read_timeout(Some(left)) {
                return Got::Failed(e.to_string());
            }
            let mut chunk = [0u8; 65536];
            match self.stream.read(&mut chunk) {
                Ok(0) if self.buf.is_empty() => return Got::Eof,
                Ok(0) => {
                    return Got::Failed(format!(
                        "closed mid-frame: {} bytes {}",
                        self.buf.len(),
                        hex(&self.buf)
                    ))
                }
                Ok(n) => self.buf.extend_from_slice(&chunk[..n]),
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::WouldBlock | io::ErrorKind::TimedOut
                    ) =>
                {
                    return Got::Timeout
                }
                Err(e)
                    if matches!(
                        e.kind(),
                        io::ErrorKind::ConnectionReset | io::ErrorKind::ConnectionAborted
                    ) =>
                {
                    return Got::Eof
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Got::Failed(e.to_string()),
            }
        }
    }
}

fn hex(b: &[u8]) -> String {
    b.iter()
        .fold(String::with_capacity(b.len() * 2), |mut s, x| {
            let _ = write!(s, "{x:02x}");
            s
        })
}

fn frame(payload: &[u8]) -> Bytes {
    let mut b = BytesMut::with_capacity(4 + payload.len());
    b.put_i32(payload.len() as i32);
    b.put_slice(payload);
    b.freeze()
}

fn xid_of(frame: &[u8]) -> Option<i32> {
    frame
        .get(4..8)
        .map(|x| i32::from_be_bytes([x[0], x[1], x[2], x[3]]))
}

// ------------------------------------------------------------------ decoding

/// What a request expects as its reply.
#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Connect,
    Op(OpCode),
}

/// A decoded reply frame.
#[derive(Debug, Clone)]
enum Decoded {
    Connect(ConnectResponse),
    Event(ReplyHeader, WatcherEvent),
    Reply(ReplyHeader, Body),
}

#[derive(Debug, Clone)]
enum Body {
    /// Header only (every error reply, and the ops that answer nothing).
    Empty,
    Create(CreateResponse),
    Create2(Create2Response),
    Exists(ExistsResponse),
    SetData(SetDataResponse),
    SetAcl(SetAclResponse),
    GetData(GetDataResponse),
    GetAcl(GetAclResponse),
    Children(GetChildrenResponse),
    Children2(GetChildren2Response),
    Sync(SyncResponse),
    Ephemerals(GetEphemeralsResponse),
    Count(GetAllChildrenNumberResponse),
    Error(ErrorResponse),
    WhoAmI(WhoAmIResponse),
    Multi(MultiResponse),
}

impl Body {
    fn write(&self, buf: &mut BytesMut) {
        match self {
            Body::Empty => {}
            Body::Create(r) => r.write(buf),
            Body::Create2(r) => r.write(buf),
            Body::Exists(r) => r.write(buf),
            Body::SetData(r) => r.write(buf),
            Body::SetAcl(r) => r.write(buf),
            Body::GetData(r) => r.write(buf),
            Body::GetAcl(r) => r.write(buf),
            Body::Children(r) => r.write(buf),
            Body::Children2(r) => r.write(buf),
            Body::Sync(r) => r.write(buf),
            Body::Ephemerals(r) => r.write(buf),
            Body::Count(r) => r.write(buf),
            Body::Error(r) => r.write(buf),
            Body::WhoAmI(r) => r.write(buf),
            Body::Multi(r) => r.write(buf),
        }
    }

    fn stats(&mut self) -> Vec<&mut Stat> {
        match self {
            Body::Create2(r) => vec![&mut r.stat],
            Body::Exists(r) => vec![&mut r.stat],
            Body::SetData(r) => vec![&mut r.stat],
            Body::SetAcl(r) => vec![&mut r.stat],
            Body::GetData(r) => vec![&mut r.stat],
            Body::GetAcl(r) => vec![&mut r.stat],
            Body::Children2(r) => vec![&mut r.stat],
            Body::Multi(m) => m
                .results
                .iter_mut()
                .filter_map(|r| match r {
                    OpResult::Create2 { stat, .. }
                    | OpResult::SetData { stat }
                    | OpResult::GetData { stat, .. } => Some(stat),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        }
    }
}

impl Decoded {
    fn encode(&self) -> Bytes {
        let mut buf = BytesMut::new();
        match self {
            Decoded::Connect(r) => r.write(&mut buf),
            Decoded::Event(h, e) => {
                h.write(&mut buf);
                e.write(&mut buf);
            }
            Decoded::Reply(h, b) => {
                h.write(&mut buf);
                b.write(&mut buf);
            }
        }
        buf.freeze()
    }
}

fn rec<R: Record>(b: &mut Bytes) -> Result<R, String> {
    R::read(b).map_err(|e| format!("{} does not decode: {e}", std::any::type_name::<R>()))
}

/// Decodes a reply payload as the answer to a request of `kind`. Errors when
/// it does not decode, leaves bytes over, or does not re-encode identically.
fn decode_reply(kind: Kind, payload: &Bytes) -> Result<Decoded, String> {
    let mut b = payload.clone();
    let decoded = match kind {
        Kind::Connect => Decoded::Connect(rec(&mut b)?),
        Kind::Op(op) => {
            let h: ReplyHeader = rec(&mut b)?;
            if h.xid == xid::NOTIFICATION {
                let e = rec(&mut b)?;
                Decoded::Event(h, e)
            } else if h.err != 0 {
                Decoded::Reply(h, Body::Empty)
            } else {
                let body = match op {
                    OpCode::Create => Body::Create(rec(&mut b)?),
                    OpCode::Create2 | OpCode::CreateContainer | OpCode::CreateTtl => {
                        Body::Create2(rec(&mut b)?)
                    }
                    OpCode::Exists => Body::Exists(rec(&mut b)?),
                    OpCode::SetData => Body::SetData(rec(&mut b)?),
                    OpCode::SetAcl => Body::SetAcl(rec(&mut b)?),
                    OpCode::GetData | OpCode::Reconfig => Body::GetData(rec(&mut b)?),
                    OpCode::GetAcl => Body::GetAcl(rec(&mut b)?),
                    OpCode::GetChildren => Body::Children(rec(&mut b)?),
                    OpCode::GetChildren2 => Body::Children2(rec(&mut b)?),
                    OpCode::Sync => Body::Sync(rec(&mut b)?),
                    OpCode::GetEphemerals => Body::Ephemerals(rec(&mut b)?),
                    OpCode::GetAllChildrenNumber => Body::Count(rec(&mut b)?),
                    OpCode::AddWatch => Body::Error(rec(&mut b)?),
                    OpCode::WhoAmI => Body::WhoAmI(rec(&mut b)?),
                    OpCode::Multi | OpCode::MultiRead => Body::Multi(rec(&mut b)?),
                    _ => Body::Empty,
                };
                Decoded::Reply(h, body)
            }
        }
    };
    if !b.is_empty() {
        return Err(format!(
            "{decoded:?} followed by {} more bytes: {}",
            b.len(),
            hex(&b)
        ));
    }
    if decoded.encode() != *payload {
        return Err(format!(
            "{decoded:?}, which does not re-encode to the same bytes"
        ));
    }
    Ok(decoded)
}

fn show<R: Record + Debug>(b: &mut Bytes) -> String {
    match R::read(b) {
        Ok(r) => format!("{r:?}"),
        Err(e) => format!("<{} does not decode: {e}>", std::any::type_name::<R>()),
    }
}

/// A request payload, decoded for messages.
fn describe_request(op_name: &str, payload: &Bytes) -> String {
    let mut b = payload.clone();
    if op_name == "connect" {
        return show::<ConnectRequest>(&mut b);
    }
    let Ok(h) = RequestHeader::read(&mut b) else {
        return format!("<undecodable request {}>", hex(payload));
    };
    let body = match OpCode::from_i32(h.type_) {
        Some(OpCode::Create | OpCode::Create2 | OpCode::CreateContainer) => {
            show::<CreateRequest>(&mut b)
        }
        Some(OpCode::CreateTtl) => show::<CreateTtlRequest>(&mut b),
        Some(OpCode::Multi | OpCode::MultiRead) => show::<MultiRequest>(&mut b),
        Some(OpCode::Delete) => show::<DeleteRequest>(&mut b),
        Some(OpCode::Exists) => show::<ExistsRequest>(&mut b),
        Some(OpCode::GetData) => show::<GetDataRequest>(&mut b),
        Some(OpCode::SetData) => show::<SetDataRequest>(&mut b),
        Some(OpCode::GetAcl) => show::<GetAclRequest>(&mut b),
        Some(OpCode::SetAcl) => show::<SetAclRequest>(&mut b),
        Some(OpCode::GetChildren) => show::<GetChildrenRequest>(&mut b),
        Some(OpCode::GetChildren2) => show::<GetChildren2Request>(&mut b),
        Some(OpCode::Sync) => show::<SyncRequest>(&mut b),
        Some(OpCode::Check) => show::<CheckVersionRequest>(&mut b),
        Some(OpCode::Reconfig) => show::<ReconfigRequest>(&mut b),
        Some(OpCode::CheckWatches) => show::<CheckWatchesRequest>(&mut b),
        Some(OpCode::RemoveWatches) => show::<RemoveWatchesRequest>(&mut b),
        Some(OpCode::Auth) => show::<AuthPacket>(&mut b),
        Some(OpCode::SetWatches) => show::<SetWatches>(&mut b),
        Some(OpCode::SetWatches2) => show::<SetWatches2>(&mut b),
        Some(OpCode::GetEphemerals) => show::<GetEphemeralsRequest>(&mut b),
        Some(OpCode::GetAllChildrenNumber) => show::<GetAllChildrenNumberRequest>(&mut b),
        Some(OpCode::AddWatch) => show::<AddWatchRequest>(&mut b),
        _ => String::new(),
    };
    let rest = if b.is_empty() {
        String::new()
    } else {
        format!(" + {} more bytes", b.len())
    };
    format!("{h:?} {body}{rest}")
}

fn describe_reply(kind: Kind, frame: &Bytes) -> String {
    match decode_reply(kind, &frame.slice(4..)) {
        Ok(d) => format!("{d:?}"),
        Err(e) => format!("<not a clean reply: {e}>"),
    }
}

// ------------------------------------------------------------------ sessions

/// Our session ids and passwords paired with the reference's (from the
/// replies to the same new-session handshakes).
#[derive(Default)]
struct Sessions {
    ids: Vec<(i64, i64)>,
    passwords: Vec<(Bytes, Bytes)>,
}

impl Sessions {
    fn ours_for_ref_id(&self, id: i64) -> Option<i64> {
        self.ids.iter().find(|p| p.0 == id).map(|p| p.1)
    }
    fn ref_for_our_id(&self, id: i64) -> Option<i64> {
        self.ids.iter().find(|p| p.1 == id).map(|p| p.0)
    }
    fn ours_for_ref_password(&self, pw: &Bytes) -> Option<Bytes> {
        self.passwords
            .iter()
            .find(|p| p.0 == pw)
            .map(|p| p.1.clone())
    }
    fn ref_for_our_password(&self, pw: &Bytes) -> Option<Bytes> {
        self.passwords
            .iter()
            .find(|p| p.1 == pw)
            .map(|p| p.0.clone())
    }

    /// Zeroes ctime/mtime; on our side also maps session ids and passwords
    /// (handshake fields, ephemeralOwner) to the reference's.
    fn normalise(&self, d: &mut Decoded, ours: bool) {
        match d {
            Decoded::Connect(r) if ours => {
                if let Some(id) = self.ref_for_our_id(r.session_id) {
                    r.session_id = id;
                }
                if let Some(pw) = r.passwd.as_ref().and_then(|p| self.ref_for_our_password(p)) {
                    r.passwd = Some(pw);
                }
            }
            Decoded::Reply(_, body) => {
                for stat in body.stats() {
                    stat.ctime = 0;
                    stat.mtime = 0;
                    if ours && stat.ephemeral_owner != 0 {
                        if let Some(id) = self.ref_for_our_id(stat.ephemeral_owner) {
                            stat.ephemeral_owner = id;
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

// ------------------------------------------------------------------ the replay

/// A client connection of the run.
struct Conn {
    wire: Option<Wire>,
    /// Our session id and password, from our reply to its handshake.
    ours: Option<(i64, Bytes)>,
    /// The fixture after which our server closed it unexpectedly.
    lost_after: Option<String>,
}

/// Static facts about the capture run, derived from the fixtures.
struct Plan {
    /// Per connection: the `seq` of its last exchange.
    last_seq: Vec<u32>,
    /// Per connection: keep it open until just before this `seq` (a reattach
    /// to its session follows).
    hold_until: Vec<Option<u32>>,
    /// Per connection: the reference's session id, from its new-session handshake.
    ref_session: Vec<i64>,
}

impl Plan {
    fn new(all: &[Fixture]) -> Plan {
        let n = all.iter().map(|f| f.conn as usize + 1).max().unwrap_or(0);
        let mut plan = Plan {
            last_seq: vec![0; n],
            hold_until: vec![None; n],
            ref_session: vec![0; n],
        };
        for f in all {
            let c = f.conn as usize;
            plan.last_seq[c] = plan.last_seq[c].max(f.seq);
            if let Some((req, resp)) = ref_handshake(f) {
                if req.session_id == 0 {
                    plan.ref_session[c] = resp.session_id;
                }
            }
        }
        for f in all {
            if let Some((req, resp)) = ref_handshake(f) {
                if req.session_id != 0 && resp.time_out > 0 {
                    if let Some(holder) = plan.holder_of(req.session_id, f.conn) {
                        plan.hold_until[holder] = Some(f.seq);
                    }
                }
            }
        }
        plan
    }

    /// The other connection whose new-session handshake got `session`.
    fn holder_of(&self, session: i64, except: u32) -> Option<usize> {
        (0..self.ref_session.len())
            .find(|&c| c != except as usize && session != 0 && self.ref_session[c] == session)
    }
}

/// A connect fixture's request and the reference's reply.
fn ref_handshake(f: &Fixture) -> Option<(ConnectRequest, ConnectResponse)> {
    if f.op != "connect" {
        return None;
    }
    let req = ConnectRequest::read(&mut f.request_payload()).ok()?;
    let resp = ConnectResponse::read(&mut f.replies.first()?.slice(4..)).ok()?;
    Some((req, resp))
}

/// Whether the reference closed the socket after this exchange.
fn reference_closes(f: &Fixture) -> bool {
    if let Some((_, resp)) = ref_handshake(f) {
        return resp.time_out == 0;
    }
    let own = f
        .replies
        .iter()
        .find(|r| xid_of(r) != Some(xid::NOTIFICATION));
    let err = own
        .and_then(|r| r.get(16..20))
        .map(|e| i32::from_be_bytes([e[0], e[1], e[2], e[3]]));
    match f.op.as_str() {
        "closeSession" => true,
        "auth" => err.is_some_and(|e| e != 0),
        _ => false,
    }
}

struct Replay<'a> {
    addr: SocketAddr,
    all: &'a [Fixture],
    plan: Plan,
    conns: Vec<Conn>,
    sessions: Sessions,
    grace: Duration,
    /// One entry per fixture (or connection) that differed.
    mismatches: Vec<String>,
}

impl<'a> Replay<'a> {
    fn new(addr: SocketAddr, all: &'a [Fixture]) -> Replay<'a> {
        let plan = Plan::new(all);
        let conns = (0..plan.last_seq.len())
            .map(|_| Conn {
                wire: None,
                ours: None,
                lost_after: None,
            })
            .collect();
        let grace = std::env::var("ZK_GOLDEN_GRACE_MS")
            .ok()
            .and_then(|v| v.parse().ok())
            .map_or(Duration::from_millis(100), Duration::from_millis);
        Replay {
            addr,
            all,
            plan,
            conns,
            sessions: Sessions::default(),
            grace,
            mismatches: Vec::new(),
        }
    }

    fn run(&mut self) {
        for f in self.all {
            self.close_finished(Some(f.seq));
            self.exchange(f);
        }
        self.close_finished(None);
    }

    /// Closes (our side of) every connection whose part of the run is over,
    /// after checking that nothing unexpected arrived on it meanwhile.
    fn close_finished(&mut self, before_seq: Option<u32>) {
        for c in 0..self.conns.len() {
            let due = match before_seq {
                None => true,
                Some(seq) => {
                    seq > self.plan.last_seq[c]
                        && !matches!(self.plan.hold_until[c], Some(h) if seq < h)
                }
            };
            if !due {
                continue;
            }
            let Some(mut wire) = self.conns[c].wire.take() else {
                continue;
            };
            let mut extra = Vec::new();
            let mut closed = false;
            let mut failed = None;
            loop {
                match wire.read_frame(Duration::from_millis(20)) {
                    Got::Frame(fr) => extra.push(fr),
                    Got::Eof => {
                        closed = true;
                        break;
                    }
                    Got::Timeout => break,
                    Got::Failed(e) => {
                        failed = Some(e);
                        break;
                    }
                }
            }
            if !extra.is_empty() || closed || failed.is_some() {
                let mut m = format!(
                    "### conn {c} (idle after its last exchange, before seq {})\n",
                    before_seq.map_or("end".to_string(), |s| s.to_string())
                );
                if closed {
                    m.push_str("our server closed this connection on its own; the reference kept it open\n");
                }
                if let Some(e) = failed {
                    let _ = writeln!(m, "reading from it failed: {e}");
                }
                for fr in &extra {
                    let _ = writeln!(
                        m,
                        "unexpected frame from our server: {}\n  decoded: {}",
                        hex(fr),
                        describe_reply(Kind::Op(OpCode::Ping), fr)
                    );
                }
                self.mismatches.push(m);
            }
        }
    }

    fn exchange(&mut self, f: &Fixture) {
        let c = f.conn as usize;
        let mut notes: Vec<String> = Vec::new();
        let is_connect = f.op == "connect";
        let kind = if is_connect {
            Kind::Connect
        } else {
            let type_ = f
                .request
                .get(8..12)
                .map(|x| i32::from_be_bytes([x[0], x[1], x[2], x[3]]))
                .unwrap_or(0);
            Kind::Op(
                OpCode::from_i32(type_)
                    .unwrap_or_else(|| panic!("{}: request names unknown opcode {type_}", f.name)),
            )
        };

        // The request as we send it: a reconnect names OUR session and password.
        let mut request = f.request.clone();
        if is_connect {
            let mut req = ConnectRequest::read(&mut f.request_payload())
                .unwrap_or_else(|e| panic!("{}: bad ConnectRequest: {e}", f.name));
            if req.session_id != 0 {
                match self.sessions.ours_for_ref_id(req.session_id) {
                    Some(id) => req.session_id = id,
                    None => notes.push(format!(
                        "no session of ours pairs with the reference's {:#x}; sent unchanged",
                        req.session_id
                    )),
                }
                if let Some(pw) = req
                    .passwd
                    .as_ref()
                    .and_then(|p| self.sessions.ours_for_ref_password(p))
                {
                    req.passwd = Some(pw);
                }
                request = frame(&jute::to_bytes(&req));
            }
            if let Some(old) = self.conns[c].wire.take() {
                let _ = old.stream.shutdown(std::net::Shutdown::Both);
            }
            match Wire::open(self.addr) {
                Ok(w) => self.conns[c].wire = Some(w),
                Err(e) => notes.push(format!("could not connect: {e}")),
            }
        } else if self.conns[c].wire.is_none() {
            // Our server dropped this connection earlier: reattach to keep going.
            let lost = self.conns[c].lost_after.clone().unwrap_or_default();
            let how = self.reattach(c);
            notes.push(format!("conn {c} had been closed (after {lost}); {how}"));
        }

        // Send, then read: frames up to the own reply, a grace period, and
        // the close where the reference closes.
        let want_xid = if is_connect { None } else { xid_of(&request) };
        let expect_close = reference_closes(f);
        let mut ours: Vec<Bytes> = Vec::new();
        let mut closed = false;
        let mut got_reply = false;
        if let Some(wire) = self.conns[c].wire.as_mut() {
            if let Err(e) = wire.send(&request) {
                notes.push(format!("send failed: {e}"));
            }
            let deadline = Instant::now() + REPLY_TIMEOUT;
            while !got_reply && !closed {
                match wire.read_frame(deadline.saturating_duration_since(Instant::now())) {
                    Got::Frame(fr) => {
                        got_reply = is_connect || xid_of(&fr) == want_xid;
                        ours.push(fr);
                    }
                    Got::Eof => closed = true,
                    Got::Timeout => break,
                    Got::Failed(e) => {
                        notes.push(format!("read failed: {e}"));
                        closed = true;
                    }
                }
            }
            if !got_reply && !closed {
                notes.push(format!(
                    "no reply with xid {want_xid:?} from our server within {REPLY_TIMEOUT:?}"
                ));
            }
            let mut wait = self.grace;
            while !closed {
                match wire.read_frame(wait) {
                    Got::Frame(fr) => ours.push(fr),
                    Got::Eof => closed = true,
                    Got::Timeout if expect_close && wait != CLOSE_TIMEOUT => wait = CLOSE_TIMEOUT,
                    Got::Timeout => break,
                    Got::Failed(e) => {
                        notes.push(format!("read failed: {e}"));
                        closed = true;
                    }
                }
            }
        }
        if closed {
            self.conns[c].wire = None;
        } else if !got_reply && self.conns[c].wire.is_some() {
            // A late reply would be read as the next exchange's: start afresh.
            self.conns[c].wire = None;
            self.conns[c].lost_after = Some(format!("{}, dropped by us: no reply", f.name));
        }
        if expect_close && !closed {
            notes.push(format!(
                "the reference closes the connection after this exchange; ours kept it open for {CLOSE_TIMEOUT:?}"
            ));
        } else if closed && !expect_close {
            notes.push(
                "our server closed the connection after this exchange; the reference keeps it open"
                    .into(),
            );
            self.conns[c].lost_after = Some(f.name.clone());
        }

        // Pair the sessions of a new-session handshake; remember ours.
        if let (Some((req, ref_resp)), Some(fr)) = (ref_handshake(f), ours.first()) {
            if let Ok(Decoded::Connect(our_resp)) = decode_reply(Kind::Connect, &fr.slice(4..)) {
                if our_resp.session_id != 0 {
                    let pw = our_resp.passwd.clone().unwrap_or_default();
                    if req.session_id == 0 && ref_resp.session_id != 0 {
                        self.sessions
                            .ids
                            .push((ref_resp.session_id, our_resp.session_id));
                        self.sessions
                            .passwords
                            .push((ref_resp.passwd.clone().unwrap_or_default(), pw.clone()));
                    }
                    self.conns[c].ours = Some((our_resp.session_id, pw));
                }
            }
        }

        // Compare.
        let mut problems = notes;
        let n = f.replies.len().max(ours.len());
        let mut differs = vec![false; n];
        for (i, d) in differs.iter_mut().enumerate() {
            match (f.replies.get(i), ours.get(i)) {
                (Some(r), Some(o)) => {
                    if let Some(why) = self.frame_difference(kind, r, o) {
                        *d = true;
                        problems.push(format!("reply #{i}: {why}"));
                    }
                }
                (Some(_), None) => {
                    *d = true;
                    problems.push(format!("reply #{i}: missing from our server"));
                }
                (None, Some(_)) => {
                    *d = true;
                    problems.push(format!("reply #{i}: extra frame from our server"));
                }
                (None, None) => unreachable!(),
            }
        }

        // A refused reconnect naming a live session: the reference first
        // closes the socket that holds it.
        if let Some((req, resp)) = ref_handshake(f) {
            if req.session_id != 0 && resp.time_out == 0 {
                if let Some(h) = self.plan.holder_of(req.session_id, f.conn) {
                    problems.extend(self.expect_closed_by_server(h, &f.name));
                }
            }
        }

        if !problems.is_empty() {
            let mut m = format!(
                "### {} (seq {}, conn {}, op {})\n",
                f.name, f.seq, f.conn, f.op
            );
            for p in &problems {
                let _ = writeln!(m, "- {p}");
            }
            let _ = writeln!(
                m,
                "request sent: {}\n  decoded: {}",
                hex(&request),
                describe_request(&f.op, &request.slice(4..))
            );
            if request != f.request {
                let _ = writeln!(m, "  (the fixture's request: {})", hex(&f.request));
            }
            for (i, differs) in differs.iter().enumerate() {
                let mark = if *differs { " (DIFFERS)" } else { "" };
                if let Some(r) = f.replies.get(i) {
                    let _ = writeln!(
                        m,
                        "reference reply #{i}{mark}: {}\n  decoded: {}",
                        hex(r),
                        describe_reply(kind, r)
                    );
                }
                if let Some(o) = ours.get(i) {
                    let _ = writeln!(
                        m,
                        "our reply #{i}{mark}:       {}\n  decoded: {}",
                        hex(o),
                        describe_reply(kind, o)
                    );
                }
            }
            self.mismatches.push(m);
        }
    }

    /// Why two frames differ after normalisation, or None when they match.
    fn frame_difference(&self, kind: Kind, reference: &Bytes, ours: &Bytes) -> Option<String> {
        let mut r = decode_reply(kind, &reference.slice(4..))
            .unwrap_or_else(|e| panic!("a reference frame does not decode: {e}"));
        self.sessions.normalise(&mut r, false);
        let r = r.encode();
        let o = match decode_reply(kind, &ours.slice(4..)) {
            Ok(mut o) => {
                self.sessions.normalise(&mut o, true);
                o.encode()
            }
            Err(e) => {
                return (reference != ours).then(|| format!("ours is not a clean reply ({e})"));
            }
        };
        if r == o {
            return None;
        }
        let at = r.iter().zip(o.iter()).take_while(|(a, b)| a == b).count();
        Some(format!(
            "payloads differ from byte {at} after normalisation (payload lengths {} vs {}):\n  \
             reference normalised: {}\n  ours normalised:      {}",
            r.len(),
            o.len(),
            hex(&r),
            hex(&o)
        ))
    }

    /// Checks that our server closes connection `c` (within [`CLOSE_TIMEOUT`]).
    fn expect_closed_by_server(&mut self, c: usize, after: &str) -> Vec<String> {
        let Some(mut wire) = self.conns[c].wire.take() else {
            return vec![format!(
                "conn {c} (holding the named session) was no longer open on our side"
            )];
        };
        let mut problems = Vec::new();
        loop {
            match wire.read_frame(CLOSE_TIMEOUT) {
                Got::Frame(fr) => problems.push(format!(
                    "unexpected frame on conn {c}: {} ({})",
                    hex(&fr),
                    describe_reply(Kind::Op(OpCode::Ping), &fr)
                )),
                Got::Eof => break,
                Got::Timeout => {
                    problems.push(format!(
                        "the reference closes conn {c} (the socket holding the named session) \
                         when {after} names its session; ours kept it open for {CLOSE_TIMEOUT:?}"
                    ));
                    // Keep it: the run closes it where the capture did.
                    self.conns[c].wire = Some(wire);
                    break;
                }
                Got::Failed(e) => {
                    problems.push(format!("conn {c}: {e}"));
                    break;
                }
            }
        }
        problems
    }

    /// Reopens connection `c` on its (our) session; says what happened.
    fn reattach(&mut self, c: usize) -> String {
        let Some((id, pw)) = self.conns[c].ours.clone() else {
            return "no session of ours to reattach to".into();
        };
        let req = ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 0,
            time_out: 30000,
            session_id: id,
            passwd: Some(pw),
            read_only: Some(false),
        };
        let mut wire = match Wire::open(self.addr) {
            Ok(w) => w,
            Err(e) => return format!("reattaching failed: {e}"),
        };
        if let Err(e) = wire.send(&frame(&jute::to_bytes(&req))) {
            return format!("reattaching failed: {e}");
        }
        match wire.read_frame(REPLY_TIMEOUT) {
            Got::Frame(fr) => match ConnectResponse::read(&mut fr.slice(4..)) {
                Ok(r) if r.time_out > 0 => {
                    self.conns[c].wire = Some(wire);
                    format!("reattached to session {id:#x} to go on (watches are lost)")
                }
                other => format!("reattaching was refused: {other:?}"),
            },
            _ => "reattaching got no reply".into(),
        }
    }
}

// ------------------------------------------------------------------ the test

#[test]
fn golden_replay_against_our_server() {
    let all = golden::fixtures();
    assert!(all.len() >= 60, "only {} fixtures", all.len());
    let started = Instant::now();
    let server = OurServer::start();
    let mut replay = Replay::new(server.addr, &all);
    replay.run();
    let elapsed = started.elapsed();
    let alive = match four_letter(server.addr, "ruok").as_str() {
        "imok" => String::new(),
        _ => format!(
            "\nour server no longer answers ruok; log tail:\n{}",
            server.log_tail(30)
        ),
    };
    println!(
        "golden replay: {} fixtures replayed against {}, {} mismatch(es), {elapsed:.1?}",
        all.len(),
        server.addr,
        replay.mismatches.len()
    );
    assert!(
        replay.mismatches.is_empty() && alive.is_empty(),
        "golden replay: {} difference(s) from Apache ZooKeeper 3.8.0 over {} fixtures:\n\n{}{alive}",
        replay.mismatches.len(),
        all.len(),
        replay.mismatches.join("\n")
    );
}
