use poem::http::StatusCode;

use serde_json::json;

use crate::helpers::{Auth, GOOD_PASSWORD, Options, Reply, spawn_app, spawn_app_with};

const SNAPSHOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");
const ADMIN_SNAPSHOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/admin-openapi.json");

#[test]
fn the_admin_document_matches_the_committed_docs_admin_openapi_json() {
    let generated: serde_json::Value =
        serde_json::from_str(&auth_api::admin_openapi_json()).unwrap();
    let committed = std::fs::read_to_string(ADMIN_SNAPSHOT).unwrap_or_default();
    let committed: serde_json::Value = serde_json::from_str(&committed).unwrap_or_default();
    assert!(
        generated == committed,
        "docs/admin-openapi.json is out of date. Regenerate it with:\n    \
         cargo run -q -p auth-api --bin auth-server -- openapi --admin > docs/admin-openapi.json\n\
         and review the diff: SDK users see every change."
    );
}

#[tokio::test]
async fn served_spec_matches_the_committed_docs_openapi_json() {
    let app = spawn_app().await;
    let response = app.client.get("/openapi.json").send().await;
    assert_eq!(response.0.status(), StatusCode::OK);
    let served: serde_json::Value =
        serde_json::from_str(&response.0.into_body().into_string().await.unwrap()).unwrap();
    let committed = std::fs::read_to_string(SNAPSHOT).unwrap_or_default();
    let committed: serde_json::Value = serde_json::from_str(&committed).unwrap_or_default();
    assert!(
        served == committed,
        "docs/openapi.json is out of date. Regenerate it with:\n    \
         cargo run -q -p auth-api --bin auth-server -- openapi > docs/openapi.json\n\
         and review the diff: SDK users see every change."
    );
}

#[tokio::test]
async fn spec_declares_both_session_schemes_and_every_operation() {
    let spec: serde_json::Value = serde_json::from_str(&auth_api::openapi_json()).unwrap();
    let schemes = &spec["components"]["securitySchemes"];
    assert_eq!(schemes["session_cookie"]["in"], "cookie");
    assert_eq!(schemes["session_cookie"]["name"], "session");
    assert_eq!(schemes["bearer_token"]["scheme"], "bearer");
    let mut ids = Vec::new();
    for (_, item) in spec["paths"].as_object().unwrap() {
        for (_, operation) in item.as_object().unwrap() {
            ids.push(operation["operationId"].as_str().unwrap().to_owned());
        }
    }
    ids.sort();
    assert_eq!(
        ids,
        [
            "change_email",
            "change_password",
            "delete_account",
            "forgot_password",
            "get_me",
            "health",
            "list_my_events",
            "list_sessions",
            "login",
            "login_mfa",
            "logout",
            "logout_everywhere",
            "logout_get",
            "passkey_list",
            "passkey_login",
            "passkey_login_options",
            "passkey_register",
            "passkey_register_options",
            "passkey_remove",
            "passkey_rename",
            "passkeys_page",
            "protected",
            "ready",
            "regenerate_recovery_codes",
            "register",
            "reset_page",
            "reset_password",
            "revoke_other_sessions",
            "revoke_session",
            "totp_confirm",
            "totp_disable",
            "totp_setup",
            "verify_email",
            "verify_page",
        ]
    );
    assert_eq!(spec["paths"]["/logout"]["get"]["deprecated"], true);
    let security = spec["paths"]["/protected"]["get"]["security"]
        .as_array()
        .unwrap();
    assert_eq!(security.len(), 2, "cookie OR bearer: {security:?}");
}

#[tokio::test]
async fn swagger_ui_is_served_with_no_outside_assets() {
    let app = spawn_app().await;
    let response = app.client.get("/docs").send().await;
    assert_eq!(response.0.status(), StatusCode::OK);
    let html = response.0.into_body().into_string().await.unwrap();
    assert!(html.contains("SwaggerUIBundle"));
    for outside in [
        "<script src=\"http",
        "<link href=\"http",
        "cdn.jsdelivr",
        "unpkg.com",
    ] {
        assert!(!html.contains(outside), "page loads {outside}");
    }
}

