//! Unit tests of the Zab roles against ZooKeeper 3.8.0's behaviour, one
//! rule each (the seeded ensemble simulation is `tests/zab_sim.rs`).

use super::*;
use crate::core::txn::{Txn, TxnBody};
use crate::quorum::types::{make_zxid, LearnerType, Sid, TxnPacket, ZabMessage};
use bytes::Bytes;
use jute::quorum::LearnerInfo;
use jute::txn::{SetDataTxn, TxnHeader};

fn txn(zxid: i64) -> TxnPacket {
    TxnPacket {
        txn: Txn {
            header: TxnHeader {
                client_id: 1,
                cxid: 1,
                zxid,
                time: 0,
                type_: 5,
            },
            body: TxnBody::SetData(SetDataTxn {
                path: "/a".into(),
                data: None,
                version: -1,
            }),
        },
        digest: None,
    }
}

fn log_of(zxids: &[i64], last: i64) -> CommittedLog {
    CommittedLog::new(500, zxids.iter().map(|&z| txn(z)).collect(), last)
}

fn kinds(msgs: &[ZabMessage]) -> Vec<String> {
    msgs.iter()
        .map(|m| match m {
            ZabMessage::Diff { zxid } => format!("DIFF {zxid:x}"),
            ZabMessage::Trunc { zxid } => format!("TRUNC {zxid:x}"),
            ZabMessage::Proposal(p) => format!("PROPOSAL {:x}", p.txn.header.zxid),
            ZabMessage::Commit { zxid } => format!("COMMIT {zxid:x}"),
            other => format!("{other:?}"),
        })
        .collect()
}

#[test]
fn sync_in_step_is_an_empty_diff() {
    let e = make_zxid(1, 0);
    let plan = sync_plan(e + 3, &log_of(&[e + 1, e + 2, e + 3], e + 3));
    assert!(!plan.snap);
    assert_eq!(kinds(&plan.packets), ["DIFF 100000003"]);
}

#[test]
fn sync_inside_the_committed_log_is_a_diff_with_pairs() {
    let e = make_zxid(1, 0);
    let plan = sync_plan(e + 1, &log_of(&[e + 1, e + 2, e + 3], e + 3));
    assert_eq!(
        kinds(&plan.packets),
        [
            "DIFF 100000003",
            "PROPOSAL 100000002",
            "COMMIT 100000002",
            "PROPOSAL 100000003",
            "COMMIT 100000003"
        ]
    );
    assert_eq!(plan.current_zxid, e + 3);
}

#[test]
fn a_peer_past_the_log_is_truncated() {
    let e = make_zxid(1, 0);
    let plan = sync_plan(e + 9, &log_of(&[e + 1, e + 2], e + 2));
    assert_eq!(kinds(&plan.packets), ["TRUNC 100000002"]);
    assert_eq!(plan.current_zxid, e + 2);
}

#[test]
fn a_peer_with_a_proposal_we_lack_gets_trunc_then_pairs() {
    // Log 1:1, 1:2, 2:1; the peer has 1:3 (never committed): TRUNC to 1:2
    // would cross an epoch, so ZooKeeper falls back to SNAP; with 1:1, 1:2,
    // 1:4 and the peer at 1:3 it is TRUNC 1:2 + the pair for 1:4.
    let e1 = make_zxid(1, 0);
    let plan = sync_plan(e1 + 3, &log_of(&[e1 + 1, e1 + 2, e1 + 4], e1 + 4));
    assert_eq!(
        kinds(&plan.packets),
        ["TRUNC 100000002", "PROPOSAL 100000004", "COMMIT 100000004"]
    );
    let e2 = make_zxid(2, 0);
    let plan = sync_plan(e1 + 3, &log_of(&[e1 + 1, e1 + 2, e2 + 1], e2 + 1));
    assert!(plan.snap);
}

#[test]
fn a_peer_before_the_log_gets_a_snapshot() {
    let e = make_zxid(1, 0);
    let plan = sync_plan(e + 1, &log_of(&[e + 5, e + 6], e + 6));
    assert!(plan.snap);
    assert_eq!(plan.current_zxid, e + 6);
}

