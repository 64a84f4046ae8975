//! Starts a ZooKeeper server for one test, on 127.0.0.1 and a free port,
//! with a temporary data directory; the server is killed (by pid) and the
//! directory removed when the [`TestServer`] is dropped.
//!
//! `ZK_TEST_SERVER` picks the server:
//! - `reference` (default): Apache ZooKeeper 3.8.0 from `/usr/share/java`;
//!   [`TestServer::start`] returns `None` (tests skip) when it is not installed.
//! - `ours`: our `zkserver start-foreground <zoo.cfg>`, from `ZK_SERVER_BIN`
//!   or the `target/<profile>/zkserver` next to the test executable; a missing
//!   binary is a test failure, not a skip.
//!
//! Both get the same generated zoo.cfg. Set `ZK_TEST_KEEP=1` to keep the
//! directory (zoo.cfg, data, server.log) for inspection.

#![allow(dead_code)]

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// The Apache ZooKeeper jar whose presence enables reference tests.
pub const REFERENCE_JAR: &str = "/usr/share/java/zookeeper.jar";
/// Extra jars giving the reference server a logging backend.
const LOG_JARS: [&str; 2] = [
    "/usr/share/java/slf4j-log4j12.jar",
    "/usr/share/java/log4j-1.2.jar",
];
/// What `srvr` answers while the server is up but not yet serving.
const NOT_SERVING: &str = "not currently serving";
/// How long a server may take to answer `ruok` with `imok`.
const STARTUP_TIMEOUT: Duration = Duration::from_secs(60);

/// Which server implementation a test runs against.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerKind {
    Reference,
    Ours,
}

impl ServerKind {
    /// The kind named by `ZK_TEST_SERVER` (default: reference).
    pub fn from_env() -> ServerKind {
        match std::env::var("ZK_TEST_SERVER").as_deref() {
            Ok("ours") => ServerKind::Ours,
            Ok("reference") | Ok("") | Err(_) => ServerKind::Reference,
            Ok(other) => panic!("ZK_TEST_SERVER must be `ours` or `reference`, not {other:?}"),
        }
    }
}

/// A running server, killed on drop.
#[derive(Debug)]
pub struct TestServer {
    pub kind: ServerKind,
    pub port: u16,
    child: Option<Child>,
    dir: PathBuf,
}

impl TestServer {
    /// Starts the server `ZK_TEST_SERVER` selects; `None` when the reference
    /// is selected but not installed.
    pub fn start() -> Option<TestServer> {
        TestServer::start_kind(ServerKind::from_env())
    }

    /// Starts a server of the given kind.
    pub fn start_kind(kind: ServerKind) -> Option<TestServer> {
        let command = match kind {
            ServerKind::Reference => {
                if !Path::new(REFERENCE_JAR).exists() {
                    eprintln!("{REFERENCE_JAR} not found; skipping reference test");
                    return None;
                }
                None
            }
            ServerKind::Ours => Some(our_binary()),
        };
        let dir = temp_dir();
        let port = free_port();
        let cfg = write_config(&dir, port);
        let log = std::fs::File::create(dir.join("server.log")).expect("create server.log");
        let mut cmd = match command {
            Some(bin) => {
                let mut c = Command::new(bin);
                c.arg("start-foreground").arg(&cfg);
                c
            }
            None => reference_command(&dir, &cfg),
        };
        cmd.stdin(Stdio::null())
            .stdout(log.try_clone().expect("clone log"))
            .stderr(log)
            .current_dir(&dir);
        let child = cmd.spawn().expect("spawn server");
        let mut server = TestServer {
            kind,
            port,
            child: Some(child),
            dir,
        };
        server.wait_ready();
        Some(server)
    }

