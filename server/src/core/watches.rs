//! Watches: two tables (data and child), as ZooKeeper's `WatchManager`s.
//! A watcher is a connection; each (connection, path) pair in a table has one
//! mode — standard (one-shot), persistent, or persistent recursive. Setting a
//! mode replaces the previous one, as ZooKeeper 3.8 does.
//!
//! Invariants:
//! - `by_path[p]` contains `c` iff `by_conn[c]` contains `p`.
//! - A trigger notifies each connection at most once, and removes the
//!   standard watches it fires; persistent ones stay.
//! - Recursive watches fire for the whole subtree, never for
//!   NodeChildrenChanged; others fire only for their exact path.

use super::ConnId;
use jute::proto::event_type;
use std::collections::{BTreeMap, BTreeSet, HashMap};

/// How a watch behaves once triggered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WatchMode {
    Standard,
    Persistent,
    PersistentRecursive,
}

/// A path ZooKeeper's `PathParentIterator` cannot walk (it has no `/`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RelativePath;

/// One watch table.
#[derive(Debug, Default, Clone)]
pub struct WatchTable {
    by_path: HashMap<String, BTreeSet<ConnId>>,
    by_conn: HashMap<ConnId, BTreeSet<String>>,
    modes: HashMap<(ConnId, String), WatchMode>,
    recursive_count: usize,
}

impl WatchTable {
    /// Adds (or re-moded) a watch.
    pub fn add(&mut self, path: &str, conn: ConnId, mode: WatchMode) {
        self.by_path
            .entry(path.to_string())
            .or_default()
            .insert(conn);
        self.by_conn
            .entry(conn)
            .or_default()
            .insert(path.to_string());
        let k = (conn, path.to_string());
        let old = if mode == WatchMode::Standard {
            self.modes.remove(&k)
        } else {
            self.modes.insert(k, mode)
        };
        if old == Some(WatchMode::PersistentRecursive) {
            self.recursive_count -= 1;
        }
        if mode == WatchMode::PersistentRecursive {
            self.recursive_count += 1;
        }
    }

    fn mode(&self, conn: ConnId, path: &str) -> WatchMode {
        self.modes
            .get(&(conn, path.to_string()))
            .copied()
            .unwrap_or(WatchMode::Standard)
    }

    /// Fires `event` for `path`, returning the connections to notify (each
    /// once), skipping those in `suppress`.
    pub fn trigger(&mut self, path: &str, event: i32, suppress: &[ConnId]) -> Vec<ConnId> {
        let mut notify: Vec<ConnId> = Vec::new();
        let mut at_parent = false;
        let mut current = Some(path.to_string());
        while let Some(p) = current {
            let mut fired: Vec<ConnId> = Vec::new();
            if let Some(conns) = self.by_path.get(&p) {
                for &c in conns {
                    match self.mode(c, &p) {
                        WatchMode::PersistentRecursive
                            if event != event_type::NODE_CHILDREN_CHANGED
                                && !notify.contains(&c) =>
                        {
                            notify.push(c);
                        }
                        WatchMode::PersistentRecursive => {}
                        mode if !at_parent => {
                            if !notify.contains(&c) {
                                notify.push(c);
                            }
                            if mode == WatchMode::Standard {
                                fired.push(c);
                            }
                        }
                        _ => {}
                    }
                }
            }
            for c in fired {
                self.remove(&p, c);
            }
            if self.recursive_count == 0 {
                break;
            }
            at_parent = true;
            current = parent(&p);
        }
        notify.retain(|c| !suppress.contains(c));
        notify
    }

    /// ZooKeeper 3.8's `containsWatcher(path, watcher)`, as it behaves: true
    /// when *any* connection watches exactly `path`. It walks `path` with a
    /// `PathParentIterator` (just the path, or up to the root while recursive
    /// watches exist), which yields nothing for `""` and fails — `Err` — on a
    /// path with no `/` when it computes the next step.
    pub fn contains_any(&self, path: &str) -> Result<bool, RelativePath> {
        let max_level = if self.recursive_count == 0 {
            1
        } else {
            usize::MAX
        };
        let mut next = path.to_string();
        let mut level = 0;
        while !next.is_empty() && level < max_level {
            let local = next.clone();
            level += 1;
            next = if next == "/" {
                String::new()
            } else {
                let i = next.rfind('/').ok_or(RelativePath)?;
                if i == 0 {
                    "/".to_string()
                } else {
                    next[..i].to_string()
                }
            };
            if level == 1 && self.by_path.get(&local).is_some_and(|c| !c.is_empty()) {
                return Ok(true);
            }
        }
        Ok(false)
    }

