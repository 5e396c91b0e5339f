//! Email on the account, its verification, and the password reset, through
//! the HTTP API and the real outbox (mail written as `.eml` files). Each
//! scenario runs on SQLite, and on PostgreSQL when `AUTH_TEST_DATABASE_URL`
//! is set.

use std::time::Duration;

use auth_core::MailOutbox as _;
use poem::http::{Method, StatusCode};
use serde_json::{Value, json};

use crate::cli::{TestDatabase, on_every_backend};
use crate::helpers::{Auth, GOOD_PASSWORD, Options, TestApp, spawn_app_with};

const NEW_PASSWORD: &str = "violet harbour lantern 97";
const FORGOT_MESSAGE: &str =
    "If the account exists and has a verified email, a reset link has been sent";

async fn app_on(db: &TestDatabase) -> TestApp {
    spawn_app_with(Options::default().on(&db.url)).await
}

async fn register(app: &TestApp, username: &str, email: &str) -> Value {
    let reply = app
        .post_json(
            "/register",
            &json!({"username": username, "password": GOOD_PASSWORD, "email": email}),
        )
        .await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    reply.body
}

async fn me(app: &TestApp, token: &str) -> Value {
    let reply = app.get_as("/me", Auth::Bearer(token)).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    reply.body
}

async fn verify(app: &TestApp, token: &str) -> crate::helpers::Reply {
    app.post_json("/email/verify", &json!({"token": token}))
        .await
}

/// Registers `username` with `email`, verified, and logs in.
async fn verified_user(app: &TestApp, username: &str, email: &str) -> String {
    register(app, username, email).await;
    let mail = app.deliver_one().await;
    let reply = verify(app, &mail.token().unwrap()).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    app.login_again(username, GOOD_PASSWORD).await
}

async fn forgot(app: &TestApp, body: Value) -> crate::helpers::Reply {
    app.post_json("/password/forgot", &body).await
}

async fn reset(app: &TestApp, token: &str, password: &str) -> crate::helpers::Reply {
    app.post_json(
        "/password/reset",
        &json!({"token": token, "new_password": password}),
    )
    .await
}

async fn event_types(app: &TestApp, token: &str) -> Vec<String> {
    let reply = app.get_as("/me/events", Auth::Bearer(token)).await;
    reply.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["type"].as_str().unwrap().to_owned())
        .collect()
}

/// Lets the work `/password/forgot` does after answering finish, then
/// returns what the outbox sends.
async fn settle_and_deliver(app: &TestApp) -> Vec<crate::helpers::Mail> {
    tokio::time::sleep(Duration::from_millis(300)).await;
    app.deliver().await
}

on_every_backend!(
    a_registration_email_is_verified_by_its_link_once_and_not_by_opening_it,
    email_addresses_are_validated_and_unique_without_regard_to_case,
    an_email_change_is_verified_at_the_new_address_and_announced_to_the_old,
    a_reset_link_sets_the_password_ends_every_session_and_clears_the_back_off,
    forgot_password_answers_alike_and_mails_only_a_verified_address,
    reset_links_expire_are_single_use_and_replaced_by_a_newer_one,
    a_weak_password_keeps_the_reset_link_usable,
    concurrent_resets_with_one_link_have_one_winner,
    a_reset_mail_still_queued_when_the_password_changes_is_not_sent,
    an_email_change_ends_a_reset_link_mailed_to_the_old_address,
);

async fn a_registration_email_is_verified_by_its_link_once_and_not_by_opening_it(
    db: &TestDatabase,
) {
    let app = app_on(db).await;
    register(&app, "alice", "Alice@Example.com").await;
    let token = app.login_again("alice", GOOD_PASSWORD).await;
    let before = me(&app, &token).await;
    assert_eq!(before["email"], "Alice@Example.com");
    assert_eq!(before["email_verified"], false);

    let mail = app.deliver_one().await;
    assert_eq!(mail.to, "Alice@Example.com");
    assert!(
        mail.subject.starts_with("Confirm your email address"),
        "{}",
        mail.subject
    );
    assert!(
        mail.body.contains("http://localhost:5000/verify?token="),
        "{}",
        mail.body
    );
    let link_token = mail.token().unwrap();

    // A scanner opens the link: the page, and nothing spent.
    let page = app
        .client
        .get(format!("/verify?token={link_token}"))
        .send()
        .await;
    page.assert_status_is_ok();
    let policy = page.0.headers()["content-security-policy"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(policy.starts_with("default-src 'none'"), "{policy}");
    assert!(
        page.0
            .into_body()
            .into_string()
            .await
            .unwrap()
            .contains("<form")
    );
    assert_eq!(me(&app, &token).await["email_verified"], false);

    let verified = verify(&app, &link_token).await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.body);
    assert_eq!(verified.body["message"], "Email verified");
    assert_eq!(me(&app, &token).await["email_verified"], true);
    verify(&app, &link_token)
        .await
        .assert_error(400, "invalid_token");
    verify(&app, "not-a-token")
        .await
        .assert_error(400, "invalid_token");
    let events = event_types(&app, &token).await;
    assert!(events.contains(&"email_verified".to_owned()), "{events:?}");
}

