//! The timing and size limits Zab runs under (zoo.cfg's `tickTime`,
//! `initLimit`, `syncLimit`, and `zookeeper.commitLogCount`).

/// Limits of the Zab roles, with their units in their names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ZabConfig {
    /// `tickTime`: the leader pings every half tick and checks its quorum
    /// every tick.
    pub tick_time_ms: u64,
    /// `initLimit`: how long discovery and synchronisation may take, and how
    /// long a syncing peer may stay silent.
    pub init_limit_ticks: u64,
    /// `syncLimit`: how long a peer may stay silent once synced.
    pub sync_limit_ticks: u64,
    /// `zookeeper.commitLogCount`: committed txns the leader keeps in memory
    /// to sync learners by DIFF.
    pub commit_log_count: usize,
}

impl Default for ZabConfig {
    fn default() -> Self {
        ZabConfig {
            tick_time_ms: 2000,
            init_limit_ticks: 10,
            sync_limit_ticks: 5,
            commit_log_count: 500,
        }
    }
}

impl ZabConfig {
    pub fn init_limit_ms(&self) -> u64 {
        self.tick_time_ms * self.init_limit_ticks
    }

    pub fn sync_limit_ms(&self) -> u64 {
        self.tick_time_ms * self.sync_limit_ticks
    }
}
