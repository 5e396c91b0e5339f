//! Rate limits as a sustained rate plus a burst (GCRA, the generic cell
//! rate algorithm): the whole state of one budget is one instant, its
//! "theoretical arrival time", so a store keeps one row per key and every
//! instance sharing the store shares the budget.

use std::fmt;
use std::num::NonZeroU32;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::period::{self, Period};

/// `count` events per `window`, at most `count` of them at once; after a
/// burst the next event waits one interval (`window / count`), not the whole
/// window.
///
/// ```
/// use auth_core::{Period, RateLimit};
/// use std::num::NonZeroU32;
/// use std::time::Duration;
///
/// let three = NonZeroU32::new(3).ok_or("zero")?;
/// let limit = RateLimit::new(three, Period::from_secs(60)); // 3 per minute
/// let now = chrono::Utc::now();
/// let mut state = None;
/// for _ in 0..3 {
///     state = Some(limit.take(state, now).map_err(|_| "a burst of 3 is allowed")?);
/// }
/// // The fourth waits one interval (20 s), not the minute.
/// assert_eq!(limit.take(state, now), Err(Duration::from_secs(20)));
/// # Ok::<(), &str>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct RateLimit {
    burst: u32,
    interval: Duration,
}

impl RateLimit {
    /// `count` per `window`, with bursts of up to `count`.
    pub fn new(count: NonZeroU32, window: Period) -> Self {
        let interval = window.get() / count.get();
        Self {
            burst: count.get(),
            // A window shorter than `count` nanoseconds: one per nanosecond.
            interval: interval.max(Duration::from_nanos(1)),
        }
    }

    /// How many events may happen at once.
    pub fn burst(&self) -> u32 {
        self.burst
    }

    /// The sustained spacing between events, once the burst is spent.
    pub fn interval(&self) -> Duration {
        self.interval
    }

    /// Takes one event from a budget whose state is `state` (`None`: never
    /// used, or purged) at `now`. Returns the new state to store, or how long
    /// to wait; a refused take leaves the state as it was.
    ///
    /// # Errors
    /// The wait, when the burst is spent.
    pub fn take(
        &self,
        state: Option<DateTime<Utc>>,
        now: DateTime<Utc>,
    ) -> Result<DateTime<Utc>, Duration> {
        let start = state.map_or(now, |tat| tat.max(now));
        let next = period::after(start, self.interval);
        let ahead = period::elapsed(now, next);
        let tolerance = self.interval.saturating_mul(self.burst);
        if ahead <= tolerance {
            Ok(next)
        } else {
            Err(ahead - tolerance)
        }
    }

    /// Records an event that has already happened (a failure counted after
    /// the fact): the state moves on even when the burst is spent, so
    /// concurrent events are all counted.
    pub fn charge(&self, state: Option<DateTime<Utc>>, now: DateTime<Utc>) -> DateTime<Utc> {
        let start = state.map_or(now, |tat| tat.max(now));
        period::after(start, self.interval)
    }

    /// How long an event at `now` would wait, without taking anything.
    ///
    /// ```
    /// use auth_core::{Period, RateLimit};
    /// use std::num::NonZeroU32;
    ///
    /// let one = NonZeroU32::new(1).ok_or("zero")?;
    /// let limit = RateLimit::new(one, Period::from_secs(10));
    /// let now = chrono::Utc::now();
    /// assert_eq!(limit.wait(None, now), None);
    /// let state = limit.charge(None, now);
    /// assert!(limit.wait(Some(state), now).is_some());
    /// # Ok::<(), &str>(())
    /// ```
    pub fn wait(&self, state: Option<DateTime<Utc>>, now: DateTime<Utc>) -> Option<Duration> {
        self.take(state, now).err()
    }
}

impl fmt::Debug for RateLimit {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "RateLimit({} per {:?})",
            self.burst,
            self.interval * self.burst
        )
    }
}

/// Which budget a [`crate::RateLimitStore`] row is: the stored key is
/// [`RateKey::as_str`], prefixed by kind so budgets never mix.
///
/// ```
/// use auth_core::RateKey;
/// let ip = "203.0.113.5".parse().unwrap();
/// assert_eq!(RateKey::register_address(ip).as_str(), "register:ip:203.0.113.5");
/// assert_eq!(RateKey::register_global().as_str(), "register:all");
/// assert_eq!(RateKey::login_address(ip).as_str(), "login:ip:203.0.113.5");
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct RateKey(String);

