//! Shared helpers for the integration tests.
//!
//! - [`servers`]: start/stop Apache ZooKeeper 3.8.0 and our `zkserver` on free
//!   ports with temporary data directories.
//! - [`raw_client`]: a minimal raw-frame async client.
//! - [`gen`]: the seeded operation generator of the differential test.
//! - [`harness`]: runs generated operations against one server and
//!   normalises the replies for comparison.
//! - [`reference_peer`]: an Apache ZooKeeper ensemble member for the
//!   ensemble tests.
//! - [`scenarios`]: hand-written op sequences (minimal reproductions).

pub mod gen;
pub mod harness;
pub mod raw_client;
pub mod reference_peer;
pub mod scenarios;
pub mod servers;
