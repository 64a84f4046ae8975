//! `docker-entrypoint.sh`: exact `zoo.cfg` and `myid` for each `ZOO_*`
//! combination, then the generated config under real servers.

use super::{default_head, deploy, read, ZooDirs};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};
use zk_tests::servers;

#[test]
fn standalone_default_matches_the_official_image_plus_client_port() {
    let d = ZooDirs::new("default");
    let cfg = d.conf.join("zoo.cfg");
    let out = d.run_ok(&[], &["cat", cfg.to_str().unwrap()]);
    let want = format!(
        "{}server.1=localhost:2888:3888;2181\nclientPort=2181\n",
        default_head(&d)
    );
    assert_eq!(d.zoo_cfg(), want);
    // The command ran after the file was written, with its arguments.
    assert_eq!(String::from_utf8_lossy(&out.stdout), want);
    assert_eq!(d.myid(), "1\n");
    assert!(d.datalog.is_dir(), "dataLogDir created");
    // Nothing else (no temporary file) is left in the config directory.
    let names: Vec<_> = std::fs::read_dir(&d.conf)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names, ["zoo.cfg"]);
}

#[test]
fn three_servers_old_style_with_a_statefulset_host_name() {
    let d = ZooDirs::new("three");
    let servers = "server.1=zk-0.zk-hs:2888:3888 server.2=zk-1.zk-hs:2888:3888 \
                   server.3=zk-2.zk-hs:2888:3888";
    d.run_ok(&[("ZOO_SERVERS", servers), ("HOSTNAME", "zk-2")], &["true"]);
    // No `;port` on the own line: the client port falls back to 2181.
    let want = format!(
        "{}server.1=zk-0.zk-hs:2888:3888\nserver.2=zk-1.zk-hs:2888:3888\n\
         server.3=zk-2.zk-hs:2888:3888\nclientPort=2181\n",
        default_head(&d)
    );
    assert_eq!(d.zoo_cfg(), want);
    assert_eq!(d.myid(), "3\n", "zk-2 is the third server");
}

#[test]
fn four_servers_with_every_setting_and_an_observer() {
    let d = ZooDirs::new("four");
    let servers = "server.1=zk1:2888:3888;2181 server.2=zk2:2888:3888;2181 \
                   server.3=zk3:2888:3888;2181 server.4=zk4:2888:3888:observer;[::1]:2182";
    d.run_ok(
        &[
            ("ZOO_SERVERS", servers),
            ("ZOO_MY_ID", "4"),
            ("HOSTNAME", "zk-0"), // ZOO_MY_ID wins over the host name
            ("ZOO_TICK_TIME", "3000"),
            ("ZOO_INIT_LIMIT", "10"),
            ("ZOO_SYNC_LIMIT", "5"),
            ("ZOO_AUTOPURGE_PURGEINTERVAL", "24"),
            ("ZOO_AUTOPURGE_SNAPRETAINCOUNT", "5"),
            ("ZOO_MAX_CLIENT_CNXNS", "0"),
            ("ZOO_STANDALONE_ENABLED", "false"),
            ("ZOO_ADMINSERVER_ENABLED", "false"),
        ],
        &["true"],
    );
    let want = format!(
        "dataDir={}\ndataLogDir={}\ntickTime=3000\ninitLimit=10\nsyncLimit=5\n\
         autopurge.snapRetainCount=5\nautopurge.purgeInterval=24\nmaxClientCnxns=0\n\
         standaloneEnabled=false\nadmin.enableServer=false\n\
         server.1=zk1:2888:3888;2181\nserver.2=zk2:2888:3888;2181\n\
         server.3=zk3:2888:3888;2181\nserver.4=zk4:2888:3888:observer;[::1]:2182\n\
         clientPort=2182\nclientPortAddress=::1\n",
        d.data.display(),
        d.datalog.display()
    );
    assert_eq!(d.zoo_cfg(), want);
    assert_eq!(d.myid(), "4\n");
}

