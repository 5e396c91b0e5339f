//! A lock-free histogram of how long pool jobs take, for metrics.
//!
//! The snapshot holds raw counts, one per bucket (the last one unbounded),
//! not the cumulative "at or under" view: exporters build whichever view
//! their format wants, and raw counts add up to the total.

use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

/// Upper bounds of the finite buckets, in seconds; one more bucket takes the rest.
const BOUNDS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// Job durations, recorded from any thread.
#[derive(Debug, Default)]
pub(super) struct Timings {
    /// One per bound, plus the unbounded bucket at the end.
    buckets: [AtomicU64; BOUNDS.len() + 1],
    sum_micros: AtomicU64,
}

impl Timings {
    pub(super) fn record(&self, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        let index = BOUNDS
            .iter()
            .position(|bound| secs <= *bound)
            .unwrap_or(BOUNDS.len());
        self.buckets[index].fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    pub(super) fn snapshot(&self) -> TimingsSnapshot {
        let buckets: Vec<(f64, u64)> = BOUNDS
            .iter()
            .copied()
            .chain(std::iter::once(f64::INFINITY))
            .zip(&self.buckets)
            .map(|(bound, count)| (bound, count.load(Ordering::Relaxed)))
            .collect();
        TimingsSnapshot {
            // The sum of the buckets read, so that count and buckets agree
            // even while jobs are being recorded.
            count: buckets.iter().map(|(_, count)| count).sum(),
            buckets,
            sum_seconds: self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6,
        }
    }
}

/// Job durations as a histogram of raw (non-cumulative) bucket counts.
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), auth_core::HashError> {
/// use auth_core::{HashConfig, Password, PasswordHasher, ScryptParams};
///
/// let hasher = PasswordHasher::new(HashConfig {
///     params: ScryptParams::insecure_fast_for_tests(),
///     ..HashConfig::default()
/// })?;
/// hasher.hash(Password::new("a long secret phrase")).await?;
/// let timings = hasher.timings();
/// assert_eq!(timings.count, 1);
/// assert_eq!(timings.buckets.iter().map(|(_, n)| n).sum::<u64>(), 1);
/// assert_eq!(timings.buckets.last().map(|(bound, _)| *bound), Some(f64::INFINITY));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct TimingsSnapshot {
    /// `(upper bound in seconds, jobs in this bucket alone)`, ascending; a
    /// job is in the first bucket whose bound it does not exceed. The last
    /// bound is `f64::INFINITY`.
    pub buckets: Vec<(f64, u64)>,
    /// All jobs (the sum of the buckets).
    pub count: u64,
    /// Total time of all jobs, in seconds.
    pub sum_seconds: f64,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn count_at(snapshot: &TimingsSnapshot, bound: f64) -> u64 {
        snapshot
            .buckets
            .iter()
            .find(|(b, _)| *b == bound)
            .map_or(0, |(_, n)| *n)
    }

    #[test]
    fn each_job_counts_in_its_own_bucket_only() {
        let timings = Timings::default();
        timings.record(Duration::from_micros(500));
        timings.record(Duration::from_millis(3));
        timings.record(Duration::from_millis(3));
        let snapshot = timings.snapshot();
        assert_eq!(count_at(&snapshot, 0.001), 1);
        assert_eq!(count_at(&snapshot, 0.0025), 0, "not cumulative");
        assert_eq!(count_at(&snapshot, 0.005), 2);
        assert_eq!(count_at(&snapshot, 5.0), 0, "not cumulative");
        assert_eq!(snapshot.count, 3);
        assert!((snapshot.sum_seconds - 0.0065).abs() < 1e-9);
    }

    #[test]
    fn a_job_on_a_bound_counts_under_it_and_slower_jobs_in_the_last_bucket() {
        let timings = Timings::default();
        timings.record(Duration::from_millis(10));
        timings.record(Duration::from_secs(6));
        let snapshot = timings.snapshot();
        assert_eq!(count_at(&snapshot, 0.01), 1);
        assert_eq!(snapshot.buckets.last(), Some(&(f64::INFINITY, 1)));
        assert_eq!(snapshot.buckets.len(), BOUNDS.len() + 1);
        assert_eq!(snapshot.count, 2);
    }
}