#[test]
fn a_new_epoch_zxid_peer_gets_a_diff_not_a_trunc() {
    let plan = sync_plan(
        make_zxid(3, 0),
        &log_of(&[make_zxid(2, 1)], make_zxid(2, 1)),
    );
    assert!(plan.snap, "below the log's range: SNAP, as 3.8.0");
    let plan = sync_plan(
        make_zxid(2, 0),
        &log_of(&[make_zxid(2, 1)], make_zxid(2, 1)),
    );
    assert!(plan.snap);
    let plan = sync_plan(
        make_zxid(2, 0),
        &log_of(&[make_zxid(1, 7), make_zxid(2, 1)], make_zxid(2, 1)),
    );
    assert_eq!(
        kinds(&plan.packets),
        ["DIFF 200000001", "PROPOSAL 200000001", "COMMIT 200000001"]
    );
}

fn cfg() -> ZabConfig {
    ZabConfig {
        tick_time_ms: 100,
        init_limit_ticks: 10,
        sync_limit_ticks: 5,
        commit_log_count: 500,
    }
}

fn info(sid: Sid) -> LearnerInfo {
    LearnerInfo {
        serverid: sid,
        protocol_version: 0x10000,
        config_version: 0,
    }
}

fn leader(accepted: i64, current: i64, last: i64, out: &mut Vec<Output>) -> Leader {
    Leader::new(
        cfg(),
        1,
        Box::new(Majority::new([1, 2, 3])),
        LeaderInit {
            accepted_epoch: accepted,
            current_epoch: current,
            last_zxid: last,
            committed_log: Vec::new(),
            quorum_config: Bytes::from_static(b"v"),
        },
        0,
        out,
    )
}

fn recv(l: &mut Leader, from: Sid, msg: ZabMessage) -> Vec<Output> {
    let mut out = Vec::new();
    l.handle(1, Input::Received { from, msg }, &mut out);
    out
}

/// A 3-node leader through discovery and sync with follower 2.
fn established() -> Leader {
    let mut out = Vec::new();
    let mut l = leader(4, 4, make_zxid(4, 2), &mut out);
    l.handle(0, Input::PeerConnected { sid: 2 }, &mut out);
    let out = recv(
        &mut l,
        2,
        ZabMessage::FollowerInfo {
            accepted_epoch: 4,
            info: info(2),
        },
    );
    assert_eq!(
        out[0],
        Output::WriteAcceptedEpoch(5),
        "max(accepted)+1, written first"
    );
    assert!(matches!(
        out[1],
        Output::Send {
            to: 2,
            msg: ZabMessage::LeaderInfo { new_epoch: 5, .. }
        }
    ));
    let out = recv(
        &mut l,
        2,
        ZabMessage::AckEpoch {
            last_logged_zxid: make_zxid(4, 2),
            current_epoch: 4,
        },
    );
    assert_eq!(out[0], Output::WriteCurrentEpoch(5));
    assert!(out.iter().any(|o| matches!(o, Output::Send { msg: ZabMessage::NewLeader { zxid, .. }, .. } if *zxid == make_zxid(5, 0))));
    let out = recv(
        &mut l,
        2,
        ZabMessage::Ack {
            zxid: make_zxid(5, 0),
        },
    );
    assert_eq!(out[0], Output::Established { epoch: 5 });
    assert_eq!(
        out[1],
        Output::Send {
            to: 2,
            msg: ZabMessage::UpToDate
        }
    );
    l
}

#[test]
fn leader_establishes_and_commits_on_a_quorum_of_acks() {
    let mut l = established();
    let mut out = Vec::new();
    let z = make_zxid(5, 1);
    l.handle(2, Input::Propose(txn(z)), &mut out);
    assert!(out.contains(&Output::Send {
        to: 2,
        msg: ZabMessage::Proposal(txn(z))
    }));
    assert!(out.contains(&Output::Persist(txn(z))));
    out.clear();
    l.handle(3, Input::Persisted { zxid: z }, &mut out);
    assert!(out.is_empty(), "the leader alone is no quorum of 3");
    let out = recv(&mut l, 2, ZabMessage::Ack { zxid: z });
    assert_eq!(out[0], Output::Commit { zxid: z });
    assert_eq!(
        out[1],
        Output::Send {
            to: 2,
            msg: ZabMessage::Commit { zxid: z }
        }
    );
}

