use poem::http::StatusCode;

use crate::helpers::{GOOD_PASSWORD, Reply, spawn_app};

#[tokio::test]
async fn logout_with_the_cookie_revokes_it_for_cookie_and_bearer_copies() {
    let app = spawn_app().await;
    let token = app.logged_in("alice").await;
    let reply = app.post_logout_cookie(&token).await;
    assert_eq!(reply.status, StatusCode::OK, "{}", reply.body);
    assert_eq!(reply.body["message"], "Logout successful");
    let cleared = reply.header("set-cookie").unwrap();
    assert!(cleared.starts_with("session=;"), "{cleared}");
    assert!(
        cleared.contains("Max-Age=0") || cleared.contains("Expires="),
        "{cleared}"
    );
    // Replaying the old cookie or the same token as bearer: 401.
    app.get_protected_cookie(&token)
        .await
        .assert_error(401, "unauthorized");
    app.get_protected_bearer(&token)
        .await
        .assert_error(401, "unauthorized");
    app.post_logout_cookie(&token)
        .await
        .assert_error(401, "not_logged_in");
}

#[tokio::test]
async fn logout_with_a_bearer_token_revokes_it() {
    let app = spawn_app().await;
    let token = app.logged_in("alice").await;
    assert_eq!(app.post_logout_bearer(&token).await.status, StatusCode::OK);
    app.get_protected_cookie(&token)
        .await
        .assert_error(401, "unauthorized");
    app.post_logout_bearer(&token)
        .await
        .assert_error(401, "not_logged_in");
}

#[tokio::test]
async fn logout_ends_only_that_session() {
    let app = spawn_app().await;
    let first = app.logged_in("alice").await;
    let second = app
        .post_login("alice", crate::helpers::GOOD_PASSWORD)
        .await
        .body["token"]
        .as_str()
        .unwrap()
        .to_owned();
    app.post_logout_bearer(&first).await;
    assert_eq!(
        app.get_protected_bearer(&second).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn deprecated_get_logout_behaves_the_same() {
    let app = spawn_app().await;
    let token = app.logged_in("alice").await;
    let reply = Reply::from(
        app.client
            .get("/logout")
            .header("cookie", format!("session={token}"))
            .send()
            .await,
    )
    .await;
    assert_eq!(reply.status, StatusCode::OK);
    assert_eq!(reply.body["message"], "Logout successful");
    app.get_protected_bearer(&token)
        .await
        .assert_error(401, "unauthorized");
    Reply::from(app.client.get("/logout").send().await)
        .await
        .assert_error(401, "not_logged_in");
}

#[tokio::test]
async fn logout_without_a_live_session_is_401_not_logged_in() {
    let app = spawn_app().await;
    Reply::from(app.client.post("/logout").send().await)
        .await
        .assert_error(401, "not_logged_in");
    app.post_logout_cookie("garbage")
        .await
        .assert_error(401, "not_logged_in");
    app.post_logout_bearer(&"A".repeat(43))
        .await
        .assert_error(401, "not_logged_in");
    app.assert_healthy().await;
}

#[tokio::test]
async fn a_cross_site_logout_with_the_cookie_is_403_and_the_session_lives_on() {
    let app = spawn_app().await;
    let token = app.logged_in("alice").await;
    for method in ["POST", "GET"] {
        let request = match method {
            "POST" => app.client.post("/logout"),
            _ => app.client.get("/logout"),
        };
        let reply = Reply::from(
            request
                .header("cookie", format!("session={token}"))
                .header("sec-fetch-site", "cross-site")
                .send()
                .await,
        )
        .await;

        reply.assert_error(403, "cross_site_request");
    }
    assert_eq!(
        app.get_protected_cookie(&token).await.status,
        StatusCode::OK
    );
}

#[tokio::test]
async fn same_origin_and_bearer_logouts_are_not_cross_site_requests() {
    let app = spawn_app().await;
    let same_origin = app.logged_in("alice").await;
    let bearer = app.post_login("alice", GOOD_PASSWORD).await.body["token"]
        .as_str()
        .unwrap()
        .to_owned();

    let from_this_site = Reply::from(
        app.client
            .post("/logout")
            .header("cookie", format!("session={same_origin}"))
            .header("sec-fetch-site", "same-origin")
            .send()
            .await,
    )
    .await;
    // A bearer token is not ambient: another site's page cannot attach it.
    let with_bearer = Reply::from(
        app.client
            .post("/logout")
            .header("authorization", format!("Bearer {bearer}"))
            .header("sec-fetch-site", "cross-site")
            .send()
            .await,
    )
    .await;

    assert_eq!(
        from_this_site.status,
        StatusCode::OK,
        "{}",
        from_this_site.body
    );
    assert_eq!(with_bearer.status, StatusCode::OK, "{}", with_bearer.body);
}

#[tokio::test]
async fn a_cross_site_read_of_a_protected_route_is_not_refused() {
    let app = spawn_app().await;
    let token = app.logged_in("alice").await;

    let reply = Reply::from(
        app.client
            .get("/protected")
            .header("cookie", format!("session={token}"))
            .header("sec-fetch-site", "cross-site")
            .send()
            .await,
    )
    .await;

    // Reading changes nothing; CORS decides whether the page may see it.
    assert_eq!(reply.status, StatusCode::OK);
}
