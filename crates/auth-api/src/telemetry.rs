//! Logs: a tracing subscriber, one line per request with its request id, and
//! the `target=audit` line of every security event.
//!
//! Nothing here logs a body, a cookie or an `Authorization` header: tokens
//! and passwords never reach the logs.

use std::time::Instant;

use poem::http::{HeaderName, HeaderValue, Method};
use poem::{Request, Response};
use uuid::Uuid;

use crate::metrics::Metrics;
use crate::routes::table::Route;

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

/// The outermost step of `edge.rs`: gives each request an id (the
/// client's `X-Request-Id` if it is a sane one, else a new UUID), a span
/// carrying it so that every log line has it, and, when it is answered,
/// echoes the id and logs method, path, status and latency.
#[derive(Debug)]
pub struct RequestLog {
    id: Option<HeaderValue>,
    method: Method,
    route: Option<Route>,
    span: tracing::Span,
    started: Instant,
}

impl RequestLog {
    /// Starts the log of `req` and puts the id in its headers.
    pub fn start(req: &mut Request) -> Self {
        // The client's id if it is a sane one (its header value is reused as
        // is), else a new UUIDv7 formatted on the stack: one allocation at most.
        let id = req
            .headers()
            .get(&REQUEST_ID)
            .filter(|value| is_sane_request_id(value.as_bytes()))
            .cloned()
            .or_else(|| {
                let mut buffer = Uuid::encode_buffer();
                let text = Uuid::now_v7().hyphenated().encode_lower(&mut buffer);
                HeaderValue::from_str(text).ok()
            });
        let method = req.method().clone();
        // The label is all metrics need: no copy of the path outlives the span.
        let route = Route::of(req.uri().path());
        // Display (`%`), not Debug: log lines say request_id=abc, unquoted,
        // which is what log pipelines (and e2e/scale-out.sh) match on.
        let id_text = id.as_ref().and_then(|id| id.to_str().ok()).unwrap_or("");
        let span = tracing::info_span!(
            "request",
            request_id = %id_text,
            %method,
            path = %req.uri().path()
        );
        if let Some(id) = &id {
            req.headers_mut().insert(REQUEST_ID.clone(), id.clone());
        }
        Self {
            id,
            method,
            route,
            span,
            started: Instant::now(),
        }
    }

    /// The span the request runs in.
    pub fn span(&self) -> &tracing::Span {
        &self.span
    }

    /// Counts and logs the answer, and echoes the id on it.
    pub fn finish(self, mut response: Response, metrics: &Metrics) -> Response {
        let elapsed = self.started.elapsed().as_secs_f64();
        metrics.observe(&self.method, self.route, response.status(), elapsed);
        let elapsed_ms = elapsed * 1000.0;
        self.span.in_scope(|| {
            tracing::info!(
                status = response.status().as_u16(),
                elapsed_ms,
                "request finished"
            );
        });
        if let Some(id) = self.id {
            response.headers_mut().insert(REQUEST_ID.clone(), id);
        }
        response
    }
}

/// A client's `X-Request-Id` is kept when it is 1–128 characters of
/// `[A-Za-z0-9-_.:]` (safe in any log format), else replaced.
fn is_sane_request_id(value: &[u8]) -> bool {
    !value.is_empty()
        && value.len() <= 128
        && value
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || b"-_.:".contains(b))
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
        actor = event.actor.as_ref().map(auth_core::Actor::as_str),
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
