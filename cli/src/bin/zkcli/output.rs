//! What a command prints, in zkCli.sh's text form and in `-o json`.
//!
//! Invariants:
//! - A command's result is a [`Reply`] (stdout) or a [`CmdError`] (stderr in
//!   text mode, as zkCli.sh prints its errors; stdout in JSON mode so a
//!   script reads one JSON value per command from one stream).
//! - Text output is byte-for-byte zkCli.sh 3.8's: the Stat block, Java's
//!   `Date.toString()` (in UTC), the ACL lines, the error sentences.
//! - Exit statuses are fixed (see [`Status`]) and documented in `--help`.

use jute::data::{Acl, Stat};
use jute::proto::{event_type, keeper_state};
use serde_json::{json, Value};
use zk_client::{ErrorCode, WatchedEvent, ZkError};

/// Exit status of a one-shot command.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    Ok = 0,
    /// The server answered an error (NoNode, NoAuth, BadVersion, ...).
    ZkError = 1,
    /// Bad command line: unknown command or option, missing or bad argument.
    Usage = 2,
    /// No server could be reached, or the connection or session was lost.
    Connection = 3,
}

/// A successful command's output.
#[derive(Debug, Default)]
pub struct Reply {
    pub text: Vec<String>,
    pub json: Value,
}

impl Reply {
    pub fn new(text: Vec<String>, json: Value) -> Reply {
        Reply { text, json }
    }

    /// No output (zkCli prints nothing for a successful set, delete, ...).
    pub fn quiet(json: Value) -> Reply {
        Reply {
            text: Vec::new(),
            json,
        }
    }
}

/// A failed command.
#[derive(Debug)]
pub enum CmdError {
    /// The command's usage line (wrong arguments).
    Usage(String),
    /// A local message with the status it exits with.
    Msg(Vec<String>, Status),
    /// A server or connection error on `path`.
    Zk(ZkError, Option<String>),
}

impl CmdError {
    pub fn msg(line: impl Into<String>, status: Status) -> CmdError {
        CmdError::Msg(vec![line.into()], status)
    }

    pub fn status(&self) -> Status {
        match self {
            CmdError::Usage(_) => Status::Usage,
            CmdError::Msg(_, s) => *s,
            CmdError::Zk(ZkError::Api(_) | ZkError::UnknownCode(_), _) => Status::ZkError,
            CmdError::Zk(ZkError::InvalidConnectString(_) | ZkError::InvalidArgument(_), _) => {
                Status::Usage
            }
            CmdError::Zk(_, _) => Status::Connection,
        }
    }

    /// The lines zkCli.sh prints for this error.
    pub fn lines(&self) -> Vec<String> {
        match self {
            CmdError::Usage(u) => vec![u.clone()],
            CmdError::Msg(lines, _) => lines.clone(),
            CmdError::Zk(e, path) => vec![zk_message(e, path.as_deref())],
        }
    }

    pub fn json(&self) -> Value {
        let code = match self {
            CmdError::Zk(e, _) => e.code().map(Value::from).unwrap_or(Value::Null),
            _ => Value::Null,
        };
        json!({"error": self.lines().join("\n"), "code": code, "status": self.status() as i32})
    }
}

