//! The use cases: register, log in, authenticate a token, log out, and the
//! account's self-service.
//!
//! One file per group of use cases: `register.rs` (registration and
//! setting a password), `login.rs` (the login), `gate.rs` (the limits a
//! password check passes, and what its verdict updates), `sessions.rs`
//! (authenticating a token, logging out), `account.rs` (a user's sessions,
//! password change, deletion, events), `email.rs` (the account's address
//! and its verification), `mfa.rs` (TOTP and recovery codes),
//! `mfa_login.rs` (a login's second step), `passkeys.rs` (registering and
//! managing passkeys), `passkey_login.rs` (logging in with one), `recovery.rs` (password reset), `delivery.rs`
//! (the outbox worker's step); what they share is here, with the
//! recording of security events.

mod account;
mod admin;
mod delivery;
mod email;
mod gate;
mod login;
mod mfa;
mod mfa_login;
mod passkey_login;
mod passkeys;
mod recovery;
mod register;
mod sessions;
#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::{
    AccountKey, Client, Clock, DevicePolicy, DeviceToken, EventKind, HashError, OutboxPolicy,
    PasswordError, PasswordHasher, PasswordPolicy, RecoveryPolicy, RegisterLimits, SecurityEvent,
    Session, SessionCache, SessionPolicy, SessionToken, Store, StoreError, ThrottlePolicy, User,
    UserId, Username,
};

pub use account::MAX_EVENTS_PAGE;
pub use admin::{BackoffState, EventPage, MAX_ADMIN_PAGE, UserOverview, UserPage};
pub use delivery::{DeliveryFailure, DeliveryReport};
pub use mfa::{MfaPolicy, SecondFactors, TotpSetup};
pub use mfa_login::{MfaChallenge, MfaMethod};
pub use passkeys::PasskeyOptions;
pub use recovery::ResetTarget;

