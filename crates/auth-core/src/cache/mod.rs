//! An in-process cache of authenticated sessions, so that checking a session
//! (every protected request) usually costs no database round trip.
//!
//! Correctness rules, since a logout must be immediate:
//!
//! - Local revocations (logout, logout everywhere, password change) remove
//!   entries synchronously, before the use case returns.
//! - When other processes share the store, use [`SessionCache::shared`]: a
//!   hit is served only once a read of the store's [`RevocationLog`] that
//!   started after the request arrived has been applied (`confirm.rs`), so
//!   another instance's logout that answered before the request counts. One
//!   read confirms every request waiting at that moment.
//! - A lookup that read the store before a revocation and writes the cache
//!   after it must not resurrect the session: every invalidation bumps a
//!   generation counter, and an insert made under an older generation is
//!   undone.
//! - Entries also expire after a short time-to-live, bounding staleness of
//!   anything no log covers (an operator deleting rows by hand).
//!
//! Expiry (idle, absolute) is never trusted from the cache: a hit that looks
//! expired is read again from the store, which decides.
//!
//! The cache also keeps, per user, the session list (what `GET /sessions`
//! shows) and the second factors' summary (what `GET /me` shows): every
//! change this process makes to them (a login, a touch, a revocation; a
//! factor enabled, removed or a recovery code spent) drops them under the
//! same generation rule. Another process's changes reach a shared cache
//! through the log, which has an entry for each of them (a new session is
//! logged as [`Revocation::SessionList`], a factor change as
//! [`Revocation::SecondFactors`]: neither drops the user's cached
//! sessions), so its hits on these wait for a confirmation too. Only a touch
//! of last-seen is not logged: another instance's list may show it up to the
//! time-to-live late.

mod confirm;
mod lease;

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use moka::sync::Cache;

use crate::{
    Authenticated, REVOCATION_LOG_RETENTION, Revocation, RevocationLog, SessionId, StoreError,
    UserId,
};

use confirm::{Confirmations, ErasedLog, Outcome};
pub use lease::{LeaseKeeper, LeasePolicy};

/// When a request arrived, as a shared cache counts it: the first
/// confirmation round that starts after it. A request's later lookups (its
/// session, then its session list or factors) can all be confirmed by that
/// one round: each needs only a log read that started after the request
/// arrived. Always 0 for a cache that trusts itself.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub(crate) struct Arrival(u64);

/// Bounded, time-limited cache of [`Authenticated`] by [`SessionId`]. Clones share it.
///
/// ```
/// use auth_core::SessionCache;
/// use std::time::Duration;
///
/// let cache = SessionCache::new(10_000, Duration::from_secs(60));
/// assert!(cache.is_enabled());
/// assert!(!cache.is_shared());
/// assert!(!SessionCache::disabled().is_enabled());
/// ```
#[derive(Clone)]
pub struct SessionCache {
    inner: Option<Arc<Inner>>,
    /// The shared store's log, kept even when nothing is cached: this
    /// process's writes still wait for other instances' leases.
    log: Option<Arc<dyn ErasedLog>>,
}

/// Per-user reads.
struct Views {
    /// Each user's sessions as the store listed them (expired ones too).
    sessions: Cache<UserId, Arc<Vec<crate::Session>>>,
    /// Each user's second factors.
    factors: Cache<UserId, crate::SecondFactors>,
}

struct Inner {
    entries: Cache<SessionId, Arc<Authenticated>>,
    /// What is kept per user.
    views: Views,
    generation: AtomicU64,
    /// Sessions served from the cache.
    hits: AtomicU64,
    /// For a store shared by several processes: hits wait for the log.
    confirmations: Option<Confirmations>,
}

impl fmt::Debug for SessionCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            None => f.write_str("SessionCache(disabled)"),
            Some(inner) => f
                .debug_struct("SessionCache")
                .field("entries", &inner.entries.entry_count())
                .field("shared", &inner.confirmations.is_some())
                .finish(),
        }
    }
}

impl Default for SessionCache {
    fn default() -> Self {
        Self::disabled()
    }
}

impl SessionCache {
    /// A cache of at most `capacity` sessions, each trusted for at most `ttl`,
    /// for a store no other process revokes sessions in. A zero capacity or
    /// TTL gives a disabled cache.
    pub fn new(capacity: u64, ttl: Duration) -> Self {
        Self::build(capacity, ttl, None)
    }

