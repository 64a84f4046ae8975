//! FastLeaderElection notifications as bytes: the payload of one election
//! port message (the `int length` prefix belongs to the connection layer).
//!
//! Sent (`FastLeaderElection.buildMsg`, 44 bytes + config):
//!
//! ```text
//! int  state          QuorumPeer.ServerState ordinal
//! long leader         proposed leader's sid
//! long zxid           proposed zxid
//! long electionEpoch  logical clock
//! long peerEpoch      proposed epoch
//! int  version        0x2
//! int  configLen      then configLen bytes: QuorumVerifier.toString()
//! ```
//!
//! Received as `Messenger.WorkerReceiver` (3.8.0) reads it, by total size:
//! below 28 dropped; exactly 28 the legacy form without peerEpoch (which is
//! then `zxid >> 32`), version 0; exactly 40 with peerEpoch, version 0; any
//! other size reads peerEpoch and version, and when version > 1 a config
//! whose length must be within what is left (ZooKeeper: `0 ≤ len ≤
//! capacity`, then a buffer underflow) — here also within a named bound.
//! So 29–39 and 41–43 bytes are malformed (underflow in ZooKeeper); with
//! version ≤ 1 bytes after the version are ignored. An unknown state is
//! dropped by ZooKeeper; here it is an error.

use super::reader::Reader;
use super::WireError;
use crate::quorum::types::{epoch_of, Notification, ServerState, Vote};
use bytes::{BufMut, Bytes, BytesMut};

/// The legacy notification without peerEpoch and version.
pub const LEGACY_28_LEN: usize = 28;
/// The pre-reconfig notification with peerEpoch, without version.
pub const LEGACY_40_LEN: usize = 40;
/// The fixed part of the current form, before the config bytes.
pub const HEADER_LEN: usize = 44;
/// Default bound on the config text in a notification: the election
/// port's `QuorumCnxManager.PACKETMAXSIZE` (512 KiB) bounds the whole message.
pub const DEFAULT_MAX_CONFIG_BYTES: usize = 512 * 1024;

/// Encodes `n` as `buildMsg` does: 44 bytes then the config. `n.version` is
/// written as given (`NOTIFICATION_VERSION` for what we send); the config is
/// written even for version ≤ 1, as ZooKeeper's receiver then ignores it.
pub fn encode_notification(n: &Notification) -> Bytes {
    let mut b = BytesMut::with_capacity(HEADER_LEN + n.config.len());
    b.put_i32(n.state as i32);
    b.put_i64(n.vote.leader);
    b.put_i64(n.vote.zxid);
    b.put_i64(n.vote.election_epoch);
    b.put_i64(n.vote.peer_epoch);
    b.put_i32(n.version);
    b.put_i32(n.config.len() as i32);
    b.put_slice(&n.config);
    b.freeze()
}

