//! Passkeys through the HTTP API, with webauthn-authenticator-rs's
//! SoftPasskey as the authenticator: real P-256 keys, real signatures over
//! the client data the "browser" (this file) builds for an origin, so every
//! check of the server (challenge, origin, signature, counter) runs.
//!
//! The device and its browser are in `passkey_device.rs`. Each scenario
//! runs on SQLite, and on PostgreSQL when `AUTH_TEST_DATABASE_URL` is set.

use std::time::Duration;

use auth_core::PasskeyStore as _;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use poem::http::{Method, StatusCode};
use serde_json::{Value, json};
use totp_rs::Totp;

use crate::cli::{TestDatabase, on_every_backend};
use crate::helpers::{Auth, GOOD_PASSWORD, Options, Reply, TestApp, spawn_app_with};
use crate::passkey_device::Device;

/// The service's origin (the default `--public-url`).
const ORIGIN: &str = "http://localhost:5000";

async fn app_on(db: &TestDatabase) -> TestApp {
    spawn_app_with(Options::default().on(&db.url)).await
}

/// `POST /webauthn/register/options` then `/webauthn/register` at `origin`.
async fn register_at(
    app: &TestApp,
    token: &str,
    device: &mut Device,
    name: &str,
    origin: &str,
) -> (Reply, Value) {
    let options = app
        .post_as(
            "/webauthn/register/options",
            Auth::Bearer(token),
            Some(&json!({"name": name})),
        )
        .await;
    assert_eq!(options.status, StatusCode::OK, "{}", options.body);
    let credential = device.create(&options.body["publicKey"], origin);
    let body = json!({"challenge_id": options.body["challenge_id"], "credential": credential});
    let reply = app
        .post_as("/webauthn/register", Auth::Bearer(token), Some(&body))
        .await;
    (reply, body)
}

async fn register(app: &TestApp, token: &str, device: &mut Device, name: &str) -> Value {
    let (reply, _) = register_at(app, token, device, name, ORIGIN).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    reply.body
}

/// A passkey login at `origin`, with `username` or without; the reply and
/// the body sent (to replay it).
async fn login_at(
    app: &TestApp,
    device: &mut Device,
    username: Option<&str>,
    origin: &str,
) -> (Reply, Value) {
    let request = username.map_or_else(|| json!({}), |name| json!({"username": name}));
    let options = app.post_json("/webauthn/login/options", &request).await;
    assert_eq!(options.status, StatusCode::OK, "{}", options.body);
    let credential = device.get(&options.body["publicKey"], origin);
    let body = json!({"challenge_id": options.body["challenge_id"], "credential": credential});
    (app.post_json("/webauthn/login", &body).await, body)
}

async fn credentials(app: &TestApp, token: &str) -> Vec<Value> {
    let reply = app
        .get_as("/webauthn/credentials", Auth::Bearer(token))
        .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body["credentials"].as_array().unwrap().clone()
}

async fn event_types(app: &TestApp, token: &str) -> Vec<String> {
    let reply = app.get_as("/me/events", Auth::Bearer(token)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["type"].as_str().unwrap().to_owned())
        .collect()
}

/// `DELETE /webauthn/credentials/{id}`, with `X-MFA-Code` when given.
async fn remove(app: &TestApp, token: &str, id: &str, code: Option<&str>) -> Reply {
    let mut request = app
        .client
        .delete(format!("/webauthn/credentials/{id}"))
        .header("authorization", format!("Bearer {token}"));
    if let Some(code) = code {
        request = request.header("x-mfa-code", code);
    }
    Reply::from(request.send().await).await
}

on_every_backend!(a_passkey_registers_then_logs_in_with_and_without_a_username);

