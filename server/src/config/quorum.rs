//! The ensemble's configuration: the `server.N` lines, `myid` and the
//! quorum keys turned into one typed [`QuorumConfig`], with the rules of
//! Apache ZooKeeper 3.8.0's `QuorumPeerConfig` (`parseDynamicConfig`,
//! `setupMyId`, `setupClientPort`, `setupPeerType`, `checkValidity`),
//! checked against the running 3.8.0 by `tests/tests/quorum_config.rs`.
//!
//! Invariants:
//! - Pure: the `myid` file's content comes in as a [`MyId`] (read by
//!   `Config::load_with`), so every rule is unit-testable.
//! - A configuration is an ensemble exactly when 3.8.0 would run
//!   `QuorumPeer`: there are `server.N` lines and either more than one
//!   participant or `standaloneEnabled=false` (`isDistributed`).
//! - In an ensemble `my_id` names one of `servers`, which are sorted by id;
//!   `initLimit` and `syncLimit` are set; there is at least one participant.
//! - Every refusal names the key and its line, or the `myid` file's path.
//!
//! Where we refuse what 3.8.0 accepts (each found by running it):
//! a myid not among the `server.N` lines (3.8.0 passes its config check and
//! then dies with "My id N not in the peer list", exit 1: same outcome,
//! earlier), an ensemble member with no client port at all (3.8.0 runs a
//! peer that serves no clients), negative `initLimit`/`syncLimit` (3.8.0
//! only tests for 0) and a `cnxTimeout` that is not a number (3.8.0's
//! `Integer.getInteger` silently falls back to 5000).

use super::ensemble::QuorumServer;
use crate::quorum::types::Sid;
use std::collections::BTreeMap;
use std::path::PathBuf;

/// `QuorumCnxManager`'s default `cnxTimeout`: ms to open an election
/// connection.
pub const DEFAULT_CNX_TIMEOUT_MS: u64 = 5000;
/// `ZKDatabase`'s default `zookeeper.commitLogCount`: committed proposals
/// kept in memory for DIFF syncs.
pub const DEFAULT_COMMIT_LOG_COUNT: u32 = 500;
/// `ZKDatabase`'s default `zookeeper.snapshotSizeFactor`: DIFF from the txn
/// log while the log is smaller than this fraction of the snapshot.
pub const DEFAULT_SNAPSHOT_SIZE_FACTOR: f64 = 0.33;
/// The only election algorithm since 3.6.0 (FastLeaderElection).
pub const ELECTION_ALG_FAST: u32 = 3;

/// `QuorumPeer.LearnerType`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PeerType {
    Participant,
    Observer,
}

impl PeerType {
    /// As 3.8.0 logs it (`PARTICIPANT`/`OBSERVER`).
    pub fn java_name(self) -> &'static str {
        match self {
            PeerType::Participant => "PARTICIPANT",
            PeerType::Observer => "OBSERVER",
        }
    }

    /// As the `server.N` syntax writes it.
    pub fn name(self) -> &'static str {
        match self {
            PeerType::Participant => "participant",
            PeerType::Observer => "observer",
        }
    }
}

/// What `<dataDir>/myid` held.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MyId {
    /// No such file (or not a regular file).
    Missing { path: PathBuf },
    /// Its first line, without the line end (Java's `readLine`); `None`
    /// for an empty file.
    FirstLine { path: PathBuf, line: Option<String> },
}

