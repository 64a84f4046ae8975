//! Where the data tree keeps its znodes: a slab of [`Node`]s addressed by
//! [`NodeId`], and one hash index from path to id that stores no paths.
//!
//! The index is a `hashbrown::HashTable<NodeId>` (4 bytes and a control byte
//! per bucket). An entry's hash is computed from the path's components,
//! leaf first; its equality check walks the candidate's parent chain
//! comparing names with the path's components. So a node costs its slot,
//! its name once (in the node), and 5 bytes per bucket here, where a
//! path-keyed map costs the full path and a map slot of key + node.
//!
//! Invariants:
//! - Slot [`ROOT`] holds the root, which is never in the index (its path
//!   is `""`/`"/"`, answered directly) and never freed.
//! - Every other live node is in the index exactly once, under the hash of
//!   its path; its parent is live.
//! - A freed slot holds [`Node::free_slot`] and is on `free`; slots are
//!   reused, so an id alone does not name a node across changes (the
//!   pre-order walk checks the czxid too).
//! - The hash seed is per process (as the `HashMap` it replaces): clients
//!   cannot aim collisions at it, and nothing observable depends on it.

use super::node::{Node, NodeId, FREE, ROOT};
use hashbrown::hash_table::Entry;
use hashbrown::HashTable;
use std::hash::{BuildHasher, Hasher};

/// The nodes and the path index.
#[derive(Debug, Clone)]
pub struct NodeStore {
    slots: Vec<Node>,
    free: Vec<NodeId>,
    index: HashTable<NodeId>,
    seed: foldhash::fast::RandomState,
}

/// Separates components in the hash, so `/ab/c` and `/a/bc` differ (0xff
/// never occurs in UTF-8).
const SEPARATOR: u8 = 0xff;

/// The components of a path below the root, leaf first; `None` for a path
/// that does not start with `/`. (`/` itself is not asked for.)
fn components_leaf_first(path: &str) -> Option<impl Iterator<Item = &[u8]>> {
    let rest = path.strip_prefix('/')?;
    Some(rest.as_bytes().rsplit(|&b| b == b'/'))
}

fn hash_path(seed: &foldhash::fast::RandomState, path: &str) -> Option<u64> {
    let mut h = seed.build_hasher();
    for c in components_leaf_first(path)? {
        h.write(c);
        h.write_u8(SEPARATOR);
    }
    Some(h.finish())
}

/// The same hash, from a node's parent chain.
fn hash_node(seed: &foldhash::fast::RandomState, slots: &[Node], id: NodeId) -> u64 {
    let mut h = seed.build_hasher();
    let mut cur = id;
    while cur != ROOT {
        let n = &slots[cur as usize];
        h.write(n.name_bytes());
        h.write_u8(SEPARATOR);
        cur = n.parent;
    }
    h.finish()
}

/// Whether the node `id` is at `path` (a path starting with `/`).
fn is_at(slots: &[Node], id: NodeId, path: &str) -> bool {
    let Some(comps) = components_leaf_first(path) else {
        return false;
    };
    let mut cur = id;
    for c in comps {
        if cur == ROOT {
            return false;
        }
        let n = &slots[cur as usize];
        if n.name_bytes() != c {
            return false;
        }
        cur = n.parent;
    }
    cur == ROOT
}

impl NodeStore {
    /// A store holding only `root` (its parent is set to itself).
    pub fn new(mut root: Node) -> NodeStore {
        root.parent = ROOT;
        NodeStore {
            slots: vec![root],
            free: Vec::new(),
            index: HashTable::new(),
            seed: foldhash::fast::RandomState::default(),
        }
    }

    /// Number of live nodes, root included.
    pub fn len(&self) -> usize {
        self.slots.len() - self.free.len()
    }

    /// Always false: the root is always there.
    pub fn is_empty(&self) -> bool {
        false
    }

    /// The id of the node at `key` (`""` or `"/"` for the root).
    pub fn find(&self, key: &str) -> Option<NodeId> {
        if key.is_empty() || key == "/" {
            return Some(ROOT);
        }
        let hash = hash_path(&self.seed, key)?;
        let slots = &self.slots;
        self.index.find(hash, |&id| is_at(slots, id, key)).copied()
    }

    /// The live node in slot `id`.
    pub fn node(&self, id: NodeId) -> &Node {
        &self.slots[id as usize]
    }

    /// The live node in slot `id`, to change in place.
    pub fn node_mut(&mut self, id: NodeId) -> &mut Node {
        &mut self.slots[id as usize]
    }

    /// The node in slot `id` if that slot is live.
    pub fn get_slot(&self, id: NodeId) -> Option<&Node> {
        self.slots.get(id as usize).filter(|n| n.parent != FREE)
    }

