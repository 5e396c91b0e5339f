//! `POST /password`: the caller's session stays, the others end, the old
//! password stops working, and a wrong current password is a failed login.

use poem::http::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Auth, GOOD_PASSWORD, Reply, spawn_app};

const NEW_PASSWORD: &str = "violet harbour lantern 97";

fn change(current: &str, new: &str) -> Value {
    json!({"current_password": current, "new_password": new})
}

#[tokio::test]
async fn a_password_change_keeps_this_session_ends_the_others_and_swaps_the_passwords() {
    for scheme in ["cookie", "bearer"] {
        // Arrange
        let app = spawn_app().await;
        let mine = app.logged_in("alice").await;
        let others = [
            app.login_again("alice", GOOD_PASSWORD).await,
            app.login_again("alice", GOOD_PASSWORD).await,
        ];
        let bob = app.logged_in("bob").await;
        let auth = match scheme {
            "cookie" => Auth::Cookie(&mine),
            _ => Auth::Bearer(&mine),
        };

        // Act
        let reply = app
            .post_as(
                "/password",
                auth,
                Some(&change(GOOD_PASSWORD, NEW_PASSWORD)),
            )
            .await;

        // Assert
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(
            reply.body,
            json!({"message": "Password changed", "sessions_revoked": 2})
        );
        assert_eq!(reply.header("cache-control").as_deref(), Some("no-store"));
        assert_eq!(reply.header("set-cookie"), None);
        assert_eq!(app.get_protected_cookie(&mine).await.status, StatusCode::OK);
        for other in &others {
            app.get_protected_bearer(other)
                .await
                .assert_error(401, "unauthorized");
        }
        assert_eq!(app.get_protected_bearer(&bob).await.status, StatusCode::OK);
        app.post_login("alice", GOOD_PASSWORD)
            .await
            .assert_error(401, "invalid_credentials");
        assert_eq!(
            app.post_login("alice", NEW_PASSWORD).await.status,
            StatusCode::OK
        );
    }
}

#[tokio::test]
async fn a_weak_new_password_is_400_weak_password_and_nothing_changes() {
    let app = spawn_app().await;
    let mine = app.logged_in("alice").await;
    let other = app.login_again("alice", GOOD_PASSWORD).await;

    for weak in ["password12345678", "alice is my name ok"] {
        let reply = app
            .post_as(
                "/password",
                Auth::Bearer(&mine),
                Some(&change(GOOD_PASSWORD, weak)),
            )
            .await;

        reply.assert_error(400, "weak_password");
    }
    assert_eq!(
        app.get_protected_bearer(&other).await.status,
        StatusCode::OK
    );
    assert_eq!(
        app.post_login("alice", GOOD_PASSWORD).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_new_password_outside_the_schemas_length_limits_is_400_weak_password() {
    let app = spawn_app().await;
    let mine = app.logged_in("alice").await;
    let too_long = "correct horse ".repeat(19); // 266 characters

    for new in ["short", "", too_long.as_str()] {
        let reply = app
            .post_as(
                "/password",
                Auth::Bearer(&mine),
                Some(&change(GOOD_PASSWORD, new)),
            )
            .await;

        // The schema states the limits; the policy refuses them, with the
        // code and message `/register` gives the same password.
        reply.assert_error(400, "weak_password");
    }
    assert_eq!(
        app.post_login("alice", GOOD_PASSWORD).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn malformed_bodies_are_400_invalid_request() {
    let app = spawn_app().await;
    let mine = app.logged_in("alice").await;
    let bodies = [
        json!({"current_password": GOOD_PASSWORD}),
        json!({"new_password": NEW_PASSWORD}),
        json!({"current_password": 12, "new_password": NEW_PASSWORD}),
        json!([GOOD_PASSWORD, NEW_PASSWORD]),
    ];
    for body in &bodies {
        app.post_as("/password", Auth::Bearer(&mine), Some(body))
            .await
            .assert_error(400, "invalid_request");
    }
    let no_body = app.post_as("/password", Auth::Bearer(&mine), None).await;
    assert!(no_body.status.is_client_error(), "{}", no_body.body);
    app.assert_healthy().await;
}

#[tokio::test]
async fn a_wrong_current_password_is_401_and_the_sixth_is_429() {
    // Arrange
    let app = spawn_app().await;
    let mine = app.logged_in("alice").await;
    let wrong = change("not my password at all", NEW_PASSWORD);

    // Act: the account's five free failures, then one more.
    for _ in 0..5 {
        app.post_as("/password", Auth::Cookie(&mine), Some(&wrong))
            .await
            .assert_error(401, "invalid_credentials");
    }
    let sixth = app
        .post_as("/password", Auth::Cookie(&mine), Some(&wrong))
        .await;

    // Assert: the back-off is the account's: the right password and a
    // login wait too, and the session is still alive.
    sixth.assert_error(429, "too_many_attempts");
    assert!(sixth.header("retry-after").is_some());
    app.post_as(
        "/password",
        Auth::Cookie(&mine),
        Some(&change(GOOD_PASSWORD, NEW_PASSWORD)),
    )
    .await
    .assert_error(429, "too_many_attempts");
    app.post_login("alice", GOOD_PASSWORD)
        .await
        .assert_error(429, "too_many_attempts");
    assert_eq!(app.get_protected_cookie(&mine).await.status, StatusCode::OK);
    // Recorded as failed logins, and one refusal (at most one a minute).
    let events = app.get_as("/me/events", Auth::Cookie(&mine)).await;
    let types: Vec<&str> = events.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["type"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "login_throttled",
            "login_failed",
            "login_failed",
            "login_failed",
            "login_failed",
            "login_failed",
            "login_succeeded",
            "registered"
        ]
    );
}

#[tokio::test]
async fn without_a_live_session_a_password_change_is_401_unauthorized() {
    let app = spawn_app().await;
    let dead = app.logged_in("alice").await;
    app.post_logout_bearer(&dead).await;
    let body = change(GOOD_PASSWORD, NEW_PASSWORD);

    for auth in [Auth::Nobody, Auth::Cookie(&dead), Auth::Bearer(&dead)] {
        app.post_as("/password", auth, Some(&body))
            .await
            .assert_error(401, "unauthorized");
    }
    assert_eq!(
        app.post_login("alice", GOOD_PASSWORD).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_cross_site_password_change_with_the_cookie_is_403() {
    let app = spawn_app().await;
    let mine = app.logged_in("alice").await;

    let reply = Reply::from(
        app.client
            .post("/password")
            .header("cookie", format!("session={mine}"))
            .header("sec-fetch-site", "cross-site")
            .body_json(&change(GOOD_PASSWORD, NEW_PASSWORD))
            .send()
            .await,
    )
    .await;

    reply.assert_error(403, "cross_site_request");
    assert_eq!(
        app.post_login("alice", GOOD_PASSWORD).await.status,
        StatusCode::OK
    );
}
