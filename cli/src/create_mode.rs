//! [`CreateMode`]: the `flags` of a create request (`CreateMode.java`).

use jute::proto::create_mode as flags;

/// How a znode is created.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CreateMode {
    Persistent,
    Ephemeral,
    PersistentSequential,
    EphemeralSequential,
    Container,
    PersistentWithTtl,
    PersistentSequentialWithTtl,
}

impl CreateMode {
    /// The wire `flags` value.
    pub fn flags(self) -> i32 {
        match self {
            CreateMode::Persistent => flags::PERSISTENT,
            CreateMode::Ephemeral => flags::EPHEMERAL,
            CreateMode::PersistentSequential => flags::PERSISTENT_SEQUENTIAL,
            CreateMode::EphemeralSequential => flags::EPHEMERAL_SEQUENTIAL,
            CreateMode::Container => flags::CONTAINER,
            CreateMode::PersistentWithTtl => flags::PERSISTENT_WITH_TTL,
            CreateMode::PersistentSequentialWithTtl => flags::PERSISTENT_SEQUENTIAL_WITH_TTL,
        }
    }

    /// The mode for a wire `flags` value, if ZooKeeper defines it.
    pub fn from_flags(value: i32) -> Option<CreateMode> {
        [
            CreateMode::Persistent,
            CreateMode::Ephemeral,
            CreateMode::PersistentSequential,
            CreateMode::EphemeralSequential,
            CreateMode::Container,
            CreateMode::PersistentWithTtl,
            CreateMode::PersistentSequentialWithTtl,
        ]
        .into_iter()
        .find(|m| m.flags() == value)
    }

    /// True when the server appends a 10-digit sequence suffix.
    pub fn is_sequential(self) -> bool {
        matches!(
            self,
            CreateMode::PersistentSequential
                | CreateMode::EphemeralSequential
                | CreateMode::PersistentSequentialWithTtl
        )
    }

    /// True when the znode is deleted with its session.
    pub fn is_ephemeral(self) -> bool {
        matches!(
            self,
            CreateMode::Ephemeral | CreateMode::EphemeralSequential
        )
    }

    /// True for the TTL modes (created with createTTL).
    pub fn is_ttl(self) -> bool {
        matches!(
            self,
            CreateMode::PersistentWithTtl | CreateMode::PersistentSequentialWithTtl
        )
    }
}
