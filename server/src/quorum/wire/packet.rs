//! `QuorumPacket`s on the quorum port: [`ZabMessage`] ↔
//! `jute::quorum::QuorumPacket`, and the byte stream they travel on.
//!
//! A packet is one jute record, `{int type; long zxid; buffer data;
//! vector<Id> authinfo}`, written back to back with no length prefix
//! (`BinaryOutputArchive` over the socket). What ZooKeeper 3.8.0 puts in
//! each (Leader, LearnerHandler, Learner, Follower, Observer):
//!
//! | type | code | zxid | data |
//! |---|---|---|---|
//! | REQUEST | 1 | −1 | `long sessionId; int cxid; int type;` request bytes; authinfo = the session's ids |
//! | PROPOSAL | 2 | the txn's | `TxnHeader` + record [+ `TxnDigest`] |
//! | ACK | 3 | acked zxid | null |
//! | COMMIT | 4 | committed zxid | null |
//! | PING (leader) | 5 | last proposed | null |
//! | PING (learner) | 5 | the ping's | `{long sessionId; int timeout}*` (empty, not null, when none) |
//! | REVALIDATE (learner) | 6 | −1 | `long sessionId; int timeout` |
//! | REVALIDATE (leader) | 6 | −1 (the request's) | `long sessionId; boolean valid` |
//! | SYNC | 7 | 0 | null |
//! | INFORM | 8 | the txn's | as PROPOSAL |
//! | NEWLEADER | 10 | newEpoch << 32 | `QuorumVerifier.toString()` bytes |
//! | FOLLOWERINFO / OBSERVERINFO | 11 / 16 | acceptedEpoch << 32 | `LearnerInfo{long serverid; int protocolVersion; long configVersion}` |
//! | UPTODATE | 12 | −1 | null |
//! | DIFF / TRUNC / SNAP | 13 / 14 / 15 | sync target | null (SNAP: the snapshot follows on the stream, see `snap_stream`) |
//! | LEADERINFO | 17 | newEpoch << 32 | `int protocolVersion` (0x10000) |
//! | ACKEPOCH | 18 | last logged zxid | `int currentEpoch`, −1 if the epoch was already accepted |
//!
//! authinfo is null (count −1) in every packet ZooKeeper builds except
//! REQUEST, whose list is the session's and never null (an empty list is
//! count 0; a null one would make the leader's ACL checks fail), so
//! [`write_packet`] writes an empty authinfo as null except in REQUEST.
//! A learner echoes the leader's PING and REVALIDATE packets with new data,
//! so their authinfo stays null too. COMMITANDACTIVATE (9) and
//! INFORMANDACTIVATE (19) belong to dynamic reconfiguration and are
//! [`WireError::Unsupported`].
//!
//! Decoding is lenient where ZooKeeper is: a LearnerInfo of 8 or 12 bytes
//! (older learners) gets protocol version 0x1 / config version 0 as
//! `LearnerHandler` assumes; a null NEWLEADER config is empty. Fixed-size
//! payloads with bytes left over are errors (ZooKeeper ignores them, but no
//! ZooKeeper writes them).

use super::reader::Reader;
use super::WireError;
use crate::quorum::types::{make_zxid, ForwardedRequest, SessionTouch, TxnPacket, ZabMessage};
use crate::storage::txn_log::{decode_txn, serialize_txn};
use bytes::{Buf, BufMut, Bytes, BytesMut};
use jute::data::Id;
use jute::quorum::{LearnerInfo, QuorumPacket};
use jute::Record;

