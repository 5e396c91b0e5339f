//! The second factor's use cases: TOTP setup, confirmation and removal,
//! recovery codes, and the check every sensitive change makes
//! ([`Authenticator::check_second_factor`]). The login's second step is in
//! `mfa_login.rs`.

use std::sync::Arc;

use super::{AuthError, Authenticated, Authenticator};
use crate::mfa::totp_context;
use crate::{
    Client, EventKind, Keyring, MfaCode, Password, RecoveryCode, RecoveryCodeHash, Store,
    TotpFactor, TotpSecret, User, UserId,
};

/// What a new TOTP setup gives the user: the key, in base32 and as the URI
/// an app scans. Shown once; not yet asked for at login.
#[derive(Debug)]
pub struct TotpSetup {
    /// The key.
    pub secret: TotpSecret,
    /// `otpauth://totp/<issuer>:<username>?secret=…&issuer=…`.
    pub otpauth_uri: String,
}

/// The second factors a user has, as `GET /me` shows them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SecondFactors {
    /// TOTP is confirmed and asked for at login.
    pub totp: bool,
    /// Unspent recovery codes.
    pub recovery_codes_left: u64,
    /// Registered passkeys (each a complete login of its own, not a
    /// second factor of the password).
    pub passkeys: u64,
}

/// How second factors are kept: the keys that seal TOTP secrets and the
/// issuer name authenticator apps show.
#[derive(Debug, Clone)]
pub struct MfaPolicy {
    /// Seals TOTP keys at rest; without one, TOTP cannot be set up (and an
    /// enabled factor cannot be checked).
    pub keyring: Option<Arc<Keyring>>,
    /// The issuer in the `otpauth://` URI (the product name).
    pub issuer: String,
}

impl Default for MfaPolicy {
    fn default() -> Self {
        Self {
            keyring: None,
            issuer: "auth-server".to_owned(),
        }
    }
}

/// No keyring was configured: a deployment error, not the user's.
#[derive(Debug, thiserror::Error)]
#[error("no secret keys are configured to seal TOTP secrets")]
struct NoKeyring;

impl<S: Store> Authenticator<S> {
    /// Replaces the second-factor policy (the keyring, the issuer name).
    #[must_use]
    pub fn with_mfa_policy(mut self, policy: MfaPolicy) -> Self {
        self.mfa = policy;
        self
    }

    /// Starts a TOTP setup after checking `password` (counted like a
    /// login): a fresh key, sealed and stored pending, replacing a pending
    /// one. Login asks for it only once [`Authenticator::confirm_totp`]
    /// saw a correct code.
    ///
    /// # Errors
    /// [`AuthError::MfaAlreadyEnabled`], and those of a password check.
    pub async fn start_totp_setup(
        &self,
        me: &Authenticated,
        password: Password,
        client: &Client,
    ) -> Result<TotpSetup, AuthError> {
        // Asked first: with TOTP on, the password check would want a code.
        if self.enabled_totp(me.user.id).await?.is_some() {
            return Err(AuthError::MfaAlreadyEnabled);
        }
        let user = self.confirm_password(me, password, None, client).await?;
        let secret =
            TotpSecret::generate().map_err(|error| AuthError::Internal(Box::new(error)))?;
        let sealed = self
            .keyring()?
            .seal(secret.as_bytes(), &totp_context(user.id))
            .map_err(|error| AuthError::Internal(Box::new(error)))?;
        let factor = TotpFactor {
            user_id: user.id,
            secret: sealed,
            created_at: self.clock.now(),
            enabled_at: None,
            last_step: None,
        };
        if !self.store.stage_totp(&factor).await? {
            return Err(AuthError::MfaAlreadyEnabled);
        }
        let otpauth_uri = secret.otpauth_uri(&self.mfa.issuer, user.username.as_str());
        Ok(TotpSetup {
            secret,
            otpauth_uri,
        })
    }

