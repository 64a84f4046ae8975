//! Each route of the member, driven by hand-made inputs.

use super::*;
use crate::core::{CoreConfig, Input, Output};
use crate::quorum::election::ElectionTiming;
use crate::quorum::types::{Notification, Vote, ZabMessage, NOTIFICATION_VERSION};
use crate::quorum::verifier::QuorumVerifier;
use crate::quorum::zab::ZabConfig;
use jute::proto::ConnectRequest;
use jute::quorum::LearnerInfo;
use std::net::{IpAddr, Ipv4Addr};

fn cfg(sid: Sid, voters: usize) -> PeerConfig {
    PeerConfig {
        my_sid: sid,
        learner_type: LearnerType::Participant,
        verifier: QuorumVerifier::local(voters, 0),
        zab: ZabConfig {
            tick_time_ms: 100,
            init_limit_ticks: 10,
            sync_limit_ticks: 5,
            commit_log_count: 10,
        },
        election: ElectionTiming::default(),
        core: CoreConfig {
            server_id: sid,
            ..CoreConfig::default()
        },
    }
}

fn connect_frame() -> Bytes {
    jute::to_bytes(&ConnectRequest {
        protocol_version: 0,
        last_zxid_seen: 0,
        time_out: 30_000,
        session_id: 0,
        passwd: Some(Bytes::from_static(&[0; 16])),
        read_only: Some(false),
    })
}

fn open(p: &mut Peer, now: u64, conn: u64, out: &mut Vec<PeerOutput>) {
    let peer = IpAddr::V4(Ipv4Addr::LOCALHOST);
    p.handle(now, PeerInput::Client(Input::Open { conn, peer }), out);
    let frame = connect_frame();
    p.handle(now, PeerInput::Client(Input::Frame { conn, frame }), out);
}

fn looking_vote(leader: Sid) -> Notification {
    Notification {
        state: ServerState::Looking,
        vote: Vote {
            leader,
            zxid: 0,
            election_epoch: 1,
            peer_epoch: 0,
        },
        version: NOTIFICATION_VERSION,
        config: Bytes::new(),
    }
}

/// Elects `leader` among three voters from `me`'s point of view.
fn elect(p: &mut Peer, leader: Sid, out: &mut Vec<PeerOutput>) {
    for from in [1, 2, 3] {
        if from != p.my_sid() {
            let n = looking_vote(leader);
            p.handle(0, PeerInput::Notification { from, n }, out);
        }
    }
    p.handle(
        1_000,
        PeerInput::Tick {
            have_delivered: true,
        },
        out,
    );
}

#[test]
fn a_lone_voter_leads_and_answers_clients_after_the_commit() {
    let mut out = Vec::new();
    let mut p = Peer::new(cfg(1, 1), 0, 0, Loaded::default(), 0, &mut out);
    p.handle(
        1_000,
        PeerInput::Tick {
            have_delivered: true,
        },
        &mut out,
    );
    assert_eq!(p.state(), ServerState::Leading);
    assert!(out.contains(&PeerOutput::WriteAcceptedEpoch(1)));
    assert!(out.contains(&PeerOutput::WriteCurrentEpoch(1)));
    assert!(out.contains(&PeerOutput::ServeClients(true)));
    assert_eq!(p.established_epoch(), Some(1));
    out.clear();
    open(&mut p, 1_000, 7, &mut out);
    // The createSession txn is proposed and logged; no reply yet.
    let zxid = match &out[..] {
        [PeerOutput::Persist(t)] => t.txn.header.zxid,
        other => panic!("expected one Persist, got {other:?}"),
    };
    assert_eq!(zxid, 1 << 32 | 1);
    out.clear();
    p.handle(1_001, PeerInput::Persisted { zxid }, &mut out);
    assert!(matches!(
        &out[..],
        [PeerOutput::Client(Output::Send { conn: 7, .. })]
    ));
    assert_eq!(p.server().tree().last_processed_zxid, zxid);
    assert_eq!(p.committed_log().count(), 1);
}

