//! Logging in with a passkey: the options (with a username, that user's
//! credentials; without, a discoverable challenge), then the assertion,
//! which gives exactly what [`Authenticator::login`] gives.
//!
//! A passkey login is complete: no second factor follows (the passkey is
//! something the user has, unlocked by something they are or know). The
//! limits are the password login's: the options are refused while the
//! account (or the address) is backed off, and a failed assertion for a
//! known account counts toward that account's back-off, so a throttled
//! account cannot log in with a password or a passkey until it passes.

use webauthn_rs::prelude::{
    AuthenticationResult, Passkey as WebauthnPasskey, PublicKeyCredential, RequestChallengeResponse,
};

use super::gate::Gate;
use super::passkeys::{CeremonyState, PasskeyOptions, stored_counter};
use super::{AuthError, Authenticator, LoginSuccess, throttled};
use crate::{AccountKey, Client, EventKind, Passkey, RateKey, Store, User, Username};

impl<S: Store> Authenticator<S> {
    /// The options for `navigator.credentials.get()`. With the `username`
    /// of a user who has passkeys, their credentials are allowed; an
    /// unknown username, a user without passkeys and no username at all
    /// get the same discoverable challenge (nothing tells them apart).
    /// Refused while the account's back-off or the address budget holds.
    ///
    /// # Errors
    /// [`AuthError::Throttled`], [`AuthError::Storage`],
    /// [`AuthError::Internal`] (no relying party).
    pub async fn start_passkey_login(
        &self,
        username: Option<&str>,
        client: &Client,
    ) -> Result<PasskeyOptions<RequestChallengeResponse>, AuthError> {
        let rp = self.rp()?;
        let parsed = username.and_then(|name| Username::parse(name).ok());
        let account = match (&parsed, username) {
            (Some(name), _) => Some(name.account_key()),
            (None, Some(raw)) => Some(AccountKey::of_unparsable(raw)),
            (None, None) => None,
        };
        self.check_limits(account.as_ref(), client).await?;
        let user = match &parsed {
            Some(name) => self.store.find_user_by_username(name).await?,
            None => None,
        };
        let passkeys = match &user {
            Some(user) => self.usable_passkeys(user).await?,
            None => Vec::new(),
        };
        let webauthn = rp.webauthn();
        let internal =
            |error: webauthn_rs::prelude::WebauthnError| AuthError::Internal(Box::new(error));
        let (user_id, options, state) = if passkeys.is_empty() {
            let (options, state) = webauthn
                .start_discoverable_authentication()
                .map_err(internal)?;
            (None, options, CeremonyState::Discoverable { state })
        } else {
            let credentials: Vec<WebauthnPasskey> =
                passkeys.into_iter().map(|(_, passkey)| passkey).collect();
            let (options, state) = webauthn
                .start_passkey_authentication(&credentials)
                .map_err(internal)?;
            (
                user.map(|user| user.id),
                options,
                CeremonyState::Login { state },
            )
        };
        let challenge_id = self.begin_ceremony(user_id, &state).await?;
        Ok(PasskeyOptions {
            challenge_id,
            options,
        })
    }

    /// Logs in with the authenticator's assertion for the challenge of
    /// `challenge_id` (single use, 5 minutes): exactly what
    /// [`Authenticator::login`] gives, a `login_succeeded` event included.
    /// The passkey's counter and backup flags are updated, and a counter
    /// that went back (a cloned authenticator) is refused.
    ///
    /// # Errors
    /// [`AuthError::PasskeyRefused`] (unknown, used or expired challenge,
    /// unknown credential, bad signature, wrong origin, counter
    /// regression: one answer), [`AuthError::Throttled`],
    /// [`AuthError::Storage`].
    pub async fn login_with_passkey(
        &self,
        challenge_id: &str,
        credential: &PublicKeyCredential,
        client: &Client,
    ) -> Result<LoginSuccess, AuthError> {
        let rp = self.rp()?;
        let taken = self.take_ceremony(challenge_id).await?;
        let Some((expected_user, state)) = taken else {
            return Err(AuthError::PasskeyRefused);
        };
        let found = self
            .store
            .find_passkey_by_credential_id(credential.get_credential_id())
            .await?;
        let owner = match &found {
            Some(passkey) => self.store.find_user_by_id(passkey.user_id).await?,
            None => None,
        };
        let (Some(passkey), Some(user)) = (found, owner) else {
            self.charge_address(client).await?;
            return Err(AuthError::PasskeyRefused);
        };
        let account = user.username.account_key();
        let gate = self
            .pass_gate(Some(&user.username), &account, client)
            .await?;
        let verdict = match (&state, expected_user) {
            (CeremonyState::Login { .. }, Some(expected)) if expected != user.id => None,
            (CeremonyState::Registration { .. }, _) => None,
            _ => self.verify_assertion(rp, credential, state, &passkey, &user),
        };
        let outcome = match verdict {
            Some((result, mut stored)) => {
                self.finish_passkey_login(
                    &gate,
                    &account,
                    user,
                    &passkey,
                    &result,
                    &mut stored,
                    client,
                )
                .await
            }
            None => self
                .count_failure(&gate, &account, client, Some(user.id))
                .await
                .and(Err(AuthError::PasskeyRefused)),
        };
        gate.release().await;
        self.settled(outcome).await
    }

