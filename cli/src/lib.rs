//! An async ZooKeeper client (protocol of Apache ZooKeeper 3.8), used by the
//! integration and differential tests, the load tool and the `zkcli` shell.
//!
//! ```no_run
//! # async fn demo() -> Result<(), zk_client::ZkError> {
//! use zk_client::{Acl, Client, CreateMode};
//! use std::time::Duration;
//! let zk = Client::connect("127.0.0.1:2181/app", Duration::from_secs(10)).await?;
//! let path = zk.create("/job-", b"x", &Acl::open_unsafe(), CreateMode::PersistentSequential).await?;
//! let (data, stat) = zk.get_data(&path, true).await?;
//! # let _ = (data, stat); Ok(()) }
//! ```
//!
//! Structure: a [`Client`] owns one connection at a time; each connection is
//! a writer task and a reader task around one TCP stream (`conn`).
//!
//! Invariants:
//! - Replies are matched FIFO per reply stream (ordinary xids; pings −2;
//!   auth −4; setWatches −8); an ordinary reply out of order closes the
//!   connection with `ConnectionLoss`.
//! - A notification (xid −1) is delivered to the event channel before the
//!   reply that follows it on the wire is handed to its caller.
//! - Every queue is bounded: [`REQUEST_QUEUE_CAPACITY`] requests waiting for
//!   the writer, [`MAX_IN_FLIGHT`] on the wire, the event channel
//!   ([`DEFAULT_EVENT_CAPACITY`] unless the caller supplies one), frames of at
//!   most [`DEFAULT_MAX_FRAME_BYTES`] unless configured.
//! - Nothing a server sends can panic the client: malformed frames or bodies
//!   close the connection and fail the affected calls with `ConnectionLoss`.
//! - When the connection is lost, every pending call fails with
//!   `ConnectionLoss` and a `Disconnected` event is delivered; the client
//!   does not reconnect by itself ([`Client::reconnect`]).
//! - Pings are sent every negotiated timeout / 3 when nothing else was
//!   written; silence for 2/3 of the timeout counts as a lost connection.

mod acl;
mod builder;
mod chroot;
mod client;
mod conn;
mod connect_string;
mod create_mode;
mod error;
mod event;
mod node_data;
pub mod op;
mod ops;
mod session;
mod watch_set;

pub use acl::{digest_acl, digest_id};
pub use builder::{ClientBuilder, DEFAULT_MAX_FRAME_BYTES, DEFAULT_SESSION_TIMEOUT};
pub use chroot::Chroot;
pub use client::Client;
pub use conn::shared::MAX_IN_FLIGHT;
pub use conn::writer::{WRITE_BATCH_BYTES, WRITE_BATCH_FRAMES};
pub use conn::{HANDSHAKE_MAX_BYTES, REQUEST_QUEUE_CAPACITY};
pub use connect_string::{ConnectString, HostPort, DEFAULT_PORT};
pub use create_mode::CreateMode;
pub use error::ZkError;
pub use event::{WatchedEvent, DEFAULT_EVENT_CAPACITY};
pub use node_data::{NodeData, NO_DATA};
pub use session::PASSWORD_LEN;
pub use watch_set::{WatchKind, WatchSet};

pub use jute;
pub use jute::data::{Acl, ClientInfo, Id, Stat};
pub use jute::multi::{MultiOp, OpResult};
pub use jute::proto::{add_watch_mode, event_type, keeper_state, watcher_type, ReplyHeader};
pub use jute::{ErrorCode, OpCode};
