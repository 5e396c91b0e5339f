//! `SeaStore` on PostgreSQL: the storage contract and the migrations,
//! against the server named by `AUTH_TEST_DATABASE_URL`
//! (e.g. `postgres://postgres@127.0.0.1:5432/test`). Unset, those tests skip
//! and say so on stderr; CI sets it.
//!
//! Each test creates its own database (`auth_test_<uuid v7>`) through the
//! admin URL, so tests run in parallel, and drops it afterwards. A test that
//! panics skips its teardown; the next run drops such leftovers once they
//! are an hour old (the UUID v7 in the name carries its creation time).
//!
//! The unreachable-server test needs no server and always runs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::time::{Duration, Instant};

use auth_core::conformance::{epoch, session_of, user_named};
use auth_core::{CacheEvent, SessionStore as _, StoreError, UserRepository as _};
use auth_store_sea::{Backend, SeaStore, StoreOptions};
use chrono::TimeDelta;
use migration::{Migrator, MigratorTrait as _, SchemaManager};
use sea_orm::{ConnectionTrait as _, Database, DatabaseConnection, DbBackend, Statement};
use uuid::Uuid;

const URL_VARIABLE: &str = "AUTH_TEST_DATABASE_URL";
const DATABASE_PREFIX: &str = "auth_test_";

fn admin_url() -> Option<String> {
    let url = std::env::var(URL_VARIABLE)
        .ok()
        .filter(|url| !url.is_empty());
    if url.is_none() {
        eprintln!("skipped: {URL_VARIABLE} is not set");
    }
    url
}

async fn admin(url: &str) -> DatabaseConnection {
    Database::connect(url).await.unwrap()
}

/// A migrated store on a database of its own, or `None` (skip) without a server.
async fn fresh_store() -> Option<SeaStore> {
    let admin_url = admin_url()?;
    let admin = admin(&admin_url).await;
    drop_stale_databases(&admin).await;
    let name = format!("{DATABASE_PREFIX}{}", Uuid::now_v7().simple());
    admin
        .execute_unprepared(&format!("CREATE DATABASE \"{name}\""))
        .await
        .unwrap();
    admin.close().await.unwrap();
    let mut url = url::Url::parse(&admin_url).unwrap();
    url.set_path(&name);
    let options = StoreOptions {
        // Tests run in parallel against one server (max_connections 100 by default).
        max_connections: 5,
        ..StoreOptions::default()
    };
    let store = SeaStore::connect(url.as_str(), &options).await.unwrap();
    store.migrate().await.unwrap();
    Some(store)
}

/// Closes the store and drops its database.
async fn drop_store(store: SeaStore) {
    let row = store
        .connection()
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT current_database() AS name",
        ))
        .await
        .unwrap()
        .unwrap();
    let name: String = row.try_get("", "name").unwrap();
    assert!(name.starts_with(DATABASE_PREFIX), "{name}");
    store.close().await;
    let admin = admin(&admin_url().unwrap()).await;
    admin
        .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
        .await
        .unwrap();
    admin.close().await.unwrap();
}

/// Drops test databases left by panicked tests, once they are an hour old
/// (younger ones may belong to tests running now).
async fn drop_stale_databases(admin: &DatabaseConnection) {
    let rows = admin
        .query_all_raw(Statement::from_string(
            DbBackend::Postgres,
            format!("SELECT datname FROM pg_database WHERE datname LIKE '{DATABASE_PREFIX}%'"),
        ))
        .await
        .unwrap();
    let an_hour_ago = chrono::Utc::now() - TimeDelta::hours(1);
    for row in rows {
        let name: String = row.try_get("", "datname").unwrap();
        let created = name
            .strip_prefix(DATABASE_PREFIX)
            .and_then(|id| Uuid::parse_str(id).ok())
            .and_then(|id| id.get_timestamp())
            .map(|ts| ts.to_unix())
            .and_then(|(secs, nanos)| chrono::DateTime::from_timestamp(secs as i64, nanos));
        if created.is_some_and(|created| created < an_hour_ago) {
            // Another test may be dropping it at the same moment: ignore failures.
            let _ = admin
                .execute_unprepared(&format!("DROP DATABASE IF EXISTS \"{name}\" WITH (FORCE)"))
                .await;
        }
    }
}

auth_core::store_conformance!(fresh_store, drop_store);

