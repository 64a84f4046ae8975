//! Layouts checked against text captured from Apache ZooKeeper 3.8.0
//! (standalone, `4lw.commands.whitelist=*`), with only values substituted.

use super::*;
use std::path::PathBuf;

/// The reference's version string, replaced by ours before comparing.
const REF_VERSION: &str = "3.8.0-${mvngit.commit.id}, built on 2024-12-29 17:54 UTC";

fn ours(reference: &str) -> String {
    reference.replace(REF_VERSION, &full_version())
}

fn idle_figures() -> Figures {
    Figures {
        stats: ServerStats {
            znode_count: 5,
            packets_received: 2,
            packets_sent: 1,
            ..Default::default()
        },
        live_connections: 1,
        ..Default::default()
    }
}

#[test]
fn words_are_recognised_exactly() {
    assert_eq!(word_of(*b"ruok"), Some(Word::Command("ruok")));
    assert_eq!(word_of(*b"stmk"), Some(Word::Command("stmk")));
    assert_eq!(word_of(*b"RUOK"), None);
    assert_eq!(word_of(*b"abcd"), None);
    assert_eq!(word_of([0, 0, 0, 44]), None);
    assert_eq!(word_of([0xff, 0xf4, 0xff, 0xfd]), Some(Word::TelnetClose));
    for w in crate::config::FOUR_LETTER_WORDS {
        assert_eq!(
            word_of(w.as_bytes().try_into().unwrap()),
            Some(Word::Command(w))
        );
    }
}

#[test]
fn whitelist_refusal() {
    assert_eq!(
        not_whitelisted("ruok"),
        "ruok is not executed because it is not in the whitelist.\n"
    );
}

#[test]
fn version_starts_with_3_8_0() {
    assert!(full_version().starts_with("3.8.0-zkserver-"));
    assert!(full_version().contains(", built on "));
}

#[test]
fn srvr_matches_reference() {
    let reference = "Zookeeper version: 3.8.0-${mvngit.commit.id}, built on 2024-12-29 17:54 UTC\n\
                     Latency min/avg/max: 0/0.0/0\nReceived: 2\nSent: 1\nConnections: 1\n\
                     Outstanding: 0\nZxid: 0x0\nMode: standalone\nNode count: 5\n";
    assert_eq!(srvr_text(&idle_figures(), false), ours(reference));
}

fn busy_figures() -> Figures {
    let conn = ConnInfo {
        peer: "127.0.0.1:36654".into(),
        session_id: 0x1000004caf70000,
        timeout_ms: 30000,
        packets_received: 2,
        packets_sent: 2,
        last_zxid: 1,
        outstanding_requests: 0,
    };
    Figures {
        stats: ServerStats {
            znode_count: 5,
            packets_received: 4,
            packets_sent: 4,
            min_latency_ms: 7,
            avg_latency_ms: 7.5,
            max_latency_ms: 8,
            last_zxid: 1,
            connections: vec![conn],
            ..Default::default()
        },
        live_connections: 2,
        self_line: " /127.0.0.1:36672[0](queued=0,recved=1,sent=0)".into(),
        ..Default::default()
    }
}

#[test]
fn stat_matches_reference() {
    let reference = "Zookeeper version: 3.8.0-${mvngit.commit.id}, built on 2024-12-29 17:54 UTC\n\
                     Clients:\n /127.0.0.1:36654[1](queued=0,recved=2,sent=2)\n \
                     /127.0.0.1:36672[0](queued=0,recved=1,sent=0)\n\n\
                     Latency min/avg/max: 7/7.5/8\nReceived: 4\nSent: 4\nConnections: 2\n\
                     Outstanding: 0\nZxid: 0x1\nMode: standalone\nNode count: 5\n";
    assert_eq!(srvr_text(&busy_figures(), true), ours(reference));
}

#[test]
fn cons_matches_reference_shape() {
    // Per-connection figures the core does not report yet (lop, est, lcxid,
    // lresp, latencies) print as neutral values; the layout is the same.
    let reference = " /127.0.0.1:36654[1](queued=0,recved=2,sent=2,sid=0x1000004caf70000,\
                     lop=NA,est=0,to=30000,lcxid=0x0,lzxid=0x1,lresp=0,llat=0,minlat=0,\
                     avglat=0,maxlat=0)\n \
                     /127.0.0.1:36666[0](queued=0,recved=1,sent=0)\n\n";
    let mut f = busy_figures();
    f.self_line = " /127.0.0.1:36666[0](queued=0,recved=1,sent=0)".into();
    assert_eq!(cons_text(&f), reference);
    // A connection without a session uses the short form; ids print as Java's hex.
    f.stats.connections[0].session_id = 0;
    f.self_line.clear();
    assert_eq!(
        cons_text(&f),
        " /127.0.0.1:36654[1](queued=0,recved=2,sent=2)\n\n"
    );
}

