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
//! - [`ensemble`]: an ensemble of real processes (ours and/or Apache's) on
//!   127.0.0.1 that a test starts, kills, pauses and restarts member by
//!   member; trees read from every member for comparison.
//! - [`netns`]: network namespaces on a bridge, one per ensemble member,
//!   whose links a test cuts and heals (the partition tests).
//! - [`scenarios`]: hand-written op sequences (minimal reproductions).

pub mod acked;
pub mod ensemble;
pub mod gen;
pub mod harness;
pub mod linearizability;
pub mod load;
pub mod netns;
pub mod raw_client;
pub mod reference_peer;
pub mod scenarios;
pub mod servers;
