//! Bad input never takes the server down and never disturbs other clients:
//! unknown opcodes are answered UNIMPLEMENTED and the connection stays up;
//! truncated request bodies are answered MARSHALLINGERROR (writes still take a
//! zxid, as the reference's error txns do); a garbled handshake or request
//! header closes only that connection. Driven through the pure core.

use bytes::{Buf, Bytes, BytesMut};
use jute::proto::*;
use jute::{ErrorCode, OpCode, Record};
use std::net::{IpAddr, Ipv4Addr};
use zk_server::core::{CoreConfig, Input, Output, Server};

const NOW: i64 = 1_000_000;

fn handshake() -> Bytes {
    jute::to_bytes(&ConnectRequest {
        protocol_version: 0,
        last_zxid_seen: 0,
        time_out: 30_000,
        session_id: 0,
        passwd: Some(Bytes::from_static(&[0; 16])),
        read_only: Some(false),
    })
}

fn open(server: &mut Server, conn: u64) -> Vec<Output> {
    let mut out = Vec::new();
    let peer = IpAddr::V4(Ipv4Addr::LOCALHOST);
    server.handle_durable_now(NOW, Input::Open { conn, peer }, &mut out);
    server.handle_durable_now(
        NOW,
        Input::Frame {
            conn,
            frame: handshake(),
        },
        &mut out,
    );
    out
}

fn request(server: &mut Server, conn: u64, xid: i32, op: i32, body: &[u8]) -> Vec<Output> {
    let mut buf = BytesMut::new();
    RequestHeader { xid, type_: op }.write(&mut buf);
    buf.extend_from_slice(body);
    let mut out = Vec::new();
    server.handle_durable_now(
        NOW,
        Input::Frame {
            conn,
            frame: buf.freeze(),
        },
        &mut out,
    );
    out
}

/// The single reply header in `out`, for `conn`.
fn reply_header(out: &[Output], conn: u64) -> ReplyHeader {
    let frames: Vec<&Bytes> = out
        .iter()
        .filter_map(|o| match o {
            Output::Send { conn: c, frame } if *c == conn => Some(frame),
            _ => None,
        })
        .collect();
    assert_eq!(frames.len(), 1, "exactly one reply: {out:?}");
    let mut b = frames[0].clone();
    b.advance(4);
    ReplyHeader::read(&mut b).expect("a reply header")
}

fn closed(out: &[Output], conn: u64) -> bool {
    out.iter()
        .any(|o| matches!(o, Output::Close { conn: c, .. } if *c == conn))
}

fn ping_works(server: &mut Server, conn: u64) {
    let out = request(server, conn, -2, OpCode::Ping.code(), &[]);
    assert_eq!(
        reply_header(&out, conn).err,
        0,
        "the connection still serves"
    );
}

#[test]
fn unknown_opcodes_are_unimplemented_and_the_connection_stays() {
    let mut server = Server::new(CoreConfig::default(), NOW);
    open(&mut server, 1);
    for op in [10, 23, 99, 108, 999, -3, i32::MIN, i32::MAX] {
        let out = request(&mut server, 1, 7, op, &[1, 2, 3]);
        let h = reply_header(&out, 1);
        assert_eq!(
            (h.xid, h.err),
            (7, ErrorCode::Unimplemented.code()),
            "op {op}"
        );
        assert!(!closed(&out, 1));
    }
    ping_works(&mut server, 1);
}

#[test]
fn truncated_bodies_are_marshalling_errors() {
    let mut server = Server::new(CoreConfig::default(), NOW);
    open(&mut server, 1);
    let reads = [
        OpCode::GetData,
        OpCode::Exists,
        OpCode::GetChildren,
        OpCode::GetAcl,
        OpCode::Sync,
    ];
    for op in reads {
        let out = request(&mut server, 1, 3, op.code(), &[0, 0, 0, 9, b'/']);
        let h = reply_header(&out, 1);
        assert_eq!(h.err, ErrorCode::MarshallingError.code(), "{op:?}");
    }
    let before = server.tree().last_processed_zxid;
    let writes = [
        OpCode::Create,
        OpCode::Delete,
        OpCode::SetData,
        OpCode::SetAcl,
        OpCode::Multi,
    ];
    for (i, op) in writes.into_iter().enumerate() {
        let out = request(&mut server, 1, 4, op.code(), &[0, 0, 0, 9, b'/']);
        let h = reply_header(&out, 1);
        assert_eq!(h.err, ErrorCode::MarshallingError.code(), "{op:?}");
        assert_eq!(
            h.zxid,
            before + 1 + i as i64,
            "a failed write is an error txn"
        );
    }
    ping_works(&mut server, 1);
}

#[test]
fn garbled_handshake_or_header_closes_only_that_connection() {
    let mut server = Server::new(CoreConfig::default(), NOW);
    open(&mut server, 1);
    let mut out = Vec::new();
    let peer = IpAddr::V4(Ipv4Addr::LOCALHOST);
    server.handle_durable_now(NOW, Input::Open { conn: 2, peer }, &mut out);
    server.handle_durable_now(
        NOW,
        Input::Frame {
            conn: 2,
            frame: Bytes::from_static(&[1, 2, 3]),
        },
        &mut out,
    );
    assert!(closed(&out, 2), "a short handshake closes the connection");
    open(&mut server, 3);
    let mut out = Vec::new();
    server.handle_durable_now(
        NOW,
        Input::Frame {
            conn: 3,
            frame: Bytes::from_static(&[0, 0, 1]),
        },
        &mut out,
    );
    assert!(
        closed(&out, 3),
        "a short request header closes the connection"
    );
    // Frames for connections already closed are ignored.
    server.handle_durable_now(
        NOW,
        Input::Frame {
            conn: 3,
            frame: Bytes::from_static(&[0; 8]),
        },
        &mut out,
    );
    server.handle_durable_now(NOW, Input::Closed { conn: 3 }, &mut out);
    server.handle_durable_now(NOW, Input::Closed { conn: 3 }, &mut out);
    ping_works(&mut server, 1);
}

#[test]
fn a_client_ahead_of_the_server_is_refused() {
    let mut server = Server::new(CoreConfig::default(), NOW);
    let mut out = Vec::new();
    let peer = IpAddr::V4(Ipv4Addr::LOCALHOST);
    server.handle_durable_now(NOW, Input::Open { conn: 1, peer }, &mut out);
    let req = ConnectRequest {
        last_zxid_seen: 1_000,
        time_out: 30_000,
        passwd: Some(Bytes::from_static(&[0; 16])),
        ..ConnectRequest::default()
    };
    server.handle_durable_now(
        NOW,
        Input::Frame {
            conn: 1,
            frame: jute::to_bytes(&req),
        },
        &mut out,
    );
    assert!(closed(&out, 1));
    assert!(
        !out.iter().any(|o| matches!(o, Output::Send { .. })),
        "no session is created"
    );
}
