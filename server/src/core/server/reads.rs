//! Reads: answered from the applied tree, in the connection's order.
#![allow(clippy::wildcard_imports)]
use super::*;

impl Server {
    pub(super) fn read(&mut self, conn: ConnId, op: OpCode, body: &mut Bytes) -> ReadResult {
        let bad = |_| ErrorCode::MarshallingError;
        match op {
            OpCode::Exists => {
                let r = ExistsRequest::read(body).map_err(bad)?;
                if r.path.contains('\0') {
                    return Err(ErrorCode::BadArguments);
                }
                if r.watch {
                    self.watches.data.add(&r.path, conn, WatchMode::Standard);
                }
                let n = self.tree.get(&r.path).ok_or(ErrorCode::NoNode)?;
                let stat = n.client_stat(self.config.extended_types_enabled);
                Ok(encode(&ExistsResponse { stat }))
            }
            OpCode::GetData => {
                let r = GetDataRequest::read(body).map_err(bad)?;
                let rsp = self.get_data(conn, &r)?;
                Ok(encode(&rsp))
            }
            OpCode::GetAcl => {
                let r = GetAclRequest::read(body).map_err(bad)?;
                let n = self.tree.get(&r.path).ok_or(ErrorCode::NoNode)?;
                let acl = self.tree.acl_of(n);
                // The order does not matter to a check; this one is kept.
                let auth = self.auth_in_java_order(conn);
                if !acl::check(&self.policy, &acl, perms::READ | perms::ADMIN, &auth) {
                    return Err(ErrorCode::NoAuth);
                }
                let stat = n.client_stat(self.config.extended_types_enabled);
                let shown = if acl::check(&self.policy, &acl, perms::ADMIN, &auth) {
                    acl.to_vec()
                } else {
                    acl::mask_digests(acl.to_vec())
                };
                Ok(encode(&GetAclResponse { acl: shown, stat }))
            }
            // Both replies are written straight from the tree
            // (`GetChildrenResponse` / `GetChildren2Response` layouts).
            OpCode::GetChildren => {
                let r = GetChildrenRequest::read(body).map_err(bad)?;
                self.children_checked(conn, &r.path, r.watch)?;
                let n = self.tree.get(&r.path).ok_or(ErrorCode::NoNode)?;
                let mut b = ReplyBody::with_capacity(0);
                self.tree.write_children(n, b.buf());
                Ok(Some(b))
            }
            OpCode::GetChildren2 => {
                let r = GetChildren2Request::read(body).map_err(bad)?;
                self.children_checked(conn, &r.path, r.watch)?;
                let n = self.tree.get(&r.path).ok_or(ErrorCode::NoNode)?;
                let mut b = ReplyBody::with_capacity(0);
                self.tree.write_children(n, b.buf());
                n.client_stat(self.config.extended_types_enabled)
                    .write(b.buf());
                Ok(Some(b))
            }
            OpCode::GetAllChildrenNumber => {
                let r = GetAllChildrenNumberRequest::read(body).map_err(bad)?;
                let n = self.tree.get(&r.path).ok_or(ErrorCode::NoNode)?;
                self.check_read(conn, n.acl)?;
                let total_number = self.tree.all_children_number(&r.path);
                Ok(encode(&GetAllChildrenNumberResponse { total_number }))
            }
            OpCode::GetEphemerals => {
                let r = GetEphemeralsRequest::read(body).map_err(bad)?;
                let session = self.conns.get(&conn).map_or(0, |c| c.session_id);
                let all = self.tree.ephemerals_of(session);
                let prefix = r.prefix_path.trim();
                let ephemerals = if prefix.is_empty() || prefix == "/" {
                    all
                } else {
                    all.into_iter()
                        .filter(|p| p.starts_with(&r.prefix_path))
                        .collect()
                };
                Ok(encode(&GetEphemeralsResponse { ephemerals }))
            }
            OpCode::WhoAmI => {
                let client_info = self
                    .auth_in_java_order(conn)
                    .iter()
                    .map(|id| ClientInfo {
                        auth_scheme: id.scheme.clone(),
                        user: acl::user_name(id),
                    })
                    .collect();
                Ok(encode(&WhoAmIResponse { client_info }))
            }
            OpCode::Sync => {
                let r = SyncRequest::read(body).map_err(bad)?;
                Ok(encode(&SyncResponse { path: r.path }))
            }
            OpCode::AddWatch => {
                let r = AddWatchRequest::read(body).map_err(bad)?;
                match r.mode {
                    add_watch_mode::PERSISTENT => {
                        self.watches.data.add(&r.path, conn, WatchMode::Persistent);
                        self.watches.child.add(&r.path, conn, WatchMode::Persistent);
                    }
                    // Both modes go into both tables, as ZooKeeper 3.8 does: a
                    // recursive entry in the child table is what removeWatches
                    // (CHILDREN) finds, and it still reports NodeDeleted.
                    add_watch_mode::PERSISTENT_RECURSIVE => {
                        self.watches
                            .data
                            .add(&r.path, conn, WatchMode::PersistentRecursive);
                        self.watches
                            .child
                            .add(&r.path, conn, WatchMode::PersistentRecursive);
                    }
                    _ => return Err(ErrorCode::MarshallingError),
                }
                Ok(encode(&ErrorResponse { err: 0 }))
            }
            OpCode::CheckWatches | OpCode::RemoveWatches => {
                let r = CheckWatchesRequest::read(body).map_err(bad)?;
                let (data, child) = match r.type_ {
                    watcher_type::CHILDREN => (false, true),
                    watcher_type::DATA => (true, false),
                    watcher_type::ANY => (true, true),
                    _ => return Err(ErrorCode::MarshallingError),
                };
                // ZooKeeper 3.8's checkWatches asks whether the table has *any*
                // watcher on the exact path, whichever connection set it.
                let found = if op == OpCode::CheckWatches {
                    let c = if child {
                        self.watches.child.contains_any(&r.path)
                    } else {
                        Ok(false)
                    };
                    let d = if data {
                        self.watches.data.contains_any(&r.path)
                    } else {
                        Ok(false)
                    };
                    match (c, d) {
                        (Ok(c), Ok(d)) => c || d,
                        _ => return Err(ErrorCode::MarshallingError),
                    }
                } else {
                    let c = child && self.watches.child.remove(&r.path, conn);
                    let d = data && self.watches.data.remove(&r.path, conn);
                    c || d
                };
                if found {
                    Ok(None)
                } else {
                    Err(ErrorCode::NoWatcher)
                }
            }
            _ => Err(ErrorCode::Unimplemented),
        }
    }