/// `Leader.REQUEST` and the other packet type codes (`Leader.java`).
pub const REQUEST: i32 = 1;
pub const PROPOSAL: i32 = 2;
pub const ACK: i32 = 3;
pub const COMMIT: i32 = 4;
pub const PING: i32 = 5;
pub const REVALIDATE: i32 = 6;
pub const SYNC: i32 = 7;
pub const INFORM: i32 = 8;
pub const COMMITANDACTIVATE: i32 = 9;
pub const NEWLEADER: i32 = 10;
pub const FOLLOWERINFO: i32 = 11;
pub const UPTODATE: i32 = 12;
pub const DIFF: i32 = 13;
pub const TRUNC: i32 = 14;
pub const SNAP: i32 = 15;
pub const OBSERVERINFO: i32 = 16;
pub const LEADERINFO: i32 = 17;
pub const ACKEPOCH: i32 = 18;
pub const INFORMANDACTIVATE: i32 = 19;

/// `LearnerHandler`'s protocol version for a learner whose LearnerInfo has none.
pub const LEGACY_LEARNER_PROTOCOL_VERSION: i32 = 0x1;

/// Default bound on one packet's encoded size: ZooKeeper's
/// `BinaryInputArchive` allows each buffer `jute.maxbuffer` +
/// `zookeeper.jute.maxbuffer.extrasize` (which defaults to `jute.maxbuffer`)
/// bytes, so 2 × 0xfffff.
pub const DEFAULT_MAX_PACKET_BYTES: usize = 2 * jute::DEFAULT_MAX_BUFFER;

/// Which side sent a packet: PING and REVALIDATE carry different payloads
/// in each direction.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Sender {
    Leader,
    Learner,
}

/// The packet ZooKeeper would build for `msg`.
pub fn to_packet(msg: &ZabMessage) -> QuorumPacket {
    let (type_, zxid, data, authinfo) = match msg {
        ZabMessage::FollowerInfo {
            accepted_epoch,
            info,
        } => (
            FOLLOWERINFO,
            make_zxid(*accepted_epoch, 0),
            Some(jute::to_bytes(info)),
            vec![],
        ),
        ZabMessage::ObserverInfo {
            accepted_epoch,
            info,
        } => (
            OBSERVERINFO,
            make_zxid(*accepted_epoch, 0),
            Some(jute::to_bytes(info)),
            vec![],
        ),
        ZabMessage::LeaderInfo {
            new_epoch,
            protocol_version,
        } => (
            LEADERINFO,
            make_zxid(*new_epoch, 0),
            Some(int_bytes(*protocol_version)),
            vec![],
        ),
        ZabMessage::AckEpoch {
            last_logged_zxid,
            current_epoch,
        } => (
            ACKEPOCH,
            *last_logged_zxid,
            Some(int_bytes(*current_epoch)),
            vec![],
        ),
        ZabMessage::Diff { zxid } => (DIFF, *zxid, None, vec![]),
        ZabMessage::Trunc { zxid } => (TRUNC, *zxid, None, vec![]),
        ZabMessage::Snap { zxid } => (SNAP, *zxid, None, vec![]),
        ZabMessage::NewLeader { zxid, config } => (NEWLEADER, *zxid, Some(config.clone()), vec![]),
        ZabMessage::UpToDate => (UPTODATE, -1, None, vec![]),
        ZabMessage::Proposal(t) => (PROPOSAL, t.txn.header.zxid, Some(txn_bytes(t)), vec![]),
        ZabMessage::Inform(t) => (INFORM, t.txn.header.zxid, Some(txn_bytes(t)), vec![]),
        ZabMessage::Ack { zxid } => (ACK, *zxid, None, vec![]),
        ZabMessage::Commit { zxid } => (COMMIT, *zxid, None, vec![]),
        ZabMessage::Ping { zxid } => (PING, *zxid, None, vec![]),
        ZabMessage::PingReply { zxid, touches } => {
            let mut b = BytesMut::with_capacity(touches.len() * 12);
            for t in touches {
                b.put_i64(t.session_id);
                b.put_i32(t.timeout_ms);
            }
            (PING, *zxid, Some(b.freeze()), vec![])
        }
        ZabMessage::Request(r) => {
            let mut b = BytesMut::with_capacity(16 + r.request.len());
            b.put_i64(r.session_id);
            b.put_i32(r.cxid);
            b.put_i32(r.op);
            b.put_slice(&r.request);
            (REQUEST, -1, Some(b.freeze()), r.auth.clone())
        }
        ZabMessage::Revalidate {
            session_id,
            timeout_ms,
        } => {
            let mut b = BytesMut::with_capacity(12);
            b.put_i64(*session_id);
            b.put_i32(*timeout_ms);
            (REVALIDATE, -1, Some(b.freeze()), vec![])
        }
        ZabMessage::RevalidateReply { session_id, valid } => {
            let mut b = BytesMut::with_capacity(9);
            b.put_i64(*session_id);
            b.put_u8(u8::from(*valid));
            (REVALIDATE, -1, Some(b.freeze()), vec![])
        }
        ZabMessage::Sync => (SYNC, 0, None, vec![]),
    };
    QuorumPacket {
        type_,
        zxid,
        data,
        authinfo,
    }
}

