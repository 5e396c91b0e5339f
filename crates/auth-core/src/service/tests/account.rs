//! Self-service edge cases: what a user's own sessions are, and which
//! account a confirmed password acts on.

use std::time::Duration;

use super::{PASSWORD, registered, service};
use crate::{AuthError, Client, ManualClock, MemoryStore, Password, SessionPolicy};

#[tokio::test]
async fn an_expired_session_cannot_be_revoked_by_its_handle() {
    // Arrange: an old session gone idle beside a fresh one.
    let clock = ManualClock::default();
    let auth = service(MemoryStore::new(), &clock);
    let idle = SessionPolicy::default().idle_timeout;
    registered(&auth, "alice").await;
    let client = Client::default();
    let old = auth
        .login("alice", Password::new(PASSWORD), &client)
        .await
        .unwrap();
    clock.advance(idle / 2);
    let fresh = auth
        .login("alice", Password::new(PASSWORD), &client)
        .await
        .unwrap();
    clock.advance(idle / 2 + Duration::from_secs(1));
    let me = auth.authenticate(fresh.token.as_str()).await.unwrap();

    // Act
    let revoked = auth
        .revoke_session(&me, old.session.id.handle(), &client)
        .await;

    // Assert: not listed, so not found either.
    assert!(
        matches!(revoked, Err(AuthError::SessionNotFound)),
        "{revoked:?}"
    );
    assert_eq!(auth.list_sessions(me.user.id).await.unwrap().len(), 1);
}

#[tokio::test]
async fn a_password_confirmed_for_a_name_registered_again_acts_on_nothing() {
    // Arrange: alice's session is authenticated, then alice is deleted and
    // someone registers the name again with a password the caller knows.
    let clock = ManualClock::default();
    let auth = service(MemoryStore::new(), &clock);
    registered(&auth, "alice").await;
    let client = Client::default();
    let login = auth
        .login("alice", Password::new(PASSWORD), &client)
        .await
        .unwrap();
    let me = auth.authenticate(login.token.as_str()).await.unwrap();
    auth.delete_account(&me, Password::new(PASSWORD), None, &client)
        .await
        .unwrap();
    registered(&auth, "alice").await;
    let newcomer = auth
        .login("alice", Password::new(PASSWORD), &client)
        .await
        .unwrap();

    // Act: the stale `me` confirms the new account's password.
    let changed = auth
        .change_password(
            &me,
            Password::new(PASSWORD),
            None,
            Password::new("another quite long passphrase 7"),
            &client,
        )
        .await;
    let deleted = auth
        .delete_account(&me, Password::new(PASSWORD), None, &client)
        .await;

    // Assert: the newcomer's account and session are untouched.
    assert!(
        matches!(changed, Err(AuthError::NotAuthenticated)),
        "{changed:?}"
    );
    assert!(
        matches!(deleted, Err(AuthError::NotAuthenticated)),
        "{deleted:?}"
    );
    assert!(auth.authenticate(newcomer.token.as_str()).await.is_ok());
    assert!(
        auth.login("alice", Password::new(PASSWORD), &client)
            .await
            .is_ok()
    );
}
