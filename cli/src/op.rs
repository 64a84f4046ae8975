//! Constructors for the [`MultiOp`]s of `multi` and `multiRead`, mirroring
//! Apache's `Op` factory: `create` uses opcode create (1), or createContainer
//! (19) for the container mode; TTL modes go through [`create_ttl`].

use crate::create_mode::CreateMode;
use crate::node_data::NodeData;
use jute::data::Acl;
use jute::multi::{MultiOp, OpResult};
use jute::proto::*;
use jute::OpCode;

/// A create op (path only in its result, unless the mode is container/TTL).
pub fn create(path: &str, data: impl NodeData, acl: &[Acl], mode: CreateMode) -> MultiOp {
    let op = if mode == CreateMode::Container {
        OpCode::CreateContainer
    } else {
        OpCode::Create
    };
    create_with_op(op, path, data, acl, mode)
}

/// A create op sent with an explicit opcode (create, create2, createContainer).
pub fn create_with_op(
    op: OpCode,
    path: &str,
    data: impl NodeData,
    acl: &[Acl],
    mode: CreateMode,
) -> MultiOp {
    let req = CreateRequest {
        path: path.to_string(),
        data: data.into_node_data(),
        acl: acl.to_vec(),
        flags: mode.flags(),
    };
    MultiOp::Create { op, req }
}

/// A createTTL op.
pub fn create_ttl(
    path: &str,
    data: impl NodeData,
    acl: &[Acl],
    mode: CreateMode,
    ttl_ms: i64,
) -> MultiOp {
    MultiOp::CreateTtl(CreateTtlRequest {
        path: path.to_string(),
        data: data.into_node_data(),
        acl: acl.to_vec(),
        flags: mode.flags(),
        ttl: ttl_ms,
    })
}

/// A delete op.
pub fn delete(path: &str, version: i32) -> MultiOp {
    MultiOp::Delete(DeleteRequest {
        path: path.to_string(),
        version,
    })
}

/// A setData op.
pub fn set_data(path: &str, data: impl NodeData, version: i32) -> MultiOp {
    MultiOp::SetData(SetDataRequest {
        path: path.to_string(),
        data: data.into_node_data(),
        version,
    })
}

/// A version check op.
pub fn check(path: &str, version: i32) -> MultiOp {
    MultiOp::Check(CheckVersionRequest {
        path: path.to_string(),
        version,
    })
}

/// A getData op (multiRead only; sets no watch).
pub fn get_data(path: &str) -> MultiOp {
    MultiOp::GetData(GetDataRequest {
        path: path.to_string(),
        watch: false,
    })
}

/// A getChildren op (multiRead only; sets no watch).
pub fn get_children(path: &str) -> MultiOp {
    MultiOp::GetChildren(GetChildrenRequest {
        path: path.to_string(),
        watch: false,
    })
}

/// The first error code in a multi's results, if any op failed.
pub fn first_error(results: &[OpResult]) -> Option<i32> {
    results.iter().find_map(|r| match r {
        OpResult::Error { err } if *err != 0 => Some(*err),
        _ => None,
    })
}
