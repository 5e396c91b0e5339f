use poem::http::StatusCode;
use serde_json::json;

use crate::helpers::{GOOD_PASSWORD, Options, spawn_app, spawn_app_with};

#[tokio::test]
async fn login_returns_token_expiry_and_a_session_cookie_with_the_contract_flags() {
    let app = spawn_app().await;
    app.post_register("alice", GOOD_PASSWORD).await;
    let reply = app.post_login("alice", GOOD_PASSWORD).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["message"], "Login successful");
    let token = reply.body["token"].as_str().unwrap();
    assert_eq!(token.len(), 43);
    let expires_at =
        chrono::DateTime::parse_from_rfc3339(reply.body["expires_at"].as_str().unwrap()).unwrap();
    assert_eq!(expires_at, app.clock_now() + chrono::TimeDelta::days(7));
    assert_eq!(reply.body["password_change_recommended"], false);

    let cookie = reply.header("set-cookie").unwrap();
    assert_eq!(reply.session_cookie(), token);
    for flag in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=604800"] {
        assert!(cookie.contains(flag), "{flag} missing in {cookie}");
    }
    assert!(!cookie.contains("Secure"), "{cookie}");
    assert_eq!(reply.header("cache-control").as_deref(), Some("no-store"));
}

#[tokio::test]
async fn the_cookie_is_secure_when_configured() {
    let app = spawn_app_with(Options::default().switch("--cookie-secure")).await;
    app.post_register("alice", GOOD_PASSWORD).await;
    let cookie = app
        .post_login("alice", GOOD_PASSWORD)
        .await
        .header("set-cookie")
        .unwrap();
    assert!(cookie.contains("Secure"), "{cookie}");
}

#[tokio::test]
async fn every_login_issues_a_fresh_token() {
    let app = spawn_app().await;
    app.post_register("alice", GOOD_PASSWORD).await;
    let first = app.post_login("alice", GOOD_PASSWORD).await.body["token"].clone();
    let second = app.post_login("alice", GOOD_PASSWORD).await.body["token"].clone();
    assert_ne!(first, second);
    // Both sessions are live: a new login does not end the old one.
    assert_eq!(
        app.get_protected_bearer(first.as_str().unwrap())
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        app.get_protected_bearer(second.as_str().unwrap())
            .await
            .status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn unknown_user_and_wrong_password_get_the_same_401() {
    let app = spawn_app().await;
    app.post_register("alice", GOOD_PASSWORD).await;
    let wrong_password = app.post_login("alice", "not the right passphrase").await;
    let unknown_user = app.post_login("nobody", "not the right passphrase").await;
    let invalid_name = app.post_login("no body!", "not the right passphrase").await;
    wrong_password.assert_error(401, "invalid_credentials");
    assert_eq!(wrong_password.body, unknown_user.body);
    assert_eq!(wrong_password.body, invalid_name.body);
    assert_eq!(wrong_password.status, unknown_user.status);
    assert!(wrong_password.header("set-cookie").is_none());
}

#[tokio::test]
async fn login_accepts_any_case_variant_of_the_name() {
    let app = spawn_app().await;
    app.post_register("John.Doe", GOOD_PASSWORD).await;
    let reply = app.post_login("JOHN.DOE", GOOD_PASSWORD).await;
    assert_eq!(reply.status, StatusCode::OK);
    let token = reply.body["token"].as_str().unwrap().to_owned();
    let me = app.get_protected_bearer(&token).await;
    assert_eq!(me.body["username"], "John.Doe");
}

#[tokio::test]
async fn login_bad_input_is_400_invalid_request() {
    let app = spawn_app().await;
    app.post_json("/login", &json!({"username": "alice"}))
        .await
        .assert_error(400, "invalid_request");
    app.post_json("/login", &json!({"password": "x"}))
        .await
        .assert_error(400, "invalid_request");
    app.post_json("/login", &json!({"username": ["a"], "password": "x"}))
        .await
        .assert_error(400, "invalid_request");
    app.assert_healthy().await;
}