    /// The crate's verification of `credential` against `passkey`: the
    /// result and the stored credential, or `None` for any failure.
    fn verify_assertion(
        &self,
        rp: &crate::RelyingParty,
        credential: &PublicKeyCredential,
        state: CeremonyState,
        passkey: &Passkey,
        user: &User,
    ) -> Option<(AuthenticationResult, WebauthnPasskey)> {
        let stored: WebauthnPasskey = serde_json::from_str(&passkey.credential).ok()?;
        let webauthn = rp.webauthn();
        let result = match state {
            CeremonyState::Login { state } => webauthn
                .finish_passkey_authentication(credential, &state)
                .ok()?,
            CeremonyState::Discoverable { state } => {
                let (user_handle, _) = webauthn
                    .identify_discoverable_authentication(credential)
                    .ok()?;
                if user_handle != *user.id.as_uuid() {
                    return None;
                }
                webauthn
                    .finish_discoverable_authentication_v2(credential, state, &stored)
                    .ok()?
            }
            CeremonyState::Registration { .. } => return None,
        };
        (result.cred_id().as_slice() == passkey.credential_id.as_slice())
            .then_some((result, stored))
    }

    #[allow(clippy::too_many_arguments)]
    async fn finish_passkey_login(
        &self,
        gate: &Gate<S>,
        account: &AccountKey,
        user: User,
        passkey: &Passkey,
        result: &AuthenticationResult,
        stored: &mut WebauthnPasskey,
        client: &Client,
    ) -> Result<LoginSuccess, AuthError> {
        stored.update_credential(result);
        let credential =
            serde_json::to_string(stored).map_err(|error| AuthError::Internal(Box::new(error)))?;
        let now = self.clock.now();
        if !self
            .store
            .record_passkey_use(passkey.id, &credential, stored_counter(&credential), now)
            .await?
        {
            // A concurrent login with a higher counter won, or the passkey
            // was removed meanwhile.
            self.count_failure(gate, account, client, Some(user.id))
                .await?;
            return Err(AuthError::PasskeyRefused);
        }
        let mut success = self.start_session(user, false, client).await?;
        self.count_success(gate, account).await?;
        if matches!(gate, Gate::Stranger { .. }) && client.keeps_device_cookie {
            success.device = Some(self.issue_device(account.clone()).await?);
        }
        self.record(EventKind::LoginSucceeded, Some(success.user.id), client)
            .await;
        Ok(success)
    }

    /// The user's passkeys as webauthn-rs reads them (unreadable ones left out).
    async fn usable_passkeys(
        &self,
        user: &User,
    ) -> Result<Vec<(Passkey, WebauthnPasskey)>, AuthError> {
        Ok(self
            .store
            .list_passkeys(user.id)
            .await?
            .into_iter()
            .filter_map(|passkey| {
                let parsed = serde_json::from_str(&passkey.credential).ok()?;
                Some((passkey, parsed))
            })
            .collect())
    }

    /// The limits a login checks before its work, without reserving: the
    /// address budget, and the account's back-off when there is one.
    async fn check_limits(
        &self,
        account: Option<&AccountKey>,
        client: &Client,
    ) -> Result<(), AuthError> {
        let now = self.clock.now();
        // A device cookie that vouches for the account skips both, as at
        // the login's gate (which still spends the device's budget).
        if let Some(account) = account
            && self
                .vouching_device(account, client.device.as_ref(), now)
                .await?
                .is_some()
        {
            return Ok(());
        }
        if let Some(ip) = client.ip {
            let key = RateKey::login_address(ip);
            if let Some(wait) = self
                .store
                .rate_wait(&key, &self.throttle.address, now)
                .await?
            {
                return Err(throttled(wait));
            }
        }
        let Some(account) = account else {
            return Ok(());
        };
        let since = self.throttle.account_since(now);
        let stats = self.store.login_failure_stats(account, since).await?;
        if let Some(wait) = self.throttle.retry_after(&stats, now) {
            return Err(throttled(wait));
        }
        Ok(())
    }

    /// An assertion for no known account: charged to the address budget.
    async fn charge_address(&self, client: &Client) -> Result<(), AuthError> {
        if let Some(ip) = client.ip {
            let key = RateKey::login_address(ip);
            self.store
                .charge_rate(&key, &self.throttle.address, self.clock.now())
                .await?;
        }
        Ok(())
    }
}