fn int_bytes(v: i32) -> Bytes {
    Bytes::copy_from_slice(&v.to_be_bytes())
}

fn txn_bytes(t: &TxnPacket) -> Bytes {
    let mut b = BytesMut::new();
    serialize_txn(&t.txn, &mut b);
    if let Some(d) = &t.digest {
        d.write(&mut b);
    }
    b.freeze()
}

/// Types a packet `from` the given side, by its type code and payload.
pub fn from_packet(p: &QuorumPacket, from: Sender) -> Result<ZabMessage, WireError> {
    let empty = Bytes::new();
    let data = p.data.as_ref().unwrap_or(&empty);
    let zxid = p.zxid;
    Ok(match (p.type_, from) {
        (FOLLOWERINFO, _) | (OBSERVERINFO, _) => {
            let info = learner_info(p.data.as_ref())?;
            let accepted_epoch = crate::quorum::types::epoch_of(zxid);
            if p.type_ == FOLLOWERINFO {
                ZabMessage::FollowerInfo {
                    accepted_epoch,
                    info,
                }
            } else {
                ZabMessage::ObserverInfo {
                    accepted_epoch,
                    info,
                }
            }
        }
        (LEADERINFO, _) => ZabMessage::LeaderInfo {
            new_epoch: crate::quorum::types::epoch_of(zxid),
            protocol_version: fixed_int(data, "LEADERINFO protocol version")?,
        },
        (ACKEPOCH, _) => ZabMessage::AckEpoch {
            last_logged_zxid: zxid,
            current_epoch: fixed_int(data, "ACKEPOCH current epoch")?,
        },
        (DIFF, _) => ZabMessage::Diff { zxid },
        (TRUNC, _) => ZabMessage::Trunc { zxid },
        (SNAP, _) => ZabMessage::Snap { zxid },
        (NEWLEADER, _) => ZabMessage::NewLeader {
            zxid,
            config: data.clone(),
        },
        (UPTODATE, _) => ZabMessage::UpToDate,
        (PROPOSAL, _) => ZabMessage::Proposal(txn_packet(p.data.as_ref(), "PROPOSAL")?),
        (INFORM, _) => ZabMessage::Inform(txn_packet(p.data.as_ref(), "INFORM")?),
        (ACK, _) => ZabMessage::Ack { zxid },
        (COMMIT, _) => ZabMessage::Commit { zxid },
        (PING, Sender::Leader) => ZabMessage::Ping { zxid },
        (PING, Sender::Learner) => {
            if !data.len().is_multiple_of(12) {
                return Err(WireError::Invalid(format!(
                    "PING touch table of {} bytes is not a whole number of 12-byte entries",
                    data.len()
                )));
            }
            let mut r = Reader::new(data);
            let mut touches = Vec::with_capacity(data.len() / 12);
            while r.remaining() > 0 {
                touches.push(SessionTouch {
                    session_id: r.i64("touch session id")?,
                    timeout_ms: r.i32("touch timeout")?,
                });
            }
            ZabMessage::PingReply { zxid, touches }
        }
        (REQUEST, _) => {
            let mut r = Reader::new(data);
            let session_id = r.i64("REQUEST session id")?;
            let cxid = r.i32("REQUEST cxid")?;
            let op = r.i32("REQUEST type")?;
            let request = data.slice(r.pos()..);
            ZabMessage::Request(ForwardedRequest {
                session_id,
                cxid,
                op,
                request,
                auth: p.authinfo.clone(),
            })
        }
        (REVALIDATE, Sender::Learner) => {
            let mut r = Reader::new(data);
            let m = ZabMessage::Revalidate {
                session_id: r.i64("REVALIDATE session id")?,
                timeout_ms: r.i32("REVALIDATE timeout")?,
            };
            r.end("REVALIDATE")?;
            m
        }
        (REVALIDATE, Sender::Leader) => {
            let mut r = Reader::new(data);
            let session_id = r.i64("REVALIDATE session id")?;
            // DataInputStream.readBoolean: any non-zero byte is true.
            let valid = r.take(1, "REVALIDATE valid")?[0] != 0;
            r.end("REVALIDATE reply")?;
            ZabMessage::RevalidateReply { session_id, valid }
        }
        (SYNC, _) => ZabMessage::Sync,
        (COMMITANDACTIVATE, _) | (INFORMANDACTIVATE, _) => {
            return Err(WireError::Unsupported { type_: p.type_ })
        }
        (t, _) => {
            return Err(WireError::Invalid(format!(
                "unknown quorum packet type {t}"
            )))
        }
    })
}

