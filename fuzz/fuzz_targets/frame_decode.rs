//! Arbitrary bytes through `FrameCodec`, then every decoded frame parsed as a
//! client request: `ConnectRequest` (the handshake has no header), and
//! `RequestHeader` + the record its opcode names (multi/multiRead included).
//!
//! Nothing may panic, and any record that decodes must round-trip:
//! `read(write(x)) == x` with nothing left over.
//!
//! Input layout: byte 0 configures the run (bits 0-5: chunk size - 1 for
//! feeding the decoder; bit 7: a tiny 64-byte max frame instead of
//! `jute.maxbuffer`), the rest is the byte stream.

#![no_main]

use bytes::{Bytes, BytesMut};
use jute::multi::{MultiRequest, MultiResponse};
use jute::proto::*;
use jute::{FrameCodec, OpCode, Record, DEFAULT_MAX_BUFFER};
use libfuzzer_sys::fuzz_target;
use std::fmt::Debug;
use tokio_util::codec::Decoder;

fuzz_target!(|data: &[u8]| {
    let Some((&cfg, stream)) = data.split_first() else {
        return;
    };
    let chunk = usize::from(cfg & 0x3f) + 1;
    let max = if cfg & 0x80 != 0 {
        64
    } else {
        DEFAULT_MAX_BUFFER
    };
    let mut codec = FrameCodec::new(max);
    let mut src = BytesMut::new();
    for piece in stream.chunks(chunk) {
        src.extend_from_slice(piece);
        loop {
            match codec.decode(&mut src) {
                Ok(Some(frame)) => {
                    assert!(frame.len() <= max, "frame over the maximum");
                    parse_request(frame);
                }
                Ok(None) => break,
                // A framing error ends the connection.
                Err(_) => return,
            }
        }
    }
    let _ = codec.decode_eof(&mut src);
});

/// Reads `R`; if it decodes, checks that it round-trips.
fn check<R: Record + PartialEq + Debug>(buf: &mut Bytes) {
    let before = buf.clone();
    let Ok(x) = R::read(buf) else { return };
    assert!(buf.len() <= before.len());
    let encoded = jute::to_bytes(&x);
    let mut again = encoded.clone();
    let y = R::read(&mut again).expect("a re-encoded record decodes");
    assert_eq!(x, y, "round trip changed the record");
    assert!(again.is_empty(), "round trip left bytes over");
}

fn parse_request(frame: Bytes) {
    // The first frame of a connection is a bare ConnectRequest.
    check::<ConnectRequest>(&mut frame.clone());

    let mut b = frame;
    let Ok(header) = RequestHeader::read(&mut b) else {
        return;
    };
    let Some(op) = OpCode::from_i32(header.type_) else {
        return;
    };
    match op {
        OpCode::Create | OpCode::Create2 | OpCode::CreateContainer => {
            check::<CreateRequest>(&mut b)
        }
        OpCode::CreateTtl => check::<CreateTtlRequest>(&mut b),
        OpCode::Delete | OpCode::DeleteContainer => check::<DeleteRequest>(&mut b),
        OpCode::Exists => check::<ExistsRequest>(&mut b),
        OpCode::GetData => check::<GetDataRequest>(&mut b),
        OpCode::SetData => check::<SetDataRequest>(&mut b),
        OpCode::GetAcl => check::<GetAclRequest>(&mut b),
        OpCode::SetAcl => check::<SetAclRequest>(&mut b),
        OpCode::GetChildren => check::<GetChildrenRequest>(&mut b),
        OpCode::GetChildren2 => check::<GetChildren2Request>(&mut b),
        OpCode::Sync => check::<SyncRequest>(&mut b),
        OpCode::Check => check::<CheckVersionRequest>(&mut b),
        OpCode::Multi | OpCode::MultiRead => {
            check::<MultiRequest>(&mut b.clone());
            // The same framing carries the reply; exercise its reader too.
            check::<MultiResponse>(&mut b);
        }
        OpCode::Reconfig => check::<ReconfigRequest>(&mut b),
        OpCode::CheckWatches => check::<CheckWatchesRequest>(&mut b),
        OpCode::RemoveWatches => check::<RemoveWatchesRequest>(&mut b),
        OpCode::Auth => check::<AuthPacket>(&mut b),
        OpCode::SetWatches => check::<SetWatches>(&mut b),
        OpCode::SetWatches2 => check::<SetWatches2>(&mut b),
        OpCode::Sasl => check::<GetSaslRequest>(&mut b),
        OpCode::GetEphemerals => check::<GetEphemeralsRequest>(&mut b),
        OpCode::GetAllChildrenNumber => check::<GetAllChildrenNumberRequest>(&mut b),
        OpCode::AddWatch => check::<AddWatchRequest>(&mut b),
        OpCode::Ping
        | OpCode::CloseSession
        | OpCode::WhoAmI
        | OpCode::CreateSession
        | OpCode::Notification
        | OpCode::Error => {}
    }
}
