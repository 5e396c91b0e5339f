//! Running the migrations once, even when several instances start together.
//!
//! On PostgreSQL every instance takes the same session-level advisory lock
//! before `Migrator::up`: the first applies what is pending, the others wait
//! and then find nothing to do. The lock is held on a connection of its own,
//! outside the pool, so it works with any pool size and is released even if
//! the process dies (the connection closes). The migrations themselves run
//! in one transaction (`up_in_one_transaction`). SQLite serves one
//! instance, so it needs no lock.

use auth_core::StoreError;
use migration::MigratorTrait as _;
use sea_orm::sqlx::postgres::PgConnection;
use sea_orm::sqlx::{self, Connection as _};

use crate::error::unavailable;
use crate::{Backend, SeaStore};

/// Advisory lock key shared by every instance: "authmigr" in ASCII.
const MIGRATION_LOCK_KEY: i64 = 0x6175_7468_6d69_6772;

impl SeaStore {
    /// Applies every pending migration (`migration::Migrator`).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] if the database fails or a migration does.
    ///
    /// On PostgreSQL, several instances may call this at once: an advisory
    /// lock makes them apply each migration exactly once.
    pub async fn migrate(&self) -> Result<(), StoreError> {
        run(self).await
    }
}

/// Every pending migration in one transaction (each one's own becomes a
/// savepoint): one commit, so one WAL flush, instead of one per migration,
/// which on a slow disk was most of a new instance's start. PostgreSQL's
/// DDL is transactional and no migration needs to run outside one; a
/// failure leaves the schema as it was.
async fn up_in_one_transaction(store: &SeaStore) -> Result<(), sea_orm::DbErr> {
    use sea_orm::TransactionTrait as _;
    let txn = store.db.begin().await?;
    migration::Migrator::up(&txn, None).await?;
    txn.commit().await
}

async fn run(store: &SeaStore) -> Result<(), StoreError> {
    if store.backend != Backend::Postgres {
        return migration::Migrator::up(&store.db, None)
            .await
            .map_err(unavailable);
    }
    let options = store.db.get_postgres_connection_pool().connect_options();
    let mut lock = PgConnection::connect_with(&options)
        .await
        .map_err(StoreError::unavailable)?;
    sqlx::query("SELECT pg_advisory_lock($1)")
        .bind(MIGRATION_LOCK_KEY)
        .execute(&mut lock)
        .await
        .map_err(StoreError::unavailable)?;
    let migrated = up_in_one_transaction(store).await;
    // Closing the connection releases the lock whatever happened above.
    let closed = lock.close().await;
    migrated.map_err(unavailable)?;
    closed.map_err(StoreError::unavailable)
}
