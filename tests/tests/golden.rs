//! Golden bytes captured from Apache ZooKeeper 3.8 (`tests/golden/*.hex`, made
//! by `tests/golden/capture.py`; the format is documented there and in
//! `tests/golden/README.md`).
//!
//! For every fixture: the request decodes with our records (header + the
//! record its opcode names) and re-encodes to the identical bytes, and so does
//! every reply frame (header + the record the request's opcode answers with,
//! or a `WatcherEvent` for a notification). A few spot checks pin reference
//! behaviours the fixtures show.
//!
//! [`fixture::fixtures`] is self-contained so that other tests (a replay
//! against our server) can reuse it with `#[path = "golden.rs"] mod golden;`
//! or by copying the module.

use bytes::{Buf, Bytes, BytesMut};
use jute::data::Stat;
use jute::multi::{MultiOp, MultiRequest, MultiResponse, OpResult};
use jute::proto::*;
use jute::{FrameCodec, OpCode, Record, DEFAULT_MAX_BUFFER};
use std::collections::BTreeSet;
use std::fmt::Debug;
use tokio_util::codec::Decoder;

pub use fixture::{fixtures, Fixture};

pub mod fixture {
    //! Loading `tests/golden/*.hex`.

    use bytes::Bytes;
    use std::path::{Path, PathBuf};

    /// One captured exchange: a request frame and the frames the reference
    /// sent back before the next request. Frames keep their 4-byte length prefix.
    #[derive(Debug, Clone)]
    pub struct Fixture {
        /// File stem, e.g. `create_node_exists`.
        pub name: String,
        /// Position in the capture run (replay in this order).
        pub seq: u32,
        /// Which client connection sent it (0 is the main one).
        pub conn: u32,
        /// Operation name (`connect`, or the facts §1.2 name such as `getData`).
        pub op: String,
        /// The request frame, length prefix included.
        pub request: Bytes,
        /// The reply frames in arrival order, length prefixes included.
        pub replies: Vec<Bytes>,
    }

    impl Fixture {
        /// The request payload (no length prefix).
        pub fn request_payload(&self) -> Bytes {
            self.request.slice(4..)
        }
        /// The reply payloads (no length prefixes).
        pub fn reply_payloads(&self) -> Vec<Bytes> {
            self.replies.iter().map(|r| r.slice(4..)).collect()
        }
    }

    /// `tests/golden`.
    pub fn golden_dir() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("golden")
    }

    /// Every fixture, in capture (`seq`) order.
    pub fn fixtures() -> Vec<Fixture> {
        let mut out: Vec<Fixture> = std::fs::read_dir(golden_dir())
            .expect("tests/golden exists")
            .map(|e| e.expect("readable dir entry").path())
            .filter(|p| p.extension().is_some_and(|e| e == "hex"))
            .map(|p| {
                let text = std::fs::read_to_string(&p).expect("readable fixture");
                let name = p.file_stem().unwrap().to_string_lossy().into_owned();
                parse(&name, &text)
            })
            .collect();
        out.sort_by_key(|f| f.seq);
        out
    }

    /// Parses one fixture file's text.
    pub fn parse(name: &str, text: &str) -> Fixture {
        let mut f = Fixture {
            name: name.to_string(),
            seq: 0,
            conn: 0,
            op: String::new(),
            request: Bytes::new(),
            replies: Vec::new(),
        };
        let mut have = (false, false, false, false);
        for (lineno, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let (key, value) = line
                .split_once(':')
                .unwrap_or_else(|| panic!("{name}:{}: expected `key: value`", lineno + 1));
            let value = value.trim();
            let int = || -> u32 {
                value
                    .parse()
                    .unwrap_or_else(|_| panic!("{name}:{}: bad number", lineno + 1))
            };
            match key.trim() {
                "seq" => (f.seq, have.0) = (int(), true),
                "conn" => (f.conn, have.1) = (int(), true),
                "op" => (f.op, have.2) = (value.to_string(), true),
                "request" => (f.request, have.3) = (hex(name, value), true),
                "reply" => f.replies.push(hex(name, value)),
                other => panic!("{name}:{}: unknown key {other:?}", lineno + 1),
            }
        }
        assert!(
            have == (true, true, true, true),
            "{name}: needs seq, conn, op and request"
        );
        f
    }

    fn hex(name: &str, s: &str) -> Bytes {
        assert!(s.len() & 1 == 0, "{name}: odd-length hex");
        let nibble = |c: u8| match c {
            b'0'..=b'9' => c - b'0',
            b'a'..=b'f' => c - b'a' + 10,
            b'A'..=b'F' => c - b'A' + 10,
            _ => panic!("{name}: bad hex digit {:?}", c as char),
        };
        s.as_bytes()
            .chunks(2)
            .map(|p| nibble(p[0]) << 4 | nibble(p[1]))
            .collect::<Vec<u8>>()
            .into()
    }
}

