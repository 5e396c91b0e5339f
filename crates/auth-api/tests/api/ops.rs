use poem::http::StatusCode;
use serde_json::json;

use crate::helpers::{GOOD_PASSWORD, Options, spawn_app, spawn_app_with};

#[tokio::test]
async fn health_and_ready_answer_ok() {
    let app = spawn_app().await;
    let health = app.get("/health").await;
    assert_eq!(
        (health.status, health.body),
        (StatusCode::OK, json!({"status": "ok"}))
    );
    let ready = app.get("/ready").await;
    assert_eq!(
        (ready.status, ready.body),
        (StatusCode::OK, json!({"status": "ok"}))
    );
}

#[tokio::test]
async fn a_lost_database_gives_503_storage_unavailable_and_not_ready() {
    let app = spawn_app().await;
    let token = app.logged_in("alice").await;
    app.store.clone().close().await;
    let ready = app.get("/ready").await;
    ready.assert_error(503, "not_ready");
    let login = app.post_login("alice", GOOD_PASSWORD).await;
    login.assert_error(503, "storage_unavailable");
    assert!(login.header("retry-after").is_some());
    app.get_protected_bearer(&token)
        .await
        .assert_error(503, "storage_unavailable");
    app.post_register("bob", GOOD_PASSWORD)
        .await
        .assert_error(503, "storage_unavailable");
    // The process itself is fine.
    app.assert_healthy().await;
}

#[tokio::test]
async fn a_full_hashing_queue_gives_503_server_busy_with_retry_after() {
    let options = Options::default()
        .with("--scrypt-log-n", 15)
        .with("--hash-concurrency", 1)
        .with("--hash-queue", 0);
    let app = spawn_app_with(options).await;
    let names: Vec<String> = (0..8).map(|i| format!("user{i}")).collect();
    let replies = futures::future::join_all(
        names
            .iter()
            .map(|name| app.post_register(name, GOOD_PASSWORD)),
    )
    .await;
    let created = replies
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .count();
    let busy: Vec<_> = replies
        .iter()
        .filter(|r| r.status == StatusCode::SERVICE_UNAVAILABLE)
        .collect();
    assert!(created >= 1, "at least one request gets the slot");
    assert!(
        !busy.is_empty(),
        "with one slot and no queue, concurrent requests are refused"
    );
    assert_eq!(created + busy.len(), names.len(), "nothing else happened");
    for reply in busy {
        reply.assert_error(503, "server_busy");
        assert_eq!(reply.header("retry-after").as_deref(), Some("1"));
    }
    app.assert_healthy().await;
}

#[tokio::test]
async fn metrics_count_requests_logins_registrations_revocations_and_hashing() {
    let app = spawn_app().await;
    let token = app.logged_in("alice").await;
    app.post_login("alice", "wrong password!").await;
    app.post_register("alice", GOOD_PASSWORD).await;
    app.post_logout_bearer(&token).await;
    app.get("/wp-admin").await;
    let response = app.client.get("/metrics").send().await;
    assert_eq!(response.0.status(), StatusCode::OK);
    let content_type = response.0.headers()["content-type"]
        .to_str()
        .unwrap()
        .to_owned();
    assert!(
        content_type.starts_with("application/openmetrics-text"),
        "{content_type}"
    );
    let text = response.0.into_body().into_string().await.unwrap();
    for expected in [
        "http_requests_total{route=\"/login\",method=\"POST\",status=\"200\"} 1",
        "http_requests_total{route=\"/login\",method=\"POST\",status=\"401\"} 1",
        "http_requests_total{route=\"other\",method=\"GET\",status=\"404\"} 1",
        "auth_logins_total{outcome=\"success\"} 1",
        "auth_logins_total{outcome=\"invalid_credentials\"} 1",
        "auth_registrations_total{outcome=\"created\"} 1",
        "auth_registrations_total{outcome=\"username_taken\"} 1",
        "auth_sessions_revoked_total 1",
        "auth_hash_queue_depth 0",
        "auth_hash_rejected_total 0",
        // Every event of the walk was kept.
        "auth_events_not_stored_total 0",
        // Register, two logins; the taken name is refused before hashing.
        "auth_hash_duration_seconds_count 3",
        "auth_hash_duration_seconds_bucket{le=\"+Inf\"} 3",
        "http_request_duration_seconds_count{route=\"/login\"} 2",
    ] {
        assert!(text.contains(expected), "missing {expected:?} in\n{text}");
    }
    assert!(!text.contains("wp-admin"), "raw paths never become labels");
}

#[tokio::test]
async fn a_security_event_the_store_cannot_keep_fails_no_request_and_is_counted() {
    use sea_orm::ConnectionTrait as _;
    let app = spawn_app().await;
    app.post_register("alice", GOOD_PASSWORD).await;
    // The events table gone: every append fails from now on.
    app.store
        .connection()
        .execute_unprepared("DROP TABLE events")
        .await
        .unwrap();

    let login = app.post_login("alice", GOOD_PASSWORD).await;
    let wrong = app.post_login("alice", "a wrong password!").await;

    assert_eq!(login.status, StatusCode::OK, "{}", login.body);
    wrong.assert_error(401, "invalid_credentials");
    let metrics = app.client.get("/metrics").send().await;
    let text = metrics.0.into_body().into_string().await.unwrap();
    assert!(
        text.contains("auth_events_not_stored_total 2"),
        "a login_succeeded and a login_failed were not stored:\n{text}"
    );
}