#[test]
fn cfg_extra_and_whitelist_come_last_and_are_not_globbed() {
    let d = ZooDirs::new("extra");
    // A file the unquoted expansion of the official script would glob to.
    std::fs::create_dir_all(&d.root).unwrap();
    std::fs::write(d.root.join("4lw.commands.whitelist=oops"), "").unwrap();
    d.run_ok(
        &[
            ("ZOO_4LW_COMMANDS_WHITELIST", "srvr,ruok,mntr"),
            (
                "ZOO_CFG_EXTRA",
                "metricsProvider.httpPort=7000  4lw.commands.whitelist=*\tclientPort=2999",
            ),
        ],
        &["true"],
    );
    let want = format!(
        "{}server.1=localhost:2888:3888;2181\nclientPort=2181\n\
         4lw.commands.whitelist=srvr,ruok,mntr\nmetricsProvider.httpPort=7000\n\
         4lw.commands.whitelist=*\nclientPort=2999\n",
        default_head(&d)
    );
    assert_eq!(d.zoo_cfg(), want);
}

#[test]
fn an_existing_zoo_cfg_and_myid_are_left_untouched() {
    let d = ZooDirs::new("existing");
    std::fs::create_dir_all(&d.conf).unwrap();
    std::fs::create_dir_all(&d.data).unwrap();
    let mine = "# operator's own\ntickTime=1000\ndataDir=/somewhere\nclientPort=1234\n";
    std::fs::write(d.conf.join("zoo.cfg"), mine).unwrap();
    std::fs::write(d.data.join("myid"), "7\n").unwrap();
    d.run_ok(
        &[
            ("ZOO_MY_ID", "2"),
            ("ZOO_TICK_TIME", "9999"),
            ("ZOO_SERVERS", "server.2=a:1:2;3"),
            ("ZOO_CFG_EXTRA", "x=y"),
        ],
        &["true"],
    );
    assert_eq!(d.zoo_cfg(), mine);
    assert_eq!(d.myid(), "7\n");
}

#[test]
fn an_existing_myid_chooses_the_client_port_of_a_new_config() {
    let d = ZooDirs::new("existing-myid");
    std::fs::create_dir_all(&d.data).unwrap();
    std::fs::write(d.data.join("myid"), "3\n").unwrap();
    d.run_ok(
        &[
            ("ZOO_MY_ID", "1"),
            (
                "ZOO_SERVERS",
                "server.1=a:2888:3888;2181 server.3=c:2888:3888;10.0.0.3:2183",
            ),
        ],
        &["true"],
    );
    let cfg = d.zoo_cfg();
    assert!(
        cfg.ends_with("clientPort=2183\nclientPortAddress=10.0.0.3\n"),
        "{cfg}"
    );
    assert_eq!(d.myid(), "3\n");
}

#[test]
fn myid_from_the_host_name_ordinal() {
    for (host, my_id, want) in [
        ("zk-0", None, "1"),
        ("zk-1", None, "2"),
        ("zookeeper-prod-10", None, "11"),
        ("zk-08", None, "9"), // a leading zero is not octal
        ("zk-2", Some("7"), "7"),
        ("zk-2", Some("010"), "10"), // decimal, as ZooKeeper's Long.parseLong reads it
        ("zkhost", None, "1"),
        ("web-app", None, "1"),
        ("zk-", None, "1"),
        ("", None, "1"),
    ] {
        let d = ZooDirs::new("ordinal");
        let mut env = vec![("HOSTNAME", host)];
        if let Some(id) = my_id {
            env.push(("ZOO_MY_ID", id));
        }
        d.run_ok(&env, &["true"]);
        assert_eq!(
            d.myid(),
            format!("{want}\n"),
            "HOSTNAME={host:?} ZOO_MY_ID={my_id:?}"
        );
    }
}

