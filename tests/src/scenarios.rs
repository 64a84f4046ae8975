//! Hand-written operation sequences for the differential test: the minimal
//! reproductions of behaviours where our server once differed from the
//! reference (the `F<n>` ids are those of the differential-test findings),
//! plus a few neighbouring cases that already matched, so a fix cannot break
//! them unnoticed.
//!
//! Every scenario uses its own top-level path (`/s<n>`), so scenarios run
//! one after another on the same pair of servers; the harness closes and
//! reopens every session between scenarios.

use crate::gen::{digest, Op};
use bytes::Bytes;
use jute::data::Acl;
use jute::multi::MultiOp;
use jute::proto::*;
use jute::OpCode;

/// A named sequence of ops.
pub struct Scenario {
    pub name: &'static str,
    pub ops: Vec<Op>,
}

/// `create` (opcode 1) with no data.
pub fn create(s: usize, path: &str, acl: Vec<Acl>, flags: i32) -> Op {
    Op::Create {
        s,
        op: OpCode::Create,
        req: CreateRequest {
            path: path.into(),
            data: None,
            acl,
            flags,
        },
    }
}

/// A persistent, open node.
pub fn mk(s: usize, path: &str) -> Op {
    create(s, path, Acl::open_unsafe(), 0)
}

pub fn delete(s: usize, path: &str) -> Op {
    Op::Delete {
        s,
        req: DeleteRequest {
            path: path.into(),
            version: -1,
        },
    }
}

pub fn set_data(s: usize, path: &str) -> Op {
    Op::SetData {
        s,
        req: SetDataRequest {
            path: path.into(),
            data: Some(Bytes::from_static(b"x")),
            version: -1,
        },
    }
}

pub fn exists_w(s: usize, path: &str) -> Op {
    Op::Exists {
        s,
        req: ExistsRequest {
            path: path.into(),
            watch: true,
        },
    }
}

pub fn get_data_w(s: usize, path: &str) -> Op {
    Op::GetData {
        s,
        req: GetDataRequest {
            path: path.into(),
            watch: true,
        },
    }
}

pub fn get_children_w(s: usize, path: &str) -> Op {
    Op::GetChildren {
        s,
        req: GetChildrenRequest {
            path: path.into(),
            watch: true,
        },
    }
}

pub fn add_watch(s: usize, path: &str, mode: i32) -> Op {
    Op::AddWatch {
        s,
        req: AddWatchRequest {
            path: path.into(),
            mode,
        },
    }
}

pub fn check_watches(s: usize, path: &str, type_: i32) -> Op {
    Op::CheckWatches {
        s,
        req: CheckWatchesRequest {
            path: path.into(),
            type_,
        },
    }
}

pub fn remove_watches(s: usize, path: &str, type_: i32) -> Op {
    Op::RemoveWatches {
        s,
        req: RemoveWatchesRequest {
            path: path.into(),
            type_,
        },
    }
}

pub fn drain(s: usize) -> Op {
    Op::Drain { s }
}

pub fn auth(s: usize, user_pw: &str) -> Op {
    Op::Auth {
        s,
        scheme: "digest".into(),
        auth: user_pw.into(),
    }
}

fn mcreate(op: OpCode, path: &str, flags: i32) -> MultiOp {
    MultiOp::Create {
        op,
        req: CreateRequest {
            path: path.into(),
            data: None,
            acl: Acl::open_unsafe(),
            flags,
        },
    }
}

