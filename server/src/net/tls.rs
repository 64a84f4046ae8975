//! TLS for clients: the rustls context built from `ssl.*` ([`TlsServer`]),
//! its reload when the PEM files change (`client.certReload`), and the
//! secure side of a connection ([`serve`]): handshake, the client
//! certificate's identity for the `x509` scheme, then the ordinary
//! connection code over the encrypted stream.
//!
//! Invariants:
//! - Each handshake uses the context current when it starts; a reload swaps
//!   the whole context at once (key, chain and trust roots together), so a
//!   handshake never sees half of an update, and established connections
//!   keep the keys they were set up with.
//! - A reload that fails (missing file, bad PEM, key not matching the
//!   certificate) is logged and the previous context stays in force.
//! - A handshake is bounded by [`HANDSHAKE_TIMEOUT`]; a failed one closes
//!   only its socket, and the runner never hears of that connection.
//! - With a verified client certificate the connection gets the ids
//!   `X509AuthenticationProvider` gives: `super:<dn>` first when the DN is
//!   `X509AuthenticationProvider.superUser`, then `x509:<dn>`.

use super::{connection, java_socket_addr, ConnSlot, Shared};
use crate::config::{ClientAuth, ClientTls, TlsVersion};
use crate::core::{acl, ConnId};
use parking_lot::{Mutex, RwLock};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::server::WebPkiClientVerifier;
use rustls::{RootCertStore, ServerConfig};
use std::fmt;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::net::TcpStream;
use tokio_rustls::TlsAcceptor;

/// How long a TLS handshake may take, from accept to its end.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

/// How often `client.certReload` looks at the PEM files (size and mtime).
pub const CERT_RELOAD_POLL: Duration = Duration::from_secs(1);

/// The first byte of a TLS record carrying a handshake (port unification).
const TLS_HANDSHAKE_RECORD: u8 = 0x16;

/// Why a TLS context could not be built; names the setting and file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsError(pub String);

impl fmt::Display for TlsError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for TlsError {}

/// What identifies a version of the PEM files: size and modification time.
type FileStamp = Vec<Option<(u64, SystemTime)>>;

/// The client TLS context, swapped whole on reload.
pub struct TlsServer {
    settings: ClientTls,
    current: RwLock<Arc<ServerConfig>>,
    stamp: Mutex<FileStamp>,
}

impl fmt::Debug for TlsServer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TlsServer")
            .field("settings", &self.settings)
            .finish_non_exhaustive()
    }
}

impl TlsServer {
    /// Builds the context from the PEM files the settings name.
    pub fn load(settings: &ClientTls) -> Result<Arc<TlsServer>, TlsError> {
        let stamp = file_stamp(settings);
        let config = build_config(settings)?;
        Ok(Arc::new(TlsServer {
            settings: settings.clone(),
            current: RwLock::new(Arc::new(config)),
            stamp: Mutex::new(stamp),
        }))
    }

    /// The settings it was built from.
    pub fn settings(&self) -> &ClientTls {
        &self.settings
    }

    /// An acceptor on the current context.
    pub fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from(Arc::clone(&self.current.read()))
    }

    /// Rebuilds the context if the files changed since the last look.
    /// Returns whether a new context is in force.
    pub fn reload_if_changed(&self) -> bool {
        let stamp = file_stamp(&self.settings);
        {
            let mut last = self.stamp.lock();
            if *last == stamp {
                return false;
            }
            // Remember it even if the build fails: the error is logged once
            // per change, and the next write of the files is tried again.
            *last = stamp;
        }
        match build_config(&self.settings) {
            Ok(config) => {
                *self.current.write() = Arc::new(config);
                tracing::info!("client TLS key and trust stores reloaded");
                true
            }
            Err(e) => {
                tracing::error!("client TLS reload failed, keeping the previous certificates: {e}");
                false
            }
        }
    }

    /// Polls the files every [`CERT_RELOAD_POLL`] on a tokio task, for
    /// `client.certReload=true`.
    pub fn spawn_reload(self: &Arc<Self>) -> tokio::task::JoinHandle<()> {
        let me = Arc::clone(self);
        tokio::spawn(async move {
            let mut every = tokio::time::interval(CERT_RELOAD_POLL);
            every.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                every.tick().await;
                let me = Arc::clone(&me);
                // File reads and key parsing are blocking work.
                let _ = tokio::task::spawn_blocking(move || me.reload_if_changed()).await;
            }
        })
    }
}

