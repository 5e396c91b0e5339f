//! The revocation log: what a store shared by several processes tells each
//! of them, so that their session caches never serve a revoked session.
//!
//! Every store call that removes sessions (a logout, "log out everywhere",
//! revoking the others, the session cap, deleting a user) also appends one
//! [`Revocation`] to the log, in the same transaction, at the next
//! [`LogPosition`]. So does every call that changes what a cache keeps per
//! user: a new session (a login), as [`Revocation::SessionList`], and a
//! second factor enabled, removed or spent (TOTP, recovery codes, passkeys),
//! as [`Revocation::SecondFactors`]. A touch
//! of a session's last-seen time is not logged (once per interval per
//! session would make the log as busy as the traffic): another instance's
//! list may show it up to the cache's time-to-live late. Positions follow commit order: a reader that sees
//! position `n` has already seen every position below it. That is what lets
//! one query ("everything after the position I have applied") confirm every
//! cached session of a process at once; see [`crate::SessionCache::shared`].

use std::fmt;
use std::time::Duration;

use crate::{SessionId, UserId};

/// How long a store keeps log entries: far longer than any cache may trust
/// an entry ([`crate::SessionCache::shared`] caps its time-to-live at a
/// quarter of it), so a process never misses an entry that could still
/// concern a session it holds.
pub const REVOCATION_LOG_RETENTION: Duration = Duration::from_secs(60 * 60);

/// A position in the revocation log. The empty log is at [`LogPosition::START`];
/// entries are numbered from 1 in commit order.
///
/// ```
/// use auth_core::LogPosition;
/// assert!(LogPosition::START < LogPosition::new(1));
/// assert_eq!(LogPosition::new(7).get(), 7);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct LogPosition(u64);

impl LogPosition {
    /// Before every entry.
    pub const START: Self = Self(0);

    /// The position `value`.
    pub const fn new(value: u64) -> Self {
        Self(value)
    }

    /// The number, as a store keeps it.
    pub const fn get(self) -> u64 {
        self.0
    }
}

impl fmt::Display for LogPosition {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What one entry of the log says must no longer be served from a cache.
///
/// The narrow kinds ([`Revocation::SessionList`], [`Revocation::SecondFactors`])
/// leave a user's cached sessions alone: a login on one instance must not
/// make every instance read all of that user's other sessions again. A store
/// may always log [`Revocation::User`] instead of a narrow kind: it covers
/// them ([`Revocation::covers`]).
///
/// ```
/// use auth_core::{Revocation, SessionId, UserId};
/// let session = Revocation::Session(SessionId::from_bytes([7; 32]));
/// let user = Revocation::User(UserId::new());
/// assert_ne!(session, user);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Revocation {
    /// One session was revoked.
    Session(SessionId),
    /// Sessions of this user were revoked, or the user changed: every cached
    /// session of theirs, their session list and their factors must be read
    /// again.
    User(UserId),
    /// A session of this user was created: their session list must be read
    /// again; their cached sessions and factors stay valid.
    SessionList(UserId),
    /// A second factor of this user was enabled, removed or spent: their
    /// factors must be read again; their sessions and session list stay
    /// valid.
    SecondFactors(UserId),
}

impl Revocation {
    /// Whether applying `self` drops at least what applying `other` drops:
    /// what a store may log in place of `other`.
    ///
    /// ```
    /// use auth_core::{Revocation, UserId};
    /// let alice = UserId::new();
    /// assert!(Revocation::User(alice).covers(Revocation::SessionList(alice)));
    /// assert!(Revocation::User(alice).covers(Revocation::SecondFactors(alice)));
    /// assert!(!Revocation::SessionList(alice).covers(Revocation::User(alice)));
    /// assert!(!Revocation::User(UserId::new()).covers(Revocation::SessionList(alice)));
    /// ```
    pub fn covers(self, other: Revocation) -> bool {
        match (self, other) {
            (Self::User(user), Self::SessionList(other) | Self::SecondFactors(other)) => {
                user == other
            }
            _ => self == other,
        }
    }
}

/// One entry of the log, as [`crate::RevocationLog::revocations_after`] returns it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LoggedRevocation {
    /// Where it is in the log.
    pub position: LogPosition,
    /// What it revoked.
    pub revocation: Revocation,
}

/// The longest [`crate::RevocationLog::renew_lease`] grants. A revocation
/// waits for an instance that stopped renewing at most this long, and a
/// writer that cannot read the leases waits this long from its commit.
pub const MAX_CACHE_LEASE: Duration = Duration::from_secs(5);

/// Who holds a cache lease: one process's shared session cache, named at
/// random when it is built.
///
/// ```
/// use auth_core::LeaseHolder;
/// let holder = LeaseHolder::new();
/// assert_ne!(holder, LeaseHolder::new());
/// assert_eq!(LeaseHolder::from_uuid(*holder.as_uuid()), holder);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct LeaseHolder(uuid::Uuid);

impl LeaseHolder {
    /// A new, random holder.
    pub fn new() -> Self {
        Self(uuid::Uuid::now_v7())
    }

    /// The holder a store kept.
    pub const fn from_uuid(id: uuid::Uuid) -> Self {
        Self(id)
    }

    /// As a store keeps it.
    pub const fn as_uuid(&self) -> &uuid::Uuid {
        &self.0
    }
}

impl Default for LeaseHolder {
    fn default() -> Self {
        Self::new()
    }
}

/// A store's hint that entries may have been appended to its log since the
/// last [`AppendSignal::appended`] returned: what lets a lease keeper apply
/// another process's logout at once instead of at its next poll. Only a
/// hint: a hint lost (a dropped notification channel) costs time, never
/// correctness, because the keeper still polls.
///
/// ```
/// use auth_core::AppendSignal;
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() {
/// let (notifier, mut signal) = AppendSignal::channel();
/// notifier.notify();
/// signal.appended().await; // returns at once: notified since
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct AppendSignal(tokio::sync::watch::Receiver<u64>);

/// The store's side of an [`AppendSignal`].
#[derive(Debug)]
pub struct AppendNotifier(tokio::sync::watch::Sender<u64>);

impl AppendSignal {
    /// A notifier and the signal it raises (clone the signal for each
    /// listener).
    pub fn channel() -> (AppendNotifier, AppendSignal) {
        let (sender, receiver) = tokio::sync::watch::channel(0);
        (AppendNotifier(sender), AppendSignal(receiver))
    }

    /// Waits until the notifier was notified since this signal last
    /// returned (or was cloned); never returns once the notifier is gone.
    pub async fn appended(&mut self) {
        if self.0.changed().await.is_err() {
            std::future::pending::<()>().await;
        }
    }
}

impl AppendNotifier {
    /// Tells every signal that entries may have been appended.
    pub fn notify(&self) {
        self.0.send_modify(|count| *count = count.wrapping_add(1));
    }

    /// Resolves once every signal is dropped: nobody listens any more.
    pub async fn unheard(&self) {
        self.0.closed().await;
    }
}
