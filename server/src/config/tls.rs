//! The client-TLS keys of `zoo.cfg` (ZooKeeper's `secureClientPort`,
//! `ssl.*`, `client.certReload`, `client.portUnification`,
//! `X509AuthenticationProvider.superUser`), parsed into [`ClientTls`].
//!
//! Invariants:
//! - Parsing stays pure: files named here are read only when the server
//!   builds its TLS context (`net::tls`), never while parsing.
//! - Only what rustls can honour is accepted. Key and trust stores must be
//!   PEM (JKS, PKCS12 and BCFKS are refused with the key and line); protocol
//!   versions are TLSv1.2/TLSv1.3; cipher suites are the AEAD suites of the
//!   ring provider, under their Java (IANA) names. Anything else fails the
//!   load, as an unsupported setting makes ZooKeeper's `SSLContext` fail.
//! - Defaults are ZooKeeper 3.8.0's: `ssl.clientAuth=need`,
//!   `ssl.protocol=TLSv1.2` with `ssl.enabledProtocols` defaulting to it,
//!   `ssl.handshakeDetectionTimeoutMillis=5000`.

use super::{parse_bool, parse_port, ConfigErrorKind, Entry, BOOL, PORT};
use std::path::PathBuf;

/// ZooKeeper's default `ssl.handshakeDetectionTimeoutMillis`.
pub const DEFAULT_HANDSHAKE_DETECTION_TIMEOUT_MS: u64 = 5000;

/// Cipher suites we can enable, by the names Java (and `ssl.ciphersuites`)
/// uses; TLS 1.3 suites have no key-exchange part in their Java names.
pub const SUPPORTED_CIPHER_SUITES: &[&str] = &[
    "TLS_AES_256_GCM_SHA384",
    "TLS_AES_128_GCM_SHA256",
    "TLS_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256",
    "TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384",
    "TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256",
    "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256",
];

const CIPHER_SUITES_EXPECTED: &str = "a comma-separated list of TLS_AES_256_GCM_SHA384, \
    TLS_AES_128_GCM_SHA256, TLS_CHACHA20_POLY1305_SHA256, \
    TLS_ECDHE_{ECDSA,RSA}_WITH_AES_{256_GCM_SHA384,128_GCM_SHA256} or \
    TLS_ECDHE_{ECDSA,RSA}_WITH_CHACHA20_POLY1305_SHA256 (CBC and non-ECDHE suites are not supported)";
const PROTOCOL_EXPECTED: &str = "TLSv1.2 or TLSv1.3 (older protocols are not supported)";
const STORE_TYPE_EXPECTED: &str =
    "PEM (only PEM key and trust stores are supported; convert JKS/PKCS12 with keytool or openssl)";
const STORE_FILE_EXPECTED: &str = "a PEM file (only PEM is supported; this name looks like \
    JKS/PKCS12/BCFKS: convert it, or set the store's type to PEM if it is PEM)";
const CLIENT_AUTH_EXPECTED: &str = "none, want or need";

/// Whether a client must, may or must not present a certificate (`ssl.clientAuth`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClientAuth {
    None,
    Want,
    Need,
}

/// A TLS protocol version we can speak.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum TlsVersion {
    Tls12,
    Tls13,
}

