//! Confirming cached sessions against a shared store's [`RevocationLog`],
//! with one query for every request waiting at that moment.
//!
//! The rule: a request that finds its session in the cache is served only
//! after a log read that *started after the request arrived* has been
//! applied. Every revocation that answered before the request arrived had
//! committed by then, so that read returns it (the log lists entries in
//! commit order, and this process has applied every entry up to the position
//! it asks after), and applying it evicted the session. This is how
//! consensus systems batch linearizable reads (Raft's read index): requests
//! that arrive while one read is in flight are all confirmed by the next
//! single read, so the cost is one query per round trip, not per request.
//!
//! Rounds are numbered. A request notes the number of the round after the
//! last one started; whoever finds no round running starts the next one
//! (the request itself: no background task to forget or to starve), and
//! everyone waits until a round at least that number has finished.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::sync::watch;

use crate::{LeaseHolder, LogPosition, LoggedRevocation, RevocationLog, StoreError};

use super::Inner;
use super::lease::Lease;

/// Entries read per round. A process that fell further behind than this
/// (it has just started, or the log held a burst of entries) drops its
/// whole cache rather than apply them one by one, and goes on from the
/// log's newest entry.
pub(super) const PAGE: u32 = 512;

type Page<'a> =
    Pin<Box<dyn Future<Output = Result<Vec<LoggedRevocation>, StoreError>> + Send + 'a>>;
type Answer<'a, T> = Pin<Box<dyn Future<Output = Result<T, StoreError>> + Send + 'a>>;

/// [`RevocationLog`] behind a pointer: the cache is not generic over the store.
pub(super) trait ErasedLog: Send + Sync {
    fn after(&self, after: LogPosition, limit: u32) -> Page<'_>;
    fn last(&self) -> Answer<'_, LogPosition>;
    fn grants(&self) -> bool;
    fn renew(
        &self,
        holder: LeaseHolder,
        applied: LogPosition,
        length: Duration,
    ) -> Answer<'_, bool>;
    fn behind(&self, position: LogPosition, other_than: Option<LeaseHolder>) -> Answer<'_, bool>;
    fn release(&self, holder: LeaseHolder) -> Answer<'_, ()>;
    fn signal(&self) -> Option<crate::AppendSignal>;
}

impl<L: RevocationLog> ErasedLog for L {
    fn after(&self, after: LogPosition, limit: u32) -> Page<'_> {
        Box::pin(self.revocations_after(after, limit))
    }

    fn last(&self) -> Answer<'_, LogPosition> {
        Box::pin(self.last_position())
    }

    fn grants(&self) -> bool {
        self.grants_leases()
    }

    fn renew(
        &self,
        holder: LeaseHolder,
        applied: LogPosition,
        length: Duration,
    ) -> Answer<'_, bool> {
        Box::pin(self.renew_lease(holder, applied, length))
    }

    fn behind(&self, position: LogPosition, other_than: Option<LeaseHolder>) -> Answer<'_, bool> {
        Box::pin(self.leases_behind(position, other_than))
    }

    fn release(&self, holder: LeaseHolder) -> Answer<'_, ()> {
        Box::pin(self.release_lease(holder))
    }

    fn signal(&self) -> Option<crate::AppendSignal> {
        self.append_signal()
    }
}

#[derive(Default)]
struct Rounds {
    /// The number of the last round started.
    started: u64,
    running: bool,
}

#[derive(Debug, Clone, Copy, Default)]
struct Finished {
    round: u64,
    outcome: Outcome,
}

/// How a confirmation round ended.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(super) enum Outcome {
    /// The log was read and applied: the cache may serve.
    Confirmed,
    /// The log could not be read: the store is failing, and a read of the
    /// session would wait for it again.
    StoreFailed,
    /// The request leading the round was dropped before it ended.
    #[default]
    Abandoned,
}

pub(super) struct Confirmations {
    log: Arc<dyn ErasedLog>,
    rounds: Mutex<Rounds>,
    /// `rounds.started`, readable without the lock (written under it,
    /// before the round's read is sent).
    started: AtomicU64,
    finished: watch::Sender<Finished>,
    /// The last log position applied to the cache (written by a round's leader only).
    applied: AtomicU64,
    /// While it holds, hits need no round (`lease.rs`).
    pub(super) lease: Lease,
}