    /// Confirms the pending TOTP setup with a current code: TOTP is then
    /// asked for at login, the code's step counts as used, and ten new
    /// recovery codes (returned once) replace any old ones.
    ///
    /// # Errors
    /// [`AuthError::InvalidCode`], [`AuthError::MfaAlreadyEnabled`],
    /// [`AuthError::MfaNotEnabled`] (no setup pending).
    pub async fn confirm_totp(
        &self,
        me: &Authenticated,
        code: &str,
        client: &Client,
    ) -> Result<Vec<RecoveryCode>, AuthError> {
        let user_id = me.user.id;
        let factor = self
            .store
            .find_totp(user_id)
            .await?
            .ok_or(AuthError::MfaNotEnabled)?;
        if factor.is_enabled() {
            return Err(AuthError::MfaAlreadyEnabled);
        }
        let Some(step) = self.totp_step(&factor, code)? else {
            self.record(EventKind::MfaFailed, Some(user_id), client)
                .await;
            return Err(AuthError::InvalidCode);
        };
        let (codes, hashes) = fresh_codes(user_id)?;
        let now = self.clock.now();
        if !self
            .store
            .enable_totp(user_id, &factor.secret, step, &hashes, now)
            .await?
        {
            // Another confirmation won, or a newer setup replaced this key.
            return Err(AuthError::InvalidCode);
        }
        self.cache.factors_changed(user_id);
        self.cache.settle().await;
        self.record(EventKind::MfaEnabled, Some(user_id), client)
            .await;
        Ok(codes)
    }

    /// Turns TOTP off (and deletes the recovery codes), after the password
    /// and a code (TOTP or recovery).
    ///
    /// # Errors
    /// [`AuthError::MfaNotEnabled`], [`AuthError::InvalidCode`], and those
    /// of a password check.
    pub async fn disable_totp(
        &self,
        me: &Authenticated,
        password: Password,
        code: &str,
        client: &Client,
    ) -> Result<(), AuthError> {
        if self.enabled_totp(me.user.id).await?.is_none() {
            return Err(AuthError::MfaNotEnabled);
        }
        let user = self
            .confirm_password(me, password, Some(code), client)
            .await?;
        let removed = self.store.remove_totp(user.id).await;
        self.cache.factors_changed(user.id);
        removed?;
        self.cache.settle().await;
        self.record(EventKind::MfaDisabled, Some(user.id), client)
            .await;
        Ok(())
    }

    /// Ten new recovery codes (returned once); the old ones stop working.
    /// Needs the password and a code.
    ///
    /// # Errors
    /// As [`Authenticator::disable_totp`].
    pub async fn regenerate_recovery_codes(
        &self,
        me: &Authenticated,
        password: Password,
        code: &str,
        client: &Client,
    ) -> Result<Vec<RecoveryCode>, AuthError> {
        if self.enabled_totp(me.user.id).await?.is_none() {
            return Err(AuthError::MfaNotEnabled);
        }
        let user = self
            .confirm_password(me, password, Some(code), client)
            .await?;
        let (codes, hashes) = fresh_codes(user.id)?;
        if !self
            .store
            .replace_recovery_codes(user.id, &hashes, self.clock.now())
            .await?
        {
            return Err(AuthError::MfaNotEnabled);
        }
        self.cache.factors_changed(user.id);
        self.cache.settle().await;
        self.record(EventKind::RecoveryCodesRegenerated, Some(user.id), client)
            .await;
        Ok(codes)
    }

    /// The user's second factors, for display (`GET /me`). The cache may
    /// answer (every factor change drops it: this process's at once,
    /// another's through the revocation log); what a login or a sensitive
    /// change asks for is always read from the store.
    ///
    /// # Errors
    /// [`AuthError::Storage`].
    pub async fn second_factors(&self, user: UserId) -> Result<SecondFactors, AuthError> {
        self.factors_since(user, self.cache.arrival()).await
    }

