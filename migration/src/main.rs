//! The migration CLI: `cargo run -p migration -- up | down | status | fresh`.
//!
//! Reads `DATABASE_URL` (or `-u`). A SQLite file is created if missing and
//! opened with the same pragmas as the server (WAL, foreign keys, a busy
//! timeout), so running this beside a live server waits for its writes
//! instead of failing with "database is locked".

use std::time::Duration;

use sea_orm_migration::sea_orm::sqlx::sqlite::{SqliteJournalMode, SqliteSynchronous};
use sea_orm_migration::sea_orm::{ConnectOptions, Database};

#[tokio::main]
async fn main() {
    sea_orm_migration::cli::run_cli_with_connection(migration::Migrator, |options| async {
        let mut options: ConnectOptions = options;
        options.map_sqlx_sqlite_opts(|sqlite| {
            sqlite
                .create_if_missing(true)
                .journal_mode(SqliteJournalMode::Wal)
                .synchronous(SqliteSynchronous::Full)
                .busy_timeout(Duration::from_secs(5))
                .foreign_keys(true)
        });
        Database::connect(options).await
    })
    .await;
}
