//! Passkeys (WebAuthn) under `/webauthn`: registering one (options, then
//! the authenticator's answer), listing, renaming and removing them.
//! Logging in with one (options, then the assertion) is in
//! `passkey_login.rs`.
//!
//! The options are webauthn-rs's JSON (`publicKey`, binary fields in
//! base64url) plus the `challenge_id` that finishes the ceremony, once,
//! within 5 minutes, on any instance. The answers are the browser's
//! `PublicKeyCredential` in its JSON form (`toJSON()`, or base64url by
//! hand). A credential that is not of that shape is `400 invalid_request`
//! and spends nothing.

use auth_core::{Authenticator, Client, PasskeyId, PasskeyName, Store};
use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::{Header, Path};
use poem_openapi::payload::Json;
use poem_openapi::{ApiResponse, Object, OpenApi};
use serde::de::DeserializeOwned;
use webauthn_rs::prelude::RegisterPublicKeyCredential;

use super::{ApiTags, MessageBody, live_session};
use crate::error::ApiError;
use crate::routes::fields::Text;
use crate::security::SessionAuth;

/// Passkeys of the session's user.
#[derive(Debug)]
pub struct PasskeysApi<S> {
    /// The service.
    pub auth: Authenticator<S>,
}

/// `{"name"}`: the body of `POST /webauthn/register/options` and of
/// `PATCH /webauthn/credentials/{id}`.
#[derive(Debug, Object)]
pub struct PasskeyNameRequest {
    /// What the user calls the passkey ("Laptop", "Phone"). Validation:
    /// 1–64 characters after trimming, no control characters.
    pub name: Text,
}

/// `{"challenge_id", "credential"}`: the body of `POST /webauthn/register`.
#[derive(Object)]
pub struct PasskeyRegisterRequest {
    /// The options' `challenge_id`.
    #[oai(write_only)]
    pub challenge_id: Text,
    /// What `navigator.credentials.create()` resolved to, as JSON:
    /// `{"id", "rawId", "type": "public-key", "response":
    /// {"clientDataJSON", "attestationObject"}}` (binary fields in base64url).
    pub credential: serde_json::Value,
}

macro_rules! redacted_debug {
    ($($type:ident { $($field:ident),* }),* $(,)?) => {$(
        impl std::fmt::Debug for $type {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.debug_struct(stringify!($type))
                    $(.field(stringify!($field), &"***"))*
                    .finish()
            }
        }
    )*};
}

redacted_debug! {
    PasskeyRegisterRequest { challenge_id, credential },
}

/// `200` body of the two options routes.
#[derive(Object)]
pub struct PasskeyOptionsBody {
    /// Single use, within 5 minutes: send it back with the credential.
    pub challenge_id: String,
    /// For `navigator.credentials.create({publicKey})` (registration) or
    /// `.get({publicKey})` (login), after decoding the base64url fields
    /// (`challenge`, `user.id`, `excludeCredentials[].id`,
    /// `allowCredentials[].id`) into `ArrayBuffer`s.
    #[oai(rename = "publicKey")]
    pub public_key: serde_json::Value,
}

redacted_debug! {
    PasskeyOptionsBody { challenge_id, public_key },
}

/// A registered passkey.
#[derive(Debug, Object)]
pub struct PasskeyBody {
    /// Its handle for `PATCH` and `DELETE /webauthn/credentials/{id}`.
    pub id: String,
    /// What the user calls it.
    pub name: String,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
    /// When it last logged in.
    pub last_used_at: Option<DateTime<Utc>>,
}

impl From<&auth_core::Passkey> for PasskeyBody {
    fn from(passkey: &auth_core::Passkey) -> Self {
        Self {
            id: passkey.id.to_string(),
            name: passkey.name.as_str().to_owned(),
            created_at: passkey.created_at,
            last_used_at: passkey.last_used_at,
        }
    }
}

