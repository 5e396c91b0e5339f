//! Request and response rules that hold for every route, as steps that
//! `edge.rs` runs: the body limit, one JSON error shape for what the
//! framework rejects, and security headers.

use std::collections::HashMap;
use std::time::Duration;

use bytes::Bytes;
use serde_json::Value;

use poem::http::{HeaderValue, Method, header};
use poem::{Body, Request, Response};
use poem_openapi::error::{
    AuthorizationError, ContentTypeError, ParseParamError, ParseRequestPayloadError,
};

use crate::error::ApiError;
use crate::routes::table::Route;

/// Reads at most `limit` bytes of body, within `timeout`, into the request
/// again (a step of `edge.rs`); the refusal if it cannot.
/// `poem::middleware::SizeLimit` is not used: it answers 411 to every
/// request without `Content-Length`, GETs included.
pub async fn read_body(req: &mut Request, limit: usize, timeout: Duration) -> Result<(), Response> {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.parse::<u64>().ok());
    if declared.is_some_and(|length| length > limit as u64) {
        return Err(ApiError::PayloadTooLarge { limit: Some(limit) }.into_response());
    }
    if declared == Some(0) || req.method() == Method::GET || req.method() == Method::HEAD {
        return Ok(());
    }
    // Boxed: the read's future is large, and most requests (GETs) never make one.
    let read = Box::pin(tokio::time::timeout(
        timeout,
        req.take_body().into_bytes_limit(limit),
    ));
    match read.await {
        Ok(Ok(bytes)) => {
            // Kept so that a parse error can say which field is wrong.
            req.extensions_mut().insert(RawBody(bytes.clone()));
            req.set_body(Body::from(bytes));
            Ok(())
        }
        Ok(Err(poem::error::ReadBodyError::PayloadTooLarge)) => {
            Err(ApiError::PayloadTooLarge { limit: Some(limit) }.into_response())
        }
        Ok(Err(error)) => Err(ApiError::InvalidRequest(format!(
            "could not read the request body: {error}"
        ))
        .into_response()),
        Err(_elapsed) => Err(ApiError::RequestTimeout.into_response()),
    }
}

/// The request body as read by [`read_body`].
#[derive(Debug, Clone)]
struct RawBody(Bytes);

/// Turns every error raised before or outside a handler into the JSON error
/// body (a step of `edge.rs`): built from the request before it goes on
/// ([`ErrorMapping::check`]), applied to what came back ([`ErrorMapping::finish`]).
/// Errors that already are API responses (a handler's `ErrorResponse`) pass through.
#[derive(Debug)]
pub struct ErrorMapping<'a> {
    /// What a missing session means on this route.
    unauthenticated: ApiError,
    raw: Option<RawBody>,
    expected: Option<&'a [(String, String)]>,
    /// For `Allow` on a 405; a clone shares the request's bytes.
    uri: poem::http::Uri,
    spec: &'a SpecIndex,
}

impl<'a> ErrorMapping<'a> {
    /// Checks a JSON body against the declared field types; the refusal if
    /// it does not match.
    // The refusal is the answer itself, sent as is: boxing it buys nothing.
    #[allow(clippy::result_large_err)]
    pub fn check(req: &Request, spec: &'a SpecIndex) -> Result<Self, Response> {
        // A missing session means "not logged in" on the logout routes,
        // "unauthorized" elsewhere.
        let unauthenticated =
            if Route::of(req.uri().path()).is_some_and(Route::answers_not_logged_in) {
                ApiError::NotLoggedIn
            } else {
                ApiError::Unauthorized
            };
        // Only requests that carried a body have one to check (GETs skip this).
        let raw = req.extensions().get::<RawBody>().cloned();
        let expected = raw
            .as_ref()
            .and_then(|_| spec.get(req.method(), req.uri().path()));
        // poem-openapi reads a JSON number into a `String` field; the spec says
        // string, so check the declared types before the handler sees the body.
        let is_json = req
            .content_type()
            .is_some_and(|content_type| content_type.starts_with("application/json"));
        if let (true, Some(fields), Some(raw)) = (is_json, expected, &raw)
            && let Some(problem) = explain_body(&raw.0, fields)
        {
            return Err(ApiError::InvalidRequest(problem).into_response());
        }
        Ok(Self {
            unauthenticated,
            raw,
            expected,
            uri: req.uri().clone(),
            spec,
        })
    }

    /// The answer to send for what the routes returned.
    pub fn finish(self, result: poem::Result<Response>) -> Response {
        let error = match result {
            Ok(response) => return response,
            Err(error) if error.is_from_response() => return error.into_response(),
            Err(error) => error,
        };
        if let Some(parse) = error.downcast_ref::<ParseRequestPayloadError>() {
            let detail = self
                .raw
                .and_then(|raw| {
                    self.expected
                        .and_then(|fields| explain_body(&raw.0, fields))
                })
                .unwrap_or_else(|| describe_payload_error(&parse.reason));
            return ApiError::InvalidRequest(detail).into_response();
        }
        let api_error = to_api_error(&error, self.unauthenticated);
        let mut response = api_error.clone().into_response();
        // RFC 9110: a 405 names the methods the path does allow.
        if api_error == ApiError::MethodNotAllowed
            && let Some(value) = self
                .spec
                .allowed_methods(self.uri.path())
                .and_then(|methods| HeaderValue::from_str(methods).ok())
        {
            response.headers_mut().insert(header::ALLOW, value);
        }
        response
    }
}