// ------------------------------------------------------------------ decoding

/// Reads `R` from the front of `buf` and checks it re-encodes to exactly the bytes consumed.
fn roundtrip<R: Record + Debug>(what: &str, buf: &mut Bytes) -> R {
    let before = buf.clone();
    let record = R::read(buf).unwrap_or_else(|e| {
        panic!(
            "{what}: {} does not decode: {e}",
            std::any::type_name::<R>()
        )
    });
    let consumed = before.len() - buf.len();
    let again = jute::to_bytes(&record);
    assert_eq!(
        &again[..],
        &before[..consumed],
        "{what}: {record:?} re-encodes differently"
    );
    record
}

/// [`roundtrip`] for a record whose value is not needed.
fn skip<R: Record + Debug>(what: &str, buf: &mut Bytes) {
    roundtrip::<R>(what, buf);
}

fn done(what: &str, buf: &Bytes) {
    assert!(
        buf.is_empty(),
        "{what}: {} bytes left over: {:02x?}",
        buf.len(),
        &buf[..]
    );
}

/// A frame's payload, after checking its length prefix.
fn payload(what: &str, frame: &Bytes) -> Bytes {
    assert!(frame.len() >= 4, "{what}: frame shorter than its prefix");
    let len = i32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]);
    assert_eq!(len as usize, frame.len() - 4, "{what}: length prefix");
    frame.slice(4..)
}

/// What a request decoded to, for the reply checks.
#[derive(Debug)]
enum Request {
    Connect(ConnectRequest),
    Op {
        header: RequestHeader,
        op: OpCode,
        body: RequestBody,
    },
}

#[derive(Debug)]
enum RequestBody {
    None,
    Create(CreateRequest),
    CreateTtl(CreateTtlRequest),
    Multi(MultiRequest),
    Other,
}

