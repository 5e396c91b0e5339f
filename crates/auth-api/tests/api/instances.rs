//! Several instances on one PostgreSQL database, each built by the real
//! composition root: the cache strategy (hits confirmed against the
//! revocation log) is what keeps a logout immediate everywhere.

use poem::http::StatusCode;

use crate::cli::TestDatabase;
use crate::helpers::{Options, spawn_app_with};

#[tokio::test]
async fn a_logout_on_one_instance_is_401_on_the_other_at_once() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    let a = spawn_app_with(Options::default().on(&db.url)).await;
    let b = spawn_app_with(Options::default().on(&db.url)).await;
    let token = a.logged_in("alice").await;
    // B caches the session and answers the next checks from its cache.
    for _ in 0..3 {
        assert_eq!(b.get_protected_bearer(&token).await.status, StatusCode::OK);
    }

    let logout = a.post_logout_bearer(&token).await;

    assert_eq!(logout.status, StatusCode::OK, "{}", logout.body);
    // No sleep: the answer must already hold when the logout has answered.
    b.get_protected_bearer(&token)
        .await
        .assert_error(401, "unauthorized");
    b.get_protected_cookie(&token)
        .await
        .assert_error(401, "unauthorized");
    a.get_protected_bearer(&token)
        .await
        .assert_error(401, "unauthorized");
    // The apps go first, then `db` drops its database.
    drop((a, b));
    drop(db);
}

#[tokio::test]
async fn on_postgresql_the_cache_is_shared() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    let app = spawn_app_with(Options::default().on(&db.url)).await;

    let cache = app.app.auth().session_cache();

    assert!(cache.is_enabled());
    assert!(
        cache.is_shared(),
        "hits must be confirmed against the revocation log"
    );
    drop(app);
    drop(db);
}

#[tokio::test]
async fn on_sqlite_the_cache_is_trusted_as_is() {
    let app = spawn_app_with(Options::default()).await;

    let cache = app.app.auth().session_cache();

    assert!(cache.is_enabled());
    assert!(!cache.is_shared());
}
