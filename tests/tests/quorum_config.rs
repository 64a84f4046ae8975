//! The ensemble configuration, differentially: Apache ZooKeeper 3.8.0's
//! `QuorumPeerMain` and our `zkserver` get the same zoo.cfg and myid, and
//! must agree on refusing or accepting it.
//!
//! - Apache "refuses" when its process exits (code 2 for a config error,
//!   1 for "My id N not in the peer list"); it "accepts" when, still
//!   running, it logs `LOOKING` (an ensemble member) or takes its first
//!   snapshot (standalone). Each JVM runs at most `APACHE_WAIT`.
//! - Ours accepts when `zkserver check-config` exits 0 (it prints the parsed
//!   ensemble, checked here); for a refused case `zkserver
//!   start-foreground` must also exit non-zero, within `OURS_WAIT`.
//!
//! Then `scripts/ensemble.sh gen` writes a 4-node ensemble (free ports) that
//! `check-config` accepts node by node, and `start`/`status`/`stop` run it
//! (the four elect one leader; status shows it and three followers).
//! Every process is started and stopped here by pid; all on 127.0.0.1.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use zk_tests::reference_peer::{reference_classpath, write_log4j};
use zk_tests::servers;

/// How many reference JVMs run at once.
const JVM_BATCH: usize = 5;
const APACHE_WAIT: Duration = Duration::from_secs(40);
const OURS_WAIT: Duration = Duration::from_secs(10);

/// What a server made of a config.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Verdict {
    Accepted,
    Refused,
}

struct Case {
    name: &'static str,
    /// The config's lines after dataDir (PORTn / QPn / EPn placeholders).
    body: &'static str,
    myid: Option<&'static str>,
    expect: Verdict,
    /// Lines our check-config must print (accepted) or our error must
    /// contain (refused).
    ours_says: &'static [&'static str],
}

const THREE: &str =
    "server.1=127.0.0.1:QP1:EP1\nserver.2=127.0.0.1:QP2:EP2\nserver.3=127.0.0.1:QP3:EP3\n";

