//! `zkserver start | stop | restart | status | print-cmd | version |
//! start-foreground` as real processes on temp dirs: exit codes, output,
//! pid file, log files, `JVMFLAGS`, bad keys, and systemd notifications.
//!
//! What `zkServer.sh` 3.8.0 prints, recorded against the reference
//! (`/usr/share/zookeeper/bin/zkServer.sh CMD /tmp/x/zoo.cfg`, Debian):
//!
//! ```text
//! status (down)  Client port found: 21987. Client address: 127.0.0.1. Client SSL: false.
//!                Error contacting service. It is probably not running.      rc=1
//! stop (down)    Stopping zookeeper ... no zookeeper to stop (could not find file /tmp/x/data/zookeeper_server.pid)   rc=0
//! start          Starting zookeeper ... STARTED                               rc=0
//! start (again)  Starting zookeeper ... already running as process 4893.     rc=1
//! status (up)    Client port found: 21987. Client address: 127.0.0.1. Client SSL: false.
//!                Mode: standalone                                             rc=0
//! restart        Stopping zookeeper ... STOPPED
//!                Starting zookeeper ... STARTED                               rc=0
//! stop           Stopping zookeeper ... STOPPED                               rc=0
//! (stderr, every command: "ZooKeeper JMX enabled by default", "Using config: /tmp/x/zoo.cfg")
//! pid file       "4893" (no newline)
//! ```
//!
//! Every test kills only processes it started: their pids are recorded and
//! signalled on drop.

use std::os::unix::net::UnixDatagram;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};
use zk_tests::servers::{four_letter, free_port, fresh_dir, our_binary};

/// Environment variables that change what the commands do; cleared so the
/// tests see only what they set.
const CLEARED: &[&str] = &[
    "ZOOCFGDIR",
    "ZOO_LOG_DIR",
    "ZOO_LOG_FILE",
    "ZOO_LOG4J_PROP",
    "ZOOPIDFILE",
    "JVMFLAGS",
    "SERVER_JVMFLAGS",
    "NOTIFY_SOCKET",
    "ZK_LOG",
    "RUST_LOG",
];

/// Pids this test started, sent SIGKILL on drop if still alive.
#[derive(Default)]
struct Reaper(Vec<u32>);

impl Drop for Reaper {
    fn drop(&mut self) {
        for pid in &self.0 {
            let _ = Command::new("kill")
                .args(["-9", &pid.to_string()])
                .stderr(Stdio::null())
                .status();
        }
    }
}

struct Env {
    dir: PathBuf,
    port: u16,
    cfg: PathBuf,
    vars: Vec<(String, String)>,
}

impl Env {
    fn new(tag: &str, extra_cfg: &str) -> Env {
        let dir = fresh_dir(tag);
        let port = free_port();
        let cfg = dir.join("zoo.cfg");
        std::fs::write(
            &cfg,
            format!(
                "tickTime=2000\ndataDir={}\nclientPort={port}\nclientPortAddress=127.0.0.1\n\
                 4lw.commands.whitelist=srvr\nadmin.enableServer=false\n{extra_cfg}",
                dir.join("data").display()
            ),
        )
        .unwrap();
        let vars = vec![
            ("ZOO_LOG_DIR".into(), dir.join("logs").display().to_string()),
            ("USER".into(), "tester".into()),
            ("HOSTNAME".into(), "testhost".into()),
        ];
        Env {
            dir,
            port,
            cfg,
            vars,
        }
    }

    fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(our_binary().expect("zkserver binary"));
        for v in CLEARED {
            c.env_remove(v);
        }
        c.args(args)
            .envs(self.vars.iter().cloned())
            .current_dir(&self.dir);
        c
    }

    fn run(&self, args: &[&str]) -> (i32, String, String) {
        let Output {
            status,
            stdout,
            stderr,
        } = self
            .command(args)
            .stdin(Stdio::null())
            .output()
            .expect("run zkserver");
        (
            status.code().unwrap_or(-1),
            String::from_utf8_lossy(&stdout).into_owned(),
            String::from_utf8_lossy(&stderr).into_owned(),
        )
    }

    fn ctl(&self, command: &str) -> (i32, String, String) {
        self.run(&[command, self.cfg.to_str().unwrap()])
    }

    fn pid_file(&self) -> PathBuf {
        self.dir.join("data").join("zookeeper_server.pid")
    }

    fn addr(&self) -> std::net::SocketAddr {
        format!("127.0.0.1:{}", self.port).parse().unwrap()
    }
}

impl Drop for Env {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn alive(pid: u32) -> bool {
    // A zombie has no cmdline... but still a stat: read its state.
    match std::fs::read_to_string(format!("/proc/{pid}/stat")) {
        Ok(stat) => !stat
            .rsplit_once(')')
            .and_then(|(_, r)| r.split_whitespace().next())
            .is_some_and(|s| s == "Z" || s == "X"),
        Err(_) => false,
    }
}

fn read_pid(path: &Path) -> u32 {
    let text = std::fs::read_to_string(path).expect("pid file");
    assert!(!text.ends_with('\n'), "zkServer.sh writes no newline");
    text.parse().expect("a pid")
}

#[test]
fn lifecycle_matches_zkserver_sh() {
    let env = Env::new("ctl-life", "");
    let mut reaper = Reaper::default();
    let cfg = env.cfg.display().to_string();
    let status_line = format!(
        "Client port found: {}. Client address: 127.0.0.1. Client SSL: false.\n",
        env.port
    );
    let not_running = "Error contacting service. It is probably not running.\n";

    let (code, out, err) = env.ctl("status");
    assert_eq!(code, 1, "{out}{err}");
    assert_eq!(out, format!("{status_line}{not_running}"));
    assert_eq!(err, format!("Using config: {cfg}\n"));

    let (code, out, _) = env.ctl("stop");
    assert_eq!(code, 0);
    assert_eq!(
        out,
        format!(
            "Stopping zookeeper ... no zookeeper to stop (could not find file {})\n",
            env.pid_file().display()
        )
    );

    let (code, out, err) = env.ctl("start");
    assert_eq!(
        (code, out.as_str()),
        (0, "Starting zookeeper ... STARTED\n"),
        "{err}"
    );
    let pid = read_pid(&env.pid_file());
    reaper.0.push(pid);
    assert!(alive(pid));
    // Serving as soon as `start` returns.
    assert!(four_letter(env.addr(), "srvr").contains("Mode: standalone"));

    let (code, out, _) = env.ctl("start");
    assert_eq!(code, 1);
    assert_eq!(
        out,
        format!("Starting zookeeper ... already running as process {pid}.\n")
    );
    assert_eq!(read_pid(&env.pid_file()), pid, "the pid file is untouched");

    let (code, out, _) = env.ctl("status");
    assert_eq!(code, 0);
    assert_eq!(out, format!("{status_line}Mode: standalone\n"));

    let (code, out, err) = env.ctl("restart");
    assert_eq!(code, 0, "{err}");
    assert_eq!(
        out,
        "Stopping zookeeper ... STOPPED\nStarting zookeeper ... STARTED\n"
    );
    let pid2 = read_pid(&env.pid_file());
    reaper.0.push(pid2);
    assert_ne!(pid, pid2, "restart runs a new process");
    assert!(!alive(pid), "the old process is gone");
    assert!(alive(pid2));

    let (code, out, _) = env.ctl("stop");
    assert_eq!(
        (code, out.as_str()),
        (0, "Stopping zookeeper ... STOPPED\n")
    );
    assert!(!env.pid_file().exists());
    assert!(!alive(pid2), "stop waits for the process to exit");

    let (code, out, _) = env.ctl("stop");
    assert_eq!(code, 0);
    assert!(out.contains("no zookeeper to stop"), "{out}");
    let (code, out, _) = env.ctl("status");
    assert_eq!((code, out), (1, format!("{status_line}{not_running}")));

    // ZOO_LOG_DIR: the daemon's .out and its log file, with lines in it.
    let logs = env.dir.join("logs");
    assert!(logs.join("zookeeper-tester-server-testhost.out").exists());
    let log = std::fs::read_to_string(logs.join("zookeeper-tester-server-testhost.log"))
        .expect("the daemon's log file");
    assert!(log.contains("Using config: "), "{log}");
    assert!(log.contains("received SIGTERM, shutting down"), "{log}");
    assert!(log.lines().count() >= 10, "{log}");
}

#[test]
fn zoocfgdir_zoopidfile_and_a_stale_pid_file() {
    let mut env = Env::new("ctl-dirs", "");
    let mut reaper = Reaper::default();
    let conf = env.dir.join("myconf");
    std::fs::create_dir_all(&conf).unwrap();
    std::fs::rename(&env.cfg, conf.join("other.cfg")).unwrap();
    let pid_file = env.dir.join("run").join("zk.pid");
    env.vars
        .push(("ZOOCFGDIR".into(), conf.display().to_string()));
    env.vars
        .push(("ZOOPIDFILE".into(), pid_file.display().to_string()));

    let (code, out, err) = env.run(&["start", "other.cfg"]);
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        err,
        format!("Using config: {}\n", conf.join("other.cfg").display())
    );
    let pid = read_pid(&pid_file);
    reaper.0.push(pid);
    assert!(!env.pid_file().exists(), "ZOOPIDFILE replaces the default");
    // --config names the directory too.
    let (code, out, _) = env.run(&["--config", conf.to_str().unwrap(), "status", "other.cfg"]);
    assert_eq!(code, 0);
    assert!(out.ends_with("Mode: standalone\n"), "{out}");
    let (code, _, _) = env.run(&["stop", "other.cfg"]);
    assert_eq!(code, 0);
    assert!(!alive(pid) && !pid_file.exists());

