//! The HTTP face of the auth service: poem + poem-openapi routes over an
//! `auth_core::Authenticator`, the JSON error shape, cookies, logs.
//!
//! [`app::Root`] is the composition root: `main.rs`, the admin subcommands
//! and the API tests all build the service through it.
//!
//! # Layout
//! - `config.rs`: flags and `AUTH_*` variables, parsed (and only parsed).
//! - `app.rs`: the composition root (config → store, use cases, tasks, endpoint).
//! - `routes/`: one `#[OpenApi]` impl per route group; `routes/table.rs`:
//!   every path the service answers, for the cross-cutting rules.
//! - `error/`: the error table (`mod.rs`: each failure's status, `code`,
//!   message), the JSON body and the response type.
//! - `operation_errors.rs`: which of those rows each operation answers, as
//!   one error type per operation (`operation_errors!`), so the document
//!   lists exactly its statuses and codes.
//! - `edge.rs`: the one middleware, running every cross-cutting step in
//!   order; the steps: `middleware.rs` (body limit, JSON errors from the
//!   framework, headers), `pacing.rs` (refusals held).
//! - `security.rs`: cookie or bearer; `cookie.rs`: the `session` cookie.
//! - `client_ip.rs`: the client address (peer, or `X-Forwarded-For` from
//!   trusted proxies); `cors.rs`: CORS for configured origins.
//! - `server.rs`: the listener and its connection limits.
//! - `telemetry.rs`: logs and request ids; `metrics.rs`: `/metrics`.
//! - `mail/`: the mail adapters (SMTP, `.eml` directory, templates) and
//!   the outbox worker; the built-in pages behind mailed links are
//!   `routes/pages.rs` with their files in `pages/`.
//! - `admin/`: the operator subcommands (`import-flask`, `user ...`).

pub mod admin;
pub mod app;
pub mod client_ip;
pub mod config;
pub mod cookie;
pub mod cors;
pub mod edge;
pub mod error;
pub mod keys;
pub mod mail;
pub mod metrics;
pub mod middleware;
pub mod operation_errors;
pub mod pacing;
pub mod routes;
pub mod security;
pub mod server;
pub mod telemetry;

use std::future::Future;

use auth_core::{AdminStore, Authenticator, MemoryStore, Store, StoreError};
use auth_store_sea::SeaStore;
use poem::{Endpoint, EndpointExt, Route};
use poem_openapi::OpenApiService;

use crate::cookie::CookieSettings;
use crate::routes::admin::{events::AdminEventsApi, users::AdminUsersApi};
use crate::routes::table;
use crate::routes::{
    email::EmailApi, login::LoginApi, logout::LogoutApi, me::MeApi, mfa::MfaApi, ops::OpsApi,
    pages::PagesApi, passkey_login::PasskeyLoginApi, passkeys::PasskeysApi, password::PasswordApi,
    protected::ProtectedApi, recovery::RecoveryApi, register::RegisterApi, sessions::SessionsApi,
};

/// What `/ready` checks: that the store answers.
pub trait Readiness: Clone + Send + Sync + 'static {
    /// `Ok` when the store can serve requests.
    fn check(&self) -> impl Future<Output = Result<(), StoreError>> + Send;
}

impl Readiness for SeaStore {
    async fn check(&self) -> Result<(), StoreError> {
        self.ping().await
    }
}

impl Readiness for MemoryStore {
    async fn check(&self) -> Result<(), StoreError> {
        Ok(())
    }
}

/// HTTP settings.
#[derive(Debug, Clone)]
pub struct HttpSettings {
    /// The session cookie.
    pub cookie: CookieSettings,
    /// Largest accepted body in bytes.
    pub max_body_bytes: usize,
    /// Time a client has to send a whole body.
    pub body_read_timeout: std::time::Duration,
    /// Peers whose `X-Forwarded-For` is believed.
    pub trusted_proxies: Vec<ipnet::IpNet>,
    /// Origins allowed to call with credentials (CORS); empty = CORS off.
    pub cors_origins: cors::CorsOrigins,
    /// How long a `429` or `503` answer is held (`pacing.rs`); zero: none.
    pub refusal_delay: std::time::Duration,
    /// What this process's outbox worker did, for `/metrics`.
    pub mail_stats: mail::MailStats,
}

/// Every documented route group.
type Apis<S> = (
    RegisterApi<S>,
    LoginApi<S>,
    LogoutApi<S>,
    ProtectedApi<S>,
    MeApi<S>,
    SessionsApi<S>,
    PasswordApi<S>,
    EmailApi<S>,
    RecoveryApi<S>,
    MfaApi<S>,
    PasskeysApi<S>,
    PasskeyLoginApi<S>,
    PagesApi,
    OpsApi<S>,
);
/// The OpenAPI service over [`Apis`].
type ApiService<S> = OpenApiService<Apis<S>, ()>;

/// The OpenAPI service: every documented route.
fn api_service<S: Store + Readiness>(
    auth: &Authenticator<S>,
    settings: &HttpSettings,
) -> ApiService<S> {
    OpenApiService::new(
        (
            RegisterApi { auth: auth.clone() },
            LoginApi {
                auth: auth.clone(),
                cookie: settings.cookie,
            },
            LogoutApi {
                auth: auth.clone(),
                cookie: settings.cookie,
            },
            ProtectedApi { auth: auth.clone() },
            MeApi {
                auth: auth.clone(),
                cookie: settings.cookie,
            },
            SessionsApi {
                auth: auth.clone(),
                cookie: settings.cookie,
            },
            PasswordApi { auth: auth.clone() },
            EmailApi { auth: auth.clone() },
            RecoveryApi::new(auth.clone()),
            MfaApi {
                auth: auth.clone(),
                cookie: settings.cookie,
            },
            PasskeysApi { auth: auth.clone() },
            PasskeyLoginApi {
                auth: auth.clone(),
                cookie: settings.cookie,
            },
            PagesApi,
            OpsApi {
                readiness: auth.store().clone(),
            },
        ),
        "auth-service",
        env!("CARGO_PKG_VERSION"),
    )
    .description(include_str!("../api-description.md"))
}

