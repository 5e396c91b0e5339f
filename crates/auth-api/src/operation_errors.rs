//! Each operation's error answers, declared once: the statuses it can
//! answer, and for each status the `code` values it carries there.
//!
//! [`ApiError::entry`] stays the one table of status, `code`, message and
//! `Retry-After`; a declaration here only says which of its rows one
//! operation can answer. From a few lines, [`crate::operation_errors!`] makes an
//! error type for that operation that
//!
//! - documents exactly those answers in the OpenAPI document: one response
//!   per status, each with its own schema named `<Type><Status>`
//!   (`RegisterErrorConflict`) whose `code` is an `enum` of that status's
//!   codes (so generated SDKs can switch on them), and an example with the
//!   first code listed, its message taken from [`ApiError::samples`]; `429`
//!   and `503` also declare `Retry-After`;
//! - converts from [`ApiError`], so `?` works in handlers, and can never
//!   answer a status or code the operation does not declare: such an error
//!   is logged at `error` level and answered `500 internal_error` (never a
//!   panic: the declaration is API, a forgotten row is a bug to log);
//! - answers with [`ErrorResponse`]'s bytes: the same `{"error", "code"}`
//!   body, content type and `Retry-After` as the middleware's errors and as
//!   before these types existed.
//!
//! # Giving an operation its error type
//!
//! Declare it beside the route, list it in the handler's `Result`, and add
//! the operation's expected list to `tests/api/openapi.rs`
//! (`EXPECTED_ANSWERS`), which checks the document against it:
//!
//! ```
//! use auth_api::error::ApiError;
//!
//! auth_api::operation_errors! {
//!     /// What `GET /me` answers besides its `200`.
//!     pub struct MeError {
//!         // The optional text after the codes replaces the status's default
//!         // description in the document; the codes are always listed first.
//!         401 => [unauthorized] "no live session (missing, expired or logged out).",
//!         500 => [internal_error],
//!         503 => [storage_unavailable],
//!     }
//! }
//!
//! // In the `#[OpenApi]` impl: `async fn me(..) -> Result<MeResponse, MeError>`;
//! // `?` converts an `ApiError` (from `ApiError::from_auth`, say).
//! fn me(logged_in: bool) -> Result<(), MeError> {
//!     if !logged_in {
//!         Err(ApiError::Unauthorized)?;
//!     }
//!     Ok(())
//! }
//! assert!(me(false).is_err());
//! ```
//!
//! # What to list
//!
//! What the handler's errors can map to, *and* what is answered for the
//! route before the handler runs:
//! - a route that reads a body (any method but `GET`/`HEAD`, declared body
//!   or not: `middleware::limit_body` reads what is sent): `400
//!   invalid_request` (an unreadable body), `408 request_timeout`, `413
//!   payload_too_large`; with a declared JSON body also `415
//!   unsupported_media_type`, and `invalid_request` for malformed JSON or a
//!   missing or mistyped field (`middleware::json_errors`);
//! - `403 cross_site_request` where `Route::changes_state` holds
//!   (`security::refuse_cross_site`);
//! - `401` with the route's own code when it takes a [`crate::security::SessionAuth`]
//!   and no session is presented;
//! - `500 internal_error` and `503 storage_unavailable` on every route that
//!   calls a use case (any of them can meet `AuthError::Internal` or
//!   `AuthError::Storage`); `503 server_busy` where it hashes a password;
//!   `429 too_many_attempts` where a limit applies.
//!
//! The statuses a declaration may use are those of [`crate::error::Status`];
//! another number does not compile. A code is checked against the table by
//! the tests (`each_error_example_carries_a_code_of_its_own_enum_and_status`
//! in `tests/api/openapi.rs`), and a new [`ApiError`] variant needs its
//! sample in [`ApiError::samples`] for the example.
//!
//! # Traps
//!
//! - Schema names come from the type's name, so name it after the
//!   operation (`MeError`, `SessionsRevokeError`): two types of one name in
//!   different modules would claim the same schemas, and poem-openapi
//!   panics when it builds the document (at startup, and in every test).
//! - The document side uses `poem_openapi::registry`, which poem-openapi
//!   hides from its docs (its derives use it); after a poem-openapi upgrade,
//!   the tests of this module and the snapshot test show what changed.

use poem_openapi::payload::{Json, Payload as _};
use poem_openapi::registry::{
    MetaHeader, MetaMediaType, MetaResponse, MetaResponses, MetaSchema, MetaSchemaRef, Registry,
};
use poem_openapi::types::{ToJSON as _, Type as _};

