//! Passkeys (WebAuthn) on an account: registering one (two requests: the
//! options, then the authenticator's answer), listing, renaming and
//! removing them. Logging in with one is in `passkey_login.rs`.
//!
//! # Rules
//!
//! - Registration asks for user verification and a discoverable (resident)
//!   credential, so the passkey also logs in without a username, and
//!   excludes the user's existing credentials (an authenticator already
//!   registered says so instead of making a second one).
//! - A passkey is a complete login of its own, not a second factor: having
//!   one never makes a password login ask for more. Only TOTP triggers
//!   `mfa_required`, so a lost device never locks anyone out.
//! - Removing a passkey is a sensitive change: with TOTP on it needs a TOTP
//!   or recovery code (`check_second_factor`); a user without TOTP removes
//!   one with the session alone (their password still logs in).

use serde::{Deserialize, Serialize};
use webauthn_rs::prelude::{
    CreationChallengeResponse, DiscoverableAuthentication, PasskeyAuthentication,
    PasskeyRegistration, RegisterPublicKeyCredential,
};
use webauthn_rs_proto::ResidentKeyRequirement;

use super::{AuthError, Authenticated, Authenticator};
use crate::{
    Ceremony, Client, EventKind, OneTimeToken, OneTimeTokenHash, Passkey, PasskeyId, PasskeyName,
    RelyingParty, Store, UserId, passkey::CEREMONY_LIFETIME,
};

/// The options of a ceremony, and the single-use `challenge_id` that
/// finishes it (within 5 minutes, on any instance).
#[derive(Debug)]
pub struct PasskeyOptions<T> {
    /// Give it to the client once; it comes back with the answer.
    pub challenge_id: OneTimeToken,
    /// webauthn-rs's options, serialisable as the browser's JSON form.
    pub options: T,
}

/// What a ceremony remembers between its two requests.
#[derive(Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub(super) enum CeremonyState {
    /// A registration, and the name the passkey will have.
    Registration {
        name: String,
        state: PasskeyRegistration,
    },
    /// A login with a username: the user's credentials were allowed.
    Login { state: PasskeyAuthentication },
    /// A login without one: the authenticator says whose passkey it is.
    Discoverable { state: DiscoverableAuthentication },
}

/// No relying party was configured: a deployment error, not the user's.
#[derive(Debug, thiserror::Error)]
#[error("no relying party is configured for passkeys")]
struct NoRelyingParty;

impl<S: Store> Authenticator<S> {
    /// Sets the relying party passkeys are registered for and logged in
    /// with (from `--public-url`); without one, every passkey use case
    /// fails with [`AuthError::Internal`].
    #[must_use]
    pub fn with_relying_party(mut self, relying_party: RelyingParty) -> Self {
        self.relying_party = Some(relying_party);
        self
    }

    /// The relying party, if one is set.
    pub fn relying_party(&self) -> Option<&RelyingParty> {
        self.relying_party.as_ref()
    }

    pub(super) fn rp(&self) -> Result<&RelyingParty, AuthError> {
        self.relying_party
            .as_ref()
            .ok_or_else(|| AuthError::Internal(Box::new(NoRelyingParty)))
    }

    /// Stores `state` under a new challenge id, for 5 minutes.
    pub(super) async fn begin_ceremony(
        &self,
        user_id: Option<UserId>,
        state: &CeremonyState,
    ) -> Result<OneTimeToken, AuthError> {
        let challenge_id =
            OneTimeToken::generate().map_err(|error| AuthError::Internal(Box::new(error)))?;
        let state =
            serde_json::to_string(state).map_err(|error| AuthError::Internal(Box::new(error)))?;
        let expires_at = crate::period::after(self.clock.now(), CEREMONY_LIFETIME);
        self.store
            .put_ceremony(&Ceremony {
                challenge: challenge_id.hash(),
                user_id,
                state,
                expires_at,
            })
            .await?;
        Ok(challenge_id)
    }

