//! `PUT /me/email` and `POST /email/verify`: the account's address and
//! its verification.

use auth_core::{Authenticator, Client, EmailAddress, Password, Store};
use poem::web::Data;
use poem_openapi::{ApiResponse, Object, OpenApi, payload::Json};

use super::{ApiTags, MessageBody, live_session};
use crate::error::ApiError;
use crate::routes::fields::Text;
use crate::security::SessionAuth;

/// The account's address.
#[derive(Debug)]
pub struct EmailApi<S> {
    /// The service.
    pub auth: Authenticator<S>,
}

/// `{"email", "password"}`, the body of `PUT /me/email`.
#[derive(Object)]
pub struct ChangeEmailRequest {
    /// The new address (`local@domain.tld`, at most 254 characters, else
    /// `400 invalid_email`). Unique across accounts without regard to case.
    pub email: Text,
    /// The account's current password, checked like a login's.
    #[oai(write_only)]
    pub password: String,
    /// Required when the account has two-factor authentication on: a
    /// current TOTP code or an unused recovery code (spent by this request).
    /// Ignored otherwise. `null` is as absent.
    #[oai(write_only, nullable)]
    pub code: Option<Text>,
}

impl std::fmt::Debug for ChangeEmailRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChangeEmailRequest")
            .field("email", &self.email)
            .field("password", &"***")
            .field("code", &self.code.as_ref().map(|_| "***"))
            .finish()
    }
}

/// `{"token"}`, the body of `POST /email/verify` (the `token` of the
/// link's query).
#[derive(Object)]
pub struct TokenRequest {
    /// The token from the link (43 characters of base64url).
    pub token: Text,
}

impl std::fmt::Debug for TokenRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenRequest")
            .field("token", &"***")
            .finish()
    }
}

/// Success of `PUT /me/email`.
#[derive(Debug, ApiResponse)]
pub enum ChangeEmailResponse {
    /// The address is stored, unverified, and a verification mail is queued.
    #[oai(status = 202)]
    Accepted(Json<MessageBody>),
}

/// Success of `POST /email/verify`.
#[derive(Debug, ApiResponse)]
pub enum VerifyEmailResponse {
    /// The address is verified.
    #[oai(status = 200)]
    Ok(Json<MessageBody>),
}

crate::operation_errors! {
    /// What `PUT /me/email` answers besides `202`.
    pub struct ChangeEmailError {
        400 => [invalid_request, invalid_email] "a malformed body, or not a valid address.",
        401 => [unauthorized, invalid_credentials, invalid_code] "no live session, the password is wrong, or (with two-factor authentication on) `code` is missing or wrong; wrong ones count toward the account's back-off.",
        403 => [cross_site_request],
        408 => [request_timeout],
        409 => [email_taken] "another account has this address.",
        413 => [payload_too_large],
        415 => [unsupported_media_type],
        429 => [too_many_attempts] "the account's back-off, or more than 5 verification mails this hour.",
        500 => [internal_error],
        503 => [server_busy, storage_unavailable],
    }
}

crate::operation_errors! {
    /// What `POST /email/verify` answers besides `200`.
    pub struct VerifyEmailError {
        400 => [invalid_request, invalid_token] "a malformed body; or a token that is unknown, used, expired or for an address the account no longer has.",
        403 => [cross_site_request],
        408 => [request_timeout],
        413 => [payload_too_large],
        415 => [unsupported_media_type],
        500 => [internal_error],
        503 => [storage_unavailable],
    }
}

#[OpenApi]
impl<S: Store> EmailApi<S> {
    /// Set or change my email address
    ///
    /// Needs the account's password (checked like a login's). The address
    /// is stored unverified and a verification link is mailed to it (valid
    /// 24 hours by default); if the account had a verified address, a
    /// notice goes to that one too. Setting the verified address again
    /// changes nothing; setting the unverified one again sends a new link.
    /// Errors: `400 invalid_email`, `401 invalid_credentials`, `409
    /// email_taken`, `429 too_many_attempts`.
    #[oai(
        path = "/me/email",
        method = "put",
        operation_id = "change_email",
        tag = "ApiTags::Account"
    )]
    async fn change_email(
        &self,
        auth: SessionAuth,
        body: Json<ChangeEmailRequest>,
        client: Data<&Client>,
    ) -> Result<ChangeEmailResponse, ChangeEmailError> {
        let me = live_session(&self.auth, &auth, ApiError::Unauthorized).await?;
        let ChangeEmailRequest {
            email,
            password,
            code,
        } = body.0;
        let email = EmailAddress::parse(email.as_str()).map_err(|_| ApiError::InvalidEmail)?;
        let changed = self
            .auth
            .change_email(
                &me,
                email,
                Password::new(password),
                code.as_ref().map(Text::as_str),
                client.0,
            )
            .await
            .map_err(|error| ApiError::from_auth(error, ApiError::Unauthorized))?;
        if changed {
            tracing::info!(user_id = %me.user.id, "email changed");
        }
        Ok(ChangeEmailResponse::Accepted(Json(MessageBody {
            message: "Verification email sent".into(),
        })))
    }

    /// Verify my email address
    ///
    /// Spends the token of a verification link (the built-in page `GET
    /// /verify?token=…` posts it here; opening the page spends nothing, so
    /// a mail scanner following the link does no harm). Needs no session.
    /// Errors: `400 invalid_token` (unknown, used, expired, or the account's
    /// address changed since: one code, no hint which).
    #[oai(
        path = "/email/verify",
        method = "post",
        operation_id = "verify_email",
        tag = "ApiTags::Recovery"
    )]
    async fn verify_email(
        &self,
        body: Json<TokenRequest>,
        client: Data<&Client>,
    ) -> Result<VerifyEmailResponse, VerifyEmailError> {
        self.auth
            .verify_email(body.0.token.as_str(), client.0)
            .await
            .map_err(|error| ApiError::from_auth(error, ApiError::Unauthorized))?;
        Ok(VerifyEmailResponse::Ok(Json(MessageBody {
            message: "Email verified".into(),
        })))
    }
}