/// `201` body of `POST /webauthn/register`.
#[derive(Debug, Object)]
pub struct PasskeyAddedBody {
    /// Its handle.
    pub id: String,
    /// What the user calls it.
    pub name: String,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
}

/// `200` body of `GET /webauthn/credentials`.
#[derive(Debug, Object)]
pub struct PasskeyListBody {
    /// Oldest first.
    pub credentials: Vec<PasskeyBody>,
}

/// Success of the options routes.
#[derive(Debug, ApiResponse)]
pub enum PasskeyOptionsResponse {
    /// The options and their `challenge_id`.
    #[oai(status = 200)]
    Ok(Json<PasskeyOptionsBody>),
}

/// Success of `POST /webauthn/register`.
#[derive(Debug, ApiResponse)]
pub enum PasskeyRegisterResponse {
    /// Registered: it logs in from now on.
    #[oai(status = 201)]
    Created(Json<PasskeyAddedBody>),
}

/// Success of `GET /webauthn/credentials`.
#[derive(Debug, ApiResponse)]
pub enum PasskeyListResponse {
    /// The caller's passkeys.
    #[oai(status = 200)]
    Ok(Json<PasskeyListBody>),
}

/// Success of `PATCH /webauthn/credentials/{id}`.
#[derive(Debug, ApiResponse)]
pub enum PasskeyRenameResponse {
    /// The passkey, renamed.
    #[oai(status = 200)]
    Ok(Json<PasskeyBody>),
}

/// Success of `DELETE /webauthn/credentials/{id}`.
#[derive(Debug, ApiResponse)]
pub enum PasskeyRemoveResponse {
    /// `Passkey removed`.
    #[oai(status = 200)]
    Ok(Json<MessageBody>),
}

crate::operation_errors! {
    /// What `POST /webauthn/register/options` answers besides `200`.
    pub struct PasskeyRegisterOptionsError {
        400 => [invalid_request] "malformed JSON, or `name` is not 1–64 characters after trimming.",
        401 => [unauthorized] "no live session (missing, expired or logged out).",
        403 => [cross_site_request],
        408 => [request_timeout],
        413 => [payload_too_large],
        415 => [unsupported_media_type],
        500 => [internal_error],
        503 => [storage_unavailable],
    }
}

crate::operation_errors! {
    /// What `POST /webauthn/register` answers besides `201`.
    pub struct PasskeyRegisterError {
        400 => [invalid_request, invalid_credential] "`invalid_request`: malformed JSON, or `credential` is not a `PublicKeyCredential` of a registration. `invalid_credential`: the challenge is unknown, used, expired or another user's, the verification failed (origin, challenge, user verification), or the authenticator is registered already.",
        401 => [unauthorized] "no live session (missing, expired or logged out).",
        403 => [cross_site_request],
        408 => [request_timeout],
        413 => [payload_too_large],
        415 => [unsupported_media_type],
        500 => [internal_error],
        503 => [storage_unavailable],
    }
}

crate::operation_errors! {
    /// What `GET /webauthn/credentials` answers besides `200`.
    pub struct PasskeyListError {
        401 => [unauthorized] "no live session (missing, expired or logged out).",
        500 => [internal_error],
        503 => [storage_unavailable],
    }
}

crate::operation_errors! {
    /// What `PATCH /webauthn/credentials/{id}` answers besides `200`.
    pub struct PasskeyRenameError {
        400 => [invalid_request] "malformed JSON, or `name` is not 1–64 characters after trimming.",
        401 => [unauthorized] "no live session (missing, expired or logged out).",
        403 => [cross_site_request],
        404 => [not_found] "you have no passkey with that id (unknown, another user's, or not a UUID).",
        408 => [request_timeout],
        413 => [payload_too_large],
        415 => [unsupported_media_type],
        500 => [internal_error],
        503 => [storage_unavailable],
    }
}