/// Decodes a request payload by its opcode and checks the re-encoding.
fn decode_request(what: &str, op_name: &str, mut b: Bytes) -> Request {
    if op_name == "connect" {
        let req: ConnectRequest = roundtrip(what, &mut b);
        done(what, &b);
        return Request::Connect(req);
    }
    let header: RequestHeader = roundtrip(what, &mut b);
    let op = OpCode::from_i32(header.type_)
        .unwrap_or_else(|| panic!("{what}: unknown opcode {}", header.type_));
    assert_eq!(
        op.name(),
        op_name,
        "{what}: the fixture's op line names another opcode"
    );
    let w = what;
    let body = match op {
        OpCode::Create | OpCode::Create2 | OpCode::CreateContainer => {
            RequestBody::Create(roundtrip(w, &mut b))
        }
        OpCode::CreateTtl => RequestBody::CreateTtl(roundtrip(w, &mut b)),
        OpCode::Multi | OpCode::MultiRead => RequestBody::Multi(roundtrip(w, &mut b)),
        OpCode::Ping | OpCode::CloseSession | OpCode::WhoAmI => RequestBody::None,
        _ => {
            match op {
                OpCode::Delete => skip::<DeleteRequest>(w, &mut b),
                OpCode::Exists => skip::<ExistsRequest>(w, &mut b),
                OpCode::GetData => skip::<GetDataRequest>(w, &mut b),
                OpCode::SetData => skip::<SetDataRequest>(w, &mut b),
                OpCode::GetAcl => skip::<GetAclRequest>(w, &mut b),
                OpCode::SetAcl => skip::<SetAclRequest>(w, &mut b),
                OpCode::GetChildren => skip::<GetChildrenRequest>(w, &mut b),
                OpCode::GetChildren2 => skip::<GetChildren2Request>(w, &mut b),
                OpCode::Sync => skip::<SyncRequest>(w, &mut b),
                OpCode::Check => skip::<CheckVersionRequest>(w, &mut b),
                OpCode::Reconfig => skip::<ReconfigRequest>(w, &mut b),
                OpCode::CheckWatches => skip::<CheckWatchesRequest>(w, &mut b),
                OpCode::RemoveWatches => skip::<RemoveWatchesRequest>(w, &mut b),
                OpCode::Auth => skip::<AuthPacket>(w, &mut b),
                OpCode::SetWatches => skip::<SetWatches>(w, &mut b),
                OpCode::SetWatches2 => skip::<SetWatches2>(w, &mut b),
                OpCode::Sasl => skip::<GetSaslRequest>(w, &mut b),
                OpCode::GetEphemerals => skip::<GetEphemeralsRequest>(w, &mut b),
                OpCode::GetAllChildrenNumber => skip::<GetAllChildrenNumberRequest>(w, &mut b),
                OpCode::AddWatch => skip::<AddWatchRequest>(w, &mut b),
                other => panic!("{w}: no request record for {other:?}"),
            }
            RequestBody::Other
        }
    };
    done(what, &b);
    Request::Op { header, op, body }
}

/// What a reply decoded to.
#[derive(Debug)]
enum Reply {
    Connect(ConnectResponse),
    Event(ReplyHeader, WatcherEvent),
    Own(ReplyHeader, ReplyBody),
}

#[derive(Debug)]
enum ReplyBody {
    None,
    Create(CreateResponse),
    Create2(Create2Response),
    Stat(Stat),
    Multi(MultiResponse),
    Other,
}

/// Decodes a reply payload as the answer to `req` and checks the re-encoding.
fn decode_reply(what: &str, req: &Request, mut b: Bytes) -> Reply {
    let (header, op) = match req {
        Request::Connect(_) => {
            let resp: ConnectResponse = roundtrip(what, &mut b);
            done(what, &b);
            return Reply::Connect(resp);
        }
        Request::Op { header, op, .. } => (header, *op),
    };
    let reply: ReplyHeader = roundtrip(what, &mut b);
    if reply.xid == xid::NOTIFICATION {
        let event: WatcherEvent = roundtrip(what, &mut b);
        done(what, &b);
        return Reply::Event(reply, event);
    }
    assert_eq!(reply.xid, header.xid, "{what}: reply xid");
    if reply.err != 0 {
        // The body is omitted when err != 0.
        done(what, &b);
        return Reply::Own(reply, ReplyBody::None);
    }
    let w = what;
    let body = match op {
        OpCode::Create => ReplyBody::Create(roundtrip(w, &mut b)),
        OpCode::Create2 | OpCode::CreateContainer | OpCode::CreateTtl => {
            ReplyBody::Create2(roundtrip(w, &mut b))
        }
        OpCode::Exists => ReplyBody::Stat(roundtrip::<ExistsResponse>(w, &mut b).stat),
        OpCode::SetData => ReplyBody::Stat(roundtrip::<SetDataResponse>(w, &mut b).stat),
        OpCode::SetAcl => ReplyBody::Stat(roundtrip::<SetAclResponse>(w, &mut b).stat),
        OpCode::Multi | OpCode::MultiRead => ReplyBody::Multi(roundtrip(w, &mut b)),
        OpCode::Delete
        | OpCode::Ping
        | OpCode::CloseSession
        | OpCode::Auth
        | OpCode::SetWatches
        | OpCode::SetWatches2
        | OpCode::CheckWatches
        | OpCode::RemoveWatches => ReplyBody::None,
        _ => {
            match op {
                OpCode::GetData | OpCode::Reconfig => skip::<GetDataResponse>(w, &mut b),
                OpCode::GetAcl => skip::<GetAclResponse>(w, &mut b),
                OpCode::GetChildren => skip::<GetChildrenResponse>(w, &mut b),
                OpCode::GetChildren2 => skip::<GetChildren2Response>(w, &mut b),
                OpCode::Sync => skip::<SyncResponse>(w, &mut b),
                OpCode::GetEphemerals => skip::<GetEphemeralsResponse>(w, &mut b),
                OpCode::GetAllChildrenNumber => skip::<GetAllChildrenNumberResponse>(w, &mut b),
                OpCode::AddWatch => skip::<ErrorResponse>(w, &mut b),
                OpCode::WhoAmI => skip::<WhoAmIResponse>(w, &mut b),
                OpCode::Sasl => skip::<SetSaslResponse>(w, &mut b),
                other => panic!("{w}: no reply record for {other:?}"),
            }
            ReplyBody::Other
        }
    };
    done(what, &b);
    Reply::Own(reply, body)
}