async fn a_passkey_registers_then_logs_in_with_and_without_a_username(db: &TestDatabase) {
    // Arrange
    let app = app_on(db).await;
    let token = app.logged_in("alice").await;
    let mut device = Device::new();

    // Act: register, rename.
    let options = app
        .post_as(
            "/webauthn/register/options",
            Auth::Bearer(&token),
            Some(&json!({"name": "  Laptop  "})),
        )
        .await;
    let added = register(&app, &token, &mut device, "Laptop").await;
    let id = added["id"].as_str().unwrap().to_owned();
    let renamed = app
        .send(
            Method::PATCH,
            &format!("/webauthn/credentials/{id}"),
            Auth::Bearer(&token),
            Some(&json!({"name": "Work laptop"})),
        )
        .await;
    let bad_name = app
        .send(
            Method::PATCH,
            &format!("/webauthn/credentials/{id}"),
            Auth::Bearer(&token),
            Some(&json!({"name": "   "})),
        )
        .await;
    let before = credentials(&app, &token).await;

    // Act: log in without a username, then with one.
    app.advance(Duration::from_secs(60));
    let (usernameless, _) = login_at(&app, &mut device, None, ORIGIN).await;
    let (named, _) = login_at(&app, &mut device, Some("ALICE"), ORIGIN).await;

    // Assert: the options.
    assert_eq!(options.status, StatusCode::OK, "{}", options.body);
    let public_key = &options.body["publicKey"];
    assert_eq!(public_key["rp"]["id"], "localhost");
    assert_eq!(
        public_key["authenticatorSelection"]["residentKey"],
        "required"
    );
    assert_eq!(
        public_key["authenticatorSelection"]["userVerification"],
        "required"
    );
    assert_eq!(options.header("cache-control").as_deref(), Some("no-store"));
    // Assert: the passkey as registered, renamed and listed.
    assert_eq!(added["name"], "Laptop");
    assert!(added["created_at"].is_string(), "{added}");
    assert_eq!(renamed.status, StatusCode::OK, "{}", renamed.body);
    assert_eq!(renamed.body["name"], "Work laptop");
    assert_eq!(renamed.body["id"], id.as_str());
    bad_name.assert_error(400, "invalid_request");
    assert_eq!(before.len(), 1);
    assert_eq!(before[0]["last_used_at"], Value::Null);
    // Assert: both logins are /login's answer.
    for login in [&usernameless, &named] {
        assert_eq!(login.status, StatusCode::OK, "{}", login.body);
        assert_eq!(login.body["message"], "Login successful");
        assert_eq!(login.body["password_change_recommended"], false);
        let session = login.body["token"].as_str().unwrap();
        assert!(login.session_cookie().contains(session));
        let me = app.get_as("/me", Auth::Cookie(session)).await;
        assert_eq!(me.status, StatusCode::OK, "{}", me.body);
        assert_eq!(me.body["username"], "alice");
        assert_eq!(me.body["mfa"]["passkeys"], 1);
    }
    // Assert: the counter and last use were recorded.
    let after = credentials(&app, &token).await;
    let last_used = after[0]["last_used_at"].as_str().unwrap();
    assert_eq!(
        chrono::DateTime::parse_from_rfc3339(last_used).unwrap(),
        app.clock_now()
    );
    let raw = URL_SAFE_NO_PAD
        .decode(device.credential_id.as_deref().unwrap())
        .unwrap();
    let stored = app
        .store
        .find_passkey_by_credential_id(&raw)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.sign_count, 2, "SoftPasskey counts every signature");
    let events = event_types(&app, &token).await;
    assert!(events.contains(&"passkey_added".to_owned()), "{events:?}");
    assert_eq!(
        events
            .iter()
            .filter(|kind| *kind == "login_succeeded")
            .count(),
        3,
        "the password login and both passkey logins: {events:?}"
    );
}

on_every_backend!(a_challenge_works_once_and_only_from_the_services_origin);

