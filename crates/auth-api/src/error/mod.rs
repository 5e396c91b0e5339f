//! `ApiError`: the one place where failures become a status and a stable `code`.
//!
//! Every error the service answers, from a handler or from the framework
//! (bad JSON, wrong content type, missing credentials, unknown route), is
//! turned into the same JSON body, `{"error": "...", "code": "..."}`.
//! `code` values are API: SDKs switch on them, so never change one.
//!
//! Which of these rows an operation can answer, and so what the OpenAPI
//! document lists for it, is declared per operation in
//! [`mod@crate::operation_errors`]; the rows themselves (status, code, message,
//! `Retry-After`) are only here, in [`ApiError::entry`].
//!
//! # Layout
//! - here: [`ApiError`], the table ([`ApiError::entry`]) and the samples;
//! - `body.rs`: the JSON body every error answers with;
//! - `response.rs`: the statuses, the table's row type, and the response
//!   the middleware and every operation's error type answer with.

mod body;
mod response;

pub use body::{ErrorBody, MfaChallengeBody};
pub use response::{Entry, ErrorResponse, Status};

use auth_core::{AuthError, PasswordError, UsernameError};
use poem::http::StatusCode;

/// Seconds a client is asked to wait after `server_busy`.
const BUSY_RETRY_AFTER_SECS: u64 = 1;
/// Seconds a client is asked to wait after `storage_unavailable`.
const STORAGE_RETRY_AFTER_SECS: u64 = 5;
/// Seconds a load balancer is asked to wait before probing `/ready` again.
const NOT_READY_RETRY_AFTER_SECS: u64 = 5;

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
    /// Not a valid email address.
    InvalidEmail,
    /// Another account has this email address.
    EmailTaken,
    /// A reset or verification token that is malformed, unknown, used or
    /// expired.
    InvalidToken,
    /// Unknown user or wrong password.
    InvalidCredentials,
    /// The password was right; a second factor is due.
    MfaRequired(MfaChallengeBody),
    /// A wrong, replayed or malformed second-factor code.
    InvalidCode,
    /// A sensitive change on an account with TOTP on, without `code`.
    SecondFactorRequired,
    /// TOTP is on already.
    MfaAlreadyEnabled,
    /// TOTP is off (or no setup is pending).
    MfaNotEnabled,
    /// A passkey login's assertion was refused (401 `invalid_credential`).
    PasskeyRefused,
    /// A passkey registration's answer was refused (400 `invalid_credential`).
    InvalidPasskeyRegistration,
    /// The user has no passkey with that id (404 `not_found`).
    PasskeyNotFound,
    /// A limit is spent: failed logins (account, address, device), the
    /// places of one account, or registrations.
    TooManyAttempts {
        /// Whole seconds to wait (`Retry-After`).
        retry_after_secs: u64,
    },
    /// Logout without a live session.
    NotLoggedIn,
    /// A protected route without a live session.
    Unauthorized,
    /// A cookie-authenticated state change sent by another site.
    CrossSiteRequest,
    /// The user has no session with that id (or it is someone else's).
    SessionNotFound,
    /// The right password of an account an operator disabled.
    AccountDisabled,
    /// Admin API: no user with that id.
    UserNotFound,
    /// Admin API: a reset email for an account without a verified address.
    NoVerifiedEmail,
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
    /// The body did not arrive within the body-read timeout.
    RequestTimeout,
    /// The hashing queue is full.
    ServerBusy,
    /// The database cannot be reached.
    StorageUnavailable,
    /// `/ready`: the database does not answer (a probe's answer, not a failure
    /// of a request).
    NotReady,
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
            AuthError::MfaRequired(challenge) => Self::MfaRequired(MfaChallengeBody {
                token: challenge.token.as_str().to_owned(),
                methods: challenge
                    .methods
                    .iter()
                    .map(|method| method.as_str())
                    .collect(),
                expires_at: challenge.expires_at,
            }),
            AuthError::InvalidCode => Self::InvalidCode,
            AuthError::SecondFactorRequired => Self::SecondFactorRequired,
            AuthError::MfaAlreadyEnabled => Self::MfaAlreadyEnabled,
            AuthError::MfaNotEnabled => Self::MfaNotEnabled,
            AuthError::UsernameTaken => Self::UsernameTaken,
            AuthError::EmailTaken => Self::EmailTaken,
            AuthError::InvalidToken => Self::InvalidToken,
            AuthError::WeakPassword(reason) => Self::WeakPassword(reason),
            AuthError::NotAuthenticated => unauthenticated,
            AuthError::SessionNotFound => Self::SessionNotFound,
            AuthError::AccountDisabled => Self::AccountDisabled,
            AuthError::UserNotFound => Self::UserNotFound,
            AuthError::NoVerifiedEmail => Self::NoVerifiedEmail,
            // Admin keys are managed at the command line only.
            AuthError::AdminKeyNameTaken | AuthError::AdminKeyNotFound => {
                tracing::error!(error = %error, "an admin-key error reached the HTTP API");
                Self::Internal
            }
            AuthError::PasskeyRefused => Self::PasskeyRefused,
            AuthError::InvalidPasskeyRegistration => Self::InvalidPasskeyRegistration,
            AuthError::PasskeyNotFound => Self::PasskeyNotFound,
            AuthError::Overloaded => Self::ServerBusy,
            AuthError::Throttled { retry_after } => Self::TooManyAttempts {
                retry_after_secs: auth_core::retry_after_secs(retry_after),
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
            AuthError::Internal(source) => {
                tracing::error!(error = %error_chain(&*source), "internal error");
                Self::Internal
            }
        }
    }

    /// The contract's table, in one match: each variant's status, stable
    /// `code`, message and `Retry-After`. The response type, the body and
    /// the header all read this; nothing else decides a status.
    pub fn entry(&self) -> Entry {
        let (status, code, message, retry_after) = match self {
            Self::InvalidRequest(detail) => {
                (Status::BadRequest, "invalid_request", detail.clone(), None)
            }
            Self::InvalidUsername(reason) => (
                Status::BadRequest,
                "invalid_username",
                reason.to_string(),
                None,
            ),
            Self::WeakPassword(reason) => (
                Status::BadRequest,
                "weak_password",
                reason.to_string(),
                None,
            ),
            Self::UsernameTaken => (
                Status::Conflict,
                "username_taken",
                "username is already taken".into(),
                None,
            ),
            Self::InvalidEmail => (
                Status::BadRequest,
                "invalid_email",
                "not a valid email address (expected local@domain.tld)".into(),
                None,
            ),
            Self::EmailTaken => (
                Status::Conflict,
                "email_taken",
                "this email address belongs to another account".into(),
                None,
            ),
            Self::InvalidToken => (
                Status::BadRequest,
                "invalid_token",
                "this token is invalid, used or expired: ask for a new link, or log in again"
                    .into(),
                None,
            ),
            Self::InvalidCredentials => (
                Status::Unauthorized,
                "invalid_credentials",
                "invalid username or password".into(),
                None,
            ),
            Self::MfaRequired(_) => (
                Status::Unauthorized,
                "mfa_required",
                "the password is right; complete the login with a second factor at \
                 POST /login/mfa (mfa_token and a code)"
                    .into(),
                None,
            ),
            Self::InvalidCode => (
                Status::Unauthorized,
                "invalid_code",
                "the code is wrong, already used, or not a TOTP or recovery code".into(),
                None,
            ),
            Self::SecondFactorRequired => (
                Status::Unauthorized,
                "invalid_code",
                "this account has two-factor authentication on: give `code` (a TOTP code \
                 or a recovery code)"
                    .into(),
                None,
            ),
            Self::MfaAlreadyEnabled => (
                Status::Conflict,
                "mfa_already_enabled",
                "two-factor authentication is already on; disable it first".into(),
                None,
            ),
            Self::MfaNotEnabled => (
                Status::Conflict,
                "mfa_not_enabled",
                "two-factor authentication is not on (or no setup is pending)".into(),
                None,
            ),
            Self::PasskeyRefused => (
                Status::Unauthorized,
                "invalid_credential",
                "the passkey was not accepted (unknown, or its challenge used or expired); \
                 ask for new options and try again"
                    .into(),
                None,
            ),
            Self::InvalidPasskeyRegistration => (
                Status::BadRequest,
                "invalid_credential",
                "the passkey could not be registered (challenge unknown, used or expired, \
                 verification failed, or registered already); start again"
                    .into(),
                None,
            ),
            Self::PasskeyNotFound => (
                Status::NotFound,
                "not_found",
                "you have no passkey with that id".into(),
                None,
            ),
            Self::TooManyAttempts { retry_after_secs } => (
                Status::TooManyRequests,
                "too_many_attempts",
                format!("too many attempts; retry in {retry_after_secs} s"),
                Some(*retry_after_secs),
            ),
            Self::NotLoggedIn => (
                Status::Unauthorized,
                "not_logged_in",
                "not logged in".into(),
                None,
            ),
            Self::Unauthorized => (
                Status::Unauthorized,
                "unauthorized",
                "a valid session cookie or bearer token is required".into(),
                None,
            ),
            Self::CrossSiteRequest => (
                Status::Forbidden,
                "cross_site_request",
                "a request from another site cannot change state with the session cookie; \
                 send the token as Authorization: Bearer, or call from this site"
                    .into(),
                None,
            ),
            Self::NotFound => (Status::NotFound, "not_found", "no such route".into(), None),
            Self::SessionNotFound => (
                Status::NotFound,
                "session_not_found",
                "you have no session with that id".into(),
                None,
            ),
            Self::AccountDisabled => (
                Status::Forbidden,
                "account_disabled",
                "this account is disabled; contact the service's support".into(),
                None,
            ),
            Self::UserNotFound => (
                Status::NotFound,
                "not_found",
                "no user with that id".into(),
                None,
            ),
            Self::NoVerifiedEmail => (
                Status::Conflict,
                "no_verified_email",
                "the account has no verified email address to send a reset link to".into(),
                None,
            ),
            Self::MethodNotAllowed => (
                Status::MethodNotAllowed,
                "method_not_allowed",
                "method not allowed on this route".into(),
                None,
            ),
            Self::PayloadTooLarge { limit } => (
                Status::PayloadTooLarge,
                "payload_too_large",
                limit.map_or_else(
                    || "request body is too large".to_owned(),
                    |limit| format!("request body exceeds {limit} bytes"),
                ),
                None,
            ),
            Self::UnsupportedMediaType => (
                Status::UnsupportedMediaType,
                "unsupported_media_type",
                "request body must be JSON (Content-Type: application/json)".into(),
                None,
            ),
            Self::RequestTimeout => (
                Status::RequestTimeout,
                "request_timeout",
                "the request body did not arrive in time".into(),
                None,
            ),
            Self::ServerBusy => (
                Status::Unavailable,
                "server_busy",
                "server is busy, retry shortly".into(),
                Some(BUSY_RETRY_AFTER_SECS),
            ),
            Self::StorageUnavailable => (
                Status::Unavailable,
                "storage_unavailable",
                "the database is unavailable, retry shortly".into(),
                Some(STORAGE_RETRY_AFTER_SECS),
            ),
            Self::NotReady => (
                Status::Unavailable,
                "not_ready",
                "the database does not answer".into(),
                Some(NOT_READY_RETRY_AFTER_SECS),
            ),
            Self::Internal => (
                Status::Internal,
                "internal_error",
                "internal error".into(),
                None,
            ),
        };
        Entry {
            status,
            code,
            message,
            retry_after,
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.entry().status.code()
    }

    /// The JSON body.
    pub fn body(&self) -> ErrorBody {
        let Entry { code, message, .. } = self.entry();
        let challenge = match self {
            Self::MfaRequired(challenge) => Some(challenge),
            _ => None,
        };
        ErrorBody {
            error: message,
            code: code.to_owned(),
            mfa_token: challenge.map(|c| c.token.clone()),
            methods: challenge.map(|c| c.methods.iter().map(|m| (*m).to_owned()).collect()),
            expires_at: challenge.map(|c| c.expires_at),
        }
    }

    /// As a plain poem response (for errors raised outside handlers).
    pub fn into_response(self) -> poem::Response {
        poem::IntoResponse::into_response(ErrorResponse::from(self))
    }

    /// One error of each kind, with typical details. The OpenAPI document's
    /// example of each answer takes its message from here (through
    /// [`ApiError::entry`], so the example says what the server says), and
    /// the tests of the table run over it.
    pub fn samples() -> Vec<ApiError> {
        vec![
            Self::InvalidRequest("field `password` is required".into()),
            Self::InvalidUsername(UsernameError::TooShort { min: 3, actual: 2 }),
            Self::WeakPassword(PasswordError::TooShort { min: 15, actual: 8 }),
            Self::UsernameTaken,
            Self::InvalidEmail,
            Self::EmailTaken,
            Self::InvalidToken,
            Self::InvalidCredentials,
            Self::MfaRequired(MfaChallengeBody {
                token: "Qm9yaW5nIGV4YW1wbGUgdG9rZW4gb2YgNDMgY2hhcnM".into(),
                methods: vec!["totp", "recovery_code"],
                expires_at: chrono::DateTime::UNIX_EPOCH,
            }),
            Self::InvalidCode,
            Self::SecondFactorRequired,
            Self::MfaAlreadyEnabled,
            Self::MfaNotEnabled,
            Self::PasskeyRefused,
            Self::InvalidPasskeyRegistration,
            Self::PasskeyNotFound,
            Self::TooManyAttempts {
                retry_after_secs: 30,
            },
            Self::NotLoggedIn,
            Self::Unauthorized,
            Self::CrossSiteRequest,
            Self::SessionNotFound,
            Self::AccountDisabled,
            Self::UserNotFound,
            Self::NoVerifiedEmail,
            Self::NotFound,
            Self::MethodNotAllowed,
            Self::PayloadTooLarge {
                limit: Some(64 * 1024),
            },
            Self::UnsupportedMediaType,
            Self::RequestTimeout,
            Self::ServerBusy,
            Self::StorageUnavailable,
            Self::NotReady,
            Self::Internal,
        ]
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

#[cfg(test)]
mod tests {
    use super::*;

    /// Its position in the enum; no `_` arm, so a new variant does not
    /// compile until it is counted here (and added to the samples).
    fn ordinal(error: &ApiError) -> usize {
        match error {
            ApiError::InvalidRequest(_) => 0,
            ApiError::InvalidUsername(_) => 1,
            ApiError::WeakPassword(_) => 2,
            ApiError::UsernameTaken => 3,
            ApiError::InvalidEmail => 4,
            ApiError::EmailTaken => 5,
            ApiError::InvalidToken => 6,
            ApiError::InvalidCredentials => 7,
            ApiError::MfaRequired(_) => 8,
            ApiError::InvalidCode => 9,
            ApiError::SecondFactorRequired => 10,
            ApiError::MfaAlreadyEnabled => 11,
            ApiError::MfaNotEnabled => 12,
            ApiError::PasskeyRefused => 13,
            ApiError::InvalidPasskeyRegistration => 14,
            ApiError::PasskeyNotFound => 15,
            ApiError::TooManyAttempts { .. } => 16,
            ApiError::NotLoggedIn => 17,
            ApiError::Unauthorized => 18,
            ApiError::CrossSiteRequest => 19,
            ApiError::SessionNotFound => 20,
            ApiError::AccountDisabled => 21,
            ApiError::UserNotFound => 22,
            ApiError::NoVerifiedEmail => 23,
            ApiError::NotFound => 24,
            ApiError::MethodNotAllowed => 25,
            ApiError::PayloadTooLarge { .. } => 26,
            ApiError::UnsupportedMediaType => 27,
            ApiError::RequestTimeout => 28,
            ApiError::ServerBusy => 29,
            ApiError::StorageUnavailable => 30,
            ApiError::NotReady => 31,
            ApiError::Internal => 32,
        }
    }

    fn every_variant() -> Vec<ApiError> {
        ApiError::samples()
    }

    #[test]
    fn the_samples_hold_each_variant_once() {
        let ordinals: Vec<usize> = every_variant().iter().map(ordinal).collect();
        assert_eq!(ordinals, (0..=32).collect::<Vec<_>>());
    }

    #[test]
    fn the_response_carries_the_tables_status_code_and_retry_after() {
        for error in every_variant() {
            let entry = error.entry();
            let response = error.clone().into_response();
            assert_eq!(response.status(), entry.status.code(), "{error:?}");
            let retry_after = response
                .headers()
                .get("retry-after")
                .map(|value| value.to_str().unwrap().parse::<u64>().unwrap());
            assert_eq!(retry_after, entry.retry_after, "{error:?}");
        }
    }

    #[test]
    fn every_429_and_503_asks_the_client_to_wait() {
        for error in every_variant() {
            let entry = error.entry();
            if matches!(entry.status, Status::TooManyRequests | Status::Unavailable) {
                assert!(entry.retry_after.is_some(), "{error:?}");
            }
        }
    }

    #[test]
    fn codes_are_snake_case_and_messages_are_sentences() {
        for error in every_variant() {
            let body = error.body();
            assert!(
                body.code
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c == '_'),
                "{body:?}"
            );
            assert!(!body.error.is_empty(), "{body:?}");
        }
    }
}