    /// Whether `conn` watches `path` in this table.
    pub fn contains(&self, path: &str, conn: ConnId) -> bool {
        self.by_conn.get(&conn).is_some_and(|s| s.contains(path))
    }

    /// Removes one watch; false if there was none.
    pub fn remove(&mut self, path: &str, conn: ConnId) -> bool {
        let Some(paths) = self.by_conn.get_mut(&conn) else {
            return false;
        };
        if !paths.remove(path) {
            return false;
        }
        if paths.is_empty() {
            self.by_conn.remove(&conn);
        }
        if let Some(conns) = self.by_path.get_mut(path) {
            conns.remove(&conn);
            if conns.is_empty() {
                self.by_path.remove(path);
            }
        }
        if self.modes.remove(&(conn, path.to_string())) == Some(WatchMode::PersistentRecursive) {
            self.recursive_count -= 1;
        }
        true
    }

    /// Drops every watch of a connection.
    pub fn remove_conn(&mut self, conn: ConnId) {
        let Some(paths) = self.by_conn.remove(&conn) else {
            return;
        };
        for p in paths {
            if let Some(conns) = self.by_path.get_mut(&p) {
                conns.remove(&conn);
                if conns.is_empty() {
                    self.by_path.remove(&p);
                }
            }
            if self.modes.remove(&(conn, p)) == Some(WatchMode::PersistentRecursive) {
                self.recursive_count -= 1;
            }
        }
    }

    /// Number of (connection, path) watches.
    pub fn len(&self) -> usize {
        self.by_conn.values().map(|s| s.len()).sum()
    }

    /// Whether the table is empty.
    pub fn is_empty(&self) -> bool {
        self.by_conn.is_empty()
    }

    /// Watched paths by connection (for `wchc`).
    pub fn by_conn(&self) -> BTreeMap<ConnId, Vec<String>> {
        self.by_conn
            .iter()
            .map(|(c, p)| (*c, p.iter().cloned().collect()))
            .collect()
    }

    /// Watching connections by path (for `wchp`).
    pub fn by_path(&self) -> BTreeMap<String, Vec<ConnId>> {
        self.by_path
            .iter()
            .map(|(p, c)| (p.clone(), c.iter().copied().collect()))
            .collect()
    }
}

fn parent(p: &str) -> Option<String> {
    if p == "/" {
        return None;
    }
    match p.rfind('/') {
        Some(0) => Some("/".to_string()),
        Some(i) => Some(p[..i].to_string()),
        None => None,
    }
}

/// Both tables.
#[derive(Debug, Default, Clone)]
pub struct Watches {
    pub data: WatchTable,
    pub child: WatchTable,
}

impl Watches {
    /// Drops every watch of a connection.
    pub fn remove_conn(&mut self, conn: ConnId) {
        self.data.remove_conn(conn);
        self.child.remove_conn(conn);
    }

    /// Total watches.
    pub fn len(&self) -> usize {
        self.data.len() + self.child.len()
    }

    /// Whether there are no watches.
    pub fn is_empty(&self) -> bool {
        self.data.is_empty() && self.child.is_empty()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn standard_watch_fires_once() {
        let mut t = WatchTable::default();
        t.add("/a", 1, WatchMode::Standard);
        assert_eq!(t.trigger("/a", event_type::NODE_DATA_CHANGED, &[]), vec![1]);
        assert!(t
            .trigger("/a", event_type::NODE_DATA_CHANGED, &[])
            .is_empty());
    }

    #[test]
    fn persistent_stays_and_recursive_covers_subtree() {
        let mut t = WatchTable::default();
        t.add("/a", 1, WatchMode::Persistent);
        t.add("/a", 2, WatchMode::PersistentRecursive);
        assert_eq!(
            t.trigger("/a", event_type::NODE_DATA_CHANGED, &[]),
            vec![1, 2]
        );
        assert_eq!(
            t.trigger("/a", event_type::NODE_DATA_CHANGED, &[]),
            vec![1, 2]
        );
        assert_eq!(t.trigger("/a/b/c", event_type::NODE_CREATED, &[]), vec![2]);
        assert!(t
            .trigger("/a/b", event_type::NODE_CHILDREN_CHANGED, &[])
            .is_empty());
        assert!(t.trigger("/ab", event_type::NODE_CREATED, &[]).is_empty());
    }

    #[test]
    fn remove_conn_clears_everything() {
        let mut t = WatchTable::default();
        t.add("/a", 1, WatchMode::PersistentRecursive);
        t.add("/b", 1, WatchMode::Standard);
        t.remove_conn(1);
        assert!(t.is_empty());
        assert_eq!(t.recursive_count, 0);
    }
}
