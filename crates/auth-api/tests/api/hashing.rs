//! Hashing capacity under hostile load, over real sockets: floods of
//! registrations cannot starve logins, and clients that hang up cost no
//! hashing. Outcomes are counted (statuses, hashing jobs run), never timed.

use std::time::Duration;

use futures::future::join_all;
use serde_json::json;
use tokio::io::AsyncWriteExt as _;

use crate::helpers::{GOOD_PASSWORD, Options, spawn_app_with};

/// A real cost per hash (ln=12: a few ms; ln=15: ~100 ms) on one thread,
/// so floods queue.
fn one_slow_thread(log_n: u8) -> Options {
    Options::default()
        .with("--scrypt-log-n", log_n)
        .with("--hash-concurrency", 1)
        .with("--hash-queue", 16)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_succeed_while_48_clients_flood_register() {
    // Every client is 127.0.0.1: the address budget is lifted so that the
    // flood reaches the hashing places (the share kept for logins is what
    // this test is about; `api/limits.rs` tests the budget).
    let app = spawn_app_with(one_slow_thread(12).with("--register-ip-max", 1_000_000)).await;
    let server = app.serve_on_socket().await;
    assert_eq!(
        server
            .post_json(
                "/register",
                &[],
                &json!({"username": "alice", "password": GOOD_PASSWORD})
            )
            .await
            .0,
        201
    );
    let flooding = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let flood = (0..48).map(|client| {
        let flooding = flooding.clone();
        let server = &server;
        async move {
            let mut sent = 0u32;
            while flooding.load(std::sync::atomic::Ordering::Relaxed) && sent < 400 {
                let name = format!("flood{client}x{sent}");
                let _ = server
                    .post_json(
                        "/register",
                        &[],
                        &json!({"username": name, "password": GOOD_PASSWORD}),
                    )
                    .await;
                sent += 1;
            }
        }
    });
    let user = async {
        // Let the flood fill the queue first.
        tokio::time::sleep(Duration::from_millis(300)).await;
        let mut statuses = Vec::new();
        for _ in 0..10 {
            let (status, _) = server
                .post_json(
                    "/login",
                    &[],
                    &json!({"username": "alice", "password": GOOD_PASSWORD}),
                )
                .await;
            statuses.push(status);
        }
        flooding.store(false, std::sync::atomic::Ordering::Relaxed);
        statuses
    };

    let (statuses, _) = tokio::join!(user, join_all(flood));

    let ok = statuses.iter().filter(|&&status| status == 200).count();
    assert!(ok >= 9, "only {ok} of 10 logins succeeded: {statuses:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn logins_abandoned_while_queued_are_never_hashed() {
    // ~100 ms a hash: while the clients are connected, at most one starts.
    let app = spawn_app_with(one_slow_thread(15)).await;
    app.post_register("alice", GOOD_PASSWORD).await;
    let server = app.serve_on_socket().await;
    let hasher = app.app.auth().hasher().clone();
    let before = hasher.jobs_completed();
    // The right password: abandoned attempts must not count as failures.
    let body = json!({"username": "alice", "password": GOOD_PASSWORD}).to_string();
    let request = format!(
        "POST /login HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    // 12 clients send a login and hang up: one may be hashing by then, the
    // others wait in the queue.
    let mut streams = Vec::new();
    for _ in 0..12 {
        let mut stream = tokio::net::TcpStream::connect(server.addr).await.unwrap();
        stream.write_all(request.as_bytes()).await.unwrap();
        streams.push(stream);
    }
    tokio::time::sleep(Duration::from_millis(20)).await;
    drop(streams);
    tokio::time::sleep(Duration::from_millis(500)).await;

    let (status, _) = server
        .post_json(
            "/login",
            &[],
            &json!({"username": "alice", "password": GOOD_PASSWORD}),
        )
        .await;

    assert_eq!(status, 200);
    let ran = hasher.jobs_completed() - before;
    // The fresh login, plus at most the one or two that had started.
    assert!(ran <= 3, "{ran} hashing jobs ran for clients that had left");
}
