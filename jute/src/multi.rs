//! `multi` and `multiRead` framing (`MultiOperationRecord.java`,
//! `MultiResponse.java`): a sequence of `MultiHeader` + op record, closed by
//! `MultiHeader{-1, true, -1}`.

use crate::data::Stat;
use crate::op_code::OpCode;
use crate::prim::{JuteError, Record};
use crate::proto::*;
use bytes::{Bytes, BytesMut};

/// One operation inside a multi request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MultiOp {
    /// create (1), create2 (15) or createContainer (19); `op` keeps which.
    Create {
        op: OpCode,
        req: CreateRequest,
    },
    CreateTtl(CreateTtlRequest),
    Delete(DeleteRequest),
    SetData(SetDataRequest),
    Check(CheckVersionRequest),
    GetChildren(GetChildrenRequest),
    GetData(GetDataRequest),
}

impl MultiOp {
    /// The op's type code in its `MultiHeader`.
    pub fn op_code(&self) -> OpCode {
        match self {
            MultiOp::Create { op, .. } => *op,
            MultiOp::CreateTtl(_) => OpCode::CreateTtl,
            MultiOp::Delete(_) => OpCode::Delete,
            MultiOp::SetData(_) => OpCode::SetData,
            MultiOp::Check(_) => OpCode::Check,
            MultiOp::GetChildren(_) => OpCode::GetChildren,
            MultiOp::GetData(_) => OpCode::GetData,
        }
    }

    /// The path the op names.
    pub fn path(&self) -> &str {
        match self {
            MultiOp::Create { req, .. } => &req.path,
            MultiOp::CreateTtl(r) => &r.path,
            MultiOp::Delete(r) => &r.path,
            MultiOp::SetData(r) => &r.path,
            MultiOp::Check(r) => &r.path,
            MultiOp::GetChildren(r) => &r.path,
            MultiOp::GetData(r) => &r.path,
        }
    }
}

/// A multi or multiRead request.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MultiRequest {
    pub ops: Vec<MultiOp>,
}

impl Record for MultiRequest {
    fn write(&self, buf: &mut BytesMut) {
        for op in &self.ops {
            MultiHeader {
                type_: op.op_code().code(),
                done: false,
                err: -1,
            }
            .write(buf);
            match op {
                MultiOp::Create { req, .. } => req.write(buf),
                MultiOp::CreateTtl(r) => r.write(buf),
                MultiOp::Delete(r) => r.write(buf),
                MultiOp::SetData(r) => r.write(buf),
                MultiOp::Check(r) => r.write(buf),
                MultiOp::GetChildren(r) => r.write(buf),
                MultiOp::GetData(r) => r.write(buf),
            }
        }
        MultiHeader {
            type_: -1,
            done: true,
            err: -1,
        }
        .write(buf);
    }

    fn read(buf: &mut Bytes) -> Result<Self, JuteError> {
        let mut ops = Vec::new();
        loop {
            let h = MultiHeader::read(buf)?;
            if h.done {
                return Ok(MultiRequest { ops });
            }
            let op = match OpCode::from_i32(h.type_) {
                Some(op @ (OpCode::Create | OpCode::Create2 | OpCode::CreateContainer)) => {
                    MultiOp::Create {
                        op,
                        req: CreateRequest::read(buf)?,
                    }
                }
                Some(OpCode::CreateTtl) => MultiOp::CreateTtl(CreateTtlRequest::read(buf)?),
                Some(OpCode::Delete) => MultiOp::Delete(DeleteRequest::read(buf)?),
                Some(OpCode::SetData) => MultiOp::SetData(SetDataRequest::read(buf)?),
                Some(OpCode::Check) => MultiOp::Check(CheckVersionRequest::read(buf)?),
                Some(OpCode::GetChildren) => MultiOp::GetChildren(GetChildrenRequest::read(buf)?),
                Some(OpCode::GetData) => MultiOp::GetData(GetDataRequest::read(buf)?),
                _ => return Err(JuteError::Invalid("invalid type of op in multi")),
            };
            ops.push(op);
        }
    }
}

/// One result inside a multi reply.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OpResult {
    Create { path: String },
    Create2 { path: String, stat: Stat },
    Delete,
    SetData { stat: Stat },
    Check,
    GetChildren { children: Vec<String> },
    GetData { data: Option<Bytes>, stat: Stat },
    Error { err: i32 },
}

