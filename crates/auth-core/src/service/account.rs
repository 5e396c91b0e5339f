//! Account self-service: a user's sessions, password change, account
//! deletion, and the user's own security events.

use super::{AuthError, Authenticated, Authenticator};
use crate::{
    Client, EventKind, HashPurpose, Password, SecurityEvent, Session, SessionHandle, Store, User,
    UserId,
};

/// Longest page of [`Authenticator::events`].
pub const MAX_EVENTS_PAGE: u32 = 200;

impl<S: Store> Authenticator<S> {
    /// The user's live sessions, newest first (by creation, then id).
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use auth_core::*;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let hasher = PasswordHasher::new(HashConfig::insecure_fast_for_tests())?;
    /// # let auth = Authenticator::new(MemoryStore::new(), hasher, Arc::new(SystemClock));
    /// # let client = Client::default();
    /// # let password = "tangerine maple orbit 42";
    /// auth.register(Username::parse("alice")?, Password::new(password), &client).await?;
    /// let laptop = auth.login("alice", Password::new(password), &client).await?;
    /// let phone = auth.login("alice", Password::new(password), &client).await?;
    /// let sessions = auth.list_sessions(laptop.user.id).await?;
    /// assert_eq!(sessions.len(), 2);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`AuthError::Storage`].
    pub async fn list_sessions(&self, user_id: UserId) -> Result<Vec<Session>, AuthError> {
        self.sessions_since(user_id, self.cache.arrival()).await
    }

    /// [`Authenticator::list_sessions`] of the request `me` authenticated
    /// (`GET /sessions`): with a shared cache, the confirmation that served
    /// `me`'s session also serves the list, so the request waits for one
    /// revocation-log read, not two.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use auth_core::*;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let hasher = PasswordHasher::new(HashConfig::insecure_fast_for_tests())?;
    /// # let store = MemoryStore::new();
    /// let cache = SessionCache::shared(1_000, std::time::Duration::from_secs(5), store.clone());
    /// let auth = Authenticator::new(store, hasher, Arc::new(SystemClock)).with_session_cache(cache);
    /// # let client = Client::default();
    /// # let password = "tangerine maple orbit 42";
    /// auth.register(Username::parse("alice")?, Password::new(password), &client).await?;
    /// let login = auth.login("alice", Password::new(password), &client).await?;
    /// let me = auth.authenticate(login.token.as_str()).await?;
    /// assert_eq!(auth.my_sessions(&me).await?.len(), 1);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`AuthError::Storage`].
    pub async fn my_sessions(&self, me: &Authenticated) -> Result<Vec<Session>, AuthError> {
        self.sessions_since(me.user.id, me.arrival).await
    }

    async fn sessions_since(
        &self,
        user_id: UserId,
        arrival: crate::cache::Arrival,
    ) -> Result<Vec<Session>, AuthError> {
        let now = self.clock.now();
        let listed = match self.cache.sessions_of(user_id, arrival).await? {
            Some(cached) => cached,
            None => {
                // Read after the (confirmed) miss, before the store: an
                // invalidation racing the read wins.
                let generation = self.cache.generation();
                let listed = self.store.list_sessions(user_id).await?;
                self.cache
                    .insert_sessions_of(user_id, listed.clone(), generation);
                std::sync::Arc::new(listed)
            }
        };
        let mut sessions: Vec<Session> = listed
            .iter()
            .filter(|session| session.is_active(now))
            .cloned()
            .collect();
        sessions.sort_unstable_by(|a, b| {
            (b.created_at, b.id.as_bytes()).cmp(&(a.created_at, a.id.as_bytes()))
        });
        Ok(sessions)
    }

