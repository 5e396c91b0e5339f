//! `SeaStore` on PostgreSQL: the storage contract, the adapter rules both
//! backends share (`adapter_rules/`), the revocation log, concurrent
//! migrations and TLS, against the server named by `AUTH_TEST_DATABASE_URL`
//! (e.g. `postgres://postgres@127.0.0.1:5432/test`). Unset, those tests skip
//! and say so on stderr; CI sets it.
//!
//! Each test gets a database of its own (`auth_store_sea::testing::PgTestDatabase`),
//! so tests run in parallel, and the database is dropped when the test ends,
//! passing or panicking.
//!
//! The unreachable-server test needs no server and always runs.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod adapter_rules;

use std::time::{Duration, Instant};

use auth_core::{StoreError, UserRepository as _};
use auth_store_sea::testing::{PgTestDatabase, admin_url};
use auth_store_sea::{Backend, SeaStore, StoreOptions};
use migration::{Migrator, MigratorTrait as _};
use sea_orm::Database;

use crate::adapter_rules::query_value;

/// A migrated store on a database of its own, or `None` (skip) without a server.
async fn fresh_store() -> Option<(SeaStore, PgTestDatabase)> {
    let database = PgTestDatabase::create().await?;
    let options = StoreOptions {
        // Tests run in parallel against one server (max_connections 100 by default).
        max_connections: 5,
        ..StoreOptions::default()
    };
    Some((database.migrated_store(&options).await, database))
}

/// Closes the store; its database goes with the guard.
async fn close_store((store, _database): (SeaStore, PgTestDatabase)) {
    store.close().await;
}

auth_core::store_conformance!(fresh_store, close_store);

auth_core::revocation_log_conformance!(fresh_store, close_store);

auth_core::one_time_token_conformance!(fresh_store, close_store);

auth_core::mail_conformance!(fresh_store, close_store);
auth_core::mfa_conformance!(fresh_store, close_store);
auth_core::passkey_conformance!(fresh_store, close_store);
auth_core::admin_conformance!(fresh_store, close_store);

adapter_rules::adapter_rules!(fresh_store);

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
async fn instances_starting_together_apply_each_migration_once() {
    let Some((store, database)) = fresh_store().await else {
        return;
    };
    assert_eq!(store.backend(), Backend::Postgres);
    let db = store.connection();
    Migrator::down(db, None).await.unwrap();

    // Six "instances" migrate the empty database at the same moment.
    let options = StoreOptions {
        max_connections: 2,
        ..StoreOptions::default()
    };
    let mut starts = Vec::new();
    for _ in 0..6 {
        let url = database.url().to_owned();
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
    let applied: i64 = query_value(db, "SELECT count(*) FROM seaql_migrations").await;
    assert_eq!(applied as usize, Migrator::migrations().len());
    assert!(
        Migrator::get_pending_migrations(db)
            .await
            .unwrap()
            .is_empty()
    );
    store.close().await;
}

/// `admin_url()` with `pairs` added to its query string.
fn with_query(url: &str, pairs: &[(&str, &str)]) -> String {
    let mut url = url::Url::parse(url).unwrap();
    url.query_pairs_mut().extend_pairs(pairs);
    url.to_string()
}

/// Whether this store's own connection is encrypted, as the server sees it.
async fn connection_uses_tls(store: &SeaStore) -> bool {
    let sql = "SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()";
    query_value(store.connection(), sql).await
}

#[tokio::test]
async fn tls_is_used_and_verified_as_the_url_asks() {
    // Managed PostgreSQL (RDS, Cloud SQL, Azure) requires TLS: the workspace
    // builds sqlx with rustls, and the URL's `sslmode` decides.
    let Some(admin_url) = admin_url() else { return };
    let admin = Database::connect(&admin_url).await.unwrap();
    let server_ssl: String = query_value(&admin, "SELECT current_setting('ssl')").await;
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

/// Another store on the same database (another instance) is told of an
/// append through its append signal (`LISTEN`/`NOTIFY`), and only then.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn another_store_hears_each_append_through_its_append_signal() {
    use auth_core::conformance::{epoch, session_of, user_named};
    use auth_core::{RevocationLog as _, SessionStore as _};
    let Some((store, database)) = fresh_store().await else {
        return;
    };
    let other = SeaStore::connect(database.url(), &StoreOptions::default())
        .await
        .unwrap();
    let mut signal = other.append_signal().expect("PostgreSQL signals appends");
    // The listener raises the signal once it listens (appends before went unheard).
    tokio::time::timeout(Duration::from_secs(10), signal.appended())
        .await
        .expect("the listener connected");
    assert!(
        tokio::time::timeout(Duration::from_millis(300), signal.appended())
            .await
            .is_err(),
        "nothing appended, nothing heard"
    );

    let alice = user_named("alice");
    store.create_user(&alice).await.unwrap();
    store
        .insert_session(&session_of(alice.id, epoch()))
        .await
        .unwrap();
    tokio::time::timeout(Duration::from_secs(5), signal.appended())
        .await
        .expect("the login's append was heard by the other store");
    other.close().await;
    close_store((store, database)).await;
}