    /// `127.0.0.1:<port>`.
    pub fn connect_string(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// The server's process id.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// The server's log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    /// Sends a four-letter word and returns the whole answer.
    pub fn four_letter(&self, word: &str) -> std::io::Result<String> {
        four_letter(self.port, word)
    }

    /// Kills the server now (the directory stays until drop).
    pub fn kill(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn wait_ready(&mut self) {
        let deadline = Instant::now() + STARTUP_TIMEOUT;
        loop {
            // Apache answers `imok` before it serves sessions; `srvr` tells.
            let imok = four_letter(self.port, "ruok").is_ok_and(|a| a == "imok");
            if imok && four_letter(self.port, "srvr").is_ok_and(|a| !a.contains(NOT_SERVING)) {
                return;
            }
            if let Some(child) = self.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    panic!(
                        "{:?} server exited with {status}:\n{}",
                        self.kind,
                        self.log()
                    );
                }
            }
            if Instant::now() > deadline {
                panic!(
                    "{:?} server not ready after {STARTUP_TIMEOUT:?}:\n{}",
                    self.kind,
                    self.log()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.kill();
        if std::env::var_os("ZK_TEST_KEEP").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        } else {
            eprintln!("kept test server directory {}", self.dir.display());
        }
    }
}

fn four_letter(port: u16, word: &str) -> std::io::Result<String> {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(2))?;
    s.set_read_timeout(Some(Duration::from_secs(5)))?;
    s.write_all(word.as_bytes())?;
    let mut out = String::new();
    s.read_to_string(&mut out)?;
    Ok(out)
}

fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

fn temp_dir() -> PathBuf {
    static NEXT: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos())
        .unwrap_or(0);
    let n = NEXT.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("zkc-test-{}-{n}-{nanos}", std::process::id()));
    std::fs::create_dir_all(dir.join("data")).expect("create temp dir");
    dir
}

fn write_config(dir: &Path, port: u16) -> PathBuf {
    let cfg = dir.join("zoo.cfg");
    let text = format!(
        "tickTime=2000\n\
         dataDir={}\n\
         clientPort={port}\n\
         clientPortAddress=127.0.0.1\n\
         4lw.commands.whitelist=*\n\
         admin.enableServer=false\n\
         extendedTypesEnabled=true\n",
        dir.join("data").display()
    );
    std::fs::write(&cfg, text).expect("write zoo.cfg");
    cfg
}

fn reference_command(dir: &Path, cfg: &Path) -> Command {
    let log4j = dir.join("log4j.properties");
    std::fs::write(
        &log4j,
        "log4j.rootLogger=INFO, CONSOLE\n\
         log4j.appender.CONSOLE=org.apache.log4j.ConsoleAppender\n\
         log4j.appender.CONSOLE.layout=org.apache.log4j.PatternLayout\n\
         log4j.appender.CONSOLE.layout.ConversionPattern=%d{ISO8601} %-5p [%t] %c{1}: %m%n\n",
    )
    .expect("write log4j.properties");
    let mut classpath = vec![REFERENCE_JAR];
    classpath.extend(LOG_JARS.iter().filter(|j| Path::new(j).exists()));
    let mut c = Command::new("java");
    c.arg("-Xmx256m")
        .arg("-Dzookeeper.extendedTypesEnabled=true")
        .arg("-Dzookeeper.4lw.commands.whitelist=*")
        .arg("-Dznode.container.checkIntervalMs=1000")
        .arg(format!("-Dlog4j.configuration=file:{}", log4j.display()))
        .arg("-cp")
        .arg(classpath.join(":"))
        .arg("org.apache.zookeeper.server.ZooKeeperServerMain")
        .arg(cfg);
    c
}

fn our_binary() -> PathBuf {
    if let Some(bin) = std::env::var_os("ZK_SERVER_BIN") {
        return PathBuf::from(bin);
    }
    // Test executables live in target/<profile>/deps/; the binary one level up.
    let exe = std::env::current_exe().expect("current exe");
    let candidates = [
        exe.parent()
            .and_then(Path::parent)
            .map(|d| d.join("zkserver")),
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../target/debug/zkserver")),
    ];
    for c in candidates.into_iter().flatten() {
        if c.exists() {
            return c;
        }
    }
    panic!("ZK_TEST_SERVER=ours but no zkserver binary: run `cargo build -p zk-server` or set ZK_SERVER_BIN");
}
