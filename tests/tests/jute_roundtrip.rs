//! Property tests for every jute record and the frame codec.
//!
//! - `read(write(x)) == x` with nothing left over, for every record type in
//!   `jute` (generated from the one list in [`records!`] below).
//! - Every strict prefix of an encoding is rejected (or, for the handshake's
//!   optional trailing byte, is itself a valid encoding).
//! - Arbitrary and mutated bytes never panic any record's `read` or the frame
//!   decoder, and huge declared lengths fail fast without allocating.
//! - Allocation is measured with a counting global allocator, in a child
//!   process running only that test, so concurrent tests cannot disturb it.

use bytes::{Bytes, BytesMut};
use jute::data::{Acl, ClientInfo, Id, Stat, StatPersisted};
use jute::frame::{frame_of, FrameCodec, FrameError};
use jute::multi::{MultiOp, MultiRequest, MultiResponse, OpResult};
use jute::persistence::FileHeader;
use jute::proto::*;
use jute::quorum::{LearnerInfo, QuorumAuthPacket, QuorumPacket};
use jute::txn::*;
use jute::{JuteError, OpCode, Record, DEFAULT_MAX_BUFFER};
use proptest::collection::vec;
use proptest::prelude::*;
use proptest::strategy::ValueTree;
use proptest::test_runner::TestRunner;
use stats_alloc::{Region, StatsAlloc, INSTRUMENTED_SYSTEM};
use std::alloc::System;
use std::fmt::Debug;
use std::time::{Duration, Instant};
use tokio_util::codec::{Decoder, Encoder};

#[global_allocator]
static GLOBAL: &StatsAlloc<System> = &INSTRUMENTED_SYSTEM;

// ------------------------------------------------------------------ strategies

fn int() -> impl Strategy<Value = i32> + Clone {
    prop_oneof![
        any::<i32>(),
        Just(0),
        Just(-1),
        Just(i32::MIN),
        Just(i32::MAX)
    ]
}

fn long() -> impl Strategy<Value = i64> + Clone {
    prop_oneof![
        any::<i64>(),
        Just(0),
        Just(-1),
        Just(i64::MIN),
        Just(i64::MAX)
    ]
}

fn boolean() -> impl Strategy<Value = bool> + Clone {
    any::<bool>()
}

fn ustring() -> BoxedStrategy<String> {
    prop_oneof![
        Just(String::new()),
        "/[a-z0-9/_.-]{0,16}",
        "\\PC{0,8}",
        ".{0,4}",
    ]
    .boxed()
}

fn buffer() -> BoxedStrategy<Option<Bytes>> {
    proptest::option::of(vec(any::<u8>(), 0..40))
        .prop_map(|o| o.map(Bytes::from))
        .boxed()
}

fn strings() -> BoxedStrategy<Vec<String>> {
    vec(ustring(), 0..5).boxed()
}

/// Builds a record strategy from one strategy per field, in field order.
macro_rules! rec {
    ($name:ident { $($field:ident : $s:expr),* $(,)? }) => {
        ($($s,)*).prop_map(|($($field,)*)| $name { $($field,)* }).boxed()
    };
}

fn id() -> BoxedStrategy<Id> {
    rec!(Id {
        scheme: ustring(),
        id: ustring()
    })
}

fn acl() -> BoxedStrategy<Acl> {
    rec!(Acl {
        perms: int(),
        id: id()
    })
}

fn acls() -> BoxedStrategy<Vec<Acl>> {
    vec(acl(), 0..4).boxed()
}

fn stat() -> BoxedStrategy<Stat> {
    rec!(Stat {
        czxid: long(),
        mzxid: long(),
        ctime: long(),
        mtime: long(),
        version: int(),
        cversion: int(),
        aversion: int(),
        ephemeral_owner: long(),
        data_length: int(),
        num_children: int(),
        pzxid: long(),
    })
}

fn stat_persisted() -> BoxedStrategy<StatPersisted> {
    rec!(StatPersisted {
        czxid: long(),
        mzxid: long(),
        ctime: long(),
        mtime: long(),
        version: int(),
        cversion: int(),
        aversion: int(),
        ephemeral_owner: long(),
        pzxid: long(),
    })
}

fn client_info() -> BoxedStrategy<ClientInfo> {
    rec!(ClientInfo {
        auth_scheme: ustring(),
        user: ustring()
    })
}

fn any_connect_request() -> BoxedStrategy<ConnectRequest> {
    rec!(ConnectRequest {
        protocol_version: int(),
        last_zxid_seen: long(),
        time_out: int(),
        session_id: long(),
        passwd: buffer(),
        read_only: proptest::option::of(boolean()),
    })
}

fn any_connect_response() -> BoxedStrategy<ConnectResponse> {
    rec!(ConnectResponse {
        protocol_version: int(),
        time_out: int(),
        session_id: long(),
        passwd: buffer(),
        read_only: proptest::option::of(boolean()),
    })
}

fn any_create_request() -> BoxedStrategy<CreateRequest> {
    rec!(CreateRequest {
        path: ustring(),
        data: buffer(),
        acl: acls(),
        flags: int()
    })
}

fn any_create_ttl_request() -> BoxedStrategy<CreateTtlRequest> {
    rec!(CreateTtlRequest {
        path: ustring(),
        data: buffer(),
        acl: acls(),
        flags: int(),
        ttl: long()
    })
}

