//! A write's watch notifications leave before its reply, across sessions,
//! as ZooKeeper sends them (`FinalRequestProcessor` triggers the watches,
//! which queue the notifications, before it answers the write).
//!
//! - `notifications_leave_before_the_writes_reply`: our server on one
//!   runtime worker (`TOKIO_WORKER_THREADS=1`, what a 2-core machine gets),
//!   three watcher sessions and a writer, each on its own loopback socket.
//!   Every round the watchers arm a data watch on `/n` and the writer sets
//!   `/n`; once the writer has read its reply, every watcher's notification
//!   must already be in that watcher's socket (a non-blocking read finds the
//!   whole frame). Loopback delivers a send into the peer's socket within
//!   the send call, so a server that wrote the reply first fails this.
//!
//! The server is started by the test on 127.0.0.1 and killed by pid.

use bytes::{Buf, BufMut, Bytes, BytesMut};
use jute::proto::{
    ConnectResponse, CreateRequest, GetDataRequest, ReplyHeader, RequestHeader, SetDataRequest,
    WatcherEvent,
};
use jute::{OpCode, Record};
use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;
use zk_tests::raw_client::RawClient;
use zk_tests::servers::{fresh_dir, OurProcess};

const WATCHERS: usize = 3;
const ROUNDS: usize = 200;
/// `WatchedEvent` type of a data change.
const NODE_DATA_CHANGED: i32 = 3;

fn send_frame(s: &mut TcpStream, payload: &[u8]) {
    let mut b = BytesMut::with_capacity(4 + payload.len());
    b.put_i32(payload.len() as i32);
    b.put_slice(payload);
    s.write_all(&b).expect("send");
}

/// Reads one whole frame, blocking.
fn read_frame(s: &mut TcpStream) -> Bytes {
    let mut len = [0u8; 4];
    s.read_exact(&mut len).expect("frame length");
    let mut body = vec![0u8; i32::from_be_bytes(len) as usize];
    s.read_exact(&mut body).expect("frame body");
    Bytes::from(body)
}

fn connect(addr: SocketAddr) -> TcpStream {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_nodelay(true).expect("nodelay");
    s.set_read_timeout(Some(Duration::from_secs(10)))
        .expect("timeout");
    send_frame(
        &mut s,
        &jute::to_bytes(&RawClient::new_session_request(30_000, None)),
    );
    let mut f = read_frame(&mut s);
    let r = ConnectResponse::read(&mut f).expect("ConnectResponse");
    assert!(r.session_id != 0, "no session");
    s
}

/// Sends one request and reads its reply (no other frame may come first).
fn call<R: Record>(s: &mut TcpStream, xid: i32, op: OpCode, req: &R) {
    let mut b = BytesMut::new();
    RequestHeader {
        xid,
        type_: op.code(),
    }
    .write(&mut b);
    req.write(&mut b);
    send_frame(s, &b);
    let mut f = read_frame(s);
    let h = ReplyHeader::read(&mut f).expect("reply header");
    assert_eq!((h.xid, h.err), (xid, 0), "{op:?} reply");
}

/// The notification already in `s`, read without waiting for more bytes.
fn notification_already_here(s: &mut TcpStream, round: usize, watcher: usize) -> WatcherEvent {
    s.set_nonblocking(true).expect("nonblocking");
    let mut buf = vec![0u8; 4096];
    let n = match s.read(&mut buf) {
        Ok(n) => n,
        Err(e) if e.kind() == ErrorKind::WouldBlock => 0,
        Err(e) => panic!("round {round}, watcher {watcher}: {e}"),
    };
    s.set_nonblocking(false).expect("blocking");
    assert!(
        n >= 4,
        "round {round}: watcher {watcher} had nothing yet when the write's reply arrived"
    );
    let mut f = Bytes::copy_from_slice(&buf[..n]);
    let len = f.get_i32() as usize;
    assert_eq!(f.len(), len, "round {round}: exactly one whole frame");
    let h = ReplyHeader::read(&mut f).expect("header");
    assert_eq!(h.xid, -1, "round {round}: a notification");
    WatcherEvent::read(&mut f).expect("event")
}

#[test]
fn notifications_leave_before_the_writes_reply() {
    let dir = fresh_dir("notify-order");
    let cfg = format!(
        "tickTime=2000\ndataDir={}\n4lw.commands.whitelist=*",
        dir.join("data").display()
    );
    let server =
        OurProcess::start_with_env(&dir, "zk", &cfg, "warn", &[("TOKIO_WORKER_THREADS", "1")]);
    let mut writer = connect(server.addr);
    let mut watchers: Vec<TcpStream> = (0..WATCHERS).map(|_| connect(server.addr)).collect();
    let create = CreateRequest {
        path: "/n".into(),
        data: Some(Bytes::from_static(b"0")),
        acl: jute::data::Acl::open_unsafe(),
        flags: 0,
    };
    call(&mut writer, 1, OpCode::Create, &create);
    for round in 0..ROUNDS {
        let xid = round as i32 + 2;
        for w in &mut watchers {
            let arm = GetDataRequest {
                path: "/n".into(),
                watch: true,
            };
            call(w, xid, OpCode::GetData, &arm);
        }
        let set = SetDataRequest {
            path: "/n".into(),
            data: Some(Bytes::from(round.to_string())),
            version: -1,
        };
        call(&mut writer, xid, OpCode::SetData, &set);
        for (i, w) in watchers.iter_mut().enumerate() {
            let ev = notification_already_here(w, round, i);
            assert_eq!(
                (ev.type_, ev.path.as_str()),
                (NODE_DATA_CHANGED, "/n"),
                "round {round}, watcher {i}"
            );
        }
    }
    drop(server);
    let _ = std::fs::remove_dir_all(&dir);
}