#[test]
fn leader_answers_sync_after_the_proposals_before_it_commit() {
    let mut l = established();
    let mut out = Vec::new();
    let z = make_zxid(5, 1);
    l.handle(2, Input::Propose(txn(z)), &mut out);
    out.clear();
    l.handle(2, Input::ProcessSync { from: 2 }, &mut out);
    assert!(out.is_empty(), "a proposal is outstanding");
    l.handle(3, Input::Persisted { zxid: z }, &mut out);
    let out = recv(&mut l, 2, ZabMessage::Ack { zxid: z });
    assert_eq!(
        out.last(),
        Some(&Output::Send {
            to: 2,
            msg: ZabMessage::Sync
        })
    );
    let mut out = Vec::new();
    l.handle(4, Input::ProcessSync { from: 2 }, &mut out);
    assert_eq!(
        out,
        [Output::Send {
            to: 2,
            msg: ZabMessage::Sync
        }]
    );
}

#[test]
fn leader_abandons_when_the_counter_would_roll_over() {
    let mut l = established();
    let mut out = Vec::new();
    l.handle(2, Input::Propose(txn(make_zxid(5, 0xffff_ffff))), &mut out);
    assert!(matches!(&out[..], [Output::Abandon { reason }] if reason.contains("rolled over")));
    assert_eq!(l.phase(), LeaderPhase::Abandoned);
}

#[test]
fn leader_abandons_when_a_follower_is_ahead() {
    let mut out = Vec::new();
    let mut l = leader(4, 4, make_zxid(4, 2), &mut out);
    l.handle(0, Input::PeerConnected { sid: 2 }, &mut out);
    recv(
        &mut l,
        2,
        ZabMessage::FollowerInfo {
            accepted_epoch: 4,
            info: info(2),
        },
    );
    let out = recv(
        &mut l,
        2,
        ZabMessage::AckEpoch {
            last_logged_zxid: make_zxid(4, 3),
            current_epoch: 4,
        },
    );
    assert!(matches!(&out[..], [Output::Abandon { reason }] if reason.contains("ahead")));
}

#[test]
fn leader_times_out_without_a_quorum_and_when_the_quorum_goes_silent() {
    let mut out = Vec::new();
    let mut l = leader(0, 0, 0, &mut out);
    l.handle(999, Input::Tick, &mut out);
    assert!(out.is_empty());
    l.handle(1001, Input::Tick, &mut out);
    assert!(matches!(&out[..], [Output::Abandon { .. }]));

    let mut l = established();
    let mut out = Vec::new();
    l.handle(60, Input::Tick, &mut out);
    assert!(out.iter().any(|o| matches!(
        o,
        Output::Send {
            to: 2,
            msg: ZabMessage::Ping { .. }
        }
    )));
    out.clear();
    l.handle(600, Input::Tick, &mut out);
    assert_eq!(
        out[0],
        Output::Close { sid: 2 },
        "silent for more than syncLimit"
    );
    assert!(matches!(out[1], Output::Abandon { .. }));
}

#[test]
fn observers_get_inform_and_do_not_count() {
    let mut out = Vec::new();
    let mut l = Leader::new(
        cfg(),
        1,
        Box::new(Majority::new([1, 2, 3])),
        LeaderInit {
            accepted_epoch: 0,
            current_epoch: 0,
            last_zxid: 0,
            committed_log: Vec::new(),
            quorum_config: Bytes::new(),
        },
        0,
        &mut out,
    );
    for sid in [2, 4] {
        l.handle(0, Input::PeerConnected { sid }, &mut out);
    }
    recv(
        &mut l,
        4,
        ZabMessage::ObserverInfo {
            accepted_epoch: 0,
            info: info(4),
        },
    );
    let out = recv(
        &mut l,
        2,
        ZabMessage::FollowerInfo {
            accepted_epoch: 0,
            info: info(2),
        },
    );
    assert!(out.iter().any(|o| matches!(
        o,
        Output::Send {
            to: 4,
            msg: ZabMessage::LeaderInfo { .. }
        }
    )));
    recv(
        &mut l,
        4,
        ZabMessage::AckEpoch {
            last_logged_zxid: 0,
            current_epoch: 0,
        },
    );
    recv(
        &mut l,
        2,
        ZabMessage::AckEpoch {
            last_logged_zxid: 0,
            current_epoch: 0,
        },
    );
    let out = recv(
        &mut l,
        4,
        ZabMessage::Ack {
            zxid: make_zxid(1, 0),
        },
    );
    assert!(
        !out.iter().any(|o| matches!(o, Output::Established { .. })),
        "observer acks do not count"
    );
    let out = recv(
        &mut l,
        2,
        ZabMessage::Ack {
            zxid: make_zxid(1, 0),
        },
    );
    assert!(out.contains(&Output::Established { epoch: 1 }));
    assert!(out.contains(&Output::Send {
        to: 4,
        msg: ZabMessage::UpToDate
    }));
    let z = make_zxid(1, 1);
    let mut out = Vec::new();
    l.handle(2, Input::Propose(txn(z)), &mut out);
    assert!(!out.iter().any(|o| matches!(o, Output::Send { to: 4, .. })));
    l.handle(2, Input::Persisted { zxid: z }, &mut out);
    recv(&mut l, 4, ZabMessage::Ack { zxid: z });
    let out = recv(&mut l, 2, ZabMessage::Ack { zxid: z });
    assert!(out.contains(&Output::Send {
        to: 4,
        msg: ZabMessage::Inform(txn(z))
    }));
}

