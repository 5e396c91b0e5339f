//! `POST /password/forgot` and `POST /password/reset`: a way back into an
//! account whose password is lost.

use auth_core::{Authenticator, Client, EmailAddress, Password, ResetTarget, Store, Username};
use std::sync::Arc;

use poem::web::Data;
use poem_openapi::{ApiResponse, Object, OpenApi, payload::Json};
use tokio::sync::Semaphore;

use super::{ApiTags, MessageBody};
use crate::error::ApiError;
use crate::routes::fields::{NewPassword, Text};

/// The one answer of `/password/forgot`, whatever the account.
const FORGOT_MESSAGE: &str =
    "If the account exists and has a verified email, a reset link has been sent";

/// How many `/password/forgot` lookups may run after their answers at
/// once. Beyond it (a flood from many addresses) a request is answered the
/// same and its lookup skipped, so the flood cannot pile up tasks.
pub const MAX_BACKGROUND_RESETS: usize = 256;

/// Password recovery.
#[derive(Debug)]
pub struct RecoveryApi<S> {
    /// The service.
    pub auth: Authenticator<S>,
    /// Places for the lookups that run after the answer.
    pub background: Arc<Semaphore>,
}

impl<S> RecoveryApi<S> {
    /// The routes over `auth`, with [`MAX_BACKGROUND_RESETS`] places.
    pub fn new(auth: Authenticator<S>) -> Self {
        Self {
            auth,
            background: Arc::new(Semaphore::new(MAX_BACKGROUND_RESETS)),
        }
    }
}

/// `{"username"}` or `{"email"}`: exactly one of them.
#[derive(Debug, Object)]
pub struct ForgotPasswordRequest {
    /// The account's username (any case). `null` is as absent.
    #[oai(nullable)]
    pub username: Option<Text>,
    /// The account's verified email address (any case). `null` is as absent.
    #[oai(nullable)]
    pub email: Option<Text>,
}

/// `{"token", "new_password"}`, the body of `POST /password/reset`.
#[derive(Object)]
pub struct ResetPasswordRequest {
    /// The token from the reset link.
    pub token: Text,
    /// 15–256 characters; the registration policy applies.
    #[oai(write_only)]
    pub new_password: NewPassword,
}

impl std::fmt::Debug for ResetPasswordRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResetPasswordRequest")
            .finish_non_exhaustive()
    }
}

/// `200` body of `POST /password/reset`.
#[derive(Debug, Object)]
pub struct PasswordResetBody {
    /// Always `Password reset`.
    pub message: String,
    /// How many of the user's sessions ended (all of them).
    pub sessions_revoked: u64,
}

/// Success of `POST /password/forgot`.
#[derive(Debug, ApiResponse)]
pub enum ForgotPasswordResponse {
    /// The same answer for every account, existing or not.
    #[oai(status = 202)]
    Accepted(Json<MessageBody>),
}

/// Success of `POST /password/reset`.
#[derive(Debug, ApiResponse)]
pub enum ResetPasswordResponse {
    /// The new password is set and every session of the user is revoked.
    #[oai(status = 200)]
    Ok(Json<PasswordResetBody>),
}

crate::operation_errors! {
    /// What `POST /password/forgot` answers besides `202`.
    pub struct ForgotPasswordError {
        400 => [invalid_request] "a malformed body: neither or both of `username` and `email`, or an `email` that is not an address.",
        403 => [cross_site_request],
        408 => [request_timeout],
        413 => [payload_too_large],
        415 => [unsupported_media_type],
        429 => [too_many_attempts] "this client address asked too often (10 per hour by default).",
        500 => [internal_error],
        503 => [storage_unavailable],
    }
}

