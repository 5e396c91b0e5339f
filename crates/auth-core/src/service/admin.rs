//! The operator's use cases, shared by the admin API and the
//! `auth-server user …` commands: admin keys, finding and inspecting
//! users, disabling, enabling, deleting, ending sessions, clearing
//! back-off, mailing a reset link, and reading the audit trail.
//!
//! Each action is a security event whose [`crate::Actor`] names who acted
//! (the admin key, or the operator at the command line). They exist for a
//! store with the admin ports ([`AdminStore`]); an embedder without an
//! admin surface needs none of them.

use chrono::{DateTime, Utc};

use super::{AuthError, Authenticator};
use crate::{
    Actor, AdminKey, AdminKeyId, AdminKeyName, AdminKeyToken, AdminStore, Client, EventKind,
    EventQuery, EventSeq, LoggedEvent, MailKind, QueuedMail, SecondFactors, User, UserId,
    UserSearch,
};

/// The most users or events one admin page holds.
pub const MAX_ADMIN_PAGE: u32 = 200;

/// One page of a user search.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserPage {
    /// The users, by canonical username.
    pub users: Vec<User>,
    /// The canonical username to continue after, when the page was full
    /// (`None`: this was the last page).
    pub next: Option<String>,
}

/// One page of the audit trail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventPage {
    /// The events, the last appended first.
    pub events: Vec<LoggedEvent>,
    /// The place to continue before ([`EventQuery::before`]), when the page
    /// was full.
    pub next: Option<EventSeq>,
}

/// An account's login back-off, as the login gate sees it now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BackoffState {
    /// Failed logins counted against the account (within the window).
    pub failures: u32,
    /// Until when its logins are refused (`None`: they are not).
    pub locked_until: Option<DateTime<Utc>>,
}

/// What an operator sees of one account.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserOverview {
    /// The account.
    pub user: User,
    /// Its live sessions.
    pub sessions: u64,
    /// Its second factors.
    pub factors: SecondFactors,
    /// Its login back-off.
    pub backoff: BackoffState,
}

