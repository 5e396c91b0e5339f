//! The admin API on its own listener (`--admin-bind`): keys made and
//! revoked at the command line, every route and code, on SQLite and, when
//! `AUTH_TEST_DATABASE_URL` is set, PostgreSQL.

use std::sync::Arc;

use auth_core::UserRepository as _;
use poem::endpoint::BoxEndpoint;
use poem::http::{Method, StatusCode};
use poem::test::TestClient;
use poem::{EndpointExt as _, Response};
use serde_json::{Value, json};

use crate::cli::{TestDatabase, on_every_backend};
use crate::helpers::{GOOD_PASSWORD, Options, Reply, TestApp, spawn_app_with};

/// An instance with the admin listener on, over `db`. On SQLite without
/// the session cache: one process owns a SQLite file, so nothing carries
/// another instance's (or the CLI's) revocations into a cache there (see
/// docs/operations.md); PostgreSQL instances keep theirs, checked against
/// the revocation log.
async fn instance(db: &TestDatabase) -> TestApp {
    let options = Options::default()
        .on(&db.url)
        .with("--admin-bind", "127.0.0.1:0");
    let options = if db.url.starts_with("sqlite") {
        options.with("--session-cache-capacity", 0)
    } else {
        options
    };
    spawn_app_with(options).await
}

/// The admin listener of `app`, in process.
struct Admin {
    client: TestClient<BoxEndpoint<'static, Response>>,
}

impl Admin {
    fn of(app: &TestApp) -> Self {
        let endpoint = app.app.admin_endpoint().expect("--admin-bind is set");
        Self {
            client: TestClient::new(Shared(endpoint).boxed()),
        }
    }

    async fn send(&self, method: Method, path: &str, key: Option<&str>) -> Reply {
        let mut request = self.client.request(method, path);
        if let Some(key) = key {
            request = request.header("authorization", format!("Bearer {key}"));
        }
        Reply::from(request.send().await).await
    }

    async fn get(&self, path: &str, key: &str) -> Reply {
        self.send(Method::GET, path, Some(key)).await
    }

    async fn post(&self, path: &str, key: &str) -> Reply {
        self.send(Method::POST, path, Some(key)).await
    }
}

/// The app's endpoint, shared (as `helpers.rs` does for the public one).
struct Shared(Arc<BoxEndpoint<'static, Response>>);

impl poem::Endpoint for Shared {
    type Output = Response;

    async fn call(&self, req: poem::Request) -> poem::Result<Response> {
        self.0.call(req).await
    }
}

/// `auth-server admin-key create --name <name>`: the key it prints.
fn create_key(db: &TestDatabase, name: &str) -> String {
    let out = db.run(&["admin-key", "create", "--name", name], "").ok();
    let key = out.trim().to_owned();
    assert!(key.starts_with("ak_"), "{key}");
    key
}

async fn register(app: &TestApp, name: &str, email: Option<&str>) -> String {
    let mut body = json!({"username": name, "password": GOOD_PASSWORD});
    if let Some(email) = email {
        body["email"] = json!(email);
    }
    let reply = app.post_json("/register", &body).await;
    assert_eq!(reply.status, StatusCode::CREATED, "{}", reply.body);
    // `/register` answers the Flask service's shape, without the id.
    let name = auth_core::Username::parse(name).unwrap();
    let user = app
        .store
        .find_user_by_username(&name)
        .await
        .unwrap()
        .unwrap();
    user.id.to_string()
}

fn names(reply: &Reply) -> Vec<String> {
    reply.body["users"]
        .as_array()
        .unwrap()
        .iter()
        .map(|user| user["username"].as_str().unwrap().to_owned())
        .collect()
}

fn event_types(reply: &Reply) -> Vec<String> {
    reply.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|event| event["type"].as_str().unwrap().to_owned())
        .collect()
}

on_every_backend!(
    every_admin_route_needs_a_live_key_and_a_revocation_counts_on_every_instance_at_once,
    users_are_found_by_name_or_email_in_stable_pages,
    a_user_is_shown_with_sessions_factors_backoff_and_disabled_flag,
    a_disabled_user_is_logged_out_and_refused_403_only_with_the_right_password,
    deleting_a_user_frees_the_name_and_leaves_the_event,
    sessions_and_backoff_are_cleared_by_an_operator,
    a_reset_link_goes_only_to_a_verified_address,
    the_audit_trail_is_filtered_paged_and_names_the_key,
    the_user_commands_share_the_use_cases_and_their_events,
);

