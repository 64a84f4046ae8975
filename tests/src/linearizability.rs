//! A linearizability check for the histories the ensemble tests record:
//! a versioned register (a znode changed only by compare-and-set setData,
//! whose version is its value) read by synced reads, and sequential creates.
//!
//! Every operation carries the instants it was invoked and answered (no
//! answer: a connection loss or timeout; such an operation may or may not
//! have taken effect, any time after its invocation).
//!
//! Register: a successful CAS from version `k` makes version `k + 1`, so the
//! writes that took effect are totally ordered by the version they made.
//! The history is linearizable iff linearization points can be chosen,
//! each inside its operation's interval, in the order
//! `W1, reads of 1, W2, reads of 2, ...` (reads of 0 first): each version is
//! made by exactly one write (never two acknowledged CAS to one version,
//! never a version no invoked CAS could make), every CAS acknowledged with a
//! version is that version's write, a failed CAS (BadVersion) from `k` is
//! placed where the version is not `k`, and points exist. The points are
//! placed greedily, each as early as its interval and its predecessor
//! allow, reads of one version by earliest answer first — optimal for a
//! chain of intervals whose order is fixed up to the reads' order.
//!
//! Sequential creates: if one create was answered before another was
//! invoked, its sequence number is lower; no two acknowledged creates share
//! a number.

use std::collections::BTreeMap;
use std::time::Instant;

