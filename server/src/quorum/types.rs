//! The vocabulary the ensemble's layers share. Names are ZooKeeper's
//! (`QuorumPeer.ServerState`, `Vote`, `FastLeaderElection.Notification`,
//! `Leader`'s packet types). Pure data: no I/O, no codecs (see `wire`).

use crate::core::txn::Txn;
use bytes::Bytes;
use jute::data::Id;
use jute::quorum::LearnerInfo;
use jute::txn::TxnDigest;

/// A server id: the `N` of `server.N`, the contents of `myid`.
pub type Sid = i64;

/// The protocol version learners and leaders exchange (`0x10000`).
pub const ZAB_PROTOCOL_VERSION: i32 = 0x10000;

/// The notification format version this build sends (`0x2`, with config).
pub const NOTIFICATION_VERSION: i32 = 0x2;

/// The epoch part of a zxid.
pub fn epoch_of(zxid: i64) -> i64 {
    zxid >> 32
}

/// The counter part of a zxid.
pub fn counter_of(zxid: i64) -> i64 {
    zxid & 0xffff_ffff
}

/// `ZxidUtils.makeZxid`.
pub fn make_zxid(epoch: i64, counter: i64) -> i64 {
    (epoch << 32) | (counter & 0xffff_ffff)
}

/// `QuorumPeer.ServerState`, with its wire ordinal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ServerState {
    Looking = 0,
    Following = 1,
    Leading = 2,
    Observing = 3,
}

impl ServerState {
    pub fn from_i32(v: i32) -> Option<ServerState> {
        Some(match v {
            0 => ServerState::Looking,
            1 => ServerState::Following,
            2 => ServerState::Leading,
            3 => ServerState::Observing,
            _ => return None,
        })
    }

    /// As `srvr`/`mntr` print it (`zk_server_state`).
    pub fn mode_name(self) -> &'static str {
        match self {
            ServerState::Looking => "looking",
            ServerState::Following => "follower",
            ServerState::Leading => "leader",
            ServerState::Observing => "observer",
        }
    }
}

/// `QuorumPeer.LearnerType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum LearnerType {
    Participant,
    Observer,
}

/// A vote (`Vote.java`): whom the sender proposes as leader, and that
/// candidate's last zxid and epoch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Vote {
    pub leader: Sid,
    pub zxid: i64,
    pub election_epoch: i64,
    pub peer_epoch: i64,
}

/// One FastLeaderElection notification as received or sent. The sender's
/// sid is not in the message: it is the sid of the connection it came on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notification {
    /// The sender's state.
    pub state: ServerState,
    pub vote: Vote,
    /// 0x0 for the 28/40-byte legacy forms, else as sent (0x2 today).
    pub version: i32,
    /// The sender's last seen quorum config (`QuorumVerifier.toString()`),
    /// empty in legacy forms.
    pub config: Bytes,
}

/// A txn as a PROPOSAL or INFORM carries it: `TxnHeader`, record, and the
/// tree digest after it when the sender has `digest.enabled`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxnPacket {
    pub txn: Txn,
    pub digest: Option<TxnDigest>,
}

/// A session's entry in a learner's PING reply (touch table) or REVALIDATE.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionTouch {
    pub session_id: i64,
    pub timeout_ms: i32,
}

/// A client request a learner forwards to the leader (REQUEST).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ForwardedRequest {
    pub session_id: i64,
    pub cxid: i32,
    /// The request's op code (`ZooDefs.OpCode`), incl. createSession (-10),
    /// closeSession (-11) and sync (9).
    pub op: i32,
    /// The request record's bytes as the client sent them (after the
    /// request header); for createSession, the session timeout as an int.
    pub request: Bytes,
    pub auth: Vec<Id>,
}

/// A Zab message between leader and learner: one `QuorumPacket` on the
/// quorum port, typed. `wire::packet` maps each variant to its packet type,
/// zxid field and data bytes as Apache ZooKeeper 3.8 writes them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZabMessage {
    /// 11: learner → leader; zxid = acceptedEpoch << 32.
    FollowerInfo {
        accepted_epoch: i64,
        info: LearnerInfo,
    },
    /// 16: as FOLLOWERINFO, from an observer.
    ObserverInfo {
        accepted_epoch: i64,
        info: LearnerInfo,
    },
    /// 17: leader → learner; zxid = newEpoch << 32, data = protocol version.
    LeaderInfo {
        new_epoch: i64,
        protocol_version: i32,
    },
    /// 18: learner → leader; zxid = last logged zxid, data = the learner's
    /// current epoch, or -1 when it had already accepted this epoch.
    AckEpoch {
        last_logged_zxid: i64,
        current_epoch: i32,
    },
    /// 13: sync by the proposals (PROPOSAL + COMMIT pairs) that follow;
    /// zxid = the last zxid they bring the learner to.
    Diff { zxid: i64 },
    /// 14: truncate the log after `zxid`.
    Trunc { zxid: i64 },
    /// 15: a snapshot follows on the stream (not inside a packet);
    /// zxid = the snapshot's last zxid.
    Snap { zxid: i64 },
    /// 10: end of sync; zxid = newEpoch << 32, data = quorum config text.
    NewLeader { zxid: i64, config: Bytes },
    /// 12: the learner may serve clients.
    UpToDate,
    /// 2: leader → follower.
    Proposal(TxnPacket),
    /// 3: follower → leader (also acknowledges NEWLEADER).
    Ack { zxid: i64 },
    /// 4: leader → follower.
    Commit { zxid: i64 },
    /// 8: leader → observer: a committed txn with its data.
    Inform(TxnPacket),
    /// 5 from the leader: heartbeat, zxid = last proposed.
    Ping { zxid: i64 },
    /// 5 from a learner: the reply, with its touch table.
    PingReply {
        zxid: i64,
        touches: Vec<SessionTouch>,
    },
    /// 1: learner → leader.
    Request(ForwardedRequest),
    /// 6 learner → leader: may this session (re)connect here?
    Revalidate { session_id: i64, timeout_ms: i32 },
    /// 6 leader → learner: the answer.
    RevalidateReply { session_id: i64, valid: bool },
    /// 7 leader → learner: a forwarded sync is through.
    Sync,
}
