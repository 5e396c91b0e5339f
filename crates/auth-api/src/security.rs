//! How a request carries a session: the `session` cookie or a bearer token.
//!
//! Both are OpenAPI security schemes, so Swagger UI and generated clients can
//! use either. Only the token is extracted here; the route resolves it with
//! `Authenticator::authenticate` so that a missing session gets the route's
//! own error code (`not_logged_in` on logout, `unauthorized` elsewhere).

use poem_openapi::SecurityScheme;
use poem_openapi::auth::{ApiKey, Bearer};

/// The `session` cookie set by `/login`.
#[derive(SecurityScheme)]
#[oai(
    rename = "session_cookie",
    ty = "api_key",
    key_name = "session",
    key_in = "cookie"
)]
pub struct SessionCookie(ApiKey);

impl std::fmt::Debug for SessionCookie {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("SessionCookie(***)")
    }
}

/// `Authorization: Bearer <token>` with the token from `/login`.
#[derive(SecurityScheme)]
#[oai(rename = "bearer_token", ty = "bearer", bearer_format = "opaque")]
pub struct BearerToken(Bearer);

impl std::fmt::Debug for BearerToken {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("BearerToken(***)")
    }
}

/// A session token, from the cookie or the `Authorization` header.
#[derive(SecurityScheme)]
pub enum SessionAuth {
    /// A bearer token. Checked first: an explicit header says more about the
    /// caller's intent than an ambient cookie, which may be stale.
    Bearer(BearerToken),
    /// The `session` cookie.
    Cookie(SessionCookie),
}

impl SessionAuth {
    /// The presented token (not yet checked).
    pub fn token(&self) -> &str {
        match self {
            Self::Cookie(cookie) => &cookie.0.key,
            Self::Bearer(bearer) => &bearer.0.token,
        }
    }
}

impl std::fmt::Debug for SessionAuth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Cookie(cookie) => cookie.fmt(f),
            Self::Bearer(bearer) => bearer.fmt(f),
        }
    }
}
