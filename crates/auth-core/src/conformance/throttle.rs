//! Rules for [`crate::ThrottleStore`]: failures and reservations.

use std::time::Duration;

use chrono::TimeDelta;

use super::epoch;
use crate::{AccountKey, FailureStats, IN_FLIGHT_WAIT, Store, ThrottlePolicy, Username};

/// The account key of `name` (a valid name).
pub(super) fn key(name: &str) -> AccountKey {
    #[allow(clippy::expect_used)] // rules pass literal, valid names
    Username::parse(name)
        .expect("rules use valid usernames")
        .account_key()
}

/// Failures are counted per account, inside the window, with the oldest
/// and newest timestamps exact.
pub async fn throttle_counts_failures_per_account_within_the_window<S: Store>(store: S) {
    let t = epoch();
    for (account, ip, secs) in [
        ("alice", Some("192.0.2.1"), 0),
        ("alice", Some("192.0.2.1"), 10),
        ("bob", Some("192.0.2.1"), 20),
        ("alice", None, 30),
    ] {
        store
            .record_login_failure(&key(account), ip, t + TimeDelta::seconds(secs))
            .await
            .unwrap();
    }
    let stats = store.login_failure_stats(&key("alice"), t).await.unwrap();
    assert_eq!(
        stats,
        FailureStats {
            account_failures: 3,
            account_oldest: Some(t),
            account_latest: Some(t + TimeDelta::seconds(30)),
        }
    );
    // The window starts later: older failures no longer count.
    let later = store
        .login_failure_stats(&key("alice"), t + TimeDelta::seconds(10))
        .await
        .unwrap();
    assert_eq!(later.account_failures, 2);
    assert_eq!(later.account_oldest, Some(t + TimeDelta::seconds(10)));
}

/// An unknown account gives empty stats, not an error.
pub async fn throttle_unknown_account_has_no_failures<S: Store>(store: S) {
    store
        .record_login_failure(&key("alice"), None, epoch())
        .await
        .unwrap();
    let stats = store
        .login_failure_stats(&key("nobody"), epoch())
        .await
        .unwrap();
    assert_eq!(stats, FailureStats::default());
}

/// Clearing an account removes its failures only, and no reservation.
pub async fn throttle_clear_removes_only_that_account<S: Store>(store: S) {
    for account in ["alice", "alice", "bob"] {
        store
            .record_login_failure(&key(account), Some("192.0.2.1"), epoch())
            .await
            .unwrap();
    }
    let policy = ThrottlePolicy {
        free_failures: 3,
        in_flight: 0,
        ..ThrottlePolicy::default()
    };
    // alice: 2 failures, 1 place left; hold it.
    store
        .reserve_login_attempt(&key("alice"), &policy, epoch())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(store.clear_login_failures(&key("alice")).await.unwrap(), 2);
    let alice = store
        .login_failure_stats(&key("alice"), epoch())
        .await
        .unwrap();
    assert_eq!(alice.account_failures, 0);
    let bob = store
        .login_failure_stats(&key("bob"), epoch())
        .await
        .unwrap();
    assert_eq!(bob.account_failures, 1);
    // 3 places now, one still held.
    for _ in 0..2 {
        store
            .reserve_login_attempt(&key("alice"), &policy, epoch())
            .await
            .unwrap()
            .unwrap();
    }
    assert_eq!(
        store
            .reserve_login_attempt(&key("alice"), &policy, epoch())
            .await
            .unwrap(),
        Err(IN_FLIGHT_WAIT)
    );
}

/// Purge deletes failures older than the cut-off and reservations expired
/// at `now`, and keeps the rest.
pub async fn throttle_purge_removes_old_failures_and_expired_reservations_only<S: Store>(store: S) {
    let t = epoch();
    for at in [t, t + TimeDelta::hours(2)] {
        store
            .record_login_failure(&key("alice"), None, at)
            .await
            .unwrap();
    }
    let policy = ThrottlePolicy::default();
    store
        .reserve_login_attempt(&key("bob"), &policy, t)
        .await
        .unwrap()
        .unwrap();
    let late = t + TimeDelta::hours(1);
    store
        .reserve_login_attempt(&key("bob"), &policy, late)
        .await
        .unwrap()
        .unwrap();
    // The failure at t and the reservation made at t (expired by `late`).
    assert_eq!(store.purge_login_failures(late, late).await.unwrap(), 2);
    let stats = store.login_failure_stats(&key("alice"), t).await.unwrap();
    assert_eq!(stats.account_failures, 1);
    assert_eq!(stats.account_oldest, Some(t + TimeDelta::hours(2)));
}

