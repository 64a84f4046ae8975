use super::*;
use crate::core::txn::{Txn, TxnBody};
use crate::quorum::types::ZAB_PROTOCOL_VERSION;
use jute::txn::{SetDataTxn, TxnDigest, TxnHeader};
use proptest::prelude::*;

fn set_data(zxid: i64, digest: Option<TxnDigest>) -> TxnPacket {
    TxnPacket {
        txn: Txn {
            header: TxnHeader {
                client_id: 0x1234,
                cxid: 7,
                zxid,
                time: 1_700_000_000_000,
                type_: jute::OpCode::SetData.code(),
            },
            body: TxnBody::SetData(SetDataTxn {
                path: "/x".into(),
                data: Some(Bytes::from_static(b"v")),
                version: 1,
            }),
        },
        digest,
    }
}

/// The side that sends each variant.
fn sender_of(m: &ZabMessage) -> Sender {
    match m {
        ZabMessage::FollowerInfo { .. }
        | ZabMessage::ObserverInfo { .. }
        | ZabMessage::AckEpoch { .. }
        | ZabMessage::Ack { .. }
        | ZabMessage::PingReply { .. }
        | ZabMessage::Request(_)
        | ZabMessage::Revalidate { .. } => Sender::Learner,
        _ => Sender::Leader,
    }
}

fn round_trip(m: &ZabMessage) -> ZabMessage {
    let mut buf = BytesMut::new();
    encode_message(m, &mut buf);
    let len = buf.len();
    let p = decode_packet(&mut buf, DEFAULT_MAX_PACKET_BYTES)
        .unwrap()
        .expect("whole packet");
    assert!(buf.is_empty(), "{len} bytes, {} left", buf.len());
    from_packet(&p, sender_of(m)).unwrap()
}

fn all_variants() -> Vec<ZabMessage> {
    let info = LearnerInfo {
        serverid: 3,
        protocol_version: ZAB_PROTOCOL_VERSION,
        config_version: 0x1_0000_0000,
    };
    vec![
        ZabMessage::FollowerInfo {
            accepted_epoch: 4,
            info: info.clone(),
        },
        ZabMessage::ObserverInfo {
            accepted_epoch: 0,
            info,
        },
        ZabMessage::LeaderInfo {
            new_epoch: 5,
            protocol_version: ZAB_PROTOCOL_VERSION,
        },
        ZabMessage::AckEpoch {
            last_logged_zxid: 0x4_0000_0009,
            current_epoch: -1,
        },
        ZabMessage::Diff { zxid: 9 },
        ZabMessage::Trunc { zxid: 8 },
        ZabMessage::Snap { zxid: 7 },
        ZabMessage::NewLeader {
            zxid: 0x5_0000_0000,
            config: Bytes::from_static(b"server.1=h:1:2:participant\nversion=0"),
        },
        ZabMessage::UpToDate,
        ZabMessage::Proposal(set_data(0x5_0000_0001, None)),
        ZabMessage::Proposal(set_data(
            0x5_0000_0002,
            Some(TxnDigest {
                version: 2,
                tree_digest: -77,
            }),
        )),
        ZabMessage::Ack {
            zxid: 0x5_0000_0001,
        },
        ZabMessage::Commit {
            zxid: 0x5_0000_0001,
        },
        ZabMessage::Inform(set_data(0x5_0000_0003, None)),
        ZabMessage::Ping {
            zxid: 0x5_0000_0003,
        },
        ZabMessage::PingReply {
            zxid: 0x5_0000_0003,
            touches: vec![
                SessionTouch {
                    session_id: 0x100_0000_0001,
                    timeout_ms: 30000,
                },
                SessionTouch {
                    session_id: -5,
                    timeout_ms: 4000,
                },
            ],
        },
        ZabMessage::PingReply {
            zxid: 1,
            touches: vec![],
        },
        ZabMessage::Request(ForwardedRequest {
            session_id: 0x100_0000_0001,
            cxid: 3,
            op: 1,
            request: Bytes::from_static(b"\0\0\0\x02/x"),
            auth: vec![Id {
                scheme: "digest".into(),
                id: "u:x".into(),
            }],
        }),
        ZabMessage::Request(ForwardedRequest {
            session_id: 1,
            cxid: 0,
            op: -11,
            request: Bytes::new(),
            auth: vec![],
        }),
        ZabMessage::Revalidate {
            session_id: 77,
            timeout_ms: 5000,
        },
        ZabMessage::RevalidateReply {
            session_id: 77,
            valid: true,
        },
        ZabMessage::RevalidateReply {
            session_id: 78,
            valid: false,
        },
        ZabMessage::Sync,
    ]
}

