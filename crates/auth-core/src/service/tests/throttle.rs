//! The account back-off and the address budget.

use std::num::NonZeroU32;
use std::time::Duration;

use super::*;
use crate::{Period, Purged, RateLimit, ThrottlePolicy};

#[tokio::test]
async fn five_failures_are_free_then_the_wait_doubles_from_one_second() {
    let clock = ManualClock::default();
    let auth = service(MemoryStore::new(), &clock);
    registered(&auth, "alice").await;
    for _ in 0..5 {
        assert!(matches!(
            fail(&auth, "alice", None).await,
            AuthError::InvalidCredentials
        ));
    }
    // The sixth attempt right away is throttled for exactly 1 s, before hashing.
    let hashed = auth.hasher().jobs_completed();
    assert_eq!(
        retry_after(&fail(&auth, "alice", None).await),
        Some(Duration::from_secs(1))
    );
    assert_eq!(
        auth.hasher().jobs_completed(),
        hashed,
        "no hashing while throttled"
    );
    // After 1 s it may try (and fail) again; the next wait is 2 s.
    clock.advance(Duration::from_secs(1));
    assert!(matches!(
        fail(&auth, "alice", None).await,
        AuthError::InvalidCredentials
    ));
    assert_eq!(
        retry_after(&fail(&auth, "alice", None).await),
        Some(Duration::from_secs(2))
    );
    clock.advance(Duration::from_millis(1500));
    assert_eq!(
        retry_after(&fail(&auth, "alice", None).await),
        Some(Duration::from_millis(500))
    );
    clock.advance(Duration::from_millis(500));
    assert!(matches!(
        fail(&auth, "alice", None).await,
        AuthError::InvalidCredentials
    ));
    assert_eq!(
        retry_after(&fail(&auth, "alice", None).await),
        Some(Duration::from_secs(4))
    );
}

#[tokio::test]
async fn a_success_resets_the_account_back_off() {
    let clock = ManualClock::default();
    let auth = service(MemoryStore::new(), &clock);
    registered(&auth, "alice").await;
    for _ in 0..5 {
        fail(&auth, "alice", None).await;
    }
    clock.advance(Duration::from_secs(1));
    auth.login("alice", Password::new(PASSWORD), &Client::default())
        .await
        .unwrap();
    for _ in 0..5 {
        assert!(matches!(
            fail(&auth, "alice", None).await,
            AuthError::InvalidCredentials
        ));
    }
}

#[tokio::test]
async fn unknown_users_are_throttled_exactly_like_real_ones() {
    let clock = ManualClock::default();
    let auth = service(MemoryStore::new(), &clock);
    registered(&auth, "alice").await;
    for _ in 0..5 {
        fail(&auth, "alice", None).await;
        fail(&auth, "ghost", None).await;
    }
    let real = fail(&auth, "alice", None).await;
    let ghost = fail(&auth, "ghost", None).await;
    assert_eq!(retry_after(&real), retry_after(&ghost));
    assert!(retry_after(&real).is_some());
}

#[tokio::test]
async fn the_ip_budget_spans_usernames_and_other_ips_are_not_affected() {
    let clock = ManualClock::default();
    let auth = service(MemoryStore::new(), &clock).with_throttle_policy(ThrottlePolicy {
        address: RateLimit::new(NonZeroU32::new(10).unwrap(), Period::from_secs(900)),
        ..ThrottlePolicy::default()
    });
    registered(&auth, "victim").await;
    for i in 0..10 {
        let error = fail(&auth, &format!("user{i}"), ip("203.0.113.9")).await;
        assert!(matches!(error, AuthError::InvalidCredentials));
        clock.advance(Duration::from_secs(1));
    }
    // Ten failures in 10 s spend the burst: the wait is what is left of
    // one interval (90 s, at 10 per 15 min), not a quarter of an hour.
    let throttled = auth
        .login(
            "victim",
            Password::new(PASSWORD),
            &Client::from_ip(ip("203.0.113.9")),
        )
        .await
        .unwrap_err();
    assert_eq!(retry_after(&throttled), Some(Duration::from_secs(80)));
    // The same user from another address is not affected.
    auth.login(
        "victim",
        Password::new(PASSWORD),
        &Client::from_ip(ip("198.51.100.1")),
    )
    .await
    .unwrap();
    // And the budget refills: after the wait, one more attempt passes.
    clock.advance(Duration::from_secs(80));
    auth.login(
        "victim",
        Password::new(PASSWORD),
        &Client::from_ip(ip("203.0.113.9")),
    )
    .await
    .unwrap();
}

