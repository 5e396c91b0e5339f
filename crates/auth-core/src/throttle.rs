//! Login back-off: pure rules over recorded failures and the clock.
//!
//! Two budgets, both read from the store so every instance sees the same state:
//!
//! - **Per account** (canonical username): the first `free_failures` failures
//!   cost nothing; after that each attempt must wait `base_delay · 2^(k)`
//!   after the last failure (1 s, 2 s, 4 s … capped at `max_delay`). A
//!   success clears it. There is no permanent lockout, and never more than
//!   `account_max_failures` failures inside `account_window` (NIST SP 800-63B).
//! - **Per client IP**: at most `ip_max_failures` failures per `ip_window`,
//!   across all usernames, against password spraying.
//!
//! A throttled attempt is refused before any hashing and is not itself a failure.

use std::num::NonZeroU32;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::period::{self, Period};

/// The limits. Defaults: 5 free failures, then 1 s doubling to 15 min;
/// at most 100 failures per account per 24 h; 50 per IP per 15 min.
///
/// ```
/// use auth_core::ThrottlePolicy;
/// use std::time::Duration;
/// let policy = ThrottlePolicy::default();
/// assert_eq!(policy.delay_after(5), Some(Duration::from_secs(1)));
/// assert_eq!(policy.delay_after(7), Some(Duration::from_secs(4)));
/// assert_eq!(policy.delay_after(40), Some(Duration::from_secs(900)));
/// assert_eq!(policy.delay_after(4), None);
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
    /// How far back per-IP failures count.
    pub ip_window: Duration,
    /// Failures allowed per client IP inside `ip_window`.
    pub ip_max_failures: u32,
}

impl Default for ThrottlePolicy {
    fn default() -> Self {
        Self {
            free_failures: 5,
            base_delay: Duration::from_secs(1),
            max_delay: Duration::from_secs(15 * 60),
            account_window: Duration::from_secs(24 * 3600),
            account_max_failures: 100,
            ip_window: Duration::from_secs(15 * 60),
            ip_max_failures: 50,
        }
    }
}

/// What the store knows about recent failures, as [`crate::ThrottleStore`] returns it.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct FailureStats {
    /// Failures of the account since the account window started.
    pub account_failures: u32,
    /// The oldest of those.
    pub account_oldest: Option<DateTime<Utc>>,
    /// The newest of those.
    pub account_latest: Option<DateTime<Utc>>,
    /// Failures from the client IP since the IP window started.
    pub ip_failures: u32,
    /// The oldest of those.
    pub ip_oldest: Option<DateTime<Utc>>,
}

/// Which count of [`FailureStats`] a failure goes into.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FailureBudget {
    /// The account's failures inside the account window.
    Account,
    /// The client IP's failures inside the IP window.
    ClientIp,
}

impl FailureStats {
    /// Adds `count` failures of one budget, the oldest and newest of them at
    /// the ends of `span`. A store that reads failure rows calls it once per
    /// row that counts (`1, at..=at`); one that aggregates in its query calls
    /// it once per budget. Counts saturate at `u32::MAX`; the IP budget keeps
    /// no newest. Which rows count (key, window) is the store's query.
    ///
    /// ```
    /// use auth_core::{FailureBudget, FailureStats};
    /// use chrono::{TimeDelta, Utc};
    ///
    /// let (t1, t2) = (Utc::now(), Utc::now() + TimeDelta::seconds(5));
    /// let mut stats = FailureStats::default();
    /// stats.record(FailureBudget::Account, 1, t2..=t2);
    /// stats.record(FailureBudget::Account, 1, t1..=t1);
    /// stats.record(FailureBudget::ClientIp, 7, t1..=t2);
    /// assert_eq!(
    ///     stats,
    ///     FailureStats {
    ///         account_failures: 2,
    ///         account_oldest: Some(t1),
    ///         account_latest: Some(t2),
    ///         ip_failures: 7,
    ///         ip_oldest: Some(t1),
    ///     }
    /// );
    /// ```
    pub fn record(
        &mut self,
        budget: FailureBudget,
        count: u64,
        span: std::ops::RangeInclusive<DateTime<Utc>>,
    ) {
        let count = u32::try_from(count).unwrap_or(u32::MAX);
        let (oldest, latest) = span.into_inner();
        let earlier = |known: Option<DateTime<Utc>>| Some(known.map_or(oldest, |t| t.min(oldest)));
        match budget {
            FailureBudget::Account => {
                self.account_failures = self.account_failures.saturating_add(count);
                self.account_oldest = earlier(self.account_oldest);
                self.account_latest = Some(self.account_latest.map_or(latest, |t| t.max(latest)));
            }
            FailureBudget::ClientIp => {
                self.ip_failures = self.ip_failures.saturating_add(count);
                self.ip_oldest = earlier(self.ip_oldest);
            }
        }
    }
}

