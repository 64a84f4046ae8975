//! Reply frames: headers, bodies and watch notifications.
use super::*;
use jute::data::Stat;
use jute::multi::OpResultRef;

pub(super) fn make_frame<F: FnOnce(&mut BytesMut)>(f: F) -> Bytes {
    // Room for a header and a Stat (a setData or create2 reply) at once.
    make_frame_sized(128, f)
}

/// [`make_frame`] with room for `capacity` bytes, so a large reply is not
/// copied as its buffer grows.
fn make_frame_sized<F: FnOnce(&mut BytesMut)>(capacity: usize, f: F) -> Bytes {
    let mut buf = BytesMut::with_capacity(capacity);
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
        OpCode::Multi => multi_reply(xid, zxid, &rc.multi),
        _ => header_only(xid, zxid, ErrorCode::Ok),
    }
}

/// Bytes of a `MultiHeader` (type, done, err).
const MULTI_HEADER_LEN: usize = 4 + 1 + 4;
/// Bytes of a serialized `Stat`.
const STAT_LEN: usize = 68;

/// The reply to a committed multi: jute's `MultiResponse` of the results,
/// written from borrowed results into a buffer sized up front. (Building the
/// `MultiResponse` first cloned every path and Stat, and a 128-byte buffer
/// grew several times for a multi of 10.)
fn multi_reply(xid: i32, zxid: i64, results: &[TxnResult]) -> Bytes {
    let size = FRAME_PREFIX_LEN
        + MULTI_HEADER_LEN
        + results
            .iter()
            .map(|s| MULTI_HEADER_LEN + 4 + s.path.len() + STAT_LEN)
            .sum::<usize>();
    let no_stat = Stat::default();
    make_frame_sized(size, |b| {
        ReplyHeader {
            xid,
            zxid,
            err: ErrorCode::Ok.code(),
        }
        .write(b);
        jute::multi::write_results(results.iter().map(|s| op_result(s, &no_stat)), b);
    })
}

/// A sub-txn's result as the `OpResult` a multi reply carries.
fn op_result<'a>(s: &'a TxnResult, no_stat: &'a Stat) -> OpResultRef<'a> {
    let stat = s.stat.as_ref().unwrap_or(no_stat);
    match OpCode::from_i32(s.type_) {
        Some(OpCode::Check) => OpResultRef::Check,
        Some(OpCode::Create) => OpResultRef::Create { path: &s.path },
        Some(OpCode::Create2 | OpCode::CreateTtl | OpCode::CreateContainer) => {
            OpResultRef::Create2 {
                path: &s.path,
                stat,
            }
        }
        Some(OpCode::Delete | OpCode::DeleteContainer) => OpResultRef::Delete,
        Some(OpCode::SetData) => OpResultRef::SetData { stat },
        _ => OpResultRef::Error { err: s.err },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(type_: OpCode, err: i32, path: &str, stat: Option<Stat>) -> TxnResult {
        TxnResult {
            err,
            type_: type_.code(),
            path: path.to_string(),
            stat,
            multi: Vec::new(),
        }
    }

    /// The reply written straight from the results is byte for byte jute's
    /// `MultiResponse` of the matching `OpResult`s.
    #[test]
    fn multi_reply_is_jutes_multi_response() {
        let stat = Stat {
            czxid: 3,
            mzxid: 9,
            ctime: 1_700_000_000_000,
            mtime: 1_700_000_000_123,
            version: 4,
            cversion: 2,
            aversion: 1,
            ephemeral_owner: 0x1234,
            data_length: 100,
            num_children: 7,
            pzxid: 8,
        };
        let results = vec![
            result(OpCode::Create, 0, "/a", None),
            result(OpCode::Create2, 0, "/b", Some(stat.clone())),
            result(OpCode::CreateTtl, 0, "/c", Some(stat.clone())),
            result(OpCode::CreateContainer, 0, "/d", None),
            result(OpCode::Delete, 0, "", None),
            result(OpCode::DeleteContainer, 0, "", None),
            result(OpCode::SetData, 0, "/e", Some(stat.clone())),
            result(OpCode::Check, 0, "", None),
            result(OpCode::Error, ErrorCode::BadVersion.code(), "", None),
        ];
        let expected = MultiResponse {
            results: vec![
                OpResult::Create { path: "/a".into() },
                OpResult::Create2 {
                    path: "/b".into(),
                    stat: stat.clone(),
                },
                OpResult::Create2 {
                    path: "/c".into(),
                    stat: stat.clone(),
                },
                OpResult::Create2 {
                    path: "/d".into(),
                    stat: Stat::default(),
                },
                OpResult::Delete,
                OpResult::Delete,
                OpResult::SetData { stat },
                OpResult::Check,
                OpResult::Error {
                    err: ErrorCode::BadVersion.code(),
                },
            ],
        };
        assert_eq!(
            multi_reply(7, 42, &results),
            reply(7, 42, ErrorCode::Ok, Some(&expected))
        );
        assert_eq!(
            multi_reply(8, 43, &[]),
            reply(
                8,
                43,
                ErrorCode::Ok,
                Some(&MultiResponse { results: vec![] })
            )
        );
    }
}
