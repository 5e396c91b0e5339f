//! The outbox worker: every instance runs one. Each pass claims due mail
//! (leased, so instances never take the same message), sends it, and
//! records what happened for `/metrics`.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;

use auth_core::{Authenticator, DeliveryReport, MailComposer, MailTransport, Store};

/// Messages claimed per pass; a full pass is followed by another at once.
const BATCH: u32 = 20;

/// What the workers of this process did, and what the outbox held at the
/// last pass, for `/metrics`. Clones share the counts.
#[derive(Debug, Clone, Default)]
pub struct MailStats(Arc<Counts>);

#[derive(Debug, Default)]
struct Counts {
    sent: AtomicU64,
    retried: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
    waiting: AtomicI64,
    given_up: AtomicI64,
    oldest_waiting_seconds: AtomicI64,
}

/// One reading of [`MailStats`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MailSnapshot {
    /// Messages sent by this process.
    pub sent: u64,
    /// Failed sends that will be retried.
    pub retried: u64,
    /// Messages given up on by this process.
    pub failed: u64,
    /// Messages that no longer applied, completed unsent.
    pub dropped: u64,
    /// Messages waiting in the outbox (all instances), at the last pass.
    pub waiting: i64,
    /// Messages given up on in the outbox (all instances, until purged).
    pub given_up: i64,
    /// Age of the oldest waiting message, in seconds (0 when none).
    pub oldest_waiting_seconds: i64,
}

impl MailStats {
    fn add(&self, report: &DeliveryReport) {
        let counts = &self.0;
        counts.sent.fetch_add(report.sent.into(), Ordering::Relaxed);
        counts
            .retried
            .fetch_add(report.retried.into(), Ordering::Relaxed);
        counts
            .failed
            .fetch_add(report.failed.into(), Ordering::Relaxed);
        counts
            .dropped
            .fetch_add(report.dropped.into(), Ordering::Relaxed);
    }

    /// The counts now.
    pub fn snapshot(&self) -> MailSnapshot {
        let counts = &self.0;
        MailSnapshot {
            sent: counts.sent.load(Ordering::Relaxed),
            retried: counts.retried.load(Ordering::Relaxed),
            failed: counts.failed.load(Ordering::Relaxed),
            dropped: counts.dropped.load(Ordering::Relaxed),
            waiting: counts.waiting.load(Ordering::Relaxed),
            given_up: counts.given_up.load(Ordering::Relaxed),
            oldest_waiting_seconds: counts.oldest_waiting_seconds.load(Ordering::Relaxed),
        }
    }
}

/// Sends due mail every `interval`, until the task is aborted.
pub async fn deliver_periodically<S, T, C>(
    auth: Authenticator<S>,
    transport: T,
    composer: C,
    interval: Duration,
    stats: MailStats,
) where
    S: Store,
    T: MailTransport,
    C: MailComposer,
{
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        loop {
            match auth.deliver_mail(&transport, &composer, BATCH).await {
                Ok(report) => {
                    for failure in &report.failures {
                        // The transport's words (an SMTP reply), never a body.
                        tracing::warn!(
                            mail_id = %failure.id,
                            kind = failure.kind.as_str(),
                            error = %failure.error,
                            retry_at = %failure
                                .retry_at
                                .map_or_else(|| "never (given up)".to_owned(), |at| at.to_rfc3339()),
                            "mail not sent"
                        );
                    }
                    if report.claimed() > 0 {
                        tracing::info!(
                            sent = report.sent,
                            retried = report.retried,
                            failed = report.failed,
                            dropped = report.dropped,
                            "outbox pass"
                        );
                    }
                    stats.add(&report);
                    if report.claimed() < BATCH {
                        break;
                    }
                }
                Err(error) => {
                    tracing::warn!(error = %crate::error::error_chain(&error), "outbox pass failed");
                    break;
                }
            }
        }
        record_outbox(&auth, &stats).await;
    }
}

async fn record_outbox<S: Store>(auth: &Authenticator<S>, stats: &MailStats) {
    let Ok(outbox) = auth.store().outbox_stats().await else {
        return;
    };
    let counts = &stats.0;
    let to_i64 = |n: u64| i64::try_from(n).unwrap_or(i64::MAX);
    counts
        .waiting
        .store(to_i64(outbox.waiting), Ordering::Relaxed);
    counts
        .given_up
        .store(to_i64(outbox.failed), Ordering::Relaxed);
    let age = outbox.oldest_waiting.map_or(0, |oldest| {
        (chrono::Utc::now() - oldest).num_seconds().max(0)
    });
    counts.oldest_waiting_seconds.store(age, Ordering::Relaxed);
}