/// Decodes one fixture completely; panics with the fixture's name on any mismatch.
fn decode_fixture(f: &Fixture) -> (Request, Vec<Reply>) {
    let what = format!("{} request", f.name);
    let req = decode_request(&what, &f.op, payload(&what, &f.request));
    let replies = f
        .replies
        .iter()
        .enumerate()
        .map(|(i, frame)| {
            let what = format!("{} reply #{i}", f.name);
            decode_reply(&what, &req, payload(&what, frame))
        })
        .collect();
    (req, replies)
}

fn by_name(name: &str) -> (Fixture, Request, Vec<Reply>) {
    let f = fixtures()
        .into_iter()
        .find(|f| f.name == name)
        .unwrap_or_else(|| panic!("fixture {name} missing"));
    let (req, replies) = decode_fixture(&f);
    (f, req, replies)
}

/// The one reply to the request (not a notification).
fn the_reply(name: &str, replies: &[Reply]) -> (ReplyHeader, ReplyBody) {
    let mut own = replies.iter().filter_map(|r| match r {
        Reply::Own(h, b) => Some((h.clone(), b)),
        _ => None,
    });
    let (h, b) = own.next().unwrap_or_else(|| panic!("{name}: no reply"));
    assert!(own.next().is_none(), "{name}: more than one reply");
    let b = match b {
        ReplyBody::None => ReplyBody::None,
        ReplyBody::Create(c) => ReplyBody::Create(c.clone()),
        ReplyBody::Create2(c) => ReplyBody::Create2(c.clone()),
        ReplyBody::Stat(s) => ReplyBody::Stat(s.clone()),
        ReplyBody::Multi(m) => ReplyBody::Multi(m.clone()),
        ReplyBody::Other => ReplyBody::Other,
    };
    (h, b)
}

fn events(replies: &[Reply]) -> Vec<WatcherEvent> {
    replies
        .iter()
        .filter_map(|r| match r {
            Reply::Event(h, e) => {
                // 3.8.x sends notifications with zxid -1 and err 0.
                assert_eq!((h.zxid, h.err), (-1, 0));
                Some(e.clone())
            }
            _ => None,
        })
        .collect()
}

// ------------------------------------------------------------------ tests

#[test]
fn every_fixture_roundtrips() {
    let all = fixtures();
    assert!(all.len() >= 60, "only {} fixtures", all.len());
    let mut seqs = BTreeSet::new();
    for f in &all {
        assert!(seqs.insert(f.seq), "{}: duplicate seq {}", f.name, f.seq);
        assert!(!f.replies.is_empty(), "{}: no reply captured", f.name);
        decode_fixture(f);
    }
}

