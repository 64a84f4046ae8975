//! One-peer scenarios, each against a rule of `lookForLeader` or
//! `WorkerReceiver`.

use super::*;

fn vote(leader: Sid, zxid: i64, ee: i64, pe: i64) -> Vote {
    Vote {
        leader,
        zxid,
        election_epoch: ee,
        peer_epoch: pe,
    }
}

fn note(state: ServerState, v: Vote) -> Notification {
    Notification {
        state,
        vote: v,
        version: NOTIFICATION_VERSION,
        config: Bytes::new(),
    }
}

fn looking(v: Vote) -> Notification {
    note(ServerState::Looking, v)
}

/// Peer `sid` of 3 voters (+ `observers`), started at zxid/epoch.
fn peer(
    sid: Sid,
    voters: usize,
    observers: usize,
    zxid: i64,
    epoch: i64,
) -> (Election, Vec<ElectionOutput>) {
    let qv = QuorumVerifier::local(voters, observers);
    let lt = if qv.is_voter(sid) {
        LearnerType::Participant
    } else {
        LearnerType::Observer
    };
    let mut e = Election::new(sid, lt, qv);
    let mut out = Vec::new();
    e.start(0, zxid, epoch, &mut out);
    (e, out)
}

fn recv(e: &mut Election, now: u64, from: Sid, n: Notification) -> Vec<ElectionOutput> {
    let mut out = Vec::new();
    e.handle(now, ElectionInput::Received { from, n }, &mut out);
    out
}

fn tick(e: &mut Election, now: u64, have_delivered: bool) -> Vec<ElectionOutput> {
    let mut out = Vec::new();
    e.handle(now, ElectionInput::Tick { have_delivered }, &mut out);
    out
}

fn sends(out: &[ElectionOutput]) -> Vec<(Sid, ServerState, Vote)> {
    out.iter()
        .filter_map(|o| match o {
            ElectionOutput::Send { to, n } => Some((*to, n.state, n.vote)),
            _ => None,
        })
        .collect()
}

fn decided(out: &[ElectionOutput]) -> Option<(ServerState, Vote)> {
    out.iter().find_map(|o| match o {
        ElectionOutput::Decided { state, vote } => Some((*state, *vote)),
        _ => None,
    })
}

#[test]
fn start_votes_for_self_to_every_voter_with_config() {
    let (e, out) = peer(2, 3, 1, 0x1_0000_0005, 1);
    let s = sends(&out);
    assert_eq!(
        s.iter().map(|x| x.0).collect::<Vec<_>>(),
        [1, 2, 3],
        "voters only, self included"
    );
    for (_, state, v) in &s {
        assert_eq!(*state, ServerState::Looking);
        assert_eq!(*v, vote(2, 0x1_0000_0005, 1, 1));
    }
    match &out[0] {
        ElectionOutput::Send { n, .. } => {
            assert_eq!(n.version, 2);
            assert_eq!(n.config, Bytes::from(e.verifier().config_text()));
        }
        o => panic!("{o:?}"),
    }
    assert_eq!(e.logical_clock(), 1);
}

#[test]
fn total_order_epoch_then_zxid_then_sid() {
    let (mut e, _) = peer(1, 3, 0, 100, 2);
    // Higher zxid but lower epoch: no change, no notifications.
    assert!(sends(&recv(&mut e, 1, 2, looking(vote(2, 999, 1, 1)))).is_empty());
    // Same epoch, same zxid, higher sid: adopt and tell everyone.
    let s = sends(&recv(&mut e, 2, 3, looking(vote(3, 100, 1, 2))));
    assert_eq!(s.len(), 3);
    assert_eq!(e.proposal(), vote(3, 100, 1, 2));
    // Higher epoch wins over higher zxid.
    recv(&mut e, 3, 2, looking(vote(2, 50, 1, 3)));
    assert_eq!(e.proposal(), vote(2, 50, 1, 3));
}

#[test]
fn newer_round_resets_and_older_round_is_answered() {
    let (mut e, _) = peer(3, 3, 0, 10, 1);
    // Round 5 proposes a worse vote: I move to round 5 but keep my own.
    let s = sends(&recv(&mut e, 1, 1, looking(vote(1, 5, 5, 1))));
    assert_eq!(e.logical_clock(), 5);
    assert_eq!(e.proposal(), vote(3, 10, 5, 1));
    assert_eq!(s.len(), 3, "the new round is announced");
    // A peer still in round 2 gets my proposal back and is not counted.
    let s = sends(&recv(&mut e, 2, 2, looking(vote(3, 10, 2, 1))));
    assert_eq!(s, [(2, ServerState::Looking, vote(3, 10, 5, 1))]);
    assert!(decided(&tick(&mut e, 10_000, true)).is_none());
}

