//! The one error type of the wire codecs.

use std::fmt;

/// Bytes that are not what ZooKeeper would send. The connection that
/// carried them should be closed (ZooKeeper drops a malformed notification
/// and closes a learner/leader connection on a malformed packet).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum WireError {
    /// Fewer bytes than the format needs (a whole message was given).
    Truncated {
        what: &'static str,
        need: usize,
        have: usize,
    },
    /// A length prefix that is negative (other than null) or above its bound.
    BadLength {
        what: &'static str,
        len: i64,
        max: usize,
    },
    /// A value outside what the format allows (unknown state, type, ...).
    Invalid(String),
    /// A packet type ZooKeeper defines that this build does not speak
    /// (COMMITANDACTIVATE, INFORMANDACTIVATE: dynamic reconfiguration).
    Unsupported { type_: i32 },
    /// Bytes left over after a payload whose length is fixed.
    Trailing { what: &'static str, extra: usize },
}

impl fmt::Display for WireError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            WireError::Truncated { what, need, have } => {
                write!(f, "{what}: need {need} bytes, have {have}")
            }
            WireError::BadLength { what, len, max } => {
                write!(f, "{what}: unreasonable length {len} (max {max})")
            }
            WireError::Invalid(why) => write!(f, "{why}"),
            WireError::Unsupported { type_ } => {
                write!(f, "quorum packet type {type_} is not supported (reconfig)")
            }
            WireError::Trailing { what, extra } => {
                write!(f, "{what}: {extra} unexpected bytes after it")
            }
        }
    }
}

impl std::error::Error for WireError {}

impl From<WireError> for std::io::Error {
    fn from(e: WireError) -> std::io::Error {
        std::io::Error::new(std::io::ErrorKind::InvalidData, e)
    }
}
