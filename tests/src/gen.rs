//! A seeded generator of client operations for the differential test.
//!
//! The path space is deliberately small (`/d`, `/d/a`, `/d/b`, `/d/a/x`,
//! `/d/b/y`, `/e`, `/e/c`, plus the sequential names created so far), so that
//! NodeExists, NoNode, NotEmpty, BadVersion, NoAuth and
//! NoChildrenForEphemerals come up often. Operations are spread over
//! [`SESSIONS`] session slots.
//!
//! The generator is a pure function of its seed and of what it is told
//! through [`Generator::learn_path`] (sequential names the reference created),
//! so a seed replays exactly against the same reference.

use base64::Engine;
use bytes::Bytes;
use jute::data::{perms, Acl};
use jute::multi::MultiOp;
use jute::proto::*;
use jute::OpCode;
use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};
use sha1::{Digest, Sha1};

/// Number of concurrent session slots.
pub const SESSIONS: usize = 3;

/// Fixed paths (plus a few that never exist or are invalid, for errors).
pub const BASE_PATHS: &[&str] = &["/d", "/d/a", "/d/b", "/d/a/x", "/d/b/y", "/e", "/e/c"];
const RARE_PATHS: &[&str] = &["/", "/zookeeper", "/nope/x", "/d/zz"];
/// Prefixes for sequential creates.
const SEQ_PREFIXES: &[&str] = &["/d/s-", "/e/q", "/d/a/x/n-", "/d/b/"];

/// The digest users the generator authenticates as.
pub const USERS: &[(&str, &str)] = &[("user1", "pw1"), ("user2", "pw2")];

/// `base64(sha1("user:password"))`, as `DigestAuthenticationProvider` computes it.
pub fn digest(user: &str, password: &str) -> String {
    let hash = Sha1::digest(format!("{user}:{password}").as_bytes());
    format!(
        "{user}:{}",
        base64::engine::general_purpose::STANDARD.encode(hash)
    )
}

/// How a reconnect is done.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reconnect {
    /// First try a wrong password (the server refuses with timeout 0).
    pub bad_password_first: bool,
    /// Re-send the slot's `addauth`s after reconnecting (as real clients do).
    pub reauth: bool,
    /// Use the old `setWatches` (101) instead of `setWatches2` (105).
    pub legacy_set_watches: bool,
    /// Paths for setWatches2; relativeZxid is the slot's last zxid seen.
    pub data: Vec<String>,
    pub exist: Vec<String>,
    pub child: Vec<String>,
    pub persistent: Vec<String>,
    pub recursive: Vec<String>,
    /// Send the legacy `readOnly` byte-less handshake.
    pub short_handshake: bool,
}

/// One generated operation, addressed to a session slot.
#[derive(Debug, Clone, PartialEq)]
pub enum Op {
    /// create (1), create2 (15) or createContainer (19).
    Create {
        s: usize,
        op: OpCode,
        req: CreateRequest,
    },
    CreateTtl {
        s: usize,
        req: CreateTtlRequest,
    },
    Delete {
        s: usize,
        req: DeleteRequest,
    },
    Exists {
        s: usize,
        req: ExistsRequest,
    },
    GetData {
        s: usize,
        req: GetDataRequest,
    },
    GetChildren {
        s: usize,
        req: GetChildrenRequest,
    },
    GetChildren2 {
        s: usize,
        req: GetChildren2Request,
    },
    SetData {
        s: usize,
        req: SetDataRequest,
    },
    GetAcl {
        s: usize,
        req: GetAclRequest,
    },
    SetAcl {
        s: usize,
        req: SetAclRequest,
    },
    Sync {
        s: usize,
        req: SyncRequest,
    },
    Multi {
        s: usize,
        ops: Vec<MultiOp>,
    },
    MultiRead {
        s: usize,
        ops: Vec<MultiOp>,
    },
    GetEphemerals {
        s: usize,
        req: GetEphemeralsRequest,
    },
    GetAllChildrenNumber {
        s: usize,
        req: GetAllChildrenNumberRequest,
    },
    AddWatch {
        s: usize,
        req: AddWatchRequest,
    },
    CheckWatches {
        s: usize,
        req: CheckWatchesRequest,
    },
    RemoveWatches {
        s: usize,
        req: RemoveWatchesRequest,
    },
    WhoAmI {
        s: usize,
    },
    /// addauth (xid −4); `scheme` other than digest fails with AUTHFAILED and
    /// the server closes the connection (the harness then reconnects).
    Auth {
        s: usize,
        scheme: String,
        auth: String,
    },
    /// Drain the old connection, drop it, reattach with the session id and password.
    Reconnect {
        s: usize,
        how: Box<Reconnect>,
    },
    /// closeSession, then a fresh session in the same slot.
    CloseSession {
        s: usize,
        time_out: i32,
        short_handshake: bool,
    },
    /// Ping one session and collect its events.
    Drain {
        s: usize,
    },
    /// Ping every session.
    DrainAll,
}

