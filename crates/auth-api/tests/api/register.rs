use poem::http::StatusCode;
use serde_json::json;

use crate::helpers::{GOOD_PASSWORD, Reply, spawn_app};

#[tokio::test]
async fn register_returns_201_with_message_and_a_uuid() {
    let app = spawn_app().await;
    let reply = app.post_register("John.Doe", GOOD_PASSWORD).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    assert_eq!(reply.body["message"], "User registered successfully");
    let id = reply.body["user_id"].as_str().unwrap();
    assert!(uuid::Uuid::parse_str(id).is_ok(), "{id}");
    assert_eq!(reply.header("cache-control").as_deref(), Some("no-store"));
}

#[tokio::test]
async fn case_variant_of_a_taken_name_is_409_username_taken() {
    let app = spawn_app().await;
    assert_eq!(
        app.post_register("John.Doe", GOOD_PASSWORD).await.status,
        StatusCode::CREATED
    );
    app.post_register("john.doe", "another fine passphrase here")
        .await
        .assert_error(409, "username_taken");
    app.post_register("ＪＯＨＮ.ＤＯＥ", "another fine passphrase here")
        .await
        .assert_error(409, "username_taken");
    app.assert_healthy().await;
}

#[tokio::test]
async fn a_look_alike_of_a_taken_name_is_409_username_taken_like_the_name_itself() {
    // Arrange
    let app = spawn_app().await;
    assert_eq!(
        app.post_register("admin", GOOD_PASSWORD).await.status,
        StatusCode::CREATED
    );
    assert_eq!(
        app.post_register("\u{440}aypal", GOOD_PASSWORD)
            .await
            .status, // Cyrillic р
        StatusCode::CREATED
    );
    let taken = app
        .post_register("admin", "another fine passphrase here")
        .await;

    // Act: Cyrillic а after the Latin name, and the Latin name after a Cyrillic one.
    let cyrillic = app
        .post_register("\u{430}dmin", "another fine passphrase here")
        .await;
    let latin = app
        .post_register("paypal", "another fine passphrase here")
        .await;

    // Assert: the same answer as for the taken name itself, body and all.
    taken.assert_error(409, "username_taken");
    for look_alike in [&cyrillic, &latin] {
        look_alike.assert_error(409, "username_taken");
        assert_eq!(look_alike.body, taken.body);
    }
    // The first registrant still logs in; the look-alike name is no account.
    let login = app.post_login("admin", GOOD_PASSWORD).await;
    assert_eq!(login.status, StatusCode::OK, "{}", login.body);
    app.post_login("\u{430}dmin", GOOD_PASSWORD)
        .await
        .assert_error(401, "invalid_credentials");
    app.assert_healthy().await;
}

#[tokio::test]
async fn invalid_usernames_are_400_invalid_username_with_the_reason() {
    let app = spawn_app().await;
    let reply = app.post_register("jo hn", GOOD_PASSWORD).await;
    reply.assert_error(400, "invalid_username");
    assert!(
        reply.body["error"].as_str().unwrap().contains("position 3"),
        "{}",
        reply.body
    );
    app.post_register("ab", GOOD_PASSWORD)
        .await
        .assert_error(400, "invalid_username");
    app.post_register(&"a".repeat(65), GOOD_PASSWORD)
        .await
        .assert_error(400, "invalid_username");
    app.post_register("", GOOD_PASSWORD)
        .await
        .assert_error(400, "invalid_username");
    app.post_register("bad\u{0}name", GOOD_PASSWORD)
        .await
        .assert_error(400, "invalid_username");
    app.assert_healthy().await;
}

#[tokio::test]
async fn weak_passwords_are_400_weak_password_saying_what_to_change() {
    let app = spawn_app().await;
    let short = app.post_register("alice", "password123").await;
    short.assert_error(400, "weak_password");
    assert!(
        short.body["error"]
            .as_str()
            .unwrap()
            .contains("at least 15"),
        "{}",
        short.body
    );
    let common = app.post_register("alice", "password1234567").await;
    common.assert_error(400, "weak_password");
    assert!(
        common.body["error"]
            .as_str()
            .unwrap()
            .contains("too easy to guess"),
        "{}",
        common.body
    );
    let with_name = app
        .post_register("alice", "alice likes long passphrases")
        .await;
    with_name.assert_error(400, "weak_password");
    assert!(
        with_name.body["error"]
            .as_str()
            .unwrap()
            .contains("username")
    );
    // Nothing was stored: the name is still free.
    assert_eq!(
        app.post_register("alice", GOOD_PASSWORD).await.status,
        StatusCode::CREATED
    );
}

#[tokio::test]
async fn malformed_json_is_400_invalid_request() {
    let app = spawn_app().await;
    let reply = Reply::from(
        app.client
            .post("/register")
            .content_type("application/json")
            .body("{\"username\": \"alice\", ")
            .send()
            .await,
    )
    .await;
    reply.assert_error(400, "invalid_request");
    app.assert_healthy().await;
}

