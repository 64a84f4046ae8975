//! One znode as the data tree stores it, packed for memory (ARCHITECTURE.md,
//! decision 9): at 10^6 znodes every byte here is a megabyte.
//!
//! Layout: the node's name (its last path component, not the full path) and
//! its data share one exact-size heap allocation, `bytes` =
//! `varint(name_len << 1 | has_data) ‖ name ‖ data`; the `StatPersisted`
//! fields are flattened into the node so that its 4-byte fields share padding
//! with the others (a nested `StatPersisted` is 64 bytes, 4 of them padding).
//! The node knows its parent by [`NodeId`]; children are ids too
//! ([`ChildSet`]). `size_of::<Node>()` is 96 bytes.
//!
//! Invariants:
//! - `bytes` always holds a valid header and a valid UTF-8 name; the root's
//!   name is empty, every other node's is not.
//! - `data()` is `None` exactly when the node was given no data (a snapshot
//!   writes it as length −1), which is distinct from empty data.
//! - A node in a free slot of the store has `parent == FREE`.

use super::child_set::ChildSet;
use super::ephemeral::{ephemeral_type, EphemeralType};
use jute::data::{Stat, StatPersisted};

/// A node's slot in the [`NodeStore`](super::node_store::NodeStore).
pub type NodeId = u32;
/// The root's slot; it is never freed.
pub const ROOT: NodeId = 0;
/// The parent of a node in a free slot (and of nothing else).
pub(crate) const FREE: NodeId = NodeId::MAX;

/// One znode.
#[derive(Debug, Clone)]
pub struct Node {
    /// `varint(name_len << 1 | has_data) ‖ name ‖ data`, exactly sized: never
    /// a slice of a received frame, which would pin the connection's buffer.
    bytes: Box<[u8]>,
    /// Index into the ACL cache.
    pub acl: i64,
    pub(crate) czxid: i64,
    pub(crate) mzxid: i64,
    pub(crate) ctime: i64,
    pub(crate) mtime: i64,
    pub(crate) pzxid: i64,
    pub(crate) ephemeral_owner: i64,
    pub(crate) version: i32,
    /// Child *creates*, as ZooKeeper counts them (see [`Node::client_stat`]).
    pub(crate) cversion: i32,
    pub(crate) aversion: i32,
    /// The parent's slot; the root's parent is itself; [`FREE`] for a free slot.
    pub(crate) parent: NodeId,
    /// `None` until the first child is added.
    pub(crate) children: Option<Box<ChildSet>>,
}

/// Writes `v` as LEB128.
fn put_varint(out: &mut Vec<u8>, mut v: usize) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

/// Reads a LEB128 value: (value, bytes used).
fn get_varint(b: &[u8]) -> (usize, usize) {
    let mut v = 0usize;
    for (i, &byte) in b.iter().enumerate() {
        v |= ((byte & 0x7f) as usize) << (7 * i);
        if byte & 0x80 == 0 {
            return (v, i + 1);
        }
    }
    (v, b.len())
}

/// Bytes of `v` as LEB128.
fn varint_len(mut v: usize) -> usize {
    let mut n = 1;
    while v >= 0x80 {
        v >>= 7;
        n += 1;
    }
    n
}

fn pack(name: &[u8], data: Option<&[u8]>) -> Box<[u8]> {
    let tag = (name.len() << 1) | usize::from(data.is_some());
    let len = varint_len(tag) + name.len() + data.map_or(0, <[u8]>::len);
    // Allocated at the exact size, so turning it into a box does not
    // reallocate (a spare byte would make `into_boxed_slice` shrink it).
    let mut v = Vec::with_capacity(len);
    put_varint(&mut v, tag);
    v.extend_from_slice(name);
    if let Some(d) = data {
        v.extend_from_slice(d);
    }
    debug_assert_eq!(v.len(), len);
    v.into_boxed_slice()
}

impl Node {
    /// A node named `name` under `parent`, with `stat`'s fields.
    pub(crate) fn new(
        parent: NodeId,
        name: &str,
        data: Option<&[u8]>,
        acl: i64,
        stat: &StatPersisted,
    ) -> Node {
        Node {
            bytes: pack(name.as_bytes(), data),
            acl,
            czxid: stat.czxid,
            mzxid: stat.mzxid,
            ctime: stat.ctime,
            mtime: stat.mtime,
            pzxid: stat.pzxid,
            ephemeral_owner: stat.ephemeral_owner,
            version: stat.version,
            cversion: stat.cversion,
            aversion: stat.aversion,
            parent,
            children: None,
        }
    }

    /// What a freed slot holds: no allocation, parent [`FREE`].
    pub(crate) fn free_slot() -> Node {
        Node {
            bytes: Box::default(),
            acl: 0,
            czxid: 0,
            mzxid: 0,
            ctime: 0,
            mtime: 0,
            pzxid: 0,
            ephemeral_owner: 0,
            version: 0,
            cversion: 0,
            aversion: 0,
            parent: FREE,
            children: None,
        }
    }

    /// (header length, name length, has data).
    fn header(&self) -> (usize, usize, bool) {
        let (v, used) = get_varint(&self.bytes);
        (used, v >> 1, v & 1 == 1)
    }