/// Every client opcode of facts §1.2 that the reference answers is covered,
/// plus the handshake in both forms.
#[test]
fn every_client_opcode_is_covered() {
    let ops: BTreeSet<String> = fixtures().into_iter().map(|f| f.op).collect();
    let want = [
        "connect",
        "create",
        "delete",
        "exists",
        "getData",
        "setData",
        "getACL",
        "setACL",
        "getChildren",
        "sync",
        "ping",
        "getChildren2",
        "multi",
        "create2",
        "reconfig",
        "checkWatches",
        "removeWatches",
        "createContainer",
        "createTTL",
        "multiRead",
        "auth",
        "setWatches",
        "getEphemerals",
        "getAllChildrenNumber",
        "setWatches2",
        "addWatch",
        "whoAmI",
        "closeSession",
    ];
    let missing: Vec<&str> = want.iter().copied().filter(|w| !ops.contains(*w)).collect();
    assert!(missing.is_empty(), "no fixture for {missing:?}");
}

/// Each connection's frames, concatenated, split back into the same frames.
#[test]
fn fixture_streams_reframe() {
    let all = fixtures();
    let conns: BTreeSet<u32> = all.iter().map(|f| f.conn).collect();
    for conn in conns {
        for replies in [false, true] {
            let frames: Vec<Bytes> = all
                .iter()
                .filter(|f| f.conn == conn)
                .flat_map(|f| {
                    if replies {
                        f.replies.clone()
                    } else {
                        vec![f.request.clone()]
                    }
                })
                .collect();
            let mut src = BytesMut::new();
            for fr in &frames {
                src.extend_from_slice(fr);
            }
            let mut codec = FrameCodec::new(DEFAULT_MAX_BUFFER);
            for fr in &frames {
                let got = codec.decode(&mut src).unwrap().expect("a whole frame");
                assert_eq!(got, fr.slice(4..));
            }
            assert!(src.is_empty());
        }
    }
}

#[test]
fn handshake_forms() {
    for (name, ro, req_len, resp_len) in [
        ("connect", Some(false), 45, 37),
        ("connect_no_read_only", None, 44, 36),
    ] {
        let (f, req, replies) = by_name(name);
        let Request::Connect(req) = req else {
            unreachable!()
        };
        assert_eq!(req.read_only, ro, "{name}");
        assert_eq!(f.request.len() - 4, req_len, "{name}");
        assert_eq!(f.replies[0].len() - 4, resp_len, "{name}");
        let Reply::Connect(resp) = &replies[0] else {
            unreachable!()
        };
        assert_eq!(
            resp.read_only.is_some(),
            ro.is_some(),
            "{name}: reply mirrors the request"
        );
        assert_eq!(resp.passwd.as_ref().map(Bytes::len), Some(16), "{name}");
        assert!(resp.session_id != 0 && resp.time_out > 0, "{name}");
    }
    // A wrong password: timeout 0, session 0, 16 zero bytes.
    let (_, _, replies) = by_name("connect_bad_password");
    let Reply::Connect(resp) = &replies[0] else {
        unreachable!()
    };
    assert_eq!((resp.time_out, resp.session_id), (0, 0));
    assert_eq!(resp.passwd.as_deref(), Some(&[0u8; 16][..]));
}

#[test]
fn error_codes_and_empty_bodies() {
    for (name, err) in [
        ("create_node_exists", -110),
        ("create_no_node", -101),
        ("create_invalid_acl", -114),
        ("create_no_children_for_ephemerals", -108),
        ("create_ttl_bad_ttl", -8),
        ("exists_miss", -101),
        ("get_data_no_node", -101),
        ("get_children_no_node", -101),
        ("set_data_bad_version", -103),
        ("set_data_no_node", -101),
        ("set_acl_bad_version", -103),
        ("delete_no_node", -101),
        ("delete_not_empty", -111),
        ("delete_bad_version", -103),
        ("multi_read_with_write", -5),
        ("check_watches_no_watcher", -121),
        ("remove_watches_no_watcher", -121),
        ("check_watches_persistent", -5),
        ("get_data_no_auth", -102),
        ("set_data_no_auth", -102),
        ("get_acl_no_auth", -102),
        ("reconfig", -123),
        ("auth_failed", -115),
    ] {
        let (f, _, replies) = by_name(name);
        let (h, body) = the_reply(name, &replies);
        assert_eq!(h.err, err, "{name}");
        assert!(matches!(body, ReplyBody::None), "{name}");
        let own = f
            .replies
            .iter()
            .find(|r| r[4..8] != (-1i32).to_be_bytes()[..])
            .unwrap();
        assert_eq!(own.len(), 4 + 16, "{name}: header only");
    }
}

