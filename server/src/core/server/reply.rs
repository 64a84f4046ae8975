//! Reply frames: headers, bodies and watch notifications.
use super::*;

pub(super) fn make_frame<F: FnOnce(&mut BytesMut)>(f: F) -> Bytes {
    // Room for a header and a Stat (a setData or create2 reply) at once.
    let mut buf = BytesMut::with_capacity(128);
    buf.extend_from_slice(&[0, 0, 0, 0]);
    f(&mut buf);
    let len = (buf.len() - 4) as u32;
    buf[..4].copy_from_slice(&len.to_be_bytes());
    buf.freeze()
}

pub(super) fn reply<R: Record>(xid: i32, zxid: i64, err: ErrorCode, body: Option<&R>) -> Bytes {
    make_frame(|b| {
        ReplyHeader {
            xid,
            zxid,
            err: err.code(),
        }
        .write(b);
        if let Some(r) = body {
            r.write(b);
        }
    })
}

pub(super) fn header_only(xid: i32, zxid: i64, err: ErrorCode) -> Bytes {
    reply::<ErrorResponse>(xid, zxid, err, None)
}

/// A read's outcome: the reply body, or an error code.
pub(super) type ReadResult = Result<Option<ReplyBody>, ErrorCode>;

/// Bytes of the frame's length prefix and `ReplyHeader` (xid, zxid, err).
const FRAME_PREFIX_LEN: usize = 4 + 4 + 8 + 4;

/// A reply body written after room for its frame's prefix, so that
/// [`frame_with`] fills the prefix in place instead of copying the body into
/// a second buffer (reads are the hottest replies).
pub(super) struct ReplyBody(BytesMut);

impl ReplyBody {
    /// An empty body with room for `capacity` body bytes.
    pub(super) fn with_capacity(capacity: usize) -> ReplyBody {
        let mut buf = BytesMut::with_capacity(FRAME_PREFIX_LEN + capacity);
        buf.resize(FRAME_PREFIX_LEN, 0);
        ReplyBody(buf)
    }

    /// Where the body's bytes go.
    pub(super) fn buf(&mut self) -> &mut BytesMut {
        &mut self.0
    }
}

/// Room most read replies fit in (a Stat is 68 bytes) without growing.
const BODY_CAPACITY_HINT: usize = 128;

pub(super) fn encode<R: Record>(r: &R) -> Option<ReplyBody> {
    let mut body = ReplyBody::with_capacity(BODY_CAPACITY_HINT);
    r.write(body.buf());
    Some(body)
}

/// Whether a multi op is a read (getData, getChildren).
pub fn is_read_op(op: &MultiOp) -> bool {
    matches!(op, MultiOp::GetData(_) | MultiOp::GetChildren(_))
}

pub(super) fn frame_with(xid: i32, zxid: i64, err: ErrorCode, body: Option<ReplyBody>) -> Bytes {
    let Some(ReplyBody(mut buf)) = body else {
        return header_only(xid, zxid, err);
    };
    // The `ReplyHeader` layout, written into the room left for it.
    let len = (buf.len() - 4) as u32;
    let prefix = &mut buf[..FRAME_PREFIX_LEN];
    prefix[0..4].copy_from_slice(&len.to_be_bytes());
    prefix[4..8].copy_from_slice(&xid.to_be_bytes());
    prefix[8..16].copy_from_slice(&zxid.to_be_bytes());
    prefix[16..20].copy_from_slice(&err.code().to_be_bytes());
    buf.freeze()
}

pub(super) fn event_frame(event: i32, path: &str) -> Bytes {
    make_frame(|b| {
        ReplyHeader {
            xid: xid::NOTIFICATION,
            zxid: -1,
            err: 0,
        }
        .write(b);
        WatcherEvent {
            type_: event,
            state: keeper_state::SYNC_CONNECTED,
            path: path.to_string(),
        }
        .write(b);
    })
}

/// The reply to a write, from its txn's result (FinalRequestProcessor).
pub(super) fn write_reply(xid: i32, zxid: i64, op: OpCode, rc: &TxnResult) -> Bytes {
    if rc.type_ == OpCode::Error.code() || rc.err != 0 && op != OpCode::Multi {
        let err = ErrorCode::from_i32(rc.err).unwrap_or(ErrorCode::SystemError);
        return header_only(xid, zxid, err);
    }
    let stat = rc.stat.clone().unwrap_or_default();
    match op {
        OpCode::Create => reply(
            xid,
            zxid,
            ErrorCode::Ok,
            Some(&CreateResponse {
                path: rc.path.clone(),
            }),
        ),
        OpCode::Create2 | OpCode::CreateContainer | OpCode::CreateTtl => reply(
            xid,
            zxid,
            ErrorCode::Ok,
            Some(&Create2Response {
                path: rc.path.clone(),
                stat,
            }),
        ),
        OpCode::SetData => reply(xid, zxid, ErrorCode::Ok, Some(&SetDataResponse { stat })),
        OpCode::Check => {
            // Logged as a one-op multi; the check's own result holds the Stat.
            let stat = rc
                .multi
                .first()
                .and_then(|s| s.stat.clone())
                .unwrap_or(stat);
            reply(xid, zxid, ErrorCode::Ok, Some(&SetDataResponse { stat }))
        }
        OpCode::SetAcl => reply(xid, zxid, ErrorCode::Ok, Some(&SetAclResponse { stat })),
        OpCode::Multi => {
            let results = rc
                .multi
                .iter()
                .map(|s| match OpCode::from_i32(s.type_) {
                    Some(OpCode::Check) => OpResult::Check,
                    Some(OpCode::Create) => OpResult::Create {
                        path: s.path.clone(),
                    },
                    Some(OpCode::Create2 | OpCode::CreateTtl | OpCode::CreateContainer) => {
                        OpResult::Create2 {
                            path: s.path.clone(),
                            stat: s.stat.clone().unwrap_or_default(),
                        }
                    }
                    Some(OpCode::Delete | OpCode::DeleteContainer) => OpResult::Delete,
                    Some(OpCode::SetData) => OpResult::SetData {
                        stat: s.stat.clone().unwrap_or_default(),
                    },
                    _ => OpResult::Error { err: s.err },
                })
                .collect();
            reply(xid, zxid, ErrorCode::Ok, Some(&MultiResponse { results }))
        }
        _ => header_only(xid, zxid, ErrorCode::Ok),
    }
}