#[test]
fn every_variant_round_trips() {
    for m in all_variants() {
        assert_eq!(round_trip(&m), m);
    }
}

#[test]
fn layouts_match_zookeeper() {
    let bytes = |m: &ZabMessage| {
        let mut b = BytesMut::new();
        encode_message(m, &mut b);
        b.to_vec()
    };
    // UPTODATE: type 12, zxid -1, null data, null authinfo.
    let mut want = vec![0, 0, 0, 12];
    want.extend_from_slice(&(-1i64).to_be_bytes());
    want.extend_from_slice(&[0xff; 8]);
    assert_eq!(bytes(&ZabMessage::UpToDate), want);
    // SYNC: zxid 0.
    assert_eq!(
        &bytes(&ZabMessage::Sync)[..12],
        &[0, 0, 0, 7, 0, 0, 0, 0, 0, 0, 0, 0]
    );
    // ACKEPOCH: 4-byte data, the int.
    let b = bytes(&ZabMessage::AckEpoch {
        last_logged_zxid: 0,
        current_epoch: 0,
    });
    assert_eq!(
        &b[..],
        &[0, 0, 0, 18, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]
    );
    // FOLLOWERINFO: zxid acceptedEpoch << 32, 20-byte LearnerInfo.
    let b = bytes(&ZabMessage::FollowerInfo {
        accepted_epoch: 2,
        info: LearnerInfo {
            serverid: 3,
            protocol_version: 0x10000,
            config_version: 0,
        },
    });
    assert_eq!(&b[4..12], &0x2_0000_0000i64.to_be_bytes());
    assert_eq!(&b[12..16], &20i32.to_be_bytes());
    assert_eq!(&b[16..24], &3i64.to_be_bytes());
    assert_eq!(&b[24..28], &0x10000i32.to_be_bytes());
    // REQUEST with no ids: an empty list (0), not null.
    let b = bytes(&all_variants()[18]);
    assert_eq!(&b[b.len() - 4..], &[0, 0, 0, 0]);
    assert_eq!(&b[4..12], &(-1i64).to_be_bytes());
    // A PING reply with no sessions: empty data (0), not null.
    let b = bytes(&ZabMessage::PingReply {
        zxid: 1,
        touches: vec![],
    });
    assert_eq!(&b[12..20], &[0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff]);
}

#[test]
fn direction_decides_ping_and_revalidate() {
    let mut buf = BytesMut::new();
    encode_message(
        &ZabMessage::RevalidateReply {
            session_id: 5,
            valid: true,
        },
        &mut buf,
    );
    let p = decode_packet(&mut buf, 1 << 20).unwrap().unwrap();
    // 9 bytes of data read as the learner's request: cut short.
    assert!(from_packet(&p, Sender::Learner).is_err());
    let ping = to_packet(&ZabMessage::Ping { zxid: 3 });
    assert_eq!(
        from_packet(&ping, Sender::Learner).unwrap(),
        ZabMessage::PingReply {
            zxid: 3,
            touches: vec![]
        }
    );
    let odd = QuorumPacket {
        type_: PING,
        zxid: 3,
        data: Some(Bytes::from_static(&[0; 13])),
        authinfo: vec![],
    };
    assert!(from_packet(&odd, Sender::Learner).is_err());
}

