//! The client against a scripted fake server: malformed input, reply
//! matching, pings, and handshake details. Needs no installed server.

use bytes::{BufMut, Bytes, BytesMut};
use jute::proto::*;
use jute::Record;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::mpsc;
use zk_client::*;

const WAIT: Duration = Duration::from_secs(5);

/// One accepted connection, past the handshake.
struct FakeConn {
    stream: TcpStream,
    connect: ConnectRequest,
    connect_len: usize,
}

impl FakeConn {
    async fn read_frame(&mut self) -> Option<Bytes> {
        let len = tokio::time::timeout(WAIT, self.stream.read_i32())
            .await
            .ok()?
            .ok()?;
        let mut buf = vec![0u8; len as usize];
        self.stream.read_exact(&mut buf).await.ok()?;
        Some(Bytes::from(buf))
    }

    async fn request(&mut self) -> (RequestHeader, Bytes) {
        let mut frame = self.read_frame().await.expect("a request");
        let header = RequestHeader::read(&mut frame).unwrap();
        (header, frame)
    }

    async fn send_raw(&mut self, bytes: &[u8]) {
        self.stream.write_all(bytes).await.unwrap();
    }

    async fn send_frame(&mut self, payload: &[u8]) {
        let mut buf = BytesMut::new();
        buf.put_i32(payload.len() as i32);
        buf.put_slice(payload);
        self.send_raw(&buf).await;
    }

    async fn reply(&mut self, xid: i32, zxid: i64, err: i32, body: &[u8]) {
        let mut buf = BytesMut::new();
        ReplyHeader { xid, zxid, err }.write(&mut buf);
        buf.put_slice(body);
        self.send_frame(&buf).await;
    }
}

/// A listener on a free port and the connect string naming it.
async fn listen() -> (TcpListener, String) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = format!("127.0.0.1:{}", l.local_addr().unwrap().port());
    (l, addr)
}

/// Accepts one connection and answers its handshake with `timeout_ms`.
async fn accept(l: &TcpListener, timeout_ms: i32) -> FakeConn {
    let (stream, _) = l.accept().await.unwrap();
    let mut conn = FakeConn {
        stream,
        connect: ConnectRequest::default(),
        connect_len: 0,
    };
    let mut frame = conn.read_frame().await.unwrap();
    conn.connect_len = frame.len();
    conn.connect = ConnectRequest::read(&mut frame).unwrap();
    let resp = ConnectResponse {
        protocol_version: 0,
        time_out: timeout_ms,
        session_id: if timeout_ms > 0 { 0x1234 } else { 0 },
        passwd: Some(Bytes::from(vec![if timeout_ms > 0 { 7 } else { 0 }; 16])),
        read_only: conn.connect.read_only.map(|_| false),
    };
    conn.send_frame(&jute::to_bytes(&resp)).await;
    conn
}

/// A connected client and the fake server's side of it.
async fn pair(timeout_ms: i32) -> (Client, FakeConn, mpsc::Receiver<WatchedEvent>) {
    let (l, addr) = listen().await;
    let (client, conn) = tokio::join!(
        Client::connect(&addr, Duration::from_secs(10)),
        accept(&l, timeout_ms)
    );
    let client = client.unwrap();
    let events = client.take_events().unwrap();
    (client, conn, events)
}

async fn next_state(rx: &mut mpsc::Receiver<WatchedEvent>) -> i32 {
    loop {
        let ev = tokio::time::timeout(WAIT, rx.recv())
            .await
            .expect("event in time")
            .expect("open");
        if ev.is_state_change() {
            return ev.state;
        }
    }
}

/// Sends one exists("/") and lets `serve` answer it; returns the call's result.
async fn exists_answered_by<F, Fut>(
    client: &Client,
    conn: FakeConn,
    serve: F,
) -> Result<Option<Stat>, ZkError>
where
    F: FnOnce(FakeConn, RequestHeader) -> Fut,
    Fut: std::future::Future<Output = FakeConn>,
{
    let server = async move {
        let mut conn = conn;
        let (h, _) = conn.request().await;
        serve(conn, h).await
    };
    let (result, _conn) = tokio::join!(client.exists("/", false), server);
    result
}