#[test]
fn clients_are_refused_while_looking() {
    let mut out = Vec::new();
    let mut p = Peer::new(cfg(1, 3), 0, 0, Loaded::default(), 0, &mut out);
    // The first round: my vote to the two others, none to myself.
    let notified: Vec<Sid> = out
        .iter()
        .filter_map(|o| match o {
            PeerOutput::Notify { to, .. } => Some(*to),
            _ => None,
        })
        .collect();
    assert_eq!(notified, vec![2, 3]);
    out.clear();
    open(&mut p, 10, 1, &mut out);
    assert!(matches!(
        &out[..],
        [PeerOutput::Client(Output::Close { conn: 1, .. })]
    ));
}

#[test]
fn a_follower_syncs_serves_forwards_and_goes_back_to_looking() {
    let mut out = Vec::new();
    let mut p = Peer::new(cfg(1, 3), 0, 0, Loaded::default(), 0, &mut out);
    out.clear();
    elect(&mut p, 3, &mut out);
    assert_eq!(p.state(), ServerState::Following);
    assert!(out.contains(&PeerOutput::ConnectToLeader { sid: 3 }));
    out.clear();
    p.handle(1_000, PeerInput::QuorumConnected { sid: 3 }, &mut out);
    assert!(matches!(
        &out[..],
        [PeerOutput::ZabSend {
            to: 3,
            msg: ZabMessage::FollowerInfo {
                accepted_epoch: 0,
                ..
            }
        }]
    ));
    out.clear();
    let leader_info = ZabMessage::LeaderInfo {
        new_epoch: 1,
        protocol_version: crate::quorum::types::ZAB_PROTOCOL_VERSION,
    };
    for msg in [
        leader_info,
        ZabMessage::Diff { zxid: 0 },
        ZabMessage::NewLeader {
            zxid: 1 << 32,
            config: Bytes::new(),
        },
        ZabMessage::UpToDate,
    ] {
        p.handle(1_001, PeerInput::Zab { from: 3, msg }, &mut out);
    }
    assert_eq!(p.accepted_epoch(), 1);
    assert_eq!(p.current_epoch(), 1);
    let pos = |x: &PeerOutput| out.iter().position(|o| o == x).expect("emitted");
    assert!(pos(&PeerOutput::WriteCurrentEpoch(1)) < pos(&PeerOutput::ServeClients(true)));
    out.clear();
    // A new session is forwarded to the leader...
    open(&mut p, 1_002, 9, &mut out);
    let req = match &out[..] {
        [PeerOutput::ZabSend {
            to: 3,
            msg: ZabMessage::Request(r),
        }] => r.clone(),
        other => panic!("expected a REQUEST, got {other:?}"),
    };
    out.clear();
    // ...and answered when its txn is committed.
    let txn = crate::core::txn::Txn {
        header: jute::txn::TxnHeader {
            client_id: req.session_id,
            cxid: 0,
            zxid: 1 << 32 | 1,
            time: 1_002,
            type_: req.op,
        },
        body: crate::core::txn::TxnBody::CreateSession(jute::txn::CreateSessionTxn {
            time_out: 30_000,
        }),
    };
    let packet = TxnPacket { txn, digest: None };
    p.handle(
        1_003,
        PeerInput::Zab {
            from: 3,
            msg: ZabMessage::Proposal(packet.clone()),
        },
        &mut out,
    );
    assert_eq!(out, vec![PeerOutput::Persist(packet)]);
    out.clear();
    p.handle(1_004, PeerInput::Persisted { zxid: 1 << 32 | 1 }, &mut out);
    p.handle(
        1_004,
        PeerInput::Zab {
            from: 3,
            msg: ZabMessage::Commit { zxid: 1 << 32 | 1 },
        },
        &mut out,
    );
    assert!(out
        .iter()
        .any(|o| matches!(o, PeerOutput::Client(Output::Send { conn: 9, .. }))));
    out.clear();
    // A PING is answered with the touch table.
    p.handle(
        1_005,
        PeerInput::Zab {
            from: 3,
            msg: ZabMessage::Ping { zxid: 5 },
        },
        &mut out,
    );
    assert!(matches!(
        &out[..],
        [PeerOutput::ZabSend { to: 3, msg: ZabMessage::PingReply { zxid: 5, touches } }] if touches.len() == 1
    ));
    out.clear();
    // The leader goes away: clients closed, history reloaded, new round.
    p.handle(1_006, PeerInput::QuorumDisconnected { sid: 3 }, &mut out);
    assert_eq!(p.state(), ServerState::Looking);
    assert!(out.contains(&PeerOutput::ServeClients(false)));
    assert!(out
        .iter()
        .any(|o| matches!(o, PeerOutput::Client(Output::Close { conn: 9, .. }))));
    assert_eq!(out.last(), Some(&PeerOutput::Reload));
    out.clear();
    let loaded = Loaded {
        snapshot: None,
        txns: p.committed_log().cloned().collect(),
    };
    p.handle(1_007, PeerInput::Reloaded(loaded), &mut out);
    assert!(p.election().is_looking());
    assert_eq!(p.election().logical_clock(), 2);
    assert!(out
        .iter()
        .any(|o| matches!(o, PeerOutput::Notify { to: 2, n } if n.vote.zxid == 1 << 32 | 1)));
}

