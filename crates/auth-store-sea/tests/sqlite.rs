//! `SeaStore` on SQLite: the storage contract and the adapter rules both
//! backends share (`adapter_rules/`), then what only a real file shows
//! (concurrent writers, lock waits, reopening, pragmas).
//!
//! Every test gets a fresh file in its own temporary directory, migrated by
//! the real `migration::Migrator`; the directory goes when the test ends,
//! passing or panicking.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod adapter_rules;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use auth_core::conformance::{create_concurrently, epoch, session_of, user_named};
use auth_core::{SessionStore as _, StoreError, UserId, UserRepository as _, Username};
use auth_store_sea::import::FlaskImport;
use auth_store_sea::{Backend, SeaStore, StoreOptions};
use chrono::TimeDelta;
use sea_orm::{ConnectionTrait as _, Database, TransactionTrait as _};
use tempfile::TempDir;

use crate::adapter_rules::query_value;

fn url_of(file: &Path) -> String {
    format!("sqlite://{}", file.display())
}

/// `auth.db` in `dir`.
fn file_in(dir: &TempDir) -> PathBuf {
    dir.path().join("auth.db")
}

/// A migrated store on `auth.db` in a fresh directory, and that directory
/// (deleted when dropped).
async fn fresh_store() -> (SeaStore, TempDir) {
    let dir = tempfile::Builder::new()
        .prefix("auth-store-sea-test-")
        .tempdir()
        .unwrap();
    let store = SeaStore::connect(&url_of(&file_in(&dir)), &StoreOptions::default())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    (store, dir)
}

async fn close_store((store, _dir): (SeaStore, TempDir)) {
    store.close().await;
}

async fn count(store: &SeaStore, table: &str) -> i64 {
    query_value(store.connection(), &format!("SELECT COUNT(*) FROM {table}")).await
}

auth_core::store_conformance!(|| async { Some(fresh_store().await) }, close_store);

auth_core::revocation_log_conformance!(|| async { Some(fresh_store().await) }, close_store);

auth_core::one_time_token_conformance!(|| async { Some(fresh_store().await) }, close_store);

auth_core::mail_conformance!(|| async { Some(fresh_store().await) }, close_store);
auth_core::mfa_conformance!(|| async { Some(fresh_store().await) }, close_store);
auth_core::passkey_conformance!(|| async { Some(fresh_store().await) }, close_store);
auth_core::admin_conformance!(|| async { Some(fresh_store().await) }, close_store);

