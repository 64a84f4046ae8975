//! A summary (count, sum, min, max and quantiles) of non-negative integer
//! observations — milliseconds, bytes, txns — updated with atomics only, so
//! connection tasks, the runner and the log thread record without locks.
//!
//! Quantiles come from a fixed log-bucket histogram: values below 16 are
//! exact; above, each power of two is split into 8 buckets and a quantile
//! reports its bucket's midpoint, so it is within 1/16 (6.25 %) of the true
//! order statistic. Values of 2^40 and more share the top bucket (the sum
//! stays exact). Like the Prometheus Java client's `Summary`, quantiles cover
//! a sliding window: [`AGE_BUCKETS`] histograms are each cleared in turn every
//! [`ROTATE_SECS`], so a quantile reflects the last 8 to 10 minutes; count
//! and sum are cumulative.
//!
//! Invariants:
//! - Memory is fixed: a summary never observed holds no histogram; an
//!   observed one holds `AGE_BUCKETS × BUCKETS` counters (12 KB), whatever
//!   the traffic.
//! - A rotation racing an observation may drop that one observation from one
//!   window, never corrupts a counter.

use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{LazyLock, OnceLock};
use std::time::Instant;

/// Histograms in the sliding window (the Java client's `ageBuckets`).
pub const AGE_BUCKETS: usize = 5;
/// Seconds between rotations: the window is `AGE_BUCKETS × ROTATE_SECS`
/// (600 s, the Java client's `maxAgeSeconds`).
pub const ROTATE_SECS: u64 = 120;
/// Exact buckets for 0..16, then 8 per power of two up to 2^40.
const EXACT: usize = 16;
const SUB_BITS: u32 = 3;
const TOP_EXP: u32 = 40;
/// Histogram buckets per window slot.
pub const BUCKETS: usize = EXACT + ((TOP_EXP - 4 + 1) as usize) * (1 << SUB_BITS);

static EPOCH: LazyLock<Instant> = LazyLock::new(Instant::now);

fn bucket_of(v: u64) -> usize {
    if v < EXACT as u64 {
        return v as usize;
    }
    let exp = (63 - v.leading_zeros()).min(TOP_EXP);
    if exp == TOP_EXP && v >= 1 << TOP_EXP {
        return BUCKETS - 1;
    }
    let sub = ((v >> (exp - SUB_BITS)) & ((1 << SUB_BITS) - 1)) as usize;
    EXACT + (exp as usize - 4) * (1 << SUB_BITS) + sub
}

/// The value a bucket stands for: itself when exact, else its midpoint.
fn bucket_value(b: usize) -> u64 {
    if b < EXACT {
        return b as u64;
    }
    let i = b - EXACT;
    let exp = (i >> SUB_BITS) as u32 + 4;
    let sub = (i & ((1 << SUB_BITS) - 1)) as u64;
    let width = 1u64 << (exp - SUB_BITS);
    let lo = (1u64 << exp) + sub * width;
    lo + width / 2
}

struct Window {
    slots: Vec<Vec<AtomicU64>>,
    /// Rotations done; slot `rotations % AGE_BUCKETS` is the oldest.
    rotations: AtomicU64,
}

impl Window {
    fn new() -> Window {
        let slot = || (0..BUCKETS).map(|_| AtomicU64::new(0)).collect();
        Window {
            slots: (0..AGE_BUCKETS).map(|_| slot()).collect(),
            rotations: AtomicU64::new(EPOCH.elapsed().as_secs() / ROTATE_SECS),
        }
    }

    fn rotate_to(&self, target: u64) {
        let mut seen = self.rotations.load(Relaxed);
        while seen < target {
            match self
                .rotations
                .compare_exchange(seen, seen + 1, Relaxed, Relaxed)
            {
                Ok(_) => {
                    // Clear the oldest: it becomes the newest.
                    for c in &self.slots[(seen % AGE_BUCKETS as u64) as usize] {
                        c.store(0, Relaxed);
                    }
                    seen += 1;
                }
                Err(now) => seen = now,
            }
        }
    }

    fn observe(&self, b: usize) {
        self.rotate_to(EPOCH.elapsed().as_secs() / ROTATE_SECS);
        for slot in &self.slots {
            slot[b].fetch_add(1, Relaxed);
        }
    }

    fn quantiles(&self, qs: &[f64]) -> Vec<Option<u64>> {
        self.rotate_to(EPOCH.elapsed().as_secs() / ROTATE_SECS);
        let slot = &self.slots[(self.rotations.load(Relaxed) % AGE_BUCKETS as u64) as usize];
        let counts: Vec<u64> = slot.iter().map(|c| c.load(Relaxed)).collect();
        let total: u64 = counts.iter().sum();
        qs.iter()
            .map(|q| {
                if total == 0 {
                    return None;
                }
                let rank = ((q * total as f64).ceil() as u64).clamp(1, total);
                let mut cum = 0;
                for (b, n) in counts.iter().enumerate() {
                    cum += n;
                    if cum >= rank {
                        return Some(bucket_value(b));
                    }
                }
                Some(bucket_value(BUCKETS - 1))
            })
            .collect()
    }

