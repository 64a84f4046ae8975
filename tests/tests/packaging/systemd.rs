//! `deploy/systemd/zkserver.service`: the settings that matter, and
//! `systemd-analyze verify` when the machine has it.

use super::{deploy, read, ZooDirs};
use std::collections::BTreeMap;
use std::process::Command;

/// `[Section]` → key → every value given (keys may repeat).
fn parse_unit(text: &str) -> BTreeMap<String, BTreeMap<String, Vec<String>>> {
    let mut unit: BTreeMap<String, BTreeMap<String, Vec<String>>> = BTreeMap::new();
    let mut section = String::new();
    for line in text.lines().map(str::trim) {
        if line.is_empty() || line.starts_with('#') || line.starts_with(';') {
            continue;
        }
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            section = name.to_string();
            continue;
        }
        let (k, v) = line
            .split_once('=')
            .unwrap_or_else(|| panic!("not key=value: {line}"));
        assert!(!section.is_empty(), "{line} outside a section");
        unit.entry(section.clone())
            .or_default()
            .entry(k.trim().to_string())
            .or_default()
            .push(v.trim().to_string());
    }
    unit
}

#[test]
fn unit_runs_the_server_hardened_with_notify() {
    let unit = parse_unit(&read(&deploy("systemd/zkserver.service")));
    let service = &unit["Service"];
    let one = |k: &str| -> &str {
        let v = service.get(k).unwrap_or_else(|| panic!("{k} missing"));
        assert_eq!(v.len(), 1, "{k} given once");
        &v[0]
    };
    assert_eq!(one("Type"), "notify");
    assert_eq!(
        one("ExecStart"),
        "/usr/bin/zkserver start-foreground /etc/zookeeper/zoo.cfg"
    );
    assert_eq!(one("User"), "zookeeper");
    assert_eq!(one("Restart"), "on-failure");
    assert!(one("LimitNOFILE").parse::<u64>().unwrap() >= 4096);
    assert!(one("TimeoutStopSec").ends_with('s'));
    for (k, v) in [
        ("ProtectSystem", "strict"),
        ("NoNewPrivileges", "true"),
        ("PrivateTmp", "true"),
        ("ProtectHome", "true"),
    ] {
        assert_eq!(one(k), v, "{k}");
    }
    let envs = &service["Environment"];
    assert!(
        envs.iter().any(|e| e == "ZOO_LOG_DIR=/var/log/zookeeper"),
        "{envs:?}"
    );
    // With ProtectSystem=strict only these are writable: the data and log
    // directories must be among them.
    let rw: Vec<&str> = one("ReadWritePaths").split_whitespace().collect();
    assert!(rw.contains(&"/var/lib/zookeeper"), "{rw:?}");
    assert!(rw.contains(&"/var/log/zookeeper"), "{rw:?}");
    assert_eq!(unit["Install"]["WantedBy"], ["multi-user.target"]);
}

#[test]
fn systemd_analyze_verify_is_clean() {
    if Command::new("systemd-analyze")
        .arg("--version")
        .output()
        .is_err()
    {
        println!("skipped: systemd-analyze is not installed");
        return;
    }
    // verify checks that ExecStart's program exists: point it at an
    // executable that does (this test), leaving everything else as shipped.
    let text = read(&deploy("systemd/zkserver.service"));
    let exe = std::env::current_exe().unwrap();
    let shipped = "ExecStart=/usr/bin/zkserver ";
    assert!(text.contains(shipped));
    let text = text.replace(shipped, &format!("ExecStart={} ", exe.display()));
    let d = ZooDirs::new("systemd");
    std::fs::create_dir_all(&d.root).unwrap();
    let path = d.root.join("zkserver.service");
    std::fs::write(&path, text).unwrap();
    let out = Command::new("systemd-analyze")
        .arg("verify")
        .arg(&path)
        .output()
        .expect("run systemd-analyze");
    let all = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        out.status.success(),
        "systemd-analyze verify failed:\n{all}"
    );
    // Unknown keys and bad values are warnings with exit 0: none allowed.
    let about_unit: Vec<&str> = all
        .lines()
        .filter(|l| l.contains("zkserver.service"))
        .collect();
    assert!(about_unit.is_empty(), "systemd-analyze verify:\n{all}");
}
