//! The per-user reads the session cache keeps: the session list
//! (`GET /sessions`) and the second factors (`GET /me`). Served without the
//! store until they change: through this process at once, through another
//! one (a shared cache) once the revocation log names the user.

use std::sync::Arc;
use std::time::Duration;

use super::*;
use crate::{SessionCache, SessionStore as _};

fn instance(
    store: &MemoryStore,
    clock: &ManualClock,
    cache: SessionCache,
) -> Authenticator<MemoryStore> {
    Authenticator::new(store.clone(), hasher(4), Arc::new(clock.clone())).with_session_cache(cache)
}

/// Two instances over one store, each with its own shared cache (and the
/// keys for TOTP).
fn two_shared(
    store: &MemoryStore,
    clock: &ManualClock,
) -> (Authenticator<MemoryStore>, Authenticator<MemoryStore>) {
    let ring =
        Arc::new(crate::Keyring::parse(&crate::Keyring::generate_line("k1").unwrap()).unwrap());
    let one = || {
        let cache = SessionCache::shared(100, Duration::from_secs(60), store.clone());
        instance(store, clock, cache).with_mfa_policy(crate::MfaPolicy {
            keyring: Some(ring.clone()),
            issuer: "Example".into(),
        })
    };
    (one(), one())
}

/// Enables TOTP for `me` through `auth`; returns the recovery codes.
async fn totp_enabled(
    auth: &Authenticator<MemoryStore>,
    me: &crate::Authenticated,
) -> Vec<crate::RecoveryCode> {
    let client = Client::default();
    let setup = auth
        .start_totp_setup(me, Password::new(PASSWORD), &client)
        .await
        .unwrap();
    auth.confirm_totp(me, &setup.secret.code_at(auth.now()), &client)
        .await
        .unwrap()
}

/// A session written straight into the store, past the use cases (as
/// another process would): only a fresh read of the store shows it.
async fn written_behind(
    auth: &Authenticator<MemoryStore>,
    store: &MemoryStore,
    user: crate::UserId,
) {
    let (_, session) = auth.session_policy().start(user, auth.now()).unwrap();
    store.insert_session(&session).await.unwrap();
}

