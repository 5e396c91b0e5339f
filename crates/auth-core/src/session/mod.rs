//! Sessions: the token the client holds, the id the store keeps, the expiry rules.
//!
//! A [`SessionToken`] (32 random bytes, base64url) goes to the client once
//! and is never stored. Stores only ever see its [`SessionId`], the SHA-256
//! of the token: a leaked database cannot be replayed as cookies.

mod token;

pub use token::{SessionHandle, SessionId, SessionToken, TokenError};
pub(crate) use token::{draw_secret, read_secret};

use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::period::{self, Period};
use crate::{UserAgent, UserId};

/// A server-side session.
///
/// ```
/// use auth_core::{SessionPolicy, UserId};
/// use chrono::Utc;
///
/// let policy = SessionPolicy::default();
/// let now = Utc::now();
/// let (_token, session) = policy.start(UserId::new(), now)?;
/// assert!(session.is_active(now));
/// assert!(!session.is_active(session.expires_at));
/// # Ok::<(), auth_core::TokenError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Session {
    /// SHA-256 of the token.
    pub id: SessionId,
    /// Whose session it is.
    pub user_id: UserId,
    /// When it was issued (login time).
    pub created_at: DateTime<Utc>,
    /// When it was last used, updated at most once per touch interval.
    pub last_seen_at: DateTime<Utc>,
    /// Ends earlier than `expires_at` when the session goes unused.
    pub idle_expires_at: DateTime<Utc>,
    /// Absolute end, however active the session is.
    pub expires_at: DateTime<Utc>,
    /// The `User-Agent` of the login that made it, for its user's list.
    pub user_agent: Option<UserAgent>,
    /// The client address of that login (canonical text), for its user's list.
    pub client_ip: Option<String>,
}

impl Session {
    /// Whether the session may still be used at `now`.
    pub fn is_active(&self, now: DateTime<Utc>) -> bool {
        now < self.idle_expires_at && now < self.expires_at
    }
}

/// Session lifetimes. Defaults: idle 24 h, absolute 7 days, last-seen
/// written at most once a minute.
///
/// ```
/// use auth_core::SessionPolicy;
/// use std::time::Duration;
/// let policy = SessionPolicy::default();
/// assert_eq!(policy.idle_timeout, Duration::from_secs(24 * 3600));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SessionPolicy {
    /// A session unused this long ends.
    pub idle_timeout: Duration,
    /// A session ends this long after login, however active.
    pub absolute_timeout: Duration,
    /// Minimum time between two last-seen writes of one session: a write
    /// per request would make every authenticated request a database write.
    pub touch_interval: Duration,
    /// Live sessions one user may hold; a login beyond it revokes the
    /// oldest. Without a cap, a script logging in in a loop (or a stolen
    /// password) grows one user's sessions without bound.
    pub max_sessions_per_user: u32,
}

impl Default for SessionPolicy {
    fn default() -> Self {
        Self {
            idle_timeout: Duration::from_secs(24 * 3600),
            absolute_timeout: Duration::from_secs(7 * 24 * 3600),
            touch_interval: Duration::from_secs(60),
            max_sessions_per_user: 100,
        }
    }
}

impl SessionPolicy {
    /// Lifetimes from checked [`Period`]s; last-seen writes at most once a
    /// minute.
    ///
    /// ```
    /// use auth_core::{Period, SessionPolicy};
    /// use std::time::Duration;
    /// let policy = SessionPolicy::new(Period::from_secs(1800), Period::from_secs(86_400));
    /// assert_eq!(policy.idle_timeout, Duration::from_secs(1800));
    /// ```
    pub fn new(idle_timeout: Period, absolute_timeout: Period) -> Self {
        Self {
            idle_timeout: idle_timeout.get(),
            absolute_timeout: absolute_timeout.get(),
            ..Self::default()
        }
    }

    /// Caps the live sessions of one user (default 100); at least one.
    ///
    /// ```
    /// use auth_core::SessionPolicy;
    /// use std::num::NonZeroU32;
    /// let policy = SessionPolicy::default().with_max_sessions_per_user(NonZeroU32::MIN);
    /// assert_eq!(policy.max_sessions_per_user, 1);
    /// assert_eq!(SessionPolicy::default().max_sessions_per_user, 100);
    /// ```
    pub fn with_max_sessions_per_user(mut self, max: std::num::NonZeroU32) -> Self {
        self.max_sessions_per_user = max.get();
        self
    }

