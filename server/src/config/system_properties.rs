//! `JVMFLAGS` / `SERVER_JVMFLAGS`: the `-D` system properties an operator
//! passes to ZooKeeper's JVM, read as settings.
//!
//! ZooKeeper reads most tunables as system properties `zookeeper.<key>`, and
//! a few without the prefix (`jute.maxbuffer`, `znode.container.*`,
//! `readonlymode.enabled`). `QuorumPeerConfig` copies every zoo.cfg key it
//! does not parse itself into `zookeeper.<key>`, overwriting a `-D` of the
//! same name, so **zoo.cfg wins**. Keys `QuorumPeerConfig` parses itself
//! (`tickTime`, `dataDir`, `clientPort`, `server.N`, ...) are read only from
//! the file: a `-Dzookeeper.tickTime` does nothing in ZooKeeper, and here it
//! is ignored with a warning instead of silently.
//!
//! Invariant: the flags are split on whitespace, exactly as the unquoted
//! `$JVMFLAGS` in `zkServer.sh` is; for a repeated property the last wins,
//! as with the JVM.

/// Properties in the order given (`SERVER_JVMFLAGS` first, as zkServer.sh
/// prepends it), plus the flags that are not `-D` properties.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SystemProperties {
    pub properties: Vec<(String, String)>,
    /// JVM options with no meaning here (`-Xmx1g`, `-XX:...`).
    pub ignored_flags: Vec<String>,
}

impl SystemProperties {
    /// `$SERVER_JVMFLAGS $JVMFLAGS`, as `zkServer.sh` combines them.
    pub fn from_env() -> SystemProperties {
        let get = |k: &str| std::env::var(k).unwrap_or_default();
        SystemProperties::parse(&format!("{} {}", get("SERVER_JVMFLAGS"), get("JVMFLAGS")))
    }

    pub fn parse(flags: &str) -> SystemProperties {
        let mut out = SystemProperties::default();
        for flag in flags.split_whitespace() {
            match flag.strip_prefix("-D") {
                Some(prop) if !prop.is_empty() => {
                    // `-Dname` alone sets the property to "" in Java.
                    let (name, value) = prop.split_once('=').unwrap_or((prop, ""));
                    out.properties.push((name.to_string(), value.to_string()));
                }
                _ => out.ignored_flags.push(flag.to_string()),
            }
        }
        out
    }
}

/// What a system property means for zoo.cfg's keys.
#[derive(Debug, PartialEq, Eq)]
pub enum Target<'a> {
    /// It sets this key (its canonical zoo.cfg spelling).
    Key(&'a str),
    /// ZooKeeper reads this key only from zoo.cfg.
    FileOnly(&'a str),
    /// Not a ZooKeeper server setting (`java.*`, a typo, ...).
    Other,
}

/// Properties ZooKeeper reads without the `zookeeper.` prefix.
const UNPREFIXED: &[&str] = &[
    "jute.maxbuffer",
    "jute.maxbuffer.extrasize",
    "znode.container.checkIntervalMs",
    "znode.container.maxPerMinute",
    "znode.container.maxNeverUsedIntervalMs",
    "readonlymode.enabled",
];

/// Keys `QuorumPeerConfig.parseProperties` parses itself (never read from a
/// system property).
const FILE_ONLY: &[&str] = &[
    "dataDir",
    "dataLogDir",
    "clientPort",
    "clientPortAddress",
    "secureClientPort",
    "secureClientPortAddress",
    "observerMasterPort",
    "clientPortListenBacklog",
    "localSessionsEnabled",
    "localSessionsUpgradingEnabled",
    "tickTime",
    "maxClientCnxns",
    "minSessionTimeout",
    "maxSessionTimeout",
    "initLimit",
    "syncLimit",
    "connectToLearnerMasterLimit",
    "electionAlg",
    "quorumListenOnAllIPs",
    "peerType",
    "syncEnabled",
    "dynamicConfigFile",
    "autopurge.snapRetainCount",
    "autopurge.purgeInterval",
    "standaloneEnabled",
    "reconfigEnabled",
    "sslQuorum",
    "portUnification",
    "sslQuorumReloadCertFiles",
    "client.portUnification",
    "maxCnxns",
];

const FILE_ONLY_PREFIXES: &[&str] = &[
    "server.",
    "group.",
    "weight.",
    "metricsProvider.",
    "multiAddress.",
    "quorum.auth.",
    "quorum.cnxn.threads.size",
];

/// Whether ZooKeeper reads `key` only from zoo.cfg.
pub fn is_file_only(key: &str) -> bool {
    FILE_ONLY.contains(&key) || FILE_ONLY_PREFIXES.iter().any(|p| key.starts_with(p))
}

/// Maps a property name to the key it sets; `is_known` says which zoo.cfg
/// keys exist.
pub fn target<'a>(name: &'a str, is_known: impl Fn(&str) -> bool) -> Target<'a> {
    if UNPREFIXED.contains(&name) {
        return Target::Key(name);
    }
    match name.strip_prefix("zookeeper.") {
        Some(key) if is_file_only(key) => Target::FileOnly(key),
        // `zookeeper.jute.maxbuffer` is not what jute reads.
        Some(key) if UNPREFIXED.contains(&key) => Target::Other,
        Some(key) if is_known(key) => Target::Key(key),
        _ => Target::Other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn splits_like_the_shell() {
        let p = SystemProperties::parse(
            "  -Xmx1g -Dzookeeper.snapCount=10\t-Djute.maxbuffer=0x1000 -Dflag -D -Da=b=c ",
        );
        assert_eq!(
            p.properties,
            vec![
                ("zookeeper.snapCount".into(), "10".into()),
                ("jute.maxbuffer".into(), "0x1000".into()),
                ("flag".into(), "".into()),
                ("a".into(), "b=c".into()),
            ]
        );
        assert_eq!(
            p.ignored_flags,
            vec!["-Xmx1g".to_string(), "-D".to_string()]
        );
    }

    #[test]
    fn targets() {
        let known = |k: &str| matches!(k, "snapCount" | "jute.maxbuffer" | "tickTime");
        assert_eq!(
            target("zookeeper.snapCount", known),
            Target::Key("snapCount")
        );
        assert_eq!(
            target("jute.maxbuffer", known),
            Target::Key("jute.maxbuffer")
        );
        assert_eq!(target("zookeeper.jute.maxbuffer", known), Target::Other);
        assert_eq!(
            target("zookeeper.tickTime", known),
            Target::FileOnly("tickTime")
        );
        assert_eq!(
            target("zookeeper.server.1", known),
            Target::FileOnly("server.1")
        );
        assert_eq!(target("snapCount", known), Target::Other);
        assert_eq!(target("java.io.tmpdir", known), Target::Other);
    }
}
