//! Client connections (being written).