    /// Adds `node` at `path` (whose parent, `node.parent`, is live and whose
    /// last component is the node's name). `Err` with the existing id if
    /// the path is taken. The caller adds the id to the parent's children.
    pub fn insert(&mut self, path: &str, node: Node) -> Result<NodeId, NodeId> {
        debug_assert!(self.get_slot(node.parent).is_some());
        let hash = hash_path(&self.seed, path).ok_or(ROOT)?;
        let (slots, seed) = (&self.slots, &self.seed);
        let entry = self.index.entry(
            hash,
            |&id| is_at(slots, id, path),
            |&id| hash_node(seed, slots, id),
        );
        match entry {
            Entry::Occupied(e) => Err(*e.get()),
            Entry::Vacant(v) => {
                let id = match self.free.pop() {
                    Some(id) => {
                        self.slots[id as usize] = node;
                        id
                    }
                    None => {
                        self.slots.push(node);
                        (self.slots.len() - 1) as NodeId
                    }
                };
                v.insert(id);
                Ok(id)
            }
        }
    }

    /// Removes the node `id` (not the root) from the index and frees its
    /// slot, returning it. Its children must be gone already; the caller
    /// removes it from its parent's children.
    pub fn remove(&mut self, id: NodeId) -> Node {
        debug_assert!(id != ROOT && self.get_slot(id).is_some());
        let hash = hash_node(&self.seed, &self.slots, id);
        if let Ok(e) = self.index.find_entry(hash, |&x| x == id) {
            e.remove();
        }
        self.free.push(id);
        std::mem::replace(&mut self.slots[id as usize], Node::free_slot())
    }

    /// The full path of `id` (`"/"` for the root).
    pub fn path_of(&self, id: NodeId) -> String {
        if id == ROOT {
            return "/".to_string();
        }
        let mut chain = Vec::new();
        let mut cur = id;
        while cur != ROOT {
            chain.push(cur);
            cur = self.slots[cur as usize].parent;
        }
        let mut path = String::new();
        for id in chain.iter().rev() {
            path.push('/');
            path.push_str(self.slots[*id as usize].name());
        }
        path
    }

    /// Every live node with its id, in slot order.
    pub fn iter(&self) -> impl Iterator<Item = (NodeId, &Node)> {
        self.slots
            .iter()
            .enumerate()
            .filter(|(_, n)| n.parent != FREE)
            .map(|(i, n)| (i as NodeId, n))
    }

    /// Makes room for `additional` more nodes (snapshot loading knows
    /// roughly how many come).
    pub fn reserve(&mut self, additional: usize) {
        self.slots.reserve(additional);
        let (slots, seed) = (&self.slots, &self.seed);
        self.index
            .reserve(additional, |&id| hash_node(seed, slots, id));
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use jute::data::StatPersisted;

    fn node(parent: NodeId, name: &str) -> Node {
        Node::new(parent, name, None, -1, &StatPersisted::default())
    }

    #[test]
    fn finds_by_path_and_reuses_slots() {
        let mut s = NodeStore::new(node(ROOT, ""));
        let a = s.insert("/a", node(ROOT, "a")).expect("new");
        let ab = s.insert("/a/b", node(a, "b")).expect("new");
        let abc = s.insert("/a/b/c", node(ab, "c")).expect("new");
        // Same components split differently must not collide or match.
        let x = s.insert("/ab", node(ROOT, "ab")).expect("new");
        assert_eq!(s.insert("/a/b", node(a, "b")), Err(ab));
        assert_eq!(s.find("/a/b/c"), Some(abc));
        assert_eq!(s.find("/ab"), Some(x));
        assert_eq!(s.find("/"), Some(ROOT));
        assert_eq!(s.find(""), Some(ROOT));
        for missing in ["/a/b/c/d", "/b", "a/b", "/a/", "//a", "/a//b", "/ab/c"] {
            assert_eq!(s.find(missing), None, "{missing}");
        }
        assert_eq!(s.path_of(abc), "/a/b/c");
        assert_eq!(s.len(), 5);
        let gone = s.remove(abc);
        assert_eq!(gone.name(), "c");
        assert_eq!(s.find("/a/b/c"), None);
        assert!(s.get_slot(abc).is_none());
        let again = s.insert("/a/b/d", node(ab, "d")).expect("new");
        assert_eq!(again, abc, "the freed slot is reused");
        assert_eq!(s.find("/a/b/d"), Some(again));
        assert_eq!(s.len(), 5);
        // Growth rehashes from the parent chains.
        for i in 0..5000 {
            s.insert(&format!("/a/n{i}"), node(a, &format!("n{i}")))
                .expect("new");
        }
        for i in (0..5000).step_by(97) {
            let id = s.find(&format!("/a/n{i}")).expect("present");
            assert_eq!(s.path_of(id), format!("/a/n{i}"));
        }
    }
}
