//! Registration and setting a password: the use cases that make a hash.

use super::{AuthError, Authenticator, Client, throttled};
use crate::{
    EmailAddress, EventKind, HashPurpose, MailKind, Password, QueuedMail, RateKey, Store, User,
    UserEmail, UserId, Username,
};

impl<S: Store> Authenticator<S> {
    /// Registers a user, within the registration limits
    /// ([`crate::RegisterLimits`]: per client address and in all, shared by
    /// every instance on the store).
    ///
    /// # Errors
    /// [`AuthError::WeakPassword`], [`AuthError::UsernameTaken`] (found by a
    /// lookup before any hashing, and decided atomically by the store when
    /// two registrations race), [`AuthError::Throttled`] (a limit is spent),
    /// [`AuthError::Overloaded`] (also when registrations hold their whole
    /// share of the hashing places, which leaves the rest to logins),
    /// [`AuthError::Storage`].
    pub async fn register(
        &self,
        username: Username,
        password: Password,
        client: &Client,
    ) -> Result<User, AuthError> {
        self.register_with(username, None, password, Some(client))
            .await
    }

    /// Registers a user with an email address (unverified): as
    /// [`Authenticator::register`], and a verification mail is queued.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use auth_core::*;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let hasher = PasswordHasher::new(HashConfig::insecure_fast_for_tests())?;
    /// let store = MemoryStore::new();
    /// let auth = Authenticator::new(store.clone(), hasher, Arc::new(SystemClock));
    /// let email = EmailAddress::parse("alice@example.com")?;
    /// let password = Password::new("tangerine maple orbit 42");
    /// let user = auth.register_with_email(Username::parse("alice")?, email, password, &Client::default()).await?;
    /// assert_eq!(user.email.map(|e| e.verified), Some(false));
    /// assert_eq!(store.outbox_stats().await?.waiting, 1);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// As [`Authenticator::register`], and [`AuthError::EmailTaken`].
    pub async fn register_with_email(
        &self,
        username: Username,
        email: EmailAddress,
        password: Password,
        client: &Client,
    ) -> Result<User, AuthError> {
        self.register_with(username, Some(email), password, Some(client))
            .await
    }

    /// Registration, within the limits when `client` is given.
    async fn register_with(
        &self,
        username: Username,
        email: Option<EmailAddress>,
        password: Password,
        client: Option<&Client>,
    ) -> Result<User, AuthError> {
        // A taken name costs a lookup, never a hash: a flood of taken names
        // burns no CPU. The insert still decides races (UsernameTaken).
        if self.store.find_user_by_username(&username).await?.is_some() {
            return Err(AuthError::UsernameTaken);
        }
        if let Some(email) = &email
            && self.store.find_user_by_email(email).await?.is_some()
        {
            return Err(AuthError::EmailTaken);
        }
        // Under a flood, refuse before the strength check and the insert;
        // registrations hold at most their share of the hashing places.
        let slot = self.hasher.reserve(HashPurpose::SetPassword)?;
        self.passwords.check(&password, &username)?;
        // Only a registration that would be hashed spends the budgets (a
        // taken name or a weak password costs none), the address's first
        // so that one address cannot spend everyone's.
        if let Some(client) = client {
            self.spend_registration_budgets(client).await?;
        }
        let password_hash = slot.hash(password).await?;
        let now = self.clock.now();
        let user = User {
            id: UserId::new(),
            username,
            password_hash,
            created_at: now,
            updated_at: now,
            email: email.map(UserEmail::unverified),
            disabled_at: None,
        };
        self.store.create_user(&user).await?;
        let client = client.unwrap_or(&Client::default()).clone();
        self.record(EventKind::Registered, Some(user.id), &client)
            .await;
        if let Some(email) = &user.email {
            // Queued after the user is stored: a failure here leaves an
            // unverified address, and `PUT /me/email` with it sends again.
            let mail = QueuedMail::new(
                user.id,
                MailKind::EmailVerification,
                email.address.clone(),
                now,
            );
            self.queue_mail(&[mail]).await;
        }
        Ok(user)
    }

    /// Creates a user as an operator does (`auth-server user create`): the
    /// name rules and the password policy apply, the registration limits do
    /// not (they protect the server from its clients, not from its operator).
    ///
    /// # Errors
    /// [`AuthError::WeakPassword`], [`AuthError::UsernameTaken`],
    /// [`AuthError::Overloaded`], [`AuthError::Storage`].
    pub async fn create_user(
        &self,
        username: Username,
        password: Password,
    ) -> Result<User, AuthError> {
        self.register_with(username, None, password, None).await
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
        // A pending reset link must not undo the operator's password.
        self.store
            .revoke_tokens(user_id, crate::TokenPurpose::PasswordReset)
            .await?;
        // An operator's action: no client to record.
        self.logout_everywhere(user_id, &Client::default()).await?;
        Ok(())
    }

    async fn spend_registration_budgets(&self, client: &Client) -> Result<(), AuthError> {
        let now = self.clock.now();
        if let Some(ip) = client.ip {
            let key = RateKey::register_address(ip);
            let limit = &self.registrations.per_address;
            self.store
                .take_rate(&key, limit, now)
                .await?
                .map_err(throttled)?;
        }
        let limit = &self.registrations.global;
        self.store
            .take_rate(&RateKey::register_global(), limit, now)
            .await?
            .map_err(throttled)?;
        Ok(())
    }
}
