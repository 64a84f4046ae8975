//! Operator subcommands of the `zkserver` binary, the counterparts of the
//! tools Apache ZooKeeper 3.8 ships for its data directory:
//!
//! | command | ZooKeeper tool |
//! |---|---|
//! | `txnlog-dump`, `txnlog-verify` | `TxnLogToolkit` (`zkTxnLogToolkit.sh`) |
//! | `snapshot-dump`, `snapshot-verify` | `SnapshotFormatter` (`zkSnapShotToolkit.sh`) |
//! | `purge` | `PurgeTxnLog` (`zkCleanup.sh`) |
//!
//! The dumps print what the reference tools print, line for line where
//! practical (see each module for the known differences: times are always
//! printed in UTC). Exit codes: 0 ok, 1 corruption or an I/O error, 2 a bad
//! command line.

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

// ---- dates, as java.util.Date / java.text.DateFormat print them (UTC) ----

/// A UTC calendar time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Civil {
    pub year: i64,
    /// 1..=12
    pub month: u32,
    /// 1..=31
    pub day: u32,
    pub hour: u32,
    pub minute: u32,
    pub second: u32,
    /// 0 = Sunday
    pub weekday: u32,
}

const MONTHS: [&str; 12] = [
    "Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec",
];
const WEEKDAYS: [&str; 7] = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"];

/// Milliseconds since the epoch as a UTC calendar time (proleptic
/// Gregorian, H. Hinnant's `civil_from_days`).
pub(crate) fn civil_from_ms(ms: i64) -> Civil {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let month = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let year = yoe + era * 400 + i64::from(month <= 2);
    Civil {
        year,
        month,
        day,
        hour: (rem / 3600) as u32,
        minute: (rem / 60 % 60) as u32,
        second: (rem % 60) as u32,
        // 1970-01-01 was a Thursday.
        weekday: (days + 4).rem_euclid(7) as u32,
    }
}

/// `new Date(ms).toString()` in UTC: `Sat Nov 21 15:46:19 UTC 2026`.
pub(crate) fn java_date_string(ms: i64) -> String {
    let c = civil_from_ms(ms);
    format!(
        "{} {} {:02} {:02}:{:02}:{:02} UTC {}",
        WEEKDAYS[c.weekday as usize],
        MONTHS[c.month as usize - 1],
        c.day,
        c.hour,
        c.minute,
        c.second,
        c.year
    )
}

fn hour12(hour: u32) -> (u32, &'static str) {
    let h = match hour % 12 {
        0 => 12,
        h => h,
    };
    (h, if hour < 12 { "AM" } else { "PM" })
}

/// `DateFormat.getDateTimeInstance(SHORT, LONG)` (en_US) in UTC:
/// `11/21/26, 3:19:55 PM UTC`.
pub(crate) fn java_short_long_date(ms: i64) -> String {
    let c = civil_from_ms(ms);
    let (h, ampm) = hour12(c.hour);
    format!(
        "{}/{}/{:02}, {}:{:02}:{:02} {ampm} UTC",
        c.month,
        c.day,
        c.year.rem_euclid(100),
        h,
        c.minute,
        c.second
    )
}

/// `DateFormat.getDateTimeInstance()` (MEDIUM, MEDIUM; en_US) in UTC:
/// `Nov 21, 2026, 3:19:55 PM`.
pub(crate) fn java_medium_date(ms: i64) -> String {
    let c = civil_from_ms(ms);
    let (h, ampm) = hour12(c.hour);
    format!(
        "{} {}, {}, {}:{:02}:{:02} {ampm}",
        MONTHS[c.month as usize - 1],
        c.day,
        c.year,
        h,
        c.minute,
        c.second
    )
}

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
    fn dates() {
        assert_eq!(java_date_string(0), "Thu Jan 01 00:00:00 UTC 1970");
        // 2026-11-21T15:46:19Z
        let t = 1_795_275_979_000;
        assert_eq!(java_date_string(t), "Sat Nov 21 15:46:19 UTC 2026");
        assert_eq!(java_short_long_date(t), "11/21/26, 3:46:19 PM UTC");
        assert_eq!(java_medium_date(t), "Nov 21, 2026, 3:46:19 PM");
        assert_eq!(java_short_long_date(0), "1/1/70, 12:00:00 AM UTC");
        assert_eq!(java_date_string(-1), "Wed Dec 31 23:59:59 UTC 1969");
        // A leap day.
        assert_eq!(
            java_date_string(951_782_400_000),
            "Tue Feb 29 00:00:00 UTC 2000"
        );
    }

    #[test]
    fn java_table_sizes() {
        assert_eq!(java_table_size(8, 6), 8);
        assert_eq!(java_table_size(8, 7), 16);
        assert_eq!(java_table_size(16, 12), 16);
        assert_eq!(java_table_size(16, 13), 32);
    }
}