impl Op {
    /// The session slot the op runs on (None for [`Op::DrainAll`]).
    pub fn slot(&self) -> Option<usize> {
        use Op::*;
        match self {
            Create { s, .. }
            | CreateTtl { s, .. }
            | Delete { s, .. }
            | Exists { s, .. }
            | GetData { s, .. }
            | GetChildren { s, .. }
            | GetChildren2 { s, .. }
            | SetData { s, .. }
            | GetAcl { s, .. }
            | SetAcl { s, .. }
            | Sync { s, .. }
            | Multi { s, .. }
            | MultiRead { s, .. }
            | GetEphemerals { s, .. }
            | GetAllChildrenNumber { s, .. }
            | AddWatch { s, .. }
            | CheckWatches { s, .. }
            | RemoveWatches { s, .. }
            | WhoAmI { s }
            | Auth { s, .. }
            | Reconnect { s, .. }
            | CloseSession { s, .. }
            | Drain { s } => Some(*s),
            DrainAll => None,
        }
    }

    /// The op's kind, as `ZK_DIFF_SKIP` names it (the opcode's name, plus
    /// `reconnect`, `drain` and `drainAll`).
    pub fn kind(&self) -> &'static str {
        use Op::*;
        match self {
            Create { op, .. } => op.name(),
            CreateTtl { .. } => "createTTL",
            Delete { .. } => "delete",
            Exists { .. } => "exists",
            GetData { .. } => "getData",
            GetChildren { .. } => "getChildren",
            GetChildren2 { .. } => "getChildren2",
            SetData { .. } => "setData",
            GetAcl { .. } => "getACL",
            SetAcl { .. } => "setACL",
            Sync { .. } => "sync",
            Multi { .. } => "multi",
            MultiRead { .. } => "multiRead",
            GetEphemerals { .. } => "getEphemerals",
            GetAllChildrenNumber { .. } => "getAllChildrenNumber",
            AddWatch { .. } => "addWatch",
            CheckWatches { .. } => "checkWatches",
            RemoveWatches { .. } => "removeWatches",
            WhoAmI { .. } => "whoAmI",
            Auth { .. } => "auth",
            Reconnect { .. } => "reconnect",
            CloseSession { .. } => "closeSession",
            Drain { .. } => "drain",
            DrainAll => "drainAll",
        }
    }

    /// A one-line rendering for failure reports.
    pub fn describe(&self) -> String {
        fn data(d: &Option<Bytes>) -> String {
            match d {
                None => "null".into(),
                Some(b) => format!("{:?}", String::from_utf8_lossy(b)),
            }
        }
        fn acl(a: &[Acl]) -> String {
            let parts: Vec<String> = a
                .iter()
                .map(|a| format!("{}:{}:{}", a.id.scheme, a.id.id, a.perms))
                .collect();
            format!("[{}]", parts.join(","))
        }
        fn mop(m: &MultiOp) -> String {
            match m {
                MultiOp::Create { op, req } => format!(
                    "{}({}, {}, {}, flags={})",
                    op.name(),
                    req.path,
                    data(&req.data),
                    acl(&req.acl),
                    req.flags
                ),
                MultiOp::CreateTtl(r) => format!(
                    "createTTL({}, {}, {}, flags={}, ttl={})",
                    r.path,
                    data(&r.data),
                    acl(&r.acl),
                    r.flags,
                    r.ttl
                ),
                MultiOp::Delete(r) => format!("delete({}, v={})", r.path, r.version),
                MultiOp::SetData(r) => {
                    format!("setData({}, {}, v={})", r.path, data(&r.data), r.version)
                }
                MultiOp::Check(r) => format!("check({}, v={})", r.path, r.version),
                MultiOp::GetChildren(r) => format!("getChildren({}, w={})", r.path, r.watch),
                MultiOp::GetData(r) => format!("getData({}, w={})", r.path, r.watch),
            }
        }
        use Op::*;
        match self {
            Create { s, op, req } => format!(
                "s{s} {}({}, {}, {}, flags={})",
                op.name(),
                req.path,
                data(&req.data),
                acl(&req.acl),
                req.flags
            ),
            CreateTtl { s, req } => format!(
                "s{s} createTTL({}, {}, {}, flags={}, ttl={})",
                req.path,
                data(&req.data),
                acl(&req.acl),
                req.flags,
                req.ttl
            ),
            Delete { s, req } => format!("s{s} delete({}, v={})", req.path, req.version),
            Exists { s, req } => format!("s{s} exists({}, w={})", req.path, req.watch),
            GetData { s, req } => format!("s{s} getData({}, w={})", req.path, req.watch),
            GetChildren { s, req } => format!("s{s} getChildren({}, w={})", req.path, req.watch),
            GetChildren2 { s, req } => format!("s{s} getChildren2({}, w={})", req.path, req.watch),
            SetData { s, req } => {
                format!(
                    "s{s} setData({}, {}, v={})",
                    req.path,
                    data(&req.data),
                    req.version
                )
            }
            GetAcl { s, req } => format!("s{s} getACL({})", req.path),
            SetAcl { s, req } => format!(
                "s{s} setACL({}, {}, v={})",
                req.path,
                acl(&req.acl),
                req.version
            ),
            Sync { s, req } => format!("s{s} sync({})", req.path),
            Multi { s, ops } => {
                format!(
                    "s{s} multi[{}]",
                    ops.iter().map(mop).collect::<Vec<_>>().join("; ")
                )
            }
            MultiRead { s, ops } => {
                format!(
                    "s{s} multiRead[{}]",
                    ops.iter().map(mop).collect::<Vec<_>>().join("; ")
                )
            }
            GetEphemerals { s, req } => format!("s{s} getEphemerals({})", req.prefix_path),
            GetAllChildrenNumber { s, req } => format!("s{s} getAllChildrenNumber({})", req.path),
            AddWatch { s, req } => format!("s{s} addWatch({}, mode={})", req.path, req.mode),
            CheckWatches { s, req } => {
                format!("s{s} checkWatches({}, type={})", req.path, req.type_)
            }
            RemoveWatches { s, req } => {
                format!("s{s} removeWatches({}, type={})", req.path, req.type_)
            }
            WhoAmI { s } => format!("s{s} whoAmI"),
            Auth { s, scheme, auth } => format!("s{s} addauth({scheme}, {auth})"),
            Reconnect { s, how } => format!("s{s} reconnect{how:?}"),
            CloseSession {
                s,
                time_out,
                short_handshake,
            } => {
                format!(
                    "s{s} closeSession + new session(timeout={time_out}, short={short_handshake})"
                )
            }
            Drain { s } => format!("s{s} drain(ping)"),
            DrainAll => "drainAll".to_string(),
        }
    }
}