impl RateKey {
    /// Registrations from one client address (an IPv6 /64 counts as one).
    pub fn register_address(ip: std::net::IpAddr) -> Self {
        Self(format!("register:ip:{}", super::address_budget_key(ip)))
    }

    /// All registrations, from everywhere.
    pub fn register_global() -> Self {
        Self("register:all".to_owned())
    }

    /// Failed logins from one client address, across accounts.
    pub fn login_address(ip: std::net::IpAddr) -> Self {
        Self(format!("login:ip:{}", super::address_budget_key(ip)))
    }

    /// Login attempts made with one device cookie ([`crate::DeviceId`]).
    pub fn device(device: &crate::DeviceId) -> Self {
        Self(format!("device:{}", device.to_hex()))
    }

    /// Reset-link requests from one client address, whichever account.
    pub fn reset_address(ip: std::net::IpAddr) -> Self {
        Self(format!("reset:ip:{}", super::address_budget_key(ip)))
    }

    /// Reset links mailed for one account, from any address.
    pub fn reset_account(user: crate::UserId) -> Self {
        Self(format!("reset:user:{user}"))
    }

    /// Verification mails asked for by one account.
    pub fn verification_account(user: crate::UserId) -> Self {
        Self(format!("verify:user:{user}"))
    }

    /// The stored form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The registration limits: per client address, and for the whole service
/// (which protects the hashing capacity from many addresses at once).
/// Defaults: 20 per address per hour, 6,000 per hour in all.
///
/// ```
/// use auth_core::RegisterLimits;
/// let limits = RegisterLimits::default();
/// assert_eq!(limits.per_address.burst(), 20);
/// assert_eq!(limits.global.burst(), 6000);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RegisterLimits {
    /// Per client address (IPv6 per /64).
    pub per_address: RateLimit,
    /// For every registration.
    pub global: RateLimit,
}

impl Default for RegisterLimits {
    fn default() -> Self {
        Self {
            per_address: RateLimit::new(
                NonZeroU32::MIN.saturating_add(19),
                Period::from_secs(3600),
            ),
            global: RateLimit::new(
                NonZeroU32::MIN.saturating_add(5999),
                Period::from_secs(3600),
            ),
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

    fn limit(count: u32, secs: u64) -> RateLimit {
        RateLimit::new(NonZeroU32::new(count).unwrap(), Period::from_secs(secs))
    }

    #[test]
    fn a_full_burst_passes_then_the_wait_is_one_interval() {
        let limit = limit(50, 900); // 50 per 15 min: one per 18 s
        let mut state = None;
        for _ in 0..50 {
            state = Some(limit.take(state, now()).unwrap());
        }
        assert_eq!(limit.take(state, now()), Err(Duration::from_secs(18)));
        // 18 s later exactly one more passes.
        let later = now() + TimeDelta::seconds(18);
        let state = limit.take(state, later).unwrap();
        assert!(limit.take(Some(state), later).is_err());
    }

    #[test]
    fn an_idle_budget_refills_to_the_burst_and_no_further() {
        let limit = limit(5, 50);
        let mut state = None;
        for _ in 0..5 {
            state = Some(limit.take(state, now()).unwrap());
        }
        let much_later = now() + TimeDelta::hours(5);
        for _ in 0..5 {
            state = Some(limit.take(state, much_later).unwrap());
        }
        assert!(limit.take(state, much_later).is_err());
    }

    #[test]
    fn charges_count_even_past_the_burst() {
        let limit = limit(2, 20);
        let mut state = None;
        for _ in 0..4 {
            state = Some(limit.charge(state, now()));
        }
        // Four charged at once: two intervals beyond the burst.
        assert_eq!(limit.wait(state, now()), Some(Duration::from_secs(30)));
    }

    #[test]
    fn extreme_limits_saturate_instead_of_panicking() {
        let tiny = RateLimit::new(NonZeroU32::MAX, Period::from_secs(1));
        assert!(tiny.take(None, now()).is_ok());
        let huge = RateLimit::new(NonZeroU32::MIN, Period::from_secs(u64::MAX));
        let state = huge.take(Some(DateTime::<Utc>::MAX_UTC), now());
        assert!(state.is_err());
    }
}
