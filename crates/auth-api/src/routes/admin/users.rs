//! `GET /admin/users`, `GET /admin/users/{id}` and the actions on one
//! account: disable, enable, delete, revoke its sessions, clear its
//! back-off, mail it a reset link.

use auth_core::{AdminStore, Authenticator, Client, User, UserOverview};
use chrono::{DateTime, Utc};
use poem::web::Data;
use poem_openapi::param::{Path, Query};
use poem_openapi::{ApiResponse, Object, OpenApi, payload::Json};
use uuid::Uuid;

use super::{AdminKeyAuth, AdminTags, authorize, decode_cursor, encode_cursor, user_id};
use crate::error::ApiError;
use crate::routes::MessageBody;
use crate::routes::me::MfaBody;

/// Users per page when `limit` is not given.
const DEFAULT_LIMIT: u32 = 50;

// `#[oai(validator(maximum(...)))]` needs a literal: it must stay the core's page size.
const _: () = assert!(auth_core::MAX_ADMIN_PAGE == 200);

fn default_limit() -> u32 {
    DEFAULT_LIMIT
}

/// The admin routes on users.
#[derive(Debug)]
pub struct AdminUsersApi<S> {
    /// The service.
    pub auth: Authenticator<S>,
}

/// An account as operators see it (never its password hash).
#[derive(Debug, Object)]
pub struct AdminUserBody {
    /// The account's id.
    pub id: Uuid,
    /// The username as registered.
    pub username: String,
    /// The email address as typed, or `null`.
    #[oai(nullable)]
    pub email: Option<String>,
    /// Whether `email` is verified (`false` without one).
    pub email_verified: bool,
    /// Registration time.
    pub created_at: DateTime<Utc>,
    /// Whether an operator disabled the account: its logins get `403
    /// account_disabled` after the right password.
    pub disabled: bool,
    /// When it was disabled, or `null`.
    #[oai(nullable)]
    pub disabled_at: Option<DateTime<Utc>>,
}

impl From<User> for AdminUserBody {
    fn from(user: User) -> Self {
        Self {
            id: *user.id.as_uuid(),
            username: user.username.as_str().to_owned(),
            email_verified: user.email.as_ref().is_some_and(|email| email.verified),
            email: user.email.map(|email| email.address.as_str().to_owned()),
            created_at: user.created_at,
            disabled: user.disabled_at.is_some(),
            disabled_at: user.disabled_at,
        }
    }
}

/// `200` body of `GET /admin/users`.
#[derive(Debug, Object)]
pub struct UsersPageBody {
    /// The users found, by canonical username.
    pub users: Vec<AdminUserBody>,
    /// Pass as `cursor` for the next page; `null` on the last one. Pages
    /// hold still while users register: none is listed twice or skipped.
    #[oai(nullable)]
    pub next_cursor: Option<String>,
}

/// An account's login back-off.
#[derive(Debug, Object)]
pub struct BackoffBody {
    /// Failed logins counted against the account now.
    pub failures: u32,
    /// Until when its logins are refused (`429`), or `null`.
    #[oai(nullable)]
    pub locked_until: Option<DateTime<Utc>>,
}

/// `200` body of `GET /admin/users/{id}`.
#[derive(Debug, Object)]
pub struct UserDetailBody {
    /// The account.
    pub user: AdminUserBody,
    /// Its live sessions.
    pub sessions: u64,
    /// Its second factors.
    pub factors: MfaBody,
    /// Its login back-off.
    pub backoff: BackoffBody,
}

impl From<UserOverview> for UserDetailBody {
    fn from(overview: UserOverview) -> Self {
        let factors = overview.factors;
        Self {
            user: overview.user.into(),
            sessions: overview.sessions,
            factors: MfaBody {
                totp: factors.totp,
                passkeys: u32::try_from(factors.passkeys).unwrap_or(u32::MAX),
                recovery_codes_left: u32::try_from(factors.recovery_codes_left).unwrap_or(u32::MAX),
            },
            backoff: BackoffBody {
                failures: overview.backoff.failures,
                locked_until: overview.backoff.locked_until,
            },
        }
    }
}

/// `200` body of `POST /admin/users/{id}/disable`.
#[derive(Debug, Object)]
pub struct DisabledBody {
    /// The account, now disabled.
    pub user: AdminUserBody,
    /// How many of its sessions ended.
    pub revoked: u64,
}