    /// A cache for a store that other processes revoke sessions in too: a
    /// hit is served only after a read of `log` that started after the
    /// request arrived, so a logout that answered anywhere before counts
    /// here. Requests waiting at the same time share one read. `ttl` is
    /// capped at a quarter of [`REVOCATION_LOG_RETENTION`], so that no entry
    /// outlives the log entries that could concern it.
    ///
    /// ```
    /// use auth_core::{MemoryStore, SessionCache};
    /// use std::time::Duration;
    ///
    /// let cache = SessionCache::shared(100, Duration::from_secs(5), MemoryStore::new());
    /// assert!(cache.is_shared());
    /// assert_eq!(cache.confirmation_rounds(), 0);
    /// ```
    pub fn shared<L: RevocationLog + 'static>(capacity: u64, ttl: Duration, log: L) -> Self {
        let ttl = ttl.min(REVOCATION_LOG_RETENTION / 4);
        let log: Arc<dyn ErasedLog> = Arc::new(log);
        Self {
            log: Some(log.clone()),
            ..Self::build(capacity, ttl, Some(Confirmations::new(log)))
        }
    }

    fn build(capacity: u64, ttl: Duration, confirmations: Option<Confirmations>) -> Self {
        if capacity == 0 || ttl.is_zero() {
            return Self::disabled();
        }
        let entries = Cache::builder()
            .max_capacity(capacity)
            .time_to_live(ttl)
            .support_invalidation_closures()
            .build();
        let views = Views {
            sessions: Cache::builder()
                .max_capacity(capacity)
                .time_to_live(ttl)
                .support_invalidation_closures()
                .build(),
            factors: Cache::builder()
                .max_capacity(capacity)
                .time_to_live(ttl)
                .build(),
        };
        Self {
            inner: Some(Arc::new(Inner {
                entries,
                views,
                generation: AtomicU64::new(0),
                hits: AtomicU64::new(0),
                confirmations,
            })),
            log: None,
        }
    }

    /// A cache that never holds anything (every lookup goes to the store).
    pub fn disabled() -> Self {
        Self {
            inner: None,
            log: None,
        }
    }

    /// Whether the cache can hold entries at all.
    pub fn is_enabled(&self) -> bool {
        self.inner.is_some()
    }

    /// Whether hits are confirmed against a shared store's revocation log.
    pub fn is_shared(&self) -> bool {
        self.inner
            .as_ref()
            .is_some_and(|inner| inner.confirmations.is_some())
    }

    /// What keeps this cache's lease ([`LeaseKeeper::run`]), if it is
    /// shared, enabled, its store grants leases and `policy.length` is not
    /// zero. Without one every hit waits for a log read.
    ///
    /// ```
    /// use auth_core::{LeasePolicy, MemoryStore, SessionCache};
    /// use std::time::Duration;
    ///
    /// let cache = SessionCache::shared(100, Duration::from_secs(5), MemoryStore::new());
    /// assert!(cache.lease_keeper(LeasePolicy::default()).is_some());
    /// assert!(!cache.is_leased()); // until the keeper's first grant
    /// let alone = SessionCache::new(100, Duration::from_secs(5));
    /// assert!(alone.lease_keeper(LeasePolicy::default()).is_none());
    /// ```
    pub fn lease_keeper(&self, policy: LeasePolicy) -> Option<LeaseKeeper> {
        let inner = self.inner.as_ref()?;
        let confirmations = inner.confirmations.as_ref()?;
        (confirmations.log().grants() && !policy.length.is_zero()).then(|| LeaseKeeper {
            inner: inner.clone(),
            policy,
        })
    }

    /// Whether hits are served without a log read now (a lease holds).
    pub fn is_leased(&self) -> bool {
        self.confirmations().is_some_and(|c| c.lease.holds())
    }

    /// Gives the lease up (a process shutting down, its keeper stopped):
    /// hits wait for log reads from now on, and no other instance's write
    /// waits for this one.
    pub async fn release_lease(&self) {
        if let Some(confirmations) = self.confirmations() {
            confirmations.lease.end();
            // A lease that could not be released runs out by itself.
            let _ = confirmations
                .log()
                .release(confirmations.lease.holder)
                .await;
        }
    }

    /// After a change that appended to a shared store's log has committed:
    /// waits until every other instance holding a lease has applied it, at
    /// most [`crate::MAX_CACHE_LEASE`] (`lease.rs`). At once for a store
    /// that grants no leases.
    pub(crate) async fn settle(&self) {
        if let Some(log) = &self.log {
            let own = self.confirmations().map(|c| c.lease.holder);
            lease::settle(&**log, own).await;
        }
    }

    fn confirmations(&self) -> Option<&Confirmations> {
        self.inner.as_ref()?.confirmations.as_ref()
    }

    /// How many revocation-log reads have confirmed hits so far (0 unless
    /// shared): hits served divided by this is the batching achieved.
    pub fn confirmation_rounds(&self) -> u64 {
        self.inner
            .as_ref()
            .and_then(|inner| inner.confirmations.as_ref())
            .map_or(0, Confirmations::rounds)
    }

    /// Session checks answered from the cache so far (a shared cache's
    /// after their confirmation or under its lease).
    pub fn hits(&self) -> u64 {
        self.inner
            .as_ref()
            .map_or(0, |inner| inner.hits.load(Ordering::Relaxed))
    }

    /// Entries currently held (approximate).
    pub fn len(&self) -> u64 {
        self.inner
            .as_ref()
            .map_or(0, |inner| inner.entries.entry_count())
    }

    /// Whether the cache holds nothing (approximate).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The generation to pass to [`SessionCache::insert`], read *before* the store.
    pub(crate) fn generation(&self) -> u64 {
        self.inner
            .as_ref()
            .map_or(0, |inner| inner.generation.load(Ordering::SeqCst))
    }

    /// A request arriving now: what its lookups pass.
    pub(crate) fn arrival(&self) -> Arrival {
        Arrival(
            self.inner
                .as_ref()
                .and_then(|inner| inner.confirmations.as_ref())
                .map_or(0, Confirmations::next_round),
        )
    }

    /// A cached session that may be served to a request that arrived at
    /// `arrival`: for a shared cache, after the revocation log has confirmed
    /// it. `None` when it is not cached or its round was abandoned (the
    /// caller reads the store).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the log could not be read: the store
    /// is failing, and reading the session from it would only wait again.
    pub(crate) async fn get(
        &self,
        id: &SessionId,
        arrival: Arrival,
    ) -> Result<Option<Authenticated>, StoreError> {
        let Some(inner) = self.inner.as_ref() else {
            return Ok(None);
        };
        let hit = inner.confirmed_get(&inner.entries, id, arrival).await?;
        if hit.is_some() {
            inner.hits.fetch_add(1, Ordering::Relaxed);
        }
        Ok(hit.map(|entry| Authenticated {
            arrival,
            ..Authenticated::clone(&entry)
        }))
    }

    /// Caches what the store said at `generation`. If anything was
    /// invalidated since, the entry is removed again: it may be stale.
    pub(crate) fn insert(&self, id: SessionId, value: Authenticated, generation: u64) {
        let Some(inner) = &self.inner else {
            return;
        };
        inner.entries.insert(id, Arc::new(value));
        if inner.generation.load(Ordering::SeqCst) != generation {
            inner.entries.invalidate(&id);
        }
    }

    /// The sessions of `user` as the store last listed them, if cached
    /// (and, for a shared cache, confirmed against the log as a session is).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the log could not be read.
    pub(crate) async fn sessions_of(
        &self,
        user: UserId,
        arrival: Arrival,
    ) -> Result<Option<Arc<Vec<crate::Session>>>, StoreError> {
        let Some(inner) = self.inner.as_ref() else {
            return Ok(None);
        };
        inner
            .confirmed_get(&inner.views.sessions, &user, arrival)
            .await
    }

    /// Keeps what the store listed for `user` at `generation`, unless
    /// anything was invalidated since (it may be stale then).
    pub(crate) fn insert_sessions_of(
        &self,
        user: UserId,
        sessions: Vec<crate::Session>,
        generation: u64,
    ) {
        if let Some(inner) = &self.inner {
            inner.keep(&inner.views.sessions, user, Arc::new(sessions), generation);
        }
    }

    /// A session of `user` was added or its times changed: its list is
    /// read again (no cached session is affected).
    pub(crate) fn sessions_changed(&self, user: UserId) {
        if let Some(inner) = &self.inner {
            inner.revoke(Revocation::SessionList(user));
        }
    }

    /// The second factors of `user`, if cached (and, for a shared cache,
    /// confirmed against the log).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] when the log could not be read.
    pub(crate) async fn factors_of(
        &self,
        user: UserId,
        arrival: Arrival,
    ) -> Result<Option<crate::SecondFactors>, StoreError> {
        let Some(inner) = self.inner.as_ref() else {
            return Ok(None);
        };
        inner
            .confirmed_get(&inner.views.factors, &user, arrival)
            .await
    }

    /// Keeps what the store said of `user`'s factors at `generation`,
    /// unless anything was invalidated since.
    pub(crate) fn insert_factors_of(
        &self,
        user: UserId,
        factors: crate::SecondFactors,
        generation: u64,
    ) {
        if let Some(inner) = &self.inner {
            inner.keep(&inner.views.factors, user, factors, generation);
        }
    }

    /// A factor of `user` was enabled, removed or spent: read them again.
    pub(crate) fn factors_changed(&self, user: UserId) {
        if let Some(inner) = &self.inner {
            inner.revoke(Revocation::SecondFactors(user));
        }
    }

    /// Forgets one session.
    pub fn invalidate_session(&self, id: &SessionId) {
        if let Some(inner) = &self.inner {
            inner.revoke(Revocation::Session(*id));
        }
    }

    /// Forgets every session of a user.
    pub fn invalidate_user(&self, user_id: UserId) {
        if let Some(inner) = &self.inner {
            inner.revoke(Revocation::User(user_id));
        }
    }

    /// Forgets everything.
    pub fn clear(&self) {
        if let Some(inner) = &self.inner {
            inner.clear();
        }
    }
}