#[test]
fn finalize_wait_then_decide_and_better_vote_reopens() {
    let (mut e, _) = peer(3, 3, 0, 10, 1);
    recv(&mut e, 0, 3, looking(vote(3, 10, 1, 1)));
    recv(&mut e, 10, 1, looking(vote(3, 10, 1, 1)));
    // Quorum {1,3}: wait finalizeWait.
    assert_eq!(e.next_deadline_ms(), Some(210));
    assert!(decided(&tick(&mut e, 209, true)).is_none());
    // A worse vote during the wait is consumed and restarts it.
    recv(&mut e, 100, 2, looking(vote(2, 9, 1, 1)));
    assert!(decided(&tick(&mut e, 250, true)).is_none());
    assert_eq!(
        decided(&tick(&mut e, 300, true)),
        Some((ServerState::Leading, vote(3, 10, 1, 1)))
    );
    assert_eq!(e.state(), ServerState::Leading);

    let (mut f, _) = peer(1, 3, 0, 10, 1);
    recv(&mut f, 0, 1, looking(vote(1, 10, 1, 1)));
    recv(&mut f, 0, 2, looking(vote(1, 10, 1, 1)));
    assert!(f.next_deadline_ms() == Some(200));
    // A better vote reopens the round: it is processed and adopted.
    recv(&mut f, 50, 3, looking(vote(3, 11, 1, 1)));
    assert_eq!(f.proposal(), vote(3, 11, 1, 1));
    assert!(decided(&tick(&mut f, 300, true)).is_none());
}

#[test]
fn joins_established_leader_from_another_round() {
    let (mut e, _) = peer(3, 3, 0, 0, 0);
    let f = |ee| note(ServerState::Following, vote(1, 0x1_0000_0000, ee, 1));
    let l = |ee| note(ServerState::Leading, vote(1, 0x1_0000_0000, ee, 1));
    // A FOLLOWING peer of round 7 alone is not enough.
    assert!(decided(&recv(&mut e, 0, 2, f(7))).is_none());
    // The leader says it leads: a quorum {1,2} + checkLeader.
    let out = recv(&mut e, 1, 1, l(7));
    assert_eq!(
        decided(&out),
        Some((ServerState::Following, vote(1, 0x1_0000_0000, 7, 1)))
    );
    assert_eq!(e.logical_clock(), 7, "adopts the leader's round");
    // Now out of the election: a LOOKING peer gets my current vote.
    let s = sends(&recv(&mut e, 5, 2, looking(vote(2, 0, 8, 0))));
    assert_eq!(
        s,
        [(2, ServerState::Following, vote(1, 0x1_0000_0000, 7, 1))]
    );
    // Non-looking peers get no answer.
    assert!(recv(&mut e, 6, 2, f(7)).is_empty());
}

#[test]
fn established_epoch_reaches_looking_peers_and_lets_a_restarted_peer_join() {
    // Follower 1 decided on leader 3 in round 7 with peer epoch 1; the new
    // epoch 2 is established (`updateElectionVote`).
    let (mut f, _) = peer(1, 3, 0, 0x1_0000_0005, 1);
    recv(
        &mut f,
        0,
        3,
        note(ServerState::Leading, vote(3, 0x1_0000_0005, 7, 1)),
    );
    recv(
        &mut f,
        0,
        2,
        note(ServerState::Following, vote(3, 0x1_0000_0005, 7, 1)),
    );
    assert_eq!(f.state(), ServerState::Following);
    f.update_election_vote(2);
    let s = sends(&recv(&mut f, 5, 2, looking(vote(2, 0, 1, 0))));
    assert_eq!(
        s,
        [(2, ServerState::Following, vote(3, 0x1_0000_0005, 7, 2))]
    );
    // A restarted peer hears the follower and the leader (whose vote also
    // carries epoch 2, as Apache's does): the same vote, so it joins. With
    // the follower's stale epoch 1 the two would differ and it would not.
    let (mut r, _) = peer(2, 3, 0, 0, 0);
    let follower = note(ServerState::Following, vote(3, 0x1_0000_0005, 7, 2));
    let leader = note(ServerState::Leading, vote(3, 0x1_0000_0005, 7, 2));
    assert!(decided(&recv(&mut r, 10, 1, follower)).is_none());
    assert_eq!(
        decided(&recv(&mut r, 11, 3, leader)),
        Some((ServerState::Following, vote(3, 0x1_0000_0005, 7, 2)))
    );
    let (mut stale, _) = peer(2, 3, 0, 0, 0);
    let old = note(ServerState::Following, vote(3, 0x1_0000_0005, 7, 1));
    recv(&mut stale, 10, 1, old);
    let leader = note(ServerState::Leading, vote(3, 0x1_0000_0005, 7, 2));
    assert!(decided(&recv(&mut stale, 11, 3, leader)).is_none());
}

