//! Rules for [`SessionStore`].

use chrono::TimeDelta;

use super::{epoch, session_of, user_named};
use crate::{PasswordHash, SessionId, Store, User};

async fn stored_user<S: Store>(store: &S, name: &str) -> User {
    let user = user_named(name);
    store.create_user(&user).await.unwrap();
    user
}

/// Every field reads back exactly, timestamps to the microsecond.
pub async fn sessions_round_trip_every_field_exactly<S: Store>(store: S) {
    let user = stored_user(&store, "alice").await;
    let session = session_of(user.id, epoch());
    store.insert_session(&session).await.unwrap();
    let found = store.find_session(&session.id).await.unwrap().unwrap();
    assert_eq!(found, session);
    assert_eq!(found.created_at.timestamp_subsec_micros(), 123_456);
}

/// An id never inserted is `None`.
pub async fn sessions_unknown_are_none<S: Store>(store: S) {
    assert_eq!(
        store
            .find_session(&SessionId::from_bytes([7; 32]))
            .await
            .unwrap(),
        None
    );
}

/// `touch_session` sets last-seen and idle expiry, nothing else.
pub async fn sessions_touch_updates_last_seen_and_idle_expiry_only<S: Store>(store: S) {
    let user = stored_user(&store, "alice").await;
    let session = session_of(user.id, epoch());
    store.insert_session(&session).await.unwrap();
    let seen = epoch() + TimeDelta::minutes(10);
    let idle = seen + TimeDelta::hours(1);
    assert!(store.touch_session(&session.id, seen, idle).await.unwrap());
    let found = store.find_session(&session.id).await.unwrap().unwrap();
    assert_eq!(found.last_seen_at, seen);
    assert_eq!(found.idle_expires_at, idle);
    assert_eq!(found.created_at, session.created_at);
    assert_eq!(found.expires_at, session.expires_at);
    assert_eq!(found.user_id, session.user_id);
}

/// Touching an unknown session is `false` and creates nothing.
pub async fn sessions_touch_of_unknown_session_is_false<S: Store>(store: S) {
    let id = SessionId::from_bytes([9; 32]);
    assert!(!store.touch_session(&id, epoch(), epoch()).await.unwrap());
    assert_eq!(store.find_session(&id).await.unwrap(), None);
}

/// `revoke_session` removes that session only, and is `false` the second time.
pub async fn sessions_revoke_removes_exactly_one<S: Store>(store: S) {
    let user = stored_user(&store, "alice").await;
    let first = session_of(user.id, epoch());
    let second = session_of(user.id, epoch());
    store.insert_session(&first).await.unwrap();
    store.insert_session(&second).await.unwrap();
    assert!(store.revoke_session(&first.id).await.unwrap());
    assert!(!store.revoke_session(&first.id).await.unwrap());
    assert_eq!(store.find_session(&first.id).await.unwrap(), None);
    assert_eq!(store.find_session(&second.id).await.unwrap(), Some(second));
}

/// A session revoked through one handle is gone through every other.
pub async fn sessions_revoked_are_gone_for_every_handle<S: Store>(store: S) {
    let other = store.clone();
    let user = stored_user(&store, "alice").await;
    let session = session_of(user.id, epoch());
    store.insert_session(&session).await.unwrap();
    assert!(other.find_session(&session.id).await.unwrap().is_some());
    assert!(store.revoke_session(&session.id).await.unwrap());
    assert_eq!(other.find_session(&session.id).await.unwrap(), None);
}

/// `revoke_all_sessions` deletes all of one user's sessions and no one else's.
pub async fn sessions_revoke_all_leaves_other_users_alone<S: Store>(store: S) {
    let alice = stored_user(&store, "alice").await;
    let bob = stored_user(&store, "bob").await;
    let alices: Vec<_> = (0..3).map(|_| session_of(alice.id, epoch())).collect();
    let bobs = session_of(bob.id, epoch());
    for session in &alices {
        store.insert_session(session).await.unwrap();
    }
    store.insert_session(&bobs).await.unwrap();
    assert_eq!(store.revoke_all_sessions(alice.id).await.unwrap(), 3);
    for session in &alices {
        assert_eq!(store.find_session(&session.id).await.unwrap(), None);
    }
    assert_eq!(store.find_session(&bobs.id).await.unwrap(), Some(bobs));
    assert_eq!(store.revoke_all_sessions(alice.id).await.unwrap(), 0);
}