fn multi_op() -> BoxedStrategy<MultiOp> {
    let create_code = prop_oneof![
        Just(OpCode::Create),
        Just(OpCode::Create2),
        Just(OpCode::CreateContainer)
    ];
    prop_oneof![
        (create_code, any_create_request()).prop_map(|(op, req)| MultiOp::Create { op, req }),
        any_create_ttl_request().prop_map(MultiOp::CreateTtl),
        rec!(DeleteRequest {
            path: ustring(),
            version: int()
        })
        .prop_map(MultiOp::Delete),
        rec!(SetDataRequest {
            path: ustring(),
            data: buffer(),
            version: int()
        })
        .prop_map(MultiOp::SetData),
        rec!(CheckVersionRequest {
            path: ustring(),
            version: int()
        })
        .prop_map(MultiOp::Check),
        rec!(GetChildrenRequest {
            path: ustring(),
            watch: boolean()
        })
        .prop_map(MultiOp::GetChildren),
        rec!(GetDataRequest {
            path: ustring(),
            watch: boolean()
        })
        .prop_map(MultiOp::GetData),
    ]
    .boxed()
}

fn op_result() -> BoxedStrategy<OpResult> {
    prop_oneof![
        ustring().prop_map(|path| OpResult::Create { path }),
        (ustring(), stat()).prop_map(|(path, stat)| OpResult::Create2 { path, stat }),
        Just(OpResult::Delete),
        stat().prop_map(|stat| OpResult::SetData { stat }),
        Just(OpResult::Check),
        strings().prop_map(|children| OpResult::GetChildren { children }),
        (buffer(), stat()).prop_map(|(data, stat)| OpResult::GetData { data, stat }),
        int().prop_map(|err| OpResult::Error { err }),
    ]
    .boxed()
}

fn txn() -> BoxedStrategy<Txn> {
    rec!(Txn {
        type_: int(),
        data: buffer()
    })
}

// ------------------------------------------------------------------ properties

/// `read(write(x)) == x`, nothing left over, the encoding is stable, and every
/// strict prefix is either rejected or itself a complete encoding of another value.
fn check_roundtrip<R: Record + PartialEq + Debug>(x: &R) -> Result<(), TestCaseError> {
    let encoded = jute::to_bytes(x);
    let mut input = encoded.clone();
    let back = R::read(&mut input).map_err(|e| TestCaseError::fail(format!("{e}")))?;
    prop_assert_eq!(&back, x);
    prop_assert!(input.is_empty(), "{} bytes left over", input.len());
    prop_assert_eq!(jute::to_bytes(&back), encoded.clone());
    for cut in 0..encoded.len() {
        let mut prefix = encoded.slice(..cut);
        match R::read(&mut prefix) {
            Err(_) => {}
            Ok(other) => {
                // Only an optional trailing field (the handshake's read-only
                // byte) makes a prefix a complete record.
                prop_assert_ne!(&other, x);
                prop_assert!(prefix.is_empty());
                prop_assert_eq!(jute::to_bytes(&other), encoded.slice(..cut));
            }
        }
    }
    Ok(())
}

type Reader = fn(&mut Bytes) -> Result<(), JuteError>;

/// The one list of every record type: name, type, strategy. It generates one
/// round-trip proptest per record, the reader table and the sample encodings.
macro_rules! records {
    ($($test:ident : $ty:ty = $strat:expr;)*) => {
        mod roundtrip {
            use super::*;
            proptest! {
                #![proptest_config(ProptestConfig::with_cases(128))]
                $(
                    #[test]
                    fn $test(x in $strat) {
                        check_roundtrip::<$ty>(&x)?;
                    }
                )*
            }
        }

        /// Every record's `read`, type-erased.
        fn readers() -> Vec<(&'static str, Reader)> {
            vec![$(
                (stringify!($ty), (|b: &mut Bytes| <$ty as Record>::read(b).map(drop)) as Reader),
            )*]
        }

        /// `per_type` deterministic valid encodings of every record type.
        fn samples(per_type: usize) -> Vec<(&'static str, Reader, Bytes)> {
            let mut runner = TestRunner::deterministic();
            let mut out = Vec::new();
            $(
                let strategy = $strat;
                for _ in 0..per_type {
                    let value: $ty = strategy.new_tree(&mut runner).unwrap().current();
                    out.push((
                        stringify!($ty),
                        (|b: &mut Bytes| <$ty as Record>::read(b).map(drop)) as Reader,
                        jute::to_bytes(&value),
                    ));
                }
            )*
            out
        }
    };
}

