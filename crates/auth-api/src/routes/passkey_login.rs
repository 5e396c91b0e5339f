//! Logging in with a passkey: `POST /webauthn/login/options`, then
//! `POST /webauthn/login` with the assertion, which answers exactly as
//! `/login` does (the same success answer, from `login.rs`).

use auth_core::{Authenticator, Client, Store};
use poem::web::Data;
use poem_openapi::payload::{Json, Response};
use poem_openapi::{Object, OpenApi};
use webauthn_rs::prelude::PublicKeyCredential;

use super::ApiTags;
use super::login::{LoginResponse, logged_in};
use super::passkeys::{PasskeyOptionsResponse, credential, mapped, options_body};
use crate::cookie::CookieSettings;
use crate::routes::fields::Text;

/// Passkey logins.
#[derive(Debug)]
pub struct PasskeyLoginApi<S> {
    /// The service.
    pub auth: Authenticator<S>,
    /// How the login's cookies are set.
    pub cookie: CookieSettings,
}

/// `{"username"}` or `{}`: the body of `POST /webauthn/login/options`.
#[derive(Debug, Object)]
pub struct PasskeyLoginOptionsRequest {
    /// The username, to allow that user's passkeys; without it, a
    /// discoverable challenge (the authenticator picks the account).
    /// `null` is as absent.
    #[oai(nullable)]
    pub username: Option<Text>,
}

/// `{"challenge_id", "credential"}`: the body of `POST /webauthn/login`.
#[derive(Object)]
pub struct PasskeyLoginRequest {
    /// The options' `challenge_id`.
    #[oai(write_only)]
    pub challenge_id: Text,
    /// What `navigator.credentials.get()` resolved to, as JSON: `{"id",
    /// "rawId", "type": "public-key", "response": {"clientDataJSON",
    /// "authenticatorData", "signature", "userHandle"}}` (base64url).
    pub credential: serde_json::Value,
}

/// Written by hand: the challenge id and the assertion are credentials.
impl std::fmt::Debug for PasskeyLoginRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PasskeyLoginRequest")
            .field("challenge_id", &"***")
            .field("credential", &"***")
            .finish()
    }
}

crate::operation_errors! {
    /// What `POST /webauthn/login/options` answers besides `200`.
    pub struct PasskeyLoginOptionsError {
        400 => [invalid_request],
        403 => [cross_site_request],
        408 => [request_timeout],
        413 => [payload_too_large],
        415 => [unsupported_media_type],
        429 => [too_many_attempts] "the account's back-off (shared with passwords) or the address budget; retry after `Retry-After` seconds.",
        500 => [internal_error],
        503 => [storage_unavailable],
    }
}

crate::operation_errors! {
    /// What `POST /webauthn/login` answers besides `200`.
    pub struct PasskeyLoginError {
        400 => [invalid_request] "malformed JSON, or `credential` is not a `PublicKeyCredential` of an assertion.",
        401 => [invalid_credential] "unknown, used or expired challenge, unknown credential, bad signature, wrong origin, or a signature counter that went back; a known account's failure counts toward its back-off like a wrong password.",
        403 => [cross_site_request, account_disabled] "`cross_site_request`: sent by another site with the `session` cookie. `account_disabled`: the account is disabled by an operator (only ever answered after the right credentials).",
        408 => [request_timeout],
        413 => [payload_too_large],
        415 => [unsupported_media_type],
        429 => [too_many_attempts] "the account's back-off (shared with passwords), the address or the device; retry after `Retry-After` seconds.",
        500 => [internal_error],
        503 => [storage_unavailable],
    }
}

#[OpenApi]
impl<S: Store> PasskeyLoginApi<S> {
    /// Start a passkey login
    ///
    /// The options for `navigator.credentials.get()`. With `username`,
    /// that user's passkeys are allowed; with `{}`, a discoverable
    /// challenge (the authenticator offers the accounts it holds). An
    /// unknown username, or one without passkeys, gets the discoverable
    /// challenge: nothing says whether it exists. Refused with `429` while
    /// the account is backed off, as `/login` is.
    #[oai(
        path = "/webauthn/login/options",
        method = "post",
        operation_id = "passkey_login_options",
        tag = "ApiTags::Auth"
    )]
    async fn login_options(
        &self,
        body: Json<PasskeyLoginOptionsRequest>,
        client: Data<&Client>,
    ) -> Result<PasskeyOptionsResponse, PasskeyLoginOptionsError> {
        let username = body.0.username.as_ref().map(Text::as_str);
        let options = self
            .auth
            .start_passkey_login(username, client.0)
            .await
            .map_err(mapped)?;
        Ok(options_body(options)?)
    }

    /// Log in with a passkey
    ///
    /// The assertion `navigator.credentials.get()` made for the options of
    /// `challenge_id` (single use). Answers exactly as a successful
    /// `/login` (body and cookies): a passkey is a complete login, no
    /// second factor follows. A failure for a known account counts toward
    /// its back-off like a wrong password.
    #[oai(
        path = "/webauthn/login",
        method = "post",
        operation_id = "passkey_login",
        tag = "ApiTags::Auth"
    )]
    async fn login(
        &self,
        body: Json<PasskeyLoginRequest>,
        client: Data<&Client>,
    ) -> Result<Response<LoginResponse>, PasskeyLoginError> {
        let PasskeyLoginRequest {
            challenge_id,
            credential: sent,
        } = body.0;
        let sent: PublicKeyCredential = credential(sent, "login credential (assertion)")?;
        let login = self
            .auth
            .login_with_passkey(challenge_id.as_str(), &sent, client.0)
            .await
            .map_err(mapped)?;
        tracing::info!(user_id = %login.user.id, "login succeeded (passkey)");
        Ok(logged_in(&self.cookie, &login))
    }
}
