//! `module org.apache.zookeeper.data`: ids, ACLs and stats.

use crate::jute_record;

jute_record!(
    /// An authenticated identity: `scheme:id`.
    Id { scheme: String, id: String }
);

jute_record!(
    /// A permission grant to an [`Id`]. `perms` bits: READ 1, WRITE 2, CREATE 4, DELETE 8, ADMIN 16.
    Acl { perms: i32, id: Id }
);

jute_record!(
    /// The node metadata clients see.
    Stat {
        czxid: i64,
        mzxid: i64,
        ctime: i64,
        mtime: i64,
        version: i32,
        cversion: i32,
        aversion: i32,
        ephemeral_owner: i64,
        data_length: i32,
        num_children: i32,
        pzxid: i64,
    }
);

jute_record!(
    /// The node metadata as snapshots store it (no derived fields).
    StatPersisted {
        czxid: i64,
        mzxid: i64,
        ctime: i64,
        mtime: i64,
        version: i32,
        cversion: i32,
        aversion: i32,
        ephemeral_owner: i64,
        pzxid: i64,
    }
);

jute_record!(
    /// One entry of a whoAmI reply.
    ClientInfo { auth_scheme: String, user: String }
);

/// Permission bits (`ZooDefs.Perms`).
pub mod perms {
    pub const READ: i32 = 1;
    pub const WRITE: i32 = 2;
    pub const CREATE: i32 = 4;
    pub const DELETE: i32 = 8;
    pub const ADMIN: i32 = 16;
    pub const ALL: i32 = READ | WRITE | CREATE | DELETE | ADMIN;
}

impl Acl {
    /// Builds an ACL entry.
    pub fn new(perms: i32, scheme: &str, id: &str) -> Acl {
        Acl {
            perms,
            id: Id {
                scheme: scheme.into(),
                id: id.into(),
            },
        }
    }
    /// `OPEN_ACL_UNSAFE`: world:anyone with all permissions.
    pub fn open_unsafe() -> Vec<Acl> {
        vec![Acl::new(perms::ALL, "world", "anyone")]
    }
    /// `READ_ACL_UNSAFE`: world:anyone may read.
    pub fn read_unsafe() -> Vec<Acl> {
        vec![Acl::new(perms::READ, "world", "anyone")]
    }
    /// `CREATOR_ALL_ACL`: all permissions for the creator's authenticated ids.
    pub fn creator_all() -> Vec<Acl> {
        vec![Acl::new(perms::ALL, "auth", "")]
    }
}