    fn clear(&self) {
        for slot in &self.slots {
            for c in slot {
                c.store(0, Relaxed);
            }
        }
    }
}

/// One summary metric.
pub struct Summary {
    count: AtomicU64,
    sum: AtomicU64,
    min: AtomicU64,
    max: AtomicU64,
    window: OnceLock<Window>,
}

impl Default for Summary {
    fn default() -> Self {
        Summary {
            count: AtomicU64::new(0),
            sum: AtomicU64::new(0),
            min: AtomicU64::new(u64::MAX),
            max: AtomicU64::new(0),
            window: OnceLock::new(),
        }
    }
}

impl std::fmt::Debug for Summary {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Summary")
            .field("count", &self.count())
            .field("sum", &self.sum())
            .finish()
    }
}

impl Summary {
    /// Records one value.
    pub fn observe(&self, v: u64) {
        self.window.get_or_init(Window::new).observe(bucket_of(v));
        self.count.fetch_add(1, Relaxed);
        self.sum.fetch_add(v, Relaxed);
        self.min.fetch_min(v, Relaxed);
        self.max.fetch_max(v, Relaxed);
    }

    pub fn count(&self) -> u64 {
        self.count.load(Relaxed)
    }

    pub fn sum(&self) -> u64 {
        self.sum.load(Relaxed)
    }

    /// 0 before the first observation, as ZooKeeper's counters print it.
    pub fn min(&self) -> u64 {
        match self.min.load(Relaxed) {
            u64::MAX => 0,
            v => v,
        }
    }

    pub fn max(&self) -> u64 {
        self.max.load(Relaxed)
    }

    /// The mean, 0.0 before the first observation.
    pub fn avg(&self) -> f64 {
        match self.count() {
            0 => 0.0,
            n => self.sum() as f64 / n as f64,
        }
    }

    /// The quantiles `qs` (0..=1) over the sliding window; `None` when the
    /// window is empty.
    pub fn quantiles(&self, qs: &[f64]) -> Vec<Option<u64>> {
        match self.window.get() {
            Some(w) => w.quantiles(qs),
            None => vec![None; qs.len()],
        }
    }

    /// Forgets everything (`stat_reset`).
    pub fn reset(&self) {
        self.count.store(0, Relaxed);
        self.sum.store(0, Relaxed);
        self.min.store(u64::MAX, Relaxed);
        self.max.store(0, Relaxed);
        if let Some(w) = self.window.get() {
            w.clear();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn buckets_are_monotonic_and_cover_their_values() {
        let mut last = 0;
        for v in (0..5000u64).chain([1 << 20, (1 << 40) - 1, 1 << 40, u64::MAX]) {
            let b = bucket_of(v);
            assert!(b >= last, "bucket order at {v}");
            assert!(b < BUCKETS);
            last = b;
            if v < 1 << 40 {
                let rep = bucket_value(b) as f64;
                let err = (rep - v as f64).abs() / (v.max(1) as f64);
                assert!(err <= 1.0 / 16.0 + 1e-9, "{v}: {rep} off by {err}");
            }
        }
        for v in 0..16 {
            assert_eq!(bucket_value(bucket_of(v)), v);
        }
    }

    #[test]
    fn quantiles_track_a_uniform_stream() {
        let s = Summary::default();
        assert_eq!(s.quantiles(&[0.5]), vec![None]);
        for v in 1..=1000 {
            s.observe(v);
        }
        assert_eq!(s.count(), 1000);
        assert_eq!(s.sum(), 500_500);
        assert_eq!((s.min(), s.max()), (1, 1000));
        let q = s.quantiles(&[0.5, 0.9, 0.99]);
        for (got, want) in q.iter().zip([500.0, 900.0, 990.0]) {
            let got = got.unwrap() as f64;
            assert!((got - want).abs() / want <= 0.07, "{got} vs {want}");
        }
        s.reset();
        assert_eq!((s.count(), s.min(), s.max()), (0, 0, 0));
        assert_eq!(s.quantiles(&[0.5]), vec![None]);
    }

    #[test]
    fn small_values_are_exact() {
        let s = Summary::default();
        for v in [3, 3, 3, 7] {
            s.observe(v);
        }
        assert_eq!(s.quantiles(&[0.5, 0.99]), vec![Some(3), Some(7)]);
    }
}
