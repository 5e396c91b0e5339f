//! The account's email address: setting or changing it, and verifying it
//! with the link mailed to it.

use super::{AuthError, Authenticated, Authenticator, throttled};
use crate::{
    Client, EmailAddress, EventKind, MailKind, OneTimeToken, Password, QueuedMail, RateKey, Store,
    TokenPurpose,
};

impl<S: Store> Authenticator<S> {
    /// Sets or changes `me.user`'s address after checking `password` like a
    /// login (the account's back-off applies). The address is stored
    /// unverified and, in the same transaction, a verification mail to it
    /// and a notice to the previous verified address are queued. Setting
    /// the address the account already has verified changes nothing
    /// (`false`); setting the unverified one again sends its verification
    /// again. Returns whether the address was stored.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use auth_core::*;
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let hasher = PasswordHasher::new(HashConfig::insecure_fast_for_tests())?;
    /// # let store = MemoryStore::new();
    /// # let auth = Authenticator::new(store.clone(), hasher, Arc::new(SystemClock));
    /// # let client = Client::default();
    /// # let password = "tangerine maple orbit 42";
    /// # auth.register(Username::parse("alice")?, Password::new(password), &client).await?;
    /// let login = auth.login("alice", Password::new(password), &client).await?;
    /// let me = auth.authenticate(login.token.as_str()).await?;
    /// let email = EmailAddress::parse("alice@example.com")?;
    /// auth.change_email(&me, email, Password::new(password), None, &client).await?;
    /// assert_eq!(store.outbox_stats().await?.waiting, 1);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`AuthError::InvalidCredentials`], [`AuthError::EmailTaken`],
    /// [`AuthError::Throttled`] (the back-off, or more than
    /// [`crate::RecoveryPolicy::verifications_per_account`]),
    /// [`AuthError::Overloaded`], [`AuthError::NotAuthenticated`] (the user
    /// was deleted meanwhile), [`AuthError::Storage`].
    pub async fn change_email(
        &self,
        me: &Authenticated,
        email: EmailAddress,
        password: Password,
        code: Option<&str>,
        client: &Client,
    ) -> Result<bool, AuthError> {
        let user = self.confirm_password(me, password, code, client).await?;
        let current = user.email.clone();
        if current
            .as_ref()
            .is_some_and(|held| held.address == email && held.verified)
        {
            return Ok(false);
        }
        if let Some(holder) = self.store.find_user_by_email(&email).await?
            && holder.id != user.id
        {
            return Err(AuthError::EmailTaken);
        }
        let now = self.clock.now();
        self.store
            .take_rate(
                &RateKey::verification_account(user.id),
                &self.recovery.verifications_per_account,
                now,
            )
            .await?
            .map_err(throttled)?;
        let mut mail = vec![QueuedMail::new(
            user.id,
            MailKind::EmailVerification,
            email.clone(),
            now,
        )];
        if let Some(previous) = current.filter(|held| held.verified && held.address != email) {
            mail.push(QueuedMail::new(
                user.id,
                MailKind::EmailChanged,
                previous.address,
                now,
            ));
        }
        let changed = self.store.change_email(user.id, &email, now, &mail).await;
        self.cache.invalidate_user(user.id);
        if !changed? {
            return Err(AuthError::NotAuthenticated);
        }
        // A reset link mailed to the previous address must not outlive it.
        self.store
            .revoke_tokens(user.id, TokenPurpose::PasswordReset)
            .await?;
        self.record(EventKind::EmailChanged, Some(user.id), client)
            .await;
        Ok(true)
    }

    /// Verifies the address a verification link was mailed to, if it is
    /// still the account's address. Consumes the token.
    ///
    /// # Errors
    /// [`AuthError::InvalidToken`] (malformed, unknown, used, expired, or
    /// for an address the account no longer has), [`AuthError::Storage`].
    pub async fn verify_email(&self, token: &str, client: &Client) -> Result<(), AuthError> {
        let token = OneTimeToken::parse(token).map_err(|_| AuthError::InvalidToken)?;
        let now = self.clock.now();
        let Some(consumed) = self
            .store
            .consume_token(TokenPurpose::EmailVerification, &token.hash(), now)
            .await?
        else {
            return Err(AuthError::InvalidToken);
        };
        let Some(address) = consumed
            .subject
            .as_deref()
            .and_then(EmailAddress::from_stored)
        else {
            return Err(AuthError::InvalidToken);
        };
        let verified = self
            .store
            .mark_email_verified(consumed.user_id, &address)
            .await;
        self.cache.invalidate_user(consumed.user_id);
        if !verified? {
            return Err(AuthError::InvalidToken);
        }
        self.record(EventKind::EmailVerified, Some(consumed.user_id), client)
            .await;
        Ok(())
    }
}
