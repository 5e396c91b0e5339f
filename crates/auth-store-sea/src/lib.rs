//! `auth-core`'s storage ports over SeaORM, on SQLite and PostgreSQL.
//!
//! [`SeaStore`] implements [`auth_core::UserRepository`] and
//! [`auth_core::SessionStore`] (so it is an [`auth_core::Store`]) with one
//! code path for both backends: every query is built with SeaORM/SeaQuery,
//! and each port method is a single statement on an indexed column (no
//! read-modify-write, no check-before-insert). The schema comes from the
//! `migration` crate; [`SeaStore::migrate`] applies it.
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
//! - `lib.rs`: [`SeaStore`], its connection settings ([`StoreOptions`]) and
//!   the port implementations.
//! - `entity/`: one SeaORM entity per table, with its mapping to the domain.
//! - `error.rs`: database errors to [`auth_core::StoreError`]; the only
//!   place that inspects what kind of error the database reported.
//! - `import.rs`: reading the Flask service's database and bulk-writing
//!   imported users with their Flask ids (`auth-server import-flask`).
//! - `listing.rs`: [`SeaStore::list_users`], paged, for operators.
//!
//! # What it must never do
//!
//! Store a session token (it only ever receives a [`SessionId`]), put a
//! password hash, session id or connection URL in an error or a log line, or
//! decide uniqueness anywhere but in the database.

mod entity;
mod error;
pub use error::ConnectError;
pub mod import;
mod listing;
pub use listing::UserListing;
mod migrate;
pub mod revocations;

use std::fmt;
use std::time::Duration;

use auth_core::{
    FailureStats, PasswordHash, Session, SessionId, SessionStore, StoreError, ThrottleStore, User,
    UserId, UserRepository, Username,
};
use chrono::{DateTime, SubsecRound, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{
    ActiveValue, ColumnTrait, Condition, ConnectOptions, Database, DatabaseConnection, EntityTrait,
    QueryFilter, QuerySelect, TransactionTrait, Value,
};

use crate::entity::{login_failure, session, user};
use crate::error::{create_user_failed, unavailable};
use crate::revocations::Revoked;

/// Pool size used when [`StoreOptions::max_connections`] is `0`, on SQLite.
/// SQLite runs one writer at a time; extra connections only add concurrent
/// readers, and 8 measured ≈ 30 % more throughput than 1.
pub const SQLITE_DEFAULT_MAX_CONNECTIONS: u32 = 8;

/// Pool size used when [`StoreOptions::max_connections`] is `0`, on PostgreSQL.
pub const POSTGRES_DEFAULT_MAX_CONNECTIONS: u32 = 10;

/// How long a SQLite statement waits for another connection's write lock
/// before failing with "database is locked".
pub const SQLITE_BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// How long a pooled connection may sit idle before it is pinged on its next
/// use: long enough that busy connections are not pinged per query, short
/// enough to catch connections a server, proxy or firewall has dropped.
const PING_IF_IDLE_FOR: Duration = Duration::from_secs(30);

/// Connection settings. `StoreOptions::default()` suits a single server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StoreOptions {
    /// Largest number of pooled connections; `0` picks the backend's default
    /// ([`SQLITE_DEFAULT_MAX_CONNECTIONS`], [`POSTGRES_DEFAULT_MAX_CONNECTIONS`]).
    /// On PostgreSQL, every server instance holds up to this many of the
    /// server's `max_connections`. An in-memory SQLite database always uses
    /// one connection (each connection would otherwise see its own database).
    pub max_connections: u32,
    /// How long [`SeaStore::connect`] may take to open its first connection
    /// (not used when `connect_lazily` is set).
    pub connect_timeout: Duration,
    /// How long a query (or [`SeaStore::ping`]) waits for a pooled
    /// connection, including opening a new one, before failing with
    /// [`StoreError::Unavailable`].
    pub acquire_timeout: Duration,
    /// Open connections on first use instead of in [`SeaStore::connect`]:
    /// the server can then start while the database is down (with
    /// migrations off) and report not-ready until it is back.
    pub connect_lazily: bool,
    /// Longest time one store operation (acquiring a connection included) may
    /// take before it fails with [`StoreError::Unavailable`]. Without it, a
    /// query sent just before the database hangs would wait for the network
    /// to give up, minutes later.
    pub operation_timeout: Duration,
}

impl Default for StoreOptions {
    fn default() -> Self {
        Self {
            max_connections: 0,
            connect_timeout: Duration::from_secs(10),
            acquire_timeout: Duration::from_secs(5),
            connect_lazily: false,
            operation_timeout: Duration::from_secs(5),
        }
    }
}

