//! Login back-off: pure rules over recorded failures and the clock.
//!
//! Three budgets, all kept in the store so every instance shares them:
//!
//! - **Per account** (canonical username): the first `free_failures`
//!   failures cost nothing; after that each attempt must wait
//!   `base_delay · 2^(k)` after the last failure (1 s, 2 s, 4 s … capped at
//!   `max_delay`). A success clears it. There is no permanent lockout, and
//!   never more than `account_max_failures` failures inside `account_window`
//!   (NIST SP 800-63B). The check is atomic: an attempt reserves its place
//!   before hashing ([`ThrottlePolicy::admit`]), so a burst of guesses gets
//!   at most the free failures plus `in_flight` evaluated.
//! - **Per client address** ([`RateLimit`]): failures across accounts, a
//!   burst refilled at a sustained rate, against password spraying; the wait
//!   after tripping it is one interval (18 s by default), not a window.
//! - **Per device** ([`crate::DevicePolicy`]): a client holding a device
//!   cookie for the account skips the two above and spends its own budget.
//!
//! A throttled attempt is refused before any hashing and is not itself a failure.

mod address;
mod rate;

pub use address::{address_budget_key, retry_after_secs};
pub use rate::{RateKey, RateLimit, RegisterLimits};

use std::num::NonZeroU32;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::period::{self, Period};

/// How long a refused attempt waits when the account's places are all
/// taken by attempts still being evaluated: about one hash time.
pub const IN_FLIGHT_WAIT: Duration = Duration::from_secs(1);

/// The limits. Defaults: 5 free failures, then 1 s doubling to 15 min; at
/// most 100 failures per account per 24 h; 50 failures per address at once,
/// refilled at 50 per 15 min; 2 attempts in flight beyond the free ones.
///
/// ```
/// use auth_core::ThrottlePolicy;
/// use std::time::Duration;
/// let policy = ThrottlePolicy::default();
/// assert_eq!(policy.delay_after(5), Some(Duration::from_secs(1)));
/// assert_eq!(policy.delay_after(7), Some(Duration::from_secs(4)));
/// assert_eq!(policy.delay_after(40), Some(Duration::from_secs(900)));
/// assert_eq!(policy.delay_after(4), None);
/// assert_eq!(policy.address.interval(), Duration::from_secs(18));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ThrottlePolicy {
    /// Failures per account before any delay.
    pub free_failures: u32,
    /// The first delay; it doubles with each further failure.
    pub base_delay: Duration,
    /// The longest delay between two attempts on one account.
    pub max_delay: Duration,
    /// How far back account failures count (and how long they are kept).
    pub account_window: Duration,
    /// Hard cap on failures per account inside `account_window`.
    pub account_max_failures: u32,
    /// Failed logins per client address, across accounts.
    pub address: RateLimit,
    /// Attempts of one account evaluated at once beyond its remaining free
    /// failures (set it to the hashing concurrency: more would only queue).
    pub in_flight: u32,
    /// How long a reserved place is held if its attempt never finishes (the
    /// process died, the client left): longer than any hash waits and takes.
    pub reservation_ttl: Duration,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            free_failures: 5,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(15 * 60),
            account_window: Duration::from_secs(24 * 3600),
            account_max_failures: 100,
            address: RateLimit::new(NonZeroU32::MIN.saturating_add(49), Period::from_secs(900)),
            in_flight: 2,
            reservation_ttl: Duration::from_secs(30),
        }
    }
}

/// What the store knows about an account's recent failures, as
/// [`crate::ThrottleStore`] returns it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FailureStats {
    /// Failures of the account since the account window started.
    pub account_failures: u32,
    /// The oldest of those.
    pub account_oldest: Option<DateTime<Utc>>,
    /// The newest of those.
    pub account_latest: Option<DateTime<Utc>>,
}

impl FailureStats {
    /// Adds `count` failures, the oldest and newest of them at the ends of
    /// `span`. A store that reads failure rows calls it once per row (`1,
    /// at..=at`); one that aggregates in its query calls it once. Counts
    /// saturate at `u32::MAX`. Which rows count (account, window) is the
    /// store's query.
    ///
    /// ```
    /// use auth_core::FailureStats;
    /// use chrono::{TimeDelta, Utc};
    ///
    /// let (t1, t2) = (Utc::now(), Utc::now() + TimeDelta::seconds(5));
    /// let mut stats = FailureStats::default();
    /// stats.record(1, t2..=t2);
    /// stats.record(1, t1..=t1);
    /// assert_eq!(
    ///     stats,
    ///     FailureStats { account_failures: 2, account_oldest: Some(t1), account_latest: Some(t2) }
    /// );
    /// ```
    pub fn record(&mut self, count: u64, span: std::ops::RangeInclusive<DateTime<Utc>>) {
        let count = u32::try_from(count).unwrap_or(u32::MAX);
        let (oldest, latest) = span.into_inner();
        self.account_failures = self.account_failures.saturating_add(count);
        self.account_oldest = Some(self.account_oldest.map_or(oldest, |t| t.min(oldest)));
        self.account_latest = Some(self.account_latest.map_or(latest, |t| t.max(latest)));
    }
}

