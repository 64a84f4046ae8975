//! The client against a real server: Apache ZooKeeper 3.8.0 by default, ours
//! with `ZK_TEST_SERVER=ours` (see `common/mod.rs`). Each test starts its own
//! server; tests skip when the reference is not installed.

mod common;

use bytes::Bytes;
use common::TestServer;
use jute::proto::{GetDataRequest, GetDataResponse, SetWatches};
use jute::Record;
use std::time::Duration;
use tokio::sync::mpsc;
use zk_client::*;

const TIMEOUT: Duration = Duration::from_secs(10);
const EVENT_WAIT: Duration = Duration::from_secs(10);

macro_rules! server_or_skip {
    () => {
        match TestServer::start() {
            Some(s) => s,
            None => return,
        }
    };
}

async fn connect(server: &TestServer) -> Client {
    Client::connect(&server.connect_string(), TIMEOUT)
        .await
        .expect("connect")
}

fn open() -> Vec<Acl> {
    Acl::open_unsafe()
}

/// The next znode event, skipping state changes.
async fn next_node_event(rx: &mut mpsc::Receiver<WatchedEvent>) -> WatchedEvent {
    loop {
        let ev = tokio::time::timeout(EVENT_WAIT, rx.recv())
            .await
            .expect("no event in time")
            .expect("event channel closed");
        if !ev.is_state_change() {
            return ev;
        }
    }
}

/// The next state change, skipping znode events.
async fn next_state(rx: &mut mpsc::Receiver<WatchedEvent>) -> i32 {
    loop {
        let ev = tokio::time::timeout(EVENT_WAIT, rx.recv())
            .await
            .expect("no event in time")
            .expect("event channel closed");
        if ev.is_state_change() {
            return ev.state;
        }
    }
}

fn node(event_type: i32, path: &str) -> WatchedEvent {
    WatchedEvent {
        event_type,
        state: keeper_state::SYNC_CONNECTED,
        path: path.into(),
    }
}

#[tokio::test]
async fn create_get_set_delete() {
    let server = server_or_skip!();
    let zk = connect(&server).await;
    assert!(zk.session_id() != 0);
    assert_eq!(zk.session_password().len(), PASSWORD_LEN);
    assert_eq!(zk.negotiated_timeout(), TIMEOUT);

    assert_eq!(
        zk.create("/crud", b"v1", &open(), CreateMode::Persistent)
            .await,
        Ok("/crud".into())
    );
    assert!(zk.last_zxid() > 0);
    let err = zk
        .create("/crud", b"v1", &open(), CreateMode::Persistent)
        .await
        .unwrap_err();
    assert_eq!(err, ZkError::Api(ErrorCode::NodeExists));

    let (data, stat) = zk.get_data("/crud", false).await.unwrap();
    assert_eq!(data.as_deref(), Some(&b"v1"[..]));
    assert_eq!(
        (stat.version, stat.data_length, stat.num_children),
        (0, 2, 0)
    );
    assert_eq!(stat.czxid, stat.mzxid);

    let stat = zk.set_data("/crud", "v2", 0).await.unwrap();
    assert_eq!(stat.version, 1);
    assert!(zk
        .set_data("/crud", "v3", 0)
        .await
        .unwrap_err()
        .is(ErrorCode::BadVersion));

    // Null and empty data stay distinct.
    zk.create("/crud/null", NO_DATA, &open(), CreateMode::Persistent)
        .await
        .unwrap();
    zk.create("/crud/empty", b"", &open(), CreateMode::Persistent)
        .await
        .unwrap();
    assert_eq!(zk.get_data("/crud/null", false).await.unwrap().0, None);
    assert_eq!(
        zk.get_data("/crud/empty", false).await.unwrap().0,
        Some(Bytes::new())
    );

    let (path, stat) = zk
        .create2("/crud/two", b"2", &open(), CreateMode::Persistent)
        .await
        .unwrap();
    assert_eq!(path, "/crud/two");
    assert_eq!(stat.data_length, 1);

    let mut children = zk.get_children("/crud", false).await.unwrap();
    children.sort();
    assert_eq!(children, ["empty", "null", "two"]);
    let (_, stat) = zk.get_children2("/crud", false).await.unwrap();
    assert_eq!(stat.num_children, 3);
    assert_eq!(zk.get_all_children_number("/crud").await, Ok(3));

    assert_eq!(zk.exists("/nope", false).await, Ok(None));
    assert!(zk.exists("/crud", false).await.unwrap().is_some());
    assert_eq!(zk.sync("/crud").await, Ok("/crud".into()));

    assert!(zk
        .delete("/crud", -1)
        .await
        .unwrap_err()
        .is(ErrorCode::NotEmpty));
    for c in ["null", "empty", "two"] {
        zk.delete(&format!("/crud/{c}"), -1).await.unwrap();
    }
    assert!(zk
        .delete("/crud", 0)
        .await
        .unwrap_err()
        .is(ErrorCode::BadVersion));
    zk.delete("/crud", 1).await.unwrap();
    assert!(zk
        .get_data("/crud", false)
        .await
        .unwrap_err()
        .is(ErrorCode::NoNode));
    assert!(zk
        .delete("/crud", -1)
        .await
        .unwrap_err()
        .is(ErrorCode::NoNode));
    zk.close().await.unwrap();
}