#[test]
fn create_replies_are_shaped_by_opcode() {
    for (name, create2) in [
        ("create", false),
        ("create_sequential", false),
        ("create2", true),
        ("create2_ephemeral", true),
        ("create_container", true),
        ("create_ttl", true),
    ] {
        let (_, req, replies) = by_name(name);
        let path = match req {
            Request::Op {
                body: RequestBody::Create(r),
                ..
            } => r.path,
            Request::Op {
                body: RequestBody::CreateTtl(r),
                ..
            } => r.path,
            other => panic!("{name}: {other:?}"),
        };
        let got = match the_reply(name, &replies) {
            (_, ReplyBody::Create(r)) if !create2 => r.path,
            (_, ReplyBody::Create2(r)) if create2 => r.path,
            other => panic!("{name}: {other:?}"),
        };
        if name == "create_sequential" {
            assert!(
                got.starts_with(&path) && got.len() == path.len() + 10,
                "{got}"
            );
        } else {
            assert_eq!(got, path, "{name}");
        }
    }
    // Container and TTL nodes report ephemeralOwner 0 to clients.
    for name in ["create_container", "create_ttl"] {
        let (_, _, replies) = by_name(name);
        let (_, ReplyBody::Create2(r)) = the_reply(name, &replies) else {
            unreachable!()
        };
        assert_eq!(r.stat.ephemeral_owner, 0, "{name}");
    }
}

#[test]
fn multi_results() {
    // Success: create sub-results are shaped by the flags; one zxid for all.
    let (_, req, replies) = by_name("multi");
    let Request::Op {
        body: RequestBody::Multi(req),
        ..
    } = req
    else {
        unreachable!()
    };
    let (h, ReplyBody::Multi(resp)) = the_reply("multi", &replies) else {
        panic!()
    };
    assert_eq!(h.err, 0);
    assert_eq!(req.ops.len(), resp.results.len());
    let kinds: Vec<&str> = resp
        .results
        .iter()
        .map(|r| match r {
            OpResult::Create { .. } => "create",
            OpResult::Create2 { .. } => "create2",
            OpResult::SetData { .. } => "setData",
            OpResult::Check => "check",
            OpResult::Delete => "delete",
            other => panic!("multi: unexpected {other:?}"),
        })
        .collect();
    let expected: Vec<&str> = req
        .ops
        .iter()
        .map(|op| match op {
            MultiOp::Create { req, .. } if req.flags >= 4 => "create2",
            MultiOp::Create { .. } => "create",
            MultiOp::CreateTtl(_) => "create2",
            MultiOp::SetData(_) => "setData",
            MultiOp::Check(_) => "check",
            MultiOp::Delete(_) => "delete",
            other => panic!("multi: unexpected {other:?}"),
        })
        .collect();
    assert_eq!(kinds, expected);

    // Failure: reply err 0; 0 before the failing op, its error, then -2.
    let (_, _, replies) = by_name("multi_failure");
    let (h, ReplyBody::Multi(resp)) = the_reply("multi_failure", &replies) else {
        panic!()
    };
    assert_eq!(h.err, 0);
    assert_eq!(
        resp.results,
        vec![
            OpResult::Error { err: 0 },
            OpResult::Error { err: -103 },
            OpResult::Error { err: -2 }
        ]
    );

    // Empty multi: an empty result list.
    let (_, _, replies) = by_name("multi_empty");
    let (_, ReplyBody::Multi(resp)) = the_reply("multi_empty", &replies) else {
        panic!()
    };
    assert!(resp.results.is_empty());

    // multiRead: per-op results, errors inline.
    let (_, _, replies) = by_name("multi_read");
    let (h, ReplyBody::Multi(resp)) = the_reply("multi_read", &replies) else {
        panic!()
    };
    assert_eq!(h.err, 0);
    assert!(matches!(resp.results[0], OpResult::GetData { .. }));
    assert!(matches!(resp.results[1], OpResult::GetChildren { .. }));
    assert_eq!(resp.results[2], OpResult::Error { err: -101 });
    assert_eq!(resp.results[3], OpResult::Error { err: -101 });
}

