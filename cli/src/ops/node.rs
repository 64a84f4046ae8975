//! Single-znode methods: create*, delete, exists, get/set data, check, sync.

use crate::client::Client;
use crate::create_mode::CreateMode;
use crate::error::ZkError;
use crate::node_data::NodeData;
use bytes::Bytes;
use jute::data::{Acl, Stat};
use jute::proto::*;
use jute::{ErrorCode, OpCode};

impl Client {
    fn create_request(
        &self,
        path: &str,
        data: impl NodeData,
        acl: &[Acl],
        flags: i32,
    ) -> CreateRequest {
        CreateRequest {
            path: self.prefix(path),
            data: data.into_node_data(),
            acl: acl.to_vec(),
            flags,
        }
    }

    /// create (1): returns the created path (with any sequence suffix).
    pub async fn create(
        &self,
        path: &str,
        data: impl NodeData,
        acl: &[Acl],
        mode: CreateMode,
    ) -> Result<String, ZkError> {
        let req = self.create_request(path, data, acl, mode.flags());
        let resp: CreateResponse = self.call(OpCode::Create, &req).await?;
        Ok(self.strip(&resp.path))
    }

    /// create2 (15): returns the created path and its Stat.
    pub async fn create2(
        &self,
        path: &str,
        data: impl NodeData,
        acl: &[Acl],
        mode: CreateMode,
    ) -> Result<(String, Stat), ZkError> {
        let req = self.create_request(path, data, acl, mode.flags());
        let resp: Create2Response = self.call(OpCode::Create2, &req).await?;
        Ok((self.strip(&resp.path), resp.stat))
    }

    /// createContainer (19), with the container flags.
    pub async fn create_container(
        &self,
        path: &str,
        data: impl NodeData,
        acl: &[Acl],
    ) -> Result<(String, Stat), ZkError> {
        let req = self.create_request(path, data, acl, CreateMode::Container.flags());
        let resp: Create2Response = self.call(OpCode::CreateContainer, &req).await?;
        Ok((self.strip(&resp.path), resp.stat))
    }

    /// createTTL (21). `mode` and `ttl` are sent as given (no client-side check).
    pub async fn create_ttl(
        &self,
        path: &str,
        data: impl NodeData,
        acl: &[Acl],
        mode: CreateMode,
        ttl_ms: i64,
    ) -> Result<(String, Stat), ZkError> {
        let req = CreateTtlRequest {
            path: self.prefix(path),
            data: data.into_node_data(),
            acl: acl.to_vec(),
            flags: mode.flags(),
            ttl: ttl_ms,
        };
        let resp: Create2Response = self.call(OpCode::CreateTtl, &req).await?;
        Ok((self.strip(&resp.path), resp.stat))
    }

    /// delete (2); `version` −1 matches any version.
    pub async fn delete(&self, path: &str, version: i32) -> Result<(), ZkError> {
        let req = DeleteRequest {
            path: self.prefix(path),
            version,
        };
        self.call_unit(OpCode::Delete, &req).await
    }

    /// exists (3): `None` when the node does not exist (the watch, if asked
    /// for, is still set and fires on creation).
    pub async fn exists(&self, path: &str, watch: bool) -> Result<Option<Stat>, ZkError> {
        let req = ExistsRequest {
            path: self.prefix(path),
            watch,
        };
        let reply = self
            .submit(None, OpCode::Exists.code(), jute::to_bytes(&req))
            .await?;
        if reply.header.err == ErrorCode::NoNode.code() {
            return Ok(None);
        }
        let resp: ExistsResponse = reply.ok()?.decode()?;
        Ok(Some(resp.stat))
    }

    /// getData (4): the data (`None` = null, distinct from empty) and Stat.
    pub async fn get_data(
        &self,
        path: &str,
        watch: bool,
    ) -> Result<(Option<Bytes>, Stat), ZkError> {
        let req = GetDataRequest {
            path: self.prefix(path),
            watch,
        };
        let resp: GetDataResponse = self.call(OpCode::GetData, &req).await?;
        Ok((resp.data, resp.stat))
    }

    /// setData (5); `version` −1 matches any version.
    pub async fn set_data(
        &self,
        path: &str,
        data: impl NodeData,
        version: i32,
    ) -> Result<Stat, ZkError> {
        let req = SetDataRequest {
            path: self.prefix(path),
            data: data.into_node_data(),
            version,
        };
        let resp: SetDataResponse = self.call(OpCode::SetData, &req).await?;
        Ok(resp.stat)
    }

    /// check (13) outside a multi. Servers that answer it (3.8.4+, ours)
    /// send a Stat, returned here; an empty body gives `None`. Apache 3.8.0
    /// never answers a standalone check, so against it this call hangs until
    /// the next reply arrives out of order and the connection is closed.
    pub async fn check(&self, path: &str, version: i32) -> Result<Option<Stat>, ZkError> {
        let req = CheckVersionRequest {
            path: self.prefix(path),
            version,
        };
        let reply = self
            .submit(None, OpCode::Check.code(), jute::to_bytes(&req))
            .await?
            .ok()?;
        if reply.body.is_empty() {
            return Ok(None);
        }
        let resp: SetDataResponse = reply.decode()?;
        Ok(Some(resp.stat))
    }

    /// sync (9): returns the path the server echoes.
    pub async fn sync(&self, path: &str) -> Result<String, ZkError> {
        let req = SyncRequest {
            path: self.prefix(path),
        };
        let resp: SyncResponse = self.call(OpCode::Sync, &req).await?;
        Ok(self.strip(&resp.path))
    }

    /// getConfig: getData (4) of `/zookeeper/config`, sent without the
    /// chroot (the config node lives outside every chroot).
    pub async fn get_config(&self, watch: bool) -> Result<(Option<Bytes>, Stat), ZkError> {
        let req = GetDataRequest {
            path: "/zookeeper/config".to_string(),
            watch,
        };
        let resp: GetDataResponse = self.call(OpCode::GetData, &req).await?;
        Ok((resp.data, resp.stat))
    }
}