async fn every_admin_route_needs_a_live_key_and_a_revocation_counts_on_every_instance_at_once(
    db: &TestDatabase,
) {
    let one = instance(db).await;
    let other = instance(db).await;
    let key = create_key(db, "support");
    let id = register(&one, "alice", None).await;
    let session = one.login_again("alice", GOOD_PASSWORD).await;
    let (a, b) = (Admin::of(&one), Admin::of(&other));
    let routes = [
        (Method::GET, "/admin/users".to_owned()),
        (Method::GET, format!("/admin/users/{id}")),
        (Method::POST, format!("/admin/users/{id}/disable")),
        (Method::POST, format!("/admin/users/{id}/enable")),
        (Method::POST, format!("/admin/users/{id}/revoke-sessions")),
        (Method::POST, format!("/admin/users/{id}/clear-backoff")),
        (Method::POST, format!("/admin/users/{id}/password-reset")),
        (Method::DELETE, format!("/admin/users/{id}")),
        (Method::GET, "/admin/events".to_owned()),
    ];
    let wrong = format!("ak_{}", "A".repeat(43));
    for (method, path) in &routes {
        for presented in [
            None,
            Some("nonsense"),
            Some(wrong.as_str()),
            Some(session.as_str()),
        ] {
            a.send(method.clone(), path, presented)
                .await
                .assert_error(401, "unauthorized");
        }
    }
    assert_eq!(a.get("/admin/users", &key).await.status, StatusCode::OK);
    assert_eq!(b.get("/admin/users", &key).await.status, StatusCode::OK);

    let listed = db.run(&["admin-key", "list"], "").ok();
    assert!(listed.contains("support"), "{listed}");
    assert!(
        !listed.contains(&key[3..]),
        "the list must never show a key"
    );
    let revoked = db
        .run(&["admin-key", "revoke", "--name", "support"], "")
        .ok();
    assert!(revoked.contains("revoked admin key support"), "{revoked}");

    a.get("/admin/users", &key)
        .await
        .assert_error(401, "unauthorized");
    b.get("/admin/users", &key)
        .await
        .assert_error(401, "unauthorized");
    db.run(&["admin-key", "revoke", "--name", "support"], "")
        .fails_with("no live admin key is named \"support\"");
    db.run(&["admin-key", "create", "--name", "support"], "")
        .fails_with("an admin key named \"support\" exists");
    db.run(&["admin-key", "create", "--name", "two words"], "")
        .fails_with("invalid key name");
    // The admin routes are not on the public listener.
    one.get("/admin/users").await.assert_error(404, "not_found");
}

async fn users_are_found_by_name_or_email_in_stable_pages(db: &TestDatabase) {
    let app = instance(db).await;
    let key = create_key(db, "support");
    let admin = Admin::of(&app);
    register(&app, "Carol", Some("carol@Example.com")).await;
    register(&app, "alice", None).await;
    register(&app, "bob", Some("robert@corp.test")).await;

    let all = admin.get("/admin/users", &key).await;
    assert_eq!(names(&all), ["alice", "bob", "Carol"]);
    assert_eq!(all.body["next_cursor"], Value::Null);
    let carol = &all.body["users"][2];
    assert_eq!(carol["email"], "carol@Example.com");
    assert_eq!(carol["email_verified"], false);
    assert_eq!(carol["disabled"], false);
    assert_eq!(carol["disabled_at"], Value::Null);
    assert!(carol.get("password_hash").is_none());
    let by_email = admin.get("/admin/users?query=EXAMPLE.com", &key).await;
    assert_eq!(names(&by_email), ["Carol"]);
    let by_name = admin.get("/admin/users?query=Ro", &key).await;
    assert_eq!(names(&by_name), ["bob", "Carol"]);
    assert!(names(&admin.get("/admin/users?query=%25", &key).await).is_empty());

    let first = admin.get("/admin/users?limit=2", &key).await;
    assert_eq!(names(&first), ["alice", "bob"]);
    let cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
    // A registration before the boundary does not shift the next page.
    register(&app, "aaron", None).await;
    let next = admin
        .get(&format!("/admin/users?limit=2&cursor={cursor}"), &key)
        .await;
    assert_eq!(names(&next), ["Carol"]);
    assert_eq!(next.body["next_cursor"], Value::Null);

    for bad in ["limit=0", "limit=201", "limit=two", "cursor=%E2%9C%93"] {
        admin
            .get(&format!("/admin/users?{bad}"), &key)
            .await
            .assert_error(400, "invalid_request");
    }
}

