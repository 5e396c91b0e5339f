//! `GET /me`, `POST /me/delete`, `GET /me/events`.

use std::time::Duration;

use poem::http::StatusCode;
use serde_json::{Value, json};

use crate::helpers::{Auth, GOOD_PASSWORD, Reply, spawn_app};

#[tokio::test]
async fn me_shows_the_account_with_empty_email_and_second_factors() {
    let app = spawn_app().await;
    let registered = app.post_register("John.Doe", GOOD_PASSWORD).await;
    let token = app.login_again("john.doe", GOOD_PASSWORD).await;

    for auth in Auth::both(&token) {
        let reply = app.get_as("/me", auth).await;

        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(reply.header("cache-control").as_deref(), Some("no-store"));
        let created_at = reply.body["created_at"].as_str().unwrap().to_owned();
        assert_eq!(
            reply.body,
            json!({
                "user_id": registered.body["user_id"],
                "username": "John.Doe",
                "created_at": created_at,
                "email": null,
                "email_verified": false,
                "mfa": {"totp": false, "passkeys": 0, "recovery_codes_left": 0},
            })
        );
        let created_at: chrono::DateTime<chrono::Utc> = created_at.parse().unwrap();
        assert_eq!(created_at, app.clock_now());
    }
}

#[tokio::test]
async fn me_without_a_live_session_is_401_unauthorized() {
    let app = spawn_app().await;
    let dead = app.logged_in("alice").await;
    app.post_logout_bearer(&dead).await;

    for auth in [
        Auth::Nobody,
        Auth::Cookie("garbage"),
        Auth::Bearer(&dead),
        Auth::Cookie(&dead),
    ] {
        app.get_as("/me", auth)
            .await
            .assert_error(401, "unauthorized");
        app.get_as("/me/events", auth)
            .await
            .assert_error(401, "unauthorized");
        app.post_as(
            "/me/delete",
            auth,
            Some(&json!({"password": GOOD_PASSWORD})),
        )
        .await
        .assert_error(401, "unauthorized");
    }
}

#[tokio::test]
async fn deleting_the_account_ends_its_sessions_at_once_and_frees_the_name() {
    for scheme in ["cookie", "bearer"] {
        // Arrange
        let app = spawn_app().await;
        let mine = app.logged_in("alice").await;
        let other = app.login_again("alice", GOOD_PASSWORD).await;
        let bob = app.logged_in("bob").await;
        let auth = match scheme {
            "cookie" => Auth::Cookie(&mine),
            _ => Auth::Bearer(&mine),
        };

        // Act
        let reply = app
            .post_as(
                "/me/delete",
                auth,
                Some(&json!({"password": GOOD_PASSWORD})),
            )
            .await;

        // Assert
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(reply.body, json!({"message": "Account deleted"}));
        assert!(reply.header("set-cookie").unwrap().starts_with("session=;"));
        for token in [&mine, &other] {
            for auth in Auth::both(token) {
                app.get_as("/me", auth)
                    .await
                    .assert_error(401, "unauthorized");
            }
        }
        app.post_login("alice", GOOD_PASSWORD)
            .await
            .assert_error(401, "invalid_credentials");
        assert_eq!(app.get_protected_bearer(&bob).await.status, StatusCode::OK);
        let again = app.post_register("ALICE", GOOD_PASSWORD).await;
        assert_eq!(again.status, StatusCode::CREATED, "{}", again.body);
        let newcomer = app.login_again("alice", GOOD_PASSWORD).await;
        // The new account starts with nothing of the old one's.
        let events = app.get_as("/me/events", Auth::Bearer(&newcomer)).await;
        assert_eq!(event_types(&events), ["login_succeeded", "registered"]);
    }
}