#[tokio::test]
async fn watches_fire_and_precede_the_next_reply() {
    let server = server_or_skip!();
    let a = connect(&server).await;
    let b = connect(&server).await;
    let mut events = a.take_events().unwrap();
    assert_eq!(next_state(&mut events).await, keeper_state::SYNC_CONNECTED);

    assert_eq!(a.exists("/w", true).await, Ok(None));
    b.create("/w", b"0", &open(), CreateMode::Persistent)
        .await
        .unwrap();
    assert_eq!(
        next_node_event(&mut events).await,
        node(event_type::NODE_CREATED, "/w")
    );

    a.get_data("/w", true).await.unwrap();
    b.set_data("/w", b"1", -1).await.unwrap();
    assert_eq!(
        next_node_event(&mut events).await,
        node(event_type::NODE_DATA_CHANGED, "/w")
    );

    a.get_children("/w", true).await.unwrap();
    b.create("/w/c", NO_DATA, &open(), CreateMode::Persistent)
        .await
        .unwrap();
    assert_eq!(
        next_node_event(&mut events).await,
        node(event_type::NODE_CHILDREN_CHANGED, "/w")
    );

    // Our own write: the notification is on the wire before the reply, so it
    // is already in the channel when the call returns.
    a.get_data("/w", true).await.unwrap();
    a.set_data("/w", b"2", -1).await.unwrap();
    assert_eq!(
        events.try_recv(),
        Ok(node(event_type::NODE_DATA_CHANGED, "/w"))
    );

    // Persistent recursive watch: fires for the subtree, repeatedly.
    a.add_watch("/w", add_watch_mode::PERSISTENT_RECURSIVE)
        .await
        .unwrap();
    b.set_data("/w/c", b"x", -1).await.unwrap();
    assert_eq!(
        next_node_event(&mut events).await,
        node(event_type::NODE_DATA_CHANGED, "/w/c")
    );
    b.set_data("/w/c", b"y", -1).await.unwrap();
    assert_eq!(
        next_node_event(&mut events).await,
        node(event_type::NODE_DATA_CHANGED, "/w/c")
    );

    // checkWatches / removeWatches on a data watch.
    a.get_data("/w/c", true).await.unwrap();
    a.check_watches("/w/c", watcher_type::DATA).await.unwrap();
    a.remove_watches("/w/c", watcher_type::DATA).await.unwrap();
    let err = a
        .check_watches("/w/c", watcher_type::DATA)
        .await
        .unwrap_err();
    assert!(err.is(ErrorCode::NoWatcher), "{err:?}");
    assert_eq!(a.dropped_events(), 0);
}