async fn a_user_is_shown_with_sessions_factors_backoff_and_disabled_flag(db: &TestDatabase) {
    let app = instance(db).await;
    let key = create_key(db, "support");
    let admin = Admin::of(&app);
    let id = register(&app, "alice", Some("alice@example.com")).await;
    app.login_again("alice", GOOD_PASSWORD).await;
    app.login_again("alice", GOOD_PASSWORD).await;
    for _ in 0..2 {
        app.post_login("alice", "not the password at all")
            .await
            .assert_error(401, "invalid_credentials");
    }

    let shown = admin.get(&format!("/admin/users/{id}"), &key).await;

    assert_eq!(shown.status, StatusCode::OK, "{}", shown.body);
    assert_eq!(shown.body["user"]["id"], id.as_str());
    assert_eq!(shown.body["user"]["username"], "alice");
    assert_eq!(shown.body["sessions"], 2);
    assert_eq!(shown.body["factors"]["totp"], false);
    assert_eq!(shown.body["factors"]["passkeys"], 0);
    assert_eq!(shown.body["backoff"]["failures"], 2);
    assert_eq!(shown.body["user"]["disabled"], false);
    for unknown in [
        "0190a1b2-0000-7000-8000-000000000000".to_owned(),
        "not-a-uuid".to_owned(),
    ] {
        admin
            .get(&format!("/admin/users/{unknown}"), &key)
            .await
            .assert_error(404, "not_found");
        for action in [
            "disable",
            "enable",
            "revoke-sessions",
            "clear-backoff",
            "password-reset",
        ] {
            admin
                .post(&format!("/admin/users/{unknown}/{action}"), &key)
                .await
                .assert_error(404, "not_found");
        }
        admin
            .send(
                Method::DELETE,
                &format!("/admin/users/{unknown}"),
                Some(&key),
            )
            .await
            .assert_error(404, "not_found");
    }
    // A body the actions do not take is still read within the limits.
    let reply = admin
        .client
        .post(format!("/admin/users/{id}/clear-backoff"))
        .header("authorization", format!("Bearer {key}"))
        .content_type("application/json")
        .body(vec![b'x'; 128 * 1024])
        .send()
        .await;
    let reply = Reply::from(reply).await;
    reply.assert_error(413, "payload_too_large");
}

async fn a_disabled_user_is_logged_out_and_refused_403_only_with_the_right_password(
    db: &TestDatabase,
) {
    let one = instance(db).await;
    let other = instance(db).await;
    let key = create_key(db, "support");
    let id = register(&one, "alice", None).await;
    let tokens = [
        one.login_again("alice", GOOD_PASSWORD).await,
        other.login_again("alice", GOOD_PASSWORD).await,
    ];
    for token in &tokens {
        assert_eq!(one.get_protected_bearer(token).await.status, StatusCode::OK);
        assert_eq!(
            other.get_protected_bearer(token).await.status,
            StatusCode::OK
        );
    }

    let disabled = Admin::of(&one)
        .post(&format!("/admin/users/{id}/disable"), &key)
        .await;

    assert_eq!(disabled.status, StatusCode::OK, "{}", disabled.body);
    assert_eq!(disabled.body["revoked"], 2);
    assert_eq!(disabled.body["user"]["disabled"], true);
    assert!(disabled.body["user"]["disabled_at"].is_string());
    for token in &tokens {
        one.get_protected_bearer(token)
            .await
            .assert_error(401, "unauthorized");
        other
            .get_protected_bearer(token)
            .await
            .assert_error(401, "unauthorized");
    }
    one.post_login("alice", GOOD_PASSWORD)
        .await
        .assert_error(403, "account_disabled");
    other
        .post_login("alice", "not the password at all")
        .await
        .assert_error(401, "invalid_credentials");
    // Again: nothing changes, still 200.
    let again = Admin::of(&other)
        .post(&format!("/admin/users/{id}/disable"), &key)
        .await;
    assert_eq!(again.status, StatusCode::OK);
    assert_eq!(again.body["revoked"], 0);

    let enabled = Admin::of(&other)
        .post(&format!("/admin/users/{id}/enable"), &key)
        .await;
    assert_eq!(enabled.status, StatusCode::OK, "{}", enabled.body);
    assert_eq!(enabled.body["disabled"], false);
    let token = one.login_again("alice", GOOD_PASSWORD).await;
    assert_eq!(
        other.get_protected_bearer(&token).await.status,
        StatusCode::OK
    );
}

