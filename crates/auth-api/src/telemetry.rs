//! Logs: a tracing subscriber, one line per request with its request id, and
//! the `target=audit` line of every security event.
//!
//! Nothing here logs a body, a cookie or an `Authorization` header: tokens
//! and passwords never reach the logs.

use std::sync::Arc;
use std::time::Instant;

use poem::http::{HeaderName, HeaderValue};
use poem::{Endpoint, IntoResponse, Request, Response};
use tracing::Instrument;
use uuid::Uuid;

use crate::metrics::Metrics;

/// The request id header, accepted from the client or created.
pub static REQUEST_ID: HeaderName = HeaderName::from_static("x-request-id");

/// Log output format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line.
    Json,
}

/// Installs the global subscriber. `filter` is an `EnvFilter` directive such as `info`.
pub fn init(format: LogFormat, filter: &str) {
    let filter = tracing_subscriber::EnvFilter::try_new(filter)
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    // Colours only for a terminal: log files and collectors get plain text.
    let ansi = std::io::IsTerminal::is_terminal(&std::io::stdout());
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi);
    // try_init: a second call (tests) keeps the first subscriber instead of panicking.
    let _ = match format {
        LogFormat::Text => builder.try_init(),
        LogFormat::Json => builder.json().flatten_event(true).try_init(),
    };
}

/// Gives each request an id (the client's `X-Request-Id` if it is a sane
/// one, else a new UUID), runs it in a span carrying that id so every log
/// line has it, echoes it, and logs method, path, status and latency.
pub async fn request_log<E: Endpoint>(
    next: Arc<E>,
    mut req: Request,
    metrics: Arc<Metrics>,
) -> poem::Result<Response> {
    let id = req
        .headers()
        .get(&REQUEST_ID)
        .and_then(|value| value.to_str().ok())
        .filter(|value| {
            !value.is_empty()
                && value.len() <= 128
                && value
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(&b))
        })
        .map_or_else(|| Uuid::now_v7().to_string(), str::to_owned);
    let method = req.method().clone();
    let path = req.uri().path().to_owned();
    let span = tracing::info_span!("request", request_id = %id, %method, %path);
    if let Ok(value) = HeaderValue::from_str(&id) {
        req.headers_mut().insert(REQUEST_ID.clone(), value);
    }
    let started = Instant::now();
    let result = next.call(req).instrument(span.clone()).await;
    let mut response = match result {
        Ok(response) => response.into_response(),
        Err(error) => error.into_response(),
    };
    let elapsed = started.elapsed().as_secs_f64();
    metrics.observe(&method, &path, response.status(), elapsed);
    let elapsed_ms = elapsed * 1000.0;
    span.in_scope(|| {
        tracing::info!(
            status = response.status().as_u16(),
            elapsed_ms,
            "request finished"
        );
    });
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID.clone(), value);
    }
    Ok(response)
}
/// Every security event as a log line with `target=audit` (a JSON line with
/// `--log-format json`), so a log pipeline can keep the trail; a failure to
/// store it is a warning (the use case went on).
pub fn audit_event(event: &auth_core::SecurityEvent, failed: Option<&auth_core::StoreError>) {
    let user_id = event.user_id.map(|id| id.to_string());
    let user_agent = event.user_agent.as_ref().map(auth_core::UserAgent::as_str);
    tracing::info!(
        target: "audit",
        event = event.kind.as_str(),
        at = %event.at.to_rfc3339(),
        user_id = user_id.as_deref(),
        ip = event.client_ip.as_deref(),
        user_agent,
        request_id = event.request_id.as_deref(),
        stored = failed.is_none(),
    );
    if let Some(error) = failed {
        tracing::warn!(
            event = event.kind.as_str(),
            error = %crate::error::error_chain(error),
            "security event not stored"
        );
    }
}