/// A place held for one login attempt while it is evaluated, returned by
/// [`crate::ThrottleStore::reserve_login_attempt`] and given back with
/// [`crate::ThrottleStore::release_login_attempt`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Reservation(uuid::Uuid);

impl Reservation {
    /// A new, unique reservation.
    pub fn new() -> Self {
        Self(uuid::Uuid::new_v4())
    }

    /// Rebuilds one read from storage.
    pub fn from_uuid(id: uuid::Uuid) -> Self {
        Self(id)
    }

    /// The stored id.
    pub fn as_uuid(&self) -> &uuid::Uuid {
        &self.0
    }
}

impl Default for Reservation {
    fn default() -> Self {
        Self::new()
    }
}

impl ThrottlePolicy {
    /// The limits an operator sets, from checked values; the rest (the
    /// first delay, the account window and its cap, the places in flight)
    /// keep their defaults. The address budget allows `address_failures` at
    /// once, refilled at that many per `address_window`.
    ///
    /// ```
    /// use auth_core::{Period, ThrottlePolicy};
    /// use std::num::NonZeroU32;
    /// use std::time::Duration;
    ///
    /// let per_ip = NonZeroU32::new(20).ok_or("zero")?;
    /// let policy = ThrottlePolicy::new(3, Period::from_secs(60), per_ip, Period::from_secs(600));
    /// assert_eq!(policy.delay_after(3), Some(Duration::from_secs(1)));
    /// assert_eq!(policy.delay_after(30), Some(Duration::from_secs(60)));
    /// assert_eq!(policy.address.interval(), Duration::from_secs(30));
    /// # Ok::<(), &str>(())
    /// ```
    pub fn new(
        free_failures: u32,
        max_delay: Period,
        address_failures: NonZeroU32,
        address_window: Period,
    ) -> Self {
        Self {
            free_failures,
            max_delay: max_delay.get(),
            address: RateLimit::new(address_failures, address_window),
            ..Self::default()
        }
    }

    /// The wait required after the last of `failures` account failures, if any.
    pub fn delay_after(&self, failures: u32) -> Option<Duration> {
        let over = failures.checked_sub(self.free_failures)?;
        let factor = 1u32.checked_shl(over).unwrap_or(u32::MAX);
        Some(self.base_delay.saturating_mul(factor).min(self.max_delay))
    }

    /// Start of the account window at `now`.
    pub fn account_since(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        period::before(now, self.account_window)
    }

    /// When a reservation made at `now` stops holding its place.
    pub fn reservation_expiry(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        period::after(now, self.reservation_ttl)
    }

    /// How long the caller must wait, given the account's completed
    /// failures, before the next attempt; `None` if it may try now.
    ///
    /// ```
    /// use auth_core::{FailureStats, ThrottlePolicy};
    /// use chrono::{TimeDelta, Utc};
    /// use std::time::Duration;
    ///
    /// let policy = ThrottlePolicy::default();
    /// let now = Utc::now();
    /// let stats = FailureStats {
    ///     account_failures: 6,
    ///     account_oldest: Some(now - TimeDelta::seconds(60)),
    ///     account_latest: Some(now - TimeDelta::milliseconds(500)),
    /// };
    /// // Six failures: a 2 s wait after the last one, 1.5 s of it left.
    /// assert_eq!(policy.retry_after(&stats, now), Some(Duration::from_millis(1500)));
    /// ```
    pub fn retry_after(&self, stats: &FailureStats, now: DateTime<Utc>) -> Option<Duration> {
        let mut wait = Duration::ZERO;
        if let (Some(delay), Some(latest)) = (
            self.delay_after(stats.account_failures),
            stats.account_latest,
        ) {
            wait = wait.max(period::elapsed(now, period::after(latest, delay)));
        }
        if stats.account_failures >= self.account_max_failures
            && let Some(oldest) = stats.account_oldest
        {
            wait = wait.max(period::elapsed(
                now,
                period::after(oldest, self.account_window),
            ));
        }
        (!wait.is_zero()).then_some(wait)
    }

