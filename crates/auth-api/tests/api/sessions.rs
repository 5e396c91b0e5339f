//! `GET /sessions`, `DELETE /sessions/{id}`, `POST /sessions/revoke-others`,
//! `POST /logout/everywhere`: the caller's sessions, listed and ended, with
//! the cookie and with a bearer token.

use auth_core::SessionToken;
use poem::http::StatusCode;
use serde_json::Value;

use crate::helpers::{Auth, GOOD_PASSWORD, Reply, spawn_app};

const UNKNOWN_ID: &str = "0190a1b2-c3d4-4e5f-8a6b-7c8d9e0f1a2b";

fn sessions(reply: &Reply) -> &Vec<Value> {
    reply.body["sessions"].as_array().unwrap()
}

#[tokio::test]
async fn the_list_shows_every_live_session_newest_first_with_the_current_one_marked() {
    // Arrange: three logins, a second apart.
    let app = spawn_app().await;
    let first = app.logged_in("alice").await;
    app.advance(std::time::Duration::from_secs(1));
    let second = app.login_again("alice", GOOD_PASSWORD).await;
    app.advance(std::time::Duration::from_secs(1));
    let third = app.login_again("alice", GOOD_PASSWORD).await;
    let bob = app.logged_in("bob").await;

    for auth in Auth::both(&second) {
        // Act
        let reply = app.get_as("/sessions", auth).await;

        // Assert
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(reply.header("cache-control").as_deref(), Some("no-store"));
        let listed = sessions(&reply);
        let ids: Vec<&str> = listed.iter().map(|s| s["id"].as_str().unwrap()).collect();
        let expected: Vec<String> = [&third, &second, &first]
            .iter()
            .map(|token| handle_of(token))
            .collect();
        assert_eq!(ids, expected, "newest first, only alice's");
        let current: Vec<bool> = listed.iter().map(|s| s["current"] == true).collect();
        assert_eq!(current, [false, true, false]);
        let created: Vec<&str> = listed
            .iter()
            .map(|s| s["created_at"].as_str().unwrap())
            .collect();
        assert!(
            created[0] > created[1] && created[1] > created[2],
            "{created:?}"
        );
        for session in listed {
            let mut keys: Vec<&str> = session
                .as_object()
                .unwrap()
                .keys()
                .map(String::as_str)
                .collect();
            keys.sort_unstable();
            assert_eq!(
                keys,
                [
                    "created_at",
                    "current",
                    "expires_at",
                    "id",
                    "idle_expires_at",
                    "ip",
                    "last_seen_at",
                    "user_agent"
                ]
            );
        }
        // Never a token (nor the hash, which `id` is derived from one way).
        let text = reply.body.to_string();
        for token in [&first, &second, &third, &bob] {
            assert!(!text.contains(token.as_str()));
            assert!(!text.contains(&hex_id(token)));
        }
    }
}

#[tokio::test]
async fn the_list_shows_the_logins_user_agent_and_address() {
    // Arrange: a login over a socket, so the server sees a peer address.
    let app = spawn_app().await;
    app.post_register("alice", GOOD_PASSWORD).await;
    let server = app.serve_on_socket().await;
    let login = server
        .send_raw(
            "POST",
            "/login",
            &[("user-agent", "Firefox/140 (test)")],
            Some(&serde_json::json!({"username": "alice", "password": GOOD_PASSWORD})),
        )
        .await;
    let token = login.body["token"].as_str().unwrap().to_owned();
    // Later, so that it lists first (sessions of one instant are in id order).
    app.advance(std::time::Duration::from_secs(1));
    let quiet = app.login_again("alice", GOOD_PASSWORD).await;

    // Act
    let reply = app.get_as("/sessions", Auth::Bearer(&quiet)).await;

    // Assert: the in-process client sends neither: both are null.
    let listed = sessions(&reply);
    assert_eq!(listed[0]["user_agent"], Value::Null);
    assert_eq!(listed[0]["ip"], Value::Null);
    assert_eq!(listed[1]["id"], handle_of(&token));
    assert_eq!(listed[1]["user_agent"], "Firefox/140 (test)");
    assert_eq!(listed[1]["ip"], "127.0.0.1");
    let expires = &listed[1]["expires_at"];
    assert_eq!(*expires, login.body["expires_at"]);
}