#[tokio::test]
async fn an_ipv6_host_cannot_escape_its_budget_by_changing_addresses_in_its_64() {
    let clock = ManualClock::default();
    let auth = service(MemoryStore::new(), &clock).with_throttle_policy(ThrottlePolicy {
        address: RateLimit::new(NonZeroU32::new(3).unwrap(), Period::from_secs(900)),
        ..ThrottlePolicy::default()
    });
    registered(&auth, "victim").await;
    for i in 0..3 {
        let from = ip(&format!("2001:db8:1:2::{i:x}"));
        fail(&auth, &format!("user{i}"), from).await;
    }

    let same_64 = auth
        .login(
            "victim",
            Password::new(PASSWORD),
            &Client::from_ip(ip("2001:db8:1:2:ffff::1")),
        )
        .await;
    let other_64 = auth
        .login(
            "victim",
            Password::new(PASSWORD),
            &Client::from_ip(ip("2001:db8:1:3::1")),
        )
        .await;

    assert!(
        matches!(same_64, Err(AuthError::Throttled { .. })),
        "{same_64:?}"
    );
    assert!(other_64.is_ok(), "{other_64:?}");
}

#[tokio::test]
async fn back_off_is_shared_by_two_authenticators_on_one_store() {
    let clock = ManualClock::default();
    let store = MemoryStore::new();
    let a = service(store.clone(), &clock);
    let b = service(store, &clock);
    registered(&a, "alice").await;
    for i in 0..5 {
        let instance = if i % 2 == 0 { &a } else { &b };
        fail(instance, "alice", None).await;
    }
    assert_eq!(
        retry_after(&fail(&a, "alice", None).await),
        Some(Duration::from_secs(1))
    );
    assert_eq!(
        retry_after(&fail(&b, "alice", None).await),
        Some(Duration::from_secs(1))
    );
}

#[tokio::test]
async fn an_admin_can_clear_an_accounts_back_off() {
    let clock = ManualClock::default();
    let auth = service(MemoryStore::new(), &clock);
    registered(&auth, "alice").await;
    for _ in 0..5 {
        fail(&auth, "alice", None).await;
    }
    assert!(retry_after(&fail(&auth, "alice", None).await).is_some());
    let cleared = auth
        .clear_login_backoff(&Username::parse("ALICE").unwrap())
        .await
        .unwrap();
    assert_eq!(cleared, 5, "throttled attempts are not failures");
    auth.login("alice", Password::new(PASSWORD), &Client::default())
        .await
        .unwrap();
}

#[tokio::test]
async fn no_permanent_lockout_the_account_cap_lifts_with_time() {
    let clock = ManualClock::default();
    let policy = ThrottlePolicy {
        account_max_failures: 8,
        ..ThrottlePolicy::default()
    };
    let auth = service(MemoryStore::new(), &clock).with_throttle_policy(policy);
    registered(&auth, "alice").await;
    for _ in 0..8 {
        fail(&auth, "alice", None).await;
        clock.advance(Duration::from_secs(120));
    }
    assert!(retry_after(&fail(&auth, "alice", None).await).is_some());
    clock.advance(policy.account_window);
    auth.login("alice", Password::new(PASSWORD), &Client::default())
        .await
        .unwrap();
}

#[tokio::test]
async fn purge_removes_expired_sessions_and_stale_failures() {
    let clock = ManualClock::default();
    let auth = service(MemoryStore::new(), &clock);
    registered(&auth, "alice").await;
    auth.login("alice", Password::new(PASSWORD), &Client::default())
        .await
        .unwrap();
    fail(&auth, "alice", None).await;
    assert_eq!(
        auth.purge_expired().await.unwrap(),
        Purged {
            sessions: 0,
            login_failures: 0,
            rate_limits: 0,
            devices: 0,
            events: 0,
            tokens: 0,
            mail: 0,
            ceremonies: 0,
        }
    );
    clock.advance(Duration::from_secs(8 * 24 * 3600));
    assert_eq!(
        auth.purge_expired().await.unwrap(),
        Purged {
            sessions: 1,
            login_failures: 1,
            rate_limits: 1, // the registrations' budget, full again
            devices: 0,     // 180 days
            events: 0,      // 90 days
            tokens: 0,
            mail: 0,
            ceremonies: 0,
        }
    );
}