    /// Takes the ceremony of `challenge_id` (once: a second use finds
    /// nothing), if it is live; `None` for an unknown, used, expired or
    /// malformed one.
    pub(super) async fn take_ceremony(
        &self,
        challenge_id: &str,
    ) -> Result<Option<(Option<UserId>, CeremonyState)>, AuthError> {
        let Ok(token) = OneTimeToken::parse(challenge_id) else {
            return Ok(None);
        };
        let hash: OneTimeTokenHash = token.hash();
        let Some(ceremony) = self.store.take_ceremony(&hash, self.clock.now()).await? else {
            return Ok(None);
        };
        let state = serde_json::from_str(&ceremony.state)
            .map_err(|error| AuthError::Internal(Box::new(error)))?;
        Ok(Some((ceremony.user_id, state)))
    }

    /// Starts registering a passkey named `name` for the session's user:
    /// the options for `navigator.credentials.create()`.
    ///
    /// # Errors
    /// [`AuthError::Storage`], [`AuthError::Internal`] (no relying party).
    pub async fn start_passkey_registration(
        &self,
        me: &Authenticated,
        name: PasskeyName,
    ) -> Result<PasskeyOptions<CreationChallengeResponse>, AuthError> {
        let rp = self.rp()?;
        let user = &me.user;
        let exclude = self
            .store
            .list_passkeys(user.id)
            .await?
            .into_iter()
            .map(|passkey| passkey.credential_id)
            .collect();
        let (mut options, state) = rp
            .webauthn()
            .start_passkey_registration(
                *user.id.as_uuid(),
                user.username.as_str(),
                user.username.as_str(),
                Some(exclude),
            )
            .map_err(|error| AuthError::Internal(Box::new(error)))?;
        // A discoverable credential, so that it logs in without a username
        // too (webauthn-rs leaves it to the authenticator); the state does
        // not depend on it.
        if let Some(selection) = options.public_key.authenticator_selection.as_mut() {
            selection.resident_key = Some(ResidentKeyRequirement::Required);
            selection.require_resident_key = true;
        }
        let challenge_id = self
            .begin_ceremony(
                Some(user.id),
                &CeremonyState::Registration {
                    name: name.as_str().to_owned(),
                    state,
                },
            )
            .await?;
        Ok(PasskeyOptions {
            challenge_id,
            options,
        })
    }

    /// Finishes a registration with the authenticator's answer: the new
    /// passkey, stored. The challenge works once, for 5 minutes, for the
    /// session's user only. Records `passkey_added`.
    ///
    /// # Errors
    /// [`AuthError::InvalidPasskeyRegistration`] (unknown, used or expired
    /// challenge, another user's, a failed verification, a credential
    /// registered already), [`AuthError::Storage`].
    pub async fn finish_passkey_registration(
        &self,
        me: &Authenticated,
        challenge_id: &str,
        credential: &RegisterPublicKeyCredential,
        client: &Client,
    ) -> Result<Passkey, AuthError> {
        let rp = self.rp()?;
        let Some((owner, CeremonyState::Registration { name, state })) =
            self.take_ceremony(challenge_id).await?
        else {
            return Err(AuthError::InvalidPasskeyRegistration);
        };
        if owner != Some(me.user.id) {
            return Err(AuthError::InvalidPasskeyRegistration);
        }
        let verified = rp
            .webauthn()
            .finish_passkey_registration(credential, &state)
            .map_err(|_| AuthError::InvalidPasskeyRegistration)?;
        let stored = serde_json::to_string(&verified)
            .map_err(|error| AuthError::Internal(Box::new(error)))?;
        let passkey = Passkey {
            id: PasskeyId::new(),
            user_id: me.user.id,
            credential_id: verified.cred_id().to_vec(),
            name: PasskeyName::from_stored(name),
            sign_count: stored_counter(&stored),
            credential: stored,
            created_at: self.clock.now(),
            last_used_at: None,
        };
        if !self.store.add_passkey(&passkey).await? {
            return Err(AuthError::InvalidPasskeyRegistration);
        }
        self.cache.factors_changed(me.user.id);
        self.cache.settle().await;
        self.record(EventKind::PasskeyAdded, Some(me.user.id), client)
            .await;
        Ok(passkey)
    }

