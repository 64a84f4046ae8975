//! Runs generated [`Op`]s against one server and turns what comes back into
//! comparable [`Step`]s: reply headers exactly (xid, zxid, err), decoded
//! bodies with server-specific values normalised (Stat `ctime`/`mtime` → 0,
//! `ephemeralOwner` and handshake session ids → the logical session number,
//! passwords → length and "same as before"), and each session's
//! notifications in arrival order.

use crate::gen::{Op, Reconnect, SESSIONS};
use crate::raw_client::{CallResult, ConnectResult, Notification, RawClient};
use crate::servers::Kind;
use bytes::{Bytes, BytesMut};
use jute::data::{Acl, ClientInfo, Stat};
use jute::multi::{MultiRequest, MultiResponse, OpResult};
use jute::proto::*;
use jute::{OpCode, Record};
use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::time::Duration;

/// How long to wait for a server to close a connection it should close.
const CLOSE_WAIT: Duration = Duration::from_secs(3);

/// An `ephemeralOwner` or session id with the server's numbering removed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Owner {
    /// 0.
    None,
    /// The n-th session created during the run (0-based, in creation order).
    Session(usize),
    /// A value that is no session we know (compared as is).
    Raw(i64),
}

/// A Stat with `ctime`/`mtime` zeroed and the owner normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NStat {
    pub czxid: i64,
    pub mzxid: i64,
    pub version: i32,
    pub cversion: i32,
    pub aversion: i32,
    pub owner: Owner,
    pub data_length: i32,
    pub num_children: i32,
    pub pzxid: i64,
}

/// One multi/multiRead result, normalised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NResult {
    Create(String),
    Create2(String, NStat),
    Delete,
    SetData(NStat),
    Check,
    GetChildren(Vec<String>),
    GetData(Option<Bytes>, NStat),
    Error(i32),
}

/// A decoded reply body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Body {
    Empty,
    Path(String),
    Create2(String, NStat),
    Stat(NStat),
    Data(Option<Bytes>, NStat),
    Children(Vec<String>),
    Children2(Vec<String>, NStat),
    Acl(Vec<Acl>, NStat),
    Multi(Vec<NResult>),
    Ephemerals(Vec<String>),
    Count(i32),
    ErrorResponse(i32),
    WhoAmI(Vec<ClientInfo>),
    /// Could not be decoded as expected (or had trailing bytes): the raw bytes.
    Undecodable {
        why: String,
        hex: String,
    },
}

/// A normalised result of one exchange.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Norm {
    Handshake {
        protocol_version: i32,
        time_out: i32,
        session: Owner,
        passwd_len: Option<usize>,
        passwd_all_zero: bool,
        /// For a reattach: whether the password equals the session's own.
        passwd_same: Option<bool>,
        read_only: Option<bool>,
    },
    Reply {
        xid: i32,
        zxid: i64,
        err: i32,
        body: Body,
    },
    /// The server closed the connection (or reset it) instead of replying.
    ConnectionLost,
    /// No reply within the timeout.
    NoReply,
    /// After waiting for the server to close a connection: whether it did.
    ClosedByServer(bool),
}

/// A notification, normalised (nothing in it is server-specific).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NEvent {
    pub zxid: i64,
    pub type_: i32,
    pub state: i32,
    pub path: String,
}

/// One compared exchange with its label and the events the session received
/// while it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Step {
    pub label: String,
    pub result: Norm,
    pub events: Vec<NEvent>,
    /// Frames that were neither notifications nor the awaited reply (hex).
    pub strays: Vec<String>,
}

impl fmt::Display for Step {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {:?}", self.label, self.result)?;
        for e in &self.events {
            write!(f, "\n      event {e:?}")?;
        }
        for s in &self.strays {
            write!(f, "\n      stray frame {s}")?;
        }
        Ok(())
    }
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}

struct Slot {
    client: Option<RawClient>,
    session_id: i64,
    passwd: Bytes,
    time_out: i32,
    /// (scheme, auth) pairs that succeeded on this connection, in order.
    auths: Vec<(String, String)>,
}

