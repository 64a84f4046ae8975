//! `zkserver start` and `stop`: the daemon is this binary running
//! `start-foreground`, in its own process group, stdin from /dev/null,
//! stdout and stderr to the `.out` file, its pid in the pid file.
//!
//! Unlike `zkServer.sh`, which sleeps one second and checks the process is
//! still there, `start` waits until the daemon serves: the daemon tells it
//! with `READY=1` on a private `NOTIFY_SOCKET` (the systemd protocol the
//! server speaks anyway), or it exits and `start` reports the failure with
//! the end of the `.out` file. `stop` sends SIGTERM and waits for the
//! process to be gone before it removes the pid file.

use super::{pid_file, Ctl};
use std::io::Write;
use std::os::unix::net::UnixDatagram;
use std::os::unix::process::CommandExt;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

/// How long `start` waits for the daemon to serve (recovery of a large data
/// directory takes a while) before it gives up waiting.
pub const START_WAIT: Duration = Duration::from_secs(120);
/// How long `stop` waits for the process to exit after SIGTERM.
pub const STOP_WAIT: Duration = Duration::from_secs(30);
/// How often liveness is polled while waiting.
const POLL: Duration = Duration::from_millis(50);
/// Lines of the `.out` file shown when the daemon dies at start-up.
const OUT_TAIL_LINES: usize = 20;
/// The log levels and appenders the daemon gets unless the operator chose
/// (the Debian zkEnv.sh's default): the log file, not the console.
pub const DAEMON_LOG4J_PROP: &str = "INFO,ROLLINGFILE";

fn print_flush(text: &str) {
    print!("{text}");
    let _ = std::io::stdout().flush();
}

/// The environment the daemon runs with, beyond ours.
fn daemon_env() -> Vec<(&'static str, String)> {
    let prop = std::env::var("ZOO_LOG4J_PROP")
        .ok()
        .filter(|p| !p.is_empty())
        .unwrap_or_else(|| DAEMON_LOG4J_PROP.to_string());
    vec![
        (
            "ZOO_LOG_DIR",
            crate::logging::log_dir().display().to_string(),
        ),
        ("ZOO_LOG_FILE", crate::logging::log_file_name()),
        ("ZOO_LOG4J_PROP", prop),
    ]
}

/// What `print-cmd` prints: the command `start` runs, in shell syntax.
pub fn command_line(ctl: &Ctl) -> String {
    let mut line = String::new();
    for (k, v) in daemon_env() {
        line.push_str(&format!("{k}=\"{v}\" "));
    }
    for k in ["SERVER_JVMFLAGS", "JVMFLAGS"] {
        if let Some(v) = std::env::var(k).ok().filter(|v| !v.is_empty()) {
            line.push_str(&format!("{k}=\"{v}\" "));
        }
    }
    line.push_str(&format!(
        "\"{}\" start-foreground \"{}\" > \"{}\" 2>&1 < /dev/null",
        ctl.exe.display(),
        ctl.config_path.display(),
        ctl.daemon_out().display()
    ));
    line
}

/// A datagram socket the daemon reports readiness to, removed on drop.
struct ReadySocket {
    socket: UnixDatagram,
    name: String,
    path: Option<std::path::PathBuf>,
}

impl ReadySocket {
    fn bind() -> std::io::Result<ReadySocket> {
        let nanos = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.subsec_nanos())
            .unwrap_or(0);
        let unique = format!("zkserver-start-{}-{nanos}", std::process::id());
        #[cfg(target_os = "linux")]
        {
            use std::os::linux::net::SocketAddrExt;
            let addr = std::os::unix::net::SocketAddr::from_abstract_name(unique.as_bytes())?;
            let socket = UnixDatagram::bind_addr(&addr)?;
            Ok(ReadySocket {
                socket,
                name: format!("@{unique}"),
                path: None,
            })
        }
        #[cfg(not(target_os = "linux"))]
        {
            let path = std::env::temp_dir().join(format!("{unique}.sock"));
            let socket = UnixDatagram::bind(&path)?;
            Ok(ReadySocket {
                socket,
                name: path.display().to_string(),
                path: Some(path),
            })
        }
    }
}

impl Drop for ReadySocket {
    fn drop(&mut self) {
        if let Some(path) = &self.path {
            let _ = std::fs::remove_file(path);
        }
    }
}