/// The ensemble this server is a member of.
#[derive(Debug, Clone, PartialEq)]
pub struct QuorumConfig {
    /// The contents of `myid`: this server's `N`.
    pub my_id: Sid,
    /// Where `my_id` was read from.
    pub myid_file: PathBuf,
    /// Every `server.N` line, sorted by id.
    pub servers: Vec<QuorumServer>,
    /// This server's role, from its own `server.N` line (a `peerType` that
    /// disagrees is overruled with a warning, as 3.8.0 does).
    pub peer_type: PeerType,
    /// `tickTime`, the unit of the two limits.
    pub tick_time_ms: u32,
    /// `initLimit`: ticks a learner has to connect and sync.
    pub init_limit_ticks: u32,
    /// `syncLimit`: ticks a learner may lag before it is dropped.
    pub sync_limit_ticks: u32,
    /// `connectToLearnerMasterLimit` (defaults to `initLimit`).
    pub connect_to_learner_master_limit_ticks: u32,
    /// `electionAlg`: always [`ELECTION_ALG_FAST`].
    pub election_alg: u32,
    /// `quorumListenOnAllIPs`: bind the quorum and election ports on every
    /// address instead of the `server.N` host.
    pub quorum_listen_on_all_ips: bool,
    /// `cnxTimeout` (or `-Dzookeeper.cnxTimeout`): ms to open an election
    /// connection.
    pub cnx_timeout_ms: u64,
    /// `syncEnabled`: observers log and snapshot like followers.
    pub sync_enabled: bool,
    /// `leaderServes`: the leader accepts client connections.
    pub leader_serves: bool,
    /// `zookeeper.commitLogCount`: committed proposals kept for DIFF.
    pub commit_log_count: u32,
    /// `zookeeper.snapshotSizeFactor`: DIFF from the log while it is
    /// smaller than this × the snapshot; negative disables log DIFFs.
    pub snapshot_size_factor: f64,
    /// `standaloneEnabled` as given (true unless set).
    pub standalone_enabled: bool,
}

impl QuorumConfig {
    /// This server's own `server.N` line.
    pub fn me(&self) -> &QuorumServer {
        self.server(self.my_id)
            .expect("my_id names a server (invariant)")
    }

    /// The `server.N` line of `sid`.
    pub fn server(&self, sid: Sid) -> Option<&QuorumServer> {
        self.servers.iter().find(|s| s.id as Sid == sid)
    }

    /// The servers that vote (`QuorumMaj.getVotingMembers`).
    pub fn participants(&self) -> impl Iterator<Item = &QuorumServer> {
        self.servers.iter().filter(|s| !s.observer)
    }

    /// The servers that do not vote.
    pub fn observers(&self) -> impl Iterator<Item = &QuorumServer> {
        self.servers.iter().filter(|s| s.observer)
    }

    /// Votes a majority needs: more than half the participants
    /// (`QuorumMaj`: 3 of 4, 2 of 3, 1 of 1).
    pub fn quorum_size(&self) -> usize {
        self.participants().count() / 2 + 1
    }

    /// Every other server.
    pub fn peers(&self) -> impl Iterator<Item = &QuorumServer> {
        let me = self.my_id;
        self.servers.iter().filter(move |s| s.id as Sid != me)
    }

    /// `initLimit × tickTime`.
    pub fn init_limit_ms(&self) -> u64 {
        u64::from(self.init_limit_ticks) * u64::from(self.tick_time_ms)
    }

    /// `syncLimit × tickTime`.
    pub fn sync_limit_ms(&self) -> u64 {
        u64::from(self.sync_limit_ticks) * u64::from(self.tick_time_ms)
    }
}

/// One quorum key's value and line (0 = a JVMFLAGS property).
#[derive(Debug, Clone)]
pub(super) struct Raw {
    pub line: usize,
    pub value: String,
}

/// The client address settings the quorum rules compare and fill in.
#[derive(Debug, Clone, Default)]
pub(super) struct ClientPort {
    pub port: Option<(usize, u16)>,
    pub address: Option<(usize, String)>,
}

/// What [`resolve`] decided.
#[derive(Debug)]
pub(super) struct Resolved {
    pub quorum: Option<QuorumConfig>,
    /// The client port and address after `server.N=...;port` filled them.
    pub client_port: Option<u16>,
    pub client_address: Option<String>,
    pub warnings: Vec<String>,
}