    // A pid file naming a dead process does not block start; stop on it
    // removes it and says STOPPED, as the script does.
    std::fs::write(&pid_file, pid.to_string()).unwrap();
    let (code, out, _) = env.run(&["stop", "other.cfg"]);
    assert_eq!(
        (code, out.as_str()),
        (0, "Stopping zookeeper ... STOPPED\n")
    );
    assert!(!pid_file.exists());
    std::fs::write(&pid_file, pid.to_string()).unwrap();
    let (code, out, err) = env.run(&["start", "other.cfg"]);
    assert_eq!(
        (code, out.as_str()),
        (0, "Starting zookeeper ... STARTED\n"),
        "{err}"
    );
    let pid2 = read_pid(&pid_file);
    reaper.0.push(pid2);
    let (code, _, _) = env.run(&["stop", "other.cfg"]);
    assert_eq!(code, 0);
    assert!(!alive(pid2));
}

#[test]
fn start_reports_a_server_that_dies() {
    // The port is taken: the daemon exits at once.
    let blocker = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let env = Env::new("ctl-dies", "");
    let text = std::fs::read_to_string(&env.cfg).unwrap().replace(
        &format!("clientPort={}", env.port),
        &format!("clientPort={}", blocker.local_addr().unwrap().port()),
    );
    std::fs::write(&env.cfg, text).unwrap();
    let (code, out, err) = env.ctl("start");
    assert_eq!(
        (code, out.as_str()),
        (1, "Starting zookeeper ... FAILED TO START\n")
    );
    assert!(err.contains("cannot listen on client port"), "{err}");
    assert!(!env.pid_file().exists());
}

