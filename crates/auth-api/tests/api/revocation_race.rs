//! Immediate revocation across instances under load: instance B checks a
//! session in a tight loop from several tasks at once (so its cache hits
//! are confirmed in shared rounds) while instance A logs it out. No request
//! that B received after A's logout answered may get a 200: with B's cache
//! under a lease (hits served unread, A's logout waits for B to apply it)
//! and without (every hit confirmed by a log read). Then the same while
//! every database connection is killed under both instances: B's lease
//! runs out, and its hits wait for the database again.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use poem::http::StatusCode;
use sea_orm::{ConnectionTrait as _, Database, DbBackend, Statement};

use crate::cli::TestDatabase;
use crate::helpers::{Options, TestApp, spawn_app_with};

/// Tasks checking the session on B at once.
const LOOPERS: usize = 16;

/// What the loopers saw.
#[derive(Debug, Default)]
struct Seen {
    ok_before: AtomicU64,
    /// 401s to requests sent while the logout was in flight: either answer is right.
    refused_during: AtomicU64,
    refused_after: AtomicU64,
    /// 200s to requests sent after the logout answered: must stay 0.
    ok_after: AtomicU64,
    /// Other answers (503 while the database is away).
    other: AtomicU64,
}

/// Checks `token` on `b` from [`LOOPERS`] tasks until `stop`; a request is
/// "after" when it was sent once `answered_at` (nanoseconds since `base`,
/// 0 = not yet) was set.
fn loopers(
    b: &Arc<TestApp>,
    token: &str,
    base: Instant,
    answered_at: &Arc<AtomicU64>,
    stop: &Arc<AtomicBool>,
    seen: &Arc<Seen>,
) -> Vec<tokio::task::JoinHandle<()>> {
    (0..LOOPERS)
        .map(|_| {
            let (b, token) = (b.clone(), token.to_owned());
            let (answered_at, stop, seen) = (answered_at.clone(), stop.clone(), seen.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    let answered = answered_at.load(Ordering::SeqCst);
                    let after = answered != 0
                        && u64::try_from(base.elapsed().as_nanos()).unwrap() > answered;
                    let status = b.get_protected_bearer(&token).await.status;
                    let counter = match (status, after) {
                        (StatusCode::OK, false) => &seen.ok_before,
                        (StatusCode::OK, true) => &seen.ok_after,
                        (StatusCode::UNAUTHORIZED, true) => &seen.refused_after,
                        (StatusCode::UNAUTHORIZED, false) => &seen.refused_during,
                        _ => &seen.other,
                    };
                    counter.fetch_add(1, Ordering::SeqCst);
                }
            })
        })
        .collect()
}

/// Logs `token` out on `a` (retrying while the database is away) and
/// returns when it answered 200, as nanoseconds since `base`.
async fn logout(a: &TestApp, token: &str, base: Instant) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        let reply = a.post_logout_bearer(token).await;
        if reply.status == StatusCode::OK {
            return u64::try_from(base.elapsed().as_nanos()).unwrap().max(1);
        }
        assert_eq!(
            reply.status,
            StatusCode::SERVICE_UNAVAILABLE,
            "a logout fails only while the database is away: {}",
            reply.body
        );
        assert!(Instant::now() < deadline, "the database never came back");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// One round: log in on A, loop on B, log out on A mid-loop (after
/// `during_logout` ran), loop on a while longer, and return what B answered.
async fn round(
    a: &TestApp,
    b: &Arc<TestApp>,
    name: &str,
    during_logout: impl std::future::Future<Output = ()>,
) -> Seen {
    let token = a.logged_in(name).await;
    assert_eq!(b.get_protected_bearer(&token).await.status, StatusCode::OK);
    let (base, answered_at) = (Instant::now(), Arc::new(AtomicU64::new(0)));
    let (stop, seen) = (Arc::new(AtomicBool::new(false)), Arc::new(Seen::default()));
    let tasks = loopers(b, &token, base, &answered_at, &stop, &seen);
    tokio::time::sleep(Duration::from_millis(150)).await;
    during_logout.await;
    answered_at.store(logout(a, &token, base).await, Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(300)).await;
    stop.store(true, Ordering::SeqCst);
    for task in tasks {
        task.await.unwrap();
    }
    Arc::try_unwrap(seen).unwrap()
}

