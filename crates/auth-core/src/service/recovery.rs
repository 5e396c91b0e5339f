//! Password recovery: asking for a reset link, and setting a password with
//! one.

use super::{AuthError, Authenticator, throttled};
use crate::{
    Client, EmailAddress, EventKind, HashPurpose, MailKind, OneTimeToken, Password, QueuedMail,
    RateKey, Store, TokenPurpose, User, Username,
};

/// Whose password a reset request is about: the name or the address typed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ResetTarget {
    /// By username.
    Username(Username),
    /// By email address (only a verified one gets mail).
    Email(EmailAddress),
}

impl<S: Store> Authenticator<S> {
    /// Spends one reset request of `client`'s address
    /// ([`crate::RecoveryPolicy::resets_per_address`]). The API calls it on
    /// the request path, for every request alike, then
    /// [`Authenticator::request_password_reset`] off it.
    ///
    /// # Errors
    /// [`AuthError::Throttled`], [`AuthError::Storage`].
    pub async fn charge_reset_request(&self, client: &Client) -> Result<(), AuthError> {
        let Some(ip) = client.ip else {
            return Ok(());
        };
        self.store
            .take_rate(
                &RateKey::reset_address(ip),
                &self.recovery.resets_per_address,
                self.clock.now(),
            )
            .await?
            .map_err(throttled)
    }

    /// Queues a reset link for the account `target` names if it has a
    /// verified address and its own budget
    /// ([`crate::RecoveryPolicy::resets_per_account`]) is not spent.
    /// Returns whether a mail was queued; callers answer alike either way.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use auth_core::*;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let hasher = PasswordHasher::new(HashConfig::insecure_fast_for_tests())?;
    /// # let auth = Authenticator::new(MemoryStore::new(), hasher, Arc::new(SystemClock));
    /// # let client = Client::default();
    /// # auth.register(Username::parse("alice")?, Password::new("tangerine maple orbit 42"), &client).await?;
    /// // No verified address: nothing to mail, and nothing says so.
    /// let target = ResetTarget::Username(Username::parse("alice")?);
    /// assert!(!auth.request_password_reset(target, &client).await?);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`AuthError::Storage`].
    pub async fn request_password_reset(
        &self,
        target: ResetTarget,
        client: &Client,
    ) -> Result<bool, AuthError> {
        let user = match &target {
            ResetTarget::Username(name) => self.store.find_user_by_username(name).await?,
            ResetTarget::Email(email) => self.store.find_user_by_email(email).await?,
        };
        let Some((user, address)) = user.and_then(|user| {
            let address = user.email.clone().filter(|email| email.verified)?.address;
            Some((user, address))
        }) else {
            return Ok(false);
        };
        let now = self.clock.now();
        let budget = self
            .store
            .take_rate(
                &RateKey::reset_account(user.id),
                &self.recovery.resets_per_account,
                now,
            )
            .await?;
        if budget.is_err() {
            return Ok(false);
        }
        let mail = QueuedMail::new(user.id, MailKind::PasswordReset, address, now);
        self.store.enqueue_mail(&[mail]).await?;
        self.record(EventKind::PasswordResetRequested, Some(user.id), client)
            .await;
        Ok(true)
    }

    /// Sets a new password with a reset link's token: the policy applies
    /// (a weak password keeps the link usable), the link is spent, every
    /// session of the user ends on every instance, the account's back-off is
    /// cleared, and a notice goes to the address. Returns how many sessions
    /// ended.
    ///
    /// # Errors
    /// [`AuthError::InvalidToken`], [`AuthError::WeakPassword`],
    /// [`AuthError::Overloaded`], [`AuthError::Storage`].
    pub async fn reset_password(
        &self,
        token: &str,
        password: Password,
        client: &Client,
    ) -> Result<u64, AuthError> {
        let token = OneTimeToken::parse(token).map_err(|_| AuthError::InvalidToken)?;
        let hash = token.hash();
        let purpose = TokenPurpose::PasswordReset;
        let found = self
            .store
            .find_live_token(purpose, &hash, self.clock.now())
            .await?;
        let Some(user) = self.user_of(found.map(|found| found.user_id)).await? else {
            return Err(AuthError::InvalidToken);
        };
        self.passwords.check(&password, &user.username)?;
        let new_hash = self
            .hasher
            .reserve(HashPurpose::SetPassword)?
            .hash(password)
            .await?;
        // Spent only now, by one of any concurrent resets.
        let now = self.clock.now();
        match self.store.consume_token(purpose, &hash, now).await? {
            Some(consumed) if consumed.user_id == user.id => {}
            _ => return Err(AuthError::InvalidToken),
        }
        if !self
            .store
            .set_password_hash(user.id, &new_hash, now)
            .await?
        {
            return Err(AuthError::InvalidToken);
        }
        let revoked = self.logout_everywhere(user.id, client).await?;
        self.store
            .clear_login_failures(&user.username.account_key())
            .await?;
        if let Some(email) = &user.email {
            let notice = QueuedMail::new(
                user.id,
                MailKind::PasswordChanged,
                email.address.clone(),
                now,
            );
            self.queue_mail(&[notice]).await;
        }
        self.record(EventKind::PasswordReset, Some(user.id), client)
            .await;
        Ok(revoked)
    }

    async fn user_of(&self, id: Option<crate::UserId>) -> Result<Option<User>, AuthError> {
        match id {
            Some(id) => Ok(self.store.find_user_by_id(id).await?),
            None => Ok(None),
        }
    }
}
