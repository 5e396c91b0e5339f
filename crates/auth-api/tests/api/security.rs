//! Back-off, client addresses, rehash, stored-hash bounds, CORS, timing parity.

use std::time::{Duration, Instant};

use auth_core::{User, UserId, UserRepository, Username};
use poem::http::StatusCode;
use serde_json::json;

use crate::helpers::{GOOD_PASSWORD, Options, Reply, spawn_app, spawn_app_with};

#[tokio::test]
async fn repeated_failures_get_429_with_the_exact_retry_after_and_success_resets_it() {
    let app = spawn_app().await;
    app.post_register("alice", GOOD_PASSWORD).await;
    for _ in 0..5 {
        app.post_login("alice", "wrong password!")
            .await
            .assert_error(401, "invalid_credentials");
    }
    let throttled = app.post_login("alice", GOOD_PASSWORD).await;
    throttled.assert_error(429, "too_many_attempts");
    assert_eq!(throttled.header("retry-after").as_deref(), Some("1"));
    app.advance(Duration::from_secs(1));
    app.post_login("alice", "wrong password!")
        .await
        .assert_error(401, "invalid_credentials");
    let second = app.post_login("alice", "wrong password!").await;
    assert_eq!(second.header("retry-after").as_deref(), Some("2"));
    app.advance(Duration::from_secs(2));
    // The right password after the wait logs in and resets the back-off.
    assert_eq!(
        app.post_login("alice", GOOD_PASSWORD).await.status,
        StatusCode::OK
    );
    for _ in 0..5 {
        app.post_login("alice", "wrong password!")
            .await
            .assert_error(401, "invalid_credentials");
    }
}

#[tokio::test]
async fn unknown_users_are_throttled_the_same_way() {
    let app = spawn_app().await;
    for _ in 0..5 {
        app.post_login("ghost", "wrong password!")
            .await
            .assert_error(401, "invalid_credentials");
    }
    let throttled = app.post_login("ghost", "wrong password!").await;
    throttled.assert_error(429, "too_many_attempts");
    assert_eq!(throttled.header("retry-after").as_deref(), Some("1"));
}

#[tokio::test]
async fn back_off_is_shared_by_two_instances_on_one_database() {
    let a = spawn_app().await;
    let b = spawn_app_with(Options::default().on(&a.database_url)).await;
    a.post_register("alice", GOOD_PASSWORD).await;
    for i in 0..5 {
        let instance = if i % 2 == 0 { &a } else { &b };
        instance
            .post_login("alice", "wrong password!")
            .await
            .assert_error(401, "invalid_credentials");
    }
    a.post_login("alice", GOOD_PASSWORD)
        .await
        .assert_error(429, "too_many_attempts");
    b.post_login("alice", GOOD_PASSWORD)
        .await
        .assert_error(429, "too_many_attempts");
}

fn small_ip_budget() -> Options {
    Options::default().with("--login-ip-max-failures", 3)
}

#[tokio::test]
async fn a_spoofed_forwarded_for_from_an_untrusted_peer_is_ignored() {
    let app = spawn_app_with(small_ip_budget()).await;
    let server = app.serve_on_socket().await;
    for i in 0..3 {
        let spoofed = format!("203.0.113.{i}");
        let (status, body) = server
            .post_json(
                "/login",
                &[("X-Forwarded-For", spoofed.as_str())],
                &json!({"username": format!("user{i}"), "password": "wrong password!"}),
            )
            .await;
        assert_eq!(
            (status, body["code"].as_str()),
            (401, Some("invalid_credentials"))
        );
    }
    // A fresh spoofed address does not help: the budget is the socket's (127.0.0.1).
    let (status, body) = server
        .post_json(
            "/login",
            &[("X-Forwarded-For", "198.51.100.77")],
            &json!({"username": "someone", "password": "wrong password!"}),
        )
        .await;
    assert_eq!(
        (status, body["code"].as_str()),
        (429, Some("too_many_attempts"))
    );
}

#[tokio::test]
async fn a_trusted_proxy_forwarded_for_names_the_client() {
    let app = spawn_app_with(small_ip_budget().with("--trusted-proxies", "127.0.0.1/32")).await;
    let server = app.serve_on_socket().await;
    let attempt = |client: &'static str, user: String| {
        let server = &server;
        async move {
            server
                .post_json(
                    "/login",
                    &[("X-Forwarded-For", client)],
                    &json!({"username": user, "password": "wrong password!"}),
                )
                .await
                .0
        }
    };
    for i in 0..3 {
        assert_eq!(attempt("203.0.113.1", format!("user{i}")).await, 401);
    }
    assert_eq!(attempt("203.0.113.1", "another".into()).await, 429);
    // Another client behind the same proxy has its own budget.
    assert_eq!(attempt("203.0.113.2", "another".into()).await, 401);
}