/// `KeeperException.getCodeMessage` for a code.
pub fn code_message(code: ErrorCode) -> &'static str {
    use ErrorCode::*;
    match code {
        Ok => "ok",
        SystemError => "SystemError",
        RuntimeInconsistency => "RuntimeInconsistency",
        DataInconsistency => "DataInconsistency",
        ConnectionLoss => "ConnectionLoss",
        MarshallingError => "MarshallingError",
        Unimplemented => "Unimplemented",
        OperationTimeout => "OperationTimeout",
        BadArguments => "BadArguments",
        UnknownSession => "Unknown session",
        NewConfigNoQuorum => "No quorum of new config is connected and up-to-date with the leader of last commmitted config - try invoking reconfiguration after new servers are connected and synced",
        ReconfigInProgress => "Another reconfiguration is in progress -- concurrent reconfigs not supported (yet)",
        ApiError => "APIError",
        NoNode => "NoNode",
        NoAuth => "NoAuth",
        BadVersion => "BadVersion",
        NoChildrenForEphemerals => "NoChildrenForEphemerals",
        NodeExists => "NodeExists",
        NotEmpty => "Directory not empty",
        SessionExpired => "Session expired",
        InvalidCallback => "Invalid callback",
        InvalidAcl => "InvalidACL",
        AuthFailed => "AuthFailed",
        SessionMoved => "Session moved",
        NotReadOnly => "Not a read-only call",
        EphemeralOnLocalSession => "Ephemeral node on local session",
        NoWatcher => "No such watcher",
        RequestTimeout => "Request timeout",
        ReconfigDisabled => "Reconfig is disabled",
        SessionClosedRequireSaslAuth => "Session closed because client failed to authenticate",
        QuotaExceeded => "Quota has exceeded",
        ThrottledOp => "Op throttled due to high load",
    }
}

/// `KeeperErrorCode = X[ for path]`, the generic KeeperException message.
pub fn keeper_message(e: &ZkError, path: Option<&str>) -> String {
    let what = match e {
        ZkError::Api(c) => code_message(*c).to_string(),
        ZkError::UnknownCode(c) => format!("Unknown error {c}"),
        ZkError::ConnectionLoss | ZkError::Closed | ZkError::ConnectFailed(_) => {
            "ConnectionLoss".to_string()
        }
        ZkError::SessionExpired => "Session expired".to_string(),
        other => return other.to_string(),
    };
    match path {
        Some(p) => format!("KeeperErrorCode = {what} for {p}"),
        None => format!("KeeperErrorCode = {what}"),
    }
}

/// The sentence zkCli.sh prints for an error (its CLI wording for the common
/// codes, else the KeeperException message).
pub fn zk_message(e: &ZkError, path: Option<&str>) -> String {
    let p = path.unwrap_or("null");
    match e.api_code() {
        Some(ErrorCode::NoNode) => format!("Node does not exist: {p}"),
        Some(ErrorCode::NoAuth) => format!("Insufficient permission : {p}"),
        Some(ErrorCode::NodeExists) => format!("Node already exists: {p}"),
        Some(ErrorCode::NotEmpty) => format!("Node not empty: {p}"),
        Some(ErrorCode::NoChildrenForEphemerals) => format!("Ephemerals cannot have children: {p}"),
        Some(ErrorCode::BadVersion) => format!("version No is not valid : {p}"),
        Some(ErrorCode::InvalidAcl) => format!("Acl is not valid : {p}"),
        _ => keeper_message(e, path),
    }
}

/// A hex number as Java's `Long.toHexString` writes it (two's complement).
pub fn hex(v: i64) -> String {
    format!("0x{:x}", v as u64)
}

/// Java's `new Date(ms).toString()` in UTC: `Thu Jan 01 00:00:00 UTC 1970`.
pub fn java_date(ms: i64) -> String {
    jute::java_date::date_string(ms)
}

/// zkCli.sh's Stat block.
pub fn stat_lines(s: &Stat) -> Vec<String> {
    vec![
        format!("cZxid = {}", hex(s.czxid)),
        format!("ctime = {}", java_date(s.ctime)),
        format!("mZxid = {}", hex(s.mzxid)),
        format!("mtime = {}", java_date(s.mtime)),
        format!("pZxid = {}", hex(s.pzxid)),
        format!("cversion = {}", s.cversion),
        format!("dataVersion = {}", s.version),
        format!("aclVersion = {}", s.aversion),
        format!("ephemeralOwner = {}", hex(s.ephemeral_owner)),
        format!("dataLength = {}", s.data_length),
        format!("numChildren = {}", s.num_children),
    ]
}

pub fn stat_json(s: &Stat) -> Value {
    json!({
        "czxid": s.czxid, "mzxid": s.mzxid, "pzxid": s.pzxid,
        "ctime": s.ctime, "mtime": s.mtime,
        "version": s.version, "cversion": s.cversion, "aversion": s.aversion,
        "ephemeralOwner": s.ephemeral_owner,
        "dataLength": s.data_length, "numChildren": s.num_children,
    })
}