impl ThrottlePolicy {
    /// The limits an operator sets, from checked values; the rest (the
    /// first delay, the account window and its cap) keep their defaults.
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
    /// # Ok::<(), &str>(())
    /// ```
    pub fn new(
        free_failures: u32,
        max_delay: Period,
        ip_max_failures: NonZeroU32,
        ip_window: Period,
    ) -> Self {
        Self {
            free_failures,
            max_delay: max_delay.get(),
            ip_max_failures: ip_max_failures.get(),
            ip_window: ip_window.get(),
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

    /// Start of the IP window at `now`.
    pub fn ip_since(&self, now: DateTime<Utc>) -> DateTime<Utc> {
        period::before(now, self.ip_window)
    }

    /// How long the caller must wait before the next attempt, or `None` if it may try now.
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
    ///     ..FailureStats::default()
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
        if stats.ip_failures >= self.ip_max_failures
            && let Some(oldest) = stats.ip_oldest
        {
            wait = wait.max(period::elapsed(now, period::after(oldest, self.ip_window)));
        }
        (!wait.is_zero()).then_some(wait)
    }
}

/// The key of a client address's budget: an IPv4 address as it is, an IPv6
/// address by its /64 network. One host is routinely given a whole /64
/// (SLAAC, RFC 6177), so keying by /128 would give it 2^64 budgets; an
/// IPv4-mapped address (`::ffff:a.b.c.d`) is the IPv4 address.
///
/// ```
/// use auth_core::address_budget_key;
/// let ip = |text: &str| text.parse().unwrap();
/// assert_eq!(address_budget_key(ip("203.0.113.5")), "203.0.113.5");
/// assert_eq!(address_budget_key(ip("2001:db8:1:2:aaaa::1")), "2001:db8:1:2::/64");
/// assert_eq!(
///     address_budget_key(ip("2001:db8:1:2:bbbb::9")),
///     address_budget_key(ip("2001:db8:1:2:aaaa::1"))
/// );
/// assert_eq!(address_budget_key(ip("::ffff:203.0.113.5")), "203.0.113.5");
/// ```
pub fn address_budget_key(ip: std::net::IpAddr) -> String {
    match ip.to_canonical() {
        std::net::IpAddr::V4(v4) => v4.to_string(),
        std::net::IpAddr::V6(v6) => {
            let network = u128::from(v6) & !u128::from(u64::MAX);
            format!("{}/64", std::net::Ipv6Addr::from(network))
        }
    }
}

/// Whole seconds for a `Retry-After` header: rounded up, at least 1.
///
/// ```
/// use std::time::Duration;
/// assert_eq!(auth_core::retry_after_secs(Duration::from_millis(1500)), 2);
/// assert_eq!(auth_core::retry_after_secs(Duration::from_millis(1)), 1);
/// ```
pub fn retry_after_secs(wait: Duration) -> u64 {
    let secs = wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    secs.max(1)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;

    fn now() -> DateTime<Utc> {
        DateTime::from_timestamp(1_767_225_600, 0).unwrap()
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
        let stats = FailureStats {
            account_failures: 4,
            account_oldest: Some(now()),
            account_latest: Some(now()),
            ..FailureStats::default()
        };
        assert_eq!(policy.retry_after(&stats, now()), None);
    }

    #[test]
    fn the_wait_is_measured_from_the_last_failure() {
        let policy = ThrottlePolicy::default();
        let stats = FailureStats {
            account_failures: 8, // 8 s
            account_oldest: Some(now() - TimeDelta::seconds(100)),
            account_latest: Some(now() - TimeDelta::seconds(3)),
            ..FailureStats::default()
        };
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
            ..FailureStats::default()
        };
        assert_eq!(
            policy.retry_after(&stats, now()),
            Some(Duration::from_secs(3600))
        );
    }

    #[test]
    fn the_ip_budget_waits_for_the_oldest_failure_in_the_window() {
        let policy = ThrottlePolicy::default();
        let stats = FailureStats {
            ip_failures: 50,
            ip_oldest: Some(now() - TimeDelta::minutes(10)),
            ..FailureStats::default()
        };
        assert_eq!(
            policy.retry_after(&stats, now()),
            Some(Duration::from_secs(300))
        );
        let below = FailureStats {
            ip_failures: 49,
            ..stats
        };
        assert_eq!(policy.retry_after(&below, now()), None);
    }

    #[test]
    fn retry_after_rounds_up_to_whole_seconds() {
        assert_eq!(retry_after_secs(Duration::from_secs(3)), 3);
        assert_eq!(retry_after_secs(Duration::from_millis(3001)), 4);
        assert_eq!(retry_after_secs(Duration::ZERO), 1);
    }

    #[test]
    fn windows_past_chronos_range_saturate_instead_of_panicking() {
        // What `--login-ip-window 300000y` used to reach.
        let policy = ThrottlePolicy {
            max_delay: Duration::MAX,
            account_window: Duration::MAX,
            ip_window: Duration::MAX,
            ip_max_failures: 1,
            ..ThrottlePolicy::default()
        };
        let stats = FailureStats {
            account_failures: 200,
            account_oldest: Some(now()),
            account_latest: Some(now()),
            ip_failures: 1,
            ip_oldest: Some(now()),
        };
        assert_eq!(policy.account_since(now()), DateTime::<Utc>::MIN_UTC);
        assert_eq!(policy.ip_since(now()), DateTime::<Utc>::MIN_UTC);
        assert!(policy.retry_after(&stats, now()).is_some());
    }
}
