//! The session cache's tests (#[cfg(test)] mod tests; in `mod.rs`): only
//! `cargo test` compiles this file, and no request or flag reaches it.

// Tests: a failed expectation is meant to panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::sync::atomic::AtomicBool;

use chrono::Utc;

use super::*;
use crate::{
    LogPosition, LoggedRevocation, MemoryStore, PasswordHash, SessionPolicy, SessionStore,
    StoreError, User, UserRepository, Username,
};

fn entry(name: &str) -> (SessionId, Authenticated) {
    let now = Utc::now();
    let user = User {
        id: UserId::new(),
        username: Username::parse(name).unwrap(),
        password_hash: PasswordHash::from_stored("$scrypt$"),
        created_at: now,
        updated_at: now,
        email: None,
        disabled_at: None,
    };
    let (_, session) = SessionPolicy::default().start(user.id, now).unwrap();
    (
        session.id,
        Authenticated {
            user,
            session,
            arrival: Arrival::default(),
        },
    )
}

fn cache() -> SessionCache {
    SessionCache::new(100, Duration::from_secs(60))
}

#[tokio::test]
async fn an_insert_is_served_until_invalidated() {
    let cache = cache();
    let (id, value) = entry("alice");
    cache.insert(id, value.clone(), cache.generation());
    assert_eq!(
        cache
            .get(&id, cache.arrival())
            .await
            .unwrap()
            .map(|hit| hit.user.id),
        Some(value.user.id)
    );
    cache.invalidate_session(&id);
    assert!(cache.get(&id, cache.arrival()).await.unwrap().is_none());
}

#[tokio::test]
async fn an_insert_from_before_an_invalidation_does_not_resurrect_the_session() {
    let cache = cache();
    let (id, value) = entry("alice");
    let generation = cache.generation(); // the lookup reads the store...
    cache.invalidate_session(&id); // ...a logout lands...
    cache.insert(id, value, generation); // ...then the lookup writes the cache.
    assert!(cache.get(&id, cache.arrival()).await.unwrap().is_none());
}

#[tokio::test]
async fn invalidating_a_user_drops_all_their_sessions_only() {
    let cache = cache();
    let (a1, alice) = entry("alice");
    let (a2, mut alice2) = entry("alice");
    alice2.user = alice.user.clone();
    let (b, bob) = entry("bob");
    for (id, value) in [(a1, alice.clone()), (a2, alice2), (b, bob)] {
        cache.insert(id, value, cache.generation());
    }
    cache.invalidate_user(alice.user.id);
    assert!(cache.get(&a1, cache.arrival()).await.unwrap().is_none());
    assert!(cache.get(&a2, cache.arrival()).await.unwrap().is_none());
    assert!(cache.get(&b, cache.arrival()).await.unwrap().is_some());
}

#[tokio::test]
async fn a_disabled_cache_holds_nothing() {
    let cache = SessionCache::new(0, Duration::from_secs(60));
    let (id, value) = entry("alice");
    cache.insert(id, value, 0);
    assert!(cache.get(&id, cache.arrival()).await.unwrap().is_none());
    assert!(!cache.is_enabled());
}

/// The memory store's log, which can be made to fail or to hang.
#[derive(Clone)]
struct TestLog {
    store: MemoryStore,
    failing: Arc<AtomicBool>,
    paused: Arc<tokio::sync::watch::Sender<bool>>,
}

impl TestLog {
    fn fail(&self, failing: bool) {
        self.failing.store(failing, Ordering::SeqCst);
    }

    fn pause(&self, paused: bool) {
        self.paused.send_replace(paused);
    }
}

impl RevocationLog for TestLog {
    async fn revocations_after(
        &self,
        after: LogPosition,
        limit: u32,
    ) -> Result<Vec<LoggedRevocation>, StoreError> {
        let mut paused = self.paused.subscribe();
        let _ = paused.wait_for(|paused| !paused).await;
        if self.failing.load(Ordering::SeqCst) {
            return Err(StoreError::unavailable(std::io::Error::other("down")));
        }
        self.store.revocations_after(after, limit).await
    }
}

/// A store with the user and session of `value`, and a shared cache holding it.
async fn shared_with(value: &Authenticated) -> (TestLog, SessionCache) {
    let store = MemoryStore::new();
    store.create_user(&value.user).await.unwrap();
    store.insert_session(&value.session).await.unwrap();
    let log = TestLog {
        store,
        failing: Arc::default(),
        paused: Arc::new(tokio::sync::watch::Sender::new(false)),
    };
    let cache = SessionCache::shared(100, Duration::from_secs(60), log.clone());
    // The first read applies the login's entry (the user's session list
    // only), which leaves the cached session served.
    cache.insert(value.session.id, value.clone(), cache.generation());
    assert!(
        cache
            .get(&value.session.id, cache.arrival())
            .await
            .unwrap()
            .is_some()
    );
    (log, cache)
}