    /// Starts a session for `user_id` at `now` with a fresh token.
    ///
    /// # Errors
    /// [`TokenError::NoRandomness`] if no token can be drawn.
    pub fn start(
        &self,
        user_id: UserId,
        now: DateTime<Utc>,
    ) -> Result<(SessionToken, Session), TokenError> {
        let token = SessionToken::generate()?;
        let expires_at = period::after(now, self.absolute_timeout);
        let session = Session {
            id: token.id(),
            user_id,
            created_at: now,
            last_seen_at: now,
            idle_expires_at: period::after(now, self.idle_timeout).min(expires_at),
            expires_at,
            user_agent: None,
            client_ip: None,
        };
        Ok((token, session))
    }

    /// If `session` is due a last-seen write at `now`, the new
    /// `(last_seen_at, idle_expires_at)` to store; `None` otherwise.
    ///
    /// ```
    /// use auth_core::{SessionPolicy, UserId};
    /// use chrono::{TimeDelta, Utc};
    ///
    /// let policy = SessionPolicy::default();
    /// let now = Utc::now();
    /// let (_, session) = policy.start(UserId::new(), now)?;
    /// assert_eq!(policy.touch(&session, now + TimeDelta::seconds(30)), None);
    /// assert!(policy.touch(&session, now + TimeDelta::seconds(61)).is_some());
    /// # Ok::<(), auth_core::TokenError>(())
    /// ```
    pub fn touch(
        &self,
        session: &Session,
        now: DateTime<Utc>,
    ) -> Option<(DateTime<Utc>, DateTime<Utc>)> {
        if period::elapsed(session.last_seen_at, now) < self.touch_interval {
            return None;
        }
        let idle_expires_at = period::after(now, self.idle_timeout).min(session.expires_at);
        Some((now, idle_expires_at))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeDelta;
    use proptest::prelude::*;
    use sha2::{Digest, Sha256};

    #[test]
    fn tokens_are_unique_and_43_url_safe_characters() {
        let a = SessionToken::generate().unwrap();
        let b = SessionToken::generate().unwrap();
        assert_ne!(a, b);
        assert_ne!(a.id(), b.id());
        assert!(
            a.as_str()
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_')
        );
        assert_eq!(a.as_str().len(), 43);
    }

    #[test]
    fn the_id_is_the_sha256_of_the_token_text() {
        let token = SessionToken::parse("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").unwrap();
        let expected: [u8; 32] =
            Sha256::digest(b"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA").into();
        assert_eq!(token.id().as_bytes(), &expected);
    }

    #[test]
    fn malformed_tokens_are_rejected() {
        for bad in [
            "",
            "short",
            &"A".repeat(44),
            &"!".repeat(43),
            &"A".repeat(42),
        ] {
            assert_eq!(
                SessionToken::parse(bad),
                Err(TokenError::Malformed),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn debug_output_reveals_nothing() {
        let token = SessionToken::generate().unwrap();
        assert!(!format!("{token:?}").contains(token.as_str()));
        assert_eq!(format!("{:?}", token.id()), "SessionId(..)");
    }

    #[test]
    fn idle_expiry_never_exceeds_absolute_expiry() {
        let policy = SessionPolicy {
            idle_timeout: Duration::from_secs(100),
            absolute_timeout: Duration::from_secs(50),
            touch_interval: Duration::from_secs(1),
            ..SessionPolicy::default()
        };
        let now = Utc::now();
        let (_, session) = policy.start(UserId::new(), now).unwrap();
        assert_eq!(session.idle_expires_at, session.expires_at);
        let (_, idle) = policy
            .touch(&session, now + TimeDelta::seconds(40))
            .unwrap();
        assert_eq!(idle, session.expires_at);
    }

    #[test]
    fn lifetimes_past_chronos_range_saturate_instead_of_panicking() {
        // What `--session-absolute-timeout 300000y` used to reach.
        let policy = SessionPolicy {
            idle_timeout: Duration::MAX,
            absolute_timeout: Duration::MAX,
            ..SessionPolicy::default()
        };
        let now = Utc::now();
        let (_, session) = policy.start(UserId::new(), now).unwrap();
        assert_eq!(session.expires_at, DateTime::<Utc>::MAX_UTC);
        assert!(session.is_active(now));
        assert!(policy.touch(&session, now + TimeDelta::hours(1)).is_some());
    }

    #[test]
    fn sessions_end_at_idle_or_absolute_expiry() {
        let policy = SessionPolicy::default();
        let now = Utc::now();
        let (_, session) = policy.start(UserId::new(), now).unwrap();
        assert!(session.is_active(now + TimeDelta::hours(23)));
        assert!(!session.is_active(now + TimeDelta::hours(24)));
        assert_eq!(session.expires_at, now + TimeDelta::days(7));
    }

    proptest! {
        #[test]
        fn parse_never_panics(input in any::<String>()) {
            let _ = SessionToken::parse(&input);
        }
    }
}