#[tokio::test]
async fn handshake_fields_and_session_info() {
    let (l, addr) = listen().await;
    let connect = Client::builder(&addr)
        .session_timeout(Duration::from_millis(12_345))
        .resume_session(0x55, vec![9u8; 16])
        .last_zxid_seen(0x77)
        .connect();
    let (client, conn) = tokio::join!(connect, accept(&l, 9000));
    let client = client.unwrap();
    assert_eq!(conn.connect_len, 45);
    assert_eq!(
        conn.connect,
        ConnectRequest {
            protocol_version: 0,
            last_zxid_seen: 0x77,
            time_out: 12_345,
            session_id: 0x55,
            passwd: Some(Bytes::from(vec![9u8; 16])),
            read_only: Some(false),
        }
    );
    assert_eq!(client.session_id(), 0x1234);
    assert_eq!(client.session_password(), Bytes::from(vec![7u8; 16]));
    assert_eq!(client.negotiated_timeout(), Duration::from_millis(9000));
    assert_eq!(client.last_zxid(), 0x77);

    // Without the trailing readOnly byte, and a new session's zero password.
    let connect = Client::builder(&addr).read_only(None).connect();
    let (client, conn) = tokio::join!(connect, accept(&l, 9000));
    client.unwrap();
    assert_eq!(conn.connect_len, 44);
    assert_eq!(conn.connect.session_id, 0);
    assert_eq!(conn.connect.passwd, Some(Bytes::from(vec![0u8; 16])));
    assert_eq!(conn.connect.read_only, None);
}

#[tokio::test]
async fn first_reachable_host_is_used() {
    let (l, addr) = listen().await;
    // Port 1 on loopback refuses at once.
    let cs = format!("127.0.0.1:1,{addr}");
    let (client, _conn) = tokio::join!(
        Client::connect(&cs, Duration::from_secs(5)),
        accept(&l, 9000)
    );
    assert_eq!(client.unwrap().session_id(), 0x1234);
    let all_down = Client::connect("127.0.0.1:1", Duration::from_secs(5)).await;
    assert!(
        matches!(all_down, Err(ZkError::ConnectFailed(_))),
        "{all_down:?}"
    );
    let bad = Client::connect("127.0.0.1:1/app/", Duration::from_secs(5)).await;
    assert!(
        matches!(bad, Err(ZkError::InvalidConnectString(_))),
        "{bad:?}"
    );
}

#[tokio::test]
async fn refused_resume_is_session_expired() {
    let (l, addr) = listen().await;
    let (tx, mut rx) = mpsc::channel(4);
    let connect = Client::builder(&addr)
        .resume_session(5, vec![1u8; 16])
        .event_sender(tx)
        .connect();
    let (client, _conn) = tokio::join!(connect, accept(&l, 0));
    assert_eq!(client.unwrap_err(), ZkError::SessionExpired);
    assert_eq!(
        rx.recv().await,
        Some(WatchedEvent::state_change(keeper_state::EXPIRED))
    );
}

#[tokio::test]
async fn malformed_reply_header_closes_with_connection_loss() {
    let (client, conn, mut events) = pair(10_000).await;
    let result = exists_answered_by(&client, conn, |mut c, _| async move {
        c.send_frame(&[1, 2, 3]).await;
        c
    })
    .await;
    assert_eq!(result, Err(ZkError::ConnectionLoss));
    assert_eq!(next_state(&mut events).await, keeper_state::SYNC_CONNECTED);
    assert_eq!(next_state(&mut events).await, keeper_state::DISCONNECTED);
    assert!(!client.is_connected());
    assert_eq!(
        client.get_children("/", false).await,
        Err(ZkError::ConnectionLoss)
    );
}

#[tokio::test]
async fn oversized_or_negative_frames_close_the_connection() {
    for bad_len in [i32::MAX, -5] {
        let (client, conn, _events) = pair(10_000).await;
        let result = exists_answered_by(&client, conn, |mut c, _| async move {
            c.send_raw(&bad_len.to_be_bytes()).await;
            c
        })
        .await;
        assert_eq!(result, Err(ZkError::ConnectionLoss), "length {bad_len}");
    }
}