/// The client-TLS settings.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClientTls {
    /// `secureClientPort`: the TLS-only client port; `None` = no such port.
    pub secure_client_port: Option<u16>,
    /// `secureClientPortAddress`; `None` binds every address.
    pub secure_client_port_address: Option<String>,
    /// `ssl.keyStore.location`: one PEM file, private key and certificate chain.
    pub key_store_location: Option<PathBuf>,
    /// `ssl.keyStore.password`: for an encrypted PEM key (which we refuse).
    pub key_store_password: Option<String>,
    /// `ssl.trustStore.location`: PEM certificates trusted for client certificates.
    pub trust_store_location: Option<PathBuf>,
    pub client_auth: ClientAuth,
    /// `ssl.enabledProtocols` (or `ssl.protocol` alone), sorted, no duplicates.
    pub protocols: Vec<TlsVersion>,
    /// `ssl.ciphersuites` in Java names; `None` = the provider's defaults.
    pub cipher_suites: Option<Vec<String>>,
    /// `ssl.hostnameVerification`: a client-side check; accepted, not used
    /// here (3.8.0's server does not check client certificates' host names
    /// either, as observed).
    pub hostname_verification: bool,
    /// `client.certReload`: reload the stores when their files change.
    pub cert_reload: bool,
    /// `client.portUnification`: the plain client port also accepts TLS,
    /// told apart by the first byte (0x16, a TLS handshake record).
    pub port_unification: bool,
    /// `ssl.handshakeDetectionTimeoutMillis`: how long a port-unified
    /// connection may stay silent before its first byte, in ms.
    pub handshake_detection_timeout_ms: u64,
    /// `X509AuthenticationProvider.superUser`: the subject DN (RFC 2253,
    /// as Java prints it) whose certificate makes a connection super.
    pub x509_super_user: Option<String>,
}

impl ClientTls {
    /// Whether the server needs a TLS context at all.
    pub fn enabled(&self) -> bool {
        self.secure_client_port.is_some() || self.port_unification
    }
}

impl Default for ClientTls {
    fn default() -> Self {
        ClientTls {
            secure_client_port: None,
            secure_client_port_address: None,
            key_store_location: None,
            key_store_password: None,
            trust_store_location: None,
            client_auth: ClientAuth::Need,
            protocols: vec![TlsVersion::Tls12],
            cipher_suites: None,
            hostname_verification: true,
            cert_reload: false,
            port_unification: false,
            handshake_detection_timeout_ms: DEFAULT_HANDSHAKE_DETECTION_TIMEOUT_MS,
            x509_super_user: None,
        }
    }
}

/// Whether `key` (already without a `zookeeper.` prefix) is one of ours.
pub(super) fn is_tls_key(key: &str) -> bool {
    matches!(
        key,
        "secureClientPort"
            | "secureClientPortAddress"
            | "client.certReload"
            | "client.portUnification"
            | "X509AuthenticationProvider.superUser"
            | "ssl.keyStore.location"
            | "ssl.keyStore.password"
            | "ssl.keyStore.type"
            | "ssl.trustStore.location"
            | "ssl.trustStore.password"
            | "ssl.trustStore.type"
            | "ssl.clientAuth"
            | "ssl.protocol"
            | "ssl.enabledProtocols"
            | "ssl.ciphersuites"
            | "ssl.hostnameVerification"
            | "ssl.clientHostnameVerification"
            | "ssl.handshakeDetectionTimeoutMillis"
            | "ssl.authProvider"
            | "ssl.crl"
            | "ssl.ocsp"
            | "ssl.context.supplier.class"
            | "ssl.sslProvider"
    )
}

/// Accumulates the TLS keys; [`finish`](TlsBuilder::finish) checks them together.
#[derive(Debug, Default)]
pub(super) struct TlsBuilder {
    tls: ClientTls,
    protocol: Option<TlsVersions>,
    enabled_protocols: Option<TlsVersions>,
    /// Whether `ssl.keyStore.type` / `ssl.trustStore.type` said PEM.
    key_store_pem: bool,
    trust_store_pem: bool,
    /// The location entries, for a file-name check that names their line.
    key_store_entry: Option<Entry>,
    trust_store_entry: Option<Entry>,
}

/// A parsed protocol value.
type TlsVersions = Vec<TlsVersion>;

