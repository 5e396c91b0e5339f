//! The operator commands of `auth-server`: `import-flask`, `user ...` and
//! `admin-key ...`.
//!
//! They work on the database that `--database-url` names, built by the same
//! [`Root`] as the server, so every flag (scrypt cost, timeouts, pool size,
//! session and back-off policies, `--no-migrate`) means the same here, and
//! they go through `auth_core::Authenticator` where a use case exists, so an
//! admin-set password meets the same policy as a registered one. Results go
//! to standard output; failures come back as [`AdminError`], whose message
//! names the problem (`main` prints it and exits non-zero).
//!
//! # Layout
//! - `import_flask/`: planning the import (conflicts), writing it in
//!   batches, the report.
//! - `users.rs`: `user create | set-password | list | revoke-sessions |
//!   clear-backoff | disable | enable | delete`: the last five call the
//!   same use cases as the admin API's routes.
//! - `keys.rs`: `admin-key create | list | revoke`.

pub mod import_flask;
pub mod keys;
pub mod users;

use auth_core::{AuthError, PasswordError, StoreError, UsernameError};
use auth_store_sea::import::FlaskReadError;

use crate::app::{Root, StartError};
use crate::config::{AdminKeyCommand, ImportFlaskArgs, UserCommand};
use crate::error::error_chain;

/// Why an operator command failed. Each message says what to fix.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// The store or the hasher could not be built.
    #[error(transparent)]
    Start(#[from] StartError),
    /// The Tokio runtime did not start.
    #[error("starting the Tokio runtime")]
    Runtime(#[source] std::io::Error),
    /// `--no-migrate` on a database without the schema.
    #[error(
        "the database of --database-url has no auth-service schema; run without --no-migrate (or `migration up`) first"
    )]
    SchemaMissing,
    /// The database failed mid-command.
    #[error("the database failed")]
    Storage(#[source] StoreError),
    /// The Flask database could not be read.
    #[error(transparent)]
    FlaskRead(#[from] FlaskReadError),
    /// No such user.
    #[error("no user named {0:?}")]
    UnknownUser(String),
    /// The name breaks the username rules.
    #[error("invalid username {name:?}: {reason}")]
    InvalidUsername {
        /// As given.
        name: String,
        /// The rule it breaks.
        reason: UsernameError,
    },
    /// The canonical name exists already.
    #[error("the username {0:?} is taken (names are compared ignoring case and Unicode width)")]
    UsernameTaken(String),
    /// The password breaks the policy.
    #[error("password refused: {0}")]
    WeakPassword(PasswordError),
    /// Nothing, or an empty line, on standard input.
    #[error("no password on standard input: send it as one line")]
    NoPassword,
    /// Standard input could not be read (or was not UTF-8).
    #[error("reading the password from standard input")]
    ReadPassword(#[source] std::io::Error),
    /// The admin key name breaks the rules.
    #[error("invalid key name {name:?}: {reason}")]
    InvalidKeyName {
        /// As given.
        name: String,
        /// The rule it breaks.
        reason: auth_core::AdminKeyNameError,
    },
    /// A key (live or revoked) has this name.
    #[error("an admin key named {0:?} exists (revoked keys keep their names); choose another")]
    KeyNameTaken(String),
    /// No live key has this name.
    #[error("no live admin key is named {0:?} (`auth-server admin-key list` shows them)")]
    UnknownKey(String),
    /// Standard output could not be written.
    #[error("writing the output")]
    Output(#[source] std::io::Error),
    /// The use case failed in a way an operator command never expects
    /// (hashing overloaded, the account throttled, a bug).
    #[error("the command failed")]
    Failed(#[source] AuthError),
}

impl AdminError {
    /// A configuration mistake (exit code 2) rather than a failure.
    pub fn is_usage(&self) -> bool {
        matches!(self, Self::Start(error) if error.is_usage())
    }

    /// Maps a use case's failure for `username`.
    fn from_auth(error: AuthError, username: &str) -> Self {
        match error {
            AuthError::WeakPassword(reason) => Self::WeakPassword(reason),
            AuthError::UsernameTaken => Self::UsernameTaken(username.to_owned()),
            AuthError::NotAuthenticated
            | AuthError::InvalidCredentials
            | AuthError::UserNotFound
            | AuthError::SessionNotFound => Self::UnknownUser(username.to_owned()),
            AuthError::AdminKeyNameTaken => Self::KeyNameTaken(username.to_owned()),
            AuthError::AdminKeyNotFound => Self::UnknownKey(username.to_owned()),
            AuthError::Storage(source) => Self::Storage(source),
            AuthError::Overloaded
            | AuthError::EmailTaken
            | AuthError::InvalidToken
            | AuthError::MfaRequired(_)
            | AuthError::InvalidCode
            | AuthError::SecondFactorRequired
            | AuthError::MfaAlreadyEnabled
            | AuthError::MfaNotEnabled
            | AuthError::PasskeyRefused
            | AuthError::InvalidPasskeyRegistration
            | AuthError::PasskeyNotFound
            | AuthError::AccountDisabled
            | AuthError::NoVerifiedEmail
            | AuthError::Throttled { .. }
            | AuthError::UnusableStoredHash { .. }
            | AuthError::Internal(_) => {
                tracing::debug!(error = %error_chain(&error), "admin command failed");
                Self::Failed(error)
            }
        }
    }
}

/// Runs `auth-server import-flask`.
///
/// # Errors
/// [`AdminError`] naming what failed; conflicts are not errors (they are
/// in the report).
pub fn import_flask(root: &Root, args: &ImportFlaskArgs) -> Result<(), AdminError> {
    runtime()?.block_on(import_flask::run(root, args))
}

/// Runs `auth-server user ...`.
///
/// # Errors
/// [`AdminError`] naming what failed.
pub fn user(root: &Root, command: UserCommand) -> Result<(), AdminError> {
    runtime()?.block_on(users::run(root, command))
}

/// Runs `auth-server admin-key ...`.
///
/// # Errors
/// [`AdminError`] naming what failed.
pub fn admin_key(root: &Root, command: &AdminKeyCommand) -> Result<(), AdminError> {
    runtime()?.block_on(keys::run(root, command))
}

fn runtime() -> Result<tokio::runtime::Runtime, AdminError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(AdminError::Runtime)
}
