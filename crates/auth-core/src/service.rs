//! The use cases: register, log in, authenticate a token, log out.

use std::net::IpAddr;
use std::sync::Arc;

use chrono::{DateTime, Utc};

use crate::{
    AccountKey, Clock, HashError, Password, PasswordError, PasswordHasher, PasswordPolicy, Session,
    SessionCache, SessionId, SessionPolicy, SessionToken, Store, StoreError, ThrottlePolicy, User,
    UserId, Username, Verification,
};
// Which hashing places a use case may take (logins keep a share).
use crate::HashPurpose;

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
    /// Too many failed logins for this account or client; retry after the delay.
    #[error("too many failed login attempts")]
    Throttled {
        /// How long to wait.
        retry_after: std::time::Duration,
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
    /// Login failures older than every back-off window.
    pub login_failures: u64,
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
/// use auth_core::{Authenticator, AuthError, HashConfig, MemoryStore, Password, PasswordHasher,
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
/// auth.register(Username::parse("Alice")?, Password::new("tangerine maple orbit 42")).await?;
/// let login = auth.login("alice", Password::new("tangerine maple orbit 42"), None).await?;
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

    /// Registers a user.
    ///
    /// # Errors
    /// [`AuthError::WeakPassword`], [`AuthError::UsernameTaken`] (found by a
    /// lookup before any hashing, and decided atomically by the store when
    /// two registrations race), [`AuthError::Overloaded`] (also when
    /// registrations hold their whole share of the hashing places, which
    /// leaves the rest to logins), [`AuthError::Storage`].
    pub async fn register(
        &self,
        username: Username,
        password: Password,
    ) -> Result<User, AuthError> {
        // A taken name costs a lookup, never a hash: a flood of taken names
        // burns no CPU. The insert still decides races (UsernameTaken).
        if self.store.find_user_by_username(&username).await?.is_some() {
            return Err(AuthError::UsernameTaken);
        }
        // Under a flood, refuse before the strength check and the insert;
        // registrations hold at most their share of the hashing places.
        let slot = self.hasher.reserve(HashPurpose::SetPassword)?;
        self.passwords.check(&password, &username)?;
        let password_hash = slot.hash(password).await?;
        let now = self.clock.now();
        let user = User {
            id: UserId::new(),
            username,
            password_hash,
            created_at: now,
            updated_at: now,
        };
        self.store.create_user(&user).await?;
        Ok(user)
    }

    /// Logs in with a username as typed and a password, and starts a new
    /// session with a fresh token (never a reused one).
    ///
    /// Back-off is checked first, for the account and for `client_ip`,
    /// whether or not the user exists, and before any hashing. An unknown or
    /// unparsable username is verified against the dummy hash, so it costs
    /// what a wrong password costs and fails the same way. A stored hash
    /// weaker than configured is replaced on success.
    ///
    /// # Errors
    /// [`AuthError::Throttled`], [`AuthError::InvalidCredentials`],
    /// [`AuthError::Overloaded`], [`AuthError::UnusableStoredHash`], [`AuthError::Storage`].
    pub async fn login(
        &self,
        username: &str,
        password: Password,
        client_ip: Option<IpAddr>,
    ) -> Result<LoginSuccess, AuthError> {
        // Under a flood, refuse before any database work: a login that
        // cannot get a hashing slot would only add load. Reserving (not just
        // checking) keeps the requests doing database work to those that
        // will be hashed. Logins (known or not) may take every place.
        let slot = self.hasher.reserve(HashPurpose::Login)?;
        let parsed = Username::parse(username);
        let account = match &parsed {
            Ok(name) => name.account_key(),
            Err(_) => AccountKey::of_unparsable(username),
        };
        // IPv6 clients share a budget per /64: one host may hold a whole /64.
        let client_ip = client_ip.map(crate::address_budget_key);
        let now = self.clock.now();
        let failures = self
            .store
            .login_failure_stats(
                &account,
                client_ip.as_deref(),
                self.throttle.account_since(now),
                self.throttle.ip_since(now),
            )
            .await?;
        if let Some(retry_after) = self.throttle.retry_after(&failures, now) {
            return Err(AuthError::Throttled { retry_after });
        }

        let user = match &parsed {
            Ok(name) => self.store.find_user_by_username(name).await?,
            Err(_) => None,
        };
        // Kept to check against the policy after a match (the hasher consumes `password`).
        let candidate = password.clone();
        let verification = slot
            .verify(password, user.as_ref().map(|user| &user.password_hash))
            .await;
        let failed = match (user, verification) {
            (Some(mut user), Ok(Verification::Match { rehashed })) => {
                if let Some(new_hash) = rehashed {
                    let now = self.clock.now();
                    // Only over the hash just verified: a password set while
                    // this login hashed must not be replaced by the old one.
                    if !self
                        .store
                        .replace_password_hash(user.id, &user.password_hash, &new_hash, now)
                        .await?
                    {
                        return Err(AuthError::InvalidCredentials);
                    }
                    user.password_hash = new_hash;
                    user.updated_at = now;
                }
                if failures.account_failures > 0 {
                    self.store.clear_login_failures(&account).await?;
                }
                let password_change_recommended =
                    self.passwords.check(&candidate, &user.username).is_err();
                return self.start_session(user, password_change_recommended).await;
            }
            (_, Ok(_)) => AuthError::InvalidCredentials,
            (Some(user), Err(HashError::UnusableHash(reason))) => AuthError::UnusableStoredHash {
                user_id: user.id,
                reason,
            },
            (_, Err(error)) => return Err(error.into()),
        };
        self.store
            .record_login_failure(&account, client_ip.as_deref(), self.clock.now())
            .await?;
        Err(failed)
    }

    async fn start_session(
        &self,
        user: User,
        password_change_recommended: bool,
    ) -> Result<LoginSuccess, AuthError> {
        let (token, session) = self
            .sessions
            .start(user.id, self.clock.now())
            .map_err(|error| AuthError::Internal(Box::new(error)))?;
        // Only if the credential this login verified is still the user's:
        // after a password change, no session made with the old password.
        if !self
            .store
            .insert_session_if_credential(&session, &user.password_hash)
            .await?
        {
            return Err(AuthError::InvalidCredentials);
        }
        // The cap on live sessions: the new one is the newest, so it stays.
        let keep = self.sessions.max_sessions_per_user.max(1);
        if self.store.revoke_sessions_beyond(user.id, keep).await? > 0 {
            self.cache.invalidate_user(user.id);
        }
        Ok(LoginSuccess {
            token,
            session,
            user,
            password_change_recommended,
        })
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

    /// Resolves a presented token to its user and session, applying idle
    /// and absolute expiry. Writes last-seen at most once per touch interval.
    ///
    /// # Errors
    /// [`AuthError::NotAuthenticated`] for a malformed, unknown, expired or
    /// revoked token; [`AuthError::Storage`].
    pub async fn authenticate(&self, token: &str) -> Result<Authenticated, AuthError> {
        let token = SessionToken::parse(token).map_err(|_| AuthError::NotAuthenticated)?;
        let id = token.id();
        let now = self.clock.now();
        // Read once, before the cache and the store: an invalidation racing
        // this lookup then always wins over the insert at the end.
        let generation = self.cache.generation();
        if let Some(mut hit) = self.cache.get(&id) {
            if self.cache.validates_hits() {
                // Another process may have revoked it a moment ago.
                let Some(session) = self.store.find_session(&id).await? else {
                    self.cache.invalidate_session(&id);
                    return Err(AuthError::NotAuthenticated);
                };
                hit.session = session;
            }
            if !hit.session.is_active(now) {
                return self.drop_expired(&id).await;
            }
            if self.touch_if_due(&mut hit.session, now).await? {
                self.cache.insert(id, hit.clone(), generation);
            }
            return Ok(hit);
        }
        let Some(mut session) = self.store.find_session(&id).await? else {
            return Err(AuthError::NotAuthenticated);
        };
        if !session.is_active(now) {
            return self.drop_expired(&id).await;
        }
        self.touch_if_due(&mut session, now).await?;
        let Some(user) = self.store.find_user_by_id(session.user_id).await? else {
            return Err(AuthError::NotAuthenticated);
        };
        let authenticated = Authenticated { user, session };
        self.cache.insert(id, authenticated.clone(), generation);
        Ok(authenticated)
    }

    /// An expired session can never be used again: delete it now.
    async fn drop_expired(&self, id: &SessionId) -> Result<Authenticated, AuthError> {
        self.cache.invalidate_session(id);
        self.store.revoke_session(id).await?;
        Err(AuthError::NotAuthenticated)
    }

    /// Writes last-seen when due (at most once per touch interval). Returns
    /// whether it wrote. A session gone from the store is not authenticated.
    async fn touch_if_due(
        &self,
        session: &mut Session,
        now: DateTime<Utc>,
    ) -> Result<bool, AuthError> {
        let Some((last_seen_at, idle_expires_at)) = self.sessions.touch(session, now) else {
            return Ok(false);
        };
        if !self
            .store
            .touch_session(&session.id, last_seen_at, idle_expires_at)
            .await?
        {
            self.cache.invalidate_session(&session.id);
            return Err(AuthError::NotAuthenticated);
        }
        session.last_seen_at = last_seen_at;
        session.idle_expires_at = idle_expires_at;
        Ok(true)
    }

    /// Ends the session of `token`, for every copy of it.
    ///
    /// # Errors
    /// [`AuthError::NotAuthenticated`] if it is not a live session; [`AuthError::Storage`].
    pub async fn logout(&self, token: &str) -> Result<Authenticated, AuthError> {
        let authenticated = self.authenticate(token).await?;
        let revoked = self.store.revoke_session(&authenticated.session.id).await;
        // Dropped from the cache whatever the store said: never serve a
        // session this instance may have revoked.
        self.cache.invalidate_session(&authenticated.session.id);
        if !revoked? {
            // Revoked concurrently by another request: this one did not log out.
            return Err(AuthError::NotAuthenticated);
        }
        Ok(authenticated)
    }

    /// Ends every session of a user ("log out everywhere") and returns how many.
    ///
    /// # Errors
    /// [`AuthError::Storage`].
    pub async fn logout_everywhere(&self, user_id: UserId) -> Result<u64, AuthError> {
        let revoked = self.store.revoke_all_sessions(user_id).await;
        self.cache.invalidate_user(user_id);
        Ok(revoked?)
    }

    /// Sets a new password for a user (the policy applies) and ends all of
    /// their sessions, so a stolen session does not outlive a reset.
    ///
    /// # Errors
    /// [`AuthError::WeakPassword`], [`AuthError::NotAuthenticated`] if there
    /// is no such user, [`AuthError::Overloaded`], [`AuthError::Storage`].
    pub async fn set_password(&self, user_id: UserId, password: Password) -> Result<(), AuthError> {
        let Some(user) = self.store.find_user_by_id(user_id).await? else {
            return Err(AuthError::NotAuthenticated);
        };
        self.passwords.check(&password, &user.username)?;
        let hash = self.hasher.hash(password).await?;
        if !self
            .store
            .set_password_hash(user_id, &hash, self.clock.now())
            .await?
        {
            return Err(AuthError::NotAuthenticated);
        }
        self.logout_everywhere(user_id).await?;
        Ok(())
    }

    /// Deletes expired sessions and login failures too old to count.
    ///
    /// # Errors
    /// [`AuthError::Storage`].
    pub async fn purge_expired(&self) -> Result<Purged, AuthError> {
        let now = self.clock.now();
        let sessions = self.store.purge_expired_sessions(now).await?;
        let oldest_counted = self
            .throttle
            .account_since(now)
            .min(self.throttle.ip_since(now));
        let login_failures = self.store.purge_login_failures(oldest_counted).await?;
        Ok(Purged {
            sessions,
            login_failures,
        })
    }

    /// The current time on the service's clock.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;
    use crate::{HashConfig, ManualClock, MemoryStore, ScryptParams, UserRepository};

    const PASSWORD: &str = "tangerine maple orbit 42";

    fn hasher(log_n: u8) -> PasswordHasher {
        PasswordHasher::new(HashConfig {
            params: ScryptParams::new(log_n, 8, 1).unwrap(),
            ..HashConfig::insecure_fast_for_tests()
        })
        .unwrap()
    }

    fn service(store: MemoryStore, clock: &ManualClock) -> Authenticator<MemoryStore> {
        Authenticator::new(store, hasher(4), Arc::new(clock.clone()))
    }

    fn ip(text: &str) -> Option<IpAddr> {
        Some(text.parse().unwrap())
    }

    async fn registered(auth: &Authenticator<MemoryStore>, name: &str) {
        auth.register(Username::parse(name).unwrap(), Password::new(PASSWORD))
            .await
            .unwrap();
    }

    async fn fail(
        auth: &Authenticator<MemoryStore>,
        name: &str,
        from: Option<IpAddr>,
    ) -> AuthError {
        auth.login(name, Password::new("wrong password"), from)
            .await
            .unwrap_err()
    }

    fn retry_after(error: &AuthError) -> Option<Duration> {
        match error {
            AuthError::Throttled { retry_after } => Some(*retry_after),
            _ => None,
        }
    }

    #[tokio::test]
    async fn five_failures_are_free_then_the_wait_doubles_from_one_second() {
        let clock = ManualClock::default();
        let auth = service(MemoryStore::new(), &clock);
        registered(&auth, "alice").await;
        for _ in 0..5 {
            assert!(matches!(
                fail(&auth, "alice", None).await,
                AuthError::InvalidCredentials
            ));
        }
        // The sixth attempt right away is throttled for exactly 1 s, before hashing.
        let hashed = auth.hasher().jobs_completed();
        assert_eq!(
            retry_after(&fail(&auth, "alice", None).await),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            auth.hasher().jobs_completed(),
            hashed,
            "no hashing while throttled"
        );
        // After 1 s it may try (and fail) again; the next wait is 2 s.
        clock.advance(Duration::from_secs(1));
        assert!(matches!(
            fail(&auth, "alice", None).await,
            AuthError::InvalidCredentials
        ));
        assert_eq!(
            retry_after(&fail(&auth, "alice", None).await),
            Some(Duration::from_secs(2))
        );
        clock.advance(Duration::from_millis(1500));
        assert_eq!(
            retry_after(&fail(&auth, "alice", None).await),
            Some(Duration::from_millis(500))
        );
        clock.advance(Duration::from_millis(500));
        assert!(matches!(
            fail(&auth, "alice", None).await,
            AuthError::InvalidCredentials
        ));
        assert_eq!(
            retry_after(&fail(&auth, "alice", None).await),
            Some(Duration::from_secs(4))
        );
    }

    #[tokio::test]
    async fn a_success_resets_the_account_back_off() {
        let clock = ManualClock::default();
        let auth = service(MemoryStore::new(), &clock);
        registered(&auth, "alice").await;
        for _ in 0..5 {
            fail(&auth, "alice", None).await;
        }
        clock.advance(Duration::from_secs(1));
        auth.login("alice", Password::new(PASSWORD), None)
            .await
            .unwrap();
        for _ in 0..5 {
            assert!(matches!(
                fail(&auth, "alice", None).await,
                AuthError::InvalidCredentials
            ));
        }
    }

    #[tokio::test]
    async fn unknown_users_are_throttled_exactly_like_real_ones() {
        let clock = ManualClock::default();
        let auth = service(MemoryStore::new(), &clock);
        registered(&auth, "alice").await;
        for _ in 0..5 {
            fail(&auth, "alice", None).await;
            fail(&auth, "ghost", None).await;
        }
        let real = fail(&auth, "alice", None).await;
        let ghost = fail(&auth, "ghost", None).await;
        assert_eq!(retry_after(&real), retry_after(&ghost));
        assert!(retry_after(&real).is_some());
    }

    #[tokio::test]
    async fn the_ip_budget_spans_usernames_and_other_ips_are_not_affected() {
        let clock = ManualClock::default();
        let auth = service(MemoryStore::new(), &clock).with_throttle_policy(ThrottlePolicy {
            ip_max_failures: 10,
            ..ThrottlePolicy::default()
        });
        registered(&auth, "victim").await;
        for i in 0..10 {
            let error = fail(&auth, &format!("user{i}"), ip("203.0.113.9")).await;
            assert!(matches!(error, AuthError::InvalidCredentials));
            clock.advance(Duration::from_secs(1));
        }
        // Ten failures in the last 15 min from this IP: throttled until the
        // oldest (10 s ago) leaves the window.
        let throttled = auth
            .login("victim", Password::new(PASSWORD), ip("203.0.113.9"))
            .await
            .unwrap_err();
        assert_eq!(
            retry_after(&throttled),
            Some(Duration::from_secs(15 * 60 - 10))
        );
        // The same user from another address is not affected.
        auth.login("victim", Password::new(PASSWORD), ip("198.51.100.1"))
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn an_ipv6_host_cannot_escape_its_budget_by_changing_addresses_in_its_64() {
        let clock = ManualClock::default();
        let auth = service(MemoryStore::new(), &clock).with_throttle_policy(ThrottlePolicy {
            ip_max_failures: 3,
            ..ThrottlePolicy::default()
        });
        registered(&auth, "victim").await;
        for i in 0..3 {
            let from = ip(&format!("2001:db8:1:2::{i:x}"));
            fail(&auth, &format!("user{i}"), from).await;
        }

        let same_64 = auth
            .login(
                "victim",
                Password::new(PASSWORD),
                ip("2001:db8:1:2:ffff::1"),
            )
            .await;
        let other_64 = auth
            .login("victim", Password::new(PASSWORD), ip("2001:db8:1:3::1"))
            .await;

        assert!(
            matches!(same_64, Err(AuthError::Throttled { .. })),
            "{same_64:?}"
        );
        assert!(other_64.is_ok(), "{other_64:?}");
    }

    #[tokio::test]
    async fn a_login_beyond_the_session_cap_revokes_the_oldest_session() {
        let clock = ManualClock::default();
        let policy = SessionPolicy::default()
            .with_max_sessions_per_user(std::num::NonZeroU32::new(3).unwrap());
        let auth = service(MemoryStore::new(), &clock).with_session_policy(policy);
        registered(&auth, "alice").await;
        let mut tokens = Vec::new();
        for _ in 0..4 {
            let login = auth
                .login("alice", Password::new(PASSWORD), None)
                .await
                .unwrap();
            // Cached, as a session check would leave it.
            auth.authenticate(login.token.as_str()).await.unwrap();
            tokens.push(login.token);
            clock.advance(Duration::from_secs(1));
        }

        let oldest = auth.authenticate(tokens[0].as_str()).await;

        assert!(
            matches!(oldest, Err(AuthError::NotAuthenticated)),
            "{oldest:?}"
        );
        for token in &tokens[1..] {
            auth.authenticate(token.as_str()).await.unwrap();
        }
    }

    #[tokio::test]
    async fn back_off_is_shared_by_two_authenticators_on_one_store() {
        let clock = ManualClock::default();
        let store = MemoryStore::new();
        let a = service(store.clone(), &clock);
        let b = service(store, &clock);
        registered(&a, "alice").await;
        for i in 0..5 {
            let instance = if i % 2 == 0 { &a } else { &b };
            fail(instance, "alice", None).await;
        }
        assert_eq!(
            retry_after(&fail(&a, "alice", None).await),
            Some(Duration::from_secs(1))
        );
        assert_eq!(
            retry_after(&fail(&b, "alice", None).await),
            Some(Duration::from_secs(1))
        );
    }

    #[tokio::test]
    async fn an_admin_can_clear_an_accounts_back_off() {
        let clock = ManualClock::default();
        let auth = service(MemoryStore::new(), &clock);
        registered(&auth, "alice").await;
        for _ in 0..5 {
            fail(&auth, "alice", None).await;
        }
        assert!(retry_after(&fail(&auth, "alice", None).await).is_some());
        let cleared = auth
            .clear_login_backoff(&Username::parse("ALICE").unwrap())
            .await
            .unwrap();
        assert_eq!(cleared, 5, "throttled attempts are not failures");
        auth.login("alice", Password::new(PASSWORD), None)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn no_permanent_lockout_the_account_cap_lifts_with_time() {
        let clock = ManualClock::default();
        let policy = ThrottlePolicy {
            account_max_failures: 8,
            ..ThrottlePolicy::default()
        };
        let auth = service(MemoryStore::new(), &clock).with_throttle_policy(policy);
        registered(&auth, "alice").await;
        for _ in 0..8 {
            fail(&auth, "alice", None).await;
            clock.advance(Duration::from_secs(120));
        }
        assert!(retry_after(&fail(&auth, "alice", None).await).is_some());
        clock.advance(policy.account_window);
        auth.login("alice", Password::new(PASSWORD), None)
            .await
            .unwrap();
    }

    #[tokio::test]
    async fn purge_removes_expired_sessions_and_stale_failures() {
        let clock = ManualClock::default();
        let auth = service(MemoryStore::new(), &clock);
        registered(&auth, "alice").await;
        auth.login("alice", Password::new(PASSWORD), None)
            .await
            .unwrap();
        fail(&auth, "alice", None).await;
        assert_eq!(
            auth.purge_expired().await.unwrap(),
            Purged {
                sessions: 0,
                login_failures: 0
            }
        );
        clock.advance(Duration::from_secs(8 * 24 * 3600));
        assert_eq!(
            auth.purge_expired().await.unwrap(),
            Purged {
                sessions: 1,
                login_failures: 1
            }
        );
    }

    #[tokio::test]
    async fn a_login_rehashes_a_hash_made_with_weaker_parameters() {
        let clock = ManualClock::default();
        let store = MemoryStore::new();
        let old = service(store.clone(), &clock);
        registered(&old, "alice").await;
        let name = Username::parse("alice").unwrap();
        let before = store.find_user_by_username(&name).await.unwrap().unwrap();
        assert!(before.password_hash.as_str().starts_with("$scrypt$ln=4,"));

        let stronger = Authenticator::new(store.clone(), hasher(6), Arc::new(clock.clone()));
        let login = stronger
            .login("alice", Password::new(PASSWORD), None)
            .await
            .unwrap();
        let after = store.find_user_by_username(&name).await.unwrap().unwrap();
        assert!(
            after.password_hash.as_str().starts_with("$scrypt$ln=6,"),
            "rehashed"
        );
        assert_eq!(login.user.password_hash, after.password_hash);
        // The new hash verifies, and a second login does not rehash again.
        stronger
            .login("alice", Password::new(PASSWORD), None)
            .await
            .unwrap();
        let again = store.find_user_by_username(&name).await.unwrap().unwrap();
        assert_eq!(again.password_hash, after.password_hash);
    }

    #[tokio::test]
    async fn a_password_below_todays_policy_logs_in_with_a_change_recommended() {
        let clock = ManualClock::default();
        let store = MemoryStore::new();
        let auth = service(store.clone(), &clock);
        registered(&auth, "alice").await;
        // As an import would store it: hashed without the policy.
        let now = clock.now();
        store
            .create_user(&User {
                id: UserId::new(),
                username: Username::parse("dave").unwrap(),
                password_hash: hasher(4)
                    .hash_blocking(&Password::new("password123"))
                    .unwrap(),
                created_at: now,
                updated_at: now,
            })
            .await
            .unwrap();

        let weak = auth
            .login("dave", Password::new("password123"), None)
            .await
            .unwrap();
        let strong = auth
            .login("alice", Password::new(PASSWORD), None)
            .await
            .unwrap();

        assert!(weak.password_change_recommended);
        assert!(!strong.password_change_recommended);
    }

    #[tokio::test]
    async fn a_stored_hash_with_absurd_parameters_is_refused_not_allocated() {
        let clock = ManualClock::default();
        let store = MemoryStore::new();
        let auth = service(store.clone(), &clock);
        let now = clock.now();
        store
            .create_user(&User {
                id: UserId::new(),
                username: Username::parse("mallory").unwrap(),
                password_hash: crate::PasswordHash::from_stored(
                    "$scrypt$ln=30,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E",
                ),
                created_at: now,
                updated_at: now,
            })
            .await
            .unwrap();
        let error = auth
            .login("mallory", Password::new("password"), None)
            .await
            .unwrap_err();
        assert!(
            matches!(error, AuthError::UnusableStoredHash { .. }),
            "{error:?}"
        );
    }

    /// An authenticator whose pool has 1 thread + 3 waiting places: 4 in
    /// all, 2 of them for setting passwords.
    fn small_pool(store: MemoryStore, clock: &ManualClock) -> Authenticator<MemoryStore> {
        let hasher = PasswordHasher::new(HashConfig {
            max_concurrent: 1,
            max_queued: 3,
            ..HashConfig::insecure_fast_for_tests()
        })
        .unwrap();
        Authenticator::new(store, hasher, Arc::new(clock.clone()))
    }

    #[tokio::test]
    async fn a_registration_flood_cannot_take_the_hashing_places_kept_for_logins() {
        // Arrange: alice exists; registrations hold their whole share.
        let clock = ManualClock::default();
        let auth = small_pool(MemoryStore::new(), &clock);
        registered(&auth, "alice").await;
        let held: Vec<_> = (0..3)
            .map(|_| auth.hasher().reserve(HashPurpose::SetPassword).unwrap())
            .collect();
        // Act
        let registration = auth
            .register(Username::parse("mallory").unwrap(), Password::new(PASSWORD))
            .await;
        let user_id = auth.login("alice", Password::new(PASSWORD), None).await;
        // Assert: the registration is refused, the login is not.
        assert!(matches!(registration, Err(AuthError::Overloaded)));
        let user_id = user_id.unwrap().user.id;
        assert!(matches!(
            auth.set_password(user_id, Password::new("violet canyon ember 93"))
                .await,
            Err(AuthError::Overloaded)
        ));
        assert!(matches!(
            fail(&auth, "nobody", None).await,
            AuthError::InvalidCredentials
        ));
        drop(held);
    }

    #[tokio::test]
    async fn registering_a_taken_name_answers_without_hashing_even_when_the_pool_is_full() {
        // Arrange: alice exists; every hashing place is taken.
        let clock = ManualClock::default();
        let auth = small_pool(MemoryStore::new(), &clock);
        registered(&auth, "alice").await;
        let hashed = auth.hasher().jobs_completed();
        let held: Vec<_> = (0..4)
            .map(|_| auth.hasher().reserve(HashPurpose::Login).unwrap())
            .collect();
        // Act: the same name, in another case.
        let outcome = auth
            .register(Username::parse("Alice").unwrap(), Password::new(PASSWORD))
            .await;
        // Assert
        assert!(
            matches!(outcome, Err(AuthError::UsernameTaken)),
            "{outcome:?}"
        );
        assert_eq!(auth.hasher().jobs_completed(), hashed, "no hash was made");
        assert_eq!(auth.hasher().rejected(), 0, "no place was asked for");
        drop(held);
    }

    #[tokio::test]
    async fn set_password_applies_the_policy_and_ends_all_sessions() {
        let clock = ManualClock::default();
        let auth = service(MemoryStore::new(), &clock);
        let user = auth
            .register(Username::parse("alice").unwrap(), Password::new(PASSWORD))
            .await
            .unwrap();
        let login = auth
            .login("alice", Password::new(PASSWORD), None)
            .await
            .unwrap();
        assert!(matches!(
            auth.set_password(user.id, Password::new("short")).await,
            Err(AuthError::WeakPassword(_))
        ));
        auth.set_password(user.id, Password::new("a brand new passphrase here"))
            .await
            .unwrap();
        assert!(matches!(
            auth.authenticate(login.token.as_str()).await,
            Err(AuthError::NotAuthenticated)
        ));
        auth.login("alice", Password::new("a brand new passphrase here"), None)
            .await
            .unwrap();
    }
}

#[cfg(test)]
mod cache_tests {
    use std::time::Duration;

    use super::*;
    use crate::{HashConfig, ManualClock, MemoryStore};

    const PASSWORD: &str = "tangerine maple orbit 42";

    fn instance(
        store: &MemoryStore,
        clock: &ManualClock,
        cache: SessionCache,
    ) -> Authenticator<MemoryStore> {
        let hasher = PasswordHasher::new(HashConfig::insecure_fast_for_tests()).unwrap();
        Authenticator::new(store.clone(), hasher, Arc::new(clock.clone())).with_session_cache(cache)
    }

    #[tokio::test]
    async fn a_local_logout_is_immediate_with_the_cache() {
        let (store, clock) = (MemoryStore::new(), ManualClock::default());
        let auth = instance(
            &store,
            &clock,
            SessionCache::new(100, Duration::from_secs(60)),
        );
        auth.register(Username::parse("alice").unwrap(), Password::new(PASSWORD))
            .await
            .unwrap();
        let login = auth
            .login("alice", Password::new(PASSWORD), None)
            .await
            .unwrap();
        auth.authenticate(login.token.as_str()).await.unwrap();
        assert!(
            auth.session_cache().get(&login.session.id).is_some(),
            "cached"
        );
        auth.logout(login.token.as_str()).await.unwrap();
        assert!(matches!(
            auth.authenticate(login.token.as_str()).await,
            Err(AuthError::NotAuthenticated)
        ));
    }

    #[tokio::test]
    async fn a_validated_cache_sees_another_instances_logout_at_once_without_any_feed() {
        let (store, clock) = (MemoryStore::new(), ManualClock::default());
        let a = instance(
            &store,
            &clock,
            SessionCache::validated(100, Duration::from_secs(60)),
        );
        let b = instance(
            &store,
            &clock,
            SessionCache::validated(100, Duration::from_secs(60)),
        );
        a.register(Username::parse("alice").unwrap(), Password::new(PASSWORD))
            .await
            .unwrap();
        let login = a
            .login("alice", Password::new(PASSWORD), None)
            .await
            .unwrap();
        b.authenticate(login.token.as_str()).await.unwrap();
        b.authenticate(login.token.as_str()).await.unwrap(); // served from b's cache
        a.logout(login.token.as_str()).await.unwrap();
        assert!(matches!(
            b.authenticate(login.token.as_str()).await,
            Err(AuthError::NotAuthenticated)
        ));
    }

    #[tokio::test]
    async fn an_unvalidated_cache_needs_the_feed_for_other_instances_revocations() {
        let (store, clock) = (MemoryStore::new(), ManualClock::default());
        let a = instance(&store, &clock, SessionCache::disabled());
        let b = instance(
            &store,
            &clock,
            SessionCache::new(100, Duration::from_secs(60)),
        );
        a.register(Username::parse("alice").unwrap(), Password::new(PASSWORD))
            .await
            .unwrap();
        let login = a
            .login("alice", Password::new(PASSWORD), None)
            .await
            .unwrap();
        let me = b.authenticate(login.token.as_str()).await.unwrap();
        a.logout(login.token.as_str()).await.unwrap();
        // Without validation, b trusts its cache until the feed reports the revocation.
        assert!(b.authenticate(login.token.as_str()).await.is_ok());
        b.session_cache()
            .apply(crate::CacheEvent::SessionRevoked(me.session.id));
        assert!(matches!(
            b.authenticate(login.token.as_str()).await,
            Err(AuthError::NotAuthenticated)
        ));
    }
}