    /// Ends the live session of `me.user` whose public handle is `handle`
    /// (it may be `me`'s own), on every instance. Returns whether it was
    /// `me`'s.
    ///
    /// # Errors
    /// [`AuthError::SessionNotFound`] when the user has no such live session
    /// (an expired one is not found, as [`Authenticator::list_sessions`] does
    /// not list it; an other user's session is not found either: its
    /// existence is not revealed); [`AuthError::Storage`].
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use auth_core::*;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let hasher = PasswordHasher::new(HashConfig::insecure_fast_for_tests())?;
    /// # let auth = Authenticator::new(MemoryStore::new(), hasher, Arc::new(SystemClock));
    /// # let client = Client::default();
    /// # let password = "tangerine maple orbit 42";
    /// # auth.register(Username::parse("alice")?, Password::new(password), &client).await?;
    /// let laptop = auth.login("alice", Password::new(password), &client).await?;
    /// let phone = auth.login("alice", Password::new(password), &client).await?;
    /// let me = auth.authenticate(laptop.token.as_str()).await?;
    /// let was_mine = auth.revoke_session(&me, phone.session.id.handle(), &client).await?;
    /// assert!(!was_mine);
    /// assert!(auth.authenticate(phone.token.as_str()).await.is_err());
    /// # Ok(()) }
    /// ```
    pub async fn revoke_session(
        &self,
        me: &Authenticated,
        handle: SessionHandle,
        client: &Client,
    ) -> Result<bool, AuthError> {
        let now = self.clock.now();
        let sessions = self.store.list_sessions(me.user.id).await?;
        let Some(target) = sessions
            .iter()
            .find(|session| session.id.handle() == handle && session.is_active(now))
        else {
            return Err(AuthError::SessionNotFound);
        };
        let revoked = self.store.revoke_session(&target.id).await;
        self.cache.invalidate_session(&target.id);
        if !revoked? {
            return Err(AuthError::SessionNotFound);
        }
        self.cache.settle().await;
        self.record(EventKind::SessionRevoked, Some(me.user.id), client)
            .await;
        Ok(target.id == me.session.id)
    }

    /// Ends every session of `me.user` but `me`'s own, on every instance,
    /// and returns how many.
    ///
    /// # Errors
    /// [`AuthError::Storage`].
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use auth_core::*;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let hasher = PasswordHasher::new(HashConfig::insecure_fast_for_tests())?;
    /// # let auth = Authenticator::new(MemoryStore::new(), hasher, Arc::new(SystemClock));
    /// # let client = Client::default();
    /// # let password = "tangerine maple orbit 42";
    /// # auth.register(Username::parse("alice")?, Password::new(password), &client).await?;
    /// let laptop = auth.login("alice", Password::new(password), &client).await?;
    /// auth.login("alice", Password::new(password), &client).await?;
    /// let me = auth.authenticate(laptop.token.as_str()).await?;
    /// assert_eq!(auth.revoke_other_sessions(&me, &client).await?, 1);
    /// # Ok(()) }
    /// ```
    pub async fn revoke_other_sessions(
        &self,
        me: &Authenticated,
        client: &Client,
    ) -> Result<u64, AuthError> {
        let revoked = self
            .store
            .revoke_other_sessions(me.user.id, &me.session.id)
            .await;
        self.cache.invalidate_user(me.user.id);
        let revoked = revoked?;
        self.cache.settle().await;
        if revoked > 0 {
            self.record(EventKind::SessionRevoked, Some(me.user.id), client)
                .await;
        }
        Ok(revoked)
    }

    /// Changes `me.user`'s password: `current` is checked like a login's (the
    /// account's back-off applies, and a wrong one counts toward it), `new`
    /// must meet the policy; the new hash replaces the one verified only if
    /// it is still the stored one; every other session of the user ends.
    /// Returns how many sessions ended.
    ///
    /// # Errors
    /// [`AuthError::WeakPassword`], [`AuthError::InvalidCredentials`],
    /// [`AuthError::Throttled`], [`AuthError::Overloaded`],
    /// [`AuthError::NotAuthenticated`] (the user was deleted meanwhile),
    /// [`AuthError::Storage`].
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use auth_core::*;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let hasher = PasswordHasher::new(HashConfig::insecure_fast_for_tests())?;
    /// # let auth = Authenticator::new(MemoryStore::new(), hasher, Arc::new(SystemClock));
    /// # let client = Client::default();
    /// # let password = "tangerine maple orbit 42";
    /// # auth.register(Username::parse("alice")?, Password::new(password), &client).await?;
    /// let laptop = auth.login("alice", Password::new(password), &client).await?;
    /// auth.login("alice", Password::new(password), &client).await?;
    /// let me = auth.authenticate(laptop.token.as_str()).await?;
    /// let new = Password::new("violet canyon ember 93");
    /// assert_eq!(auth.change_password(&me, Password::new(password), None, new, &client).await?, 1);
    /// assert!(auth.login("alice", Password::new(password), &client).await.is_err());
    /// # Ok(()) }
    /// ```
    pub async fn change_password(
        &self,
        me: &Authenticated,
        current: Password,
        code: Option<&str>,
        new: Password,
        client: &Client,
    ) -> Result<u64, AuthError> {
        self.passwords.check(&new, &me.user.username)?;
        let user = self.confirm_password(me, current, code, client).await?;
        let hash = self
            .hasher
            .reserve(HashPurpose::SetPassword)?
            .hash(new)
            .await?;
        if !self
            .store
            .replace_password_hash(user.id, &user.password_hash, &hash, self.clock.now())
            .await?
        {
            // Changed meanwhile (another session, an operator): not by this.
            return Err(AuthError::InvalidCredentials);
        }
        // A pending reset link must not undo the change it predates.
        self.store
            .revoke_tokens(user.id, crate::TokenPurpose::PasswordReset)
            .await?;
        let revoked = self
            .store
            .revoke_other_sessions(user.id, &me.session.id)
            .await;
        self.cache.invalidate_user(user.id);
        let revoked = revoked?;
        self.cache.settle().await;
        self.record(EventKind::PasswordChanged, Some(user.id), client)
            .await;
        Ok(revoked)
    }

