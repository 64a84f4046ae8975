//! [`ConnectString`]: `host:port[,host:port...][/chroot]`.
//!
//! Invariants:
//! - At least one host; a host without a port gets [`DEFAULT_PORT`].
//! - IPv6 literals are written in brackets: `[::1]:2181`.
//! - The chroot (everything from the first `/`) is validated like a znode
//!   path: absolute, no trailing slash, no empty, `.` or `..` segments.

use crate::chroot::Chroot;
use crate::error::ZkError;

/// The port used when a host is given without one.
pub const DEFAULT_PORT: u16 = 2181;

/// One server address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HostPort {
    pub host: String,
    pub port: u16,
}

/// A parsed connect string.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConnectString {
    pub hosts: Vec<HostPort>,
    pub chroot: Chroot,
}

impl ConnectString {
    /// Parses `host:port[,host:port...][/chroot]`.
    pub fn parse(s: &str) -> Result<ConnectString, ZkError> {
        let bad = |why: &str| ZkError::InvalidConnectString(format!("{why}: {s:?}"));
        let (hosts_part, chroot) = match s.find('/') {
            Some(i) => (&s[..i], &s[i..]),
            None => (s, ""),
        };
        let chroot = parse_chroot(chroot).ok_or_else(|| bad("invalid chroot"))?;
        let mut hosts = Vec::new();
        for item in hosts_part.split(',') {
            let item = item.trim();
            if item.is_empty() {
                continue;
            }
            hosts.push(parse_host(item).ok_or_else(|| bad("invalid host"))?);
        }
        if hosts.is_empty() {
            return Err(bad("no hosts"));
        }
        Ok(ConnectString { hosts, chroot })
    }
}

fn parse_chroot(chroot: &str) -> Option<Chroot> {
    if chroot.is_empty() || chroot == "/" {
        return Some(Chroot::none());
    }
    let segments_ok = chroot[1..]
        .split('/')
        .all(|seg| !seg.is_empty() && seg != "." && seg != "..");
    if !segments_ok || chroot.contains('\0') {
        return None;
    }
    Some(Chroot::from_validated(chroot))
}

fn parse_host(item: &str) -> Option<HostPort> {
    if let Some(rest) = item.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let port = match after {
            "" => DEFAULT_PORT,
            p => p.strip_prefix(':')?.parse().ok()?,
        };
        return (!host.is_empty()).then(|| HostPort {
            host: host.to_string(),
            port,
        });
    }
    let (host, port) = match item.rsplit_once(':') {
        Some((h, p)) => (h, p.parse().ok()?),
        None => (item, DEFAULT_PORT),
    };
    if host.is_empty() || host.contains(':') {
        return None;
    }
    Some(HostPort {
        host: host.to_string(),
        port,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_hosts_and_chroot() {
        let cs = ConnectString::parse("a:1, b:2 ,[::1]:3,c/app/x").unwrap();
        let hosts: Vec<_> = cs.hosts.iter().map(|h| (h.host.as_str(), h.port)).collect();
        assert_eq!(hosts, [("a", 1), ("b", 2), ("::1", 3), ("c", DEFAULT_PORT)]);
        assert_eq!(cs.chroot.as_str(), Some("/app/x"));
        assert_eq!(ConnectString::parse("h:1/").unwrap().chroot.as_str(), None);
    }

    #[test]
    fn rejects_bad_strings() {
        for s in [
            "",
            "/app",
            "h:x",
            "h:1/app/",
            "h:1/a//b",
            "h:1/a/./b",
            "::1:5",
            "h:70000",
        ] {
            assert!(ConnectString::parse(s).is_err(), "{s}");
        }
    }
}