    /// [`Authenticator::second_factors`] of the request `me` authenticated
    /// (`GET /me`): with a shared cache, the confirmation that served `me`'s
    /// session also serves the summary (one revocation-log read, not two).
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
    /// let login = auth.login("alice", Password::new(password), &client).await?;
    /// let me = auth.authenticate(login.token.as_str()).await?;
    /// let factors = auth.my_second_factors(&me).await?;
    /// assert!(!factors.totp && factors.passkeys == 0);
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`AuthError::Storage`].
    pub async fn my_second_factors(&self, me: &Authenticated) -> Result<SecondFactors, AuthError> {
        self.factors_since(me.user.id, me.arrival).await
    }

    async fn factors_since(
        &self,
        user: UserId,
        arrival: crate::cache::Arrival,
    ) -> Result<SecondFactors, AuthError> {
        if let Some(factors) = self.cache.factors_of(user, arrival).await? {
            return Ok(factors);
        }
        // Read after the (confirmed) miss, before the store: a change
        // racing the reads wins.
        let generation = self.cache.generation();
        let factors = self.read_second_factors(user).await?;
        self.cache.insert_factors_of(user, factors, generation);
        Ok(factors)
    }

    async fn read_second_factors(&self, user: UserId) -> Result<SecondFactors, AuthError> {
        let totp = self.enabled_totp(user).await?.is_some();
        let recovery_codes_left = if totp {
            self.store.count_recovery_codes(user).await?
        } else {
            0
        };
        let passkeys = self.store.count_passkeys(user).await?;
        Ok(SecondFactors {
            totp,
            recovery_codes_left,
            passkeys,
        })
    }

    /// The user's TOTP factor if it is enabled.
    pub(super) async fn enabled_totp(&self, user: UserId) -> Result<Option<TotpFactor>, AuthError> {
        Ok(self
            .store
            .find_totp(user)
            .await?
            .filter(TotpFactor::is_enabled))
    }

    /// The rule for sensitive changes: a user with TOTP on must give a
    /// valid code (TOTP or recovery), spent by this check. `Ok` for a user
    /// without a second factor, whatever `code` is.
    ///
    /// # Errors
    /// [`AuthError::SecondFactorRequired`] (no code given),
    /// [`AuthError::InvalidCode`].
    pub(super) async fn check_second_factor(
        &self,
        user: &User,
        code: Option<&str>,
        client: &Client,
    ) -> Result<(), AuthError> {
        let Some(factor) = self.enabled_totp(user.id).await? else {
            return Ok(());
        };
        let code = code.ok_or(AuthError::SecondFactorRequired)?;
        if self.spend_code(&factor, code, client).await? {
            Ok(())
        } else {
            Err(AuthError::InvalidCode)
        }
    }

    /// Checks `code` against the enabled `factor` and spends it: a TOTP
    /// step is recorded as used (a replay in the same step, or of an older
    /// step, is refused), a recovery code is deleted. `false` for a wrong,
    /// replayed or malformed code.
    pub(super) async fn spend_code(
        &self,
        factor: &TotpFactor,
        code: &str,
        client: &Client,
    ) -> Result<bool, AuthError> {
        let user = factor.user_id;
        match MfaCode::parse(code) {
            None => Ok(false),
            Some(MfaCode::Totp(_)) => match self.totp_step(factor, code)? {
                Some(step) => Ok(self.store.use_totp_step(user, step).await?),
                None => Ok(false),
            },
            Some(MfaCode::Recovery(recovery)) => {
                let used = self
                    .store
                    .use_recovery_code(user, &recovery.hash_for(user))
                    .await?;
                if used {
                    self.cache.factors_changed(user);
                    self.cache.settle().await;
                    self.record(EventKind::RecoveryCodeUsed, Some(user), client)
                        .await;
                }
                Ok(used)
            }
        }
    }

    /// The step `code` matches for `factor`'s key now, if any.
    fn totp_step(&self, factor: &TotpFactor, code: &str) -> Result<Option<u64>, AuthError> {
        let Some(MfaCode::Totp(code)) = MfaCode::parse(code) else {
            return Ok(None);
        };
        let bytes = self
            .keyring()?
            .open(&factor.secret, &totp_context(factor.user_id))
            .map_err(|error| AuthError::Internal(Box::new(error)))?;
        let secret =
            TotpSecret::from_bytes(bytes).map_err(|error| AuthError::Internal(Box::new(error)))?;
        Ok(secret.matching_step(&code, self.clock.now()))
    }

    fn keyring(&self) -> Result<&Keyring, AuthError> {
        self.mfa
            .keyring
            .as_deref()
            .ok_or_else(|| AuthError::Internal(Box::new(NoKeyring)))
    }
}

/// Ten new codes and what the store keeps of them.
fn fresh_codes(user: UserId) -> Result<(Vec<RecoveryCode>, Vec<RecoveryCodeHash>), AuthError> {
    let codes =
        RecoveryCode::generate_set().map_err(|error| AuthError::Internal(Box::new(error)))?;
    let hashes = codes.iter().map(|code| code.hash_for(user)).collect();
    Ok((codes, hashes))
}