#[test]
fn lenient_and_strict_payloads() {
    // An 8-byte LearnerInfo (a very old learner): protocol 0x1.
    let p = QuorumPacket {
        type_: FOLLOWERINFO,
        zxid: 0,
        data: Some(Bytes::copy_from_slice(&9i64.to_be_bytes())),
        authinfo: vec![],
    };
    match from_packet(&p, Sender::Learner).unwrap() {
        ZabMessage::FollowerInfo { info, .. } => {
            assert_eq!(
                (info.serverid, info.protocol_version, info.config_version),
                (9, 1, 0)
            )
        }
        m => panic!("{m:?}"),
    }
    for (type_, data) in [
        (LEADERINFO, &b"\0\0\x01"[..]),
        (ACKEPOCH, &b"\0\0\0\0\0"[..]),
        (PROPOSAL, &b"junk"[..]),
        (REQUEST, &b"\0\0\0\0\0\0\0\x01\0\0"[..]),
    ] {
        let p = QuorumPacket {
            type_,
            zxid: 0,
            data: Some(Bytes::copy_from_slice(data)),
            authinfo: vec![],
        };
        assert!(from_packet(&p, Sender::Leader).is_err(), "type {type_}");
    }
    for type_ in [COMMITANDACTIVATE, INFORMANDACTIVATE] {
        let p = QuorumPacket {
            type_,
            ..Default::default()
        };
        assert_eq!(
            from_packet(&p, Sender::Leader),
            Err(WireError::Unsupported { type_ })
        );
    }
    let p = QuorumPacket {
        type_: 99,
        ..Default::default()
    };
    assert!(from_packet(&p, Sender::Leader).is_err());
}

#[test]
fn stream_decoder_waits_splits_and_bounds() {
    let mut all = BytesMut::new();
    for m in all_variants() {
        encode_message(&m, &mut all);
    }
    let total = all.len();
    // Fed one byte at a time, it yields every packet exactly once, in order.
    let mut buf = BytesMut::new();
    let mut got = Vec::new();
    for b in all.iter() {
        buf.put_u8(*b);
        while let Some(p) = decode_packet(&mut buf, 1 << 20).unwrap() {
            got.push(p);
        }
    }
    assert!(buf.is_empty());
    let want: Vec<_> = all_variants().iter().map(to_packet).collect();
    assert_eq!(got, want);
    assert!(total > 0);

    // A data length over the bound fails at once, before its bytes arrive.
    let mut big = BytesMut::new();
    big.put_i32(PROPOSAL);
    big.put_i64(1);
    big.put_i32(1000);
    assert!(matches!(
        decode_packet(&mut big.clone(), 100),
        Err(WireError::BadLength { .. })
    ));
    assert_eq!(decode_packet(&mut big, 2000).unwrap(), None);
    // Negative lengths and counts other than -1.
    let mut neg = BytesMut::new();
    neg.put_i32(ACK);
    neg.put_i64(1);
    neg.put_i32(-2);
    assert!(decode_packet(&mut neg, 1 << 20).is_err());
    let mut neg = BytesMut::new();
    neg.put_i32(ACK);
    neg.put_i64(1);
    neg.put_i32(-1);
    neg.put_i32(-7);
    assert!(decode_packet(&mut neg, 1 << 20).is_err());
    // An authinfo count that cannot fit in the bound.
    let mut many = BytesMut::new();
    many.put_i32(REQUEST);
    many.put_i64(-1);
    many.put_i32(-1);
    many.put_i32(1_000_000);
    assert!(decode_packet(&mut many, 1 << 16).is_err());
}