/// An authenticator whose hashes take a few milliseconds on 2 threads, so
/// that concurrent attempts overlap.
fn overlapping(store: MemoryStore, clock: &ManualClock) -> Authenticator<MemoryStore> {
    let hasher = PasswordHasher::new(HashConfig {
        params: ScryptParams::new(10, 8, 1).unwrap(),
        max_concurrent: 2,
        max_queued: 128,
        ..HashConfig::insecure_fast_for_tests()
    })
    .unwrap();
    Authenticator::new(store, hasher, Arc::new(clock.clone()))
}

async fn burst(
    auth: &Authenticator<MemoryStore>,
    password: &'static str,
    n: usize,
) -> Vec<Result<(), AuthError>> {
    let attempts: Vec<_> = (0..n)
        .map(|_| {
            let auth = auth.clone();
            tokio::spawn(async move {
                auth.login("alice", Password::new(password), &Client::default())
                    .await
                    .map(drop)
            })
        })
        .collect();
    let mut outcomes = Vec::new();
    for attempt in attempts {
        outcomes.push(attempt.await.unwrap());
    }
    outcomes
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_burst_of_50_guesses_gets_at_most_the_free_failures_plus_the_places_in_flight() {
    let clock = ManualClock::default();
    let auth = overlapping(MemoryStore::new(), &clock);
    registered(&auth, "alice").await;

    let outcomes = burst(&auth, "wrong password", 50).await;

    let evaluated = outcomes
        .iter()
        .filter(|outcome| matches!(outcome, Err(AuthError::InvalidCredentials)))
        .count();
    let refused = outcomes
        .iter()
        .filter(|outcome| matches!(outcome, Err(AuthError::Throttled { .. })))
        .count();
    let policy = ThrottlePolicy::default();
    assert!(
        (5..=(policy.free_failures + policy.in_flight) as usize).contains(&evaluated),
        "{evaluated} evaluated"
    );
    assert_eq!(evaluated + refused, 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_right_passwords_all_pass_within_the_places_and_leave_none_held() {
    let clock = ManualClock::default();
    let store = MemoryStore::new();
    let auth = overlapping(store.clone(), &clock);
    registered(&auth, "alice").await;
    let policy = ThrottlePolicy::default();
    let places = (policy.free_failures + policy.in_flight) as usize;

    for _ in 0..3 {
        let outcomes = burst(&auth, PASSWORD, places).await;
        assert!(outcomes.iter().all(Result::is_ok), "{outcomes:?}");
    }
    // Every place was given back: a fresh burst of guesses still gets its share.
    let guesses = burst(&auth, "wrong password", places).await;
    assert!(
        guesses
            .iter()
            .all(|outcome| matches!(outcome, Err(AuthError::InvalidCredentials)))
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_login_dropped_while_it_waits_for_its_hash_gives_its_place_back() {
    // One place on the account, and a hash slow enough to abandon.
    let clock = ManualClock::default();
    let hasher = PasswordHasher::new(HashConfig {
        params: ScryptParams::new(14, 8, 1).unwrap(),
        max_concurrent: 1,
        ..HashConfig::insecure_fast_for_tests()
    })
    .unwrap();
    let auth = Authenticator::new(MemoryStore::new(), hasher, Arc::new(clock.clone()))
        .with_throttle_policy(ThrottlePolicy {
            free_failures: 1,
            in_flight: 0,
            ..ThrottlePolicy::default()
        });
    registered(&auth, "alice").await;

    let abandoned = tokio::time::timeout(
        Duration::from_millis(2),
        auth.login("alice", Password::new(PASSWORD), &Client::default()),
    )
    .await;
    assert!(abandoned.is_err(), "the login was still hashing");
    // The release runs on a spawned task: give it a moment.
    let mut next = auth
        .login("alice", Password::new(PASSWORD), &Client::default())
        .await;
    for _ in 0..50 {
        if next.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
        next = auth
            .login("alice", Password::new(PASSWORD), &Client::default())
            .await;
    }

    assert!(next.is_ok(), "{next:?}");
}