/// Every scenario, in order.
pub fn scenarios() -> Vec<Scenario> {
    let user1_only = || vec![Acl::new(31, "digest", &digest("user1", "pw1"))];
    vec![
        Scenario {
            name: "F1 multiRead with a write in it",
            ops: vec![
                mk(0, "/s1"),
                Op::MultiRead {
                    s: 0,
                    ops: vec![
                        MultiOp::GetChildren(GetChildrenRequest {
                            path: "/s1".into(),
                            watch: false,
                        }),
                        MultiOp::Check(CheckVersionRequest {
                            path: "/s1".into(),
                            version: 0,
                        }),
                        MultiOp::GetData(GetDataRequest {
                            path: "/s1/none".into(),
                            watch: false,
                        }),
                    ],
                },
            ],
        },
        Scenario {
            name: "F2 checkWatches sees another session's watch",
            ops: vec![
                mk(0, "/s2"),
                get_children_w(0, "/s2"),
                check_watches(1, "/s2", 1),
                check_watches(1, "/s2", 2),
                check_watches(1, "/s2", 3),
                remove_watches(1, "/s2", 1),
                check_watches(0, "/s2", 1),
            ],
        },
        Scenario {
            name: "F3 multi create with a TTL mode in a plain create",
            ops: vec![
                mk(0, "/s3"),
                Op::Multi {
                    s: 0,
                    ops: vec![mcreate(OpCode::Create, "/s3/a", 5)],
                },
                Op::Multi {
                    s: 0,
                    ops: vec![
                        mcreate(OpCode::Create, "/s3/b", 0),
                        mcreate(OpCode::Create2, "/s3/c", 6),
                    ],
                },
                Op::Multi {
                    s: 0,
                    ops: vec![mcreate(OpCode::CreateContainer, "/s3/d", 5)],
                },
                Op::Multi {
                    s: 0,
                    ops: vec![
                        MultiOp::Check(CheckVersionRequest {
                            path: "/s3/none".into(),
                            version: 0,
                        }),
                        mcreate(OpCode::Create, "/s3/e", 5),
                    ],
                },
                Op::Sync {
                    s: 0,
                    req: SyncRequest { path: "/s3".into() },
                },
            ],
        },
        Scenario {
            name: "F4 multi create result shaped by the flags",
            ops: vec![
                mk(0, "/s4"),
                Op::Multi {
                    s: 0,
                    ops: vec![
                        mcreate(OpCode::CreateContainer, "/s4/a", 0),
                        mcreate(OpCode::Create2, "/s4/b", 0),
                        mcreate(OpCode::Create, "/s4/c", 4),
                        mcreate(OpCode::Create2, "/s4/d", 1),
                        mcreate(OpCode::CreateContainer, "/s4/e", 4),
                    ],
                },
            ],
        },
        Scenario {
            name: "F5 notifications filtered by the node's ACL",
            ops: vec![
                mk(0, "/s5"),
                exists_w(1, "/s5/x"),
                create(0, "/s5/x", user1_only(), 0),
                drain(1),
                add_watch(1, "/s5", 1),
                delete(0, "/s5/x"),
                drain(1),
                create(0, "/s5/q", user1_only(), 0),
                get_children_w(2, "/s5"),
                auth(1, "user1:pw1"),
                create(0, "/s5/x", user1_only(), 0),
                drain(1),
                drain(2),
            ],
        },
        Scenario {
            name: "F6 addWatch recursive over a pending child watch",
            ops: vec![
                mk(1, "/s6"),
                get_children_w(0, "/s6"),
                add_watch(0, "/s6", 1),
                mk(1, "/s6/c"),
                mk(1, "/s6/d"),
                drain(0),
            ],
        },
        Scenario {
            name: "F6b watch mode combinations that already matched",
            ops: vec![
                mk(1, "/s6b"),
                mk(1, "/s6b/a"),
                mk(1, "/s6b/b"),
                mk(1, "/s6b/c"),
                get_data_w(0, "/s6b/a"),
                add_watch(0, "/s6b/a", 0),
                set_data(1, "/s6b/a"),
                set_data(1, "/s6b/a"),
                add_watch(0, "/s6b/b", 1),
                get_children_w(0, "/s6b/b"),
                mk(1, "/s6b/b/x"),
                mk(1, "/s6b/b/y"),
                get_children_w(0, "/s6b/c"),
                add_watch(0, "/s6b/c", 0),
                mk(1, "/s6b/c/x"),
                mk(1, "/s6b/c/y"),
                drain(0),
            ],
        },
        Scenario {
            name: "F7 whoAmI order",
            ops: vec![
                auth(0, "user1:pw1"),
                auth(0, "user2:pw2"),
                auth(0, "user1:wrong"),
                Op::WhoAmI { s: 0 },
            ],
        },
        Scenario {
            name: "F7b auth ACL expansion order",
            ops: vec![
                auth(0, "user1:pw1"),
                auth(0, "user2:pw2"),
                create(0, "/s7", Acl::creator_all(), 0),
                Op::GetAcl {
                    s: 0,
                    req: GetAclRequest { path: "/s7".into() },
                },
            ],
        },
        Scenario {
            name: "F8 removeWatches CHILDREN finds a recursive watch",
            ops: vec![
                mk(1, "/s8"),
                add_watch(0, "/s8", 1),
                remove_watches(0, "/s8", 1),
                mk(1, "/s8/x"),
                set_data(1, "/s8"),
                remove_watches(0, "/s8", 1),
                remove_watches(0, "/s8", 2),
                mk(1, "/s8/y"),
                drain(0),
            ],
        },
        Scenario {
            name: "F9 getEphemerals and closeSession order",
            ops: vec![
                mk(1, "/s9"),
                mk(1, "/s9/d"),
                // Chosen so that a 16-bucket table and the 4-bucket clone iterate differently.
                create(0, "/s9/d/b", Acl::open_unsafe(), 1),
                create(0, "/s9/y", Acl::open_unsafe(), 1),
                Op::GetEphemerals {
                    s: 0,
                    req: GetEphemeralsRequest {
                        prefix_path: "/".into(),
                    },
                },
                Op::GetEphemerals {
                    s: 0,
                    req: GetEphemeralsRequest {
                        prefix_path: "/s9/d".into(),
                    },
                },
                exists_w(1, "/s9/d/b"),
                exists_w(1, "/s9/y"),
                Op::CloseSession {
                    s: 0,
                    time_out: 30_000,
                    short_handshake: false,
                },
                drain(1),
            ],
        },
        Scenario {
            name: "F11 getAllChildrenNumber of the empty path",
            ops: vec![
                mk(0, "/s11"),
                mk(0, "/s11/a"),
                Op::GetAllChildrenNumber {
                    s: 0,
                    req: GetAllChildrenNumberRequest { path: "/".into() },
                },
                Op::GetAllChildrenNumber {
                    s: 0,
                    req: GetAllChildrenNumberRequest { path: "".into() },
                },
                Op::GetAllChildrenNumber {
                    s: 0,
                    req: GetAllChildrenNumberRequest {
                        path: "/s11".into(),
                    },
                },
                Op::GetChildren {
                    s: 0,
                    req: GetChildrenRequest {
                        path: "".into(),
                        watch: false,
                    },
                },
                Op::GetData {
                    s: 0,
                    req: GetDataRequest {
                        path: "".into(),
                        watch: false,
                    },
                },
            ],
        },
        Scenario {
            name: "F12 invalid create flags",
            ops: vec![
                mk(0, "/s12"),
                create(0, "/s12", Acl::open_unsafe(), 7),
                create(0, "/s12/none/x", Acl::open_unsafe(), -1),
                create(0, "/s12/a", Acl::open_unsafe(), 7),
                Op::Create {
                    s: 0,
                    op: OpCode::Create2,
                    req: CreateRequest {
                        path: "/s12/b".into(),
                        data: None,
                        acl: Acl::open_unsafe(),
                        flags: -1,
                    },
                },
                Op::Create {
                    s: 0,
                    op: OpCode::CreateContainer,
                    req: CreateRequest {
                        path: "/s12/c".into(),
                        data: None,
                        acl: Acl::open_unsafe(),
                        flags: 7,
                    },
                },
                Op::Multi {
                    s: 0,
                    ops: vec![mcreate(OpCode::Create, "/s12", 7)],
                },
                Op::Multi {
                    s: 0,
                    ops: vec![mcreate(OpCode::Create, "/s12/none/x", -1)],
                },
                Op::Multi {
                    s: 0,
                    ops: vec![
                        mcreate(OpCode::Create, "/s12/d", 7),
                        mcreate(OpCode::Create, "/s12/e", 2),
                    ],
                },
                Op::Multi {
                    s: 0,
                    ops: vec![
                        MultiOp::Check(CheckVersionRequest {
                            path: "/s12".into(),
                            version: -1,
                        }),
                        mcreate(OpCode::Create, "/s12/f", -1),
                        mcreate(OpCode::Create, "/s12/g", 5),
                    ],
                },
                Op::Multi {
                    s: 0,
                    ops: vec![mcreate(OpCode::CreateContainer, "/s12/h", 7)],
                },
                Op::GetChildren {
                    s: 0,
                    req: GetChildrenRequest {
                        path: "/s12".into(),
                        watch: false,
                    },
                },
            ],
        },
        Scenario {
            name: "F10 recursive entry left in the child table",
            ops: vec![
                mk(1, "/s10"),
                add_watch(0, "/s10", 1),
                get_data_w(0, "/s10"),
                set_data(1, "/s10"),
                mk(1, "/s10/x"),
                drain(0),
                delete(1, "/s10/x"),
                drain(0),
            ],
        },
    ]
}
