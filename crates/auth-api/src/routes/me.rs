//! `GET /me`, `POST /me/delete` and `GET /me/events`: the caller's account,
//! its deletion, and its security events.

use auth_core::{Authenticator, Client, MAX_EVENTS_PAGE, Password, SecurityEvent, Store};
use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::Query;
use poem_openapi::{ApiResponse, Object, OpenApi, payload::Json};
use uuid::Uuid;

use super::{ApiTags, MessageBody, live_session};
use crate::cookie::CookieSettings;
use crate::error::ApiError;
use crate::routes::fields::Text;
use crate::security::SessionAuth;

/// Events per page when `limit` is not given: the contract's example.
const DEFAULT_EVENTS_LIMIT: u32 = 50;

// `#[oai(validator(maximum(...)))]` needs a literal: it must stay the core's page size.
const _: () = assert!(MAX_EVENTS_PAGE == 200);

/// The caller's account.
#[derive(Debug)]
pub struct MeApi<S> {
    /// The service.
    pub auth: Authenticator<S>,
    /// How the session cookie is cleared after a deletion.
    pub cookie: CookieSettings,
}

/// `200` body of `GET /me`.
#[derive(Debug, Object)]
pub struct MeBody {
    /// The user's id.
    pub user_id: Uuid,
    /// The username as registered.
    pub username: String,
    /// When the account was registered (RFC 3339).
    pub created_at: DateTime<Utc>,
    /// The account's email address as typed, or `null` (set it with `PUT
    /// /me/email`).
    #[oai(nullable)]
    pub email: Option<String>,
    /// Whether `email` is verified (its verification link was followed).
    /// `false` when there is none. Only a verified address gets reset links.
    pub email_verified: bool,
    /// The account's second factors.
    pub mfa: MfaBody,
}

/// The second factors of an account.
#[derive(Debug, Object)]
pub struct MfaBody {
    /// Whether a TOTP code is required at login.
    pub totp: bool,
    /// How many passkeys are registered (`GET /webauthn/credentials`
    /// lists them). Each logs in on its own; none is asked for after a
    /// password.
    pub passkeys: u32,
    /// How many unused recovery codes are left.
    pub recovery_codes_left: u32,
}

/// `{"password"}`, the body of `POST /me/delete`.
#[derive(Object)]
pub struct DeleteAccountRequest {
    /// The account's current password, checked like a login's: a wrong one
    /// counts toward the account's back-off.
    #[oai(write_only)]
    pub password: String,
    /// Required when the account has two-factor authentication on: a
    /// current TOTP code or an unused recovery code (spent by this request).
    /// Ignored otherwise. `null` is as absent.
    #[oai(write_only, nullable)]
    pub code: Option<Text>,
}

impl std::fmt::Debug for DeleteAccountRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DeleteAccountRequest")
            .field("password", &"***")
            .field("code", &self.code.as_ref().map(|_| "***"))
            .finish()
    }
}

/// One security event.
#[derive(Debug, Object)]
pub struct EventBody {
    /// What happened: `registered`, `login_succeeded`, `login_failed`,
    /// `login_throttled`, `logged_out`, `session_revoked` (one or more of
    /// the user's sessions ended from another session, or all of them by
    /// `/logout/everywhere`), `password_changed`, `password_reset_requested`,
    /// `password_reset`, `email_changed`, `email_verified`. A string, not an enum:
    /// later versions add kinds, and a client should show an unknown one
    /// rather than fail.
    #[oai(rename = "type")]
    pub kind: String,
    /// When it happened (RFC 3339).
    pub at: DateTime<Utc>,
    /// The client address of the request that caused it, or `null`.
    #[oai(nullable)]
    pub ip: Option<String>,
    /// The `User-Agent` of that request (cleaned, at most 256 characters),
    /// or `null`.
    #[oai(nullable)]
    pub user_agent: Option<String>,
}

impl From<SecurityEvent> for EventBody {
    fn from(event: SecurityEvent) -> Self {
        Self {
            kind: event.kind.as_str().to_owned(),
            at: event.at,
            ip: event.client_ip,
            user_agent: event.user_agent.map(|agent| agent.as_str().to_owned()),
        }
    }
}

/// `200` body of `GET /me/events`.
#[derive(Debug, Object)]
pub struct EventsBody {
    /// Newest first.
    pub events: Vec<EventBody>,
}

/// Success of `GET /me`.
#[derive(Debug, ApiResponse)]
pub enum MeResponse {
    /// The caller's account.
    #[oai(status = 200)]
    Ok(Json<MeBody>),
}

/// Success of `POST /me/delete`.
#[derive(Debug, ApiResponse)]
pub enum DeleteAccountResponse {
    /// The account is gone, with its sessions: every token of it now gets
    /// 401, on every instance, and the name can be registered again.
    #[oai(status = 200)]
    Ok(
        Json<MessageBody>,
        /// Clears the `session` cookie.
        #[oai(header = "Set-Cookie")]
        String,
    ),
}

/// Success of `GET /me/events`.
#[derive(Debug, ApiResponse)]
pub enum EventsResponse {
    /// The caller's own security events, newest first.
    #[oai(status = 200)]
    Ok(Json<EventsBody>),
}

fn default_events_limit() -> u32 {
    DEFAULT_EVENTS_LIMIT
}

