//! Rules for the admin ports ([`crate::AdminKeyStore`],
//! [`crate::UserDirectory`], [`crate::AuditLog`]), run by
//! [`crate::admin_conformance!`].

use chrono::TimeDelta;

use super::{epoch, user_named};
use crate::{
    Actor, AdminKey, AdminKeyHash, AdminKeyId, AdminKeyName, AdminStore, Client, EmailAddress,
    EventKind, EventQuery, SecurityEvent, StoreError, User, UserAgent, UserEmail, UserId,
    UserSearch,
};

fn key_named(name: &str, byte: u8) -> AdminKey {
    AdminKey {
        id: AdminKeyId::new(),
        name: AdminKeyName::parse(name).unwrap(),
        hash: AdminKeyHash::from_bytes([byte; 32]),
        created_at: epoch() + TimeDelta::seconds(i64::from(byte)),
        revoked_at: None,
    }
}

async fn stored<S: AdminStore>(store: &S, name: &str, email: Option<&str>) -> User {
    let user = User {
        email: email.map(|email| UserEmail::unverified(EmailAddress::parse(email).unwrap())),
        ..user_named(name)
    };
    store.create_user(&user).await.unwrap();
    user
}

/// Keys read back exactly, are found by their hash only, are listed
/// oldest first, and their names are unique (revoked ones too).
pub async fn admin_keys_round_trip_and_names_are_unique<S: AdminStore>(store: S) {
    let support = key_named("support", 1);
    let billing = key_named("billing.bot", 2);
    store.insert_admin_key(&support).await.unwrap();
    store.insert_admin_key(&billing).await.unwrap();

    assert_eq!(
        store.find_admin_key(&support.hash).await.unwrap(),
        Some(support.clone())
    );
    assert_eq!(
        store
            .find_admin_key(&AdminKeyHash::from_bytes([9; 32]))
            .await
            .unwrap(),
        None
    );
    assert_eq!(
        store.list_admin_keys().await.unwrap(),
        [support.clone(), billing]
    );
    let again = key_named("support", 3);
    assert!(matches!(
        store.insert_admin_key(&again).await,
        Err(StoreError::NameTaken)
    ));
    store
        .revoke_admin_key(&support.name, epoch())
        .await
        .unwrap()
        .unwrap();
    assert!(matches!(
        store.insert_admin_key(&again).await,
        Err(StoreError::NameTaken)
    ));
}

/// A revoked key reads back revoked through every handle, at once, and
/// the first revocation's time stays.
pub async fn admin_keys_revoked_are_revoked_for_every_handle<S: AdminStore>(store: S) {
    let other_handle = store.clone();
    let key = key_named("support", 1);
    store.insert_admin_key(&key).await.unwrap();
    let at = epoch() + TimeDelta::seconds(60);

    let revoked = store
        .revoke_admin_key(&key.name, at)
        .await
        .unwrap()
        .unwrap();

    assert_eq!(revoked.revoked_at, Some(at));
    let seen = other_handle
        .find_admin_key(&key.hash)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(seen.revoked_at, Some(at));
    assert!(!seen.is_live());
    let later = at + TimeDelta::seconds(60);
    assert_eq!(
        store.revoke_admin_key(&key.name, later).await.unwrap(),
        None
    );
    let unknown = AdminKeyName::parse("nobody").unwrap();
    assert_eq!(store.revoke_admin_key(&unknown, later).await.unwrap(), None);
    assert_eq!(
        other_handle.list_admin_keys().await.unwrap()[0].revoked_at,
        Some(at)
    );
}

/// A search matches a part of the canonical name or address, lists by
/// canonical name, and a page boundary holds while users register.
pub async fn users_search_matches_name_or_email_and_pages_hold_still<S: AdminStore>(store: S) {
    stored(&store, "Carol", Some("carol@Example.com")).await;
    stored(&store, "alice", None).await;
    stored(&store, "bob", Some("robert@corp.test")).await;

    let names = |users: Vec<User>| -> Vec<String> {
        users
            .iter()
            .map(|u| u.username.as_str().to_owned())
            .collect()
    };
    let everyone = store
        .search_users(&UserSearch::everyone(), 10)
        .await
        .unwrap();
    assert_eq!(names(everyone), ["alice", "bob", "Carol"]);
    let by_email = UserSearch::new(Some("EXAMPLE.COM"), None);
    assert_eq!(
        names(store.search_users(&by_email, 10).await.unwrap()),
        ["Carol"]
    );
    let by_name = UserSearch::new(Some("o"), None);
    assert_eq!(
        names(store.search_users(&by_name, 10).await.unwrap()),
        ["bob", "Carol"]
    );
    // `%` and `_` are text, not patterns.
    let pattern = UserSearch::new(Some("%"), None);
    assert!(store.search_users(&pattern, 10).await.unwrap().is_empty());
    let underscore = UserSearch::new(Some("a_i"), None);
    assert!(
        store
            .search_users(&underscore, 10)
            .await
            .unwrap()
            .is_empty()
    );

    let first = store
        .search_users(&UserSearch::everyone(), 2)
        .await
        .unwrap();
    assert_eq!(names(first.clone()), ["alice", "bob"]);
    // Registered meanwhile, before the boundary: the next page is unchanged.
    stored(&store, "aaron", None).await;
    let after = first[1].username.canonical().to_owned();
    let next = UserSearch::new(None, Some(after));
    assert_eq!(
        names(store.search_users(&next, 2).await.unwrap()),
        ["Carol"]
    );
}