fn cases() -> Vec<Case> {
    use Verdict::*;
    vec![
        Case { name: "missing_myid", body: "clientPort=PORT1\ninitLimit=5\nsyncLimit=2\nTHREE", myid: None, expect: Refused, ours_says: &["myid file is missing"] },
        Case { name: "myid_not_a_number", body: "clientPort=PORT1\ninitLimit=5\nsyncLimit=2\nTHREE", myid: Some("abc\n"), expect: Refused, ours_says: &["serverid abc is not a number"] },
        Case { name: "myid_not_listed", body: "clientPort=PORT1\ninitLimit=5\nsyncLimit=2\nTHREE", myid: Some("7\n"), expect: Refused, ours_says: &["My id 7 not in the peer list"] },
        Case { name: "no_sync_limit", body: "clientPort=PORT1\ninitLimit=5\nTHREE", myid: Some("1\n"), expect: Refused, ours_says: &["syncLimit is not set"] },
        Case { name: "bad_init_limit", body: "clientPort=PORT1\ninitLimit=ten\nsyncLimit=2\nTHREE", myid: Some("1\n"), expect: Refused, ours_says: &["initLimit"] },
        Case { name: "election_alg_1", body: "clientPort=PORT1\ninitLimit=5\nsyncLimit=2\nelectionAlg=1\nTHREE", myid: Some("1\n"), expect: Refused, ours_says: &["electionAlg"] },
        Case { name: "standalone_enabled_yes", body: "clientPort=PORT1\ninitLimit=5\nsyncLimit=2\nstandaloneEnabled=yes\nTHREE", myid: Some("1\n"), expect: Refused, ours_says: &["standaloneEnabled"] },
        Case { name: "client_port_conflict", body: "clientPort=PORT2\ninitLimit=5\nsyncLimit=2\nserver.1=127.0.0.1:QP1:EP1;PORT1\nserver.2=127.0.0.1:QP2:EP2\nserver.3=127.0.0.1:QP3:EP3\n", myid: Some("1\n"), expect: Refused, ours_says: &["client address for this server (id = 1)"] },
        Case { name: "client_address_without_port", body: "clientPortAddress=127.0.0.1\ninitLimit=5\nsyncLimit=2\nserver.1=127.0.0.1:QP1:EP1;PORT1\nserver.2=127.0.0.1:QP2:EP2\nserver.3=127.0.0.1:QP3:EP3\n", myid: Some("1\n"), expect: Refused, ours_says: &["clientPortAddress is set but clientPort is not set"] },
        Case { name: "observers_only", body: "clientPort=PORT1\ninitLimit=5\nsyncLimit=2\nserver.1=127.0.0.1:QP1:EP1:observer\nserver.2=127.0.0.1:QP2:EP2:observer\n", myid: Some("1\n"), expect: Refused, ours_says: &["Observers w/o participants"] },
        Case { name: "three_nodes_port_from_server_line", body: "initLimit=5\nsyncLimit=2\nserver.1=127.0.0.1:QP1:EP1;127.0.0.1:PORT1\nserver.2=127.0.0.1:QP2:EP2;127.0.0.1:PORT2\nserver.3=127.0.0.1:QP3:EP3;127.0.0.1:PORT3\n", myid: Some("2\n"), expect: Accepted, ours_says: &["clientPort: 127.0.0.1:PORT2", "mode: ensemble", "myid: 2", "role: participant", "quorum: 2", "server.2=127.0.0.1:QP2:EP2:participant;127.0.0.1:PORT2 (this server)"] },
        Case { name: "peer_type_mismatch", body: "clientPort=PORT1\ninitLimit=5\nsyncLimit=2\npeerType=observer\nTHREE", myid: Some("1\n"), expect: Accepted, ours_says: &["role: participant", "Peer type from servers list (PARTICIPANT) doesn't match peerType (OBSERVER)"] },
        Case { name: "four_nodes", body: "clientPort=PORT1\ninitLimit=5\nsyncLimit=2\nTHREEserver.4=127.0.0.1:QP4:EP4:observer\nserver.5=127.0.0.1:QP5:EP5\n", myid: Some("4\n"), expect: Accepted, ours_says: &["role: observer", "servers: 5 (4 participants, 1 observers)", "quorum: 3", "Non-optimal configuration"] },
        Case { name: "one_server_standalone", body: "clientPort=PORT1\nserver.1=127.0.0.1:QP1:EP1\n", myid: None, expect: Accepted, ours_says: &["mode: standalone", "only one server specified"] },
        Case { name: "one_server_ensemble", body: "clientPort=PORT1\ninitLimit=5\nsyncLimit=2\nstandaloneEnabled=false\nserver.1=127.0.0.1:QP1:EP1\n", myid: Some("1\n"), expect: Accepted, ours_says: &["mode: ensemble", "quorum: 1", "No server failure will be tolerated"] },
    ]
}

/// Replaces PORTn/QPn/EPn (n = 1..5) with free ports, and THREE.
fn fill(text: &str, ports: &[u16]) -> String {
    let mut s = text.replace("THREE", THREE);
    for n in (1..=5).rev() {
        s = s
            .replace(&format!("PORT{n}"), &ports[n - 1].to_string())
            .replace(&format!("QP{n}"), &ports[4 + n].to_string())
            .replace(&format!("EP{n}"), &ports[9 + n].to_string());
    }
    s
}

fn write_case(case: &Case, dir: &Path, ports: &[u16]) -> PathBuf {
    let data = dir.join("data");
    std::fs::create_dir_all(&data).unwrap();
    let cfg = dir.join("zoo.cfg");
    let text = format!(
        "tickTime=2000\ndataDir={}\nadmin.enableServer=false\n4lw.commands.whitelist=*\n{}",
        data.display(),
        fill(case.body, ports)
    );
    std::fs::write(&cfg, text).unwrap();
    if let Some(id) = case.myid {
        std::fs::write(data.join("myid"), id).unwrap();
    }
    cfg
}

fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

