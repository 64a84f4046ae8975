//! [`NodeData`]: what may be passed as znode data.
//!
//! Invariant: null data (jute buffer length −1) and empty data (length 0) are
//! distinct on the wire and stay distinct here: `None`/[`NO_DATA`] is null,
//! `b""` is empty.

use bytes::Bytes;

/// Null znode data (a jute buffer of length −1).
pub const NO_DATA: Option<Bytes> = None;

/// A value usable as znode data; `None` means null data.
pub trait NodeData {
    /// The jute `buffer` to send.
    fn into_node_data(self) -> Option<Bytes>;
}

impl NodeData for Bytes {
    fn into_node_data(self) -> Option<Bytes> {
        Some(self)
    }
}

impl NodeData for &Bytes {
    fn into_node_data(self) -> Option<Bytes> {
        Some(self.clone())
    }
}

impl NodeData for Vec<u8> {
    fn into_node_data(self) -> Option<Bytes> {
        Some(Bytes::from(self))
    }
}

impl NodeData for &[u8] {
    fn into_node_data(self) -> Option<Bytes> {
        Some(Bytes::copy_from_slice(self))
    }
}

impl<const N: usize> NodeData for &[u8; N] {
    fn into_node_data(self) -> Option<Bytes> {
        Some(Bytes::copy_from_slice(self))
    }
}

impl NodeData for &str {
    fn into_node_data(self) -> Option<Bytes> {
        Some(Bytes::copy_from_slice(self.as_bytes()))
    }
}

impl NodeData for String {
    fn into_node_data(self) -> Option<Bytes> {
        Some(Bytes::from(self.into_bytes()))
    }
}

impl<T: NodeData> NodeData for Option<T> {
    fn into_node_data(self) -> Option<Bytes> {
        self.and_then(NodeData::into_node_data)
    }
}
