//! A node's children as node ids, iterating in the order a
//! `java.util.HashSet<String>` of their names with the same history would
//! (ZooKeeper's `DataNode.children`; clients see the order in getChildren
//! and snapshots are written in it). The same rule as
//! [`JavaHashSet`](super::java::JavaHashSet), over 4-byte ids instead of
//! owned names: the names live once, in the nodes.
//!
//! Invariants: each id at most once; `items` in insertion order (a re-added
//! child goes to the end); the capacity follows the largest size the set has
//! ever had (a Java `HashMap` never shrinks); the cached Java order and the
//! cached listing, when present, are of the current members (every change
//! drops both).

use super::java::{bucket_order, string_hash, JavaCapacity};
use super::node::NodeId;
use std::cell::OnceCell;

/// Child ids of one node.
#[derive(Debug, Clone, Default)]
pub struct ChildSet {
    items: Vec<NodeId>,
    capacity: JavaCapacity,
    /// The members in Java's iteration order, kept while the set is
    /// unchanged for the callers that want names (a getChildren inside a
    /// multi): ordering means hashing every name and sorting. Costs 4 bytes
    /// per child of each such parent.
    java_order: OnceCell<Box<[NodeId]>>,
    /// The getChildren listing as jute writes it, kept likewise: a listing
    /// of an unchanged parent is then one copy, not an ordering, a lookup
    /// and a copy per child (ordering was half of a 1000-child listing's
    /// server time, the lookups and copies two thirds of the rest). Costs
    /// the names again, plus 4 bytes each, per listed parent.
    listing: OnceCell<Box<[u8]>>,
}

/// Equal members and capacity; whether the order is cached does not count.
impl PartialEq for ChildSet {
    fn eq(&self, other: &ChildSet) -> bool {
        self.items == other.items && self.capacity == other.capacity
    }
}

impl Eq for ChildSet {}

impl ChildSet {
    /// An empty set as `new HashSet<>(initial_capacity)` would be.
    pub fn with_java_capacity(initial_capacity: usize) -> ChildSet {
        ChildSet {
            items: Vec::new(),
            capacity: JavaCapacity::new(initial_capacity),
            java_order: OnceCell::new(),
            listing: OnceCell::new(),
        }
    }

    /// Number of children.
    pub fn len(&self) -> usize {
        self.items.len()
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// Adds `id`, which the caller knows is not a member (the tree's path
    /// index says so in O(1); a scan here would be O(children)).
    pub fn insert_new(&mut self, id: NodeId) {
        debug_assert!(!self.items.contains(&id), "{id} is already a member");
        self.items.push(id);
        self.capacity.grow_for(self.items.len());
        self.changed();
    }

    /// Removes `id`; false if it was not there.
    pub fn remove(&mut self, id: NodeId) -> bool {
        match self.items.iter().position(|&x| x == id) {
            Some(i) => {
                self.items.remove(i);
                self.changed();
                true
            }
            None => false,
        }
    }

    /// Drops what was kept of the old members.
    fn changed(&mut self) {
        self.java_order.take();
        self.listing.take();
    }

    /// The members' names in Java's iteration order as a jute
    /// `vector<ustring>` (count, then each name length-prefixed): the body
    /// of a getChildren reply. Built at the first call after a change, then
    /// kept until the next change.
    pub fn listing<'a>(&self, name: impl Fn(NodeId) -> &'a str + Copy) -> &[u8] {
        self.listing.get_or_init(|| {
            // The ids are not kept as well: the listing is what gets reused.
            let ids = self.java_order(name);
            let bytes: usize = ids.iter().map(|&id| 4 + name(id).len()).sum();
            let mut out = Vec::with_capacity(4 + bytes);
            out.extend_from_slice(&(ids.len() as i32).to_be_bytes());
            for &id in &ids {
                let n = name(id).as_bytes();
                out.extend_from_slice(&(n.len() as i32).to_be_bytes());
                out.extend_from_slice(n);
            }
            out.into_boxed_slice()
        })
    }

    /// Members in insertion order.
    pub fn iter_inserted(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.items.iter().copied()
    }

    /// Members in Java's iteration order: by bucket of the spread
    /// `String.hashCode` of the name under the current capacity, insertion
    /// order within a bucket. `name` gives a member's name. Computed at the
    /// first call after a change, then kept until the next change.
    pub fn java_ids<'a>(&self, name: impl Fn(NodeId) -> &'a str) -> &[NodeId] {
        self.java_order
            .get_or_init(|| self.compute_java_order(name).into_boxed_slice())
    }

    /// The same order, without keeping it: for walks over every parent (a
    /// snapshot), which would otherwise cache an order for each of them.
    pub fn java_order<'a>(&self, name: impl Fn(NodeId) -> &'a str) -> Vec<NodeId> {
        match self.java_order.get() {
            Some(order) => order.to_vec(),
            None => self.compute_java_order(name),
        }
    }

    fn compute_java_order<'a>(&self, name: impl Fn(NodeId) -> &'a str) -> Vec<NodeId> {
        bucket_order(self.items.clone(), self.capacity.mask(), |&id| {
            string_hash(name(id))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::super::java::JavaHashSet;
    use super::*;

    /// A kept order is dropped by every change: after each insert or
    /// removal the listing matches a fresh computation and Java's set.
    #[test]
    fn kept_order_follows_every_change() {
        let names: Vec<String> = (0..64).map(|i| format!("c{i}")).collect();
        let name = |id: NodeId| names[id as usize].as_str();
        let mut ids = ChildSet::with_java_capacity(4);
        let mut java = JavaHashSet::with_java_capacity(4);
        for i in 0..64u32 {
            ids.insert_new(i);
            java.insert(&names[i as usize]);
            if i % 5 == 4 {
                assert!(ids.remove(i - 2));
                assert!(java.remove(&names[(i - 2) as usize]));
            }
            let listed: Vec<&str> = ids.java_ids(name).iter().map(|&id| name(id)).collect();
            assert_eq!(listed, java.java_order_refs(), "after member {i}");
            assert_eq!(ids.java_ids(name), ids.compute_java_order(name).as_slice());
            let owned: Vec<String> = listed.iter().map(|n| n.to_string()).collect();
            assert_eq!(
                ids.listing(name),
                &jute::to_bytes(&owned)[..],
                "after member {i}"
            );
        }
    }

    /// Same history, same order as the name-based set it replaces.
    #[test]
    fn orders_as_java_hash_set_does() {
        let names: Vec<String> = (0..300).map(|i| format!("n{}", i * 7919 % 1000)).collect();
        let mut ids = ChildSet::with_java_capacity(8);
        let mut java = JavaHashSet::with_java_capacity(8);
        for (i, n) in names.iter().enumerate() {
            ids.insert_new(i as NodeId);
            java.insert(n);
            if i % 3 == 0 {
                let gone = (i / 2) as NodeId;
                if ids.remove(gone) {
                    assert!(java.remove(&names[gone as usize]));
                }
            }
        }
        let got: Vec<&str> = ids
            .java_order(|id| names[id as usize].as_str())
            .into_iter()
            .map(|id| names[id as usize].as_str())
            .collect();
        assert_eq!(got, java.java_order_refs());
        let cached: Vec<&str> = ids
            .java_ids(|id| names[id as usize].as_str())
            .iter()
            .map(|&id| names[id as usize].as_str())
            .collect();
        assert_eq!(cached, got);
        assert!(!ids.remove(100_000));
    }
}
