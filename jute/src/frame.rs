//! Length-prefixed frames: a 4-byte big-endian length, then the payload.
//! The decoder refuses a length over `max_frame_bytes` (ZooKeeper's
//! `jute.maxbuffer`) before buffering any of it, and any negative length.

use crate::prim::JuteError;
use bytes::{Buf, BufMut, Bytes, BytesMut};
use tokio_util::codec::{Decoder, Encoder};

/// ZooKeeper's default `jute.maxbuffer`: 0xfffff bytes.
pub const DEFAULT_MAX_BUFFER: usize = 0xfffff;

/// Frame codec bounded by `max_frame_bytes`.
#[derive(Debug, Clone)]
pub struct FrameCodec {
    max_frame_bytes: usize,
}

impl FrameCodec {
    /// A codec refusing frames longer than `max_frame_bytes`.
    pub fn new(max_frame_bytes: usize) -> FrameCodec {
        FrameCodec { max_frame_bytes }
    }
}

/// Why a frame could not be decoded: bad framing or the socket failed.
#[derive(Debug)]
pub enum FrameError {
    Jute(JuteError),
    Io(std::io::Error),
}

impl std::fmt::Display for FrameError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            FrameError::Jute(e) => write!(f, "{e}"),
            FrameError::Io(e) => write!(f, "{e}"),
        }
    }
}

impl std::error::Error for FrameError {}

impl From<std::io::Error> for FrameError {
    fn from(e: std::io::Error) -> Self {
        FrameError::Io(e)
    }
}

impl Decoder for FrameCodec {
    type Item = Bytes;
    type Error = FrameError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Bytes>, FrameError> {
        if src.len() < 4 {
            return Ok(None);
        }
        let len = i32::from_be_bytes([src[0], src[1], src[2], src[3]]);
        if len < 0 {
            return Err(FrameError::Jute(JuteError::Invalid(
                "negative frame length",
            )));
        }
        let len = len as usize;
        if len > self.max_frame_bytes {
            return Err(FrameError::Jute(JuteError::TooLarge {
                len_bytes: len as i64,
                max_bytes: self.max_frame_bytes,
            }));
        }
        if src.len() < 4 + len {
            // No reserve for what the header claims: the buffer grows with the
            // data actually arriving, so 4 bytes never cost a megabyte.
            return Ok(None);
        }
        src.advance(4);
        Ok(Some(src.split_to(len).freeze()))
    }
}

impl Encoder<Bytes> for FrameCodec {
    type Error = FrameError;

    fn encode(&mut self, item: Bytes, dst: &mut BytesMut) -> Result<(), FrameError> {
        dst.reserve(4 + item.len());
        dst.put_i32(item.len() as i32);
        dst.put_slice(&item);
        Ok(())
    }
}

/// Builds one frame from a header and a body record, with the length prefix.
pub fn frame_of(parts: &[&dyn Fn(&mut BytesMut)]) -> Bytes {
    let mut buf = BytesMut::with_capacity(64);
    buf.put_i32(0);
    for part in parts {
        part(&mut buf);
    }
    let len = (buf.len() - 4) as i32;
    buf[..4].copy_from_slice(&len.to_be_bytes());
    buf.freeze()
}
