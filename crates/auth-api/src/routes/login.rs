//! `POST /login`.

use auth_core::{Authenticator, Password, Store};
use chrono::{DateTime, Utc};
use poem_openapi::{ApiResponse, Object, OpenApi, payload::Json};

use super::{ApiTags, Credentials};
use poem::web::Data;

use crate::client_ip::ClientIp;
use crate::cookie::CookieSettings;
use crate::error::{ApiError, ErrorResponse};

/// Login.
#[derive(Debug)]
pub struct LoginApi<S> {
    /// The service.
    pub auth: Authenticator<S>,
    /// How the session cookie is set.
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
        #[oai(header = "Set-Cookie")]
        String,
    ),
}

#[OpenApi]
impl<S: Store> LoginApi<S> {
    /// Log in
    ///
    /// Starts a new session (never reusing an old token) and returns its token
    /// in the body and as the `session` cookie. Unknown users and wrong passwords
    /// get the same `401 invalid_credentials`, in the same time. After repeated
    /// failures for an account (by default 5 free, then 1 s doubling to 15 min) or
    /// from one address (by default 50 per 15 min), `429 too_many_attempts` with `Retry-After`.
    #[oai(
        path = "/login",
        method = "post",
        operation_id = "login",
        tag = "ApiTags::Auth"
    )]
    async fn login(
        &self,
        body: Json<Credentials>,
        client: Data<&ClientIp>,
    ) -> Result<LoginResponse, ErrorResponse> {
        let Credentials { username, password } = body.0;
        let login = self
            .auth
            .login(&username, Password::new(password), client.0.0)
            .await
            .map_err(|error| ApiError::from_auth(error, ApiError::Unauthorized))?;
        tracing::info!(user_id = %login.user.id, "login succeeded");
        let cookie = self.cookie.session(login.token.as_str());
        Ok(LoginResponse::Ok(
            Json(LoggedInBody {
                message: "Login successful".into(),
                token: login.token.as_str().to_owned(),
                expires_at: login.session.expires_at,
                password_change_recommended: login.password_change_recommended,
            }),
            cookie,
        ))
    }
}