fn file_stamp(settings: &ClientTls) -> FileStamp {
    [&settings.key_store_location, &settings.trust_store_location]
        .into_iter()
        .map(|p| {
            let meta = std::fs::metadata(p.as_ref()?).ok()?;
            Some((meta.len(), meta.modified().ok()?))
        })
        .collect()
}

fn read_file(key: &str, path: &Path) -> Result<Vec<u8>, TlsError> {
    std::fs::read(path).map_err(|e| TlsError(format!("{key} {}: {e}", path.display())))
}

/// The rustls server context for `settings`.
pub fn build_config(settings: &ClientTls) -> Result<ServerConfig, TlsError> {
    let key_path: PathBuf = settings
        .key_store_location
        .clone()
        .ok_or_else(|| TlsError("ssl.keyStore.location is not set".into()))?;
    let pem = read_file("ssl.keyStore.location", &key_path)?;
    let where_ = |what: &str| format!("ssl.keyStore.location {}: {what}", key_path.display());
    let text = String::from_utf8_lossy(&pem);
    if text.contains("-----BEGIN ENCRYPTED PRIVATE KEY-----")
        || text.contains("Proc-Type: 4,ENCRYPTED")
    {
        return Err(TlsError(where_(
            "the private key is encrypted, and encrypted PEM keys are not supported \
             (ssl.keyStore.password cannot be used); store it unencrypted, e.g. \
             `openssl pkey -in KEY -out PLAIN_KEY`, readable only by the server",
        )));
    }
    let key = PrivateKeyDer::from_pem_slice(&pem)
        .map_err(|e| TlsError(where_(&format!("no usable private key ({e})"))))?;
    let chain: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<_, _>>()
        .map_err(|e| TlsError(where_(&format!("bad certificate PEM ({e})"))))?;
    if chain.is_empty() {
        return Err(TlsError(where_(
            "no certificate; the PEM key store holds the private key and its certificate chain",
        )));
    }

    let mut provider = rustls::crypto::ring::default_provider();
    if let Some(names) = &settings.cipher_suites {
        provider
            .cipher_suites
            .retain(|s| names.iter().any(|n| java_suite_name(s) == *n));
        if provider.cipher_suites.is_empty() {
            return Err(TlsError(
                "ssl.ciphersuites: none of them can be used".into(),
            ));
        }
    }
    let provider = Arc::new(provider);
    let versions: Vec<&'static rustls::SupportedProtocolVersion> = settings
        .protocols
        .iter()
        .map(|v| match v {
            TlsVersion::Tls12 => &rustls::version::TLS12,
            TlsVersion::Tls13 => &rustls::version::TLS13,
        })
        .collect();
    let builder = ServerConfig::builder_with_provider(Arc::clone(&provider))
        .with_protocol_versions(&versions)
        .map_err(|e| {
            TlsError(format!(
                "ssl.enabledProtocols/ssl.ciphersuites: no cipher suite for the enabled protocols ({e})"
            ))
        })?;
    let builder = match settings.client_auth {
        ClientAuth::None => builder.with_no_client_auth(),
        ClientAuth::Want | ClientAuth::Need => {
            let roots = trust_roots(settings)?;
            let verifier = WebPkiClientVerifier::builder_with_provider(Arc::new(roots), provider);
            let verifier = if settings.client_auth == ClientAuth::Want {
                verifier.allow_unauthenticated()
            } else {
                verifier
            };
            let verifier = verifier
                .build()
                .map_err(|e| TlsError(format!("ssl.trustStore.location: {e}")))?;
            builder.with_client_cert_verifier(verifier)
        }
    };
    builder.with_single_cert(chain, key).map_err(|e| {
        TlsError(where_(&format!(
            "the key and certificate do not go together ({e})"
        )))
    })
}