    /// Whether one more attempt on the account may be evaluated now, given
    /// its completed failures and the `in_flight` attempts holding places:
    /// while free failures remain, up to those plus [`ThrottlePolicy::in_flight`]
    /// at once (any of them may fail); after that, one at a time, each after
    /// its wait. A store calls it under the account's lock, so a burst
    /// cannot pass it together.
    ///
    /// ```
    /// use auth_core::{FailureStats, ThrottlePolicy};
    /// let policy = ThrottlePolicy::default(); // 5 free, 2 in flight
    /// let fresh = FailureStats::default();
    /// let now = chrono::Utc::now();
    /// assert!(policy.admit(&fresh, 6, now).is_ok());
    /// assert!(policy.admit(&fresh, 7, now).is_err());
    /// ```
    ///
    /// # Errors
    /// The wait: the back-off's, or [`IN_FLIGHT_WAIT`] when every place is taken.
    pub fn admit(
        &self,
        stats: &FailureStats,
        in_flight: u64,
        now: DateTime<Utc>,
    ) -> Result<(), Duration> {
        if let Some(wait) = self.retry_after(stats, now) {
            return Err(wait);
        }
        let free_left = self.free_failures.saturating_sub(stats.account_failures);
        let places = if free_left > 0 {
            free_left.saturating_add(self.in_flight)
        } else {
            1
        };
        let places = places.min(
            self.account_max_failures
                .saturating_sub(stats.account_failures),
        );
        if in_flight >= u64::from(places) {
            Err(IN_FLIGHT_WAIT)
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_767_225_600, 0).unwrap()
    }

    fn failures(count: u32, latest_secs_ago: i64) -> FailureStats {
        FailureStats {
            account_failures: count,
            account_oldest: Some(now() - TimeDelta::hours(1)),
            account_latest: Some(now() - TimeDelta::seconds(latest_secs_ago)),
        }
    }

    #[test]
    fn delays_double_from_one_second_and_cap_at_fifteen_minutes() {
        let policy = ThrottlePolicy::default();
        let delays: Vec<_> = (5..=16)
            .map(|n| policy.delay_after(n).unwrap().as_secs())
            .collect();
        assert_eq!(delays, [1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 900, 900]);
        assert_eq!(policy.delay_after(u32::MAX), Some(Duration::from_secs(900)));
    }

    #[test]
    fn fewer_failures_than_the_free_budget_never_wait() {
        let policy = ThrottlePolicy::default();
        assert_eq!(policy.retry_after(&failures(4, 0), now()), None);
    }

    #[test]
    fn the_wait_is_measured_from_the_last_failure() {
        let policy = ThrottlePolicy::default();
        let stats = failures(8, 3); // 8 s after the last
        assert_eq!(
            policy.retry_after(&stats, now()),
            Some(Duration::from_secs(5))
        );
        assert_eq!(
            policy.retry_after(&stats, now() + TimeDelta::seconds(5)),
            None
        );
    }

    #[test]
    fn the_account_cap_waits_for_the_oldest_failure_to_leave_the_window() {
        let policy = ThrottlePolicy {
            max_delay: Duration::from_secs(1),
            ..ThrottlePolicy::default()
        };
        let stats = FailureStats {
            account_failures: 100,
            account_oldest: Some(now() - TimeDelta::hours(23)),
            account_latest: Some(now() - TimeDelta::hours(1)),
        };
        assert_eq!(
            policy.retry_after(&stats, now()),
            Some(Duration::from_secs(3600))
        );
    }

    #[test]
    fn a_burst_on_a_fresh_account_gets_the_free_failures_plus_the_places_in_flight() {
        let policy = ThrottlePolicy::default();
        let admitted = (0..50)
            .filter(|held| policy.admit(&FailureStats::default(), *held, now()).is_ok())
            .count();
        assert_eq!(admitted, 7);
        assert_eq!(
            policy.admit(&FailureStats::default(), 7, now()),
            Err(IN_FLIGHT_WAIT)
        );
    }

    #[test]
    fn in_back_off_one_attempt_at_a_time_after_each_wait() {
        let policy = ThrottlePolicy::default();
        let waited = failures(5, 2); // the 1 s wait is over
        assert!(policy.admit(&waited, 0, now()).is_ok());
        assert_eq!(policy.admit(&waited, 1, now()), Err(IN_FLIGHT_WAIT));
        let waiting = failures(5, 0);
        assert_eq!(
            policy.admit(&waiting, 0, now()),
            Err(Duration::from_secs(1))
        );
    }

    #[test]
    fn the_places_never_exceed_what_is_left_of_the_account_cap() {
        let policy = ThrottlePolicy {
            free_failures: 50,
            account_max_failures: 3,
            ..ThrottlePolicy::default()
        };
        let stats = failures(1, 0);
        assert!(policy.admit(&stats, 1, now()).is_ok());
        assert!(policy.admit(&stats, 2, now()).is_err());
    }

    #[test]
    fn windows_past_chronos_range_saturate_instead_of_panicking() {
        // What `--login-max-delay 300000y` used to reach.
        let policy = ThrottlePolicy {
            max_delay: Duration::MAX,
            account_window: Duration::MAX,
            reservation_ttl: Duration::MAX,
            ..ThrottlePolicy::default()
        };
        let stats = FailureStats {
            account_failures: 200,
            account_oldest: Some(now()),
            account_latest: Some(now()),
        };
        assert_eq!(policy.account_since(now()), DateTime::<Utc>::MIN_UTC);
        assert_eq!(policy.reservation_expiry(now()), DateTime::<Utc>::MAX_UTC);
        assert!(policy.retry_after(&stats, now()).is_some());
    }
}
