//! The network layer end to end on 127.0.0.1, port 0: four-letter words
//! with a real runner, and the frame path against a scripted fake runner
//! (the `RunnerHandle` is just a queue, so a test can play the runner).

use bytes::Bytes;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::mpsc;
use zk_server::config::Config;
use zk_server::net::Listener;
use zk_server::runner::{self, ConnCommand, RunnerHandle, RunnerMsg};

const WAIT: Duration = Duration::from_secs(5);

fn config(extra: &str) -> Arc<Config> {
    let text = format!(
        "tickTime=200\ndataDir=/tmp/zk-net-test\nclientPort=0\nclientPortAddress=127.0.0.1\n{extra}"
    );
    Arc::new(Config::parse(&text, "test.cfg").expect("test config"))
}

async fn start(config: Arc<Config>, runner: RunnerHandle) -> SocketAddr {
    let listener = Listener::bind(config, runner).await.expect("bind");
    let addr = listener.local_addr().unwrap();
    tokio::spawn(listener.run());
    addr
}

/// A listener in front of the real runner and core.
async fn start_real(extra: &str) -> SocketAddr {
    let config = config(extra);
    let server = zk_server::core::Server::new(config.core_config(), runner::wall_clock_ms());
    let runner = runner::spawn(
        server,
        Duration::from_millis(config.runner_tick_ms()),
        runner::Durability::Memory,
    );
    start(config, runner).await
}

/// A listener whose runner is the returned queue.
async fn start_fake(extra: &str) -> (SocketAddr, mpsc::Receiver<RunnerMsg>) {
    let (tx, rx) = mpsc::channel(64);
    (start(config(extra), RunnerHandle { tx }).await, rx)
}

/// Sends `bytes` and reads until the server closes.
async fn exchange(addr: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(bytes).await.unwrap();
    read_to_close(&mut s).await
}

async fn read_to_close(s: &mut TcpStream) -> Vec<u8> {
    let mut out = Vec::new();
    let read = tokio::time::timeout(WAIT, async {
        let mut buf = [0u8; 4096];
        loop {
            match s.read(&mut buf).await {
                Ok(0) | Err(_) => break,
                Ok(n) => out.extend_from_slice(&buf[..n]),
            }
        }
    });
    read.await.expect("server did not close the connection");
    out
}

fn text(bytes: Vec<u8>) -> String {
    String::from_utf8(bytes).unwrap()
}

async fn next(rx: &mut mpsc::Receiver<RunnerMsg>) -> RunnerMsg {
    tokio::time::timeout(WAIT, rx.recv())
        .await
        .expect("runner message")
        .expect("queue open")
}

fn framed(payload: &[u8]) -> Vec<u8> {
    let mut out = (payload.len() as i32).to_be_bytes().to_vec();
    out.extend_from_slice(payload);
    out
}

#[tokio::test]
async fn four_letter_words_with_real_runner() {
    let addr = start_real("4lw.commands.whitelist=ruok, srvr, conf\n").await;
    assert_eq!(text(exchange(addr, b"ruok").await), "imok");
    // A trailing newline, as `echo ruok | nc` sends, is harmless.
    assert_eq!(text(exchange(addr, b"ruok\n").await), "imok");
    assert_eq!(
        text(exchange(addr, b"stat").await),
        "stat is not executed because it is not in the whitelist.\n"
    );
    let srvr = text(exchange(addr, b"srvr").await);
    let keys: Vec<&str> = srvr.lines().map(|l| l.split(':').next().unwrap()).collect();
    assert_eq!(
        keys,
        [
            "Zookeeper version",
            "Latency min/avg/max",
            "Received",
            "Sent",
            "Connections",
            "Outstanding",
            "Zxid",
            "Mode",
            "Node count"
        ]
    );
    assert!(
        srvr.starts_with("Zookeeper version: 3.8.0-zkserver-"),
        "{srvr}"
    );
    assert!(srvr.contains("\nConnections: 1\n"), "{srvr}");
    assert!(srvr.contains("\nZxid: 0x"), "{srvr}");
    assert!(srvr.contains("\nMode: standalone\nNode count: "), "{srvr}");
    assert!(srvr.ends_with('\n'));
    let conf = text(exchange(addr, b"conf").await);
    assert!(
        conf.starts_with(&format!(
            "clientPort={}\nsecureClientPort=-1\n",
            addr.port()
        )),
        "{conf}"
    );
}

