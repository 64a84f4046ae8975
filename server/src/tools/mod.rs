//! Operator subcommands of the `zkserver` binary, the counterparts of the
//! tools Apache ZooKeeper 3.8 ships for its data directory:
//!
//! | command | ZooKeeper tool |
//! |---|---|
//! | `txnlog-dump`, `txnlog-verify` | `TxnLogToolkit` (`zkTxnLogToolkit.sh`) |
//! | `snapshot-dump`, `snapshot-verify` | `SnapshotFormatter` (`zkSnapShotToolkit.sh`) |
//! | `purge` | `PurgeTxnLog` (`zkCleanup.sh`) |
//! | `check-config` | `QuorumPeerConfig`'s checks, without starting |
//!
//! The dumps print what the reference tools print, line for line where
//! practical (see each module for the known differences: times are always
//! printed in UTC). Exit codes: 0 ok, 1 corruption or an I/O error, 2 a bad
//! command line.

pub mod check_config;
pub mod purge;
pub mod snapshot_dump;
pub mod txnlog_dump;

use std::path::PathBuf;

/// Exit code: success.
pub const EXIT_OK: u8 = 0;
/// Exit code: corruption found, or the files could not be read or removed.
pub const EXIT_ERROR: u8 = 1;
/// Exit code: a bad command line.
pub const EXIT_USAGE: u8 = 2;

/// The subcommands this module implements.
pub const COMMANDS: &[&str] = &[
    "txnlog-dump",
    "txnlog-verify",
    "snapshot-dump",
    "snapshot-verify",
    "purge",
    "check-config",
];

/// Runs the subcommand `command` with its arguments `args` (after the
/// command name). `conf_dir` is the configuration directory (`--config` or
/// `$ZOOCFGDIR`), used by `purge` to find `zoo.cfg`. Returns the exit code.
pub fn run(command: &str, args: &[String], conf_dir: Option<PathBuf>) -> u8 {
    let mut out = std::io::stdout().lock();
    let result = match command {
        "txnlog-dump" => txnlog_dump::dump_main(args, &mut out),
        "txnlog-verify" => txnlog_dump::verify_main(args, &mut out),
        "snapshot-dump" => snapshot_dump::dump_main(args, &mut out),
        "snapshot-verify" => snapshot_dump::verify_main(args, &mut out),
        "purge" => purge::purge_main(args, conf_dir, &mut out),
        "check-config" => check_config::check_main(args, conf_dir, &mut out),
        _ => {
            eprintln!("zkserver: unknown command {command}");
            return EXIT_USAGE;
        }
    };
    match result {
        Ok(code) => code,
        // Typically a closed pipe (`| head`): nothing more to say.
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => EXIT_OK,
        Err(e) => {
            eprintln!("zkserver {command}: {e}");
            EXIT_ERROR
        }
    }
}

/// Whether `args` asks for help.
pub(crate) fn wants_help(args: &[String]) -> bool {
    args.iter().any(|a| a == "-h" || a == "--help")
}

// ---- dates: as java.util.Date / java.text.DateFormat print them ----

pub(crate) use jute::java_date::{
    date_string as java_date_string, medium_date as java_medium_date,
    short_long_date as java_short_long_date,
};

// ---- java.util.HashMap iteration order ----

/// `HashMap.hash`: the key's hash code with its high half spread down.
fn spread(h: u32) -> u32 {
    h ^ (h >> 16)
}

/// The table size of a `HashMap` that started at `initial` buckets and had
/// `n` keys put into it (no removals): it doubles whenever its size exceeds
/// 0.75 × its capacity.
pub(crate) fn java_table_size(initial: usize, n: usize) -> usize {
    let mut cap = initial;
    while n * 4 > cap * 3 {
        cap *= 2;
    }
    cap
}

/// Orders `items` (given in insertion order) as a `HashMap`/`HashSet` of
/// `table` buckets iterates them: by bucket, then insertion order within a
/// bucket (a resize keeps that order). Bins turned into trees (8+ colliding
/// keys in a table of 64+) are not modelled.
pub(crate) fn java_hash_order<T>(items: &mut [T], table: usize, hash: impl Fn(&T) -> u32) {
    let mask = table as u32 - 1;
    items.sort_by_key(|x| spread(hash(x)) & mask);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn java_table_sizes() {
        assert_eq!(java_table_size(8, 6), 8);
        assert_eq!(java_table_size(8, 7), 16);
        assert_eq!(java_table_size(16, 12), 16);
        assert_eq!(java_table_size(16, 13), 32);
    }
}
