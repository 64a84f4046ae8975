//! The session handshake: one `ConnectRequest` frame out (no request
//! header), one `ConnectResponse` frame back.
//!
//! Invariants:
//! - The response frame is bounded by `HANDSHAKE_MAX_BYTES` before any of it
//!   is buffered; a longer, negative or undecodable frame fails this host.
//! - A negotiated timeout of 0 or less means the server refused the session.

use bytes::{BufMut, Bytes, BytesMut};
use jute::proto::{ConnectRequest, ConnectResponse};
use jute::Record;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

/// Largest `ConnectResponse` frame accepted (a real one is 36 or 37 bytes).
pub const HANDSHAKE_MAX_BYTES: usize = 4096;

/// Sends `req` and reads the server's answer.
pub(crate) async fn handshake(
    stream: &mut TcpStream,
    req: &ConnectRequest,
) -> Result<ConnectResponse, String> {
    let body = jute::to_bytes(req);
    let mut frame = BytesMut::with_capacity(4 + body.len());
    frame.put_i32(body.len() as i32);
    frame.put_slice(&body);
    stream
        .write_all(&frame)
        .await
        .map_err(|e| format!("write: {e}"))?;

    let mut len = [0u8; 4];
    stream
        .read_exact(&mut len)
        .await
        .map_err(|e| format!("read: {e}"))?;
    let len = i32::from_be_bytes(len);
    if len < 0 || len as usize > HANDSHAKE_MAX_BYTES {
        return Err(format!("handshake reply length {len}"));
    }
    let mut payload = vec![0u8; len as usize];
    stream
        .read_exact(&mut payload)
        .await
        .map_err(|e| format!("read: {e}"))?;
    let mut payload = Bytes::from(payload);
    ConnectResponse::read(&mut payload).map_err(|e| format!("handshake reply: {e}"))
}