async fn deleting_a_user_frees_the_name_and_leaves_the_event(db: &TestDatabase) {
    let app = instance(db).await;
    let key = create_key(db, "support");
    let admin = Admin::of(&app);
    let id = register(&app, "alice", Some("alice@example.com")).await;
    let token = app.login_again("alice", GOOD_PASSWORD).await;

    let deleted = admin
        .send(Method::DELETE, &format!("/admin/users/{id}"), Some(&key))
        .await;

    assert_eq!(deleted.status, StatusCode::OK, "{}", deleted.body);
    app.get_protected_bearer(&token)
        .await
        .assert_error(401, "unauthorized");
    admin
        .get(&format!("/admin/users/{id}"), &key)
        .await
        .assert_error(404, "not_found");
    admin
        .send(Method::DELETE, &format!("/admin/users/{id}"), Some(&key))
        .await
        .assert_error(404, "not_found");
    let trail = admin
        .get(&format!("/admin/events?user_id={id}"), &key)
        .await;
    assert_eq!(event_types(&trail), ["account_deleted"]);
    assert_eq!(trail.body["events"][0]["actor"], "admin_key:support");
    register(&app, "alice", Some("alice@example.com")).await;
}

async fn sessions_and_backoff_are_cleared_by_an_operator(db: &TestDatabase) {
    let app = instance(db).await;
    let key = create_key(db, "support");
    let admin = Admin::of(&app);
    let id = register(&app, "alice", None).await;
    let bob = register(&app, "bob", None).await;
    let tokens = [
        app.login_again("alice", GOOD_PASSWORD).await,
        app.login_again("alice", GOOD_PASSWORD).await,
    ];
    let bobs = app.login_again("bob", GOOD_PASSWORD).await;

    let revoked = admin
        .post(&format!("/admin/users/{id}/revoke-sessions"), &key)
        .await;

    assert_eq!(revoked.status, StatusCode::OK, "{}", revoked.body);
    assert_eq!(revoked.body["revoked"], 2);
    for token in &tokens {
        app.get_protected_bearer(token)
            .await
            .assert_error(401, "unauthorized");
    }
    assert_eq!(app.get_protected_bearer(&bobs).await.status, StatusCode::OK);

    // Enough failures to lock bob out, then the operator clears them.
    let mut locked = false;
    for _ in 0..12 {
        let reply = app.post_login("bob", "not the password at all").await;
        if reply.status == StatusCode::TOO_MANY_REQUESTS {
            locked = true;
            break;
        }
    }
    assert!(locked, "the back-off never engaged");
    let shown = admin.get(&format!("/admin/users/{bob}"), &key).await;
    assert!(
        shown.body["backoff"]["locked_until"].is_string(),
        "{}",
        shown.body
    );
    let cleared = admin
        .post(&format!("/admin/users/{bob}/clear-backoff"), &key)
        .await;
    assert_eq!(cleared.status, StatusCode::OK, "{}", cleared.body);
    assert!(cleared.body["cleared"].as_u64().unwrap() > 0);
    let shown = admin.get(&format!("/admin/users/{bob}"), &key).await;
    assert_eq!(shown.body["backoff"]["failures"], 0);
    assert_eq!(shown.body["backoff"]["locked_until"], Value::Null);
    assert_eq!(
        app.post_login("bob", GOOD_PASSWORD).await.status,
        StatusCode::OK
    );
}

