//! Value rules for the zoo.cfg keys ZooKeeper knows that this server keeps
//! but does not act on (facts §1.10): each value is checked as ZooKeeper
//! would read it, so a typo is refused with its line rather than carried.
//!
//! Each key also says what kind it is: an ensemble setting (the ones
//! `config::quorum` reads are acted on there; the rest are kept), a
//! JVM-internals knob with no meaning here, or a tunable not implemented yet.

/// Why a known key is not acted on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// An ensemble setting (`config::quorum`).
    Ensemble,
    /// A Java threading or buffering knob: no meaning here.
    JavaInternals,
    /// Accepted, validated, not acted on (yet).
    Accepted,
}

/// The shape a value must have.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Rule {
    Bool,
    /// `QuorumPeerConfig.parseBoolean`: `true` or `false` only, any case.
    JavaBool,
    /// A Java `int` at least this.
    Int(i64),
    /// A Java `long` at least this.
    Long(i64),
    Float,
    Port,
    OneOf(&'static [&'static str]),
    NonEmpty,
    /// Anything (strings ZooKeeper hands on unchecked).
    Text,
    Server,
    Group,
}

use Kind::*;
use Rule::*;

/// The rule and kind for `key`, or `None` if this table does not know it
/// (the caller's known-key lists decide whether that is fine).
fn rule(key: &str) -> Option<(Rule, Kind)> {
    Some(match key {
        "initLimit" | "syncLimit" | "connectToLearnerMasterLimit" => (Int(1), Ensemble),
        "electionAlg" => (OneOf(&["3"]), Ensemble),
        "electionPortBindRetry" => (Int(0), Ensemble),
        "quorumListenOnAllIPs" | "standaloneEnabled" | "syncEnabled" => (JavaBool, Ensemble),
        "leaderServes" => (Bool, Ensemble),
        "peerType" => (OneOf(&["participant", "observer"]), Ensemble),
        "dynamicConfigFile" => (NonEmpty, Ensemble),
        "observerMasterPort" => (Port, Ensemble),
        "cnxTimeout" | "learnerTimeout" => (Int(1), Ensemble),
        "quorumCnxnTimeoutMs" => (Int(-1), Ensemble),
        "maxConcurrentSnapSyncs" | "maxConcurrentDiffSyncs" => (Int(1), Ensemble),
        "forceSnapshotSync" => (Bool, Ensemble),
        "commitLogCount" => (Int(0), Ensemble),
        "snapshotSizeFactor" => (Float, Ensemble),
        "multiAddress.enabled" | "multiAddress.reachabilityCheckEnabled" => (JavaBool, Ensemble),
        "multiAddress.reachabilityCheckTimeoutMs" => (Int(0), Ensemble),
        "ensembleAuthName" => (Text, Ensemble),
        k if k.starts_with("server.") => (Server, Ensemble),
        k if k.starts_with("group.") => (Group, Ensemble),
        k if k.starts_with("weight.") => (Long(0), Ensemble),
        k if k.starts_with("quorum.")
            || k.starts_with("learner.")
            || k.starts_with("leader.")
            || k.starts_with("follower.")
            || k.starts_with("observer.")
            || k.starts_with("fastleader.") =>
        {
            (Text, Ensemble)
        }

        "serverCnxnFactory" => (Text, JavaInternals),
        "flushDelay" | "maxWriteQueuePollTime" | "maxBatchSize" => (Long(0), JavaInternals),
        "clientPortListenBacklog" => (Int(-1), JavaInternals),
        // Thread counts, buffer sizes and timeouts; -1 is "derive it".
        k if k.starts_with("nio.") || k.starts_with("commitProcessor.") => {
            (Long(-1), JavaInternals)
        }
        k if k.starts_with("netty.") || k.starts_with("jvm.pause.") => (Text, JavaInternals),

        "maxCnxns" => (Int(0), Accepted),
        "txnLogSizeLimitInKb" => (Long(-1), Accepted),
        "localSessionsEnabled" | "localSessionsUpgradingEnabled" => (Bool, Accepted),
        "digest.enabled" | "snapshot.trust.empty" | "readonlymode.enabled" | "audit.enable" => {
            (Bool, Accepted)
        }
        "snapshot.compression.method" => (OneOf(&["", "gz", "snappy"]), Accepted),
        "tcpKeepAlive" | "clientTcpKeepAlive" | "sessionRequireClientSASLAuth" => (Bool, Accepted),
        "emulate353TTLNodes" | "closeSessionTxn.enabled" => (Bool, Accepted),
        "jute.maxbuffer.extrasize" => (Int(0), Accepted),
        "request_throttler.shutdownTimeout" => (Int(0), Accepted),
        "requestThrottleLimit" | "requestThrottleStallTime" | "throttledOpWaitTime" => {
            (Int(0), Accepted)
        }
        "requestThrottleDropStale" | "requestStaleLatencyCheck" | "requestStaleConnectionCheck" => {
            (Bool, Accepted)
        }
        "connectionMaxTokens" | "connectionTokenFillTime" | "connectionTokenFillCount" => {
            (Int(0), Accepted)
        }
        "connectionFreezeTime" => (Int(-1), Accepted),
        "connectionDropIncrease" | "connectionDropDecrease" | "connectionDecreaseRatio" => {
            (Float, Accepted)
        }
        "DigestAuthenticationProvider.enabled" | "IPAuthenticationProvider.usexforwardedfor" => {
            (Bool, Accepted)
        }
        "kerberos.removeHostFromPrincipal" | "kerberos.removeRealmFromPrincipal" => {
            (Bool, Accepted)
        }
        "DigestAuthenticationProvider.digestAlg" => (NonEmpty, Accepted),
        _ => return None,
    })
}

