//! Sessions and their expiry, on tick-sized buckets as ZooKeeper's
//! `SessionTrackerImpl` does: a touch moves the session's deadline to the
//! next multiple of the tick after `now + timeout`.
//!
//! Invariants: a session id is never handed out twice by one tracker; time is
//! an input (`now_ms`), never read here.

use std::collections::BTreeMap;

/// One live session.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    pub id: i64,
    pub timeout_ms: i32,
    pub expire_at_ms: i64,
    /// A close is under way: no further requests are accepted.
    pub closing: bool,
}

/// The session table.
#[derive(Debug, Clone)]
pub struct SessionTracker {
    sessions: BTreeMap<i64, Session>,
    next_session_id: i64,
    expiration_interval_ms: i64,
}

/// `initializeNextSessionId`: server id in the top byte, time below.
pub fn initial_session_id(now_ms: i64, server_id: i64) -> i64 {
    let mut id = (((now_ms as u64) << 24) >> 8) as i64;
    id |= server_id << 56;
    if id == super::ephemeral::CONTAINER_EPHEMERAL_OWNER {
        id += 1;
    }
    id
}

impl SessionTracker {
    /// A tracker whose ids start from `initial_session_id(now_ms, server_id)`.
    pub fn new(now_ms: i64, server_id: i64, tick_ms: i32) -> SessionTracker {
        SessionTracker {
            sessions: BTreeMap::new(),
            next_session_id: initial_session_id(now_ms, server_id),
            expiration_interval_ms: tick_ms.max(1) as i64,
        }
    }

    fn deadline(&self, now_ms: i64, timeout_ms: i32) -> i64 {
        let t = now_ms + timeout_ms as i64;
        (t / self.expiration_interval_ms + 1) * self.expiration_interval_ms
    }

    /// Picks the id for a new session.
    pub fn next_id(&mut self) -> i64 {
        let id = self.next_session_id;
        self.next_session_id += 1;
        id
    }

    /// Registers a session (on applying its createSession txn).
    pub fn add(&mut self, id: i64, timeout_ms: i32, now_ms: i64) {
        let expire_at_ms = self.deadline(now_ms, timeout_ms);
        self.sessions.insert(
            id,
            Session {
                id,
                timeout_ms,
                expire_at_ms,
                closing: false,
            },
        );
    }

    /// Extends a live session; false if it is gone or closing.
    pub fn touch(&mut self, id: i64, now_ms: i64) -> bool {
        let interval = self.expiration_interval_ms;
        match self.sessions.get_mut(&id) {
            Some(s) if !s.closing => {
                let t = now_ms + s.timeout_ms as i64;
                let deadline = (t / interval + 1) * interval;
                if deadline > s.expire_at_ms {
                    s.expire_at_ms = deadline;
                }
                true
            }
            _ => false,
        }
    }

    /// Whether a session is live and not closing.
    pub fn is_valid(&self, id: i64) -> bool {
        self.sessions.get(&id).is_some_and(|s| !s.closing)
    }

    /// Marks a session as closing.
    pub fn set_closing(&mut self, id: i64) {
        if let Some(s) = self.sessions.get_mut(&id) {
            s.closing = true;
        }
    }

    /// Forgets a session (on applying its closeSession txn).
    pub fn remove(&mut self, id: i64) {
        self.sessions.remove(&id);
    }

    /// Sessions past their deadline and not already closing, oldest id first.
    pub fn expired(&self, now_ms: i64) -> Vec<i64> {
        self.sessions
            .values()
            .filter(|s| !s.closing && s.expire_at_ms <= now_ms)
            .map(|s| s.id)
            .collect()
    }

    /// The session, if live.
    pub fn get(&self, id: i64) -> Option<&Session> {
        self.sessions.get(&id)
    }

    /// Number of sessions.
    pub fn len(&self) -> usize {
        self.sessions.len()
    }

    /// Whether there are no sessions.
    pub fn is_empty(&self) -> bool {
        self.sessions.is_empty()
    }

    /// All sessions by id.
    pub fn iter(&self) -> impl Iterator<Item = &Session> {
        self.sessions.values()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn expiry_follows_buckets() {
        let mut t = SessionTracker::new(1_000, 1, 2000);
        let id = t.next_id();
        assert_eq!(id >> 56, 1);
        t.add(id, 4000, 1_000);
        // 1000 + 4000 = 5000 -> next bucket boundary 6000.
        assert_eq!(t.get(id).unwrap().expire_at_ms, 6000);
        assert!(t.expired(5999).is_empty());
        assert_eq!(t.expired(6000), vec![id]);
        assert!(t.touch(id, 5000));
        assert!(t.expired(6000).is_empty());
    }
}
