//! Second factors: `POST /login/mfa` (a login's second step) and the TOTP
//! routes under `/mfa` (setup, confirm, disable, new recovery codes).

use auth_core::{Authenticator, Client, Password, RecoveryCode, Store};
use poem::web::Data;
use poem_openapi::payload::{Json, Response};
use poem_openapi::{ApiResponse, Object, OpenApi};
use qrcode::QrCode;
use qrcode::render::svg;

use super::login::{LoginResponse, logged_in};
use super::{ApiTags, MessageBody, live_session};
use crate::cookie::CookieSettings;
use crate::error::ApiError;
use crate::routes::fields::Text;
use crate::security::SessionAuth;

/// Second factors.
#[derive(Debug)]
pub struct MfaApi<S> {
    /// The service.
    pub auth: Authenticator<S>,
    /// How the login's cookies are set.
    pub cookie: CookieSettings,
}

/// `{"mfa_token", "code"}`, the body of `POST /login/mfa`.
#[derive(Object)]
pub struct LoginMfaRequest {
    /// The `mfa_token` of the `401 mfa_required` answer.
    #[oai(write_only)]
    pub mfa_token: Text,
    /// A current TOTP code (6 digits, spaces allowed) or an unused recovery
    /// code (`xxxx-xxxx-xxxx-xxxx`, any case).
    #[oai(write_only)]
    pub code: Text,
}

/// `{"password"}`, the body of `POST /mfa/totp/setup`.
#[derive(Object)]
pub struct PasswordRequest {
    /// The account's current password, checked like a login's.
    #[oai(write_only)]
    pub password: String,
}

/// `{"code"}`, the body of `POST /mfa/totp/confirm`.
#[derive(Object)]
pub struct CodeRequest {
    /// The code the authenticator app shows now.
    #[oai(write_only)]
    pub code: Text,
}

/// `{"password", "code"}`, the body of `POST /mfa/totp/disable` and
/// `POST /mfa/recovery-codes`.
#[derive(Object)]
pub struct PasswordAndCodeRequest {
    /// The account's current password, checked like a login's.
    #[oai(write_only)]
    pub password: String,
    /// A current TOTP code or an unused recovery code (spent).
    #[oai(write_only)]
    pub code: Text,
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
    LoginMfaRequest { mfa_token, code },
    PasswordRequest { password },
    CodeRequest { code },
    PasswordAndCodeRequest { password, code },
}

/// `200` body of `POST /mfa/totp/setup`.
#[derive(Object)]
pub struct TotpSetupBody {
    /// The key in base32, for typing into an authenticator app.
    pub secret: String,
    /// `otpauth://totp/<issuer>:<username>?secret=…`, what the QR code holds.
    pub otpauth_uri: String,
    /// The QR code of `otpauth_uri`, as an SVG document.
    pub qr_svg: String,
}

/// `200` body of `POST /mfa/totp/confirm` and `POST /mfa/recovery-codes`.
#[derive(Object)]
pub struct RecoveryCodesBody {
    /// Ten single-use codes, shown this once; each logs in in place of a
    /// TOTP code. Store them offline.
    pub recovery_codes: Vec<String>,
}

// The bodies above carry secrets: no derived `Debug`.
redacted_debug! {
    TotpSetupBody { secret, otpauth_uri, qr_svg },
    RecoveryCodesBody { recovery_codes },
}

/// Success of `POST /mfa/totp/setup`.
#[derive(Debug, ApiResponse)]
pub enum TotpSetupResponse {
    /// A new key, not yet asked for at login: confirm it with a code.
    #[oai(status = 200)]
    Ok(Json<TotpSetupBody>),
}

/// Success of `POST /mfa/totp/confirm` and `POST /mfa/recovery-codes`.
#[derive(Debug, ApiResponse)]
pub enum RecoveryCodesResponse {
    /// The codes, shown once.
    #[oai(status = 200)]
    Ok(Json<RecoveryCodesBody>),
}

/// Success of `POST /mfa/totp/disable`.
#[derive(Debug, ApiResponse)]
pub enum TotpDisableResponse {
    /// `Two-factor authentication disabled`.
    #[oai(status = 200)]
    Ok(Json<MessageBody>),
}

