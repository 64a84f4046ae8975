//! `deploy/docker/Dockerfile` against `docker-entrypoint.sh`: the image sets
//! every variable the entrypoint defaults, to the same value; its volumes
//! are the entrypoint's directories; ENTRYPOINT and CMD are what the
//! entrypoint expects.

use super::{deploy, read};
use std::collections::{BTreeMap, BTreeSet};
use std::os::unix::fs::PermissionsExt;

/// One instruction: its keyword (upper case) and its arguments, with line
/// continuations joined and comments dropped.
#[derive(Debug)]
pub(crate) struct Instruction {
    pub keyword: String,
    pub args: String,
}

/// The instructions of each stage (a stage starts at FROM).
pub(crate) fn stages(text: &str) -> Vec<Vec<Instruction>> {
    let mut logical = Vec::new();
    let mut current = String::new();
    for line in text.lines() {
        let trimmed = line.trim();
        if trimmed.starts_with('#') || (trimmed.is_empty() && current.is_empty()) {
            continue;
        }
        if let Some(head) = trimmed.strip_suffix('\\') {
            current.push_str(head);
            current.push(' ');
        } else {
            current.push_str(trimmed);
            logical.push(std::mem::take(&mut current));
        }
    }
    let mut stages: Vec<Vec<Instruction>> = Vec::new();
    for l in logical.iter().filter(|l| !l.trim().is_empty()) {
        let (kw, args) = l.split_once(char::is_whitespace).unwrap_or((l, ""));
        let ins = Instruction {
            keyword: kw.to_ascii_uppercase(),
            args: args.trim().to_string(),
        };
        if ins.keyword == "FROM" {
            stages.push(Vec::new());
        }
        stages.last_mut().expect("FROM first").push(ins);
    }
    stages
}

fn all<'a>(stage: &'a [Instruction], kw: &str) -> Vec<&'a str> {
    stage
        .iter()
        .filter(|i| i.keyword == kw)
        .map(|i| i.args.as_str())
        .collect()
}

fn one<'a>(stage: &'a [Instruction], kw: &str) -> &'a str {
    let v = all(stage, kw);
    assert_eq!(v.len(), 1, "exactly one {kw} in the runtime stage: {v:?}");
    v[0]
}

/// `ENV K=V K=V ...` pairs of a stage, `$VAR` expanded from earlier ones.
pub(crate) fn env(stage: &[Instruction]) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    for args in all(stage, "ENV") {
        for pair in args.split_whitespace() {
            let (k, v) = pair.split_once('=').expect("ENV K=V form");
            let v = match v.strip_prefix('$') {
                Some(var) => env.get(var).cloned().unwrap_or_default(),
                None => v.to_string(),
            };
            env.insert(k.to_string(), v);
        }
    }
    env
}

/// A JSON-array instruction argument (`["a", "b"]`), as its strings.
pub(crate) fn json_array(args: &str) -> Vec<String> {
    let v: serde_json::Value = serde_json::from_str(args).expect("exec (JSON array) form");
    v.as_array()
        .expect("array")
        .iter()
        .map(|s| s.as_str().expect("strings").to_string())
        .collect()
}

