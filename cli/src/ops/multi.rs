//! multi (14) and multiRead (22).

use crate::client::Client;
use crate::error::ZkError;
use jute::multi::{MultiOp, MultiRequest, MultiResponse, OpResult};
use jute::OpCode;

impl Client {
    fn chroot_op(&self, op: MultiOp) -> MultiOp {
        match op {
            MultiOp::Create { op, mut req } => {
                req.path = self.prefix(&req.path);
                MultiOp::Create { op, req }
            }
            MultiOp::CreateTtl(mut r) => {
                r.path = self.prefix(&r.path);
                MultiOp::CreateTtl(r)
            }
            MultiOp::Delete(mut r) => {
                r.path = self.prefix(&r.path);
                MultiOp::Delete(r)
            }
            MultiOp::SetData(mut r) => {
                r.path = self.prefix(&r.path);
                MultiOp::SetData(r)
            }
            MultiOp::Check(mut r) => {
                r.path = self.prefix(&r.path);
                MultiOp::Check(r)
            }
            MultiOp::GetChildren(mut r) => {
                r.path = self.prefix(&r.path);
                MultiOp::GetChildren(r)
            }
            MultiOp::GetData(mut r) => {
                r.path = self.prefix(&r.path);
                MultiOp::GetData(r)
            }
        }
    }

    fn unchroot_result(&self, result: OpResult) -> OpResult {
        match result {
            OpResult::Create { path } => OpResult::Create {
                path: self.strip(&path),
            },
            OpResult::Create2 { path, stat } => OpResult::Create2 {
                path: self.strip(&path),
                stat,
            },
            other => other,
        }
    }

    async fn multi_op(&self, code: OpCode, ops: Vec<MultiOp>) -> Result<Vec<OpResult>, ZkError> {
        let req = MultiRequest {
            ops: ops.into_iter().map(|op| self.chroot_op(op)).collect(),
        };
        let resp: MultiResponse = self.call(code, &req).await?;
        Ok(resp
            .results
            .into_iter()
            .map(|r| self.unchroot_result(r))
            .collect())
    }

    /// multi (14): all ops commit or none do. A failed multi is still
    /// `Ok`: its results are `Error{0}` before the failing op, the real
    /// error for it, and `Error{-2}` (RuntimeInconsistency) after it. Build
    /// ops with [`crate::op`].
    pub async fn multi(&self, ops: Vec<MultiOp>) -> Result<Vec<OpResult>, ZkError> {
        self.multi_op(OpCode::Multi, ops).await
    }

    /// multiRead (22): getData/getChildren ops, each answered independently.
    pub async fn multi_read(&self, ops: Vec<MultiOp>) -> Result<Vec<OpResult>, ZkError> {
        self.multi_op(OpCode::MultiRead, ops).await
    }
}
