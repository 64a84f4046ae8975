//! `Client::reconnect_with_watches`: after the connection is replaced, the
//! session is the same and the watches recorded in a `WatchSet` fire again
//! (re-armed with setWatches2), including a change made while disconnected.
//! Also: a connect string whose first host refuses falls through to the next.
//!
//! Method: our server on a free loopback port (killed by pid on drop); a
//! second client makes the changes.

mod common;

use common::{ServerKind, TestServer};
use jute::proto::event_type;
use std::time::Duration;
use tokio::sync::mpsc;
use zk_client::{Acl, Client, CreateMode, WatchKind, WatchSet, WatchedEvent};

const TIMEOUT: Duration = Duration::from_secs(10);

async fn next_node_event(rx: &mut mpsc::Receiver<WatchedEvent>) -> WatchedEvent {
    // Bounded: state changes are few; each wait has a deadline.
    for _ in 0..16 {
        let ev = tokio::time::timeout(TIMEOUT, rx.recv())
            .await
            .expect("no event in time")
            .expect("event channel closed");
        if !ev.is_state_change() {
            return ev;
        }
    }
    panic!("only state changes arrived");
}

#[tokio::test]
async fn watches_are_rearmed_on_a_new_connection() {
    let srv = TestServer::start_kind(ServerKind::Ours).expect("our server starts");
    let refused = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    // The first host refuses; the client must go on to the second.
    let cs = format!("127.0.0.1:{refused},{}", srv.connect_string());
    let zk = Client::connect(&cs, TIMEOUT).await.expect("connect");
    let mut events = zk.take_events().expect("events");
    let other = Client::connect(&srv.connect_string(), TIMEOUT)
        .await
        .expect("connect");
    let open = Acl::open_unsafe();
    zk.create("/w", b"0", &open, CreateMode::Persistent)
        .await
        .unwrap();

    let mut watches = WatchSet::new();
    zk.get_data("/w", true).await.unwrap();
    watches.add(WatchKind::Data, "/w");
    zk.exists("/later", true).await.unwrap();
    watches.add(WatchKind::Exist, "/later");
    zk.add_watch("/w", zk_client::add_watch_mode::PERSISTENT)
        .await
        .unwrap();
    watches.add(WatchKind::Persistent, "/w");

    let session = zk.session_id();
    zk.reconnect_with_watches(&watches).await.expect("resume");
    assert_eq!(zk.session_id(), session, "same session after reconnect");

    other.set_data("/w", b"1", -1).await.unwrap();
    let ev = next_node_event(&mut events).await;
    assert_eq!(
        (ev.event_type, ev.path.as_str()),
        (event_type::NODE_DATA_CHANGED, "/w")
    );
    // The data watch is consumed by its event; the persistent one stays.
    watches.on_event(&ev);
    assert!(!watches.contains(WatchKind::Data, "/w"));
    assert!(watches.contains(WatchKind::Persistent, "/w"));

    other
        .create("/later", b"", &open, CreateMode::Persistent)
        .await
        .unwrap();
    let ev = next_node_event(&mut events).await;
    assert_eq!(
        (ev.event_type, ev.path.as_str()),
        (event_type::NODE_CREATED, "/later")
    );
}
