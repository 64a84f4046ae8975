//! A node's children as node ids, iterating in the order a
//! `java.util.HashSet<String>` of their names with the same history would
//! (ZooKeeper's `DataNode.children`; clients see the order in getChildren
//! and snapshots are written in it). The same rule as
//! [`JavaHashSet`](super::java::JavaHashSet), over 4-byte ids instead of
//! owned names: the names live once, in the nodes.
//!
//! Invariants: each id at most once; `items` in insertion order (a re-added
//! child goes to the end); the capacity follows the largest size the set has
//! ever had (a Java `HashMap` never shrinks).

use super::java::{bucket_order, string_hash, JavaCapacity};
use super::node::NodeId;

/// Child ids of one node.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ChildSet {
    items: Vec<NodeId>,
    capacity: JavaCapacity,
}

impl ChildSet {
    /// An empty set as `new HashSet<>(initial_capacity)` would be.
    pub fn with_java_capacity(initial_capacity: usize) -> ChildSet {
        ChildSet {
            items: Vec::new(),
            capacity: JavaCapacity::new(initial_capacity),
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
    }

    /// Removes `id`; false if it was not there.
    pub fn remove(&mut self, id: NodeId) -> bool {
        match self.items.iter().position(|&x| x == id) {
            Some(i) => {
                self.items.remove(i);
                true
            }
            None => false,
        }
    }

    /// Members in insertion order.
    pub fn iter_inserted(&self) -> impl Iterator<Item = NodeId> + '_ {
        self.items.iter().copied()
    }

    /// Members in Java's iteration order: by bucket of the spread
    /// `String.hashCode` of the name under the current capacity, insertion
    /// order within a bucket. `name` gives a member's name.
    pub fn java_order<'a>(&self, name: impl Fn(NodeId) -> &'a str) -> Vec<NodeId> {
        let names: Vec<&str> = self.items.iter().map(|&id| name(id)).collect();
        self.java_order_of(&names)
            .into_iter()
            .map(|i| self.items[i])
            .collect()
    }

    /// The same order as positions into `names`, the members' names in
    /// insertion order (gathered first by the caller: the lookups of many
    /// children then overlap in memory instead of waiting one by one).
    pub fn java_order_of(&self, names: &[&str]) -> Vec<usize> {
        debug_assert_eq!(names.len(), self.items.len());
        let positions = (0..names.len()).collect();
        bucket_order(positions, self.capacity.mask(), |&i| string_hash(names[i]))
    }
}

#[cfg(test)]
mod tests {
    use super::super::java::JavaHashSet;
    use super::*;

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
        assert!(!ids.remove(100_000));
    }
}