adapter_rules::adapter_rules!(|| async { Some(fresh_store().await) });

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_thousand_users_written_by_eight_tasks_are_all_there_after_reopening() {
    // Arrange
    let (store, dir) = fresh_store().await;
    let mut tasks = Vec::new();
    for task in 0..8 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            for i in 0..125 {
                let user = user_named(&format!("user-{task}-{i}"));
                store.create_user(&user).await.unwrap();
                ids.push((user.username.as_str().to_owned(), user.id));
            }
            ids
        }));
    }
    let mut written = Vec::new();
    for task in tasks {
        written.extend(task.await.unwrap());
    }
    store.close().await;

    // Act
    let reopened = SeaStore::connect(&url_of(&file_in(&dir)), &StoreOptions::default())
        .await
        .unwrap();

    // Assert
    assert_eq!(written.len(), 1000);
    assert_eq!(count(&reopened, "users").await, 1000);
    for (name, id) in &written {
        let by_name = reopened
            .find_user_by_username(&Username::parse(name).unwrap())
            .await
            .unwrap()
            .unwrap_or_else(|| panic!("{name} lost"));
        assert_eq!(by_name.id, *id);
    }
    reopened.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn fifty_concurrent_registrations_of_one_canonical_name_have_one_winner() {
    // Arrange: case and Unicode-compatibility variants of one name.
    let (store, _dir) = fresh_store().await;
    let variants = ["Racer", "RACER", "racer", "ｒａｃｅｒ", "RaCeR"];

    // Act
    let winners = create_concurrently(
        (0..50).map(|i| (store.clone(), user_named(variants[i % variants.len()]))),
    )
    .await;

    // Assert
    assert_eq!(winners.len(), 1);
    assert_eq!(count(&store, "users").await, 1);
    store.close().await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_write_waits_for_another_connections_write_transaction_instead_of_failing() {
    // Arrange: a second pool on the same file holds the write lock.
    let (store, dir) = fresh_store().await;
    let file = file_in(&dir);
    let existing = user_named("existing");
    store.create_user(&existing).await.unwrap();
    let other = Database::connect(url_of(&file)).await.unwrap();
    let transaction = other.begin().await.unwrap();
    let locked = transaction
        .execute_unprepared("UPDATE users SET updated_at = updated_at")
        .await
        .unwrap();
    assert_eq!(locked.rows_affected(), 1);

    // Act: write through the store while the lock is held, release it after ~1 s.
    let started = Instant::now();
    let writer = {
        let store = store.clone();
        tokio::spawn(async move { store.create_user(&user_named("waiting")).await })
    };
    tokio::time::sleep(Duration::from_secs(1)).await;
    assert!(!writer.is_finished(), "the write must wait for the lock");
    transaction.commit().await.unwrap();
    let result = writer.await.unwrap();

    // Assert
    assert!(result.is_ok(), "{result:?}");
    assert!(started.elapsed() >= Duration::from_millis(900));
    assert_eq!(count(&store, "users").await, 2);
    other.close().await.unwrap();
    store.close().await;
}

#[tokio::test]
async fn a_flask_import_batch_over_one_statements_bound_values_is_written_whole() {
    // Arrange: 4,700 users bind 47,000 values, over SQLite's 32,766 per statement.
    let (store, _dir) = fresh_store().await;
    let batch: Vec<FlaskImport> = (0..4_700)
        .map(|flask_id| FlaskImport {
            flask_id,
            user: user_named(&format!("flask-user-{flask_id}")),
        })
        .collect();

    // Act
    let outcome = store.insert_flask_users(&batch, epoch()).await.unwrap();

    // Assert
    assert_eq!(outcome.inserted.len(), 4_700);
    assert_eq!(count(&store, "users").await, 4_700);
    assert_eq!(count(&store, "flask_user_ids").await, 4_700);
    store.close().await;
}

#[tokio::test]
async fn the_database_file_is_created_when_missing() {
    // Arrange
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("new.db");
    assert!(!file.exists());

    // Act
    let store = SeaStore::connect(&url_of(&file), &StoreOptions::default())
        .await
        .unwrap();
    store.migrate().await.unwrap();

    // Assert
    assert!(file.exists());
    assert_eq!(store.backend(), Backend::Sqlite);
    assert_eq!(store.backend_name(), "sqlite");
    store.ping().await.unwrap();
    store.close().await;
}

#[tokio::test]
async fn the_file_is_opened_in_wal_mode_with_durable_commits_and_foreign_keys() {
    let (store, _dir) = fresh_store().await;
    let pragma = async |name: &str| -> i64 {
        query_value(store.connection(), &format!("SELECT * FROM pragma_{name}")).await
    };
    assert_eq!(pragma("synchronous").await, 2, "FULL");
    assert_eq!(pragma("foreign_keys").await, 1);
    assert_eq!(pragma("busy_timeout").await, 5000);
    let journal_mode: String = query_value(store.connection(), "PRAGMA journal_mode").await;
    assert_eq!(journal_mode, "wal");
    store.close().await;
}

#[tokio::test]
async fn purge_orders_instants_whose_text_has_different_fraction_lengths() {
    // SQLite keeps timestamps as RFC 3339 text with 0, 3 or 6 fraction
    // digits; comparisons must still follow time, not string length.
    let (store, _dir) = fresh_store().await;
    let user = user_named("alice");
    store.create_user(&user).await.unwrap();
    let whole_second = chrono::DateTime::from_timestamp(1_767_225_600, 0).unwrap();
    let micro = TimeDelta::microseconds(1);
    let milli = TimeDelta::milliseconds(1);
    let later = whole_second + TimeDelta::days(1);
    let ending = |idle_expires_at, expires_at| {
        let mut session = session_of(user.id, whole_second - TimeDelta::hours(1));
        session.idle_expires_at = idle_expires_at;
        session.expires_at = expires_at;
        session
    };
    let ends_on_the_second = ending(later, whole_second);
    let ends_a_microsecond_later = ending(later, whole_second + micro);
    let idles_out_a_millisecond_earlier = ending(whole_second - milli, later);
    for session in [
        &ends_on_the_second,
        &ends_a_microsecond_later,
        &idles_out_a_millisecond_earlier,
    ] {
        store.insert_session(session).await.unwrap();
    }

    assert_eq!(store.purge_expired_sessions(whole_second).await.unwrap(), 2);

    assert!(
        store
            .find_session(&ends_a_microsecond_later.id)
            .await
            .unwrap()
            .is_some()
    );
    assert_eq!(
        store
            .purge_expired_sessions(whole_second + micro)
            .await
            .unwrap(),
        1
    );
    store.close().await;
}

#[tokio::test]
async fn a_stored_username_that_no_longer_parses_is_unavailable_not_absent() {
    // Arrange: a row written behind the store's back, its canonical key fine
    // but its display name invalid.
    let (store, _dir) = fresh_store().await;
    store
        .connection()
        .execute_unprepared(
            "INSERT INTO users (id, username, username_canonical, password_hash, created_at, updated_at) \
             VALUES (X'0190000000007000800000000000000a', 'not a name', 'not.a.name', 'x', \
             '2026-01-01T00:00:00+00:00', '2026-01-01T00:00:00+00:00')",
        )
        .await
        .unwrap();

    // Act
    let found = store
        .find_user_by_username(&Username::parse("Not.A.Name").unwrap())
        .await;

    // Assert
    let Err(StoreError::Unavailable(source)) = found else {
        panic!("expected Unavailable, got {found:?}");
    };
    assert!(
        source.to_string().contains("not a valid username"),
        "{source}"
    );
    store.close().await;
}

#[tokio::test]
async fn an_in_memory_database_is_one_shared_connection() {
    let store = SeaStore::connect("sqlite::memory:", &StoreOptions::default())
        .await
        .unwrap();
    store.migrate().await.unwrap();
    let user = user_named("ephemeral");

    store.create_user(&user).await.unwrap();

    let other_handle = store.clone();
    assert_eq!(
        other_handle.find_user_by_id(user.id).await.unwrap(),
        Some(user)
    );
    store.close().await;
}

#[tokio::test]
async fn after_close_every_handle_is_unavailable() {
    let (store, _dir) = fresh_store().await;
    let other = store.clone();
    store.close().await;

    let result = other.find_user_by_id(UserId::new()).await;

    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "{result:?}"
    );
    assert!(matches!(
        other.ping().await,
        Err(StoreError::Unavailable(_))
    ));
}