    /// The connection's auth ids in the order ZooKeeper iterates them (whoAmI,
    /// the expansion of the `auth` ACL scheme), shared rather than copied.
    pub(super) fn auth_in_java_order(&self, conn: ConnId) -> Arc<[Id]> {
        self.conns
            .get(&conn)
            .map_or_else(|| Arc::from([]), |c| c.auth_java.clone())
    }

    pub(super) fn check_read(&self, conn: ConnId, acl_index: i64) -> Result<(), ErrorCode> {
        let acl = self.tree.acl_cache.get(acl_index);
        let auth = self
            .conns
            .get(&conn)
            .map(|c| c.auth.as_slice())
            .unwrap_or(&[]);
        if acl::check(&self.policy, &acl, perms::READ, auth) {
            Ok(())
        } else {
            Err(ErrorCode::NoAuth)
        }
    }

    pub(super) fn get_data(
        &mut self,
        conn: ConnId,
        r: &GetDataRequest,
    ) -> Result<GetDataResponse, ErrorCode> {
        let n = self.tree.get(&r.path).ok_or(ErrorCode::NoNode)?;
        self.check_read(conn, n.acl)?;
        let rsp = GetDataResponse {
            data: n.data().map(Bytes::copy_from_slice),
            stat: n.client_stat(self.config.extended_types_enabled),
        };
        if r.watch {
            self.watches.data.add(&r.path, conn, WatchMode::Standard);
        }
        Ok(rsp)
    }

    pub(super) fn get_children(
        &mut self,
        conn: ConnId,
        p: &str,
        watch: bool,
    ) -> Result<Vec<String>, ErrorCode> {
        self.children_checked(conn, p, watch)?;
        let n = self.tree.get(p).ok_or(ErrorCode::NoNode)?;
        Ok(self.tree.children_of(n))
    }

    /// getChildren's checks (the node exists, READ), then its watch.
    fn children_checked(&mut self, conn: ConnId, p: &str, watch: bool) -> Result<(), ErrorCode> {
        let acl = self.tree.get(p).ok_or(ErrorCode::NoNode)?.acl;
        self.check_read(conn, acl)?;
        if watch {
            self.watches.child.add(p, conn, WatchMode::Standard);
        }
        Ok(())
    }

    /// multiRead: each op answers on its own; a write op inside it makes the
    /// whole request a marshalling error. multiRead never sets watches.
    pub(super) fn multi_read(
        &mut self,
        conn: ConnId,
        body: &mut Bytes,
    ) -> (ErrorCode, Option<ReplyBody>) {
        let Ok(req) = MultiRequest::read(body) else {
            return (ErrorCode::MarshallingError, None);
        };
        // ZooKeeper refuses to decode a request that mixes reads and writes.
        if req.ops.iter().any(is_read_op) && !req.ops.iter().all(is_read_op) {
            return (ErrorCode::MarshallingError, None);
        }
        let mut results = Vec::with_capacity(req.ops.len());
        for op in &req.ops {
            let r = match op {
                // ZooKeeper rebuilds multiRead ops without their watch flag,
                // so no watch is ever set by a multiRead.
                MultiOp::GetChildren(g) => match self.get_children(conn, &g.path, false) {
                    Ok(children) => OpResult::GetChildren { children },
                    Err(e) => OpResult::Error { err: e.code() },
                },
                MultiOp::GetData(g) => match self.get_data(
                    conn,
                    &GetDataRequest {
                        path: g.path.clone(),
                        watch: false,
                    },
                ) {
                    Ok(r) => OpResult::GetData {
                        data: r.data,
                        stat: r.stat,
                    },
                    Err(e) => OpResult::Error { err: e.code() },
                },
                // All ops are writes here (mixed requests were refused
                // above): the first fails the request, which the reference
                // answers with an empty MultiResponse.
                _ => {
                    return (
                        ErrorCode::MarshallingError,
                        encode(&MultiResponse::default()),
                    )
                }
            };
            results.push(r);
        }
        (ErrorCode::Ok, encode(&MultiResponse { results }))
    }
}
