//! [`SessionInfo`]: the session state that outlives any one connection.
//!
//! Invariants:
//! - `id`, `password` and `timeout_ms` change only on a successful handshake.
//! - `last_zxid` is the zxid of the latest ordinary reply (pings, auth replies
//!   and notifications do not move it); it is sent as `lastZxidSeen` on resume.
//! - `expired` and `closed` are sticky: once set, no request is sent again.

use bytes::Bytes;
use parking_lot::Mutex;
use std::sync::atomic::{AtomicBool, AtomicI32, AtomicI64, Ordering};

/// Length of a session password.
pub const PASSWORD_LEN: usize = 16;

#[derive(Debug)]
pub(crate) struct SessionInfo {
    id: AtomicI64,
    password: Mutex<Bytes>,
    timeout_ms: AtomicI32,
    last_zxid: AtomicI64,
    expired: AtomicBool,
    closed: AtomicBool,
}

impl SessionInfo {
    pub(crate) fn new(id: i64, password: Bytes, last_zxid: i64) -> SessionInfo {
        SessionInfo {
            id: AtomicI64::new(id),
            password: Mutex::new(password),
            timeout_ms: AtomicI32::new(0),
            last_zxid: AtomicI64::new(last_zxid),
            expired: AtomicBool::new(false),
            closed: AtomicBool::new(false),
        }
    }

    pub(crate) fn id(&self) -> i64 {
        self.id.load(Ordering::Acquire)
    }

    pub(crate) fn password(&self) -> Bytes {
        self.password.lock().clone()
    }

    pub(crate) fn timeout_ms(&self) -> i32 {
        self.timeout_ms.load(Ordering::Acquire)
    }

    pub(crate) fn last_zxid(&self) -> i64 {
        self.last_zxid.load(Ordering::Acquire)
    }

    pub(crate) fn set_last_zxid(&self, zxid: i64) {
        self.last_zxid.store(zxid, Ordering::Release);
    }

    /// Records a successful handshake.
    pub(crate) fn established(&self, id: i64, password: Bytes, timeout_ms: i32) {
        *self.password.lock() = password;
        self.id.store(id, Ordering::Release);
        self.timeout_ms.store(timeout_ms, Ordering::Release);
    }

    pub(crate) fn is_expired(&self) -> bool {
        self.expired.load(Ordering::Acquire)
    }

    pub(crate) fn set_expired(&self) {
        self.expired.store(true, Ordering::Release);
    }

    pub(crate) fn is_closed(&self) -> bool {
        self.closed.load(Ordering::Acquire)
    }

    pub(crate) fn set_closed(&self) {
        self.closed.store(true, Ordering::Release);
    }
}
