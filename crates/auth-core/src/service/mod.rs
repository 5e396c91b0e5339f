//! The use cases: register, log in, authenticate a token, log out.
//!
//! One file per group of use cases: `register.rs` (registration and
//! setting a password), `login.rs` (the login and its back-off gates),
//! `sessions.rs` (authenticating a token, logging out); what they share is here.

mod login;
mod register;
mod sessions;
#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::Duration;

use chrono::{DateTime, Utc};

use crate::{
    Client, Clock, DevicePolicy, DeviceToken, HashError, PasswordError, PasswordHasher,
    PasswordPolicy, RegisterLimits, Session, SessionCache, SessionPolicy, SessionToken, Store,
    StoreError, ThrottlePolicy, User, UserId, Username,
};

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
/// auth.logout(login.token.as_str()).await?;
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
    cache: SessionCache,
    clock: Arc<dyn Clock>,
}

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
            cache: SessionCache::disabled(),
            clock,
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
        Ok(Purged {
            sessions,
            login_failures,
            rate_limits,
            devices,
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