crate::operation_errors! {
    /// What `DELETE /webauthn/credentials/{id}` answers besides `200`.
    pub struct PasskeyRemoveError {
        400 => [invalid_request] "a request body was sent and could not be read.",
        401 => [unauthorized, invalid_code] "no live session, or the account has TOTP on and `X-MFA-Code` is missing, wrong or used (a wrong one counts toward the account's back-off).",
        403 => [cross_site_request],
        404 => [not_found] "you have no passkey with that id (unknown, another user's, or not a UUID).",
        408 => [request_timeout],
        413 => [payload_too_large],
        429 => [too_many_attempts],
        500 => [internal_error],
        503 => [storage_unavailable],
    }
}

pub(super) fn mapped(error: auth_core::AuthError) -> ApiError {
    ApiError::from_auth(error, ApiError::Unauthorized)
}

fn name(text: &Text) -> Result<PasskeyName, ApiError> {
    PasskeyName::parse(text.as_str()).ok_or_else(|| {
        ApiError::InvalidRequest("`name` must be 1–64 characters after trimming".into())
    })
}

/// The credential as the crate's type; `invalid_request` naming the shape.
pub(super) fn credential<T: DeserializeOwned>(
    value: serde_json::Value,
    shape: &str,
) -> Result<T, ApiError> {
    serde_json::from_value(value).map_err(|error| {
        ApiError::InvalidRequest(format!("`credential` is not a {shape}: {error}"))
    })
}

/// The `publicKey` member of webauthn-rs's options, and the challenge id.
pub(super) fn options_body<T: serde::Serialize>(
    options: auth_core::PasskeyOptions<T>,
) -> Result<PasskeyOptionsResponse, ApiError> {
    let mut json = serde_json::to_value(&options.options).map_err(|error| {
        tracing::error!(%error, "passkey options did not serialise");
        ApiError::Internal
    })?;
    let public_key = json
        .get_mut("publicKey")
        .map(serde_json::Value::take)
        .unwrap_or_default();
    Ok(PasskeyOptionsResponse::Ok(Json(PasskeyOptionsBody {
        challenge_id: options.challenge_id.as_str().to_owned(),
        public_key,
    })))
}