/// A compare-and-set `setData(path, version = from)`.
#[derive(Debug, Clone)]
pub struct Cas {
    pub from: i32,
    pub invoked: Instant,
    pub outcome: CasOutcome,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CasOutcome {
    /// Answered with the new version (`from + 1`).
    Ok { answered: Instant },
    /// Answered BadVersion: the version was not `from`.
    BadVersion { answered: Instant },
    /// No answer: it may have taken effect.
    Unknown,
}

/// A synced read of the register's version.
#[derive(Debug, Clone, Copy)]
pub struct Read {
    pub invoked: Instant,
    pub answered: Instant,
    pub version: i32,
}

/// A register's history, as recorded by every client together.
#[derive(Debug, Default, Clone)]
pub struct RegisterHistory {
    pub cas: Vec<Cas>,
    pub reads: Vec<Read>,
}

/// The point placed so far and the next op's interval.
fn place(at: &mut Option<Instant>, invoked: Instant, answered: Option<Instant>) -> bool {
    let p = match *at {
        Some(prev) if prev > invoked => prev,
        _ => invoked,
    };
    if answered.is_some_and(|a| p > a) {
        return false;
    }
    *at = Some(p);
    true
}

impl RegisterHistory {
    /// Checks the history against the register's final version (read when
    /// every client has stopped). `Err` names the first violation.
    pub fn check(&self, final_version: i32) -> Result<(), String> {
        // The write that made each version.
        let mut made: BTreeMap<i32, &Cas> = BTreeMap::new();
        for c in &self.cas {
            if let CasOutcome::Ok { .. } = c.outcome {
                if let Some(other) = made.insert(c.from + 1, c) {
                    return Err(format!(
                        "two acknowledged CAS made version {}: {other:?} and {c:?}",
                        c.from + 1
                    ));
                }
            }
        }
        for v in 1..=final_version {
            if made.contains_key(&v) {
                continue;
            }
            // An unanswered CAS from v - 1 made it (the earliest invoked:
            // the greedy placement likes early intervals).
            let unknown = self
                .cas
                .iter()
                .filter(|c| c.from == v - 1 && c.outcome == CasOutcome::Unknown)
                .min_by_key(|c| c.invoked);
            match unknown {
                Some(c) => {
                    made.insert(v, c);
                }
                None => return Err(format!("version {v} exists but no CAS could have made it")),
            }
        }
        if let Some((&v, c)) = made.range(final_version + 1..).next() {
            return Err(format!(
                "CAS {c:?} was acknowledged with version {v}, beyond the final version {final_version}"
            ));
        }
        for r in &self.reads {
            if r.version < 0 || r.version > final_version {
                return Err(format!("read {r:?} saw a version that never existed"));
            }
        }
        // Reads of each version, earliest answer first.
        let mut reads: BTreeMap<i32, Vec<&Read>> = BTreeMap::new();
        for r in &self.reads {
            reads.entry(r.version).or_default().push(r);
        }
        for rs in reads.values_mut() {
            rs.sort_by_key(|r| r.answered);
        }
        let mut at: Option<Instant> = None;
        // Where each version's span starts (the point of its write).
        let mut span_start: BTreeMap<i32, Instant> = BTreeMap::new();
        for v in 0..=final_version {
            if v > 0 {
                let w = made[&v];
                let answered = match w.outcome {
                    CasOutcome::Ok { answered } => Some(answered),
                    _ => None,
                };
                if !place(&mut at, w.invoked, answered) {
                    return Err(format!(
                        "version {v}'s write {w:?} cannot be placed after what came before it \
                         (a read or write that must precede it was answered after it)"
                    ));
                }
                if let Some(p) = at {
                    span_start.insert(v, p);
                }
            }
            for r in reads.get(&v).into_iter().flatten() {
                if !place(&mut at, r.invoked, Some(r.answered)) {
                    return Err(format!(
                        "read {r:?} of version {v} cannot be placed: version {v} was already \
                         replaced before the read was invoked, or the read saw it before its \
                         write began"
                    ));
                }
            }
        }
        // A refusal (BadVersion) from k needs an instant of its interval
        // where the version was not k. It has none when version k's write
        // was answered before the refusal was invoked (or k is 0, there
        // from the start) and the next write cannot be placed before the
        // refusal's answer (its earliest point is later).
        for c in &self.cas {
            let CasOutcome::BadVersion { answered } = c.outcome else {
                continue;
            };
            let began_before = c.from == 0
                || made.get(&c.from).is_some_and(
                    |w| matches!(w.outcome, CasOutcome::Ok { answered: a } if a < c.invoked),
                );
            let next_after = span_start
                .get(&(c.from + 1))
                .is_none_or(|next| answered < *next);
            if began_before && next_after {
                return Err(format!(
                    "CAS {c:?} was refused although version {} held throughout it",
                    c.from
                ));
            }
        }
        Ok(())
    }
}

/// An acknowledged sequential create.
#[derive(Debug, Clone, Copy)]
pub struct SeqCreate {
    pub invoked: Instant,
    pub answered: Instant,
    pub sequence: u64,
}

/// Checks real-time order and uniqueness of sequential creates' numbers.
pub fn check_sequential(creates: &[SeqCreate]) -> Result<(), String> {
    let mut by_seq: Vec<&SeqCreate> = creates.iter().collect();
    by_seq.sort_by_key(|c| c.sequence);
    for w in by_seq.windows(2) {
        if w[0].sequence == w[1].sequence {
            return Err(format!(
                "two creates got sequence {}: {:?} {:?}",
                w[0].sequence, w[0], w[1]
            ));
        }
    }
    // A create answered before another was invoked has the lower number:
    // walking down from the highest number, no create above may have been
    // answered before this one was invoked.
    let mut earliest_answer_above: Option<&SeqCreate> = None;
    for c in by_seq.iter().rev() {
        if let Some(above) = earliest_answer_above {
            if above.answered < c.invoked {
                return Err(format!(
                    "create {above:?} was answered before {c:?} was invoked, yet has the higher \
                     sequence number"
                ));
            }
        }
        if earliest_answer_above.is_none_or(|a| c.answered < a.answered) {
            earliest_answer_above = Some(c);
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    fn t(base: Instant, ms: u64) -> Instant {
        base + Duration::from_millis(ms)
    }

    fn ok(base: Instant, from: i32, a: u64, b: u64) -> Cas {
        Cas {
            from,
            invoked: t(base, a),
            outcome: CasOutcome::Ok {
                answered: t(base, b),
            },
        }
    }

    fn read(base: Instant, version: i32, a: u64, b: u64) -> Read {
        Read {
            invoked: t(base, a),
            answered: t(base, b),
            version,
        }
    }

    #[test]
    fn sequential_history_passes() {
        let b = Instant::now();
        let h = RegisterHistory {
            cas: vec![ok(b, 0, 0, 10), ok(b, 1, 20, 30), ok(b, 2, 40, 50)],
            reads: vec![read(b, 1, 11, 19), read(b, 2, 31, 39), read(b, 3, 60, 70)],
        };
        assert_eq!(h.check(3), Ok(()));
    }

    #[test]
    fn a_stale_read_fails() {
        let b = Instant::now();
        let h = RegisterHistory {
            cas: vec![ok(b, 0, 0, 10), ok(b, 1, 20, 30)],
            // Version 2 was acknowledged at 30; a read invoked at 40 sees 1.
            reads: vec![read(b, 1, 40, 50)],
        };
        assert!(h.check(2).is_err());
    }

    #[test]
    fn a_read_from_the_future_fails() {
        let b = Instant::now();
        let h = RegisterHistory {
            cas: vec![ok(b, 0, 100, 110)],
            reads: vec![read(b, 1, 0, 50)],
        };
        assert!(h.check(1).is_err());
    }

    #[test]
    fn concurrent_operations_may_go_either_way() {
        let b = Instant::now();
        let h = RegisterHistory {
            cas: vec![ok(b, 0, 0, 100)],
            reads: vec![read(b, 0, 10, 20), read(b, 1, 30, 40), read(b, 1, 50, 60)],
        };
        assert_eq!(h.check(1), Ok(()));
        // But not back again.
        let h = RegisterHistory {
            cas: vec![ok(b, 0, 0, 100)],
            reads: vec![read(b, 1, 10, 20), read(b, 0, 30, 40)],
        };
        assert!(h.check(1).is_err());
    }

    #[test]
    fn unknown_writes_may_have_happened_and_lost_ones_are_caught() {
        let b = Instant::now();
        let unknown = Cas {
            from: 1,
            invoked: t(b, 20),
            outcome: CasOutcome::Unknown,
        };
        let h = RegisterHistory {
            cas: vec![ok(b, 0, 0, 10), unknown.clone()],
            reads: vec![read(b, 2, 100, 110)],
        };
        assert_eq!(h.check(2), Ok(()));
        // An acknowledged version the final state does not reach: lost.
        let h = RegisterHistory {
            cas: vec![ok(b, 0, 0, 10), ok(b, 1, 20, 30)],
            reads: vec![],
        };
        assert!(h.check(1).is_err());
        // A version no CAS could make.
        let h = RegisterHistory {
            cas: vec![ok(b, 0, 0, 10)],
            reads: vec![],
        };
        assert!(h.check(2).is_err());
        // Two acknowledged CAS from the same version.
        let h = RegisterHistory {
            cas: vec![ok(b, 0, 0, 10), ok(b, 0, 5, 15)],
            reads: vec![],
        };
        assert!(h.check(1).is_err());
    }

    #[test]
    fn a_refusal_while_the_version_held_fails() {
        let b = Instant::now();
        let refused = Cas {
            from: 1,
            invoked: t(b, 20),
            outcome: CasOutcome::BadVersion { answered: t(b, 30) },
        };
        let h = RegisterHistory {
            cas: vec![ok(b, 0, 0, 10), refused.clone(), ok(b, 1, 40, 50)],
            reads: vec![],
        };
        assert!(h.check(2).is_err());
        let h = RegisterHistory {
            cas: vec![ok(b, 0, 0, 10), ok(b, 1, 12, 15), refused],
            reads: vec![],
        };
        assert_eq!(h.check(2), Ok(()));
    }

    #[test]
    fn sequence_numbers_follow_real_time() {
        let b = Instant::now();
        let c = |s, a, z| SeqCreate {
            invoked: t(b, a),
            answered: t(b, z),
            sequence: s,
        };
        assert_eq!(
            check_sequential(&[c(1, 0, 10), c(2, 20, 30), c(3, 25, 26)]),
            Ok(())
        );
        assert!(check_sequential(&[c(2, 0, 10), c(1, 20, 30)]).is_err());
        assert!(check_sequential(&[c(1, 0, 10), c(1, 20, 30)]).is_err());
        // Overlapping: either order.
        assert_eq!(check_sequential(&[c(2, 0, 30), c(1, 10, 20)]), Ok(()));
    }
}
