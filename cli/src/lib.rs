//! Async ZooKeeper client library (being written).
