//! Rules for second factors ([`crate::SecondFactorStore`]), run by
//! [`crate::mfa_conformance!`].

use std::sync::Arc;

use chrono::TimeDelta;

use super::{epoch, user_named};
use crate::{RecoveryCodeHash, SealedSecret, Store, TotpFactor, User, UserId};

pub(super) fn pending(user: UserId, secret: &str) -> TotpFactor {
    TotpFactor {
        user_id: user,
        secret: SealedSecret::from_stored(secret),
        created_at: epoch(),
        enabled_at: None,
        last_step: None,
    }
}

pub(super) fn codes(seed: u8) -> Vec<RecoveryCodeHash> {
    (0..10)
        .map(|i| RecoveryCodeHash::from_bytes([seed.wrapping_add(i); 32]))
        .collect()
}

async fn user<S: Store>(store: &S, name: &str) -> User {
    let user = user_named(name);
    store.create_user(&user).await.unwrap();
    user
}

/// A staged factor reads back pending with every field; staging again
/// replaces it; enabling needs the staged key, and records the step and
/// the codes; once enabled, staging is refused and changes nothing.
pub async fn mfa_staging_and_enabling_follow_the_pending_key<S: Store>(store: S) {
    let alice = user(&store, "alice").await;
    assert_eq!(store.find_totp(alice.id).await.unwrap(), None);
    assert!(
        store
            .stage_totp(&pending(alice.id, "k:first"))
            .await
            .unwrap()
    );
    assert_eq!(
        store.find_totp(alice.id).await.unwrap(),
        Some(pending(alice.id, "k:first"))
    );
    assert!(
        store
            .stage_totp(&pending(alice.id, "k:second"))
            .await
            .unwrap()
    );
    let at = epoch() + TimeDelta::minutes(1);
    let stale = SealedSecret::from_stored("k:first");
    assert!(
        !store
            .enable_totp(alice.id, &stale, 7, &codes(1), at)
            .await
            .unwrap()
    );
    let current = SealedSecret::from_stored("k:second");
    assert!(
        store
            .enable_totp(alice.id, &current, 7, &codes(1), at)
            .await
            .unwrap()
    );
    let enabled = store.find_totp(alice.id).await.unwrap().unwrap();
    assert_eq!(enabled.enabled_at, Some(at));
    assert_eq!(enabled.last_step, Some(7));
    assert_eq!(enabled.secret, current);
    assert_eq!(store.count_recovery_codes(alice.id).await.unwrap(), 10);
    assert!(
        !store
            .enable_totp(alice.id, &current, 8, &codes(2), at)
            .await
            .unwrap()
    );
    assert!(
        !store
            .stage_totp(&pending(alice.id, "k:third"))
            .await
            .unwrap()
    );
    assert_eq!(store.find_totp(alice.id).await.unwrap(), Some(enabled));
}

/// A step is accepted only if newer than the last one, and of concurrent
/// uses of one step exactly one wins; a pending factor accepts none.
pub async fn mfa_steps_are_used_once_and_in_order<S: Store>(store: S) {
    let alice = user(&store, "alice").await;
    store.stage_totp(&pending(alice.id, "k:s")).await.unwrap();
    assert!(!store.use_totp_step(alice.id, 5).await.unwrap());
    let secret = SealedSecret::from_stored("k:s");
    store
        .enable_totp(alice.id, &secret, 5, &codes(1), epoch())
        .await
        .unwrap();
    assert!(!store.use_totp_step(alice.id, 5).await.unwrap());
    assert!(!store.use_totp_step(alice.id, 4).await.unwrap());
    assert!(store.use_totp_step(alice.id, 6).await.unwrap());

    let store = Arc::new(store);
    let racers: Vec<_> = (0..8)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { store.use_totp_step(alice.id, 7).await.unwrap() })
        })
        .collect();
    let mut winners = 0;
    for racer in racers {
        winners += usize::from(racer.await.unwrap());
    }
    assert_eq!(winners, 1);
    assert_eq!(
        store.find_totp(alice.id).await.unwrap().unwrap().last_step,
        Some(7)
    );
    assert!(!store.use_totp_step(UserId::new(), 9).await.unwrap());
}

/// A recovery code is spent once (of concurrent uses, one wins), only for
/// its user; replacing the set ends the old codes; only an enabled factor
/// can have its codes replaced.
pub async fn mfa_recovery_codes_are_single_use_and_replaced_whole<S: Store>(store: S) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    assert!(
        !store
            .replace_recovery_codes(alice.id, &codes(1), epoch())
            .await
            .unwrap()
    );
    store.stage_totp(&pending(alice.id, "k:a")).await.unwrap();
    let secret = SealedSecret::from_stored("k:a");
    store
        .enable_totp(alice.id, &secret, 1, &codes(1), epoch())
        .await
        .unwrap();
    let first = codes(1)[0];
    assert!(!store.use_recovery_code(bob.id, &first).await.unwrap());

    let store = Arc::new(store);
    let racers: Vec<_> = (0..8)
        .map(|_| {
            let store = Arc::clone(&store);
            tokio::spawn(async move { store.use_recovery_code(alice.id, &first).await.unwrap() })
        })
        .collect();
    let mut winners = 0;
    for racer in racers {
        winners += usize::from(racer.await.unwrap());
    }
    assert_eq!(winners, 1);
    assert_eq!(store.count_recovery_codes(alice.id).await.unwrap(), 9);

    assert!(
        store
            .replace_recovery_codes(alice.id, &codes(100), epoch())
            .await
            .unwrap()
    );
    assert!(
        !store
            .use_recovery_code(alice.id, &codes(1)[1])
            .await
            .unwrap()
    );
    assert!(
        store
            .use_recovery_code(alice.id, &codes(100)[1])
            .await
            .unwrap()
    );
    assert_eq!(store.count_recovery_codes(alice.id).await.unwrap(), 9);
}

/// Removing the factor removes its codes; deleting the user removes both.
pub async fn mfa_factors_go_with_removal_and_with_their_user<S: Store>(store: S) {
    let alice = user(&store, "alice").await;
    let bob = user(&store, "bob").await;
    for (who, secret) in [(alice.id, "k:a"), (bob.id, "k:b")] {
        store.stage_totp(&pending(who, secret)).await.unwrap();
        let sealed = SealedSecret::from_stored(secret);
        store
            .enable_totp(who, &sealed, 1, &codes(1), epoch())
            .await
            .unwrap();
    }
    assert!(store.remove_totp(alice.id).await.unwrap());
    assert!(!store.remove_totp(alice.id).await.unwrap());
    assert_eq!(store.find_totp(alice.id).await.unwrap(), None);
    assert_eq!(store.count_recovery_codes(alice.id).await.unwrap(), 0);
    assert!(
        !store
            .use_recovery_code(alice.id, &codes(1)[0])
            .await
            .unwrap()
    );

    assert!(
        store
            .delete_user(bob.id, &bob.username.account_key())
            .await
            .unwrap()
    );
    assert_eq!(store.find_totp(bob.id).await.unwrap(), None);
    assert_eq!(store.count_recovery_codes(bob.id).await.unwrap(), 0);
}