fn learner(accepted: i64, current: i64, last: i64) -> Learner {
    Learner::new(
        cfg(),
        2,
        1,
        LearnerType::Participant,
        LearnerInit {
            accepted_epoch: accepted,
            current_epoch: current,
            last_logged_zxid: last,
            config_version: 0,
        },
        0,
    )
}

fn lrecv(l: &mut Learner, msg: ZabMessage) -> Vec<Output> {
    let mut out = Vec::new();
    l.handle(1, Input::Received { from: 1, msg }, &mut out);
    out
}

#[test]
fn learner_acks_an_epoch_as_3_8_0() {
    let mut l = learner(3, 3, make_zxid(3, 7));
    let mut out = Vec::new();
    l.handle(0, Input::PeerConnected { sid: 1 }, &mut out);
    assert!(matches!(
        &out[..],
        [Output::Send {
            to: 1,
            msg: ZabMessage::FollowerInfo {
                accepted_epoch: 3,
                ..
            }
        }]
    ));
    let out = lrecv(
        &mut l,
        ZabMessage::LeaderInfo {
            new_epoch: 4,
            protocol_version: 0x10000,
        },
    );
    assert_eq!(
        out[0],
        Output::WriteAcceptedEpoch(4),
        "written before ACKEPOCH leaves"
    );
    assert_eq!(
        out[1],
        Output::Send {
            to: 1,
            msg: ZabMessage::AckEpoch {
                last_logged_zxid: make_zxid(3, 7),
                current_epoch: 3
            }
        }
    );

    let mut l = learner(4, 3, 0);
    l.handle(0, Input::PeerConnected { sid: 1 }, &mut Vec::new());
    let out = lrecv(
        &mut l,
        ZabMessage::LeaderInfo {
            new_epoch: 4,
            protocol_version: 0x10000,
        },
    );
    assert_eq!(
        out,
        [Output::Send {
            to: 1,
            msg: ZabMessage::AckEpoch {
                last_logged_zxid: 0,
                current_epoch: -1
            }
        }]
    );

    let mut l = learner(5, 3, 0);
    l.handle(0, Input::PeerConnected { sid: 1 }, &mut Vec::new());
    let out = lrecv(
        &mut l,
        ZabMessage::LeaderInfo {
            new_epoch: 4,
            protocol_version: 0x10000,
        },
    );
    assert!(
        matches!(&out[..], [Output::Abandon { reason }] if reason.contains("less than accepted epoch"))
    );
}

