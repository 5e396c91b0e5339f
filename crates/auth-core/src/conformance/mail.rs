//! Rules for account addresses ([`crate::UserRepository`]'s email methods)
//! and the outbox ([`crate::MailOutbox`]), run by [`crate::mail_conformance!`].

use std::collections::HashSet;
use std::time::Duration;

use chrono::{DateTime, TimeDelta, Utc};

use super::{epoch, user_named};
use crate::{
    EmailAddress, MailId, MailKind, QueuedMail, Store, StoreError, User, UserEmail, UserId,
};

fn address(text: &str) -> EmailAddress {
    EmailAddress::parse(text).unwrap()
}

fn user_with_email(name: &str, email: &str) -> User {
    User {
        email: Some(UserEmail::unverified(address(email))),
        ..user_named(name)
    }
}

fn mail_to(user: UserId, to: &str, at: DateTime<Utc>) -> QueuedMail {
    QueuedMail::new(user, MailKind::PasswordChanged, address(to), at)
}

const LEASE: Duration = Duration::from_secs(60);

fn ids(mail: &[QueuedMail]) -> Vec<MailId> {
    mail.iter().map(|mail| mail.id).collect()
}

/// An address reads back as typed, unverified, and is found by any case
/// variant of itself.
pub async fn emails_round_trip_and_are_found_by_any_case<S: Store>(store: S) {
    let alice = user_with_email("alice", "Alice.Smith@Example.com");
    store.create_user(&alice).await.unwrap();
    let found = store
        .find_user_by_email(&address("alice.smith@EXAMPLE.COM"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, alice.id);
    let email = found.email.unwrap();
    assert_eq!(email.address.as_str(), "Alice.Smith@Example.com");
    assert!(!email.verified);
    assert!(
        store
            .find_user_by_email(&address("bob@example.com"))
            .await
            .unwrap()
            .is_none()
    );
    let bare = user_named("bob");
    store.create_user(&bare).await.unwrap();
    let bob = store.find_user_by_id(bare.id).await.unwrap().unwrap();
    assert_eq!(bob.email, None);
}

/// Two accounts never share an address, whatever its case: at creation,
/// at a change, and when two creations race.
pub async fn emails_are_unique_without_regard_to_case<S: Store>(store: S) {
    store
        .create_user(&user_with_email("alice", "alice@example.com"))
        .await
        .unwrap();
    let taken = store
        .create_user(&user_with_email("bob", "ALICE@example.com"))
        .await;
    assert!(matches!(taken, Err(StoreError::EmailTaken)), "{taken:?}");
    assert!(
        store
            .find_user_by_username(&crate::Username::parse("bob").unwrap())
            .await
            .unwrap()
            .is_none(),
        "a refused creation stores nothing"
    );
    let carol = user_named("carol");
    store.create_user(&carol).await.unwrap();
    let changed = store
        .change_email(carol.id, &address("Alice@Example.com"), epoch(), &[])
        .await;
    assert!(
        matches!(changed, Err(StoreError::EmailTaken)),
        "{changed:?}"
    );

    let racers: Vec<_> = (0..8)
        .map(|n| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .create_user(&user_with_email(&format!("racer{n}"), "Race@example.com"))
                    .await
            })
        })
        .collect();
    let mut winners = 0;
    for racer in racers {
        match racer.await.unwrap() {
            Ok(()) => winners += 1,
            Err(StoreError::EmailTaken) => {}
            Err(other) => panic!("{other:?}"),
        }
    }
    assert_eq!(winners, 1);
}

