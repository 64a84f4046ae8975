//! Leader and learners wired by hand.