records! {
    // primitives
    prim_int: i32 = int();
    prim_long: i64 = long();
    prim_bool: bool = boolean();
    prim_buffer: Option<Bytes> = buffer();
    prim_ustring: String = ustring();
    prim_vector_ustring: Vec<String> = strings();
    prim_vector_int: Vec<i32> = vec(int(), 0..6);
    // data.rs
    data_id: Id = id();
    data_acl: Acl = acl();
    data_stat: Stat = stat();
    data_stat_persisted: StatPersisted = stat_persisted();
    data_client_info: ClientInfo = client_info();
    // proto.rs
    connect_request: ConnectRequest = any_connect_request();
    connect_request_without_read_only: ConnectRequest =
        any_connect_request().prop_map(|r| ConnectRequest { read_only: None, ..r });
    connect_request_with_read_only: ConnectRequest = (any_connect_request(), boolean())
        .prop_map(|(r, ro)| ConnectRequest { read_only: Some(ro), ..r });
    connect_response: ConnectResponse = any_connect_response();
    connect_response_without_read_only: ConnectResponse =
        any_connect_response().prop_map(|r| ConnectResponse { read_only: None, ..r });
    connect_response_with_read_only: ConnectResponse = (any_connect_response(), boolean())
        .prop_map(|(r, ro)| ConnectResponse { read_only: Some(ro), ..r });
    set_watches: SetWatches = rec!(SetWatches {
        relative_zxid: long(),
        data_watches: strings(),
        exist_watches: strings(),
        child_watches: strings(),
    });
    set_watches2: SetWatches2 = rec!(SetWatches2 {
        relative_zxid: long(),
        data_watches: strings(),
        exist_watches: strings(),
        child_watches: strings(),
        persistent_watches: strings(),
        persistent_recursive_watches: strings(),
    });
    request_header: RequestHeader = rec!(RequestHeader { xid: int(), type_: int() });
    multi_header: MultiHeader = rec!(MultiHeader { type_: int(), done: boolean(), err: int() });
    auth_packet: AuthPacket = rec!(AuthPacket { type_: int(), scheme: ustring(), auth: buffer() });
    reply_header: ReplyHeader = rec!(ReplyHeader { xid: int(), zxid: long(), err: int() });
    get_data_request: GetDataRequest = rec!(GetDataRequest { path: ustring(), watch: boolean() });
    set_data_request: SetDataRequest =
        rec!(SetDataRequest { path: ustring(), data: buffer(), version: int() });
    reconfig_request: ReconfigRequest = rec!(ReconfigRequest {
        joining_servers: ustring(),
        leaving_servers: ustring(),
        new_members: ustring(),
        cur_config_id: long(),
    });
    set_data_response: SetDataResponse = rec!(SetDataResponse { stat: stat() });
    get_sasl_request: GetSaslRequest = rec!(GetSaslRequest { token: buffer() });
    set_sasl_response: SetSaslResponse = rec!(SetSaslResponse { token: buffer() });
    create_request: CreateRequest = any_create_request();
    create_ttl_request: CreateTtlRequest = any_create_ttl_request();
    delete_request: DeleteRequest = rec!(DeleteRequest { path: ustring(), version: int() });
    get_children_request: GetChildrenRequest =
        rec!(GetChildrenRequest { path: ustring(), watch: boolean() });
    get_all_children_number_request: GetAllChildrenNumberRequest =
        rec!(GetAllChildrenNumberRequest { path: ustring() });
    get_children2_request: GetChildren2Request =
        rec!(GetChildren2Request { path: ustring(), watch: boolean() });
    check_version_request: CheckVersionRequest =
        rec!(CheckVersionRequest { path: ustring(), version: int() });
    get_max_children_request: GetMaxChildrenRequest =
        rec!(GetMaxChildrenRequest { path: ustring() });
    get_max_children_response: GetMaxChildrenResponse =
        rec!(GetMaxChildrenResponse { max: int() });
    set_max_children_request: SetMaxChildrenRequest =
        rec!(SetMaxChildrenRequest { path: ustring(), max: int() });
    sync_request: SyncRequest = rec!(SyncRequest { path: ustring() });
    sync_response: SyncResponse = rec!(SyncResponse { path: ustring() });
    get_acl_request: GetAclRequest = rec!(GetAclRequest { path: ustring() });
    set_acl_request: SetAclRequest =
        rec!(SetAclRequest { path: ustring(), acl: acls(), version: int() });
    set_acl_response: SetAclResponse = rec!(SetAclResponse { stat: stat() });
    add_watch_request: AddWatchRequest = rec!(AddWatchRequest { path: ustring(), mode: int() });
    watcher_event: WatcherEvent =
        rec!(WatcherEvent { type_: int(), state: int(), path: ustring() });
    error_response: ErrorResponse = rec!(ErrorResponse { err: int() });
    create_response: CreateResponse = rec!(CreateResponse { path: ustring() });
    create2_response: Create2Response = rec!(Create2Response { path: ustring(), stat: stat() });
    exists_request: ExistsRequest = rec!(ExistsRequest { path: ustring(), watch: boolean() });
    exists_response: ExistsResponse = rec!(ExistsResponse { stat: stat() });
    get_data_response: GetDataResponse = rec!(GetDataResponse { data: buffer(), stat: stat() });
    get_children_response: GetChildrenResponse =
        rec!(GetChildrenResponse { children: strings() });
    get_all_children_number_response: GetAllChildrenNumberResponse =
        rec!(GetAllChildrenNumberResponse { total_number: int() });
    get_children2_response: GetChildren2Response =
        rec!(GetChildren2Response { children: strings(), stat: stat() });
    get_acl_response: GetAclResponse = rec!(GetAclResponse { acl: acls(), stat: stat() });
    check_watches_request: CheckWatchesRequest =
        rec!(CheckWatchesRequest { path: ustring(), type_: int() });
    remove_watches_request: RemoveWatchesRequest =
        rec!(RemoveWatchesRequest { path: ustring(), type_: int() });
    get_ephemerals_request: GetEphemeralsRequest =
        rec!(GetEphemeralsRequest { prefix_path: ustring() });
    get_ephemerals_response: GetEphemeralsResponse =
        rec!(GetEphemeralsResponse { ephemerals: strings() });
    who_am_i_response: WhoAmIResponse =
        rec!(WhoAmIResponse { client_info: vec(client_info(), 0..4) });
    // multi.rs
    multi_request: MultiRequest = vec(multi_op(), 0..6).prop_map(|ops| MultiRequest { ops });
    multi_response: MultiResponse =
        vec(op_result(), 0..6).prop_map(|results| MultiResponse { results });
    // txn.rs
    txn_digest: TxnDigest = rec!(TxnDigest { version: int(), tree_digest: long() });
    txn_header: TxnHeader = rec!(TxnHeader {
        client_id: long(),
        cxid: int(),
        zxid: long(),
        time: long(),
        type_: int(),
    });
    create_txn_v0: CreateTxnV0 =
        rec!(CreateTxnV0 { path: ustring(), data: buffer(), acl: acls(), ephemeral: boolean() });
    create_txn: CreateTxn = rec!(CreateTxn {
        path: ustring(),
        data: buffer(),
        acl: acls(),
        ephemeral: boolean(),
        parent_c_version: int(),
    });
    create_ttl_txn: CreateTtlTxn = rec!(CreateTtlTxn {
        path: ustring(),
        data: buffer(),
        acl: acls(),
        parent_c_version: int(),
        ttl: long(),
    });
    create_container_txn: CreateContainerTxn = rec!(CreateContainerTxn {
        path: ustring(),
        data: buffer(),
        acl: acls(),
        parent_c_version: int(),
    });
    delete_txn: DeleteTxn = rec!(DeleteTxn { path: ustring() });
    set_data_txn: SetDataTxn = rec!(SetDataTxn { path: ustring(), data: buffer(), version: int() });
    check_version_txn: CheckVersionTxn =
        rec!(CheckVersionTxn { path: ustring(), version: int() });
    set_acl_txn: SetAclTxn = rec!(SetAclTxn { path: ustring(), acl: acls(), version: int() });
    set_max_children_txn: SetMaxChildrenTxn =
        rec!(SetMaxChildrenTxn { path: ustring(), max: int() });
    create_session_txn: CreateSessionTxn = rec!(CreateSessionTxn { time_out: int() });
    close_session_txn: CloseSessionTxn = rec!(CloseSessionTxn { paths2_delete: strings() });
    error_txn: ErrorTxn = rec!(ErrorTxn { err: int() });
    txn_record: Txn = txn();
    multi_txn: MultiTxn = rec!(MultiTxn { txns: vec(txn(), 0..5) });
    // quorum.rs
    learner_info: LearnerInfo = rec!(LearnerInfo {
        serverid: long(),
        protocol_version: int(),
        config_version: long(),
    });
    quorum_packet: QuorumPacket = rec!(QuorumPacket {
        type_: int(),
        zxid: long(),
        data: buffer(),
        authinfo: vec(id(), 0..4),
    });
    quorum_auth_packet: QuorumAuthPacket =
        rec!(QuorumAuthPacket { magic: long(), status: int(), token: buffer() });
    // persistence.rs
    file_header: FileHeader = rec!(FileHeader { magic: int(), version: int(), dbid: long() });
}