#[tokio::test]
async fn oversized_frame_closes_only_that_connection() {
    let addr = start_real("4lw.commands.whitelist=*\njute.maxbuffer=1024\n").await;
    // A connection in the middle of its first frame: open, and the core has
    // nothing to judge it by.
    let mut idle = TcpStream::connect(addr).await.unwrap();
    idle.write_all(&framed(&[0u8; 45])[..20]).await.unwrap();
    assert_eq!(exchange(addr, &1025i32.to_be_bytes()).await, b"");
    assert_eq!(exchange(addr, &(-1i32).to_be_bytes()).await, b"");
    // The other connection is still open: nothing to read, no EOF.
    let mut buf = [0u8; 1];
    let pending = tokio::time::timeout(Duration::from_millis(200), idle.read(&mut buf)).await;
    assert!(
        pending.is_err(),
        "the idle connection was closed: {pending:?}"
    );
    assert_eq!(text(exchange(addr, b"ruok").await), "imok");
}

#[tokio::test]
async fn frames_flow_both_ways_and_close_flushes() {
    let (addr, mut rx) = start_fake("").await;
    let mut client = TcpStream::connect(addr).await.unwrap();
    let mut two = framed(b"hello");
    two.extend(framed(b""));
    two.extend(framed(b"abc"));
    client.write_all(&two).await.unwrap();

    let RunnerMsg::Open { conn, peer, out } = next(&mut rx).await else {
        panic!("expected Open")
    };
    assert_eq!(peer.to_string(), "127.0.0.1");
    for want in [&b"hello"[..], b"", b"abc"] {
        match next(&mut rx).await {
            RunnerMsg::Frame { conn: c, frame } => assert_eq!((c, &frame[..]), (conn, want)),
            other => panic!("expected Frame, got {other:?}"),
        }
    }
    for reply in [&b"one"[..], b"two", b"three"] {
        out.send(ConnCommand::Send(Bytes::from(framed(reply))))
            .await
            .unwrap();
    }
    out.send(ConnCommand::Close("test done".into()))
        .await
        .unwrap();
    let got = read_to_close(&mut client).await;
    let mut want = framed(b"one");
    want.extend(framed(b"two"));
    want.extend(framed(b"three"));
    assert_eq!(got, want);
    match next(&mut rx).await {
        RunnerMsg::Closed { conn: c } => assert_eq!(c, conn),
        other => panic!("expected Closed, got {other:?}"),
    }
}

#[tokio::test]
async fn every_connection_gets_a_fresh_id_and_closed_follows_eof() {
    let (addr, mut rx) = start_fake("").await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        let mut client = TcpStream::connect(addr).await.unwrap();
        client.write_all(&framed(b"hi")).await.unwrap();
        // Holding `_out` keeps the connection up: a dropped queue closes it.
        let RunnerMsg::Open {
            conn, out: _out, ..
        } = next(&mut rx).await
        else {
            panic!("expected Open")
        };
        assert!(matches!(next(&mut rx).await, RunnerMsg::Frame { conn: c, .. } if c == conn));
        drop(client);
        assert!(matches!(next(&mut rx).await, RunnerMsg::Closed { conn: c } if c == conn));
        ids.push(conn);
    }
    ids.dedup();
    assert_eq!(ids.len(), 3);
}

#[tokio::test]
async fn framing_error_sends_closed() {
    let (addr, mut rx) = start_fake("jute.maxbuffer=16\n").await;
    assert_eq!(exchange(addr, &framed(&[0u8; 17])).await, b"");
    let RunnerMsg::Open {
        conn, out: _out, ..
    } = next(&mut rx).await
    else {
        panic!("expected Open")
    };
    assert!(matches!(next(&mut rx).await, RunnerMsg::Closed { conn: c } if c == conn));
}

#[tokio::test]
async fn max_client_cnxns_per_ip() {
    let (addr, mut rx) = start_fake("maxClientCnxns=2\n").await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut c = TcpStream::connect(addr).await.unwrap();
        c.write_all(&framed(b"x")).await.unwrap();
        let RunnerMsg::Open { out, .. } = next(&mut rx).await else {
            panic!("expected Open")
        };
        assert!(matches!(next(&mut rx).await, RunnerMsg::Frame { .. }));
        held.push((c, out));
    }
    // The third is closed before anything is read.
    let mut third = TcpStream::connect(addr).await.unwrap();
    assert_eq!(read_to_close(&mut third).await, b"");
    // Closing one frees a slot.
    let (client, _out) = held.pop().unwrap();
    drop(client);
    assert!(matches!(next(&mut rx).await, RunnerMsg::Closed { .. }));
    let mut fourth = TcpStream::connect(addr).await.unwrap();
    fourth.write_all(&framed(b"y")).await.unwrap();
    assert!(matches!(next(&mut rx).await, RunnerMsg::Open { .. }));
}

