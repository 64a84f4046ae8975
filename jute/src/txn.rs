//! `module org.apache.zookeeper.txn`: the records written to the txn log and
//! carried in quorum proposals.

use crate::data::Acl;
use crate::jute_record;
use bytes::Bytes;

jute_record!(TxnDigest {
    version: i32,
    tree_digest: i64
});
jute_record!(TxnHeader {
    client_id: i64,
    cxid: i32,
    zxid: i64,
    time: i64,
    type_: i32
});
jute_record!(CreateTxnV0 { path: String, data: Option<Bytes>, acl: Vec<Acl>, ephemeral: bool });
jute_record!(CreateTxn {
    path: String,
    data: Option<Bytes>,
    acl: Vec<Acl>,
    ephemeral: bool,
    parent_c_version: i32,
});
jute_record!(CreateTtlTxn {
    path: String,
    data: Option<Bytes>,
    acl: Vec<Acl>,
    parent_c_version: i32,
    ttl: i64,
});
jute_record!(CreateContainerTxn {
    path: String,
    data: Option<Bytes>,
    acl: Vec<Acl>,
    parent_c_version: i32,
});
jute_record!(DeleteTxn { path: String });
jute_record!(SetDataTxn { path: String, data: Option<Bytes>, version: i32 });
jute_record!(CheckVersionTxn {
    path: String,
    version: i32
});
jute_record!(SetAclTxn { path: String, acl: Vec<Acl>, version: i32 });
jute_record!(SetMaxChildrenTxn {
    path: String,
    max: i32
});
jute_record!(CreateSessionTxn { time_out: i32 });
jute_record!(CloseSessionTxn { paths2_delete: Vec<String> });
jute_record!(ErrorTxn { err: i32 });
jute_record!(Txn { type_: i32, data: Option<Bytes> });
jute_record!(MultiTxn { txns: Vec<Txn> });