/// A change stores the new address unverified and queues its mail in the
/// same step; the old address is free at once; an unknown user changes
/// nothing and queues nothing.
pub async fn emails_change_unverifies_frees_the_old_and_queues_mail<S: Store>(store: S) {
    let alice = user_with_email("alice", "old@example.com");
    store.create_user(&alice).await.unwrap();
    assert!(
        store
            .mark_email_verified(alice.id, &address("old@example.com"))
            .await
            .unwrap()
    );
    let later = epoch() + TimeDelta::minutes(1);
    let mail = [
        QueuedMail::new(
            alice.id,
            MailKind::EmailVerification,
            address("new@example.com"),
            later,
        ),
        QueuedMail::new(
            alice.id,
            MailKind::EmailChanged,
            address("old@example.com"),
            later,
        ),
    ];
    assert!(
        store
            .change_email(alice.id, &address("New@example.com"), later, &mail)
            .await
            .unwrap()
    );
    let now = store.find_user_by_id(alice.id).await.unwrap().unwrap();
    assert_eq!(
        now.email,
        Some(UserEmail::unverified(address("New@example.com")))
    );
    assert_eq!(now.email.unwrap().address.as_str(), "New@example.com");
    assert_eq!(now.updated_at, later);
    let mut claimed = store.claim_mail(later, LEASE, 10).await.unwrap();
    claimed.sort_by_key(|mail| mail.id);
    assert_eq!(ids(&claimed), ids(&mail));
    let bob = user_with_email("bob", "OLD@example.com");
    store.create_user(&bob).await.unwrap();

    let unknown = store
        .change_email(
            UserId::new(),
            &address("x@example.com"),
            later,
            &[mail_to(alice.id, "x@example.com", later)],
        )
        .await
        .unwrap();
    assert!(!unknown);
    assert!(store.claim_mail(later, LEASE, 10).await.unwrap().is_empty());
}

/// Verification applies only to the address the user has now.
pub async fn emails_are_verified_only_at_the_current_address<S: Store>(store: S) {
    let alice = user_with_email("alice", "alice@example.com");
    store.create_user(&alice).await.unwrap();
    assert!(
        !store
            .mark_email_verified(alice.id, &address("earlier@example.com"))
            .await
            .unwrap()
    );
    let stored = store.find_user_by_id(alice.id).await.unwrap().unwrap();
    assert!(!stored.email.unwrap().verified);
    assert!(
        store
            .mark_email_verified(alice.id, &address("ALICE@example.com"))
            .await
            .unwrap()
    );
    let stored = store.find_user_by_id(alice.id).await.unwrap().unwrap();
    assert!(stored.email.unwrap().verified);
    assert!(
        !store
            .mark_email_verified(UserId::new(), &address("alice@example.com"))
            .await
            .unwrap()
    );
}

/// A deleted user's address is free again, and its waiting mail is gone.
pub async fn emails_and_mail_go_with_their_user<S: Store>(store: S) {
    let alice = user_with_email("alice", "alice@example.com");
    store.create_user(&alice).await.unwrap();
    store
        .enqueue_mail(&[mail_to(alice.id, "alice@example.com", epoch())])
        .await
        .unwrap();
    assert!(
        store
            .delete_user(alice.id, &alice.username.account_key())
            .await
            .unwrap()
    );
    assert_eq!(store.outbox_stats().await.unwrap().waiting, 0);
    store
        .create_user(&user_with_email("bob", "alice@example.com"))
        .await
        .unwrap();
}

/// Due mail is claimed oldest due first, exactly as queued but for the
/// attempt count; mail not yet due is not claimed.
pub async fn outbox_claims_due_mail_in_order_with_every_field<S: Store>(store: S) {
    let alice = user_named("alice");
    store.create_user(&alice).await.unwrap();
    let first = mail_to(alice.id, "a@example.com", epoch());
    let second = QueuedMail {
        kind: MailKind::PasswordReset,
        next_attempt_at: epoch() + TimeDelta::seconds(1),
        ..mail_to(alice.id, "b@example.com", epoch())
    };
    let later = QueuedMail {
        next_attempt_at: epoch() + TimeDelta::hours(1),
        ..mail_to(alice.id, "c@example.com", epoch())
    };
    store
        .enqueue_mail(&[later.clone(), second.clone(), first.clone()])
        .await
        .unwrap();
    let now = epoch() + TimeDelta::minutes(1);
    let claimed = store.claim_mail(now, LEASE, 10).await.unwrap();
    let expected: Vec<QueuedMail> = [first, second]
        .into_iter()
        .map(|mail| QueuedMail {
            attempts: 1,
            ..mail
        })
        .collect();
    assert_eq!(claimed, expected);
    assert_eq!(claimed[1].to.as_str(), "b@example.com");
    let stats = store.outbox_stats().await.unwrap();
    assert_eq!(stats.waiting, 3);
    assert_eq!(stats.oldest_waiting, Some(epoch()));
}

