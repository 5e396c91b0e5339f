use std::time::Duration;

use poem::http::StatusCode;

use crate::helpers::{GOOD_PASSWORD, Reply, spawn_app};

#[tokio::test]
async fn protected_welcomes_the_user_by_cookie_and_by_bearer() {
    let app = spawn_app().await;
    let registered = app.post_register("John.Doe", GOOD_PASSWORD).await;
    let token = app.post_login("john.doe", GOOD_PASSWORD).await.body["token"]
        .as_str()
        .unwrap()
        .to_owned();
    for reply in [
        app.get_protected_cookie(&token).await,
        app.get_protected_bearer(&token).await,
    ] {
        assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
        assert_eq!(reply.body["message"], "Welcome, John.Doe!");
        assert_eq!(reply.body["username"], "John.Doe");
        assert_eq!(reply.body["user_id"], registered.body["user_id"]);
    }
}

#[tokio::test]
async fn protected_without_a_session_is_401_unauthorized() {
    let app = spawn_app().await;
    Reply::from(app.client.get("/protected").send().await)
        .await
        .assert_error(401, "unauthorized");
    app.get_protected_cookie("")
        .await
        .assert_error(401, "unauthorized");
    app.get_protected_bearer("not-a-token")
        .await
        .assert_error(401, "unauthorized");
    app.get_protected_bearer(&"A".repeat(43))
        .await
        .assert_error(401, "unauthorized");
    Reply::from(
        app.client
            .get("/protected")
            .header("authorization", "Basic YTpi")
            .send()
            .await,
    )
    .await
    .assert_error(401, "unauthorized");
    app.assert_healthy().await;
}

#[tokio::test]
async fn sessions_end_after_the_idle_timeout() {
    let app = spawn_app().await;
    let token = app.logged_in("alice").await;
    app.advance(app.session_policy.idle_timeout - Duration::from_secs(1));
    // Use refreshes the idle expiry...
    assert_eq!(
        app.get_protected_bearer(&token).await.status,
        StatusCode::OK
    );
    app.advance(app.session_policy.idle_timeout - Duration::from_secs(1));
    assert_eq!(
        app.get_protected_bearer(&token).await.status,
        StatusCode::OK
    );
    // ...and a full idle period without use ends the session.
    app.advance(app.session_policy.idle_timeout);
    app.get_protected_bearer(&token)
        .await
        .assert_error(401, "unauthorized");
}

#[tokio::test]
async fn sessions_end_at_the_absolute_timeout_however_active() {
    let app = spawn_app().await;
    let token = app.logged_in("alice").await;
    let step = Duration::from_secs(12 * 3600);
    let mut elapsed = Duration::ZERO;
    while elapsed + step < app.session_policy.absolute_timeout {
        app.advance(step);
        elapsed += step;
        assert_eq!(
            app.get_protected_bearer(&token).await.status,
            StatusCode::OK
        );
    }
    app.advance(app.session_policy.absolute_timeout - elapsed);
    app.get_protected_bearer(&token)
        .await
        .assert_error(401, "unauthorized");
}

#[tokio::test]
async fn a_bearer_token_wins_over_a_stale_cookie() {
    let app = spawn_app().await;
    let old = app.logged_in("alice").await;
    let fresh = app.post_login("alice", GOOD_PASSWORD).await.body["token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post_logout_bearer(&old).await;
    let reply = Reply::from(
        app.client
            .get("/protected")
            .header("cookie", format!("session={old}"))
            .header("authorization", format!("Bearer {fresh}"))
            .send()
            .await,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
}
