//! The login: its gate (`gate.rs`), the verification, the new session.

use super::gate::Gate;
use super::{AuthError, Authenticator, LoginSuccess};
use crate::{
    AccountKey, Client, DeviceToken, EventKind, HashError, HashPurpose, HashSlot, Password, Store,
    User, UserId, Username, Verification,
};

/// What the hash said.
pub(super) enum Verdict {
    /// The right password for this user (rehashed already if it was weak).
    Match {
        user: User,
        password_change_recommended: bool,
    },
    /// A wrong password, or no such user: a failure to count.
    Mismatch {
        error: AuthError,
        user_id: Option<UserId>,
    },
}

impl<S: Store> Authenticator<S> {
    /// Logs in with a username as typed and a password, and starts a new
    /// session with a fresh token (never a reused one).
    ///
    /// The limits are checked first, whether or not the user exists, and
    /// before any hashing: the device's budget when `client` presents a
    /// device cookie for this account, else the address budget and the
    /// account's back-off (atomically, so a burst of guesses gets at most the
    /// free failures plus [`crate::ThrottlePolicy::in_flight`] evaluated). An
    /// unknown or unparsable username is verified against the dummy hash, so
    /// it costs what a wrong password costs and fails the same way. A stored
    /// hash weaker than configured is replaced on success. A client without a
    /// device cookie for the account gets one ([`LoginSuccess::device`]).
    /// Each outcome is a security event (`login_succeeded`, `login_failed`,
    /// `login_throttled`).
    ///
    /// # Errors
    /// [`AuthError::Throttled`], [`AuthError::InvalidCredentials`],
    /// [`AuthError::Overloaded`], [`AuthError::UnusableStoredHash`], [`AuthError::Storage`].
    pub async fn login(
        &self,
        username: &str,
        password: Password,
        client: &Client,
    ) -> Result<LoginSuccess, AuthError> {
        // Under a flood, refuse before any database work: a login that
        // cannot get a hashing slot would only add load. Reserving (not just
        // checking) keeps the requests doing database work to those that
        // will be hashed. Logins (known or not) may take every place.
        let slot = self.hasher.reserve(HashPurpose::Login)?;
        let parsed = Username::parse(username).ok();
        let account = match &parsed {
            Some(name) => name.account_key(),
            None => AccountKey::of_unparsable(username),
        };
        let gate = self.pass_gate(parsed.as_ref(), &account, client).await?;
        let outcome = self
            .judge(slot, parsed, password, &account, client, &gate)
            .await;
        gate.release().await;
        self.settled(outcome).await
    }

    /// A login that started a session answers once every other instance's
    /// leased cache has applied it (its session list there is stale until
    /// then). After the gate is released: the account's evaluation places
    /// (and so the hashing threads) are not held while it waits.
    pub(super) async fn settled(
        &self,
        outcome: Result<LoginSuccess, AuthError>,
    ) -> Result<LoginSuccess, AuthError> {
        if outcome.is_ok() {
            self.cache.settle().await;
        }
        outcome
    }

    /// Checks `password` as `name`'s, within the same limits as a login
    /// (and counted the same way), without starting a session: what the
    /// self-service routes that need the current password use.
    ///
    /// With `code`, a user with TOTP on must also give a valid second-factor
    /// code (see `check_second_factor`), and a wrong one counts as a failure
    /// too.
    pub(super) async fn check_password(
        &self,
        name: Username,
        password: Password,
        code: Option<&str>,
        client: &Client,
    ) -> Result<User, AuthError> {
        let slot = self.hasher.reserve(HashPurpose::Login)?;
        let account = name.account_key();
        let gate = self.pass_gate(Some(&name), &account, client).await?;
        let outcome = match self.verify(slot, Some(name), password).await {
            Ok(Verdict::Match { user, .. }) => {
                match self.check_second_factor(&user, code, client).await {
                    Ok(()) => self.count_success(&gate, &account).await.map(|()| user),
                    Err(AuthError::InvalidCode) => {
                        let kind = EventKind::MfaFailed;
                        match self
                            .count_failure_as(&gate, &account, client, Some(user.id), kind)
                            .await
                        {
                            Ok(()) => Err(AuthError::InvalidCode),
                            Err(failed) => Err(failed),
                        }
                    }
                    Err(other) => Err(other),
                }
            }
            Ok(Verdict::Mismatch { error, user_id }) => {
                match self.count_failure(&gate, &account, client, user_id).await {
                    Ok(()) => Err(error),
                    Err(failed) => Err(failed),
                }
            }
            Err(error) => Err(error),
        };
        gate.release().await;
        outcome
    }

