//! Test support (feature `testing`): a PostgreSQL database of its own for
//! each test, on the server named by `AUTH_TEST_DATABASE_URL`
//! (e.g. `postgres://postgres@127.0.0.1:5432/test`).
//!
//! Unset, [`PgTestDatabase::create`] returns `None` and says on stderr that
//! the test is skipped; CI sets it. Each database is `auth_test_<uuid v7>`,
//! so tests run in parallel, and it is dropped when its [`PgTestDatabase`]
//! is, also when the test panics. Databases of a process killed outright are
//! dropped by a later [`PgTestDatabase::create`] once an hour old (the UUID
//! v7 in the name carries its creation time).
//!
//! A test helper: it panics when the server refuses, which fails the test.
//! Only tests reach it (it is compiled for feature `testing` alone and the
//! server never enables that), so no request or flag can cause the panic.

// A test fixture fails its test by panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::{ConnectionTrait as _, Database, DatabaseConnection, DbBackend, Statement};
use uuid::Uuid;

use crate::{SeaStore, StoreOptions};

/// The variable naming the PostgreSQL server tests may create databases on.
pub const URL_VARIABLE: &str = "AUTH_TEST_DATABASE_URL";

/// Every test database's name starts with this; nothing else is dropped.
const DATABASE_PREFIX: &str = "auth_test_";

/// The server URL from [`URL_VARIABLE`], or `None` after printing
/// `skipped: AUTH_TEST_DATABASE_URL is not set` (for tests that need the
/// server but no database of their own).
pub fn admin_url() -> Option<String> {
    let url = std::env::var(URL_VARIABLE)
        .ok()
        .filter(|url| !url.is_empty());
    if url.is_none() {
        eprintln!("skipped: {URL_VARIABLE} is not set");
    }
    url
}

/// An empty PostgreSQL database that exists until this value is dropped.
///
/// ```no_run
/// use auth_store_sea::StoreOptions;
/// use auth_store_sea::testing::PgTestDatabase;
///
/// # async fn test() {
/// let Some(database) = PgTestDatabase::create().await else {
///     return; // AUTH_TEST_DATABASE_URL is unset: skipped, and it said so
/// };
/// let store = database.migrated_store(&StoreOptions::default()).await;
/// // ... the test, free to panic ...
/// store.close().await;
/// # }
/// ```
#[derive(Debug)]
pub struct PgTestDatabase {
    admin_url: String,
    name: String,
    url: String,
}

impl PgTestDatabase {
    /// Creates `auth_test_<uuid v7>` on the server named by
    /// [`URL_VARIABLE`], or returns `None` (saying so on stderr) when it is
    /// unset. Also drops test databases over an hour old.
    ///
    /// # Panics
    /// If the server cannot be reached or refuses.
    pub async fn create() -> Option<Self> {
        let admin_url = admin_url()?;
        // Test fixture: a refusing server fails the test (module doc); the
        // URL is the test environment's, never a request's or a flag's.
        let admin = Database::connect(&admin_url).await.unwrap();
        drop_stale_databases(&admin).await;
        let name = format!("{DATABASE_PREFIX}{}", Uuid::now_v7().simple());
        admin
            .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
            .await
            .unwrap();
        admin.close().await.unwrap();
        let mut url = url::Url::parse(&admin_url).unwrap();
        url.set_path(&name);
        Some(Self {
            admin_url,
            name,
            url: url.to_string(),
        })
    }

    /// The database's URL (the server URL with this database's name).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// The database's name.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// A store on this database with every migration applied. Tests share
    /// one server: keep `options.max_connections` small (the server allows
    /// 100 by default).
    ///
    /// # Panics
    /// If it cannot connect or migrate.
    pub async fn migrated_store(&self, options: &StoreOptions) -> SeaStore {
        // Test fixture: a database that cannot be reached fails the test.
        let store = SeaStore::connect(&self.url, options).await.unwrap();
        store.migrate().await.unwrap();
        store
    }
}

impl Drop for PgTestDatabase {
    /// Drops the database, closing connections still open on it (a store the
    /// test did not close). `Drop` cannot await, and may run on a runtime's
    /// worker or during a panic, so the drop runs on a thread of its own with
    /// its own runtime, and a failure is printed rather than raised.
    fn drop(&mut self) {
        let admin_url = self.admin_url.clone();
        let statement = format!("DROP DATABASE IF EXISTS \"{}\" WITH (FORCE)", self.name);
        let dropped = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .map_err(|error| error.to_string())?;
            runtime.block_on(async {
                let admin = Database::connect(&admin_url)
                    .await
                    .map_err(|error| error.to_string())?;
                let dropped = admin.execute_unprepared(&statement).await;
                let _ = admin.close().await;
                dropped.map(|_| ()).map_err(|error| error.to_string())
            })
        })
        .join();
        match dropped {
            Ok(Ok(())) => {}
            Ok(Err(error)) => eprintln!("test database {} not dropped: {error}", self.name),
            Err(_) => eprintln!(
                "test database {} not dropped: the thread panicked",
                self.name
            ),
        }
    }
}

/// Drops test databases left by killed test processes, once they are an
/// hour old (younger ones may belong to tests running now).
async fn drop_stale_databases(admin: &DatabaseConnection) {
    // Test fixture: a failing query fails the test (module doc).
    let rows = admin
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            format!("SELECT datname FROM pg_database WHERE datname LIKE '{DATABASE_PREFIX}%'"),
        ))
        .await
        .unwrap();
    let an_hour_ago = Utc::now() - TimeDelta::hours(1);
    for row in rows {
        let name: String = row.try_get("", "datname").unwrap();
        let created = name
            .strip_prefix(DATABASE_PREFIX)
            .and_then(|id| Uuid::parse_str(id).ok())
            .and_then(|id| id.get_timestamp())
            .map(|timestamp| timestamp.to_unix())
            .and_then(|(secs, nanos)| DateTime::from_timestamp(i64::try_from(secs).ok()?, nanos));
        if created.is_some_and(|created| created < an_hour_ago) {
            // Another test may be dropping it at the same moment: ignore failures.
            let _ = admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await;
        }
    }
}
