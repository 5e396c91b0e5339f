//! `GET /sessions`, `DELETE /sessions/{id}`, `POST /sessions/revoke-others`
//! and `POST /logout/everywhere`: the caller's sessions, listed by their
//! public handle and ended one, the others, or all at once.

use auth_core::{Authenticator, Client, Session, SessionHandle, SessionId, Store};
use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::Path;
use poem_openapi::{ApiResponse, Object, OpenApi, payload::Json};
use uuid::Uuid;

use super::{ApiTags, MessageBody, live_session};
use crate::cookie::CookieSettings;
use crate::error::ApiError;
use crate::security::SessionAuth;

/// The caller's sessions.
#[derive(Debug)]
pub struct SessionsApi<S> {
    /// The service.
    pub auth: Authenticator<S>,
    /// How the session cookie is cleared when the caller's own session ends.
    pub cookie: CookieSettings,
}

/// One session of the caller.
#[derive(Debug, Object)]
pub struct SessionBody {
    /// The session's public id, for `DELETE /sessions/{id}`: a UUID derived
    /// one way from the session's stored id. It is neither the token nor
    /// its hash, and holding it lets nobody act as the session.
    pub id: Uuid,
    /// When the session started (its login).
    pub created_at: DateTime<Utc>,
    /// When it was last used. Written at most once a minute, so it may be
    /// up to a minute behind.
    pub last_seen_at: DateTime<Utc>,
    /// When it ends at the latest, however much it is used.
    pub expires_at: DateTime<Utc>,
    /// When it ends if it is not used before; each use moves it forward.
    pub idle_expires_at: DateTime<Utc>,
    /// The `User-Agent` of the login that started it (cleaned, at most 256
    /// characters), or `null` if it sent none.
    #[oai(nullable)]
    pub user_agent: Option<String>,
    /// The client address of that login, or `null` when unknown.
    #[oai(nullable)]
    pub ip: Option<String>,
    /// `true` for the session this request was made with.
    pub current: bool,
}

impl SessionBody {
    fn new(session: Session, current: &SessionId) -> Self {
        Self {
            id: *session.id.handle().as_uuid(),
            created_at: session.created_at,
            last_seen_at: session.last_seen_at,
            expires_at: session.expires_at,
            idle_expires_at: session.idle_expires_at,
            user_agent: session.user_agent.map(|agent| agent.as_str().to_owned()),
            ip: session.client_ip,
            current: session.id == *current,
        }
    }
}

/// `200` body of `GET /sessions`.
#[derive(Debug, Object)]
pub struct SessionsBody {
    /// The caller's live sessions, newest first (by start).
    pub sessions: Vec<SessionBody>,
}

/// `200` body of `POST /sessions/revoke-others`.
#[derive(Debug, Object)]
pub struct RevokedBody {
    /// How many sessions ended.
    pub revoked: u64,
}

/// `200` body of `POST /logout/everywhere`.
#[derive(Debug, Object)]
pub struct LoggedOutEverywhereBody {
    /// Always `Logged out everywhere`.
    pub message: String,
    /// How many sessions ended, the caller's included.
    pub revoked: u64,
}

/// Success of `GET /sessions`.
#[derive(Debug, ApiResponse)]
pub enum SessionsResponse {
    /// The caller's live sessions.
    #[oai(status = 200)]
    Ok(Json<SessionsBody>),
}

/// Success of `DELETE /sessions/{id}`.
#[derive(Debug, ApiResponse)]
pub enum RevokeSessionResponse {
    /// The session is revoked on the server: its token now gets 401, on
    /// every instance.
    #[oai(status = 200)]
    Ok(
        Json<MessageBody>,
        /// Only when the revoked session is the caller's own: clears the
        /// `session` cookie.
        #[oai(header = "Set-Cookie")]
        Option<String>,
    ),
}

/// Success of `POST /sessions/revoke-others`.
#[derive(Debug, ApiResponse)]
pub enum RevokeOthersResponse {
    /// Every other session of the caller is revoked; this one stays.
    #[oai(status = 200)]
    Ok(Json<RevokedBody>),
}

/// Success of `POST /logout/everywhere`.
#[derive(Debug, ApiResponse)]
pub enum LogoutEverywhereResponse {
    /// Every session of the caller is revoked, this one included.
    #[oai(status = 200)]
    Ok(
        Json<LoggedOutEverywhereBody>,
        /// Clears the `session` cookie.
        #[oai(header = "Set-Cookie")]
        String,
    ),
}

crate::operation_errors! {
    /// What `GET /sessions` answers besides `200`.
    pub struct ListSessionsError {
        401 => [unauthorized] "no live session (missing, expired or logged out).",
        500 => [internal_error],
        503 => [storage_unavailable] "the database is unreachable; retry after `Retry-After` seconds.",
    }
}

crate::operation_errors! {
    /// What `DELETE /sessions/{id}` answers besides `200`: a state change;
    /// a DELETE's body is read by the body limit if one is sent.
    pub struct RevokeSessionError {
        400 => [invalid_request] "a request body was sent and could not be read.",
        401 => [unauthorized] "no live session (missing, expired or logged out).",
        403 => [cross_site_request],
        404 => [session_not_found] "you have no live session with that id (unknown, ended, another user's, or not a UUID).",
        408 => [request_timeout],
        413 => [payload_too_large],
        500 => [internal_error],
        503 => [storage_unavailable] "the database is unreachable; retry after `Retry-After` seconds.",
    }
}