/// One server under test and its session slots.
pub struct Side {
    pub kind: Kind,
    addr: SocketAddr,
    slots: Vec<Slot>,
    logical: HashMap<i64, usize>,
    next_logical: usize,
}

impl Side {
    pub fn new(kind: Kind, addr: SocketAddr) -> Side {
        Side {
            kind,
            addr,
            slots: Vec::new(),
            logical: HashMap::new(),
            next_logical: 0,
        }
    }

    /// Opens the [`SESSIONS`] initial sessions, in slot order.
    pub async fn open_sessions(&mut self, time_outs: &[i32; SESSIONS]) -> Vec<Step> {
        let mut steps = Vec::new();
        for (s, &t) in time_outs.iter().enumerate() {
            self.slots.push(Slot {
                client: None,
                session_id: 0,
                passwd: Bytes::new(),
                time_out: t,
                auths: Vec::new(),
            });
            self.new_session(s, t, false, &mut steps).await;
        }
        steps
    }

    /// How many session slots are open.
    pub fn session_count(&self) -> usize {
        self.slots.len()
    }

    fn owner(&self, id: i64) -> Owner {
        if id == 0 {
            Owner::None
        } else if let Some(&n) = self.logical.get(&id) {
            Owner::Session(n)
        } else {
            Owner::Raw(id)
        }
    }

    fn nstat(&self, s: &Stat) -> NStat {
        NStat {
            czxid: s.czxid,
            mzxid: s.mzxid,
            version: s.version,
            cversion: s.cversion,
            aversion: s.aversion,
            owner: self.owner(s.ephemeral_owner),
            data_length: s.data_length,
            num_children: s.num_children,
            pzxid: s.pzxid,
        }
    }

    fn nresult(&self, r: &OpResult) -> NResult {
        match r {
            OpResult::Create { path } => NResult::Create(path.clone()),
            OpResult::Create2 { path, stat } => NResult::Create2(path.clone(), self.nstat(stat)),
            OpResult::Delete => NResult::Delete,
            OpResult::SetData { stat } => NResult::SetData(self.nstat(stat)),
            OpResult::Check => NResult::Check,
            OpResult::GetChildren { children } => NResult::GetChildren(children.clone()),
            OpResult::GetData { data, stat } => NResult::GetData(data.clone(), self.nstat(stat)),
            OpResult::Error { err } => NResult::Error(*err),
        }
    }

    /// Decodes a reply body for a request of type `op`.
    fn body(&self, op: i32, err: i32, raw: &Bytes) -> Body {
        let mut b = raw.clone();
        let undecodable = |why: String| Body::Undecodable { why, hex: hex(raw) };
        if err != 0 || b.is_empty() && !expects_body(op) {
            return if b.is_empty() {
                Body::Empty
            } else {
                undecodable("body after an error".into())
            };
        }
        let decoded: Result<Body, jute::JuteError> = (|| {
            Ok(match OpCode::from_i32(op) {
                Some(OpCode::Create) => Body::Path(CreateResponse::read(&mut b)?.path),
                Some(OpCode::Create2 | OpCode::CreateContainer | OpCode::CreateTtl) => {
                    let r = Create2Response::read(&mut b)?;
                    Body::Create2(r.path, self.nstat(&r.stat))
                }
                Some(OpCode::Exists | OpCode::SetData | OpCode::SetAcl) => {
                    Body::Stat(self.nstat(&Stat::read(&mut b)?))
                }
                Some(OpCode::GetData) => {
                    let r = GetDataResponse::read(&mut b)?;
                    Body::Data(r.data, self.nstat(&r.stat))
                }
                Some(OpCode::GetAcl) => {
                    let r = GetAclResponse::read(&mut b)?;
                    Body::Acl(r.acl, self.nstat(&r.stat))
                }
                Some(OpCode::GetChildren) => {
                    Body::Children(GetChildrenResponse::read(&mut b)?.children)
                }
                Some(OpCode::GetChildren2) => {
                    let r = GetChildren2Response::read(&mut b)?;
                    Body::Children2(r.children, self.nstat(&r.stat))
                }
                Some(OpCode::Sync) => Body::Path(SyncResponse::read(&mut b)?.path),
                Some(OpCode::Multi | OpCode::MultiRead) => {
                    let r = MultiResponse::read(&mut b)?;
                    Body::Multi(r.results.iter().map(|r| self.nresult(r)).collect())
                }
                Some(OpCode::GetEphemerals) => {
                    Body::Ephemerals(GetEphemeralsResponse::read(&mut b)?.ephemerals)
                }
                Some(OpCode::GetAllChildrenNumber) => {
                    Body::Count(GetAllChildrenNumberResponse::read(&mut b)?.total_number)
                }
                Some(OpCode::WhoAmI) => Body::WhoAmI(WhoAmIResponse::read(&mut b)?.client_info),
                _ if b.len() == 4 => Body::ErrorResponse(ErrorResponse::read(&mut b)?.err),
                _ => return Err(jute::JuteError::Invalid("unexpected body")),
            })
        })();
        match decoded {
            Ok(body) if b.is_empty() => body,
            Ok(body) => undecodable(format!("{} trailing bytes after {body:?}", b.len())),
            Err(e) => undecodable(e.to_string()),
        }
    }