async fn a_reset_link_goes_only_to_a_verified_address(db: &TestDatabase) {
    let app = instance(db).await;
    let key = create_key(db, "support");
    let admin = Admin::of(&app);
    let plain = register(&app, "bob", None).await;
    let unverified = register(&app, "carol", Some("carol@example.com")).await;
    // Carol's verification mail, waited for: it may be queued just after
    // the answer, and must not be taken for alice's below.
    assert_eq!(app.deliver_one().await.to, "carol@example.com");
    let id = register(&app, "alice", Some("alice@example.com")).await;
    let verification = app.deliver_one().await;
    let verified = app
        .post_json(
            "/email/verify",
            &json!({"token": verification.token().unwrap()}),
        )
        .await;
    assert_eq!(verified.status, StatusCode::OK, "{}", verified.body);

    for user in [&plain, &unverified] {
        admin
            .post(&format!("/admin/users/{user}/password-reset"), &key)
            .await
            .assert_error(409, "no_verified_email");
    }
    let sent = admin
        .post(&format!("/admin/users/{id}/password-reset"), &key)
        .await;
    assert_eq!(sent.status, StatusCode::ACCEPTED, "{}", sent.body);

    let mail = app.deliver_one().await;
    assert_eq!(mail.to, "alice@example.com");
    let reset = app
        .post_json(
            "/password/reset",
            &json!({"token": mail.token().unwrap(), "new_password": "walnut harbor seventeen kites"}),
        )
        .await;
    assert_eq!(reset.status, StatusCode::OK, "{}", reset.body);
}

async fn the_audit_trail_is_filtered_paged_and_names_the_key(db: &TestDatabase) {
    let app = instance(db).await;
    let key = create_key(db, "support");
    let admin = Admin::of(&app);
    let id = register(&app, "alice", None).await;
    app.post_login("alice", "not the password at all").await;
    app.login_again("alice", GOOD_PASSWORD).await;
    app.advance(std::time::Duration::from_secs(60));
    let since = app.clock_now();
    admin
        .post(&format!("/admin/users/{id}/disable"), &key)
        .await;
    admin.post(&format!("/admin/users/{id}/enable"), &key).await;

    let theirs = admin
        .get(&format!("/admin/events?user_id={id}"), &key)
        .await;
    assert_eq!(theirs.status, StatusCode::OK, "{}", theirs.body);
    assert_eq!(
        event_types(&theirs),
        [
            "account_enabled",
            "account_disabled",
            "login_succeeded",
            "login_failed",
            "registered"
        ]
    );
    assert_eq!(theirs.body["events"][0]["actor"], "admin_key:support");
    assert_eq!(theirs.body["events"][0]["user_id"], id.as_str());
    assert_eq!(theirs.body["events"][2]["actor"], Value::Null);
    let failures = admin.get("/admin/events?type=login_failed", &key).await;
    assert_eq!(event_types(&failures), ["login_failed"]);
    let since = since.to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
    let recent = admin
        .get(
            &format!(
                "/admin/events?user_id={id}&since={}",
                since.replace('+', "%2B")
            ),
            &key,
        )
        .await;
    assert_eq!(recent.status, StatusCode::OK, "{}", recent.body);
    assert!(event_types(&recent).contains(&"account_disabled".to_owned()));
    assert!(!event_types(&recent).contains(&"registered".to_owned()));

    let first = admin
        .get(&format!("/admin/events?user_id={id}&limit=2"), &key)
        .await;
    assert_eq!(event_types(&first), ["account_enabled", "account_disabled"]);
    let cursor = first.body["next_cursor"].as_str().unwrap().to_owned();
    app.login_again("alice", GOOD_PASSWORD).await;
    let next = admin
        .get(
            &format!("/admin/events?user_id={id}&limit=2&cursor={cursor}"),
            &key,
        )
        .await;
    assert_eq!(event_types(&next), ["login_succeeded", "login_failed"]);

    for bad in [
        "type=nonsense",
        "user_id=not-a-uuid",
        "since=yesterday",
        "limit=0",
        "cursor=bm90IGEgbnVtYmVy",
    ] {
        admin
            .get(&format!("/admin/events?{bad}"), &key)
            .await
            .assert_error(400, "invalid_request");
    }
}

