//! [`ZkError`]: what a client call can fail with.
//!
//! Invariants:
//! - [`ZkError::Api`] and [`ZkError::UnknownCode`] mean the server processed
//!   the request and answered a non-zero error code; every other variant is a
//!   transport or local problem and says nothing about whether the server
//!   applied the request.
//! - The error is `Clone` so one connection failure can be handed to every
//!   caller that was waiting on that connection.

use jute::ErrorCode;
use std::fmt;

/// A failed client call.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ZkError {
    /// The server answered with this error code in the reply header.
    Api(ErrorCode),
    /// The server answered with an error code ZooKeeper does not define.
    UnknownCode(i32),
    /// The connection broke (or a reply was malformed) before the reply arrived.
    ConnectionLoss,
    /// The server refused to resume the session (negotiated timeout 0).
    SessionExpired,
    /// The client was closed with [`Client::close`](crate::Client::close).
    Closed,
    /// No host in the connect string could be reached or completed the handshake.
    ConnectFailed(String),
    /// The connect string could not be parsed.
    InvalidConnectString(String),
    /// A caller-supplied argument can never be sent (e.g. the notification xid).
    InvalidArgument(String),
}

impl ZkError {
    /// The error for a non-zero reply-header code.
    pub fn from_code(code: i32) -> ZkError {
        match ErrorCode::from_i32(code) {
            Some(c) => ZkError::Api(c),
            None => ZkError::UnknownCode(code),
        }
    }

    /// The server's error code, if the server answered one.
    pub fn api_code(&self) -> Option<ErrorCode> {
        match self {
            ZkError::Api(c) => Some(*c),
            _ => None,
        }
    }

    /// The wire code this error corresponds to, as Apache's client reports it
    /// (`ConnectionLoss` −4, `SessionExpired` −112, server codes verbatim).
    pub fn code(&self) -> Option<i32> {
        match self {
            ZkError::Api(c) => Some(c.code()),
            ZkError::UnknownCode(c) => Some(*c),
            ZkError::ConnectionLoss => Some(ErrorCode::ConnectionLoss.code()),
            ZkError::SessionExpired => Some(ErrorCode::SessionExpired.code()),
            _ => None,
        }
    }

    /// True for a server answer with exactly this code.
    pub fn is(&self, code: ErrorCode) -> bool {
        self.api_code() == Some(code)
    }
}

impl fmt::Display for ZkError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ZkError::Api(c) => write!(f, "server error {c} ({})", c.code()),
            ZkError::UnknownCode(c) => write!(f, "unknown server error code {c}"),
            ZkError::ConnectionLoss => write!(f, "connection loss"),
            ZkError::SessionExpired => write!(f, "session expired"),
            ZkError::Closed => write!(f, "client closed"),
            ZkError::ConnectFailed(why) => write!(f, "could not connect: {why}"),
            ZkError::InvalidConnectString(why) => write!(f, "invalid connect string: {why}"),
            ZkError::InvalidArgument(why) => write!(f, "invalid argument: {why}"),
        }
    }
}

impl std::error::Error for ZkError {}

impl From<ErrorCode> for ZkError {
    fn from(code: ErrorCode) -> Self {
        ZkError::Api(code)
    }
}
