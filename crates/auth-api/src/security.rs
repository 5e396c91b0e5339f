//! How a request carries a session: the `session` cookie or a bearer token.
//!
//! Both are OpenAPI security schemes, so Swagger UI and generated clients can
//! use either. Only the token is extracted here; the route resolves it with
//! `Authenticator::authenticate` so that a missing session gets the route's
//! own error code (`not_logged_in` on logout, `unauthorized` elsewhere).

use poem::http::header;
use poem::{Request, Response};
use poem_openapi::SecurityScheme;
use poem_openapi::auth::{ApiKey, Bearer};

use crate::cookie::SESSION_COOKIE;
use crate::error::ApiError;
use crate::routes::table::Route;

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

/// The refusal (`403 cross_site_request`, a step of `edge.rs`) of a state change that the browser
/// says comes from another site (`Sec-Fetch-Site: cross-site`) and that
/// would be authenticated by the ambient `session` cookie: a link or a form
/// on another site must not log a user out (login CSRF and forced logout).
/// A bearer token is never ambient, so requests carrying one pass, as do
/// browsers that send no `Sec-Fetch-Site` and `same-site` requests (sibling
/// subdomains: see docs/security.md).
pub fn cross_site_refusal(req: &Request) -> Option<Response> {
    let cross_site = req
        .headers()
        .get("sec-fetch-site")
        .is_some_and(|value| value.as_bytes().eq_ignore_ascii_case(b"cross-site"));
    if cross_site
        && carries_session_cookie(req)
        && !req.headers().contains_key(header::AUTHORIZATION)
        && Route::of(req.uri().path()).is_some_and(|route| route.changes_state(req.method()))
    {
        return Some(ApiError::CrossSiteRequest.into_response());
    }
    None
}

fn carries_session_cookie(req: &Request) -> bool {
    req.headers()
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|cookies| cookies.split(';'))
        .any(|pair| {
            pair.trim_start()
                .split_once('=')
                .is_some_and(|(name, _)| name == SESSION_COOKIE)
        })
}
