//! `module org.apache.zookeeper.proto`: the client protocol's requests and replies.

use crate::data::{Acl, ClientInfo, Stat};
use crate::jute_record;
use crate::prim::{JuteError, Record};
use bytes::{Buf, Bytes, BytesMut};

/// The session handshake request. `read_only` is `None` when the client sent
/// the 44-byte form without the trailing read-only byte (pre-3.4 clients, and
/// some 3.4 C clients); the server then omits the byte from its reply too.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectRequest {
    pub protocol_version: i32,
    pub last_zxid_seen: i64,
    pub time_out: i32,
    pub session_id: i64,
    pub passwd: Option<Bytes>,
    pub read_only: Option<bool>,
}

impl Record for ConnectRequest {
    fn write(&self, buf: &mut BytesMut) {
        self.protocol_version.write(buf);
        self.last_zxid_seen.write(buf);
        self.time_out.write(buf);
        self.session_id.write(buf);
        self.passwd.write(buf);
        if let Some(ro) = self.read_only {
            ro.write(buf);
        }
    }
    fn read(buf: &mut Bytes) -> Result<Self, JuteError> {
        Ok(ConnectRequest {
            protocol_version: i32::read(buf)?,
            last_zxid_seen: i64::read(buf)?,
            time_out: i32::read(buf)?,
            session_id: i64::read(buf)?,
            passwd: Option::<Bytes>::read(buf)?,
            read_only: if buf.has_remaining() {
                Some(bool::read(buf)?)
            } else {
                None
            },
        })
    }
}

/// The session handshake reply; `read_only` mirrors the request's form.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ConnectResponse {
    pub protocol_version: i32,
    pub time_out: i32,
    pub session_id: i64,
    pub passwd: Option<Bytes>,
    pub read_only: Option<bool>,
}

impl Record for ConnectResponse {
    fn write(&self, buf: &mut BytesMut) {
        self.protocol_version.write(buf);
        self.time_out.write(buf);
        self.session_id.write(buf);
        self.passwd.write(buf);
        if let Some(ro) = self.read_only {
            ro.write(buf);
        }
    }
    fn read(buf: &mut Bytes) -> Result<Self, JuteError> {
        Ok(ConnectResponse {
            protocol_version: i32::read(buf)?,
            time_out: i32::read(buf)?,
            session_id: i64::read(buf)?,
            passwd: Option::<Bytes>::read(buf)?,
            read_only: if buf.has_remaining() {
                Some(bool::read(buf)?)
            } else {
                None
            },
        })
    }
}