crate::operation_errors! {
    /// What `POST /login/mfa` answers besides `200`.
    pub struct LoginMfaError {
        400 => [invalid_request, invalid_token] "malformed body, or the `mfa_token` is unknown, expired (5 minutes), used, or ended by a password change: log in again.",
        401 => [invalid_code] "wrong, replayed or malformed code; it counts toward the account's back-off like a wrong password. The `mfa_token` stays usable.",
        403 => [cross_site_request, account_disabled] "`cross_site_request`: sent by another site with the `session` cookie. `account_disabled`: the account is disabled by an operator (only ever answered after the right credentials).",
        408 => [request_timeout],
        413 => [payload_too_large],
        415 => [unsupported_media_type],
        429 => [too_many_attempts] "the account's back-off (shared with wrong passwords); retry after `Retry-After` seconds.",
        500 => [internal_error],
        503 => [storage_unavailable],
    }
}

crate::operation_errors! {
    /// What `POST /mfa/totp/setup` answers besides `200`.
    pub struct TotpSetupError {
        400 => [invalid_request],
        401 => [unauthorized, invalid_credentials] "no live session, or the password is wrong (it counts toward the account's back-off).",
        403 => [cross_site_request],
        408 => [request_timeout],
        409 => [mfa_already_enabled],
        413 => [payload_too_large],
        415 => [unsupported_media_type],
        429 => [too_many_attempts],
        500 => [internal_error],
        503 => [server_busy, storage_unavailable],
    }
}

crate::operation_errors! {
    /// What `POST /mfa/totp/confirm` answers besides `200`.
    pub struct TotpConfirmError {
        400 => [invalid_request],
        401 => [unauthorized, invalid_code] "no live session, or the code is not the current one of the new key.",
        403 => [cross_site_request],
        408 => [request_timeout],
        409 => [mfa_already_enabled, mfa_not_enabled] "TOTP is on already, or no setup is pending (`POST /mfa/totp/setup` first).",
        413 => [payload_too_large],
        415 => [unsupported_media_type],
        500 => [internal_error],
        503 => [storage_unavailable],
    }
}

crate::operation_errors! {
    /// What `POST /mfa/totp/disable` and `POST /mfa/recovery-codes` answer
    /// besides `200`.
    pub struct TotpManageError {
        400 => [invalid_request],
        401 => [unauthorized, invalid_credentials, invalid_code] "no live session, the password is wrong, or the code is; wrong ones count toward the account's back-off.",
        403 => [cross_site_request],
        408 => [request_timeout],
        409 => [mfa_not_enabled],
        413 => [payload_too_large],
        415 => [unsupported_media_type],
        429 => [too_many_attempts],
        500 => [internal_error],
        503 => [server_busy, storage_unavailable],
    }
}

fn codes_body(codes: Vec<RecoveryCode>) -> RecoveryCodesResponse {
    RecoveryCodesResponse::Ok(Json(RecoveryCodesBody {
        recovery_codes: codes.iter().map(|code| code.as_str().to_owned()).collect(),
    }))
}

/// The QR code of `uri` as SVG; an empty string if the URI were too long
/// for a QR code (it is about 120 bytes; the limit is near 3 KB).
fn qr_svg(uri: &str) -> String {
    QrCode::new(uri.as_bytes()).map_or_else(
        |_| String::new(),
        |code| {
            code.render::<svg::Color<'_>>()
                .min_dimensions(200, 200)
                .build()
        },
    )
}

fn mapped(error: auth_core::AuthError) -> ApiError {
    ApiError::from_auth(error, ApiError::Unauthorized)
}