#[test]
fn notifications_precede_the_reply_that_caused_them() {
    for (name, want) in [
        (
            "notification_data_changed",
            vec![(event_type::NODE_DATA_CHANGED, "/golden/c2")],
        ),
        (
            "notification_created",
            vec![(event_type::NODE_CREATED, "/golden/later")],
        ),
        (
            "notification_children_changed",
            vec![(event_type::NODE_CHILDREN_CHANGED, "/golden/later")],
        ),
        (
            "notification_deleted",
            vec![(event_type::NODE_DELETED, "/golden/later/kid")],
        ),
        (
            "notification_persistent_recursive",
            vec![(event_type::NODE_CREATED, "/golden/later/deep")],
        ),
    ] {
        let (_, _, replies) = by_name(name);
        assert!(
            matches!(replies.last(), Some(Reply::Own(..))),
            "{name}: reply comes last"
        );
        let got: Vec<(i32, String)> = events(&replies)
            .into_iter()
            .map(|e| (e.type_, e.path))
            .collect();
        let want: Vec<(i32, String)> = want.into_iter().map(|(t, p)| (t, p.to_string())).collect();
        assert_eq!(got, want, "{name}");
        for e in events(&replies) {
            assert_eq!(e.state, keeper_state::SYNC_CONNECTED);
        }
    }
}

#[test]
fn set_watches_fires_for_changes_since_relative_zxid() {
    let (_, _, replies) = by_name("set_watches");
    assert!(matches!(replies.last(), Some(Reply::Own(h, _)) if h.xid == xid::SET_WATCHES));
    assert!(!events(&replies).is_empty());
}

#[test]
fn acl_replies() {
    // getACL with READ but not ADMIN masks digest ids as `user:x`.
    let (f, _, _) = by_name("get_acl_masked");
    let mut b = payload("get_acl_masked", &f.replies[0]);
    ReplyHeader::read(&mut b).unwrap();
    let resp = GetAclResponse::read(&mut b).unwrap();
    assert_eq!(resp.acl[0].id.scheme, "digest");
    assert_eq!(resp.acl[0].id.id, "golden:x");
    // With the digest's auth, the real id shows.
    let (f, _, _) = by_name("get_acl_authed");
    let mut b = payload("get_acl_authed", &f.replies[0]);
    ReplyHeader::read(&mut b).unwrap();
    let resp = GetAclResponse::read(&mut b).unwrap();
    assert!(resp.acl[0].id.id.starts_with("golden:") && resp.acl[0].id.id.len() > 8);
    // whoAmI before and after auth.
    for (name, n) in [("who_am_i", 1), ("who_am_i_authed", 2)] {
        let (f, _, _) = by_name(name);
        let mut b = payload(name, &f.replies[0]);
        ReplyHeader::read(&mut b).unwrap();
        let resp = WhoAmIResponse::read(&mut b).unwrap();
        assert_eq!(resp.client_info.len(), n, "{name}: {resp:?}");
        let ip = resp
            .client_info
            .iter()
            .find(|c| c.auth_scheme == "ip")
            .expect("an ip id");
        assert_eq!(ip.user, "127.0.0.1");
        if n == 2 {
            assert!(resp
                .client_info
                .iter()
                .any(|c| c.auth_scheme == "digest" && c.user == "golden"));
        }
    }
}

#[test]
fn add_watch_answers_an_error_response_body() {
    let (f, _, _) = by_name("add_watch");
    let mut b = payload("add_watch", &f.replies[0]);
    ReplyHeader::read(&mut b).unwrap();
    assert_eq!(
        ErrorResponse::read(&mut b).unwrap(),
        ErrorResponse { err: 0 }
    );
    assert!(!b.has_remaining());
}