impl TlsBuilder {
    pub(super) fn apply(&mut self, key: &str, e: &Entry) -> Result<(), ConfigErrorKind> {
        let v = e.value.as_str();
        let bad = |expected: &'static str| e.invalid(expected);
        let bool_of = |v: &str| parse_bool(v).ok_or_else(|| bad(BOOL));
        let t = &mut self.tls;
        match key {
            "secureClientPort" => {
                let port = parse_port(v).ok_or_else(|| bad(PORT))?;
                t.secure_client_port = Some(port);
            }
            "secureClientPortAddress" => {
                if v.is_empty() || v.contains(char::is_whitespace) {
                    return Err(bad("a host name or IP address"));
                }
                t.secure_client_port_address = Some(v.to_string());
            }
            "client.certReload" => t.cert_reload = bool_of(v)?,
            "client.portUnification" => t.port_unification = bool_of(v)?,
            "X509AuthenticationProvider.superUser" => {
                t.x509_super_user = Some(v.to_string()).filter(|s| !s.is_empty())
            }
            "ssl.keyStore.location" | "ssl.trustStore.location" => {
                let path = Some(PathBuf::from(v)).filter(|_| !v.is_empty());
                // The file-name check waits for `finish`: the type may come later.
                if key == "ssl.keyStore.location" {
                    t.key_store_location = path;
                    self.key_store_entry = Some(e.clone());
                } else {
                    t.trust_store_location = path;
                    self.trust_store_entry = Some(e.clone());
                }
            }
            "ssl.keyStore.type" | "ssl.trustStore.type" => {
                // ZooKeeper reads the type case-insensitively; empty means
                // "detect from the file name".
                if !v.is_empty() && !v.eq_ignore_ascii_case("PEM") {
                    return Err(bad(STORE_TYPE_EXPECTED));
                }
                let slot = if key == "ssl.keyStore.type" {
                    &mut self.key_store_pem
                } else {
                    &mut self.trust_store_pem
                };
                *slot = !v.is_empty();
            }
            "ssl.keyStore.password" => {
                t.key_store_password = Some(v.to_string()).filter(|s| !s.is_empty())
            }
            // PEM trust stores have no password; Netty's and Java's stacks
            // ignore it for PEM too.
            "ssl.trustStore.password" => {}
            "ssl.clientAuth" => {
                t.client_auth = match v.to_ascii_lowercase().as_str() {
                    "none" => ClientAuth::None,
                    "want" => ClientAuth::Want,
                    "need" | "" => ClientAuth::Need,
                    _ => return Err(bad(CLIENT_AUTH_EXPECTED)),
                }
            }
            "ssl.protocol" => {
                self.protocol =
                    Some(parse_protocols(v, true).ok_or_else(|| bad(PROTOCOL_EXPECTED))?)
            }
            "ssl.enabledProtocols" => {
                self.enabled_protocols =
                    Some(parse_protocols(v, false).ok_or_else(|| bad(PROTOCOL_EXPECTED))?)
            }
            "ssl.ciphersuites" => {
                let mut suites = Vec::new();
                for name in v.split(',').map(str::trim).filter(|s| !s.is_empty()) {
                    if !SUPPORTED_CIPHER_SUITES.contains(&name) {
                        return Err(bad(CIPHER_SUITES_EXPECTED));
                    }
                    if !suites.iter().any(|s| s == name) {
                        suites.push(name.to_string());
                    }
                }
                t.cipher_suites = Some(suites).filter(|s| !s.is_empty());
            }
            "ssl.hostnameVerification" => t.hostname_verification = bool_of(v)?,
            "ssl.clientHostnameVerification" | "ssl.sslProvider" => {}
            "ssl.handshakeDetectionTimeoutMillis" => {
                let ms = v.parse::<u64>().ok().filter(|ms| *ms > 0);
                t.handshake_detection_timeout_ms =
                    ms.ok_or_else(|| bad("a positive number of ms"))?;
            }
            "ssl.authProvider" if v != "x509" => {
                return Err(bad("x509 (the only client-certificate provider here)"));
            }
            "ssl.crl" | "ssl.ocsp" if bool_of(v)? => {
                return Err(bad("false (CRL and OCSP checking are not supported)"));
            }
            "ssl.context.supplier.class" if !v.is_empty() => {
                return Err(bad("nothing (a Java SSLContext supplier cannot run here)"));
            }
            // Accepted values of the keys above: nothing to record.
            _ => {}
        }
        Ok(())
    }

