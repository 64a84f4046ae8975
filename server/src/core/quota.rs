//! `StatsTrack`: the `count=N,bytes=M[,countHardLimit=..,byteHardLimit=..]`
//! text kept in quota nodes. `count` and `bytes` print first, then any other
//! keys in sorted order, as ZooKeeper prints them.

use std::collections::BTreeMap;
use std::fmt;

/// Parsed quota text; absent keys read as −1 (no limit).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StatsTrack {
    values: BTreeMap<String, i64>,
}

impl StatsTrack {
    /// Parses quota text; malformed entries are ignored.
    pub fn parse(raw: &[u8]) -> StatsTrack {
        let text = String::from_utf8_lossy(raw);
        let mut values = BTreeMap::new();
        if text.is_empty() {
            return StatsTrack { values };
        }
        for part in text.split(',') {
            if let Some((k, v)) = part.split_once('=') {
                if let Ok(v) = v.trim().parse::<i64>() {
                    values.insert(k.trim().to_string(), v);
                }
            }
        }
        StatsTrack { values }
    }

    fn get(&self, k: &str) -> i64 {
        self.values.get(k).copied().unwrap_or(-1)
    }

    /// `count`.
    pub fn count(&self) -> i64 {
        self.get("count")
    }
    /// `bytes`.
    pub fn bytes(&self) -> i64 {
        self.get("bytes")
    }
    /// Sets `count`.
    pub fn set_count(&mut self, v: i64) {
        self.values.insert("count".into(), v);
    }
    /// Sets `bytes`.
    pub fn set_bytes(&mut self, v: i64) {
        self.values.insert("bytes".into(), v);
    }
    /// `countHardLimit`.
    pub fn count_hard_limit(&self) -> i64 {
        self.get("countHardLimit")
    }
    /// `byteHardLimit`.
    pub fn byte_hard_limit(&self) -> i64 {
        self.get("byteHardLimit")
    }

    /// Whether `usage` is over this limit's soft count.
    pub fn count_exceeded(&self, usage: &StatsTrack) -> bool {
        self.count() > -1 && usage.count() > self.count()
    }

    /// Whether `usage` is over this limit's soft bytes.
    pub fn bytes_exceeded(&self, usage: &StatsTrack) -> bool {
        self.bytes() > -1 && usage.bytes() > self.bytes()
    }
}

impl fmt::Display for StatsTrack {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "count={},bytes={}", self.count(), self.bytes())?;
        for (k, v) in &self.values {
            if k != "count" && k != "bytes" {
                write!(f, ",{k}={v}")?;
            }
        }
        Ok(())
    }
}
