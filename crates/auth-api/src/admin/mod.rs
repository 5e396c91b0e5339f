//! The operator commands of `auth-server`: `import-flask` and `user ...`.
//!
//! They work on the database that `--database-url` names, with the same
//! global flags as the server (scrypt cost, timeouts, `--no-migrate`), and
//! go through `auth_core::Authenticator` where a use case exists, so an
//! admin-set password meets the same policy as a registered one. Results go
//! to standard output; failures come back as [`AdminError`], whose message
//! names the problem (`main` prints it and exits non-zero).
//!
//! # Layout
//! - `import_flask.rs`: planning the import (conflicts), writing it in
//!   batches, the report.
//! - `users.rs`: `user create | set-password | list | revoke-sessions | clear-backoff`.

pub mod import_flask;
pub mod users;

use std::sync::Arc;

use auth_core::{
    AuthError, Authenticator, PasswordError, PasswordHasher, StoreError, SystemClock, UsernameError,
};
use auth_store_sea::import::FlaskReadError;
use auth_store_sea::{SeaStore, StoreOptions};

use crate::config::{Config, ConfigError, ImportFlaskArgs, UserCommand};

/// Why an operator command failed. Each message says what to fix.
#[derive(Debug, thiserror::Error)]
pub enum AdminError {
    /// A flag value that cannot work.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The Tokio runtime did not start.
    #[error("starting the Tokio runtime")]
    Runtime(#[source] std::io::Error),
    /// The target database did not answer.
    #[error("cannot connect to the database of --database-url")]
    Connect(#[source] StoreError),
    /// A migration failed.
    #[error("running database migrations")]
    Migrate(#[source] StoreError),
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
    /// Standard output could not be written.
    #[error("writing the output")]
    Output(#[source] std::io::Error),
    /// Password hashing could not be set up or failed.
    #[error("password hashing: {0}")]
    Hashing(String),
}

impl AdminError {
    /// Maps a use case's failure for `username`.
    fn from_auth(error: AuthError, username: &str) -> Self {
        match error {
            AuthError::WeakPassword(reason) => Self::WeakPassword(reason),
            AuthError::UsernameTaken => Self::UsernameTaken(username.to_owned()),
            AuthError::NotAuthenticated | AuthError::InvalidCredentials => {
                Self::UnknownUser(username.to_owned())
            }
            AuthError::Storage(source) => Self::Storage(source),
            other => Self::Hashing(other.to_string()),
        }
    }
}

/// Runs `auth-server import-flask`.
///
/// # Errors
/// [`AdminError`] naming what failed; conflicts are not errors (they are
/// in the report).
pub fn import_flask(config: &Config, args: &ImportFlaskArgs) -> Result<(), AdminError> {
    runtime()?.block_on(import_flask::run(config, args))
}

/// Runs `auth-server user ...`.
///
/// # Errors
/// [`AdminError`] naming what failed.
pub fn user(config: &Config, command: UserCommand) -> Result<(), AdminError> {
    runtime()?.block_on(users::run(config, command))
}

fn runtime() -> Result<tokio::runtime::Runtime, AdminError> {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(AdminError::Runtime)
}

/// Opens the database of `--database-url`, migrated when `migrate` is set
/// and `--no-migrate` is not.
async fn connect(config: &Config, migrate: bool) -> Result<SeaStore, AdminError> {
    let store = SeaStore::connect(
        &config.database_url,
        &StoreOptions {
            max_connections: config.database_max_connections.unwrap_or(0),
            acquire_timeout: config.database_timeout,
            connect_timeout: config.database_timeout,
            ..StoreOptions::default()
        },
    )
    .await
    .map_err(AdminError::Connect)?;
    if migrate && !config.no_migrate {
        store.migrate().await.map_err(AdminError::Migrate)?;
    }
    Ok(store)
}

/// The hasher the server would use (same scrypt cost and verify limits).
fn hasher(config: &Config) -> Result<PasswordHasher, AdminError> {
    PasswordHasher::new(config.hash_config()?)
        .map_err(|error| AdminError::Hashing(error.to_string()))
}

/// The use cases over `store`, with the server's password hashing.
fn authenticator(config: &Config, store: SeaStore) -> Result<Authenticator<SeaStore>, AdminError> {
    Ok(Authenticator::new(
        store,
        hasher(config)?,
        Arc::new(SystemClock),
    ))
}
