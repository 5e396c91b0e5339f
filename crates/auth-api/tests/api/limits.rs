//! The limits of issue "resilience": the atomic back-off (a burst of guesses
//! on one and on two instances), device cookies (the NAT case), the address
//! budget as rate plus burst, and the registration limits.

use futures::future::join_all;
use poem::http::StatusCode;
use serde_json::json;

use crate::cli::{TestDatabase, on_every_backend};
use crate::helpers::{GOOD_PASSWORD, Options, RawReply, Served, spawn_app_with};

/// The tests' hashing concurrency (`--hash-concurrency 2` in the helpers).
const HASH_CONCURRENCY: usize = 2;
const FREE_FAILURES: usize = 5;

on_every_backend!(a_burst_of_50_guesses_on_two_instances_gets_at_most_the_free_failures_plus_the_hashing_concurrency);

async fn a_burst_of_50_guesses_on_two_instances_gets_at_most_the_free_failures_plus_the_hashing_concurrency(
    db: &TestDatabase,
) {
    // Arrange: two instances on one database; hashes slow enough to overlap.
    let options = || Options::default().on(&db.url).with("--scrypt-log-n", 10);
    let a = spawn_app_with(options()).await;
    let b = spawn_app_with(options()).await;
    a.post_register("alice", GOOD_PASSWORD).await;
    // Act: 50 wrong passwords at once, half through each instance.
    let guesses = (0..50).map(|i| {
        let instance = if i % 2 == 0 { &a } else { &b };
        instance.post_login("alice", "a wrong password!")
    });
    let replies = join_all(guesses).await;
    // Assert
    let evaluated = replies
        .iter()
        .filter(|reply| reply.status == StatusCode::UNAUTHORIZED)
        .count();
    let refused = replies
        .iter()
        .filter(|reply| reply.status == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert!(
        (FREE_FAILURES..=FREE_FAILURES + HASH_CONCURRENCY).contains(&evaluated),
        "{evaluated} guesses evaluated"
    );
    assert_eq!(evaluated + refused, 50);
    for reply in replies.iter().filter(|reply| reply.status == 429) {
        reply.assert_error(429, "too_many_attempts");
        assert!(reply.header("retry-after").is_some());
    }
}

on_every_backend!(right_passwords_from_many_clients_of_one_account_all_log_in);

async fn right_passwords_from_many_clients_of_one_account_all_log_in(db: &TestDatabase) {
    let app = spawn_app_with(Options::default().on(&db.url)).await;
    app.post_register("alice", GOOD_PASSWORD).await;
    // As many at once as the account has places, several times over: none
    // waits for another's hash to finish, and every place is given back.
    for _ in 0..4 {
        let logins =
            (0..FREE_FAILURES + HASH_CONCURRENCY).map(|_| app.post_login("alice", GOOD_PASSWORD));
        for reply in join_all(logins).await {
            assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        }
    }
}

/// An instance behind a trusted proxy on 127.0.0.1, served on a socket, so
/// that `X-Forwarded-For` names the client.
async fn behind_a_proxy(options: Options) -> (crate::helpers::TestApp, Served) {
    let app = spawn_app_with(options.with("--trusted-proxies", "127.0.0.1/32")).await;
    let server = app.serve_on_socket().await;
    (app, server)
}

async fn login_from(
    server: &Served,
    address: &str,
    cookie: Option<&str>,
    username: &str,
    password: &str,
) -> RawReply {
    let mut headers = vec![("X-Forwarded-For", address)];
    if let Some(cookie) = cookie {
        headers.push(("Cookie", cookie));
    }
    server
        .post_json_raw(
            "/login",
            &headers,
            &json!({"username": username, "password": password}),
        )
        .await
}

const NAT: &str = "203.0.113.50";

#[tokio::test]
async fn behind_one_nat_a_device_cookie_client_logs_in_while_the_address_is_over_budget_and_an_unknown_client_is_refused()
 {
    // Arrange: alice logged in from behind the NAT before and kept her
    // device cookie; then someone behind the same NAT spent its budget.
    let (app, server) = behind_a_proxy(Options::default().with("--login-ip-max-failures", 3)).await;
    app.post_register("alice", GOOD_PASSWORD).await;
    let first = login_from(&server, NAT, None, "alice", GOOD_PASSWORD).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let device = first
        .set_cookie("device")
        .expect("a device cookie")
        .to_owned();
    let device_pair = device.split(';').next().unwrap().to_owned();
    for i in 0..3 {
        let guess = login_from(&server, NAT, None, &format!("target{i}"), "wrong!").await;
        assert_eq!(guess.status, 401);
    }
    // Act
    let unknown = login_from(&server, NAT, None, "alice", GOOD_PASSWORD).await;
    let known = login_from(&server, NAT, Some(&device_pair), "alice", GOOD_PASSWORD).await;
    // Assert: the unknown client waits one interval (15 min / 3), not the window.
    assert_eq!(
        (unknown.status, unknown.body["code"].as_str()),
        (429, Some("too_many_attempts"))
    );
    assert_eq!(unknown.all("retry-after"), ["300"]);
    assert_eq!(known.status, 200, "{}", known.body);
    assert!(known.set_cookie("session").is_some());
    assert!(
        known.set_cookie("device").is_none(),
        "its cookie still vouches"
    );
}

#[tokio::test]
async fn the_device_cookie_is_strict_http_only_scoped_to_login_and_long_lived() {
    let (app, server) = behind_a_proxy(Options::default()).await;
    app.post_register("alice", GOOD_PASSWORD).await;

    let first = login_from(&server, NAT, None, "alice", GOOD_PASSWORD).await;

    let device = first.set_cookie("device").expect("a device cookie");
    for part in [
        "HttpOnly",
        "SameSite=Strict",
        "Path=/login",
        "Max-Age=15552000",
    ] {
        assert!(device.contains(part), "{device} lacks {part}");
    }
    let session = first.set_cookie("session").expect("the session cookie");
    assert_eq!(
        first.body["token"].as_str(),
        session
            .split(';')
            .next()
            .and_then(|p| p.strip_prefix("session="))
    );
}

#[tokio::test]
async fn a_device_cookie_of_another_account_or_forged_helps_nobody() {
    let (app, server) = behind_a_proxy(Options::default().with("--login-ip-max-failures", 2)).await;
    app.post_register("alice", GOOD_PASSWORD).await;
    app.post_register("bob", GOOD_PASSWORD).await;
    let alices = login_from(&server, NAT, None, "alice", GOOD_PASSWORD).await;
    let alices = alices
        .set_cookie("device")
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    for i in 0..2 {
        login_from(&server, NAT, None, &format!("target{i}"), "wrong!").await;
    }

    let as_bob = login_from(&server, NAT, Some(&alices), "bob", GOOD_PASSWORD).await;
    let forged = login_from(&server, NAT, Some("device=AAAA"), "alice", GOOD_PASSWORD).await;

    assert_eq!(as_bob.status, 429);
    assert_eq!(forged.status, 429);
}

#[tokio::test]
async fn registrations_beyond_an_addresss_budget_get_429_and_other_addresses_do_not() {
    let (_app, server) = behind_a_proxy(Options::default().with("--register-ip-max", 2)).await;
    let register = |name: &'static str, address: &'static str| {
        let server = &server;
        async move {
            server
                .post_json_raw(
                    "/register",
                    &[("X-Forwarded-For", address)],
                    &json!({"username": name, "password": GOOD_PASSWORD}),
                )
                .await
        }
    };
    for name in ["user1", "user2"] {
        assert_eq!(register(name, "203.0.113.9").await.status, 201);
    }
    // A taken name costs no budget and still says 409.
    assert_eq!(register("user1", "203.0.113.9").await.status, 409);

    let third = register("user3", "203.0.113.9").await;
    let elsewhere = register("user4", "198.51.100.4").await;

    assert_eq!(
        (third.status, third.body["code"].as_str()),
        (429, Some("too_many_attempts"))
    );
    assert_eq!(third.all("retry-after"), ["1800"]);
    assert_eq!(elsewhere.status, 201);
}

on_every_backend!(the_global_registration_budget_is_shared_by_every_instance);

async fn the_global_registration_budget_is_shared_by_every_instance(db: &TestDatabase) {
    let options = || Options::default().on(&db.url).with("--register-max", 3);
    let a = spawn_app_with(options()).await;
    let b = spawn_app_with(options()).await;
    for i in 0..3 {
        let instance = if i % 2 == 0 { &a } else { &b };
        let reply = instance
            .post_register(&format!("user{i}"), GOOD_PASSWORD)
            .await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    }

    let fourth = b.post_register("user9", GOOD_PASSWORD).await;

    fourth.assert_error(429, "too_many_attempts");
    // 3 per hour: the next in 20 minutes.
    assert_eq!(fourth.header("retry-after").as_deref(), Some("1200"));
}

#[tokio::test]
async fn refusals_are_held_for_the_refusal_delay_and_other_answers_are_not() {
    let app = spawn_app_with(Options::default().with("--refusal-delay", "300ms")).await;
    app.post_register("alice", GOOD_PASSWORD).await;
    for _ in 0..5 {
        let started = std::time::Instant::now();
        app.post_login("alice", "a wrong password!")
            .await
            .assert_error(401, "invalid_credentials");
        assert!(started.elapsed() < std::time::Duration::from_millis(300));
    }

    let started = std::time::Instant::now();
    let refused = app.post_login("alice", GOOD_PASSWORD).await;

    refused.assert_error(429, "too_many_attempts");
    assert!(started.elapsed() >= std::time::Duration::from_millis(300));
}