    pub(super) fn finish(self) -> Result<ClientTls, ConfigErrorKind> {
        let mut tls = self.tls;
        // As in X509Util: enabledProtocols defaults to the one protocol.
        if let Some(p) = self.enabled_protocols.or(self.protocol) {
            tls.protocols = p;
        }
        if tls.enabled() {
            if tls.key_store_location.is_none() {
                return Err(ConfigErrorKind::Missing {
                    key: "ssl.keyStore.location",
                });
            }
            if tls.client_auth != ClientAuth::None && tls.trust_store_location.is_none() {
                return Err(ConfigErrorKind::Inconsistent {
                    reason: "ssl.trustStore.location must name a PEM file of trusted \
                             certificates when ssl.clientAuth is want or need (the default); \
                             set ssl.clientAuth=none to accept clients without certificates"
                        .to_string(),
                });
            }
        }
        // Without a type, ZooKeeper goes by the file name: a JKS/PKCS12
        // name is a store we cannot read.
        for (entry, pem) in [
            (&self.key_store_entry, self.key_store_pem),
            (&self.trust_store_entry, self.trust_store_pem),
        ] {
            if let Some(e) = entry {
                if !pem && looks_like_non_pem_store(&e.value) {
                    return Err(e.invalid(STORE_FILE_EXPECTED));
                }
            }
        }
        Ok(tls)
    }
}

/// `TLSv1.2`, `TLSv1.3` (a list for `ssl.enabledProtocols`); `TLS` in
/// `ssl.protocol` means either.
fn parse_protocols(v: &str, single: bool) -> Option<Vec<TlsVersion>> {
    let mut out = Vec::new();
    let names: Vec<&str> = v
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .collect();
    if names.is_empty() || (single && names.len() > 1) {
        return None;
    }
    for name in names {
        match name {
            "TLSv1.2" => out.push(TlsVersion::Tls12),
            "TLSv1.3" => out.push(TlsVersion::Tls13),
            "TLS" if single => out.extend([TlsVersion::Tls12, TlsVersion::Tls13]),
            _ => return None,
        }
    }
    out.sort();
    out.dedup();
    Some(out)
}

/// A file name ZooKeeper would take for a JKS, PKCS12 or BCFKS store.
fn looks_like_non_pem_store(location: &str) -> bool {
    let lower = location.to_ascii_lowercase();
    [".jks", ".p12", ".pfx", ".bcfks"]
        .iter()
        .any(|ext| lower.ends_with(ext))
}

#[cfg(test)]
mod tests {
    use crate::config::Config;

    use super::*;

    fn parse(extra: &str) -> Result<Config, String> {
        Config::parse(&format!("dataDir=/d\nclientPort=2181\n{extra}"), "zoo.cfg")
            .map_err(|e| e.to_string())
    }

    #[test]
    fn defaults_are_the_reference_ones() {
        let c = parse("").unwrap();
        assert_eq!(c.client_tls, ClientTls::default());
        assert!(!c.client_tls.enabled());
        assert_eq!(c.client_tls.client_auth, ClientAuth::Need);
        assert_eq!(c.client_tls.protocols, vec![TlsVersion::Tls12]);
    }

    #[test]
    fn full_pem_setup_and_zookeeper_prefix() {
        let c = parse(
            "secureClientPort=2281\nsecureClientPortAddress=127.0.0.1\n\
             ssl.keyStore.location=/k.pem\nssl.keyStore.type=PEM\n\
             zookeeper.ssl.trustStore.location=/t.pem\nssl.trustStore.type=pem\n\
             ssl.clientAuth=WANT\nssl.enabledProtocols=TLSv1.3,TLSv1.2\n\
             ssl.ciphersuites=TLS_AES_128_GCM_SHA256, TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256\n\
             client.certReload=true\nzookeeper.X509AuthenticationProvider.superUser=CN=admin\n\
             ssl.hostnameVerification=false\nssl.handshakeDetectionTimeoutMillis=700\n",
        )
        .unwrap();
        let t = &c.client_tls;
        assert_eq!(t.secure_client_port, Some(2281));
        assert_eq!(t.secure_client_port_address.as_deref(), Some("127.0.0.1"));
        assert_eq!(t.key_store_location, Some(PathBuf::from("/k.pem")));
        assert_eq!(t.trust_store_location, Some(PathBuf::from("/t.pem")));
        assert_eq!(t.client_auth, ClientAuth::Want);
        assert_eq!(t.protocols, vec![TlsVersion::Tls12, TlsVersion::Tls13]);
        assert_eq!(
            t.cipher_suites.as_deref(),
            Some(
                &[
                    "TLS_AES_128_GCM_SHA256".to_string(),
                    "TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256".to_string()
                ][..]
            )
        );
        assert!(t.cert_reload && !t.hostname_verification);
        assert_eq!(t.x509_super_user.as_deref(), Some("CN=admin"));
        assert_eq!(t.handshake_detection_timeout_ms, 700);
        assert!(c.extra.is_empty(), "{:?}", c.extra);
    }