/// Which database a [`SeaStore`] talks to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Backend {
    /// A SQLite file (or `sqlite::memory:`).
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

impl Backend {
    /// `"sqlite"` or `"postgres"`, for logs and metrics.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Sqlite => "sqlite",
            Self::Postgres => "postgres",
        }
    }

    /// The backend a URL names, by its scheme.
    pub fn of_url(url: &str) -> Result<Self, ConnectError> {
        let parsed = url::Url::parse(url).map_err(ConnectError::InvalidUrl)?;
        match parsed.scheme() {
            "sqlite" => Ok(Self::Sqlite),
            "postgres" | "postgresql" => Ok(Self::Postgres),
            other => Err(ConnectError::UnsupportedScheme(other.to_owned())),
        }
    }
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The auth service's store on SQLite or PostgreSQL. Clones share one
/// connection pool.
#[derive(Clone)]
pub struct SeaStore {
    db: DatabaseConnection,
    backend: Backend,
    operation_timeout: Duration,
}

impl fmt::Debug for SeaStore {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SeaStore")
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

impl SeaStore {
    /// Opens a connection pool on `url`: `sqlite://path/to/auth.db` (the file
    /// is created if missing), `sqlite::memory:`, or
    /// `postgres://user:password@host:5432/database`.
    ///
    /// SQLite connections use WAL (readers do not block the writer),
    /// `synchronous = FULL` (a committed write survives power loss),
    /// `busy_timeout` = [`SQLITE_BUSY_TIMEOUT`] (a writer waits for another
    /// writer instead of failing) and `foreign_keys = ON` (sessions go with
    /// their user).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] if the URL does not parse or names another
    /// database, or (unless [`StoreOptions::connect_lazily`]) if no
    /// connection opens within [`StoreOptions::connect_timeout`]. The error
    /// never contains the URL.
    pub async fn connect(url: &str, options: &StoreOptions) -> Result<Self, StoreError> {
        let backend = Backend::of_url(url)?;
        let mut connect = ConnectOptions::new(url);
        connect
            .acquire_timeout(options.acquire_timeout)
            .connect_lazy(options.connect_lazily)
            .test_before_acquire_if_idle_for(PING_IF_IDLE_FOR)
            // sqlx would log every statement at INFO; callers trace the
            // operations that matter with their own context.
            .sqlx_logging(false);
        match backend {
            Backend::Sqlite => configure_sqlite(&mut connect, url, options.max_connections),
            Backend::Postgres => {
                connect.max_connections(or_default(
                    options.max_connections,
                    POSTGRES_DEFAULT_MAX_CONNECTIONS,
                ));
                connect.set_application_name("auth-service");
            }
        }
        let db = tokio::time::timeout(options.connect_timeout, Database::connect(connect))
            .await
            .map_err(|_| ConnectError::Timeout(options.connect_timeout))?
            .map_err(unavailable)?;
        tracing::debug!(backend = backend.as_str(), "database pool open");
        Ok(Self {
            db,
            backend,
            operation_timeout: options.operation_timeout,
        })
    }

    /// Applies every pending migration (`migration::Migrator`).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] if the database fails or a migration does.
    ///
    /// On PostgreSQL, several instances may call this at once: an advisory
    /// lock makes them apply each migration exactly once (see `migrate.rs`).
    pub async fn migrate(&self) -> Result<(), StoreError> {
        migrate::run(self).await
    }

    /// Checks that the database answers, within
    /// [`StoreOptions::acquire_timeout`]: what a readiness probe asks.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] if it does not.
    pub async fn ping(&self) -> Result<(), StoreError> {
        self.bounded(async { self.db.ping().await.map_err(unavailable) })
            .await
    }

