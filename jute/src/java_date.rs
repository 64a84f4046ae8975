//! Times as ZooKeeper's Java tools print them, in UTC: `Date.toString()`
//! (the Stat block of zkCli.sh and SnapshotFormatter) and two `DateFormat`
//! styles (TxnLogToolkit, PurgeTxnLog). Not a record, but the presentation
//! of the records' millisecond times, and the one place both the server's
//! tools and the shell can share it.

/// A UTC calendar time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Civil {
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
pub fn civil_from_ms(ms: i64) -> Civil {
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
pub fn date_string(ms: i64) -> String {
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
pub fn short_long_date(ms: i64) -> String {
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
pub fn medium_date(ms: i64) -> String {
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn dates() {
        assert_eq!(date_string(0), "Thu Jan 01 00:00:00 UTC 1970");
        // 2026-11-21T15:46:19Z
        let t = 1_795_275_979_000;
        assert_eq!(date_string(t), "Sat Nov 21 15:46:19 UTC 2026");
        assert_eq!(short_long_date(t), "11/21/26, 3:46:19 PM UTC");
        assert_eq!(medium_date(t), "Nov 21, 2026, 3:46:19 PM");
        assert_eq!(short_long_date(0), "1/1/70, 12:00:00 AM UTC");
        assert_eq!(date_string(-1), "Wed Dec 31 23:59:59 UTC 1969");
        // A leap day.
        assert_eq!(date_string(951_782_400_000), "Tue Feb 29 00:00:00 UTC 2000");
        assert_eq!(
            date_string(1_795_282_515_000),
            "Sat Nov 21 17:35:15 UTC 2026"
        );
    }
}