async fn the_user_commands_share_the_use_cases_and_their_events(db: &TestDatabase) {
    let app = instance(db).await;
    let key = create_key(db, "support");
    let admin = Admin::of(&app);
    let id = register(&app, "alice", None).await;
    let token = app.login_again("alice", GOOD_PASSWORD).await;

    let out = db.run(&["user", "disable", "alice"], "").ok();
    assert_eq!(out.trim(), "disabled alice; ended 1 session");
    app.get_protected_bearer(&token)
        .await
        .assert_error(401, "unauthorized");
    app.post_login("alice", GOOD_PASSWORD)
        .await
        .assert_error(403, "account_disabled");
    let shown = admin.get(&format!("/admin/users/{id}"), &key).await;
    assert_eq!(shown.body["user"]["disabled"], true);
    let out = db.run(&["user", "enable", "alice"], "").ok();
    assert_eq!(out.trim(), "enabled alice");
    assert_eq!(
        app.post_login("alice", GOOD_PASSWORD).await.status,
        StatusCode::OK
    );
    let trail = admin
        .get(&format!("/admin/events?user_id={id}&limit=4"), &key)
        .await;
    assert_eq!(
        event_types(&trail),
        [
            "login_succeeded",
            "account_enabled",
            "login_disabled",
            "account_disabled"
        ]
    );
    assert_eq!(trail.body["events"][1]["actor"], "operator");
    assert_eq!(trail.body["events"][2]["actor"], Value::Null);
    assert_eq!(trail.body["events"][3]["actor"], "operator");
    let keys = admin
        .get("/admin/events?type=admin_key_created", &key)
        .await;
    assert_eq!(keys.body["events"][0]["actor"], "operator");
    let out = db.run(&["user", "delete", "alice"], "").ok();
    assert_eq!(
        out.trim(),
        "deleted alice and everything tied to the account"
    );
    admin
        .get(&format!("/admin/users/{id}"), &key)
        .await
        .assert_error(404, "not_found");
}

#[tokio::test]
async fn the_admin_listener_serves_its_own_document_and_swagger_ui() {
    let db = TestDatabase::sqlite();
    let app = instance(&db).await;
    let admin = Admin::of(&app);

    let spec = admin.send(Method::GET, "/openapi.json", None).await;
    assert_eq!(spec.status, StatusCode::OK);
    assert_eq!(
        spec.body,
        serde_json::from_str::<Value>(&auth_api::admin_openapi_json()).unwrap()
    );
    let paths = spec.body["paths"].as_object().unwrap();
    assert!(
        paths.keys().all(|path| path.starts_with("/admin/")),
        "{paths:?}"
    );
    assert!(spec.body["components"]["securitySchemes"]["admin_key"].is_object());
    let docs = admin.client.get("/docs").send().await;
    docs.assert_status_is_ok();
    let page = docs.0.into_body().into_string().await.unwrap();
    assert!(page.contains("Swagger UI") && page.contains("/admin/users"));
    // An undeclared method: 405 with the methods the path has (RFC 9110),
    // also on the paths with an id.
    let id = "0190a1b2-0000-7000-8000-000000000000";
    for (path, allow) in [
        ("/admin/users".to_owned(), "GET"),
        (format!("/admin/users/{id}"), "DELETE, GET"),
        (format!("/admin/users/{id}/disable"), "POST"),
    ] {
        let reply = admin.send(Method::PUT, &path, None).await;
        reply.assert_error(405, "method_not_allowed");
        assert_eq!(reply.header("allow").as_deref(), Some(allow), "{path}");
    }
    // Not the public routes.
    admin
        .send(Method::POST, "/login", None)
        .await
        .assert_error(404, "not_found");
    // Nor the admin routes on the public listener's document.
    let public: Value = serde_json::from_str(&auth_api::openapi_json()).unwrap();
    assert!(
        public["paths"]
            .as_object()
            .unwrap()
            .keys()
            .all(|path| !path.starts_with("/admin"))
    );
    // Without --admin-bind there is no admin endpoint at all.
    let plain = spawn_app_with(Options::default()).await;
    assert!(plain.app.admin_endpoint().is_none());
}