#[test]
fn a_bad_server_id_stops_before_writing_anything() {
    for bad in ["abc", "0", "00", "-1", "1.5", "2 3", "1234567890123456789"] {
        let d = ZooDirs::new("bad-id");
        let out = d.run(&[("ZOO_MY_ID", bad)], &["true"]);
        assert_eq!(out.status.code(), Some(1), "ZOO_MY_ID={bad:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains("not a positive integer"), "{err}");
        assert!(!d.conf.join("zoo.cfg").exists(), "no zoo.cfg for {bad:?}");
        assert!(!d.data.join("myid").exists(), "no myid for {bad:?}");
    }
}

#[test]
fn the_command_is_execed_with_its_exit_status() {
    let d = ZooDirs::new("exec");
    let out = d.run(&[], &["sh", "-c", "echo \"$0:$1\"; exit 7", "a b", "c"]);
    assert_eq!(out.status.code(), Some(7));
    assert_eq!(String::from_utf8_lossy(&out.stdout), "a b:c\n");
}

/// As root with the server as the command, the official script chowns the
/// data directories and re-execs itself as the `zookeeper` user. Here the
/// user is `nobody` (ZOO_USER) and `zkserver` a stub on PATH that reports
/// who it runs as.
#[test]
fn as_root_the_server_runs_as_zoo_user_on_owned_directories() {
    let is_root = Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| String::from_utf8_lossy(&o.stdout).trim() == "0");
    let nobody = Command::new("id").args(["-u", "nobody"]).output();
    let setpriv = Command::new("setpriv").arg("--version").output();
    let (true, Ok(nobody), Ok(_)) = (is_root, nobody, setpriv) else {
        println!("skipped: needs root, setpriv and a `nobody` user");
        return;
    };
    let nobody_uid: u32 = String::from_utf8_lossy(&nobody.stdout)
        .trim()
        .parse()
        .unwrap();
    let d = ZooDirs::new("drop");
    // The re-exec runs the script as nobody: use a copy nobody can read, and
    // a config directory it can write (the image's /conf is zookeeper's).
    let bin = d.root.join("bin");
    std::fs::create_dir_all(&bin).unwrap();
    std::fs::create_dir_all(&d.conf).unwrap();
    let script = bin.join("docker-entrypoint.sh");
    std::fs::copy(deploy("docker/docker-entrypoint.sh"), &script).unwrap();
    let stub = bin.join("zkserver");
    std::fs::write(&stub, "#!/bin/sh\necho \"uid=$(id -u) args=$*\"\n").unwrap();
    for (p, mode) in [
        (&bin, 0o755),
        (&script, 0o755),
        (&stub, 0o755),
        (&d.conf, 0o777),
    ] {
        std::fs::set_permissions(p, std::fs::Permissions::from_mode(mode)).unwrap();
    }
    let path = format!(
        "{}:{}",
        bin.display(),
        std::env::var("PATH").unwrap_or_default()
    );
    let out = Command::new("bash")
        .arg(&script)
        .args(["zkserver", "start-foreground"])
        .env_clear()
        .env("PATH", path)
        .env("HOSTNAME", "zkhost")
        .env("ZOO_USER", "nobody")
        .env("ZOO_CONF_DIR", &d.conf)
        .env("ZOO_DATA_DIR", &d.data)
        .env("ZOO_DATA_LOG_DIR", &d.datalog)
        .env("ZOO_LOG_DIR", &d.logs)
        .current_dir(&d.root)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert_eq!(
        String::from_utf8_lossy(&out.stdout),
        format!("uid={nobody_uid} args=start-foreground\n")
    );
    for dir in [&d.data, &d.datalog, &d.logs] {
        assert_eq!(
            std::fs::metadata(dir).unwrap().uid(),
            nobody_uid,
            "{}",
            dir.display()
        );
    }
    // Written after the drop, so owned by the server's user too.
    for file in [d.conf.join("zoo.cfg"), d.data.join("myid")] {
        assert_eq!(
            std::fs::metadata(&file).unwrap().uid(),
            nobody_uid,
            "{}",
            file.display()
        );
    }
}

/// The standalone config the entrypoint writes, on a test port on
/// 127.0.0.1, with `ruok` allowed and no admin server (it would take 8080).
fn generate_standalone(d: &ZooDirs, port: u16) {
    let servers = format!("server.1=localhost:2888:3888;127.0.0.1:{port}");
    d.run_ok(
        &[
            ("ZOO_SERVERS", &servers),
            ("ZOO_4LW_COMMANDS_WHITELIST", "ruok,srvr"),
            ("ZOO_ADMINSERVER_ENABLED", "false"),
        ],
        &["true"],
    );
    let cfg = d.zoo_cfg();
    assert!(
        cfg.contains(&format!("clientPort={port}\nclientPortAddress=127.0.0.1\n")),
        "{cfg}"
    );
}

