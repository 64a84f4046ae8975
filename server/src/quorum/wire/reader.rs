//! A bounds-checked big-endian reader over a byte slice: every read says
//! what it was reading, and running short is a [`WireError::Truncated`].

use super::WireError;

pub(crate) struct Reader<'a> {
    buf: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    pub(crate) fn new(buf: &'a [u8]) -> Self {
        Reader { buf, pos: 0 }
    }

    pub(crate) fn pos(&self) -> usize {
        self.pos
    }

    pub(crate) fn remaining(&self) -> usize {
        self.buf.len() - self.pos
    }

    pub(crate) fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], WireError> {
        if self.remaining() < n {
            return Err(WireError::Truncated {
                what,
                need: n,
                have: self.remaining(),
            });
        }
        let s = &self.buf[self.pos..self.pos + n];
        self.pos += n;
        Ok(s)
    }

    pub(crate) fn i32(&mut self, what: &'static str) -> Result<i32, WireError> {
        let b = self.take(4, what)?;
        Ok(i32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }

    pub(crate) fn i64(&mut self, what: &'static str) -> Result<i64, WireError> {
        let b = self.take(8, what)?;
        let mut a = [0u8; 8];
        a.copy_from_slice(b);
        Ok(i64::from_be_bytes(a))
    }

    /// A jute `buffer`/`ustring` length: `None` for null (−1); anything else
    /// negative, or above `max`, is [`WireError::BadLength`]. The bytes
    /// themselves are not checked here (a streaming caller may wait for them).
    pub(crate) fn len(
        &mut self,
        what: &'static str,
        max: usize,
    ) -> Result<Option<usize>, WireError> {
        let len = self.i32(what)?;
        if len == -1 {
            return Ok(None);
        }
        if len < 0 || len as usize > max {
            return Err(WireError::BadLength {
                what,
                len: i64::from(len),
                max,
            });
        }
        Ok(Some(len as usize))
    }

    /// A length-prefixed byte array (null → `None`).
    pub(crate) fn buffer(
        &mut self,
        what: &'static str,
        max: usize,
    ) -> Result<Option<&'a [u8]>, WireError> {
        match self.len(what, max)? {
            None => Ok(None),
            Some(n) => self.take(n, what).map(Some),
        }
    }

    /// A jute `ustring` (null reads as empty; malformed UTF-8 is replaced,
    /// as Java's decoder does).
    pub(crate) fn string(&mut self, what: &'static str, max: usize) -> Result<String, WireError> {
        Ok(match self.buffer(what, max)? {
            None => String::new(),
            Some(b) => String::from_utf8_lossy(b).into_owned(),
        })
    }

    /// Fails if anything is left.
    pub(crate) fn end(&self, what: &'static str) -> Result<(), WireError> {
        match self.remaining() {
            0 => Ok(()),
            extra => Err(WireError::Trailing { what, extra }),
        }
    }
}
