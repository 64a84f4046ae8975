//! Typed methods on [`Client`](crate::Client), one per opcode, grouped by topic.
//!
//! Invariants shared by every method here:
//! - Paths are sent with the chroot prefixed and returned with it stripped.
//! - Paths are not validated client-side: a bad path reaches the server and
//!   comes back as the server's error code (useful for testing servers).
//! - A non-zero reply code is `Err(ZkError::Api(code))`; the only exception is
//!   `exists`, where NoNode is `Ok(None)`.

mod multi;
mod node;
mod session;
mod tree;
mod watch;