/// What the OpenAPI document says about each route, read from it so that the
/// middleware can never disagree with it: the required fields and JSON types
/// of each JSON body, and the methods each path allows (for `Allow` on 405).
#[derive(Debug, Default)]
pub struct SpecIndex {
    bodies: HashMap<(Method, String), Vec<(String, String)>>,
    allowed: HashMap<String, String>,
}

impl SpecIndex {
    /// Reads every `application/json` request body schema of `spec`.
    pub fn from_spec(spec: &str) -> Self {
        let mut map = HashMap::new();
        // Routes served beside the documented API.
        let mut allowed: HashMap<String, Vec<String>> = Route::ALL
            .into_iter()
            .filter(|route| route.is_undocumented())
            .map(|route| (route.path().to_owned(), vec!["GET".to_owned()]))
            .collect();
        let Ok(spec) = serde_json::from_str::<Value>(spec) else {
            return Self::default();
        };
        let schemas = &spec["components"]["schemas"];
        for (path, item) in spec["paths"].as_object().into_iter().flatten() {
            for (method, operation) in item.as_object().into_iter().flatten() {
                allowed
                    .entry(path.clone())
                    .or_default()
                    .push(method.to_uppercase());
                let schema = &operation["requestBody"]["content"]["application/json; charset=utf-8"]
                    ["schema"];
                let schema = schema["$ref"]
                    .as_str()
                    .and_then(|reference| reference.rsplit('/').next())
                    .map_or(schema, |name| &schemas[name]);
                let Some(required) = schema["required"].as_array() else {
                    continue;
                };
                let fields = required
                    .iter()
                    .filter_map(Value::as_str)
                    .map(|field| {
                        let ty = schema["properties"][field]["type"]
                            .as_str()
                            .unwrap_or("value");
                        (field.to_owned(), ty.to_owned())
                    })
                    .collect();
                if let Ok(method) = Method::from_bytes(method.to_uppercase().as_bytes()) {
                    map.insert((method, path.clone()), fields);
                }
            }
        }
        let allowed = allowed
            .into_iter()
            .map(|(path, mut methods)| {
                methods.sort();
                methods.dedup();
                (path, methods.join(", "))
            })
            .collect();
        Self {
            bodies: map,
            allowed,
        }
    }

    fn get(&self, method: &Method, path: &str) -> Option<&[(String, String)]> {
        self.bodies
            .get(&(method.clone(), path.to_owned()))
            .map(Vec::as_slice)
    }

    /// The `Allow` header value for a path: its methods, comma-separated.
    pub fn allowed_methods(&self, path: &str) -> Option<&str> {
        // The document keys `/sessions/{id}` by its template and Swagger UI
        // by its prefix: the table's path is both.
        let key = Route::of(path).map_or(path, |route| route.path());
        self.allowed
            .get(key)
            .or_else(|| {
                // A listener whose paths are not in the table (the admin
                // one): a template of its own document that matches.
                self.allowed
                    .iter()
                    .find(|(template, _)| matches_template(template, path))
                    .map(|(_, methods)| methods)
            })
            .map(String::as_str)
    }
}

/// Whether `path` is an instance of the document's `template`
/// (`/admin/users/{id}/disable`): as many segments, the literal ones equal,
/// each `{…}` one non-empty segment.
fn matches_template(template: &str, path: &str) -> bool {
    if !template.contains('{') {
        return false;
    }
    let mut wanted = template.split('/');
    let mut given = path.split('/');
    loop {
        match (wanted.next(), given.next()) {
            (None, None) => return true,
            (Some(want), Some(got)) => {
                let placeholder = want.starts_with('{') && want.ends_with('}');
                if !(placeholder && !got.is_empty() || want == got) {
                    return false;
                }
            }
            _ => return false,
        }
    }
}

/// Says what is wrong with a JSON body in the user's terms: malformed JSON
/// (with line and column), not an object, or which field is missing or mistyped.
fn explain_body(raw: &[u8], fields: &[(String, String)]) -> Option<String> {
    let value: Value = match serde_json::from_slice(raw) {
        Ok(value) => value,
        Err(error) => return Some(format!("malformed JSON: {error}")),
    };
    let Some(object) = value.as_object() else {
        let names: Vec<_> = fields.iter().map(|(name, _)| format!("`{name}`")).collect();
        return Some(format!(
            "the body must be a JSON object with {}",
            names.join(" and ")
        ));
    };
    for (name, ty) in fields {
        match object.get(name) {
            None | Some(Value::Null) => return Some(format!("field `{name}` is required")),
            Some(found) if !has_json_type(found, ty) => {
                return Some(format!(
                    "field `{name}` must be a {ty}, found {}",
                    json_type(found)
                ));
            }
            Some(_) => {}
        }
    }
    None
}

