//! Who votes and what a quorum is: Apache ZooKeeper's `QuorumMaj`.
//!
//! Invariants:
//! - A set of sids is a quorum iff it holds strictly more than half of the
//!   voting members (`size > voters / 2`, integer division): 3 voters need
//!   2, 4 need 3, 2 need 2. Sids that are not voters never count (the
//!   caller's acks are filtered through [`QuorumVerifier::is_voter`], as
//!   `SyncedLearnerTracker.addAck` does).
//! - [`QuorumVerifier::config_text`] is byte for byte what 3.8.0's
//!   `QuorumMaj.toString()` returns: one `server.N=<QuorumServer>\n` per
//!   member in Java `HashMap<Long, _>` iteration order, then
//!   `version=<hex>` with no trailing newline. Every notification and
//!   NEWLEADER carries it, and `/zookeeper/config` shows it.
//!
//! Out of scope: hierarchical quorums (`group.x`/`weight.x`,
//! `QuorumHierarchical`), the two-node oracle (`QuorumOracleMaj`), and
//! dynamic reconfiguration (a "next" config); a config with those keys is
//! for the config layer to refuse. With several addresses per server,
//! 3.8.0 sorts them by address; we keep the `zoo.cfg` order (unverified
//! against the reference).

use crate::config::ensemble::QuorumServer;
use crate::quorum::types::{LearnerType, Sid};
use std::collections::BTreeMap;

/// One member as the verifier keeps it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Member {
    pub sid: Sid,
    pub learner_type: LearnerType,
    /// The `server.N` value as `QuorumServer.toString()` renders it.
    pub text: String,
}

/// `QuorumMaj`: the members of one configuration and its version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumVerifier {
    members: BTreeMap<Sid, Member>,
    voters: usize,
    /// The configuration's version (a zxid under reconfig; 0 when none).
    version: i64,
}

impl QuorumVerifier {
    /// Builds the verifier from the parsed `server.N` lines.
    pub fn new(servers: &[QuorumServer], version: i64) -> QuorumVerifier {
        let mut members = BTreeMap::new();
        for s in servers {
            let sid = s.id as Sid;
            let learner_type = if s.observer {
                LearnerType::Observer
            } else {
                LearnerType::Participant
            };
            members.insert(
                sid,
                Member {
                    sid,
                    learner_type,
                    text: server_text(s),
                },
            );
        }
        Self::from_members(members.into_values(), version)
    }

    /// Builds the verifier from members directly (tests and simulations).
    pub fn from_members(members: impl IntoIterator<Item = Member>, version: i64) -> QuorumVerifier {
        let members: BTreeMap<Sid, Member> = members.into_iter().map(|m| (m.sid, m)).collect();
        let voters = members
            .values()
            .filter(|m| m.learner_type == LearnerType::Participant)
            .count();
        QuorumVerifier {
            members,
            voters,
            version,
        }
    }

    /// A verifier for `participants` voters and `observers` observers with
    /// sids `1..`, addresses on 127.0.0.1 (tests and simulations).
    pub fn local(participants: usize, observers: usize) -> QuorumVerifier {
        let members = (1..=(participants + observers) as Sid).map(|sid| {
            let observer = sid as usize > participants;
            Member {
                sid,
                learner_type: if observer {
                    LearnerType::Observer
                } else {
                    LearnerType::Participant
                },
                text: format!(
                    "127.0.0.1:{}:{}:{}",
                    2887 + sid,
                    3887 + sid,
                    if observer { "observer" } else { "participant" }
                ),
            }
        });
        Self::from_members(members, 0)
    }

    pub fn version(&self) -> i64 {
        self.version
    }

    /// Every member, voters and observers, by sid.
    pub fn members(&self) -> impl Iterator<Item = &Member> {
        self.members.values()
    }

    pub fn member(&self, sid: Sid) -> Option<&Member> {
        self.members.get(&sid)
    }

    /// The participants' sids, ascending (`getVotingMembers().keySet()`).
    pub fn voting_members(&self) -> impl Iterator<Item = Sid> + '_ {
        self.members
            .values()
            .filter(|m| m.learner_type == LearnerType::Participant)
            .map(|m| m.sid)
    }

    /// The observers' sids, ascending.
    pub fn observing_members(&self) -> impl Iterator<Item = Sid> + '_ {
        self.members
            .values()
            .filter(|m| m.learner_type == LearnerType::Observer)
            .map(|m| m.sid)
    }

    /// Is `sid` a participant (weight 1) of this configuration?
    pub fn is_voter(&self, sid: Sid) -> bool {
        self.members
            .get(&sid)
            .is_some_and(|m| m.learner_type == LearnerType::Participant)
    }

    /// The number of voting members.
    pub fn voter_count(&self) -> usize {
        self.voters
    }

    /// `QuorumMaj.containsQuorum`: strictly more than half of the voters.
    /// Only voters in `sids` are counted.
    pub fn contains_quorum<'a>(&self, sids: impl IntoIterator<Item = &'a Sid>) -> bool {
        let acks = sids.into_iter().filter(|s| self.is_voter(**s)).count();
        acks > self.voters / 2
    }

    /// `QuorumMaj.toString()`, exactly (see the module doc).
    pub fn config_text(&self) -> String {
        let mut sids: Vec<Sid> = self.members.keys().copied().collect();
        let capacity = java_hashmap_capacity(sids.len());
        // Within one bucket Java keeps insertion order; the config layer
        // inserts in file order, which we approximate by sid (collisions
        // need sids ≥ the table size, 16 for up to 12 members).
        sids.sort_by_key(|sid| (java_long_bucket(*sid, capacity), *sid));
        let mut out = String::new();
        for sid in sids {
            out.push_str("server.");
            out.push_str(&sid.to_string());
            out.push('=');
            out.push_str(&self.members[&sid].text);
            out.push('\n');
        }
        out.push_str("version=");
        out.push_str(&format!("{:x}", self.version));
        out
    }
}

