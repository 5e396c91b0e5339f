//! CORS: off unless origins are configured; then credentials are allowed
//! for exactly those origins (never `*` with credentials).
//!
//! A request from another origin is not refused here (same-origin pages
//! such as Swagger UI also send `Origin`); it just gets no CORS headers, so
//! a browser will not let a foreign page read the answer. Cookies are
//! `SameSite=Lax` besides.

use std::collections::HashSet;

use poem::http::{HeaderValue, Method, StatusCode, header};
use poem::{IntoResponse, Request, Response};

/// The allowed origins, exact (`scheme://host[:port]`).
#[derive(Debug, Clone, Default)]
pub struct CorsOrigins(HashSet<String>);

/// Why an origin list is unusable.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CorsError {
    /// `*` cannot be combined with credentials.
    #[error("`*` is not allowed: list each origin (credentials are never allowed for any origin)")]
    Wildcard,
    /// Not `scheme://host[:port]`.
    #[error("{0:?} is not an origin of the form scheme://host[:port]")]
    Malformed(String),
}

impl CorsOrigins {
    /// Parses a list of origins.
    ///
    /// # Errors
    /// [`CorsError`] for `*` or a value that is not a bare origin.
    pub fn parse(origins: &[String]) -> Result<Self, CorsError> {
        let mut set = HashSet::new();
        for origin in origins {
            let origin = origin.trim().trim_end_matches('/');
            if origin == "*" {
                return Err(CorsError::Wildcard);
            }
            let bare = origin.split_once("://").is_some_and(|(scheme, rest)| {
                !scheme.is_empty() && !rest.is_empty() && !rest.contains('/')
            });
            if !bare {
                return Err(CorsError::Malformed(origin.to_owned()));
            }
            set.insert(origin.to_owned());
        }
        Ok(Self(set))
    }

    /// Whether CORS is on.
    pub fn is_enabled(&self) -> bool {
        !self.0.is_empty()
    }
}

/// What CORS makes of a request (a step of `edge.rs`).
#[derive(Debug)]
pub enum CorsStep {
    /// CORS is off (no `--cors-origin`): nothing to add.
    Off,
    /// A preflight, answered here without reaching the routes.
    Preflight {
        /// `204`, with the allowed methods and headers if the origin is allowed.
        response: Response,
        /// The request's `Origin`, if it is one of the configured origins.
        allowed: Option<HeaderValue>,
    },
    /// Any other request: it goes on, and its answer gets the CORS headers.
    Pass {
        /// The request's `Origin`, if it is one of the configured origins.
        allowed: Option<HeaderValue>,
    },
}

impl CorsStep {
    /// Reads `Origin` and the preflight headers of `req`.
    pub fn of(req: &Request, origins: &CorsOrigins) -> Self {
        if !origins.is_enabled() {
            return Self::Off;
        }
        let allowed = req
            .headers()
            .get(header::ORIGIN)
            .filter(|origin| {
                origin
                    .to_str()
                    .is_ok_and(|origin| origins.0.contains(origin))
            })
            .cloned();
        let preflight = req.method() == Method::OPTIONS
            && req
                .headers()
                .contains_key(header::ACCESS_CONTROL_REQUEST_METHOD);
        if !preflight {
            return Self::Pass { allowed };
        }
        let mut response = StatusCode::NO_CONTENT.into_response();
        if allowed.is_some() {
            let headers = response.headers_mut();
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_METHODS,
                // DELETE: `DELETE /sessions/{id}` is the one route with it.
                HeaderValue::from_static("GET, POST, PUT, DELETE"),
            );
            headers.insert(
                header::ACCESS_CONTROL_ALLOW_HEADERS,
                HeaderValue::from_static("authorization, content-type, x-request-id"),
            );
            headers.insert(
                header::ACCESS_CONTROL_MAX_AGE,
                HeaderValue::from_static("600"),
            );
        }
        Self::Preflight { response, allowed }
    }
}

/// Adds the CORS headers to an answer (nothing when CORS is off).
pub fn add_cors_headers(response: &mut Response, enabled: bool, allowed: Option<HeaderValue>) {
    if !enabled {
        return;
    }
    let headers = response.headers_mut();
    // Answers differ by Origin: caches must keep them apart.
    headers.append(header::VARY, HeaderValue::from_static("Origin"));
    if let Some(origin) = allowed {
        headers.insert(header::ACCESS_CONTROL_ALLOW_ORIGIN, origin);
        headers.insert(
            header::ACCESS_CONTROL_ALLOW_CREDENTIALS,
            HeaderValue::from_static("true"),
        );
        headers.insert(
            header::ACCESS_CONTROL_EXPOSE_HEADERS,
            HeaderValue::from_static("retry-after, x-request-id"),
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wildcards_and_paths_are_refused() {
        assert_eq!(
            CorsOrigins::parse(&["*".into()]).unwrap_err(),
            CorsError::Wildcard
        );
        assert!(matches!(
            CorsOrigins::parse(&["https://app.example.com/path".into()]),
            Err(CorsError::Malformed(_))
        ));
        assert!(matches!(
            CorsOrigins::parse(&["app.example.com".into()]),
            Err(CorsError::Malformed(_))
        ));
        let ok = CorsOrigins::parse(&[
            "https://app.example.com/".into(),
            "http://localhost:3000".into(),
        ])
        .unwrap();
        assert!(ok.0.contains("https://app.example.com"));
        assert!(ok.is_enabled());
        assert!(!CorsOrigins::parse(&[]).unwrap().is_enabled());
    }
}