#[tokio::test]
async fn migrations_go_down_and_up_again() {
    let Some(store) = fresh_store().await else {
        return;
    };
    let db = store.connection();
    let schema = SchemaManager::new(db);

    Migrator::down(db, None).await.unwrap();
    assert!(!schema.has_table("users").await.unwrap());
    assert!(!schema.has_table("sessions").await.unwrap());
    assert!(!schema.has_table("login_failures").await.unwrap());
    assert!(!schema.has_table("flask_user_ids").await.unwrap());
    assert_eq!(
        Migrator::get_pending_migrations(db).await.unwrap().len(),
        Migrator::migrations().len()
    );

    Migrator::up(db, None).await.unwrap();
    assert!(
        Migrator::get_pending_migrations(db)
            .await
            .unwrap()
            .is_empty()
    );
    let user = user_named("after.migrations");
    store.create_user(&user).await.unwrap();
    store
        .insert_session(&session_of(user.id, epoch()))
        .await
        .unwrap();
    assert_eq!(store.backend(), Backend::Postgres);
    drop_store(store).await;
}

#[tokio::test]
async fn deleting_a_user_deletes_their_sessions() {
    let Some(store) = fresh_store().await else {
        return;
    };
    let user = user_named("leaving");
    store.create_user(&user).await.unwrap();
    let session = session_of(user.id, epoch());
    store.insert_session(&session).await.unwrap();

    store
        .connection()
        .execute_unprepared("DELETE FROM users")
        .await
        .unwrap();

    assert_eq!(store.find_session(&session.id).await.unwrap(), None);
    drop_store(store).await;
}

#[tokio::test]
async fn an_unreachable_server_fails_cleanly_within_the_timeouts() {
    // Port 1 is closed: connections are refused (sqlx retries until the timeout).
    let url = "postgres://auth:s3cret-password@127.0.0.1:1/auth";
    let options = StoreOptions {
        connect_timeout: Duration::from_millis(500),
        acquire_timeout: Duration::from_millis(500),
        ..StoreOptions::default()
    };
    let started = Instant::now();

    let eager = SeaStore::connect(url, &options).await;
    let lazy = SeaStore::connect(
        url,
        &StoreOptions {
            connect_lazily: true,
            ..options.clone()
        },
    )
    .await
    .unwrap();
    let ping = lazy.ping().await;
    let query = lazy.find_user_by_id(auth_core::UserId::new()).await;

    let Err(StoreError::Unavailable(connect_error)) = eager else {
        panic!("connect must fail with Unavailable");
    };
    let Err(StoreError::Unavailable(ping_error)) = ping else {
        panic!("ping must fail with Unavailable, got {ping:?}");
    };
    assert!(
        matches!(query, Err(StoreError::Unavailable(_))),
        "{query:?}"
    );
    for error in [connect_error.to_string(), ping_error.to_string()] {
        assert!(!error.contains("s3cret"), "{error}");
    }
    assert!(
        started.elapsed() < Duration::from_secs(5),
        "{:?}",
        started.elapsed()
    );
    lazy.close().await;
}

#[tokio::test]
async fn revocations_reach_every_follower_through_listen_notify() {
    let Some(store) = fresh_store().await else {
        return;
    };
    let (sender, mut events) = tokio::sync::mpsc::unbounded_channel();
    let follower = store.clone();
    let feed = tokio::spawn(async move {
        follower
            .follow_revocations(move |event| {
                let _ = sender.send(event);
            })
            .await;
    });
    assert_eq!(next_event(&mut events).await, Some(CacheEvent::Listening));

    let user = user_named("alice");
    store.create_user(&user).await.unwrap();
    let first = session_of(user.id, epoch());
    let second = session_of(user.id, epoch());
    store.insert_session(&first).await.unwrap();
    store.insert_session(&second).await.unwrap();

    assert!(store.revoke_session(&first.id).await.unwrap());
    assert_eq!(
        next_event(&mut events).await,
        Some(CacheEvent::SessionRevoked(first.id))
    );
    // Nothing deleted, nothing sent: the next event is the user-wide one.
    assert!(!store.revoke_session(&first.id).await.unwrap());
    assert_eq!(store.revoke_all_sessions(user.id).await.unwrap(), 1);
    assert_eq!(
        next_event(&mut events).await,
        Some(CacheEvent::UserRevoked(user.id))
    );

    feed.abort();
    drop_store(store).await;
}

async fn next_event(
    events: &mut tokio::sync::mpsc::UnboundedReceiver<CacheEvent>,
) -> Option<CacheEvent> {
    tokio::time::timeout(Duration::from_secs(5), events.recv())
        .await
        .expect("an event within 5 s")
}