/// A claimed message is not claimed again while its lease holds, and is
/// once it ends (its worker died).
pub async fn outbox_leases_hold_until_they_end<S: Store>(store: S) {
    let alice = user_named("alice");
    store.create_user(&alice).await.unwrap();
    let mail = mail_to(alice.id, "a@example.com", epoch());
    store
        .enqueue_mail(std::slice::from_ref(&mail))
        .await
        .unwrap();
    assert_eq!(store.claim_mail(epoch(), LEASE, 1).await.unwrap().len(), 1);
    let inside = epoch() + TimeDelta::seconds(59);
    assert!(store.claim_mail(inside, LEASE, 1).await.unwrap().is_empty());
    let after = epoch() + TimeDelta::seconds(60);
    let again = store.claim_mail(after, LEASE, 1).await.unwrap();
    assert_eq!(ids(&again), [mail.id]);
    assert_eq!(again[0].attempts, 2);
}

/// Concurrent claims, through separate handles, never return one message
/// twice, and together return all of them.
pub async fn outbox_concurrent_claims_never_share_a_message<S: Store>(store: S) {
    let alice = user_named("alice");
    store.create_user(&alice).await.unwrap();
    let mail: Vec<QueuedMail> = (0..24)
        .map(|n| mail_to(alice.id, &format!("u{n}@example.com"), epoch()))
        .collect();
    store.enqueue_mail(&mail).await.unwrap();
    let claimers: Vec<_> = (0..8)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move { store.claim_mail(epoch(), LEASE, 5).await.unwrap() })
        })
        .collect();
    let mut seen = HashSet::new();
    for claimer in claimers {
        for claimed in claimer.await.unwrap() {
            assert!(seen.insert(claimed.id), "claimed twice: {:?}", claimed.id);
        }
    }
    assert_eq!(seen.len(), 24);
}

/// Completed mail is never claimed again; retried mail is due again at the
/// time given; failed mail is never claimed and counts as failed.
pub async fn outbox_complete_retry_and_fail<S: Store>(store: S) {
    let alice = user_named("alice");
    store.create_user(&alice).await.unwrap();
    let [done, retried, failed] =
        ["a", "b", "c"].map(|n| mail_to(alice.id, &format!("{n}@example.com"), epoch()));
    store
        .enqueue_mail(&[done.clone(), retried.clone(), failed.clone()])
        .await
        .unwrap();
    assert_eq!(store.claim_mail(epoch(), LEASE, 10).await.unwrap().len(), 3);
    assert!(store.complete_mail(done.id, epoch()).await.unwrap());
    assert!(
        !store.complete_mail(done.id, epoch()).await.unwrap(),
        "done once"
    );
    let at = epoch() + TimeDelta::minutes(5);
    assert!(store.retry_mail(retried.id, at).await.unwrap());
    assert!(store.fail_mail(failed.id, epoch()).await.unwrap());
    assert!(!store.retry_mail(failed.id, at).await.unwrap());
    let stats = store.outbox_stats().await.unwrap();
    assert_eq!((stats.waiting, stats.failed), (1, 1));
    let before = at - TimeDelta::microseconds(1);
    assert!(
        store
            .claim_mail(before, LEASE, 10)
            .await
            .unwrap()
            .is_empty()
    );
    let again = store.claim_mail(at, LEASE, 10).await.unwrap();
    assert_eq!(ids(&again), [retried.id]);
    assert_eq!(again[0].next_attempt_at, at);
    assert!(!store.complete_mail(MailId::new(), epoch()).await.unwrap());
}

/// Purging removes finished mail older than the cutoff, never waiting mail.
pub async fn outbox_purge_removes_finished_mail_only<S: Store>(store: S) {
    let alice = user_named("alice");
    store.create_user(&alice).await.unwrap();
    let [old_done, old_failed, new_done, waiting] =
        ["a", "b", "c", "d"].map(|n| mail_to(alice.id, &format!("{n}@example.com"), epoch()));
    store
        .enqueue_mail(&[
            old_done.clone(),
            old_failed.clone(),
            new_done.clone(),
            waiting.clone(),
        ])
        .await
        .unwrap();
    store.claim_mail(epoch(), LEASE, 10).await.unwrap();
    store.complete_mail(old_done.id, epoch()).await.unwrap();
    store.fail_mail(old_failed.id, epoch()).await.unwrap();
    let cutoff = epoch() + TimeDelta::days(1);
    store.complete_mail(new_done.id, cutoff).await.unwrap();
    assert_eq!(store.purge_mail(cutoff).await.unwrap(), 2);
    let stats = store.outbox_stats().await.unwrap();
    assert_eq!((stats.waiting, stats.failed), (1, 0));
    assert_eq!(store.purge_mail(cutoff).await.unwrap(), 0);
}