/// `zkserver start`.
pub fn start(ctl: &Ctl) -> u8 {
    print_flush("Starting zookeeper ... ");
    let failed = |why: String| {
        println!("FAILED TO START");
        eprintln!("zkserver: {why}");
        1
    };
    // Refuse a configuration the daemon would refuse, with its reason, now.
    if let Err(e) = ctl.load_config() {
        return failed(e.to_string());
    }
    let pid_path = match ctl.pid_file() {
        Ok(p) => p,
        Err(e) => return failed(e),
    };
    match pid_file::running(&pid_path) {
        Ok(Some(pid)) => {
            println!("already running as process {pid}.");
            return 1;
        }
        Ok(None) => {}
        Err(e) => return failed(format!("cannot read {}: {e}", pid_path.display())),
    }
    if let Err(e) = std::fs::create_dir_all(&ctl.log_dir) {
        return failed(format!("cannot create {}: {e}", ctl.log_dir.display()));
    }
    let out_path = ctl.daemon_out();
    let out = match std::fs::File::create(&out_path) {
        Ok(f) => f,
        Err(e) => return failed(format!("cannot create {}: {e}", out_path.display())),
    };
    let err = match out.try_clone() {
        Ok(f) => f,
        Err(e) => return failed(format!("{}: {e}", out_path.display())),
    };
    let ready = match ReadySocket::bind() {
        Ok(r) => r,
        Err(e) => return failed(format!("cannot open a socket to hear the server: {e}")),
    };
    let mut command = Command::new(&ctl.exe);
    command
        .arg("start-foreground")
        .arg(&ctl.config_path)
        .envs(daemon_env())
        .env(crate::notify::NOTIFY_SOCKET, &ready.name)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        // Its own process group: a terminal's Ctrl-C or hangup for the
        // shell's foreground group does not reach the daemon.
        .process_group(0);
    let mut child = match command.spawn() {
        Ok(c) => c,
        Err(e) => {
            println!("SERVER DID NOT START");
            eprintln!("zkserver: cannot run {}: {e}", ctl.exe.display());
            return 1;
        }
    };
    let pid = child.id();
    if let Err(e) = pid_file::write(&pid_path, pid) {
        println!("FAILED TO WRITE PID");
        eprintln!("zkserver: {}: {e}", pid_path.display());
        let _ = pid_file::terminate(pid as i32);
        let _ = child.wait();
        return 1;
    }
    let _ = ready.socket.set_read_timeout(Some(POLL));
    let deadline = Instant::now() + START_WAIT;
    let mut buf = [0u8; 512];
    loop {
        if let Ok(n) = ready.socket.recv(&mut buf) {
            let msg = String::from_utf8_lossy(&buf[..n]);
            if msg.lines().any(|l| l == "READY=1") {
                println!("STARTED");
                return 0;
            }
        }
        if let Ok(Some(status)) = child.try_wait() {
            println!("FAILED TO START");
            let _ = std::fs::remove_file(&pid_path);
            eprintln!(
                "zkserver: the server exited ({status}); the end of {}:",
                out_path.display()
            );
            eprint!("{}", tail(&out_path, OUT_TAIL_LINES));
            return 1;
        }
        if Instant::now() >= deadline {
            println!("FAILED TO START");
            eprintln!(
                "zkserver: not serving after {} s; process {pid} is still running \
                 (see {})",
                START_WAIT.as_secs(),
                out_path.display()
            );
            return 1;
        }
    }
}

/// The last `lines` lines of a file (empty if unreadable).
fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    let from = all.len().saturating_sub(lines);
    all[from..].iter().map(|l| format!("{l}\n")).collect()
}

/// `zkserver stop`.
pub fn stop(ctl: &Ctl) -> u8 {
    print_flush("Stopping zookeeper ... ");
    let pid_path = match ctl.pid_file() {
        Ok(p) => p,
        Err(e) => {
            println!("FAILED TO STOP");
            eprintln!("zkserver: {e}");
            return 1;
        }
    };
    let content = match pid_file::read(&pid_path) {
        Ok(c) => c,
        Err(e) => {
            println!("FAILED TO STOP");
            eprintln!("zkserver: cannot read {}: {e}", pid_path.display());
            return 1;
        }
    };
    let pid = match content {
        pid_file::Content::Missing => {
            println!(
                "no zookeeper to stop (could not find file {})",
                pid_path.display()
            );
            return 0;
        }
        // The script's `kill` fails on it, the file goes, exit 0.
        pid_file::Content::Garbage(text) => {
            eprintln!("zkserver: {}: not a pid: {text:?}", pid_path.display());
            let _ = std::fs::remove_file(&pid_path);
            println!("STOPPED");
            return 0;
        }
        pid_file::Content::Pid(pid) => pid,
    };
    match pid_file::terminate(pid) {
        Ok(true) => {}
        Ok(false) => eprintln!("zkserver: kill: ({pid}) - No such process"),
        Err(e) => {
            println!("FAILED TO STOP");
            eprintln!("zkserver: kill: ({pid}) - {e}");
            return 1;
        }
    }
    let deadline = Instant::now() + STOP_WAIT;
    while pid_file::is_alive(pid) {
        if Instant::now() >= deadline {
            println!("FAILED TO STOP");
            eprintln!(
                "zkserver: process {pid} still running {} s after SIGTERM; {} kept",
                STOP_WAIT.as_secs(),
                pid_path.display()
            );
            return 1;
        }
        std::thread::sleep(POLL);
    }
    if let Err(e) = std::fs::remove_file(&pid_path) {
        if e.kind() != std::io::ErrorKind::NotFound {
            eprintln!("zkserver: cannot remove {}: {e}", pid_path.display());
        }
    }
    println!("STOPPED");
    0
}