fn fixed_int(data: &[u8], what: &'static str) -> Result<i32, WireError> {
    let mut r = Reader::new(data);
    let v = r.i32(what)?;
    r.end(what)?;
    Ok(v)
}

/// `LearnerHandler.run`: sid from the first 8 bytes, protocol version from
/// the next 4 if present, config version from the next 8 if present.
fn learner_info(data: Option<&Bytes>) -> Result<LearnerInfo, WireError> {
    let data = data.ok_or_else(|| WireError::Invalid("learner info is null".into()))?;
    let mut r = Reader::new(data);
    let serverid = r.i64("LearnerInfo serverid")?;
    let protocol_version = if r.remaining() >= 4 {
        r.i32("LearnerInfo protocolVersion")?
    } else {
        LEGACY_LEARNER_PROTOCOL_VERSION
    };
    let config_version = if r.remaining() >= 8 {
        r.i64("LearnerInfo configVersion")?
    } else {
        0
    };
    r.end("LearnerInfo")?;
    Ok(LearnerInfo {
        serverid,
        protocol_version,
        config_version,
    })
}

fn txn_packet(data: Option<&Bytes>, what: &str) -> Result<TxnPacket, WireError> {
    let data = data.ok_or_else(|| WireError::Invalid(format!("{what} without a txn")))?;
    let (txn, digest) =
        decode_txn(data.clone()).map_err(|e| WireError::Invalid(format!("{what}: {e}")))?;
    Ok(TxnPacket { txn, digest })
}

/// Appends `p` as ZooKeeper writes it: null data as −1, and an empty
/// authinfo as null (−1) except in REQUEST (see the module docs).
pub fn write_packet(p: &QuorumPacket, buf: &mut BytesMut) {
    buf.put_i32(p.type_);
    buf.put_i64(p.zxid);
    p.data.write(buf);
    if p.authinfo.is_empty() && p.type_ != REQUEST {
        buf.put_i32(-1);
    } else {
        p.authinfo.write(buf);
    }
}

/// Appends `msg` as ZooKeeper would write its packet.
pub fn encode_message(msg: &ZabMessage, buf: &mut BytesMut) {
    write_packet(&to_packet(msg), buf);
}

