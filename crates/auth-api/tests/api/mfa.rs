//! TOTP and recovery codes through the HTTP API: enrolment, the two-step
//! login, the replay guard and the ±1 step window, single-use recovery codes
//! and mfa_tokens, the back-off shared with wrong passwords, the sensitive
//! changes that need the second factor, and key rotation. Each scenario runs
//! on SQLite, and on PostgreSQL when `AUTH_TEST_DATABASE_URL` is set.

use std::time::Duration;

use poem::http::StatusCode;
use serde_json::{Value, json};
use totp_rs::Totp;

use crate::cli::{TestDatabase, on_every_backend};
use crate::helpers::{Auth, GOOD_PASSWORD, Options, Reply, TestApp, spawn_app_with};

const STEP: Duration = Duration::from_secs(30);

/// The authenticator app: an independent TOTP implementation reading the
/// `otpauth://` URI the setup returned.
struct App(Totp);

impl App {
    fn code(&self, at: chrono::DateTime<chrono::Utc>) -> String {
        self.0
            .generate(u64::try_from(at.timestamp()).unwrap())
            .to_string()
    }
}

async fn app_on(db: &TestDatabase) -> TestApp {
    spawn_app_with(Options::default().on(&db.url)).await
}

/// Registers `alice`, enrols and confirms TOTP; returns her session, the
/// authenticator app and the ten recovery codes.
async fn enrolled(app: &TestApp) -> (String, App, Vec<String>) {
    let token = app.logged_in("alice").await;
    let setup = app
        .post_as(
            "/mfa/totp/setup",
            Auth::Bearer(&token),
            Some(&json!({"password": GOOD_PASSWORD})),
        )
        .await;
    assert_eq!(setup.status, StatusCode::OK, "{}", setup.body);
    let uri = setup.body["otpauth_uri"].as_str().unwrap();
    let totp = App(Totp::from_url(uri).unwrap());
    assert_eq!(
        totp.0.secret().to_base32(),
        setup.body["secret"].as_str().unwrap()
    );
    let confirmed = app
        .post_as(
            "/mfa/totp/confirm",
            Auth::Bearer(&token),
            Some(&json!({"code": totp.code(app.clock_now())})),
        )
        .await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
    let codes = confirmed.body["recovery_codes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|code| code.as_str().unwrap().to_owned())
        .collect();
    // The confirming code's step is spent: the tests start two steps on, so
    // the step before theirs is still unused.
    app.advance(STEP * 2);
    (token, totp, codes)
}

/// `/login` for alice: the `mfa_required` answer.
async fn challenge(app: &TestApp) -> Value {
    let reply = app.post_login("alice", GOOD_PASSWORD).await;
    reply.assert_error(401, "mfa_required");
    reply.body
}

async fn complete(app: &TestApp, mfa_token: &Value, code: &str) -> Reply {
    app.post_json("/login/mfa", &json!({"mfa_token": mfa_token, "code": code}))
        .await
}

async fn mfa_of(app: &TestApp, token: &str) -> Value {
    let reply = app.get_as("/me", Auth::Bearer(token)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body["mfa"].clone()
}

on_every_backend!(setup_is_inactive_until_a_correct_code_confirms_it);

async fn setup_is_inactive_until_a_correct_code_confirms_it(db: &TestDatabase) {
    // Arrange
    let app = app_on(db).await;
    let token = app.logged_in("alice").await;

    // Act
    let wrong_password = app
        .post_as(
            "/mfa/totp/setup",
            Auth::Bearer(&token),
            Some(&json!({"password": "not the password at all"})),
        )
        .await;
    let setup = app
        .post_as(
            "/mfa/totp/setup",
            Auth::Bearer(&token),
            Some(&json!({"password": GOOD_PASSWORD})),
        )
        .await;

    // Assert
    wrong_password.assert_error(401, "invalid_credentials");
    assert_eq!(setup.status, StatusCode::OK, "{}", setup.body);
    let uri = setup.body["otpauth_uri"].as_str().unwrap();
    assert!(uri.starts_with("otpauth://totp/"), "{uri}");
    assert!(uri.contains("alice"), "{uri}");
    assert!(
        setup.body["qr_svg"].as_str().unwrap().contains("<svg"),
        "an SVG document"
    );
    assert_eq!(setup.header("cache-control").as_deref(), Some("no-store"));
    // Not active yet: the password alone still logs in.
    assert_eq!(
        app.post_login("alice", GOOD_PASSWORD).await.status,
        StatusCode::OK
    );
    assert_eq!(mfa_of(&app, &token).await["totp"], json!(false));
    let totp = App(Totp::from_url(uri).unwrap());
    let wrong = app
        .post_as(
            "/mfa/totp/confirm",
            Auth::Bearer(&token),
            Some(&json!({"code": "12345x"})),
        )
        .await;
    wrong.assert_error(401, "invalid_code");
    let confirmed = app
        .post_as(
            "/mfa/totp/confirm",
            Auth::Bearer(&token),
            Some(&json!({"code": totp.code(app.clock_now())})),
        )
        .await;
    assert_eq!(confirmed.status, StatusCode::OK, "{}", confirmed.body);
    let codes = confirmed.body["recovery_codes"].as_array().unwrap();
    assert_eq!(codes.len(), 10);
    assert_eq!(
        mfa_of(&app, &token).await,
        json!({"totp": true, "passkeys": 0, "recovery_codes_left": 10})
    );
    let again = app
        .post_as(
            "/mfa/totp/setup",
            Auth::Bearer(&token),
            Some(&json!({"password": GOOD_PASSWORD})),
        )
        .await;
    again.assert_error(409, "mfa_already_enabled");
}

on_every_backend!(login_needs_the_code_which_works_once_within_one_step);

async fn login_needs_the_code_which_works_once_within_one_step(db: &TestDatabase) {
    // Arrange
    let app = app_on(db).await;
    let (_, totp, _) = enrolled(&app).await;

    // Act
    let first = challenge(&app).await;
    let previous_step = totp.code(app.clock_now() - STEP);
    let done = complete(&app, &first["mfa_token"], &previous_step).await;

    // Assert: -1 step accepted, a complete login.
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(done.body["message"], "Login successful");
    let session = done.body["token"].as_str().unwrap();
    assert_eq!(
        app.get_protected_bearer(session).await.status,
        StatusCode::OK
    );
    assert!(first["expires_at"].is_string(), "{first}");
    assert_eq!(first["methods"], json!(["totp", "recovery_code"]));
    // The same code again (a replay in its step): refused.
    let second = challenge(&app).await;
    complete(&app, &second["mfa_token"], &previous_step)
        .await
        .assert_error(401, "invalid_code");
    // Two steps ahead: refused; one ahead: accepted; an older step than the
    // last used one: refused.
    complete(
        &app,
        &second["mfa_token"],
        &totp.code(app.clock_now() + STEP * 2),
    )
    .await
    .assert_error(401, "invalid_code");
    let next = complete(
        &app,
        &second["mfa_token"],
        &totp.code(app.clock_now() + STEP),
    )
    .await;
    assert_eq!(next.status, StatusCode::OK, "{}", next.body);
    let third = challenge(&app).await;
    complete(&app, &third["mfa_token"], &totp.code(app.clock_now()))
        .await
        .assert_error(401, "invalid_code");
}

on_every_backend!(an_mfa_token_is_single_use_and_expires_after_five_minutes);

async fn an_mfa_token_is_single_use_and_expires_after_five_minutes(db: &TestDatabase) {
    // Arrange
    let app = app_on(db).await;
    let (_, totp, _) = enrolled(&app).await;
    let used = challenge(&app).await;
    let reply = complete(&app, &used["mfa_token"], &totp.code(app.clock_now())).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    let stale = challenge(&app).await;

    // Act
    app.advance(Duration::from_secs(5 * 60 + 1));
    let code = totp.code(app.clock_now());

    // Assert
    complete(&app, &used["mfa_token"], &code)
        .await
        .assert_error(400, "invalid_token");
    complete(&app, &stale["mfa_token"], &code)
        .await
        .assert_error(400, "invalid_token");
    complete(&app, &json!("not a token"), &code)
        .await
        .assert_error(400, "invalid_token");
    let fresh = challenge(&app).await;
    assert_eq!(
        complete(&app, &fresh["mfa_token"], &code).await.status,
        StatusCode::OK
    );
}

on_every_backend!(a_recovery_code_works_once_and_new_ones_end_the_old);

async fn a_recovery_code_works_once_and_new_ones_end_the_old(db: &TestDatabase) {
    // Arrange
    let app = app_on(db).await;
    let (token, totp, codes) = enrolled(&app).await;

    // Act
    let first = challenge(&app).await;
    let used = complete(&app, &first["mfa_token"], &codes[0].to_uppercase()).await;
    let second = challenge(&app).await;
    let reused = complete(&app, &second["mfa_token"], &codes[0]).await;

    // Assert
    assert_eq!(used.status, StatusCode::OK, "{}", used.body);
    reused.assert_error(401, "invalid_code");
    assert_eq!(mfa_of(&app, &token).await["recovery_codes_left"], json!(9));
    let regenerated = app
        .post_as(
            "/mfa/recovery-codes",
            Auth::Bearer(&token),
            Some(&json!({"password": GOOD_PASSWORD, "code": totp.code(app.clock_now())})),
        )
        .await;
    assert_eq!(regenerated.status, StatusCode::OK, "{}", regenerated.body);
    let fresh = regenerated.body["recovery_codes"].as_array().unwrap();
    assert_eq!(fresh.len(), 10);
    complete(&app, &second["mfa_token"], &codes[1])
        .await
        .assert_error(401, "invalid_code");
    let with_new = complete(&app, &second["mfa_token"], fresh[0].as_str().unwrap()).await;
    assert_eq!(with_new.status, StatusCode::OK, "{}", with_new.body);
}

on_every_backend!(wrong_codes_spend_the_same_back_off_as_wrong_passwords);

async fn wrong_codes_spend_the_same_back_off_as_wrong_passwords(db: &TestDatabase) {
    // Arrange
    let app = app_on(db).await;
    let (_, totp, _) = enrolled(&app).await;

    // Act: a fresh flow for every guess (each mfa_token is new, the
    // account's budget is not).
    let mut throttled = false;
    for _ in 0..20 {
        let reply = app.post_login("alice", GOOD_PASSWORD).await;
        if reply.status == StatusCode::TOO_MANY_REQUESTS {
            throttled = true;
            break;
        }
        reply.assert_error(401, "mfa_required");
        let guess = complete(&app, &reply.body["mfa_token"], "000000").await;
        if guess.status == StatusCode::TOO_MANY_REQUESTS {
            guess.assert_error(429, "too_many_attempts");
            throttled = true;
            break;
        }
        guess.assert_error(401, "invalid_code");
    }

    // Assert
    assert!(throttled, "wrong codes never reached the back-off");
    app.post_login("alice", "a wrong password entirely")
        .await
        .assert_error(429, "too_many_attempts");
    let _ = totp;
}

on_every_backend!(sensitive_changes_need_the_second_factor_and_disabling_needs_both);

async fn sensitive_changes_need_the_second_factor_and_disabling_needs_both(db: &TestDatabase) {
    // Arrange
    let app = app_on(db).await;
    let (token, totp, codes) = enrolled(&app).await;
    let me = Auth::Bearer(&token);
    let new_password = "violet harbour lantern 97";

    // Act + Assert: without a code, each is refused and nothing changes.
    app.post_as(
        "/password",
        me,
        Some(&json!({"current_password": GOOD_PASSWORD, "new_password": new_password})),
    )
    .await
    .assert_error(401, "invalid_code");
    app.send(
        poem::http::Method::PUT,
        "/me/email",
        me,
        Some(&json!({"email": "alice@example.com", "password": GOOD_PASSWORD})),
    )
    .await
    .assert_error(401, "invalid_code");
    app.post_as("/me/delete", me, Some(&json!({"password": GOOD_PASSWORD})))
        .await
        .assert_error(401, "invalid_code");
    app.post_as(
        "/mfa/totp/disable",
        me,
        Some(&json!({"password": GOOD_PASSWORD, "code": "123456"})),
    )
    .await
    .assert_error(401, "invalid_code");
    app.post_as(
        "/mfa/totp/disable",
        me,
        Some(&json!({"password": "not the password at all", "code": codes[0]})),
    )
    .await
    .assert_error(401, "invalid_credentials");
    assert_eq!(mfa_of(&app, &token).await["totp"], json!(true));

    // With the code: the password change goes through.
    let changed = app
        .post_as(
            "/password",
            me,
            Some(&json!({
                "current_password": GOOD_PASSWORD,
                "new_password": new_password,
                "code": totp.code(app.clock_now()),
            })),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);
    let disabled = app
        .post_as(
            "/mfa/totp/disable",
            me,
            Some(&json!({"password": new_password, "code": codes[1]})),
        )
        .await;
    assert_eq!(disabled.status, StatusCode::OK, "{}", disabled.body);
    assert_eq!(
        disabled.body["message"],
        "Two-factor authentication disabled"
    );
    assert_eq!(
        mfa_of(&app, &token).await,
        json!({"totp": false, "passkeys": 0, "recovery_codes_left": 0})
    );
    app.post_as(
        "/mfa/totp/disable",
        me,
        Some(&json!({"password": new_password, "code": codes[2]})),
    )
    .await
    .assert_error(409, "mfa_not_enabled");
    assert_eq!(
        app.post_login("alice", new_password).await.status,
        StatusCode::OK
    );
    let events = app.get_as("/me/events", me).await;
    let kinds: Vec<&str> = events.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["type"].as_str().unwrap())
        .collect();
    for kind in ["mfa_enabled", "mfa_disabled", "mfa_failed"] {
        assert!(kinds.contains(&kind), "{kind} in {kinds:?}");
    }
}

on_every_backend!(a_secret_sealed_under_an_old_key_opens_after_a_new_key_is_added);

async fn a_secret_sealed_under_an_old_key_opens_after_a_new_key_is_added(db: &TestDatabase) {
    // Arrange: an instance with one key enrols alice.
    let dir = tempfile::tempdir().unwrap();
    let keys = dir.path().join("secret.keys");
    auth_api::keys::add(&keys, Some("first")).unwrap();
    let with_keys = || {
        Options::default()
            .on(&db.url)
            .with("--secret-key-file", keys.display())
    };
    let before = spawn_app_with(with_keys()).await;
    let (_, totp, codes) = enrolled(&before).await;

    // Act: a second key is added and the service restarts on it.
    auth_api::keys::add(&keys, Some("second")).unwrap();
    let after = spawn_app_with(with_keys()).await;
    after.advance(STEP * 2);

    // Assert: the secret sealed under the first key still opens.
    let flow = challenge(&after).await;
    let reply = complete(&after, &flow["mfa_token"], &totp.code(after.clock_now())).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    // Without the first key, it no longer would: the key file is the secret.
    let lost = tempfile::tempdir().unwrap();
    let only_new = lost.path().join("secret.keys");
    auth_api::keys::add(&only_new, Some("third")).unwrap();
    let without = spawn_app_with(
        Options::default()
            .on(&db.url)
            .with("--secret-key-file", only_new.display()),
    )
    .await;
    without.advance(STEP * 4);
    let flow = challenge(&without).await;
    let refused = complete(
        &without,
        &flow["mfa_token"],
        &totp.code(without.clock_now()),
    )
    .await;
    // An operator's mistake, not the user's: logged, and a 500 (docs/mfa.md).
    refused.assert_error(500, "internal_error");
    // Recovery codes are hashes, not sealed: they still let alice in.
    let rescued = complete(&without, &flow["mfa_token"], &codes[0]).await;
    assert_eq!(rescued.status, StatusCode::OK, "{}", rescued.body);
}
