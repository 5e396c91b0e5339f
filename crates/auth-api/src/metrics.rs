//! `/metrics`: Prometheus (OpenMetrics text) counters for requests, logins,
//! registrations and revocations, and gauges read at scrape time from the
//! hashing pool and the session cache.
//!
//! Outcomes are derived from each response's route and status in the request
//! log middleware, so handlers stay free of bookkeeping. Route labels are a
//! fixed set (unknown paths count as `other`), so scanners cannot blow up
//! the number of series.

use std::fmt;
use std::sync::Arc;

use auth_core::{PasswordHasher, SessionCache};
use poem::http::{Method, StatusCode};

use crate::routes::table::Route;
use prometheus_client::collector::Collector;
use prometheus_client::encoding::{DescriptorEncoder, EncodeLabelSet, EncodeMetric as _};
use prometheus_client::metrics::MetricType;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::ConstGauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: &'static str,
    method: &'static str,
    status: u16,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: &'static str,
}

#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    outcome: &'static str,
}

/// The service's metrics. Cheap to share (`Arc`).
pub struct Metrics {
    registry: Registry,
    requests: Family<RequestLabels, Counter>,
    durations: Family<RouteLabels, Histogram>,
    logins: Family<OutcomeLabels, Counter>,
    registrations: Family<OutcomeLabels, Counter>,
    revoked: Counter,
}

impl fmt::Debug for Metrics {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Metrics")
    }
}

impl Metrics {
    /// Registers every metric; the pool and cache are read at each scrape.
    pub fn new(
        hasher: PasswordHasher,
        cache: SessionCache,
        events_not_stored: Arc<dyn Fn() -> u64 + Send + Sync>,
        mail: crate::mail::MailStats,
        mail_not_queued: Arc<dyn Fn() -> u64 + Send + Sync>,
    ) -> Self {
        let mut registry = Registry::default();
        let requests = Family::<RequestLabels, Counter>::default();
        registry.register(
            "http_requests",
            "HTTP requests by route, method and status",
            requests.clone(),
        );
        let durations = Family::<RouteLabels, Histogram>::new_with_constructor(|| {
            Histogram::new(exponential_buckets(0.0005, 2.0, 14))
        });
        registry.register(
            "http_request_duration_seconds",
            "HTTP request latency by route",
            durations.clone(),
        );
        let logins = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "auth_logins",
            "Logins by outcome: success, invalid_credentials, throttled, unavailable (busy or storage), invalid_request",
            logins.clone(),
        );
        let registrations = Family::<OutcomeLabels, Counter>::default();
        registry.register(
            "auth_registrations",
            "Registrations by outcome: created, username_taken, rejected, unavailable",
            registrations.clone(),
        );
        let revoked = Counter::default();
        registry.register(
            "auth_sessions_revoked",
            "Sessions ended by logout",
            revoked.clone(),
        );
        registry.register_collector(Box::new(PoolCollector {
            hasher,
            cache,
            events_not_stored,
            mail,
            mail_not_queued,
        }));
        Self {
            registry,
            requests,
            durations,
            logins,
            registrations,
            revoked,
        }
    }

    /// Counts one finished request.
    pub fn observe(
        &self,
        method: &Method,
        matched: Option<Route>,
        status: StatusCode,
        seconds: f64,
    ) {
        let route = matched.map_or("other", Route::path);
        self.requests
            .get_or_create(&RequestLabels {
                route,
                method: method_label(method),
                status: status.as_u16(),
            })
            .inc();
        self.durations
            .get_or_create(&RouteLabels { route })
            .observe(seconds);
        match (matched, status.as_u16()) {
            (Some(Route::Login), code) => {
                let outcome = match code {
                    200 => "success",
                    401 => "invalid_credentials",
                    429 => "throttled",
                    503 => "unavailable",
                    _ => "invalid_request",
                };
                self.logins.get_or_create(&OutcomeLabels { outcome }).inc();
            }
            (Some(Route::Register), code) => {
                let outcome = match code {
                    201 => "created",
                    409 => "username_taken",
                    503 => "unavailable",
                    _ => "rejected",
                };
                self.registrations
                    .get_or_create(&OutcomeLabels { outcome })
                    .inc();
            }
            (Some(Route::Logout), 200) => {
                self.revoked.inc();
            }
            _ => {}
        }
    }

    /// The exposition text.
    pub fn render(&self) -> String {
        let mut text = String::new();
        // Writing to a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }
}

