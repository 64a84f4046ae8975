//! One established connection's two tasks (`SendWorker`, `RecvWorker`).
//! Either ending cancels the other and removes the connection from the
//! table (only if it is still the current one for its sid).

use super::Shared;
use crate::quorum::types::Sid;
use bytes::Bytes;
use std::sync::Arc;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::TcpStream;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

pub(super) fn spawn(
    shared: Arc<Shared>,
    sid: Sid,
    id: u64,
    stream: TcpStream,
    cancel: CancellationToken,
    wake: Arc<Notify>,
) {
    let (r, w) = stream.into_split();
    tokio::spawn(send_loop(shared.clone(), sid, id, w, cancel.clone(), wake));
    tokio::spawn(recv_loop(shared, sid, id, r, cancel));
}

/// `int length` then the payload, in one write.
async fn write_frame(w: &mut OwnedWriteHalf, payload: &Bytes) -> std::io::Result<()> {
    let mut buf = Vec::with_capacity(4 + payload.len());
    buf.extend_from_slice(&(payload.len() as i32).to_be_bytes());
    buf.extend_from_slice(payload);
    w.write_all(&buf).await
}

async fn send_loop(
    shared: Arc<Shared>,
    sid: Sid,
    id: u64,
    mut w: OwnedWriteHalf,
    cancel: CancellationToken,
    wake: Arc<Notify>,
) {
    // The last message may have died with the previous connection; resend
    // it unless something newer is queued (duplicates are harmless).
    let resend = {
        let st = shared.state.lock();
        st.peers
            .get(&sid)
            .filter(|p| p.queue.is_empty())
            .and_then(|p| p.last_sent.clone())
    };
    let mut ok = true;
    if let Some(b) = resend {
        tracing::debug!("Attempting to send lastMessage to sid={sid}");
        ok = tokio::select! {
            biased;
            _ = cancel.cancelled() => false,
            r = write_frame(&mut w, &b) => r.is_ok(),
        };
    }
    while ok && !cancel.is_cancelled() {
        // Register for a wake-up before looking, so a message queued in
        // between is not missed.
        let notified = wake.notified();
        tokio::pin!(notified);
        notified.as_mut().enable();
        let next = {
            let mut st = shared.state.lock();
            st.peers.get_mut(&sid).and_then(|p| {
                let b = p.queue.pop_front()?;
                p.last_sent = Some(b.clone());
                Some(b)
            })
        };
        ok = match next {
            Some(b) => tokio::select! {
                biased;
                _ = cancel.cancelled() => false,
                r = write_frame(&mut w, &b) => match r {
                    Ok(()) => true,
                    Err(e) => {
                        tracing::warn!("Exception when using channel: for id {sid} my id = {}: {e}", shared.cfg.my_sid);
                        false
                    }
                },
            },
            None => tokio::select! {
                biased;
                _ = cancel.cancelled() => false,
                _ = &mut notified => true,
            },
        };
    }
    cancel.cancel();
    shared.finish(sid, id);
}

async fn read_frame(r: &mut OwnedReadHalf, max: usize) -> std::io::Result<Bytes> {
    let len = r.read_i32().await?;
    if len <= 0 || len as usize > max {
        return Err(std::io::Error::new(
            std::io::ErrorKind::InvalidData,
            format!("Received packet with invalid packet: {len}"),
        ));
    }
    let mut buf = vec![0u8; len as usize];
    r.read_exact(&mut buf).await?;
    Ok(Bytes::from(buf))
}

async fn recv_loop(
    shared: Arc<Shared>,
    sid: Sid,
    id: u64,
    mut r: OwnedReadHalf,
    cancel: CancellationToken,
) {
    let max = shared.cfg.packet_max_size_bytes;
    loop {
        let frame = tokio::select! {
            biased;
            _ = cancel.cancelled() => break,
            f = read_frame(&mut r, max) => f,
        };
        match frame {
            Ok(b) => shared.recv.push(sid, b),
            Err(e) => {
                tracing::warn!(
                    "Connection broken for id {sid}, my id = {}: {e}",
                    shared.cfg.my_sid
                );
                break;
            }
        }
    }
    cancel.cancel();
    shared.finish(sid, id);
}