use crate::error::{ApiError, ErrorBody, ErrorResponse};

/// What [`crate::operation_errors!`] expands to refers to these, so a caller needs
/// no `poem` of its own in scope.
#[doc(hidden)]
pub mod __private {
    pub use poem;
    pub use poem_openapi;
}

/// One status an operation answers with, and the codes it carries there.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Answer {
    /// The HTTP status.
    pub status: u16,
    /// The `code` values this status carries for the operation; the first
    /// is the document's example.
    pub codes: &'static [&'static str],
    /// The name of the body's schema in the document.
    pub schema: &'static str,
    /// The response's description in the document.
    pub description: &'static str,
}

/// What [`crate::operation_errors!`] declares for one operation's error type.
pub trait DeclaredErrors {
    /// The type's name, for logs.
    const NAME: &'static str;
    /// Every answer, in the order the document lists them.
    const ANSWERS: &'static [Answer];

    /// Whether the operation declares `code` with `status`.
    fn declares(status: u16, code: &str) -> bool {
        Self::ANSWERS
            .iter()
            .any(|answer| answer.status == status && answer.codes.contains(&code))
    }
}

/// `error` if `T` declares its status and code; otherwise, logged,
/// `internal_error` (what [`crate::operation_errors!`]'s `From<ApiError>` does).
pub fn admit<T: DeclaredErrors>(error: ApiError) -> ApiError {
    let entry = error.entry();
    let status = entry.status.code().as_u16();
    if T::declares(status, entry.code) {
        return error;
    }
    // Status and code only: the error's details may quote the request.
    tracing::error!(
        operation = T::NAME,
        status,
        code = entry.code,
        "an error this operation does not declare; answered 500 internal_error"
    );
    ApiError::Internal
}

/// The responses of `T` in the document.
pub fn responses<T: DeclaredErrors>() -> MetaResponses {
    MetaResponses {
        responses: T::ANSWERS
            .iter()
            .map(|answer| MetaResponse {
                description: answer.description,
                status: Some(answer.status),
                status_range: None,
                content: vec![MetaMediaType {
                    content_type: Json::<ErrorBody>::CONTENT_TYPE,
                    schema: MetaSchemaRef::Reference(answer.schema.to_owned()),
                }],
                headers: if asks_to_wait(answer.status) {
                    vec![retry_after_header()]
                } else {
                    Vec::new()
                },
            })
            .collect(),
    }
}

/// Registers the body schema of each of `T`'s answers.
pub fn register_schemas<T: DeclaredErrors + 'static>(registry: &mut Registry) {
    for answer in T::ANSWERS {
        registry.create_schema::<T, _>(answer.schema.to_owned(), |_| body_schema(answer));
    }
}

/// As the handler's error, the response [`ErrorResponse`] would give.
pub fn into_poem_error(error: ApiError) -> poem::Error {
    poem::Error::from(ErrorResponse::from(error))
}

/// The table gives every 429 and 503 a `Retry-After` ([`ErrorResponse`]
/// sends one on each).
fn asks_to_wait(status: u16) -> bool {
    matches!(status, 429 | 503)
}

fn retry_after_header() -> MetaHeader {
    MetaHeader {
        // As `#[derive(ApiResponse)]` names headers, so all read alike.
        name: "RETRY-AFTER".to_owned(),
        description: Some("Seconds to wait before trying again.".to_owned()),
        required: true,
        deprecated: false,
        schema: u64::schema_ref(),
    }
}

fn body_schema(answer: &Answer) -> MetaSchema {
    let string = |description: &'static str| MetaSchema {
        description: Some(description),
        ..MetaSchema::new("string")
    };
    let code = MetaSchema {
        enum_items: answer.codes.iter().map(|&code| code.into()).collect(),
        ..string(
            "A stable snake_case code for programs: switch on it. One of the codes \
             this operation answers with this status; never changes for a given condition.",
        )
    };
    let mut properties = vec![
        (
            "error",
            MetaSchemaRef::Inline(Box::new(string(
                "A sentence for humans; may change between versions.",
            ))),
        ),
        ("code", MetaSchemaRef::Inline(Box::new(code))),
    ];
    // `mfa_required` carries the login's challenge besides the two fields.
    if answer.codes.contains(&"mfa_required") {
        properties.extend(challenge_properties());
    }
    MetaSchema {
        title: Some(answer.schema.to_owned()),
        description: Some(answer.description),
        required: vec!["error", "code"],
        properties,
        example: example(answer),
        ..MetaSchema::new("object")
    }
}