async fn a_challenge_works_once_and_only_from_the_services_origin(db: &TestDatabase) {
    // Arrange
    let app = app_on(db).await;
    let token = app.logged_in("alice").await;
    let mut device = Device::new();
    let mut phished = Device::new();

    // Act
    let (elsewhere, _) = register_at(
        &app,
        &token,
        &mut phished,
        "Phished",
        "http://localhost:5001",
    )
    .await;
    let (added, registration) = register_at(&app, &token, &mut device, "Phone", ORIGIN).await;
    let registered_again = app
        .post_as(
            "/webauthn/register",
            Auth::Bearer(&token),
            Some(&registration),
        )
        .await;
    let (login, replayable) = login_at(&app, &mut device, None, ORIGIN).await;
    let replayed = app.post_json("/webauthn/login", &replayable).await;
    let (wrong_origin, _) = login_at(&app, &mut device, None, "http://localhost:5001").await;
    let mut unknown = replayable.clone();
    unknown["challenge_id"] = json!("AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
    let unknown_challenge = app.post_json("/webauthn/login", &unknown).await;
    let malformed = app
        .post_json(
            "/webauthn/login",
            &json!({"challenge_id": replayable["challenge_id"], "credential": {"id": 5}}),
        )
        .await;
    let malformed_registration = app
        .post_as(
            "/webauthn/register",
            Auth::Bearer(&token),
            Some(&json!({"challenge_id": "x", "credential": []})),
        )
        .await;
    let unknown_user = app
        .post_json(
            "/webauthn/login/options",
            &json!({"username": "nobody-here"}),
        )
        .await;
    let anonymous = app
        .post_json("/webauthn/register/options", &json!({"name": "x"}))
        .await;

    // Assert
    elsewhere.assert_error(400, "invalid_credential");
    assert_eq!(added.status, StatusCode::CREATED, "{}", added.body);
    registered_again.assert_error(400, "invalid_credential");
    assert_eq!(login.status, StatusCode::OK, "{}", login.body);
    replayed.assert_error(401, "invalid_credential");
    wrong_origin.assert_error(401, "invalid_credential");
    unknown_challenge.assert_error(401, "invalid_credential");
    malformed.assert_error(400, "invalid_request");
    malformed_registration.assert_error(400, "invalid_request");
    assert_eq!(unknown_user.status, StatusCode::OK, "{}", unknown_user.body);
    assert_eq!(
        unknown_user.body["publicKey"]["allowCredentials"],
        json!([]),
        "an unknown name gets the discoverable challenge"
    );
    anonymous.assert_error(401, "unauthorized");
    assert_eq!(credentials(&app, &token).await.len(), 1);
}

on_every_backend!(only_the_owner_removes_a_passkey_and_it_then_no_longer_logs_in);

async fn only_the_owner_removes_a_passkey_and_it_then_no_longer_logs_in(db: &TestDatabase) {
    // Arrange
    let app = app_on(db).await;
    let alice = app.logged_in("alice").await;
    let bob = app.logged_in("bob").await;
    let mut device = Device::new();
    let id = register(&app, &alice, &mut device, "Phone").await["id"]
        .as_str()
        .unwrap()
        .to_owned();

    // Act
    let by_bob = remove(&app, &bob, &id, None).await;
    let renamed_by_bob = app
        .send(
            Method::PATCH,
            &format!("/webauthn/credentials/{id}"),
            Auth::Bearer(&bob),
            Some(&json!({"name": "Mine now"})),
        )
        .await;
    let not_a_uuid = remove(&app, &alice, "not-a-uuid", None).await;
    let by_alice = remove(&app, &alice, &id, None).await;
    let again = remove(&app, &alice, &id, None).await;
    let (login, _) = login_at(&app, &mut device, None, ORIGIN).await;

    // Assert
    by_bob.assert_error(404, "not_found");
    renamed_by_bob.assert_error(404, "not_found");
    not_a_uuid.assert_error(404, "not_found");
    assert_eq!(by_alice.status, StatusCode::OK, "{}", by_alice.body);
    assert_eq!(by_alice.body["message"], "Passkey removed");
    again.assert_error(404, "not_found");
    login.assert_error(401, "invalid_credential");
    assert!(credentials(&app, &alice).await.is_empty());
    let events = event_types(&app, &alice).await;
    assert!(events.contains(&"passkey_removed".to_owned()), "{events:?}");
    let me = app.get_as("/me", Auth::Bearer(&alice)).await;
    assert_eq!(me.body["mfa"]["passkeys"], 0);
}

/// Turns TOTP on for the session's user; the authenticator app.
async fn enable_totp(app: &TestApp, token: &str) -> Totp {
    let setup = app
        .post_as(
            "/mfa/totp/setup",
            Auth::Bearer(token),
            Some(&json!({"password": GOOD_PASSWORD})),
        )
        .await;
    assert_eq!(setup.status, StatusCode::OK, "{}", setup.body);
    let totp = Totp::from_url(setup.body["otpauth_uri"].as_str().unwrap()).unwrap();
    let code = totp.generate(u64::try_from(app.clock_now().timestamp()).unwrap());
    let confirmed = app
        .post_as(
            "/mfa/totp/confirm",
            Auth::Bearer(token),
            Some(&json!({"code": code.to_string()})),
        )
        .await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
    // The confirming step is spent.
    app.advance(Duration::from_secs(60));
    totp
}

on_every_backend!(with_totp_on_removal_needs_a_code_and_the_login_offers_webauthn);

async fn with_totp_on_removal_needs_a_code_and_the_login_offers_webauthn(db: &TestDatabase) {
    // Arrange
    let app = app_on(db).await;
    let token = app.logged_in("alice").await;
    let mut device = Device::new();
    let id = register(&app, &token, &mut device, "Phone").await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let without_totp = app.post_login("alice", GOOD_PASSWORD).await;
    let totp = enable_totp(&app, &token).await;

    // Act
    let password_login = app.post_login("alice", GOOD_PASSWORD).await;
    let (passkey_login, _) = login_at(&app, &mut device, Some("alice"), ORIGIN).await;
    let no_code = remove(&app, &token, &id, None).await;
    let wrong_code = remove(&app, &token, &id, Some("000000")).await;
    let code = totp.generate(u64::try_from(app.clock_now().timestamp()).unwrap());
    let with_code = remove(&app, &token, &id, Some(&code.to_string())).await;

    // Assert: a passkey alone never makes the password ask for more.
    assert_eq!(without_totp.status, StatusCode::OK, "{}", without_totp.body);
    password_login.assert_error(401, "mfa_required");
    assert_eq!(
        password_login.body["methods"],
        json!(["totp", "recovery_code", "webauthn"])
    );
    // A passkey login is complete: no mfa_token.
    assert_eq!(
        passkey_login.status,
        StatusCode::OK,
        "{}",
        passkey_login.body
    );
    no_code.assert_error(401, "invalid_code");
    wrong_code.assert_error(401, "invalid_code");
    assert_eq!(with_code.status, StatusCode::OK, "{}", with_code.body);
    assert!(credentials(&app, &token).await.is_empty());
    let again = app.post_login("alice", GOOD_PASSWORD).await;
    assert_eq!(again.body["methods"], json!(["totp", "recovery_code"]));
}

on_every_backend!(failed_passkey_logins_spend_the_back_off_passwords_spend);

async fn failed_passkey_logins_spend_the_back_off_passwords_spend(db: &TestDatabase) {
    // Arrange
    let app = app_on(db).await;
    let token = app.logged_in("alice").await;
    let mut device = Device::new();
    register(&app, &token, &mut device, "Phone").await;

    // Act: assertions signed for another origin, until the back-off holds.
    let mut throttled = None;
    for attempt in 0..20 {
        let options = app.post_json("/webauthn/login/options", &json!({})).await;
        assert_eq!(options.status, StatusCode::OK, "{}", options.body);
        let credential = device.get(&options.body["publicKey"], "http://localhost:5001");
        let reply = app
            .post_json(
                "/webauthn/login",
                &json!({"challenge_id": options.body["challenge_id"], "credential": credential}),
            )
            .await;
        if reply.status == StatusCode::TOO_MANY_REQUESTS {
            reply.assert_error(429, "too_many_attempts");
            throttled = Some(attempt);
            break;
        }
        reply.assert_error(401, "invalid_credential");
    }

    // Assert
    assert!(throttled.is_some_and(|n| n >= 5), "{throttled:?}");
    app.post_login("alice", GOOD_PASSWORD)
        .await
        .assert_error(429, "too_many_attempts");
    app.post_json("/webauthn/login/options", &json!({"username": "alice"}))
        .await
        .assert_error(429, "too_many_attempts");
    let (right_origin, _) = login_at(&app, &mut device, None, ORIGIN).await;
    right_origin.assert_error(429, "too_many_attempts");
}
