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
    /// `GET /me`.
    Me,
    /// `POST /me/delete`.
    MeDelete,
    /// `GET /me/events`.
    MeEvents,
    /// `GET /sessions`.
    Sessions,
    /// `DELETE /sessions/{id}`: one path per session, one route.
    Session,
    /// `POST /sessions/revoke-others`.
    SessionsRevokeOthers,
    /// `POST /logout/everywhere`.
    LogoutEverywhere,
    /// `POST /password`.
    Password,
    /// `PUT /me/email`.
    MeEmail,
    /// `POST /email/verify`.
    EmailVerify,
    /// `POST /password/forgot`.
    PasswordForgot,
    /// `POST /password/reset`.
    PasswordReset,
    /// `POST /login/mfa`: a login's second step.
    LoginMfa,
    /// `POST /mfa/totp/setup`.
    TotpSetup,
    /// `POST /mfa/totp/confirm`.
    TotpConfirm,
    /// `POST /mfa/totp/disable`.
    TotpDisable,
    /// `POST /mfa/recovery-codes`.
    RecoveryCodes,
    /// `POST /webauthn/register/options`: a passkey registration's options.
    PasskeyRegisterOptions,
    /// `POST /webauthn/register`.
    PasskeyRegister,
    /// `GET /webauthn/credentials`.
    PasskeyCredentials,
    /// `PATCH` and `DELETE /webauthn/credentials/{id}`: one path per passkey, one route.
    PasskeyCredential,
    /// `POST /webauthn/login/options`.
    PasskeyLoginOptions,
    /// `POST /webauthn/login`.
    PasskeyLogin,
    /// `GET /reset`: the built-in page behind a reset link.
    ResetPage,
    /// `GET /verify`: the built-in page behind a verification link.
    VerifyPage,
    /// `GET /passkeys`: the built-in page to register and use passkeys.
    PasskeysPage,
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
    pub const ALL: [Route; 35] = [
        Self::Register,
        Self::Login,
        Self::Logout,
        Self::Protected,
        Self::Me,
        Self::MeDelete,
        Self::MeEvents,
        Self::Sessions,
        Self::Session,
        Self::SessionsRevokeOthers,
        Self::LogoutEverywhere,
        Self::Password,
        Self::MeEmail,
        Self::EmailVerify,
        Self::PasswordForgot,
        Self::PasswordReset,
        Self::LoginMfa,
        Self::TotpSetup,
        Self::TotpConfirm,
        Self::TotpDisable,
        Self::RecoveryCodes,
        Self::PasskeyRegisterOptions,
        Self::PasskeyRegister,
        Self::PasskeyCredentials,
        Self::PasskeyCredential,
        Self::PasskeyLoginOptions,
        Self::PasskeyLogin,
        Self::ResetPage,
        Self::VerifyPage,
        Self::PasskeysPage,
        Self::Health,
        Self::Ready,
        Self::Metrics,
        Self::OpenApi,
        Self::Docs,
    ];

    /// The route a request path belongs to; `None` for an unknown path.
    /// Fixed paths win over the `/sessions/{id}` pattern, as in the router:
    /// `/sessions/revoke-others` is its own route.
    pub fn of(path: &str) -> Option<Self> {
        if path == "/docs" || path.starts_with("/docs/") {
            return Some(Self::Docs);
        }
        if let Some(route) = Self::ALL.into_iter().find(|route| route.path() == path) {
            return Some(route);
        }
        // One non-empty segment, as the router matches `{id}`; whether it
        // names a session is the handler's question.
        let one_segment = |id: &&str| !id.is_empty() && !id.contains('/');
        if let Some(id) = path.strip_prefix("/webauthn/credentials/") {
            return Some(id)
                .filter(one_segment)
                .map(|_| Self::PasskeyCredential);
        }
        path.strip_prefix("/sessions/")
            .filter(one_segment)
            .map(|_| Self::Session)
    }

    /// The path, as routed (for [`Route::Docs`], the prefix; for
    /// [`Route::Session`], the template, which is also its metrics label).
    pub const fn path(self) -> &'static str {
        match self {
            Self::Register => "/register",
            Self::Login => "/login",
            Self::Logout => "/logout",
            Self::Protected => "/protected",
            Self::Me => "/me",
            Self::MeDelete => "/me/delete",
            Self::MeEvents => "/me/events",
            Self::Sessions => "/sessions",
            Self::Session => "/sessions/{id}",
            Self::SessionsRevokeOthers => "/sessions/revoke-others",
            Self::LogoutEverywhere => "/logout/everywhere",
            Self::Password => "/password",
            Self::MeEmail => "/me/email",
            Self::EmailVerify => "/email/verify",
            Self::PasswordForgot => "/password/forgot",
            Self::PasswordReset => "/password/reset",
            Self::LoginMfa => "/login/mfa",
            Self::TotpSetup => "/mfa/totp/setup",
            Self::TotpConfirm => "/mfa/totp/confirm",
            Self::TotpDisable => "/mfa/totp/disable",
            Self::RecoveryCodes => "/mfa/recovery-codes",
            Self::PasskeyRegisterOptions => "/webauthn/register/options",
            Self::PasskeyRegister => "/webauthn/register",
            Self::PasskeyCredentials => "/webauthn/credentials",
            Self::PasskeyCredential => "/webauthn/credentials/{id}",
            Self::PasskeyLoginOptions => "/webauthn/login/options",
            Self::PasskeyLogin => "/webauthn/login",
            Self::ResetPage => "/reset",
            Self::VerifyPage => "/verify",
            Self::PasskeysPage => "/passkeys",
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
            // The reads (`GET /me`, `/sessions`, `/me/events`) change
            // nothing; every other method on them is a 405 anyway.
            Self::Register
            | Self::Login
            | Self::Protected
            | Self::Me
            | Self::MeDelete
            | Self::MeEvents
            | Self::Sessions
            | Self::Session
            | Self::SessionsRevokeOthers
            | Self::LogoutEverywhere
            | Self::Password
            | Self::MeEmail
            | Self::EmailVerify
            | Self::PasswordForgot
            | Self::PasswordReset
            | Self::LoginMfa
            | Self::TotpSetup
            | Self::TotpConfirm
            | Self::TotpDisable
            | Self::RecoveryCodes
            | Self::PasskeyRegisterOptions
            | Self::PasskeyRegister
            | Self::PasskeyCredentials
            | Self::PasskeyCredential
            | Self::PasskeyLoginOptions
            | Self::PasskeyLogin => !(method.is_safe() || method == poem::http::Method::OPTIONS),
            Self::ResetPage
            | Self::VerifyPage
            | Self::PasskeysPage
            | Self::Health
            | Self::Ready
            | Self::Metrics
            | Self::OpenApi
            | Self::Docs => false,
        }
    }

    /// Whether a request without a live session is `401 not_logged_in`
    /// here (the contract's answer on the logout routes) rather than `401
    /// unauthorized`.
    pub const fn answers_not_logged_in(self) -> bool {
        matches!(self, Self::Logout | Self::LogoutEverywhere)
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
        assert_eq!(
            Route::of("/sessions/0190a1b2-0000-4000-8000-000000000000"),
            Some(Route::Session)
        );
        assert_eq!(Route::of("/sessions/not-a-uuid"), Some(Route::Session));
        assert_eq!(
            Route::of("/sessions/revoke-others"),
            Some(Route::SessionsRevokeOthers)
        );
        assert_eq!(Route::of("/sessions/"), None);
        assert_eq!(Route::of("/sessions/a/b"), None);
        assert_eq!(
            Route::of("/webauthn/credentials/0190a1b2-0000-4000-8000-000000000000"),
            Some(Route::PasskeyCredential)
        );
        assert_eq!(Route::of("/webauthn/credentials/"), None);
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