#[test]
fn a_bad_key_is_refused_with_file_and_line() {
    let env = Env::new("ctl-badkey", "snapCount=many\n");
    let cfg = env.cfg.display().to_string();
    let want = format!("{cfg}:7: invalid value \"many\" for snapCount: expected a number of txns");
    let (code, out, err) = env.ctl("start");
    assert_eq!(
        (code, out.as_str()),
        (1, "Starting zookeeper ... FAILED TO START\n")
    );
    assert!(err.contains(&want), "{err}");
    assert!(!env.pid_file().exists());
    let (code, _, err) = env.ctl("start-foreground");
    assert_eq!(code, 1);
    assert!(err.contains(&want), "{err}");
}

#[test]
fn print_cmd_and_version() {
    let env = Env::new("ctl-print", "");
    let (code, out, _) = env.ctl("print-cmd");
    assert_eq!(code, 0);
    let logs = env.dir.join("logs").display().to_string();
    let bin = our_binary().unwrap().display().to_string();
    assert_eq!(
        out,
        format!(
            "ZOO_LOG_DIR=\"{logs}\" ZOO_LOG_FILE=\"zookeeper-tester-server-testhost.log\" \
             ZOO_LOG4J_PROP=\"INFO,ROLLINGFILE\" \"{bin}\" start-foreground \"{}\" > \
             \"{logs}/zookeeper-tester-server-testhost.out\" 2>&1 < /dev/null\n",
            env.cfg.display()
        )
    );
    assert!(!env.pid_file().exists(), "print-cmd starts nothing");
    let (code, out, _) = env.run(&["version"]);
    assert_eq!(code, 0);
    assert!(
        out.starts_with("zkserver, version 3.8.0") && out.ends_with('\n'),
        "{out}"
    );
    let (code, _, err) = env.run(&["frobnicate"]);
    assert_eq!(code, 1);
    assert!(err.starts_with("Usage: zkserver"), "{err}");
}

/// `start-foreground` with `extra` environment, waiting until it serves.
fn foreground(env: &Env, extra: &[(&str, &str)], reaper: &mut Reaper) -> Child {
    let mut cmd = env.command(&["start-foreground", env.cfg.to_str().unwrap()]);
    cmd.envs(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())))
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(Stdio::piped());
    let child = cmd.spawn().expect("spawn start-foreground");
    reaper.0.push(child.id());
    let deadline = Instant::now() + Duration::from_secs(30);
    while four_letter(env.addr(), "srvr").is_empty() {
        assert!(Instant::now() < deadline, "server did not come up");
        std::thread::sleep(Duration::from_millis(50));
    }
    child
}

fn terminate(child: &mut Child) -> std::process::ExitStatus {
    let ok = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(ok.success());
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Some(status) = child.try_wait().unwrap() {
            return status;
        }
        assert!(Instant::now() < deadline, "server did not stop");
        std::thread::sleep(Duration::from_millis(20));
    }
}