crate::operation_errors! {
    /// What `POST /sessions/revoke-others` answers besides `200`.
    pub struct RevokeOtherSessionsError {
        400 => [invalid_request] "a request body was sent and could not be read.",
        401 => [unauthorized] "no live session (missing, expired or logged out).",
        403 => [cross_site_request],
        408 => [request_timeout],
        413 => [payload_too_large],
        500 => [internal_error],
        503 => [storage_unavailable] "the database is unreachable; retry after `Retry-After` seconds.",
    }
}

crate::operation_errors! {
    /// What `POST /logout/everywhere` answers besides `200`.
    pub struct LogoutEverywhereError {
        400 => [invalid_request] "a request body was sent and could not be read.",
        401 => [not_logged_in] "no live session (missing, expired or logged out).",
        403 => [cross_site_request],
        408 => [request_timeout],
        413 => [payload_too_large],
        500 => [internal_error],
        503 => [storage_unavailable] "the database is unreachable; retry after `Retry-After` seconds.",
    }
}

#[OpenApi]
impl<S: Store> SessionsApi<S> {
    /// List my sessions
    ///
    /// The caller's live sessions, newest first, each with its public `id`,
    /// times, user agent and address; `current` marks the one this request
    /// used. `401 unauthorized` without a live session.
    #[oai(
        path = "/sessions",
        method = "get",
        operation_id = "list_sessions",
        tag = "ApiTags::Account"
    )]
    async fn list_sessions(
        &self,
        auth: SessionAuth,
    ) -> Result<SessionsResponse, ListSessionsError> {
        let me = live_session(&self.auth, &auth, ApiError::Unauthorized).await?;
        let sessions = self
            .auth
            .my_sessions(&me)
            .await
            .map_err(|error| ApiError::from_auth(error, ApiError::Unauthorized))?;
        Ok(SessionsResponse::Ok(Json(SessionsBody {
            sessions: sessions
                .into_iter()
                .map(|session| SessionBody::new(session, &me.session.id))
                .collect(),
        })))
    }

    /// Revoke one of my sessions
    ///
    /// Ends the caller's session with this `id` (from `GET /sessions`) on
    /// every instance; it may be the caller's own, and then the `session`
    /// cookie is cleared too. Errors: `401 unauthorized` (no live session),
    /// `404 session_not_found` for any `id` that is not one of the caller's
    /// live sessions: unknown, already ended, not a UUID, or another
    /// user's (whose existence is never revealed).
    #[oai(
        path = "/sessions/:id",
        method = "delete",
        operation_id = "revoke_session",
        tag = "ApiTags::Account"
    )]
    async fn revoke_session(
        &self,
        auth: SessionAuth,
        /// The session's `id`, as `GET /sessions` lists it.
        id: Path<String>,
        client: Data<&Client>,
    ) -> Result<RevokeSessionResponse, RevokeSessionError> {
        let me = live_session(&self.auth, &auth, ApiError::Unauthorized).await?;
        // Read as a string so that a malformed id gets the same 404 as an
        // unknown one, not a parse error: one answer for "not yours".
        let handle = SessionHandle::parse(&id.0).ok_or(ApiError::SessionNotFound)?;
        let was_mine = self
            .auth
            .revoke_session(&me, handle, client.0)
            .await
            .map_err(|error| ApiError::from_auth(error, ApiError::Unauthorized))?;
        tracing::info!(user_id = %me.user.id, current = was_mine, "session revoked");
        Ok(RevokeSessionResponse::Ok(
            Json(MessageBody {
                message: "Session revoked".into(),
            }),
            was_mine.then(|| self.cookie.removal()),
        ))
    }

    /// Revoke my other sessions
    ///
    /// Ends every session of the caller but the one this request used, on
    /// every instance, and says how many. `401 unauthorized` without a
    /// live session.
    #[oai(
        path = "/sessions/revoke-others",
        method = "post",
        operation_id = "revoke_other_sessions",
        tag = "ApiTags::Account"
    )]
    async fn revoke_other_sessions(
        &self,
        auth: SessionAuth,
        client: Data<&Client>,
    ) -> Result<RevokeOthersResponse, RevokeOtherSessionsError> {
        let me = live_session(&self.auth, &auth, ApiError::Unauthorized).await?;
        let revoked = self
            .auth
            .revoke_other_sessions(&me, client.0)
            .await
            .map_err(|error| ApiError::from_auth(error, ApiError::Unauthorized))?;
        tracing::info!(user_id = %me.user.id, revoked, "other sessions revoked");
        Ok(RevokeOthersResponse::Ok(Json(RevokedBody { revoked })))
    }

    /// Log out everywhere
    ///
    /// Ends every session of the caller, this one included, on every
    /// instance, clears the `session` cookie and says how many ended. `401
    /// not_logged_in` without a live session (as `POST /logout`).
    #[oai(
        path = "/logout/everywhere",
        method = "post",
        operation_id = "logout_everywhere",
        tag = "ApiTags::Account"
    )]
    async fn logout_everywhere(
        &self,
        auth: SessionAuth,
        client: Data<&Client>,
    ) -> Result<LogoutEverywhereResponse, LogoutEverywhereError> {
        let me = live_session(&self.auth, &auth, ApiError::NotLoggedIn).await?;
        let revoked = self
            .auth
            .logout_everywhere(me.user.id, client.0)
            .await
            .map_err(|error| ApiError::from_auth(error, ApiError::NotLoggedIn))?;
        tracing::info!(user_id = %me.user.id, revoked, "logged out everywhere");
        Ok(LogoutEverywhereResponse::Ok(
            Json(LoggedOutEverywhereBody {
                message: "Logged out everywhere".into(),
                revoked,
            }),
            self.cookie.removal(),
        ))
    }
}