#[test]
fn conf_matches_reference() {
    let reference = "clientPort=21981\nsecureClientPort=-1\ndataDir=/tmp/refzk/data/version-2\n\
                     dataDirSize=457\ndataLogDir=/tmp/refzk/data/version-2\ndataLogSize=457\n\
                     tickTime=2000\nmaxClientCnxns=60\nminSessionTimeout=4000\n\
                     maxSessionTimeout=40000\nclientPortListenBacklog=-1\nserverId=0\n";
    let mut c = Config::parse(
        "tickTime=2000\ndataDir=/tmp/refzk/data\nclientPort=0\n",
        "t",
    )
    .unwrap();
    assert_eq!(conf_text(&c, 21981, 457, 457), reference);
    c.data_log_dir = PathBuf::from("/tmp/log/");
    assert!(conf_text(&c, 1, 0, 0).contains("\ndataLogDir=/tmp/log/version-2\n"));
}

#[test]
fn dirs_matches_reference() {
    assert_eq!(dirs_text(457, 457), "datadir_size: 457\nlogdir_size: 457\n");
}

#[test]
fn envi_keys_in_reference_order() {
    let text = envi_text(&environment());
    let keys: Vec<&str> = text
        .lines()
        .skip(1)
        .map(|l| l.split('=').next().unwrap())
        .collect();
    assert_eq!(
        keys,
        [
            "zookeeper.version",
            "host.name",
            "java.version",
            "java.vendor",
            "java.home",
            "java.class.path",
            "java.library.path",
            "java.io.tmpdir",
            "java.compiler",
            "os.name",
            "os.arch",
            "os.version",
            "user.name",
            "user.home",
            "user.dir",
            "os.memory.free",
            "os.memory.max",
            "os.memory.total",
        ]
    );
    assert!(text.starts_with("Environment:\nzookeeper.version=3.8.0-zkserver-"));
    assert!(text.ends_with("MB\n"));
}

#[test]
fn mntr_layout() {
    let mut f = idle_figures();
    f.stats.watch_count = 3;
    f.uptime_ms = 5520;
    f.connections_rejected = 2;
    let text = mntr_text(&f);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 73 + 41 * 5 + 23 * 9);
    assert!(lines
        .iter()
        .all(|l| l.starts_with("zk_") && l.split('\t').count() == 2));
    let head = lines[..7].join("\n");
    let want = format!(
        "zk_version\t{}\nzk_server_state\tstandalone\nzk_ephemerals_count\t0\n\
         zk_num_alive_connections\t1\nzk_avg_latency\t0.0\nzk_outstanding_requests\t0\n\
         zk_znode_count\t5",
        full_version()
    );
    assert_eq!(head, want);
    for expected in [
        "zk_watch_count\t3",
        "zk_uptime\t5520",
        "zk_connection_rejected\t2",
        "zk_connection_drop_probability\t0.0",
        "zk_avg_fsynctime\t0.0",
        "zk_cnt_fsynctime\t0",
        "zk_p999_write_commitproc_time_ms\t0",
    ] {
        assert!(lines.contains(&expected), "missing {expected:?}");
    }
    assert_eq!(lines.last(), Some(&"zk_p999_write_commitproc_time_ms\t0"));
    // Response sizes come from the process-wide registry other tests feed.
    assert!(lines
        .iter()
        .any(|l| l.starts_with("zk_last_client_response_size\t")));
}

#[test]
fn java_doubles() {
    assert_eq!(java_double(0.0), "0.0");
    assert_eq!(java_double(7.5), "7.5");
    assert_eq!(java_double(46.0), "46.0");
    assert_eq!(java_double(f64::NAN), "NaN");
}

#[test]
fn srvr_reports_the_role() {
    let mut f = idle_figures();
    f.stats.role = crate::core::Role::Follower;
    assert!(srvr_text(&f, false).ends_with("Mode: follower\nNode count: 5\n"));
    // A 3.8.0 leader adds its proposal sizes after the node count.
    f.stats.role = crate::core::Role::Leader;
    assert!(srvr_text(&f, false)
        .ends_with("Mode: leader\nNode count: 5\nProposal sizes last/min/max: -1/-1/-1\n"));
}
