//! The login: its back-off gates, the verification, the new session.
//!
//! Every attempt passes one gate before any hashing. A client whose device
//! cookie vouches for the account spends the device's own budget; any other
//! client must be within its address budget and reserve one of the
//! account's places ([`crate::ThrottleStore::reserve_login_attempt`]), which
//! it gives back once the verdict is recorded.

use chrono::{DateTime, Utc};

use super::{AuthError, Authenticator, Client, LoginSuccess, throttled};
use crate::{
    AccountKey, DeviceId, DeviceToken, FailureStats, HashError, HashPurpose, HashSlot, Password,
    RateKey, Reservation, Store, User, Username, Verification,
};

/// How an attempt got past the limits, and so what its outcome updates.
enum Gate<S: Store> {
    /// A device cookie vouched for the account: its budget was spent up front.
    Device(DeviceId),
    /// Any other client: a reserved place on the account, the address's budget.
    Stranger {
        place: HeldPlace<S>,
        address: Option<RateKey>,
        stats: FailureStats,
    },
}

/// A reserved place on an account, given back when the login ends however
/// it ends: awaited on the normal path, and if the login's future is
/// dropped (the client hung up while it waited for a hash), from a task
/// spawned on the current Tokio runtime. Without a runtime the place is
/// freed when the reservation expires.
struct HeldPlace<S: Store> {
    store: S,
    reservation: Option<Reservation>,
}

impl<S: Store> HeldPlace<S> {
    /// Gives the place back now. If the store cannot take it back, the
    /// place is freed when the reservation expires.
    async fn release(mut self) {
        if let Some(reservation) = self.reservation.take() {
            let _ = self.store.release_login_attempt(&reservation).await;
        }
    }
}

impl<S: Store> Drop for HeldPlace<S> {
    fn drop(&mut self) {
        let Some(reservation) = self.reservation.take() else {
            return;
        };
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let store = self.store.clone();
            runtime.spawn(async move {
                let _ = store.release_login_attempt(&reservation).await;
            });
        }
    }
}

/// What the hash said.
enum Verdict {
    /// The right password for this user (rehashed already if it was weak).
    Match {
        user: User,
        password_change_recommended: bool,
    },
    /// A wrong password, or no such user: a failure to count.
    Mismatch(AuthError),
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
        let parsed = Username::parse(username);
        let account = match &parsed {
            Ok(name) => name.account_key(),
            Err(_) => AccountKey::of_unparsable(username),
        };
        let gate = self.pass_gate(&account, client).await?;
        let outcome = self
            .judge(slot, parsed.ok(), password, &account, client, &gate)
            .await;
        if let Gate::Stranger { place, .. } = gate {
            place.release().await;
        }
        outcome
    }

    /// The limits an attempt must be within before it is hashed.
    async fn pass_gate(&self, account: &AccountKey, client: &Client) -> Result<Gate<S>, AuthError> {
        let now = self.clock.now();
        if let Some(device) = self
            .vouching_device(account, client.device.as_ref(), now)
            .await?
        {
            let key = RateKey::device(&device);
            self.store
                .take_rate(&key, &self.devices.attempts, now)
                .await?
                .map_err(throttled)?;
            return Ok(Gate::Device(device));
        }
        let address = client.ip.map(RateKey::login_address);
        if let Some(key) = &address
            && let Some(wait) = self
                .store
                .rate_wait(key, &self.throttle.address, now)
                .await?
        {
            return Err(throttled(wait));
        }
        // A read first: a flood on a throttled account costs reads, not
        // the write of a reservation.
        let since = self.throttle.account_since(now);
        let stats = self.store.login_failure_stats(account, since).await?;
        if let Some(wait) = self.throttle.retry_after(&stats, now) {
            return Err(throttled(wait));
        }
        let reservation = self
            .store
            .reserve_login_attempt(account, &self.throttle, now)
            .await?
            .map_err(throttled)?;
        let place = HeldPlace {
            store: self.store.clone(),
            reservation: Some(reservation),
        };
        Ok(Gate::Stranger {
            place,
            address,
            stats,
        })
    }

    /// The presented device cookie's id, if it vouches for `account` now.
    async fn vouching_device(
        &self,
        account: &AccountKey,
        token: Option<&DeviceToken>,
        now: DateTime<Utc>,
    ) -> Result<Option<DeviceId>, AuthError> {
        let Some(token) = token else {
            return Ok(None);
        };
        let device = self.store.find_device(&token.id()).await?;
        Ok(device
            .filter(|device| device.vouches_for(account, now))
            .map(|device| device.id))
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
            Verdict::Mismatch(error) => {
                if let Gate::Stranger { address, .. } = gate {
                    let now = self.clock.now();
                    let ip = client.ip.map(crate::address_budget_key);
                    self.store
                        .record_login_failure(account, ip.as_deref(), now)
                        .await?;
                    if let Some(key) = address {
                        self.store
                            .charge_rate(key, &self.throttle.address, now)
                            .await?;
                    }
                }
                // A device's failure was paid for by the budget it spent.
                Err(error)
            }
            Verdict::Match {
                user,
                password_change_recommended,
            } => {
                let mut success = self
                    .start_session(user, password_change_recommended)
                    .await?;
                match gate {
                    Gate::Device(device) => {
                        // The owner is back: the device's budget is full again.
                        self.store.clear_rate(&RateKey::device(device)).await?;
                    }
                    Gate::Stranger { stats, .. } => {
                        if stats.account_failures > 0 {
                            self.store.clear_login_failures(account).await?;
                        }
                        success.device = Some(self.issue_device(account.clone()).await?);
                    }
                }
                Ok(success)
            }
        }
    }

    /// Verifies `password` against the user's hash (or the dummy), and
    /// replaces a weak hash on a match, only over the hash just verified.
    async fn verify(
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
            (_, Ok(_)) => Ok(Verdict::Mismatch(AuthError::InvalidCredentials)),
            (Some(user), Err(HashError::UnusableHash(reason))) => {
                Ok(Verdict::Mismatch(AuthError::UnusableStoredHash {
                    user_id: user.id,
                    reason,
                }))
            }
            (_, Err(error)) => Err(error.into()),
        }
    }

    /// A new device cookie for `account`, stored.
    async fn issue_device(&self, account: AccountKey) -> Result<DeviceToken, AuthError> {
        let (token, device) = self
            .devices
            .issue(account, self.clock.now())
            .map_err(|error| AuthError::Internal(Box::new(error)))?;
        self.store.insert_device(&device).await?;
        Ok(token)
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
            device: None,
        })
    }
}