/// Every distinct record type (not counting the primitives) is in the list.
#[test]
fn every_record_type_is_listed() {
    let mut names: Vec<&str> = readers().into_iter().map(|(n, _)| n).collect();
    names.sort_unstable();
    names.dedup();
    let primitives = [
        "i32",
        "i64",
        "bool",
        "Option<Bytes>",
        "String",
        "Vec<String>",
        "Vec<i32>",
    ];
    let records = names.iter().filter(|n| !primitives.contains(n)).count();
    // 69 `jute_record!`s + ConnectRequest/Response + MultiRequest/Response.
    assert_eq!(records, 73, "{names:?}");
}

// ------------------------------------------------------------------ multi specifics

#[test]
fn multi_request_keeps_create_op_codes_and_ends_with_done_header() {
    let ops = [OpCode::Create, OpCode::Create2, OpCode::CreateContainer]
        .into_iter()
        .map(|op| MultiOp::Create {
            op,
            req: CreateRequest {
                path: "/a".into(),
                ..Default::default()
            },
        })
        .collect();
    let req = MultiRequest { ops };
    let bytes = jute::to_bytes(&req);
    let mut b = bytes.clone();
    let mut codes = Vec::new();
    loop {
        let h = MultiHeader::read(&mut b).unwrap();
        if h.done {
            assert_eq!(
                h,
                MultiHeader {
                    type_: -1,
                    done: true,
                    err: -1
                }
            );
            break;
        }
        assert_eq!(h.err, -1);
        codes.push(h.type_);
        CreateRequest::read(&mut b).unwrap();
    }
    assert!(b.is_empty());
    assert_eq!(codes, vec![1, 15, 19]);
    assert_eq!(
        jute::from_bytes::<MultiRequest>(&mut bytes.clone()).unwrap(),
        req
    );
}

#[test]
fn multi_rejects_unknown_op_and_result_types() {
    for bad in [0, 3, 9, 14, 22, 100, -11, i32::MAX] {
        let mut buf = BytesMut::new();
        MultiHeader {
            type_: bad,
            done: false,
            err: -1,
        }
        .write(&mut buf);
        DeleteRequest {
            path: "/x".into(),
            version: -1,
        }
        .write(&mut buf);
        MultiHeader {
            type_: -1,
            done: true,
            err: -1,
        }
        .write(&mut buf);
        let bytes = buf.freeze();
        assert!(MultiRequest::read(&mut bytes.clone()).is_err(), "op {bad}");
        assert!(
            MultiResponse::read(&mut bytes.clone()).is_err(),
            "result {bad}"
        );
    }
    // A multi without its closing header is truncated.
    let mut buf = BytesMut::new();
    MultiHeader {
        type_: 2,
        done: false,
        err: -1,
    }
    .write(&mut buf);
    DeleteRequest {
        path: "/x".into(),
        version: -1,
    }
    .write(&mut buf);
    assert_eq!(
        MultiRequest::read(&mut buf.freeze()),
        Err(JuteError::Incomplete)
    );
}