/// One raw HTTP/1.1 login over a fresh connection, with `forwarded` as the
/// X-Forwarded-For value byte for byte; returns the status.
async fn login_forwarded_for(addr: std::net::SocketAddr, forwarded: &[u8], user: &str) -> u16 {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    let body = json!({"username": user, "password": "wrong password!"}).to_string();
    let mut request = format!(
        "POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\nX-Forwarded-For: ",
        body.len()
    )
    .into_bytes();
    request.extend_from_slice(forwarded);
    request.extend_from_slice(b"\r\n\r\n");
    request.extend_from_slice(body.as_bytes());
    let mut stream = tokio::net::TcpStream::connect(addr).await.unwrap();
    stream.write_all(&request).await.unwrap();
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.unwrap();
    String::from_utf8_lossy(&raw)
        .split(' ')
        .nth(1)
        .unwrap()
        .parse()
        .unwrap()
}

#[tokio::test]
async fn a_non_ascii_byte_in_the_clients_part_does_not_hide_the_proxys_hop() {
    let app = spawn_app_with(small_ip_budget().with("--trusted-proxies", "127.0.0.1/32")).await;
    let server = app.serve_on_socket().await;
    // The client wrote "1.2.3.4<0xff>"; our proxy appended the real address.
    let poisoned = b"1.2.3.4\xff, 203.0.113.7";
    for i in 0..3 {
        assert_eq!(
            login_forwarded_for(server.addr, poisoned, &format!("u{i}")).await,
            401
        );
    }
    // Counted against 203.0.113.7 (not the proxy): that address is now over budget...
    assert_eq!(login_forwarded_for(server.addr, poisoned, "u9").await, 429);
    assert_eq!(
        login_forwarded_for(server.addr, b"203.0.113.7", "u9").await,
        429
    );
    // ...and another client behind the same proxy is not.
    assert_eq!(
        login_forwarded_for(server.addr, b"203.0.113.8", "u9").await,
        401
    );
    // The IPv4-mapped form is the same client.
    assert_eq!(
        login_forwarded_for(server.addr, b"::ffff:203.0.113.7", "u9").await,
        429
    );
}