// ---- each operation documents exactly its own answers (issue 14 item 7) ----

/// Every documented operation and what it may answer besides its success:
/// each status with the `code` values it carries there, in the document's
/// order. A new operation adds its line here; the declaration it checks
/// lives beside the route (`operation_errors!`).
/// A status and the codes it carries for one operation.
type Answer = (u16, &'static [&'static str]);

/// Method, path, success status, error answers.
type Operation = (&'static str, &'static str, u16, &'static [Answer]);

const EXPECTED_ANSWERS: &[Operation] = &[
    (
        "post",
        "/register",
        201,
        &[
            (
                400,
                &[
                    "invalid_request",
                    "invalid_username",
                    "weak_password",
                    "invalid_email",
                ],
            ),
            (403, &["cross_site_request"]),
            (408, &["request_timeout"]),
            (409, &["username_taken", "email_taken"]),
            (413, &["payload_too_large"]),
            (415, &["unsupported_media_type"]),
            (429, &["too_many_attempts"]),
            (500, &["internal_error"]),
            (503, &["server_busy", "storage_unavailable"]),
        ],
    ),
    (
        "post",
        "/login",
        200,
        &[
            (400, &["invalid_request"]),
            (401, &["invalid_credentials", "mfa_required"]),
            (403, &["cross_site_request", "account_disabled"]),
            (408, &["request_timeout"]),
            (413, &["payload_too_large"]),
            (415, &["unsupported_media_type"]),
            (429, &["too_many_attempts"]),
            (500, &["internal_error"]),
            (503, &["server_busy", "storage_unavailable"]),
        ],
    ),
    (
        "post",
        "/logout",
        200,
        &[
            (400, &["invalid_request"]),
            (401, &["not_logged_in"]),
            (403, &["cross_site_request"]),
            (408, &["request_timeout"]),
            (413, &["payload_too_large"]),
            (500, &["internal_error"]),
            (503, &["storage_unavailable"]),
        ],
    ),
    (
        "get",
        "/logout",
        200,
        &[
            (401, &["not_logged_in"]),
            (403, &["cross_site_request"]),
            (500, &["internal_error"]),
            (503, &["storage_unavailable"]),
        ],
    ),
    (
        "get",
        "/protected",
        200,
        &[
            (401, &["unauthorized"]),
            (500, &["internal_error"]),
            (503, &["storage_unavailable"]),
        ],
    ),
    (
        "get",
        "/me",
        200,
        &[
            (401, &["unauthorized"]),
            (500, &["internal_error"]),
            (503, &["storage_unavailable"]),
        ],
    ),
    (
        "post",
        "/me/delete",
        200,
        &[
            (400, &["invalid_request"]),
            (
                401,
                &["unauthorized", "invalid_credentials", "invalid_code"],
            ),
            (403, &["cross_site_request"]),
            (408, &["request_timeout"]),
            (413, &["payload_too_large"]),
            (415, &["unsupported_media_type"]),
            (429, &["too_many_attempts"]),
            (500, &["internal_error"]),
            (503, &["server_busy", "storage_unavailable"]),
        ],
    ),
    (
        "get",
        "/me/events",
        200,
        &[
            (400, &["invalid_request"]),
            (401, &["unauthorized"]),
            (500, &["internal_error"]),
            (503, &["storage_unavailable"]),
        ],
    ),
    (
        "get",
        "/sessions",
        200,
        &[
            (401, &["unauthorized"]),
            (500, &["internal_error"]),
            (503, &["storage_unavailable"]),
        ],
    ),
    (
        "delete",
        "/sessions/{id}",
        200,
        &[
            (400, &["invalid_request"]),
            (401, &["unauthorized"]),
            (403, &["cross_site_request"]),
            (404, &["session_not_found"]),
            (408, &["request_timeout"]),
            (413, &["payload_too_large"]),
            (500, &["internal_error"]),
            (503, &["storage_unavailable"]),
        ],
    ),
    (
        "post",
        "/sessions/revoke-others",
        200,
        &[
            (400, &["invalid_request"]),
            (401, &["unauthorized"]),
            (403, &["cross_site_request"]),
            (408, &["request_timeout"]),
            (413, &["payload_too_large"]),
            (500, &["internal_error"]),
            (503, &["storage_unavailable"]),
        ],
    ),
    (
        "post",
        "/logout/everywhere",
        200,
        &[
            (400, &["invalid_request"]),
            (401, &["not_logged_in"]),
            (403, &["cross_site_request"]),
            (408, &["request_timeout"]),
            (413, &["payload_too_large"]),
            (500, &["internal_error"]),
            (503, &["storage_unavailable"]),
        ],
    ),
    (
        "post",
        "/password",
        200,
        &[
            (400, &["invalid_request", "weak_password"]),
            (
                401,
                &["unauthorized", "invalid_credentials", "invalid_code"],
            ),
            (403, &["cross_site_request"]),
            (408, &["request_timeout"]),
            (413, &["payload_too_large"]),
            (415, &["unsupported_media_type"]),
            (429, &["too_many_attempts"]),
            (500, &["internal_error"]),
            (503, &["server_busy", "storage_unavailable"]),
        ],
    ),
    (
        "put",
        "/me/email",
        202,
        &[
            (400, &["invalid_request", "invalid_email"]),
            (
                401,
                &["unauthorized", "invalid_credentials", "invalid_code"],
            ),
            (403, &["cross_site_request"]),
            (408, &["request_timeout"]),
            (409, &["email_taken"]),
            (413, &["payload_too_large"]),
            (415, &["unsupported_media_type"]),
            (429, &["too_many_attempts"]),
            (500, &["internal_error"]),
            (503, &["server_busy", "storage_unavailable"]),
        ],
    ),
    (
        "post",
        "/email/verify",
        200,
        &[
            (400, &["invalid_request", "invalid_token"]),
            (403, &["cross_site_request"]),
            (408, &["request_timeout"]),
            (413, &["payload_too_large"]),
            (415, &["unsupported_media_type"]),
            (500, &["internal_error"]),
            (503, &["storage_unavailable"]),
        ],
    ),
    (
        "post",
        "/password/forgot",
        202,
        &[
            (400, &["invalid_request"]),
            (403, &["cross_site_request"]),
            (408, &["request_timeout"]),
            (413, &["payload_too_large"]),
            (415, &["unsupported_media_type"]),
            (429, &["too_many_attempts"]),
            (500, &["internal_error"]),
            (503, &["storage_unavailable"]),
        ],
    ),
    (
        "post",
        "/password/reset",
        200,
        &[
            (400, &["invalid_request", "invalid_token", "weak_password"]),
            (403, &["cross_site_request"]),
            (408, &["request_timeout"]),
            (413, &["payload_too_large"]),
            (415, &["unsupported_media_type"]),
            (500, &["internal_error"]),
            (503, &["server_busy", "storage_unavailable"]),
        ],
    ),
    ("get", "/reset", 200, &[]),
    ("get", "/verify", 200, &[]),
    ("get", "/passkeys", 200, &[]),
    (
        "post",
        "/webauthn/register/options",
        200,
        &[
            (400, &["invalid_request"]),
            (401, &["unauthorized"]),
            (403, &["cross_site_request"]),
            (408, &["request_timeout"]),
            (413, &["payload_too_large"]),
            (415, &["unsupported_media_type"]),
            (500, &["internal_error"]),
            (503, &["storage_unavailable"]),
        ],
    ),
    (
        "post",
        "/webauthn/register",
        201,
        &[
            (400, &["invalid_request", "invalid_credential"]),
            (401, &["unauthorized"]),
            (403, &["cross_site_request"]),
            (408, &["request_timeout"]),
            (413, &["payload_too_large"]),
            (415, &["unsupported_media_type"]),
            (500, &["internal_error"]),
            (503, &["storage_unavailable"]),
        ],
    ),
    (
        "get",
        "/webauthn/credentials",
        200,
        &[
            (401, &["unauthorized"]),
            (500, &["internal_error"]),
            (503, &["storage_unavailable"]),
        ],
    ),
    (
        "patch",
        "/webauthn/credentials/{id}",
        200,
        &[
            (400, &["invalid_request"]),
            (401, &["unauthorized"]),
            (403, &["cross_site_request"]),
            (404, &["not_found"]),
            (408, &["request_timeout"]),
            (413, &["payload_too_large"]),
            (415, &["unsupported_media_type"]),
            (500, &["internal_error"]),
            (503, &["storage_unavailable"]),
        ],
    ),
    (
        "delete",
        "/webauthn/credentials/{id}",
        200,
        &[
            (400, &["invalid_request"]),
            (401, &["unauthorized", "invalid_code"]),
            (403, &["cross_site_request"]),
            (404, &["not_found"]),
            (408, &["request_timeout"]),
            (413, &["payload_too_large"]),
            (429, &["too_many_attempts"]),
            (500, &["internal_error"]),
            (503, &["storage_unavailable"]),
        ],
    ),
    (
        "post",
        "/webauthn/login/options",
        200,
        &[
            (400, &["invalid_request"]),
            (403, &["cross_site_request"]),
            (408, &["request_timeout"]),
            (413, &["payload_too_large"]),
            (415, &["unsupported_media_type"]),
            (429, &["too_many_attempts"]),
            (500, &["internal_error"]),
            (503, &["storage_unavailable"]),
        ],
    ),
    (
        "post",
        "/webauthn/login",
        200,
        &[
            (400, &["invalid_request"]),
            (401, &["invalid_credential"]),
            (403, &["cross_site_request", "account_disabled"]),
            (408, &["request_timeout"]),
            (413, &["payload_too_large"]),
            (415, &["unsupported_media_type"]),
            (429, &["too_many_attempts"]),
            (500, &["internal_error"]),
            (503, &["storage_unavailable"]),
        ],
    ),
    ("get", "/health", 200, &[]),
    ("get", "/ready", 200, &[(503, &["not_ready"])]),
    (
        "post",
        "/login/mfa",
        200,
        &[
            (400, &["invalid_request", "invalid_token"]),
            (401, &["invalid_code"]),
            (403, &["cross_site_request", "account_disabled"]),
            (408, &["request_timeout"]),
            (413, &["payload_too_large"]),
            (415, &["unsupported_media_type"]),
            (429, &["too_many_attempts"]),
            (500, &["internal_error"]),
            (503, &["storage_unavailable"]),
        ],
    ),
    (
        "post",
        "/mfa/totp/setup",
        200,
        &[
            (400, &["invalid_request"]),
            (401, &["unauthorized", "invalid_credentials"]),
            (403, &["cross_site_request"]),
            (408, &["request_timeout"]),
            (409, &["mfa_already_enabled"]),
            (413, &["payload_too_large"]),
            (415, &["unsupported_media_type"]),
            (429, &["too_many_attempts"]),
            (500, &["internal_error"]),
            (503, &["server_busy", "storage_unavailable"]),
        ],
    ),
    (
        "post",
        "/mfa/totp/confirm",
        200,
        &[
            (400, &["invalid_request"]),
            (401, &["unauthorized", "invalid_code"]),
            (403, &["cross_site_request"]),
            (408, &["request_timeout"]),
            (409, &["mfa_already_enabled", "mfa_not_enabled"]),
            (413, &["payload_too_large"]),
            (415, &["unsupported_media_type"]),
            (500, &["internal_error"]),
            (503, &["storage_unavailable"]),
        ],
    ),
    (
        "post",
        "/mfa/totp/disable",
        200,
        &[
            (400, &["invalid_request"]),
            (
                401,
                &["unauthorized", "invalid_credentials", "invalid_code"],
            ),
            (403, &["cross_site_request"]),
            (408, &["request_timeout"]),
            (409, &["mfa_not_enabled"]),
            (413, &["payload_too_large"]),
            (415, &["unsupported_media_type"]),
            (429, &["too_many_attempts"]),
            (500, &["internal_error"]),
            (503, &["server_busy", "storage_unavailable"]),
        ],
    ),
    (
        "post",
        "/mfa/recovery-codes",
        200,
        &[
            (400, &["invalid_request"]),
            (
                401,
                &["unauthorized", "invalid_credentials", "invalid_code"],
            ),
            (403, &["cross_site_request"]),
            (408, &["request_timeout"]),
            (409, &["mfa_not_enabled"]),
            (413, &["payload_too_large"]),
            (415, &["unsupported_media_type"]),
            (429, &["too_many_attempts"]),
            (500, &["internal_error"]),
            (503, &["server_busy", "storage_unavailable"]),
        ],
    ),
];

fn spec() -> serde_json::Value {
    serde_json::from_str(&auth_api::openapi_json()).unwrap()
}

/// The body schema of one response, `$ref` resolved.
fn response_schema<'a>(
    spec: &'a serde_json::Value,
    response: &serde_json::Value,
) -> &'a serde_json::Value {
    let reference = response["content"]["application/json; charset=utf-8"]["schema"]["$ref"]
        .as_str()
        .unwrap_or_else(|| panic!("a JSON body with a named schema: {response}"));
    &spec["components"]["schemas"][reference.trim_start_matches("#/components/schemas/")]
}

