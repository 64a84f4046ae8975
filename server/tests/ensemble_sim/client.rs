//! A simulated client: one session at a time, reconnecting anywhere; it
//! pipelines up to two requests and checks that replies come in request
//! order. What the ensemble acknowledged is recorded for the final check.

use super::rng::SimRng;
use bytes::{Buf, Bytes, BytesMut};
use jute::data::{perms, Acl, Id};
use jute::proto::*;
use jute::{ErrorCode, OpCode, Record};
use std::collections::VecDeque;
use zk_server::core::java::session_password;

/// The shared key clients compare-and-set.
pub const KEY: &str = "/k";

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Op {
    CreateKey,
    Sequential,
    /// setData with this expected version.
    Cas(i32),
    Sync,
    Read,
}

/// Writes the ensemble acknowledged (success replies).
#[derive(Debug, Default)]
pub struct Acked {
    /// Paths of acknowledged sequential creates.
    pub created: Vec<String>,
    /// The highest version of `KEY` an acknowledged setData produced.
    pub key_version: i32,
    pub count: u64,
}

pub struct Client {
    pub conn: Option<u64>,
    pub session_id: i64,
    connected: bool,
    next_xid: i32,
    outstanding: VecDeque<(i32, Op)>,
    known_version: i32,
}

impl Client {
    pub fn new() -> Client {
        Client {
            conn: None,
            session_id: 0,
            connected: false,
            next_xid: 1,
            outstanding: VecDeque::new(),
            known_version: -1,
        }
    }

    /// The handshake for `conn`, resuming the session if there is one.
    pub fn connect(&mut self, conn: u64) -> Bytes {
        self.conn = Some(conn);
        self.connected = false;
        self.outstanding.clear();
        jute::to_bytes(&ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 0,
            time_out: 6_000,
            session_id: self.session_id,
            passwd: Some(Bytes::copy_from_slice(&session_password(self.session_id))),
            read_only: Some(false),
        })
    }

    /// The connection closed: what was outstanding is unknown.
    pub fn closed(&mut self) {
        self.conn = None;
        self.connected = false;
        self.outstanding.clear();
    }

    /// The next request, if the client may send one now.
    pub fn next_request(&mut self, rng: &mut SimRng) -> Option<Bytes> {
        if !self.connected || self.outstanding.len() >= 2 {
            return None;
        }
        let op = if self.known_version < 0 && self.outstanding.is_empty() {
            if rng.chance(500) {
                Op::CreateKey
            } else {
                Op::Sync
            }
        } else {
            match rng.range(0, 4) {
                0 => Op::Sequential,
                1 => Op::Cas(self.known_version),
                _ => Op::Sync,
            }
        };
        let xid = self.next_xid;
        self.next_xid += 1;
        let mut buf = BytesMut::new();
        let acl = vec![Acl {
            perms: perms::ALL,
            id: Id {
                scheme: "world".into(),
                id: "anyone".into(),
            },
        }];
        let (code, body): (OpCode, Bytes) = match op {
            Op::CreateKey | Op::Sequential => {
                let (path, flags) = if op == Op::CreateKey {
                    (KEY.to_string(), 0)
                } else {
                    ("/n-".to_string(), 2)
                };
                let r = CreateRequest {
                    path,
                    data: Some(Bytes::from_static(b"x")),
                    acl,
                    flags,
                };
                (OpCode::Create, jute::to_bytes(&r))
            }
            Op::Cas(_) => {
                let r = SetDataRequest {
                    path: KEY.into(),
                    data: Some(Bytes::from(xid.to_string())),
                    version: self.known_version,
                };
                (OpCode::SetData, jute::to_bytes(&r))
            }
            Op::Sync => (
                OpCode::Sync,
                jute::to_bytes(&SyncRequest { path: KEY.into() }),
            ),
            Op::Read => unreachable!("reads follow syncs"),
        };
        RequestHeader {
            xid,
            type_: code.code(),
        }
        .write(&mut buf);
        buf.extend_from_slice(&body);
        self.outstanding.push_back((xid, op));
        Some(buf.freeze())
    }

    /// A frame from the server (length-prefixed). Returns a follow-up
    /// request to send (the read after a sync).
    pub fn on_frame(&mut self, frame: Bytes, acked: &mut Acked) -> Result<Option<Bytes>, String> {
        let mut b = frame;
        if b.len() < 4 {
            return Err("short frame".into());
        }
        b.advance(4);
        if !self.connected {
            let r = ConnectResponse::read(&mut b).map_err(|e| format!("connect reply: {e}"))?;
            if r.time_out <= 0 {
                self.session_id = 0; // expired: the server closes; start anew
                return Ok(None);
            }
            self.session_id = r.session_id;
            self.connected = true;
            return Ok(None);
        }
        let h = ReplyHeader::read(&mut b).map_err(|e| format!("reply header: {e}"))?;
        if h.xid < 0 {
            return Ok(None); // watch event or ping
        }
        let Some((xid, op)) = self.outstanding.pop_front() else {
            return Err(format!("reply xid {} with nothing outstanding", h.xid));
        };
        if xid != h.xid {
            return Err(format!(
                "session 0x{:x}: reply xid {} but the oldest request is xid {xid} (FIFO broken)",
                self.session_id, h.xid
            ));
        }
        let err = h.err;
        match op {
            Op::CreateKey => {
                if err == ErrorCode::Ok.code() || err == ErrorCode::NodeExists.code() {
                    self.known_version = self.known_version.max(0);
                }
                if err == ErrorCode::Ok.code() {
                    acked.count += 1;
                }
            }
            Op::Sequential if err == ErrorCode::Ok.code() => {
                let r = CreateResponse::read(&mut b).map_err(|e| format!("create: {e}"))?;
                acked.created.push(r.path);
                acked.count += 1;
            }
            Op::Cas(sent) if err == ErrorCode::Ok.code() => {
                let r = SetDataResponse::read(&mut b).map_err(|e| format!("setData: {e}"))?;
                if sent >= 0 && r.stat.version != sent + 1 {
                    return Err(format!(
                        "CAS from version {sent} gave version {}",
                        r.stat.version
                    ));
                }
                self.known_version = r.stat.version;
                acked.key_version = acked.key_version.max(r.stat.version);
                acked.count += 1;
            }
            Op::Sync if err == ErrorCode::Ok.code() => {
                // Read behind the sync: it must see every acked CAS.
                let xid = self.next_xid;
                self.next_xid += 1;
                let mut buf = BytesMut::new();
                RequestHeader {
                    xid,
                    type_: OpCode::GetData.code(),
                }
                .write(&mut buf);
                GetDataRequest {
                    path: KEY.into(),
                    watch: false,
                }
                .write(&mut buf);
                self.outstanding.push_back((xid, Op::Read));
                return Ok(Some(buf.freeze()));
            }
            Op::Read if err == ErrorCode::Ok.code() => {
                let r = GetDataResponse::read(&mut b).map_err(|e| format!("getData: {e}"))?;
                self.known_version = r.stat.version;
            }
            _ => {}
        }
        Ok(None)
    }
}
