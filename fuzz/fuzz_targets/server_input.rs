//! Arbitrary client traffic into the server core. Uses only the core's public
//! seam (`Server::new`, `Server::handle`, `Input`, `Output`, `CoreConfig`), so
//! it keeps working as the core behind it changes. The core must never panic.
//!
//! Input layout: a sequence of commands, each starting with a tag byte `t`:
//!
//! | `t >> 5` | command |
//! |---|---|
//! | 0..=3 | `Input::Frame` on connection slot `t & 3`: the frame's length is the next byte (or the next two, big-endian, when `t & 0x10`), then that many bytes (fewer at the end of input) |
//! | 4 | a valid `ConnectRequest` frame on connection slot `t & 3`, built from the next 8 bytes (timeout, session id, read-only byte present or not), so the fuzzer reaches established sessions quickly |
//! | 5 | time passes by `(t & 0x1f)` seconds, then `Input::Tick` |
//! | 6 | `Input::Closed` on connection slot `t & 3` (reopened by its next frame) |
//! | 7 | time passes by `t & 0x1f` milliseconds |
//!
//! A connection is opened (`Input::Open`) before its first frame. Each output
//! `Send` must be one length-prefixed frame.

#![no_main]

use bytes::{BufMut, Bytes, BytesMut};
use libfuzzer_sys::fuzz_target;
use std::net::{IpAddr, Ipv4Addr};
use zk_server::core::{CoreConfig, Input, Output, Server};

const CONNS: usize = 4;

struct Harness {
    server: Server,
    now_ms: i64,
    /// Connection id currently used for each slot, and whether it is open.
    ids: [u64; CONNS],
    open: [bool; CONNS],
    next_id: u64,
    out: Vec<Output>,
    /// Newest zxid handed out for persistence: the "disk" acknowledges it
    /// only when the input says so, so writes stay in flight a while.
    newest_persist: i64,
}

impl Harness {
    fn new() -> Harness {
        Harness {
            server: Server::new(CoreConfig::default(), 0),
            now_ms: 0,
            ids: [0; CONNS],
            open: [false; CONNS],
            next_id: 1,
            out: Vec::new(),
            newest_persist: 0,
        }
    }

    fn handle(&mut self, input: Input) {
        self.out.clear();
        self.server.handle(self.now_ms, input, &mut self.out);
        for o in &self.out {
            if let Output::Persist { txn } = o {
                assert!(txn.header.zxid > self.newest_persist, "txns are persisted in zxid order");
                self.newest_persist = txn.header.zxid;
            }
            match o {
                Output::Send { frame, .. } => {
                    assert!(frame.len() >= 4, "a sent frame lacks its length prefix");
                    let len = i32::from_be_bytes([frame[0], frame[1], frame[2], frame[3]]);
                    assert_eq!(
                        len as usize,
                        frame.len() - 4,
                        "a sent frame's length prefix is wrong"
                    );
                }
                Output::Close { .. } | Output::Persist { .. } => {}
            }
        }
        // A connection the core closed is gone for good: the next frame in that
        // slot goes to a new connection, as it would after a reconnect.
        for o in &self.out {
            if let Output::Close { conn, .. } = o {
                for slot in 0..CONNS {
                    if self.open[slot] && self.ids[slot] == *conn {
                        self.open[slot] = false;
                    }
                }
            }
        }
    }

    fn conn(&mut self, slot: usize) -> u64 {
        if !self.open[slot] {
            self.ids[slot] = self.next_id;
            self.next_id += 1;
            self.open[slot] = true;
            let peer = IpAddr::V4(Ipv4Addr::new(127, 0, 0, 1 + slot as u8));
            self.handle(Input::Open {
                conn: self.ids[slot],
                peer,
            });
        }
        self.ids[slot]
    }

    fn frame(&mut self, slot: usize, frame: Bytes) {
        let conn = self.conn(slot);
        self.handle(Input::Frame { conn, frame });
    }

    fn close(&mut self, slot: usize) {
        if self.open[slot] {
            self.open[slot] = false;
            let conn = self.ids[slot];
            self.handle(Input::Closed { conn });
        }
    }
}

/// `ConnectRequest{protocolVersion 0, lastZxidSeen 0, timeOut, sessionId, passwd[16], [readOnly]}`.
fn connect_frame(p: &[u8]) -> Bytes {
    let mut p8 = [0u8; 8];
    p8[..p.len().min(8)].copy_from_slice(&p[..p.len().min(8)]);
    let mut b = BytesMut::new();
    b.put_i32(0);
    b.put_i64(0);
    b.put_i32(i32::from(u16::from_be_bytes([p8[0], p8[1]])) * 10);
    // Mostly new sessions; sometimes a small guessed session id.
    b.put_i64(if p8[2] & 0x80 != 0 {
        i64::from(p8[3])
    } else {
        0
    });
    b.put_i32(16);
    b.put_slice(&[p8[4]; 16]);
    if p8[2] & 1 == 0 {
        b.put_u8(p8[5] & 1);
    }
    b.freeze()
}

fuzz_target!(|data: &[u8]| {
    let mut h = Harness::new();
    let mut rest = data;
    while let Some((&t, tail)) = rest.split_first() {
        rest = tail;
        let slot = usize::from(t & 3);
        match t >> 5 {
            0..=3 => {
                let (len, tail) = if t & 0x10 != 0 {
                    match rest {
                        [a, b, tail @ ..] => (usize::from(u16::from_be_bytes([*a, *b])), tail),
                        _ => (rest.len(), &rest[rest.len()..]),
                    }
                } else {
                    match rest {
                        [a, tail @ ..] => (usize::from(*a), tail),
                        _ => (0, rest),
                    }
                };
                let n = len.min(tail.len());
                let frame = Bytes::copy_from_slice(&tail[..n]);
                rest = &tail[n..];
                h.frame(slot, frame);
            }
            4 => {
                let n = rest.len().min(8);
                let frame = connect_frame(&rest[..n]);
                rest = &rest[n..];
                h.frame(slot, frame);
            }
            5 => {
                h.now_ms += i64::from(t & 0x1f) * 1000;
                h.handle(Input::Tick);
            }
            6 => h.close(slot),
            _ => {
                h.now_ms += i64::from(t & 0x1f);
                let zxid = h.newest_persist;
                h.handle(Input::Persisted { zxid });
            }
        }
    }
    let zxid = h.newest_persist;
    h.handle(Input::Persisted { zxid });
    for slot in 0..CONNS {
        h.close(slot);
    }
    h.now_ms += 3_600_000;
    h.handle(Input::Tick);
});
