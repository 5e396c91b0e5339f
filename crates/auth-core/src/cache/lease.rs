//! Cache leases: how a shared cache serves hits without a log read each.
//!
//! A [`LeaseKeeper`] reads the revocation log every `poll` (and at once
//! when the store signals an append: [`crate::AppendSignal`]) and, once it has
//! applied everything up to the log's newest position, asks the store for a
//! lease at that position ([`RevocationLog::renew_lease`]). While the lease
//! holds by this process's clock, hits are served at once. A writer, after
//! its change committed, waits until no live lease is behind its entry
//! ([`settle`]), so when a logout answers, every instance either has applied
//! it or has stopped trusting its cache (its lease ended) and confirms each
//! hit with a log read again (`confirm.rs`). The argument is in
//! `docs/architecture.md`.
//!
//! Clocks: the store dates a lease from the moment it grants it, by its own
//! clock; this process trusts it from *before* it asked, for nine tenths of
//! its length. So the lease ends here before it ends in the store, however
//! long the request took, as long as the two clocks run at nearly the same
//! rate (which a tenth of the length covers many times over).
//!
//! [`RevocationLog::renew_lease`]: crate::RevocationLog::renew_lease

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use crate::{LeaseHolder, LogPosition, MAX_CACHE_LEASE};

use super::Inner;
use super::confirm::{ErasedLog, Outcome};

/// How a shared cache keeps its lease.
///
/// ```
/// use auth_core::LeasePolicy;
/// use std::time::Duration;
/// let policy = LeasePolicy::default();
/// assert_eq!(policy.length, Duration::from_secs(2));
/// assert!(policy.poll < policy.signalled_poll);
/// assert!(policy.signalled_poll < policy.length / 2);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LeasePolicy {
    /// How long one grant lasts (capped at [`MAX_CACHE_LEASE`]): the longest
    /// a write waits for an instance that stopped renewing.
    pub length: Duration,
    /// How often the log is read when the store gives no append hint
    /// ([`crate::AppendSignal`]): about how long a write waits for a live
    /// instance to apply it.
    pub poll: Duration,
    /// How often the log is read when the store does give one: the hint
    /// wakes the keeper at each append, so this only bounds how long a write
    /// waits when a hint is lost (its channel dropped).
    pub signalled_poll: Duration,
}

impl Default for LeasePolicy {
    fn default() -> Self {
        Self {
            length: Duration::from_secs(2),
            // Each poll is a query; at 5 ms an idle instance spent 8 % of
            // a core on them (server and PostgreSQL backend together).
            poll: Duration::from_millis(20),
            // A fifth of the reads; renewals still come every second.
            signalled_poll: Duration::from_millis(100),
        }
    }
}

/// This process's side of its lease: until when it may serve hits unread.
pub(super) struct Lease {
    pub(super) holder: LeaseHolder,
    base: Instant,
    /// Nanoseconds after `base` at which the lease ends here; 0: none.
    until: AtomicU64,
}

impl Lease {
    pub(super) fn new() -> Self {
        Self {
            holder: LeaseHolder::new(),
            base: Instant::now(),
            until: AtomicU64::new(0),
        }
    }

    /// Whether hits may be served without a log read now.
    pub(super) fn holds(&self) -> bool {
        let until = self.until.load(Ordering::Acquire);
        until != 0 && self.nanos(Instant::now()) < until
    }

    /// How long the lease still holds here.
    fn remaining(&self) -> Duration {
        let until = self.until.load(Ordering::Acquire);
        Duration::from_nanos(until.saturating_sub(self.nanos(Instant::now())))
    }

    /// The store granted a lease of `length` asked for at `asked`.
    fn granted(&self, asked: Instant, length: Duration) {
        let trusted = length.min(MAX_CACHE_LEASE).mul_f64(0.9);
        self.until
            .store(self.nanos(asked + trusted).max(1), Ordering::Release);
    }