#[test]
fn a_leader_proposes_forwarded_writes_and_commits_on_a_quorum() {
    let mut out = Vec::new();
    let mut p = Peer::new(cfg(3, 3), 0, 0, Loaded::default(), 0, &mut out);
    elect(&mut p, 3, &mut out);
    assert_eq!(p.state(), ServerState::Leading);
    out.clear();
    let info = LearnerInfo {
        serverid: 1,
        protocol_version: crate::quorum::types::ZAB_PROTOCOL_VERSION,
        config_version: 0,
    };
    p.handle(1_000, PeerInput::QuorumConnected { sid: 1 }, &mut out);
    let fi = ZabMessage::FollowerInfo {
        accepted_epoch: 0,
        info,
    };
    p.handle(1_000, PeerInput::Zab { from: 1, msg: fi }, &mut out);
    assert!(out.contains(&PeerOutput::WriteAcceptedEpoch(1)));
    let ack_epoch = ZabMessage::AckEpoch {
        last_logged_zxid: 0,
        current_epoch: 0,
    };
    p.handle(
        1_001,
        PeerInput::Zab {
            from: 1,
            msg: ack_epoch,
        },
        &mut out,
    );
    p.handle(
        1_002,
        PeerInput::Zab {
            from: 1,
            msg: ZabMessage::Ack { zxid: 1 << 32 },
        },
        &mut out,
    );
    assert_eq!(p.established_epoch(), Some(1));
    assert!(out.contains(&PeerOutput::ServeClients(true)));
    out.clear();
    // Follower 1 forwards a createSession: proposed, logged, sent.
    let req = crate::quorum::types::ForwardedRequest {
        session_id: 0x0100_0000_0000_0001,
        cxid: 0,
        op: -10,
        request: Bytes::copy_from_slice(&30_000i32.to_be_bytes()),
        auth: vec![],
    };
    p.handle(
        1_003,
        PeerInput::Zab {
            from: 1,
            msg: ZabMessage::Request(req),
        },
        &mut out,
    );
    let zxid = 1 << 32 | 1;
    assert!(out
        .iter()
        .any(|o| matches!(o, PeerOutput::Persist(t) if t.txn.header.zxid == zxid)));
    assert!(out.iter().any(|o| matches!(
        o,
        PeerOutput::ZabSend {
            to: 1,
            msg: ZabMessage::Proposal(_)
        }
    )));
    out.clear();
    p.handle(1_004, PeerInput::Persisted { zxid }, &mut out);
    assert!(out.is_empty(), "one ack is not a quorum of three");
    p.handle(
        1_004,
        PeerInput::Zab {
            from: 1,
            msg: ZabMessage::Ack { zxid },
        },
        &mut out,
    );
    assert!(out.contains(&PeerOutput::ZabSend {
        to: 1,
        msg: ZabMessage::Commit { zxid }
    }));
    assert_eq!(p.server().tree().last_processed_zxid, zxid);
    assert_eq!(
        p.server().session_timeouts(),
        vec![(0x0100_0000_0000_0001, 30_000)]
    );
}