/// The optional fields of an `mfa_required` body ([`ErrorBody`]).
fn challenge_properties() -> Vec<(&'static str, MetaSchemaRef)> {
    let described = |description: &'static str, schema: MetaSchema| {
        MetaSchemaRef::Inline(Box::new(MetaSchema {
            description: Some(description),
            ..schema
        }))
    };
    let method = MetaSchema {
        enum_items: vec!["totp".into(), "recovery_code".into()],
        ..MetaSchema::new("string")
    };
    vec![
        (
            "mfa_token",
            described(
                "`mfa_required` only: the single-use token for `POST /login/mfa` (5 minutes).",
                MetaSchema::new("string"),
            ),
        ),
        (
            "methods",
            described(
                "`mfa_required` only: what the login can be completed with.",
                MetaSchema {
                    items: Some(Box::new(MetaSchemaRef::Inline(Box::new(method)))),
                    ..MetaSchema::new("array")
                },
            ),
        ),
        (
            "expires_at",
            described(
                "`mfa_required` only: when `mfa_token` stops working (RFC 3339).",
                MetaSchema {
                    format: Some("date-time"),
                    ..MetaSchema::new("string")
                },
            ),
        ),
    ]
}

/// The body the server sends for the answer's first code, with the
/// sample's details.
fn example(answer: &Answer) -> Option<serde_json::Value> {
    let code = answer.codes.first()?;
    ApiError::samples()
        .into_iter()
        .find(|error| {
            let entry = error.entry();
            entry.code == *code && entry.status.code().as_u16() == answer.status
        })
        .and_then(|error| error.body().to_json())
}

/// Declares an operation's error type: see the [module documentation](self).
///
/// `$status => [$code, ...] "optional description"`, one line per status.
#[macro_export]
macro_rules! operation_errors {
    (
        $(#[$meta:meta])*
        $vis:vis struct $name:ident {
            $( $status:tt => [$first:ident $(, $code:ident)* $(,)?] $($text:literal)? ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug)]
        $vis struct $name($crate::error::ApiError);

        impl $crate::operation_errors::DeclaredErrors for $name {
            const NAME: &'static str = stringify!($name);
            const ANSWERS: &'static [$crate::operation_errors::Answer] = &[$(
                $crate::operation_errors::Answer {
                    status: $status,
                    codes: &[stringify!($first) $(, stringify!($code))*],
                    schema: concat!(stringify!($name), $crate::__status_word!($status)),
                    description: concat!(
                        "`", stringify!($first), "`" $(, ", `", stringify!($code), "`")*, ": ",
                        $crate::__status_text!($status $($text)?)
                    ),
                },
            )+];
        }

        impl ::std::convert::From<$crate::error::ApiError> for $name {
            fn from(error: $crate::error::ApiError) -> Self {
                Self($crate::operation_errors::admit::<Self>(error))
            }
        }

        impl $crate::operation_errors::__private::poem::IntoResponse for $name {
            fn into_response(self) -> $crate::operation_errors::__private::poem::Response {
                self.0.into_response()
            }
        }

        impl ::std::convert::From<$name> for $crate::operation_errors::__private::poem::Error {
            fn from(error: $name) -> Self {
                $crate::operation_errors::into_poem_error(error.0)
            }
        }

        impl $crate::operation_errors::__private::poem_openapi::ApiResponse for $name {
            fn meta() -> $crate::operation_errors::__private::poem_openapi::registry::MetaResponses {
                $crate::operation_errors::responses::<Self>()
            }

            fn register(
                registry: &mut $crate::operation_errors::__private::poem_openapi::registry::Registry,
            ) {
                $crate::operation_errors::register_schemas::<Self>(registry);
            }
        }
    };
}

/// The word for a status in schema names (`RegisterErrorConflict`), as
/// [`crate::error::Status`] names it.
#[doc(hidden)]
#[macro_export]
macro_rules! __status_word {
    (400) => {
        "BadRequest"
    };
    (401) => {
        "Unauthorized"
    };
    (403) => {
        "Forbidden"
    };
    (404) => {
        "NotFound"
    };
    (405) => {
        "MethodNotAllowed"
    };
    (408) => {
        "RequestTimeout"
    };
    (409) => {
        "Conflict"
    };
    (413) => {
        "PayloadTooLarge"
    };
    (415) => {
        "UnsupportedMediaType"
    };
    (429) => {
        "TooManyRequests"
    };
    (500) => {
        "Internal"
    };
    (503) => {
        "Unavailable"
    };
}