    /// Closes the pool, for every clone: waits for connections in use to be
    /// returned, then closes them (on SQLite this also checkpoints the WAL
    /// when the last connection closes). Later queries fail with
    /// [`StoreError::Unavailable`].
    pub async fn close(self) {
        if let Err(error) = self.db.close().await {
            // Only a never-connected handle fails here; nothing to undo.
            tracing::debug!(%error, "closing the database pool");
        }
    }

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
}

/// SQLite pragmas and pool shape.
fn configure_sqlite(connect: &mut ConnectOptions, url: &str, max_connections: u32) {
    if url.contains(":memory:") || url.contains("mode=memory") {
        // Each connection to `:memory:` would see its own empty database, and
        // the database vanishes with its last connection: keep exactly one,
        // forever.
        connect
            .max_connections(1)
            .min_connections(1)
            .idle_timeout(None)
            .max_lifetime(None);
    } else {
        connect.max_connections(or_default(max_connections, SQLITE_DEFAULT_MAX_CONNECTIONS));
    }
    connect.map_sqlx_sqlite_opts(|sqlite| {
        sqlite
            .create_if_missing(true)
            .journal_mode(SqliteJournalMode::Wal)
            // FULL syncs the WAL on every commit. NORMAL would be faster
            // but can lose the last commits on power loss: a registration
            // or a logout that the client saw succeed.
            .synchronous(SqliteSynchronous::Full)
            .busy_timeout(SQLITE_BUSY_TIMEOUT)
            .foreign_keys(true)
    });
}

fn or_default(configured: u32, default: u32) -> u32 {
    if configured == 0 { default } else { configured }
}

/// The instant as stored: whole microseconds. PostgreSQL keeps no more; on
/// SQLite (RFC 3339 text) truncating too makes both backends agree, and
/// keeps the text at 0, 3 or 6 fraction digits, which sort in time order as
/// long as the offset is always `+00:00` (it is: values are `DateTime<Utc>`).
pub(crate) fn stored_instant(instant: DateTime<Utc>) -> DateTime<Utc> {
    instant.trunc_subsecs(6)
}

impl UserRepository for SeaStore {
    async fn create_user(&self, user: &User) -> Result<(), StoreError> {
        self.bounded(async {
            // A plain INSERT: the unique index on username_canonical decides,
            // atomically, and its violation becomes UsernameTaken.
            user::Entity::insert(user::ActiveModel::from_domain(user))
                .exec_without_returning(&self.db)
                .await
                .map_err(create_user_failed)?;
            Ok(())
        })
        .await
    }

    async fn find_user_by_username(&self, username: &Username) -> Result<Option<User>, StoreError> {
        self.bounded(async {
            let row = user::Entity::find()
                .filter(user::Column::UsernameCanonical.eq(username.canonical()))
                .one(&self.db)
                .await
                .map_err(unavailable)?;
            Ok(row.map(user::Model::into_domain).transpose()?)
        })
        .await
    }

    async fn find_user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        self.bounded(async {
            let row = user::Entity::find_by_id(*id.as_uuid())
                .one(&self.db)
                .await
                .map_err(unavailable)?;
            Ok(row.map(user::Model::into_domain).transpose()?)
        })
        .await
    }

    async fn set_password_hash(
        &self,
        id: UserId,
        hash: &PasswordHash,
        updated_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.bounded(async {
            let result = user::Entity::update_many()
                .col_expr(user::Column::PasswordHash, Expr::value(hash.as_str()))
                .col_expr(
                    user::Column::UpdatedAt,
                    Expr::value(Value::from(stored_instant(updated_at))),
                )
                .filter(user::Column::Id.eq(*id.as_uuid()))
                .exec(&self.db)
                .await
                .map_err(unavailable)?;
            Ok(result.rows_affected > 0)
        })
        .await
    }
}

impl SeaStore {
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

    /// Deletes sessions and, on PostgreSQL, tells every instance in the same
    /// transaction (the notification is delivered only if the delete commits).
    async fn delete_and_notify(
        &self,
        delete: sea_orm::DeleteMany<session::Entity>,
        revoked: Revoked,
    ) -> Result<u64, StoreError> {
        if !self.has_revocation_feed() {
            let result = delete.exec(&self.db).await.map_err(unavailable)?;
            return Ok(result.rows_affected);
        }
        let txn = self.db.begin().await.map_err(unavailable)?;
        let result = delete.exec(&txn).await.map_err(unavailable)?;
        if result.rows_affected > 0 {
            revocations::notify(&txn, &revoked)
                .await
                .map_err(unavailable)?;
        }
        txn.commit().await.map_err(unavailable)?;
        Ok(result.rows_affected)
    }
}

