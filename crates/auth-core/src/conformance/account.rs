//! Rules for the self-service parts of the ports: listing and revoking a
//! user's sessions, deleting a user with everything tied to it, and the
//! [`crate::EventStore`].

use chrono::TimeDelta;

use super::throttle::key;
use super::{epoch, session_of, user_named};
use crate::{Client, Device, DeviceId, EventKind, SecurityEvent, Store, User, UserAgent, UserId};

async fn stored_user<S: Store>(store: &S, name: &str) -> User {
    let user = user_named(name);
    store.create_user(&user).await.unwrap();
    user
}

/// A user's sessions are listed with every field, and only theirs.
pub async fn sessions_are_listed_per_user_with_every_field<S: Store>(store: S) {
    let alice = stored_user(&store, "alice").await;
    let bob = stored_user(&store, "bob").await;
    let mine = [
        session_of(alice.id, epoch()),
        session_of(alice.id, epoch() + TimeDelta::seconds(1)),
    ];
    for session in &mine {
        store.insert_session(session).await.unwrap();
    }
    store
        .insert_session(&session_of(bob.id, epoch()))
        .await
        .unwrap();
    let mut listed = store.list_sessions(alice.id).await.unwrap();
    listed.sort_by_key(|session| session.created_at);
    assert_eq!(listed, mine);
    assert!(store.list_sessions(UserId::new()).await.unwrap().is_empty());
}

/// Revoking the others keeps the given session and other users' sessions,
/// for every handle.
pub async fn sessions_revoke_others_keeps_the_given_one_and_other_users<S: Store>(store: S) {
    let alice = stored_user(&store, "alice").await;
    let bob = stored_user(&store, "bob").await;
    let keep = session_of(alice.id, epoch());
    let others = [session_of(alice.id, epoch()), session_of(alice.id, epoch())];
    let bobs = session_of(bob.id, epoch());
    for session in others.iter().chain([&keep, &bobs]) {
        store.insert_session(session).await.unwrap();
    }
    assert_eq!(
        store
            .revoke_other_sessions(alice.id, &keep.id)
            .await
            .unwrap(),
        2
    );
    let other_handle = store.clone();
    assert!(other_handle.find_session(&keep.id).await.unwrap().is_some());
    assert!(other_handle.find_session(&bobs.id).await.unwrap().is_some());
    for session in &others {
        assert!(
            other_handle
                .find_session(&session.id)
                .await
                .unwrap()
                .is_none()
        );
    }
}

/// Deleting a user removes it and everything tied to it, frees its name,
/// and leaves other users' data alone.
pub async fn users_deleted_take_their_sessions_devices_failures_and_events<S: Store>(store: S) {
    let alice = stored_user(&store, "alice").await;
    let bob = stored_user(&store, "bob").await;
    let session = session_of(alice.id, epoch());
    let bobs = session_of(bob.id, epoch());
    store.insert_session(&session).await.unwrap();
    store.insert_session(&bobs).await.unwrap();
    for (byte, name) in [(1, "alice"), (2, "bob")] {
        let device = Device {
            id: DeviceId::from_bytes([byte; 32]),
            account: key(name),
            created_at: epoch(),
            expires_at: epoch() + TimeDelta::days(1),
        };
        store.insert_device(&device).await.unwrap();
        store
            .record_login_failure(&key(name), None, epoch())
            .await
            .unwrap();
        let user_id = if name == "alice" { alice.id } else { bob.id };
        store
            .append_event(&event(EventKind::LoginFailed, user_id, 0))
            .await
            .unwrap();
    }

    assert!(store.delete_user(alice.id, &key("alice")).await.unwrap());

    let other = store.clone();
    assert_eq!(other.find_user_by_id(alice.id).await.unwrap(), None);
    assert!(other.find_session(&session.id).await.unwrap().is_none());
    let alices_device = DeviceId::from_bytes([1; 32]);
    assert!(other.find_device(&alices_device).await.unwrap().is_none());
    let failures = other.login_failure_stats(&key("alice"), epoch()).await;
    assert_eq!(failures.unwrap().account_failures, 0);
    assert!(other.user_events(alice.id, 10).await.unwrap().is_empty());
    // Bob is untouched, and the name is free again.
    assert!(other.find_session(&bobs.id).await.unwrap().is_some());
    let bobs_device = DeviceId::from_bytes([2; 32]);
    assert!(other.find_device(&bobs_device).await.unwrap().is_some());
    assert_eq!(other.user_events(bob.id, 10).await.unwrap().len(), 1);
    other.create_user(&user_named("Alice")).await.unwrap();
    assert!(!store.delete_user(alice.id, &key("alice")).await.unwrap());
}

fn event(kind: EventKind, user_id: UserId, secs: i64) -> SecurityEvent {
    let client = Client {
        ip: "2001:db8::5".parse().ok(),
        user_agent: UserAgent::new("conformance/1"),
        request_id: Some(format!("req-{secs}")),
        ..Client::default()
    };
    SecurityEvent::new(
        kind,
        Some(user_id),
        &client,
        epoch() + TimeDelta::seconds(secs),
    )
}

/// Events read back exactly, newest first, the later appended first at
/// equal times, limited, and only the user's own.
pub async fn events_are_the_users_own_newest_first_and_exact<S: Store>(store: S) {
    let alice = UserId::new();
    let bob = UserId::new();
    let appended = [
        event(EventKind::Registered, alice, 0),
        event(EventKind::LoginSucceeded, alice, 5),
        event(EventKind::LoginFailed, bob, 6),
        event(EventKind::LoggedOut, alice, 5),
        event(EventKind::PasswordChanged, alice, 9),
    ];
    for event in &appended {
        store.append_event(event).await.unwrap();
    }
    let anonymous = SecurityEvent {
        user_id: None,
        ..event(EventKind::LoginFailed, alice, 7)
    };
    store.append_event(&anonymous).await.unwrap();

    let newest = store.user_events(alice, 3).await.unwrap();

    assert_eq!(
        newest,
        [
            appended[4].clone(),
            appended[3].clone(),
            appended[1].clone()
        ]
    );
    assert_eq!(store.user_events(alice, 10).await.unwrap().len(), 4);
    assert_eq!(
        store.user_events(bob, 10).await.unwrap(),
        [appended[2].clone()]
    );
}

/// Purge removes events from before the cut-off only.
pub async fn events_purge_removes_old_events_only<S: Store>(store: S) {
    let alice = UserId::new();
    for secs in [0, 10, 20] {
        store
            .append_event(&event(EventKind::LoginSucceeded, alice, secs))
            .await
            .unwrap();
    }
    let cut = epoch() + TimeDelta::seconds(10);
    assert_eq!(store.purge_events(cut).await.unwrap(), 1);
    assert_eq!(store.user_events(alice, 10).await.unwrap().len(), 2);
}

/// Concurrent appends are all kept.
pub async fn events_concurrent_appends_are_all_kept<S: Store>(store: S) {
    let alice = UserId::new();
    let mut tasks = Vec::new();
    for secs in 0..20 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .append_event(&event(EventKind::LoginFailed, alice, secs))
                .await
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    assert_eq!(store.user_events(alice, 100).await.unwrap().len(), 20);
}
