//! Credential versions: a password set while logins are in flight wins.
//! Each login that verified the old password either finished before the
//! change (and its session is revoked with the others) or finds the
//! credential changed (no session, no rehash over the new hash). On SQLite
//! and, when configured, PostgreSQL.

use futures::future::join_all;
use poem::http::StatusCode;

use crate::cli::{TestDatabase, on_every_backend};
use crate::helpers::{GOOD_PASSWORD, Options, spawn_app_with};

const NEW_PASSWORD: &str = "walnut harbor seventeen kites";

on_every_backend!(a_password_set_during_logins_leaves_no_old_session_and_keeps_the_new_hash);

async fn a_password_set_during_logins_leaves_no_old_session_and_keeps_the_new_hash(
    db: &TestDatabase,
) {
    // Registered at ln=4; the instance under test hashes at ln=6, so every
    // login with the old password also rehashes it.
    let old = spawn_app_with(Options::default().on(&db.url)).await;
    old.post_register("alice", GOOD_PASSWORD).await;
    let app = spawn_app_with(
        Options::default()
            .on(&db.url)
            .with("--scrypt-log-n", 6)
            .with("--session-cache-capacity", 0)
            // Logins still in flight after the change fail: no back-off from them.
            .with("--login-free-failures", 1000),
    )
    .await;
    let auth = app.app.auth().clone();
    let name = auth_core::Username::parse("alice").unwrap();
    let alice = auth_core::UserRepository::find_user_by_username(auth.store(), &name)
        .await
        .unwrap()
        .unwrap();

    let logins = join_all((0..24).map(|_| app.post_login("alice", GOOD_PASSWORD)));
    let change = async {
        tokio::task::yield_now().await;
        auth.set_password(alice.id, auth_core::Password::new(NEW_PASSWORD))
            .await
    };
    let (replies, changed) = tokio::join!(logins, change);

    changed.unwrap();
    for reply in &replies {
        if reply.status == StatusCode::OK {
            let token = reply.body["token"].as_str().unwrap();
            app.get_protected_bearer(token)
                .await
                .assert_error(401, "unauthorized");
        }
    }
    assert_eq!(
        app.post_login("alice", NEW_PASSWORD).await.status,
        StatusCode::OK
    );
    app.post_login("alice", GOOD_PASSWORD)
        .await
        .assert_error(401, "invalid_credentials");
}