#[test]
fn multi_error_result_carries_err_in_header_and_body() {
    let resp = MultiResponse {
        results: vec![OpResult::Error { err: -101 }],
    };
    let bytes = jute::to_bytes(&resp);
    let mut b = bytes.clone();
    assert_eq!(
        MultiHeader::read(&mut b).unwrap(),
        MultiHeader {
            type_: -1,
            done: false,
            err: -101
        }
    );
    assert_eq!(
        ErrorResponse::read(&mut b).unwrap(),
        ErrorResponse { err: -101 }
    );
    assert_eq!(
        MultiHeader::read(&mut b).unwrap(),
        MultiHeader {
            type_: -1,
            done: true,
            err: -1
        }
    );
    assert!(b.is_empty());
}

// ------------------------------------------------------------------ primitive semantics

fn bytes_of(parts: &[&[u8]]) -> Bytes {
    Bytes::from(parts.concat())
}

#[test]
fn null_and_negative_lengths() {
    let null = (-1i32).to_be_bytes();
    assert_eq!(Option::<Bytes>::read(&mut bytes_of(&[&null])), Ok(None));
    assert_eq!(String::read(&mut bytes_of(&[&null])), Ok(String::new()));
    assert_eq!(Vec::<String>::read(&mut bytes_of(&[&null])), Ok(Vec::new()));
    for neg in [-2i32, -100, i32::MIN] {
        let n = neg.to_be_bytes();
        assert!(matches!(
            Option::<Bytes>::read(&mut bytes_of(&[&n])),
            Err(JuteError::Invalid(_))
        ));
        assert!(matches!(
            String::read(&mut bytes_of(&[&n])),
            Err(JuteError::Invalid(_))
        ));
        assert!(matches!(
            Vec::<Acl>::read(&mut bytes_of(&[&n])),
            Err(JuteError::Invalid(_))
        ));
    }
    // Java's readBoolean: any non-zero byte is true.
    assert_eq!(bool::read(&mut Bytes::from_static(&[2])), Ok(true));
    assert_eq!(bool::read(&mut Bytes::from_static(&[0])), Ok(false));
    // Malformed UTF-8 decodes with replacement characters, like Java.
    let s = String::read(&mut bytes_of(&[&2i32.to_be_bytes(), &[0xff, b'a']])).unwrap();
    assert_eq!(s, "\u{fffd}a");
    // Empty input is incomplete for every primitive.
    assert_eq!(i32::read(&mut Bytes::new()), Err(JuteError::Incomplete));
    assert_eq!(
        i64::read(&mut Bytes::from_static(&[0; 7])),
        Err(JuteError::Incomplete)
    );
    assert_eq!(bool::read(&mut Bytes::new()), Err(JuteError::Incomplete));
}

#[test]
fn connect_records_have_documented_sizes() {
    let req = ConnectRequest {
        time_out: 30000,
        passwd: Some(Bytes::from_static(&[0; 16])),
        ..Default::default()
    };
    assert_eq!(jute::to_bytes(&req).len(), 44);
    let req = ConnectRequest {
        read_only: Some(false),
        ..req
    };
    assert_eq!(jute::to_bytes(&req).len(), 45);
    let resp = ConnectResponse {
        passwd: Some(Bytes::from_static(&[0; 16])),
        ..Default::default()
    };
    assert_eq!(jute::to_bytes(&resp).len(), 36);
    let resp = ConnectResponse {
        read_only: Some(true),
        ..resp
    };
    assert_eq!(jute::to_bytes(&resp).len(), 37);
}

// ------------------------------------------------------------------ hostile input

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    /// Arbitrary bytes: every record's read returns (Ok or Err) without panicking,
    /// and never claims to have consumed more than it was given.
    #[test]
    fn arbitrary_bytes_never_panic_any_reader(input in vec(any::<u8>(), 0..200)) {
        let input = Bytes::from(input);
        for (name, read) in readers() {
            let mut b = input.clone();
            let _ = read(&mut b);
            prop_assert!(b.len() <= input.len(), "{}", name);
        }
    }

    /// Arbitrary bytes fed to the frame decoder in arbitrary chunks.
    #[test]
    fn arbitrary_bytes_never_panic_frame_decoder(
        input in vec(any::<u8>(), 0..300),
        chunks in vec(1usize..64, 1..16),
        max in prop_oneof![Just(0usize), 1usize..64, Just(DEFAULT_MAX_BUFFER)],
    ) {
        let mut codec = FrameCodec::new(max);
        let mut src = BytesMut::new();
        let mut rest = &input[..];
        'feed: for size in chunks.iter().cycle() {
            if rest.is_empty() {
                break;
            }
            let n = (*size).min(rest.len());
            src.extend_from_slice(&rest[..n]);
            rest = &rest[n..];
            loop {
                match codec.decode(&mut src) {
                    Ok(Some(frame)) => prop_assert!(frame.len() <= max),
                    Ok(None) => break,
                    Err(_) => break 'feed,
                }
            }
        }
    }
}

/// Valid encodings with bytes overwritten, inserted, or cut: no panics.
#[test]
fn mutated_encodings_never_panic() {
    let mut runner = TestRunner::deterministic();
    let samples = samples(8);
    let mutation = (any::<prop::sample::Index>(), any::<u8>(), 0u8..4);
    for (name, read, encoded) in &samples {
        for _ in 0..64 {
            let (at, byte, kind) = mutation.new_tree(&mut runner).unwrap().current();
            let mut v = encoded.to_vec();
            if v.is_empty() {
                continue;
            }
            let i = at.index(v.len());
            match kind {
                0 => v[i] = byte,
                1 => v.insert(i, byte),
                2 => v.truncate(i),
                _ => v[i] ^= 0x80,
            }
            let _ = read(&mut Bytes::from(v));
            let _ = name;
        }
    }
}