crate::operation_errors! {
    /// What `GET /me` answers besides `200`: a GET that changes nothing.
    pub struct GetMeError {
        401 => [unauthorized] "no live session (missing, expired or logged out).",
        500 => [internal_error],
        503 => [storage_unavailable] "the database is unreachable; retry after `Retry-After` seconds.",
    }
}

crate::operation_errors! {
    /// What `POST /me/delete` answers besides `200`: the password is checked
    /// like a login's (hashing, the account's back-off); a state change.
    pub struct DeleteAccountError {
        400 => [invalid_request],
        401 => [unauthorized, invalid_credentials, invalid_code] "no live session, the password is wrong, or (with two-factor authentication on) `code` is missing or wrong; wrong ones count toward the account's back-off.",
        403 => [cross_site_request],
        408 => [request_timeout],
        413 => [payload_too_large],
        415 => [unsupported_media_type],
        429 => [too_many_attempts],
        500 => [internal_error],
        503 => [server_busy, storage_unavailable],
    }
}

crate::operation_errors! {
    /// What `GET /me/events` answers besides `200`.
    pub struct ListMyEventsError {
        400 => [invalid_request] "`limit` is not a whole number from 1 to 200.",
        401 => [unauthorized] "no live session (missing, expired or logged out).",
        500 => [internal_error],
        503 => [storage_unavailable] "the database is unreachable; retry after `Retry-After` seconds.",
    }
}

#[OpenApi]
impl<S: Store> MeApi<S> {
    /// Read my account
    ///
    /// The caller's user id, username, registration time, email address and
    /// whether it is verified, and its second factors (`mfa`: TOTP on or
    /// off, passkeys, recovery codes left). `401 unauthorized` without a
    /// live session.
    #[oai(
        path = "/me",
        method = "get",
        operation_id = "get_me",
        tag = "ApiTags::Account"
    )]
    async fn get_me(&self, auth: SessionAuth) -> Result<MeResponse, GetMeError> {
        let me = live_session(&self.auth, &auth, ApiError::Unauthorized).await?;
        let factors = self
            .auth
            .my_second_factors(&me)
            .await
            .map_err(|error| ApiError::from_auth(error, ApiError::Unauthorized))?;
        Ok(MeResponse::Ok(Json(MeBody {
            user_id: *me.user.id.as_uuid(),
            username: me.user.username.as_str().to_owned(),
            created_at: me.user.created_at,
            email: me
                .user
                .email
                .as_ref()
                .map(|email| email.address.as_str().to_owned()),
            email_verified: me.user.email.as_ref().is_some_and(|email| email.verified),
            mfa: MfaBody {
                totp: factors.totp,
                passkeys: u32::try_from(factors.passkeys).unwrap_or(u32::MAX),
                recovery_codes_left: u32::try_from(factors.recovery_codes_left).unwrap_or(u32::MAX),
            },
        })))
    }

    /// Delete my account
    ///
    /// Needs the account's password (checked like a login's). Deletes the
    /// user, all its sessions, device cookies, recorded login failures and
    /// security events, in one transaction; every token of the user is
    /// `401` at once on every instance, and the name can be registered
    /// again. Errors: `401 unauthorized` (no live session), `401
    /// invalid_credentials` (wrong password; counts toward the account's
    /// back-off), `429 too_many_attempts` (the account's back-off, with
    /// `Retry-After`).
    #[oai(
        path = "/me/delete",
        method = "post",
        operation_id = "delete_account",
        tag = "ApiTags::Account"
    )]
    async fn delete_account(
        &self,
        auth: SessionAuth,
        body: Json<DeleteAccountRequest>,
        client: Data<&Client>,
    ) -> Result<DeleteAccountResponse, DeleteAccountError> {
        let me = live_session(&self.auth, &auth, ApiError::Unauthorized).await?;
        self.auth
            .delete_account(
                &me,
                Password::new(body.0.password),
                body.0.code.as_ref().map(Text::as_str),
                client.0,
            )
            .await
            .map_err(|error| ApiError::from_auth(error, ApiError::Unauthorized))?;
        tracing::info!(user_id = %me.user.id, "account deleted");
        Ok(DeleteAccountResponse::Ok(
            Json(MessageBody {
                message: "Account deleted".into(),
            }),
            self.cookie.removal(),
        ))
    }

    /// List my security events
    ///
    /// The caller's own security events, newest first: at most `limit`
    /// (1–200, default 50). Kept for `--event-retention` (90 days by
    /// default). Errors: `400 invalid_request` (a `limit` that is not a
    /// whole number from 1 to 200), `401 unauthorized`.
    #[oai(
        path = "/me/events",
        method = "get",
        operation_id = "list_my_events",
        tag = "ApiTags::Account"
    )]
    async fn list_my_events(
        &self,
        auth: SessionAuth,
        /// How many events, newest first: 1–200.
        #[oai(
            default = "default_events_limit",
            validator(minimum(value = "1"), maximum(value = "200"))
        )]
        limit: Query<u32>,
    ) -> Result<EventsResponse, ListMyEventsError> {
        let me = live_session(&self.auth, &auth, ApiError::Unauthorized).await?;
        let events = self
            .auth
            .events(me.user.id, limit.0)
            .await
            .map_err(|error| ApiError::from_auth(error, ApiError::Unauthorized))?;
        Ok(EventsResponse::Ok(Json(EventsBody {
            events: events.into_iter().map(EventBody::from).collect(),
        })))
    }
}