#[tokio::test]
async fn revoking_another_session_ends_it_at_once_and_keeps_the_callers() {
    for scheme in ["cookie", "bearer"] {
        let app = spawn_app().await;
        let mine = app.logged_in("alice").await;
        let other = app.login_again("alice", GOOD_PASSWORD).await;
        let auth = match scheme {
            "cookie" => Auth::Cookie(&mine),
            _ => Auth::Bearer(&mine),
        };

        let reply = app
            .delete_as(&format!("/sessions/{}", handle_of(&other)), auth)
            .await;

        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(
            reply.body,
            serde_json::json!({"message": "Session revoked"})
        );
        assert_eq!(
            reply.header("set-cookie"),
            None,
            "the caller's cookie stays"
        );
        app.get_protected_bearer(&other)
            .await
            .assert_error(401, "unauthorized");
        assert_eq!(app.get_protected_cookie(&mine).await.status, StatusCode::OK);
        assert_eq!(sessions(&app.get_as("/sessions", auth).await).len(), 1);
        // Gone: a second revocation finds nothing.
        app.delete_as(&format!("/sessions/{}", handle_of(&other)), auth)
            .await
            .assert_error(404, "session_not_found");
    }
}

#[tokio::test]
async fn revoking_the_current_session_ends_it_and_clears_the_cookie() {
    let app = spawn_app().await;
    let mine = app.logged_in("alice").await;

    let reply = app
        .delete_as(
            &format!("/sessions/{}", handle_of(&mine)),
            Auth::Cookie(&mine),
        )
        .await;

    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let cleared = reply.header("set-cookie").unwrap();
    assert!(cleared.starts_with("session=;"), "{cleared}");
    assert!(cleared.contains("Max-Age=0"), "{cleared}");
    app.get_protected_cookie(&mine)
        .await
        .assert_error(401, "unauthorized");
}

#[tokio::test]
async fn an_unknown_malformed_or_someone_elses_id_is_404_session_not_found() {
    // Arrange
    let app = spawn_app().await;
    let alice = app.logged_in("alice").await;
    let bob = app.logged_in("bob").await;
    let bobs_id = handle_of(&bob);
    let long = "x".repeat(2000);
    let ids = [
        UNKNOWN_ID,
        "not-a-uuid",
        "0190a1b2c3d44e5f8a6b7c8d9e0f1a2b0",
        "%00",
        "%2e%2e",
        long.as_str(),
        bobs_id.as_str(),
        // The token itself is not an id either.
        alice.as_str(),
    ];
    for auth in Auth::both(&alice) {
        for id in ids {
            // Act
            let reply = app.delete_as(&format!("/sessions/{id}"), auth).await;

            // Assert
            reply.assert_error(404, "session_not_found");
        }
    }
    // Bob's session was not touched, and neither was alice's.
    assert_eq!(app.get_protected_bearer(&bob).await.status, StatusCode::OK);
    assert_eq!(
        app.get_protected_bearer(&alice).await.status,
        StatusCode::OK
    );
    app.assert_healthy().await;
}

#[tokio::test]
async fn revoke_others_ends_every_other_session_and_says_how_many() {
    for scheme in ["cookie", "bearer"] {
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

        let reply = app.post_as("/sessions/revoke-others", auth, None).await;

        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(reply.body, serde_json::json!({"revoked": 2}));
        for other in &others {
            app.get_protected_bearer(other)
                .await
                .assert_error(401, "unauthorized");
        }
        assert_eq!(app.get_protected_bearer(&mine).await.status, StatusCode::OK);
        assert_eq!(app.get_protected_bearer(&bob).await.status, StatusCode::OK);
        let again = app.post_as("/sessions/revoke-others", auth, None).await;
        assert_eq!(again.body, serde_json::json!({"revoked": 0}));
    }
}

#[tokio::test]
async fn logout_everywhere_ends_every_session_and_clears_the_cookie() {
    for scheme in ["cookie", "bearer"] {
        let app = spawn_app().await;
        let mine = app.logged_in("alice").await;
        let other = app.login_again("alice", GOOD_PASSWORD).await;
        let bob = app.logged_in("bob").await;
        let auth = match scheme {
            "cookie" => Auth::Cookie(&mine),
            _ => Auth::Bearer(&mine),
        };

        let reply = app.post_as("/logout/everywhere", auth, None).await;

        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(
            reply.body,
            serde_json::json!({"message": "Logged out everywhere", "revoked": 2})
        );
        assert!(reply.header("set-cookie").unwrap().starts_with("session=;"));
        for token in [&mine, &other] {
            app.get_protected_cookie(token)
                .await
                .assert_error(401, "unauthorized");
        }
        assert_eq!(app.get_protected_bearer(&bob).await.status, StatusCode::OK);
        // The session that asked is gone too: as after /logout.
        app.post_as("/logout/everywhere", auth, None)
            .await
            .assert_error(401, "not_logged_in");
    }
}

