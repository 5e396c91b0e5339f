//! Rules for passkeys and their ceremonies ([`crate::PasskeyStore`],
//! [`crate::CeremonyStore`]), run by [`crate::passkey_conformance!`].

use std::sync::Arc;

use chrono::TimeDelta;

use super::{epoch, user_named};
use crate::{Ceremony, OneTimeTokenHash, Passkey, PasskeyId, PasskeyName, Store, User, UserId};

pub(super) fn passkey(user: UserId, credential_id: &[u8], minutes: i64) -> Passkey {
    Passkey {
        id: PasskeyId::new(),
        user_id: user,
        credential_id: credential_id.to_vec(),
        name: PasskeyName::from_stored(format!("key {minutes}")),
        credential: format!(r#"{{"cred":{{"counter":0,"id":{minutes}}}}}"#),
        sign_count: 0,
        created_at: epoch() + TimeDelta::minutes(minutes),
        last_used_at: None,
    }
}

fn ceremony(seed: u8, user: Option<UserId>, minutes: i64) -> Ceremony {
    Ceremony {
        challenge: OneTimeTokenHash::from_bytes([seed; 32]),
        user_id: user,
        state: format!(r#"{{"kind":"state {seed}"}}"#),
        expires_at: epoch() + TimeDelta::minutes(minutes),
    }
}

async fn user<S: Store>(store: &S, name: &str) -> User {
    let user = user_named(name);
    store.create_user(&user).await.unwrap();
    user
}

/// Passkeys read back with every field, oldest first, by user and by
/// credential id; a credential id is unique across users; a count follows.
pub async fn passkeys_round_trip_and_credential_ids_are_unique<S: Store>(store: S) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let later = passkey(alice.id, b"cred-a2", 5);
    let first = passkey(alice.id, b"cred-a1", 1);
    assert!(store.add_passkey(&later).await.unwrap());
    assert!(store.add_passkey(&first).await.unwrap());
    assert_eq!(
        store.list_passkeys(alice.id).await.unwrap(),
        vec![first.clone(), later.clone()]
    );
    assert_eq!(
        store
            .find_passkey_by_credential_id(b"cred-a1")
            .await
            .unwrap(),
        Some(first.clone())
    );
    assert_eq!(
        store.find_passkey_by_credential_id(b"nope").await.unwrap(),
        None
    );
    // Bob cannot register Alice's credential id.
    assert!(
        !store
            .add_passkey(&passkey(bob.id, b"cred-a1", 9))
            .await
            .unwrap()
    );
    assert_eq!(store.list_passkeys(bob.id).await.unwrap(), vec![]);
    assert_eq!(store.count_passkeys(alice.id).await.unwrap(), 2);
    assert_eq!(store.count_passkeys(bob.id).await.unwrap(), 0);
}

/// Rename and remove act on the owner's passkey only; another user's id
/// is `false` and changes nothing.
pub async fn passkeys_are_renamed_and_removed_by_their_owner_only<S: Store>(store: S) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    let key = passkey(alice.id, b"cred-a", 1);
    store.add_passkey(&key).await.unwrap();
    let name = PasskeyName::from_stored("Laptop");
    assert!(!store.rename_passkey(bob.id, key.id, &name).await.unwrap());
    assert!(!store.remove_passkey(bob.id, key.id).await.unwrap());
    assert!(store.rename_passkey(alice.id, key.id, &name).await.unwrap());
    let renamed = store.list_passkeys(alice.id).await.unwrap();
    assert_eq!(renamed[0].name, name);
    assert!(
        !store
            .rename_passkey(alice.id, PasskeyId::new(), &name)
            .await
            .unwrap()
    );
    assert!(store.remove_passkey(alice.id, key.id).await.unwrap());
    assert!(!store.remove_passkey(alice.id, key.id).await.unwrap());
    assert_eq!(store.count_passkeys(alice.id).await.unwrap(), 0);
    assert_eq!(
        store
            .find_passkey_by_credential_id(b"cred-a")
            .await
            .unwrap(),
        None
    );
}