/// A status's description when the declaration gives none.
#[doc(hidden)]
#[macro_export]
macro_rules! __status_text {
    ($status:tt $text:literal) => { $text };
    (400) => { "the request is malformed or a value breaks a rule; `error` says what to change." };
    (401) => { "no live session (missing, expired or revoked)." };
    (403) => {
        "a state change authenticated by the `session` cookie, sent from another site \
         (`Sec-Fetch-Site: cross-site`): send the token as `Authorization: Bearer`, or call from this site."
    };
    (404) => { "not found." };
    (405) => { "method not allowed." };
    (408) => { "the body did not arrive within the body-read timeout (10 s by default)." };
    (409) => { "conflicts with what exists." };
    (413) => { "the body exceeds the limit (64 KiB by default)." };
    (415) => { "send `Content-Type: application/json`." };
    (429) => { "a limit is spent; retry after `Retry-After` seconds." };
    (500) => { "a bug; details are in the server log." };
    (503) => { "retry after `Retry-After` seconds." };
}

#[cfg(test)]
mod tests {
    use poem::IntoResponse as _;

    use super::*;

    crate::operation_errors! {
        /// A test operation.
        struct ProbeError {
            400 => [invalid_request, weak_password],
            429 => [too_many_attempts] "slow down.",
            500 => [internal_error],
        }
    }

    #[test]
    fn a_declaration_lists_its_statuses_codes_and_texts_in_order() {
        let answers = ProbeError::ANSWERS;
        assert_eq!(
            answers.iter().map(|a| a.status).collect::<Vec<_>>(),
            [400, 429, 500]
        );
        assert_eq!(answers[0].codes, ["invalid_request", "weak_password"]);
        assert_eq!(answers[0].schema, "ProbeErrorBadRequest");
        assert!(
            answers[0]
                .description
                .starts_with("`invalid_request`, `weak_password`: the request is malformed"),
            "{}",
            answers[0].description
        );
        assert_eq!(answers[1].description, "`too_many_attempts`: slow down.");
    }

    #[tokio::test]
    async fn declared_errors_pass_unchanged_and_answer_the_tables_bytes() {
        let error = ApiError::TooManyAttempts {
            retry_after_secs: 7,
        };
        let probe = ProbeError::from(error.clone());
        assert_eq!(probe.0, error);
        let (ours, table) = (probe.into_response(), error.into_response());
        assert_eq!(ours.status(), table.status());
        assert_eq!(ours.headers(), table.headers());
        let ours = ours.into_body().into_bytes().await.unwrap();
        let table = table.into_body().into_bytes().await.unwrap();
        assert_eq!(ours, table);
    }

    #[test]
    fn an_undeclared_error_becomes_internal_error_not_its_own_status() {
        for error in [ApiError::Unauthorized, ApiError::UsernameTaken] {
            assert_eq!(ProbeError::from(error).0, ApiError::Internal);
        }
        // The status alone is not enough: 400 here carries two codes only.
        let invalid_username =
            ApiError::InvalidUsername(auth_core::UsernameError::TooShort { min: 3, actual: 1 });
        assert_eq!(ProbeError::from(invalid_username).0, ApiError::Internal);
    }

    #[test]
    fn each_answer_has_its_schema_with_the_codes_as_an_enum_and_an_example() {
        let mut registry = Registry::new();
        register_schemas::<ProbeError>(&mut registry);
        let responses = responses::<ProbeError>().responses;
        assert_eq!(responses.len(), 3);
        assert!(responses[0].headers.is_empty());
        assert_eq!(responses[1].headers[0].name, "RETRY-AFTER");
        let schema = serde_json::to_value(&registry.schemas["ProbeErrorBadRequest"]).unwrap();
        assert_eq!(
            schema["properties"]["code"]["enum"],
            serde_json::json!(["invalid_request", "weak_password"])
        );
        assert_eq!(schema["required"], serde_json::json!(["error", "code"]));
        assert_eq!(schema["example"]["code"], "invalid_request");
        assert_eq!(
            schema["example"]["error"], "field `password` is required",
            "the sample's message"
        );
    }
}
