//! An in-process cache of authenticated sessions, so that checking a session
//! (every protected request) usually costs no database round trip.
//!
//! Correctness rules, since a logout must be immediate:
//!
//! - Local revocations (logout, logout everywhere, password change) remove
//!   entries synchronously, before the use case returns.
//! - When other processes share the store, use [`SessionCache::validated`]:
//!   every hit is confirmed by reading the session row (one indexed read
//!   instead of two), so another instance's logout counts at once, whatever
//!   the delay of any feed.
//! - Revocations made by *other* instances also arrive as [`CacheEvent`]s
//!   from the store's revocation feed (PostgreSQL `LISTEN/NOTIFY`), which
//!   evicts entries early. While the feed is not connected the cache is
//!   suspended (every lookup goes to the store), and it is cleared whenever
//!   the feed (re)connects, since events may have been missed.
//! - A lookup that read the store before a revocation and writes the cache
//!   after it must not resurrect the session: every invalidation bumps a
//!   generation counter, and an insert made under an older generation is
//!   undone.
//! - Entries also expire after a short time-to-live, bounding staleness of
//!   anything the feed does not cover (an operator deleting rows by hand).
//!
//! Expiry (idle, absolute) is never cached: it is checked on every hit
//! against the injected clock.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use moka::sync::Cache;

use crate::{Authenticated, SessionId, UserId};

/// What a revocation feed reports.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CacheEvent {
    /// The feed is connected: from now on no revocation is missed.
    Listening,
    /// The feed is disconnected: revocations may be missed until `Listening`.
    Lost,
    /// A session was revoked somewhere.
    SessionRevoked(SessionId),
    /// All sessions of a user were revoked somewhere.
    UserRevoked(UserId),
}

/// Bounded, time-limited cache of [`Authenticated`] by [`SessionId`]. Clones share it.
///
/// ```
/// use auth_core::SessionCache;
/// use std::time::Duration;
///
/// let cache = SessionCache::new(10_000, Duration::from_secs(60));
/// assert!(cache.is_enabled());
/// assert!(!SessionCache::disabled().is_enabled());
/// ```
#[derive(Clone)]
pub struct SessionCache {
    inner: Option<Arc<Inner>>,
}

struct Inner {
    entries: Cache<SessionId, Arc<Authenticated>>,
    /// When set, a hit still asks the store whether the session exists (one
    /// indexed read instead of two): for stores shared by several processes,
    /// where another instance's revocation may not have reached this cache yet.
    validate_hits: bool,
    generation: AtomicU64,
    /// `false` while a revocation feed that should be connected is not.
    active: AtomicBool,
}

impl fmt::Debug for SessionCache {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.inner {
            None => f.write_str("SessionCache(disabled)"),
            Some(inner) => f
                .debug_struct("SessionCache")
                .field("entries", &inner.entries.entry_count())
                .field("active", &inner.active.load(Ordering::SeqCst))
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
    /// A cache of at most `capacity` sessions, each trusted for at most `ttl`.
    /// A zero capacity or TTL gives a disabled cache.
    pub fn new(capacity: u64, ttl: Duration) -> Self {
        if capacity == 0 || ttl.is_zero() {
            return Self::disabled();
        }
        let entries = Cache::builder()
            .max_capacity(capacity)
            .time_to_live(ttl)
            .support_invalidation_closures()
            .build();
        Self {
            inner: Some(Arc::new(Inner {
                entries,
                validate_hits: false,
                generation: AtomicU64::new(0),
                active: AtomicBool::new(true),
            })),
        }
    }

