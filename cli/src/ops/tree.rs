//! Children, counts, ephemerals and ACL methods.

use crate::client::Client;
use crate::error::ZkError;
use jute::data::{Acl, Stat};
use jute::proto::*;
use jute::OpCode;

impl Client {
    /// getChildren (8): child names (not paths).
    pub async fn get_children(&self, path: &str, watch: bool) -> Result<Vec<String>, ZkError> {
        let req = GetChildrenRequest {
            path: self.prefix(path),
            watch,
        };
        let resp: GetChildrenResponse = self.call(OpCode::GetChildren, &req).await?;
        Ok(resp.children)
    }

    /// getChildren2 (12): child names and the parent's Stat.
    pub async fn get_children2(
        &self,
        path: &str,
        watch: bool,
    ) -> Result<(Vec<String>, Stat), ZkError> {
        let req = GetChildren2Request {
            path: self.prefix(path),
            watch,
        };
        let resp: GetChildren2Response = self.call(OpCode::GetChildren2, &req).await?;
        Ok((resp.children, resp.stat))
    }

    /// getAllChildrenNumber (104): the number of descendants.
    pub async fn get_all_children_number(&self, path: &str) -> Result<i32, ZkError> {
        let req = GetAllChildrenNumberRequest {
            path: self.prefix(path),
        };
        let resp: GetAllChildrenNumberResponse =
            self.call(OpCode::GetAllChildrenNumber, &req).await?;
        Ok(resp.total_number)
    }

    /// getEphemerals (103): this session's ephemeral paths under `prefix_path`.
    pub async fn get_ephemerals(&self, prefix_path: &str) -> Result<Vec<String>, ZkError> {
        let req = GetEphemeralsRequest {
            prefix_path: self.prefix(prefix_path),
        };
        let resp: GetEphemeralsResponse = self.call(OpCode::GetEphemerals, &req).await?;
        Ok(resp.ephemerals.iter().map(|p| self.strip(p)).collect())
    }

    /// getACL (6): the ACL and Stat.
    pub async fn get_acl(&self, path: &str) -> Result<(Vec<Acl>, Stat), ZkError> {
        let req = GetAclRequest {
            path: self.prefix(path),
        };
        let resp: GetAclResponse = self.call(OpCode::GetAcl, &req).await?;
        Ok((resp.acl, resp.stat))
    }

    /// setACL (7); `version` is the ACL version (aversion), −1 for any.
    pub async fn set_acl(&self, path: &str, acl: &[Acl], version: i32) -> Result<Stat, ZkError> {
        let req = SetAclRequest {
            path: self.prefix(path),
            acl: acl.to_vec(),
            version,
        };
        let resp: SetAclResponse = self.call(OpCode::SetAcl, &req).await?;
        Ok(resp.stat)
    }
}