    #[test]
    fn ssl_protocol_sets_the_enabled_protocols() {
        let c = parse("ssl.protocol=TLSv1.3\n").unwrap();
        assert_eq!(c.client_tls.protocols, vec![TlsVersion::Tls13]);
    }

    #[test]
    fn non_pem_stores_are_refused_with_key_and_line() {
        let e = parse("ssl.keyStore.type=JKS\n").unwrap_err();
        assert!(
            e.contains("zoo.cfg:3:") && e.contains("ssl.keyStore.type"),
            "{e}"
        );
        assert!(e.contains("only PEM"), "{e}");
        let e = parse("ssl.trustStore.type=PKCS12\n").unwrap_err();
        assert!(
            e.contains("ssl.trustStore.type") && e.contains("only PEM"),
            "{e}"
        );
        let e = parse("ssl.keyStore.location=/x/keystore.jks\n").unwrap_err();
        assert!(
            e.contains("ssl.keyStore.location") && e.contains("only PEM"),
            "{e}"
        );
        // A PEM file under a .p12 name is fine once the type says PEM.
        parse("ssl.trustStore.type=PEM\nssl.trustStore.location=/x/odd.p12\n").unwrap();
    }

    #[test]
    fn unsupported_protocols_and_suites_are_refused() {
        let e = parse("ssl.protocol=TLSv1.1\n").unwrap_err();
        assert!(
            e.contains("ssl.protocol") && e.contains("TLSv1.2 or TLSv1.3"),
            "{e}"
        );
        let e = parse("ssl.enabledProtocols=TLSv1.2,SSLv3\n").unwrap_err();
        assert!(e.contains("ssl.enabledProtocols"), "{e}");
        let e = parse("ssl.ciphersuites=TLS_RSA_WITH_AES_128_CBC_SHA\n").unwrap_err();
        assert!(e.contains("ssl.ciphersuites") && e.contains("CBC"), "{e}");
        let e = parse("ssl.clientAuth=maybe\n").unwrap_err();
        assert!(e.contains("none, want or need"), "{e}");
        let e = parse("ssl.ocsp=true\n").unwrap_err();
        assert!(e.contains("OCSP"), "{e}");
        let e = parse("ssl.authProvider=custom\n").unwrap_err();
        assert!(e.contains("x509"), "{e}");
    }

    #[test]
    fn an_enabled_port_needs_its_stores() {
        let e = parse("secureClientPort=2281\n").unwrap_err();
        assert!(e.contains("ssl.keyStore.location is not set"), "{e}");
        let e = parse("secureClientPort=2281\nssl.keyStore.location=/k.pem\n").unwrap_err();
        assert!(e.contains("ssl.trustStore.location"), "{e}");
        let c = parse("secureClientPort=2281\nssl.keyStore.location=/k.pem\nssl.clientAuth=none\n")
            .unwrap();
        assert!(c.client_tls.enabled());
        let c = parse(
            "client.portUnification=true\nssl.keyStore.location=/k.pem\nssl.clientAuth=none\n",
        )
        .unwrap();
        assert!(c.client_tls.port_unification && c.client_tls.enabled());
    }

    #[test]
    fn quorum_ssl_keys_stay_ignored() {
        let c = parse("ssl.quorum.keyStore.location=/q.jks\n").unwrap();
        assert_eq!(
            c.extra
                .get("ssl.quorum.keyStore.location")
                .map(String::as_str),
            Some("/q.jks")
        );
    }
}