/// The `code` enum a response declares.
fn declared_codes(spec: &serde_json::Value, response: &serde_json::Value) -> Vec<String> {
    response_schema(spec, response)["properties"]["code"]["enum"]
        .as_array()
        .map(|codes| {
            codes
                .iter()
                .map(|code| code.as_str().unwrap().to_owned())
                .collect()
        })
        .unwrap_or_default()
}

#[test]
fn each_operation_declares_exactly_its_statuses_and_codes() {
    let spec = spec();
    let mut documented = 0;
    for (_, item) in spec["paths"].as_object().unwrap() {
        documented += item.as_object().unwrap().len();
    }
    assert_eq!(
        documented,
        EXPECTED_ANSWERS.len(),
        "every documented operation has its line in EXPECTED_ANSWERS"
    );
    for (method, path, success, errors) in EXPECTED_ANSWERS {
        let responses = spec["paths"][path][method]["responses"]
            .as_object()
            .unwrap_or_else(|| panic!("{method} {path} is not documented"));
        let declared: Vec<u16> = responses.keys().map(|s| s.parse().unwrap()).collect();
        let expected: Vec<u16> = std::iter::once(*success)
            .chain(errors.iter().map(|(status, _)| *status))
            .collect();
        assert_eq!(declared, expected, "{method} {path}");
        for (status, codes) in *errors {
            let response = &responses[&status.to_string()];
            assert_eq!(
                declared_codes(&spec, response),
                *codes,
                "{method} {path} {status}"
            );
        }
    }
}

