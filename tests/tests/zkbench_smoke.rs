//! The load tool cannot rot: `zkbench` runs every workload briefly against
//! our real server and its machine-readable output is checked.
//!
//! - Every workload of `--workloads all` reports once, with exactly the
//!   operations asked for, no errors, and ordered percentiles.
//! - The memory workload reads the server's RSS from `/proc/PID` and counts
//!   the znodes it created.
//! - A run cleans up after itself: afterwards the tree holds only what it
//!   held before (`/zookeeper`).
//!
//! The server is started by the test and killed by pid; it listens on
//! 127.0.0.1; every run is bounded by `--ops` and a timeout.

use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::Command;
use std::time::Duration;
use zk_client::Client;
use zk_tests::servers::{fresh_dir, our_binary, OurProcess};

const OPS: u64 = 120;

/// `target/<profile>/zkbench`, next to our server binary.
fn zkbench() -> PathBuf {
    let server = our_binary().expect("zkserver binary");
    let bin = server.with_file_name(format!("zkbench{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} not found: run `cargo build --release --workspace` first",
        bin.display()
    );
    bin
}

/// One JSON object per line, flat, with string and number values: enough of
/// a parser for zkbench's own output.
fn parse_line(line: &str) -> BTreeMap<String, String> {
    let body = line
        .trim()
        .strip_prefix('{')
        .and_then(|l| l.strip_suffix('}'))
        .unwrap_or_else(|| panic!("not a JSON object: {line}"));
    let mut out = BTreeMap::new();
    let mut rest = body;
    while !rest.is_empty() {
        let (key, after) = read_string(rest);
        let after = after.strip_prefix(':').expect("colon after key");
        let (value, after) = if after.starts_with('"') {
            read_string(after)
        } else {
            let end = after.find(',').unwrap_or(after.len());
            (after[..end].to_string(), &after[end..])
        };
        out.insert(key, value);
        rest = after.strip_prefix(',').unwrap_or(after);
    }
    out
}

fn read_string(s: &str) -> (String, &str) {
    let s = s.strip_prefix('"').expect("opening quote");
    let mut value = String::new();
    let mut chars = s.char_indices();
    while let Some((i, c)) = chars.next() {
        match c {
            '"' => return (value, &s[i + 1..]),
            '\\' => {
                let (_, esc) = chars.next().expect("escape");
                value.push(esc);
            }
            c => value.push(c),
        }
    }
    panic!("unterminated string in {s}");
}

fn num(obj: &BTreeMap<String, String>, key: &str) -> f64 {
    obj.get(key)
        .unwrap_or_else(|| panic!("no {key} in {obj:?}"))
        .parse()
        .unwrap_or_else(|_| panic!("{key} is not a number in {obj:?}"))
}

fn run(args: &[&str]) -> Vec<BTreeMap<String, String>> {
    let out = Command::new(zkbench())
        .args(args)
        .output()
        .expect("run zkbench");
    assert!(
        out.status.success(),
        "zkbench {args:?} failed: {}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .lines()
        .filter(|l| l.starts_with('{'))
        .map(parse_line)
        .collect()
}

#[test]
fn every_workload_runs_and_reports() {
    let root = fresh_dir("zkbench-smoke");
    let cfg = format!(
        "tickTime=2000\ndataDir={}\nmaxClientCnxns=0\n4lw.commands.whitelist=*\nadmin.enableServer=false\n",
        root.join("data").display()
    );
    let server = OurProcess::start(&root, "server", &cfg, "warn");
    let addr = server.addr.to_string();
    let ops = OPS.to_string();

    let reports = run(&[
        "--server",
        &addr,
        "--workloads",
        "all",
        "--ops",
        &ops,
        "--sessions",
        "2",
        "--outstanding",
        "4",
        "--label",
        "ours",
        "--json",
    ]);
    let names: Vec<&str> = reports.iter().map(|r| r["workload"].as_str()).collect();
    let expected = [
        "create", "get", "set", "exists", "children", "delete", "mixed", "multi", "watch",
        "sessions",
    ];
    for w in expected {
        assert_eq!(
            names.iter().filter(|n| **n == w).count(),
            1,
            "workload {w} reported once in {names:?}"
        );
    }
    for r in &reports {
        assert_eq!(r["label"], "ours");
        assert_eq!(num(r, "errors"), 0.0, "errors in {r:?}");
        assert_eq!(num(r, "ops"), OPS as f64, "ops in {r:?}");
        assert!(num(r, "ops_per_sec") > 0.0, "{r:?}");
        let (p50, p99, max) = (num(r, "p50_us"), num(r, "p99_us"), num(r, "max_us"));
        assert!(p50 <= p99 && p99 <= max, "percentiles out of order: {r:?}");
    }

    let pid = server.pid().to_string();
    let memory = run(&[
        "--server",
        &addr,
        "--workloads",
        "memory",
        "--ops",
        "1000",
        "--pid",
        &pid,
        "--json",
    ]);
    assert_eq!(memory.len(), 1);
    let m = &memory[0];
    assert_eq!(num(m, "znodes"), 1000.0, "{m:?}");
    assert!(num(m, "rss_before_bytes") > 0.0, "{m:?}");
    assert!(num(m, "rss_after_bytes") > 0.0, "{m:?}");

    let rt = tokio::runtime::Runtime::new().expect("runtime");
    let children = rt.block_on(async {
        let c = tokio::time::timeout(
            Duration::from_secs(10),
            Client::connect(&addr, Duration::from_secs(30)),
        )
        .await
        .expect("connect timed out")
        .expect("connect");
        let mut children = c.get_children("/", false).await.expect("ls /");
        children.sort();
        children
    });
    assert_eq!(
        children,
        vec!["zookeeper".to_string()],
        "zkbench left nodes behind"
    );
}