    /// A cache whose hits are confirmed against the store (the session row
    /// still exists) before they are served. Use it when other processes can
    /// revoke sessions in the same store: a logout on another instance is then
    /// seen at once, whatever the revocation feed's delay; the cache still
    /// saves the user lookup. Feed events keep evicting entries early.
    ///
    /// ```
    /// use auth_core::SessionCache;
    /// use std::time::Duration;
    /// assert!(SessionCache::validated(100, Duration::from_secs(5)).validates_hits());
    /// ```
    pub fn validated(capacity: u64, ttl: Duration) -> Self {
        let cache = Self::new(capacity, ttl);
        match cache.inner {
            Some(inner) => match Arc::try_unwrap(inner) {
                Ok(mut inner) => {
                    inner.validate_hits = true;
                    Self {
                        inner: Some(Arc::new(inner)),
                    }
                }
                Err(shared) => Self {
                    inner: Some(shared),
                },
            },
            None => Self::disabled(),
        }
    }

    /// Whether hits are confirmed against the store before being served.
    pub fn validates_hits(&self) -> bool {
        self.inner.as_ref().is_some_and(|inner| inner.validate_hits)
    }

    /// A cache that never holds anything (every lookup goes to the store).
    pub fn disabled() -> Self {
        Self { inner: None }
    }

