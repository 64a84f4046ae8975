//! The zkcli binary against our server: exit statuses of one-shot commands
//! (success, NoNode, NoAuth, usage, connection refused), `-o json`, the
//! tree/dump/restore commands, and the interactive shell driven through a
//! pseudo-terminal (completion, history, a watch event while idle).
//!
//! Method: each test starts our `zkserver` on a free loopback port (killed by
//! pid on drop) and runs the built `zkcli` as a child process.

mod common;

use common::{ServerKind, TestServer};
use std::process::{Command, Output};

const ZKCLI: &str = env!("CARGO_BIN_EXE_zkcli");

fn server() -> TestServer {
    TestServer::start_kind(ServerKind::Ours).expect("our server starts")
}

fn zkcli(server: &str, args: &[&str]) -> Output {
    Command::new(ZKCLI)
        .args(["-server", server, "-timeout", "5000"])
        .args(args)
        .output()
        .expect("zkcli runs")
}

fn text(b: &[u8]) -> String {
    String::from_utf8_lossy(b).into_owned()
}

#[test]
fn one_shot_exit_statuses() {
    let srv = server();
    let cs = srv.connect_string();

    let ok = zkcli(&cs, &["create", "/x", "hello world"]);
    assert_eq!(ok.status.code(), Some(0), "{}", text(&ok.stderr));
    assert!(text(&ok.stdout).contains("Created /x"));
    let got = zkcli(&cs, &["get", "/x"]);
    assert_eq!(got.status.code(), Some(0));
    assert!(
        text(&got.stdout).ends_with("hello world\n"),
        "{}",
        text(&got.stdout)
    );

    let missing = zkcli(&cs, &["get", "/nope"]);
    assert_eq!(missing.status.code(), Some(1));
    assert_eq!(text(&missing.stderr), "Node does not exist: /nope\n");

    // An ACL only alice may use: any other session gets NoAuth.
    let acl = format!("digest:{}:cdrwa", zk_client::digest_id("alice", "secret"));
    let made = zkcli(&cs, &["create", "/secret", "s", &acl]);
    assert_eq!(made.status.code(), Some(0), "{}", text(&made.stderr));
    let denied = zkcli(&cs, &["get", "/secret"]);
    assert_eq!(denied.status.code(), Some(1));
    assert_eq!(text(&denied.stderr), "Insufficient permission : /secret\n");

    let usage = zkcli(&cs, &["ls", "-x", "/"]);
    assert_eq!(usage.status.code(), Some(2));
    let unknown = zkcli(&cs, &["frobnicate"]);
    assert_eq!(unknown.status.code(), Some(2));
    assert!(text(&unknown.stderr).contains("Command not found frobnicate"));
    let bad_version = zkcli(&cs, &["set", "-v", "7", "/x", "v"]);
    assert_eq!(bad_version.status.code(), Some(1));
    assert_eq!(text(&bad_version.stderr), "version No is not valid : /x\n");

    // A port nobody listens on: bind one, note it, and free it.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let refused = zkcli(&format!("127.0.0.1:{port}"), &["ls", "/"]);
    assert_eq!(refused.status.code(), Some(3), "{}", text(&refused.stderr));
    assert!(text(&refused.stderr).contains("KeeperErrorCode = ConnectionLoss"));
}

#[test]
fn json_output_and_tree_dump_restore() {
    let srv = server();
    let cs = srv.connect_string();
    for (path, data) in [
        ("/app", "root"),
        ("/app/a", "1"),
        ("/app/a/b", "2"),
        ("/app/c", "3"),
    ] {
        assert_eq!(zkcli(&cs, &["create", path, data]).status.code(), Some(0));
    }
    let out = zkcli(&cs, &["-o", "json", "get", "-s", "/app/a"]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).expect("one JSON value");
    assert_eq!(v["data"], "1");
    assert_eq!(v["stat"]["numChildren"], 1);
    let err = zkcli(&cs, &["-o", "json", "get", "/nope"]);
    assert_eq!(err.status.code(), Some(1));
    let v: serde_json::Value = serde_json::from_slice(&err.stdout).expect("one JSON value");
    assert_eq!(v["code"], -101);

    let tree = zkcli(&cs, &["tree", "/app"]);
    assert_eq!(
        text(&tree.stdout)
            .lines()
            .skip_while(|l| *l != "/app")
            .collect::<Vec<_>>(),
        ["/app", "├── a", "│   └── b", "└── c"],
        "{}",
        text(&tree.stdout)
    );

    let dir = std::env::temp_dir().join(format!("zkcli-dump-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("app.json");
    let file = file.to_str().unwrap();
    assert_eq!(
        zkcli(&cs, &["setAcl", "/app/c", "world:anyone:cdr"])
            .status
            .code(),
        Some(0)
    );
    assert_eq!(zkcli(&cs, &["dump", "/app", file]).status.code(), Some(0));
    let restored = zkcli(&cs, &["restore", file, "/copy"]);
    assert_eq!(
        restored.status.code(),
        Some(0),
        "{}",
        text(&restored.stderr)
    );
    let got = zkcli(&cs, &["get", "/copy/a/b"]);
    assert!(text(&got.stdout).ends_with("2\n"));
    let acl = zkcli(&cs, &["getAcl", "/copy/c"]);
    assert!(
        text(&acl.stdout).ends_with("'world,'anyone\n: cdr\n"),
        "{}",
        text(&acl.stdout)
    );
    std::fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn interactive_shell_through_a_pty() {
    let srv = server();
    let cs = srv.connect_string();
    assert_eq!(zkcli(&cs, &["create", "/ptytest"]).status.code(), Some(0));
    assert_eq!(
        zkcli(&cs, &["create", "/ptytest/alpha", "alpha-data"])
            .status
            .code(),
        Some(0)
    );
    let history = std::env::temp_dir().join(format!("zkcli-history-{}", std::process::id()));
    let _ = std::fs::remove_file(&history);
    let script = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/pty/drive_zkcli.py");
    let out = Command::new("python3")
        .args([script, ZKCLI, &cs, history.to_str().unwrap()])
        .output()
        .expect("python3 runs");
    let _ = std::fs::remove_file(&history);
    assert!(
        out.status.success(),
        "pty driver failed:\n{}{}",
        text(&out.stdout),
        text(&out.stderr)
    );
}