/// Known methods by name, anything else as `other`: labels stay a fixed set
/// and counting a request allocates nothing.
fn method_label(method: &Method) -> &'static str {
    match *method {
        Method::GET => "GET",
        Method::POST => "POST",
        Method::PUT => "PUT",
        Method::DELETE => "DELETE",
        Method::PATCH => "PATCH",
        Method::HEAD => "HEAD",
        Method::OPTIONS => "OPTIONS",
        _ => "other",
    }
}

/// Gauges and the hash-duration histogram, read from the pool at scrape time.
struct PoolCollector {
    hasher: PasswordHasher,
    cache: SessionCache,
    /// `Authenticator::events_not_stored`, read at scrape time.
    events_not_stored: Arc<dyn Fn() -> u64 + Send + Sync>,
    /// The outbox worker's counts.
    mail: crate::mail::MailStats,
    /// `Authenticator::mail_not_queued`, read at scrape time.
    mail_not_queued: Arc<dyn Fn() -> u64 + Send + Sync>,
}

impl fmt::Debug for PoolCollector {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolCollector").finish_non_exhaustive()
    }
}

impl Collector for PoolCollector {
    fn encode(&self, mut encoder: DescriptorEncoder<'_>) -> Result<(), fmt::Error> {
        let gauges = [
            (
                "auth_hash_queue_depth",
                "Requests waiting for a hashing thread",
                self.hasher.queued() as i64,
            ),
            (
                "auth_hash_in_flight",
                "Requests hashing or waiting to",
                self.hasher.in_flight() as i64,
            ),
            (
                "auth_session_cache_entries",
                "Sessions in the in-process cache",
                self.cache.len() as i64,
            ),
        ];
        for (name, help, value) in gauges {
            ConstGauge::new(value).encode(encoder.encode_descriptor(
                name,
                help,
                None,
                MetricType::Gauge,
            )?)?;
        }
        let mail = self.mail.snapshot();
        let mail_gauges = [
            (
                "auth_mail_waiting",
                "Messages queued in the outbox and not yet sent (all instances, at the last worker pass)",
                mail.waiting,
            ),
            (
                "auth_mail_given_up",
                "Messages in the outbox given up on (all instances, until purged)",
                mail.given_up,
            ),
            (
                "auth_mail_oldest_waiting_seconds",
                "Age of the oldest message waiting in the outbox (0 when none)",
                mail.oldest_waiting_seconds,
            ),
        ];
        for (name, help, value) in mail_gauges {
            ConstGauge::new(value).encode(encoder.encode_descriptor(
                name,
                help,
                None,
                MetricType::Gauge,
            )?)?;
        }
        let mail_counters = [
            ("auth_mail_sent", "Messages this instance sent", mail.sent),
            (
                "auth_mail_retried",
                "Sends that failed on this instance and will be retried",
                mail.retried,
            ),
            (
                "auth_mail_failed",
                "Messages this instance gave up on (refused, or out of attempts)",
                mail.failed,
            ),
            (
                "auth_mail_dropped",
                "Messages that no longer applied (account gone, address changed), completed unsent",
                mail.dropped,
            ),
        ];
        for (name, help, value) in mail_counters {
            encoder
                .encode_descriptor(name, help, None, MetricType::Counter)?
                .encode_counter::<prometheus_client::encoding::NoLabelSet, _, u64>(&value, None)?;
        }
        let rejected = self.hasher.rejected();
        encoder
            .encode_descriptor(
                "auth_hash_rejected",
                "Hashing requests refused because the queue was full (503 server_busy)",
                None,
                MetricType::Counter,
            )?
            .encode_counter::<prometheus_client::encoding::NoLabelSet, _, u64>(&rejected, None)?;
        let timed_out = self.hasher.timed_out();
        encoder
            .encode_descriptor(
                "auth_hash_timed_out",
                "Hashing jobs answered 503 server_busy unrun: they waited longer than --hash-queue-timeout",
                None,
                MetricType::Counter,
            )?
            .encode_counter::<prometheus_client::encoding::NoLabelSet, _, u64>(&timed_out, None)?;
        let mail_not_queued = (self.mail_not_queued)();
        encoder
            .encode_descriptor(
                "auth_mail_not_queued",
                "Messages the store could not queue (a verification after registering, a notice after a reset); their request still succeeded",
                None,
                MetricType::Counter,
            )?
            .encode_counter::<prometheus_client::encoding::NoLabelSet, _, u64>(
                &mail_not_queued,
                None,
            )?;
        let events_not_stored = (self.events_not_stored)();
        encoder
            .encode_descriptor(
                "auth_events_not_stored",
                "Security events the store could not keep (each was still logged with target=audit)",
                None,
                MetricType::Counter,
            )?
            .encode_counter::<prometheus_client::encoding::NoLabelSet, _, u64>(
                &events_not_stored,
                None,
            )?;
        let confirmations = self.cache.confirmation_rounds();
        encoder
            .encode_descriptor(
                "auth_session_confirmations",
                "Revocation-log reads that confirmed cached sessions (PostgreSQL; each serves every request waiting then)",
                None,
                MetricType::Counter,
            )?
            .encode_counter::<prometheus_client::encoding::NoLabelSet, _, u64>(
                &confirmations,
                None,
            )?;
        let hits = self.cache.hits();
        encoder
            .encode_descriptor(
                "auth_session_cache_hits",
                "Session checks answered from the in-process cache",
                None,
                MetricType::Counter,
            )?
            .encode_counter::<prometheus_client::encoding::NoLabelSet, _, u64>(&hits, None)?;
        let leased = i64::from(self.cache.is_leased());
        encoder
            .encode_descriptor(
                "auth_session_cache_leased",
                "1 while this instance's cache lease holds (PostgreSQL: hits served without a revocation-log read), else 0",
                None,
                MetricType::Gauge,
            )?
            .encode_gauge(&leased)?;
        let timings = self.hasher.timings();
        // Raw counts, one per bucket up to +Inf: what the encoder wants.
        encoder
            .encode_descriptor(
                "auth_hash_duration_seconds",
                "Time of each hashing job (hash or verify) on a hashing thread",
                None,
                MetricType::Histogram,
            )?
            .encode_histogram::<prometheus_client::encoding::NoLabelSet>(
                timings.sum_seconds,
                timings.count,
                &timings.buckets,
                None,
            )?;
        Ok(())
    }
}