impl Confirmations {
    pub(super) fn new(log: Arc<dyn ErasedLog>) -> Self {
        Self {
            log,
            rounds: Mutex::new(Rounds::default()),
            started: AtomicU64::new(0),
            finished: watch::Sender::new(Finished::default()),
            applied: AtomicU64::new(LogPosition::START.get()),
            lease: Lease::new(),
        }
    }

    pub(super) fn log(&self) -> &dyn ErasedLog {
        &*self.log
    }

    /// The last log position applied to the cache.
    pub(super) fn applied(&self) -> LogPosition {
        LogPosition::new(self.applied.load(Ordering::Acquire))
    }

    /// Rounds started so far: requests served per round show the batching.
    pub(super) fn rounds(&self) -> u64 {
        self.started.load(Ordering::Acquire)
    }

    /// The number of the next round: any round numbered this or higher
    /// starts after this call (a round's number is published before its
    /// read is sent).
    pub(super) fn next_round(&self) -> u64 {
        self.started.load(Ordering::Acquire) + 1
    }

    /// Waits until a round numbered `needed` or higher (from
    /// [`Confirmations::next_round`] when the request arrived) has ended and
    /// returns how; anything but [`Outcome::Confirmed`] means: do not trust
    /// the cache now.
    pub(super) async fn confirm(&self, cache: &Inner, needed: u64) -> Outcome {
        let mut finished = self.finished.subscribe();
        loop {
            let last = *finished.borrow_and_update();
            if last.round >= needed {
                return last.outcome;
            }
            let lead = {
                let mut rounds = self.lock();
                if rounds.running {
                    None
                } else {
                    rounds.running = true;
                    rounds.started += 1;
                    self.started.store(rounds.started, Ordering::Release);
                    Some(rounds.started)
                }
            };
            match lead {
                Some(round) => {
                    let mut leader = Leader {
                        confirmations: self,
                        round,
                        outcome: Outcome::Abandoned,
                    };
                    leader.outcome = self.read_and_apply(cache).await;
                }
                None => {
                    if finished.changed().await.is_err() {
                        return Outcome::Abandoned;
                    }
                }
            }
        }
    }

    async fn read_and_apply(&self, cache: &Inner) -> Outcome {
        let after = LogPosition::new(self.applied.load(Ordering::Acquire));
        let Ok(entries) = self.log.after(after, PAGE).await else {
            return Outcome::StoreFailed;
        };
        let Some(last) = entries.last() else {
            return Outcome::Confirmed;
        };
        if entries.len() >= PAGE as usize || last.position <= after {
            // Far behind, or a log that went backwards (a restored
            // database): nothing cached can be vouched for. Drop it all
            // and go on from the newest entry, read *before* the clear: a
            // revocation at or below it committed before, so whatever is
            // cached after the clear was read after it, and a read from
            // before the clear is undone by the generation it bumps.
            let Ok(newest) = self.log.last().await else {
                return Outcome::StoreFailed;
            };
            cache.clear();
            self.applied.store(newest.get(), Ordering::Release);
            return Outcome::Confirmed;
        }
        for entry in &entries {
            cache.revoke(entry.revocation);
        }
        self.applied.store(last.position.get(), Ordering::Release);
        Outcome::Confirmed
    }

    fn lock(&self) -> MutexGuard<'_, Rounds> {
        // Nothing panics while holding it; a poisoned lock still holds valid counters.
        self.rounds.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Finishes a round however its leader ends, dropped mid-read included, so
/// that the requests waiting on it never wait forever.
struct Leader<'a> {
    confirmations: &'a Confirmations,
    round: u64,
    outcome: Outcome,
}

impl Drop for Leader<'_> {
    fn drop(&mut self) {
        self.confirmations.lock().running = false;
        self.confirmations.finished.send_replace(Finished {
            round: self.round,
            outcome: self.outcome,
        });
    }
}