/// The description of a rule, for "expected ..." in errors.
fn expected(rule: Rule) -> &'static str {
    match rule {
        Bool => "true/false or yes/no",
        JavaBool => "true or false",
        Int(1) | Long(1) => "a positive number",
        Int(0) | Long(0) => "a number, 0 or more",
        Int(_) | Long(_) => "a number, -1 or more",
        Float => "a decimal number",
        Port => "a port number",
        OneOf(&["3"]) => "3 (only fast leader election exists since 3.6.0)",
        OneOf(&["participant", "observer"]) => "participant or observer",
        OneOf(_) => "one of: (empty), gz, snappy",
        NonEmpty => "a value",
        Text => "text",
        Server => super::ensemble::SERVER_SYNTAX,
        Group => "server ids separated by ':'",
    }
}

fn holds(rule: Rule, v: &str) -> bool {
    match rule {
        Bool => super::parse_bool(v).is_some(),
        JavaBool => v.eq_ignore_ascii_case("true") || v.eq_ignore_ascii_case("false"),
        Int(min) => v.parse::<i32>().is_ok_and(|n| i64::from(n) >= min),
        Long(min) => v.parse::<i64>().is_ok_and(|n| n >= min),
        Float => v.parse::<f64>().is_ok_and(f64::is_finite),
        Port => v.parse::<u16>().is_ok(),
        OneOf(values) => values.iter().any(|x| x.eq_ignore_ascii_case(v)),
        NonEmpty => !v.is_empty(),
        Text => true,
        // The id is checked with the key, by the caller.
        Server => super::ensemble::parse_server(0, v).is_some(),
        Group => v.split(':').all(|id| id.trim().parse::<u64>().is_ok()),
    }
}

/// Checks `value` for `key`. `Ok(None)` when this table does not know the
/// key; `Err(expected)` when the value is malformed.
pub fn check(key: &str, value: &str) -> Result<Option<Kind>, &'static str> {
    let Some((rule, kind)) = rule(key) else {
        return Ok(None);
    };
    if ["server.", "group.", "weight."]
        .iter()
        .any(|p| key.starts_with(p))
    {
        // server.N / group.N / weight.N: N is a server id.
        let id = key.split_once('.').map(|(_, n)| n).unwrap_or("");
        if id.parse::<u64>().is_err() {
            return Err("a numeric server id in the key (server.N, group.N, weight.N)");
        }
    }
    if holds(rule, value) {
        Ok(Some(kind))
    } else {
        Err(expected(rule))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kinds_and_values() {
        assert_eq!(check("initLimit", "10"), Ok(Some(Ensemble)));
        assert!(check("initLimit", "0").is_err());
        assert_eq!(check("server.3", "h:1:2;2181"), Ok(Some(Ensemble)));
        assert!(check("server.x", "h:1:2").is_err());
        assert!(check("server.1", "h:1").is_err());
        assert_eq!(check("weight.1", "2"), Ok(Some(Ensemble)));
        assert!(check("group.1", "1:2:x").is_err());
        assert!(check("electionAlg", "0").is_err());
        assert_eq!(check("peerType", "Observer"), Ok(Some(Ensemble)));
        // 3.8.0: "Invalid option yes for standaloneEnabled. Choose 'true' or 'false.'"
        assert!(check("standaloneEnabled", "yes").is_err());
        assert_eq!(check("standaloneEnabled", "FALSE"), Ok(Some(Ensemble)));
        assert_eq!(check("nio.numWorkerThreads", "8"), Ok(Some(JavaInternals)));
        assert_eq!(check("maxCnxns", "0"), Ok(Some(Accepted)));
        assert!(check("maxCnxns", "-1").is_err());
        assert!(check("snapshot.compression.method", "zip").is_err());
        assert_eq!(
            check("snapshot.compression.method", "gz"),
            Ok(Some(Accepted))
        );
        assert!(check("connectionDropIncrease", "fast").is_err());
        assert_eq!(check("txnLogSizeLimitInKb", "-1"), Ok(Some(Accepted)));
        assert_eq!(check("ssl.keyStore.location", "x"), Ok(None));
    }
}
