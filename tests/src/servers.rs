//! Starting and stopping test servers: Apache ZooKeeper 3.8.0 (the reference,
//! from Debian's packages) and ours (`zkserver`), each standalone on
//! 127.0.0.1, on a free port, with a fresh temporary data directory.
//!
//! A [`TestServer`] kills its process (by pid, the child it started) and
//! removes its directory when dropped, also while a test panics.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

/// Which implementation a server is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// Apache ZooKeeper 3.8.0.
    Reference,
    /// Our `zkserver`.
    Ours,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Reference => "reference",
            Kind::Ours => "ours",
        }
    }
}

/// Settings shared by both kinds.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    pub tick_time_ms: u32,
    /// `znode.container.checkIntervalMs`: how often containers and expired
    /// TTL nodes are reaped.
    pub container_check_interval_ms: u64,
    pub extended_types: bool,
    /// How long to wait for `ruok` → `imok` (and `srvr` reporting a mode).
    pub start_timeout: Duration,
    /// More `zoo.cfg` lines, after the defaults (so they win), for both kinds.
    pub extra_cfg: Vec<String>,
}

impl Default for ServerOptions {
    fn default() -> Self {
        ServerOptions {
            tick_time_ms: 2000,
            container_check_interval_ms: 3_600_000,
            extended_types: true,
            start_timeout: Duration::from_secs(60),
            extra_cfg: Vec::new(),
        }
    }
}

/// A running server; stopped (killed) and cleaned up on drop.
pub struct TestServer {
    pub kind: Kind,
    pub addr: SocketAddr,
    pub dir: PathBuf,
    child: Option<Child>,
}

impl TestServer {
    /// The server's log file (stdout and stderr, plus log4j for the reference).
    pub fn log_path(&self) -> PathBuf {
        self.dir.join("server.log")
    }

