//! The durable outbox: mail to send ([`QueuedMail`]) and the port that
//! keeps it until it is sent ([`MailOutbox`]).
//!
//! A queued message holds no secret: it says which message goes to whom.
//! The link's token is drawn by the worker when it sends, so a reader of
//! the outbox table learns no usable link, and a retry mails a fresh token
//! (which replaces the unsent one: one live token per user and purpose).

use std::fmt;
use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{EmailAddress, StoreError, TokenPurpose, UserId};

/// A queued message's id: a UUID v7, so ids sort by queueing time.
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct MailId(Uuid);

impl MailId {
    /// A fresh id.
    #[allow(clippy::new_without_default)] // a default id would be a random one
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }

    /// Wraps an id read from storage.
    pub fn from_uuid(uuid: Uuid) -> Self {
        Self(uuid)
    }

    /// The UUID.
    pub fn as_uuid(&self) -> &Uuid {
        &self.0
    }
}

impl fmt::Debug for MailId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "MailId({})", self.0)
    }
}

impl fmt::Display for MailId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// Which message.
///
/// ```
/// use auth_core::{MailKind, TokenPurpose};
/// assert_eq!(MailKind::parse(MailKind::PasswordReset.as_str()), Some(MailKind::PasswordReset));
/// assert_eq!(MailKind::PasswordReset.token_purpose(), Some(TokenPurpose::PasswordReset));
/// assert_eq!(MailKind::PasswordChanged.token_purpose(), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MailKind {
    /// A link proving the user reads mail at the address (sent to it).
    EmailVerification,
    /// A link to set a new password (sent to the verified address).
    PasswordReset,
    /// A notice that the password was reset.
    PasswordChanged,
    /// A notice, sent to the previous address, that the address changed.
    EmailChanged,
}

impl MailKind {
    /// Every kind, in a stable order.
    pub const ALL: [Self; 4] = [
        Self::EmailVerification,
        Self::PasswordReset,
        Self::PasswordChanged,
        Self::EmailChanged,
    ];

    /// The stored name (also the template's name).
    pub fn as_str(self) -> &'static str {
        match self {
            Self::EmailVerification => "email_verification",
            Self::PasswordReset => "password_reset",
            Self::PasswordChanged => "password_changed",
            Self::EmailChanged => "email_changed",
        }
    }

    /// Reads back [`MailKind::as_str`].
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == text)
    }

    /// The token a message of this kind carries, if any.
    pub fn token_purpose(self) -> Option<TokenPurpose> {
        match self {
            Self::EmailVerification => Some(TokenPurpose::EmailVerification),
            Self::PasswordReset => Some(TokenPurpose::PasswordReset),
            Self::PasswordChanged | Self::EmailChanged => None,
        }
    }
}

/// One message in the outbox.
///
/// ```
/// use auth_core::{EmailAddress, MailKind, QueuedMail, UserId};
/// use chrono::Utc;
/// let now = Utc::now();
/// let mail = QueuedMail::new(UserId::new(), MailKind::PasswordChanged, EmailAddress::parse("a@example.com")?, now);
/// assert_eq!((mail.attempts, mail.next_attempt_at), (0, now));
/// # Ok::<(), auth_core::EmailError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueuedMail {
    /// Its id.
    pub id: MailId,
    /// The account it is about.
    pub user_id: UserId,
    /// Which message.
    pub kind: MailKind,
    /// The recipient.
    pub to: EmailAddress,
    /// When it was queued.
    pub created_at: DateTime<Utc>,
    /// How many times a worker claimed it.
    pub attempts: u32,
    /// When it may next be claimed.
    pub next_attempt_at: DateTime<Utc>,
}

impl QueuedMail {
    /// A message to send now.
    pub fn new(user_id: UserId, kind: MailKind, to: EmailAddress, now: DateTime<Utc>) -> Self {
        Self {
            id: MailId::new(),
            user_id,
            kind,
            to,
            created_at: now,
            attempts: 0,
            next_attempt_at: now,
        }
    }
}

/// What the outbox holds, for metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct OutboxStats {
    /// Messages not yet sent and not given up on.
    pub waiting: u64,
    /// Messages given up on (kept until purged).
    pub failed: u64,
    /// When the oldest waiting message was queued.
    pub oldest_waiting: Option<DateTime<Utc>>,
}

/// The outbox's store. A message is claimed by one worker at a time (a
/// lease), so two instances never send it twice; a worker that dies
/// mid-send leaves it to be claimed again when its lease ends.
pub trait MailOutbox: Send + Sync {
    /// Queues messages. Every field MUST read back exactly.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn enqueue_mail(
        &self,
        mail: &[QueuedMail],
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Claims up to `limit` waiting messages due at `now` (`next_attempt_at
    /// <= now`) whose lease is free, oldest due first: each claimed one's
    /// `attempts` goes up by one and it is leased for `lease`. MUST be
    /// atomic: concurrent claims, from any instance, never return the same
    /// message while its lease holds. Returns them as stored after the claim.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn claim_mail(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<QueuedMail>, StoreError>> + Send;

    /// Marks a message done (sent, or dropped because it no longer
    /// applies) at `now`: it is never claimed again. Returns `false` if
    /// there is no such waiting message.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn complete_mail(
        &self,
        id: MailId,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Frees a claimed message's lease and makes it due again at `at`.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn retry_mail(
        &self,
        id: MailId,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Gives up on a message at `now`: it is never claimed again and counts
    /// as failed until purged.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn fail_mail(
        &self,
        id: MailId,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Counts for metrics.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn outbox_stats(&self) -> impl Future<Output = Result<OutboxStats, StoreError>> + Send;

    /// Deletes messages completed or given up on before `before`; returns
    /// how many. Waiting messages are never purged.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn purge_mail(
        &self,
        before: DateTime<Utc>,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// How the outbox worker retries: exponential back-off from `retry_base`
/// (doubling, at most `retry_max`) for up to `max_attempts` claims, each
/// leased for `lease` (longer than a send can take, so a live worker's
/// message is never claimed twice). Defaults: 30 s, 1 h, 12 attempts
/// (about five hours), a 2-minute lease.
///
/// ```
/// use std::time::Duration;
/// use auth_core::OutboxPolicy;
/// let policy = OutboxPolicy::default();
/// assert_eq!(policy.retry_delay(1), Some(Duration::from_secs(30)));
/// assert_eq!(policy.retry_delay(3), Some(Duration::from_secs(120)));
/// assert_eq!(policy.retry_delay(11), Some(Duration::from_secs(3600)));
/// assert_eq!(policy.retry_delay(12), None); // given up
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct OutboxPolicy {
    /// The wait after the first failed attempt.
    pub retry_base: Duration,
    /// The longest wait between attempts.
    pub retry_max: Duration,
    /// Attempts before a message is given up on.
    pub max_attempts: u32,
    /// How long a claim holds a message.
    pub lease: Duration,
}

impl OutboxPolicy {
    /// The wait before the next attempt after `attempts` failed ones, or
    /// `None` when the message should be given up on.
    pub fn retry_delay(&self, attempts: u32) -> Option<Duration> {
        if attempts >= self.max_attempts {
            return None;
        }
        let doublings = attempts.saturating_sub(1).min(31);
        let delay = self.retry_base.saturating_mul(1u32 << doublings);
        Some(delay.min(self.retry_max))
    }
}

impl Default for OutboxPolicy {
    fn default() -> Self {
        Self {
            retry_base: Duration::from_secs(30),
            retry_max: Duration::from_secs(3600),
            max_attempts: 12,
            lease: Duration::from_secs(120),
        }
    }
}
