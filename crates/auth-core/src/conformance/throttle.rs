//! Rules for [`ThrottleStore`].

use chrono::TimeDelta;

use super::epoch;
use crate::{AccountKey, FailureStats, Store, Username};

/// The account key of `name` (a valid name).
fn key(name: &str) -> AccountKey {
    #[allow(clippy::expect_used)] // rules pass literal, valid names
    Username::parse(name)
        .expect("rules use valid usernames")
        .account_key()
}

/// Failures are counted per account and per IP, inside their windows, with
/// the oldest and newest timestamps exact.
pub async fn throttle_counts_failures_per_account_and_ip_within_windows<S: Store>(store: S) {
    let t = epoch();
    store
        .record_login_failure(&key("alice"), Some("192.0.2.1"), t)
        .await
        .unwrap();
    store
        .record_login_failure(&key("alice"), Some("192.0.2.1"), t + TimeDelta::seconds(10))
        .await
        .unwrap();
    store
        .record_login_failure(&key("bob"), Some("192.0.2.1"), t + TimeDelta::seconds(20))
        .await
        .unwrap();
    store
        .record_login_failure(
            &key("alice"),
            Some("198.51.100.7"),
            t + TimeDelta::seconds(30),
        )
        .await
        .unwrap();
    let stats = store
        .login_failure_stats(&key("alice"), Some("192.0.2.1"), t, t)
        .await
        .unwrap();
    assert_eq!(
        stats,
        FailureStats {
            account_failures: 3,
            account_oldest: Some(t),
            account_latest: Some(t + TimeDelta::seconds(30)),
            ip_failures: 3,
            ip_oldest: Some(t),
        }
    );
    // Windows start later: older failures no longer count.
    let later = store
        .login_failure_stats(
            &key("alice"),
            Some("192.0.2.1"),
            t + TimeDelta::seconds(10),
            t + TimeDelta::seconds(15),
        )
        .await
        .unwrap();
    assert_eq!(later.account_failures, 2);
    assert_eq!(later.account_oldest, Some(t + TimeDelta::seconds(10)));
    assert_eq!(later.ip_failures, 1);
    assert_eq!(later.ip_oldest, Some(t + TimeDelta::seconds(20)));
}

/// An unknown account and no IP give empty stats, not an error.
pub async fn throttle_unknown_account_and_no_ip_have_no_failures<S: Store>(store: S) {
    store
        .record_login_failure(&key("alice"), None, epoch())
        .await
        .unwrap();
    let stats = store
        .login_failure_stats(&key("nobody"), None, epoch(), epoch())
        .await
        .unwrap();
    assert_eq!(stats, FailureStats::default());
    let alice = store
        .login_failure_stats(&key("alice"), None, epoch(), epoch())
        .await
        .unwrap();
    assert_eq!((alice.account_failures, alice.ip_failures), (1, 0));
}

/// Clearing an account removes its failures only.
pub async fn throttle_clear_removes_only_that_account<S: Store>(store: S) {
    for account in ["alice", "alice", "bob"] {
        store
            .record_login_failure(&key(account), Some("192.0.2.1"), epoch())
            .await
            .unwrap();
    }
    assert_eq!(store.clear_login_failures(&key("alice")).await.unwrap(), 2);
    let alice = store
        .login_failure_stats(&key("alice"), None, epoch(), epoch())
        .await
        .unwrap();
    assert_eq!(alice.account_failures, 0);
    let bob = store
        .login_failure_stats(&key("bob"), Some("192.0.2.1"), epoch(), epoch())
        .await
        .unwrap();
    assert_eq!((bob.account_failures, bob.ip_failures), (1, 1));
}

/// Purge deletes failures older than the cut-off and keeps the rest.
pub async fn throttle_purge_removes_old_failures_only<S: Store>(store: S) {
    let t = epoch();
    store
        .record_login_failure(&key("alice"), None, t)
        .await
        .unwrap();
    store
        .record_login_failure(&key("alice"), None, t + TimeDelta::hours(2))
        .await
        .unwrap();
    assert_eq!(
        store
            .purge_login_failures(t + TimeDelta::hours(1))
            .await
            .unwrap(),
        1
    );
    let stats = store
        .login_failure_stats(&key("alice"), None, t, t)
        .await
        .unwrap();
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
        .login_failure_stats(&key("alice"), Some("192.0.2.1"), epoch(), epoch())
        .await
        .unwrap();
    assert_eq!((stats.account_failures, stats.ip_failures), (30, 30));
    assert_eq!(
        stats.account_latest,
        Some(epoch() + TimeDelta::milliseconds(29))
    );
}
