//! Session-level methods: addAuth, whoAmI, reconfig.

use crate::client::Client;
use crate::error::ZkError;
use bytes::{BufMut, Bytes, BytesMut};
use jute::data::{ClientInfo, Stat};
use jute::proto::*;
use jute::OpCode;

impl Client {
    /// auth (100, xid −4). On success the credentials are remembered and
    /// replayed by `reconnect`. A rejected scheme answers AuthFailed (−115),
    /// delivers an `AuthFailed` state event, and the server then closes the
    /// connection.
    pub async fn add_auth(&self, scheme: &str, auth: &[u8]) -> Result<(), ZkError> {
        let auth = Bytes::copy_from_slice(auth);
        let req = AuthPacket {
            type_: 0,
            scheme: scheme.to_string(),
            auth: Some(auth.clone()),
        };
        self.call_unit(OpCode::Auth, &req).await?;
        self.remember_auth(scheme, auth);
        Ok(())
    }

    /// whoAmI (107): the identities this session authenticated as.
    pub async fn whoami(&self) -> Result<Vec<ClientInfo>, ZkError> {
        let reply = self
            .submit(None, OpCode::WhoAmI.code(), Bytes::new())
            .await?
            .ok()?;
        let resp: WhoAmIResponse = reply.decode()?;
        Ok(resp.client_info)
    }

    /// reconfig (16): returns the new config data and the config node's Stat.
    /// `None` strings are sent as jute null (what Apache's client sends for
    /// the unused arguments of an incremental or non-incremental reconfig).
    pub async fn reconfig(
        &self,
        joining_servers: Option<&str>,
        leaving_servers: Option<&str>,
        new_members: Option<&str>,
        from_config: i64,
    ) -> Result<(Option<Bytes>, Stat), ZkError> {
        let mut body = BytesMut::new();
        for s in [joining_servers, leaving_servers, new_members] {
            match s {
                None => body.put_i32(-1),
                Some(s) => {
                    body.put_i32(s.len() as i32);
                    body.put_slice(s.as_bytes());
                }
            }
        }
        body.put_i64(from_config);
        let reply = self
            .submit(None, OpCode::Reconfig.code(), body.freeze())
            .await?
            .ok()?;
        let resp: GetDataResponse = reply.decode()?;
        Ok((resp.data, resp.stat))
    }
}