#[tokio::test]
async fn instances_starting_together_apply_each_migration_once() {
    let Some(store) = fresh_store().await else {
        return;
    };
    let db = store.connection();
    Migrator::down(db, None).await.unwrap();
    let row = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT current_database() AS name",
        ))
        .await
        .unwrap()
        .unwrap();
    let name: String = row.try_get("", "name").unwrap();
    let mut url = url::Url::parse(&admin_url().unwrap()).unwrap();
    url.set_path(&name);

    // Six "instances" migrate the empty database at the same moment.
    let options = StoreOptions {
        max_connections: 2,
        ..StoreOptions::default()
    };
    let mut starts = Vec::new();
    for _ in 0..6 {
        let url = url.to_string();
        let options = options.clone();
        starts.push(tokio::spawn(async move {
            let instance = SeaStore::connect(&url, &options).await.unwrap();
            let migrated = instance.migrate().await;
            instance.close().await;
            migrated
        }));
    }
    for start in starts {
        start.await.unwrap().unwrap();
    }
    let applied = db
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT count(*) AS n FROM seaql_migrations",
        ))
        .await
        .unwrap()
        .unwrap();
    let applied: i64 = applied.try_get("", "n").unwrap();
    assert_eq!(applied as usize, Migrator::migrations().len());
    assert!(
        Migrator::get_pending_migrations(db)
            .await
            .unwrap()
            .is_empty()
    );
    drop_store(store).await;
}

/// `admin_url()` with `pairs` added to its query string.
fn with_query(url: &str, pairs: &[(&str, &str)]) -> String {
    let mut url = url::Url::parse(url).unwrap();
    url.query_pairs_mut().extend_pairs(pairs);
    url.to_string()
}

/// Whether this store's own connection is encrypted, as the server sees it.
async fn connection_uses_tls(store: &SeaStore) -> bool {
    let row = store
        .connection()
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()",
        ))
        .await
        .unwrap()
        .unwrap();
    row.try_get("", "ssl").unwrap()
}

#[tokio::test]
async fn tls_is_used_and_verified_as_the_url_asks() {
    // Managed PostgreSQL (RDS, Cloud SQL, Azure) requires TLS: the workspace
    // builds sqlx with rustls, and the URL's `sslmode` decides.
    let Some(admin_url) = admin_url() else { return };
    let admin = admin(&admin_url).await;
    let row = admin
        .query_one_raw(Statement::from_string(
            DbBackend::Postgres,
            "SELECT current_setting('ssl') AS ssl",
        ))
        .await
        .unwrap()
        .unwrap();
    let server_ssl: String = row.try_get("", "ssl").unwrap();
    admin.close().await.unwrap();
    if server_ssl != "on" {
        eprintln!("skipped: the PostgreSQL server has ssl = {server_ssl}");
        return;
    }
    let options = StoreOptions {
        max_connections: 1,
        connect_timeout: Duration::from_secs(5),
        ..StoreOptions::default()
    };

    let required = SeaStore::connect(&with_query(&admin_url, &[("sslmode", "require")]), &options)
        .await
        .unwrap();
    assert!(
        connection_uses_tls(&required).await,
        "sslmode=require must encrypt"
    );
    required.close().await;

    let plain = SeaStore::connect(&with_query(&admin_url, &[("sslmode", "disable")]), &options)
        .await
        .unwrap();
    assert!(
        !connection_uses_tls(&plain).await,
        "sslmode=disable must not"
    );
    plain.close().await;

    // verify-full checks the certificate against the bundled public roots:
    // a self-signed server certificate (Debian's snakeoil one here) must be
    // refused, cleanly, as Unavailable.
    let verified = SeaStore::connect(
        &with_query(&admin_url, &[("sslmode", "verify-full")]),
        &options,
    )
    .await;
    assert!(
        matches!(verified, Err(StoreError::Unavailable(_))),
        "an untrusted certificate must be refused, got {verified:?}"
    );

    // ...and accepted once that certificate is named as the root
    // (`sslrootcert`), which is how a private CA is configured.
    let certificate = "/etc/ssl/certs/ssl-cert-snakeoil.pem";
    if std::fs::read(certificate).is_ok() {
        let pinned = SeaStore::connect(
            &with_query(
                &admin_url,
                &[("sslmode", "verify-ca"), ("sslrootcert", certificate)],
            ),
            &options,
        )
        .await
        .unwrap();
        assert!(connection_uses_tls(&pinned).await);
        pinned.close().await;
    } else {
        eprintln!("not checked: verify-ca with {certificate} (not readable here)");
    }
}