    /// Deletes `me.user` after checking `password` like a login: the user,
    /// its sessions (on every instance), device cookies, login failures and
    /// events go in one transaction, and the name is free again.
    ///
    /// # Errors
    /// [`AuthError::InvalidCredentials`], [`AuthError::Throttled`],
    /// [`AuthError::Overloaded`], [`AuthError::NotAuthenticated`] (the user
    /// was deleted meanwhile), [`AuthError::Storage`].
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use auth_core::*;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let hasher = PasswordHasher::new(HashConfig::insecure_fast_for_tests())?;
    /// # let auth = Authenticator::new(MemoryStore::new(), hasher, Arc::new(SystemClock));
    /// # let client = Client::default();
    /// # let password = "tangerine maple orbit 42";
    /// # auth.register(Username::parse("alice")?, Password::new(password), &client).await?;
    /// let login = auth.login("alice", Password::new(password), &client).await?;
    /// let me = auth.authenticate(login.token.as_str()).await?;
    /// auth.delete_account(&me, Password::new(password), None, &client).await?;
    /// assert!(auth.authenticate(login.token.as_str()).await.is_err());
    /// // The name is free again.
    /// auth.register(Username::parse("alice")?, Password::new(password), &client).await?;
    /// # Ok(()) }
    /// ```
    pub async fn delete_account(
        &self,
        me: &Authenticated,
        password: Password,
        code: Option<&str>,
        client: &Client,
    ) -> Result<(), AuthError> {
        let user = self.confirm_password(me, password, code, client).await?;
        let deleted = self
            .store
            .delete_user(user.id, &user.username.account_key())
            .await;
        self.cache.invalidate_user(user.id);
        if !deleted? {
            return Err(AuthError::NotAuthenticated);
        }
        self.cache.settle().await;
        Ok(())
    }

    /// The newest `limit` (at most [`MAX_EVENTS_PAGE`]) security events of
    /// the user, newest first.
    ///
    /// # Errors
    /// [`AuthError::Storage`].
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use auth_core::*;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let hasher = PasswordHasher::new(HashConfig::insecure_fast_for_tests())?;
    /// # let auth = Authenticator::new(MemoryStore::new(), hasher, Arc::new(SystemClock));
    /// # let client = Client::default();
    /// # let password = "tangerine maple orbit 42";
    /// # auth.register(Username::parse("alice")?, Password::new(password), &client).await?;
    /// let login = auth.login("alice", Password::new(password), &client).await?;
    /// let kinds: Vec<_> = auth.events(login.user.id, 10).await?.iter().map(|e| e.kind).collect();
    /// assert_eq!(kinds, [EventKind::LoginSucceeded, EventKind::Registered]);
    /// # Ok(()) }
    /// ```
    pub async fn events(
        &self,
        user_id: UserId,
        limit: u32,
    ) -> Result<Vec<SecurityEvent>, AuthError> {
        let limit = limit.clamp(1, MAX_EVENTS_PAGE);
        Ok(self.store.user_events(user_id, limit).await?)
    }

    /// Checks `password` as the current password of `me.user`, within the
    /// account's back-off, and returns the user as stored now.
    /// With TOTP on, `code` must be a valid second-factor code too.
    pub(super) async fn confirm_password(
        &self,
        me: &Authenticated,
        password: Password,
        code: Option<&str>,
        client: &Client,
    ) -> Result<User, AuthError> {
        // A session is no device cookie: the account's back-off applies.
        let client = Client {
            device: None,
            ..client.clone()
        };
        let name = me.user.username.clone();
        let user = self.check_password(name, password, code, &client).await?;
        // The password is checked by name. If `me.user` was deleted since
        // its session was authenticated and someone registered the name
        // again, the user found is that other account: act on nothing.
        if user.id != me.user.id {
            return Err(AuthError::NotAuthenticated);
        }
        Ok(user)
    }
}