#[tokio::test]
async fn multi_with_a_failing_op_and_multi_read() {
    let server = server_or_skip!();
    let zk = connect(&server).await;
    zk.create("/m2", NO_DATA, &open(), CreateMode::Persistent)
        .await
        .unwrap();

    let results = zk
        .multi(vec![
            op::create("/m1", b"a", &open(), CreateMode::Persistent),
            op::create("/m2", b"b", &open(), CreateMode::Persistent),
            op::create("/m3", b"c", &open(), CreateMode::Persistent),
        ])
        .await
        .unwrap();
    assert_eq!(
        results,
        [
            OpResult::Error { err: 0 },
            OpResult::Error { err: -110 },
            OpResult::Error { err: -2 }
        ]
    );
    assert_eq!(op::first_error(&results), Some(-110));
    assert_eq!(zk.exists("/m1", false).await, Ok(None));

    let results = zk
        .multi(vec![
            op::create("/m1", b"a", &open(), CreateMode::Persistent),
            op::set_data("/m1", b"b", 0),
            op::check("/m1", 1),
            op::delete("/m2", -1),
        ])
        .await
        .unwrap();
    assert_eq!(results.len(), 4);
    assert_eq!(results[0], OpResult::Create { path: "/m1".into() });
    let OpResult::SetData { stat } = &results[1] else {
        panic!("{results:?}")
    };
    assert_eq!(stat.version, 1);
    assert_eq!(results[2..], [OpResult::Check, OpResult::Delete]);

    let results = zk
        .multi_read(vec![
            op::get_data("/m1"),
            op::get_children("/"),
            op::get_data("/nope"),
        ])
        .await
        .unwrap();
    let OpResult::GetData { data, .. } = &results[0] else {
        panic!("{results:?}")
    };
    assert_eq!(data.as_deref(), Some(&b"b"[..]));
    let OpResult::GetChildren { children } = &results[1] else {
        panic!("{results:?}")
    };
    assert!(children.contains(&"m1".to_string()));
    assert_eq!(
        results[2],
        OpResult::Error {
            err: ErrorCode::NoNode.code()
        }
    );
}

#[tokio::test]
async fn sequential_and_ephemeral_creates() {
    let server = server_or_skip!();
    let zk = connect(&server).await;
    zk.create("/seq", NO_DATA, &open(), CreateMode::Persistent)
        .await
        .unwrap();
    let mut made = Vec::new();
    for _ in 0..3 {
        made.push(
            zk.create("/seq/n-", b"", &open(), CreateMode::PersistentSequential)
                .await
                .unwrap(),
        );
    }
    assert_eq!(
        made,
        [
            "/seq/n-0000000000",
            "/seq/n-0000000001",
            "/seq/n-0000000002"
        ]
    );
    let eph = zk
        .create("/seq/e-", b"", &open(), CreateMode::EphemeralSequential)
        .await
        .unwrap();
    assert_eq!(eph, "/seq/e-0000000003");
    let stat = zk.exists(&eph, false).await.unwrap().unwrap();
    assert_eq!(stat.ephemeral_owner, zk.session_id());
    assert_eq!(zk.get_ephemerals("/seq").await, Ok(vec![eph.clone()]));
    let err = zk
        .create(
            &format!("{eph}/child"),
            b"",
            &open(),
            CreateMode::Persistent,
        )
        .await;
    assert!(err.unwrap_err().is(ErrorCode::NoChildrenForEphemerals));

    // The ephemeral goes with the session.
    zk.close().await.unwrap();
    let other = connect(&server).await;
    assert_eq!(other.exists(&eph, false).await, Ok(None));
    assert!(other
        .exists("/seq/n-0000000002", false)
        .await
        .unwrap()
        .is_some());
}