#[test]
fn each_error_example_carries_a_code_of_its_own_enum_and_status() {
    check_error_examples(&spec());
    check_error_examples(&serde_json::from_str(&auth_api::admin_openapi_json()).unwrap());
}

/// The error answers of every operation of `spec` against the error table.
fn check_error_examples(spec: &serde_json::Value) {
    // What the error table answers for each code: the status it goes with.
    let table: Vec<(u16, &str)> = auth_api::error::ApiError::samples()
        .iter()
        .map(|error| {
            let entry = error.entry();
            (entry.status.code().as_u16(), entry.code)
        })
        .collect();
    for (path, item) in spec["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            for (status, response) in operation["responses"].as_object().unwrap() {
                let status: u16 = status.parse().unwrap();
                if status < 400 {
                    continue;
                }
                let at = format!("{method} {path} {status}");
                let codes = declared_codes(spec, response);
                assert!(!codes.is_empty(), "{at}: no code enum");
                for code in &codes {
                    assert!(
                        table.contains(&(status, code.as_str())),
                        "{at}: the table does not answer {code} with {status}"
                    );
                    assert!(
                        response["description"]
                            .as_str()
                            .unwrap()
                            .contains(&format!("`{code}`")),
                        "{at}: the description names {code}"
                    );
                }
                let example = &response_schema(spec, response)["example"];
                let code = example["code"].as_str().unwrap_or_default();
                assert!(codes.iter().any(|c| c == code), "{at}: example {example}");
                assert!(
                    example["error"].as_str().is_some_and(|e| !e.is_empty()),
                    "{at}: example {example}"
                );
                let asks_to_wait = status == 429 || status == 503;
                assert_eq!(
                    response["headers"]["RETRY-AFTER"]["required"] == true,
                    asks_to_wait,
                    "{at}: Retry-After"
                );
            }
        }
    }
}