    fn norm_call(&self, op: i32, r: &CallResult) -> Norm {
        match r {
            CallResult::Reply { header, body } => Norm::Reply {
                xid: header.xid,
                zxid: header.zxid,
                err: header.err,
                body: self.body(op, header.err, body),
            },
            CallResult::Closed | CallResult::IoError(_) => Norm::ConnectionLost,
            CallResult::TimedOut => Norm::NoReply,
        }
    }

    /// Moves a slot's collected events and strays into a step.
    fn step(&mut self, s: usize, label: String, result: Norm) -> Step {
        let (events, strays) = match self.slots[s].client.as_mut() {
            Some(c) => (std::mem::take(&mut c.events), std::mem::take(&mut c.strays)),
            None => (Vec::new(), Vec::new()),
        };
        Step {
            label,
            result,
            events: events.into_iter().map(nevent).collect(),
            strays: strays
                .into_iter()
                .map(|st| format!("{:?} {}", st.header, hex(&st.raw)))
                .collect(),
        }
    }

    async fn call(&mut self, s: usize, op: OpCode, body: Bytes, label: String) -> Step {
        let res = match self.slots[s].client.as_mut() {
            Some(c) => c.call(op, &body).await,
            None => CallResult::Closed,
        };
        let norm = self.norm_call(op.code(), &res);
        self.step(s, label, norm)
    }

    async fn call_xid(
        &mut self,
        s: usize,
        xid: i32,
        op: OpCode,
        body: Bytes,
        label: String,
    ) -> Step {
        let res = match self.slots[s].client.as_mut() {
            Some(c) => c.call_xid(xid, op.code(), &body).await,
            None => CallResult::Closed,
        };
        let norm = self.norm_call(op.code(), &res);
        self.step(s, label, norm)
    }

    fn handshake_norm(&mut self, s: usize, res: &ConnectResult, reattach: bool) -> Norm {
        match res {
            ConnectResult::Connected(r) => {
                let passwd_len = r.passwd.as_ref().map(Bytes::len);
                let passwd_all_zero = r.passwd.as_ref().is_some_and(|p| p.iter().all(|&b| b == 0));
                if !reattach && r.session_id != 0 && !self.logical.contains_key(&r.session_id) {
                    self.logical.insert(r.session_id, self.next_logical);
                    self.next_logical += 1;
                }
                let passwd_same =
                    reattach.then(|| r.passwd.as_ref() == Some(&self.slots[s].passwd));
                Norm::Handshake {
                    protocol_version: r.protocol_version,
                    time_out: r.time_out,
                    session: self.owner(r.session_id),
                    passwd_len,
                    passwd_all_zero,
                    passwd_same,
                    read_only: r.read_only,
                }
            }
            ConnectResult::Closed | ConnectResult::IoError(_) => Norm::ConnectionLost,
            ConnectResult::TimedOut => Norm::NoReply,
        }
    }