/// The edge of a listener serving the document `spec`, with its own
/// request counts, and CORS for `origins`.
fn edge_of<S: Store>(
    auth: &Authenticator<S>,
    settings: &HttpSettings,
    spec: &str,
    origins: cors::CorsOrigins,
) -> std::sync::Arc<edge::Edge> {
    let counted = auth.clone();
    let unqueued = auth.clone();
    let metrics = std::sync::Arc::new(metrics::Metrics::new(
        auth.hasher().clone(),
        auth.session_cache().clone(),
        std::sync::Arc::new(move || counted.events_not_stored()),
        settings.mail_stats.clone(),
        std::sync::Arc::new(move || unqueued.mail_not_queued()),
    ));
    std::sync::Arc::new(edge::Edge {
        metrics,
        refusal_delay: settings.refusal_delay,
        origins,
        max_body_bytes: settings.max_body_bytes,
        body_read_timeout: settings.body_read_timeout,
        spec: middleware::SpecIndex::from_spec(spec),
        trusted_proxies: settings.trusted_proxies.clone(),
    })
}

/// The whole application: API routes, `/openapi.json`, Swagger UI at `/docs`,
/// with the body limit, JSON errors, request logs and security headers.
pub fn build_app<S: Store + Readiness>(
    auth: Authenticator<S>,
    settings: HttpSettings,
) -> impl Endpoint {
    let api = api_service(&auth, &settings);
    let spec = api.spec_endpoint();
    let docs = api.swagger_ui();
    let edge = edge_of(&auth, &settings, &api.spec(), settings.cors_origins.clone());
    let metrics = edge.metrics.clone();
    Route::new()
        .nest("/", api)
        .at(table::Route::OpenApi.path(), spec)
        .nest(table::Route::Docs.path(), docs)
        .at(
            table::Route::Metrics.path(),
            poem::get(metrics::endpoint(metrics)),
        )
        .around(move |next, req| edge::handle(next, req, edge.clone()))
}

/// The admin route groups.
type AdminApis<S> = (AdminUsersApi<S>, AdminEventsApi<S>);

/// The admin listener's OpenAPI service.
fn admin_api_service<S: AdminStore>(auth: &Authenticator<S>) -> OpenApiService<AdminApis<S>, ()> {
    OpenApiService::new(
        (
            AdminUsersApi { auth: auth.clone() },
            AdminEventsApi { auth: auth.clone() },
        ),
        "auth-service admin",
        env!("CARGO_PKG_VERSION"),
    )
    .description(include_str!("../admin-api-description.md"))
}

/// The admin listener's application (`--admin-bind`): the admin routes,
/// their own `/openapi.json` and Swagger UI at `/docs`, behind the same
/// edge as the public routes (request log, body limit, JSON errors,
/// security headers) but without CORS: no browser page of another origin
/// has a reason to call it. Its requests are logged, not counted in the
/// public listener's `/metrics`.
pub fn build_admin_app<S: AdminStore + Readiness>(
    auth: Authenticator<S>,
    settings: HttpSettings,
) -> impl Endpoint {
    let api = admin_api_service(&auth);
    let spec = api.spec_endpoint();
    let docs = api.swagger_ui();
    let edge = edge_of(&auth, &settings, &api.spec(), cors::CorsOrigins::default());
    Route::new()
        .nest("/", api)
        .at(table::Route::OpenApi.path(), spec)
        .nest(table::Route::Docs.path(), docs)
        .around(move |next, req| edge::handle(next, req, edge.clone()))
}

/// The admin listener's OpenAPI document as JSON (what its `/openapi.json` serves).
pub fn admin_openapi_json() -> String {
    match document_authenticator() {
        Ok(auth) => admin_api_service(&auth).spec(),
        Err(error) => format!("{{\"error\": \"{error}\"}}"),
    }
}

/// The use cases the documents are generated from (never served).
fn document_authenticator() -> Result<Authenticator<MemoryStore>, auth_core::HashError> {
    let hasher = auth_core::PasswordHasher::new(auth_core::HashConfig {
        params: auth_core::ScryptParams::insecure_fast_for_tests(),
        ..auth_core::HashConfig::default()
    })?;
    Ok(Authenticator::new(
        MemoryStore::new(),
        hasher,
        std::sync::Arc::new(auth_core::SystemClock),
    ))
}

/// The OpenAPI document as JSON (what `/openapi.json` serves).
pub fn openapi_json() -> String {
    match document_authenticator() {
        Ok(auth) => {
            let settings = HttpSettings {
                cookie: CookieSettings {
                    secure: false,
                    max_age: std::time::Duration::from_secs(1),
                    device_max_age: std::time::Duration::from_secs(1),
                },
                max_body_bytes: 0,
                body_read_timeout: std::time::Duration::from_secs(1),
                trusted_proxies: Vec::new(),
                cors_origins: cors::CorsOrigins::default(),
                refusal_delay: std::time::Duration::ZERO,
                mail_stats: mail::MailStats::default(),
            };
            api_service(&auth, &settings).spec()
        }
        // Fixed, valid parameters: unreachable, but never a panic.
        Err(error) => format!("{{\"error\": \"{error}\"}}"),
    }
}