#[test]
fn register_states_the_contracts_lengths_and_login_states_none() {
    let spec = spec();
    let schemas = &spec["components"]["schemas"];
    let body = |path: &str| {
        let reference = spec["paths"][path]["post"]["requestBody"]["content"]
            ["application/json; charset=utf-8"]["schema"]["$ref"]
            .as_str()
            .unwrap()
            .trim_start_matches("#/components/schemas/")
            .to_owned();
        &schemas[reference.as_str()]
    };
    let register = body("/register");
    let limits = |field: &str| {
        let field = &register["properties"][field];
        (field["minLength"].as_u64(), field["maxLength"].as_u64())
    };
    assert_eq!(limits("username"), (Some(3), Some(64)));
    assert_eq!(limits("password"), (Some(15), Some(256)));
    assert_eq!(
        register["required"],
        serde_json::json!(["username", "password"])
    );
    // Longer than 254 is `400 invalid_email`, as any other bad address.
    assert_eq!(limits("email"), (None, None));
    let login = body("/login");
    for field in ["username", "password"] {
        let field = &login["properties"][field];
        assert!(
            field["minLength"].is_null() && field["maxLength"].is_null(),
            "old passwords must still log in: {field}"
        );
    }
}

/// Asserts that `reply` is an answer `method path` declares: its status,
/// and for an error its `code` in that status's enum.
#[track_caller]
fn assert_declared(spec: &serde_json::Value, method: &str, path: &str, reply: &Reply) {
    let at = format!("{method} {path} answered {} {}", reply.status, reply.body);
    let response = &spec["paths"][path][method]["responses"][reply.status.as_str()];
    assert!(response.is_object(), "{at}: status not declared");
    if reply.status.as_u16() >= 400 {
        let code = reply.body["code"].as_str().unwrap_or_default();
        assert!(
            declared_codes(spec, response).iter().any(|c| c == code),
            "{at}: code not in the enum"
        );
    }
}