/// Disabling is stored, read back exactly by every lookup, and undone.
pub async fn users_disabled_read_back_and_enable_again<S: AdminStore>(store: S) {
    let alice = stored(&store, "alice", Some("alice@example.com")).await;
    let bob = stored(&store, "bob", None).await;
    let at = epoch() + TimeDelta::seconds(5);

    assert!(store.set_user_disabled(alice.id, Some(at)).await.unwrap());

    let found = store.find_user_by_id(alice.id).await.unwrap().unwrap();
    assert_eq!(found.disabled_at, Some(at));
    let by_name = store
        .find_user_by_username(&alice.username)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_name.disabled_at, Some(at));
    let listed = store
        .search_users(&UserSearch::everyone(), 10)
        .await
        .unwrap();
    assert_eq!(listed[0].disabled_at, Some(at));
    assert_eq!(
        store
            .find_user_by_id(bob.id)
            .await
            .unwrap()
            .unwrap()
            .disabled_at,
        None
    );
    assert!(store.set_user_disabled(alice.id, None).await.unwrap());
    assert_eq!(
        store
            .find_user_by_id(alice.id)
            .await
            .unwrap()
            .unwrap()
            .disabled_at,
        None
    );
    assert!(
        !store
            .set_user_disabled(UserId::new(), Some(at))
            .await
            .unwrap()
    );
}

fn event(kind: EventKind, user_id: Option<UserId>, secs: i64) -> SecurityEvent {
    let client = Client {
        ip: "203.0.113.9".parse().ok(),
        user_agent: UserAgent::new("admin-conformance/1"),
        request_id: Some(format!("req-{secs}")),
        ..Client::default()
    };
    SecurityEvent::new(kind, user_id, &client, epoch() + TimeDelta::seconds(secs))
}

/// The audit trail is filtered by user, kind and time, lists the last
/// appended first with every field (the actor too), and pages by sequence
/// so that events appended meanwhile do not shift a page.
pub async fn events_search_filters_pages_and_keeps_the_actor<S: AdminStore>(store: S) {
    let alice = UserId::new();
    let bob = UserId::new();
    let actor = Actor::admin_key(&AdminKeyName::parse("support").unwrap());
    let appended = [
        event(EventKind::LoginFailed, Some(alice), 1),
        event(EventKind::LoginFailed, Some(bob), 2),
        event(EventKind::AccountDisabled, Some(alice), 3).by(Some(actor.clone())),
        event(EventKind::LoginFailed, None, 4),
        event(EventKind::LoginSucceeded, Some(alice), 5),
    ];
    for event in &appended {
        store.append_event(event).await.unwrap();
    }
    let kinds = |logged: &[crate::LoggedEvent]| -> Vec<SecurityEvent> {
        logged.iter().map(|l| l.event.clone()).collect()
    };

    let all = store
        .search_events(&EventQuery::default(), 10)
        .await
        .unwrap();
    assert_eq!(
        kinds(&all),
        appended.iter().rev().cloned().collect::<Vec<_>>()
    );
    assert!(all.windows(2).all(|pair| pair[0].seq > pair[1].seq));
    assert_eq!(all[2].event.actor, Some(actor));

    let of_alice = EventQuery {
        user_id: Some(alice),
        ..EventQuery::default()
    };
    let theirs = store.search_events(&of_alice, 10).await.unwrap();
    assert_eq!(
        kinds(&theirs),
        [
            appended[4].clone(),
            appended[2].clone(),
            appended[0].clone()
        ]
    );
    let failures_since = EventQuery {
        kind: Some(EventKind::LoginFailed),
        since: Some(epoch() + TimeDelta::seconds(2)),
        ..EventQuery::default()
    };
    assert_eq!(
        kinds(&store.search_events(&failures_since, 10).await.unwrap()),
        [appended[3].clone(), appended[1].clone()]
    );

    let first = store
        .search_events(&EventQuery::default(), 2)
        .await
        .unwrap();
    store
        .append_event(&event(EventKind::LoginFailed, Some(bob), 6))
        .await
        .unwrap();
    let next = EventQuery {
        before: Some(first[1].seq),
        ..EventQuery::default()
    };
    let second = store.search_events(&next, 2).await.unwrap();
    assert_eq!(kinds(&second), [appended[2].clone(), appended[1].clone()]);
}