impl<S: AdminStore> Authenticator<S> {
    /// Makes an admin key named `name` and returns it (show it once: only
    /// its hash is kept) with its record.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use auth_core::*;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let hasher = PasswordHasher::new(HashConfig::insecure_fast_for_tests())?;
    /// # let auth = Authenticator::new(MemoryStore::new(), hasher, Arc::new(SystemClock));
    /// let operator = Client::default();
    /// let (key, record) = auth.create_admin_key(AdminKeyName::parse("support")?, &operator).await?;
    /// assert_eq!(auth.authenticate_admin(key.as_str()).await?.id, record.id);
    /// auth.revoke_admin_key(&record.name, &operator).await?;
    /// assert!(matches!(auth.authenticate_admin(key.as_str()).await, Err(AuthError::NotAuthenticated)));
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`AuthError::AdminKeyNameTaken`], [`AuthError::Internal`] (no
    /// randomness), [`AuthError::Storage`].
    pub async fn create_admin_key(
        &self,
        name: AdminKeyName,
        client: &Client,
    ) -> Result<(AdminKeyToken, AdminKey), AuthError> {
        let token =
            AdminKeyToken::generate().map_err(|error| AuthError::Internal(Box::new(error)))?;
        let key = AdminKey {
            id: AdminKeyId::new(),
            name,
            hash: token.hash(),
            created_at: self.clock.now(),
            revoked_at: None,
        };
        self.store.insert_admin_key(&key).await?;
        self.record_by(
            EventKind::AdminKeyCreated,
            None,
            client,
            Some(&Actor::operator()),
        )
        .await;
        Ok((token, key))
    }

    /// Every admin key, revoked ones too, oldest first.
    ///
    /// # Errors
    /// [`AuthError::Storage`].
    pub async fn admin_keys(&self) -> Result<Vec<AdminKey>, AuthError> {
        Ok(self.store.list_admin_keys().await?)
    }

    /// Revokes the live key named `name`: every instance refuses it from
    /// the next request on (keys are read from the store on each request).
    ///
    /// # Errors
    /// [`AuthError::AdminKeyNotFound`], [`AuthError::Storage`].
    pub async fn revoke_admin_key(
        &self,
        name: &AdminKeyName,
        client: &Client,
    ) -> Result<AdminKey, AuthError> {
        let key = self
            .store
            .revoke_admin_key(name, self.clock.now())
            .await?
            .ok_or(AuthError::AdminKeyNotFound)?;
        self.record_by(
            EventKind::AdminKeyRevoked,
            None,
            client,
            Some(&Actor::operator()),
        )
        .await;
        Ok(key)
    }

    /// The live admin key `presented` is, read from the store (never
    /// cached, so a revocation counts at once everywhere) and compared in
    /// constant time.
    ///
    /// # Errors
    /// [`AuthError::NotAuthenticated`] for a malformed, unknown or revoked
    /// key; [`AuthError::Storage`].
    pub async fn authenticate_admin(&self, presented: &str) -> Result<AdminKey, AuthError> {
        let token = AdminKeyToken::parse(presented).map_err(|_| AuthError::NotAuthenticated)?;
        let hash = token.hash();
        match self.store.find_admin_key(&hash).await? {
            Some(key) if key.hash.matches(&hash) && key.is_live() => Ok(key),
            _ => Err(AuthError::NotAuthenticated),
        }
    }

    /// One page of the users whose name or address contains `text`
    /// ([`UserSearch`]), by canonical username, after the cursor `after`
    /// (a previous page's [`UserPage::next`]); `limit` is clamped to
    /// `1..=`[`MAX_ADMIN_PAGE`].
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
    /// for name in ["alice", "alina", "bob"] {
    ///     auth.register(Username::parse(name)?, Password::new(password), &client).await?;
    /// }
    /// let first = auth.search_users(Some("ALI"), None, 1).await?;
    /// assert_eq!(first.users[0].username.as_str(), "alice");
    /// let second = auth.search_users(Some("ALI"), first.next, 1).await?;
    /// assert_eq!(second.users[0].username.as_str(), "alina");
    ///
    /// // Disabled: the right password is refused, and says why.
    /// let actor = Actor::operator();
    /// let (disabled, _ended) = auth.disable_user(second.users[0].id, &actor, &client).await?;
    /// assert!(disabled.is_disabled());
    /// assert!(matches!(auth.login("alina", Password::new(password), &client).await, Err(AuthError::AccountDisabled)));
    /// assert!(matches!(auth.login("alina", Password::new("wrong guess, long"), &client).await, Err(AuthError::InvalidCredentials)));
    /// assert!(!auth.enable_user(second.users[0].id, &actor, &client).await?.is_disabled());
    /// assert!(auth.login("alina", Password::new(password), &client).await.is_ok());
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`AuthError::Storage`].
    pub async fn search_users(
        &self,
        text: Option<&str>,
        after: Option<String>,
        limit: u32,
    ) -> Result<UserPage, AuthError> {
        let limit = limit.clamp(1, MAX_ADMIN_PAGE);
        let search = UserSearch::new(text, after);
        let users = self.store.search_users(&search, limit).await?;
        let next = match users.last() {
            Some(last) if users.len() == limit as usize => {
                Some(last.username.canonical().to_owned())
            }
            _ => None,
        };
        Ok(UserPage { users, next })
    }

    /// One account with its live sessions, factors and back-off.
    ///
    /// # Errors
    /// [`AuthError::UserNotFound`], [`AuthError::Storage`].
    pub async fn user_overview(&self, id: UserId) -> Result<UserOverview, AuthError> {
        let user = self.existing_user(id).await?;
        let now = self.clock.now();
        let sessions = self
            .store
            .list_sessions(id)
            .await?
            .iter()
            .filter(|session| session.is_active(now))
            .count() as u64;
        let factors = self.second_factors(id).await?;
        let stats = self
            .store
            .login_failure_stats(
                &user.username.account_key(),
                self.throttle.account_since(now),
            )
            .await?;
        let locked_until = self
            .throttle
            .retry_after(&stats, now)
            .map(|wait| crate::period::after(now, wait));
        Ok(UserOverview {
            user,
            sessions,
            factors,
            backoff: BackoffState {
                failures: stats.account_failures,
                locked_until,
            },
        })
    }

    /// Disables the account: its sessions end on every instance, and its
    /// logins get [`AuthError::AccountDisabled`] after the right password
    /// (a wrong one stays [`AuthError::InvalidCredentials`]). Returns the
    /// account as now stored and how many sessions ended. Disabling a disabled account changes nothing.
    ///
    /// # Errors
    /// [`AuthError::UserNotFound`], [`AuthError::Storage`].
    pub async fn disable_user(
        &self,
        id: UserId,
        actor: &Actor,
        client: &Client,
    ) -> Result<(User, u64), AuthError> {
        let mut user = self.existing_user(id).await?;
        if !user.is_disabled() {
            let now = self.clock.now();
            if !self.store.set_user_disabled(id, Some(now)).await? {
                return Err(AuthError::UserNotFound);
            }
            user.disabled_at = Some(now);
            self.record_by(EventKind::AccountDisabled, Some(id), client, Some(actor))
                .await;
        }
        // After the flag is stored: a login racing this finds it set when
        // its session is first checked (`authenticate` reads the user).
        let revoked = self.store.revoke_all_sessions(id).await;
        self.cache.invalidate_user(id);
        let revoked = revoked?;
        self.cache.settle().await;
        Ok((user, revoked))
    }

    /// Enables a disabled account again (its password and factors are as
    /// they were) and returns it as now stored. Enabling an enabled account
    /// changes nothing.
    ///
    /// # Errors
    /// [`AuthError::UserNotFound`], [`AuthError::Storage`].
    pub async fn enable_user(
        &self,
        id: UserId,
        actor: &Actor,
        client: &Client,
    ) -> Result<User, AuthError> {
        let mut user = self.existing_user(id).await?;
        if user.is_disabled() {
            if !self.store.set_user_disabled(id, None).await? {
                return Err(AuthError::UserNotFound);
            }
            user.disabled_at = None;
            self.record_by(EventKind::AccountEnabled, Some(id), client, Some(actor))
                .await;
        }
        Ok(user)
    }

    /// Deletes the account and everything tied to it (as
    /// [`Authenticator::delete_account`] does, without its password); the
    /// `account_deleted` event is kept.
    ///
    /// # Errors
    /// [`AuthError::UserNotFound`], [`AuthError::Storage`].
    pub async fn remove_user(
        &self,
        id: UserId,
        actor: &Actor,
        client: &Client,
    ) -> Result<(), AuthError> {
        let user = self.existing_user(id).await?;
        let deleted = self
            .store
            .delete_user(id, &user.username.account_key())
            .await;
        self.cache.invalidate_user(id);
        if !deleted? {
            return Err(AuthError::UserNotFound);
        }
        self.cache.settle().await;
        self.record_by(EventKind::AccountDeleted, Some(id), client, Some(actor))
            .await;
        Ok(())
    }

    /// Ends every session of the account on every instance and returns how many.
    ///
    /// # Errors
    /// [`AuthError::UserNotFound`], [`AuthError::Storage`].
    pub async fn revoke_user_sessions(
        &self,
        id: UserId,
        actor: &Actor,
        client: &Client,
    ) -> Result<u64, AuthError> {
        self.existing_user(id).await?;
        let revoked = self.store.revoke_all_sessions(id).await;
        self.cache.invalidate_user(id);
        let revoked = revoked?;
        self.cache.settle().await;
        self.record_by(EventKind::SessionRevoked, Some(id), client, Some(actor))
            .await;
        Ok(revoked)
    }

    /// Clears the account's login back-off and returns how many recorded
    /// failures were removed.
    ///
    /// # Errors
    /// [`AuthError::UserNotFound`], [`AuthError::Storage`].
    pub async fn clear_user_backoff(
        &self,
        id: UserId,
        actor: &Actor,
        client: &Client,
    ) -> Result<u64, AuthError> {
        let user = self.existing_user(id).await?;
        let cleared = self
            .store
            .clear_login_failures(&user.username.account_key())
            .await?;
        self.record_by(EventKind::BackoffCleared, Some(id), client, Some(actor))
            .await;
        Ok(cleared)
    }

    /// Queues a reset link to the account's verified address, whatever its
    /// own request budget says (an operator asked for it).
    ///
    /// # Errors
    /// [`AuthError::UserNotFound`], [`AuthError::NoVerifiedEmail`],
    /// [`AuthError::Storage`].
    pub async fn send_password_reset(
        &self,
        id: UserId,
        actor: &Actor,
        client: &Client,
    ) -> Result<(), AuthError> {
        let user = self.existing_user(id).await?;
        let address = user
            .email
            .filter(|email| email.verified)
            .ok_or(AuthError::NoVerifiedEmail)?
            .address;
        let mail = QueuedMail::new(id, MailKind::PasswordReset, address, self.clock.now());
        self.store.enqueue_mail(&[mail]).await?;
        self.record_by(
            EventKind::PasswordResetRequested,
            Some(id),
            client,
            Some(actor),
        )
        .await;
        Ok(())
    }

    /// One page of the audit trail: the events `query` matches, the last
    /// appended first; `limit` is clamped to `1..=`[`MAX_ADMIN_PAGE`]. For
    /// the next page, set [`EventQuery::before`] to [`EventPage::next`].
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use auth_core::*;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let hasher = PasswordHasher::new(HashConfig::insecure_fast_for_tests())?;
    /// # let auth = Authenticator::new(MemoryStore::new(), hasher, Arc::new(SystemClock));
    /// # let client = Client::default();
    /// let alice = auth.register(Username::parse("alice")?, Password::new("tangerine maple orbit 42"), &client).await?;
    /// auth.disable_user(alice.id, &Actor::operator(), &client).await?;
    /// let page = auth.search_events(EventQuery { user_id: Some(alice.id), ..EventQuery::default() }, 10).await?;
    /// let kinds: Vec<_> = page.events.iter().map(|logged| logged.event.kind).collect();
    /// assert_eq!(kinds, [EventKind::AccountDisabled, EventKind::Registered]);
    /// assert_eq!(page.events[0].event.actor, Some(Actor::operator()));
    /// assert_eq!(page.next, None);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`AuthError::Storage`].
    pub async fn search_events(
        &self,
        query: EventQuery,
        limit: u32,
    ) -> Result<EventPage, AuthError> {
        let limit = limit.clamp(1, MAX_ADMIN_PAGE);
        let events = self.store.search_events(&query, limit).await?;
        let next = match events.last() {
            Some(last) if events.len() == limit as usize => Some(last.seq),
            _ => None,
        };
        Ok(EventPage { events, next })
    }

    async fn existing_user(&self, id: UserId) -> Result<User, AuthError> {
        self.store
            .find_user_by_id(id)
            .await?
            .ok_or(AuthError::UserNotFound)
    }
}