/// `insert_session_if_credential` stores the session only while the user's
/// hash is the one the login verified, and says which.
pub async fn sessions_are_inserted_only_for_the_current_credential<S: Store>(store: S) {
    let alice = stored_user(&store, "alice").await;
    let verified = alice.password_hash.clone();
    let stale = session_of(alice.id, epoch());
    let fresh = session_of(alice.id, epoch());
    let nobody = session_of(crate::UserId::new(), epoch());

    assert!(
        store
            .insert_session_if_credential(&fresh, &verified)
            .await
            .unwrap()
    );
    let changed = PasswordHash::from_stored("$scrypt$ln=17,r=8,p=1$bmV3$new-password");
    store
        .set_password_hash(alice.id, &changed, epoch())
        .await
        .unwrap();
    assert!(
        !store
            .insert_session_if_credential(&stale, &verified)
            .await
            .unwrap()
    );
    assert!(
        !store
            .insert_session_if_credential(&nobody, &verified)
            .await
            .unwrap()
    );

    assert_eq!(store.find_session(&fresh.id).await.unwrap(), Some(fresh));
    assert_eq!(store.find_session(&stale.id).await.unwrap(), None);
    assert_eq!(store.find_session(&nobody.id).await.unwrap(), None);
}

/// `revoke_sessions_beyond` keeps a user's newest sessions, deletes the
/// older ones for every handle, and leaves other users alone.
pub async fn sessions_beyond_the_newest_are_revoked_oldest_first<S: Store>(store: S) {
    let alice = stored_user(&store, "alice").await;
    let bob = stored_user(&store, "bob").await;
    let alices: Vec<_> = (0..5)
        .map(|minute| session_of(alice.id, epoch() + TimeDelta::minutes(minute)))
        .collect();
    let bobs: Vec<_> = (0..2).map(|_| session_of(bob.id, epoch())).collect();
    for session in alices.iter().chain(&bobs) {
        store.insert_session(session).await.unwrap();
    }
    let other_handle = store.clone();

    assert_eq!(store.revoke_sessions_beyond(alice.id, 3).await.unwrap(), 2);

    for old in &alices[..2] {
        assert_eq!(other_handle.find_session(&old.id).await.unwrap(), None);
    }
    for kept in &alices[2..] {
        assert_eq!(
            other_handle.find_session(&kept.id).await.unwrap().as_ref(),
            Some(kept)
        );
    }
    for session in &bobs {
        assert!(store.find_session(&session.id).await.unwrap().is_some());
    }
    assert_eq!(store.revoke_sessions_beyond(alice.id, 3).await.unwrap(), 0);
    assert_eq!(store.revoke_sessions_beyond(bob.id, 0).await.unwrap(), 2);
}

/// Purge deletes sessions past idle or absolute expiry (at or before `now`) and keeps the rest.
pub async fn sessions_purge_removes_idle_and_absolute_expired_only<S: Store>(store: S) {
    let user = stored_user(&store, "alice").await;
    let now = epoch() + TimeDelta::days(2);
    let mut idle_expired = session_of(user.id, now - TimeDelta::hours(2));
    idle_expired.expires_at = now + TimeDelta::days(1);
    let mut absolute_expired = session_of(user.id, epoch());
    absolute_expired.idle_expires_at = now + TimeDelta::hours(1);
    absolute_expired.expires_at = now; // "at or before now" counts as expired
    let live = session_of(user.id, now);
    for session in [&idle_expired, &absolute_expired, &live] {
        store.insert_session(session).await.unwrap();
    }
    assert_eq!(store.purge_expired_sessions(now).await.unwrap(), 2);
    assert_eq!(store.find_session(&idle_expired.id).await.unwrap(), None);
    assert_eq!(
        store.find_session(&absolute_expired.id).await.unwrap(),
        None
    );
    assert_eq!(store.find_session(&live.id).await.unwrap(), Some(live));
    assert_eq!(store.purge_expired_sessions(now).await.unwrap(), 0);
}

/// Sessions inserted concurrently are all kept.
pub async fn sessions_concurrent_inserts_are_all_kept<S: Store>(store: S) {
    let user = stored_user(&store, "alice").await;
    let sessions: Vec<_> = (0..40).map(|_| session_of(user.id, epoch())).collect();
    let mut tasks = Vec::new();
    for session in sessions.clone() {
        let store = store.clone();
        tasks.push(tokio::spawn(
            async move { store.insert_session(&session).await },
        ));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    for session in &sessions {
        assert!(store.find_session(&session.id).await.unwrap().is_some());
    }
    assert_eq!(store.revoke_all_sessions(user.id).await.unwrap(), 40);
}