#[tokio::test]
async fn urls_of_other_databases_are_refused_without_echoing_them() {
    for url in ["mysql://root:hunter2@localhost/auth", "not a url hunter2"] {
        let result = SeaStore::connect(url, &StoreOptions::default()).await;
        let Err(StoreError::Unavailable(source)) = result else {
            panic!("{url}: expected Unavailable");
        };
        assert!(!source.to_string().contains("hunter2"), "{source}");
    }
}

#[tokio::test]
async fn an_operation_that_cannot_finish_in_time_fails_as_unavailable_instead_of_hanging() {
    // Arrange: a store with a short operation limit, and another connection
    // holding the write lock for longer than that.
    let (migrated, dir) = fresh_store().await;
    let file = file_in(&dir);
    migrated.close().await;
    let store = SeaStore::connect(
        &url_of(&file),
        &StoreOptions {
            operation_timeout: Duration::from_millis(300),
            ..StoreOptions::default()
        },
    )
    .await
    .unwrap();
    let other = Database::connect(url_of(&file)).await.unwrap();
    let transaction = other.begin().await.unwrap();
    transaction
        .execute_unprepared("INSERT INTO login_failures (account, failed_at) VALUES ('x', '2026-01-01T00:00:00+00:00')")
        .await
        .unwrap();

    // Act
    let started = Instant::now();
    let result = store.create_user(&user_named("blocked")).await;

    // Assert: refused after the limit, well before SQLite's 5 s busy timeout.
    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "{result:?}"
    );
    let elapsed = started.elapsed();
    assert!(
        elapsed >= Duration::from_millis(250) && elapsed < Duration::from_secs(3),
        "{elapsed:?}"
    );
    transaction.rollback().await.unwrap();
    other.close().await.unwrap();
    // The store works again once the lock is gone.
    store.create_user(&user_named("after")).await.unwrap();
    store.close().await;
}

#[cfg(unix)]
#[tokio::test]
async fn the_database_file_and_its_wal_and_shm_are_readable_by_the_owner_only() {
    use std::os::unix::fs::PermissionsExt as _;
    // With the usual umask (022) SQLite alone would create them 0644.
    let (store, dir) = fresh_store().await;
    store.create_user(&user_named("alice")).await.unwrap();

    for name in ["auth.db", "auth.db-wal", "auth.db-shm"] {
        let path = dir.path().join(name);
        let mode = std::fs::metadata(&path)
            .unwrap_or_else(|error| panic!("{name}: {error}"))
            .permissions()
            .mode();
        assert_eq!(mode & 0o077, 0, "{name} has mode {:o}", mode & 0o777);
    }
    store.close().await;
}
