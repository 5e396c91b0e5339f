//! `auth-core`'s storage ports over SeaORM, on SQLite and PostgreSQL.
//!
//! [`SeaStore`] implements every port of [`auth_core::Store`] with one code
//! path for both backends: every query is built with SeaORM/SeaQuery, and
//! most port methods are a single statement on an indexed column (on
//! PostgreSQL a revocation also sends its notice in the same transaction),
//! with no check-before-insert. The read-modify-writes the back-off needs
//! (a login reservation, a rate-limit take) run in a transaction that first
//! locks one row by an upsert: the row on PostgreSQL, the write lock on SQLite. The schema comes
//! from the `migration` crate; [`SeaStore::migrate`] applies it.
//!
//! ```no_run
//! use auth_store_sea::{SeaStore, StoreOptions};
//!
//! # async fn run() -> Result<(), auth_core::StoreError> {
//! let store = SeaStore::connect("sqlite://auth.db", &StoreOptions::default()).await?;
//! store.migrate().await?;
//! store.ping().await?;
//! store.close().await;
//! # Ok(())
//! # }
//! ```
//!
//! # Layout
//!
//! - `lib.rs`: [`SeaStore`] and the time limit every operation runs under.
//! - `connect.rs`: [`SeaStore::connect`], [`StoreOptions`], and which
//!   [`Backend`] a URL names ([`Backend::of_url`]).
//! - `migrate.rs`: [`SeaStore::migrate`], once even when instances start together.
//! - `users.rs`, `sessions.rs`, `throttle.rs`, `limits.rs`, `account.rs`: the ports, as
//!   `auth_core::conformance` checks them (`users`, `sessions`, `throttle`;
//!   `limits.rs`: rate limits and device cookies; `account.rs`: deleting a
//!   user with everything tied to it, and the events).
//! - `revocations.rs`: the revocation log (`auth_core::RevocationLog`),
//!   appended with every delete of sessions, which each instance reads to
//!   confirm its cached sessions; [`SeaStore::is_shared`].
//! - `tokens.rs`: one-time tokens (`auth_core::OneTimeTokenStore`),
//!   issued by upsert and consumed by a conditional update.
//! - `entity/`: one SeaORM entity per table, with its mapping to the domain.
//! - `error.rs`: database errors to [`auth_core::StoreError`]; the only
//!   place that inspects what kind of error the database reported.
//! - [`import`]: reading the Flask service's database and bulk-writing
//!   imported users with their Flask ids (`auth-server import-flask`).
//! - `listing.rs`: [`SeaStore::list_users`], paged, for operators.
//! - `admin.rs`: the admin ports (`auth_core::AdminKeyStore`,
//!   `auth_core::UserDirectory`, `auth_core::AuditLog`): admin keys by
//!   their hash, user search by canonical name, the audit trail by sequence.
//! - `testing` (feature `testing`): a PostgreSQL database per test,
//!   dropped even when the test panics.
//!
//! # What it must never do
//!
//! Store a session token (it only ever receives a [`SessionId`](auth_core::SessionId)) or an
//! admin key (only its [`AdminKeyHash`](auth_core::AdminKeyHash)), put a
//! password hash, session id or connection URL in an error or a log line, or
//! decide uniqueness anywhere but in the database.

mod account;
mod admin;
mod connect;
mod entity;
mod error;
pub mod import;
mod limits;
mod listing;
mod migrate;
mod notify;
mod outbox;
mod passkeys;
mod revocations;
mod second_factors;
mod sessions;
#[cfg(feature = "testing")]
pub mod testing;
mod throttle;
mod tokens;
mod users;

pub use connect::{
    Backend, DatabaseUrlError, POSTGRES_DEFAULT_MAX_CONNECTIONS, SQLITE_BUSY_TIMEOUT,
    SQLITE_DEFAULT_MAX_CONNECTIONS, StoreOptions,
};
pub use listing::UserListing;

use std::fmt;
use std::time::Duration;

use auth_core::StoreError;
use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::DatabaseConnection;

/// The auth service's store on SQLite or PostgreSQL. Clones share one
/// connection pool.
#[derive(Clone)]
pub struct SeaStore {
    db: DatabaseConnection,
    backend: Backend,
    operation_timeout: Duration,
    /// The revocation log's append hint, once asked for (`notify.rs`).
    appends: std::sync::Arc<std::sync::OnceLock<auth_core::AppendSignal>>,
}

impl fmt::Debug for SeaStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SeaStore")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl SeaStore {
    /// Which database this store talks to.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// `"sqlite"` or `"postgres"`, for logs and metrics.
    pub fn backend_name(&self) -> &'static str {
        self.backend.as_str()
    }

    /// The underlying SeaORM connection, for tooling and tests (migrations
    /// down, inspecting the database). The ports never need it.
    pub fn connection(&self) -> &DatabaseConnection {
        &self.db
    }

    /// Runs one store operation within [`StoreOptions::operation_timeout`].
    async fn bounded<T>(
        &self,
        work: impl std::future::Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        match tokio::time::timeout(self.operation_timeout, work).await {
            Ok(result) => result,
            Err(_) => Err(StoreError::unavailable(error::OperationTimedOut(
                self.operation_timeout,
            ))),
        }
    }
}

/// The instant as stored: whole microseconds. PostgreSQL keeps no more; on
/// SQLite (RFC 3339 text) truncating too makes both backends agree, and
/// keeps the text at 0, 3 or 6 fraction digits, which sort in time order as
/// long as the offset is always `+00:00` (it is: values are `DateTime<Utc>`).
pub(crate) fn stored_instant(instant: DateTime<Utc>) -> DateTime<Utc> {
    instant.trunc_subsecs(6)
}