crate::operation_errors! {
    /// What `POST /password/reset` answers besides `200`.
    pub struct ResetPasswordError {
        400 => [invalid_request, invalid_token, weak_password] "a malformed body; a token that is unknown, used or expired; or a password the policy refuses (the link still works then).",
        403 => [cross_site_request],
        408 => [request_timeout],
        413 => [payload_too_large],
        415 => [unsupported_media_type],
        500 => [internal_error],
        503 => [server_busy, storage_unavailable],
    }
}

#[OpenApi]
impl<S: Store> RecoveryApi<S> {
    /// Ask for a password-reset link
    ///
    /// Give `username` or `email`. The answer is the same `202`, in the
    /// same time, whether or not the account exists or has a verified
    /// address: the lookup and the mail happen after the answer. A link
    /// (valid 30 minutes by default, single use) goes only to a verified
    /// address, at most 3 per account per hour. Errors: `400
    /// invalid_request`, `429 too_many_attempts` (per client address).
    #[oai(
        path = "/password/forgot",
        method = "post",
        operation_id = "forgot_password",
        tag = "ApiTags::Recovery"
    )]
    async fn forgot_password(
        &self,
        body: Json<ForgotPasswordRequest>,
        client: Data<&Client>,
    ) -> Result<ForgotPasswordResponse, ForgotPasswordError> {
        let target = match (body.0.username, body.0.email) {
            (Some(name), None) => Username::parse(name.as_str())
                .ok()
                .map(ResetTarget::Username),
            (None, Some(email)) => Some(ResetTarget::Email(
                EmailAddress::parse(email.as_str()).map_err(|_| {
                    ApiError::InvalidRequest("`email` is not a valid email address".into())
                })?,
            )),
            _ => {
                return Err(ApiError::InvalidRequest(
                    "give exactly one of `username` and `email`".into(),
                )
                .into());
            }
        };
        self.auth
            .charge_reset_request(client.0)
            .await
            .map_err(|error| ApiError::from_auth(error, ApiError::Unauthorized))?;
        // A name that cannot exist answers as an unknown one does.
        match (target, self.background.clone().try_acquire_owned()) {
            (Some(target), Ok(place)) => {
                let auth = self.auth.clone();
                let client = client.0.clone();
                tokio::spawn(async move {
                    let _place = place;
                    if let Err(error) = auth.request_password_reset(target, &client).await {
                        tracing::warn!(
                            error = %crate::error::error_chain(&error),
                            "password reset request not queued"
                        );
                    }
                });
            }
            (Some(_), Err(_)) => {
                tracing::warn!(
                    "password reset lookups at capacity: request answered, not looked up"
                );
            }
            (None, _) => {}
        }
        Ok(ForgotPasswordResponse::Accepted(Json(MessageBody {
            message: FORGOT_MESSAGE.into(),
        })))
    }

    /// Set a new password with a reset link
    ///
    /// Spends the link's token (the built-in page `GET /reset?token=…`
    /// posts it here; opening the page spends nothing). The password policy
    /// applies; a refused password leaves the link usable. Every session of
    /// the user is revoked on every instance, the account's login back-off
    /// is cleared, and a notice is mailed. Errors: `400 invalid_token`
    /// (unknown, used or expired: one code), `400 weak_password`.
    #[oai(
        path = "/password/reset",
        method = "post",
        operation_id = "reset_password",
        tag = "ApiTags::Recovery"
    )]
    async fn reset_password(
        &self,
        body: Json<ResetPasswordRequest>,
        client: Data<&Client>,
    ) -> Result<ResetPasswordResponse, ResetPasswordError> {
        let ResetPasswordRequest {
            token,
            new_password,
        } = body.0;
        let sessions_revoked = self
            .auth
            .reset_password(
                token.as_str(),
                Password::new(new_password.into_inner()),
                client.0,
            )
            .await
            .map_err(|error| ApiError::from_auth(error, ApiError::Unauthorized))?;
        tracing::info!(sessions_revoked, "password reset");
        Ok(ResetPasswordResponse::Ok(Json(PasswordResetBody {
            message: "Password reset".into(),
            sessions_revoked,
        })))
    }
}