impl Inner {
    /// Whether what is cached may be served to a request that arrived at
    /// `arrival`: always for a cache that trusts itself; for a shared one,
    /// once a log read that started after that has been applied (`false`:
    /// its round was abandoned, read the store).
    async fn confirmed(&self, arrival: Arrival) -> Result<bool, StoreError> {
        let Some(confirmations) = &self.confirmations else {
            return Ok(true);
        };
        match confirmations.confirm(self, arrival.0).await {
            Outcome::Confirmed => Ok(true),
            Outcome::Abandoned => Ok(false),
            Outcome::StoreFailed => Err(StoreError::unavailable(std::io::Error::other(
                "the revocation log could not be read",
            ))),
        }
    }

    /// What `cache` holds for `key`, once it may be served to a request
    /// that arrived at `arrival` ([`Inner::confirmed`]). A miss needs no
    /// confirmation: the caller reads the store anyway.
    async fn confirmed_get<K, V>(
        &self,
        cache: &Cache<K, V>,
        key: &K,
        arrival: Arrival,
    ) -> Result<Option<V>, StoreError>
    where
        K: std::hash::Hash + Eq + Send + Sync + 'static,
        V: Clone + Send + Sync + 'static,
    {
        let Some(value) = cache.get(key) else {
            return Ok(None);
        };
        match &self.confirmations {
            None => return Ok(Some(value)),
            Some(confirmations) if confirmations.lease.holds() => return Ok(Some(value)),
            Some(_) => {}
        }
        if !self.confirmed(arrival).await? {
            return Ok(None);
        }
        // Read again: the confirmation may just have evicted it.
        Ok(cache.get(key))
    }