/// `QuorumServer.toString()`: addresses, type, and the client address when
/// the `server.N` line gave one (a port alone binds the wildcard address,
/// which Java prints as `0.0.0.0`). A host containing `:` is bracketed.
pub fn server_text(s: &QuorumServer) -> String {
    let mut out = String::new();
    for (i, a) in s.addresses.iter().enumerate() {
        if i > 0 {
            out.push('|');
        }
        out.push_str(&delimited_host(&a.host));
        out.push_str(&format!(":{}:{}", a.quorum_port, a.election_port));
    }
    out.push_str(if s.observer {
        ":observer"
    } else {
        ":participant"
    });
    if let Some(port) = s.client_port {
        out.push(';');
        out.push_str(&delimited_host(
            s.client_address.as_deref().unwrap_or("0.0.0.0"),
        ));
        out.push_str(&format!(":{port}"));
    }
    out
}

/// `QuorumServer.delimitedHostString`.
fn delimited_host(host: &str) -> String {
    if host.contains(':') {
        format!("[{host}]")
    } else {
        host.to_string()
    }
}

/// The table size of a `new HashMap<>()` after `n` puts (16, doubling
/// whenever the size exceeds 0.75 of it).
fn java_hashmap_capacity(n: usize) -> u32 {
    let mut cap: u32 = 16;
    while n as u64 * 4 > cap as u64 * 3 {
        cap *= 2;
    }
    cap
}

/// The bucket of a `Long` key: `Long.hashCode` spread as `HashMap.hash`.
fn java_long_bucket(sid: Sid, capacity: u32) -> u32 {
    let v = sid as u64;
    let h = (v ^ (v >> 32)) as u32;
    (h ^ (h >> 16)) & (capacity - 1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ensemble::parse_server;

    #[test]
    fn quorum_sizes() {
        for (voters, need) in [(1, 1), (2, 2), (3, 2), (4, 3), (5, 3), (6, 4)] {
            let qv = QuorumVerifier::local(voters, 1);
            let all: Vec<Sid> = qv.voting_members().collect();
            assert!(qv.contains_quorum(&all[..need]), "{voters} voters, {need}");
            assert!(!qv.contains_quorum(&all[..need - 1]), "{voters} voters");
            // The observer never counts.
            let mut with_obs = all[..need - 1].to_vec();
            with_obs.push(voters as Sid + 1);
            assert!(!qv.contains_quorum(&with_obs));
        }
        let qv = QuorumVerifier::local(3, 0);
        assert!(!qv.contains_quorum(&[1, 9, 10]), "unknown sids never count");
    }

    /// The text a 3.8.0 ensemble shows in `/zookeeper/config` for these
    /// lines (observed on the reference).
    #[test]
    fn config_text_as_reference() {
        let lines = [
            (1, "127.0.0.1:23281:23381;127.0.0.1:23181"),
            (2, "localhost:23282:23382:participant;23182"),
            (3, "127.0.0.1:23283:23383"),
            (4, "127.0.0.1:23284:23384:observer;23184"),
        ];
        let servers: Vec<_> = lines
            .iter()
            .map(|(id, v)| parse_server(*id, v).unwrap())
            .collect();
        let qv = QuorumVerifier::new(&servers, 0);
        assert_eq!(
            qv.config_text(),
            "server.1=127.0.0.1:23281:23381:participant;127.0.0.1:23181\n\
             server.2=localhost:23282:23382:participant;0.0.0.0:23182\n\
             server.3=127.0.0.1:23283:23383:participant\n\
             server.4=127.0.0.1:23284:23384:observer;0.0.0.0:23184\n\
             version=0"
        );
        assert_eq!(qv.voter_count(), 3);
        assert!(!qv.is_voter(4));
    }

    #[test]
    fn java_hashmap_order() {
        // 16 buckets: 17 lands in bucket 1, after 16 (bucket 0) and
        // before 2; 100 in bucket 4.
        let qv = QuorumVerifier::from_members(
            [2, 16, 17, 100].map(|sid| Member {
                sid,
                learner_type: LearnerType::Participant,
                text: "h:1:2:participant".into(),
            }),
            0x1_0000_0003,
        );
        let text = qv.config_text();
        let order: Vec<&str> = text.lines().map(|l| l.split('=').next().unwrap()).collect();
        assert_eq!(
            order,
            [
                "server.16",
                "server.17",
                "server.2",
                "server.100",
                "version"
            ]
        );
        assert!(text.ends_with("version=100000003"));
        let v6 = parse_server(7, "[::1]:1:2;[::1]:3").unwrap();
        assert_eq!(server_text(&v6), "[::1]:1:2:participant;[::1]:3");
    }
}