/// The seeded generator.
pub struct Generator {
    rng: StdRng,
    /// Only `world:anyone` with all permissions (to look past ACL differences).
    pub open_acls_only: bool,
    /// Sequential names created so far (told by the harness), most recent last.
    learned: Vec<String>,
    data_counter: u32,
}

const MAX_LEARNED: usize = 24;

impl Generator {
    pub fn new(seed: u64) -> Generator {
        Generator {
            rng: StdRng::seed_from_u64(seed),
            open_acls_only: false,
            learned: Vec::new(),
            data_counter: 0,
        }
    }

    /// Records a path the reference created (sequential names), so later ops
    /// can address it.
    pub fn learn_path(&mut self, path: &str) {
        if BASE_PATHS.contains(&path) || self.learned.iter().any(|p| p == path) {
            return;
        }
        self.learned.push(path.to_string());
        if self.learned.len() > MAX_LEARNED {
            self.learned.remove(0);
        }
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.rng.gen_range(0..items.len())]
    }

    /// A path to operate on: mostly the fixed space, sometimes a learned
    /// sequential name, rarely one that never exists or is invalid.
    pub fn path(&mut self) -> String {
        let r = self.rng.gen_range(0..100);
        if r < 72 || (r < 92 && self.learned.is_empty()) {
            self.pick(BASE_PATHS).to_string()
        } else if r < 92 {
            let i = self.rng.gen_range(0..self.learned.len());
            self.learned[i].clone()
        } else if r < 98 {
            self.pick(RARE_PATHS).to_string()
        } else {
            // Invalid paths: no leading slash, trailing slash, empty segment.
            self.pick(&["d", "/d/", "/d//a", ""]).to_string()
        }
    }

    /// A path to watch or to read (a bit more weight on parents).
    fn watch_path(&mut self) -> String {
        if self.rng.gen_bool(0.25) {
            self.pick(&["/", "/d", "/e", "/d/a"]).to_string()
        } else {
            self.path()
        }
    }

    fn data(&mut self) -> Option<Bytes> {
        match self.rng.gen_range(0..10) {
            0 => None,
            1 => Some(Bytes::new()),
            _ => {
                self.data_counter += 1;
                let len = self.rng.gen_range(1..12);
                let mut s = format!("v{}-", self.data_counter);
                while s.len() < len {
                    s.push('z');
                }
                Some(Bytes::from(s))
            }
        }
    }

    fn version(&mut self) -> i32 {
        match self.rng.gen_range(0..10) {
            0..=4 => -1,
            5..=7 => 0,
            8 => 1,
            _ => self.rng.gen_range(2..4),
        }
    }

    /// An ACL list: mostly open, often restrictive, sometimes invalid.
    pub fn acl(&mut self) -> Vec<Acl> {
        let r = self.rng.gen_range(0..100);
        if self.open_acls_only {
            return Acl::open_unsafe();
        }
        let d1 = digest("user1", "pw1");
        let d2 = digest("user2", "pw2");
        match r {
            0..=54 => Acl::open_unsafe(),
            55..=59 => Acl::read_unsafe(),
            60..=64 => {
                let p = self.rng.gen_range(0..=perms::ALL);
                vec![Acl::new(p, "world", "anyone")]
            }
            65..=70 => vec![Acl::new(perms::ALL, "digest", &d1)],
            71..=75 => vec![
                Acl::new(perms::READ | perms::WRITE, "digest", &d2),
                Acl::new(perms::READ, "world", "anyone"),
            ],
            76..=79 => vec![
                Acl::new(perms::ALL, "digest", &d1),
                Acl::new(perms::CREATE | perms::DELETE | perms::READ, "digest", &d2),
            ],
            80..=84 => vec![Acl::new(perms::ALL, "ip", "127.0.0.1")],
            85..=86 => vec![Acl::new(perms::READ | perms::ADMIN, "ip", "127.0.0.0/8")],
            87..=91 => Acl::creator_all(),
            92..=93 => vec![Acl::new(perms::ALL ^ perms::CREATE, "world", "anyone")],
            94 => vec![Acl::new(perms::ALL ^ perms::DELETE, "world", "anyone")],
            95 => Vec::new(),
            96 => vec![Acl::new(perms::ALL, "digest", "nocolon")],
            97 => vec![Acl::new(perms::ALL, "bogus", "x")],
            98 => vec![Acl::new(perms::ALL, "ip", "not-an-ip")],
            _ => vec![
                Acl::new(perms::ALL, "world", "anyone"),
                Acl::new(perms::ALL, "world", "anyone"),
            ],
        }
    }

    fn create_flags(&mut self) -> i32 {
        match self.rng.gen_range(0..100) {
            0..=39 => create_mode::PERSISTENT,
            40..=59 => create_mode::EPHEMERAL,
            60..=71 => create_mode::PERSISTENT_SEQUENTIAL,
            72..=81 => create_mode::EPHEMERAL_SEQUENTIAL,
            82..=89 => create_mode::CONTAINER,
            90..=93 => create_mode::PERSISTENT_WITH_TTL,
            94..=97 => create_mode::PERSISTENT_SEQUENTIAL_WITH_TTL,
            // Not a CreateMode: BadArguments.
            98 => 7,
            _ => -1,
        }
    }

    fn create_path(&mut self, flags: i32) -> String {
        let sequential = matches!(
            flags,
            create_mode::PERSISTENT_SEQUENTIAL
                | create_mode::EPHEMERAL_SEQUENTIAL
                | create_mode::PERSISTENT_SEQUENTIAL_WITH_TTL
        );
        if sequential && self.rng.gen_bool(0.7) {
            self.pick(SEQ_PREFIXES).to_string()
        } else {
            self.path()
        }
    }

    fn ttl(&mut self) -> i64 {
        match self.rng.gen_range(0..20) {
            0 => 0,
            1 => -5,
            2 => 1,
            3 => 1 << 41, // over the 40-bit maximum
            _ => 3_600_000,
        }
    }

    /// A create in one of its three opcodes, or createTTL (only with TTL modes:
    /// createTTL with a non-TTL mode is a reference bug, see the test's docs).
    fn create_like(
        &mut self,
        for_multi: bool,
    ) -> Result<(OpCode, CreateRequest), CreateTtlRequest> {
        let r = self.rng.gen_range(0..100);
        if r < 12 {
            let flags = if self.rng.gen_bool(0.5) {
                create_mode::PERSISTENT_WITH_TTL
            } else {
                create_mode::PERSISTENT_SEQUENTIAL_WITH_TTL
            };
            let path = self.create_path(flags);
            let (data, acl, ttl) = (self.data(), self.acl(), self.ttl());
            return Err(CreateTtlRequest {
                path,
                data,
                acl,
                flags,
                ttl,
            });
        }
        let (op, flags) = if r < 22 {
            // createContainer; with a non-container mode now and then.
            let flags = if self.rng.gen_bool(0.85) {
                create_mode::CONTAINER
            } else {
                self.create_flags()
            };
            (OpCode::CreateContainer, flags)
        } else {
            let op = if r < 62 || for_multi && r < 75 {
                OpCode::Create
            } else {
                OpCode::Create2
            };
            (op, self.create_flags())
        };
        let path = self.create_path(flags);
        let (data, acl) = (self.data(), self.acl());
        Ok((
            op,
            CreateRequest {
                path,
                data,
                acl,
                flags,
            },
        ))
    }

    fn session(&mut self) -> usize {
        self.rng.gen_range(0..SESSIONS)
    }

    fn multi_op(&mut self) -> MultiOp {
        match self.rng.gen_range(0..10) {
            0..=3 => match self.create_like(true) {
                Ok((op, req)) => MultiOp::Create { op, req },
                Err(req) => MultiOp::CreateTtl(req),
            },
            4..=5 => MultiOp::Delete(DeleteRequest {
                path: self.path(),
                version: self.version(),
            }),
            6..=7 => MultiOp::SetData(SetDataRequest {
                path: self.path(),
                data: self.data(),
                version: self.version(),
            }),
            _ => MultiOp::Check(CheckVersionRequest {
                path: self.path(),
                version: self.version(),
            }),
        }
    }

    fn read_op(&mut self) -> MultiOp {
        let path = self.watch_path();
        let watch = self.rng.gen_bool(0.2);
        if self.rng.gen_bool(0.5) {
            MultiOp::GetData(GetDataRequest { path, watch })
        } else {
            MultiOp::GetChildren(GetChildrenRequest { path, watch })
        }
    }

    fn paths(&mut self, max: usize) -> Vec<String> {
        let n = self.rng.gen_range(0..=max);
        (0..n).map(|_| self.watch_path()).collect()
    }

    /// The next operation.
    pub fn next_op(&mut self) -> Op {
        let s = self.session();
        let w = self.rng.gen_range(0..1000);
        match w {
            0..=169 => match self.create_like(false) {
                Ok((op, req)) => Op::Create { s, op, req },
                Err(req) => Op::CreateTtl { s, req },
            },
            170..=249 => Op::Delete {
                s,
                req: DeleteRequest {
                    path: self.path(),
                    version: self.version(),
                },
            },
            250..=299 => {
                let watch = self.rng.gen_bool(0.5);
                Op::Exists {
                    s,
                    req: ExistsRequest {
                        path: self.watch_path(),
                        watch,
                    },
                }
            }
            300..=349 => {
                let watch = self.rng.gen_bool(0.5);
                Op::GetData {
                    s,
                    req: GetDataRequest {
                        path: self.watch_path(),
                        watch,
                    },
                }
            }
            350..=389 => {
                let watch = self.rng.gen_bool(0.5);
                Op::GetChildren {
                    s,
                    req: GetChildrenRequest {
                        path: self.watch_path(),
                        watch,
                    },
                }
            }
            390..=419 => {
                let watch = self.rng.gen_bool(0.5);
                Op::GetChildren2 {
                    s,
                    req: GetChildren2Request {
                        path: self.watch_path(),
                        watch,
                    },
                }
            }
            420..=499 => Op::SetData {
                s,
                req: SetDataRequest {
                    path: self.path(),
                    data: self.data(),
                    version: self.version(),
                },
            },
            500..=519 => Op::GetAcl {
                s,
                req: GetAclRequest { path: self.path() },
            },
            520..=549 => Op::SetAcl {
                s,
                req: SetAclRequest {
                    path: self.path(),
                    acl: self.acl(),
                    version: self.version(),
                },
            },
            550..=559 => Op::Sync {
                s,
                req: SyncRequest { path: self.path() },
            },
            560..=629 => {
                let n = self.rng.gen_range(0..5);
                let n = if n == 0 && self.rng.gen_bool(0.7) {
                    1
                } else {
                    n
                };
                let ops = (0..n).map(|_| self.multi_op()).collect();
                Op::Multi { s, ops }
            }
            630..=659 => {
                let n = self.rng.gen_range(0..5);
                let mut ops: Vec<MultiOp> = (0..n).map(|_| self.read_op()).collect();
                if self.rng.gen_bool(0.05) {
                    let at = self.rng.gen_range(0..=ops.len());
                    ops.insert(at, self.multi_op());
                }
                Op::MultiRead { s, ops }
            }
            660..=679 => {
                let prefix = self
                    .pick(&["/", "/d", "/e", "/d/a", "/d/s", "/nope", "d"])
                    .to_string();
                Op::GetEphemerals {
                    s,
                    req: GetEphemeralsRequest {
                        prefix_path: prefix,
                    },
                }
            }
            680..=694 => Op::GetAllChildrenNumber {
                s,
                req: GetAllChildrenNumberRequest {
                    path: self.watch_path(),
                },
            },
            695..=739 => {
                let mode = if self.rng.gen_bool(0.5) {
                    add_watch_mode::PERSISTENT
                } else {
                    add_watch_mode::PERSISTENT_RECURSIVE
                };
                let mode = if self.rng.gen_bool(0.03) { 7 } else { mode };
                Op::AddWatch {
                    s,
                    req: AddWatchRequest {
                        path: self.watch_path(),
                        mode,
                    },
                }
            }
            740..=769 => {
                let type_ = self.watcher_type();
                Op::CheckWatches {
                    s,
                    req: CheckWatchesRequest {
                        path: self.watch_path(),
                        type_,
                    },
                }
            }
            770..=799 => {
                let type_ = self.watcher_type();
                Op::RemoveWatches {
                    s,
                    req: RemoveWatchesRequest {
                        path: self.watch_path(),
                        type_,
                    },
                }
            }
            800..=814 => Op::WhoAmI { s },
            815..=844 => {
                let (scheme, auth) = match self.rng.gen_range(0..20) {
                    0 => ("nosuchscheme".to_string(), "x".to_string()),
                    1 => ("digest".to_string(), "user1:wrong".to_string()),
                    2..=10 => ("digest".to_string(), "user1:pw1".to_string()),
                    _ => ("digest".to_string(), "user2:pw2".to_string()),
                };
                Op::Auth { s, scheme, auth }
            }
            845..=879 => {
                let how = Reconnect {
                    bad_password_first: self.rng.gen_bool(0.1),
                    reauth: self.rng.gen_bool(0.8),
                    legacy_set_watches: self.rng.gen_bool(0.15),
                    data: self.paths(3),
                    exist: self.paths(3),
                    child: self.paths(3),
                    persistent: self.paths(2),
                    recursive: self.paths(2),
                    short_handshake: self.rng.gen_bool(0.1),
                };
                Op::Reconnect {
                    s,
                    how: Box::new(how),
                }
            }
            880..=899 => Op::CloseSession {
                s,
                time_out: *self.pick(&[10_000, 30_000, 60_000]),
                short_handshake: self.rng.gen_bool(0.15),
            },
            900..=969 => Op::Drain { s },
            _ => Op::DrainAll,
        }
    }

    fn watcher_type(&mut self) -> i32 {
        match self.rng.gen_range(0..20) {
            0 => watcher_type::PERSISTENT,
            1 => watcher_type::PERSISTENT_RECURSIVE,
            2..=7 => watcher_type::CHILDREN,
            8..=13 => watcher_type::DATA,
            _ => watcher_type::ANY,
        }
    }
}
