//! `/password/forgot` under attack: its per-address budget, and timing
//! parity (an account with a verified address, one without, and no account
//! at all are answered in the same time).

use std::time::{Duration, Instant};

use serde_json::json;

use crate::helpers::{GOOD_PASSWORD, Options, spawn_app_with};

const FORGOT_MESSAGE: &str =
    "If the account exists and has a verified email, a reset link has been sent";

#[tokio::test]
async fn forgot_password_is_throttled_per_client_address_whatever_the_account() {
    let app = spawn_app_with(
        Options::default()
            .with("--reset-ip-max", 2)
            .with("--trusted-proxies", "127.0.0.1/32"),
    )
    .await;
    let server = app.serve_on_socket().await;
    let ask = |client: &'static str, username: &'static str| {
        let server = &server;
        async move {
            server
                .post_json_raw(
                    "/password/forgot",
                    &[("X-Forwarded-For", client)],
                    &json!({ "username": username }),
                )
                .await
        }
    };
    assert_eq!(ask("203.0.113.1", "alice").await.status, 202);
    assert_eq!(ask("203.0.113.1", "nobody").await.status, 202);
    let refused = ask("203.0.113.1", "someone-else").await;
    assert_eq!(
        (refused.status, refused.body["code"].as_str()),
        (429, Some("too_many_attempts"))
    );
    assert!(
        refused
            .all("retry-after")
            .first()
            .is_some_and(|secs| secs.parse::<u64>().is_ok_and(|secs| secs > 0)),
        "{refused:?}"
    );
    // Another client behind the same proxy has its own budget.
    let other = ask("203.0.113.2", "alice").await;
    assert_eq!(
        (other.status, other.body),
        (202, json!({ "message": FORGOT_MESSAGE }))
    );
}

fn median(mut samples: Vec<f64>) -> f64 {
    samples.sort_by(f64::total_cmp);
    samples[samples.len() / 2]
}

/// The method of the login timing test (`security.rs`): interleaved
/// rounds, rotating which target goes first, so machine noise hits each
/// alike; the median of the per-round ratios ignores the odd stall. Over a
/// real socket, with the address budget spent on every request.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn forgot_password_takes_the_same_time_for_every_kind_of_account() {
    let app = spawn_app_with(
        Options::default()
            .with("--reset-ip-max", 100_000)
            .with("--trusted-proxies", "127.0.0.1/32"),
    )
    .await;
    // A verified address (its mail is queued on each request, off the
    // request path), an unverified one, and no account.
    app.post_json(
        "/register",
        &json!({"username": "verified", "password": GOOD_PASSWORD, "email": "v@example.com"}),
    )
    .await;
    let link = app.deliver_one().await.token().unwrap();
    app.post_json("/email/verify", &json!({ "token": link }))
        .await;
    app.post_json(
        "/register",
        &json!({"username": "unverified", "password": GOOD_PASSWORD, "email": "u@example.com"}),
    )
    .await;
    app.deliver_one().await; // its verification, not followed
    let server = app.serve_on_socket().await;
    let time = |username: &'static str| {
        let server = &server;
        async move {
            let started = Instant::now();
            let reply = server
                .post_json_raw(
                    "/password/forgot",
                    &[("X-Forwarded-For", "203.0.113.9")],
                    &json!({ "username": username }),
                )
                .await;
            let elapsed = started.elapsed();
            assert_eq!(reply.status, 202, "{reply:?}");
            // Let the work done after the answer finish, so that it does not
            // slow the next request (whichever account that one names).
            tokio::time::sleep(Duration::from_millis(15)).await;
            (elapsed.as_secs_f64(), reply.body)
        }
    };
    let targets = ["verified", "unverified", "nobody"];
    for target in targets {
        time(target).await; // warm up each path
    }
    let (mut unverified_ratios, mut unknown_ratios) = (Vec::new(), Vec::new());
    for round in 0..61 {
        let mut took = [0.0; 3];
        for step in 0..3 {
            let index = (round + step) % 3;
            let (seconds, body) = time(targets[index]).await;
            assert_eq!(body, json!({ "message": FORGOT_MESSAGE }), "same body");
            took[index] = seconds;
        }
        unverified_ratios.push(took[1] / took[0]);
        unknown_ratios.push(took[2] / took[0]);
    }
    for (what, ratios) in [
        ("unverified/verified", unverified_ratios),
        ("unknown/verified", unknown_ratios),
    ] {
        let ratio = median(ratios);
        assert!(
            (0.8..=1.25).contains(&ratio),
            "median {what} ratio {ratio:.3}"
        );
    }
    // The verified account did get its (rate-limited) mail, off the path.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mail = app.deliver().await;
    assert!(
        mail.iter().any(|mail| mail.to == "v@example.com"),
        "{mail:?}"
    );
    assert!(
        mail.iter().all(|mail| mail.to == "v@example.com"),
        "{mail:?}"
    );
}
