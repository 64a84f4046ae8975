//! The reader task: decodes frames and hands each to [`ConnShared::on_frame`].
//!
//! Invariants:
//! - Frames are bounded by the client's `max_frame_bytes` before buffering.
//! - End of stream, a socket error, a malformed frame, an unmatched reply, or
//!   silence for longer than the read timeout all end the connection with
//!   `ConnectionLoss`; nothing the server sends can panic this task.

use super::shared::ConnShared;
use futures::StreamExt;
use jute::FrameCodec;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::tcp::OwnedReadHalf;
use tokio_util::codec::FramedRead;

/// Runs until the connection ends.
pub(crate) async fn run(
    shared: Arc<ConnShared>,
    input: OwnedReadHalf,
    max_frame_bytes: usize,
    read_timeout: Duration,
) {
    let mut frames = FramedRead::new(input, FrameCodec::new(max_frame_bytes));
    loop {
        let next = tokio::select! {
            biased;
            _ = shared.cancelled() => return,
            r = tokio::time::timeout(read_timeout, frames.next()) => r,
        };
        let why = match next {
            Ok(Some(Ok(frame))) => match shared.on_frame(frame) {
                Ok(()) => continue,
                Err(why) => why,
            },
            Ok(Some(Err(e))) => format!("bad frame: {e}"),
            Ok(None) => "server closed the connection".to_string(),
            Err(_) => format!("nothing received for {read_timeout:?}"),
        };
        shared.abort(&why);
        return;
    }
}
