//! What another instance shows of a user, on PostgreSQL: `GET /sessions`
//! and `GET /me` are served from each instance's cache (confirmed against
//! the revocation log as a session is), and a change made on instance A (a
//! login, a logout, TOTP enabled, a recovery code spent) is in instance
//! B's answer as soon as A's has answered: B loops on the route from
//! several tasks meanwhile, and no request B received after A answered may
//! show the old state.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use poem::http::StatusCode;
use serde_json::{Value, json};
use totp_rs::Totp;

use crate::cli::TestDatabase;
use crate::helpers::{Auth, GOOD_PASSWORD, Options, TestApp, spawn_app_with};

/// Tasks reading the route on B at once.
const LOOPERS: usize = 8;

#[derive(Debug, Default)]
struct Seen {
    /// Answers to requests sent after A's change answered.
    after: AtomicU64,
    /// Of those, answers that still showed the old state: must stay 0.
    stale_after: AtomicU64,
    /// Answers other than 200.
    other: AtomicU64,
}

/// Reads `path` on `b` as `token` from [`LOOPERS`] tasks while `change`
/// runs on A, then a while longer; `is_new` says whether an answer shows
/// the change. Returns what B answered.
async fn loop_during(
    b: &Arc<TestApp>,
    path: &'static str,
    token: &str,
    is_new: fn(&Value) -> bool,
    change: impl std::future::Future<Output = ()>,
) -> Seen {
    let (base, answered_at) = (Instant::now(), Arc::new(AtomicU64::new(0)));
    let (stop, seen) = (Arc::new(AtomicBool::new(false)), Arc::new(Seen::default()));
    let since = |base: Instant| u64::try_from(base.elapsed().as_nanos()).unwrap().max(1);
    let tasks: Vec<_> = (0..LOOPERS)
        .map(|_| {
            let (b, token) = (b.clone(), token.to_owned());
            let (answered_at, stop, seen) = (answered_at.clone(), stop.clone(), seen.clone());
            tokio::spawn(async move {
                while !stop.load(Ordering::SeqCst) {
                    let answered = answered_at.load(Ordering::SeqCst);
                    let after = answered != 0 && since(base) > answered;
                    let reply = b.get_as(path, Auth::Bearer(&token)).await;
                    if reply.status != StatusCode::OK {
                        seen.other.fetch_add(1, Ordering::SeqCst);
                    } else if after {
                        seen.after.fetch_add(1, Ordering::SeqCst);
                        if !is_new(&reply.body) {
                            seen.stale_after.fetch_add(1, Ordering::SeqCst);
                        }
                    }
                }
            })
        })
        .collect();
    tokio::time::sleep(Duration::from_millis(100)).await;
    change.await;
    answered_at.store(since(base), Ordering::SeqCst);
    tokio::time::sleep(Duration::from_millis(200)).await;
    stop.store(true, Ordering::SeqCst);
    for task in tasks {
        task.await.unwrap();
    }
    let seen = Arc::try_unwrap(seen).unwrap();
    assert_eq!(
        seen.stale_after.load(Ordering::SeqCst),
        0,
        "{path}: {seen:?}"
    );
    assert_eq!(seen.other.load(Ordering::SeqCst), 0, "{path}: {seen:?}");
    assert!(seen.after.load(Ordering::SeqCst) > 0, "{path}: {seen:?}");
    seen
}

fn session_count(body: &Value) -> usize {
    body["sessions"].as_array().map_or(0, Vec::len)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_login_and_a_logout_on_a_are_in_bs_session_list_at_once() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    let a = spawn_app_with(Options::default().on(&db.url)).await;
    let b = Arc::new(spawn_app_with(Options::default().on(&db.url)).await);
    let mine = a.logged_in("alice").await;
    let listed = b.get_as("/sessions", Auth::Bearer(&mine)).await;
    assert_eq!(session_count(&listed.body), 1, "{}", listed.body);

    let mut other = String::new();
    loop_during(
        &b,
        "/sessions",
        &mine,
        |body| session_count(body) == 2,
        async {
            other = a.login_again("alice", GOOD_PASSWORD).await;
        },
    )
    .await;
    loop_during(
        &b,
        "/sessions",
        &mine,
        |body| session_count(body) == 1,
        async {
            let reply = a.post_logout_bearer(&other).await;
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        },
    )
    .await;

    let cache = b.app.auth().session_cache();
    assert!(cache.is_shared() && cache.confirmation_rounds() > 0);
    drop((a, b));
    drop(db);
}

/// A login on A is logged as the user's session list only: B reads its
/// list again but keeps serving the user's other sessions from its cache.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_login_on_a_leaves_the_users_other_sessions_cached_on_b() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    let a = spawn_app_with(Options::default().on(&db.url)).await;
    let b = spawn_app_with(Options::default().on(&db.url)).await;
    let mine = a.logged_in("alice").await;
    for _ in 0..2 {
        let reply = b.get_as("/protected", Auth::Bearer(&mine)).await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    }
    let cache = b.app.auth().session_cache();
    let hits = cache.hits();
    assert!(hits > 0, "the second check was a hit");

    a.login_again("alice", GOOD_PASSWORD).await;
    let reply = b.get_as("/protected", Auth::Bearer(&mine)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(
        cache.hits(),
        hits + 1,
        "served from B's cache after A's login"
    );
    let listed = b.get_as("/sessions", Auth::Bearer(&mine)).await;
    assert_eq!(session_count(&listed.body), 2, "{}", listed.body);
    drop((a, b));
    drop(db);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn second_factor_changes_on_a_are_in_bs_me_at_once() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    let a = spawn_app_with(Options::default().on(&db.url)).await;
    let b = Arc::new(spawn_app_with(Options::default().on(&db.url)).await);
    let token = a.logged_in("alice").await;
    let me = b.get_as("/me", Auth::Bearer(&token)).await;
    assert_eq!(me.body["mfa"]["totp"], json!(false), "{}", me.body);

    let setup = a
        .post_as(
            "/mfa/totp/setup",
            Auth::Bearer(&token),
            Some(&json!({"password": GOOD_PASSWORD})),
        )
        .await;
    assert_eq!(setup.status, StatusCode::OK, "{}", setup.body);
    let totp = Totp::from_url(setup.body["otpauth_uri"].as_str().unwrap()).unwrap();
    let code = totp
        .generate(u64::try_from(a.clock_now().timestamp()).unwrap())
        .to_string();
    let mut codes = Vec::new();
    loop_during(
        &b,
        "/me",
        &token,
        |body| body["mfa"]["totp"] == json!(true),
        async {
            let confirmed = a
                .post_as(
                    "/mfa/totp/confirm",
                    Auth::Bearer(&token),
                    Some(&json!({"code": code})),
                )
                .await;
            assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
            codes = confirmed.body["recovery_codes"].as_array().unwrap().clone();
        },
    )
    .await;

    // A recovery code spent on A (by a password change that asks for it).
    let spent = |body: &Value| body["mfa"]["recovery_codes_left"] == json!(9);
    loop_during(&b, "/me", &token, spent, async {
        let changed = a
            .post_as(
                "/password",
                Auth::Bearer(&token),
                Some(&json!({
                    "current_password": GOOD_PASSWORD,
                    "new_password": "walnut harbor seventeen kites",
                    "code": codes[0],
                })),
            )
            .await;
        assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    })
    .await;
    drop((a, b));
    drop(db);
}
