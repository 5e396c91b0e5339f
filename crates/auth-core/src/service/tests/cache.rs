//! The session cache and the session cap: revocations that must be seen at once.

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::{SessionCache, SessionPolicy};

fn shared(store: &MemoryStore) -> SessionCache {
    SessionCache::shared(100, Duration::from_secs(60), store.clone())
}

fn instance(
    store: &MemoryStore,
    clock: &ManualClock,
    cache: SessionCache,
) -> Authenticator<MemoryStore> {
    let hasher = PasswordHasher::new(HashConfig::insecure_fast_for_tests()).unwrap();
    Authenticator::new(store.clone(), hasher, Arc::new(clock.clone())).with_session_cache(cache)
}

#[tokio::test]
async fn a_local_logout_is_immediate_with_the_cache() {
    let (store, clock) = (MemoryStore::new(), ManualClock::default());
    let auth = instance(
        &store,
        &clock,
        SessionCache::new(100, Duration::from_secs(60)),
    );
    auth.register(
        Username::parse("alice").unwrap(),
        Password::new(PASSWORD),
        &Client::default(),
    )
    .await
    .unwrap();
    let login = auth
        .login("alice", Password::new(PASSWORD), &Client::default())
        .await
        .unwrap();
    auth.authenticate(login.token.as_str()).await.unwrap();
    assert!(
        auth.session_cache()
            .get(&login.session.id, auth.session_cache().arrival())
            .await
            .unwrap()
            .is_some(),
        "cached"
    );
    auth.logout(login.token.as_str(), &Client::default())
        .await
        .unwrap();
    assert!(matches!(
        auth.authenticate(login.token.as_str()).await,
        Err(AuthError::NotAuthenticated)
    ));
}

#[tokio::test]
async fn a_shared_cache_sees_another_instances_logout_at_once() {
    let (store, clock) = (MemoryStore::new(), ManualClock::default());
    let a = instance(&store, &clock, shared(&store));
    let b = instance(&store, &clock, shared(&store));
    a.register(
        Username::parse("alice").unwrap(),
        Password::new(PASSWORD),
        &Client::default(),
    )
    .await
    .unwrap();
    let login = a
        .login("alice", Password::new(PASSWORD), &Client::default())
        .await
        .unwrap();
    b.authenticate(login.token.as_str()).await.unwrap();
    b.authenticate(login.token.as_str()).await.unwrap(); // served from b's cache
    a.logout(login.token.as_str(), &Client::default())
        .await
        .unwrap();
    assert!(matches!(
        b.authenticate(login.token.as_str()).await,
        Err(AuthError::NotAuthenticated)
    ));
}

#[tokio::test]
async fn a_shared_cache_sees_another_instances_logout_everywhere_and_password_change() {
    let (store, clock) = (MemoryStore::new(), ManualClock::default());
    let a = instance(&store, &clock, shared(&store));
    let b = instance(&store, &clock, shared(&store));
    let user = a
        .register(
            Username::parse("alice").unwrap(),
            Password::new(PASSWORD),
            &Client::default(),
        )
        .await
        .unwrap();
    let first = a
        .login("alice", Password::new(PASSWORD), &Client::default())
        .await
        .unwrap();
    let second = a
        .login("alice", Password::new(PASSWORD), &Client::default())
        .await
        .unwrap();
    for token in [&first.token, &second.token] {
        b.authenticate(token.as_str()).await.unwrap();
        b.authenticate(token.as_str()).await.unwrap(); // from b's cache
    }
    let kept = a.authenticate(second.token.as_str()).await.unwrap();
    a.change_password(
        &kept,
        Password::new(PASSWORD),
        None,
        Password::new("another correct horse battery staple"),
        &Client::default(),
    )
    .await
    .unwrap();
    assert!(matches!(
        b.authenticate(first.token.as_str()).await,
        Err(AuthError::NotAuthenticated)
    ));
    b.authenticate(second.token.as_str()).await.unwrap(); // the caller's own stays
    a.logout_everywhere(user.id, &Client::default())
        .await
        .unwrap();
    assert!(matches!(
        b.authenticate(second.token.as_str()).await,
        Err(AuthError::NotAuthenticated)
    ));
}

#[tokio::test]
async fn a_copy_that_looks_idle_expired_is_read_again_not_revoked() {
    let (store, clock) = (MemoryStore::new(), ManualClock::default());
    let policy = SessionPolicy::default();
    let a = instance(&store, &clock, shared(&store)).with_session_policy(policy);
    let b = instance(&store, &clock, shared(&store)).with_session_policy(policy);
    registered(&a, "alice").await;
    let login = a
        .login("alice", Password::new(PASSWORD), &Client::default())
        .await
        .unwrap();
    b.authenticate(login.token.as_str()).await.unwrap(); // b caches it
    // The user stays active on a only, past b's copy of the idle expiry.
    let idle = policy.idle_timeout;
    let step = idle / 4;
    let mut waited = Duration::ZERO;
    while waited <= idle {
        clock.advance(step);
        waited += step;
        a.authenticate(login.token.as_str()).await.unwrap();
    }
    b.authenticate(login.token.as_str())
        .await
        .expect("b reads the store, where a kept it alive");
}

#[tokio::test]
async fn an_unshared_cache_trusts_itself_until_told() {
    let (store, clock) = (MemoryStore::new(), ManualClock::default());
    let a = instance(&store, &clock, SessionCache::disabled());
    let b = instance(
        &store,
        &clock,
        SessionCache::new(100, Duration::from_secs(60)),
    );
    a.register(
        Username::parse("alice").unwrap(),
        Password::new(PASSWORD),
        &Client::default(),
    )
    .await
    .unwrap();
    let login = a
        .login("alice", Password::new(PASSWORD), &Client::default())
        .await
        .unwrap();
    let me = b.authenticate(login.token.as_str()).await.unwrap();
    a.logout(login.token.as_str(), &Client::default())
        .await
        .unwrap();
    // Not shared: b trusts its cache until told (or until the TTL).
    assert!(b.authenticate(login.token.as_str()).await.is_ok());
    b.session_cache().invalidate_session(&me.session.id);
    assert!(matches!(
        b.authenticate(login.token.as_str()).await,
        Err(AuthError::NotAuthenticated)
    ));
}

#[tokio::test]
async fn a_login_beyond_the_session_cap_revokes_the_oldest_session() {
    let clock = ManualClock::default();
    let policy =
        SessionPolicy::default().with_max_sessions_per_user(std::num::NonZeroU32::new(3).unwrap());
    let auth = service(MemoryStore::new(), &clock).with_session_policy(policy);
    registered(&auth, "alice").await;
    let mut tokens = Vec::new();
    for _ in 0..4 {
        let login = auth
            .login("alice", Password::new(PASSWORD), &Client::default())
            .await
            .unwrap();
        // Cached, as a session check would leave it.
        auth.authenticate(login.token.as_str()).await.unwrap();
        tokens.push(login.token);
        clock.advance(Duration::from_secs(1));
    }

    let oldest = auth.authenticate(tokens[0].as_str()).await;

    assert!(
        matches!(oldest, Err(AuthError::NotAuthenticated)),
        "{oldest:?}"
    );
    for token in &tokens[1..] {
        auth.authenticate(token.as_str()).await.unwrap();
    }
}
