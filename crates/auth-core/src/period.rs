//! `Period`: a configured length of time (a lifetime, a window, a delay),
//! and the checked time arithmetic every policy uses.
//!
//! Settings arrive as free text (`--session-absolute-timeout 300000y`). A
//! [`Period`] is positive and at most [`Period::MAX`] (10 years), so adding
//! it to any real timestamp stays inside chrono's range; the arithmetic
//! below saturates anyway, so a policy built by hand cannot panic either.

use std::fmt;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

/// A positive length of time of at most 10 years.
///
/// ```
/// use auth_core::{Period, PeriodError};
/// use std::time::Duration;
///
/// let week = Period::new(Duration::from_secs(7 * 24 * 3600))?;
/// assert_eq!(week.get(), Duration::from_secs(604_800));
/// assert_eq!(Period::new(Duration::ZERO), Err(PeriodError::Zero));
/// assert!(matches!(
///     Period::new(Duration::from_secs(300_000 * 365 * 24 * 3600)),
///     Err(PeriodError::TooLong { .. })
/// ));
/// # Ok::<(), PeriodError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Period(Duration);

/// Why a length of time is not a [`Period`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum PeriodError {
    /// Zero: a lifetime, window or delay of nothing disables the rule.
    #[error("must be positive")]
    Zero,
    /// Longer than [`Period::MAX`].
    #[error("{} is longer than the maximum of 10 years", humanize(*.value))]
    TooLong {
        /// As given.
        value: Duration,
    },
}

impl Period {
    /// The longest period: 10 years of 365.25 days. Longer lifetimes or
    /// windows are a typo, and would overflow timestamp arithmetic.
    pub const MAX: Duration = Duration::from_secs(10 * 31_557_600);

    /// Checks `duration`.
    ///
    /// # Errors
    /// [`PeriodError::Zero`] for zero, [`PeriodError::TooLong`] past [`Period::MAX`].
    pub fn new(duration: Duration) -> Result<Self, PeriodError> {
        if duration.is_zero() {
            Err(PeriodError::Zero)
        } else if duration > Self::MAX {
            Err(PeriodError::TooLong { value: duration })
        } else {
            Ok(Self(duration))
        }
    }

    /// Whole seconds, for defaults and literals. Out-of-range values are
    /// clamped into `1 s ..= MAX`: this is for constants written in code;
    /// untrusted input goes through [`Period::new`].
    ///
    /// ```
    /// use auth_core::Period;
    /// assert_eq!(Period::from_secs(60).get().as_secs(), 60);
    /// ```
    pub const fn from_secs(secs: u64) -> Self {
        let max = Self::MAX.as_secs();
        let secs = if secs == 0 {
            1
        } else if secs > max {
            max
        } else {
            secs
        };
        Self(Duration::from_secs(secs))
    }

    /// The length.
    pub const fn get(self) -> Duration {
        self.0
    }
}

impl fmt::Debug for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Period({:?})", self.0)
    }
}

impl fmt::Display for Period {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&humanize(self.0))
    }
}

impl From<Period> for Duration {
    fn from(period: Period) -> Self {
        period.0
    }
}

/// `300000y`, `7d`, `90s`, `1500ms`: the largest unit that divides it.
fn humanize(duration: Duration) -> String {
    const UNITS: [(u64, &str); 5] = [
        (31_557_600, "y"),
        (86_400, "d"),
        (3_600, "h"),
        (60, "m"),
        (1, "s"),
    ];
    if duration.subsec_nanos() != 0 || duration.is_zero() {
        return format!("{}ms", duration.as_millis());
    }
    let secs = duration.as_secs();
    let (size, unit) = UNITS
        .into_iter()
        .find(|(size, _)| secs.is_multiple_of(*size))
        .unwrap_or((1, "s"));
    format!("{}{unit}", secs / size)
}

/// `duration` as a chrono delta, saturating instead of failing.
fn delta(duration: Duration) -> TimeDelta {
    TimeDelta::from_std(duration).unwrap_or(TimeDelta::MAX)
}

/// `at + duration`, or the latest representable time: never a panic.
pub(crate) fn after(at: DateTime<Utc>, duration: Duration) -> DateTime<Utc> {
    at.checked_add_signed(delta(duration))
        .unwrap_or(DateTime::<Utc>::MAX_UTC)
}

/// `at - duration`, or the earliest representable time: never a panic.
pub(crate) fn before(at: DateTime<Utc>, duration: Duration) -> DateTime<Utc> {
    at.checked_sub_signed(delta(duration))
        .unwrap_or(DateTime::<Utc>::MIN_UTC)
}

/// Time from `since` to `now`, zero if `now` is earlier.
pub(crate) fn elapsed(since: DateTime<Utc>, now: DateTime<Utc>) -> Duration {
    now.signed_duration_since(since)
        .to_std()
        .unwrap_or(Duration::ZERO)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn periods_are_positive_and_at_most_ten_years() {
        assert_eq!(Period::new(Duration::ZERO), Err(PeriodError::Zero));
        assert!(Period::new(Period::MAX).is_ok());
        assert!(matches!(
            Period::new(Period::MAX + Duration::from_secs(1)),
            Err(PeriodError::TooLong { .. })
        ));
    }

    #[test]
    fn too_long_names_the_value_in_the_units_it_was_written_in() {
        let error = Period::new(Duration::from_secs(300_000 * 31_557_600)).unwrap_err();
        assert_eq!(
            error.to_string(),
            "300000y is longer than the maximum of 10 years"
        );
    }

    #[test]
    fn arithmetic_saturates_instead_of_panicking() {
        let now = Utc::now();
        assert_eq!(after(now, Duration::MAX), DateTime::<Utc>::MAX_UTC);
        assert_eq!(before(now, Duration::MAX), DateTime::<Utc>::MIN_UTC);
        assert_eq!(
            after(DateTime::<Utc>::MAX_UTC, Duration::from_secs(1)),
            DateTime::<Utc>::MAX_UTC
        );
        assert_eq!(elapsed(now, now - TimeDelta::seconds(5)), Duration::ZERO);
    }

    #[test]
    fn constants_are_clamped_into_range() {
        assert_eq!(Period::from_secs(0).get(), Duration::from_secs(1));
        assert_eq!(Period::from_secs(u64::MAX).get(), Period::MAX);
    }
}
