//! Txns: what prep decides and apply executes. Every nondeterministic choice
//! (zxid, time, session id, sequential suffix, parent cversion) is already in
//! the txn, so applying the same txns in the same order gives the same tree.

use bytes::{BufMut, Bytes, BytesMut};
use jute::txn::*;
use jute::{OpCode, Record};

/// A txn: ZooKeeper's `TxnHeader` plus its record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Txn {
    pub header: TxnHeader,
    pub body: TxnBody,
}

/// The record of a txn, by kind.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxnBody {
    Create(CreateTxn),
    CreateContainer(CreateContainerTxn),
    CreateTtl(CreateTtlTxn),
    /// delete and deleteContainer (the header's type tells which).
    Delete(DeleteTxn),
    SetData(SetDataTxn),
    SetAcl(SetAclTxn),
    Check(CheckVersionTxn),
    CreateSession(CreateSessionTxn),
    CloseSession(CloseSessionTxn),
    Error(ErrorTxn),
    Multi(Vec<SubTxn>),
}

/// One txn inside a multi, with its own type code.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SubTxn {
    pub type_: i32,
    pub body: TxnBody,
}

impl TxnBody {
    /// Serializes the record as it goes into the log.
    pub fn write(&self, buf: &mut BytesMut) {
        match self {
            TxnBody::Create(t) => t.write(buf),
            TxnBody::CreateContainer(t) => t.write(buf),
            TxnBody::CreateTtl(t) => t.write(buf),
            TxnBody::Delete(t) => t.write(buf),
            TxnBody::SetData(t) => t.write(buf),
            TxnBody::SetAcl(t) => t.write(buf),
            TxnBody::Check(t) => t.write(buf),
            TxnBody::CreateSession(t) => t.write(buf),
            TxnBody::CloseSession(t) => t.write(buf),
            TxnBody::Error(t) => t.write(buf),
            TxnBody::Multi(subs) => {
                // ZooKeeper's `MultiTxn { vector<Txn> txns }`, each `Txn`
                // being `{ int type; buffer data }`: written in place, the
                // buffer's length filled in after its record, rather than
                // each record serialized into its own buffer first.
                buf.put_i32(subs.len() as i32);
                for s in subs {
                    buf.put_i32(s.type_);
                    let at = buf.len();
                    buf.put_i32(0);
                    s.body.write(buf);
                    let len = (buf.len() - at - 4) as i32;
                    buf[at..at + 4].copy_from_slice(&len.to_be_bytes());
                }
            }
        }
    }

    /// Reads the record for txn type `type_`.
    pub fn read(type_: i32, buf: &mut Bytes) -> Result<TxnBody, jute::JuteError> {
        Ok(match OpCode::from_i32(type_) {
            Some(OpCode::Create | OpCode::Create2) => TxnBody::Create(CreateTxn::read(buf)?),
            Some(OpCode::CreateContainer) => {
                TxnBody::CreateContainer(CreateContainerTxn::read(buf)?)
            }
            Some(OpCode::CreateTtl) => TxnBody::CreateTtl(CreateTtlTxn::read(buf)?),
            Some(OpCode::Delete | OpCode::DeleteContainer) => {
                TxnBody::Delete(DeleteTxn::read(buf)?)
            }
            Some(OpCode::SetData) => TxnBody::SetData(SetDataTxn::read(buf)?),
            Some(OpCode::SetAcl) => TxnBody::SetAcl(SetAclTxn::read(buf)?),
            Some(OpCode::Check) => TxnBody::Check(CheckVersionTxn::read(buf)?),
            Some(OpCode::CreateSession) => TxnBody::CreateSession(CreateSessionTxn::read(buf)?),
            Some(OpCode::CloseSession) => {
                // Older logs have no CloseSessionTxn record at all.
                if buf.is_empty() {
                    TxnBody::CloseSession(CloseSessionTxn::default())
                } else {
                    TxnBody::CloseSession(CloseSessionTxn::read(buf)?)
                }
            }
            Some(OpCode::Error) => TxnBody::Error(ErrorTxn::read(buf)?),
            Some(OpCode::Multi) => {
                let m = MultiTxn::read(buf)?;
                let mut subs = Vec::with_capacity(m.txns.len());
                for t in m.txns {
                    let mut data = t.data.unwrap_or_default();
                    subs.push(SubTxn {
                        type_: t.type_,
                        body: TxnBody::read(t.type_, &mut data)?,
                    });
                }
                TxnBody::Multi(subs)
            }
            _ => return Err(jute::JuteError::Invalid("unknown txn type")),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// The in-place multi encoding is byte for byte jute's `MultiTxn` of
    /// `Txn { type, data }` records, each holding its record's bytes.
    #[test]
    fn multi_is_written_as_jutes_multi_txn() {
        let subs = vec![
            SubTxn {
                type_: OpCode::SetData.code(),
                body: TxnBody::SetData(SetDataTxn {
                    path: "/a".into(),
                    data: Some(Bytes::from_static(b"xyz")),
                    version: 3,
                }),
            },
            SubTxn {
                type_: OpCode::Delete.code(),
                body: TxnBody::Delete(DeleteTxn {
                    path: "/b/c".into(),
                }),
            },
            SubTxn {
                type_: OpCode::Error.code(),
                body: TxnBody::Error(ErrorTxn { err: -101 }),
            },
        ];
        let txns = subs
            .iter()
            .map(|s| {
                let mut b = BytesMut::new();
                s.body.write(&mut b);
                jute::txn::Txn {
                    type_: s.type_,
                    data: Some(b.freeze()),
                }
            })
            .collect();
        let mut want = BytesMut::new();
        MultiTxn { txns }.write(&mut want);
        let mut got = BytesMut::new();
        TxnBody::Multi(subs.clone()).write(&mut got);
        assert_eq!(got, want);
        let back = TxnBody::read(OpCode::Multi.code(), &mut got.freeze()).unwrap();
        assert_eq!(back, TxnBody::Multi(subs));
    }
}
