//! Placeholder with the final signatures; the real processor replaces it.
use super::{CoreConfig, Input, Output, ServerStats};
use std::time::Duration;

/// The request processor and state machine owner.
pub struct Server {
    _config: CoreConfig,
}

impl Server {
    /// A fresh server with an empty tree.
    pub fn new(config: CoreConfig, _now_ms: i64) -> Server {
        Server { _config: config }
    }
    /// Processes one input, appending outputs in delivery order.
    pub fn handle(&mut self, _now_ms: i64, _input: Input, _out: &mut Vec<Output>) {}
    /// Current figures.
    pub fn stats(&self) -> ServerStats {
        ServerStats::default()
    }
    /// Runs a state-reading four-letter word (`dump wchs wchc wchp crst srst`).
    pub fn command(&mut self, _word: &str) -> String {
        String::new()
    }
    /// Records how long one input took to process.
    pub fn record_latency(&mut self, _elapsed: Duration) {}
}
