//! The election port's connection handshake (`QuorumCnxManager.InitialMessage`):
//! what the initiator of a connection writes first, and how the receiver
//! reads it. Pure apart from the async read; no state.
//!
//! Wire form (big-endian, as Java's `DataOutputStream` writes it):
//! - v1/v2: `long protocolVersion; long sid; int len; byte[len] addresses`,
//!   where the addresses are `host:port` (v1: one; v2: all of the server's
//!   election addresses joined by `|`).
//! - legacy (before 3.5): `long sid` alone; a first long `>= 0` is a sid.
//!
//! Invariant: a handshake is accepted only if its version is known, its
//! address length is in `1..=MAX_ADDRESS_BYTES` (Apache's `maxBuffer`) and
//! every address is `host:port` with a port in `0..=65535`; anything else is
//! a [`HandshakeError`] and the socket is closed by the caller.

use crate::quorum::types::Sid;
use std::fmt;
use std::net::{IpAddr, SocketAddr};
use tokio::io::{AsyncRead, AsyncReadExt};

/// Sent since 3.5.0 (ZOOKEEPER-107): one election address.
pub const PROTOCOL_VERSION_V1: i64 = -65536;
/// Sent since 3.6.0 when `multiAddress.enabled=true` (ZOOKEEPER-3188):
/// several addresses joined by `|`. 3.8.0 sends v1 otherwise (ZOOKEEPER-3720).
pub const PROTOCOL_VERSION_V2: i64 = -65535;
/// `QuorumCnxManager.maxBuffer`: the longest address text accepted, bytes.
pub const MAX_ADDRESS_BYTES: i32 = 2048;
/// `QuorumPeer.OBSERVER_ID`: the sid an observer without an id announces.
pub const OBSERVER_ID: Sid = i64::MAX;

/// Which form of the handshake a peer sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandshakeVersion {
    /// The sid alone (first long `>= 0`).
    Legacy,
    V1,
    V2,
}

impl HandshakeVersion {
    /// The first long on the wire (for the legacy form, the sid is).
    pub fn wire_value(self) -> Option<i64> {
        match self {
            HandshakeVersion::Legacy => None,
            HandshakeVersion::V1 => Some(PROTOCOL_VERSION_V1),
            HandshakeVersion::V2 => Some(PROTOCOL_VERSION_V2),
        }
    }
}

/// One `host:port` from a handshake, unresolved (Java resolves it when it
/// builds the `InetSocketAddress`; we resolve when we dial).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPort {
    pub host: String,
    pub port: u16,
}

impl fmt::Display for HostPort {
    /// `NetUtils.formatInetAddr`: IPv6 literals in brackets.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

/// A parsed handshake.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Handshake {
    pub version: HandshakeVersion,
    pub sid: Sid,
    /// The sender's election addresses, wildcard ones left out (as Apache
    /// does); empty for the legacy form.
    pub election_addrs: Vec<HostPort>,
}

/// Why a handshake was refused. The texts are Apache's where it has one.
#[derive(Debug)]
pub enum HandshakeError {
    Io(std::io::Error),
    UnknownVersion(i64),
    BadLength(i32),
    BadAddress(String),
    BadPort(String),
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandshakeError::Io(e) => write!(f, "Exception reading challenge: {e}"),
            HandshakeError::UnknownVersion(v) => write!(f, "Got unrecognized protocol version {v}"),
            HandshakeError::BadLength(n) => write!(f, "Unreasonable buffer length: {n}"),
            HandshakeError::BadAddress(a) => write!(f, "Badly formed address: {a}"),
            HandshakeError::BadPort(p) => write!(f, "Bad port number: {p}"),
        }
    }
}

impl std::error::Error for HandshakeError {}

impl From<std::io::Error> for HandshakeError {
    fn from(e: std::io::Error) -> Self {
        HandshakeError::Io(e)
    }
}