#[tokio::test]
async fn a_login_rehashes_when_the_configured_parameters_are_raised() {
    let old = spawn_app().await;
    old.post_register("alice", GOOD_PASSWORD).await;
    let name = Username::parse("alice").unwrap();
    let before = old
        .store
        .find_user_by_username(&name)
        .await
        .unwrap()
        .unwrap();
    assert!(before.password_hash.as_str().starts_with("$scrypt$ln=4,"));

    let options = Options::default()
        .on(&old.database_url)
        .with("--scrypt-log-n", 6);
    let new = spawn_app_with(options).await;
    assert_eq!(
        new.post_login("alice", GOOD_PASSWORD).await.status,
        StatusCode::OK
    );
    let after = new
        .store
        .find_user_by_username(&name)
        .await
        .unwrap()
        .unwrap();
    assert!(
        after.password_hash.as_str().starts_with("$scrypt$ln=6,"),
        "rehashed on login"
    );
    assert!(after.updated_at >= before.updated_at);
    assert_eq!(
        new.post_login("alice", GOOD_PASSWORD).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn a_stored_hash_with_absurd_parameters_is_refused_quickly() {
    let app = spawn_app().await;
    let now = app.clock_now();
    app.store
        .create_user(&User {
            id: UserId::new(),
            username: Username::parse("mallory").unwrap(),
            // N = 2^30 would need 128 GiB.
            password_hash: auth_core::PasswordHash::from_stored(
                "$scrypt$ln=30,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E",
            ),
            created_at: now,
            updated_at: now,
            email: None,
            disabled_at: None,
        })
        .await
        .unwrap();
    let started = Instant::now();
    app.post_login("mallory", "password")
        .await
        .assert_error(401, "invalid_credentials");
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "no gigabyte allocation"
    );
    app.assert_healthy().await;
}

#[tokio::test]
async fn cors_is_off_by_default() {
    let app = spawn_app().await;
    let reply = Reply::from(
        app.client
            .get("/health")
            .header("origin", "https://app.example.com")
            .send()
            .await,
    )
    .await;
    assert!(reply.header("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn cors_allows_credentials_for_exactly_the_configured_origins() {
    let app = spawn_app_with(
        Options::default().with("--cors-allowed-origins", "https://app.example.com"),
    )
    .await;
    let preflight = |origin: &'static str| {
        app.client
            .options("/login")
            .header("origin", origin)
            .header("access-control-request-method", "POST")
            .header("access-control-request-headers", "content-type")
            .send()
    };
    let allowed = preflight("https://app.example.com").await;
    assert_eq!(allowed.0.status(), StatusCode::NO_CONTENT);
    let headers = allowed.0.headers();
    assert_eq!(
        headers["access-control-allow-origin"],
        "https://app.example.com"
    );
    assert_eq!(headers["access-control-allow-credentials"], "true");
    let methods = headers["access-control-allow-methods"].to_str().unwrap();
    // PUT: `PUT /me/email` from a browser frontend on an allowed origin.
    for method in ["GET", "POST", "PUT", "DELETE"] {
        assert!(methods.contains(method), "{method} in {methods}");
    }

    let denied = preflight("https://evil.example.net").await;
    assert!(
        denied
            .0
            .headers()
            .get("access-control-allow-origin")
            .is_none()
    );
    assert!(
        denied
            .0
            .headers()
            .get("access-control-allow-credentials")
            .is_none()
    );

    let simple = Reply::from(
        app.client
            .get("/health")
            .header("origin", "https://app.example.com")
            .send()
            .await,
    )
    .await;
    assert_eq!(
        simple.header("access-control-allow-origin").as_deref(),
        Some("https://app.example.com")
    );
    assert_ne!(
        simple.header("access-control-allow-origin").as_deref(),
        Some("*")
    );
    let foreign = Reply::from(
        app.client
            .get("/health")
            .header("origin", "https://evil.example.net")
            .send()
            .await,
    )
    .await;
    assert_eq!(foreign.status, StatusCode::OK);
    assert!(foreign.header("access-control-allow-origin").is_none());
}

#[tokio::test]
async fn no_store_and_security_headers_are_on_token_and_error_responses() {
    let app = spawn_app().await;
    let token = app.logged_in("alice").await;
    for reply in [
        app.get_protected_bearer(&token).await,
        app.post_login("alice", "wrong password!").await,
        app.get("/nope").await,
        app.post_logout_bearer(&token).await,
    ] {
        assert_eq!(
            reply.header("cache-control").as_deref(),
            Some("no-store"),
            "{}",
            reply.body
        );
        assert_eq!(
            reply.header("x-content-type-options").as_deref(),
            Some("nosniff")
        );
        assert_eq!(
            reply.header("referrer-policy").as_deref(),
            Some("no-referrer")
        );
    }
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// Unknown user and wrong password do the same work. Samples are taken in
/// interleaved pairs (alternating which goes first), so machine noise hits
/// both alike, and the median of the per-pair ratios ignores the odd stall.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unknown_user_and_wrong_password_take_the_same_time() {
    // Real work per attempt (a few ms), so that hashing dominates as in
    // production; normal priority, since this measures the code path, not
    // how the scheduler treats niced threads on a busy machine.
    let options = Options::default()
        .with("--login-free-failures", u32::MAX)
        .with("--login-ip-max-failures", u32::MAX)
        .with("--login-account-max-failures", u32::MAX)
        .with("--scrypt-log-n", 12)
        .with("--hash-thread-nice", 0);
    let app = spawn_app_with(options).await;
    app.post_register("alice", GOOD_PASSWORD).await;
    let time = |user: &'static str| {
        let app = &app;
        async move {
            let started = Instant::now();
            let reply = app.post_login(user, "wrong password!").await;
            let elapsed = started.elapsed();
            reply.assert_error(401, "invalid_credentials");
            (elapsed.as_secs_f64(), reply.body)
        }
    };
    // Warm up both paths.
    time("alice").await;
    time("nobody").await;
    let mut ratios = Vec::new();
    for pair in 0..61 {
        let ((known, known_body), (unknown, unknown_body)) = if pair % 2 == 0 {
            let known = time("alice").await;
            (known, time("nobody").await)
        } else {
            let unknown = time("nobody").await;
            (time("alice").await, unknown)
        };
        assert_eq!(known_body, unknown_body, "same body");
        ratios.push(unknown / known);
    }
    let ratio = median(ratios);
    assert!(
        (0.8..=1.25).contains(&ratio),
        "median unknown/known ratio {ratio:.3}"
    );
}
