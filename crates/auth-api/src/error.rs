//! `ApiError`: the one place where failures become a status and a stable `code`.
//!
//! Every error the service answers, from a handler or from the framework
//! (bad JSON, wrong content type, missing credentials, unknown route), is
//! turned into the same JSON body, `{"error": "...", "code": "..."}`.
//! `code` values are API: SDKs switch on them, so never change one.

use auth_core::{AuthError, PasswordError, UsernameError};
use poem::http::StatusCode;
use poem_openapi::{ApiResponse, Object, payload::Json};

/// Seconds a client is asked to wait after `server_busy`.
const BUSY_RETRY_AFTER_SECS: u64 = 1;
/// Seconds a client is asked to wait after `storage_unavailable`.
const STORAGE_RETRY_AFTER_SECS: u64 = 5;

/// Every error body.
#[derive(Debug, Clone, PartialEq, Eq, Object)]
#[oai(example)]
pub struct ErrorBody {
    /// A sentence for humans; may change between versions.
    pub error: String,
    /// A stable snake_case code for programs; never changes for a given condition.
    pub code: String,
}

impl poem_openapi::types::Example for ErrorBody {
    fn example() -> Self {
        Self {
            error: "invalid username or password".into(),
            code: "invalid_credentials".into(),
        }
    }
}

/// A failure, as the API reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ApiError {
    /// Malformed JSON, a missing or mistyped field. Carries the detail.
    InvalidRequest(String),
    /// The username breaks a rule.
    InvalidUsername(UsernameError),
    /// The new password breaks the policy.
    WeakPassword(PasswordError),
    /// The canonical username is registered already.
    UsernameTaken,
    /// Unknown user or wrong password.
    InvalidCredentials,
    /// Too many failed logins for the account or client address.
    TooManyAttempts {
        /// Whole seconds to wait (`Retry-After`).
        retry_after_secs: u64,
    },
    /// Logout without a live session.
    NotLoggedIn,
    /// A protected route without a live session.
    Unauthorized,
    /// No route at this path.
    NotFound,
    /// The route exists, the method does not.
    MethodNotAllowed,
    /// The body exceeds the configured limit.
    PayloadTooLarge {
        /// The limit in bytes, when known.
        limit: Option<usize>,
    },
    /// The body is not JSON.
    UnsupportedMediaType,
    /// The hashing queue is full.
    ServerBusy,
    /// The database cannot be reached.
    StorageUnavailable,
    /// A bug: logged with details, answered without them.
    Internal,
}

impl ApiError {
    /// Maps a domain error. `unauthenticated` is the route's answer to a
    /// missing or dead session (`not_logged_in` for logout, `unauthorized`
    /// elsewhere). No `_ =>` arm: a new `AuthError` variant must be mapped
    /// here before the crate compiles.
    pub fn from_auth(error: AuthError, unauthenticated: ApiError) -> Self {
        match error {
            AuthError::InvalidCredentials => Self::InvalidCredentials,
            AuthError::UsernameTaken => Self::UsernameTaken,
            AuthError::WeakPassword(reason) => Self::WeakPassword(reason),
            AuthError::NotAuthenticated => unauthenticated,
            AuthError::Overloaded => Self::ServerBusy,
            AuthError::Throttled { retry_after } => Self::TooManyAttempts {
                retry_after_secs: auth_core::throttle::retry_after_secs(retry_after),
            },
            AuthError::UnusableStoredHash { user_id, reason } => {
                // The user cannot log in until an admin resets the password;
                // the client sees the same answer as a wrong password.
                tracing::error!(%user_id, %reason, "stored password hash refused");
                Self::InvalidCredentials
            }
            AuthError::Storage(source) => {
                tracing::error!(error = %error_chain(&source), "storage failure");
                Self::StorageUnavailable
            }
            AuthError::Internal(detail) => {
                tracing::error!(error = %error_chain(&*detail), "internal error");
                Self::Internal
            }
        }
    }

