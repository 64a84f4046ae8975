//! `module org.apache.zookeeper.server.quorum`: the peer protocol's records.

use crate::data::Id;
use crate::jute_record;
use bytes::Bytes;

jute_record!(LearnerInfo {
    serverid: i64,
    protocol_version: i32,
    config_version: i64
});
jute_record!(QuorumPacket { type_: i32, zxid: i64, data: Option<Bytes>, authinfo: Vec<Id> });
jute_record!(QuorumAuthPacket { magic: i64, status: i32, token: Option<Bytes> });