#[tokio::test]
async fn missing_and_mistyped_fields_are_400_naming_the_field() {
    let app = spawn_app().await;
    let missing = app
        .post_json("/register", &json!({"username": "alice"}))
        .await;
    missing.assert_error(400, "invalid_request");
    assert!(
        missing.body["error"].as_str().unwrap().contains("password"),
        "{}",
        missing.body
    );
    let mistyped = app
        .post_json(
            "/register",
            &json!({"username": 42, "password": GOOD_PASSWORD}),
        )
        .await;
    mistyped.assert_error(400, "invalid_request");
    assert!(
        mistyped.body["error"]
            .as_str()
            .unwrap()
            .contains("username"),
        "{}",
        mistyped.body
    );
    app.post_json("/register", &json!([1, 2, 3]))
        .await
        .assert_error(400, "invalid_request");
    app.post_json("/register", &json!(null))
        .await
        .assert_error(400, "invalid_request");
    app.assert_healthy().await;
}

#[tokio::test]
async fn wrong_content_type_is_415() {
    let app = spawn_app().await;
    let reply = Reply::from(
        app.client
            .post("/register")
            .content_type("text/plain")
            .body("username=alice")
            .send()
            .await,
    )
    .await;
    reply.assert_error(415, "unsupported_media_type");
    let no_type = Reply::from(app.client.post("/register").body("{}").send().await).await;
    no_type.assert_error(415, "unsupported_media_type");
    app.assert_healthy().await;
}

#[tokio::test]
async fn bodies_over_the_limit_are_413_with_or_without_content_length() {
    let app = spawn_app().await;
    let huge = json!({"username": "alice", "password": "x".repeat(70 * 1024)}).to_string();
    // TestClient streams the body without Content-Length: the reading limit applies.
    let streamed = Reply::from(
        app.client
            .post("/register")
            .content_type("application/json")
            .body(huge.clone())
            .send()
            .await,
    )
    .await;
    streamed.assert_error(413, "payload_too_large");
    // A declared length over the limit is refused before reading.
    let declared = Reply::from(
        app.client
            .post("/register")
            .content_type("application/json")
            .header("content-length", huge.len().to_string())
            .body(huge)
            .send()
            .await,
    )
    .await;
    declared.assert_error(413, "payload_too_large");
    app.assert_healthy().await;
}

#[tokio::test]
async fn twenty_parallel_registrations_of_one_name_give_one_201() {
    let app = spawn_app().await;
    let replies = futures::future::join_all((0..20).map(|i| {
        let name = if i % 2 == 0 { "Racer" } else { "racer" };
        app.post_register(name, GOOD_PASSWORD)
    }))
    .await;
    let created = replies
        .iter()
        .filter(|r| r.status == StatusCode::CREATED)
        .count();
    let conflicts = replies
        .iter()
        .filter(|r| r.body["code"] == "username_taken")
        .count();
    assert_eq!((created, conflicts), (1, 19));
}

#[tokio::test]
async fn lengths_the_schema_states_still_get_the_domains_codes_and_messages() {
    // Arrange: bodies that break the schema's minLength/maxLength, which
    // the server documents but leaves to the domain to check.
    let app = spawn_app().await;
    let cases = [
        (
            json!({"username": "ab", "password": GOOD_PASSWORD}),
            json!({"code": "invalid_username",
                   "error": auth_core::UsernameError::TooShort { min: 3, actual: 2 }.to_string()}),
        ),
        (
            json!({"username": "a".repeat(65), "password": GOOD_PASSWORD}),
            json!({"code": "invalid_username",
                   "error": auth_core::UsernameError::TooLong { max: 64, actual: 65 }.to_string()}),
        ),
        (
            json!({"username": "alice", "password": "short"}),
            json!({"code": "weak_password",
                   "error": auth_core::PasswordError::TooShort { min: 15, actual: 5 }.to_string()}),
        ),
        (
            json!({"username": "alice", "password": "x".repeat(257)}),
            json!({"code": "weak_password",
                   "error": auth_core::PasswordError::TooLong { max: 256 }.to_string()}),
        ),
    ];
    for (body, expected) in cases {
        // Act
        let reply = app.post_json("/register", &body).await;
        // Assert: the domain's code and sentence, not the validator's invalid_request.
        assert_eq!(reply.status, StatusCode::BAD_REQUEST, "{}", reply.body);
        assert_eq!(reply.body, expected);
    }
    // The limits are inclusive: 3 and 64 characters, 15 and 256.
    let longest: String = format!("{GOOD_PASSWORD} {}", "lagoon quartz ".repeat(20))
        .chars()
        .take(256)
        .collect();
    for (username, password) in [
        ("abc".to_owned(), "qx7 maple orbit".to_owned()),
        ("b".repeat(64), longest),
    ] {
        let reply = app.post_register(&username, &password).await;
        assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    }
}
