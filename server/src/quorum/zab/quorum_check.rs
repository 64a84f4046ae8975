//! What a quorum is, as far as Zab needs to know. The real verifier
//! (`QuorumMaj`, hierarchical) implements [`QuorumCheck`]; [`Majority`] is
//! the plain majority of voters, for tests and simple ensembles.

use crate::quorum::types::Sid;
use std::collections::BTreeSet;

/// `QuorumVerifier` as Zab uses it.
pub trait QuorumCheck: Send {
    /// Does `sids` contain a quorum of voters? Non-voters in it do not count.
    fn contains_quorum(&self, sids: &BTreeSet<Sid>) -> bool;
    /// Is `sid` a voting member (participant)?
    fn is_voter(&self, sid: Sid) -> bool;
}

/// More than half of a fixed voter set (`QuorumMaj`).
#[derive(Debug, Clone)]
pub struct Majority {
    pub voters: BTreeSet<Sid>,
}

impl Majority {
    pub fn new(voters: impl IntoIterator<Item = Sid>) -> Majority {
        Majority {
            voters: voters.into_iter().collect(),
        }
    }
}

impl QuorumCheck for Majority {
    fn contains_quorum(&self, sids: &BTreeSet<Sid>) -> bool {
        let n = sids.iter().filter(|s| self.voters.contains(s)).count();
        n * 2 > self.voters.len()
    }

    fn is_voter(&self, sid: Sid) -> bool {
        self.voters.contains(&sid)
    }
}
