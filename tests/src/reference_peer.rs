//! An Apache ZooKeeper 3.8.0 ensemble member (`QuorumPeerMain`) for the
//! ensemble tests: its `myid`, config and log4j file written into one
//! directory, the JVM started with the test's flags, and killed (by pid) on
//! drop. The tests that put our code next to real members share it.

use crate::servers;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, ExitStatus, Stdio};

/// The reference's class path (server, SLF4J binding, log4j).
pub fn reference_classpath() -> String {
    let jars = servers::reference_jar_dir();
    ["zookeeper.jar", "slf4j-log4j12.jar", "log4j-1.2.jar"]
        .map(|j| jars.join(j).display().to_string())
        .join(":")
}

/// Writes a log4j 1.2 configuration sending everything at INFO and above
/// to `log` (appended, so a restarted server keeps its earlier lines).
pub fn write_log4j(props: &Path, log: &Path) {
    std::fs::write(
        props,
        format!(
            "log4j.rootLogger=INFO, FILE\nlog4j.appender.FILE=org.apache.log4j.FileAppender\n\
             log4j.appender.FILE.File={}\nlog4j.appender.FILE.Append=true\n\
             log4j.appender.FILE.layout=org.apache.log4j.PatternLayout\n\
             log4j.appender.FILE.layout.ConversionPattern=%d{{ISO8601}} - %-5p [%t:%C{{1}}@%L] - %m%n\n",
            log.display()
        ),
    )
    .expect("write log4j.properties");
}

/// One running `QuorumPeerMain`.
pub struct ReferencePeer {
    child: Child,
    dir: PathBuf,
}

impl ReferencePeer {
    /// Starts a member in `dir`: `myid` = `sid` in `data_dir` (created),
    /// `dir/zoo.cfg` = `cfg`, the log in `dir/server.log`; `jvm_flags` come
    /// before the class path (e.g. `-Dzookeeper.snapshotSizeFactor=-1`).
    pub fn start(dir: &Path, sid: i64, data_dir: &Path, cfg: &str, jvm_flags: &[&str]) -> Self {
        std::fs::create_dir_all(data_dir).expect("data dir");
        std::fs::write(data_dir.join("myid"), format!("{sid}\n")).expect("myid");
        let cfg_path = dir.join("zoo.cfg");
        std::fs::write(&cfg_path, cfg).expect("zoo.cfg");
        let props = dir.join("log4j.properties");
        write_log4j(&props, &dir.join("server.log"));
        let child = Command::new("java")
            .args(["-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"])
            .args(jvm_flags)
            .arg(format!("-Dlog4j.configuration=file:{}", props.display()))
            .arg(format!("-Dzookeeper.log.dir={}", dir.display()))
            .args(["-cp", &reference_classpath()])
            .arg("org.apache.zookeeper.server.quorum.QuorumPeerMain")
            .arg(&cfg_path)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("server.out")).expect("server.out"))
            .spawn()
            .expect("start java");
        ReferencePeer {
            child,
            dir: dir.to_path_buf(),
        }
    }

    /// The whole log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("server.log")).unwrap_or_default()
    }

    /// The last `n` lines of the log.
    pub fn log_tail(&self, n: usize) -> String {
        let log = self.log();
        let lines: Vec<&str> = log.lines().collect();
        lines[lines.len().saturating_sub(n)..].join("\n")
    }

    /// The exit status, if the JVM has exited.
    pub fn exited(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }
}

impl Drop for ReferencePeer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