impl OpResult {
    /// The result, borrowed.
    pub fn as_ref(&self) -> OpResultRef<'_> {
        match self {
            OpResult::Create { path } => OpResultRef::Create { path },
            OpResult::Create2 { path, stat } => OpResultRef::Create2 { path, stat },
            OpResult::Delete => OpResultRef::Delete,
            OpResult::SetData { stat } => OpResultRef::SetData { stat },
            OpResult::Check => OpResultRef::Check,
            OpResult::GetChildren { children } => OpResultRef::GetChildren { children },
            OpResult::GetData { data, stat } => OpResultRef::GetData { data, stat },
            OpResult::Error { err } => OpResultRef::Error { err: *err },
        }
    }
}

/// An [`OpResult`] borrowed from wherever its parts are kept, so a server
/// can write a reply without first copying every path and Stat into a
/// [`MultiResponse`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OpResultRef<'a> {
    Create {
        path: &'a String,
    },
    Create2 {
        path: &'a String,
        stat: &'a Stat,
    },
    Delete,
    SetData {
        stat: &'a Stat,
    },
    Check,
    GetChildren {
        children: &'a Vec<String>,
    },
    GetData {
        data: &'a Option<Bytes>,
        stat: &'a Stat,
    },
    Error {
        err: i32,
    },
}

impl OpResultRef<'_> {
    fn op_code(&self) -> i32 {
        match self {
            OpResultRef::Create { .. } => OpCode::Create.code(),
            OpResultRef::Create2 { .. } => OpCode::Create2.code(),
            OpResultRef::Delete => OpCode::Delete.code(),
            OpResultRef::SetData { .. } => OpCode::SetData.code(),
            OpResultRef::Check => OpCode::Check.code(),
            OpResultRef::GetChildren { .. } => OpCode::GetChildren.code(),
            OpResultRef::GetData { .. } => OpCode::GetData.code(),
            OpResultRef::Error { .. } => OpCode::Error.code(),
        }
    }

    /// Writes the result's `MultiHeader` and record.
    fn write(&self, buf: &mut BytesMut) {
        let err = if let OpResultRef::Error { err } = self {
            *err
        } else {
            0
        };
        MultiHeader {
            type_: self.op_code(),
            done: false,
            err,
        }
        .write(buf);
        match self {
            OpResultRef::Create { path } => path.write(buf),
            OpResultRef::Create2 { path, stat } => {
                path.write(buf);
                stat.write(buf);
            }
            OpResultRef::Delete | OpResultRef::Check => {}
            OpResultRef::SetData { stat } => stat.write(buf),
            OpResultRef::GetChildren { children } => children.write(buf),
            OpResultRef::GetData { data, stat } => {
                data.write(buf);
                stat.write(buf);
            }
            OpResultRef::Error { err } => err.write(buf),
        }
    }
}

/// Writes a `MultiResponse` body: each result, then the closing
/// `MultiHeader{-1, true, -1}`.
pub fn write_results<'a>(results: impl IntoIterator<Item = OpResultRef<'a>>, buf: &mut BytesMut) {
    for r in results {
        r.write(buf);
    }
    MultiHeader {
        type_: -1,
        done: true,
        err: -1,
    }
    .write(buf);
}

/// A multi or multiRead reply.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct MultiResponse {
    pub results: Vec<OpResult>,
}

impl Record for MultiResponse {
    fn write(&self, buf: &mut BytesMut) {
        write_results(self.results.iter().map(OpResult::as_ref), buf);
    }

    fn read(buf: &mut Bytes) -> Result<Self, JuteError> {
        let mut results = Vec::new();
        loop {
            let h = MultiHeader::read(buf)?;
            if h.done {
                return Ok(MultiResponse { results });
            }
            let r = match OpCode::from_i32(h.type_) {
                Some(OpCode::Create) => OpResult::Create {
                    path: String::read(buf)?,
                },
                Some(OpCode::Create2) => OpResult::Create2 {
                    path: String::read(buf)?,
                    stat: Stat::read(buf)?,
                },
                Some(OpCode::Delete) => OpResult::Delete,
                Some(OpCode::SetData) => OpResult::SetData {
                    stat: Stat::read(buf)?,
                },
                Some(OpCode::Check) => OpResult::Check,
                Some(OpCode::GetChildren) => OpResult::GetChildren {
                    children: Vec::<String>::read(buf)?,
                },
                Some(OpCode::GetData) => OpResult::GetData {
                    data: Option::<Bytes>::read(buf)?,
                    stat: Stat::read(buf)?,
                },
                Some(OpCode::Error) => OpResult::Error {
                    err: i32::read(buf)?,
                },
                _ => return Err(JuteError::Invalid("invalid type of result in multi")),
            };
            results.push(r);
        }
    }
}