    /// Hashes, records the verdict against the gate's budgets, and on a
    /// match starts the session.
    async fn judge(
        &self,
        slot: HashSlot,
        name: Option<Username>,
        password: Password,
        account: &AccountKey,
        client: &Client,
        gate: &Gate<S>,
    ) -> Result<LoginSuccess, AuthError> {
        match self.verify(slot, name, password).await? {
            Verdict::Mismatch { error, user_id } => {
                self.count_failure(gate, account, client, user_id).await?;
                Err(error)
            }
            Verdict::Match {
                user,
                password_change_recommended,
            } => {
                // Only the right password learns that the account is
                // disabled; it counts neither as a failure nor a success.
                if user.is_disabled() {
                    self.record(EventKind::LoginDisabled, Some(user.id), client)
                        .await;
                    return Err(AuthError::AccountDisabled);
                }
                // A second factor is due: no session yet, and the right
                // password is not counted as a success (mfa_login.rs).
                if let Some(challenge) = self
                    .mfa_challenge(&user, password_change_recommended)
                    .await?
                {
                    return Err(AuthError::MfaRequired(challenge));
                }
                let mut success = self
                    .start_session(user, password_change_recommended, client)
                    .await?;
                self.count_success(gate, account).await?;
                if matches!(gate, Gate::Stranger { .. }) && client.keeps_device_cookie {
                    success.device = Some(self.issue_device(account.clone()).await?);
                }
                self.record(EventKind::LoginSucceeded, Some(success.user.id), client)
                    .await;
                Ok(success)
            }
        }
    }

    /// Verifies `password` against the user's hash (or the dummy), and
    /// replaces a weak hash on a match, only over the hash just verified.
    pub(super) async fn verify(
        &self,
        slot: HashSlot,
        name: Option<Username>,
        password: Password,
    ) -> Result<Verdict, AuthError> {
        let user = match &name {
            Some(name) => self.store.find_user_by_username(name).await?,
            None => None,
        };
        // Kept to check against the policy after a match (the hasher consumes `password`).
        let candidate = password.clone();
        let verification = slot
            .verify(password, user.as_ref().map(|user| &user.password_hash))
            .await;
        match (user, verification) {
            (Some(mut user), Ok(Verification::Match { rehashed })) => {
                if let Some(new_hash) = rehashed {
                    let now = self.clock.now();
                    // A password set while this login hashed must not be
                    // replaced by a rehash of the old one.
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
                let password_change_recommended =
                    self.passwords.check(&candidate, &user.username).is_err();
                Ok(Verdict::Match {
                    user,
                    password_change_recommended,
                })
            }
            (user, Ok(_)) => Ok(Verdict::Mismatch {
                error: AuthError::InvalidCredentials,
                user_id: user.map(|user| user.id),
            }),
            (Some(user), Err(HashError::UnusableHash(reason))) => Ok(Verdict::Mismatch {
                error: AuthError::UnusableStoredHash {
                    user_id: user.id,
                    reason,
                },
                user_id: Some(user.id),
            }),
            (_, Err(error)) => Err(error.into()),
        }
    }

    /// A new device cookie for `account`, stored.
    pub(super) async fn issue_device(&self, account: AccountKey) -> Result<DeviceToken, AuthError> {
        let (token, device) = self
            .devices
            .issue(account, self.clock.now())
            .map_err(|error| AuthError::Internal(Box::new(error)))?;
        self.store.insert_device(&device).await?;
        Ok(token)
    }

    pub(super) async fn start_session(
        &self,
        user: User,
        password_change_recommended: bool,
        client: &Client,
    ) -> Result<LoginSuccess, AuthError> {
        // Every login ends here (password, second factor, passkey).
        if user.is_disabled() {
            self.record(EventKind::LoginDisabled, Some(user.id), client)
                .await;
            return Err(AuthError::AccountDisabled);
        }
        let (token, mut session) = self
            .sessions
            .start(user.id, self.clock.now())
            .map_err(|error| AuthError::Internal(Box::new(error)))?;
        session.user_agent = client.user_agent.clone();
        session.client_ip = client.recorded_ip();
        // Only if the credential this login verified is still the user's:
        // after a password change, no session made with the old password.
        if !self
            .store
            .insert_session_if_credential(&session, &user.password_hash)
            .await?
        {
            return Err(AuthError::InvalidCredentials);
        }
        self.cache.sessions_changed(user.id);
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
            device: None,
        })
    }
}
