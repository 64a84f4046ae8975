//! The zkserver library: a ZooKeeper-compatible coordination server.
//!
//! Map (see ARCHITECTURE.md): `core` is the pure state machine and request
//! processor (no I/O, no clocks); `net` accepts client connections and frames
//! bytes; `runner` is the single-writer task that owns the core and moves
//! bytes between it and the connections; `config` reads `zoo.cfg`.

pub mod admin;
pub mod config;
pub mod core;
pub mod ctl;
pub mod logging;
pub mod metrics;
pub mod net;
pub mod notify;
pub mod quorum;
pub mod runner;
pub mod storage;
pub mod tools;
