//! `EphemeralType`: what a node's `ephemeralOwner` encodes. 0 is a plain
//! node; `0x8000000000000000` a container; a top byte of 0xFF (with extended
//! types on) an extended type whose bits 40–55 name it (0 = TTL) and whose low
//! 40 bits hold the TTL in ms; anything else is the owning session's id.

/// The container marker.
pub const CONTAINER_EPHEMERAL_OWNER: i64 = i64::MIN;
const EXTENDED_MASK: i64 = 0xff00_0000_0000_0000_u64 as i64;
const EXTENDED_TYPE_MASK: i64 = 0x00ff_ff00_0000_0000;
const TTL_VALUE_MASK: i64 = 0x0000_00ff_ffff_ffff;
/// Largest TTL ZooKeeper accepts, in ms.
pub const TTL_MAX_MS: i64 = TTL_VALUE_MASK;

/// A node's kind by its ephemeral owner.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EphemeralType {
    Void,
    Normal,
    Container,
    Ttl,
}

/// Decodes an ephemeral owner.
pub fn ephemeral_type(owner: i64, extended_types_enabled: bool) -> EphemeralType {
    if extended_types_enabled && owner & EXTENDED_MASK == EXTENDED_MASK {
        return if owner & EXTENDED_TYPE_MASK == 0 {
            EphemeralType::Ttl
        } else {
            EphemeralType::Void
        };
    }
    if owner == CONTAINER_EPHEMERAL_OWNER {
        EphemeralType::Container
    } else if owner == 0 {
        EphemeralType::Void
    } else {
        EphemeralType::Normal
    }
}

/// The owner value for a TTL node.
pub fn ttl_owner(ttl_ms: i64) -> i64 {
    EXTENDED_MASK | (ttl_ms & TTL_VALUE_MASK)
}

/// The TTL of a TTL node's owner value.
pub fn ttl_of(owner: i64) -> i64 {
    owner & TTL_VALUE_MASK
}

/// Whether `ttl` is a valid TTL value.
pub fn ttl_valid(ttl_ms: i64) -> bool {
    ttl_ms > 0 && ttl_ms <= TTL_MAX_MS
}
