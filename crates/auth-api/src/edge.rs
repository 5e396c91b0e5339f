//! The edge of every request: the steps that hold for every route, run by
//! one middleware, outermost first:
//!
//! 1. the request log (`telemetry.rs`: id, span, metrics, log line);
//! 2. refusal pacing (`pacing.rs`: a `429` or `503` is held);
//! 3. security headers (`middleware.rs`);
//! 4. CORS (`cors.rs`: preflights answered here, headers on the rest);
//! 5. the body limit (`middleware.rs`);
//! 6. one JSON error shape for what the framework rejects (`middleware.rs`);
//! 7. the cross-site refusal (`security.rs`);
//! 8. the client's address and its `auth_core::Client` (`client_ip.rs`);
//!
//! then the routes. They were eight `around` layers; each layer's future
//! held the next one's (18 KB for the chain) and was moved into it on every
//! request, which a profile of `GET /health` showed as 12 % of the server's
//! time in `memcpy` (`docs/perf/`). One async function runs the same steps
//! in the same order, each still defined in its own file.

use std::sync::Arc;
use std::time::Duration;

use ipnet::IpNet;
use poem::{Endpoint, IntoResponse, Request, Response};
use tracing::Instrument;

use crate::cors::{CorsOrigins, CorsStep, add_cors_headers};
use crate::metrics::Metrics;
use crate::middleware::{ErrorMapping, SpecIndex, add_security_headers, is_cacheable, read_body};
use crate::telemetry::RequestLog;
use crate::{client_ip, pacing, security};

/// What the steps are configured with.
#[derive(Debug)]
pub struct Edge {
    /// Where the request log counts answers.
    pub metrics: Arc<Metrics>,
    /// `--refusal-delay`.
    pub refusal_delay: Duration,
    /// `--cors-origin`.
    pub origins: CorsOrigins,
    /// `--max-body-bytes`.
    pub max_body_bytes: usize,
    /// `--body-read-timeout`.
    pub body_read_timeout: Duration,
    /// The bodies and methods the OpenAPI document declares.
    pub spec: SpecIndex,
    /// `--trusted-proxies`.
    pub trusted_proxies: Vec<IpNet>,
}

/// Runs every step around `next` (use with `EndpointExt::around`).
pub async fn handle<E: Endpoint>(
    next: Arc<E>,
    mut req: Request,
    edge: Arc<Edge>,
) -> poem::Result<Response> {
    let log = RequestLog::start(&mut req);
    let span = log.span().clone();
    let response = edge.answer(&*next, req).instrument(span).await;
    pacing::hold_refusal(&response, edge.refusal_delay).await;
    Ok(log.finish(response, &edge.metrics))
}

impl Edge {
    /// Steps 3 and 4 around the rest.
    async fn answer<E: Endpoint>(&self, next: &E, req: Request) -> Response {
        let cacheable = is_cacheable(&req);
        let (mut response, cors, allowed) = match CorsStep::of(&req, &self.origins) {
            CorsStep::Off => (self.route(next, req).await, false, None),
            CorsStep::Preflight { response, allowed } => (response, true, allowed),
            CorsStep::Pass { allowed } => (self.route(next, req).await, true, allowed),
        };
        add_cors_headers(&mut response, cors, allowed);
        add_security_headers(&mut response, cacheable);
        response
    }

    /// Steps 5 to 8, then the routes.
    async fn route<E: Endpoint>(&self, next: &E, mut req: Request) -> Response {
        if let Err(refusal) = read_body(&mut req, self.max_body_bytes, self.body_read_timeout).await
        {
            return refusal;
        }
        let errors = match ErrorMapping::check(&req, &self.spec) {
            Ok(errors) => errors,
            Err(refusal) => return refusal,
        };
        if let Some(refusal) = security::cross_site_refusal(&req) {
            return refusal;
        }
        client_ip::attach_client(&mut req, &self.trusted_proxies);
        errors.finish(next.call(req).await.map(IntoResponse::into_response))
    }
}