// ------------------------------------------------------------------ allocation bounds

const PROBE_ENV: &str = "ZK_TESTS_ALLOC_PROBE";

/// Runs the calling test alone in a child process (allocation counting is
/// process-wide). Returns true in the child, where the body should run.
fn alone(test: &str) -> bool {
    if std::env::var_os(PROBE_ENV).is_some() {
        return true;
    }
    let exe = std::env::current_exe().expect("test binary path");
    let out = std::process::Command::new(exe)
        .args([
            test,
            "--exact",
            "--test-threads=1",
            "--include-ignored",
            "--nocapture",
        ])
        .env(PROBE_ENV, "1")
        .output()
        .expect("re-run the test binary");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "{test} failed in its child process:\n{stdout}\n{stderr}"
    );
    assert!(
        stdout.contains("running 1 test"),
        "{test} did not run in the child:\n{stdout}"
    );
    false
}

/// Bytes allocated (including growth by realloc) while `f` runs.
fn allocated_by<T>(f: impl FnOnce() -> T) -> (usize, T) {
    let region = Region::new(GLOBAL);
    let out = f();
    let stats = region.change();
    (
        stats.bytes_allocated + stats.bytes_reallocated.max(0) as usize,
        out,
    )
}

/// A small fixed allowance: a `Bytes` promoted to shared storage on its first
/// split allocates a header, and so on.
const SLACK: usize = 256;

/// Every 4-byte window of every sample encoding overwritten with a large
/// length: no read allocates in proportion to a declared length, only to the
/// input (within the factor `Vec::read`'s preallocation allows today, see
/// `vector_preallocation_is_bounded_by_input_exactly`). Tiny inputs declaring
/// huge vectors and buffers fail fast, allocating at most the input's size.
#[test]
fn huge_declared_lengths_fail_fast_without_allocating() {
    if !alone("huge_declared_lengths_fail_fast_without_allocating") {
        return;
    }
    let started = Instant::now();
    let mut probes = 0usize;
    for (name, read, encoded) in samples(6) {
        for at in 0..encoded.len().saturating_sub(3) {
            for huge in [
                i32::MAX,
                0x7fff_0000,
                0x0100_0000,
                0x000f_ffff,
                encoded.len() as i32,
            ] {
                let mut v = encoded.to_vec();
                v[at..at + 4].copy_from_slice(&huge.to_be_bytes());
                let n = v.len();
                let mut input = Bytes::from(v);
                let (bytes, _) = allocated_by(|| read(&mut input));
                assert!(
                    bytes <= 64 * n + SLACK,
                    "{name}: length {huge:#x} at offset {at} of {n} bytes allocated {bytes} bytes"
                );
                probes += 1;
            }
        }
    }
    // Plus the direct cases: a tiny input declaring a huge vector or buffer.
    for count in [i32::MAX, 1 << 30, 1 << 20, 100_000] {
        let c = count.to_be_bytes();
        let inputs: Vec<(&str, Reader, Bytes)> = vec![
            (
                "buffer",
                |b| Option::<Bytes>::read(b).map(drop),
                bytes_of(&[&c, b"abc"]),
            ),
            (
                "ustring",
                |b| String::read(b).map(drop),
                bytes_of(&[&c, b"abc"]),
            ),
            (
                "vector<ustring>",
                |b| Vec::<String>::read(b).map(drop),
                bytes_of(&[&c, &[0; 8]]),
            ),
            (
                "GetChildrenResponse",
                |b| GetChildrenResponse::read(b).map(drop),
                bytes_of(&[&c]),
            ),
            (
                "GetAclResponse",
                |b| GetAclResponse::read(b).map(drop),
                bytes_of(&[&c, &[0; 12]]),
            ),
            (
                "WhoAmIResponse",
                |b| WhoAmIResponse::read(b).map(drop),
                bytes_of(&[&c, &[0; 9]]),
            ),
            (
                "MultiTxn",
                |b| MultiTxn::read(b).map(drop),
                bytes_of(&[&c, &[0; 8]]),
            ),
            (
                "QuorumPacket",
                |b| QuorumPacket::read(b).map(drop),
                bytes_of(&[&[0; 12], &(-1i32).to_be_bytes(), &c, &[0; 8]]),
            ),
            (
                "CreateRequest",
                |b| CreateRequest::read(b).map(drop),
                bytes_of(&[
                    &2i32.to_be_bytes(),
                    b"/a",
                    &(-1i32).to_be_bytes(),
                    &c,
                    &[0; 4],
                ]),
            ),
            (
                "SetWatches2",
                |b| SetWatches2::read(b).map(drop),
                bytes_of(&[&[0; 8], &[0; 4], &[0; 4], &[0; 4], &[0; 4], &c]),
            ),
            (
                "ConnectRequest",
                |b| ConnectRequest::read(b).map(drop),
                bytes_of(&[&[0; 24], &c, &[0; 16]]),
            ),
            (
                "MultiRequest",
                |b| MultiRequest::read(b).map(drop),
                bytes_of(&[&[0, 0, 0, 1, 0, 0xff, 0xff, 0xff, 0xff], &c, b"/a"]),
            ),
            (
                "MultiResponse",
                |b| MultiResponse::read(b).map(drop),
                bytes_of(&[&[0, 0, 0, 8, 0, 0, 0, 0, 0], &c, &[0; 8]]),
            ),
        ];
        for (name, read, input) in inputs {
            let n = input.len();
            let t = Instant::now();
            let (bytes, result) = allocated_by(|| read(&mut input.clone()));
            assert!(
                result.is_err(),
                "{name} with count {count} accepted {n} bytes"
            );
            assert!(
                bytes <= n + SLACK,
                "{name} with count {count}: allocated {bytes} bytes"
            );
            assert!(
                t.elapsed() < Duration::from_millis(50),
                "{name} was slow to fail"
            );
            probes += 1;
        }
    }
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "{probes} probes took too long"
    );
}