#[tokio::test]
async fn malformed_body_closes_with_connection_loss() {
    let (client, conn, _events) = pair(10_000).await;
    let result = exists_answered_by(&client, conn, |mut c, h| async move {
        // A Stat is 68 bytes; send 3.
        c.reply(h.xid, 1, 0, &[0, 0, 0]).await;
        c
    })
    .await;
    assert_eq!(result, Err(ZkError::ConnectionLoss));
    assert!(!client.is_connected());
}

#[tokio::test]
async fn bad_notification_closes_with_connection_loss() {
    let (client, conn, _events) = pair(10_000).await;
    let result = exists_answered_by(&client, conn, |mut c, _| async move {
        c.reply(-1, -1, 0, &[0, 0, 0, 3, 0, 0, 0, 3, 0, 0, 0, 9, b'/'])
            .await;
        c
    })
    .await;
    assert_eq!(result, Err(ZkError::ConnectionLoss));
}

#[tokio::test]
async fn out_of_order_reply_closes_with_connection_loss() {
    let (client, mut conn, _events) = pair(10_000).await;
    let server = async move {
        let (h1, _) = conn.request().await;
        let (h2, _) = conn.request().await;
        assert_eq!((h1.xid, h2.xid), (1, 2));
        conn.reply(h2.xid, 1, ErrorCode::NoNode.code(), &[]).await;
        conn
    };
    let (a, b, _conn) = tokio::join!(
        client.exists("/a", false),
        client.exists("/b", false),
        server
    );
    assert_eq!(
        (a, b),
        (Err(ZkError::ConnectionLoss), Err(ZkError::ConnectionLoss))
    );
}

#[tokio::test]
async fn auth_reply_may_overtake_ordinary_replies() {
    let (client, mut conn, _events) = pair(10_000).await;
    let server = async move {
        let (h1, _) = conn.request().await;
        let (h2, mut body) = conn.request().await;
        assert_eq!((h1.xid, h1.type_), (1, OpCode::Exists.code()));
        assert_eq!((h2.xid, h2.type_), (-4, OpCode::Auth.code()));
        let auth = AuthPacket::read(&mut body).unwrap();
        assert_eq!(
            (auth.scheme.as_str(), auth.auth.as_deref()),
            ("digest", Some(&b"u:p"[..]))
        );
        conn.reply(-4, 0, 0, &[]).await;
        conn.reply(1, 50, ErrorCode::NoNode.code(), &[]).await;
        conn
    };
    let (e, a, _conn) = tokio::join!(
        client.exists("/x", false),
        client.add_auth("digest", b"u:p"),
        server
    );
    assert_eq!((e, a), (Ok(None), Ok(())));
    assert_eq!(client.last_zxid(), 50);
}

#[tokio::test]
async fn notification_is_delivered_before_the_following_reply_with_chroot_stripped() {
    let (l, addr) = listen().await;
    let chrooted = format!("{addr}/app");
    let (client, mut conn) = tokio::join!(
        Client::connect(&chrooted, Duration::from_secs(10)),
        accept(&l, 10_000)
    );
    let client = client.unwrap();
    let mut events = client.take_events().unwrap();
    let server = async move {
        let (h, mut body) = conn.request().await;
        assert_eq!(GetDataRequest::read(&mut body).unwrap().path, "/app/x");
        let ev = WatcherEvent {
            type_: event_type::NODE_DELETED,
            state: 3,
            path: "/app/x".into(),
        };
        conn.reply(-1, -1, 0, &jute::to_bytes(&ev)).await;
        let resp = GetDataResponse {
            data: None,
            stat: Stat::default(),
        };
        conn.reply(h.xid, 9, 0, &jute::to_bytes(&resp)).await;
        conn
    };
    let (result, _conn) = tokio::join!(client.get_data("/x", true), server);
    assert_eq!(result, Ok((None, Stat::default())));
    assert_eq!(
        events.try_recv().unwrap().state,
        keeper_state::SYNC_CONNECTED
    );
    let ev = events.try_recv().unwrap();
    assert_eq!(
        ev,
        WatchedEvent {
            event_type: event_type::NODE_DELETED,
            state: 3,
            path: "/x".into()
        }
    );
}