/// Why the ensemble configuration is refused.
#[derive(Debug, PartialEq)]
pub(super) enum QuorumError {
    /// The message for `ConfigErrorKind::Inconsistent`.
    Inconsistent(String),
    /// A required key is absent (`initLimit`, `syncLimit`).
    Missing(&'static str),
}

fn is_any_local(host: &str) -> bool {
    host.parse::<std::net::IpAddr>()
        .is_ok_and(|ip| ip.is_unspecified())
}

fn int_key(keys: &BTreeMap<String, Raw>, key: &str) -> Option<(usize, i64)> {
    keys.get(key)
        .and_then(|r| r.value.trim().parse::<i64>().ok().map(|v| (r.line, v)))
}

fn bool_key(keys: &BTreeMap<String, Raw>, key: &str, default: bool) -> bool {
    keys.get(key)
        .and_then(|r| super::parse_bool(r.value.trim()))
        .unwrap_or(default)
}

fn at(line: usize) -> String {
    if line == 0 {
        "JVMFLAGS".to_string()
    } else {
        format!("line {line}")
    }
}

/// Applies 3.8.0's ensemble rules. `keys` holds the quorum keys (their
/// values already checked by `key_rules`), `servers` the `server.N` lines
/// with the line each came from.
pub(super) fn resolve(
    keys: &BTreeMap<String, Raw>,
    servers: &[(usize, QuorumServer)],
    client: &ClientPort,
    tick_time_ms: i32,
    myid: &MyId,
) -> Result<Resolved, QuorumError> {
    let mut out = Resolved {
        quorum: None,
        client_port: client.port.map(|(_, p)| p),
        client_address: client.address.clone().map(|(_, a)| a),
        warnings: Vec::new(),
    };
    if servers.is_empty() {
        return Ok(out);
    }
    // `clientPortAddress is set but clientPort is not set`, checked before
    // a server line can supply the port.
    if let (None, Some((line, _))) = (&client.port, &client.address) {
        return Err(QuorumError::Inconsistent(format!(
            "{}: clientPortAddress is set but clientPort is not set",
            at(*line)
        )));
    }
    let standalone_enabled = bool_key(keys, "standaloneEnabled", true);
    let participants = servers.iter().filter(|(_, s)| !s.observer).count();
    let observers = servers.len() - participants;
    if participants == 0 {
        return Err(QuorumError::Inconsistent(if standalone_enabled {
            "Observers w/o participants is an invalid configuration: \
             every server.N line is :observer"
                .to_string()
        } else {
            "standaloneEnabled = false then number of participants should be >0".to_string()
        }));
    }
    if participants == 1 && standalone_enabled {
        if observers > 0 {
            return Err(QuorumError::Inconsistent(
                "Observers w/o quorum is an invalid configuration: one participant \
                 with standaloneEnabled=true runs standalone"
                    .to_string(),
            ));
        }
        out.warnings.push(
            "only one server specified (ignoring it): running standalone, as \
             standaloneEnabled=true asks (set standaloneEnabled=false for a 1-node ensemble)"
                .to_string(),
        );
    } else if participants <= 2 {
        out.warnings
            .push("No server failure will be tolerated. You need at least 3 servers.".to_string());
    } else if participants % 2 == 0 {
        out.warnings
            .push("Non-optimal configuration, consider an odd number of servers.".to_string());
    }
    let distributed = !standalone_enabled || participants > 1;

    // setupMyId: read whenever there are server lines.
    let (my_id, myid_file) = match myid {
        MyId::Missing { path } => (None, path.clone()),
        MyId::FirstLine { path, line } => {
            let text = line.as_deref().unwrap_or("null");
            // Java's Long.parseLong: no spaces, an optional sign.
            match text.parse::<i64>() {
                Ok(-1) => (None, path.clone()),
                Ok(id) => (Some(id), path.clone()),
                Err(_) => {
                    return Err(QuorumError::Inconsistent(format!(
                        "{}: serverid {text} is not a number",
                        path.display()
                    )))
                }
            }
        }
    };

    // setupClientPort: compare with, or take, this server's `;port`.
    let mine = my_id.and_then(|id| servers.iter().find(|(_, s)| s.id as i64 == id));
    if let Some((server_line, me)) = mine {
        if let Some(server_port) = me.client_port {
            let server_host = me.client_address.as_deref().unwrap_or("0.0.0.0");
            match (&client.port, &client.address) {
                (Some((port_line, port)), address) => {
                    let host = address.as_ref().map_or("0.0.0.0", |(_, a)| a.as_str());
                    let same = if is_any_local(host) {
                        *port == server_port
                    } else {
                        *port == server_port && host.eq_ignore_ascii_case(server_host)
                    };
                    if !same {
                        return Err(QuorumError::Inconsistent(format!(
                            "client address for this server (id = {}) is {host}:{port} \
                             (clientPort, {}{}) but server.{} ({}) says {server_host}:{server_port}",
                            me.id,
                            at(*port_line),
                            address
                                .as_ref()
                                .map(|(l, _)| format!("; clientPortAddress, {}", at(*l)))
                                .unwrap_or_default(),
                            me.id,
                            at(*server_line),
                        )));
                    }
                }
                (None, _) => {
                    out.client_port = Some(server_port);
                    out.client_address = me.client_address.clone();
                }
            }
        }
    }
    if !distributed {
        return Ok(out);
    }

    // checkValidity.
    let limit = |key: &'static str| match int_key(keys, key) {
        Some((_, v)) if v != 0 => Ok(v as u32),
        _ => Err(QuorumError::Missing(key)),
    };
    let init_limit_ticks = limit("initLimit")?;
    let sync_limit_ticks = limit("syncLimit")?;
    let Some(my_id) = my_id else {
        return Err(QuorumError::Inconsistent(format!(
            "{}: myid file is missing (it must hold this server's N of server.N)",
            myid_file.display()
        )));
    };
    let Some((_, me)) = mine else {
        let ids: Vec<String> = servers.iter().map(|(_, s)| s.id.to_string()).collect();
        return Err(QuorumError::Inconsistent(format!(
            "{}: My id {my_id} not in the peer list (server.N lines: {})",
            myid_file.display(),
            ids.join(", ")
        )));
    };