#[tokio::test]
async fn a_shared_cache_does_not_serve_a_session_another_process_revoked() {
    let (id, value) = entry("alice");
    let (log, cache) = shared_with(&value).await;
    assert!(cache.get(&id, cache.arrival()).await.unwrap().is_some());
    // "Another process": the store is revoked through, the cache not told.
    assert!(log.store.revoke_session(&id).await.unwrap());
    assert!(cache.get(&id, cache.arrival()).await.unwrap().is_none());
    assert!(cache.confirmation_rounds() >= 2);
}

#[tokio::test]
async fn a_shared_cache_drops_a_user_revoked_elsewhere() {
    let (id, value) = entry("alice");
    let (log, cache) = shared_with(&value).await;
    assert_eq!(
        log.store.revoke_all_sessions(value.user.id).await.unwrap(),
        1
    );
    assert!(cache.get(&id, cache.arrival()).await.unwrap().is_none());
}

#[tokio::test]
async fn a_shared_cache_that_cannot_read_the_log_serves_nothing() {
    let (id, value) = entry("alice");
    let (log, cache) = shared_with(&value).await;
    log.fail(true);
    assert!(
        matches!(
            cache.get(&id, cache.arrival()).await,
            Err(StoreError::Unavailable(_))
        ),
        "unconfirmed: not served, and the caller need not wait for the store again"
    );
    log.fail(false);
    assert!(
        cache.get(&id, cache.arrival()).await.unwrap().is_some(),
        "the entry itself was kept"
    );
}

#[tokio::test]
async fn a_shared_cache_far_behind_the_log_drops_everything() {
    let (id, value) = entry("alice");
    let (log, cache) = shared_with(&value).await;
    // Another user's sessions, logged in and revoked one by one: two pages
    // of entries (two each).
    let (_, other) = entry("bob");
    for _ in 0..confirm::PAGE {
        let (_, session) = SessionPolicy::default()
            .start(other.user.id, Utc::now())
            .unwrap();
        log.store.insert_session(&session).await.unwrap();
        assert!(log.store.revoke_session(&session.id).await.unwrap());
    }
    assert!(
        cache.get(&id, cache.arrival()).await.unwrap().is_none(),
        "a full page clears the cache"
    );
    cache.insert(id, value.clone(), cache.generation());
    assert!(
        cache.get(&id, cache.arrival()).await.unwrap().is_some(),
        "caught up at once (it went on from the newest entry), it serves again"
    );
    // And it still sees what comes after.
    assert!(log.store.revoke_session(&id).await.unwrap());
    assert!(cache.get(&id, cache.arrival()).await.unwrap().is_none());
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn hits_arriving_during_one_read_share_the_next_one() {
    let (id, value) = entry("alice");
    let (log, cache) = shared_with(&value).await;
    let before = cache.confirmation_rounds();
    log.pause(true);
    let first = {
        let cache = cache.clone();
        tokio::spawn(async move { cache.get(&id, cache.arrival()).await.unwrap().is_some() })
    };
    while cache.confirmation_rounds() == before {
        tokio::task::yield_now().await; // until round 1 is in flight
    }
    // They arrive now, during round 1 (taken here, not when each task first
    // runs, which on a busy machine may be after round 2 has started).
    let arrival = cache.arrival();
    let later: Vec<_> = (0..63)
        .map(|_| {
            let cache = cache.clone();
            tokio::spawn(async move { cache.get(&id, arrival).await.unwrap().is_some() })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(20)).await;
    log.pause(false);
    assert!(first.await.unwrap());
    for hit in later {
        assert!(hit.await.unwrap());
    }
    assert_eq!(
        cache.confirmation_rounds() - before,
        2,
        "one round for the first hit, one more for the 63 that came during it"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_leader_dropped_mid_read_leaves_no_request_waiting() {
    let (id, value) = entry("alice");
    let (log, cache) = shared_with(&value).await;
    log.pause(true);
    let leader = {
        let cache = cache.clone();
        tokio::spawn(async move { cache.get(&id, cache.arrival()).await.unwrap() })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    let follower = {
        let cache = cache.clone();
        tokio::spawn(async move { cache.get(&id, cache.arrival()).await.unwrap().is_some() })
    };
    tokio::time::sleep(Duration::from_millis(20)).await;
    leader.abort();
    log.pause(false);
    let served = tokio::time::timeout(Duration::from_secs(5), follower)
        .await
        .expect("the follower is not left waiting")
        .unwrap();
    assert!(served, "the follower led the next round itself");
}