/// `NetUtils.formatInetAddr` of a socket address.
pub fn format_addr(addr: &SocketAddr) -> String {
    // SocketAddr's Display already brackets IPv6 literals.
    addr.to_string()
}

/// The bytes an initiator writes: `version`, `sid`, then the addresses (v1:
/// the first only, as `getOne()`; v2: all, joined by `|`). The legacy form
/// is the sid alone.
pub fn encode(version: HandshakeVersion, sid: Sid, addrs: &[SocketAddr]) -> Vec<u8> {
    let Some(v) = version.wire_value() else {
        return sid.to_be_bytes().to_vec();
    };
    let text = match version {
        HandshakeVersion::V2 => addrs.iter().map(format_addr).collect::<Vec<_>>().join("|"),
        _ => addrs.first().map(format_addr).unwrap_or_default(),
    };
    let mut out = Vec::with_capacity(20 + text.len());
    out.extend_from_slice(&v.to_be_bytes());
    out.extend_from_slice(&sid.to_be_bytes());
    out.extend_from_slice(&(text.len() as i32).to_be_bytes());
    out.extend_from_slice(text.as_bytes());
    out
}

/// Reads one handshake (`QuorumCnxManager.handleConnection` and
/// `InitialMessage.parse`). The caller bounds it in time.
pub async fn read<R: AsyncRead + Unpin>(r: &mut R) -> Result<Handshake, HandshakeError> {
    let first = r.read_i64().await?;
    if first >= 0 {
        return Ok(Handshake {
            version: HandshakeVersion::Legacy,
            sid: first,
            election_addrs: Vec::new(),
        });
    }
    let version = match first {
        PROTOCOL_VERSION_V1 => HandshakeVersion::V1,
        PROTOCOL_VERSION_V2 => HandshakeVersion::V2,
        v => return Err(HandshakeError::UnknownVersion(v)),
    };
    let sid = r.read_i64().await?;
    let len = r.read_i32().await?;
    if len <= 0 || len > MAX_ADDRESS_BYTES {
        return Err(HandshakeError::BadLength(len));
    }
    let mut buf = vec![0u8; len as usize];
    // Apache does a single `read` and fails on a short one; a whole read
    // is what it means, and a slow network must not break the handshake.
    r.read_exact(&mut buf).await?;
    let election_addrs = parse_addresses(&String::from_utf8_lossy(&buf))?;
    Ok(Handshake {
        version,
        sid,
        election_addrs,
    })
}

/// Java's `String.split(regex)`: trailing empty strings are dropped.
fn java_split(s: &str, sep: char) -> Vec<&str> {
    let mut parts: Vec<&str> = s.split(sep).collect();
    while parts.last().is_some_and(|p| p.is_empty()) {
        parts.pop();
    }
    parts
}

/// `ConfigUtils.getHostAndPort`: `[v6]:port` or `host:port`, split on ':'.
fn host_and_port(s: &str) -> Option<Vec<&str>> {
    if let Some(rest) = s.strip_prefix('[') {
        let i = rest.find(']')?;
        let after = &rest[i + 1..];
        // "]" then one separator character, then the rest split on ':'.
        let tail = after.get(1..).filter(|t| !t.is_empty())?;
        let mut v = vec![&rest[..i]];
        v.extend(java_split(tail, ':'));
        Some(v)
    } else {
        Some(java_split(s, ':'))
    }
}

