//! What a connection manager needs to know: who it is, where everyone
//! listens, and its limits (each a named field with its unit).

use crate::quorum::types::Sid;
use std::collections::BTreeMap;
use std::net::SocketAddr;

/// `QuorumCnxManager.SEND_CAPACITY`: one message per peer, the newest.
pub const SEND_CAPACITY: usize = 1;
/// `QuorumCnxManager.RECV_CAPACITY`.
pub const RECV_CAPACITY: usize = 100;
/// `QuorumCnxManager.PACKETMAXSIZE`, bytes.
pub const PACKET_MAX_SIZE_BYTES: usize = 512 * 1024;
/// `zookeeper.cnxTimeout` default, ms.
pub const CNX_TIMEOUT_MS: u64 = 5000;

#[derive(Debug, Clone)]
pub struct CnxConfig {
    /// `myid`.
    pub my_sid: Sid,
    /// This server's election addresses (`server.<myid>`'s
    /// `host:electionPort`s), listened on and announced in the handshake.
    pub my_addrs: Vec<SocketAddr>,
    /// Every member's election addresses, participants and observers (Apache
    /// dials any sid in its view). May contain `my_sid`.
    pub peers: BTreeMap<Sid, Vec<SocketAddr>>,
    /// Every member's election addresses as written in `server.N`, resolved
    /// again at each dial (as Apache's `QuorumServer.recreateSocketAddresses`
    /// does): a Kubernetes peer's name resolves only once its pod runs.
    /// Where a sid has names, they win over `peers`.
    pub peer_names: BTreeMap<Sid, Vec<super::handshake::HostPort>>,
    /// `quorumListenOnAllIPs`: listen on the wildcard address, same ports.
    pub listen_on_all_ips: bool,
    /// `multiAddress.enabled`: send handshake v2 (all addresses). 3.8.0
    /// sends v1 unless it is set, so that older peers understand it.
    pub multi_address_enabled: bool,
    /// `zookeeper.cnxTimeout`, ms: bounds each connect and the handshake
    /// write.
    pub cnx_timeout_ms: u64,
    /// Bounds reading an incoming handshake, ms. Apache reads it under the
    /// socket's `SO_TIMEOUT` (`tickTime × syncLimit`); pass that to match it.
    pub handshake_timeout_ms: u64,
    /// Messages held per peer while unsent (oldest dropped).
    pub send_capacity: usize,
    /// Messages held for the election, all peers together (oldest dropped).
    pub recv_capacity: usize,
    /// Largest message accepted or sent, bytes; a frame announcing more (or
    /// ≤ 0) closes the connection.
    pub packet_max_size_bytes: usize,
    /// Incoming connections still in their handshake at once; more are
    /// closed at accept. (Apache reads handshakes one at a time on its
    /// listener thread, so one silent peer stalls all others; we do not.)
    pub max_pending_handshakes: usize,
    /// Recent handshakes kept for inspection (`CnxHandle::handshakes`).
    pub handshake_log_capacity: usize,
}

impl CnxConfig {
    /// Apache's defaults for everything but the addresses.
    pub fn new(
        my_sid: Sid,
        my_addrs: Vec<SocketAddr>,
        peers: BTreeMap<Sid, Vec<SocketAddr>>,
    ) -> CnxConfig {
        CnxConfig {
            my_sid,
            my_addrs,
            peers,
            peer_names: BTreeMap::new(),
            listen_on_all_ips: false,
            multi_address_enabled: false,
            cnx_timeout_ms: CNX_TIMEOUT_MS,
            handshake_timeout_ms: CNX_TIMEOUT_MS,
            send_capacity: SEND_CAPACITY,
            recv_capacity: RECV_CAPACITY,
            packet_max_size_bytes: PACKET_MAX_SIZE_BYTES,
            max_pending_handshakes: 64,
            handshake_log_capacity: 64,
        }
    }

    /// The addresses the listener binds.
    pub fn listen_addrs(&self) -> Vec<SocketAddr> {
        let mut out: Vec<SocketAddr> = Vec::new();
        let all = self.my_addrs.iter().map(|a| {
            if self.listen_on_all_ips {
                let any: std::net::IpAddr = if a.is_ipv4() {
                    std::net::Ipv4Addr::UNSPECIFIED.into()
                } else {
                    std::net::Ipv6Addr::UNSPECIFIED.into()
                };
                SocketAddr::new(any, a.port())
            } else {
                *a
            }
        });
        // A set, as Apache's: two addresses on one port share a wildcard.
        for a in all {
            if !out.contains(&a) {
                out.push(a);
            }
        }
        out
    }
}