    /// The user's passkeys, oldest first.
    ///
    /// # Errors
    /// [`AuthError::Storage`].
    pub async fn passkeys(&self, user: UserId) -> Result<Vec<Passkey>, AuthError> {
        Ok(self.store.list_passkeys(user).await?)
    }

    /// Renames one of the session user's passkeys.
    ///
    /// # Errors
    /// [`AuthError::PasskeyNotFound`] (no such passkey, or another user's),
    /// [`AuthError::Storage`].
    pub async fn rename_passkey(
        &self,
        me: &Authenticated,
        id: PasskeyId,
        name: PasskeyName,
    ) -> Result<Passkey, AuthError> {
        if !self.store.rename_passkey(me.user.id, id, &name).await? {
            return Err(AuthError::PasskeyNotFound);
        }
        self.store
            .list_passkeys(me.user.id)
            .await?
            .into_iter()
            .find(|passkey| passkey.id == id)
            .ok_or(AuthError::PasskeyNotFound)
    }

    /// Removes one of the session user's passkeys. With TOTP on, `code`
    /// (TOTP or recovery, spent) is required; without, the session alone
    /// removes it. Records `passkey_removed`.
    ///
    /// # Errors
    /// [`AuthError::PasskeyNotFound`], [`AuthError::SecondFactorRequired`],
    /// [`AuthError::InvalidCode`] (counted like a wrong password),
    /// [`AuthError::Throttled`], [`AuthError::Storage`].
    pub async fn remove_passkey(
        &self,
        me: &Authenticated,
        id: PasskeyId,
        code: Option<&str>,
        client: &Client,
    ) -> Result<(), AuthError> {
        let user = &me.user;
        let owned = self
            .store
            .list_passkeys(user.id)
            .await?
            .iter()
            .any(|passkey| passkey.id == id);
        if !owned {
            return Err(AuthError::PasskeyNotFound);
        }
        if self.enabled_totp(user.id).await?.is_some() {
            self.check_code_within_backoff(user, code, client).await?;
        }
        if !self.store.remove_passkey(user.id, id).await? {
            return Err(AuthError::PasskeyNotFound);
        }
        self.cache.factors_changed(user.id);
        self.cache.settle().await;
        self.record(EventKind::PasskeyRemoved, Some(user.id), client)
            .await;
        Ok(())
    }

    /// `check_second_factor` within the account's back-off: a wrong code
    /// is a failure of the same budget as a wrong password.
    async fn check_code_within_backoff(
        &self,
        user: &crate::User,
        code: Option<&str>,
        client: &Client,
    ) -> Result<(), AuthError> {
        let account = user.username.account_key();
        let gate = self
            .pass_gate(Some(&user.username), &account, client)
            .await?;
        let outcome = match self.check_second_factor(user, code, client).await {
            Ok(()) => self.count_success(&gate, &account).await,
            Err(AuthError::InvalidCode) => self
                .count_failure_as(&gate, &account, client, Some(user.id), EventKind::MfaFailed)
                .await
                .and(Err(AuthError::InvalidCode)),
            Err(other) => Err(other),
        };
        gate.release().await;
        outcome
    }
}

/// The signature counter in webauthn-rs's stored `Passkey` JSON (0 if it
/// cannot be read: the crate still checks the counter it keeps there).
pub(super) fn stored_counter(credential: &str) -> u32 {
    serde_json::from_str::<serde_json::Value>(credential)
        .ok()
        .and_then(|value| {
            value
                .pointer("/cred/counter")
                .and_then(serde_json::Value::as_u64)
        })
        .and_then(|counter| u32::try_from(counter).ok())
        .unwrap_or(0)
}
