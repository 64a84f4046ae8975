//! ZooKeeper's jute records: the client protocol, the txn records, and the
//! on-disk and quorum records, encoded exactly as Apache ZooKeeper's
//! `BinaryOutputArchive` writes them.
//!
//! Invariants:
//! - No I/O and no tokio runtime: this crate only turns bytes into records and
//!   back (and, in [`java_date`], renders the records' times as ZooKeeper's
//!   Java tools print them).
//! - Every length read from the wire is checked against the bytes remaining
//!   *before* anything is allocated, and vectors reserve only what the
//!   remaining bytes could hold, so hostile input costs at most a small
//!   constant multiple of the frame it arrived in (decoded elements are larger
//!   than their encodings: a 4-byte null string becomes a `String`).
//! - `read(write(x)) == x` for every record (proptest-checked in `tests/`).

pub mod data;
pub mod error_code;
pub mod frame;
pub mod java_date;
pub mod multi;
pub mod op_code;
pub mod persistence;
pub mod prim;
pub mod proto;
pub mod quorum;
pub mod txn;

pub use error_code::ErrorCode;
pub use frame::{FrameCodec, DEFAULT_MAX_BUFFER};
pub use op_code::OpCode;
pub use prim::{JuteError, Record};

use bytes::{Bytes, BytesMut};

/// Serializes a record into a fresh buffer.
pub fn to_bytes<R: Record>(record: &R) -> Bytes {
    let mut buf = BytesMut::new();
    record.write(&mut buf);
    buf.freeze()
}

/// Deserializes one record from the start of `bytes`; trailing bytes are left in place.
pub fn from_bytes<R: Record>(bytes: &mut Bytes) -> Result<R, JuteError> {
    R::read(bytes)
}
