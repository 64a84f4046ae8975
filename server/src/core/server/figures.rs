//! Figures and state-reading commands: stats for the four-letter words,
//! the admin API and metrics.
use super::*;

impl Server {
    // ---- figures ----

    /// Current figures.
    pub fn stats(&self) -> ServerStats {
        let connections = self
            .conns
            .values()
            .map(|c| ConnInfo {
                peer: c.peer.to_string(),
                session_id: c.session_id,
                timeout_ms: c.timeout_ms,
                packets_received: c.packets_received,
                packets_sent: c.packets_sent,
                last_zxid: c.last_zxid,
                outstanding_requests: 0,
            })
            .collect();
        let watched_paths = self.watches.data.by_path().len() + self.watches.child.by_path().len();
        ServerStats {
            // ZooKeeper's node map holds the root under both "" and "/", and
            // srvr/mntr report that map's size.
            znode_count: self.tree.node_count() as u64 + 1,
            watch_count: self.watches.len() as u64,
            watched_paths: watched_paths as u64,
            ephemerals_count: self.tree.ephemeral_count() as u64,
            approximate_data_size: self.tree.approximate_data_size().max(0) as u64,
            session_count: self.sessions.len() as u64,
            // `ZooKeeperServer.getZxid`: the last zxid handed out (a new
            // leader: its epoch with counter 0), at least the last applied.
            last_zxid: self.last_zxid.max(self.tree.last_processed_zxid),
            packets_received: self.packets_received,
            packets_sent: self.packets_sent,
            outstanding_requests: 0,
            min_latency_ms: if self.latency_count == 0 {
                0
            } else {
                self.latency_min_ms
            },
            max_latency_ms: self.latency_max_ms,
            avg_latency_ms: if self.latency_count == 0 {
                0.0
            } else {
                self.latency_total_ms as f64 / self.latency_count as f64
            },
            connections,
            digest_mismatches: self.tree.digest().mismatches(),
            role: self.role.role,
            quorum: self.role.figures.clone(),
            not_serving: false,
        }
    }

    /// Records how long one input took to process.
    pub fn record_latency(&mut self, elapsed: Duration) {
        let ms = elapsed.as_millis() as u64;
        self.latency_min_ms = self.latency_min_ms.min(ms);
        self.latency_max_ms = self.latency_max_ms.max(ms);
        self.latency_total_ms += ms;
        self.latency_count += 1;
    }

    /// Runs a state-reading four-letter word (`dump wchs wchc wchp hash crst srst`).
    pub fn command(&mut self, word: &str) -> String {
        let session_of = |conns: &HashMap<ConnId, Conn, foldhash::fast::RandomState>,
                          c: &ConnId| {
            conns.get(c).map_or(0, |c| c.session_id)
        };
        match word {
            "wchs" => {
                // ZooKeeper summarises the data-watch table only
                // (`DataTree.dumpWatchesSummary`); child watches are left out.
                let by_conn = self.watches.data.by_conn();
                let total: usize = by_conn.values().map(|paths| paths.len()).sum();
                format!(
                    "{} connections watching {} paths\nTotal watches:{}\n",
                    by_conn.len(),
                    self.watches.data.by_path().len(),
                    total
                )
            }
            "wchc" => {
                let mut by_session: std::collections::BTreeMap<i64, Vec<String>> =
                    Default::default();
                for table in [&self.watches.data, &self.watches.child] {
                    for (c, paths) in table.by_conn() {
                        let e = by_session.entry(session_of(&self.conns, &c)).or_default();
                        for p in paths {
                            if !e.contains(&p) {
                                e.push(p);
                            }
                        }
                    }
                }
                let mut s = String::new();
                for (sid, paths) in by_session {
                    s.push_str(&format!("0x{sid:x}\n"));
                    for p in paths {
                        s.push_str(&format!("\t{p}\n"));
                    }
                }
                s.push('\n');
                s
            }
            "wchp" => {
                let mut by_path: std::collections::BTreeMap<String, Vec<i64>> = Default::default();
                for table in [&self.watches.data, &self.watches.child] {
                    for (p, conns) in table.by_path() {
                        let e = by_path.entry(p).or_default();
                        for c in conns {
                            let sid = session_of(&self.conns, &c);
                            if !e.contains(&sid) {
                                e.push(sid);
                            }
                        }
                    }
                }
                let mut s = String::new();
                for (p, sids) in by_path {
                    s.push_str(&format!("{p}\n"));
                    for sid in sids {
                        s.push_str(&format!("\t0x{sid:x}\n"));
                    }
                }
                s
            }
            "dump" => {
                let mut s = String::from("SessionTracker dump:\n");
                s.push_str(&format!("Global Sessions({}):\n", self.sessions.len()));
                for sess in self.sessions.iter() {
                    s.push_str(&format!("0x{:x}\t{}ms\n", sess.id, sess.timeout_ms));
                }
                s.push_str("ephemeral nodes dump:\n");
                let eph = self.tree.all_ephemerals();
                s.push_str(&format!("Sessions with Ephemerals ({}):\n", eph.len()));
                for (sid, paths) in eph {
                    s.push_str(&format!("0x{sid:x}:\n"));
                    for p in paths {
                        s.push_str(&format!("\t{p}\n"));
                    }
                }
                s.push_str("Connections dump:\n");
                s
            }
            "hash" => self.tree.digest().hash_text(),
            "crst" => {
                for c in self.conns.values_mut() {
                    c.packets_received = 0;
                    c.packets_sent = 0;
                }
                "Connection stats reset.\n".into()
            }
            "srst" => {
                self.packets_received = 0;
                self.packets_sent = 0;
                self.latency_min_ms = u64::MAX;
                self.latency_max_ms = 0;
                self.latency_total_ms = 0;
                self.latency_count = 0;
                "Server stats reset.\n".into()
            }
            _ => String::new(),
        }
    }
}