/// Apache 3.8.0's verdict, and its log for messages.
fn apache(dir: &Path, cfg: &Path) -> (Verdict, String) {
    let log = dir.join("apache.log");
    let props = dir.join("log4j.properties");
    write_log4j(&props, &log);
    let cp = reference_classpath();
    let mut child = Command::new("java")
        .arg("-Xmx128m")
        .arg(format!("-Dlog4j.configuration=file:{}", props.display()))
        .arg(format!("-Dzookeeper.log.dir={}", dir.display()))
        .args([
            "-cp",
            &cp,
            "org.apache.zookeeper.server.quorum.QuorumPeerMain",
        ])
        .arg(cfg)
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .expect("run java");
    let started = Instant::now();
    loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if let Ok(Some(_)) = child.try_wait() {
            return (
                Verdict::Refused,
                std::fs::read_to_string(&log).unwrap_or_default(),
            );
        }
        if text.contains("] - LOOKING") || text.contains("Snapshotting: 0x0") {
            kill(&mut child);
            return (Verdict::Accepted, text);
        }
        if started.elapsed() > APACHE_WAIT {
            kill(&mut child);
            panic!(
                "{}: Apache neither failed nor started in {APACHE_WAIT:?}:\n{text}",
                cfg.display()
            );
        }
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Our verdict (`check-config`) and what it printed.
fn ours_check(bin: &Path, cfg: &Path) -> (Verdict, String) {
    let out = Command::new(bin)
        .arg("check-config")
        .arg(cfg)
        .env_remove("JVMFLAGS")
        .env_remove("SERVER_JVMFLAGS")
        .output()
        .expect("run zkserver");
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    let verdict = if out.status.success() {
        Verdict::Accepted
    } else {
        Verdict::Refused
    };
    (verdict, text)
}

/// `start-foreground` on a refused config must exit non-zero promptly.
fn ours_start_refuses(bin: &Path, dir: &Path, cfg: &Path) -> String {
    let mut child = Command::new(bin)
        .arg("start-foreground")
        .arg(cfg)
        .env("ZOO_LOG_DIR", dir)
        .env_remove("JVMFLAGS")
        .env_remove("SERVER_JVMFLAGS")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .expect("run zkserver");
    let started = Instant::now();
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            let mut err = String::new();
            use std::io::Read;
            let _ = child.stderr.take().unwrap().read_to_string(&mut err);
            assert!(
                !status.success(),
                "{}: start-foreground succeeded",
                cfg.display()
            );
            return err;
        }
        if started.elapsed() > OURS_WAIT {
            kill(&mut child);
            panic!(
                "{}: start-foreground did not refuse within {OURS_WAIT:?}",
                cfg.display()
            );
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

#[test]
fn apache_and_ours_agree_on_ensemble_configs() {
    if let Some(why) = servers::reference_missing() {
        panic!("this test needs the reference server: {why}");
    }
    let bin = servers::our_binary().unwrap_or_else(|e| panic!("{e}"));
    let cases = cases();
    // JVMs in batches of `JVM_BATCH` (each waits for its own verdict): all
    // fifteen at once would compete for the two cores of a CI machine.
    let mut verdicts = Vec::new();
    for batch in cases.chunks(JVM_BATCH) {
        let handles: Vec<_> = batch
            .iter()
            .map(|case| {
                let dir = servers::fresh_dir(&format!("qconf-{}", case.name));
                let ports: Vec<u16> = (0..15).map(|_| servers::free_port()).collect();
                let cfg = write_case(case, &dir, &ports);
                let (d, c) = (dir.clone(), cfg.clone());
                let h = std::thread::spawn(move || apache(&d, &c));
                (dir, cfg, ports, h)
            })
            .collect();
        for (dir, cfg, ports, h) in handles {
            verdicts.push((dir, cfg, ports, h.join().expect("apache thread")));
        }
    }
    let mut failures = Vec::new();
    for (case, (dir, cfg, ports, (apache_verdict, apache_log))) in cases.iter().zip(verdicts) {
        let (our_verdict, our_text) = ours_check(&bin, &cfg);
        eprintln!(
            "{}: Apache {apache_verdict:?}, ours {our_verdict:?}\n  ours: {}",
            case.name,
            our_text.trim().replace('\n', "\n        ")
        );
        if apache_verdict != case.expect || our_verdict != case.expect {
            failures.push(format!(
                "{}: expected {:?}; Apache {apache_verdict:?}, ours {our_verdict:?}\n\
                 ours: {our_text}\nApache log:\n{apache_log}",
                case.name, case.expect
            ));
            continue;
        }
        for needle in case.ours_says {
            let needle = fill(needle, &ports);
            if !our_text.contains(&needle) {
                failures.push(format!("{}: ours lacks {needle:?}:\n{our_text}", case.name));
            }
        }
        if case.expect == Verdict::Refused {
            let err = ours_start_refuses(&bin, &dir, &cfg);
            if !err.contains(&cfg.display().to_string()) {
                failures.push(format!(
                    "{}: start-foreground's error names no file: {err}",
                    case.name
                ));
            }
        }
        let _ = std::fs::remove_dir_all(&dir);
    }
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

#[test]
fn ensemble_script_runs_a_generated_four_node_ensemble() {
    let bin = servers::our_binary().unwrap_or_else(|e| panic!("{e}"));
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .unwrap()
        .to_path_buf();
    let script = root.join("scripts/ensemble.sh");
    let dir = servers::fresh_dir("qconf-ensemble");
    let conf = dir.join("conf");
    // Four consecutive free ports for each kind are not guaranteed, so probe.
    let mut taken: Vec<u16> = Vec::new();
    let mut four_free = || {
        let base = (0..200)
            .map(|_| servers::free_port())
            .find(|&p| {
                p < 65000
                    && (0..4).all(|k| !taken.contains(&(p + k)))
                    && (1..4).all(|k| std::net::TcpListener::bind(("127.0.0.1", p + k)).is_ok())
            })
            .expect("four free consecutive ports");
        taken.extend((0..4).map(|k| base + k));
        base
    };
    let (base, quorum_base, election_base) = (four_free(), four_free(), four_free());
    let run = |args: &[&str]| {
        Command::new("bash")
            .arg(&script)
            .args(args)
            .env("ZKSERVER", &bin)
            .env("ENSEMBLE_CONF_DIR", &conf)
            .env("CLIENT_PORT_BASE", base.to_string())
            .env("QUORUM_PORT_BASE", quorum_base.to_string())
            .env("ELECTION_PORT_BASE", election_base.to_string())
            .env_remove("JVMFLAGS")
            .env_remove("SERVER_JVMFLAGS")
            .output()
            .expect("run ensemble.sh")
    };
    let out = run(&["gen", "4", conf.to_str().unwrap()]);
    assert!(out.status.success(), "{out:?}");
    let zoo4 = std::fs::read_to_string(conf.join("zoo4.cfg")).unwrap();
    for k in 1..=4u16 {
        let line = format!(
            "server.{k}=127.0.0.1:{}:{};127.0.0.1:{}\n",
            quorum_base + k - 1,
            election_base + k - 1,
            base + k - 1
        );
        assert!(zoo4.contains(&line), "{line} missing from\n{zoo4}");
    }
    assert!(
        zoo4.contains(&format!("dataDir={}/data/zk4\n", conf.display())),
        "{zoo4}"
    );
    let out = run(&["start", "4"]);
    let stdout = String::from_utf8_lossy(&out.stdout).to_string();
    // The four elect a leader (quorum 3); status then shows every mode.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    let status = loop {
        let status = run(&["status", "4"]);
        let text = String::from_utf8_lossy(&status.stdout).to_string();
        let settled = text.matches("Mode: leader").count() == 1
            && text.matches("Mode: follower").count() == 3;
        if settled || std::time::Instant::now() > deadline {
            break status;
        }
        std::thread::sleep(std::time::Duration::from_millis(500));
    };
    let stop = run(&["stop", "4"]);
    assert!(
        out.status.success(),
        "start: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(stdout.matches("STARTED").count(), 4, "{stdout}");
    let status_out = String::from_utf8_lossy(&status.stdout);
    assert_eq!(
        status_out.matches("Client port found").count(),
        4,
        "{status_out}"
    );
    assert_eq!(
        (
            status_out.matches("Mode: leader").count(),
            status_out.matches("Mode: follower").count()
        ),
        (1, 3),
        "one leader and three followers: {status_out}"
    );
    assert!(stop.status.success(), "{stop:?}");
    for k in 1..=4 {
        let data = conf.join(format!("data/zk{k}"));
        assert_eq!(
            std::fs::read_to_string(data.join("myid")).unwrap(),
            format!("{k}\n")
        );
        assert!(
            !data.join("zookeeper_server.pid").exists(),
            "node {k} still has a pid file"
        );
        let (verdict, text) = ours_check(&bin, &conf.join(format!("zoo{k}.cfg")));
        assert_eq!(verdict, Verdict::Accepted, "{text}");
        assert!(
            text.contains(&format!("myid: {k} ")) && text.contains("quorum: 3"),
            "{text}"
        );
    }
    let _ = std::fs::remove_dir_all(&dir);
}
