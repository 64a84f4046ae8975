//! Packaging (`deploy/`), tested without a container engine or a cluster:
//!
//! - `entrypoint`: `deploy/docker/docker-entrypoint.sh` run with bash in
//!   temporary directories under many `ZOO_*` combinations, with `cat` or
//!   `true` as the command; the generated `zoo.cfg` and `myid` are compared
//!   byte for byte. Then the generated standalone config is fed to our real
//!   server (and to Apache ZooKeeper 3.8.0 when installed), which must start
//!   and answer `ruok`.
//! - `dockerfile`: the Dockerfile's ENV, VOLUME, EXPOSE, ENTRYPOINT and CMD
//!   agree with the variables and defaults the entrypoint reads.
//! - `kubernetes`: the manifests of `deploy/kubernetes/kustomization.yaml`,
//!   parsed by PyYAML, hang together (selectors, ports, probes, ZOO_SERVERS,
//!   volumes) and, fed through the entrypoint, give each pod its own myid.
//! - `systemd`: the unit's settings, and `systemd-analyze verify` when the
//!   machine has it (skipped with a printed reason otherwise).
//!
//! Every directory is a fresh one under the temp dir, removed at the end;
//! every process started here is waited for or killed by pid.

#[path = "packaging/dockerfile.rs"]
mod dockerfile;
#[path = "packaging/entrypoint.rs"]
mod entrypoint;
#[path = "packaging/kubernetes.rs"]
mod kubernetes;
#[path = "packaging/systemd.rs"]
mod systemd;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

/// The repository root (the tests crate is one level down).
fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent")
        .to_path_buf()
}

/// A file under `deploy/`.
fn deploy(rel: &str) -> PathBuf {
    repo_root().join("deploy").join(rel)
}

fn read(path: &Path) -> String {
    std::fs::read_to_string(path).unwrap_or_else(|e| panic!("read {}: {e}", path.display()))
}

/// The `ZOO_*` directories of one entrypoint run, under a fresh temp dir
/// that is removed on drop.
struct ZooDirs {
    root: PathBuf,
    conf: PathBuf,
    data: PathBuf,
    datalog: PathBuf,
    logs: PathBuf,
}

impl ZooDirs {
    fn new(tag: &str) -> ZooDirs {
        let root = zk_tests::servers::fresh_dir(&format!("pkg-{tag}"));
        // fresh_dir makes root/data; the entrypoint must create the rest.
        std::fs::remove_dir_all(root.join("data")).expect("clean data dir");
        ZooDirs {
            conf: root.join("conf"),
            data: root.join("data"),
            datalog: root.join("datalog"),
            logs: root.join("logs"),
            root,
        }
    }

    fn zoo_cfg(&self) -> String {
        read(&self.conf.join("zoo.cfg"))
    }

    fn myid(&self) -> String {
        read(&self.data.join("myid"))
    }

    /// The entrypoint with `args` as its command, in a clean environment:
    /// PATH, HOSTNAME=zkhost (no ordinal), the four directories, then `env`.
    fn command(&self, env: &[(&str, &str)], args: &[&str]) -> Command {
        let mut cmd = Command::new("bash");
        cmd.arg(deploy("docker/docker-entrypoint.sh"))
            .args(args)
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOSTNAME", "zkhost")
            .env("ZOO_CONF_DIR", &self.conf)
            .env("ZOO_DATA_DIR", &self.data)
            .env("ZOO_DATA_LOG_DIR", &self.datalog)
            .env("ZOO_LOG_DIR", &self.logs)
            .current_dir(&self.root);
        for (k, v) in env {
            cmd.env(k, v);
        }
        cmd
    }

    /// Runs the entrypoint to completion.
    fn run(&self, env: &[(&str, &str)], args: &[&str]) -> Output {
        self.command(env, args).output().expect("run bash")
    }

    /// Runs it and expects success.
    fn run_ok(&self, env: &[(&str, &str)], args: &[&str]) -> Output {
        let out = self.run(env, args);
        assert!(
            out.status.success(),
            "entrypoint {args:?} with {env:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
        out
    }
}

impl Drop for ZooDirs {
    fn drop(&mut self) {
        if std::env::var_os("ZK_KEEP_DIRS").is_none() {
            let _ = std::fs::remove_dir_all(&self.root);
        }
    }
}

/// The head of every generated config for the given directories, with the
/// image's defaults, up to (not including) the server lines.
fn default_head(d: &ZooDirs) -> String {
    format!(
        "dataDir={}\ndataLogDir={}\ntickTime=2000\ninitLimit=5\nsyncLimit=2\n\
         autopurge.snapRetainCount=3\nautopurge.purgeInterval=0\nmaxClientCnxns=60\n\
         standaloneEnabled=true\nadmin.enableServer=true\n",
        d.data.display(),
        d.datalog.display()
    )
}