#[tokio::test]
async fn deleting_with_a_wrong_password_is_401_and_the_sixth_is_429() {
    let app = spawn_app().await;
    let mine = app.logged_in("alice").await;
    let wrong = json!({"password": "not my password at all"});

    for _ in 0..5 {
        app.post_as("/me/delete", Auth::Bearer(&mine), Some(&wrong))
            .await
            .assert_error(401, "invalid_credentials");
    }
    let sixth = app
        .post_as("/me/delete", Auth::Bearer(&mine), Some(&wrong))
        .await;

    sixth.assert_error(429, "too_many_attempts");
    assert!(sixth.header("retry-after").is_some());
    // Nothing was deleted.
    assert_eq!(
        app.get_as("/me", Auth::Bearer(&mine)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_malformed_delete_body_is_400_invalid_request() {
    let app = spawn_app().await;
    let mine = app.logged_in("alice").await;

    for body in [json!({}), json!({"password": 1}), json!("password")] {
        app.post_as("/me/delete", Auth::Bearer(&mine), Some(&body))
            .await
            .assert_error(400, "invalid_request");
    }
    assert_eq!(
        app.get_as("/me", Auth::Bearer(&mine)).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_cross_site_deletion_with_the_cookie_is_403_and_deletes_nothing() {
    let app = spawn_app().await;
    let mine = app.logged_in("alice").await;

    let reply = Reply::from(
        app.client
            .post("/me/delete")
            .header("cookie", format!("session={mine}"))
            .header("sec-fetch-site", "cross-site")
            .body_json(&json!({"password": GOOD_PASSWORD}))
            .send()
            .await,
    )
    .await;

    reply.assert_error(403, "cross_site_request");
    assert_eq!(
        app.get_as("/me", Auth::Cookie(&mine)).await.status,
        StatusCode::OK
    );
}

fn event_types(reply: &Reply) -> Vec<&str> {
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["type"].as_str().unwrap())
        .collect()
}

#[tokio::test]
async fn events_show_what_happened_to_the_account_newest_first() {
    // Arrange: one step a second, so that time orders them too.
    let app = spawn_app().await;
    let step = || app.advance(Duration::from_secs(1));
    app.post_register("alice", GOOD_PASSWORD).await;
    step();
    app.post_login("alice", "not my password at all").await;
    step();
    let mine = app.login_again("alice", GOOD_PASSWORD).await;
    step();
    let second = app.login_again("alice", GOOD_PASSWORD).await;
    step();
    app.post_logout_bearer(&second).await;
    step();
    let third = app.login_again("alice", GOOD_PASSWORD).await;
    step();
    let id = app.session_id(&third).await;
    app.delete_as(&format!("/sessions/{id}"), Auth::Bearer(&mine))
        .await;
    step();
    app.post_as(
        "/password",
        Auth::Bearer(&mine),
        Some(&json!({"current_password": GOOD_PASSWORD, "new_password": "violet harbour lantern 97"})),
    )
    .await;
    app.logged_in("bob").await;

    for auth in Auth::both(&mine) {
        // Act
        let reply = app.get_as("/me/events", auth).await;

        // Assert
        assert_eq!(reply.header("cache-control").as_deref(), Some("no-store"));
        assert_eq!(
            event_types(&reply),
            [
                "password_changed",
                "session_revoked",
                "login_succeeded",
                "logged_out",
                "login_succeeded",
                "login_succeeded",
                "login_failed",
                "registered",
            ]
        );
        let events = reply.body["events"].as_array().unwrap();
        let times: Vec<chrono::DateTime<chrono::Utc>> = events
            .iter()
            .map(|event| event["at"].as_str().unwrap().parse().unwrap())
            .collect();
        assert!(times.windows(2).all(|pair| pair[0] > pair[1]), "{times:?}");
        for event in events {
            let mut keys: Vec<&str> = event
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            keys.sort_unstable();
            assert_eq!(keys, ["at", "ip", "type", "user_agent"]);
            // The in-process client sends no address and no user agent.
            assert_eq!(event["ip"], Value::Null);
            assert_eq!(event["user_agent"], Value::Null);
        }
    }
}

#[tokio::test]
async fn events_carry_the_address_and_user_agent_that_were_sent() {
    // Arrange: behind a trusted proxy, so X-Forwarded-For names the client.
    let app = crate::helpers::spawn_app_with(
        crate::helpers::Options::default().with("--trusted-proxies", "127.0.0.1/32"),
    )
    .await;
    let server = app.serve_on_socket().await;
    let from = [
        ("x-forwarded-for", "203.0.113.5"),
        ("user-agent", "Mozilla/5.0 (X11; Linux x86_64) Firefox/140"),
    ];
    let credentials = json!({"username": "alice", "password": GOOD_PASSWORD});
    server
        .send_raw("POST", "/register", &from, Some(&credentials))
        .await;
    let login = server
        .send_raw("POST", "/login", &from, Some(&credentials))
        .await;
    let token = login.body["token"].as_str().unwrap();

    // Act
    let reply = server
        .send_raw(
            "GET",
            "/me/events",
            &[("authorization", &format!("Bearer {token}"))],
            None,
        )
        .await;

    // Assert
    assert_eq!(reply.status, 200, "{}", reply.body);
    let events = reply.body["events"].as_array().unwrap();
    assert_eq!(events.len(), 2);
    for event in events {
        assert_eq!(event["ip"], "203.0.113.5");
        assert_eq!(
            event["user_agent"],
            "Mozilla/5.0 (X11; Linux x86_64) Firefox/140"
        );
    }
}

#[tokio::test]
async fn the_events_limit_is_1_to_200_and_defaults_to_50() {
    // Arrange: 1 registration + 60 logins = 61 events.
    let app = spawn_app().await;
    let mine = app.logged_in("alice").await;
    for _ in 0..59 {
        app.login_again("alice", GOOD_PASSWORD).await;
    }
    let count = |reply: &Reply| reply.body["events"].as_array().unwrap().len();

    // Act + assert
    assert_eq!(
        count(&app.get_as("/me/events", Auth::Bearer(&mine)).await),
        50
    );
    for (limit, expected) in [(1, 1), (60, 60), (200, 61)] {
        let reply = app
            .get_as(&format!("/me/events?limit={limit}"), Auth::Bearer(&mine))
            .await;
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(count(&reply), expected, "limit={limit}");
    }
    for bad in ["0", "201", "-1", "abc", "1.5", "", "99999999999999999999"] {
        app.get_as(&format!("/me/events?limit={bad}"), Auth::Bearer(&mine))
            .await
            .assert_error(400, "invalid_request");
    }
    app.assert_healthy().await;
}