#[tokio::test]
async fn auth_and_no_auth() {
    let server = server_or_skip!();
    let alice = connect(&server).await;
    alice.add_auth("digest", b"alice:secret").await.unwrap();
    let acl = [digest_acl(jute::data::perms::ALL, "alice", "secret")];
    alice
        .create("/secure", b"s", &acl, CreateMode::Persistent)
        .await
        .unwrap();
    alice
        .create("/mine", b"m", &Acl::creator_all(), CreateMode::Persistent)
        .await
        .unwrap();
    assert!(alice.get_data("/secure", false).await.is_ok());
    let who = alice.whoami().await.unwrap();
    assert!(
        who.iter()
            .any(|c| c.auth_scheme == "digest" && c.user == "alice"),
        "{who:?}"
    );

    let (acl_back, _) = alice.get_acl("/mine").await.unwrap();
    assert_eq!(
        acl_back,
        [Acl::new(31, "digest", &digest_id("alice", "secret"))]
    );

    let bob = connect(&server).await;
    assert!(bob
        .get_data("/secure", false)
        .await
        .unwrap_err()
        .is(ErrorCode::NoAuth));
    assert!(bob
        .set_data("/mine", b"x", -1)
        .await
        .unwrap_err()
        .is(ErrorCode::NoAuth));
    assert!(
        bob.exists("/secure", false).await.unwrap().is_some(),
        "exists needs no permission"
    );
    bob.add_auth("digest", b"alice:secret").await.unwrap();
    assert!(bob.get_data("/secure", false).await.is_ok());

    // setACL then read back.
    let stat = alice
        .set_acl("/secure", &Acl::read_unsafe(), 0)
        .await
        .unwrap();
    assert_eq!(stat.aversion, 1);
    assert_eq!(
        alice.get_acl("/secure").await.unwrap().0,
        Acl::read_unsafe()
    );

    // An unknown scheme: AuthFailed, an AuthFailed event, then the server hangs up.
    let carol = connect(&server).await;
    let mut events = carol.take_events().unwrap();
    let err = carol.add_auth("nosuchscheme", b"x").await.unwrap_err();
    assert!(err.is(ErrorCode::AuthFailed), "{err:?}");
    assert_eq!(next_state(&mut events).await, keeper_state::SYNC_CONNECTED);
    assert_eq!(next_state(&mut events).await, keeper_state::AUTH_FAILED);
    assert_eq!(next_state(&mut events).await, keeper_state::DISCONNECTED);
    assert_eq!(carol.exists("/", false).await, Err(ZkError::ConnectionLoss));
    assert!(!carol.is_connected());
}

#[tokio::test]
async fn resume_session_on_a_second_connection() {
    let server = server_or_skip!();
    let first = connect(&server).await;
    let mut first_events = first.take_events().unwrap();
    first
        .create("/eph", b"", &open(), CreateMode::Ephemeral)
        .await
        .unwrap();

    let second = Client::builder(&server.connect_string())
        .session_timeout(TIMEOUT)
        .resume_session(first.session_id(), first.session_password())
        .last_zxid_seen(first.last_zxid())
        .connect()
        .await
        .unwrap();
    assert_eq!(second.session_id(), first.session_id());
    let stat = second.exists("/eph", false).await.unwrap().unwrap();
    assert_eq!(stat.ephemeral_owner, first.session_id());
    // The server drops the session's old connection.
    assert_eq!(
        next_state(&mut first_events).await,
        keeper_state::SYNC_CONNECTED
    );
    assert_eq!(
        next_state(&mut first_events).await,
        keeper_state::DISCONNECTED
    );
    assert_eq!(first.exists("/", false).await, Err(ZkError::ConnectionLoss));

    // Closing through the second connection ends the session.
    let (id, password) = (second.session_id(), second.session_password());
    second.close().await.unwrap();
    assert_eq!(second.exists("/", false).await, Err(ZkError::Closed));
    let third = connect(&server).await;
    assert_eq!(third.exists("/eph", false).await, Ok(None));

    // Resuming the closed session is refused: SessionExpired and an Expired event.
    let (tx, mut rx) = mpsc::channel(8);
    let refused = Client::builder(&server.connect_string())
        .resume_session(id, password)
        .event_sender(tx)
        .connect()
        .await;
    assert_eq!(refused.unwrap_err(), ZkError::SessionExpired);
    assert_eq!(
        rx.recv().await,
        Some(WatchedEvent::state_change(keeper_state::EXPIRED))
    );

    // So is a live session with the wrong password.
    let wrong = Client::builder(&server.connect_string())
        .resume_session(third.session_id(), vec![1u8; 16])
        .connect()
        .await;
    assert_eq!(wrong.unwrap_err(), ZkError::SessionExpired);
    // Apache 3.8.0 drops the session's current connection before checking the
    // password, but the session itself survives and can be resumed.
    let third_lost = third.exists("/", false).await;
    assert!(
        matches!(third_lost, Err(ZkError::ConnectionLoss) | Ok(Some(_))),
        "{third_lost:?}"
    );
    if third_lost.is_err() {
        third.reconnect().await.unwrap();
    }
    assert!(third.exists("/", false).await.unwrap().is_some());
}

