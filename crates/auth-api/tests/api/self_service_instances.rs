//! The self-service revocations as another instance sees them: revoking one
//! session, the others, all of them, changing the password and deleting the
//! account on instance A is `401` on instance B at once, with B's session
//! cache on (the default capacity) and holding the sessions.
//!
//! On PostgreSQL, A and B are two instances on one database, as deployed.
//! A SQLite file belongs to one server process (docs/configuration.md,
//! `--session-cache-capacity`), so there B is A itself: the same scenario
//! then shows that the route clears its own instance's cache.

use poem::http::StatusCode;
use serde_json::json;

use crate::cli::{TestDatabase, on_every_backend};
use crate::helpers::{Auth, GOOD_PASSWORD, Options, TestApp, spawn_app_with};

/// Instance A, and instance B when the backend allows a second one.
async fn instances(db: &TestDatabase) -> (TestApp, Option<TestApp>) {
    let a = spawn_app_with(Options::default().on(&db.url)).await;
    let b = if db.url.starts_with("postgres") {
        let b = spawn_app_with(Options::default().on(&db.url)).await;
        Some(b)
    } else {
        None
    };
    (a, b)
}

/// B answers `token` from its cache from now on.
async fn cached_on(b: &TestApp, token: &str) {
    for _ in 0..3 {
        assert_eq!(b.get_protected_bearer(token).await.status, StatusCode::OK);
    }
}

on_every_backend!(revoking_one_session_on_a_is_401_on_b_at_once);

async fn revoking_one_session_on_a_is_401_on_b_at_once(db: &TestDatabase) {
    // Arrange
    let (a, b) = instances(db).await;
    let b = b.as_ref().unwrap_or(&a);
    let mine = a.logged_in("alice").await;
    let other = a.login_again("alice", GOOD_PASSWORD).await;
    cached_on(b, &other).await;
    cached_on(b, &mine).await;
    let id = a.session_id(&other).await;

    // Act
    let reply = a
        .delete_as(&format!("/sessions/{id}"), Auth::Bearer(&mine))
        .await;

    // Assert: no sleep; the answer holds once the revocation has answered.
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    b.get_protected_bearer(&other)
        .await
        .assert_error(401, "unauthorized");
    b.get_protected_cookie(&other)
        .await
        .assert_error(401, "unauthorized");
    assert_eq!(b.get_protected_bearer(&mine).await.status, StatusCode::OK);
}

on_every_backend!(revoking_the_other_sessions_on_a_is_401_on_b_at_once);

async fn revoking_the_other_sessions_on_a_is_401_on_b_at_once(db: &TestDatabase) {
    let (a, b) = instances(db).await;
    let b = b.as_ref().unwrap_or(&a);
    let mine = a.logged_in("alice").await;
    let others = [
        a.login_again("alice", GOOD_PASSWORD).await,
        a.login_again("alice", GOOD_PASSWORD).await,
    ];
    for token in others.iter().chain([&mine]) {
        cached_on(b, token).await;
    }

    let reply = a
        .post_as("/sessions/revoke-others", Auth::Bearer(&mine), None)
        .await;

    assert_eq!(reply.body, json!({"revoked": 2}));
    for other in &others {
        b.get_protected_bearer(other)
            .await
            .assert_error(401, "unauthorized");
    }
    assert_eq!(b.get_protected_bearer(&mine).await.status, StatusCode::OK);
}

on_every_backend!(logging_out_everywhere_on_a_is_401_on_b_at_once);

async fn logging_out_everywhere_on_a_is_401_on_b_at_once(db: &TestDatabase) {
    let (a, b) = instances(db).await;
    let b = b.as_ref().unwrap_or(&a);
    let mine = a.logged_in("alice").await;
    let other = a.login_again("alice", GOOD_PASSWORD).await;
    for token in [&mine, &other] {
        cached_on(b, token).await;
    }

    let reply = a
        .post_as("/logout/everywhere", Auth::Cookie(&mine), None)
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    for token in [&mine, &other] {
        b.get_protected_bearer(token)
            .await
            .assert_error(401, "unauthorized");
        b.get_as("/sessions", Auth::Cookie(token))
            .await
            .assert_error(401, "unauthorized");
    }
}

on_every_backend!(a_password_change_on_a_ends_the_other_sessions_on_b_at_once);

async fn a_password_change_on_a_ends_the_other_sessions_on_b_at_once(db: &TestDatabase) {
    let (a, b) = instances(db).await;
    let b = b.as_ref().unwrap_or(&a);
    let mine = a.logged_in("alice").await;
    let other = a.login_again("alice", GOOD_PASSWORD).await;
    for token in [&mine, &other] {
        cached_on(b, token).await;
    }

    let reply = a
        .post_as(
            "/password",
            Auth::Bearer(&mine),
            Some(&json!({"current_password": GOOD_PASSWORD, "new_password": "violet harbour lantern 97"})),
        )
        .await;

    assert_eq!(reply.body["sessions_revoked"], 1, "{}", reply.body);
    b.get_protected_bearer(&other)
        .await
        .assert_error(401, "unauthorized");
    assert_eq!(b.get_protected_bearer(&mine).await.status, StatusCode::OK);
    b.post_login("alice", GOOD_PASSWORD)
        .await
        .assert_error(401, "invalid_credentials");
}

on_every_backend!(deleting_the_account_on_a_is_401_on_b_at_once);

async fn deleting_the_account_on_a_is_401_on_b_at_once(db: &TestDatabase) {
    let (a, b) = instances(db).await;
    let b = b.as_ref().unwrap_or(&a);
    let mine = a.logged_in("alice").await;
    let other = a.login_again("alice", GOOD_PASSWORD).await;
    for token in [&mine, &other] {
        cached_on(b, token).await;
    }

    let reply = a
        .post_as(
            "/me/delete",
            Auth::Bearer(&mine),
            Some(&json!({"password": GOOD_PASSWORD})),
        )
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    for token in [&mine, &other] {
        b.get_protected_bearer(token)
            .await
            .assert_error(401, "unauthorized");
        b.get_as("/me", Auth::Cookie(token))
            .await
            .assert_error(401, "unauthorized");
    }
    b.post_login("alice", GOOD_PASSWORD)
        .await
        .assert_error(401, "invalid_credentials");
    let again = b.post_register("alice", GOOD_PASSWORD).await;
    assert_eq!(again.status, StatusCode::CREATED, "{}", again.body);
}