/// The address text of a v1/v2 handshake → its non-wildcard addresses.
pub fn parse_addresses(text: &str) -> Result<Vec<HostPort>, HandshakeError> {
    let mut out = Vec::new();
    for addr in java_split(text, '|') {
        let parts = host_and_port(addr).ok_or_else(|| HandshakeError::BadAddress(addr.into()))?;
        if parts.len() != 2 {
            return Err(HandshakeError::BadAddress(addr.into()));
        }
        // Integer.parseInt accepts a sign; InetSocketAddress then wants 0..=65535.
        let port = parts[1]
            .parse::<i32>()
            .ok()
            .and_then(|p| u16::try_from(p).ok())
            .ok_or_else(|| HandshakeError::BadPort(parts[1].into()))?;
        let host = parts[0];
        let wildcard = host.parse::<IpAddr>().is_ok_and(|ip| ip.is_unspecified());
        if !wildcard {
            out.push(HostPort {
                host: host.to_string(),
                port,
            });
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn parse(bytes: &[u8]) -> Result<Handshake, HandshakeError> {
        let mut r = bytes;
        read(&mut r).await
    }

    fn v1(sid: i64, text: &str) -> Vec<u8> {
        let mut b = PROTOCOL_VERSION_V1.to_be_bytes().to_vec();
        b.extend_from_slice(&sid.to_be_bytes());
        b.extend_from_slice(&(text.len() as i32).to_be_bytes());
        b.extend_from_slice(text.as_bytes());
        b
    }

    #[tokio::test]
    async fn round_trips_v1_v2_and_legacy() {
        let a: SocketAddr = "127.0.0.1:3888".parse().unwrap();
        let b: SocketAddr = "[::1]:3889".parse().unwrap();
        let h = parse(&encode(HandshakeVersion::V2, 7, &[a, b]))
            .await
            .unwrap();
        assert_eq!(h.version, HandshakeVersion::V2);
        assert_eq!(h.sid, 7);
        let shown: Vec<String> = h.election_addrs.iter().map(|h| h.to_string()).collect();
        assert_eq!(shown, ["127.0.0.1:3888", "[::1]:3889"]);
        let h = parse(&encode(HandshakeVersion::V1, 2, &[a, b]))
            .await
            .unwrap();
        assert_eq!(
            (h.version, h.sid, h.election_addrs.len()),
            (HandshakeVersion::V1, 2, 1)
        );
        let h = parse(&encode(HandshakeVersion::Legacy, 5, &[a]))
            .await
            .unwrap();
        assert_eq!((h.version, h.sid), (HandshakeVersion::Legacy, 5));
        assert!(h.election_addrs.is_empty());
    }

    #[tokio::test]
    async fn refuses_what_apache_refuses() {
        let mut bad = (-3i64).to_be_bytes().to_vec();
        bad.extend_from_slice(&[0; 12]);
        assert!(matches!(
            parse(&bad).await,
            Err(HandshakeError::UnknownVersion(-3))
        ));
        let mut long = PROTOCOL_VERSION_V1.to_be_bytes().to_vec();
        long.extend_from_slice(&1i64.to_be_bytes());
        long.extend_from_slice(&2049i32.to_be_bytes());
        assert!(matches!(
            parse(&long).await,
            Err(HandshakeError::BadLength(2049))
        ));
        let mut zero = long[..16].to_vec();
        zero.extend_from_slice(&0i32.to_be_bytes());
        assert!(matches!(
            parse(&zero).await,
            Err(HandshakeError::BadLength(0))
        ));
        for text in ["nohost", "a:b:c", ":1|x"] {
            assert!(parse(&v1(1, text)).await.is_err(), "{text}");
        }
        assert!(matches!(
            parse(&v1(1, "h:70000")).await,
            Err(HandshakeError::BadPort(_))
        ));
        assert!(matches!(
            parse(&v1(1, "h:x")).await,
            Err(HandshakeError::BadPort(_))
        ));
        // Truncated: announced 9 bytes, sent 3.
        let mut short = v1(1, "h:1");
        short[16..20].copy_from_slice(&9i32.to_be_bytes());
        assert!(matches!(parse(&short).await, Err(HandshakeError::Io(_))));
    }

    #[tokio::test]
    async fn skips_wildcards_and_trailing_separators() {
        let h = parse(&v1(1, "0.0.0.0:3888|host:1|")).await.unwrap();
        assert_eq!(
            h.election_addrs,
            [HostPort {
                host: "host".into(),
                port: 1
            }]
        );
        let h = parse(&v1(1, "[::]:1")).await.unwrap();
        assert!(h.election_addrs.is_empty());
    }
}