/// Why a use case failed. The API maps each variant to a status and a code.
#[derive(Debug, thiserror::Error)]
pub enum AuthError {
    /// Unknown user or wrong password; deliberately indistinguishable.
    #[error("invalid username or password")]
    InvalidCredentials,
    /// Registration of a canonical name that exists.
    #[error("username is already taken")]
    UsernameTaken,
    /// A new password breaks the policy.
    #[error(transparent)]
    WeakPassword(#[from] PasswordError),
    /// No session, or a malformed, expired or revoked one.
    #[error("not authenticated")]
    NotAuthenticated,
    /// The hashing queue is full; retry shortly.
    #[error("server is busy hashing passwords")]
    Overloaded,
    /// A user's stored hash cannot be verified (malformed, foreign, or
    /// beyond the verify limits). Answer as invalid credentials, but log it.
    #[error("stored password hash of user {user_id} is unusable: {reason}")]
    UnusableStoredHash {
        /// Whose hash.
        user_id: UserId,
        /// Why (never the hash).
        reason: String,
    },
    /// Too many attempts (failed logins for this account, client or device,
    /// or registrations from this address or in all); retry after the delay.
    #[error("too many attempts")]
    Throttled {
        /// How long to wait.
        retry_after: Duration,
    },
    /// Another account has this email address.
    #[error("email address is already taken")]
    EmailTaken,
    /// A reset or verification token that is malformed, unknown, used or
    /// expired: one error, no hint which.
    #[error("invalid or expired token")]
    InvalidToken,
    /// The password was right and a second factor is due: no session yet;
    /// complete with [`Authenticator::login_mfa`] and the challenge's token.
    #[error("a second factor is required")]
    MfaRequired(MfaChallenge),
    /// A wrong, replayed or malformed second-factor code.
    #[error("invalid code")]
    InvalidCode,
    /// A sensitive change on an account with TOTP on came without a code.
    #[error("this account has two-factor authentication on: a code is required")]
    SecondFactorRequired,
    /// TOTP is already on (setup or confirm again).
    #[error("two-factor authentication is already enabled")]
    MfaAlreadyEnabled,
    /// TOTP is off (or, for a confirmation, no setup is pending).
    #[error("two-factor authentication is not enabled")]
    MfaNotEnabled,
    /// A passkey login failed: unknown, used or expired challenge, unknown
    /// credential, bad signature, wrong origin, a counter that went back.
    /// One error, no hint which.
    #[error("the passkey was not accepted")]
    PasskeyRefused,
    /// A passkey registration failed: unknown, used or expired challenge,
    /// failed verification, a credential registered already.
    #[error("the passkey registration was not accepted")]
    InvalidPasskeyRegistration,
    /// The user has no passkey with that id (another user's is not found either).
    #[error("no such passkey")]
    PasskeyNotFound,
    /// The user has no such session (another user's is not found either).
    #[error("no such session")]
    SessionNotFound,
    /// The right password (or passkey) of an account an operator disabled.
    #[error("this account is disabled")]
    AccountDisabled,
    /// An admin use case named a user that does not exist.
    #[error("no such user")]
    UserNotFound,
    /// A reset email for an account without a verified address.
    #[error("the account has no verified email address")]
    NoVerifiedEmail,
    /// An admin key with this name exists (revoked ones keep their names).
    #[error("an admin key with this name exists")]
    AdminKeyNameTaken,
    /// No live admin key has this name.
    #[error("no live admin key has this name")]
    AdminKeyNotFound,
    /// The store failed.
    #[error("storage failed")]
    Storage(#[source] StoreError),
    /// Something that should not happen: no randomness, a hashing worker
    /// panicked. The cause is the source.
    #[error("internal error")]
    Internal(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl From<StoreError> for AuthError {
    fn from(error: StoreError) -> Self {
        match error {
            StoreError::UsernameTaken => Self::UsernameTaken,
            StoreError::EmailTaken => Self::EmailTaken,
            StoreError::NameTaken => Self::AdminKeyNameTaken,
            other => Self::Storage(other),
        }
    }
}

impl From<HashError> for AuthError {
    fn from(error: HashError) -> Self {
        match error {
            HashError::Overloaded => Self::Overloaded,
            other => Self::Internal(Box::new(other)),
        }
    }
}

/// What [`Authenticator::purge_expired`] deleted.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Purged {
    /// Expired sessions.
    pub sessions: u64,
    /// Login failures older than every back-off window, and expired reservations.
    pub login_failures: u64,
    /// Rate-limit budgets that are full again.
    pub rate_limits: u64,
    /// Expired device cookies.
    pub devices: u64,
    /// Security events older than the retention.
    pub events: u64,
    /// One-time tokens expired for longer than [`crate::SPENT_TOKEN_RETENTION`].
    pub tokens: u64,
    /// Outbox messages sent or given up on longer than
    /// [`crate::SPENT_TOKEN_RETENTION`] ago.
    pub mail: u64,
    /// Passkey ceremonies (challenges) that expired unanswered.
    pub ceremonies: u64,
}

/// A successful login.
#[derive(Debug)]
pub struct LoginSuccess {
    /// The new token, to give to the client once.
    pub token: SessionToken,
    /// The stored session.
    pub session: Session,
    /// Who logged in.
    pub user: User,
    /// The password just verified would be refused by today's
    /// [`PasswordPolicy`] (for example an account imported from the Flask
    /// service with a short password): it still logs in, since the policy
    /// applies only when a password is set, but a change is recommended.
    pub password_change_recommended: bool,
    /// A new device cookie, when the client presented none valid for this
    /// account: set it, so its next attempts skip the address budget.
    pub device: Option<DeviceToken>,
}

/// An authenticated request's user and session.
#[derive(Debug, Clone)]
pub struct Authenticated {
    /// The user.
    pub user: User,
    /// The session the token belongs to.
    pub session: Session,
    /// When the request arrived, for the reads it makes next
    /// ([`Authenticator::my_sessions`], [`Authenticator::my_second_factors`]):
    /// a shared cache's round that confirmed the session confirms them too.
    pub(crate) arrival: crate::cache::Arrival,
}

/// The authentication service over a [`Store`]. Cheap to clone.
///
/// ```
/// use std::sync::Arc;
/// use auth_core::{Authenticator, AuthError, Client, HashConfig, MemoryStore, Password, PasswordHasher,
///                 ScryptParams, SystemClock, Username};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let hasher = PasswordHasher::new(HashConfig {
///     params: ScryptParams::insecure_fast_for_tests(),
///     ..HashConfig::default()
/// })?;
/// let auth = Authenticator::new(MemoryStore::new(), hasher, Arc::new(SystemClock));
///
/// let client = Client::default();
/// auth.register(Username::parse("Alice")?, Password::new("tangerine maple orbit 42"), &client).await?;
/// let login = auth.login("alice", Password::new("tangerine maple orbit 42"), &client).await?;
/// let me = auth.authenticate(login.token.as_str()).await?;
/// assert_eq!(me.user.username.as_str(), "Alice");
///
/// auth.logout(login.token.as_str(), &client).await?;
/// assert!(matches!(auth.authenticate(login.token.as_str()).await, Err(AuthError::NotAuthenticated)));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone)]
pub struct Authenticator<S> {
    store: S,
    hasher: PasswordHasher,
    passwords: PasswordPolicy,
    sessions: SessionPolicy,
    throttle: ThrottlePolicy,
    devices: DevicePolicy,
    registrations: RegisterLimits,
    recovery: RecoveryPolicy,
    outbox: OutboxPolicy,
    mfa: MfaPolicy,
    /// Passkeys are registered for and checked against it; `None` turns
    /// them off (every passkey use case fails as a deployment error).
    relying_party: Option<crate::RelyingParty>,
    cache: SessionCache,
    clock: Arc<dyn Clock>,
    events: Events,
    places: gate::LocalPlaces,
}

/// Where security events go besides the store, and what is counted.
#[derive(Clone)]
struct Events {
    /// Called with every event and whether storing it failed (the API logs
    /// them as `target=audit` JSON lines).
    sink: Option<Arc<AuditSink>>,
    /// Events the store could not keep.
    failed: Arc<AtomicU64>,
    /// Mail the store could not queue (see `delivery.rs`).
    mail_not_queued: Arc<AtomicU64>,
    /// Accounts whose `login_throttled` event was recorded in the last
    /// minute on this instance.
    throttled_recently: moka::sync::Cache<AccountKey, ()>,
    /// How long events are kept.
    retention: Duration,
}

/// A function that sees every security event, and the store's error if it
/// could not be kept.
pub type AuditSink = dyn Fn(&SecurityEvent, Option<&StoreError>) + Send + Sync;

impl fmt::Debug for Events {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Events")
            .field("sink", &self.sink.is_some())
            .field("failed", &self.failed.load(Ordering::Relaxed))
            .field("retention", &self.retention)
            .finish_non_exhaustive()
    }
}

/// How long security events are kept by default: 90 days.
pub const DEFAULT_EVENT_RETENTION: Duration = Duration::from_secs(90 * 86_400);

impl<S: Store> Authenticator<S> {
    /// A service with the default password and session policies.
    pub fn new(store: S, hasher: PasswordHasher, clock: Arc<dyn Clock>) -> Self {
        Self {
            store,
            hasher,
            passwords: PasswordPolicy::default(),
            sessions: SessionPolicy::default(),
            throttle: ThrottlePolicy::default(),
            devices: DevicePolicy::default(),
            registrations: RegisterLimits::default(),
            recovery: RecoveryPolicy::default(),
            outbox: OutboxPolicy::default(),
            mfa: MfaPolicy::default(),
            relying_party: None,
            cache: SessionCache::disabled(),
            clock,
            events: Events {
                sink: None,
                failed: Arc::new(AtomicU64::new(0)),
                mail_not_queued: Arc::new(AtomicU64::new(0)),
                throttled_recently: moka::sync::Cache::builder()
                    .max_capacity(100_000)
                    .time_to_live(Duration::from_secs(60))
                    .build(),
                retention: DEFAULT_EVENT_RETENTION,
            },
            places: gate::LocalPlaces::default(),
        }
    }

    /// Sends every security event to `sink` too (after the store has it, or
    /// failed to keep it).
    #[must_use]
    pub fn with_audit_sink(mut self, sink: Arc<AuditSink>) -> Self {
        self.events.sink = Some(sink);
        self
    }

    /// How long security events are kept (default 90 days): older ones go
    /// with [`Authenticator::purge_expired`].
    #[must_use]
    pub fn with_event_retention(mut self, retention: crate::Period) -> Self {
        self.events.retention = retention.get();
        self
    }

    /// How many security events the store could not keep (each was still
    /// given to the audit sink).
    pub fn events_not_stored(&self) -> u64 {
        self.events.failed.load(Ordering::Relaxed)
    }

    /// Records a security event. Never fails the use case: a store that
    /// cannot keep it is counted ([`Authenticator::events_not_stored`]) and
    /// the sink still sees it.
    async fn record(&self, kind: EventKind, user_id: Option<UserId>, client: &Client) {
        self.record_by(kind, user_id, client, None).await;
    }

    /// [`Self::record`], for an event `actor` caused (an admin action).
    async fn record_by(
        &self,
        kind: EventKind,
        user_id: Option<UserId>,
        client: &Client,
        actor: Option<&crate::Actor>,
    ) {
        let event = SecurityEvent::new(kind, user_id, client, self.clock.now()).by(actor.cloned());
        let stored = self.store.append_event(&event).await;
        if stored.is_err() {
            self.events.failed.fetch_add(1, Ordering::Relaxed);
        }
        if let Some(sink) = &self.events.sink {
            sink(&event, stored.as_ref().err());
        }
    }

    /// Replaces the password policy.
    #[must_use]
    pub fn with_password_policy(mut self, policy: PasswordPolicy) -> Self {
        self.passwords = policy;
        self
    }

    /// Replaces the session policy.
    #[must_use]
    pub fn with_session_policy(mut self, policy: SessionPolicy) -> Self {
        self.sessions = policy;
        self
    }

    /// Replaces the login back-off policy.
    #[must_use]
    pub fn with_throttle_policy(mut self, policy: ThrottlePolicy) -> Self {
        self.throttle = policy;
        self
    }

    /// Replaces the device-cookie policy.
    #[must_use]
    pub fn with_device_policy(mut self, policy: DevicePolicy) -> Self {
        self.devices = policy;
        self
    }

    /// Replaces the registration limits.
    #[must_use]
    pub fn with_register_limits(mut self, limits: RegisterLimits) -> Self {
        self.registrations = limits;
        self
    }

    /// Replaces the recovery policy (link lifetimes, reset budgets).
    #[must_use]
    pub fn with_recovery_policy(mut self, policy: RecoveryPolicy) -> Self {
        self.recovery = policy;
        self
    }

    /// Replaces the outbox worker's retry policy.
    #[must_use]
    pub fn with_outbox_policy(mut self, policy: OutboxPolicy) -> Self {
        self.outbox = policy;
        self
    }

    /// Caches authenticated sessions in this process (see [`SessionCache`] for
    /// the rules that keep logout immediate). Off unless set.
    #[must_use]
    pub fn with_session_cache(mut self, cache: SessionCache) -> Self {
        self.cache = cache;
        self
    }

    /// The session cache (to feed it revocations from other instances).
    pub fn session_cache(&self) -> &SessionCache {
        &self.cache
    }

    /// The store.
    pub fn store(&self) -> &S {
        &self.store
    }

    /// The hasher (for its queue gauges).
    pub fn hasher(&self) -> &PasswordHasher {
        &self.hasher
    }

    /// The session policy in force.
    pub fn session_policy(&self) -> &SessionPolicy {
        &self.sessions
    }

    /// The device-cookie policy in force (its lifetime is the cookie's `Max-Age`).
    pub fn device_policy(&self) -> &DevicePolicy {
        &self.devices
    }

    /// Clears an account's login back-off (an admin action) and returns how
    /// many recorded failures were removed.
    ///
    /// # Errors
    /// [`AuthError::Storage`].
    pub async fn clear_login_backoff(&self, username: &Username) -> Result<u64, AuthError> {
        Ok(self
            .store
            .clear_login_failures(&username.account_key())
            .await?)
    }

    /// Deletes expired sessions, login failures too old to count, expired
    /// reservations, full rate-limit budgets and expired device cookies.
    ///
    /// # Errors
    /// [`AuthError::Storage`].
    pub async fn purge_expired(&self) -> Result<Purged, AuthError> {
        let now = self.clock.now();
        let sessions = self.store.purge_expired_sessions(now).await?;
        let login_failures = self
            .store
            .purge_login_failures(self.throttle.account_since(now), now)
            .await?;
        let rate_limits = self.store.purge_rates(now).await?;
        let devices = self.store.purge_expired_devices(now).await?;
        let events = self
            .store
            .purge_events(crate::period::before(now, self.events.retention))
            .await?;
        let spent = crate::period::before(now, crate::SPENT_TOKEN_RETENTION);
        let tokens = self.store.purge_tokens(spent).await?;
        let mail = self.store.purge_mail(spent).await?;
        let ceremonies = self.store.purge_ceremonies(now).await?;
        Ok(Purged {
            sessions,
            login_failures,
            rate_limits,
            devices,
            events,
            tokens,
            mail,
            ceremonies,
        })
    }

    /// The current time on the service's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}

/// The refusal for a spent budget.
fn throttled(retry_after: Duration) -> AuthError {
    AuthError::Throttled { retry_after }
}