impl SessionStore for SeaStore {
    async fn insert_session(&self, session: &Session) -> Result<(), StoreError> {
        self.bounded(async {
            session::Entity::insert(session::ActiveModel::from_domain(session))
                .exec_without_returning(&self.db)
                .await
                .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn find_session(&self, id: &SessionId) -> Result<Option<Session>, StoreError> {
        self.bounded(async {
            let row = session::Entity::find_by_id(id.as_bytes().to_vec())
                .one(&self.db)
                .await
                .map_err(unavailable)?;
            Ok(row.map(session::Model::into_domain).transpose()?)
        })
        .await
    }

    async fn touch_session(
        &self,
        id: &SessionId,
        last_seen_at: DateTime<Utc>,
        idle_expires_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.bounded(async {
            let result = session::Entity::update_many()
                .col_expr(
                    session::Column::LastSeenAt,
                    Expr::value(Value::from(stored_instant(last_seen_at))),
                )
                .col_expr(
                    session::Column::IdleExpiresAt,
                    Expr::value(Value::from(stored_instant(idle_expires_at))),
                )
                .filter(session::Column::Id.eq(id.as_bytes().to_vec()))
                .exec(&self.db)
                .await
                .map_err(unavailable)?;
            Ok(result.rows_affected > 0)
        })
        .await
    }

    async fn revoke_session(&self, id: &SessionId) -> Result<bool, StoreError> {
        self.bounded(async {
            let delete = session::Entity::delete_many()
                .filter(session::Column::Id.eq(id.as_bytes().to_vec()));
            let deleted = self
                .delete_and_notify(delete, Revoked::Session(*id))
                .await?;
            Ok(deleted > 0)
        })
        .await
    }

    async fn revoke_all_sessions(&self, user_id: UserId) -> Result<u64, StoreError> {
        self.bounded(async {
            let delete = session::Entity::delete_many()
                .filter(session::Column::UserId.eq(*user_id.as_uuid()));
            self.delete_and_notify(delete, Revoked::User(user_id)).await
        })
        .await
    }

    async fn purge_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.bounded(async {
            let now = stored_instant(now);
            let result = session::Entity::delete_many()
                .filter(
                    Condition::any()
                        .add(session::Column::ExpiresAt.lte(now))
                        .add(session::Column::IdleExpiresAt.lte(now)),
                )
                .exec(&self.db)
                .await
                .map_err(unavailable)?;
            Ok(result.rows_affected)
        })
        .await
    }
}

impl ThrottleStore for SeaStore {
    async fn record_login_failure(
        &self,
        account: &str,
        client_ip: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.bounded(async {
            login_failure::Entity::insert(login_failure::ActiveModel {
                id: ActiveValue::NotSet,
                account: ActiveValue::Set(account.to_owned()),
                client_ip: ActiveValue::Set(client_ip.map(str::to_owned)),
                failed_at: ActiveValue::Set(stored_instant(at)),
            })
            .exec_without_returning(&self.db)
            .await
            .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn login_failure_stats(
        &self,
        account: &str,
        client_ip: Option<&str>,
        account_since: DateTime<Utc>,
        ip_since: DateTime<Utc>,
    ) -> Result<FailureStats, StoreError> {
        self.bounded(async {
            // One aggregate per budget, each a range scan on its (key, failed_at) index.
            let (account_failures, account_oldest, account_latest) = login_failure::Entity::find()
                .select_only()
                .column_as(login_failure::Column::Id.count(), "count")
                .column_as(login_failure::Column::FailedAt.min(), "oldest")
                .column_as(login_failure::Column::FailedAt.max(), "latest")
                .filter(login_failure::Column::Account.eq(account))
                .filter(login_failure::Column::FailedAt.gte(stored_instant(account_since)))
                .into_tuple::<(i64, Option<DateTime<Utc>>, Option<DateTime<Utc>>)>()
                .one(&self.db)
                .await
                .map_err(unavailable)?
                .unwrap_or((0, None, None));
            let (ip_failures, ip_oldest) = match client_ip {
                None => (0, None),
                Some(ip) => login_failure::Entity::find()
                    .select_only()
                    .column_as(login_failure::Column::Id.count(), "count")
                    .column_as(login_failure::Column::FailedAt.min(), "oldest")
                    .filter(login_failure::Column::ClientIp.eq(ip))
                    .filter(login_failure::Column::FailedAt.gte(stored_instant(ip_since)))
                    .into_tuple::<(i64, Option<DateTime<Utc>>)>()
                    .one(&self.db)
                    .await
                    .map_err(unavailable)?
                    .unwrap_or((0, None)),
            };
            Ok(FailureStats {
                account_failures: u32::try_from(account_failures).unwrap_or(u32::MAX),
                account_oldest,
                account_latest,
                ip_failures: u32::try_from(ip_failures).unwrap_or(u32::MAX),
                ip_oldest,
            })
        })
        .await
    }

    async fn clear_login_failures(&self, account: &str) -> Result<u64, StoreError> {
        self.bounded(async {
            let result = login_failure::Entity::delete_many()
                .filter(login_failure::Column::Account.eq(account))
                .exec(&self.db)
                .await
                .map_err(unavailable)?;
            Ok(result.rows_affected)
        })
        .await
    }

    async fn purge_login_failures(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        self.bounded(async {
            let result = login_failure::Entity::delete_many()
                .filter(login_failure::Column::FailedAt.lt(stored_instant(before)))
                .exec(&self.db)
                .await
                .map_err(unavailable)?;
            Ok(result.rows_affected)
        })
        .await
    }
}
