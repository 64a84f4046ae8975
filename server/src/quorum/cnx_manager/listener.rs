//! Accepting on the election port (`QuorumCnxManager.Listener`): each
//! incoming socket gets its own task that reads the handshake within
//! `handshake_timeout_ms` and hands the socket to `Shared::handle_connection`.
//! At most `max_pending_handshakes` such tasks exist; a socket beyond that
//! is closed at once.

use super::handshake;
use super::{HandshakeRecord, Shared};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::{TcpListener, TcpStream};

/// Pause after a failed `accept` (e.g. out of file descriptors), so the
/// loop does not spin.
const ACCEPT_ERROR_PAUSE: Duration = Duration::from_millis(100);

pub(super) async fn accept_loop(shared: Arc<Shared>, listener: TcpListener) {
    loop {
        let accepted = tokio::select! {
            _ = shared.shutdown.cancelled() => return,
            r = listener.accept() => r,
        };
        let (stream, remote) = match accepted {
            Ok(x) => x,
            Err(e) => {
                tracing::error!("Exception while listening: {e}");
                tokio::time::sleep(ACCEPT_ERROR_PAUSE).await;
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        tracing::info!("Received connection request from {remote}");
        let Ok(permit) = shared.handshake_slots.clone().try_acquire_owned() else {
            tracing::warn!(
                "Closing connection from {remote}: {} handshakes already pending",
                shared.cfg.max_pending_handshakes
            );
            continue;
        };
        let shared = shared.clone();
        tokio::spawn(async move {
            let _permit = permit;
            receive_connection(shared, stream, remote).await;
        });
    }
}

async fn receive_connection(shared: Arc<Shared>, mut stream: TcpStream, remote: SocketAddr) {
    let limit = Duration::from_millis(shared.cfg.handshake_timeout_ms);
    let read = tokio::select! {
        _ = shared.shutdown.cancelled() => return,
        r = tokio::time::timeout(limit, handshake::read(&mut stream)) => r,
    };
    let outcome = match read {
        Ok(Ok(hs)) => Ok(hs),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!(
            "no handshake within {} ms",
            shared.cfg.handshake_timeout_ms
        )),
    };
    shared.record_handshake(HandshakeRecord {
        remote_addr: remote,
        outcome: outcome.clone(),
    });
    match outcome {
        Ok(hs) => {
            tracing::debug!("Initial message parsed by {}: {hs:?}", shared.cfg.my_sid);
            shared.handle_connection(hs, stream);
        }
        Err(why) => tracing::warn!("Closing election connection from {remote}: {why}"),
    }
}
