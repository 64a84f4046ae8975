//! Jute primitives: `int`, `long`, `boolean`, `buffer`, `ustring`, `vector<T>`,
//! and the [`Record`] trait with the [`jute_record!`](crate::jute_record) macro
//! that declares a record as a plain concatenation of its fields.
//!
//! Null encodings: a `buffer` of length −1 is `None`; a `ustring` of length −1
//! reads as the empty string (ZooKeeper validates paths before use, so the
//! distinction never reaches a reply); a `vector` of count −1 reads as empty.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use std::fmt;

/// Why a record could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum JuteError {
    /// The input ended before the record did.
    Incomplete,
    /// The input is not a valid encoding.
    Invalid(&'static str),
    /// A length prefix exceeds the configured maximum.
    TooLarge { len_bytes: i64, max_bytes: usize },
}

impl fmt::Display for JuteError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            JuteError::Incomplete => write!(f, "record truncated"),
            JuteError::Invalid(why) => write!(f, "invalid record: {why}"),
            JuteError::TooLarge {
                len_bytes,
                max_bytes,
            } => {
                write!(
                    f,
                    "length {len_bytes} exceeds the maximum of {max_bytes} bytes"
                )
            }
        }
    }
}

impl std::error::Error for JuteError {}

/// A jute record: serialized as the concatenation of its fields.
pub trait Record: Sized {
    /// Appends the encoding of `self` to `buf`.
    fn write(&self, buf: &mut BytesMut);
    /// Reads one record from the front of `buf`, advancing it.
    fn read(buf: &mut Bytes) -> Result<Self, JuteError>;
}

fn need(buf: &Bytes, n: usize) -> Result<(), JuteError> {
    if buf.remaining() < n {
        Err(JuteError::Incomplete)
    } else {
        Ok(())
    }
}

impl Record for i32 {
    fn write(&self, buf: &mut BytesMut) {
        buf.put_i32(*self);
    }
    fn read(buf: &mut Bytes) -> Result<Self, JuteError> {
        need(buf, 4)?;
        Ok(buf.get_i32())
    }
}

impl Record for i64 {
    fn write(&self, buf: &mut BytesMut) {
        buf.put_i64(*self);
    }
    fn read(buf: &mut Bytes) -> Result<Self, JuteError> {
        need(buf, 8)?;
        Ok(buf.get_i64())
    }
}

impl Record for bool {
    fn write(&self, buf: &mut BytesMut) {
        buf.put_u8(u8::from(*self));
    }
    fn read(buf: &mut Bytes) -> Result<Self, JuteError> {
        need(buf, 1)?;
        // Java's readBoolean treats any non-zero byte as true.
        Ok(buf.get_u8() != 0)
    }
}

/// Reads a length prefix; −1 means null. Any other negative length, or one
/// longer than what remains, is rejected before allocation.
fn read_len(buf: &mut Bytes) -> Result<Option<usize>, JuteError> {
    let len = i32::read(buf)?;
    if len == -1 {
        return Ok(None);
    }
    if len < 0 {
        return Err(JuteError::Invalid("negative length"));
    }
    let len = len as usize;
    need(buf, len)?;
    Ok(Some(len))
}

/// A jute `buffer`: `None` is the null buffer (length −1).
impl Record for Option<Bytes> {
    fn write(&self, buf: &mut BytesMut) {
        match self {
            None => buf.put_i32(-1),
            Some(b) => {
                buf.put_i32(b.len() as i32);
                buf.put_slice(b);
            }
        }
    }
    fn read(buf: &mut Bytes) -> Result<Self, JuteError> {
        Ok(read_len(buf)?.map(|len| buf.split_to(len)))
    }
}

/// A jute `ustring`. Null reads as empty.
impl Record for String {
    fn write(&self, buf: &mut BytesMut) {
        buf.put_i32(self.len() as i32);
        buf.put_slice(self.as_bytes());
    }
    fn read(buf: &mut Bytes) -> Result<Self, JuteError> {
        match read_len(buf)? {
            None => Ok(String::new()),
            Some(len) => {
                // Decoded from the slice, then skipped: `split_to` would
                // touch the buffer's shared count twice per string.
                let raw = &buf[..len];
                let s = match std::str::from_utf8(raw) {
                    Ok(s) => s.to_owned(),
                    // Java decodes malformed UTF-8 with replacement
                    // characters; so do we.
                    Err(_) => String::from_utf8_lossy(raw).into_owned(),
                };
                buf.advance(len);
                Ok(s)
            }
        }
    }
}

/// A jute `vector<T>`. Null reads as empty. The count is bounded by the bytes
/// remaining (every element takes at least one byte) before reserving memory.
impl<T: Record> Record for Vec<T> {
    fn write(&self, buf: &mut BytesMut) {
        buf.put_i32(self.len() as i32);
        for item in self {
            item.write(buf);
        }
    }
    fn read(buf: &mut Bytes) -> Result<Self, JuteError> {
        let count = i32::read(buf)?;
        if count == -1 {
            return Ok(Vec::new());
        }
        if count < 0 {
            return Err(JuteError::Invalid("negative vector count"));
        }
        let count = count as usize;
        need(buf, count)?;
        // Reserve only what the remaining input could possibly hold, so a
        // large declared count never costs more memory than the frame.
        let fit = buf.remaining() / std::mem::size_of::<T>().max(1);
        let mut out = Vec::with_capacity(count.min(fit));
        for _ in 0..count {
            out.push(T::read(buf)?);
        }
        Ok(out)
    }
}

/// Declares a jute record: a struct whose encoding is its fields in order.
#[macro_export]
macro_rules! jute_record {
    ($(#[$meta:meta])* $name:ident { $($(#[$fmeta:meta])* $field:ident : $ty:ty),* $(,)? }) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Eq, Hash, Default)]
        pub struct $name {
            $($(#[$fmeta])* pub $field: $ty,)*
        }
        impl $crate::prim::Record for $name {
            #[allow(unused_variables)]
            fn write(&self, buf: &mut ::bytes::BytesMut) {
                $($crate::prim::Record::write(&self.$field, buf);)*
            }
            #[allow(unused_variables)]
            fn read(buf: &mut ::bytes::Bytes) -> Result<Self, $crate::prim::JuteError> {
                Ok($name { $($field: <$ty as $crate::prim::Record>::read(buf)?,)* })
            }
        }
    };
}