/// A use replaces the credential and sets `last_used_at`; a counter that
/// does not go up is refused (0, no counter, is always accepted).
pub async fn passkey_use_never_lowers_the_counter<S: Store>(store: S) {
    let alice = user(&store, "alice").await;
    let key = passkey(alice.id, b"cred-a", 1);
    store.add_passkey(&key).await.unwrap();
    let at = epoch() + TimeDelta::minutes(30);
    assert!(
        store
            .record_passkey_use(key.id, "{\"v\":1}", 0, at)
            .await
            .unwrap()
    );
    assert!(
        store
            .record_passkey_use(key.id, "{\"v\":2}", 5, at)
            .await
            .unwrap()
    );
    assert!(
        !store
            .record_passkey_use(key.id, "{\"v\":3}", 5, at)
            .await
            .unwrap()
    );
    assert!(
        !store
            .record_passkey_use(key.id, "{\"v\":4}", 4, at)
            .await
            .unwrap()
    );
    let stored = store
        .find_passkey_by_credential_id(b"cred-a")
        .await
        .unwrap()
        .unwrap();
    assert_eq!(stored.credential, "{\"v\":2}");
    assert_eq!(stored.sign_count, 5);
    assert_eq!(stored.last_used_at, Some(at));
    assert!(
        !store
            .record_passkey_use(PasskeyId::new(), "{}", 9, at)
            .await
            .unwrap()
    );
}

/// A ceremony is taken once, with every field; 20 racing takes get it
/// once; an expired one is never returned, and the purge removes it.
pub async fn ceremonies_are_taken_once_and_expire<S: Store>(store: S) {
    let alice = user(&store, "alice").await;
    let live = ceremony(1, Some(alice.id), 5);
    store.put_ceremony(&live).await.unwrap();
    assert_eq!(
        store.take_ceremony(&live.challenge, epoch()).await.unwrap(),
        Some(live.clone())
    );
    assert_eq!(
        store.take_ceremony(&live.challenge, epoch()).await.unwrap(),
        None
    );

    let raced = ceremony(2, None, 5);
    store.put_ceremony(&raced).await.unwrap();
    let store = Arc::new(store);
    let takes = (0..20).map(|_| {
        let store = Arc::clone(&store);
        let challenge = raced.challenge;
        tokio::spawn(async move { store.take_ceremony(&challenge, epoch()).await.unwrap() })
    });
    let mut won = 0;
    for take in takes {
        if take.await.unwrap().is_some() {
            won += 1;
        }
    }
    assert_eq!(won, 1);

    let old = ceremony(3, None, 1);
    let young = ceremony(4, None, 10);
    store.put_ceremony(&old).await.unwrap();
    store.put_ceremony(&young).await.unwrap();
    let later = epoch() + TimeDelta::minutes(2);
    assert_eq!(store.purge_ceremonies(later).await.unwrap(), 1);
    assert_eq!(
        store.take_ceremony(&old.challenge, epoch()).await.unwrap(),
        None
    );
    let expired = ceremony(5, None, 1);
    store.put_ceremony(&expired).await.unwrap();
    assert_eq!(
        store
            .take_ceremony(&expired.challenge, later)
            .await
            .unwrap(),
        None
    );
    assert!(
        store
            .take_ceremony(&young.challenge, later)
            .await
            .unwrap()
            .is_some()
    );
}

/// Deleting a user deletes their passkeys and ceremonies, not others'.
pub async fn passkeys_go_with_their_user<S: Store>(store: S) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    store
        .add_passkey(&passkey(alice.id, b"cred-a", 1))
        .await
        .unwrap();
    store
        .add_passkey(&passkey(bob.id, b"cred-b", 1))
        .await
        .unwrap();
    store
        .put_ceremony(&ceremony(1, Some(alice.id), 5))
        .await
        .unwrap();
    store
        .put_ceremony(&ceremony(2, Some(bob.id), 5))
        .await
        .unwrap();
    assert!(
        store
            .delete_user(alice.id, &alice.username.account_key())
            .await
            .unwrap()
    );
    assert_eq!(store.list_passkeys(alice.id).await.unwrap(), vec![]);
    assert_eq!(
        store
            .find_passkey_by_credential_id(b"cred-a")
            .await
            .unwrap(),
        None
    );
    let challenge = OneTimeTokenHash::from_bytes([1; 32]);
    assert_eq!(
        store.take_ceremony(&challenge, epoch()).await.unwrap(),
        None
    );
    assert_eq!(store.count_passkeys(bob.id).await.unwrap(), 1);
    let challenge = OneTimeTokenHash::from_bytes([2; 32]);
    assert!(
        store
            .take_ceremony(&challenge, epoch())
            .await
            .unwrap()
            .is_some()
    );
    // A credential id freed by the deletion can be registered again.
    assert!(
        store
            .add_passkey(&passkey(bob.id, b"cred-a", 2))
            .await
            .unwrap()
    );
}