/// Permission letters in zkCli's order: c d r w a.
pub fn perm_string(perms: i32) -> String {
    use jute::data::perms::*;
    [
        (CREATE, 'c'),
        (DELETE, 'd'),
        (READ, 'r'),
        (WRITE, 'w'),
        (ADMIN, 'a'),
    ]
    .iter()
    .filter(|(bit, _)| perms & bit != 0)
    .map(|(_, c)| *c)
    .collect()
}

/// zkCli.sh's two lines per ACL entry.
pub fn acl_lines(acl: &[Acl]) -> Vec<String> {
    acl.iter()
        .flat_map(|a| {
            [
                format!("'{},'{}", a.id.scheme, a.id.id),
                format!(": {}", perm_string(a.perms)),
            ]
        })
        .collect()
}

pub fn acl_json(acl: &[Acl]) -> Value {
    Value::Array(
        acl.iter()
            .map(|a| json!({"scheme": a.id.scheme, "id": a.id.id, "perms": perm_string(a.perms)}))
            .collect(),
    )
}

/// Java's `List.toString()`: `[a, b]`.
pub fn java_list(items: &[String]) -> String {
    format!("[{}]", items.join(", "))
}

pub fn state_name(state: i32) -> String {
    match state {
        keeper_state::DISCONNECTED => "Disconnected".into(),
        keeper_state::SYNC_CONNECTED => "SyncConnected".into(),
        keeper_state::AUTH_FAILED => "AuthFailed".into(),
        keeper_state::CONNECTED_READ_ONLY => "ConnectedReadOnly".into(),
        keeper_state::SASL_AUTHENTICATED => "SaslAuthenticated".into(),
        keeper_state::EXPIRED => "Expired".into(),
        keeper_state::CLOSED => "Closed".into(),
        other => format!("Unknown({other})"),
    }
}

pub fn type_name(t: i32) -> String {
    match t {
        event_type::NONE => "None".into(),
        event_type::NODE_CREATED => "NodeCreated".into(),
        event_type::NODE_DELETED => "NodeDeleted".into(),
        event_type::NODE_DATA_CHANGED => "NodeDataChanged".into(),
        event_type::NODE_CHILDREN_CHANGED => "NodeChildrenChanged".into(),
        event_type::DATA_WATCH_REMOVED => "DataWatchRemoved".into(),
        event_type::CHILD_WATCH_REMOVED => "ChildWatchRemoved".into(),
        event_type::PERSISTENT_WATCH_REMOVED => "PersistentWatchRemoved".into(),
        other => format!("Unknown({other})"),
    }
}

/// The lines zkCli.sh's watcher prints for an event (a blank line first).
pub fn event_text(ev: &WatchedEvent, json_mode: bool) -> String {
    let path = if ev.is_state_change() && ev.path.is_empty() {
        None
    } else {
        Some(ev.path.as_str())
    };
    if json_mode {
        let v = json!({"event": {
            "state": state_name(ev.state), "type": type_name(ev.event_type), "path": path}});
        return v.to_string();
    }
    format!(
        "\nWATCHER::\n\nWatchedEvent state:{} type:{} path:{}",
        state_name(ev.state),
        type_name(ev.event_type),
        path.unwrap_or("null")
    )
}

/// Znode data as zkCli prints it: UTF-8 (invalid bytes replaced), or `null`.
pub fn data_text(data: &Option<bytes::Bytes>) -> String {
    match data {
        None => "null".into(),
        Some(b) => String::from_utf8_lossy(b).into_owned(),
    }
}

pub fn data_json(data: &Option<bytes::Bytes>) -> Value {
    match data {
        None => Value::Null,
        Some(b) => Value::String(String::from_utf8_lossy(b).into_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perms_and_hex() {
        assert_eq!(perm_string(31), "cdrwa");
        assert_eq!(perm_string(1 | 4 | 16), "cra");
        assert_eq!(hex(-1), "0xffffffffffffffff");
        assert_eq!(hex(0), "0x0");
    }
}
