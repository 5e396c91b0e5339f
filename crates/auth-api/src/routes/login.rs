//! `POST /login`.

use auth_core::{Authenticator, Client, LoginSuccess, Password, Store};
use chrono::{DateTime, Utc};
use poem::http::header::SET_COOKIE;
use poem::web::Data;
use poem_openapi::payload::{Json, Response};
use poem_openapi::{ApiResponse, Object, OpenApi};

use super::{ApiTags, Credentials};
use crate::cookie::CookieSettings;
use crate::error::ApiError;

/// Login.
#[derive(Debug)]
pub struct LoginApi<S> {
    /// The service.
    pub auth: Authenticator<S>,
    /// How the cookies are set.
    pub cookie: CookieSettings,
}

/// `200` body.
#[derive(Debug, Object)]
pub struct LoggedInBody {
    /// Always `Login successful`.
    pub message: String,
    /// The session token: send it as `Authorization: Bearer <token>`, or rely
    /// on the `session` cookie set with this response.
    pub token: String,
    /// When the session ends at the latest (RFC 3339). It ends earlier after
    /// 24 hours without use (by default).
    pub expires_at: DateTime<Utc>,
    /// `true` when the password just used would be refused if it were set
    /// today (shorter than 15 characters, common, or containing the
    /// username): typically an account imported from the old service. The
    /// login succeeded; prompt the user to choose a new password. Always
    /// present; `false` otherwise.
    pub password_change_recommended: bool,
}

/// Success of `/login`.
#[derive(Debug, ApiResponse)]
pub enum LoginResponse {
    /// Logged in; a fresh session.
    #[oai(status = 200)]
    Ok(
        Json<LoggedInBody>,
        /// `session=<token>; HttpOnly; SameSite=Lax; Path=/; Max-Age=<absolute lifetime>` (+ `Secure` when configured).
        /// On a client's first login to the account, a second `Set-Cookie`
        /// follows: `device=<token>; HttpOnly; SameSite=Strict; Path=/login;
        /// Max-Age=<device lifetime>`, which spares the client's later logins
        /// other people's failures (the address budget, the account's back-off).
        #[oai(header = "Set-Cookie")]
        String,
    ),
}

crate::operation_errors! {
    /// What `/login` answers besides `200`: its handler's errors, the body
    /// limits and JSON checks of the middleware, the cross-site check (a
    /// request carrying the `session` cookie), the back-off and the hashing
    /// queue.
    pub struct LoginError {
        400 => [invalid_request] "malformed JSON or a missing or mistyped field.",
        401 => [invalid_credentials, mfa_required]
            "`invalid_credentials`: unknown user or wrong password, the same body in the same \
             time for both. `mfa_required`: the password is right and the account has \
             two-factor authentication on; the body adds `mfa_token`, `methods` and \
             `expires_at`: complete with `POST /login/mfa`.",
        403 => [cross_site_request, account_disabled] "`cross_site_request`: sent by another site with the `session` cookie. `account_disabled`: the account is disabled by an operator (only ever answered after the right credentials).",
        408 => [request_timeout],
        413 => [payload_too_large],
        415 => [unsupported_media_type],
        429 => [too_many_attempts]
            "the back-off of the account, the client address or the device; \
             retry after `Retry-After` seconds.",
        500 => [internal_error],
        503 => [server_busy, storage_unavailable]
            "password hashing at capacity, or the database unreachable; \
             retry after `Retry-After` seconds.",
    }
}

#[OpenApi]
impl<S: Store> LoginApi<S> {
    /// Log in
    ///
    /// Starts a new session (never reusing an old token) and returns its token
    /// in the body and as the `session` cookie. Unknown users and wrong passwords
    /// get the same `401 invalid_credentials`, in the same time. After repeated
    /// failures for an account (by default 5 free, then 1 s doubling to 15 min; at
    /// most 7 attempts of one account evaluated at once) or from one address (by
    /// default a burst of 50, then one per 18 s), `429 too_many_attempts` with
    /// `Retry-After`. A client that presents the `device` cookie a previous login
    /// to this account set is not held back by the address budget or by the
    /// account's back-off; it has its own budget (by default 10 attempts, then
    /// one per 6 minutes, refilled by a success).
    #[oai(
        path = "/login",
        method = "post",
        operation_id = "login",
        tag = "ApiTags::Auth"
    )]
    async fn login(
        &self,
        body: Json<Credentials>,
        client: Data<&Client>,
    ) -> Result<Response<LoginResponse>, LoginError> {
        let Credentials { username, password } = body.0;
        let login = self
            .auth
            .login(&username, Password::new(password), client.0)
            .await
            .map_err(|error| ApiError::from_auth(error, ApiError::Unauthorized))?;
        tracing::info!(user_id = %login.user.id, "login succeeded");
        Ok(logged_in(&self.cookie, &login))
    }
}

/// The answer to a completed login (`/login`, `/login/mfa`): the body and
/// the `session` cookie, and the `device` cookie when one was issued.
pub(super) fn logged_in(cookie: &CookieSettings, login: &LoginSuccess) -> Response<LoginResponse> {
    let session = cookie.session(login.token.as_str());
    let answer = Response::new(LoginResponse::Ok(
        Json(LoggedInBody {
            message: "Login successful".into(),
            token: login.token.as_str().to_owned(),
            expires_at: login.session.expires_at,
            password_change_recommended: login.password_change_recommended,
        }),
        session.clone(),
    ));
    let Some(device) = &login.device else {
        return answer;
    };
    // The wrapper's headers replace the response's own `Set-Cookie`, so
    // both cookies are given here, as two headers.
    answer
        .header(SET_COOKIE, session)
        .header(SET_COOKIE, cookie.device(device))
}