/// `request` as a link or form on another site sends it, with the cookie.
fn cross_site<'a, E: poem::Endpoint>(
    request: poem::test::TestRequestBuilder<'a, E>,
    token: &str,
) -> poem::test::TestRequestBuilder<'a, E> {
    request
        .header("cookie", format!("session={token}"))
        .header("sec-fetch-site", "cross-site")
}

#[tokio::test]
async fn the_answers_the_operations_give_are_the_ones_they_declare() {
    // Arrange: one app with the defaults; one where a second registration
    // (of anyone) and a second failed login (of one account) are refused.
    let spec = spec();
    let app = spawn_app().await;
    let limited = spawn_app_with(
        Options::default()
            .with("--register-max", 1)
            .with("--login-free-failures", 1),
    )
    .await;
    let token = app.logged_in("alice").await;
    let json = |path: &str, body: &str| {
        app.client
            .post(path)
            .content_type("application/json")
            .body(body.to_owned())
    };
    let huge = format!("{{\"username\": \"{}\"}}", "x".repeat(70 * 1024));
    let weak = serde_json::json!({"username": "bob", "password": "short"}).to_string();

    // Act and assert, operation by operation.
    let mut replies: Vec<(&str, &str, Reply)> = Vec::new();
    for (path, body) in [
        ("/register", "{"),
        (
            "/register",
            r#"{"username": "ab", "password": "tangerine maple orbit 42"}"#,
        ),
        ("/register", weak.as_str()),
        (
            "/register",
            r#"{"username": "alice", "password": "tangerine maple orbit 42"}"#,
        ),
        ("/register", huge.as_str()),
        ("/login", "{"),
        (
            "/login",
            r#"{"username": "alice", "password": "not the password"}"#,
        ),
        ("/login", huge.as_str()),
    ] {
        replies.push((
            "post",
            path,
            Reply::from(json(path, body).send().await).await,
        ));
    }
    for path in ["/register", "/login"] {
        let wrong_type = app.client.post(path).content_type("text/plain").body("x");
        replies.push(("post", path, Reply::from(wrong_type.send().await).await));
        let request = cross_site(
            json(path, r#"{"username": "carol", "password": "x"}"#),
            &token,
        );
        replies.push(("post", path, Reply::from(request.send().await).await));
    }
    replies.push((
        "post",
        "/logout",
        Reply::from(app.client.post("/logout").send().await).await,
    ));
    let oversized = app
        .client
        .post("/logout")
        .header("authorization", format!("Bearer {token}"));
    replies.push((
        "post",
        "/logout",
        Reply::from(oversized.body("x".repeat(70 * 1024)).send().await).await,
    ));
    replies.push((
        "post",
        "/logout",
        Reply::from(cross_site(app.client.post("/logout"), &token).send().await).await,
    ));
    replies.push((
        "get",
        "/logout",
        Reply::from(app.client.get("/logout").send().await).await,
    ));
    replies.push((
        "get",
        "/logout",
        Reply::from(cross_site(app.client.get("/logout"), &token).send().await).await,
    ));
    replies.push(("get", "/protected", app.get_protected_bearer("nope").await));
    replies.push(("get", "/protected", app.get_protected_bearer(&token).await));
    replies.push(("get", "/health", app.get("/health").await));
    replies.push(("get", "/ready", app.get("/ready").await));
    for _ in 0..2 {
        replies.push((
            "post",
            "/register",
            limited
                .post_register(&format!("user{}", replies.len()), GOOD_PASSWORD)
                .await,
        ));
        replies.push((
            "post",
            "/login",
            limited.post_login("nobody", "not the password").await,
        ));
    }
    // The recovery routes.
    let well_formed_token = "A".repeat(43);
    for (path, body) in [
        (
            "/register",
            json!({"username": "oscar", "password": GOOD_PASSWORD, "email": "erin@"}),
        ),
        (
            "/register",
            json!({"username": "oscar", "password": GOOD_PASSWORD, "email": "e@example.com"}),
        ),
        (
            "/register",
            json!({"username": "quentin", "password": GOOD_PASSWORD, "email": "E@example.com"}),
        ),
        ("/password/forgot", json!({})),
        ("/password/forgot", json!({"username": "oscar"})),
        (
            "/password/reset",
            json!({"token": well_formed_token, "new_password": GOOD_PASSWORD}),
        ),
        ("/email/verify", json!({"token": "nope"})),
    ] {
        replies.push(("post", path, app.post_json(path, &body).await));
    }
    for (auth, body) in [
        (
            Auth::Nobody,
            json!({"email": "a@example.com", "password": GOOD_PASSWORD}),
        ),
        (
            Auth::Bearer(&token),
            json!({"email": "a@", "password": GOOD_PASSWORD}),
        ),
        (
            Auth::Bearer(&token),
            json!({"email": "a@example.com", "password": "wrong"}),
        ),
        (
            Auth::Bearer(&token),
            json!({"email": "e@EXAMPLE.com", "password": GOOD_PASSWORD}),
        ),
        (
            Auth::Bearer(&token),
            json!({"email": "a@example.com", "password": GOOD_PASSWORD}),
        ),
    ] {
        let reply = app
            .send(poem::http::Method::PUT, "/me/email", auth, Some(&body))
            .await;
        replies.push(("put", "/me/email", reply));
    }
    // The database goes away: every operation that uses it says so.
    app.store.clone().close().await;
    replies.push((
        "post",
        "/password/reset",
        app.post_json(
            "/password/reset",
            &json!({"token": well_formed_token, "new_password": GOOD_PASSWORD}),
        )
        .await,
    ));
    replies.push((
        "post",
        "/register",
        app.post_register("dave", GOOD_PASSWORD).await,
    ));
    replies.push((
        "post",
        "/login",
        app.post_login("alice", GOOD_PASSWORD).await,
    ));
    replies.push(("post", "/logout", app.post_logout_bearer(&token).await));
    replies.push(("get", "/protected", app.get_protected_bearer(&token).await));
    replies.push(("get", "/ready", app.get("/ready").await));

    for (method, path, reply) in &replies {
        assert_declared(&spec, method, path, reply);
    }
    // Each answer above was really reached, so each was really checked.
    let mut seen: Vec<(String, u16, String)> = replies
        .iter()
        .map(|(method, path, reply)| {
            let code = reply.body["code"].as_str().unwrap_or_default().to_owned();
            (format!("{method} {path}"), reply.status.as_u16(), code)
        })
        .collect();
    seen.sort();
    seen.dedup();
    for expected in [
        ("post /register", 400, "invalid_request"),
        ("post /register", 400, "invalid_username"),
        ("post /register", 400, "weak_password"),
        ("post /register", 403, "cross_site_request"),
        ("post /register", 409, "username_taken"),
        ("post /register", 413, "payload_too_large"),
        ("post /register", 415, "unsupported_media_type"),
        ("post /register", 429, "too_many_attempts"),
        ("post /register", 503, "storage_unavailable"),
        ("post /login", 401, "invalid_credentials"),
        ("post /login", 429, "too_many_attempts"),
        ("post /login", 503, "storage_unavailable"),
        ("post /logout", 401, "not_logged_in"),
        ("post /logout", 403, "cross_site_request"),
        ("post /logout", 413, "payload_too_large"),
        ("get /logout", 403, "cross_site_request"),
        ("get /protected", 401, "unauthorized"),
        ("get /protected", 503, "storage_unavailable"),
        ("get /ready", 503, "not_ready"),
        ("post /register", 400, "invalid_email"),
        ("post /register", 409, "email_taken"),
        ("post /password/forgot", 400, "invalid_request"),
        ("post /password/forgot", 202, ""),
        ("post /password/reset", 400, "invalid_token"),
        ("post /password/reset", 503, "storage_unavailable"),
        ("post /email/verify", 400, "invalid_token"),
        ("put /me/email", 401, "unauthorized"),
        ("put /me/email", 400, "invalid_email"),
        ("put /me/email", 401, "invalid_credentials"),
        ("put /me/email", 409, "email_taken"),
        ("put /me/email", 202, ""),
    ] {
        let expected = (expected.0.to_owned(), expected.1, expected.2.to_owned());
        assert!(
            seen.contains(&expected),
            "never answered {expected:?}: {seen:?}"
        );
    }
}
