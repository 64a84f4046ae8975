//! Latency histograms and what a run reports: a human line or one JSON object.

use hdrhistogram::Histogram;
use std::fmt::Write as _;
use std::time::Duration;

/// Largest latency recorded, in µs (longer ones are clamped to it).
const LATENCY_MAX_US: u64 = 60_000_000;

/// A latency histogram in microseconds, 3 significant figures (HDR).
pub struct Latencies(Histogram<u64>);

impl Latencies {
    pub fn new() -> Latencies {
        // why: the bounds are constants that HdrHistogram accepts.
        Latencies(Histogram::new_with_bounds(1, LATENCY_MAX_US, 3).expect("valid bounds"))
    }

    pub fn record(&mut self, elapsed: Duration) {
        let us = (elapsed.as_micros() as u64).clamp(1, LATENCY_MAX_US);
        self.0.saturating_record(us);
    }

    pub fn merge(&mut self, other: &Latencies) {
        // why: both histograms have the same bounds, so adding cannot fail.
        self.0.add(&other.0).expect("same bounds");
    }

    pub fn count(&self) -> u64 {
        self.0.len()
    }

    pub fn quantile_us(&self, q: f64) -> u64 {
        if self.0.is_empty() {
            0
        } else {
            self.0.value_at_quantile(q)
        }
    }

    pub fn max_us(&self) -> u64 {
        self.0.max()
    }
}

impl Default for Latencies {
    fn default() -> Self {
        Latencies::new()
    }
}

/// The outcome of one workload.
pub struct Report {
    pub workload: String,
    pub label: String,
    pub sessions: usize,
    pub outstanding: usize,
    pub size: usize,
    /// Operations that completed successfully.
    pub ops: u64,
    pub errors: u64,
    pub first_error: Option<String>,
    pub seconds: f64,
    pub latencies: Latencies,
    /// Extra numeric fields (memory: RSS figures), printed as they are.
    pub extra: Vec<(&'static str, f64)>,
}

impl Report {
    pub fn ops_per_sec(&self) -> f64 {
        if self.seconds > 0.0 {
            self.ops as f64 / self.seconds
        } else {
            0.0
        }
    }

    pub fn to_json(&self) -> String {
        let mut s = String::new();
        let l = &self.latencies;
        let _ = write!(
            s,
            "{{\"workload\":{},\"label\":{},\"sessions\":{},\"outstanding\":{},\"size\":{},\
             \"ops\":{},\"errors\":{},\"seconds\":{:.4},\"ops_per_sec\":{:.1},\
             \"p50_us\":{},\"p90_us\":{},\"p99_us\":{},\"p999_us\":{},\"max_us\":{}",
            json_str(&self.workload),
            json_str(&self.label),
            self.sessions,
            self.outstanding,
            self.size,
            self.ops,
            self.errors,
            self.seconds,
            self.ops_per_sec(),
            l.quantile_us(0.50),
            l.quantile_us(0.90),
            l.quantile_us(0.99),
            l.quantile_us(0.999),
            l.max_us(),
        );
        for (k, v) in &self.extra {
            let _ = write!(s, ",{}:{}", json_str(k), v);
        }
        if let Some(e) = &self.first_error {
            let _ = write!(s, ",\"first_error\":{}", json_str(e));
        }
        s.push('}');
        s
    }

    pub fn header() -> &'static str {
        "workload   sess×out        ops     secs       ops/s    p50 µs    p90 µs    p99 µs  p99.9 µs  errors"
    }

    pub fn to_line(&self) -> String {
        let l = &self.latencies;
        let mut s = format!(
            "{:<9} {:>4}×{:<4} {:>10} {:>8.2} {:>11.0} {:>9} {:>9} {:>9} {:>9} {:>7}",
            self.workload,
            self.sessions,
            self.outstanding,
            self.ops,
            self.seconds,
            self.ops_per_sec(),
            l.quantile_us(0.50),
            l.quantile_us(0.90),
            l.quantile_us(0.99),
            l.quantile_us(0.999),
            self.errors,
        );
        for (k, v) in &self.extra {
            let _ = write!(s, "  {k}={v}");
        }
        if let Some(e) = &self.first_error {
            let _ = write!(s, "  first error: {e}");
        }
        s
    }
}

/// A JSON string literal.
pub fn json_str(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c if (c as u32) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantiles_come_from_recorded_values() {
        let mut a = Latencies::new();
        let mut b = Latencies::new();
        for us in 1..=90u64 {
            a.record(Duration::from_micros(us));
        }
        for _ in 0..10 {
            b.record(Duration::from_micros(1000));
        }
        a.merge(&b);
        assert_eq!(a.count(), 100);
        assert_eq!(a.quantile_us(0.5), 50);
        assert_eq!(a.quantile_us(0.99), 1000);
        assert_eq!(Latencies::new().quantile_us(0.5), 0);
    }

    #[test]
    fn json_has_the_fields_and_escapes_strings() {
        let mut latencies = Latencies::new();
        latencies.record(Duration::from_micros(120));
        let r = Report {
            workload: "get".into(),
            label: "a\"b".into(),
            sessions: 2,
            outstanding: 3,
            size: 100,
            ops: 10,
            errors: 0,
            first_error: None,
            seconds: 2.0,
            latencies,
            extra: vec![("rss_after_bytes", 42.0)],
        };
        let j = r.to_json();
        assert!(
            j.starts_with("{\"workload\":\"get\",\"label\":\"a\\\"b\""),
            "{j}"
        );
        assert!(j.contains("\"ops_per_sec\":5.0"), "{j}");
        assert!(j.contains("\"p50_us\":120"), "{j}");
        assert!(j.ends_with(",\"rss_after_bytes\":42}"), "{j}");
    }
}
