use crate::helpers::{GOOD_PASSWORD, Reply, spawn_app};

#[tokio::test]
async fn unknown_routes_are_404_not_found_in_json() {
    let app = spawn_app().await;
    app.get("/nope").await.assert_error(404, "not_found");
    app.get("/register/extra")
        .await
        .assert_error(404, "not_found");
    app.assert_healthy().await;
}

#[tokio::test]
async fn wrong_methods_are_405_in_json() {
    let app = spawn_app().await;
    Reply::from(app.client.get("/register").send().await)
        .await
        .assert_error(405, "method_not_allowed");
    Reply::from(app.client.delete("/login").send().await)
        .await
        .assert_error(405, "method_not_allowed");
    let post_protected = Reply::from(app.client.post("/protected").send().await).await;
    post_protected.assert_error(405, "method_not_allowed");
    assert_eq!(post_protected.header("allow").as_deref(), Some("GET"));
    let put_logout = Reply::from(app.client.put("/logout").send().await).await;
    assert_eq!(put_logout.header("allow").as_deref(), Some("GET, POST"));
    app.assert_healthy().await;
}

#[tokio::test]
async fn every_response_has_the_security_headers_and_a_request_id() {
    let app = spawn_app().await;
    for reply in [
        app.get("/health").await,
        app.get("/nope").await,
        app.post_register("alice", GOOD_PASSWORD).await,
    ] {
        assert_eq!(
            reply.header("x-content-type-options").as_deref(),
            Some("nosniff")
        );
        assert_eq!(
            reply.header("referrer-policy").as_deref(),
            Some("no-referrer")
        );
        assert!(
            reply
                .header("x-request-id")
                .is_some_and(|id| !id.is_empty())
        );
    }
    let echoed = Reply::from(
        app.client
            .get("/health")
            .header("x-request-id", "abc-123")
            .send()
            .await,
    )
    .await;
    assert_eq!(echoed.header("x-request-id").as_deref(), Some("abc-123"));
}

#[tokio::test]
async fn the_original_readme_walk_through_works_with_a_strong_password() {
    let app = spawn_app().await;
    // The original README used password123, which is now rejected as common.
    app.post_register("testuser", "password123")
        .await
        .assert_error(400, "weak_password");
    let registered = app.post_register("testuser", GOOD_PASSWORD).await;
    assert_eq!(registered.status.as_u16(), 201);
    let login = app.post_login("testuser", GOOD_PASSWORD).await;
    let cookie = login.session_cookie();
    let reply = Reply::from(
        app.client
            .get("/protected")
            .header("cookie", format!("session={cookie}"))
            .send()
            .await,
    )
    .await;
    assert_eq!(reply.body["message"], "Welcome, testuser!");
}
