//! Finding users ([`UserDirectory`]) and reading the whole audit trail
//! ([`AuditLog`]), page by page: both page by a key that never changes for
//! a row (the canonical username; the event's sequence number), so a page
//! boundary holds still while users register and events are appended.

use std::future::Future;

use chrono::{DateTime, Utc};
use unicode_normalization::UnicodeNormalization as _;

use crate::{EventKind, SecurityEvent, StoreError, User, UserId};

/// The most characters of a [`UserSearch`] text.
pub const USER_SEARCH_MAX_CHARS: usize = 254;

/// Which users a search wants: those whose canonical username or email
/// address contains `text` (compared as canonical usernames are: NFKC and
/// case folded), by canonical username, after `after`.
///
/// ```
/// use auth_core::UserSearch;
/// let search = UserSearch::new(Some("  ALİCE "), None);
/// assert_eq!(search.text(), Some("ali̇ce"));
/// assert_eq!(UserSearch::new(Some(""), None).text(), None);
/// assert!(UserSearch::everyone().matches("bob", Some("bob@example.com")));
/// assert!(UserSearch::new(Some("EXAMPLE"), None).matches("bob", Some("bob@example.com")));
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct UserSearch {
    text: Option<String>,
    after: Option<String>,
}

impl UserSearch {
    /// Every user, from the start.
    pub fn everyone() -> Self {
        Self::default()
    }

    /// A search for `text` (trimmed; empty means everyone), starting after
    /// the canonical username `after`. `text` is cut at
    /// [`USER_SEARCH_MAX_CHARS`] characters (nothing longer can match).
    pub fn new(text: Option<&str>, after: Option<String>) -> Self {
        let text = text
            .map(str::trim)
            .filter(|text| !text.is_empty())
            .map(|text| {
                let cut: String = text.chars().take(USER_SEARCH_MAX_CHARS).collect();
                caseless::default_case_fold_str(&cut).nfkc().collect()
            });
        Self { text, after }
    }

    /// The canonical text to look for, if any.
    pub fn text(&self) -> Option<&str> {
        self.text.as_deref()
    }

    /// The canonical username the page starts after, if any.
    pub fn after(&self) -> Option<&str> {
        self.after.as_deref()
    }

    /// Whether a user with this canonical name and canonical email
    /// matches the text (ignoring `after`): the rule every store applies.
    pub fn matches(&self, canonical_name: &str, canonical_email: Option<&str>) -> bool {
        match &self.text {
            None => true,
            Some(text) => {
                canonical_name.contains(text.as_str())
                    || canonical_email.is_some_and(|email| email.contains(text.as_str()))
            }
        }
    }
}

/// An event's place in the store's log: assigned on append, increasing, and
/// never reused, so it orders events as they were appended.
///
/// ```
/// use auth_core::EventSeq;
/// assert!(EventSeq::new(2) > EventSeq::new(1));
/// assert_eq!(EventSeq::new(7).get(), 7);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct EventSeq(i64);

impl EventSeq {
    /// Wraps a stored sequence number.
    pub fn new(seq: i64) -> Self {
        Self(seq)
    }

    /// The number.
    pub fn get(self) -> i64 {
        self.0
    }
}

/// An event with its place in the log.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoggedEvent {
    /// Its place.
    pub seq: EventSeq,
    /// The event.
    pub event: SecurityEvent,
}

/// Which events a query of the audit trail wants; every filter given must hold.
///
/// ```
/// use auth_core::{EventKind, EventQuery};
/// let query = EventQuery { kind: Some(EventKind::LoginFailed), ..EventQuery::default() };
/// assert!(query.user_id.is_none() && query.since.is_none() && query.before.is_none());
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct EventQuery {
    /// Only this account's.
    pub user_id: Option<UserId>,
    /// Only this kind.
    pub kind: Option<EventKind>,
    /// Only from this time on (inclusive).
    pub since: Option<DateTime<Utc>>,
    /// Only those appended before this one (the next page).
    pub before: Option<EventSeq>,
}

impl EventQuery {
    /// Whether `event` at `seq` passes every filter.
    pub fn matches(&self, seq: EventSeq, event: &SecurityEvent) -> bool {
        self.user_id.is_none_or(|id| event.user_id == Some(id))
            && self.kind.is_none_or(|kind| event.kind == kind)
            && self.since.is_none_or(|since| event.at >= since)
            && self.before.is_none_or(|before| seq < before)
    }
}

/// Finding users and disabling them. The contract is
/// [`crate::admin_conformance!`].
pub trait UserDirectory: Send + Sync {
    /// At most `limit` users that `search` matches
    /// ([`UserSearch::matches`]) and whose canonical username sorts after
    /// [`UserSearch::after`], by canonical username (byte order). A user
    /// registered meanwhile MUST NOT shift a later page.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn search_users(
        &self,
        search: &UserSearch,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<User>, StoreError>> + Send;

    /// Sets [`User::disabled_at`] of `id`. Returns `false` if there is no
    /// such user.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn set_user_disabled(
        &self,
        id: UserId,
        disabled_at: Option<DateTime<Utc>>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// The whole audit trail. The contract is [`crate::admin_conformance!`].
pub trait AuditLog: Send + Sync {
    /// At most `limit` events that `query` matches
    /// ([`EventQuery::matches`]), the last appended first. Every field of
    /// the event (its actor too) MUST read back as appended.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn search_events(
        &self,
        query: &EventQuery,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<LoggedEvent>, StoreError>> + Send;
}