async fn email_addresses_are_validated_and_unique_without_regard_to_case(db: &TestDatabase) {
    let app = app_on(db).await;
    register(&app, "alice", "alice@example.com").await;
    for bad in [
        "alice",
        "alice@",
        "Alice <alice@example.com>",
        "a@localhost",
    ] {
        app.post_json(
            "/register",
            &json!({"username": "bob", "password": GOOD_PASSWORD, "email": bad}),
        )
        .await
        .assert_error(400, "invalid_email");
    }
    app.post_json(
        "/register",
        &json!({"username": "bob", "password": GOOD_PASSWORD, "email": "ALICE@example.com"}),
    )
    .await
    .assert_error(409, "email_taken");
    // The refused registration stored nothing: the name is free.
    let bob = app.logged_in("bob").await;
    let change = |email: &str, password: &str| json!({"email": email, "password": password});
    let put = |body: Value| {
        let bob = bob.clone();
        let app = &app;
        async move {
            app.send(Method::PUT, "/me/email", Auth::Bearer(&bob), Some(&body))
                .await
        }
    };
    put(change("Alice@EXAMPLE.com", GOOD_PASSWORD))
        .await
        .assert_error(409, "email_taken");
    put(change("bob@", GOOD_PASSWORD))
        .await
        .assert_error(400, "invalid_email");
    put(change("bob@example.com", "not the password"))
        .await
        .assert_error(401, "invalid_credentials");
    let nobody = app
        .send(
            Method::PUT,
            "/me/email",
            Auth::Nobody,
            Some(&change("bob@example.com", GOOD_PASSWORD)),
        )
        .await;
    nobody.assert_error(401, "unauthorized");
    assert_eq!(me(&app, &bob).await["email"], Value::Null);
    app.assert_healthy().await;
}

async fn an_email_change_is_verified_at_the_new_address_and_announced_to_the_old(
    db: &TestDatabase,
) {
    let app = app_on(db).await;
    let token = verified_user(&app, "alice", "old@example.com").await;

    // The verified address again: answered alike, nothing changes or is mailed.
    let same = app
        .send(
            Method::PUT,
            "/me/email",
            Auth::Cookie(&token),
            Some(&json!({"email": "OLD@example.com", "password": GOOD_PASSWORD})),
        )
        .await;
    assert_eq!(same.status, StatusCode::ACCEPTED, "{}", same.body);
    assert_eq!(me(&app, &token).await["email_verified"], true);
    assert!(app.deliver().await.is_empty());

    let reply = app
        .send(
            Method::PUT,
            "/me/email",
            Auth::Cookie(&token),
            Some(&json!({"email": "new@example.com", "password": GOOD_PASSWORD})),
        )
        .await;
    assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
    assert_eq!(reply.body["message"], "Verification email sent");
    let now = me(&app, &token).await;
    assert_eq!(
        (now["email"].as_str(), now["email_verified"].as_bool()),
        (Some("new@example.com"), Some(false))
    );

    let mut mail = app.deliver().await;
    mail.sort_by(|a, b| a.to.cmp(&b.to));
    assert_eq!(mail.len(), 2, "{mail:?}");
    let (new, old) = (&mail[0], &mail[1]);
    assert_eq!(
        (new.to.as_str(), old.to.as_str()),
        ("new@example.com", "old@example.com")
    );
    assert!(
        old.token().is_none(),
        "the notice carries no link: {}",
        old.body
    );
    assert!(old.body.contains("alice"), "{}", old.body);

    // A second change before verifying: the first link dies with its address.
    let first_link = new.token().unwrap();
    app.send(
        Method::PUT,
        "/me/email",
        Auth::Cookie(&token),
        Some(&json!({"email": "third@example.com", "password": GOOD_PASSWORD})),
    )
    .await;
    let third = app.deliver_one().await;
    assert_eq!(
        third.to, "third@example.com",
        "no notice to an unverified address"
    );
    verify(&app, &first_link)
        .await
        .assert_error(400, "invalid_token");
    assert_eq!(
        verify(&app, &third.token().unwrap()).await.status,
        StatusCode::OK
    );
    assert_eq!(me(&app, &token).await["email_verified"], true);
    let events = event_types(&app, &token).await;
    assert!(events.contains(&"email_changed".to_owned()), "{events:?}");
}