    /// The name's bytes (the last path component; empty for the root).
    pub(crate) fn name_bytes(&self) -> &[u8] {
        let (h, n, _) = self.header();
        &self.bytes[h..h + n]
    }

    /// The name (the last path component; empty for the root).
    pub fn name(&self) -> &str {
        // Built from a `&str`, so always valid.
        std::str::from_utf8(self.name_bytes()).unwrap_or_default()
    }

    /// The data; `None` when the node was created without any.
    pub fn data(&self) -> Option<&[u8]> {
        let (h, n, has) = self.header();
        has.then(|| &self.bytes[h + n..])
    }

    /// Length of the data (0 when there is none).
    pub fn data_len(&self) -> usize {
        let (h, n, _) = self.header();
        self.bytes.len() - h - n
    }

    /// Replaces the data, keeping the name.
    pub(crate) fn set_data(&mut self, data: Option<&[u8]>) {
        let (h, n, had_data) = self.header();
        match data {
            // Same presence and length (the common setData): overwritten in
            // place, with no new allocation.
            Some(d) if had_data && self.bytes.len() - h - n == d.len() => {
                self.bytes[h + n..].copy_from_slice(d);
            }
            _ => self.bytes = pack(&self.bytes[h..h + n], data),
        }
    }

    /// The persisted stat (what a snapshot stores).
    pub fn stat(&self) -> StatPersisted {
        StatPersisted {
            czxid: self.czxid,
            mzxid: self.mzxid,
            ctime: self.ctime,
            mtime: self.mtime,
            version: self.version,
            cversion: self.cversion,
            aversion: self.aversion,
            ephemeral_owner: self.ephemeral_owner,
            pzxid: self.pzxid,
        }
    }

    /// The owner field as stored (session id, or a container/TTL marker).
    pub fn ephemeral_owner(&self) -> i64 {
        self.ephemeral_owner
    }

    /// Number of children.
    pub fn num_children(&self) -> usize {
        self.children.as_ref().map_or(0, |c| c.len())
    }

    /// The Stat clients see (`DataNode.copyStat`).
    pub fn client_stat(&self, extended_types_enabled: bool) -> Stat {
        let n = self.num_children() as i32;
        let owner = if ephemeral_type(self.ephemeral_owner, extended_types_enabled)
            == EphemeralType::Normal
        {
            self.ephemeral_owner
        } else {
            0
        };
        Stat {
            czxid: self.czxid,
            mzxid: self.mzxid,
            ctime: self.ctime,
            mtime: self.mtime,
            version: self.version,
            cversion: self.cversion.wrapping_mul(2).wrapping_sub(n),
            aversion: self.aversion,
            ephemeral_owner: owner,
            data_length: self.data_len() as i32,
            num_children: n,
            pzxid: self.pzxid,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn node_is_compact() {
        assert!(
            std::mem::size_of::<Node>() <= 96,
            "{}",
            std::mem::size_of::<Node>()
        );
    }

    #[test]
    fn name_and_data_share_one_allocation() {
        let st = StatPersisted::default();
        let n = Node::new(ROOT, "abc", Some(b"xyz"), -1, &st);
        assert_eq!((n.name(), n.data()), ("abc", Some(&b"xyz"[..])));
        let mut n = Node::new(ROOT, "abc", None, -1, &st);
        assert_eq!((n.name(), n.data(), n.data_len()), ("abc", None, 0));
        n.set_data(Some(b""));
        assert_eq!((n.name(), n.data()), ("abc", Some(&b""[..])));
        let long = "n".repeat(300);
        let mut n = Node::new(ROOT, &long, Some(&[7u8; 1000]), -1, &st);
        assert_eq!((n.name(), n.data_len()), (long.as_str(), 1000));
        n.set_data(None);
        assert_eq!((n.name(), n.data()), (long.as_str(), None));
        assert_eq!(Node::new(ROOT, "", Some(b""), -1, &st).name(), "");
    }

    /// Data of the same length replaces the old in place; any other change
    /// of length or presence repacks. Either way name and data read back.
    #[test]
    fn set_data_in_place_and_repacked() {
        let st = StatPersisted::default();
        let mut n = Node::new(ROOT, "name", Some(b"abc"), -1, &st);
        let at = n.bytes.as_ptr();
        n.set_data(Some(b"xyz"));
        assert_eq!((n.name(), n.data()), ("name", Some(&b"xyz"[..])));
        assert_eq!(n.bytes.as_ptr(), at, "same length: in place");
        for data in [
            Some(&b"longer"[..]),
            Some(b""),
            None,
            Some(b""),
            Some(b"ab"),
        ] {
            n.set_data(data);
            assert_eq!((n.name(), n.data()), ("name", data));
            assert_eq!(n.bytes.len(), 1 + 4 + data.map_or(0, <[u8]>::len));
        }
        // A 200-byte name takes a two-byte header.
        let long = "m".repeat(200);
        let mut n = Node::new(ROOT, &long, None, -1, &st);
        n.set_data(Some(&[1u8; 64]));
        n.set_data(Some(&[2u8; 64]));
        assert_eq!((n.name(), n.data()), (long.as_str(), Some(&[2u8; 64][..])));
        assert_eq!(n.bytes.len(), 2 + 200 + 64);
    }
}