/// `200` body of `POST /admin/users/{id}/revoke-sessions`.
#[derive(Debug, Object)]
pub struct AdminRevokedBody {
    /// How many sessions ended.
    pub revoked: u64,
}

/// `200` body of `POST /admin/users/{id}/clear-backoff`.
#[derive(Debug, Object)]
pub struct ClearedBody {
    /// How many recorded failed logins were removed.
    pub cleared: u64,
}

/// Success of `GET /admin/users`.
#[derive(Debug, ApiResponse)]
pub enum UsersPageResponse {
    /// One page of users.
    #[oai(status = 200)]
    Ok(Json<UsersPageBody>),
}

/// Success of `GET /admin/users/{id}`.
#[derive(Debug, ApiResponse)]
pub enum UserDetailResponse {
    /// The account, its sessions, factors and back-off.
    #[oai(status = 200)]
    Ok(Json<UserDetailBody>),
}

/// Success of `POST /admin/users/{id}/disable`.
#[derive(Debug, ApiResponse)]
pub enum DisableUserResponse {
    /// Disabled (or already so); every session ended on every instance.
    #[oai(status = 200)]
    Ok(Json<DisabledBody>),
}

/// Success of `POST /admin/users/{id}/enable`.
#[derive(Debug, ApiResponse)]
pub enum EnableUserResponse {
    /// Enabled (or already so).
    #[oai(status = 200)]
    Ok(Json<AdminUserBody>),
}

/// Success of `DELETE /admin/users/{id}`.
#[derive(Debug, ApiResponse)]
pub enum DeleteUserResponse {
    /// The account and everything tied to it are gone; the name is free.
    #[oai(status = 200)]
    Ok(Json<MessageBody>),
}

/// Success of `POST /admin/users/{id}/revoke-sessions`.
#[derive(Debug, ApiResponse)]
pub enum AdminRevokeSessionsResponse {
    /// Every session of the account ended, on every instance.
    #[oai(status = 200)]
    Ok(Json<AdminRevokedBody>),
}

/// Success of `POST /admin/users/{id}/clear-backoff`.
#[derive(Debug, ApiResponse)]
pub enum ClearBackoffResponse {
    /// The account's failed logins are forgotten; it may log in at once.
    #[oai(status = 200)]
    Ok(Json<ClearedBody>),
}

/// Success of `POST /admin/users/{id}/password-reset`.
#[derive(Debug, ApiResponse)]
pub enum AdminPasswordResetResponse {
    /// A reset link is queued for the account's verified address.
    #[oai(status = 202)]
    Accepted(Json<MessageBody>),
}

crate::operation_errors! {
    /// What `GET /admin/users` answers besides `200`.
    pub struct AdminSearchUsersError {
        400 => [invalid_request] "a `limit` that is not a whole number from 1 to 200, or a `cursor` this API did not give.",
        401 => [unauthorized] "no admin key, or one that is unknown or revoked.",
        500 => [internal_error],
        503 => [storage_unavailable] "the database is unreachable; retry after `Retry-After` seconds.",
    }
}

crate::operation_errors! {
    /// What `GET /admin/users/{id}` answers besides `200`.
    pub struct AdminGetUserError {
        401 => [unauthorized] "no admin key, or one that is unknown or revoked.",
        404 => [not_found] "no user with that id (or not a UUID).",
        500 => [internal_error],
        503 => [storage_unavailable] "the database is unreachable; retry after `Retry-After` seconds.",
    }
}

crate::operation_errors! {
    /// What the actions on one user answer besides success.
    pub struct AdminUserActionError {
        400 => [invalid_request] "a request body was sent and could not be read.",
        401 => [unauthorized] "no admin key, or one that is unknown or revoked.",
        404 => [not_found] "no user with that id (or not a UUID).",
        408 => [request_timeout],
        413 => [payload_too_large],
        500 => [internal_error],
        503 => [storage_unavailable] "the database is unreachable; retry after `Retry-After` seconds.",
    }
}

