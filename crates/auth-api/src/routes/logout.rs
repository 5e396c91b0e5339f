//! `POST /logout` and the deprecated `GET /logout`.

use auth_core::{Authenticator, Client, Store};
use poem::web::Data;
use poem_openapi::{ApiResponse, OpenApi, payload::Json};

use super::{ApiTags, MessageBody};
use crate::cookie::CookieSettings;
use crate::error::{ApiError, ErrorResponse};
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

impl<S: Store> LogoutApi<S> {
    async fn revoke(
        &self,
        auth: SessionAuth,
        client: &Client,
    ) -> Result<LogoutResponse, ErrorResponse> {
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
    ) -> Result<LogoutResponse, ErrorResponse> {
        self.revoke(auth, client.0).await
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
    ) -> Result<LogoutResponse, ErrorResponse> {
        self.revoke(auth, client.0).await
    }
}
