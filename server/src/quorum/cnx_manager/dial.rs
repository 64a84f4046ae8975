//! Dialling a peer (`QuorumCnxManager.connectOne` + `startConnection`):
//! connect within `cnx_timeout_ms`, write our handshake, and keep the
//! connection only if we have the larger sid (else the peer dials back).

use super::handshake::{self, HandshakeVersion, HostPort};
use super::Shared;
use crate::quorum::types::Sid;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;

/// One dial; `State::dialing` holds `sid` for its whole life.
pub(super) async fn dial(shared: Arc<Shared>, sid: Sid, hint: Vec<HostPort>) {
    tokio::select! {
        _ = shared.shutdown.cancelled() => {}
        _ = dial_once(&shared, sid, &hint) => {}
    }
    shared.state.lock().dialing.remove(&sid);
}

async fn targets(
    shared: &Shared,
    sid: Sid,
    hint: &[HostPort],
    timeout: Duration,
) -> Vec<SocketAddr> {
    let names = shared.cfg.peer_names.get(&sid);
    let hint = match (hint.is_empty(), names) {
        (false, _) => hint,
        (true, Some(names)) if !names.is_empty() => names.as_slice(),
        (true, _) => return shared.cfg.peers.get(&sid).cloned().unwrap_or_default(),
    };
    let mut out = Vec::new();
    for h in hint {
        match tokio::time::timeout(timeout, tokio::net::lookup_host((h.host.as_str(), h.port)))
            .await
        {
            Ok(Ok(addrs)) => out.extend(addrs.take(1)),
            Ok(Err(e)) => {
                tracing::warn!("Cannot resolve election address {h} of server {sid}: {e}")
            }
            Err(_) => tracing::warn!("Resolving election address {h} of server {sid} timed out"),
        }
    }
    out
}

async fn dial_once(shared: &Arc<Shared>, sid: Sid, hint: &[HostPort]) {
    let cfg = &shared.cfg;
    let timeout = Duration::from_millis(cfg.cnx_timeout_ms);
    let addrs = targets(shared, sid, hint, timeout).await;
    if addrs.is_empty() {
        tracing::warn!("Invalid server id: {sid}");
        return;
    }
    let mut stream = None;
    for addr in &addrs {
        match tokio::time::timeout(timeout, TcpStream::connect(addr)).await {
            Ok(Ok(s)) => {
                stream = Some(s);
                break;
            }
            Ok(Err(e)) => tracing::warn!("Cannot open channel to {sid} at election address {addr}: {e}"),
            Err(_) => tracing::warn!(
                "Cannot open channel to {sid} at election address {addr}: connect timed out after {} ms",
                cfg.cnx_timeout_ms
            ),
        }
    }
    let Some(mut stream) = stream else { return };
    let _ = stream.set_nodelay(true);
    let version = if cfg.multi_address_enabled {
        HandshakeVersion::V2
    } else {
        HandshakeVersion::V1
    };
    let hello = handshake::encode(version, cfg.my_sid, &cfg.my_addrs);
    match tokio::time::timeout(timeout, stream.write_all(&hello)).await {
        Ok(Ok(())) => {}
        Ok(Err(e)) => {
            tracing::warn!("Ignoring exception reading or writing challenge: {e}");
            return;
        }
        Err(_) => {
            tracing::warn!("Ignoring exception reading or writing challenge: write timed out");
            return;
        }
    }
    if sid > cfg.my_sid {
        tracing::info!(
            "Have smaller server identifier, so dropping the connection: (myId:{} --> sid:{})",
            cfg.my_sid,
            sid
        );
        return;
    }
    tracing::debug!(
        "Have larger server identifier, so keeping the connection: (myId:{} --> sid:{})",
        cfg.my_sid,
        sid
    );
    shared.install(sid, stream, true);
}