    async fn connect(&mut self, req: &ConnectRequest) -> (Option<RawClient>, ConnectResult) {
        match RawClient::connect(self.addr, req).await {
            Ok((c, r)) => (Some(c), r),
            Err(e) => (None, ConnectResult::IoError(e.to_string())),
        }
    }

    /// A fresh session in slot `s` (the old connection, if any, is dropped).
    async fn new_session(&mut self, s: usize, time_out: i32, short: bool, steps: &mut Vec<Step>) {
        if let Some(c) = self.slots[s].client.take() {
            c.shutdown().await;
        }
        let req = RawClient::new_session_request(time_out, if short { None } else { Some(false) });
        let (client, res) = self.connect(&req).await;
        let norm = self.handshake_norm(s, &res, false);
        let slot = &mut self.slots[s];
        slot.time_out = time_out;
        slot.auths.clear();
        if let ConnectResult::Connected(r) = &res {
            slot.session_id = r.session_id;
            slot.passwd = r.passwd.clone().unwrap_or_default();
        }
        slot.client = client;
        steps.push(self.step(
            s,
            format!("s{s} connect(new session, timeout={time_out})"),
            norm,
        ));
    }

    /// Reattaches slot `s` to its session, re-sends its auths if `reauth`, and
    /// sends setWatches(2) when `how` is given.
    async fn reattach(&mut self, s: usize, how: Option<&Reconnect>, steps: &mut Vec<Step>) {
        let mut last_zxid = 0;
        if let Some(c) = self.slots[s].client.take() {
            last_zxid = c.last_zxid;
            steps.push(Step {
                label: format!("s{s} events left on the old connection"),
                result: Norm::ClosedByServer(c.closed),
                events: c.events.iter().cloned().map(nevent).collect(),
                strays: Vec::new(),
            });
            c.shutdown().await;
        }
        let short = how.is_some_and(|h| h.short_handshake);
        let (id, passwd, time_out) = {
            let slot = &self.slots[s];
            (slot.session_id, slot.passwd.clone(), slot.time_out)
        };
        let mut req = ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: last_zxid,
            time_out,
            session_id: id,
            passwd: Some(passwd.clone()),
            read_only: if short { None } else { Some(false) },
        };
        if how.is_some_and(|h| h.bad_password_first) {
            let mut bad = BytesMut::from(&passwd[..]);
            for b in bad.iter_mut() {
                *b ^= 0x5a;
            }
            req.passwd = Some(bad.freeze());
            let (client, res) = self.connect(&req).await;
            let norm = self.handshake_norm(s, &res, true);
            self.slots[s].client = client;
            steps.push(self.step(s, format!("s{s} reattach with a wrong password"), norm));
            let closed = match self.slots[s].client.as_mut() {
                Some(c) => c.read_until_closed(CLOSE_WAIT).await,
                None => true,
            };
            steps.push(self.step(
                s,
                format!("s{s} after the refused reattach"),
                Norm::ClosedByServer(closed),
            ));
            if let Some(c) = self.slots[s].client.take() {
                c.shutdown().await;
            }
            req.passwd = Some(passwd);
        }
        let (client, res) = self.connect(&req).await;
        let norm = self.handshake_norm(s, &res, true);
        self.slots[s].client = client;
        if let Some(c) = self.slots[s].client.as_mut() {
            c.last_zxid = last_zxid;
        }
        steps.push(self.step(s, format!("s{s} reattach(lastZxidSeen={last_zxid})"), norm));
        let reauth = how.is_none_or(|h| h.reauth);
        let auths = std::mem::take(&mut self.slots[s].auths);
        if reauth {
            for (scheme, auth) in auths {
                let step = self.auth(s, &scheme, &auth).await;
                steps.push(step);
            }
        }
        if let Some(h) = how {
            let body = if h.legacy_set_watches {
                jute::to_bytes(&SetWatches {
                    relative_zxid: last_zxid,
                    data_watches: h.data.clone(),
                    exist_watches: h.exist.clone(),
                    child_watches: h.child.clone(),
                })
            } else {
                jute::to_bytes(&SetWatches2 {
                    relative_zxid: last_zxid,
                    data_watches: h.data.clone(),
                    exist_watches: h.exist.clone(),
                    child_watches: h.child.clone(),
                    persistent_watches: h.persistent.clone(),
                    persistent_recursive_watches: h.recursive.clone(),
                })
            };
            let op = if h.legacy_set_watches {
                OpCode::SetWatches
            } else {
                OpCode::SetWatches2
            };
            let label = format!("s{s} {}(relativeZxid={last_zxid})", op.name());
            let step = self.call_xid(s, xid::SET_WATCHES, op, body, label).await;
            steps.push(step);
        }
    }

    /// addauth on slot `s`; remembers it if it succeeded.
    async fn auth(&mut self, s: usize, scheme: &str, auth: &str) -> Step {
        let body = jute::to_bytes(&AuthPacket {
            type_: 0,
            scheme: scheme.to_string(),
            auth: Some(Bytes::copy_from_slice(auth.as_bytes())),
        });
        let step = self
            .call_xid(
                s,
                xid::AUTH,
                OpCode::Auth,
                body,
                format!("s{s} addauth {scheme} {auth}"),
            )
            .await;
        if matches!(step.result, Norm::Reply { err: 0, .. }) {
            self.slots[s]
                .auths
                .push((scheme.to_string(), auth.to_string()));
        }
        step
    }

    /// Runs one op and returns its steps.
    pub async fn exec(&mut self, op: &Op) -> Vec<Step> {
        let mut steps = Vec::new();
        let label = op.describe();
        match op {
            Op::Create { s, op, req } => {
                steps.push(self.call(*s, *op, jute::to_bytes(req), label).await)
            }
            Op::CreateTtl { s, req } => steps.push(
                self.call(*s, OpCode::CreateTtl, jute::to_bytes(req), label)
                    .await,
            ),
            Op::Delete { s, req } => steps.push(
                self.call(*s, OpCode::Delete, jute::to_bytes(req), label)
                    .await,
            ),
            Op::Exists { s, req } => steps.push(
                self.call(*s, OpCode::Exists, jute::to_bytes(req), label)
                    .await,
            ),
            Op::GetData { s, req } => steps.push(
                self.call(*s, OpCode::GetData, jute::to_bytes(req), label)
                    .await,
            ),
            Op::GetChildren { s, req } => steps.push(
                self.call(*s, OpCode::GetChildren, jute::to_bytes(req), label)
                    .await,
            ),
            Op::GetChildren2 { s, req } => steps.push(
                self.call(*s, OpCode::GetChildren2, jute::to_bytes(req), label)
                    .await,
            ),
            Op::SetData { s, req } => steps.push(
                self.call(*s, OpCode::SetData, jute::to_bytes(req), label)
                    .await,
            ),
            Op::GetAcl { s, req } => steps.push(
                self.call(*s, OpCode::GetAcl, jute::to_bytes(req), label)
                    .await,
            ),
            Op::SetAcl { s, req } => steps.push(
                self.call(*s, OpCode::SetAcl, jute::to_bytes(req), label)
                    .await,
            ),
            Op::Sync { s, req } => steps.push(
                self.call(*s, OpCode::Sync, jute::to_bytes(req), label)
                    .await,
            ),
            Op::Multi { s, ops } => {
                let body = jute::to_bytes(&MultiRequest { ops: ops.clone() });
                steps.push(self.call(*s, OpCode::Multi, body, label).await)
            }
            Op::MultiRead { s, ops } => {
                let body = jute::to_bytes(&MultiRequest { ops: ops.clone() });
                steps.push(self.call(*s, OpCode::MultiRead, body, label).await)
            }
            Op::GetEphemerals { s, req } => steps.push(
                self.call(*s, OpCode::GetEphemerals, jute::to_bytes(req), label)
                    .await,
            ),
            Op::GetAllChildrenNumber { s, req } => steps.push(
                self.call(*s, OpCode::GetAllChildrenNumber, jute::to_bytes(req), label)
                    .await,
            ),
            Op::AddWatch { s, req } => steps.push(
                self.call(*s, OpCode::AddWatch, jute::to_bytes(req), label)
                    .await,
            ),
            Op::CheckWatches { s, req } => steps.push(
                self.call(*s, OpCode::CheckWatches, jute::to_bytes(req), label)
                    .await,
            ),
            Op::RemoveWatches { s, req } => steps.push(
                self.call(*s, OpCode::RemoveWatches, jute::to_bytes(req), label)
                    .await,
            ),
            Op::WhoAmI { s } => {
                steps.push(self.call(*s, OpCode::WhoAmI, Bytes::new(), label).await)
            }
            Op::Auth { s, scheme, auth } => {
                let step = self.auth(*s, scheme, auth).await;
                let failed = !matches!(step.result, Norm::Reply { err: 0, .. });
                steps.push(step);
                if failed {
                    // AUTHFAILED: the server closes the connection.
                    let closed = match self.slots[*s].client.as_mut() {
                        Some(c) => c.read_until_closed(CLOSE_WAIT).await,
                        None => true,
                    };
                    steps.push(self.step(
                        *s,
                        format!("s{s} after the failed auth"),
                        Norm::ClosedByServer(closed),
                    ));
                }
            }
            Op::Reconnect { s, how } => {
                let drain = self.drain(*s).await;
                steps.push(drain);
                self.reattach(*s, Some(how), &mut steps).await;
            }
            Op::CloseSession {
                s,
                time_out,
                short_handshake,
            } => {
                steps.push(
                    self.call(*s, OpCode::CloseSession, Bytes::new(), label)
                        .await,
                );
                let closed = match self.slots[*s].client.as_mut() {
                    Some(c) => c.read_until_closed(CLOSE_WAIT).await,
                    None => true,
                };
                steps.push(self.step(
                    *s,
                    format!("s{s} after closeSession"),
                    Norm::ClosedByServer(closed),
                ));
                self.new_session(*s, *time_out, *short_handshake, &mut steps)
                    .await;
            }
            Op::Drain { s } => steps.push(self.drain(*s).await),
            Op::DrainAll => {
                for s in 0..self.slots.len() {
                    let step = self.drain(s).await;
                    steps.push(step);
                }
            }
        }
        // A connection the server closed (or that failed) is reattached so
        // the slot stays usable; both servers must agree that it closed.
        if let Some(s) = op.slot() {
            if self.slots[s].client.as_ref().is_none_or(|c| c.closed) {
                self.reattach(s, None, &mut steps).await;
            }
        }
        steps
    }

    async fn drain(&mut self, s: usize) -> Step {
        let res = match self.slots[s].client.as_mut() {
            Some(c) => c.drain().await,
            None => CallResult::Closed,
        };
        let norm = self.norm_call(OpCode::Ping.code(), &res);
        self.step(s, format!("s{s} ping"), norm)
    }

    /// Closes every connection (without closing the sessions).
    pub async fn shutdown(&mut self) {
        for slot in &mut self.slots {
            if let Some(c) = slot.client.take() {
                c.shutdown().await;
            }
        }
    }
}

fn expects_body(op: i32) -> bool {
    !matches!(
        OpCode::from_i32(op),
        Some(
            OpCode::Delete
                | OpCode::Ping
                | OpCode::Auth
                | OpCode::SetWatches
                | OpCode::SetWatches2
                | OpCode::CheckWatches
                | OpCode::RemoveWatches
                | OpCode::CloseSession
        )
    )
}

fn nevent(n: Notification) -> NEvent {
    NEvent {
        zxid: n.zxid,
        type_: n.event.type_,
        state: n.event.state,
        path: n.event.path,
    }
}

/// Paths a create (or a multi's creates) produced, from a step's reply.
pub fn created_paths(step: &Step) -> Vec<String> {
    match &step.result {
        Norm::Reply { err: 0, body, .. } => match body {
            Body::Path(p) | Body::Create2(p, _) => vec![p.clone()],
            Body::Multi(rs) => rs
                .iter()
                .filter_map(|r| match r {
                    NResult::Create(p) | NResult::Create2(p, _) => Some(p.clone()),
                    _ => None,
                })
                .collect(),
            _ => Vec::new(),
        },
        _ => Vec::new(),
    }
}
