//! The ensemble runtime: sockets, threads and files around the pure
//! [`Peer`](crate::quorum::peer::Peer). `zkserver` runs this instead of the
//! standalone runner when `zoo.cfg` makes it a member of an ensemble.
//!
//! - the election port: [`CnxManager`] (QuorumCnxManager) carrying FLE
//!   notifications in Apache's encoding;
//! - the quorum port: a listener for learners (used while leading) and a
//!   connector to the leader (while following or observing), both in
//!   [`quorum_conn`];
//! - the disk: the txn log thread, epoch files and the whole-history
//!   operations ([`disk`]);
//! - the single-writer task that owns the `Peer` ([`task`]); client
//!   connections reach it through the same [`RunnerHandle`] the standalone
//!   runner offers, so the client listener, four-letter words and admin API
//!   are unchanged.

mod disk;
mod quorum_conn;
mod task;

pub use task::ZK_NOT_SERVING;

use crate::config::quorum::{PeerType, QuorumConfig};
use crate::config::Config;
use crate::quorum::cnx_manager::{CnxConfig, CnxManager, HostPort, PACKET_MAX_SIZE_BYTES};
use crate::quorum::election::ElectionTiming;
use crate::quorum::peer::{Peer, PeerConfig};
use crate::quorum::types::{LearnerType, Sid};
use crate::quorum::verifier::QuorumVerifier;
use crate::quorum::wire::packet::DEFAULT_MAX_PACKET_BYTES;
use crate::quorum::zab::ZabConfig;
use crate::runner::{wall_clock_ms, RunnerHandle, RUNNER_QUEUE_LEN};
use crate::storage::LogConfig;
use std::collections::{BTreeMap, HashMap};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::time::Duration;
use tokio::sync::mpsc;

/// Events from quorum connections waiting for the member's task.
pub const QUORUM_EVENT_QUEUE_LEN: usize = 4096;
/// How long start-up waits for this member's own name to resolve.
pub const OWN_ADDRESS_RESOLVE_LIMIT: Duration = Duration::from_secs(60);

/// Resolves `host:port` (a name resolves to all its addresses).
fn resolve(host: &str, port: u16) -> Vec<SocketAddr> {
    match (host, port).to_socket_addrs() {
        Ok(addrs) => addrs.collect(),
        Err(e) => {
            tracing::warn!("cannot resolve {host}: {e}");
            Vec::new()
        }
    }
}

/// Each member's election addresses, resolved now.
fn election_addresses(q: &QuorumConfig) -> BTreeMap<Sid, Vec<SocketAddr>> {
    names(q, false)
        .into_iter()
        .map(|(sid, hps)| {
            let addrs = hps.iter().flat_map(|(h, p)| resolve(h, *p)).collect();
            (sid, addrs)
        })
        .collect()
}

/// Each member's quorum (`true`) or election (`false`) `host:port`s as
/// written, for resolving again at each connect.
fn names(q: &QuorumConfig, quorum_port: bool) -> HashMap<Sid, Vec<(String, u16)>> {
    q.servers
        .iter()
        .map(|s| {
            let hps = s
                .addresses
                .iter()
                .map(|a| {
                    let port = if quorum_port {
                        a.quorum_port
                    } else {
                        a.election_port
                    };
                    (a.host.clone(), port)
                })
                .collect();
            (s.id as Sid, hps)
        })
        .collect()
}

/// My own election addresses: a Kubernetes pod's own name may take a few
/// seconds to appear in DNS, so resolution is retried for a bounded time.
async fn my_election_addrs(
    q: &QuorumConfig,
    resolved: &BTreeMap<Sid, Vec<SocketAddr>>,
) -> Result<Vec<SocketAddr>, String> {
    if let Some(addrs) = resolved.get(&q.my_id).filter(|a| !a.is_empty()) {
        return Ok(addrs.clone());
    }
    let deadline = tokio::time::Instant::now() + OWN_ADDRESS_RESOLVE_LIMIT;
    loop {
        tokio::time::sleep(Duration::from_secs(1)).await;
        let again = election_addresses(q);
        if let Some(addrs) = again.get(&q.my_id).filter(|a| !a.is_empty()) {
            return Ok(addrs.clone());
        }
        if tokio::time::Instant::now() >= deadline {
            return Err(format!(
                "server.{}: its election address does not resolve (tried for {} s)",
                q.my_id,
                OWN_ADDRESS_RESOLVE_LIMIT.as_secs()
            ));
        }
    }
}

/// The member's settings from `zoo.cfg`.
fn peer_config(config: &Config, q: &QuorumConfig) -> PeerConfig {
    let mut core = config.core_config();
    core.server_id = q.my_id;
    PeerConfig {
        my_sid: q.my_id,
        learner_type: match q.peer_type {
            PeerType::Participant => LearnerType::Participant,
            PeerType::Observer => LearnerType::Observer,
        },
        verifier: QuorumVerifier::new(&q.servers, 0),
        zab: ZabConfig {
            tick_time_ms: u64::from(q.tick_time_ms),
            init_limit_ticks: u64::from(q.init_limit_ticks),
            sync_limit_ticks: u64::from(q.sync_limit_ticks),
            commit_log_count: q.commit_log_count as usize,
        },
        election: ElectionTiming::default(),
        core,
    }
}