    /// Status, stable code and message: the contract's table in one match.
    pub fn parts(&self) -> (StatusCode, &'static str, String) {
        match self {
            Self::InvalidRequest(detail) => {
                (StatusCode::BAD_REQUEST, "invalid_request", detail.clone())
            }
            Self::InvalidUsername(reason) => (
                StatusCode::BAD_REQUEST,
                "invalid_username",
                reason.to_string(),
            ),
            Self::WeakPassword(reason) => {
                (StatusCode::BAD_REQUEST, "weak_password", reason.to_string())
            }
            Self::UsernameTaken => (
                StatusCode::CONFLICT,
                "username_taken",
                "username is already taken".into(),
            ),
            Self::InvalidCredentials => (
                StatusCode::UNAUTHORIZED,
                "invalid_credentials",
                "invalid username or password".into(),
            ),
            Self::TooManyAttempts { retry_after_secs } => (
                StatusCode::TOO_MANY_REQUESTS,
                "too_many_attempts",
                format!("too many failed login attempts; retry in {retry_after_secs} s"),
            ),
            Self::NotLoggedIn => (
                StatusCode::UNAUTHORIZED,
                "not_logged_in",
                "not logged in".into(),
            ),
            Self::Unauthorized => (
                StatusCode::UNAUTHORIZED,
                "unauthorized",
                "a valid session cookie or bearer token is required".into(),
            ),
            Self::NotFound => (StatusCode::NOT_FOUND, "not_found", "no such route".into()),
            Self::MethodNotAllowed => (
                StatusCode::METHOD_NOT_ALLOWED,
                "method_not_allowed",
                "method not allowed on this route".into(),
            ),
            Self::PayloadTooLarge { limit } => (
                StatusCode::PAYLOAD_TOO_LARGE,
                "payload_too_large",
                limit.map_or_else(
                    || "request body is too large".to_owned(),
                    |limit| format!("request body exceeds {limit} bytes"),
                ),
            ),
            Self::UnsupportedMediaType => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "request body must be JSON (Content-Type: application/json)".into(),
            ),
            Self::ServerBusy => (
                StatusCode::SERVICE_UNAVAILABLE,
                "server_busy",
                "server is busy, retry shortly".into(),
            ),
            Self::StorageUnavailable => (
                StatusCode::SERVICE_UNAVAILABLE,
                "storage_unavailable",
                "the database is unavailable, retry shortly".into(),
            ),
            Self::Internal => (
                StatusCode::INTERNAL_SERVER_ERROR,
                "internal_error",
                "internal error".into(),
            ),
        }
    }

    /// Seconds for `Retry-After`, where the error has one.
    pub fn retry_after(&self) -> Option<u64> {
        match self {
            Self::ServerBusy => Some(BUSY_RETRY_AFTER_SECS),
            Self::TooManyAttempts { retry_after_secs } => Some(*retry_after_secs),
            Self::StorageUnavailable => Some(STORAGE_RETRY_AFTER_SECS),
            _ => None,
        }
    }

    /// The JSON body.
    pub fn body(&self) -> ErrorBody {
        let (_, code, error) = self.parts();
        ErrorBody {
            error,
            code: code.to_owned(),
        }
    }

    /// As a plain poem response (for errors raised outside handlers).
    pub fn into_response(self) -> poem::Response {
        ErrorResponse::from(self).into_poem_response()
    }
}

impl ErrorResponse {
    fn into_poem_response(self) -> poem::Response {
        poem::IntoResponse::into_response(self)
    }
}

/// The error responses any operation may give. Declared once so that every
/// operation in the OpenAPI document lists them with the same schema.
#[derive(Debug, ApiResponse)]
pub enum ErrorResponse {
    /// `invalid_request` (malformed JSON, missing or mistyped field),
    /// `invalid_username`, `weak_password`.
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// `invalid_credentials`, `not_logged_in`, `unauthorized`.
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
    /// `not_found`: no such route.
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    /// `method_not_allowed`.
    #[oai(status = 405)]
    MethodNotAllowed(Json<ErrorBody>),
    /// `username_taken`.
    #[oai(status = 409)]
    Conflict(Json<ErrorBody>),
    /// `payload_too_large`: the body exceeds the limit (64 KiB by default).
    #[oai(status = 413)]
    PayloadTooLarge(Json<ErrorBody>),
    /// `unsupported_media_type`: send `Content-Type: application/json`.
    #[oai(status = 415)]
    UnsupportedMediaType(Json<ErrorBody>),
    /// `too_many_attempts`: login back-off for this account or client address.
    /// Retry after `Retry-After` seconds.
    #[oai(status = 429)]
    TooManyRequests(Json<ErrorBody>, #[oai(header = "Retry-After")] u64),
    /// `internal_error`: a bug; details are in the server log.
    #[oai(status = 500)]
    Internal(Json<ErrorBody>),
    /// `server_busy` (password hashing at capacity) or
    /// `storage_unavailable` (database unreachable). Retry after `Retry-After` seconds.
    #[oai(status = 503)]
    Unavailable(Json<ErrorBody>, #[oai(header = "Retry-After")] u64),
}

impl From<ApiError> for ErrorResponse {
    fn from(error: ApiError) -> Self {
        let body = Json(error.body());
        match error {
            ApiError::InvalidRequest(_)
            | ApiError::InvalidUsername(_)
            | ApiError::WeakPassword(_) => Self::BadRequest(body),
            ApiError::InvalidCredentials | ApiError::NotLoggedIn | ApiError::Unauthorized => {
                Self::Unauthorized(body)
            }
            ApiError::NotFound => Self::NotFound(body),
            ApiError::MethodNotAllowed => Self::MethodNotAllowed(body),
            ApiError::UsernameTaken => Self::Conflict(body),
            ApiError::PayloadTooLarge { .. } => Self::PayloadTooLarge(body),
            ApiError::UnsupportedMediaType => Self::UnsupportedMediaType(body),
            ApiError::Internal => Self::Internal(body),
            ApiError::TooManyAttempts { retry_after_secs } => {
                Self::TooManyRequests(body, retry_after_secs)
            }
            ApiError::ServerBusy | ApiError::StorageUnavailable => {
                Self::Unavailable(body, error.retry_after().unwrap_or(1))
            }
        }
    }
}

/// `source: cause: cause` for logs.
pub fn error_chain(error: &dyn std::error::Error) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(cause) = source {
        text.push_str(": ");
        text.push_str(&cause.to_string());
        source = cause.source();
    }
    text
}