    // setupPeerType: the server list wins over peerType.
    let peer_type = if me.observer {
        PeerType::Observer
    } else {
        PeerType::Participant
    };
    if let Some(raw) = keys.get("peerType") {
        let said = if raw.value.trim().eq_ignore_ascii_case("observer") {
            PeerType::Observer
        } else {
            PeerType::Participant
        };
        if said != peer_type {
            out.warnings.push(format!(
                "{}: Peer type from servers list ({}) doesn't match peerType ({}). \
                 Defaulting to servers list.",
                at(raw.line),
                peer_type.java_name(),
                said.java_name()
            ));
        }
    }
    if out.client_port.is_none() {
        return Err(QuorumError::Inconsistent(format!(
            "no client port for server.{my_id}: set clientPort or end its server.{my_id} line \
             with ;port (an ensemble member that serves no clients is not supported)"
        )));
    }
    let mut sorted: Vec<QuorumServer> = servers.iter().map(|(_, s)| s.clone()).collect();
    sorted.sort_by_key(|s| s.id);
    out.quorum = Some(QuorumConfig {
        my_id,
        myid_file,
        servers: sorted,
        peer_type,
        tick_time_ms: tick_time_ms.max(1) as u32,
        init_limit_ticks,
        sync_limit_ticks,
        connect_to_learner_master_limit_ticks: int_key(keys, "connectToLearnerMasterLimit")
            .map_or(init_limit_ticks, |(_, v)| v as u32),
        election_alg: ELECTION_ALG_FAST,
        quorum_listen_on_all_ips: bool_key(keys, "quorumListenOnAllIPs", false),
        cnx_timeout_ms: int_key(keys, "cnxTimeout")
            .map_or(DEFAULT_CNX_TIMEOUT_MS, |(_, v)| v as u64),
        sync_enabled: bool_key(keys, "syncEnabled", true),
        // 3.8.0's Leader: any value but "no" serves (even "false").
        leader_serves: keys
            .get("leaderServes")
            .is_none_or(|r| r.value.trim() != "no"),
        commit_log_count: int_key(keys, "commitLogCount")
            .map_or(DEFAULT_COMMIT_LOG_COUNT, |(_, v)| v as u32),
        snapshot_size_factor: keys
            .get("snapshotSizeFactor")
            .and_then(|r| r.value.trim().parse::<f64>().ok())
            .unwrap_or(DEFAULT_SNAPSHOT_SIZE_FACTOR),
        standalone_enabled,
    });
    Ok(out)
}

