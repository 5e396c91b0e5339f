//! Opening the pool: which backend a URL names, the connection settings,
//! and the pragmas and pool shape each backend gets.

use std::fmt;
use std::time::Duration;

use auth_core::StoreError;
use sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm::{ConnectOptions, Database};

use crate::SeaStore;
use crate::error::{ConnectError, unavailable};

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

    /// The backend a database URL names, by its scheme: `sqlite:` (a file
    /// or `sqlite::memory:`), `postgres:` or `postgresql:`. This is the rule
    /// [`SeaStore::connect`] applies, for callers that must know the backend
    /// before connecting (checking configuration).
    ///
    /// # Errors
    /// [`DatabaseUrlError`] if `url` does not parse or names another
    /// database. The error never contains the URL (it may hold a password).
    ///
    /// ```
    /// use auth_store_sea::{Backend, DatabaseUrlError};
    ///
    /// assert_eq!(Backend::of_url("postgresql://auth@db/auth")?, Backend::Postgres);
    /// assert_eq!(Backend::of_url("sqlite::memory:")?, Backend::Sqlite);
    /// assert!(matches!(
    ///     Backend::of_url("mysql://root:hunter2@db/auth"),
    ///     Err(DatabaseUrlError::UnsupportedScheme(scheme)) if scheme == "mysql"
    /// ));
    /// assert!(matches!(Backend::of_url("auth.db"), Err(DatabaseUrlError::Malformed(_))));
    /// # Ok::<(), DatabaseUrlError>(())
    /// ```
    pub fn of_url(url: &str) -> Result<Self, DatabaseUrlError> {
        let parsed = url::Url::parse(url).map_err(DatabaseUrlError::Malformed)?;
        match parsed.scheme() {
            "sqlite" => Ok(Self::Sqlite),
            "postgres" | "postgresql" => Ok(Self::Postgres),
            other => Err(DatabaseUrlError::UnsupportedScheme(other.to_owned())),
        }
    }
}

/// Why a database URL names no backend this store supports. Messages name
/// the problem, never the URL.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DatabaseUrlError {
    /// The URL does not parse.
    #[error("the database URL is not a valid URL: {0}")]
    Malformed(#[source] url::ParseError),
    /// A scheme other than `sqlite:`, `postgres:` and `postgresql:`.
    #[error("unsupported database URL scheme {0:?}: expected sqlite: or postgres:")]
    UnsupportedScheme(String),
}

impl fmt::Display for Backend {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
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
        let backend = Backend::of_url(url).map_err(ConnectError::Url)?;
        let mut connect = ConnectOptions::new(url);
        connect
            .acquire_timeout(options.acquire_timeout)
            .connect_lazy(options.connect_lazily)
            .test_before_acquire_if_idle_for(PING_IF_IDLE_FOR)
            // sqlx would log every statement at INFO; callers trace the
            // operations that matter with their own context.
            .sqlx_logging(false);
        match backend {
            Backend::Sqlite => {
                keep_sqlite_file_private(url);
                configure_sqlite(&mut connect, url, options.max_connections);
            }
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
            appends: std::sync::Arc::default(),
        })
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
}

/// The SQLite file holds password hashes: create it readable by its owner
/// only (mode 0600; SQLite gives its `-wal` and `-shm` files the database
/// file's mode), whatever the umask, and warn when an existing file or its
/// companions can be read by the group or others. Best effort: a file that
/// cannot be created here is left to SQLite, which reports the real error.
fn keep_sqlite_file_private(url: &str) {
    #[cfg(unix)]
    {
        use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
        use std::str::FromStr as _;

        let Ok(options) = sea_orm::sqlx::sqlite::SqliteConnectOptions::from_str(url) else {
            return;
        };
        let path = options.get_filename();
        if url.contains(":memory:") || url.contains("mode=memory") || path.as_os_str().is_empty() {
            return;
        }
        // create_new: never touch a file that appeared meanwhile.
        let _ = std::fs::OpenOptions::new()
            .write(true)
            .create_new(true)
            .mode(0o600)
            .open(path);
        for suffix in ["", "-wal", "-shm"] {
            let mut file = path.as_os_str().to_owned();
            file.push(suffix);
            let file = std::path::PathBuf::from(file);
            if let Ok(metadata) = std::fs::metadata(&file)
                && metadata.permissions().mode() & 0o077 != 0
            {
                tracing::warn!(
                    file = %file.display(),
                    mode = format!("{:o}", metadata.permissions().mode() & 0o777),
                    "the SQLite database holds password hashes and other local users can read it: chmod 600 it"
                );
            }
        }
    }
    #[cfg(not(unix))]
    let _ = url;
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
