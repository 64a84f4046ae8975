//! The mntr/`monitor` keys a quorum member adds to a standalone server's,
//! at the places a 3.8.0 ensemble prints them (its metrics map's order,
//! taken from a running 3-node 3.8.0 ensemble): `zk_peer_state` and
//! `zk_quorum_size` on every member, the proposal sizes, synced-learner
//! counts, `zk_pending_syncs`, `zk_leader_uptime` and `zk_learners` on the
//! leader. A standalone server's map is returned unchanged.

use crate::core::{Role, ServerStats};
use serde_json::{json, Map, Value};

/// `map` with the role's keys inserted after the keys 3.8.0 prints them after.
pub fn with_role_keys(map: Map<String, Value>, s: &ServerStats) -> Map<String, Value> {
    if s.role == Role::Standalone {
        return map;
    }
    let q = &s.quorum;
    let leader = s.role == Role::Leader;
    let peer_state = format!("{} - {}", s.role.peer_state_name(), q.zab_state);
    let mut after: Vec<(&str, Vec<(&str, Value)>)> = vec![
        ("server_state", vec![("peer_state", json!(peer_state))]),
        (
            "non_mtls_local_conn_count",
            vec![("quorum_size", json!(q.quorum_size))],
        ),
    ];
    if leader {
        after.extend([
            (
                "avg_latency",
                vec![("min_proposal_size", json!(q.min_proposal_size))],
            ),
            (
                "packets_received",
                vec![("max_proposal_size", json!(q.max_proposal_size))],
            ),
            (
                "max_client_response_size",
                vec![("synced_followers", json!(q.synced_followers))],
            ),
            (
                "watch_count",
                vec![
                    (
                        "synced_non_voting_followers",
                        json!(q.synced_non_voting_followers),
                    ),
                    ("synced_observers", json!(q.synced_observers)),
                ],
            ),
            (
                "open_file_descriptor_count",
                vec![
                    ("last_proposal_size", json!(q.last_proposal_size)),
                    ("pending_syncs", json!(q.pending_syncs)),
                    ("leader_uptime", json!(q.leader_uptime_ms)),
                ],
            ),
            (
                "outstanding_tls_handshake",
                vec![("learners", json!(q.learners))],
            ),
        ]);
    }
    let mut out = Map::with_capacity(map.len() + 12);
    for (k, v) in map {
        let extra = after.iter().position(|(key, _)| *key == k);
        out.insert(k, v);
        if let Some(i) = extra {
            for (name, value) in after.swap_remove(i).1 {
                out.insert(name.to_string(), value);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::core::QuorumFigures;
    use crate::metrics::catalog::GAUGES;

    fn keys(role: Role) -> Vec<String> {
        // The head of 3.8.0's standalone mntr, in its order.
        let mut map = Map::new();
        let head = ["version", "server_state"].into_iter();
        for k in head.chain(GAUGES.iter().copied()).chain(["proposal_count"]) {
            map.insert(k.to_string(), json!(0));
        }
        let stats = ServerStats {
            role,
            quorum: QuorumFigures {
                quorum_size: 3,
                ..QuorumFigures::default()
            },
            ..ServerStats::default()
        };
        with_role_keys(map, &stats).keys().cloned().collect()
    }

    #[test]
    fn leader_keys_in_3_8_0_order() {
        // A 3.8.0 leader's mntr head (3 nodes, read from a running ensemble).
        let want = "version server_state peer_state ephemerals_count num_alive_connections \
            avg_latency min_proposal_size outstanding_requests znode_count global_sessions \
            non_mtls_remote_conn_count last_client_response_size packets_sent packets_received \
            max_proposal_size max_client_response_size synced_followers \
            connection_drop_probability watch_count synced_non_voting_followers \
            synced_observers auth_failed_count min_latency max_file_descriptor_count \
            approximate_data_size open_file_descriptor_count last_proposal_size pending_syncs \
            leader_uptime local_sessions uptime max_latency outstanding_tls_handshake learners \
            min_client_response_size non_mtls_local_conn_count quorum_size proposal_count";
        assert_eq!(keys(Role::Leader).join(" "), want);
    }

    #[test]
    fn follower_adds_peer_state_and_quorum_size_only() {
        let k = keys(Role::Follower);
        assert_eq!(k.len(), 27 + 2);
        assert_eq!(k[2], "peer_state");
        assert_eq!(k[27], "quorum_size");
        assert_eq!(keys(Role::Standalone).len(), 27);
    }
}