    /// Stops trusting the lease at once.
    pub(super) fn end(&self) {
        self.until.store(0, Ordering::Release);
    }

    fn nanos(&self, at: Instant) -> u64 {
        u64::try_from(at.saturating_duration_since(self.base).as_nanos()).unwrap_or(u64::MAX)
    }
}

/// Keeps a shared cache's lease: run [`LeaseKeeper::run`] on the runtime
/// for as long as the cache serves (the server spawns it). Built by
/// [`crate::SessionCache::lease_keeper`].
pub struct LeaseKeeper {
    pub(super) inner: Arc<Inner>,
    pub(super) policy: LeasePolicy,
}

impl std::fmt::Debug for LeaseKeeper {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LeaseKeeper")
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}

impl LeaseKeeper {
    /// Reads the log every `poll` and renews the lease whenever it has
    /// applied new entries or half of it has passed; never returns. A failed
    /// read or renewal ends the lease here at once: hits then wait for a log
    /// read each, as without a lease, until a renewal succeeds again.
    pub async fn run(self) {
        let Some(confirmations) = self.inner.confirmations.as_ref() else {
            return;
        };
        let lease = &confirmations.lease;
        let mut granted_at: Option<LogPosition> = None;
        let mut refused = 0_u32;
        // With a store's hint, an append is applied as soon as it is
        // announced; the poll stays as the backstop for a lost hint.
        let mut signal = confirmations.log().signal();
        loop {
            let asked = Instant::now();
            let round = confirmations.next_round();
            let outcome = confirmations.confirm(&self.inner, round).await;
            if outcome == Outcome::StoreFailed {
                // Cut off from the log: trust nothing from now on (hits
                // wait for reads, which fail until the store is back).
                lease.end();
            }
            if outcome == Outcome::Confirmed {
                let applied = confirmations.applied();
                let due = granted_at != Some(applied) || lease.remaining() < self.policy.length / 2;
                if due {
                    match confirmations
                        .log()
                        .renew(lease.holder, applied, self.policy.length)
                        .await
                    {
                        Ok(true) => {
                            lease.granted(asked, self.policy.length);
                            granted_at = Some(applied);
                            refused = 0;
                        }
                        // An entry committed after the read: read again at
                        // once (a writer is waiting for it), a few times.
                        Ok(false) if refused < 3 => {
                            refused += 1;
                            continue;
                        }
                        Ok(false) => refused = 0,
                        Err(_) => {
                            lease.end();
                            refused = 0;
                        }
                    }
                }
            }
            match signal.as_mut() {
                // Whichever comes first: an append announced, or the poll.
                Some(signal) => {
                    let poll = self.policy.signalled_poll;
                    let _ = tokio::time::timeout(poll, signal.appended()).await;
                }
                None => tokio::time::sleep(self.policy.poll).await,
            }
        }
    }
}

/// How often a writer looks at the leases while one is behind it.
const SETTLE_POLL: Duration = Duration::from_millis(1);

/// Waits until no live lease of `log` but `own` (the caller's cache, which
/// it updated itself) is behind the log's newest position as of this call
/// (the caller's own entry committed before it), or until
/// [`MAX_CACHE_LEASE`] has passed: every lease granted before that commit
/// has ended by then, and none granted after it can be behind it. A store
/// that cannot be read is waited out the same way.
pub(super) async fn settle(log: &dyn ErasedLog, own: Option<LeaseHolder>) {
    if !log.grants() {
        return;
    }
    let deadline = Instant::now() + MAX_CACHE_LEASE;
    let position = loop {
        match log.last().await {
            Ok(position) => break position,
            Err(_) if Instant::now() < deadline => tokio::time::sleep(SETTLE_POLL).await,
            Err(_) => return,
        }
    };
    while Instant::now() < deadline {
        if let Ok(false) = log.behind(position, own).await {
            return;
        }
        tokio::time::sleep(SETTLE_POLL).await;
    }
}
