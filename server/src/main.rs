//! The `zkserver` binary (being written).
fn main() {}