    /// Whether the cache can hold entries at all.
    pub fn is_enabled(&self) -> bool {
        self.inner.is_some()
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

    /// Stops serving and storing entries until [`CacheEvent::Listening`]:
    /// for a store with a revocation feed, call this before serving.
    pub fn suspend(&self) {
        if let Some(inner) = &self.inner {
            inner.active.store(false, Ordering::SeqCst);
            self.clear();
        }
    }

    /// Applies a revocation feed event.
    ///
    /// ```
    /// use auth_core::{CacheEvent, SessionCache};
    /// use std::time::Duration;
    ///
    /// let cache = SessionCache::new(100, Duration::from_secs(60));
    /// cache.apply(CacheEvent::Lost);
    /// assert!(!cache.is_serving());
    /// cache.apply(CacheEvent::Listening);
    /// assert!(cache.is_serving());
    /// ```
    pub fn apply(&self, event: CacheEvent) {
        let Some(inner) = &self.inner else {
            return;
        };
        match event {
            CacheEvent::Listening => {
                // Events may have been missed while disconnected.
                self.clear();
                inner.active.store(true, Ordering::SeqCst);
            }
            CacheEvent::Lost => self.suspend(),
            CacheEvent::SessionRevoked(id) => self.invalidate_session(&id),
            CacheEvent::UserRevoked(user_id) => self.invalidate_user(user_id),
        }
    }

    /// Whether lookups may currently be answered from the cache.
    pub fn is_serving(&self) -> bool {
        self.inner
            .as_ref()
            .is_some_and(|inner| inner.active.load(Ordering::SeqCst))
    }

    /// The generation to pass to [`SessionCache::insert`], read *before* the store.
    pub(crate) fn generation(&self) -> u64 {
        self.inner
            .as_ref()
            .map_or(0, |inner| inner.generation.load(Ordering::SeqCst))
    }

    /// A cached session, if serving.
    pub fn get(&self, id: &SessionId) -> Option<Authenticated> {
        let inner = self.inner.as_ref()?;
        if !inner.active.load(Ordering::SeqCst) {
            return None;
        }
        inner
            .entries
            .get(id)
            .map(|entry| Authenticated::clone(&entry))
    }

    /// Caches what the store said at `generation`. If anything was
    /// invalidated since, the entry is removed again: it may be stale.
    pub(crate) fn insert(&self, id: SessionId, value: Authenticated, generation: u64) {
        let Some(inner) = &self.inner else {
            return;
        };
        if !inner.active.load(Ordering::SeqCst) {
            return;
        }
        inner.entries.insert(id, Arc::new(value));
        if inner.generation.load(Ordering::SeqCst) != generation {
            inner.entries.invalidate(&id);
        }
    }

    /// Forgets one session.
    pub fn invalidate_session(&self, id: &SessionId) {
        if let Some(inner) = &self.inner {
            inner.generation.fetch_add(1, Ordering::SeqCst);
            inner.entries.invalidate(id);
        }
    }

    /// Forgets every session of a user.
    pub fn invalidate_user(&self, user_id: UserId) {
        if let Some(inner) = &self.inner {
            inner.generation.fetch_add(1, Ordering::SeqCst);
            // Only fails when closures are not enabled, which `new` always does;
            // fall back to dropping everything rather than keep a revoked session.
            if inner
                .entries
                .invalidate_entries_if(move |_, entry| entry.user.id == user_id)
                .is_err()
            {
                inner.entries.invalidate_all();
            }
        }
    }

    /// Forgets everything.
    pub fn clear(&self) {
        if let Some(inner) = &self.inner {
            inner.generation.fetch_add(1, Ordering::SeqCst);
            inner.entries.invalidate_all();
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::Utc;

    use super::*;
    use crate::{PasswordHash, SessionPolicy, User, Username};

    fn entry(name: &str) -> (SessionId, Authenticated) {
        let now = Utc::now();
        let user = User {
            id: UserId::new(),
            username: Username::parse(name).unwrap(),
            password_hash: PasswordHash::from_stored("$scrypt$"),
            created_at: now,
            updated_at: now,
        };
        let (_, session) = SessionPolicy::default().start(user.id, now).unwrap();
        (session.id, Authenticated { user, session })
    }

    fn cache() -> SessionCache {
        SessionCache::new(100, Duration::from_secs(60))
    }

    #[test]
    fn an_insert_is_served_until_invalidated() {
        let cache = cache();
        let (id, value) = entry("alice");
        cache.insert(id, value.clone(), cache.generation());
        assert_eq!(cache.get(&id).map(|hit| hit.user.id), Some(value.user.id));
        cache.invalidate_session(&id);
        assert!(cache.get(&id).is_none());
    }

    #[test]
    fn an_insert_from_before_an_invalidation_does_not_resurrect_the_session() {
        let cache = cache();
        let (id, value) = entry("alice");
        let generation = cache.generation(); // the lookup reads the store...
        cache.invalidate_session(&id); // ...a logout lands...
        cache.insert(id, value, generation); // ...then the lookup writes the cache.
        assert!(cache.get(&id).is_none());
    }

    #[test]
    fn invalidating_a_user_drops_all_their_sessions_only() {
        let cache = cache();
        let (a1, alice) = entry("alice");
        let (a2, mut alice2) = entry("alice");
        alice2.user = alice.user.clone();
        let (b, bob) = entry("bob");
        for (id, value) in [(a1, alice.clone()), (a2, alice2), (b, bob)] {
            cache.insert(id, value, cache.generation());
        }
        cache.invalidate_user(alice.user.id);
        assert!(cache.get(&a1).is_none());
        assert!(cache.get(&a2).is_none());
        assert!(cache.get(&b).is_some());
    }

    #[test]
    fn a_lost_feed_suspends_and_clears_and_listening_resumes_empty() {
        let cache = cache();
        let (id, value) = entry("alice");
        cache.insert(id, value.clone(), cache.generation());
        cache.apply(CacheEvent::Lost);
        assert!(cache.get(&id).is_none());
        cache.insert(id, value.clone(), cache.generation());
        assert!(
            cache.get(&id).is_none(),
            "nothing is stored while suspended"
        );
        cache.apply(CacheEvent::Listening);
        assert!(cache.get(&id).is_none(), "resumes empty");
        cache.insert(id, value, cache.generation());
        assert!(cache.get(&id).is_some());
    }

    #[test]
    fn remote_revocations_apply() {
        let cache = cache();
        let (id, value) = entry("alice");
        let user = value.user.id;
        cache.insert(id, value.clone(), cache.generation());
        cache.apply(CacheEvent::SessionRevoked(id));
        assert!(cache.get(&id).is_none());
        cache.insert(id, value, cache.generation());
        cache.apply(CacheEvent::UserRevoked(user));
        assert!(cache.get(&id).is_none());
    }

    #[test]
    fn a_disabled_cache_holds_nothing() {
        let cache = SessionCache::new(0, Duration::from_secs(60));
        let (id, value) = entry("alice");
        cache.insert(id, value, 0);
        assert!(cache.get(&id).is_none());
        assert!(!cache.is_enabled());
    }
}
