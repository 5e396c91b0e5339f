//! `POST /password`: the caller changes their password, and every other
//! session of theirs ends.

use auth_core::{Authenticator, Client, Password, Store};
use poem::web::Data;
use poem_openapi::{ApiResponse, Object, OpenApi, payload::Json};

use super::{ApiTags, live_session};
use crate::error::ApiError;
use crate::routes::fields::{NewPassword, Text};
use crate::security::SessionAuth;

/// Password change.
#[derive(Debug)]
pub struct PasswordApi<S> {
    /// The service.
    pub auth: Authenticator<S>,
}

/// `{"current_password", "new_password"}`, the body of `POST /password`.
#[derive(Object)]
pub struct ChangePasswordRequest {
    /// The password in use now. No length limits: a password set under an
    /// older policy must still be accepted here, as at `/login`.
    #[oai(write_only)]
    pub current_password: String,
    /// 15–256 characters, any Unicode including spaces; must not be a
    /// common or easily guessed password and must not contain the
    /// username (the same policy as at registration).
    #[oai(write_only)]
    pub new_password: NewPassword,
    /// Required when the account has two-factor authentication on: a
    /// current TOTP code or an unused recovery code (spent by this request).
    /// Ignored otherwise. `null` is as absent.
    #[oai(write_only, nullable)]
    pub code: Option<Text>,
}

impl std::fmt::Debug for ChangePasswordRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangePasswordRequest")
            .field("current_password", &"***")
            .field("new_password", &"***")
            .field("code", &self.code.as_ref().map(|_| "***"))
            .finish()
    }
}

/// `200` body of `POST /password`.
#[derive(Debug, Object)]
pub struct PasswordChangedBody {
    /// Always `Password changed`.
    pub message: String,
    /// How many of the user's other sessions ended.
    pub sessions_revoked: u64,
}

/// Success of `POST /password`.
#[derive(Debug, ApiResponse)]
pub enum ChangePasswordResponse {
    /// The new password is set; the session this request used stays, every
    /// other session of the user is revoked on every instance.
    #[oai(status = 200)]
    Ok(Json<PasswordChangedBody>),
}

crate::operation_errors! {
    /// What `POST /password` answers besides `200`: the current password is
    /// checked like a login's, the new one hashed; a state change.
    pub struct ChangePasswordError {
        400 => [invalid_request, weak_password],
        401 => [unauthorized, invalid_credentials, invalid_code] "no live session, the current password is wrong, or (with two-factor authentication on) `code` is missing or wrong; wrong ones count toward the account's back-off.",
        403 => [cross_site_request],
        408 => [request_timeout],
        413 => [payload_too_large],
        415 => [unsupported_media_type],
        429 => [too_many_attempts],
        500 => [internal_error],
        503 => [server_busy, storage_unavailable],
    }
}

#[OpenApi]
impl<S: Store> PasswordApi<S> {
    /// Change my password
    ///
    /// Checks `current_password` like a login (the account's back-off
    /// applies and a wrong one counts toward it), applies the password
    /// policy to `new_password`, stores it, and revokes every other session
    /// of the user; the calling one stays. Errors: `400 invalid_request`
    /// (malformed body), `400 weak_password` (outside 15–256 characters,
    /// or too guessable: the message says what to change), `401 unauthorized`
    /// (no live session), `401 invalid_credentials` (wrong current
    /// password), `401 invalid_code` (two-factor authentication is on and
    /// `code` is missing, wrong or used), `429 too_many_attempts` (the
    /// account's back-off, with `Retry-After`).
    #[oai(
        path = "/password",
        method = "post",
        operation_id = "change_password",
        tag = "ApiTags::Account"
    )]
    async fn change_password(
        &self,
        auth: SessionAuth,
        body: Json<ChangePasswordRequest>,
        client: Data<&Client>,
    ) -> Result<ChangePasswordResponse, ChangePasswordError> {
        let me = live_session(&self.auth, &auth, ApiError::Unauthorized).await?;
        let ChangePasswordRequest {
            current_password,
            new_password,
            code,
        } = body.0;
        let sessions_revoked = self
            .auth
            .change_password(
                &me,
                Password::new(current_password),
                code.as_ref().map(Text::as_str),
                Password::new(new_password.into_inner()),
                client.0,
            )
            .await
            .map_err(|error| ApiError::from_auth(error, ApiError::Unauthorized))?;
        tracing::info!(user_id = %me.user.id, sessions_revoked, "password changed");
        Ok(ChangePasswordResponse::Ok(Json(PasswordChangedBody {
            message: "Password changed".into(),
            sessions_revoked,
        })))
    }
}
