//! The statuses the API answers errors with, and the response type the
//! middleware and every operation's error type answer with.

use poem::http::StatusCode;
use poem_openapi::{ApiResponse, payload::Json};

use super::{ApiError, BUSY_RETRY_AFTER_SECS, ErrorBody};

/// One row of the error table: what [`ApiError::entry`] says of a variant.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The status, as one of the statuses the API uses.
    pub status: Status,
    /// The stable `code`.
    pub code: &'static str,
    /// The human sentence.
    pub message: String,
    /// Seconds for `Retry-After`, where the error has one.
    pub retry_after: Option<u64>,
}

/// The error statuses the API answers with: one [`ErrorResponse`] variant each.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Status {
    /// 400.
    BadRequest,
    /// 401.
    Unauthorized,
    /// 403.
    Forbidden,
    /// 404.
    NotFound,
    /// 405.
    MethodNotAllowed,
    /// 408.
    RequestTimeout,
    /// 409.
    Conflict,
    /// 413.
    PayloadTooLarge,
    /// 415.
    UnsupportedMediaType,
    /// 429.
    TooManyRequests,
    /// 500.
    Internal,
    /// 503.
    Unavailable,
}

impl Status {
    /// The HTTP status code.
    pub fn code(self) -> StatusCode {
        match self {
            Self::BadRequest => StatusCode::BAD_REQUEST,
            Self::Unauthorized => StatusCode::UNAUTHORIZED,
            Self::Forbidden => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::Conflict => StatusCode::CONFLICT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::UnsupportedMediaType => StatusCode::UNSUPPORTED_MEDIA_TYPE,
            Self::TooManyRequests => StatusCode::TOO_MANY_REQUESTS,
            Self::Internal => StatusCode::INTERNAL_SERVER_ERROR,
            Self::Unavailable => StatusCode::SERVICE_UNAVAILABLE,
        }
    }
}

/// Every error status the API answers with, for answers given outside any
/// one operation's declaration: the middleware's ([`ApiError::into_response`])
/// and, through them, every operation type of [`crate::operation_errors`],
/// whose bodies and headers are therefore the same bytes as these.
///
/// As an operation's error type it declares every status with one shared
/// schema, so the document cannot say what that operation really answers:
/// give an operation its own type with [`crate::operation_errors!`] instead.
#[derive(Debug, ApiResponse)]
pub enum ErrorResponse {
    /// `invalid_request` (malformed JSON, missing or mistyped field),
    /// `invalid_username`, `weak_password`.
    #[oai(status = 400)]
    BadRequest(Json<ErrorBody>),
    /// `invalid_credentials`, `not_logged_in`, `unauthorized`.
    #[oai(status = 401)]
    Unauthorized(Json<ErrorBody>),
    /// `cross_site_request`: a state change authenticated by the `session`
    /// cookie, sent from another site (`Sec-Fetch-Site: cross-site`);
    /// `account_disabled`: the right password of a disabled account.
    #[oai(status = 403)]
    Forbidden(Json<ErrorBody>),
    /// `not_found`: no such route (or no such passkey of yours),
    /// `session_not_found`.
    #[oai(status = 404)]
    NotFound(Json<ErrorBody>),
    /// `method_not_allowed`.
    #[oai(status = 405)]
    MethodNotAllowed(Json<ErrorBody>),
    /// `request_timeout`: the body did not arrive within the body-read
    /// timeout (10 s by default).
    #[oai(status = 408)]
    RequestTimeout(Json<ErrorBody>),
    /// `username_taken`, `no_verified_email`.
    #[oai(status = 409)]
    Conflict(Json<ErrorBody>),
    /// `payload_too_large`: the body exceeds the limit (64 KiB by default).
    #[oai(status = 413)]
    PayloadTooLarge(Json<ErrorBody>),
    /// `unsupported_media_type`: send `Content-Type: application/json`.
    #[oai(status = 415)]
    UnsupportedMediaType(Json<ErrorBody>),
    /// `too_many_attempts`: a limit is spent (the login back-off of the
    /// account, the client address or the device; registrations per address
    /// or in all). Retry after `Retry-After` seconds.
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
        let Entry {
            status,
            retry_after,
            ..
        } = error.entry();
        let body = Json(error.body());
        // The table gives every 429 and 503 a Retry-After; 1 s is the
        // answer for a row that forgot one.
        let retry_after = retry_after.unwrap_or(BUSY_RETRY_AFTER_SECS);
        match status {
            Status::BadRequest => Self::BadRequest(body),
            Status::Unauthorized => Self::Unauthorized(body),
            Status::Forbidden => Self::Forbidden(body),
            Status::NotFound => Self::NotFound(body),
            Status::MethodNotAllowed => Self::MethodNotAllowed(body),
            Status::RequestTimeout => Self::RequestTimeout(body),
            Status::Conflict => Self::Conflict(body),
            Status::PayloadTooLarge => Self::PayloadTooLarge(body),
            Status::UnsupportedMediaType => Self::UnsupportedMediaType(body),
            Status::TooManyRequests => Self::TooManyRequests(body, retry_after),
            Status::Internal => Self::Internal(body),
            Status::Unavailable => Self::Unavailable(body, retry_after),
        }
    }
}