#[test]
fn codec_traits() {
    use tokio_util::codec::{Decoder, Encoder};
    let mut c = QuorumPacketCodec::default();
    let mut buf = BytesMut::new();
    c.encode(&ZabMessage::Commit { zxid: 5 }, &mut buf).unwrap();
    let p = c.decode(&mut buf).unwrap().unwrap();
    assert_eq!(
        from_packet(&p, Sender::Leader).unwrap(),
        ZabMessage::Commit { zxid: 5 }
    );
    buf.put_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0x80, 0, 0, 0]);
    let e = c.decode(&mut buf).unwrap_err();
    assert_eq!(e.kind(), std::io::ErrorKind::InvalidData);
}

fn arb_message() -> impl Strategy<Value = ZabMessage> {
    let touches = proptest::collection::vec(
        (any::<i64>(), any::<i32>()).prop_map(|(session_id, timeout_ms)| SessionTouch {
            session_id,
            timeout_ms,
        }),
        0..5,
    );
    let ids = proptest::collection::vec(
        ("[a-z]{0,6}", "[ -~]{0,10}").prop_map(|(scheme, id)| Id { scheme, id }),
        0..3,
    );
    prop_oneof![
        (any::<i64>(), any::<i64>(), any::<i32>(), any::<i64>()).prop_map(|(e, s, v, c)| {
            ZabMessage::FollowerInfo {
                accepted_epoch: e & 0x7fff_ffff,
                info: LearnerInfo {
                    serverid: s,
                    protocol_version: v,
                    config_version: c,
                },
            }
        }),
        (0i64..0x7fff_ffff, any::<i32>()).prop_map(|(e, v)| ZabMessage::LeaderInfo {
            new_epoch: e,
            protocol_version: v
        }),
        (any::<i64>(), any::<i32>()).prop_map(|(z, c)| ZabMessage::AckEpoch {
            last_logged_zxid: z,
            current_epoch: c
        }),
        any::<i64>().prop_map(|zxid| ZabMessage::Diff { zxid }),
        any::<i64>().prop_map(|zxid| ZabMessage::Ack { zxid }),
        (any::<i64>(), proptest::collection::vec(any::<u8>(), 0..50)).prop_map(|(zxid, c)| {
            ZabMessage::NewLeader {
                zxid,
                config: Bytes::from(c),
            }
        }),
        (any::<i64>(), touches).prop_map(|(zxid, touches)| ZabMessage::PingReply { zxid, touches }),
        (
            any::<i64>(),
            any::<i32>(),
            any::<i32>(),
            proptest::collection::vec(any::<u8>(), 0..40),
            ids
        )
            .prop_map(|(session_id, cxid, op, req, auth)| {
                ZabMessage::Request(ForwardedRequest {
                    session_id,
                    cxid,
                    op,
                    request: Bytes::from(req),
                    auth,
                })
            }),
        (any::<i64>(), any::<i32>()).prop_map(|(session_id, timeout_ms)| ZabMessage::Revalidate {
            session_id,
            timeout_ms
        }),
        (any::<i64>(), any::<bool>())
            .prop_map(|(session_id, valid)| ZabMessage::RevalidateReply { session_id, valid }),
        (
            any::<i64>(),
            proptest::option::of((any::<i32>(), any::<i64>()))
        )
            .prop_map(|(z, d)| {
                ZabMessage::Proposal(set_data(
                    z,
                    d.map(|(version, tree_digest)| TxnDigest {
                        version,
                        tree_digest,
                    }),
                ))
            }),
    ]
}

proptest! {
    #[test]
    fn arbitrary_messages_round_trip(m in arb_message()) {
        prop_assert_eq!(round_trip(&m), m);
    }

    #[test]
    fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut buf = BytesMut::from(&bytes[..]);
        while let Ok(Some(p)) = decode_packet(&mut buf, 1 << 12) {
            let _ = from_packet(&p, Sender::Leader);
            let _ = from_packet(&p, Sender::Learner);
        }
    }
}