#[tokio::test]
async fn reconnect_keeps_session_ephemerals_and_auth() {
    let server = server_or_skip!();
    let zk = connect(&server).await;
    let mut events = zk.take_events().unwrap();
    zk.add_auth("digest", b"dave:pw").await.unwrap();
    zk.create("/dave", b"d", &Acl::creator_all(), CreateMode::Ephemeral)
        .await
        .unwrap();
    zk.create("/sw", b"0", &open(), CreateMode::Persistent)
        .await
        .unwrap();
    let id = zk.session_id();

    zk.reconnect().await.unwrap();
    assert_eq!(zk.session_id(), id);
    assert_eq!(next_state(&mut events).await, keeper_state::SYNC_CONNECTED);
    assert_eq!(next_state(&mut events).await, keeper_state::DISCONNECTED);
    assert_eq!(next_state(&mut events).await, keeper_state::SYNC_CONNECTED);
    // Auth was replayed, so the creator-only node is still readable.
    assert_eq!(
        zk.get_data("/dave", false).await.unwrap().0.as_deref(),
        Some(&b"d"[..])
    );

    // Watches are re-registered with setWatches.
    let zxid = zk.last_zxid();
    zk.set_watches(SetWatches {
        relative_zxid: zxid,
        data_watches: vec!["/sw".into()],
        exist_watches: vec!["/sw-later".into()],
        child_watches: vec![],
    })
    .await
    .unwrap();
    let other = connect(&server).await;
    other.set_data("/sw", b"1", -1).await.unwrap();
    assert_eq!(
        next_node_event(&mut events).await,
        node(event_type::NODE_DATA_CHANGED, "/sw")
    );
    other
        .create("/sw-later", b"", &open(), CreateMode::Persistent)
        .await
        .unwrap();
    assert_eq!(
        next_node_event(&mut events).await,
        node(event_type::NODE_CREATED, "/sw-later")
    );
}

#[tokio::test]
async fn chroot_applies_to_paths_events_and_results() {
    let server = server_or_skip!();
    let root = connect(&server).await;
    root.create("/app", NO_DATA, &open(), CreateMode::Persistent)
        .await
        .unwrap();
    let zk = Client::connect(&format!("{}/app", server.connect_string()), TIMEOUT)
        .await
        .unwrap();
    let mut events = zk.take_events().unwrap();

    assert_eq!(
        zk.create("/x", b"", &open(), CreateMode::Persistent).await,
        Ok("/x".into())
    );
    assert!(root.exists("/app/x", false).await.unwrap().is_some());
    let seq = zk
        .create("/s-", b"", &open(), CreateMode::EphemeralSequential)
        .await
        .unwrap();
    assert_eq!(seq, "/s-0000000001");
    assert_eq!(zk.get_ephemerals("/").await, Ok(vec![seq]));
    let mut children = zk.get_children("/", false).await.unwrap();
    children.sort();
    assert_eq!(children, ["s-0000000001", "x"]);
    assert_eq!(zk.sync("/").await, Ok("/".into()));

    assert_eq!(zk.exists("/y", true).await, Ok(None));
    root.create("/app/y", b"", &open(), CreateMode::Persistent)
        .await
        .unwrap();
    assert_eq!(
        next_node_event(&mut events).await,
        node(event_type::NODE_CREATED, "/y")
    );

    let results = zk
        .multi(vec![op::create("/z", b"", &open(), CreateMode::Persistent)])
        .await
        .unwrap();
    assert_eq!(results, [OpResult::Create { path: "/z".into() }]);
    let (path, _) = zk.create_container("/c", b"", &open()).await.unwrap();
    assert_eq!(path, "/c");
}