#[tokio::test]
async fn without_a_live_session_each_route_is_401_with_its_code() {
    let app = spawn_app().await;
    let dead = app.logged_in("alice").await;
    app.post_logout_bearer(&dead).await;
    let delete_path = format!("/sessions/{UNKNOWN_ID}");
    for auth in [
        Auth::Nobody,
        Auth::Cookie("garbage"),
        Auth::Bearer(&"A".repeat(43)),
        Auth::Cookie(&dead),
        Auth::Bearer(&dead),
    ] {
        app.get_as("/sessions", auth)
            .await
            .assert_error(401, "unauthorized");
        app.delete_as(&delete_path, auth)
            .await
            .assert_error(401, "unauthorized");
        app.post_as("/sessions/revoke-others", auth, None)
            .await
            .assert_error(401, "unauthorized");
        app.post_as("/logout/everywhere", auth, None)
            .await
            .assert_error(401, "not_logged_in");
    }
}

#[tokio::test]
async fn cross_site_state_changes_with_the_cookie_are_403_and_change_nothing() {
    let app = spawn_app().await;
    let mine = app.logged_in("alice").await;
    let other = app.login_again("alice", GOOD_PASSWORD).await;
    let requests = [
        ("DELETE", format!("/sessions/{}", handle_of(&other))),
        ("POST", "/sessions/revoke-others".to_owned()),
        ("POST", "/logout/everywhere".to_owned()),
    ];
    for (method, path) in &requests {
        let reply = Reply::from(
            app.client
                .request(method.parse().unwrap(), path)
                .header("cookie", format!("session={mine}"))
                .header("sec-fetch-site", "cross-site")
                .send()
                .await,
        )
        .await;

        reply.assert_error(403, "cross_site_request");
    }
    for token in [&mine, &other] {
        assert_eq!(app.get_protected_bearer(token).await.status, StatusCode::OK);
    }
    // Reading the list from another site changes nothing: not refused.
    let read = Reply::from(
        app.client
            .get("/sessions")
            .header("cookie", format!("session={mine}"))
            .header("sec-fetch-site", "cross-site")
            .send()
            .await,
    )
    .await;
    assert_eq!(read.status, StatusCode::OK);
}

#[tokio::test]
async fn other_methods_on_the_session_routes_are_405_with_allow() {
    let app = spawn_app().await;
    let token = app.logged_in("alice").await;

    let post_one = app
        .post_as(
            &format!("/sessions/{UNKNOWN_ID}"),
            Auth::Bearer(&token),
            None,
        )
        .await;
    let delete_all = app.delete_as("/sessions", Auth::Bearer(&token)).await;

    post_one.assert_error(405, "method_not_allowed");
    assert_eq!(post_one.header("allow").as_deref(), Some("DELETE"));
    delete_all.assert_error(405, "method_not_allowed");
    assert_eq!(delete_all.header("allow").as_deref(), Some("GET"));
}

#[tokio::test]
async fn an_expired_session_is_not_listed() {
    let app = spawn_app().await;
    let old = app.logged_in("alice").await;
    app.advance(app.session_policy.idle_timeout / 2);
    let fresh = app.login_again("alice", GOOD_PASSWORD).await;
    // `old` goes idle; `fresh` is used at the half-way point and lives on.
    app.advance(app.session_policy.idle_timeout / 2 + std::time::Duration::from_secs(1));

    let reply = app.get_as("/sessions", Auth::Bearer(&fresh)).await;

    let ids: Vec<&str> = sessions(&reply)
        .iter()
        .map(|s| s["id"].as_str().unwrap())
        .collect();
    assert_eq!(ids, [handle_of(&fresh)]);
    app.delete_as(
        &format!("/sessions/{}", handle_of(&old)),
        Auth::Bearer(&fresh),
    )
    .await
    .assert_error(404, "session_not_found");
}

/// The public id the server derives from a token's session.
fn handle_of(token: &str) -> String {
    SessionToken::parse(token)
        .unwrap()
        .id()
        .handle()
        .to_string()
}

/// The session's stored id (SHA-256 of the token), in hex.
fn hex_id(token: &str) -> String {
    SessionToken::parse(token)
        .unwrap()
        .id()
        .as_bytes()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}
