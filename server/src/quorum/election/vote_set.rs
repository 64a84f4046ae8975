//! The votes one election round has seen, and the quorum test over them
//! (`FastLeaderElection`'s `recvset`/`outofelection` maps,
//! `getVoteTracker` + `SyncedLearnerTracker.hasAllQuorums`, `checkLeader`).
//!
//! Invariants:
//! - At most one entry per sender sid, and only voters are ever inserted
//!   (the caller drops non-voters first), so a set holds at most as many
//!   entries as the configuration has voters.
//! - Equality between recorded votes is `Vote.equals` of 3.8.0, which is
//!   not plain field equality: see [`ElectionVote::matches`].

use crate::quorum::types::{ServerState, Sid, Vote};
use crate::quorum::verifier::QuorumVerifier;
use std::collections::BTreeMap;

/// Apache's `Vote` with the two fields our shared [`Vote`] leaves out: the
/// state of the peer that cast it and the notification format version.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElectionVote {
    pub vote: Vote,
    pub state: ServerState,
    /// 0 unless recorded with the notification's version (Apache records
    /// `recvset` entries without it, `outofelection` entries with it).
    pub version: i32,
}

impl ElectionVote {
    pub fn looking(vote: Vote) -> ElectionVote {
        ElectionVote {
            vote,
            state: ServerState::Looking,
            version: 0,
        }
    }

    /// `Vote.equals`: when either side is LOOKING, leader, zxid, election
    /// epoch and peer epoch must all agree. Between two votes of peers out
    /// of the election, zxid and election epoch are skipped; the peer
    /// epoch is compared only when both or neither carry a version (a
    /// mixed pre-3.4.6 ensemble compares leaders only).
    pub fn matches(&self, other: &ElectionVote) -> bool {
        let (a, b) = (&self.vote, &other.vote);
        if self.state == ServerState::Looking || other.state == ServerState::Looking {
            a.leader == b.leader
                && a.zxid == b.zxid
                && a.election_epoch == b.election_epoch
                && a.peer_epoch == b.peer_epoch
        } else if (self.version > 0) != (other.version > 0) {
            a.leader == b.leader
        } else {
            a.leader == b.leader && a.peer_epoch == b.peer_epoch
        }
    }
}

/// One map of sender sid → latest vote.
#[derive(Debug, Clone, Default)]
pub struct VoteSet {
    votes: BTreeMap<Sid, ElectionVote>,
}

impl VoteSet {
    pub fn clear(&mut self) {
        self.votes.clear();
    }

    pub fn put(&mut self, from: Sid, vote: ElectionVote) {
        self.votes.insert(from, vote);
    }

    pub fn get(&self, sid: Sid) -> Option<&ElectionVote> {
        self.votes.get(&sid)
    }

    pub fn len(&self) -> usize {
        self.votes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.votes.is_empty()
    }

    /// Do the voters whose vote matches `vote` form a quorum?
    pub fn has_quorum(&self, verifier: &QuorumVerifier, vote: &ElectionVote) -> bool {
        let acks: Vec<Sid> = self
            .votes
            .iter()
            .filter(|(_, v)| vote.matches(v))
            .map(|(sid, _)| *sid)
            .collect();
        verifier.contains_quorum(&acks)
    }

    /// `checkLeader`: a leader other than me must itself have said it is
    /// LEADING; if the leader is me, the round must be my current one.
    /// This keeps peers from electing, over and over, a leader that has
    /// crashed.
    pub fn check_leader(
        &self,
        my_sid: Sid,
        logical_clock: i64,
        leader: Sid,
        election_epoch: i64,
    ) -> bool {
        if leader != my_sid {
            self.votes
                .get(&leader)
                .is_some_and(|v| v.state == ServerState::Leading)
        } else {
            logical_clock == election_epoch
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn v(leader: Sid, zxid: i64, ee: i64, pe: i64) -> Vote {
        Vote {
            leader,
            zxid,
            election_epoch: ee,
            peer_epoch: pe,
        }
    }

    #[test]
    fn vote_equality_is_apaches() {
        let looking = ElectionVote::looking(v(3, 5, 1, 1));
        assert!(looking.matches(&ElectionVote::looking(v(3, 5, 1, 1))));
        assert!(!looking.matches(&ElectionVote::looking(v(3, 5, 2, 1))));
        let following = |ee, zxid, pe, version| ElectionVote {
            vote: v(3, zxid, ee, pe),
            state: ServerState::Following,
            version,
        };
        // LOOKING on one side: full comparison, even against FOLLOWING.
        assert!(looking.matches(&following(1, 5, 1, 0)));
        assert!(!looking.matches(&following(2, 5, 1, 2)));
        // Both out of election, same version class: leader + peer epoch.
        assert!(following(1, 5, 1, 2).matches(&following(9, 7, 1, 2)));
        assert!(!following(1, 5, 1, 2).matches(&following(1, 5, 2, 2)));
        // Mixed version classes: leader only.
        assert!(following(1, 5, 1, 0).matches(&following(1, 5, 9, 2)));
    }

    #[test]
    fn quorum_and_check_leader() {
        let qv = QuorumVerifier::local(4, 1);
        let mut set = VoteSet::default();
        let want = ElectionVote::looking(v(4, 0, 1, 0));
        set.put(1, want);
        set.put(2, want);
        set.put(3, ElectionVote::looking(v(3, 0, 1, 0)));
        assert!(!set.has_quorum(&qv, &want), "2 of 4 is not a quorum");
        set.put(4, want);
        assert!(set.has_quorum(&qv, &want), "3 of 4 is");
        assert!(!set.check_leader(1, 1, 4, 1), "4 never said LEADING");
        set.put(
            4,
            ElectionVote {
                vote: v(4, 0, 1, 0),
                state: ServerState::Leading,
                version: 2,
            },
        );
        assert!(set.check_leader(1, 1, 4, 1));
        assert!(set.check_leader(4, 1, 4, 1));
        assert!(!set.check_leader(4, 2, 4, 1), "me, but another round");
    }
}