/// Parses one packet from the start of `buf` without consuming anything:
/// `Ok(None)` if the bytes so far are a valid beginning but not a whole
/// packet; else the packet and its encoded length. Every length is checked
/// against `max_packet_bytes` (the whole packet's bound) before waiting for
/// its bytes, so garbage fails at once instead of stalling the stream.
pub fn parse_packet(
    buf: &[u8],
    max_packet_bytes: usize,
) -> Result<Option<(QuorumPacket, usize)>, WireError> {
    match parse_complete(buf, max_packet_bytes) {
        Ok(v) => Ok(Some(v)),
        Err(WireError::Truncated { .. }) => Ok(None),
        Err(e) => Err(e),
    }
}

fn parse_complete(buf: &[u8], max: usize) -> Result<(QuorumPacket, usize), WireError> {
    let mut r = Reader::new(buf);
    let type_ = r.i32("packet type")?;
    let zxid = r.i64("packet zxid")?;
    let data = r
        .buffer("packet data", left(&r, max, 4)?)?
        .map(Bytes::copy_from_slice);
    let count = r.i32("packet authinfo count")?;
    let mut authinfo = Vec::new();
    if count != -1 {
        // Each Id takes at least two 4-byte lengths.
        if count < 0 || count as usize > left(&r, max, 0)? / 8 {
            return Err(WireError::BadLength {
                what: "packet authinfo count",
                len: i64::from(count),
                max: left(&r, max, 0)? / 8,
            });
        }
        for _ in 0..count {
            let scheme = r.string("authinfo scheme", left(&r, max, 4)?)?;
            let id = r.string("authinfo id", left(&r, max, 4)?)?;
            authinfo.push(Id { scheme, id });
        }
    }
    let packet = QuorumPacket {
        type_,
        zxid,
        data,
        authinfo,
    };
    Ok((packet, r.pos()))
}

/// How many bytes of the packet bound are left after the reader's position
/// and a `prefix` still to read.
fn left(r: &Reader<'_>, max: usize, prefix: usize) -> Result<usize, WireError> {
    max.checked_sub(r.pos() + prefix)
        .ok_or(WireError::BadLength {
            what: "quorum packet",
            len: (r.pos() + prefix) as i64,
            max,
        })
}

/// Takes one whole packet off the front of `buf` (see [`parse_packet`]).
pub fn decode_packet(
    buf: &mut BytesMut,
    max_packet_bytes: usize,
) -> Result<Option<QuorumPacket>, WireError> {
    match parse_packet(buf, max_packet_bytes)? {
        None => Ok(None),
        Some((p, used)) => {
            buf.advance(used);
            Ok(Some(p))
        }
    }
}

/// `tokio_util` codec for the quorum port: raw consecutive `QuorumPacket`s.
/// After a SNAP packet the stream carries a snapshot, not packets: switch
/// to [`super::snap_stream::SnapStreamDecoder`] on the same buffer.
#[derive(Debug, Clone, Copy)]
pub struct QuorumPacketCodec {
    pub max_packet_bytes: usize,
}

impl Default for QuorumPacketCodec {
    fn default() -> Self {
        QuorumPacketCodec {
            max_packet_bytes: DEFAULT_MAX_PACKET_BYTES,
        }
    }
}

impl tokio_util::codec::Decoder for QuorumPacketCodec {
    type Item = QuorumPacket;
    type Error = std::io::Error;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<QuorumPacket>, std::io::Error> {
        Ok(decode_packet(src, self.max_packet_bytes)?)
    }
}

impl tokio_util::codec::Encoder<&QuorumPacket> for QuorumPacketCodec {
    type Error = std::io::Error;

    fn encode(&mut self, p: &QuorumPacket, dst: &mut BytesMut) -> Result<(), std::io::Error> {
        write_packet(p, dst);
        Ok(())
    }
}

impl tokio_util::codec::Encoder<&ZabMessage> for QuorumPacketCodec {
    type Error = std::io::Error;

    fn encode(&mut self, m: &ZabMessage, dst: &mut BytesMut) -> Result<(), std::io::Error> {
        encode_message(m, dst);
        Ok(())
    }
}

#[cfg(test)]
#[path = "packet_tests.rs"]
mod tests;