/// `GET /metrics`.
pub fn endpoint(metrics: Arc<Metrics>) -> impl poem::Endpoint {
    poem::endpoint::make_sync(move |_| {
        poem::Response::builder()
            .content_type("application/openmetrics-text; version=1.0.0; charset=utf-8")
            .body(metrics.render())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn unknown_paths_share_one_label() {
        let hasher = PasswordHasher::new(auth_core::HashConfig {
            params: auth_core::ScryptParams::insecure_fast_for_tests(),
            max_concurrent: 1,
            ..auth_core::HashConfig::default()
        })
        .unwrap();
        let metrics = Metrics::new(
            hasher,
            SessionCache::disabled(),
            Arc::new(|| 0),
            crate::mail::MailStats::default(),
            Arc::new(|| 0),
        );
        for path in [
            "/login",
            "/docs/oauth-receiver.html",
            "/wp-admin",
            "/wp-login.php",
        ] {
            metrics.observe(&Method::GET, Route::of(path), StatusCode::NOT_FOUND, 0.001);
        }
        let text = metrics.render();
        assert!(text.contains(r#"route="/login""#), "{text}");
        assert!(text.contains(r#"route="/docs""#), "{text}");
        assert!(
            text.contains(r#"route="other",method="GET",status="404"} 2"#),
            "{text}"
        );
        assert!(!text.contains("wp-"), "{text}");
    }
}