async fn a_reset_link_sets_the_password_ends_every_session_and_clears_the_back_off(
    db: &TestDatabase,
) {
    let app = app_on(db).await;
    let first = verified_user(&app, "alice", "alice@example.com").await;
    let second = app.login_again("alice", GOOD_PASSWORD).await;
    // Someone guesses until the account backs off.
    let mut throttled = false;
    for _ in 0..20 {
        let reply = app.post_login("alice", "a wrong guess of a password").await;
        if reply.status == StatusCode::TOO_MANY_REQUESTS {
            throttled = true;
            break;
        }
    }
    assert!(throttled, "the back-off should start");

    let asked = forgot(&app, json!({"username": "ALICE"})).await;
    assert_eq!(asked.status, StatusCode::ACCEPTED, "{}", asked.body);
    assert_eq!(asked.body["message"], FORGOT_MESSAGE);
    let mail = app.deliver_one().await;
    assert_eq!(mail.to, "alice@example.com");
    assert!(mail.subject.starts_with("Reset your"), "{}", mail.subject);
    assert!(
        mail.body.contains("http://localhost:5000/reset?token="),
        "{}",
        mail.body
    );
    let link = mail.token().unwrap();
    let page = app.client.get(format!("/reset?token={link}")).send().await;
    page.assert_status_is_ok();

    let done = reset(&app, &link, NEW_PASSWORD).await;
    assert_eq!(done.status, StatusCode::OK, "{}", done.body);
    assert_eq!(done.body["message"], "Password reset");
    assert_eq!(done.body["sessions_revoked"], 2);
    for token in [&first, &second] {
        app.get_protected_bearer(token)
            .await
            .assert_error(401, "unauthorized");
    }
    app.post_login("alice", GOOD_PASSWORD)
        .await
        .assert_error(401, "invalid_credentials");
    let login = app.post_login("alice", NEW_PASSWORD).await;
    assert_eq!(
        login.status,
        StatusCode::OK,
        "back-off cleared: {}",
        login.body
    );
    reset(&app, &link, "another fine password 55")
        .await
        .assert_error(400, "invalid_token");

    let notice = app.deliver_one().await;
    assert_eq!(notice.to, "alice@example.com");
    assert!(notice.token().is_none());
    let token = login.body["token"].as_str().unwrap().to_owned();
    let events = event_types(&app, &token).await;
    for kind in ["password_reset_requested", "password_reset"] {
        assert!(events.contains(&kind.to_owned()), "{kind}: {events:?}");
    }
}

async fn forgot_password_answers_alike_and_mails_only_a_verified_address(db: &TestDatabase) {
    let app = app_on(db).await;
    verified_user(&app, "alice", "Alice@Example.com").await;
    register(&app, "bob", "bob@example.com").await; // never verified
    // Bob's verification mail, waited for (it may be queued just after the answer).
    assert_eq!(app.deliver_one().await.to, "bob@example.com");
    app.logged_in("carol").await; // no address at all

    let mut bodies = Vec::new();
    for body in [
        json!({"username": "bob"}),
        json!({"username": "carol"}),
        json!({"username": "nobody"}),
        json!({"username": "x"}), // cannot even be a name
        json!({"email": "bob@example.com"}),
        json!({"email": "nobody@example.com"}),
    ] {
        let reply = forgot(&app, body).await;
        assert_eq!(reply.status, StatusCode::ACCEPTED, "{}", reply.body);
        bodies.push(reply.body);
    }
    assert!(
        bodies
            .iter()
            .all(|body| *body == json!({"message": FORGOT_MESSAGE}))
    );
    assert!(settle_and_deliver(&app).await.is_empty(), "nothing to mail");

    let by_email = forgot(&app, json!({"email": "alice@EXAMPLE.com"})).await;
    assert_eq!(by_email.body, json!({"message": FORGOT_MESSAGE}));
    assert_eq!(app.deliver_one().await.to, "Alice@Example.com");

    for bad in [
        json!({}),
        json!({"username": "alice", "email": "alice@example.com"}),
        json!({"email": "not an address"}),
        json!({"username": ["alice"]}),
        json!({"username": 5}),
        json!({"email": true}),
    ] {
        forgot(&app, bad).await.assert_error(400, "invalid_request");
    }
    app.assert_healthy().await;
}