#[test]
fn crashed_leader_is_not_rejoined() {
    // Two FOLLOWING peers name 1, but 1 never says LEADING: keep looking.
    let (mut e, _) = peer(3, 5, 0, 0, 0);
    for from in [2, 4, 5] {
        let out = recv(
            &mut e,
            0,
            from,
            note(ServerState::Following, vote(1, 0, 4, 1)),
        );
        assert!(decided(&out).is_none());
    }
}

#[test]
fn observer_learns_leader_and_is_answered_but_never_counted() {
    let (mut o, out) = peer(4, 3, 1, 7, 1);
    assert_eq!(sends(&out)[0].2, vote(i64::MIN, i64::MIN, 1, i64::MIN));
    let l = note(ServerState::Leading, vote(3, 7, 1, 1));
    let f = note(ServerState::Following, vote(3, 7, 1, 1));
    assert!(decided(&recv(&mut o, 0, 3, l)).is_none());
    assert_eq!(
        decided(&recv(&mut o, 1, 1, f)),
        Some((ServerState::Observing, vote(3, 7, 1, 1)))
    );

    // A voter answers the observer right away and never counts it.
    let (mut v, _) = peer(1, 3, 1, 7, 1);
    let s = sends(&recv(
        &mut v,
        0,
        4,
        looking(vote(i64::MIN, i64::MIN, 1, i64::MIN)),
    ));
    assert_eq!(s, [(4, ServerState::Looking, vote(1, 7, 1, 1))]);
    // Votes naming the observer as leader are ignored.
    recv(&mut v, 0, 1, looking(vote(1, 7, 1, 1)));
    recv(&mut v, 0, 2, looking(vote(4, 99, 1, 9)));
    assert_eq!(v.proposal(), vote(1, 7, 1, 1));
    // Strangers (not in the config) are answered as observers are, ignored.
    let s = sends(&recv(&mut v, 0, 42, looking(vote(42, 99, 9, 9))));
    assert_eq!(s.len(), 1);
    assert_eq!(v.logical_clock(), 1);
}

#[test]
fn notification_timeout_backs_off_and_asks_to_connect() {
    let timing = ElectionTiming {
        max_notification_interval_ms: 1000,
        ..ElectionTiming::default()
    };
    let mut e = Election::with_timing(
        1,
        LearnerType::Participant,
        QuorumVerifier::local(3, 0),
        timing,
    );
    let mut out = Vec::new();
    e.start(0, 0, 0, &mut out);
    let mut now = 0;
    let mut waits = Vec::new();
    for i in 0..6 {
        let d = e.next_deadline_ms().unwrap();
        waits.push(d - now);
        assert!(tick(&mut e, d - 1, true).is_empty());
        let out = tick(&mut e, d, i % 2 == 0);
        if i % 2 == 0 {
            assert_eq!(sends(&out).len(), 3, "re-send my vote");
        } else {
            assert_eq!(out, [ElectionOutput::ConnectAll]);
        }
        now = d;
    }
    assert_eq!(waits, [200, 400, 800, 1000, 1000, 1000]);
}

#[test]
fn minus_one_zxid_is_ignored() {
    let (mut e, _) = peer(1, 3, 0, 5, 0);
    recv(&mut e, 0, 3, looking(vote(3, -1, 1, 0)));
    assert_eq!(e.proposal().leader, 1);
    let (mut z, _) = peer(1, 3, 0, -1, 0);
    recv(&mut z, 0, 3, looking(vote(3, 5, 1, 0)));
    assert_eq!(
        z.proposal().leader,
        1,
        "a peer at zxid -1 ignores LOOKING votes"
    );
}

#[test]
fn even_ensemble_needs_three_of_four() {
    let (mut e, _) = peer(4, 4, 0, 0, 0);
    let v = vote(4, 0, 1, 0);
    recv(&mut e, 0, 4, looking(v));
    recv(&mut e, 0, 1, looking(v));
    // 2 of 4 is no quorum: the poll times out and the vote is re-sent.
    let out = tick(&mut e, 200, true);
    assert!(decided(&out).is_none() && sends(&out).len() == 4);
    recv(&mut e, 300, 2, looking(v));
    assert_eq!(e.next_deadline_ms(), Some(500), "3 of 4: finalizeWait");
    assert!(decided(&tick(&mut e, 499, true)).is_none());
    assert_eq!(
        decided(&tick(&mut e, 500, true)),
        Some((ServerState::Leading, v))
    );
}
