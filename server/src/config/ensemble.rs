//! The ensemble's `server.N` lines, parsed so a bad one is refused with its
//! line, and kept typed for the ensemble runtime (`quorum::runtime`).
//!
//! Syntax (`QuorumPeer.QuorumServer`, 3.6+):
//! `server.N=addr[|addr...][;[clientAddress:]clientPort]`, where each
//! `addr` is `host:quorumPort:electionPort[:participant|observer]` and a
//! host may be an IPv6 literal in brackets.

/// One `host:quorumPort:electionPort`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumAddress {
    pub host: String,
    pub quorum_port: u16,
    pub election_port: u16,
}

/// One `server.N` line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QuorumServer {
    pub id: u64,
    pub addresses: Vec<QuorumAddress>,
    /// `:observer` (default participant).
    pub observer: bool,
    /// `;[clientAddress:]clientPort`.
    pub client_address: Option<String>,
    pub client_port: Option<u16>,
}

/// What a `server.N` value must look like, for error messages.
pub const SERVER_SYNTAX: &str =
    "host:quorumPort:electionPort[:participant|observer][;[clientAddress:]clientPort]";

/// Splits `host:rest` where host may be `[v6]`.
fn split_host(s: &str) -> Option<(&str, &str)> {
    if let Some(rest) = s.strip_prefix('[') {
        let (host, after) = rest.split_once(']')?;
        let after = after.strip_prefix(':')?;
        (!host.is_empty()).then_some((host, after))
    } else {
        let (host, after) = s.split_once(':')?;
        (!host.is_empty()).then_some((host, after))
    }
}

fn port(s: &str) -> Option<u16> {
    s.trim().parse::<u16>().ok().filter(|p| *p > 0)
}

/// Parses `server.<id>`'s value; `None` if it is malformed.
pub fn parse_server(id: u64, value: &str) -> Option<QuorumServer> {
    let (addrs, client) = match value.split_once(';') {
        Some((a, c)) => (a, Some(c.trim())),
        None => (value, None),
    };
    let mut addresses = Vec::new();
    let mut observer = None;
    for addr in addrs.split('|') {
        let (host, rest) = split_host(addr.trim())?;
        let mut parts = rest.split(':');
        let quorum_port = port(parts.next()?)?;
        let election_port = port(parts.next()?)?;
        let this_observer = match parts.next().map(str::trim) {
            None => false,
            Some(t) if t.eq_ignore_ascii_case("participant") => false,
            Some(t) if t.eq_ignore_ascii_case("observer") => true,
            Some(_) => return None,
        };
        if parts.next().is_some() || observer.is_some_and(|o| o != this_observer) {
            return None;
        }
        observer = Some(this_observer);
        addresses.push(QuorumAddress {
            host: host.to_string(),
            quorum_port,
            election_port,
        });
    }
    let (client_address, client_port) = match client {
        None => (None, None),
        Some(c) => match split_host(c) {
            Some((host, p)) => (Some(host.to_string()), Some(port(p)?)),
            None => (None, Some(port(c)?)),
        },
    };
    Some(QuorumServer {
        id,
        addresses,
        observer: observer.unwrap_or(false),
        client_address,
        client_port,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forms() {
        let s = parse_server(1, "zk1:2888:3888").unwrap();
        assert_eq!(s.addresses[0].host, "zk1");
        assert_eq!(
            (s.addresses[0].quorum_port, s.addresses[0].election_port),
            (2888, 3888)
        );
        assert!(!s.observer && s.client_port.is_none());
        let s = parse_server(2, "10.0.0.2:2888:3888:observer;2181").unwrap();
        assert!(s.observer);
        assert_eq!((s.client_address, s.client_port), (None, Some(2181)));
        let s = parse_server(3, "[::1]:2888:3888:participant;0.0.0.0:2181").unwrap();
        assert_eq!(s.addresses[0].host, "::1");
        assert_eq!(s.client_address.as_deref(), Some("0.0.0.0"));
        let s = parse_server(4, "a:1:2|b:3:4;[::1]:2181").unwrap();
        assert_eq!(s.addresses.len(), 2);
        assert_eq!(s.client_address.as_deref(), Some("::1"));
    }

    #[test]
    fn malformed() {
        for bad in [
            "",
            "zk1",
            "zk1:2888",
            "zk1:2888:x",
            "zk1:2888:3888:leader",
            "zk1:2888:3888:observer:extra",
            ":2888:3888",
            "zk1:70000:3888",
            "zk1:2888:3888;",
            "zk1:2888:3888;host:",
            "a:1:2:observer|b:3:4:participant",
            "[::1:2888:3888",
        ] {
            assert!(parse_server(1, bad).is_none(), "{bad:?} accepted");
        }
    }
}
