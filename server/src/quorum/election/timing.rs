//! The election's timers, in milliseconds (`FastLeaderElection`'s
//! `finalizeWait` and the `zookeeper.fastleader.minNotificationInterval` /
//! `maxNotificationInterval` system properties).

/// How long the election waits, all in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ElectionTiming {
    /// Once a quorum agrees with my proposal, wait this long for a better
    /// vote before deciding (`finalizeWait`, 200 ms; fixed in Apache).
    pub finalize_wait_ms: u64,
    /// The first notification timeout of a round
    /// (`zookeeper.fastleader.minNotificationInterval`, default 200 ms).
    pub min_notification_interval_ms: u64,
    /// The cap of the doubling notification timeout
    /// (`zookeeper.fastleader.maxNotificationInterval`, default 60 000 ms).
    pub max_notification_interval_ms: u64,
}

impl Default for ElectionTiming {
    fn default() -> Self {
        ElectionTiming {
            finalize_wait_ms: 200,
            min_notification_interval_ms: 200,
            max_notification_interval_ms: 60_000,
        }
    }
}