#[OpenApi]
impl<S: Store> PasskeysApi<S> {
    /// Start registering a passkey
    ///
    /// The options for `navigator.credentials.create()`: user verification
    /// required, a discoverable credential asked for (so that it logs in
    /// without a username too), the caller's passkeys excluded. Finish
    /// with `POST /webauthn/register` within 5 minutes.
    #[oai(
        path = "/webauthn/register/options",
        method = "post",
        operation_id = "passkey_register_options",
        tag = "ApiTags::Passkeys"
    )]
    async fn register_options(
        &self,
        auth: SessionAuth,
        body: Json<PasskeyNameRequest>,
    ) -> Result<PasskeyOptionsResponse, PasskeyRegisterOptionsError> {
        let me = live_session(&self.auth, &auth, ApiError::Unauthorized).await?;
        let name = name(&body.0.name)?;
        let options = self
            .auth
            .start_passkey_registration(&me, name)
            .await
            .map_err(mapped)?;
        Ok(options_body(options)?)
    }

    /// Register a passkey
    ///
    /// The credential `navigator.credentials.create()` made for the
    /// options of `challenge_id` (single use). Only its public key is
    /// stored. Records `passkey_added`.
    #[oai(
        path = "/webauthn/register",
        method = "post",
        operation_id = "passkey_register",
        tag = "ApiTags::Passkeys"
    )]
    async fn register(
        &self,
        auth: SessionAuth,
        body: Json<PasskeyRegisterRequest>,
        client: Data<&Client>,
    ) -> Result<PasskeyRegisterResponse, PasskeyRegisterError> {
        let me = live_session(&self.auth, &auth, ApiError::Unauthorized).await?;
        let PasskeyRegisterRequest {
            challenge_id,
            credential: sent,
        } = body.0;
        let sent: RegisterPublicKeyCredential = credential(sent, "registration credential")?;
        let passkey = self
            .auth
            .finish_passkey_registration(&me, challenge_id.as_str(), &sent, client.0)
            .await
            .map_err(mapped)?;
        tracing::info!(user_id = %me.user.id, passkey = %passkey.id, "passkey added");
        Ok(PasskeyRegisterResponse::Created(Json(PasskeyAddedBody {
            id: passkey.id.to_string(),
            name: passkey.name.as_str().to_owned(),
            created_at: passkey.created_at,
        })))
    }

    /// List my passkeys
    #[oai(
        path = "/webauthn/credentials",
        method = "get",
        operation_id = "passkey_list",
        tag = "ApiTags::Passkeys"
    )]
    async fn list(&self, auth: SessionAuth) -> Result<PasskeyListResponse, PasskeyListError> {
        let me = live_session(&self.auth, &auth, ApiError::Unauthorized).await?;
        let passkeys = self.auth.passkeys(me.user.id).await.map_err(mapped)?;
        Ok(PasskeyListResponse::Ok(Json(PasskeyListBody {
            credentials: passkeys.iter().map(PasskeyBody::from).collect(),
        })))
    }

    /// Rename a passkey
    #[oai(
        path = "/webauthn/credentials/:id",
        method = "patch",
        operation_id = "passkey_rename",
        tag = "ApiTags::Passkeys"
    )]
    async fn rename(
        &self,
        auth: SessionAuth,
        /// The passkey's `id`, as `GET /webauthn/credentials` lists it.
        id: Path<String>,
        body: Json<PasskeyNameRequest>,
    ) -> Result<PasskeyRenameResponse, PasskeyRenameError> {
        let me = live_session(&self.auth, &auth, ApiError::Unauthorized).await?;
        let id = PasskeyId::parse(&id.0).ok_or(ApiError::PasskeyNotFound)?;
        let name = name(&body.0.name)?;
        let passkey = self
            .auth
            .rename_passkey(&me, id, name)
            .await
            .map_err(mapped)?;
        Ok(PasskeyRenameResponse::Ok(Json(PasskeyBody::from(&passkey))))
    }

    /// Remove a passkey
    ///
    /// It no longer logs in. On an account with TOTP on, the header
    /// `X-MFA-Code` must carry a current TOTP code or an unused recovery
    /// code (spent); without TOTP, the session alone removes it (the
    /// password still logs in). Records `passkey_removed`.
    #[oai(
        path = "/webauthn/credentials/:id",
        method = "delete",
        operation_id = "passkey_remove",
        tag = "ApiTags::Passkeys"
    )]
    async fn remove(
        &self,
        auth: SessionAuth,
        /// The passkey's `id`, as `GET /webauthn/credentials` lists it.
        id: Path<String>,
        /// A TOTP or recovery code; required when the account has TOTP on.
        #[oai(name = "X-MFA-Code")]
        code: Header<Option<String>>,
        client: Data<&Client>,
    ) -> Result<PasskeyRemoveResponse, PasskeyRemoveError> {
        let me = live_session(&self.auth, &auth, ApiError::Unauthorized).await?;
        let id = PasskeyId::parse(&id.0).ok_or(ApiError::PasskeyNotFound)?;
        self.auth
            .remove_passkey(&me, id, code.0.as_deref(), client.0)
            .await
            .map_err(|error| match error {
                // The code comes in a header here, not a `code` field.
                auth_core::AuthError::SecondFactorRequired => ApiError::InvalidCode,
                other => mapped(other),
            })?;
        tracing::info!(user_id = %me.user.id, passkey = %id, "passkey removed");
        Ok(PasskeyRemoveResponse::Ok(Json(MessageBody {
            message: "Passkey removed".into(),
        })))
    }
}
