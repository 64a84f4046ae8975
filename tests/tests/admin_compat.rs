//! The admin HTTP API and `/metrics`, against Apache ZooKeeper 3.8.0's Jetty
//! AdminServer (run with `servlet-api.jar` on its classpath).
//!
//! Both servers get the same activity (a session with an ephemeral node and
//! data/child/exists watches); then every command is fetched from both and
//! the JSON compared: same keys recursively, same value types, equal values
//! where the activity determines them (counts, modes, paths, config values,
//! zxids). Maps keyed by session ids or expiry times are compared by size and
//! value types. Also: the command listing (byte for byte), aliases, the
//! unknown-command answer, trailing slashes, `set_trace_mask`'s argument
//! errors, a changed `admin.commandURL`, `admin.enableServer=false`, and our
//! `/ready` and `/live`. `/metrics` is checked with `promtool check metrics`
//! (Debian's `prometheus` package) and for values that move with activity.

use serde_json::Value;
use std::io::Write;
use std::net::SocketAddr;
use std::process::{Command, Stdio};
use std::time::Duration;
use zk_client::{Acl, Client, CreateMode};
use zk_tests::servers::{
    self, http_request as request, HttpReply as Http, Kind, ServerOptions, TestServer,
};

/// A GET over a fresh connection (`Connection: close`), bounded in time.
fn get(port: u16, path: &str) -> std::io::Result<Http> {
    request(port, "GET", path)
}

fn json(h: &Http, what: &str) -> Value {
    serde_json::from_str(&h.body).unwrap_or_else(|e| panic!("{what}: not JSON ({e}): {}", h.body))
}

fn admin_options(admin_port: u16, extra: &[&str]) -> ServerOptions {
    let mut extra_cfg = vec![
        "admin.enableServer=true".to_string(),
        "admin.serverAddress=127.0.0.1".to_string(),
        format!("admin.serverPort={admin_port}"),
    ];
    extra_cfg.extend(extra.iter().map(|s| s.to_string()));
    ServerOptions {
        extra_cfg,
        ..ServerOptions::default()
    }
}

fn start(kind: Kind, opts: &ServerOptions) -> TestServer {
    servers::start(kind, opts).unwrap_or_else(|e| panic!("start {}: {e}", kind.name()))
}

fn need_servers() {
    if let Some(why) = servers::reference_missing() {
        panic!("the admin test needs the reference server: {why}");
    }
    if let Err(e) = servers::our_binary() {
        panic!("the admin test needs our server binary: {e}");
    }
}

/// Keeps a session with an ephemeral node, 130 more nodes, and three data watches (getData,
/// exists on a missing node, a child watch) open until dropped.
struct Activity {
    _rt: tokio::runtime::Runtime,
    _client: Client,
}

fn activity(addr: SocketAddr) -> Activity {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(1)
        .enable_all()
        .build()
        .expect("runtime");
    let client = rt.block_on(async {
        let c = Client::connect(&addr.to_string(), Duration::from_secs(10))
            .await
            .expect("connect");
        let open = Acl::open_unsafe();
        c.create("/a", &b"hello"[..], &open, CreateMode::Persistent)
            .await
            .expect("create /a");
        c.create("/a/b", &b"x"[..], &open, CreateMode::Ephemeral)
            .await
            .expect("create /a/b");
        // Past zxid 128, so both servers have logged a tree digest (`hash`).
        for i in 0..130 {
            c.create(&format!("/a/n{i}"), &b""[..], &open, CreateMode::Persistent)
                .await
                .expect("create /a/n*");
        }
        c.get_data("/a", true).await.expect("getData");
        c.get_children("/a", true).await.expect("getChildren");
        c.exists("/nope", true).await.expect("exists");
        c
    });
    Activity {
        _rt: rt,
        _client: client,
    }
}