/// The trust store's certificates as roots.
fn trust_roots(settings: &ClientTls) -> Result<RootCertStore, TlsError> {
    let path = settings
        .trust_store_location
        .clone()
        .ok_or_else(|| TlsError("ssl.trustStore.location is not set".into()))?;
    let pem = read_file("ssl.trustStore.location", &path)?;
    let mut roots = RootCertStore::empty();
    let mut count = 0;
    for cert in CertificateDer::pem_slice_iter(&pem) {
        let cert = cert.map_err(|e| {
            TlsError(format!(
                "ssl.trustStore.location {}: bad PEM ({e})",
                path.display()
            ))
        })?;
        roots.add(cert).map_err(|e| {
            TlsError(format!(
                "ssl.trustStore.location {}: unusable certificate ({e})",
                path.display()
            ))
        })?;
        count += 1;
    }
    if count == 0 {
        return Err(TlsError(format!(
            "ssl.trustStore.location {}: no certificate in it",
            path.display()
        )));
    }
    Ok(roots)
}

/// Java's name for a suite (TLS 1.3 suites lose rustls' `TLS13_` prefix).
fn java_suite_name(suite: &rustls::SupportedCipherSuite) -> String {
    let name = suite.suite().as_str().unwrap_or("").to_string();
    match name.strip_prefix("TLS13_") {
        Some(rest) => format!("TLS_{rest}"),
        None => name,
    }
}

/// The provider we use must know every suite the configuration may name.
pub fn supported_suite_names() -> Vec<String> {
    let provider: CryptoProvider = rustls::crypto::ring::default_provider();
    provider.cipher_suites.iter().map(java_suite_name).collect()
}

/// How a listener uses TLS.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TlsMode {
    /// `secureClientPort`: every connection is TLS.
    Secure,
    /// `client.portUnification` on the plain port: TLS if the first byte
    /// is a handshake record, plaintext otherwise.
    Unified,
}

/// Runs one accepted connection of a TLS-capable listener.
pub(crate) async fn serve(
    shared: Arc<Shared>,
    tcp: TcpStream,
    peer: SocketAddr,
    conn: ConnId,
    slot: ConnSlot,
    tls: Arc<TlsServer>,
    mode: TlsMode,
) {
    let _ = tcp.set_nodelay(true);
    if mode == TlsMode::Unified {
        let wait = Duration::from_millis(tls.settings.handshake_detection_timeout_ms);
        let mut first = [0u8; 1];
        match tokio::time::timeout(wait, tcp.peek(&mut first)).await {
            Ok(Ok(1)) if first[0] == TLS_HANDSHAKE_RECORD => {}
            Ok(Ok(1)) => return connection::serve(shared, tcp, peer, conn, slot).await,
            _ => {
                tracing::debug!(conn, "no first byte from {}", java_socket_addr(peer));
                return;
            }
        }
    }
    let acceptor = tls.acceptor();
    let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(tcp)).await {
        Ok(Ok(stream)) => stream,
        Ok(Err(e)) => {
            tracing::info!(
                conn,
                "TLS handshake with {} failed: {e}",
                java_socket_addr(peer)
            );
            return;
        }
        Err(_) => {
            tracing::info!(
                conn,
                "TLS handshake with {} timed out",
                java_socket_addr(peer)
            );
            return;
        }
    };
    let mut ids = Vec::new();
    if let Some(cert) = stream
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|c| c.first())
    {
        match super::tls_subject::subject_rfc2253(cert) {
            Some(dn) => {
                ids = acl::x509_ids(&dn, tls.settings.x509_super_user.as_deref());
                tracing::info!(conn, "Authenticated Id '{dn}' for Scheme 'x509'");
            }
            None => {
                // Verified by rustls, yet no subject we can read: refuse, as
                // ZooKeeper closes a connection whose x509 auth fails.
                tracing::warn!(
                    conn,
                    "closing TLS connection from {}: unreadable certificate subject",
                    java_socket_addr(peer)
                );
                return;
            }
        }
    }
    connection::serve_stream(shared, stream, peer, conn, slot, ids).await;
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::SUPPORTED_CIPHER_SUITES;

    #[test]
    fn every_configurable_suite_exists_in_the_provider() {
        let ours = supported_suite_names();
        for name in SUPPORTED_CIPHER_SUITES {
            assert!(ours.iter().any(|n| n == name), "{name} not in {ours:?}");
        }
    }

    #[test]
    fn missing_files_name_the_setting() {
        let settings = ClientTls {
            secure_client_port: Some(1),
            key_store_location: Some("/nonexistent/key.pem".into()),
            ..ClientTls::default()
        };
        let e = build_config(&settings).unwrap_err().to_string();
        assert!(
            e.starts_with("ssl.keyStore.location /nonexistent/key.pem"),
            "{e}"
        );
    }
}
