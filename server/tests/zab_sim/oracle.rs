//! The election, replaced by an oracle: among a quorum of reachable, up,
//! LOOKING voters, the one with the highest (currentEpoch, last logged zxid,
//! sid) leads — FastLeaderElection's vote order, without its messages.
//! Replaceable: the real FLE state machine can stand behind the same trait.

use zk_server::quorum::types::Sid;

/// What the oracle knows of a LOOKING voter.
#[derive(Debug, Clone, Copy)]
pub struct Candidate {
    pub sid: Sid,
    pub current_epoch: i64,
    pub last_zxid: i64,
}

pub trait ElectionOracle {
    /// Picks the leader among `candidates` (a quorum of reachable voters).
    fn elect(&mut self, candidates: &[Candidate]) -> Option<Sid>;
}

/// FastLeaderElection's total order on votes.
pub struct MaxVote;

impl ElectionOracle for MaxVote {
    fn elect(&mut self, candidates: &[Candidate]) -> Option<Sid> {
        candidates
            .iter()
            .max_by_key(|c| (c.current_epoch, c.last_zxid, c.sid))
            .map(|c| c.sid)
    }
}
