//! `GET /admin/events`: the audit trail, filtered and paged.

use auth_core::{AdminStore, Authenticator, EventKind, EventQuery, EventSeq, LoggedEvent, UserId};
use chrono::{DateTime, Utc};
use poem_openapi::param::Query;
use poem_openapi::{ApiResponse, Object, OpenApi, payload::Json};
use uuid::Uuid;

use super::{AdminKeyAuth, AdminTags, authorize, decode_cursor, encode_cursor};
use crate::error::ApiError;

/// Events per page when `limit` is not given.
const DEFAULT_LIMIT: u32 = 50;

fn default_limit() -> u32 {
    DEFAULT_LIMIT
}

/// The audit trail.
#[derive(Debug)]
pub struct AdminEventsApi<S> {
    /// The service.
    pub auth: Authenticator<S>,
}

/// One event of the audit trail.
#[derive(Debug, Object)]
pub struct AdminEventBody {
    /// What happened, as `GET /me/events` names it, plus the operators'
    /// kinds: `login_disabled`, `account_disabled`, `account_enabled`,
    /// `account_deleted`, `backoff_cleared`, `admin_key_created`,
    /// `admin_key_revoked`. A string: later versions add kinds.
    #[oai(rename = "type")]
    pub kind: String,
    /// When it happened (RFC 3339).
    pub at: DateTime<Utc>,
    /// Whose account, or `null` (an unknown name's failed login, an admin key's creation).
    #[oai(nullable)]
    pub user_id: Option<Uuid>,
    /// Who acted for someone else: `admin_key:<name>` or `operator` (the
    /// command line); `null` when the account's user or an anonymous client did.
    #[oai(nullable)]
    pub actor: Option<String>,
    /// The client address of the request that caused it, or `null`.
    #[oai(nullable)]
    pub ip: Option<String>,
    /// The `User-Agent` of that request, or `null`.
    #[oai(nullable)]
    pub user_agent: Option<String>,
    /// The request's `X-Request-Id`, to find it in the logs, or `null`.
    #[oai(nullable)]
    pub request_id: Option<String>,
}

impl From<LoggedEvent> for AdminEventBody {
    fn from(logged: LoggedEvent) -> Self {
        let event = logged.event;
        Self {
            kind: event.kind.as_str().to_owned(),
            at: event.at,
            user_id: event.user_id.map(|id| *id.as_uuid()),
            actor: event.actor.map(|actor| actor.as_str().to_owned()),
            ip: event.client_ip,
            user_agent: event.user_agent.map(|agent| agent.as_str().to_owned()),
            request_id: event.request_id,
        }
    }
}

/// `200` body of `GET /admin/events`.
#[derive(Debug, Object)]
pub struct EventsPageBody {
    /// The events, the most recent first.
    pub events: Vec<AdminEventBody>,
    /// Pass as `cursor` for the next (older) page; `null` on the last one.
    /// Events recorded meanwhile do not shift the pages.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

/// Success of `GET /admin/events`.
#[derive(Debug, ApiResponse)]
pub enum EventsPageResponse {
    /// One page of events.
    #[oai(status = 200)]
    Ok(Json<EventsPageBody>),
}

crate::operation_errors! {
    /// What `GET /admin/events` answers besides `200`.
    pub struct AdminListEventsError {
        400 => [invalid_request] "an unknown `type`, a `user_id` that is not a UUID, a `since` that is not RFC 3339, a `limit` that is not a whole number from 1 to 200, or a `cursor` this API did not give.",
        401 => [unauthorized] "no admin key, or one that is unknown or revoked.",
        500 => [internal_error],
        503 => [storage_unavailable] "the database is unreachable; retry after `Retry-After` seconds.",
    }
}

fn parse_kind(name: &str) -> Result<EventKind, ApiError> {
    EventKind::parse(name).ok_or_else(|| {
        let known: Vec<&str> = EventKind::ALL.iter().map(|kind| kind.as_str()).collect();
        ApiError::InvalidRequest(format!("`type` must be one of: {}", known.join(", ")))
    })
}

fn parse_cursor(cursor: &str) -> Result<EventSeq, ApiError> {
    decode_cursor(cursor)?
        .parse::<i64>()
        .map(EventSeq::new)
        .map_err(|_| {
            ApiError::InvalidRequest(
                "`cursor` is not one this API gave: pass `next_cursor` of the previous page as is"
                    .into(),
            )
        })
}

#[OpenApi]
impl<S: AdminStore> AdminEventsApi<S> {
    /// List events
    ///
    /// The security events of every account, the most recent first,
    /// `limit` per page (1–200, default 50), filtered by account
    /// (`user_id`), kind (`type`) and time (`since`, inclusive). Admin
    /// actions are events too, their `actor` naming the key. Follow
    /// `next_cursor` (with the same filters) for older events.
    #[oai(
        path = "/admin/events",
        method = "get",
        operation_id = "admin_list_events",
        tag = "AdminTags::Events"
    )]
    async fn list_events(
        &self,
        key: AdminKeyAuth,
        /// Only this account's events.
        user_id: Query<Option<Uuid>>,
        /// Only events of this kind (`login_failed`, `account_disabled`, …).
        #[oai(name = "type")]
        kind: Query<Option<String>>,
        /// Only events at or after this time (RFC 3339).
        since: Query<Option<DateTime<Utc>>>,
        /// Events per page: 1–200.
        #[oai(
            default = "default_limit",
            validator(minimum(value = "1"), maximum(value = "200"))
        )]
        limit: Query<u32>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<EventsPageResponse, AdminListEventsError> {
        authorize(&self.auth, &key).await?;
        let query = EventQuery {
            user_id: user_id.0.map(UserId::from_uuid),
            kind: kind.0.as_deref().map(parse_kind).transpose()?,
            since: since.0,
            before: cursor.0.as_deref().map(parse_cursor).transpose()?,
        };
        let page = self
            .auth
            .search_events(query, limit.0)
            .await
            .map_err(|error| ApiError::from_auth(error, ApiError::Unauthorized))?;
        Ok(EventsPageResponse::Ok(Json(EventsPageBody {
            events: page.events.into_iter().map(AdminEventBody::from).collect(),
            next_cursor: page.next.map(|seq| encode_cursor(&seq.get().to_string())),
        })))
    }
}