/// Starts the member: reads its history and epochs, opens the election and
/// quorum ports, and spawns its task. Returns the handle client connections
/// use.
pub async fn start(config: &Config, q: &QuorumConfig) -> Result<RunnerHandle, String> {
    let snap_dir = config.data_dir.join("version-2");
    let log_dir = config.data_log_dir.join("version-2");
    let mut log_config = LogConfig::new(log_dir.clone());
    log_config.force_sync = config.force_sync;
    log_config.prealloc_bytes = config.prealloc_size_kb * 1024;
    log_config.fsync_warning_threshold_ms = config.fsync_warning_threshold_ms;
    log_config.snap_count = config.snap_count;
    log_config.snap_size_limit_bytes = config.snap_size_limit_kb.saturating_mul(1024);
    let mut disk =
        disk::NodeDisk::new(snap_dir, log_dir, log_config, config.extended_types_enabled);
    let (accepted, current) = disk.read_epochs()?;
    let loaded = disk.load().await?;
    disk.start_log()?;

    let me = q.me();
    let election_addrs = election_addresses(q);
    let my_election = my_election_addrs(q, &election_addrs).await?;
    let mut cnx_cfg = CnxConfig::new(q.my_id, my_election, election_addrs);
    cnx_cfg.peer_names = names(q, false)
        .into_iter()
        .map(|(sid, hps)| {
            let hps = hps
                .into_iter()
                .map(|(host, port)| HostPort { host, port })
                .collect();
            (sid, hps)
        })
        .collect();
    cnx_cfg.listen_on_all_ips = q.quorum_listen_on_all_ips;
    cnx_cfg.cnx_timeout_ms = q.cnx_timeout_ms;
    cnx_cfg.handshake_timeout_ms = q.sync_limit_ms().max(1);
    let (cnx, election_rx) = CnxManager::start(cnx_cfg)
        .await
        .map_err(|e| format!("cannot open the election port: {e}"))?;

    let (events_tx, quorum_events) = mpsc::channel(QUORUM_EVENT_QUEUE_LEN);
    let net = quorum_conn::QuorumNet::new(
        events_tx,
        quorum_conn::ReadLimits {
            max_packet_bytes: DEFAULT_MAX_PACKET_BYTES.max(2 * config.jute_max_buffer_bytes),
            extended_types_enabled: config.extended_types_enabled,
            max_item_bytes: config.jute_max_buffer_bytes.max(1024),
        },
    );
    // Only a participant can lead; it listens on its quorum port while it
    // leads, as Apache's `LearnerCnxAcceptor` does (a learner that comes
    // too early is refused and retries).
    let mut quorum_listen = Vec::new();
    if !me.observer {
        for a in &me.addresses {
            if q.quorum_listen_on_all_ips {
                quorum_listen.push(match a.host.parse::<IpAddr>() {
                    Ok(IpAddr::V6(_)) => {
                        SocketAddr::new(Ipv6Addr::UNSPECIFIED.into(), a.quorum_port)
                    }
                    _ => SocketAddr::new(Ipv4Addr::UNSPECIFIED.into(), a.quorum_port),
                });
            } else {
                quorum_listen.extend(resolve(&a.host, a.quorum_port));
            }
        }
    }

    let now_ms = wall_clock_ms() as u64;
    let mut initial = Vec::new();
    let cfg = peer_config(config, q);
    tracing::info!(
        "ensemble member server.{} ({}): acceptedEpoch {accepted}, currentEpoch {current}; \
         {} voters, quorum {}",
        q.my_id,
        if me.observer {
            "observer"
        } else {
            "participant"
        },
        q.participants().count(),
        q.quorum_size()
    );
    let peer = Peer::new(cfg, accepted, current, loaded, now_ms, &mut initial);
    // As standalone start-up (`snapshot::ensure_snapshot`).
    let server = peer.server();
    let zxid = server.tree().last_processed_zxid;
    let written = crate::storage::snapshot::ensure_snapshot(
        &disk.snap_dir,
        zxid,
        server.tree(),
        &server.session_timeouts(),
    )
    .map_err(|e| format!("writing the start-up snapshot: {e}"))?;
    if let Some(path) = written {
        tracing::info!("snapshot taken: {}", path.display());
    }
    let (tx, clients_rx) = mpsc::channel(RUNNER_QUEUE_LEN);
    let task = task::PeerTask {
        peer,
        disk,
        cnx,
        election_rx,
        net,
        quorum_events,
        clients_rx,
        quorum_addrs: names(q, true),
        quorum_listen,
        identify_timeout: Duration::from_millis(q.init_limit_ms().max(1)),
        connect_limit: Duration::from_millis(
            u64::from(q.connect_to_learner_master_limit_ticks) * u64::from(q.tick_time_ms),
        )
        .max(Duration::from_secs(1)),
        tick_interval: Duration::from_millis((u64::from(q.tick_time_ms) / 2).max(1)),
        leader_serves: q.leader_serves,
        max_notification_config_bytes: PACKET_MAX_SIZE_BYTES,
        initial,
    };
    tokio::spawn(task.run());
    Ok(RunnerHandle { tx })
}
