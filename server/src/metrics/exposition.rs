//! The Prometheus text exposition format (0.0.4), written as ZooKeeper 3.8.0's
//! `PrometheusMetricsProvider` (Prometheus Java client) writes it: every
//! family has `# HELP <name> <name>` and `# TYPE`, values are doubles,
//! summaries list their quantiles then `_count` and `_sum`, an empty
//! window's quantile is `NaN`.
//!
//! Invariant: each family name is written once; the catalog lists are
//! disjoint (checked by a test) and the writer only walks them.

use super::catalog::{
    ADVANCED_QUANTILES, ADVANCED_SUMMARIES, BASIC_QUANTILES, BASIC_SUMMARIES, COUNTERS, GAUGES,
};
use super::summary::Summary;
use super::ServerMetrics;
use crate::net::four_letter::Figures;
use std::fmt::Write as _;
use std::sync::atomic::Ordering::Relaxed;

/// Content type of the text format.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

/// A number as the Java client prints a double (`7.0`, `NaN`, `+Inf`).
pub fn prom_double(x: f64) -> String {
    if x.is_nan() {
        "NaN".into()
    } else if x.is_infinite() {
        if x > 0.0 { "+Inf" } else { "-Inf" }.into()
    } else if x == x.trunc() && x.abs() < 1e15 {
        format!("{x:.1}")
    } else {
        format!("{x}")
    }
}

/// Escapes a `# HELP` text: backslash and newline.
pub fn escape_help(s: &str) -> String {
    s.replace('\\', "\\\\").replace('\n', "\\n")
}

/// Escapes a label value: backslash, double quote and newline.
pub fn escape_label(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

/// The value of gauge `name`, from the runner's figures and ours.
pub fn gauge_value(m: &ServerMetrics, f: &Figures, name: &str) -> f64 {
    let s = &f.stats;
    match name {
        "ephemerals_count" => s.ephemerals_count as f64,
        "num_alive_connections" => f.live_connections as f64,
        "avg_latency" => s.avg_latency_ms,
        "min_latency" => s.min_latency_ms as f64,
        "max_latency" => s.max_latency_ms as f64,
        "outstanding_requests" => s.outstanding_requests as f64,
        "znode_count" => s.znode_count as f64,
        "global_sessions" => s.session_count as f64,
        "packets_sent" => s.packets_sent as f64,
        "packets_received" => s.packets_received as f64,
        "watch_count" => s.watch_count as f64,
        "approximate_data_size" => s.approximate_data_size as f64,
        "uptime" => f.uptime_ms as f64,
        "max_file_descriptor_count" => crate::net::host_info::max_fd_count() as f64,
        "open_file_descriptor_count" => crate::net::host_info::open_fd_count() as f64,
        "last_client_response_size" => m.last_client_response_size.load(Relaxed) as f64,
        "min_client_response_size" => m.min_client_response_size.load(Relaxed) as f64,
        "max_client_response_size" => m.max_client_response_size.load(Relaxed) as f64,
        _ => 0.0,
    }
}

fn header(out: &mut String, name: &str, kind: &str) {
    let _ = writeln!(out, "# HELP {name} {}", escape_help(name));
    let _ = writeln!(out, "# TYPE {name} {kind}");
}

fn summary(out: &mut String, name: &str, s: Option<&Summary>, qs: &[f64]) {
    header(out, name, "summary");
    let values = s.map_or_else(|| vec![None; qs.len()], |s| s.quantiles(qs));
    for (q, v) in qs.iter().zip(values) {
        let v = v.map_or(f64::NAN, |v| v as f64);
        let _ = writeln!(
            out,
            "{name}{{quantile=\"{}\",}} {}",
            escape_label(&q.to_string()),
            prom_double(v)
        );
    }
    let (count, sum) = s.map_or((0, 0), |s| (s.count(), s.sum()));
    let _ = writeln!(out, "{name}_count {}", prom_double(count as f64));
    let _ = writeln!(out, "{name}_sum {}", prom_double(sum as f64));
}

/// The whole `/metrics` page.
pub fn render(m: &ServerMetrics, f: &Figures) -> String {
    let mut out = String::with_capacity(32 * 1024);
    for name in GAUGES {
        header(&mut out, name, "gauge");
        let _ = writeln!(out, "{name} {}", prom_double(gauge_value(m, f, name)));
    }
    for name in COUNTERS {
        header(&mut out, name, "counter");
        let v = m.counter(name, f.connections_rejected);
        let _ = writeln!(out, "{name} {}", prom_double(v as f64));
    }
    for name in BASIC_SUMMARIES {
        summary(&mut out, name, m.summary(name), BASIC_QUANTILES);
    }
    for name in ADVANCED_SUMMARIES {
        summary(&mut out, name, m.summary(name), ADVANCED_QUANTILES);
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn families_are_unique() {
        let mut seen = HashSet::new();
        for name in GAUGES
            .iter()
            .chain(COUNTERS)
            .chain(BASIC_SUMMARIES)
            .chain(ADVANCED_SUMMARIES)
        {
            assert!(seen.insert(*name), "{name} listed twice");
        }
        let text = render(super::super::server(), &Figures::default());
        let types: Vec<&str> = text.lines().filter(|l| l.starts_with("# TYPE ")).collect();
        assert_eq!(types.len(), seen.len());
    }

    #[test]
    fn doubles_and_escapes() {
        assert_eq!(prom_double(7.0), "7.0");
        assert_eq!(prom_double(0.25), "0.25");
        assert_eq!(prom_double(f64::NAN), "NaN");
        assert_eq!(escape_label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(escape_help("x\\y\nz"), "x\\\\y\\nz");
    }

    #[test]
    fn a_summary_writes_quantiles_count_and_sum() {
        let s = Summary::default();
        for v in [1, 2, 3] {
            s.observe(v);
        }
        let mut out = String::new();
        summary(&mut out, "readlatency", Some(&s), ADVANCED_QUANTILES);
        assert_eq!(
            out,
            "# HELP readlatency readlatency\n# TYPE readlatency summary\n\
             readlatency{quantile=\"0.5\",} 2.0\nreadlatency{quantile=\"0.9\",} 3.0\n\
             readlatency{quantile=\"0.99\",} 3.0\nreadlatency_count 3.0\nreadlatency_sum 6.0\n"
        );
    }
}