#[tokio::test]
async fn an_unshared_cache_keeps_the_list_until_a_session_of_the_user_changes() {
    let (store, clock) = (MemoryStore::new(), ManualClock::default());
    let auth = instance(
        &store,
        &clock,
        SessionCache::new(100, Duration::from_secs(60)),
    );
    registered(&auth, "alice").await;
    let first = auth
        .login("alice", Password::new(PASSWORD), &Client::default())
        .await
        .unwrap();
    let user = first.user.id;
    assert_eq!(auth.list_sessions(user).await.unwrap().len(), 1);

    written_behind(&auth, &store, user).await;
    assert_eq!(
        auth.list_sessions(user).await.unwrap().len(),
        1,
        "served from the cache"
    );

    // A login through this process: the list is read again.
    let second = auth
        .login("alice", Password::new(PASSWORD), &Client::default())
        .await
        .unwrap();
    assert_eq!(auth.list_sessions(user).await.unwrap().len(), 3);

    // A logout: gone from the list at once.
    auth.logout(second.token.as_str(), &Client::default())
        .await
        .unwrap();
    let listed = auth.list_sessions(user).await.unwrap();
    assert_eq!(listed.len(), 2);
    assert!(listed.iter().all(|session| session.id != second.session.id));

    // A touch (the last-seen write, at most once per interval) shows too.
    clock.advance(Duration::from_secs(3600));
    auth.authenticate(first.token.as_str()).await.unwrap();
    let touched = auth
        .list_sessions(user)
        .await
        .unwrap()
        .into_iter()
        .find(|session| session.id == first.session.id)
        .unwrap();
    assert_eq!(touched.last_seen_at, auth.now());

    // Logging out everywhere: an empty list.
    auth.logout_everywhere(user, &Client::default())
        .await
        .unwrap();
    assert!(auth.list_sessions(user).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_shared_cache_keeps_lists_until_another_instance_changes_them() {
    let (store, clock) = (MemoryStore::new(), ManualClock::default());
    let (here, there) = two_shared(&store, &clock);
    registered(&here, "alice").await;
    let login = here
        .login("alice", Password::new(PASSWORD), &Client::default())
        .await
        .unwrap();
    let user = login.user.id;
    assert_eq!(here.list_sessions(user).await.unwrap().len(), 1);
    // Read again: the first confirmation applied the login's own entry.
    assert_eq!(here.list_sessions(user).await.unwrap().len(), 1);

    // A write no log names (a last-seen touch): the kept list is served.
    let later = here.now() + chrono::TimeDelta::minutes(5);
    assert!(
        store
            .touch_session(&login.session.id, later, login.session.idle_expires_at)
            .await
            .unwrap()
    );
    let listed = here.list_sessions(user).await.unwrap();
    assert_eq!(listed[0].last_seen_at, login.session.last_seen_at, "kept");

    // Another instance's login is in the log: the next read shows it.
    there
        .login("alice", Password::new(PASSWORD), &Client::default())
        .await
        .unwrap();
    assert_eq!(here.list_sessions(user).await.unwrap().len(), 2);
    // And its logout of this one.
    there
        .logout(login.token.as_str(), &Client::default())
        .await
        .unwrap();
    let listed = here.list_sessions(user).await.unwrap();
    assert_eq!(listed.len(), 1);
    assert!(listed.iter().all(|session| session.id != login.session.id));
}

#[tokio::test]
async fn a_shared_cache_sees_another_instances_factor_change() {
    let (store, clock) = (MemoryStore::new(), ManualClock::default());
    let (here, there) = two_shared(&store, &clock);
    registered(&here, "alice").await;
    let login = there
        .login("alice", Password::new(PASSWORD), &Client::default())
        .await
        .unwrap();
    let me = there.authenticate(login.token.as_str()).await.unwrap();
    assert!(!here.second_factors(me.user.id).await.unwrap().totp);

    totp_enabled(&there, &me).await;
    assert!(
        here.second_factors(me.user.id).await.unwrap().totp,
        "enabled on the other instance: seen here at once"
    );
}

#[tokio::test]
async fn another_instances_login_and_factor_change_leave_cached_sessions_alone() {
    let (store, clock) = (MemoryStore::new(), ManualClock::default());
    let (here, there) = two_shared(&store, &clock);
    registered(&here, "alice").await;
    let login = here
        .login("alice", Password::new(PASSWORD), &Client::default())
        .await
        .unwrap();
    let cached = here.authenticate(login.token.as_str()).await.unwrap();
    // A write no log names: a fresh read of the store would show it, a hit not.
    let later = here.now() + chrono::TimeDelta::minutes(5);
    assert!(
        store
            .touch_session(&login.session.id, later, login.session.idle_expires_at)
            .await
            .unwrap()
    );

    // Another instance logs alice in again and enables TOTP for her.
    let other = there
        .login("alice", Password::new(PASSWORD), &Client::default())
        .await
        .unwrap();
    let me = there.authenticate(other.token.as_str()).await.unwrap();
    totp_enabled(&there, &me).await;

    // Here: the list and the factors are read again, the session is not.
    assert_eq!(here.list_sessions(cached.user.id).await.unwrap().len(), 2);
    assert!(here.second_factors(cached.user.id).await.unwrap().totp);
    let again = here.authenticate(login.token.as_str()).await.unwrap();
    assert_eq!(
        again.session.last_seen_at, cached.session.last_seen_at,
        "still served from the cache"
    );

    // A revocation of all of hers still drops it.
    there
        .logout_everywhere(cached.user.id, &Client::default())
        .await
        .unwrap();
    assert!(here.authenticate(login.token.as_str()).await.is_err());
}

#[tokio::test]
async fn a_list_read_before_a_change_is_not_kept_after_it() {
    let cache = SessionCache::new(100, Duration::from_secs(60));
    let user = crate::UserId::new();
    let generation = cache.generation();
    // The change lands while the (old) list is being read from the store.
    cache.sessions_changed(user);
    cache.insert_sessions_of(user, Vec::new(), generation);
    assert!(
        cache
            .sessions_of(user, cache.arrival())
            .await
            .unwrap()
            .is_none()
    );

    let generation = cache.generation();
    cache.insert_sessions_of(user, Vec::new(), generation);
    assert!(
        cache
            .sessions_of(user, cache.arrival())
            .await
            .unwrap()
            .is_some()
    );
    cache.invalidate_user(user);
    assert!(
        cache
            .sessions_of(user, cache.arrival())
            .await
            .unwrap()
            .is_none()
    );
}

#[tokio::test]
async fn the_second_factors_are_read_again_after_a_change_through_this_process() {
    let (store, clock) = (MemoryStore::new(), ManualClock::default());
    let ring = crate::Keyring::parse(&crate::Keyring::generate_line("k1").unwrap()).unwrap();
    let auth = instance(
        &store,
        &clock,
        SessionCache::new(100, Duration::from_secs(60)),
    )
    .with_mfa_policy(crate::MfaPolicy {
        keyring: Some(Arc::new(ring)),
        issuer: "Example".into(),
    });
    registered(&auth, "alice").await;
    let client = Client::default();
    let login = auth
        .login("alice", Password::new(PASSWORD), &client)
        .await
        .unwrap();
    let me = auth.authenticate(login.token.as_str()).await.unwrap();
    assert!(!auth.second_factors(me.user.id).await.unwrap().totp);

    let codes = totp_enabled(&auth, &me).await;
    let factors = auth.second_factors(me.user.id).await.unwrap();
    assert!(factors.totp, "enabling is seen at once");
    assert_eq!(factors.recovery_codes_left, codes.len() as u64);

    // A recovery code spent by a sensitive change: one fewer at once.
    auth.change_password(
        &me,
        Password::new(PASSWORD),
        Some(codes[0].as_str()),
        Password::new("walnut harbor seventeen kites"),
        &client,
    )
    .await
    .unwrap();
    let factors = auth.second_factors(me.user.id).await.unwrap();
    assert_eq!(factors.recovery_codes_left, codes.len() as u64 - 1);
}

#[tokio::test]
async fn a_request_waits_for_one_confirmation_for_its_session_and_its_reads() {
    let (store, clock) = (MemoryStore::new(), ManualClock::default());
    let (here, there) = two_shared(&store, &clock);
    registered(&here, "alice").await;
    let login = here
        .login("alice", Password::new(PASSWORD), &Client::default())
        .await
        .unwrap();
    // Warm: the session, the list and the factors are cached here.
    for _ in 0..2 {
        let me = here.authenticate(login.token.as_str()).await.unwrap();
        here.my_sessions(&me).await.unwrap();
        here.my_second_factors(&me).await.unwrap();
    }
    let rounds = |auth: &Authenticator<MemoryStore>| auth.session_cache().confirmation_rounds();

    let before = rounds(&here);
    let me = here.authenticate(login.token.as_str()).await.unwrap();
    assert_eq!(here.my_sessions(&me).await.unwrap().len(), 1);
    here.my_second_factors(&me).await.unwrap();
    assert_eq!(rounds(&here) - before, 1, "one round for the three reads");

    // A change that answers after `me` arrived may or may not show in the
    // reads `me` makes; one that answered before it arrived always does.
    there
        .login("alice", Password::new(PASSWORD), &Client::default())
        .await
        .unwrap();
    let me = here.authenticate(login.token.as_str()).await.unwrap();
    assert_eq!(here.my_sessions(&me).await.unwrap().len(), 2);
}