/// The quorum keys [`resolve`] reads (the rest of `key_rules`' ensemble
/// keys are validated and kept, not acted on).
pub(super) fn is_quorum_key(key: &str) -> bool {
    matches!(
        key,
        "initLimit"
            | "syncLimit"
            | "connectToLearnerMasterLimit"
            | "electionAlg"
            | "peerType"
            | "standaloneEnabled"
            | "quorumListenOnAllIPs"
            | "cnxTimeout"
            | "syncEnabled"
            | "leaderServes"
            | "commitLogCount"
            | "snapshotSizeFactor"
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::ensemble::parse_server;

    fn keys(pairs: &[(&str, &str)]) -> BTreeMap<String, Raw> {
        pairs
            .iter()
            .enumerate()
            .map(|(i, (k, v))| {
                let raw = Raw {
                    line: i + 10,
                    value: v.to_string(),
                };
                (k.to_string(), raw)
            })
            .collect()
    }

    fn servers(lines: &[&str]) -> Vec<(usize, QuorumServer)> {
        lines
            .iter()
            .enumerate()
            .map(|(i, v)| (i + 1, parse_server(i as u64 + 1, v).unwrap()))
            .collect()
    }

    fn myid(s: &str) -> MyId {
        MyId::FirstLine {
            path: "/d/myid".into(),
            line: Some(s.to_string()),
        }
    }

    const LIMITS: &[(&str, &str)] = &[("initLimit", "5"), ("syncLimit", "2")];
    const THREE: &[&str] = &["h:1:2", "h:3:4", "h:5:6"];

    fn port(p: u16) -> ClientPort {
        ClientPort {
            port: Some((3, p)),
            address: None,
        }
    }

    fn ok(k: &[(&str, &str)], s: &[&str], c: &ClientPort, id: &MyId) -> Resolved {
        resolve(&keys(k), &servers(s), c, 2000, id).unwrap_or_else(|e| panic!("{e:?}"))
    }

    fn err(k: &[(&str, &str)], s: &[&str], c: &ClientPort, id: &MyId) -> String {
        match resolve(&keys(k), &servers(s), c, 2000, id).unwrap_err() {
            QuorumError::Inconsistent(m) => m,
            QuorumError::Missing(k) => format!("{k} is not set"),
        }
    }

    #[test]
    fn three_node_ensemble() {
        let r = ok(LIMITS, THREE, &port(2181), &myid("2"));
        let q = r.quorum.unwrap();
        assert_eq!(q.my_id, 2);
        assert_eq!(q.me().addresses[0].quorum_port, 3);
        assert_eq!(q.quorum_size(), 2);
        assert_eq!(q.peers().map(|s| s.id).collect::<Vec<_>>(), vec![1, 3]);
        assert_eq!(q.peer_type, PeerType::Participant);
        assert_eq!((q.init_limit_ms(), q.sync_limit_ms()), (10_000, 4_000));
        assert_eq!(q.connect_to_learner_master_limit_ticks, 5);
        assert_eq!(q.cnx_timeout_ms, DEFAULT_CNX_TIMEOUT_MS);
        assert!(q.sync_enabled && q.leader_serves && !q.quorum_listen_on_all_ips);
        assert_eq!(q.commit_log_count, 500);
        assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    }

    #[test]
    fn even_sized_ensembles_work() {
        let r = ok(
            LIMITS,
            &["h:1:2", "h:3:4", "h:5:6", "h:7:8"],
            &port(1),
            &myid("4"),
        );
        assert_eq!(r.quorum.unwrap().quorum_size(), 3);
        assert_eq!(
            r.warnings,
            vec!["Non-optimal configuration, consider an odd number of servers."]
        );
        let r = ok(LIMITS, &["h:1:2", "h:3:4"], &port(1), &myid("1"));
        assert_eq!(r.quorum.unwrap().quorum_size(), 2);
        assert!(r.warnings[0].starts_with("No server failure will be tolerated"));
    }

    #[test]
    fn observers_do_not_vote() {
        let s = &["h:1:2", "h:3:4", "h:5:6", "h:7:8:observer"];
        let q = ok(LIMITS, s, &port(1), &myid("4")).quorum.unwrap();
        assert_eq!(q.peer_type, PeerType::Observer);
        assert_eq!(q.quorum_size(), 2);
        assert_eq!(q.observers().count(), 1);
        let all_observers = &["h:1:2:observer", "h:3:4:observer"];
        let e = err(LIMITS, all_observers, &port(1), &myid("1"));
        assert!(e.starts_with("Observers w/o participants"), "{e}");
        let e = err(LIMITS, &["h:1:2", "h:3:4:observer"], &port(1), &myid("1"));
        assert!(e.starts_with("Observers w/o quorum"), "{e}");
    }

    #[test]
    fn one_server_is_standalone_unless_told_otherwise() {
        let r = ok(
            LIMITS,
            &["h:1:2"],
            &port(1),
            &MyId::Missing { path: "x".into() },
        );
        assert!(r.quorum.is_none());
        assert!(
            r.warnings[0].contains("running standalone"),
            "{:?}",
            r.warnings
        );
        let k = &[
            ("initLimit", "5"),
            ("syncLimit", "2"),
            ("standaloneEnabled", "false"),
        ];
        let q = ok(k, &["h:1:2"], &port(1), &myid("1")).quorum.unwrap();
        assert_eq!(q.quorum_size(), 1);
        assert!(!q.standalone_enabled);
    }

    #[test]
    fn myid_rules() {
        let missing = MyId::Missing {
            path: "/d/myid".into(),
        };
        let e = err(LIMITS, THREE, &port(1), &missing);
        assert_eq!(
            e,
            "/d/myid: myid file is missing (it must hold this server's N of server.N)"
        );
        // -1 is 3.8.0's "unset".
        assert!(err(LIMITS, THREE, &port(1), &myid("-1")).contains("myid file is missing"));
        assert_eq!(
            err(LIMITS, THREE, &port(1), &myid("abc")),
            "/d/myid: serverid abc is not a number"
        );
        // No trimming, as Java's Long.parseLong.
        assert!(err(LIMITS, THREE, &port(1), &myid(" 1 ")).contains("serverid  1  is not"));
        let empty = MyId::FirstLine {
            path: "/d/myid".into(),
            line: None,
        };
        assert!(err(LIMITS, THREE, &port(1), &empty).contains("serverid null is not a number"));
        assert_eq!(
            err(LIMITS, THREE, &port(1), &myid("7")),
            "/d/myid: My id 7 not in the peer list (server.N lines: 1, 2, 3)"
        );
        assert_eq!(
            ok(LIMITS, THREE, &port(1), &myid("+3"))
                .quorum
                .unwrap()
                .my_id,
            3
        );
        // A bad myid stops even a standalone start with server lines.
        assert!(err(LIMITS, &["h:1:2"], &port(1), &myid("x")).contains("not a number"));
    }

    #[test]
    fn limits_are_required() {
        let e = err(&[("initLimit", "5")], THREE, &port(1), &myid("1"));
        assert_eq!(e, "syncLimit is not set");
        let e = err(&[("syncLimit", "5")], THREE, &port(1), &myid("1"));
        assert_eq!(e, "initLimit is not set");
        // Standalone needs neither.
        assert!(ok(&[], &["h:1:2"], &port(1), &myid("1")).quorum.is_none());
    }

    #[test]
    fn peer_type_mismatch_defaults_to_the_server_list() {
        let k = &[
            ("initLimit", "5"),
            ("syncLimit", "2"),
            ("peerType", "observer"),
        ];
        let r = ok(k, THREE, &port(1), &myid("1"));
        assert_eq!(r.quorum.unwrap().peer_type, PeerType::Participant);
        assert_eq!(
            r.warnings,
            vec![
                "line 12: Peer type from servers list (PARTICIPANT) doesn't match peerType \
                 (OBSERVER). Defaulting to servers list."
            ]
        );
    }

    #[test]
    fn client_port_from_the_server_line() {
        let s = &["h:1:2;2181", "h:3:4;127.0.0.1:2182", "h:5:6"];
        let none = ClientPort::default();
        let r = ok(LIMITS, s, &none, &myid("1"));
        assert_eq!(
            (r.client_port, r.client_address.as_deref()),
            (Some(2181), None)
        );
        let r = ok(LIMITS, s, &none, &myid("2"));
        assert_eq!(
            (r.client_port, r.client_address.as_deref()),
            (Some(2182), Some("127.0.0.1"))
        );
        // Neither clientPort nor ;port.
        assert!(err(LIMITS, s, &none, &myid("3")).starts_with("no client port for server.3"));
        // The same port agrees; another does not.
        assert_eq!(
            ok(LIMITS, s, &port(2181), &myid("1")).client_port,
            Some(2181)
        );
        let e = err(LIMITS, s, &port(2184), &myid("1"));
        assert!(
            e.contains("0.0.0.0:2184 (clientPort, line 3) but server.1 (line 1) says 0.0.0.0:2181"),
            "{e}"
        );
        // A specific clientPortAddress must equal the line's address.
        let both = ClientPort {
            port: Some((3, 2182)),
            address: Some((4, "127.0.0.1".into())),
        };
        assert_eq!(ok(LIMITS, s, &both, &myid("2")).client_port, Some(2182));
        assert!(err(LIMITS, s, &both, &myid("1")).contains("clientPortAddress, line 4"));
        let addr_only = ClientPort {
            port: None,
            address: Some((4, "127.0.0.1".into())),
        };
        assert_eq!(
            err(LIMITS, s, &addr_only, &myid("1")),
            "line 4: clientPortAddress is set but clientPort is not set"
        );
    }

    #[test]
    fn tunables() {
        let k = &[
            ("initLimit", "5"),
            ("syncLimit", "2"),
            ("cnxTimeout", "1500"),
            ("quorumListenOnAllIPs", "true"),
            ("syncEnabled", "false"),
            ("leaderServes", "no"),
            ("commitLogCount", "20"),
            ("snapshotSizeFactor", "-1"),
            ("connectToLearnerMasterLimit", "9"),
        ];
        let q = ok(k, THREE, &port(1), &myid("3")).quorum.unwrap();
        assert_eq!(q.cnx_timeout_ms, 1500);
        assert!(q.quorum_listen_on_all_ips && !q.sync_enabled && !q.leader_serves);
        assert_eq!(q.commit_log_count, 20);
        assert_eq!(q.snapshot_size_factor, -1.0);
        assert_eq!(q.connect_to_learner_master_limit_ticks, 9);
        let k = &[
            ("initLimit", "5"),
            ("syncLimit", "2"),
            ("leaderServes", "false"),
        ];
        let q = ok(k, THREE, &port(1), &myid("3")).quorum.unwrap();
        assert!(q.leader_serves, "only \"no\" turns it off, as in 3.8.0");
    }
}
