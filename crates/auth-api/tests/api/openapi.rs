use poem::http::StatusCode;

use crate::helpers::spawn_app;

const SNAPSHOT: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../docs/openapi.json");

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
            "change_password",
            "delete_account",
            "get_me",
            "health",
            "list_my_events",
            "list_sessions",
            "login",
            "logout",
            "logout_everywhere",
            "logout_get",
            "protected",
            "ready",
            "register",
            "revoke_other_sessions",
            "revoke_session",
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
