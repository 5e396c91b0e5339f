//! The admin API: the routes of the admin listener (`--admin-bind`), never
//! served on the public one. Every route needs an admin key
//! (`Authorization: Bearer ak_…`, made with `auth-server admin-key create`),
//! read from the store on each request so that a revocation counts at once
//! on every instance; every action is a security event naming the key.
//!
//! - `users.rs`: search, view, disable, enable, delete, end sessions, clear
//!   back-off, mail a reset link.
//! - `events.rs`: the audit trail.

pub mod events;
pub mod users;

use auth_core::{Actor, AdminKey, AdminStore, Authenticator};
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use poem_openapi::auth::Bearer;
use poem_openapi::{SecurityScheme, Tags};

use crate::error::ApiError;

/// Groups of the admin document.
#[derive(Debug, Tags)]
pub enum AdminTags {
    /// Finding accounts and acting on them.
    Users,
    /// The audit trail: every security event, admin actions included.
    Events,
}

/// `Authorization: Bearer <admin key>`: a key from `auth-server admin-key
/// create --name N` (it starts with `ak_`).
#[derive(SecurityScheme)]
#[oai(rename = "admin_key", ty = "bearer", bearer_format = "ak_…")]
pub struct AdminKeyAuth(Bearer);

impl std::fmt::Debug for AdminKeyAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AdminKeyAuth(***)")
    }
}

/// The live key presented, and the actor its actions are recorded as.
async fn authorize<S: AdminStore>(
    auth: &Authenticator<S>,
    presented: &AdminKeyAuth,
) -> Result<(AdminKey, Actor), ApiError> {
    let key = auth
        .authenticate_admin(&presented.0.token)
        .await
        .map_err(|error| ApiError::from_auth(error, ApiError::Unauthorized))?;
    let actor = Actor::admin_key(&key.name);
    Ok((key, actor))
}

/// A page cursor as the API hands it out: opaque, URL-safe.
fn encode_cursor(raw: &str) -> String {
    URL_SAFE_NO_PAD.encode(raw)
}

/// A cursor this API handed out, back to its raw form.
fn decode_cursor(cursor: &str) -> Result<String, ApiError> {
    URL_SAFE_NO_PAD
        .decode(cursor)
        .ok()
        .and_then(|bytes| String::from_utf8(bytes).ok())
        .ok_or_else(|| {
            ApiError::InvalidRequest(
                "`cursor` is not one this API gave: pass `next_cursor` of the previous page as is"
                    .into(),
            )
        })
}

/// A user id from a path: any text that is not a UUID is as unknown.
fn user_id(path: &str) -> Result<auth_core::UserId, ApiError> {
    uuid::Uuid::parse_str(path)
        .map(auth_core::UserId::from_uuid)
        .map_err(|_| ApiError::UserNotFound)
}