crate::operation_errors! {
    /// What `POST /admin/users/{id}/password-reset` answers besides `202`.
    pub struct AdminPasswordResetError {
        400 => [invalid_request] "a request body was sent and could not be read.",
        401 => [unauthorized] "no admin key, or one that is unknown or revoked.",
        404 => [not_found] "no user with that id (or not a UUID).",
        408 => [request_timeout],
        413 => [payload_too_large],
        409 => [no_verified_email] "the account has no verified email address: nothing can be sent.",
        500 => [internal_error],
        503 => [storage_unavailable] "the database is unreachable; retry after `Retry-After` seconds.",
    }
}

fn failed(error: auth_core::AuthError) -> ApiError {
    ApiError::from_auth(error, ApiError::Unauthorized)
}

#[OpenApi]
impl<S: AdminStore> AdminUsersApi<S> {
    /// Search users
    ///
    /// The accounts whose username or email address contains `query`
    /// (without regard to case or Unicode width; empty or absent: every
    /// account), by canonical username, `limit` per page (1–200, default
    /// 50). Follow `next_cursor` for the next page.
    #[oai(
        path = "/admin/users",
        method = "get",
        operation_id = "admin_search_users",
        tag = "AdminTags::Users"
    )]
    async fn search_users(
        &self,
        key: AdminKeyAuth,
        /// Text to look for in usernames and email addresses.
        query: Query<Option<String>>,
        /// Users per page: 1–200.
        #[oai(
            default = "default_limit",
            validator(minimum(value = "1"), maximum(value = "200"))
        )]
        limit: Query<u32>,
        /// `next_cursor` of the previous page.
        cursor: Query<Option<String>>,
    ) -> Result<UsersPageResponse, AdminSearchUsersError> {
        authorize(&self.auth, &key).await?;
        let after = cursor.0.as_deref().map(decode_cursor).transpose()?;
        let page = self
            .auth
            .search_users(query.0.as_deref(), after, limit.0)
            .await
            .map_err(failed)?;
        Ok(UsersPageResponse::Ok(Json(UsersPageBody {
            users: page.users.into_iter().map(AdminUserBody::from).collect(),
            next_cursor: page.next.as_deref().map(encode_cursor),
        })))
    }

    /// View a user
    ///
    /// The account with its live sessions count, second factors, login
    /// back-off and whether it is disabled.
    #[oai(
        path = "/admin/users/:id",
        method = "get",
        operation_id = "admin_get_user",
        tag = "AdminTags::Users"
    )]
    async fn get_user(
        &self,
        key: AdminKeyAuth,
        /// The account's id.
        id: Path<String>,
    ) -> Result<UserDetailResponse, AdminGetUserError> {
        authorize(&self.auth, &key).await?;
        let overview = self
            .auth
            .user_overview(user_id(&id.0)?)
            .await
            .map_err(failed)?;
        Ok(UserDetailResponse::Ok(Json(overview.into())))
    }

    /// Disable a user
    ///
    /// Ends every session of the account on every instance; from now on
    /// its right password gets `403 account_disabled` (a wrong one stays
    /// `401 invalid_credentials`), until `enable`.
    #[oai(
        path = "/admin/users/:id/disable",
        method = "post",
        operation_id = "admin_disable_user",
        tag = "AdminTags::Users"
    )]
    async fn disable_user(
        &self,
        key: AdminKeyAuth,
        /// The account's id.
        id: Path<String>,
        client: Data<&Client>,
    ) -> Result<DisableUserResponse, AdminUserActionError> {
        let (_, actor) = authorize(&self.auth, &key).await?;
        let id = user_id(&id.0)?;
        let (user, revoked) = self
            .auth
            .disable_user(id, &actor, client.0)
            .await
            .map_err(failed)?;
        tracing::info!(user_id = %id, %actor, revoked, "user disabled");
        Ok(DisableUserResponse::Ok(Json(DisabledBody {
            user: user.into(),
            revoked,
        })))
    }

    /// Enable a user
    ///
    /// Lets a disabled account log in again, with its password and factors
    /// as they were.
    #[oai(
        path = "/admin/users/:id/enable",
        method = "post",
        operation_id = "admin_enable_user",
        tag = "AdminTags::Users"
    )]
    async fn enable_user(
        &self,
        key: AdminKeyAuth,
        /// The account's id.
        id: Path<String>,
        client: Data<&Client>,
    ) -> Result<EnableUserResponse, AdminUserActionError> {
        let (_, actor) = authorize(&self.auth, &key).await?;
        let id = user_id(&id.0)?;
        let user = self
            .auth
            .enable_user(id, &actor, client.0)
            .await
            .map_err(failed)?;
        tracing::info!(user_id = %id, %actor, "user enabled");
        Ok(EnableUserResponse::Ok(Json(user.into())))
    }

    /// Delete a user
    ///
    /// Deletes the account and everything tied to it (sessions, factors,
    /// passkeys, tokens, queued mail, its own events); the name and address
    /// are free again. The `account_deleted` event stays in the trail.
    #[oai(
        path = "/admin/users/:id",
        method = "delete",
        operation_id = "admin_delete_user",
        tag = "AdminTags::Users"
    )]
    async fn delete_user(
        &self,
        key: AdminKeyAuth,
        /// The account's id.
        id: Path<String>,
        client: Data<&Client>,
    ) -> Result<DeleteUserResponse, AdminUserActionError> {
        let (_, actor) = authorize(&self.auth, &key).await?;
        let id = user_id(&id.0)?;
        self.auth
            .remove_user(id, &actor, client.0)
            .await
            .map_err(failed)?;
        tracing::info!(user_id = %id, %actor, "user deleted");
        Ok(DeleteUserResponse::Ok(Json(MessageBody {
            message: "User deleted".into(),
        })))
    }

    /// Revoke a user's sessions
    ///
    /// Ends every session of the account on every instance and says how many.
    #[oai(
        path = "/admin/users/:id/revoke-sessions",
        method = "post",
        operation_id = "admin_revoke_user_sessions",
        tag = "AdminTags::Users"
    )]
    async fn revoke_sessions(
        &self,
        key: AdminKeyAuth,
        /// The account's id.
        id: Path<String>,
        client: Data<&Client>,
    ) -> Result<AdminRevokeSessionsResponse, AdminUserActionError> {
        let (_, actor) = authorize(&self.auth, &key).await?;
        let id = user_id(&id.0)?;
        let revoked = self
            .auth
            .revoke_user_sessions(id, &actor, client.0)
            .await
            .map_err(failed)?;
        tracing::info!(user_id = %id, %actor, revoked, "user's sessions revoked");
        Ok(AdminRevokeSessionsResponse::Ok(Json(AdminRevokedBody {
            revoked,
        })))
    }

    /// Clear a user's back-off
    ///
    /// Forgets the account's failed logins, so it may log in at once (the
    /// client-address budgets stay).
    #[oai(
        path = "/admin/users/:id/clear-backoff",
        method = "post",
        operation_id = "admin_clear_user_backoff",
        tag = "AdminTags::Users"
    )]
    async fn clear_backoff(
        &self,
        key: AdminKeyAuth,
        /// The account's id.
        id: Path<String>,
        client: Data<&Client>,
    ) -> Result<ClearBackoffResponse, AdminUserActionError> {
        let (_, actor) = authorize(&self.auth, &key).await?;
        let id = user_id(&id.0)?;
        let cleared = self
            .auth
            .clear_user_backoff(id, &actor, client.0)
            .await
            .map_err(failed)?;
        tracing::info!(user_id = %id, %actor, cleared, "user's back-off cleared");
        Ok(ClearBackoffResponse::Ok(Json(ClearedBody { cleared })))
    }

    /// Send a user a password reset
    ///
    /// Queues a reset link to the account's verified address (the account's
    /// own reset budget does not apply). `409 no_verified_email` when it
    /// has none.
    #[oai(
        path = "/admin/users/:id/password-reset",
        method = "post",
        operation_id = "admin_send_password_reset",
        tag = "AdminTags::Users"
    )]
    async fn password_reset(
        &self,
        key: AdminKeyAuth,
        /// The account's id.
        id: Path<String>,
        client: Data<&Client>,
    ) -> Result<AdminPasswordResetResponse, AdminPasswordResetError> {
        let (_, actor) = authorize(&self.auth, &key).await?;
        let id = user_id(&id.0)?;
        self.auth
            .send_password_reset(id, &actor, client.0)
            .await
            .map_err(failed)?;
        tracing::info!(user_id = %id, %actor, "password reset mailed by an operator");
        Ok(AdminPasswordResetResponse::Accepted(Json(MessageBody {
            message: "A reset link is on its way to the account's verified address".into(),
        })))
    }
}
