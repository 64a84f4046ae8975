use super::*;
use crate::core::txn::{Txn, TxnBody};
use bytes::Bytes;
use jute::txn::{CreateTxn, TxnHeader};
use jute::OpCode;

fn create(zxid: i64, path: &str, data: &[u8], acl: Vec<Acl>) -> Txn {
    Txn {
        header: TxnHeader {
            client_id: 1,
            cxid: 1,
            zxid,
            time: 1,
            type_: OpCode::Create.code(),
        },
        body: TxnBody::Create(CreateTxn {
            path: path.into(),
            data: Some(Bytes::copy_from_slice(data)),
            acl,
            ephemeral: false,
            parent_c_version: 1,
        }),
    }
}

fn sample_tree() -> DataTree {
    let mut tree = DataTree::new(false);
    let mut triggers = Vec::new();
    let digest = vec![Acl {
        perms: 31,
        id: Id {
            scheme: "digest".into(),
            id: "u:x".into(),
        },
    }];
    for (i, (path, data, acl)) in [
        ("/a", &b"alpha"[..], Acl::open_unsafe()),
        ("/a/b", &b""[..], digest),
        ("/c", &b"gamma"[..], Acl::open_unsafe()),
    ]
    .into_iter()
    .enumerate()
    {
        let rc = tree.apply(&create(i as i64 + 1, path, data, acl), &mut triggers);
        assert_eq!(rc.err, 0);
    }
    tree
}

fn stream_of(tree: &DataTree, sessions: &[(i64, i32)]) -> Vec<u8> {
    let mut out = Vec::new();
    write_snap_stream(&mut out, tree, sessions).unwrap();
    out
}

#[test]
fn stream_is_the_file_body_plus_signature() {
    let tree = sample_tree();
    let sessions = [(0x100, 30000)];
    let stream = stream_of(&tree, &sessions);
    let mut file = Vec::new();
    crate::storage::snapshot::serialize_snapshot(&mut file, &tree, &sessions).unwrap();
    // The file: 16-byte header, the body up to and including "/", a seal...
    let body = &stream[..stream.len() - 14];
    assert_eq!(&file[16..16 + body.len()], body);
    assert_eq!(&stream[stream.len() - 14..], b"\0\0\0\x0aBenWasHere");
    // Sessions first: count 1, then id and timeout.
    assert_eq!(
        &stream[..16],
        &[0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0, 0x75, 0x30]
    );
}

#[test]
fn reads_back_byte_by_byte_and_whole() {
    let tree = sample_tree();
    let stream = stream_of(&tree, &[(7, 4000), (9, 6000)]);
    let mut tail = stream.clone();
    tail.extend_from_slice(b"NEXT");
    // Whole, with the following bytes left in place.
    let mut buf = BytesMut::from(&tail[..]);
    let got = SnapStreamDecoder::new(3, false, 1 << 20)
        .decode_from(&mut buf)
        .unwrap()
        .expect("complete");
    assert_eq!(&buf[..], b"NEXT");
    // In the order Java's HashMap copy iterates them, as ZooKeeper writes.
    let mut sessions = got.sessions.clone();
    sessions.sort();
    assert_eq!(sessions, vec![(7, 4000), (9, 6000)]);
    assert_eq!(got.tree.get("/a").unwrap().data(), Some(&b"alpha"[..]));
    assert_eq!(got.tree.get("/c").unwrap().data(), Some(&b"gamma"[..]));
    assert!(got.tree.get("/a/b").is_some());
    assert_eq!(got.tree.last_processed_zxid, 3);
    // Re-serialized, it is the same stream.
    assert_eq!(stream_of(&got.tree, &got.sessions), stream);

    // One byte at a time.
    let mut d = SnapStreamDecoder::new(3, false, 1 << 20);
    let mut buf = BytesMut::new();
    let mut result = None;
    for (i, b) in stream.iter().enumerate() {
        buf.put_u8(*b);
        if let Some(s) = d.decode_from(&mut buf).unwrap() {
            assert_eq!(i, stream.len() - 1, "complete only at the last byte");
            result = Some(s);
        }
    }
    let s = result.expect("complete");
    assert_eq!(stream_of(&s.tree, &s.sessions), stream);
}

#[test]
fn bad_streams_are_errors() {
    let tree = sample_tree();
    let stream = stream_of(&tree, &[]);
    let decode = |bytes: &[u8], max: usize| {
        SnapStreamDecoder::new(1, false, max).decode_from(&mut BytesMut::from(bytes))
    };
    // Wrong signature.
    let mut bad = stream.clone();
    let n = bad.len();
    bad[n - 1] = b'X';
    assert!(matches!(decode(&bad, 1 << 20), Err(WireError::Invalid(_))));
    // Negative session count.
    let mut bad = stream.clone();
    bad[..4].copy_from_slice(&(-2i32).to_be_bytes());
    assert!(decode(&bad, 1 << 20).is_err());
    // A node longer than the bound.
    assert!(matches!(
        decode(&stream, 3),
        Err(WireError::BadLength { .. })
    ));
    // Cut short: waits for more.
    assert!(decode(&stream[..stream.len() - 3], 1 << 20)
        .unwrap()
        .is_none());
    // A node whose parent is missing.
    let mut orphan = BytesMut::new();
    orphan.put_i32(0);
    orphan.put_i32(0);
    for path in ["", "/x/y"] {
        orphan.put_i32(path.len() as i32);
        orphan.put_slice(path.as_bytes());
        orphan.put_i32(-1);
        orphan.put_i64(-1);
        orphan.put_slice(&[0u8; STAT_LEN]);
    }
    assert!(matches!(
        decode(&orphan, 1 << 20),
        Err(WireError::Invalid(_))
    ));
}

proptest::proptest! {
    #[test]
    fn garbage_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..300)) {
        let _ = SnapStreamDecoder::new(1, false, 1 << 16).decode_from(&mut BytesMut::from(&bytes[..]));
    }
}