#[tokio::test]
async fn dropped_queue_closes_the_connection() {
    // The runner drops a connection's queue when it overflows: the
    // connection must then close and report `Closed`.
    let (addr, mut rx) = start_fake("").await;
    let mut client = TcpStream::connect(addr).await.unwrap();
    client.write_all(&framed(b"x")).await.unwrap();
    let RunnerMsg::Open { conn, out, .. } = next(&mut rx).await else {
        panic!("expected Open")
    };
    drop(out);
    assert_eq!(read_to_close(&mut client).await, b"");
    loop {
        match next(&mut rx).await {
            RunnerMsg::Frame { .. } => continue,
            RunnerMsg::Closed { conn: c } => break assert_eq!(c, conn),
            other => panic!("unexpected {other:?}"),
        }
    }
}

#[tokio::test]
async fn state_words_go_to_the_runner() {
    let (addr, mut rx) = start_fake("4lw.commands.whitelist=*\n").await;
    let fake = tokio::spawn(async move {
        while let Some(msg) = rx.recv().await {
            if let RunnerMsg::Command { word, reply } = msg {
                let _ = reply.send(format!("core says {word}\n"));
            }
        }
    });
    for word in ["dump", "wchs", "wchc", "wchp", "crst", "srst"] {
        assert_eq!(
            text(exchange(addr, word.as_bytes()).await),
            format!("core says {word}\n")
        );
    }
    assert_eq!(text(exchange(addr, b"gtmk").await), "306");
    let mut stmk = b"stmk".to_vec();
    stmk.extend(255i64.to_be_bytes());
    assert_eq!(text(exchange(addr, &stmk).await), "255");
    assert_eq!(text(exchange(addr, b"gtmk").await), "255");
    assert_eq!(text(exchange(addr, b"isro").await), "rw");
    fake.abort();
}

/// With globalOutstandingLimit=2, a client that pipelines many requests is
/// throttled (reading pauses) but never stalled: every request is answered,
/// in order. The fake runner checks that no more than 2 unanswered requests
/// ever reach it.
#[tokio::test]
async fn outstanding_limit_throttles_reading_without_losing_requests() {
    let (addr, mut rx) = start_fake("globalOutstandingLimit=2\n").await;
    let mut client = TcpStream::connect(addr).await.unwrap();
    let mut burst = framed(&[0u8; 45]); // a connect request, as far as framing goes
    for xid in 1..=20i32 {
        let mut ping = xid.to_be_bytes().to_vec();
        ping.extend_from_slice(&11i32.to_be_bytes());
        burst.extend(framed(&ping));
    }
    client.write_all(&burst).await.unwrap();
    let RunnerMsg::Open { out, .. } = next(&mut rx).await else {
        panic!("expected Open")
    };
    let mut unanswered: Vec<Bytes> = Vec::new();
    let mut answered = 0;
    while answered < 21 {
        match tokio::time::timeout(Duration::from_millis(300), rx.recv()).await {
            Ok(Some(RunnerMsg::Frame { frame, .. })) => unanswered.push(frame),
            Ok(other) => panic!("unexpected {other:?}"),
            // Nothing more arrives until we answer: reading is paused.
            Err(_) => {
                assert!(!unanswered.is_empty(), "stalled with nothing outstanding");
                assert!(
                    unanswered.len() <= 2,
                    "more than the limit reached the runner"
                );
                for f in unanswered.drain(..) {
                    let xid = if answered == 0 {
                        0
                    } else {
                        i32::from_be_bytes([f[0], f[1], f[2], f[3]])
                    };
                    let mut reply = xid.to_be_bytes().to_vec();
                    reply.extend_from_slice(&[0u8; 12]);
                    out.send(ConnCommand::Send(Bytes::from(framed(&reply))))
                        .await
                        .unwrap();
                    answered += 1;
                }
            }
        }
        assert!(
            unanswered.len() <= 2,
            "more than the limit reached the runner"
        );
    }
    let mut got = vec![0u8; 21 * 20];
    tokio::time::timeout(WAIT, client.read_exact(&mut got))
        .await
        .unwrap()
        .unwrap();
    for i in 1..=20usize {
        let at = i * 20 + 4;
        assert_eq!(
            i32::from_be_bytes(got[at..at + 4].try_into().unwrap()),
            i as i32
        );
    }
}