fn has_json_type(value: &Value, ty: &str) -> bool {
    match ty {
        "string" => value.is_string(),
        "integer" => value.is_i64() || value.is_u64(),
        "number" => value.is_number(),
        "boolean" => value.is_boolean(),
        "array" => value.is_array(),
        "object" => value.is_object(),
        _ => true,
    }
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "boolean",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

fn to_api_error(error: &poem::Error, unauthenticated: ApiError) -> ApiError {
    if let Some(parse) = error.downcast_ref::<ParseRequestPayloadError>() {
        return ApiError::InvalidRequest(describe_payload_error(&parse.reason));
    }
    if let Some(param) = error.downcast_ref::<ParseParamError>() {
        return ApiError::InvalidRequest(param.to_string());
    }
    if error.is::<ContentTypeError>() {
        return ApiError::UnsupportedMediaType;
    }
    if error.is::<AuthorizationError>() {
        return unauthenticated;
    }
    match error.status().as_u16() {
        404 => ApiError::NotFound,
        405 => ApiError::MethodNotAllowed,
        413 => ApiError::PayloadTooLarge { limit: None },
        415 => ApiError::UnsupportedMediaType,
        400..=499 => ApiError::InvalidRequest(error.to_string()),
        _ => {
            tracing::error!(error = %error, "unhandled error");
            ApiError::Internal
        }
    }
}

/// poem-openapi's messages say `failed to parse "Credentials": ...`; keep the
/// part that names the field and drop the Rust type name.
fn describe_payload_error(reason: &str) -> String {
    let cleaned = reason
        .strip_prefix("failed to parse \"")
        .and_then(|rest| rest.split_once("\": "))
        .map_or(reason, |(_, detail)| detail);
    format!("invalid request body: {cleaned}")
}

/// Whether the answer to `req` may be cached: the static documentation only.
pub fn is_cacheable(req: &Request) -> bool {
    Route::of(req.uri().path()).is_some_and(Route::is_cacheable)
}

/// Headers on every response (a step of `edge.rs`): no MIME sniffing, no
/// referrer leaks, and `Cache-Control: no-store` on everything but the
/// static documentation, since API responses (errors included) may carry a
/// token or per-user data.
pub fn add_security_headers(response: &mut Response, cacheable: bool) {
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    headers.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    if !cacheable {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payload_errors_drop_the_rust_type_name() {
        assert_eq!(
            describe_payload_error("failed to parse \"Credentials\": field `password` is required"),
            "invalid request body: field `password` is required"
        );
        assert_eq!(
            describe_payload_error("EOF while parsing"),
            "invalid request body: EOF while parsing"
        );
    }

    fn credentials() -> Vec<(String, String)> {
        vec![
            ("username".into(), "string".into()),
            ("password".into(), "string".into()),
        ]
    }

    #[test]
    fn body_explanations_name_the_field() {
        let fields = credentials();
        assert_eq!(
            explain_body(br#"{"username": "a"}"#, &fields).as_deref(),
            Some("field `password` is required")
        );
        assert_eq!(
            explain_body(br#"{"username": 1, "password": "x"}"#, &fields).as_deref(),
            Some("field `username` must be a string, found number")
        );
        assert_eq!(
            explain_body(b"[1]", &fields).as_deref(),
            Some("the body must be a JSON object with `username` and `password`")
        );
        assert!(
            explain_body(b"{", &fields)
                .unwrap()
                .starts_with("malformed JSON")
        );
    }

    #[test]
    fn body_schemas_are_read_from_the_spec() {
        let schemas = SpecIndex::from_spec(&crate::openapi_json());
        assert_eq!(
            schemas.get(&Method::POST, "/register"),
            Some(credentials().as_slice())
        );
        assert_eq!(
            schemas.get(&Method::POST, "/login"),
            Some(credentials().as_slice())
        );
        assert_eq!(schemas.get(&Method::GET, "/protected"), None);
        assert_eq!(schemas.allowed_methods("/logout"), Some("GET, POST"));
        assert_eq!(schemas.allowed_methods("/register"), Some("POST"));
        assert_eq!(
            schemas.allowed_methods("/docs/oauth-receiver.html"),
            Some("GET")
        );
        assert_eq!(schemas.allowed_methods("/nope"), None);
        assert!(matches_template(
            "/admin/users/{id}/disable",
            "/admin/users/42/disable"
        ));
        assert!(!matches_template(
            "/admin/users/{id}/disable",
            "/admin/users//disable"
        ));
        assert!(!matches_template(
            "/admin/users/{id}",
            "/admin/users/42/disable"
        ));
        assert!(!matches_template("/admin/users", "/admin/users"));
        assert_eq!(
            schemas.allowed_methods("/sessions/0190a1b2-0000-4000-8000-000000000000"),
            Some("DELETE")
        );
    }
}
