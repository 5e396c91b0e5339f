//! The second step of a login for a user with TOTP on: the right password
//! gets an [`MfaChallenge`] (`mfa_token`) instead of a session, and
//! [`Authenticator::login_mfa`] completes it with a code.
//!
//! The right password at the first step counts as neither a success nor a
//! failure: the account's failures stay on record, so a thief with the
//! password who opens flow after flow gets no fresh budget for guessing
//! codes. Wrong codes are failures of the same back-off as wrong passwords.

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use super::gate::Gate;
use super::{AuthError, Authenticator, LoginSuccess};
use crate::{
    Client, EventKind, IssuedToken, OneTimeToken, PasswordHash, Store, TokenPurpose, User,
};

/// A second factor a user can complete a login with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MfaMethod {
    /// A code from the authenticator app.
    Totp,
    /// One of the printed recovery codes.
    RecoveryCode,
    /// A passkey: offered when the user has TOTP on and a passkey, as a
    /// complete login of its own (`POST /webauthn/login`) in place of the
    /// code, not a code for `POST /login/mfa`.
    Webauthn,
}

impl MfaMethod {
    /// The name clients see in `methods`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Totp => "totp",
            Self::RecoveryCode => "recovery_code",
            Self::Webauthn => "webauthn",
        }
    }
}

/// The answer to a right password when a second factor is due.
#[derive(Debug)]
pub struct MfaChallenge {
    /// Single use, for [`Authenticator::login_mfa`]; give it to the client once.
    pub token: OneTimeToken,
    /// What the user can complete the login with.
    pub methods: Vec<MfaMethod>,
    /// When the token stops working (5 minutes after the password).
    pub expires_at: DateTime<Utc>,
}

/// What an `mfa_token` remembers of its login: which credential it was
/// given for (a password changed since ends it) and whether that password
/// is one today's policy would refuse.
fn token_subject(hash: &PasswordHash, weak: bool) -> String {
    let digest = hex::encode(Sha256::digest(hash.as_str().as_bytes()));
    if weak {
        format!("{digest}+weak")
    } else {
        digest
    }
}

impl<S: Store> Authenticator<S> {
    /// For a user with TOTP on, a new challenge in place of a session
    /// (replacing the user's previous one); `None` otherwise.
    pub(super) async fn mfa_challenge(
        &self,
        user: &User,
        weak_password: bool,
    ) -> Result<Option<MfaChallenge>, AuthError> {
        if self.enabled_totp(user.id).await?.is_none() {
            return Ok(None);
        }
        let token =
            OneTimeToken::generate().map_err(|error| AuthError::Internal(Box::new(error)))?;
        let now = self.clock.now();
        let issued = IssuedToken::new(
            user.id,
            TokenPurpose::MfaLogin,
            &token,
            now,
            TokenPurpose::MfaLogin.default_lifetime(),
        )
        .about(token_subject(&user.password_hash, weak_password));
        self.store.issue_token(&issued).await?;
        let mut methods = vec![MfaMethod::Totp, MfaMethod::RecoveryCode];
        // TOTP alone decides that a second factor is due; a passkey is
        // only offered as the other way in.
        if self.store.count_passkeys(user.id).await? > 0 {
            methods.push(MfaMethod::Webauthn);
        }
        Ok(Some(MfaChallenge {
            token,
            methods,
            expires_at: issued.expires_at,
        }))
    }

    /// Completes a login that answered [`AuthError::MfaRequired`] with a
    /// TOTP code or a recovery code: exactly what [`Authenticator::login`]
    /// gives on success. The `mfa_token` works once and for 5 minutes; a
    /// wrong code leaves it usable (a typo is not a new password prompt) but
    /// counts against the account's back-off like a wrong password.
    ///
    /// # Errors
    /// [`AuthError::InvalidToken`] (unknown, expired, used, or the password
    /// changed since), [`AuthError::InvalidCode`], [`AuthError::Throttled`],
    /// [`AuthError::Storage`].
    pub async fn login_mfa(
        &self,
        mfa_token: &str,
        code: &str,
        client: &Client,
    ) -> Result<LoginSuccess, AuthError> {
        let token = OneTimeToken::parse(mfa_token).map_err(|_| AuthError::InvalidToken)?;
        let hash = token.hash();
        let live = self
            .store
            .find_live_token(TokenPurpose::MfaLogin, &hash, self.clock.now())
            .await?
            .ok_or(AuthError::InvalidToken)?;
        let user = self
            .store
            .find_user_by_id(live.user_id)
            .await?
            .ok_or(AuthError::InvalidToken)?;
        let subject = live.subject.unwrap_or_default();
        let weak = if subject == token_subject(&user.password_hash, true) {
            true
        } else if subject == token_subject(&user.password_hash, false) {
            false
        } else {
            return Err(AuthError::InvalidToken);
        };
        let account = user.username.account_key();
        let gate = self
            .pass_gate(Some(&user.username), &account, client)
            .await?;
        let outcome = self
            .finish_mfa(user, &hash, code, weak, client, &gate)
            .await;
        gate.release().await;
        self.settled(outcome).await
    }

    async fn finish_mfa(
        &self,
        user: User,
        hash: &crate::OneTimeTokenHash,
        code: &str,
        weak: bool,
        client: &Client,
        gate: &Gate<S>,
    ) -> Result<LoginSuccess, AuthError> {
        let account = user.username.account_key();
        // The factor may have been turned off since the password step.
        let factor = self
            .enabled_totp(user.id)
            .await?
            .ok_or(AuthError::InvalidToken)?;
        if !self.spend_code(&factor, code, client).await? {
            self.count_failure_as(gate, &account, client, Some(user.id), EventKind::MfaFailed)
                .await?;
            return Err(AuthError::InvalidCode);
        }
        if self
            .store
            .consume_token(TokenPurpose::MfaLogin, hash, self.clock.now())
            .await?
            .is_none()
        {
            // A concurrent completion of the same challenge won.
            return Err(AuthError::InvalidToken);
        }
        let mut success = self.start_session(user, weak, client).await?;
        self.count_success(gate, &account).await?;
        if matches!(gate, Gate::Stranger { .. }) && client.keeps_device_cookie {
            success.device = Some(self.issue_device(account).await?);
        }
        self.record(EventKind::LoginSucceeded, Some(success.user.id), client)
            .await;
        Ok(success)
    }
}
