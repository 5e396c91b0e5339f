//! `POST /logout` and the deprecated `GET /logout`.

use auth_core::{Authenticator, Client, Store};
use poem::web::Data;
use poem_openapi::{ApiResponse, OpenApi, payload::Json};

use super::{ApiTags, MessageBody};
use crate::cookie::CookieSettings;
use crate::error::ApiError;
use crate::security::SessionAuth;

/// Logout.
#[derive(Debug)]
pub struct LogoutApi<S> {
    /// The service.
    pub auth: Authenticator<S>,
    /// How the session cookie is cleared.
    pub cookie: CookieSettings,
}

/// Success of `/logout`.
#[derive(Debug, ApiResponse)]
pub enum LogoutResponse {
    /// The session is revoked on the server; any copy of its token now gets 401.
    #[oai(status = 200)]
    Ok(
        Json<MessageBody>,
        /// Clears the `session` cookie.
        #[oai(header = "Set-Cookie")]
        String,
    ),
}

crate::operation_errors! {
    /// What `POST /logout` answers besides `200`. It declares no body, but
    /// the body limit reads whatever is sent (`400` for an unreadable one,
    /// `408`, `413`); it is a state change, so the cross-site check applies.
    pub struct LogoutError {
        400 => [invalid_request] "a request body was sent and could not be read.",
        401 => [not_logged_in] "no live session (missing, expired or logged out).",
        403 => [cross_site_request],
        408 => [request_timeout],
        413 => [payload_too_large],
        500 => [internal_error],
        503 => [storage_unavailable] "the database is unreachable; retry after `Retry-After` seconds.",
    }
}

crate::operation_errors! {
    /// What the deprecated `GET /logout` answers besides `200`: a GET's
    /// body is never read, so only the session, the cross-site check (it
    /// changes state) and the store.
    pub struct LogoutGetError {
        401 => [not_logged_in] "no live session (missing, expired or logged out).",
        403 => [cross_site_request],
        500 => [internal_error],
        503 => [storage_unavailable] "the database is unreachable; retry after `Retry-After` seconds.",
    }
}

impl<S: Store> LogoutApi<S> {
    async fn revoke(&self, auth: SessionAuth, client: &Client) -> Result<LogoutResponse, ApiError> {
        let ended = self
            .auth
            .logout(auth.token(), client)
            .await
            .map_err(|error| ApiError::from_auth(error, ApiError::NotLoggedIn))?;
        tracing::info!(user_id = %ended.user.id, "logged out");
        Ok(LogoutResponse::Ok(
            Json(MessageBody {
                message: "Logout successful".into(),
            }),
            self.cookie.removal(),
        ))
    }
}

#[OpenApi]
impl<S: Store> LogoutApi<S> {
    /// Log out
    ///
    /// Revokes the current session in the store (cookie or bearer token).
    /// `401 not_logged_in` without a live session.
    #[oai(
        path = "/logout",
        method = "post",
        operation_id = "logout",
        tag = "ApiTags::Auth"
    )]
    async fn logout(
        &self,
        auth: SessionAuth,
        client: Data<&Client>,
    ) -> Result<LogoutResponse, LogoutError> {
        Ok(self.revoke(auth, client.0).await?)
    }

    /// Log out (deprecated GET form)
    ///
    /// Same as `POST /logout`; kept for clients of the original service.
    /// Use `POST /logout`: a GET that changes state can be triggered by a link.
    #[oai(
        path = "/logout",
        method = "get",
        operation_id = "logout_get",
        tag = "ApiTags::Auth",
        deprecated
    )]
    async fn logout_get(
        &self,
        auth: SessionAuth,
        client: Data<&Client>,
    ) -> Result<LogoutResponse, LogoutGetError> {
        Ok(self.revoke(auth, client.0).await?)
    }
}