/// The entrypoint's `: "${ZOO_X:=default}"` lines.
pub(crate) fn entrypoint_defaults(script: &str) -> BTreeMap<String, String> {
    script
        .lines()
        .filter_map(|l| l.trim().strip_prefix(": \"${"))
        .filter_map(|l| l.strip_suffix("}\""))
        .filter_map(|l| l.split_once(":="))
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// Every `ZOO_*` name the script mentions.
fn zoo_names(script: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let bytes = script.as_bytes();
    let mut i = 0;
    while let Some(at) = script[i..].find("ZOO_") {
        let start = i + at;
        let mut end = start + 4;
        while end < bytes.len()
            && (bytes[end].is_ascii_uppercase()
                || bytes[end].is_ascii_digit()
                || bytes[end] == b'_')
        {
            end += 1;
        }
        if end > start + 4 {
            // (a bare "ZOO_" is prose: "the ZOO_* variables")
            names.insert(script[start..end].to_string());
        }
        i = end;
    }
    names
}

/// Variables the entrypoint reads that have no image default (unset means
/// "not given").
const OPTIONAL: [&str; 4] = [
    "ZOO_SERVERS",
    "ZOO_CFG_EXTRA",
    "ZOO_4LW_COMMANDS_WHITELIST",
    "ZOO_MY_ID",
];

#[test]
fn dockerfile_agrees_with_the_entrypoint() {
    let dockerfile = read(&deploy("docker/Dockerfile"));
    let script_path = deploy("docker/docker-entrypoint.sh");
    let script = read(&script_path);
    let stages = stages(&dockerfile);
    assert_eq!(stages.len(), 2, "a builder and a runtime stage");
    let (builder, runtime) = (&stages[0], &stages[1]);
    assert_eq!(one(builder, "FROM"), "rust:1-bookworm AS builder");
    let build = all(builder, "RUN").join(" ");
    for want in ["cargo build --release", "-p zk-server", "-p zk-client"] {
        assert!(build.contains(want), "builder runs {want:?}: {build}");
    }
    assert_eq!(one(runtime, "FROM"), "debian:bookworm-slim");

    // Every default of the entrypoint is the image's ENV, and back.
    let env = env(runtime);
    let defaults = entrypoint_defaults(&script);
    assert!(
        defaults.len() >= 13,
        "entrypoint defaults parsed: {defaults:?}"
    );
    let image_zoo: BTreeMap<_, _> = env
        .iter()
        .filter(|(k, _)| k.starts_with("ZOO_"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect();
    assert_eq!(
        image_zoo, defaults,
        "Dockerfile ENV ZOO_* == entrypoint defaults"
    );
    // The script reads nothing else (a misspelt name would show here).
    let mut known: BTreeSet<String> = defaults.keys().cloned().collect();
    known.extend(OPTIONAL.iter().map(|s| s.to_string()));
    assert_eq!(zoo_names(&script), known, "ZOO_* names in the entrypoint");
    for (k, v) in [
        ("ZOO_CONF_DIR", "/conf"),
        ("ZOO_DATA_DIR", "/data"),
        ("ZOO_DATA_LOG_DIR", "/datalog"),
        ("ZOO_LOG_DIR", "/logs"),
        ("ZOO_USER", "zookeeper"),
    ] {
        assert_eq!(env.get(k).map(String::as_str), Some(v), "{k}");
    }
    // zkserver finds /conf/zoo.cfg with no argument, as zkServer.sh does.
    assert_eq!(env.get("ZOOCFGDIR"), env.get("ZOO_CONF_DIR"));

    // The volumes are the entrypoint's directories.
    let volumes = json_array(one(runtime, "VOLUME"));
    let dirs: Vec<String> = [
        "ZOO_CONF_DIR",
        "ZOO_DATA_DIR",
        "ZOO_DATA_LOG_DIR",
        "ZOO_LOG_DIR",
    ]
    .iter()
    .map(|k| env[*k].clone())
    .collect();
    assert_eq!(volumes, dirs);
    let mkdir = all(runtime, "RUN").join(" ");
    for k in [
        "ZOO_CONF_DIR",
        "ZOO_DATA_DIR",
        "ZOO_DATA_LOG_DIR",
        "ZOO_LOG_DIR",
    ] {
        assert!(
            mkdir.matches(&format!("\"${k}\"")).count() >= 2,
            "{k} is created and chowned in the image"
        );
    }

    let exposed: BTreeSet<&str> = one(runtime, "EXPOSE").split_whitespace().collect();
    assert_eq!(
        exposed,
        BTreeSet::from(["2181", "2888", "3888", "8080", "7000"])
    );

    // ENTRYPOINT is the script, copied from the repository, executable.
    let entrypoint = json_array(one(runtime, "ENTRYPOINT"));
    assert_eq!(entrypoint, ["/docker-entrypoint.sh"]);
    let copies = all(runtime, "COPY");
    assert!(
        copies.contains(&"deploy/docker/docker-entrypoint.sh /docker-entrypoint.sh"),
        "{copies:?}"
    );
    let mode = std::fs::metadata(&script_path)
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(
        mode & 0o111,
        0o111,
        "the entrypoint is executable (COPY keeps the mode)"
    );
    assert!(script.starts_with("#!/bin/bash\n"));
    assert!(script.trim_end().ends_with("exec \"$@\""));

    // Both binaries land on PATH; CMD is the server, by the name the
    // entrypoint drops privileges for.
    assert!(
        copies.contains(&"--from=builder /out/zkserver /out/zkcli /usr/local/bin/"),
        "{copies:?}"
    );
    let cmd = json_array(one(runtime, "CMD"));
    assert_eq!(cmd, ["zkserver", "start-foreground"]);
    assert!(
        script.contains(&format!(
            "if [[ \"${{1:-}}\" = '{}' && \"$(id -u)\" = '0' ]]",
            cmd[0]
        )),
        "the entrypoint drops privileges for {}",
        cmd[0]
    );

    // The user the entrypoint switches to exists, with the fixed ids the
    // Kubernetes securityContext uses.
    assert!(
        mkdir.contains("groupadd -r zookeeper --gid=1000"),
        "{mkdir}"
    );
    assert!(
        mkdir.contains("useradd -r -g zookeeper --uid=1000"),
        "{mkdir}"
    );
    assert!(
        mkdir.contains("command -v setpriv"),
        "setpriv is checked at build time"
    );
}

/// Fails loudly if the parser above lost an instruction: the runtime stage
/// of the real Dockerfile has exactly these.
#[test]
fn dockerfile_parser_sees_every_instruction() {
    let stages = stages(&read(&deploy("docker/Dockerfile")));
    let keywords: Vec<Vec<&str>> = stages
        .iter()
        .map(|s| s.iter().map(|i| i.keyword.as_str()).collect())
        .collect();
    assert_eq!(
        keywords,
        [
            vec!["FROM", "WORKDIR", "COPY", "RUN"],
            vec![
                "FROM",
                "ENV",
                "RUN",
                "COPY",
                "COPY",
                "ENV",
                "WORKDIR",
                "VOLUME",
                "EXPOSE",
                "ENTRYPOINT",
                "CMD"
            ],
        ]
    );
}