/// Concurrent failures are all counted, and seen through every handle.
pub async fn throttle_concurrent_failures_are_all_counted_for_every_handle<S: Store>(store: S) {
    let mut tasks = Vec::new();
    for i in 0..30 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .record_login_failure(
                    &key("alice"),
                    Some("192.0.2.1"),
                    epoch() + TimeDelta::milliseconds(i),
                )
                .await
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    let other = store.clone();
    let stats = other
        .login_failure_stats(&key("alice"), epoch())
        .await
        .unwrap();
    assert_eq!(stats.account_failures, 30);
    assert_eq!(
        stats.account_latest,
        Some(epoch() + TimeDelta::milliseconds(29))
    );
}

/// A burst of concurrent reservations on one account gets exactly the
/// places the policy allows one at a time (the free failures plus the
/// places in flight), through any handle; another account is unaffected.
pub async fn throttle_concurrent_reservations_get_exactly_the_places_allowed<S: Store>(store: S) {
    let policy = ThrottlePolicy::default();
    let places = policy.free_failures + policy.in_flight;
    let mut tasks = Vec::new();
    for _ in 0..50 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .reserve_login_attempt(&key("alice"), &ThrottlePolicy::default(), epoch())
                .await
        }));
    }
    let mut granted = 0;
    for task in tasks {
        match task.await.unwrap().unwrap() {
            Ok(_) => granted += 1,
            Err(wait) => assert_eq!(wait, IN_FLIGHT_WAIT),
        }
    }
    assert_eq!(granted, places);
    assert!(
        store
            .reserve_login_attempt(&key("bob"), &policy, epoch())
            .await
            .unwrap()
            .is_ok()
    );
}

/// A released or expired reservation frees its place; releasing twice, or
/// a reservation the store never saw, is not an error.
pub async fn throttle_released_and_expired_reservations_free_their_places<S: Store>(store: S) {
    let policy = ThrottlePolicy {
        free_failures: 1,
        in_flight: 1,
        reservation_ttl: Duration::from_secs(30),
        ..ThrottlePolicy::default()
    };
    let t = epoch();
    let first = store
        .reserve_login_attempt(&key("alice"), &policy, t)
        .await
        .unwrap()
        .unwrap();
    store
        .reserve_login_attempt(&key("alice"), &policy, t)
        .await
        .unwrap()
        .unwrap();
    assert!(
        store
            .reserve_login_attempt(&key("alice"), &policy, t)
            .await
            .unwrap()
            .is_err()
    );
    store.release_login_attempt(&first).await.unwrap();
    store.release_login_attempt(&first).await.unwrap();
    store
        .release_login_attempt(&crate::Reservation::new())
        .await
        .unwrap();
    store
        .reserve_login_attempt(&key("alice"), &policy, t)
        .await
        .unwrap()
        .unwrap();
    // Both held places expire 30 s later.
    let expired = t + TimeDelta::seconds(30);
    for _ in 0..2 {
        store
            .reserve_login_attempt(&key("alice"), &policy, expired)
            .await
            .unwrap()
            .unwrap();
    }
}

/// A reservation sees the recorded failures: in back-off it is refused
/// with the back-off's wait.
pub async fn throttle_reservations_apply_the_back_off<S: Store>(store: S) {
    let policy = ThrottlePolicy::default();
    let t = epoch();
    for _ in 0..policy.free_failures {
        store
            .record_login_failure(&key("alice"), None, t)
            .await
            .unwrap();
    }
    assert_eq!(
        store
            .reserve_login_attempt(&key("alice"), &policy, t + TimeDelta::milliseconds(250))
            .await
            .unwrap(),
        Err(Duration::from_millis(750))
    );
    let after_the_wait = t + TimeDelta::seconds(1);
    store
        .reserve_login_attempt(&key("alice"), &policy, after_the_wait)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        store
            .reserve_login_attempt(&key("alice"), &policy, after_the_wait)
            .await
            .unwrap(),
        Err(IN_FLIGHT_WAIT),
        "in back-off, one attempt at a time"
    );
}