    fn revoke(&self, revocation: Revocation) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        let views = &self.views;
        match revocation {
            Revocation::Session(id) => {
                self.entries.invalidate(&id);
                if views
                    .sessions
                    .invalidate_entries_if(move |_, list| list.iter().any(|s| s.id == id))
                    .is_err()
                {
                    views.sessions.invalidate_all();
                }
            }
            Revocation::User(user_id) => {
                views.sessions.invalidate(&user_id);
                views.factors.invalidate(&user_id);
                // Only fails when closures are not enabled, which `build`
                // always does; fall back to dropping everything rather than
                // keep a revoked session.
                if self
                    .entries
                    .invalidate_entries_if(move |_, entry| entry.user.id == user_id)
                    .is_err()
                {
                    self.entries.invalidate_all();
                }
            }
            Revocation::SessionList(user_id) => views.sessions.invalidate(&user_id),
            Revocation::SecondFactors(user_id) => views.factors.invalidate(&user_id),
        }
    }

    /// Inserts `value` read at `generation`; undone if anything was
    /// invalidated since (it may be stale then).
    fn keep<V: Clone + Send + Sync + 'static>(
        &self,
        cache: &Cache<UserId, V>,
        user: UserId,
        value: V,
        generation: u64,
    ) {
        cache.insert(user, value);
        if self.generation.load(Ordering::SeqCst) != generation {
            cache.invalidate(&user);
        }
    }

    fn clear(&self) {
        self.generation.fetch_add(1, Ordering::SeqCst);
        self.entries.invalidate_all();
        self.views.sessions.invalidate_all();
        self.views.factors.invalidate_all();
    }
}

#[cfg(test)]
mod tests;