jute_record!(SetWatches {
    relative_zxid: i64,
    data_watches: Vec<String>,
    exist_watches: Vec<String>,
    child_watches: Vec<String>,
});
jute_record!(SetWatches2 {
    relative_zxid: i64,
    data_watches: Vec<String>,
    exist_watches: Vec<String>,
    child_watches: Vec<String>,
    persistent_watches: Vec<String>,
    persistent_recursive_watches: Vec<String>,
});
jute_record!(RequestHeader {
    xid: i32,
    type_: i32
});
jute_record!(MultiHeader {
    type_: i32,
    done: bool,
    err: i32
});
jute_record!(AuthPacket { type_: i32, scheme: String, auth: Option<Bytes> });
jute_record!(ReplyHeader {
    xid: i32,
    zxid: i64,
    err: i32
});
jute_record!(GetDataRequest {
    path: String,
    watch: bool
});
jute_record!(SetDataRequest { path: String, data: Option<Bytes>, version: i32 });
jute_record!(ReconfigRequest {
    joining_servers: String,
    leaving_servers: String,
    new_members: String,
    cur_config_id: i64,
});
jute_record!(SetDataResponse { stat: Stat });
jute_record!(GetSaslRequest { token: Option<Bytes> });
jute_record!(SetSaslResponse { token: Option<Bytes> });
jute_record!(CreateRequest { path: String, data: Option<Bytes>, acl: Vec<Acl>, flags: i32 });
jute_record!(CreateTtlRequest {
    path: String,
    data: Option<Bytes>,
    acl: Vec<Acl>,
    flags: i32,
    ttl: i64,
});
jute_record!(DeleteRequest {
    path: String,
    version: i32
});
jute_record!(GetChildrenRequest {
    path: String,
    watch: bool
});
jute_record!(GetAllChildrenNumberRequest { path: String });
jute_record!(GetChildren2Request {
    path: String,
    watch: bool
});
jute_record!(CheckVersionRequest {
    path: String,
    version: i32
});
jute_record!(GetMaxChildrenRequest { path: String });
jute_record!(GetMaxChildrenResponse { max: i32 });
jute_record!(SetMaxChildrenRequest {
    path: String,
    max: i32
});
jute_record!(SyncRequest { path: String });
jute_record!(SyncResponse { path: String });
jute_record!(GetAclRequest { path: String });
jute_record!(SetAclRequest { path: String, acl: Vec<Acl>, version: i32 });
jute_record!(SetAclResponse { stat: Stat });
jute_record!(AddWatchRequest {
    path: String,
    mode: i32
});
jute_record!(WatcherEvent {
    type_: i32,
    state: i32,
    path: String
});
jute_record!(ErrorResponse { err: i32 });
jute_record!(CreateResponse { path: String });
jute_record!(Create2Response {
    path: String,
    stat: Stat
});
jute_record!(ExistsRequest {
    path: String,
    watch: bool
});
jute_record!(ExistsResponse { stat: Stat });
jute_record!(GetDataResponse { data: Option<Bytes>, stat: Stat });
jute_record!(GetChildrenResponse { children: Vec<String> });
jute_record!(GetAllChildrenNumberResponse { total_number: i32 });
jute_record!(GetChildren2Response { children: Vec<String>, stat: Stat });
jute_record!(GetAclResponse { acl: Vec<Acl>, stat: Stat });
jute_record!(CheckWatchesRequest {
    path: String,
    type_: i32
});
jute_record!(RemoveWatchesRequest {
    path: String,
    type_: i32
});
jute_record!(GetEphemeralsRequest {
    prefix_path: String
});
jute_record!(GetEphemeralsResponse { ephemerals: Vec<String> });
jute_record!(WhoAmIResponse { client_info: Vec<ClientInfo> });

/// Special xids (`ClientCnxn.java`).
pub mod xid {
    pub const NOTIFICATION: i32 = -1;
    pub const PING: i32 = -2;
    pub const AUTH: i32 = -4;
    pub const SET_WATCHES: i32 = -8;
}

/// `Watcher.Event.EventType`.
pub mod event_type {
    pub const NONE: i32 = -1;
    pub const NODE_CREATED: i32 = 1;
    pub const NODE_DELETED: i32 = 2;
    pub const NODE_DATA_CHANGED: i32 = 3;
    pub const NODE_CHILDREN_CHANGED: i32 = 4;
    pub const DATA_WATCH_REMOVED: i32 = 5;
    pub const CHILD_WATCH_REMOVED: i32 = 6;
    pub const PERSISTENT_WATCH_REMOVED: i32 = 7;
}

/// `Watcher.Event.KeeperState`.
pub mod keeper_state {
    pub const DISCONNECTED: i32 = 0;
    pub const SYNC_CONNECTED: i32 = 3;
    pub const AUTH_FAILED: i32 = 4;
    pub const CONNECTED_READ_ONLY: i32 = 5;
    pub const SASL_AUTHENTICATED: i32 = 6;
    pub const EXPIRED: i32 = -112;
    pub const CLOSED: i32 = 7;
}

/// `Watcher.WatcherType` for checkWatches/removeWatches.
pub mod watcher_type {
    pub const CHILDREN: i32 = 1;
    pub const DATA: i32 = 2;
    pub const ANY: i32 = 3;
    pub const PERSISTENT: i32 = 4;
    pub const PERSISTENT_RECURSIVE: i32 = 5;
}

/// `AddWatchMode`.
pub mod add_watch_mode {
    pub const PERSISTENT: i32 = 0;
    pub const PERSISTENT_RECURSIVE: i32 = 1;
}

/// `CreateMode` flag values.
pub mod create_mode {
    pub const PERSISTENT: i32 = 0;
    pub const EPHEMERAL: i32 = 1;
    pub const PERSISTENT_SEQUENTIAL: i32 = 2;
    pub const EPHEMERAL_SEQUENTIAL: i32 = 3;
    pub const CONTAINER: i32 = 4;
    pub const PERSISTENT_WITH_TTL: i32 = 5;
    pub const PERSISTENT_SEQUENTIAL_WITH_TTL: i32 = 6;
}