#[test]
fn jvmflags_apply_under_zoo_cfg() {
    // The file allows only srvr; the flag adds ruok: applied.
    let env = Env::new("ctl-jvm", "");
    let text = std::fs::read_to_string(&env.cfg)
        .unwrap()
        .replace("4lw.commands.whitelist=srvr\n", "");
    std::fs::write(&env.cfg, text).unwrap();
    let mut reaper = Reaper::default();
    let flags = [
        ("SERVER_JVMFLAGS", "-Xmx512m"),
        (
            "JVMFLAGS",
            "-Dzookeeper.4lw.commands.whitelist=ruok,srvr -Djute.maxbuffer=4096",
        ),
    ];
    let mut child = foreground(&env, &flags, &mut reaper);
    assert_eq!(four_letter(env.addr(), "ruok"), "imok");
    // jute.maxbuffer=4096: a 5000-byte frame closes the connection at once.
    let mut s = std::net::TcpStream::connect(env.addr()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    use std::io::{Read, Write};
    s.write_all(&5000i32.to_be_bytes()).unwrap();
    let mut buf = [0u8; 16];
    assert_eq!(s.read(&mut buf).unwrap_or(0), 0, "closed, nothing answered");
    assert!(terminate(&mut child).success());

    // The file names the whitelist: the flag loses, as in ZooKeeper.
    let env = Env::new("ctl-jvm2", "");
    let flags = [("JVMFLAGS", "-Dzookeeper.4lw.commands.whitelist=*")];
    let mut child = foreground(&env, &flags, &mut reaper);
    assert_eq!(
        four_letter(env.addr(), "ruok"),
        "ruok is not executed because it is not in the whitelist.\n"
    );
    assert!(terminate(&mut child).success());

    // A bad value names JVMFLAGS and the flag.
    let (code, _, err) = {
        let mut cmd = env.command(&["start-foreground", env.cfg.to_str().unwrap()]);
        cmd.env("JVMFLAGS", "-Djute.maxbuffer=lots");
        let o = cmd.output().unwrap();
        (
            o.status.code().unwrap_or(-1),
            o.stdout,
            String::from_utf8_lossy(&o.stderr).into_owned(),
        )
    };
    assert_eq!(code, 1);
    assert!(
        err.contains("JVMFLAGS: invalid value \"lots\" for -Djute.maxbuffer: expected"),
        "{err}"
    );
}

#[test]
fn foreground_log_file_only_when_asked() {
    let env = Env::new("ctl-logs", "");
    let mut reaper = Reaper::default();
    let logs = env.dir.join("logs");
    let mut child = foreground(&env, &[], &mut reaper);
    assert!(terminate(&mut child).success());
    assert!(!logs.exists(), "no log file unless asked");

    let mut child = foreground(
        &env,
        &[
            ("ZOO_LOG_FILE", "fg.log"),
            ("ZOO_LOG4J_PROP", "DEBUG,ROLLINGFILE"),
        ],
        &mut reaper,
    );
    assert!(terminate(&mut child).success());
    let mut stderr = String::new();
    std::io::Read::read_to_string(child.stderr.as_mut().unwrap(), &mut stderr).unwrap();
    assert_eq!(
        stderr,
        format!("Using config: {}\n", env.cfg.display()),
        "ROLLINGFILE alone: nothing on the console"
    );
    let log = std::fs::read_to_string(logs.join("fg.log")).unwrap();
    assert!(log.contains(" DEBUG "), "DEBUG level: {log}");
    assert!(log.contains("Processing srvr command"), "{log}");
}

#[test]
fn systemd_notify_ready_and_stopping() {
    let env = Env::new("ctl-notify", "");
    let mut reaper = Reaper::default();
    let sock_path = env.dir.join("notify.sock");
    let sock = UnixDatagram::bind(&sock_path).unwrap();
    sock.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut child = foreground(
        &env,
        &[("NOTIFY_SOCKET", sock_path.to_str().unwrap())],
        &mut reaper,
    );
    let mut buf = [0u8; 256];
    let n = sock.recv(&mut buf).expect("READY=1");
    assert_eq!(
        String::from_utf8_lossy(&buf[..n]),
        format!("READY=1\nMAINPID={}", child.id())
    );
    assert!(terminate(&mut child).success());
    let n = sock.recv(&mut buf).expect("STOPPING=1");
    assert_eq!(&buf[..n], b"STOPPING=1");

    // An abstract socket name, as systemd may pass it.
    let name = format!("zk-ctl-test-{}", std::process::id());
    let sock = {
        use std::os::linux::net::SocketAddrExt;
        let addr = std::os::unix::net::SocketAddr::from_abstract_name(name.as_bytes()).unwrap();
        UnixDatagram::bind_addr(&addr).unwrap()
    };
    sock.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let mut child = foreground(&env, &[("NOTIFY_SOCKET", &format!("@{name}"))], &mut reaper);
    let n = sock.recv(&mut buf).expect("READY=1");
    assert!(buf[..n].starts_with(b"READY=1\nMAINPID="));
    assert!(terminate(&mut child).success());
}