#[tokio::test]
async fn pings_flow_when_idle_and_do_not_move_last_zxid() {
    let (client, mut conn, _events) = pair(600).await;
    let server = async move {
        let mut pings = 0;
        let deadline = tokio::time::Instant::now() + Duration::from_millis(1000);
        while tokio::time::Instant::now() < deadline {
            let (h, _) = conn.request().await;
            assert_eq!((h.xid, h.type_), (-2, OpCode::Ping.code()));
            conn.reply(-2, 999, 0, &[]).await;
            pings += 1;
        }
        (pings, conn)
    };
    let (pings, _conn) = server.await;
    assert!(
        (3..=8).contains(&pings),
        "{pings} pings in 1s with a 600 ms timeout"
    );
    assert!(client.is_connected());
    assert_eq!(client.last_zxid(), 0);
}

#[tokio::test]
async fn silence_is_connection_loss() {
    let (client, _conn, mut events) = pair(600).await;
    assert_eq!(next_state(&mut events).await, keeper_state::SYNC_CONNECTED);
    // The fake never answers the pings; 2/3 of 600 ms later the client gives up.
    let state = tokio::time::timeout(Duration::from_secs(2), next_state(&mut events)).await;
    assert_eq!(state, Ok(keeper_state::DISCONNECTED));
    assert_eq!(
        client.exists("/", false).await,
        Err(ZkError::ConnectionLoss)
    );
}

#[tokio::test]
async fn close_waits_for_the_reply_and_reports_closed() {
    let (client, mut conn, mut events) = pair(10_000).await;
    let server = async move {
        let (h, body) = conn.request().await;
        assert_eq!((h.type_, body.len()), (OpCode::CloseSession.code(), 0));
        conn.reply(h.xid, 3, 0, &[]).await;
        drop(conn);
    };
    let (result, ()) = tokio::join!(client.close(), server);
    assert_eq!(result, Ok(()));
    assert_eq!(next_state(&mut events).await, keeper_state::SYNC_CONNECTED);
    assert_eq!(next_state(&mut events).await, keeper_state::CLOSED);
    assert_eq!(client.exists("/", false).await, Err(ZkError::Closed));
    assert_eq!(client.reconnect().await, Err(ZkError::Closed));
}

#[tokio::test]
async fn raw_requests_choose_xids_by_opcode() {
    let (client, mut conn, _events) = pair(10_000).await;
    let server = async move {
        for expected in [(1, 4), (-8, 101), (-8, 105), (-2, 11), (77, 4), (2, 3)] {
            let (h, _) = conn.request().await;
            assert_eq!((h.xid, h.type_), expected);
            conn.reply(h.xid, 0, -101, b"").await;
        }
        conn
    };
    let calls = async {
        let mut out = Vec::new();
        for (xid, op) in [
            (None, 4),
            (None, 101),
            (None, 105),
            (None, 11),
            (Some(77), 4),
            (None, 3),
        ] {
            let r = match xid {
                None => client.request_raw(op, Bytes::new()).await,
                Some(x) => client.request_raw_with_xid(x, op, Bytes::new()).await,
            };
            out.push(r.unwrap().0);
        }
        out
    };
    let (headers, _conn) = tokio::join!(calls, server);
    assert!(headers.iter().all(|h| h.err == -101));
    assert!(client
        .request_raw_with_xid(-1, 4, Bytes::new())
        .await
        .is_err());
}

#[tokio::test]
async fn a_full_event_channel_drops_events_instead_of_stalling_replies() {
    let (l, addr) = listen().await;
    let connect = Client::builder(&addr).event_capacity(1).connect();
    let (client, mut conn) = tokio::join!(connect, accept(&l, 10_000));
    let client = client.unwrap();
    let server = async move {
        let (h, _) = conn.request().await;
        let ev = WatcherEvent {
            type_: 1,
            state: 3,
            path: "/n".into(),
        };
        for _ in 0..5 {
            conn.reply(-1, -1, 0, &jute::to_bytes(&ev)).await;
        }
        conn.reply(h.xid, 1, ErrorCode::NoNode.code(), &[]).await;
        conn
    };
    let (result, _conn) = tokio::join!(client.exists("/n", true), server);
    assert_eq!(result, Ok(None));
    // The SyncConnected event filled the channel; all five notifications were dropped.
    assert_eq!(client.dropped_events(), 5);
}