#[tokio::test]
async fn containers_ttl_and_other_ops() {
    let server = server_or_skip!();
    let zk = connect(&server).await;
    let (path, stat) = zk.create_container("/box", b"", &open()).await.unwrap();
    assert_eq!(path, "/box");
    assert_eq!(
        stat.ephemeral_owner, 0,
        "container markers are hidden from clients"
    );

    let (path, stat) = zk
        .create_ttl("/ttl", b"", &open(), CreateMode::PersistentWithTtl, 60_000)
        .await
        .unwrap();
    assert_eq!(path, "/ttl");
    assert_eq!(stat.ephemeral_owner, 0);

    // Standalone servers refuse reconfig (disabled by default).
    let err = zk
        .reconfig(None, None, Some("server.1=127.0.0.1:2888:3888"), -1)
        .await
        .unwrap_err();
    assert!(err.api_code().is_some(), "{err:?}");

    // The raw escape hatch returns header and body verbatim.
    let body = jute::to_bytes(&GetDataRequest {
        path: "/box".into(),
        watch: false,
    });
    let (header, mut body) = zk.request_raw(OpCode::GetData.code(), body).await.unwrap();
    assert!(header.xid > 0);
    assert_eq!(header.err, 0);
    assert_eq!(
        GetDataResponse::read(&mut body).unwrap().data,
        Some(Bytes::new())
    );
    let body = jute::to_bytes(&GetDataRequest {
        path: "/nope".into(),
        watch: false,
    });
    let (header, body) = zk.request_raw(OpCode::GetData.code(), body).await.unwrap();
    assert_eq!((header.err, body.len()), (ErrorCode::NoNode.code(), 0));
    let (header, _) = zk
        .request_raw(OpCode::Ping.code(), Bytes::new())
        .await
        .unwrap();
    assert_eq!(header.xid, -2);
}

#[tokio::test]
async fn connection_loss_fails_calls_and_reports_disconnected() {
    let mut server = server_or_skip!();
    let zk = connect(&server).await;
    let mut events = zk.take_events().unwrap();
    assert_eq!(next_state(&mut events).await, keeper_state::SYNC_CONNECTED);
    server.kill();
    assert_eq!(next_state(&mut events).await, keeper_state::DISCONNECTED);
    assert_eq!(zk.exists("/", false).await, Err(ZkError::ConnectionLoss));
    assert!(matches!(
        zk.reconnect().await,
        Err(ZkError::ConnectFailed(_))
    ));
}

#[tokio::test]
async fn close_then_calls_fail_with_closed() {
    let server = server_or_skip!();
    let zk = connect(&server).await;
    let mut events = zk.take_events().unwrap();
    zk.close().await.unwrap();
    zk.close().await.unwrap();
    assert_eq!(zk.get_children("/", false).await, Err(ZkError::Closed));
    assert_eq!(next_state(&mut events).await, keeper_state::SYNC_CONNECTED);
    assert_eq!(next_state(&mut events).await, keeper_state::CLOSED);
}

#[tokio::test]
async fn many_concurrent_requests_share_one_connection() {
    let server = server_or_skip!();
    let zk = connect(&server).await;
    zk.create("/load", NO_DATA, &open(), CreateMode::Persistent)
        .await
        .unwrap();
    let mut tasks = Vec::new();
    for i in 0..2000 {
        let zk = zk.clone();
        tasks.push(tokio::spawn(async move {
            let path = format!("/load/n{i}");
            zk.create(
                &path,
                format!("{i}"),
                &Acl::open_unsafe(),
                CreateMode::Persistent,
            )
            .await?;
            zk.get_data(&path, false).await
        }));
    }
    for (i, t) in tasks.into_iter().enumerate() {
        let (data, _) = t.await.unwrap().unwrap();
        assert_eq!(data, Some(Bytes::from(format!("{i}"))));
    }
    assert_eq!(zk.get_all_children_number("/load").await, Ok(2000));
}