/// A vector count just within what remains (each element takes at least one
/// byte) must not reserve more memory than the input holds, whatever the
/// element's in-memory size. Allowed a generous constant factor here; the
/// exact invariant (`lib.rs`: never more than the frame) is checked by
/// `vector_preallocation_is_bounded_by_input_exactly`.
#[test]
fn vector_preallocation_is_bounded_by_input() {
    if !alone("vector_preallocation_is_bounded_by_input") {
        return;
    }
    for (name, bytes, n) in vector_preallocation_probes() {
        assert!(
            bytes <= 64 * n + SLACK,
            "{name}: {n} bytes of input allocated {bytes}"
        );
    }
}

/// (record, bytes allocated, input length) for inputs whose vector count equals
/// the bytes remaining after it, followed by garbage that fails the first element.
fn vector_preallocation_probes() -> Vec<(&'static str, usize, usize)> {
    let body = vec![0xffu8; 4096];
    let count = (body.len() as i32).to_be_bytes();
    let cases: Vec<(&'static str, Reader, Bytes)> = vec![
        (
            "vector<ustring>",
            |b| Vec::<String>::read(b).map(drop),
            bytes_of(&[&count, &body]),
        ),
        (
            "vector<ACL> (GetAclResponse)",
            |b| GetAclResponse::read(b).map(drop),
            bytes_of(&[&count, &body]),
        ),
        (
            "vector<Id> (QuorumPacket)",
            |b| QuorumPacket::read(b).map(drop),
            bytes_of(&[&[0; 12], &(-1i32).to_be_bytes(), &count, &body]),
        ),
        (
            "vector<ClientInfo> (WhoAmIResponse)",
            |b| WhoAmIResponse::read(b).map(drop),
            bytes_of(&[&count, &body]),
        ),
        (
            "vector<Txn> (MultiTxn)",
            |b| MultiTxn::read(b).map(drop),
            bytes_of(&[&count, &body]),
        ),
    ];
    cases
        .into_iter()
        .map(|(name, read, input)| {
            let n = input.len();
            let (bytes, result) = allocated_by(|| read(&mut input.clone()));
            assert!(result.is_err(), "{name}");
            (name, bytes, n)
        })
        .collect()
}

/// The frame decoder never reserves more than about `max_frame_bytes`,
/// whatever length a frame declares.
#[test]
fn frame_decoder_allocation_is_bounded_by_max() {
    if !alone("frame_decoder_allocation_is_bounded_by_max") {
        return;
    }
    for max in [16usize, 4096, DEFAULT_MAX_BUFFER] {
        for declared in [
            0i32,
            1,
            15,
            16,
            17,
            4096,
            DEFAULT_MAX_BUFFER as i32,
            i32::MAX,
            -1,
            i32::MIN,
        ] {
            let mut codec = FrameCodec::new(max);
            let mut src = BytesMut::from(&declared.to_be_bytes()[..]);
            let (bytes, _) = allocated_by(|| codec.decode(&mut src));
            // BytesMut may round a reservation up to the next power of two.
            let bound = 2 * (max + 4) + SLACK;
            assert!(
                bytes <= bound,
                "max {max}, declared {declared}: {bytes} bytes"
            );
        }
    }
}

/// Strict form of the brief's invariant for frames: a 4-byte header declaring a
/// large (but allowed) frame must not make the decoder allocate more than it was
/// given. Today `decode` reserves the whole declared frame up front.
#[test]
fn frame_decoder_allocation_is_bounded_by_input() {
    if !alone("frame_decoder_allocation_is_bounded_by_input") {
        return;
    }
    let mut codec = FrameCodec::new(DEFAULT_MAX_BUFFER);
    let mut src = BytesMut::from(&(DEFAULT_MAX_BUFFER as i32).to_be_bytes()[..]);
    let (bytes, result) = allocated_by(|| codec.decode(&mut src));
    assert!(matches!(result, Ok(None)));
    assert!(
        bytes <= 4 + SLACK,
        "a 4-byte header made the decoder allocate {bytes} bytes"
    );
}

// ------------------------------------------------------------------ frame codec

fn framed(payloads: &[Vec<u8>]) -> Vec<u8> {
    let mut out = Vec::new();
    for p in payloads {
        out.extend_from_slice(&(p.len() as i32).to_be_bytes());
        out.extend_from_slice(p);
    }
    out
}

fn decode_all(codec: &mut FrameCodec, src: &mut BytesMut) -> Result<Vec<Bytes>, FrameError> {
    let mut out = Vec::new();
    while let Some(frame) = codec.decode(src)? {
        out.push(frame);
    }
    Ok(out)
}