/// Waits (bounded) for `ruok` → `imok` and a `srvr` mode; the reply of
/// `srvr`, or an error with the log.
fn wait_serving(
    child: &mut std::process::Child,
    port: u16,
    log: &std::path::Path,
) -> Result<String, String> {
    let addr = ([127, 0, 0, 1], port).into();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(format!("exited ({status}):\n{}", read(log)));
        }
        if servers::four_letter(addr, "ruok") == "imok" {
            let srvr = servers::four_letter(addr, "srvr");
            if srvr.contains("Mode:") {
                return Ok(srvr);
            }
        }
        if Instant::now() > deadline {
            return Err(format!("no imok on {port} after 60 s:\n{}", read(log)));
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The image's command, `zkserver start-foreground` (config from
/// $ZOOCFGDIR), through the entrypoint: the generated file is one our server
/// accepts. The binary is given by path, so no privilege drop happens.
#[test]
fn our_server_starts_on_the_generated_standalone_config() {
    let bin = servers::our_binary().expect("zkserver binary");
    let mut last = String::new();
    for _ in 0..3 {
        let d = ZooDirs::new("ours");
        let port = servers::free_port();
        generate_standalone(&d, port);
        let log = d.root.join("server.log");
        let out = std::fs::File::create(&log).unwrap();
        let mut cmd = d.command(
            &[("ZOOCFGDIR", d.conf.to_str().unwrap()), ("ZK_LOG", "warn")],
            &[bin.to_str().unwrap(), "start-foreground"],
        );
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("spawn entrypoint");
        let result = wait_serving(&mut child, port, &log);
        let _ = child.kill();
        let _ = child.wait();
        match result {
            Ok(srvr) => {
                assert!(srvr.contains("Mode: standalone"), "{srvr}");
                // The server used the generated data directory.
                assert!(d.data.join("version-2").is_dir(), "dataDir used");
                return;
            }
            // The port may have been taken between free_port and bind.
            Err(e) => last = e,
        }
    }
    panic!("our server did not serve on the generated config: {last}");
}

/// The same config under Apache ZooKeeper 3.8.0's QuorumPeerMain (what
/// zkServer.sh runs): the added clientPort agrees with the server line.
#[test]
fn the_reference_starts_on_the_generated_standalone_config() {
    if let Some(why) = servers::reference_missing() {
        println!("skipped: {why}");
        return;
    }
    let jars = servers::reference_jar_dir();
    let cp = ["zookeeper.jar", "slf4j-log4j12.jar", "log4j-1.2.jar"]
        .iter()
        .map(|j| jars.join(j).display().to_string())
        .collect::<Vec<_>>()
        .join(":");
    let mut last = String::new();
    for _ in 0..3 {
        let d = ZooDirs::new("ref");
        let port = servers::free_port();
        generate_standalone(&d, port);
        let log = d.root.join("server.log");
        let out = std::fs::File::create(&log).unwrap();
        let cfg = d.conf.join("zoo.cfg");
        let mut child = Command::new("java")
            .args(["-Xmx256m", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"])
            .arg("-cp")
            .arg(&cp)
            .arg("org.apache.zookeeper.server.quorum.QuorumPeerMain")
            .arg(&cfg)
            .current_dir(&d.root)
            .stdin(Stdio::null())
            .stdout(out.try_clone().unwrap())
            .stderr(out)
            .spawn()
            .expect("spawn java");
        let result = wait_serving(&mut child, port, &log);
        let _ = child.kill();
        let _ = child.wait();
        match result {
            Ok(srvr) => {
                assert!(srvr.contains("Mode: standalone"), "{srvr}");
                return;
            }
            Err(e) => last = e,
        }
    }
    panic!("the reference did not serve on the generated config: {last}");
}
