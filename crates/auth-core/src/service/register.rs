//! Registration and setting a password: the use cases that make a hash.

use super::{AuthError, Authenticator, Client, throttled};
use crate::{EventKind, HashPurpose, Password, RateKey, Store, User, UserId, Username};

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
        self.register_with(username, password, Some(client)).await
    }

    /// Registration, within the limits when `client` is given.
    async fn register_with(
        &self,
        username: Username,
        password: Password,
        client: Option<&Client>,
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
        };
        self.store.create_user(&user).await?;
        self.record(
            EventKind::Registered,
            Some(user.id),
            client.unwrap_or(&Client::default()),
        )
        .await;
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
        self.register_with(username, password, None).await
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