/// Decodes one notification payload as ZooKeeper 3.8.0's receiver accepts
/// it (see the module docs), with the config bounded by `max_config_bytes`.
pub fn decode_notification(msg: &[u8], max_config_bytes: usize) -> Result<Notification, WireError> {
    if msg.len() < LEGACY_28_LEN {
        return Err(WireError::Truncated {
            what: "notification",
            need: LEGACY_28_LEN,
            have: msg.len(),
        });
    }
    let mut r = Reader::new(msg);
    let state_raw = r.i32("notification state")?;
    let leader = r.i64("notification leader")?;
    let zxid = r.i64("notification zxid")?;
    let election_epoch = r.i64("notification electionEpoch")?;
    let mut version = 0;
    let mut config = Bytes::new();
    let peer_epoch = if msg.len() == LEGACY_28_LEN {
        epoch_of(zxid)
    } else {
        let peer_epoch = r.i64("notification peerEpoch")?;
        if msg.len() != LEGACY_40_LEN {
            version = r.i32("notification version")?;
            if version > 1 {
                let len = r.i32("notification configLen")?;
                if len < 0 || len as usize > r.remaining() || len as usize > max_config_bytes {
                    return Err(WireError::BadLength {
                        what: "notification config",
                        len: i64::from(len),
                        max: r.remaining().min(max_config_bytes),
                    });
                }
                config = Bytes::copy_from_slice(r.take(len as usize, "notification config")?);
            }
        }
        peer_epoch
    };
    let state = ServerState::from_i32(state_raw)
        .ok_or_else(|| WireError::Invalid(format!("notification state {state_raw} is unknown")))?;
    Ok(Notification {
        state,
        vote: Vote {
            leader,
            zxid,
            election_epoch,
            peer_epoch,
        },
        version,
        config,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::quorum::types::NOTIFICATION_VERSION;
    use proptest::prelude::*;

    fn sample() -> Notification {
        Notification {
            state: ServerState::Following,
            vote: Vote {
                leader: 2,
                zxid: 0x1_0000_0003,
                election_epoch: 5,
                peer_epoch: 1,
            },
            version: NOTIFICATION_VERSION,
            config: Bytes::from_static(b"server.1=127.0.0.1:1:2:participant\nversion=0"),
        }
    }

    #[test]
    fn layout_is_build_msg() {
        let n = sample();
        let b = encode_notification(&n);
        assert_eq!(b.len(), 44 + n.config.len());
        assert_eq!(&b[0..4], &1i32.to_be_bytes());
        assert_eq!(&b[4..12], &2i64.to_be_bytes());
        assert_eq!(&b[12..20], &0x1_0000_0003i64.to_be_bytes());
        assert_eq!(&b[20..28], &5i64.to_be_bytes());
        assert_eq!(&b[28..36], &1i64.to_be_bytes());
        assert_eq!(&b[36..40], &2i32.to_be_bytes());
        assert_eq!(&b[40..44], &(n.config.len() as i32).to_be_bytes());
        assert_eq!(&b[44..], &n.config[..]);
        assert_eq!(
            decode_notification(&b, DEFAULT_MAX_CONFIG_BYTES).unwrap(),
            n
        );
    }

    #[test]
    fn legacy_forms() {
        let b = encode_notification(&sample());
        // 28 bytes: peerEpoch from the zxid, version 0, no config.
        let n = decode_notification(&b[..28], DEFAULT_MAX_CONFIG_BYTES).unwrap();
        assert_eq!(n.vote.peer_epoch, 1);
        assert_eq!((n.version, n.config.len()), (0, 0));
        let mut odd = BytesMut::from(&b[..28]);
        odd[12..20].copy_from_slice(&0x7_0000_0001i64.to_be_bytes());
        assert_eq!(decode_notification(&odd, 100).unwrap().vote.peer_epoch, 7);
        // 40 bytes: peerEpoch as sent, version 0.
        let n = decode_notification(&b[..40], DEFAULT_MAX_CONFIG_BYTES).unwrap();
        assert_eq!((n.vote.peer_epoch, n.version), (1, 0));
        // 44 bytes with version 0 or 1: no config read, the rest ignored.
        let mut v1 = BytesMut::from(&b[..]);
        v1[36..40].copy_from_slice(&1i32.to_be_bytes());
        let n = decode_notification(&v1, DEFAULT_MAX_CONFIG_BYTES).unwrap();
        assert_eq!((n.version, n.config.len()), (1, 0));
    }

    #[test]
    fn malformed_sizes_and_lengths() {
        let b = encode_notification(&sample());
        for len in (0..28).chain(29..40).chain(41..44) {
            assert!(
                decode_notification(&b[..len], 1 << 20).is_err(),
                "{len} bytes"
            );
        }
        // version 2 but no room for configLen, or config cut short.
        assert!(decode_notification(&b[..44], 1 << 20).is_err());
        assert!(decode_notification(&b[..b.len() - 1], 1 << 20).is_err());
        // negative and over-bound config lengths.
        let mut neg = BytesMut::from(&b[..]);
        neg[40..44].copy_from_slice(&(-1i32).to_be_bytes());
        assert!(decode_notification(&neg, 1 << 20).is_err());
        assert!(matches!(
            decode_notification(&b, 3),
            Err(WireError::BadLength { .. })
        ));
        let mut state = BytesMut::from(&b[..]);
        state[0..4].copy_from_slice(&4i32.to_be_bytes());
        assert!(matches!(
            decode_notification(&state, 1 << 20),
            Err(WireError::Invalid(_))
        ));
    }

    fn any_state() -> impl Strategy<Value = ServerState> {
        (0i32..4).prop_map(|v| ServerState::from_i32(v).unwrap())
    }

    proptest! {
        #[test]
        fn round_trip(state in any_state(), leader: i64, zxid: i64, ee: i64, pe: i64,
                      version in 2i32..100, config in proptest::collection::vec(any::<u8>(), 0..200)) {
            let n = Notification {
                state,
                vote: Vote { leader, zxid, election_epoch: ee, peer_epoch: pe },
                version,
                config: Bytes::from(config),
            };
            prop_assert_eq!(decode_notification(&encode_notification(&n), 1 << 20).unwrap(), n);
        }

        #[test]
        fn garbage_never_panics(bytes in proptest::collection::vec(any::<u8>(), 0..120)) {
            let _ = decode_notification(&bytes, 64);
        }
    }
}