proptest! {
    /// Frames split at arbitrary points arrive whole and in order.
    #[test]
    fn split_frames_reassemble(
        payloads in vec(vec(any::<u8>(), 0..80), 0..8),
        cuts in vec(any::<prop::sample::Index>(), 0..12),
    ) {
        let stream = framed(&payloads);
        let mut cut_at: Vec<usize> = cuts.iter().map(|c| c.index(stream.len() + 1)).collect();
        cut_at.push(stream.len());
        cut_at.sort_unstable();
        let mut codec = FrameCodec::new(80);
        let mut src = BytesMut::new();
        let mut got = Vec::new();
        let mut from = 0;
        for to in cut_at {
            src.extend_from_slice(&stream[from..to]);
            from = to;
            got.extend(decode_all(&mut codec, &mut src).unwrap());
        }
        prop_assert!(src.is_empty());
        let want: Vec<Bytes> = payloads.into_iter().map(Bytes::from).collect();
        prop_assert_eq!(got, want);
    }

    /// encode then decode is the identity.
    #[test]
    fn encoder_roundtrips(payloads in vec(vec(any::<u8>(), 0..100), 0..6)) {
        let mut codec = FrameCodec::new(100);
        let mut buf = BytesMut::new();
        for p in &payloads {
            codec.encode(Bytes::from(p.clone()), &mut buf).unwrap();
        }
        prop_assert_eq!(&buf[..], &framed(&payloads)[..]);
        let got = decode_all(&mut codec, &mut buf).unwrap();
        prop_assert_eq!(got, payloads.into_iter().map(Bytes::from).collect::<Vec<_>>());
    }
}

#[test]
fn partial_header_and_partial_body_wait() {
    let mut codec = FrameCodec::new(DEFAULT_MAX_BUFFER);
    let stream = framed(&[b"hello".to_vec()]);
    for cut in 0..stream.len() {
        let mut src = BytesMut::from(&stream[..cut]);
        assert_eq!(codec.decode(&mut src).unwrap(), None, "cut {cut}");
        assert_eq!(
            &src[..],
            &stream[..cut],
            "a partial frame must not be consumed"
        );
    }
    let mut src = BytesMut::from(&stream[..]);
    assert_eq!(
        codec.decode(&mut src).unwrap(),
        Some(Bytes::from_static(b"hello"))
    );
    assert!(src.is_empty());
}

#[test]
fn empty_frame() {
    let mut codec = FrameCodec::new(0);
    let mut src = BytesMut::from(&[0u8, 0, 0, 0, 0, 0][..]);
    assert_eq!(codec.decode(&mut src).unwrap(), Some(Bytes::new()));
    assert_eq!(codec.decode(&mut src).unwrap(), None);
    assert_eq!(src.len(), 2);
}

#[test]
fn exact_max_is_accepted() {
    for max in [1usize, 16, DEFAULT_MAX_BUFFER] {
        let payload = vec![7u8; max];
        let mut codec = FrameCodec::new(max);
        let mut src = BytesMut::from(&framed(std::slice::from_ref(&payload))[..]);
        assert_eq!(codec.decode(&mut src).unwrap(), Some(Bytes::from(payload)));
        assert!(src.is_empty());
    }
}

#[test]
fn max_plus_one_is_too_large_before_the_body_arrives() {
    for max in [0usize, 16, DEFAULT_MAX_BUFFER] {
        let mut codec = FrameCodec::new(max);
        // Only the header: the decoder must refuse it without waiting for the body.
        let mut src = BytesMut::from(&((max + 1) as i32).to_be_bytes()[..]);
        match codec.decode(&mut src) {
            Err(FrameError::Jute(JuteError::TooLarge {
                len_bytes,
                max_bytes,
            })) => {
                assert_eq!(len_bytes, max as i64 + 1);
                assert_eq!(max_bytes, max);
            }
            other => panic!("max {max}: expected TooLarge, got {other:?}"),
        }
    }
    let mut codec = FrameCodec::new(DEFAULT_MAX_BUFFER);
    let mut src = BytesMut::from(&i32::MAX.to_be_bytes()[..]);
    assert!(matches!(
        codec.decode(&mut src),
        Err(FrameError::Jute(JuteError::TooLarge { .. }))
    ));
}

#[test]
fn negative_length_is_invalid() {
    for len in [-1i32, -2, i32::MIN] {
        let mut codec = FrameCodec::new(DEFAULT_MAX_BUFFER);
        let mut src = BytesMut::from(&len.to_be_bytes()[..]);
        assert!(
            matches!(
                codec.decode(&mut src),
                Err(FrameError::Jute(JuteError::Invalid(_)))
            ),
            "length {len}"
        );
    }
}

#[test]
fn four_letter_word_reads_as_a_too_large_frame() {
    // "ruok" as a length is 0x72756f6b: far beyond jute.maxbuffer.
    let mut codec = FrameCodec::new(DEFAULT_MAX_BUFFER);
    let mut src = BytesMut::from(&b"ruok"[..]);
    assert!(matches!(
        codec.decode(&mut src),
        Err(FrameError::Jute(JuteError::TooLarge { .. }))
    ));
}

#[test]
fn truncated_frame_at_eof_is_an_error() {
    let mut codec = FrameCodec::new(DEFAULT_MAX_BUFFER);
    let mut src = BytesMut::from(&framed(&[b"abc".to_vec()])[..6]);
    assert!(codec.decode_eof(&mut src).is_err());
}

#[test]
fn frame_of_prefixes_the_length() {
    let header = RequestHeader {
        xid: 7,
        type_: OpCode::GetData.code(),
    };
    let body = GetDataRequest {
        path: "/a".into(),
        watch: true,
    };
    let frame = frame_of(&[&|b: &mut BytesMut| header.write(b), &|b: &mut BytesMut| {
        body.write(b)
    }]);
    let mut codec = FrameCodec::new(DEFAULT_MAX_BUFFER);
    let mut src = BytesMut::from(&frame[..]);
    let mut payload = codec.decode(&mut src).unwrap().unwrap();
    assert_eq!(RequestHeader::read(&mut payload).unwrap(), header);
    assert_eq!(GetDataRequest::read(&mut payload).unwrap(), body);
    assert!(payload.is_empty() && src.is_empty());
}
