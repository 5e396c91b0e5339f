//! The storage ports. Shaped by the use cases, not by CRUD.
//!
//! Every implementation runs the same contract, `crate::conformance`
//! (feature `testing`), so the rules stated here are checked, not hoped for.
//!
//! Methods return `impl Future + Send` rather than `async fn` so that the
//! futures can be used from multi-threaded servers; implementations may
//! still write `async fn`.

use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::{
    AccountKey, Device, DeviceId, EmailAddress, FailureStats, MailOutbox, OneTimeTokenStore,
    PasswordHash, QueuedMail, RateKey, RateLimit, Reservation, SecurityEvent, Session, SessionId,
    ThrottlePolicy, User, UserId, Username,
};

/// What a store can fail with.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// Another user already has this canonical username, or one that looks
    /// like it (the same [`Username::skeleton`]).
    #[error("username is taken")]
    UsernameTaken,
    /// Another user already has this email address (compared by
    /// [`crate::EmailAddress::canonical`]).
    #[error("email address is taken")]
    EmailTaken,
    /// Another admin key has this name ([`crate::AdminKeyStore::insert_admin_key`]).
    #[error("name is taken")]
    NameTaken,
    /// The store could not answer: unreachable, failing, or holding data
    /// that does not parse. The source is kept for logs.
    #[error("storage unavailable")]
    Unavailable(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl StoreError {
    /// Wraps any backend error as [`StoreError::Unavailable`].
    ///
    /// ```
    /// use auth_core::StoreError;
    /// let error = StoreError::unavailable(std::io::Error::other("connection refused"));
    /// assert!(matches!(error, StoreError::Unavailable(_)));
    /// ```
    pub fn unavailable(source: impl std::error::Error + Send + Sync + 'static) -> Self {
        Self::Unavailable(Box::new(source))
    }
}

/// Users, keyed by id and by canonical username; their skeletons are unique too.
pub trait UserRepository: Send + Sync {
    /// Stores a new user.
    ///
    /// # Errors
    /// MUST return [`StoreError::UsernameTaken`], atomically, if a user with
    /// the same canonical username exists, or a user whose name has the same
    /// confusable skeleton ([`Username::skeleton`]: `аdmin` with a Cyrillic
    /// `а` when `admin` exists): decided by the store (a unique constraint
    /// on each key, a lock), never by a check-then-insert, so two racing
    /// registrations, of one name or of two look-alikes, give exactly one
    /// success. Likewise [`StoreError::EmailTaken`] if `user.email` is
    /// another user's address (by its canonical key).
    fn create_user(&self, user: &User) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Finds a user by `username.canonical()`.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn find_user_by_username(
        &self,
        username: &Username,
    ) -> impl Future<Output = Result<Option<User>, StoreError>> + Send;

    /// Finds the user whose email address is `email` (by its canonical
    /// key), verified or not.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn find_user_by_email(
        &self,
        email: &EmailAddress,
    ) -> impl Future<Output = Result<Option<User>, StoreError>> + Send;

    /// Sets a user's address to `email`, unverified, sets `updated_at`, and
    /// queues `mail` (the verification and the notice to the old address)
    /// in the same transaction: either all of it is stored or none. Returns
    /// `false` (and queues nothing) if there is no such user.
    ///
    /// # Errors
    /// [`StoreError::EmailTaken`], atomically (a unique key, never a
    /// check-then-write), if another user has the address;
    /// [`StoreError::Unavailable`].
    fn change_email(
        &self,
        id: UserId,
        email: &EmailAddress,
        updated_at: DateTime<Utc>,
        mail: &[QueuedMail],
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Marks the user's address verified if it is still `email` (a link
    /// mailed to an earlier address proves nothing about the current one).
    /// Returns whether it did (`true` also if it was verified already).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn mark_email_verified(
        &self,
        id: UserId,
        email: &EmailAddress,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Finds a user by id.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn find_user_by_id(
        &self,
        id: UserId,
    ) -> impl Future<Output = Result<Option<User>, StoreError>> + Send;

    /// Replaces a user's password hash and sets `updated_at`. Returns
    /// `false` if there is no such user. MUST NOT touch any other user.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn set_password_hash(
        &self,
        id: UserId,
        hash: &PasswordHash,
        updated_at: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Replaces a user's password hash with `new` only if it is still
    /// `current` (compare-and-swap), and sets `updated_at`; returns whether
    /// it did. A login's rehash uses it, so a password set meanwhile is
    /// never overwritten by a rehash of the old one. MUST be atomic.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn replace_password_hash(
        &self,
        id: UserId,
        current: &PasswordHash,
        new: &PasswordHash,
        updated_at: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Deletes the user `id` and everything tied to it, in one transaction:
    /// its sessions (gone for every handle, as
    /// [`SessionStore::revoke_session`]), the device cookies and login
    /// failures of `account` (its key), its security events, one-time
    /// tokens and queued mail. Returns
    /// `false` if there is no such user. Its names are free again at once.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn delete_user(
        &self,
        id: UserId,
        account: &AccountKey,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;
}

/// Server-side sessions, keyed by [`SessionId`] (never by the token itself).
pub trait SessionStore: Send + Sync {
    /// Stores a new session. Every field MUST read back exactly
    /// (timestamps to the microsecond).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn insert_session(
        &self,
        session: &Session,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Finds a session by id, expired or not (expiry is the caller's rule).
    /// A revoked session MUST NOT be found, through any handle on the store.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn find_session(
        &self,
        id: &SessionId,
    ) -> impl Future<Output = Result<Option<Session>, StoreError>> + Send;

    /// Sets `last_seen_at` and `idle_expires_at` in one statement. Returns
    /// `false` if the session does not exist.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn touch_session(
        &self,
        id: &SessionId,
        last_seen_at: DateTime<Utc>,
        idle_expires_at: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Deletes one session. Returns `false` if it did not exist.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn revoke_session(
        &self,
        id: &SessionId,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Stores `session` only if its user's password hash is still
    /// `credential` (the one the login verified), atomically; returns
    /// whether it did. A password set while a login was in flight thus
    /// leaves no session made with the old password.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn insert_session_if_credential(
        &self,
        session: &Session,
        credential: &PasswordHash,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Deletes the sessions of `user_id` beyond its `keep` newest (by
    /// `created_at`, then id) and returns how many: the cap on live sessions
    /// per user. MUST leave the newest `keep` and other users' sessions
    /// alone, and a deleted session MUST be gone for every handle (as
    /// [`SessionStore::revoke_session`]).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn revoke_sessions_beyond(
        &self,
        user_id: UserId,
        keep: u32,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Every session of `user_id`, expired or not, in any order.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn list_sessions(
        &self,
        user_id: UserId,
    ) -> impl Future<Output = Result<Vec<Session>, StoreError>> + Send;

    /// Deletes every session of `user_id` but `keep` and returns how many.
    /// MUST leave `keep` and other users' sessions alone, and a deleted
    /// session MUST be gone for every handle.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn revoke_other_sessions(
        &self,
        user_id: UserId,
        keep: &SessionId,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Deletes every session of `user_id` and returns how many. MUST leave
    /// other users' sessions alone.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn revoke_all_sessions(
        &self,
        user_id: UserId,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Deletes every session whose idle or absolute expiry is at or before
    /// `now`, and returns how many.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn purge_expired_sessions(
        &self,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// The revocation log of a store shared by several processes (see
/// [`crate::LogPosition`]): what lets each process's
/// [`crate::SessionCache::shared`] serve sessions without a query each while
/// another process's logout still counts at once.
///
/// A store that implements it MUST append one entry, in the same
/// transaction as the delete, for every call that removes at least one
/// session: [`SessionStore::revoke_session`] ([`crate::Revocation::Session`]),
/// [`SessionStore::revoke_sessions_beyond`], [`SessionStore::revoke_other_sessions`],
/// [`SessionStore::revoke_all_sessions`] and [`UserRepository::delete_user`]
/// ([`crate::Revocation::User`]). It MUST also append, in the same
/// transaction, an entry for every change to what the cache keeps per
/// user: [`crate::Revocation::SessionList`] for a new session
/// ([`SessionStore::insert_session`], a successful
/// [`SessionStore::insert_session_if_credential`]) and
/// [`crate::Revocation::SecondFactors`] for a second factor changed
/// ([`crate::SecondFactorStore::enable_totp`], `remove_totp`,
/// `replace_recovery_codes`, `use_recovery_code`, and
/// [`crate::PasskeyStore::add_passkey`], `remove_passkey`, each when it
/// changed something). [`crate::Revocation::User`] may stand for either
/// (it covers them, at the price of other instances reading that user's
/// sessions again). A last-seen touch needs none. Expired sessions removed by
/// [`SessionStore::purge_expired_sessions`] need none: expiry is checked on
/// every use. Positions MUST follow commit order: once an entry at `n` can
/// be read, no entry below `n` may still appear. Entries MUST be kept for at
/// least [`crate::REVOCATION_LOG_RETENTION`]; a store drops older ones itself
/// (the stores here do it when appending).
pub trait RevocationLog: Send + Sync {
    /// The entries after `after`, oldest first, at most `limit` of them.
    /// Every entry whose revoking call returned before this one started
    /// MUST be among them (or among the next pages).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn revocations_after(
        &self,
        after: crate::LogPosition,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<crate::LoggedRevocation>, StoreError>> + Send;

    /// The position of the newest entry ([`crate::LogPosition::START`] for
    /// an empty log): a cache far behind the log drops everything and
    /// continues from here instead of reading every page. The default reads
    /// every page; a store with a cheaper way overrides it.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn last_position(&self) -> impl Future<Output = Result<crate::LogPosition, StoreError>> + Send {
        async move {
            let mut last = crate::LogPosition::START;
            loop {
                let page = self.revocations_after(last, 1024).await?;
                match page.last() {
                    Some(entry) => last = entry.position,
                    None => return Ok(last),
                }
            }
        }
    }

    /// Whether this store grants cache leases ([`RevocationLog::renew_lease`]).
    /// A store that does not keeps the defaults below: every cache hit of a
    /// process sharing it waits for a log read, and writers wait for nothing.
    fn grants_leases(&self) -> bool {
        false
    }

    /// Grants or extends `holder`'s lease for `length` (at most
    /// [`crate::MAX_CACHE_LEASE`]), measured by the store's own clock from
    /// this call, if `applied` is at or past the log's newest position:
    /// `true` when granted. A lease says "this holder's cache reflects every
    /// entry up to `applied` and will serve hits without reading the log
    /// until the lease ends". The check and the grant MUST be atomic with
    /// appends: no entry may commit between them unseen, so a lease granted
    /// at `applied` is never behind an entry that committed before it.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn renew_lease(
        &self,
        holder: crate::LeaseHolder,
        applied: crate::LogPosition,
        length: std::time::Duration,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        let _ = (holder, applied, length);
        async { Ok(false) }
    }

    /// Whether a lease that has not ended, by the store's clock, was granted
    /// at a position below `position`, leaving out `other_than`'s (the
    /// writer's own cache, which it has already updated itself): a writer
    /// whose entry is at `position` waits until this is `false` before it
    /// answers.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn leases_behind(
        &self,
        position: crate::LogPosition,
        other_than: Option<crate::LeaseHolder>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send {
        let _ = (position, other_than);
        async { Ok(false) }
    }

    /// Ends `holder`'s lease now (a process shutting down), so that no
    /// writer waits for it.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn release_lease(
        &self,
        holder: crate::LeaseHolder,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        let _ = holder;
        async { Ok(()) }
    }

    /// A hint raised whenever another process may have appended (for
    /// PostgreSQL, a `LISTEN` channel the appends notify), so that a lease
    /// keeper applies it at once rather than at its next poll; `None` (the
    /// default): the keeper only polls. Called from within the runtime the
    /// keeper runs on. A hint that stops coming (its channel dropped) only
    /// makes writers wait for the next poll.
    fn append_signal(&self) -> Option<crate::AppendSignal> {
        None
    }
}

/// Failed logins and the attempts being evaluated, recorded so that
/// back-off is shared by every instance on the same database. Accounts are
/// identified by their [`AccountKey`] (stored as [`AccountKey::as_str`]),
/// client addresses by their budget key ([`crate::address_budget_key`]).
pub trait ThrottleStore: Send + Sync {
    /// Records one failed login. Concurrent records MUST all be counted.
    /// `client_ip` is kept for the record; the address budget is a
    /// [`RateLimitStore`] budget.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn record_login_failure(
        &self,
        account: &AccountKey,
        client_ip: Option<&str>,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Counts the account's failures at or after `since`, with the oldest
    /// and newest of them.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn login_failure_stats(
        &self,
        account: &AccountKey,
        since: DateTime<Utc>,
    ) -> impl Future<Output = Result<FailureStats, StoreError>> + Send;

    /// Holds a place for one attempt on `account` if `policy` admits it:
    /// reads the failures since [`ThrottlePolicy::account_since`] and the
    /// reservations of the account that have not expired at `now`, asks
    /// [`ThrottlePolicy::admit`], and on `Ok` stores a reservation expiring at
    /// [`ThrottlePolicy::reservation_expiry`]. The read, the decision and the
    /// write MUST be atomic per account across every handle and instance (a
    /// lock on the account, never a check-then-insert), so that of a burst
    /// of concurrent calls exactly as many succeed as the policy allows one
    /// at a time. Other accounts MUST NOT wait on it for long.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only; a refusal is `Ok(Err(wait))`.
    fn reserve_login_attempt(
        &self,
        account: &AccountKey,
        policy: &ThrottlePolicy,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Result<Reservation, Duration>, StoreError>> + Send;

    /// Gives a place back (the attempt was evaluated and its failure, if
    /// any, recorded; or it never ran). Releasing an unknown or expired
    /// reservation is not an error.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn release_login_attempt(
        &self,
        reservation: &Reservation,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Deletes every failure recorded for `account` (after a successful
    /// login, or by an admin) and returns how many. MUST leave other
    /// accounts and every reservation alone.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn clear_login_failures(
        &self,
        account: &AccountKey,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;

    /// Deletes failures recorded before `before`, and reservations expired
    /// at `now`, and returns how many rows went.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn purge_login_failures(
        &self,
        before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// Rate-limit budgets ([`RateLimit`]), one state per [`RateKey`], shared by
/// every instance on the same database.
pub trait RateLimitStore: Send + Sync {
    /// Takes one event from the budget `key` under `limit` at `now` and
    /// returns whether it could ([`RateLimit::take`]). The read and the
    /// write MUST be atomic per key across every handle and instance, so
    /// that of a burst of concurrent takes exactly `limit.burst()` succeed.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only; a refusal is `Ok(Err(wait))`.
    fn take_rate(
        &self,
        key: &RateKey,
        limit: &RateLimit,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Result<(), Duration>, StoreError>> + Send;

    /// Charges an event that already happened ([`RateLimit::charge`]).
    /// Concurrent charges MUST all be counted.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn charge_rate(
        &self,
        key: &RateKey,
        limit: &RateLimit,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// How long an event at `now` would wait ([`RateLimit::wait`]), taking nothing.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn rate_wait(
        &self,
        key: &RateKey,
        limit: &RateLimit,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<Duration>, StoreError>> + Send;

    /// Forgets the budget `key` (it is full again). MUST leave other keys alone.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn clear_rate(&self, key: &RateKey) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Deletes the budgets that are full at `now` (their state is at or
    /// before it: the same as no state) and returns how many.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn purge_rates(
        &self,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// Device cookies ([`Device`]), keyed by [`DeviceId`] (never the token).
pub trait DeviceStore: Send + Sync {
    /// Stores a new device. Every field MUST read back exactly.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn insert_device(&self, device: &Device)
    -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Finds a device by id, expired or not (expiry is the caller's rule).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn find_device(
        &self,
        id: &DeviceId,
    ) -> impl Future<Output = Result<Option<Device>, StoreError>> + Send;

    /// Deletes devices that expired at or before `now` and returns how many.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn purge_expired_devices(
        &self,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// Security events ([`SecurityEvent`]), appended and never changed.
pub trait EventStore: Send + Sync {
    /// Appends one event. Every field MUST read back exactly; concurrent
    /// appends MUST all be kept.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn append_event(
        &self,
        event: &SecurityEvent,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The `limit` newest events of `user_id`, newest first (by time, then
    /// the later appended first).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn user_events(
        &self,
        user_id: UserId,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<SecurityEvent>, StoreError>> + Send;

    /// Deletes events from before `before` and returns how many.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn purge_events(
        &self,
        before: DateTime<Utc>,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// Everything the [`crate::Authenticator`] needs from storage. Clones are
/// handles on the same data (as a connection pool is).
pub trait Store:
    UserRepository
    + SessionStore
    + ThrottleStore
    + RateLimitStore
    + DeviceStore
    + EventStore
    + OneTimeTokenStore
    + MailOutbox
    + crate::SecondFactorStore
    + crate::PasskeyStore
    + crate::CeremonyStore
    + Clone
    + 'static
{
}

impl<T> Store for T where
    T: UserRepository
        + SessionStore
        + ThrottleStore
        + RateLimitStore
        + DeviceStore
        + EventStore
        + OneTimeTokenStore
        + MailOutbox
        + crate::SecondFactorStore
        + crate::PasskeyStore
        + crate::CeremonyStore
        + crate::PasskeyStore
        + crate::CeremonyStore
        + Clone
        + 'static
{
}
