//! Structured reads for the admin HTTP API (`dump`, `watches`,
//! `watches_by_path`, `watch_summary`): the same state the four-letter words
//! print, as data. Like ZooKeeper's `DataTree.getWatches*`, the watch views
//! cover data watches (getData/exists and persistent ones), not child watches.
use super::*;
use std::collections::BTreeMap;

/// What the admin API reads from the core in one runner step.
#[derive(Debug, Clone, Default)]
pub struct AdminView {
    /// Expiry time (ms, on tick boundaries) → session ids expiring then.
    pub expiry_to_sessions: BTreeMap<i64, Vec<i64>>,
    /// Session id → its ephemeral paths.
    pub ephemerals: Vec<(i64, Vec<String>)>,
    /// Session id → data-watched paths.
    pub watches_by_session: BTreeMap<i64, Vec<String>>,
    /// Path → session ids with a data watch on it.
    pub watches_by_path: BTreeMap<String, Vec<i64>>,
    /// Connections with at least one data watch.
    pub watching_connections: usize,
    /// Data watches in total.
    pub data_watch_count: usize,
    /// The logged tree digests, oldest first (`hash`).
    pub digests: Vec<crate::core::digest::ZxidDigest>,
}

impl Server {
    /// The admin API's view of sessions, ephemerals and data watches.
    pub fn admin_view(&self) -> AdminView {
        let session_of = |c: &ConnId| self.conns.get(c).map_or(0, |c| c.session_id);
        let mut view = AdminView::default();
        for s in self.sessions.iter() {
            view.expiry_to_sessions
                .entry(s.expire_at_ms)
                .or_default()
                .push(s.id);
        }
        view.ephemerals = self.tree.all_ephemerals();
        view.digests = self.tree.digest().history().copied().collect();
        let by_conn = self.watches.data.by_conn();
        view.watching_connections = by_conn.len();
        for (conn, paths) in by_conn {
            view.data_watch_count += paths.len();
            let entry = view
                .watches_by_session
                .entry(session_of(&conn))
                .or_default();
            for p in paths {
                if !entry.contains(&p) {
                    entry.push(p);
                }
            }
        }
        for (path, conns) in self.watches.data.by_path() {
            let entry = view.watches_by_path.entry(path).or_default();
            for c in conns {
                let sid = session_of(&c);
                if !entry.contains(&sid) {
                    entry.push(sid);
                }
            }
        }
        view
    }
}