    /// The last `n` lines of the log, for failure messages.
    pub fn log_tail(&self, n: usize) -> String {
        let text = std::fs::read_to_string(self.log_path()).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// Process id of the server.
    pub fn pid(&self) -> Option<u32> {
        self.child.as_ref().map(Child::id)
    }

    /// Stops the server now (kill by pid, then reap).
    pub fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

impl Drop for TestServer {
    fn drop(&mut self) {
        self.stop();
        if std::env::var_os("ZK_KEEP_DIRS").is_none() {
            let _ = std::fs::remove_dir_all(&self.dir);
        }
    }
}

/// Where the reference's jars are (`ZK_JARDIR`, default `/usr/share/java`).
pub fn reference_jar_dir() -> PathBuf {
    std::env::var_os("ZK_JARDIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| "/usr/share/java".into())
}

/// Why the reference cannot run here, if it cannot.
pub fn reference_missing() -> Option<String> {
    let jar = reference_jar_dir().join("zookeeper.jar");
    if !jar.exists() {
        return Some(format!(
            "Apache ZooKeeper 3.8.0 is not installed ({} missing): run scripts/install-test-deps.sh",
            jar.display()
        ));
    }
    let java = Command::new("java")
        .arg("-version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status();
    if !java.is_ok_and(|s| s.success()) {
        return Some("`java` is not on PATH: run scripts/install-test-deps.sh".to_string());
    }
    None
}

/// Our server binary: `ZK_SERVER_BIN`, else `target/<profile>/zkserver` next
/// to the test executable (`target/<profile>/deps/<test>`).
pub fn our_binary() -> Result<PathBuf, String> {
    if let Some(p) = std::env::var_os("ZK_SERVER_BIN") {
        let p = PathBuf::from(p);
        return if p.exists() {
            Ok(p)
        } else {
            Err(format!("ZK_SERVER_BIN={} does not exist", p.display()))
        };
    }
    let exe = std::env::current_exe().map_err(|e| format!("current_exe: {e}"))?;
    let profile_dir = exe
        .parent()
        .and_then(Path::parent)
        .ok_or_else(|| format!("unexpected test executable path {}", exe.display()))?;
    let bin = profile_dir.join(format!("zkserver{}", std::env::consts::EXE_SUFFIX));
    if bin.exists() {
        Ok(bin)
    } else {
        Err(format!(
            "{} not found: run `cargo build -p zk-server` first (or set ZK_SERVER_BIN)",
            bin.display()
        ))
    }
}

/// A port on 127.0.0.1 that was free a moment ago.
pub fn free_port() -> u16 {
    let l = TcpListener::bind("127.0.0.1:0").expect("bind 127.0.0.1:0");
    l.local_addr().expect("local addr").port()
}

/// A fresh, empty directory under the system temp dir.
pub fn fresh_dir(tag: &str) -> PathBuf {
    static COUNTER: AtomicU32 = AtomicU32::new(0);
    let n = COUNTER.fetch_add(1, Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("zk-tests-{tag}-{}-{n}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("data")).expect("create temp dir");
    dir
}

/// Sends a four-letter word and returns the reply ("" if nothing answered).
pub fn four_letter(addr: SocketAddr, word: &str) -> String {
    let Ok(mut s) = TcpStream::connect_timeout(&addr, Duration::from_millis(500)) else {
        return String::new();
    };
    let _ = s.set_read_timeout(Some(Duration::from_secs(2)));
    if s.write_all(word.as_bytes()).is_err() {
        return String::new();
    }
    let mut out = String::new();
    let _ = s.read_to_string(&mut out);
    out
}

fn write_cfg(dir: &Path, port: u16, opts: &ServerOptions, extra: &[String]) -> PathBuf {
    let mut cfg = format!(
        "tickTime={}\ninitLimit=10\nsyncLimit=5\ndataDir={}\nclientPort={port}\n\
         clientPortAddress=127.0.0.1\nmaxClientCnxns=0\n4lw.commands.whitelist=*\n\
         admin.enableServer=false\n",
        opts.tick_time_ms,
        dir.join("data").display()
    );
    for line in extra {
        cfg.push_str(line);
        cfg.push('\n');
    }
    let path = dir.join("zoo.cfg");
    std::fs::write(&path, cfg).expect("write zoo.cfg");
    path
}

/// Starts a server of `kind`; retries on another port if the chosen one was
/// taken in the meantime.
pub fn start(kind: Kind, opts: &ServerOptions) -> Result<TestServer, String> {
    let mut last_err = String::new();
    for _ in 0..3 {
        match start_once(kind, opts) {
            Ok(s) => return Ok(s),
            Err(e) => last_err = e,
        }
    }
    Err(last_err)
}

fn start_once(kind: Kind, opts: &ServerOptions) -> Result<TestServer, String> {
    let port = free_port();
    let dir = fresh_dir(kind.name());
    let log = std::fs::File::create(dir.join("server.log")).map_err(|e| e.to_string())?;
    let log2 = log.try_clone().map_err(|e| e.to_string())?;
    let mut cmd = match kind {
        Kind::Reference => {
            if let Some(why) = reference_missing() {
                return Err(why);
            }
            let cfg = write_cfg(&dir, port, opts, &opts.extra_cfg);
            let jars = reference_jar_dir();
            let log4j = dir.join("log4j.properties");
            std::fs::write(
                &log4j,
                format!(
                    "log4j.rootLogger=INFO, FILE\n\
                     log4j.appender.FILE=org.apache.log4j.FileAppender\n\
                     log4j.appender.FILE.File={}\n\
                     log4j.appender.FILE.Append=true\n\
                     log4j.appender.FILE.layout=org.apache.log4j.PatternLayout\n\
                     log4j.appender.FILE.layout.ConversionPattern=%d{{ISO8601}} - %-5p [%t:%C{{1}}@%L] - %m%n\n",
                    dir.join("server.log").display()
                ),
            )
            .map_err(|e| e.to_string())?;
            // servlet-api lets Jetty's AdminServer start when a test enables it.
            let cp = [
                "zookeeper.jar",
                "slf4j-log4j12.jar",
                "log4j-1.2.jar",
                "servlet-api.jar",
            ]
            .iter()
            .map(|j| jars.join(j).display().to_string())
            .collect::<Vec<_>>()
            .join(":");
            let mut c = Command::new("java");
            c.arg("-Xmx512m")
                .arg("-XX:+UseSerialGC")
                .arg("-XX:TieredStopAtLevel=1")
                .arg(format!(
                    "-Dzookeeper.extendedTypesEnabled={}",
                    opts.extended_types
                ))
                .arg(format!(
                    "-Dznode.container.checkIntervalMs={}",
                    opts.container_check_interval_ms
                ))
                .arg("-Dzookeeper.admin.enableServer=false")
                .arg(format!("-Dlog4j.configuration=file:{}", log4j.display()))
                .arg(format!("-Dzookeeper.log.dir={}", dir.display()))
                .arg("-cp")
                .arg(cp)
                .arg("org.apache.zookeeper.server.ZooKeeperServerMain")
                .arg(cfg);
            c
        }
        Kind::Ours => {
            let bin = our_binary()?;
            let cfg = write_cfg(
                &dir,
                port,
                opts,
                &[
                    format!(
                        "znode.container.checkIntervalMs={}",
                        opts.container_check_interval_ms
                    ),
                    format!("extendedTypesEnabled={}", opts.extended_types),
                ]
                .into_iter()
                .chain(opts.extra_cfg.iter().cloned())
                .collect::<Vec<_>>(),
            );
            let mut c = Command::new(bin);
            c.arg("start-foreground").arg(cfg);
            if std::env::var_os("ZK_LOG").is_none() {
                c.env("ZK_LOG", "warn");
            }
            c
        }
    };
    cmd.stdin(Stdio::null())
        .stdout(log)
        .stderr(log2)
        .current_dir(&dir);
    let child = cmd
        .spawn()
        .map_err(|e| format!("spawn {} server: {e}", kind.name()))?;
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut server = TestServer {
        kind,
        addr,
        dir,
        child: Some(child),
    };
    let deadline = Instant::now() + opts.start_timeout;
    loop {
        if let Some(Ok(Some(status))) = server.child.as_mut().map(Child::try_wait) {
            let tail = server.log_tail(30);
            server.child = None;
            return Err(format!(
                "{} server exited during startup ({status}); log tail:\n{tail}",
                kind.name()
            ));
        }
        // `imok` comes before the reference serves sessions ("ZooKeeperServer
        // not running"): also wait for `srvr` to report a mode.
        if four_letter(addr, "ruok") == "imok" && four_letter(addr, "srvr").contains("Mode:") {
            return Ok(server);
        }
        if Instant::now() > deadline {
            let tail = server.log_tail(30);
            return Err(format!(
                "{} server on {addr}: no imok after {:?}; log tail:\n{tail}",
                kind.name(),
                opts.start_timeout
            ));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Our `zkserver` started on a config the test wrote (for tests that
/// restart on the same data directory, which [`start`] does not do). Killed
/// by pid when dropped.
pub struct OurProcess {
    child: Option<Child>,
    pub addr: SocketAddr,
    pub log: PathBuf,
}

impl OurProcess {
    /// Writes `root/<name>.cfg` (the lines given plus `clientPort` and
    /// `clientPortAddress=127.0.0.1` on a free port), starts
    /// `zkserver start-foreground` on it with `ZK_LOG=log_level`, logging to
    /// `root/<name>.log`, and waits (up to 30 s) for `imok`.
    pub fn start(root: &Path, name: &str, cfg_lines: &str, log_level: &str) -> OurProcess {
        OurProcess::start_with_env(root, name, cfg_lines, log_level, &[])
    }

    /// [`OurProcess::start`] with extra environment variables for the
    /// server process.
    pub fn start_with_env(
        root: &Path,
        name: &str,
        cfg_lines: &str,
        log_level: &str,
        env: &[(&str, &str)],
    ) -> OurProcess {
        let port = free_port();
        let cfg = root.join(format!("{name}.cfg"));
        let text = format!("{cfg_lines}\nclientPort={port}\nclientPortAddress=127.0.0.1\n");
        std::fs::write(&cfg, text).expect("write cfg");
        let log = root.join(format!("{name}.log"));
        let out = std::fs::File::create(&log).expect("log file");
        let err = out.try_clone().expect("log file");
        let child = Command::new(our_binary().expect("zkserver binary"))
            .arg("start-foreground")
            .arg(&cfg)
            .env("ZK_LOG", log_level)
            .envs(env.iter().copied())
            .stdin(Stdio::null())
            .stdout(out)
            .stderr(err)
            .current_dir(root)
            .spawn()
            .expect("spawn zkserver");
        let mut p = OurProcess {
            child: Some(child),
            addr: ([127, 0, 0, 1], port).into(),
            log,
        };
        let deadline = Instant::now() + Duration::from_secs(30);
        while four_letter(p.addr, "ruok") != "imok" {
            let exited = p.child.as_mut().and_then(|c| c.try_wait().ok().flatten());
            assert!(exited.is_none(), "{name} exited:\n{}", p.log_text());
            assert!(
                Instant::now() < deadline,
                "{name}: no imok:\n{}",
                p.log_text()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
        p
    }

    /// The server's process id (0 once it has been killed).
    pub fn pid(&self) -> u32 {
        self.child.as_ref().map_or(0, Child::id)
    }

    /// Everything the server logged so far.
    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits (bounded) for the server to exit by itself; its exit status.
    pub fn wait_exit(&mut self, timeout: Duration) -> Option<std::process::ExitStatus> {
        let deadline = Instant::now() + timeout;
        let child = self.child.as_mut()?;
        loop {
            if let Ok(Some(status)) = child.try_wait() {
                self.child = None;
                return Some(status);
            }
            if Instant::now() > deadline {
                return None;
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// SIGKILL, then reap.
    pub fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

impl Drop for OurProcess {
    fn drop(&mut self) {
        self.kill();
    }
}

/// One HTTP answer (`http_request`).
#[derive(Debug)]
pub struct HttpReply {
    pub status: u16,
    pub content_type: Option<String>,
    pub body: String,
}

/// One HTTP/1.1 request to 127.0.0.1:`port` over a fresh connection
/// (`Connection: close`), bounded in time (the admin API and metrics tests).
pub fn http_request(port: u16, method: &str, path: &str) -> std::io::Result<HttpReply> {
    let addr: SocketAddr = ([127, 0, 0, 1], port).into();
    let mut s = TcpStream::connect_timeout(&addr, Duration::from_secs(5))?;
    s.set_read_timeout(Some(Duration::from_secs(20)))?;
    write!(
        s,
        "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n"
    )?;
    let mut raw = Vec::new();
    s.read_to_end(&mut raw)?;
    let text = String::from_utf8_lossy(&raw).to_string();
    let (head, body) = text.split_once("\r\n\r\n").unwrap_or((&text, ""));
    let mut lines = head.lines();
    let status = lines
        .next()
        .and_then(|l| l.split_whitespace().nth(1))
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let content_type = lines.find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("content-type")
            .then(|| v.trim().to_string())
    });
    Ok(HttpReply {
        status,
        content_type,
        body: body.to_string(),
    })
}
