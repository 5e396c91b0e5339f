//! Every path the service answers, in one table: the metrics labels, the
//! `Allow` header of the undocumented routes, which answers may be cached,
//! and what "not logged in" means all read it.
//!
//! `#[oai(path = "...")]` needs a literal, so the OpenAPI routes spell their
//! paths again; `every_documented_path_is_in_the_table` keeps both in step.

/// A route of the service, as far as the cross-cutting rules care.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Route {
    /// `POST /register`.
    Register,
    /// `POST /login`.
    Login,
    /// `POST /logout` and the deprecated `GET /logout`.
    Logout,
    /// `GET /protected`.
    Protected,
    /// `GET /health`.
    Health,
    /// `GET /ready`.
    Ready,
    /// `GET /metrics` (Prometheus text).
    Metrics,
    /// `GET /openapi.json`.
    OpenApi,
    /// `GET /docs` and everything below it (Swagger UI).
    Docs,
}

impl Route {
    /// Every route, documented or not.
    pub const ALL: [Route; 9] = [
        Self::Register,
        Self::Login,
        Self::Logout,
        Self::Protected,
        Self::Health,
        Self::Ready,
        Self::Metrics,
        Self::OpenApi,
        Self::Docs,
    ];

    /// The route a request path belongs to; `None` for an unknown path.
    pub fn of(path: &str) -> Option<Self> {
        if path == "/docs" || path.starts_with("/docs/") {
            return Some(Self::Docs);
        }
        Self::ALL.into_iter().find(|route| route.path() == path)
    }

    /// The path, as routed (for [`Route::Docs`], the prefix).
    pub const fn path(self) -> &'static str {
        match self {
            Self::Register => "/register",
            Self::Login => "/login",
            Self::Logout => "/logout",
            Self::Protected => "/protected",
            Self::Health => "/health",
            Self::Ready => "/ready",
            Self::Metrics => "/metrics",
            Self::OpenApi => "/openapi.json",
            Self::Docs => "/docs",
        }
    }

    /// Served beside the OpenAPI document (so it does not list them): each
    /// answers `GET` only.
    pub const fn is_undocumented(self) -> bool {
        matches!(self, Self::Metrics | Self::OpenApi | Self::Docs)
    }

    /// Whether `method` on this route changes what a session may do (so a
    /// cross-site request must not do it with the ambient cookie). `GET
    /// /logout` does: it is the deprecated form of `POST /logout`.
    pub fn changes_state(self, method: &poem::http::Method) -> bool {
        match self {
            Self::Logout => true,
            Self::Register | Self::Login | Self::Protected => {
                !(method.is_safe() || method == poem::http::Method::OPTIONS)
            }
            Self::Health | Self::Ready | Self::Metrics | Self::OpenApi | Self::Docs => false,
        }
    }

    /// The documentation, the same for everyone: the only answers a cache
    /// may keep. Everything else may carry a token or per-user data.
    pub const fn is_cacheable(self) -> bool {
        matches!(self, Self::OpenApi | Self::Docs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_map_to_their_route_and_unknown_paths_to_none() {
        for route in Route::ALL {
            assert_eq!(Route::of(route.path()), Some(route));
        }
        assert_eq!(Route::of("/docs/oauth-receiver.html"), Some(Route::Docs));
        assert_eq!(Route::of("/docsx"), None);
        assert_eq!(Route::of("/wp-admin"), None);
    }

    #[test]
    fn every_documented_path_is_in_the_table() {
        let spec: serde_json::Value = serde_json::from_str(&crate::openapi_json()).unwrap();
        let documented: Vec<&str> = spec["paths"]
            .as_object()
            .unwrap()
            .keys()
            .map(String::as_str)
            .collect();
        for path in &documented {
            let route = Route::of(path).unwrap_or_else(|| panic!("{path} is not in the table"));
            assert!(!route.is_undocumented(), "{path}");
        }
        for route in Route::ALL
            .into_iter()
            .filter(|route| !route.is_undocumented())
        {
            assert!(
                documented.contains(&route.path()),
                "{route:?} is not documented"
            );
        }
    }
}
