//! `GET /protected`.

use auth_core::{Authenticator, Store};
use poem_openapi::{ApiResponse, Object, OpenApi, payload::Json};
use uuid::Uuid;

use super::ApiTags;
use crate::error::ApiError;
use crate::security::SessionAuth;

/// A route that needs a session.
#[derive(Debug)]
pub struct ProtectedApi<S> {
    /// The service.
    pub auth: Authenticator<S>,
}

/// `200` body.
#[derive(Debug, Object)]
pub struct WelcomeBody {
    /// `Welcome, <username>!`
    pub message: String,
    /// The user's id.
    pub user_id: Uuid,
    /// The username as registered.
    pub username: String,
}

/// Success of `/protected`.
#[derive(Debug, ApiResponse)]
pub enum ProtectedResponse {
    /// The session is valid.
    #[oai(status = 200)]
    Ok(Json<WelcomeBody>),
}

crate::operation_errors! {
    /// What `/protected` answers besides `200`: a GET that changes nothing,
    /// so only the session and the store.
    pub struct ProtectedError {
        401 => [unauthorized] "no live session (missing, expired or logged out).",
        500 => [internal_error],
        503 => [storage_unavailable] "the database is unreachable; retry after `Retry-After` seconds.",
    }
}

#[OpenApi]
impl<S: Store> ProtectedApi<S> {
    /// Reach a protected route
    ///
    /// Answers with the session's user. `401 unauthorized` without a live
    /// session (missing, expired or logged out).
    #[oai(
        path = "/protected",
        method = "get",
        operation_id = "protected",
        tag = "ApiTags::Session"
    )]
    async fn protected(&self, auth: SessionAuth) -> Result<ProtectedResponse, ProtectedError> {
        let me = self
            .auth
            .authenticate(auth.token())
            .await
            .map_err(|error| ApiError::from_auth(error, ApiError::Unauthorized))?;
        let username = me.user.username.as_str().to_owned();
        Ok(ProtectedResponse::Ok(Json(WelcomeBody {
            message: format!("Welcome, {username}!"),
            user_id: *me.user.id.as_uuid(),
            username,
        })))
    }
}