/// Maps whose keys are session ids or expiry times: compared by size and
/// value types only.
const DYNAMIC_KEY_MAPS: &[&str] = &[
    "/expiry_time_to_session_ids",
    "/session_id_to_ephemeral_paths",
    "/session_id_to_watched_paths",
];

fn kind_of(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(n) if n.is_f64() => "double",
        Value::Number(_) => "integer",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Differences in keys and value types between `r` (reference) and `o` (ours).
fn compare(path: &str, r: &Value, o: &Value, diffs: &mut Vec<String>) {
    if kind_of(r) != kind_of(o) {
        diffs.push(format!("{path}: {} vs ours {}", kind_of(r), kind_of(o)));
        return;
    }
    match (r, o) {
        (Value::Object(r), Value::Object(o)) if DYNAMIC_KEY_MAPS.contains(&path) => {
            // 3.8.0 keeps an expiry bucket after its last session moved on
            // (until the bucket's time passes), so buckets are counted by
            // the sessions in them, not by keys.
            let count = |m: &serde_json::Map<String, Value>| {
                if path.ends_with("expiry_time_to_session_ids") {
                    m.values().filter_map(Value::as_array).map(Vec::len).sum()
                } else {
                    m.len()
                }
            };
            if count(r) != count(o) {
                diffs.push(format!("{path}: {} entries vs ours {}", count(r), count(o)));
            }
            if let (Some(rv), Some(ov)) = (r.values().next(), o.values().next()) {
                compare(&format!("{path}/*"), rv, ov, diffs);
            }
        }
        (Value::Object(r), Value::Object(o)) => {
            for (k, rv) in r {
                // Per-namespace summaries appear with the paths used; we do
                // not export them (see ARCHITECTURE).
                if k.contains("_per_namespace") {
                    continue;
                }
                match o.get(k) {
                    Some(ov) => compare(&format!("{path}/{k}"), rv, ov, diffs),
                    None => diffs.push(format!("{path}/{k}: missing in ours")),
                }
            }
            for k in o.keys() {
                if !r.contains_key(k) {
                    diffs.push(format!("{path}/{k}: only in ours"));
                }
            }
        }
        (Value::Array(r), Value::Array(o)) => {
            if let (Some(rv), Some(ov)) = (r.first(), o.first()) {
                compare(&format!("{path}[0]"), rv, ov, diffs);
            }
        }
        _ => {}
    }
}

/// Values the shared activity determines, by command: JSON pointers.
const EQUAL_VALUES: &[(&str, &[&str])] = &[
    (
        "configuration",
        &[
            "/tick_time",
            "/max_client_cnxns",
            "/min_session_timeout",
            "/max_session_timeout",
            "/server_id",
            "/client_port_listen_backlog",
            "/error",
        ],
    ),
    (
        "monitor",
        &[
            "/server_state",
            "/znode_count",
            "/ephemerals_count",
            "/watch_count",
            "/global_sessions",
            "/outstanding_requests",
            "/cnt_updatelatency",
        ],
    ),
    (
        "server_stats",
        &[
            "/read_only",
            "/node_count",
            "/server_stats/server_state",
            "/server_stats/last_processed_zxid",
            "/server_stats/provider_null",
        ],
    ),
    (
        "stats",
        &["/node_count", "/server_stats/last_processed_zxid"],
    ),
    (
        "watch_summary",
        &["/num_connections", "/num_paths", "/num_total_watches"],
    ),
    ("watches_by_path", &["/path_to_session_ids/a"]),
    ("get_trace_mask", &["/tracemask"]),
    ("is_read_only", &["/read_only"]),
    // Digests cover ctime/mtime, so only the logged zxids are equal.
    ("hash", &["/digests/0/zxid", "/digests/0/digest_version"]),
    ("leader", &["/error"]),
    ("observers", &["/synced_observers", "/observers"]),
    ("voting_view", &["/current_config"]),
    ("zabstate", &["/voting", "/zabstate"]),
    ("ruok", &["/error"]),
    ("set_trace_mask", &["/error"]),
    ("last_snapshot", &["/zxid"]),
];

const COMMANDS: &[&str] = &[
    "configuration",
    "connection_stat_reset",
    "connections",
    "dirs",
    "dump",
    "environment",
    "get_trace_mask",
    "hash",
    "initial_configuration",
    "is_read_only",
    "last_snapshot",
    "leader",
    "monitor",
    "observer_connection_stat_reset",
    "observers",
    "ruok",
    "server_stats",
    "set_trace_mask",
    "stat_reset",
    "stats",
    "system_properties",
    "voting_view",
    "watch_summary",
    "watches",
    "watches_by_path",
    "zabstate",
];

#[test]
fn admin_commands_match_the_reference() {
    need_servers();
    let (ref_admin, our_admin) = (servers::free_port(), servers::free_port());
    let reference = start(Kind::Reference, &admin_options(ref_admin, &[]));
    let ours = start(Kind::Ours, &admin_options(our_admin, &[]));
    let _ref_activity = activity(reference.addr);
    let _our_activity = activity(ours.addr);

    let mut diffs = Vec::new();
    // Reads first (stat_reset and connection_stat_reset last), so the
    // latency counts still hold the activity's requests.
    let mut order: Vec<&str> = COMMANDS
        .iter()
        .copied()
        .filter(|c| !c.ends_with("stat_reset"))
        .collect();
    order.extend(["stat_reset", "connection_stat_reset"]);
    for name in order {
        let path = format!("/commands/{name}");
        let r = get(ref_admin, &path).expect("reference GET");
        let o = get(our_admin, &path).expect("our GET");
        assert_eq!((r.status, o.status), (200, 200), "{name}");
        assert_eq!(r.content_type, o.content_type, "{name}: content type");
        let (rj, oj) = (json(&r, name), json(&o, name));
        assert_eq!(oj["command"], Value::String(name.into()), "{name}");
        if name == "system_properties" {
            // Java's properties have no counterpart outside a JVM: only the
            // shape is common.
            let all_strings = |v: &Value| {
                v.as_object()
                    .is_some_and(|m| m.values().all(|x| x.is_string() || x.is_null()))
            };
            assert!(all_strings(&rj) && all_strings(&oj), "{name}: {oj}");
            continue;
        }
        let mut found = Vec::new();
        compare("", &rj, &oj, &mut found);
        diffs.extend(found.into_iter().map(|d| format!("{name}{d}")));
        for (cmd, pointers) in EQUAL_VALUES {
            if *cmd != name {
                continue;
            }
            for p in *pointers {
                let (rv, ov) = (rj.pointer(p), oj.pointer(p));
                if rv != ov {
                    diffs.push(format!("{name}{p}: reference {rv:?}, ours {ov:?}"));
                }
            }
        }
    }
    // The activity made one ephemeral and two watched paths.
    let dump = json(&get(our_admin, "/commands/dump").unwrap(), "dump");
    let eph: Vec<&Value> = dump["session_id_to_ephemeral_paths"]
        .as_object()
        .unwrap()
        .values()
        .collect();
    assert_eq!(eph, vec![&serde_json::json!(["/a/b"])]);
    let wchp = json(&get(our_admin, "/commands/wchp").unwrap(), "wchp");
    let paths: Vec<&String> = wchp["path_to_session_ids"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(paths, ["/a", "/nope"]);
    assert!(diffs.is_empty(), "differences:\n{}", diffs.join("\n"));

    // The listing, byte for byte, with and without the trailing slash; its
    // missing content type too.
    for path in ["/commands", "/commands/"] {
        let (r, o) = (get(ref_admin, path).unwrap(), get(our_admin, path).unwrap());
        assert_eq!((r.status, r.content_type.clone()), (200, None), "{path}");
        assert_eq!((o.status, o.content_type), (200, None), "{path}");
        assert_eq!(r.body, o.body, "{path}");
    }
    // Aliases, unknown names (case and trailing slash matter), arguments.
    for (path, equal) in [
        ("/commands/conf", false),
        ("/commands/config", false),
        ("/commands/wchs", true),
        ("/commands/isro", true),
        ("/commands/nope", true),
        ("/commands/RUOK", true),
        ("/commands/ruok/", true),
        ("/commands/ruok/extra", true),
        ("/commands/stmk", true),
        ("/commands/stmk?traceMask=abc", true),
        ("/commands/stmk?traceMask=306", true),
        ("/commands/gtmk", true),
    ] {
        let (r, o) = (get(ref_admin, path).unwrap(), get(our_admin, path).unwrap());
        assert_eq!((r.status, o.status), (200, 200), "{path}");
        let (rj, oj) = (json(&r, path), json(&o, path));
        assert_eq!(rj["command"], oj["command"], "{path}");
        assert_eq!(rj["error"], oj["error"], "{path}");
        if equal {
            assert_eq!(rj, oj, "{path}");
        }
    }
    // Neither server knows other paths; only GET and HEAD run commands.
    for path in ["/", "/foo"] {
        assert_eq!(get(ref_admin, path).unwrap().status, 404, "{path}");
        assert_eq!(get(our_admin, path).unwrap().status, 404, "{path}");
    }
    for port in [ref_admin, our_admin] {
        assert_eq!(request(port, "POST", "/commands/ruok").unwrap().status, 405);
        let head = request(port, "HEAD", "/commands/ruok").unwrap();
        assert_eq!((head.status, head.body.as_str()), (200, ""));
    }
    // Our probes: ready and live while serving.
    assert_eq!(get(our_admin, "/ready").unwrap().status, 200);
    assert_eq!(get(our_admin, "/live").unwrap().status, 200);
}

#[test]
fn command_url_whitelist_and_disabled_server() {
    need_servers();
    let (ref_admin, our_admin) = (servers::free_port(), servers::free_port());
    // A custom command URL, and a 4lw whitelist without mntr, stat, envi
    // (ruok stays: the harness waits for imok).
    let extra = ["admin.commandURL=/zk", "4lw.commands.whitelist=srvr,ruok"];
    let reference = start(Kind::Reference, &admin_options(ref_admin, &extra));
    let ours = start(Kind::Ours, &admin_options(our_admin, &extra));
    for port in [ref_admin, our_admin] {
        let listing = get(port, "/zk").unwrap();
        assert_eq!(listing.status, 200);
        assert!(listing.body.contains("<a href=\"/zk/ruok\">ruok</a>"));
        assert_eq!(get(port, "/commands/ruok").unwrap().status, 404);
        // Commands the whitelist refuses on the client port still answer here.
        for cmd in ["ruok", "mntr", "stat", "envi"] {
            let h = get(port, &format!("/zk/{cmd}")).unwrap();
            assert_eq!(h.status, 200, "{cmd}");
            assert_eq!(json(&h, cmd)["error"], Value::Null, "{cmd}");
        }
    }
    for server in [&reference, &ours] {
        for word in ["mntr", "stat", "envi"] {
            let said = servers::four_letter(server.addr, word);
            assert!(said.contains("not in the whitelist"), "{word}: {said}");
        }
    }
    drop((reference, ours));

    // admin.enableServer=false: nothing listens on the admin port.
    let (ref_admin, our_admin) = (servers::free_port(), servers::free_port());
    let off = |port| admin_options(port, &["admin.enableServer=false"]);
    let reference = start(Kind::Reference, &off(ref_admin));
    let ours = start(Kind::Ours, &off(our_admin));
    for port in [ref_admin, our_admin] {
        assert!(get(port, "/commands/ruok").is_err(), "port {port} answers");
    }
    drop((reference, ours));
}

/// A metric's value in a text exposition.
fn sample(text: &str, name: &str) -> f64 {
    text.lines()
        .find_map(|l| {
            let (n, v) = l.split_once(' ')?;
            (n == name).then(|| v.parse().ok())?
        })
        .unwrap_or_else(|| panic!("{name} not in the exposition"))
}

/// Lint findings about ZooKeeper's own metric names (the reference exports
/// the same names): anything else promtool says is a failure.
const NAMING_LINT: &[&str] = &[
    "counter metrics should have \"_total\" suffix",
    "non-histogram and non-summary metrics should not have \"_count\" suffix",
    "metric names should not contain abbreviated units",
];

fn promtool(text: &str) {
    let mut child = Command::new("promtool")
        .args(["check", "metrics"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("promtool (Debian package prometheus): run scripts/install-test-deps.sh");
    child
        .stdin
        .take()
        .unwrap()
        .write_all(text.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    let said = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    // 0: clean; 3: lint findings only; anything else: the text did not parse.
    let code = out.status.code();
    assert!(
        matches!(code, Some(0) | Some(3)),
        "promtool {code:?}: {said}"
    );
    for line in said.lines().filter(|l| !l.trim().is_empty()) {
        assert!(
            NAMING_LINT.iter().any(|l| line.ends_with(l)),
            "promtool: {line}"
        );
    }
}

#[test]
fn metrics_scrape_passes_promtool_and_moves() {
    if let Err(e) = servers::our_binary() {
        panic!("the metrics test needs our server binary: {e}");
    }
    let port = servers::free_port();
    let opts = ServerOptions {
        extra_cfg: vec![
            "metricsProvider.className=org.apache.zookeeper.metrics.prometheus.PrometheusMetricsProvider"
                .to_string(),
            "metricsProvider.httpHost=127.0.0.1".to_string(),
            format!("metricsProvider.httpPort={port}"),
        ],
        ..ServerOptions::default()
    };
    let ours = start(Kind::Ours, &opts);
    let before = get(port, "/metrics").unwrap();
    assert_eq!(before.status, 200);
    assert_eq!(
        before.content_type.as_deref(),
        Some("text/plain; version=0.0.4; charset=utf-8")
    );
    promtool(&before.body);
    assert_eq!(get(port, "/nope").unwrap().status, 404);

    const N: usize = 50;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let c = Client::connect(&ours.addr.to_string(), Duration::from_secs(10))
            .await
            .expect("connect");
        let open = Acl::open_unsafe();
        for i in 0..N {
            c.create(
                &format!("/m{i}"),
                &b"0123456789"[..],
                &open,
                CreateMode::Persistent,
            )
            .await
            .expect("create");
            c.get_data(&format!("/m{i}"), false).await.expect("get");
        }
        c.close().await.expect("close");
    });
    let after = get(port, "/metrics").unwrap();
    promtool(&after.body);
    let (b, a) = (&before.body, &after.body);
    let grew = |name: &str| sample(a, name) - sample(b, name);
    // N creates + the session's create and close.
    assert!(grew("updatelatency_count") >= N as f64 + 2.0, "{a}");
    assert!(grew("readlatency_count") >= N as f64);
    assert!(grew("fsynctime_count") >= 1.0);
    assert!(grew("sync_processor_batch_size_count") >= 1.0);
    assert!(grew("sync_processor_batch_size_sum") >= N as f64 + 2.0);
    assert!(grew("bytes_received_count") > (N * 10) as f64);
    assert!(grew("response_bytes") > 0.0);
    assert!(sample(a, "updatelatency{quantile=\"0.5\",}").is_finite());
    assert!(sample(a, "dbinittime_count") == 1.0);
    // znode_count: the root (counted twice, as ZooKeeper's map holds "" and
    // "/"), /zookeeper, /zookeeper/quota, /zookeeper/config and our N nodes.
    assert_eq!(sample(a, "znode_count"), (5 + N) as f64);
    let srvr = servers::four_letter(ours.addr, "srvr");
    assert!(srvr.contains(&format!("Node count: {}", 5 + N)), "{srvr}");
    assert_eq!(sample(a, "global_sessions"), 0.0);
}