async fn reset_links_expire_are_single_use_and_replaced_by_a_newer_one(db: &TestDatabase) {
    let app = app_on(db).await;
    verified_user(&app, "alice", "alice@example.com").await;
    forgot(&app, json!({"username": "alice"})).await;
    let older = app.deliver_one().await.token().unwrap();
    forgot(&app, json!({"username": "alice"})).await;
    let newer = app.deliver_one().await.token().unwrap();
    reset(&app, &older, NEW_PASSWORD)
        .await
        .assert_error(400, "invalid_token");
    forgot(&app, json!({"username": "alice"})).await;
    let third = app.deliver_one().await.token().unwrap();
    reset(&app, &newer, NEW_PASSWORD)
        .await
        .assert_error(400, "invalid_token");

    // Three mails per account per hour: a fourth request mails nothing,
    // and answers as every other does.
    let fourth = forgot(&app, json!({"username": "alice"})).await;
    assert_eq!(fourth.body, json!({"message": FORGOT_MESSAGE}));
    assert!(settle_and_deliver(&app).await.is_empty());

    app.advance(Duration::from_secs(31 * 60));
    reset(&app, &third, NEW_PASSWORD)
        .await
        .assert_error(400, "invalid_token");
    assert_eq!(
        app.post_login("alice", GOOD_PASSWORD).await.status,
        StatusCode::OK
    );
}

async fn a_weak_password_keeps_the_reset_link_usable(db: &TestDatabase) {
    let app = app_on(db).await;
    verified_user(&app, "alice", "alice@example.com").await;
    forgot(&app, json!({"email": "alice@example.com"})).await;
    let link = app.deliver_one().await.token().unwrap();
    reset(&app, &link, "password password password")
        .await
        .assert_error(400, "weak_password");
    reset(&app, &link, "alice alice alice alice")
        .await
        .assert_error(400, "weak_password");
    reset(&app, &link, "short")
        .await
        .assert_error(400, "weak_password");
    assert_eq!(
        reset(&app, &link, NEW_PASSWORD).await.status,
        StatusCode::OK
    );
}

async fn concurrent_resets_with_one_link_have_one_winner(db: &TestDatabase) {
    let app = app_on(db).await;
    verified_user(&app, "alice", "alice@example.com").await;
    forgot(&app, json!({"username": "alice"})).await;
    let link = app.deliver_one().await.token().unwrap();
    let passwords = [
        "first racing password 11",
        "second racing password 22",
        "third racing password 33",
        "fourth racing password 44",
    ];
    let replies = futures::future::join_all(
        passwords
            .iter()
            .map(|password| reset(&app, &link, password)),
    )
    .await;
    let winners: Vec<&str> = passwords
        .iter()
        .zip(&replies)
        .filter(|(_, reply)| reply.status == StatusCode::OK)
        .map(|(password, _)| *password)
        .collect();
    assert_eq!(
        winners.len(),
        1,
        "{:?}",
        replies.iter().map(|r| &r.body).collect::<Vec<_>>()
    );
    for reply in replies
        .iter()
        .filter(|reply| reply.status != StatusCode::OK)
    {
        reply.assert_error(400, "invalid_token");
    }
    assert_eq!(
        app.post_login("alice", winners[0]).await.status,
        StatusCode::OK
    );
}

async fn a_reset_mail_still_queued_when_the_password_changes_is_not_sent(db: &TestDatabase) {
    // The mail server was down: the reset mail waits in the outbox while the
    // user, who still knows the password, changes it.
    let app = app_on(db).await;
    let token = verified_user(&app, "alice", "alice@example.com").await;
    forgot(&app, json!({"username": "alice"})).await;
    // Queued after the answer: wait until it is (up to 15 s: under CI's
    // load the background lookup once took longer than 5 s).
    for _ in 0..750 {
        if app.store.outbox_stats().await.unwrap().waiting > 0 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    assert_eq!(app.store.outbox_stats().await.unwrap().waiting, 1);
    app.advance(Duration::from_secs(1));
    let changed = app
        .post_as(
            "/password",
            Auth::Bearer(&token),
            Some(&json!({"current_password": GOOD_PASSWORD, "new_password": NEW_PASSWORD})),
        )
        .await;
    assert_eq!(changed.status, StatusCode::OK, "{}", changed.body);

    let sent = app.deliver().await;
    assert!(sent.iter().all(|mail| mail.token().is_none()), "{sent:?}");
    assert_eq!(
        app.post_login("alice", NEW_PASSWORD).await.status,
        StatusCode::OK
    );
}

async fn an_email_change_ends_a_reset_link_mailed_to_the_old_address(db: &TestDatabase) {
    let app = app_on(db).await;
    let token = verified_user(&app, "alice", "old@example.com").await;
    forgot(&app, json!({"username": "alice"})).await;
    let link = app.deliver_one().await.token().unwrap();
    let changed = app
        .send(
            Method::PUT,
            "/me/email",
            Auth::Bearer(&token),
            Some(&json!({"email": "new@example.com", "password": GOOD_PASSWORD})),
        )
        .await;
    assert_eq!(changed.status, StatusCode::ACCEPTED, "{}", changed.body);
    reset(&app, &link, NEW_PASSWORD)
        .await
        .assert_error(400, "invalid_token");
}