#[test]
fn learner_syncs_by_diff_and_acks_newleader_only_when_durable() {
    let e = make_zxid(4, 0);
    let mut l = learner(3, 3, make_zxid(3, 1));
    l.handle(0, Input::PeerConnected { sid: 1 }, &mut Vec::new());
    lrecv(
        &mut l,
        ZabMessage::LeaderInfo {
            new_epoch: 4,
            protocol_version: 0x10000,
        },
    );
    lrecv(
        &mut l,
        ZabMessage::Diff {
            zxid: make_zxid(3, 2),
        },
    );
    assert!(lrecv(&mut l, ZabMessage::Proposal(txn(make_zxid(3, 2)))).is_empty());
    assert!(lrecv(
        &mut l,
        ZabMessage::Commit {
            zxid: make_zxid(3, 2)
        }
    )
    .is_empty());
    let out = lrecv(
        &mut l,
        ZabMessage::NewLeader {
            zxid: e,
            config: Bytes::new(),
        },
    );
    assert_eq!(
        out,
        [Output::Persist(txn(make_zxid(3, 2)))],
        "currentEpoch waits for the sync's txns to be durable"
    );
    let mut out = Vec::new();
    l.handle(
        2,
        Input::Persisted {
            zxid: make_zxid(3, 2),
        },
        &mut out,
    );
    // Once durable: currentEpoch, the NEWLEADER ACK, then (as 3.8.0's
    // SendAckRequestProcessor) the ACKs of what was logged.
    assert_eq!(
        out,
        [
            Output::WriteCurrentEpoch(4),
            Output::Send {
                to: 1,
                msg: ZabMessage::Ack { zxid: e }
            },
            Output::Send {
                to: 1,
                msg: ZabMessage::Ack {
                    zxid: make_zxid(3, 2)
                }
            }
        ]
    );
    let out = lrecv(&mut l, ZabMessage::UpToDate);
    assert_eq!(
        out[0],
        Output::Deliver(txn(make_zxid(3, 2))),
        "committed txns apply at UPTODATE"
    );
    assert_eq!(out[1], Output::Serving { epoch: 4 });
    assert_eq!(
        out[2],
        Output::Send {
            to: 1,
            msg: ZabMessage::Ack { zxid: e }
        }
    );
    // Broadcast: ACK once durable, deliver on COMMIT, PING asks for touches.
    let out = lrecv(&mut l, ZabMessage::Proposal(txn(e + 1)));
    assert_eq!(out, [Output::Persist(txn(e + 1))]);
    let mut out = Vec::new();
    l.handle(3, Input::Persisted { zxid: e + 1 }, &mut out);
    assert_eq!(
        out,
        [Output::Send {
            to: 1,
            msg: ZabMessage::Ack { zxid: e + 1 }
        }]
    );
    assert_eq!(
        lrecv(&mut l, ZabMessage::Commit { zxid: e + 1 }),
        [Output::Deliver(txn(e + 1))]
    );
    assert_eq!(
        lrecv(&mut l, ZabMessage::Ping { zxid: e + 1 }),
        [Output::ReportTouches { zxid: e + 1 }]
    );
    assert_eq!(lrecv(&mut l, ZabMessage::Sync), [Output::SyncDone]);
}

#[test]
fn learner_truncates_on_trunc_and_abandons_a_silent_leader() {
    let mut l = learner(3, 3, make_zxid(3, 9));
    l.handle(0, Input::PeerConnected { sid: 1 }, &mut Vec::new());
    lrecv(
        &mut l,
        ZabMessage::LeaderInfo {
            new_epoch: 4,
            protocol_version: 0x10000,
        },
    );
    let out = lrecv(
        &mut l,
        ZabMessage::Trunc {
            zxid: make_zxid(3, 5),
        },
    );
    assert_eq!(
        out,
        [Output::Truncate {
            zxid: make_zxid(3, 5)
        }]
    );
    assert_eq!(l.last_logged(), make_zxid(3, 5));
    let mut out = Vec::new();
    l.handle(1000, Input::Tick, &mut out);
    assert!(out.is_empty(), "initLimit (1000 ms) during sync");
    l.handle(1002, Input::Tick, &mut out);
    assert!(matches!(&out[..], [Output::Abandon { .. }]));
}

#[test]
fn sync_matches_a_running_3_8_0_leader() {
    // Seen in a 3.8.0 ensemble's log: "Synchronizing with Learner sid: 1
    // maxCommittedLog=0x10000000e minCommittedLog=0x100000001
    // lastProcessedZxid=0x10000000e peerLastZxid=0x100000007" → "Sending
    // DIFF zxid=0x10000000e"; on a fresh ensemble "peerLastZxid=0x0" →
    // "Sending DIFF zxid=0x0".
    let e = make_zxid(1, 0);
    let zxids: Vec<i64> = (1..=0xe).map(|c| e + c).collect();
    let plan = sync_plan(e + 7, &log_of(&zxids, e + 0xe));
    assert_eq!(plan.packets[0], ZabMessage::Diff { zxid: e + 0xe });
    assert_eq!(plan.packets.len(), 1 + 2 * 7, "pairs for 0x8..=0xe");
    assert_eq!(plan.packets[1], ZabMessage::Proposal(txn(e + 8)));
    let plan = sync_plan(0, &log_of(&[], 0));
    assert_eq!(plan.packets, [ZabMessage::Diff { zxid: 0 }]);
}