#[OpenApi]
impl<S: Store> MfaApi<S> {
    /// Complete a login with a second factor
    ///
    /// After `/login` answered `401 mfa_required`: its `mfa_token` and a
    /// TOTP code or a recovery code. Answers exactly as a successful
    /// `/login` (body and cookies). The token works once and for 5 minutes;
    /// a wrong code leaves it usable but counts toward the account's
    /// back-off, the same budget as wrong passwords.
    #[oai(
        path = "/login/mfa",
        method = "post",
        operation_id = "login_mfa",
        tag = "ApiTags::Auth"
    )]
    async fn login_mfa(
        &self,
        body: Json<LoginMfaRequest>,
        client: Data<&Client>,
    ) -> Result<Response<LoginResponse>, LoginMfaError> {
        let login = self
            .auth
            .login_mfa(body.0.mfa_token.as_str(), body.0.code.as_str(), client.0)
            .await
            .map_err(mapped)?;
        tracing::info!(user_id = %login.user.id, "login succeeded (second factor)");
        Ok(logged_in(&self.cookie, &login))
    }

    /// Start a TOTP setup
    ///
    /// Needs the password. Returns a new key (base32), its `otpauth://` URI
    /// and that URI as a QR code (SVG). Nothing changes at login until
    /// `POST /mfa/totp/confirm` sees a code of this key; a new setup
    /// replaces a pending one.
    #[oai(
        path = "/mfa/totp/setup",
        method = "post",
        operation_id = "totp_setup",
        tag = "ApiTags::Mfa"
    )]
    async fn totp_setup(
        &self,
        auth: SessionAuth,
        body: Json<PasswordRequest>,
        client: Data<&Client>,
    ) -> Result<TotpSetupResponse, TotpSetupError> {
        let me = live_session(&self.auth, &auth, ApiError::Unauthorized).await?;
        let setup = self
            .auth
            .start_totp_setup(&me, Password::new(body.0.password), client.0)
            .await
            .map_err(mapped)?;
        Ok(TotpSetupResponse::Ok(Json(TotpSetupBody {
            secret: setup.secret.to_base32(),
            qr_svg: qr_svg(&setup.otpauth_uri),
            otpauth_uri: setup.otpauth_uri,
        })))
    }

    /// Confirm TOTP and get recovery codes
    ///
    /// With a current code of the pending key, TOTP is on: `/login` then
    /// answers `401 mfa_required`, and the password change, account
    /// deletion and email change need a `code` too. Returns ten recovery
    /// codes, shown once.
    #[oai(
        path = "/mfa/totp/confirm",
        method = "post",
        operation_id = "totp_confirm",
        tag = "ApiTags::Mfa"
    )]
    async fn totp_confirm(
        &self,
        auth: SessionAuth,
        body: Json<CodeRequest>,
        client: Data<&Client>,
    ) -> Result<RecoveryCodesResponse, TotpConfirmError> {
        let me = live_session(&self.auth, &auth, ApiError::Unauthorized).await?;
        let codes = self
            .auth
            .confirm_totp(&me, body.0.code.as_str(), client.0)
            .await
            .map_err(mapped)?;
        tracing::info!(user_id = %me.user.id, "two-factor authentication enabled");
        Ok(codes_body(codes))
    }

    /// Turn TOTP off
    ///
    /// Needs the password and a code (TOTP or recovery). Deletes the key
    /// and the recovery codes; the password alone logs in again.
    #[oai(
        path = "/mfa/totp/disable",
        method = "post",
        operation_id = "totp_disable",
        tag = "ApiTags::Mfa"
    )]
    async fn totp_disable(
        &self,
        auth: SessionAuth,
        body: Json<PasswordAndCodeRequest>,
        client: Data<&Client>,
    ) -> Result<TotpDisableResponse, TotpManageError> {
        let me = live_session(&self.auth, &auth, ApiError::Unauthorized).await?;
        let PasswordAndCodeRequest { password, code } = body.0;
        self.auth
            .disable_totp(&me, Password::new(password), code.as_str(), client.0)
            .await
            .map_err(mapped)?;
        tracing::info!(user_id = %me.user.id, "two-factor authentication disabled");
        Ok(TotpDisableResponse::Ok(Json(MessageBody {
            message: "Two-factor authentication disabled".into(),
        })))
    }

    /// Replace my recovery codes
    ///
    /// Needs the password and a code. Ten new codes, shown once; the old
    /// ones stop working.
    #[oai(
        path = "/mfa/recovery-codes",
        method = "post",
        operation_id = "regenerate_recovery_codes",
        tag = "ApiTags::Mfa"
    )]
    async fn recovery_codes(
        &self,
        auth: SessionAuth,
        body: Json<PasswordAndCodeRequest>,
        client: Data<&Client>,
    ) -> Result<RecoveryCodesResponse, TotpManageError> {
        let me = live_session(&self.auth, &auth, ApiError::Unauthorized).await?;
        let PasswordAndCodeRequest { password, code } = body.0;
        let codes = self
            .auth
            .regenerate_recovery_codes(&me, Password::new(password), code.as_str(), client.0)
            .await
            .map_err(mapped)?;
        Ok(codes_body(codes))
    }
}