/// The tight loop on B, with B's cache under a lease (`lease` = the
/// `--session-cache-lease` of both) or, with `0s`, confirming every hit.
async fn tight_loop(lease: &str) {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    let options = || {
        Options::default()
            .on(&db.url)
            .with("--session-cache-lease", lease)
    };
    let a = spawn_app_with(options()).await;
    let b = Arc::new(spawn_app_with(options()).await);
    let leased = lease != "0s";
    for attempt in 0..5 {
        let seen = round(&a, &b, &format!("looper{attempt}"), async {}).await;
        assert_eq!(seen.ok_after.load(Ordering::SeqCst), 0, "{seen:?}");
        assert!(seen.ok_before.load(Ordering::SeqCst) > 0, "{seen:?}");
        assert!(seen.refused_after.load(Ordering::SeqCst) > 0, "{seen:?}");
        assert_eq!(seen.other.load(Ordering::SeqCst), 0, "{seen:?}");
        assert_eq!(b.app.auth().session_cache().is_leased(), leased);
    }
    let rounds = b.app.auth().session_cache().confirmation_rounds();
    assert!(rounds > 0, "B read the log");
    drop((a, b));
    drop(db);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_200_on_another_instance_after_a_logout_answered_in_a_tight_loop() {
    tight_loop("2s").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_200_in_the_tight_loop_without_leases_either() {
    tight_loop("0s").await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_200_after_a_logout_while_every_database_connection_is_killed() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    let a = spawn_app_with(Options::default().on(&db.url)).await;
    let b = Arc::new(spawn_app_with(Options::default().on(&db.url)).await);
    let admin = Database::connect(&db.url).await.unwrap();
    // Every other connection to this database: B's confirming reads among them.
    let kill_all = || async {
        admin
            .execute_unprepared(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = current_database() AND pid <> pg_backend_pid()",
            )
            .await
            .unwrap();
    };
    for attempt in 0..3 {
        let seen = round(&a, &b, &format!("killed{attempt}"), kill_all()).await;
        assert_eq!(seen.ok_after.load(Ordering::SeqCst), 0, "{seen:?}");
        assert!(seen.refused_after.load(Ordering::SeqCst) > 0, "{seen:?}");
    }
    // And B serves sessions again once its pool has reconnected.
    let token = a.logged_in("afterwards").await;
    assert_eq!(b.get_protected_bearer(&token).await.status, StatusCode::OK);
    admin.close().await.unwrap();
    drop((a, b));
    drop(db);
}

/// The notification channel dropping: the instances' `LISTEN` connections
/// (the lease keepers' append hint) are killed just before each logout, so
/// B hears of it only at its keeper's next poll. No 200 after the logout
/// answered, the logout still answers, and B keeps its lease.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn no_200_after_a_logout_while_the_notification_channel_is_dropped() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    let a = spawn_app_with(Options::default().on(&db.url)).await;
    let b = Arc::new(spawn_app_with(Options::default().on(&db.url)).await);
    let admin = Database::connect(&db.url).await.unwrap();
    let listeners = || async {
        admin
            .query_all_raw(Statement::from_string(
                DbBackend::Postgres,
                "SELECT pid FROM pg_stat_activity \
                 WHERE datname = current_database() AND query LIKE 'LISTEN%'",
            ))
            .await
            .unwrap()
            .len()
    };
    // Both keepers asked for the hint at start: two listeners.
    let deadline = Instant::now() + Duration::from_secs(10);
    while listeners().await < 2 {
        assert!(Instant::now() < deadline, "no LISTEN connections");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let drop_channel = || async {
        admin
            .execute_unprepared(
                "SELECT pg_terminate_backend(pid) FROM pg_stat_activity \
                 WHERE datname = current_database() AND query LIKE 'LISTEN%'",
            )
            .await
            .unwrap();
    };
    for attempt in 0..3 {
        let seen = round(&a, &b, &format!("deaf{attempt}"), drop_channel()).await;
        assert_eq!(seen.ok_after.load(Ordering::SeqCst), 0, "{seen:?}");
        assert!(seen.refused_after.load(Ordering::SeqCst) > 0, "{seen:?}");
        assert_eq!(seen.other.load(Ordering::SeqCst), 0, "{seen:?}");
        assert!(b.app.auth().session_cache().is_leased());
    }
    // The listeners come back by themselves.
    let deadline = Instant::now() + Duration::from_secs(10);
    while listeners().await < 2 {
        assert!(Instant::now() < deadline, "the listeners did not reconnect");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    admin.close().await.unwrap();
    drop((a, b));
    drop(db);
}
