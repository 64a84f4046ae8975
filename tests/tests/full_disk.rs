//! A real full disk under the real process: `dataLogDir` on a 2 MB tmpfs the
//! test mounts (as root; without the privilege the test says so and checks
//! nothing). Clients write until the disk fills. The server must stop
//! loudly — exit status 3, the reason in its log — rather than answer writes
//! it cannot keep; then, with the log files moved to a roomy directory, a
//! restarted server must hold every write that was acknowledged.
//!
//! The tmpfs is unmounted and every process started here is killed by pid,
//! also on panic. Loops are bounded in count and time.

use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;
use zk_client::{Acl, Client, CreateMode};
use zk_tests::servers::{self, OurProcess};

struct Mount(PathBuf);

impl Drop for Mount {
    fn drop(&mut self) {
        let _ = Command::new("umount").arg(&self.0).status();
    }
}

fn start(root: &Path, name: &str, log_dir: &Path) -> OurProcess {
    let cfg = format!(
        "tickTime=2000\ndataDir={}\ndataLogDir={}\n4lw.commands.whitelist=*\n\
         admin.enableServer=false\npreAllocSize=64\n",
        root.join("data").display(),
        log_dir.display()
    );
    OurProcess::start(root, name, &cfg, "warn")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_full_disk_stops_the_server_and_loses_no_acknowledged_write() {
    let root = servers::fresh_dir("full-disk");
    let small = root.join("small");
    std::fs::create_dir_all(&small).expect("dir");
    let mounted = Command::new("mount")
        .args(["-t", "tmpfs", "-o", "size=2m", "tmpfs"])
        .arg(&small)
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !mounted {
        eprintln!("cannot mount a tmpfs here (not root?): full-disk test not run");
        return;
    }
    let mount = Mount(small.clone());

    let mut server = start(&root, "small", &small);
    let cs = server.addr.to_string();
    let client = Client::connect(&cs, Duration::from_secs(30))
        .await
        .expect("connect");
    let mut acked: Vec<String> = Vec::new();
    let data = vec![b'd'; 4000];
    let open = Acl::open_unsafe();
    // 2 MB holds about 500 such txns; stop at the first failure.
    for i in 0..5_000 {
        let path = format!("/n{i}");
        let call = client.create(&path, Some(data.clone()), &open, CreateMode::Persistent);
        match tokio::time::timeout(Duration::from_secs(10), call).await {
            Ok(Ok(_)) => acked.push(path),
            _ => break,
        }
    }
    assert!(
        acked.len() > 100,
        "only {} writes before the failure",
        acked.len()
    );
    assert!(acked.len() < 5_000, "the disk never filled");

    // The server stops by itself, with status 3 and the reason logged.
    let status = server
        .wait_exit(Duration::from_secs(20))
        .expect("the server kept running on a full disk");
    assert_eq!(status.code(), Some(3), "exit status");
    let text = server.log_text();
    assert!(
        text.contains("the txn log failed") && text.contains("No space left"),
        "no reason logged:\n{text}"
    );

    // Move the log to a roomy directory; every acknowledged write is there.
    let roomy = root.join("roomy");
    std::fs::create_dir_all(roomy.join("version-2")).expect("dir");
    for e in std::fs::read_dir(small.join("version-2")).expect("read") {
        let e = e.expect("entry");
        std::fs::copy(e.path(), roomy.join("version-2").join(e.file_name())).expect("copy");
    }
    drop(mount);
    let server = start(&root, "roomy", &roomy);
    let cs = server.addr.to_string();
    let client = Client::connect(&cs, Duration::from_secs(30))
        .await
        .expect("connect");
    for path in &acked {
        let (got, _) = client
            .get_data(path, false)
            .await
            .unwrap_or_else(|e| panic!("{path}: {e}"));
        assert_eq!(got.as_deref(), Some(&data[..]), "{path}");
    }
    if std::env::var_os("ZK_KEEP_DIRS").is_none() {
        let _ = std::fs::remove_dir_all(&root);
    }
}
