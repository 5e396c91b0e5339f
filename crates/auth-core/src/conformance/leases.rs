//! Rules for cache leases ([`RevocationLog::renew_lease`]), run with the
//! revocation log's ([`crate::revocation_log_conformance!`]). A store that
//! grants none ([`RevocationLog::grants_leases`] is `false`) must refuse
//! every request for one and hold no writer back.

use std::time::Duration;

use super::{epoch, session_of, user_named};
use crate::{LeaseHolder, LogPosition, RevocationLog, Store, UserId};

const LONG: Duration = Duration::from_secs(30);

/// Appends one entry (a new session is logged for its user) and returns
/// the log's newest position after it.
async fn append<S: Store + RevocationLog>(store: &S, user: UserId) -> LogPosition {
    store
        .insert_session(&session_of(user, epoch()))
        .await
        .unwrap();
    store.last_position().await.unwrap()
}

async fn user<S: Store>(store: &S, name: &str) -> UserId {
    let user = user_named(name);
    store.create_user(&user).await.unwrap();
    user.id
}

/// A store that grants no lease refuses every request and never makes a
/// writer wait.
async fn refuses_all<S: Store + RevocationLog>(store: &S, alice: UserId) {
    let head = append(store, alice).await;
    assert!(
        !store
            .renew_lease(LeaseHolder::new(), head, LONG)
            .await
            .unwrap()
    );
    assert!(
        !store
            .leases_behind(LogPosition::new(u64::MAX), None)
            .await
            .unwrap()
    );
}

/// A lease is granted only at (or past) the log's newest position: a
/// holder that has not applied the last entry is refused until it has.
pub async fn leases_are_granted_only_at_the_newest_position<S: Store + RevocationLog>(store: S) {
    let alice = user(&store, "alice").await;
    if !store.grants_leases() {
        return refuses_all(&store, alice).await;
    }
    let first = append(&store, alice).await;
    let holder = LeaseHolder::new();
    assert!(
        !store
            .renew_lease(holder, LogPosition::START, LONG)
            .await
            .unwrap()
    );
    assert!(
        !store
            .renew_lease(holder, LogPosition::new(first.get() - 1), LONG)
            .await
            .unwrap()
    );
    assert!(store.renew_lease(holder, first, LONG).await.unwrap());
    assert!(
        store.renew_lease(holder, first, LONG).await.unwrap(),
        "renewable"
    );
    let second = append(&store, alice).await;
    assert!(second > first);
    assert!(!store.renew_lease(holder, first, LONG).await.unwrap());
    assert!(store.renew_lease(holder, second, LONG).await.unwrap());
    store.release_lease(holder).await.unwrap();
}

/// `leases_behind(p)` is true exactly while some live lease was granted
/// below `p`; renewing past it or releasing it ends that.
pub async fn leases_behind_names_each_live_lease_below_a_position<S: Store + RevocationLog>(
    store: S,
) {
    let alice = user(&store, "alice").await;
    if !store.grants_leases() {
        return refuses_all(&store, alice).await;
    }
    let first = append(&store, alice).await;
    assert!(
        !store.leases_behind(first, None).await.unwrap(),
        "no lease yet"
    );
    let (a, b) = (LeaseHolder::new(), LeaseHolder::new());
    assert!(store.renew_lease(a, first, LONG).await.unwrap());
    assert!(
        !store.leases_behind(first, None).await.unwrap(),
        "a has applied it"
    );
    let second = append(&store, alice).await;
    assert!(
        store.leases_behind(second, None).await.unwrap(),
        "a has not"
    );
    assert!(
        !store.leases_behind(second, Some(a)).await.unwrap(),
        "a's own writes leave a's lease out"
    );
    assert!(store.renew_lease(b, second, LONG).await.unwrap());
    assert!(
        store.leases_behind(second, Some(b)).await.unwrap(),
        "a still has not"
    );
    assert!(
        store.leases_behind(second, None).await.unwrap(),
        "b has, a still not"
    );
    assert!(store.renew_lease(a, second, LONG).await.unwrap());
    assert!(
        !store.leases_behind(second, None).await.unwrap(),
        "both have"
    );
    let third = append(&store, alice).await;
    store.release_lease(a).await.unwrap();
    assert!(store.leases_behind(third, None).await.unwrap(), "b has not");
    store.release_lease(b).await.unwrap();
    assert!(
        !store.leases_behind(third, None).await.unwrap(),
        "both released"
    );
}

/// A lease ends by itself after its length, by the store's clock: a writer
/// waits for a holder that stopped renewing no longer than that.
pub async fn an_ended_lease_holds_no_writer_back<S: Store + RevocationLog>(store: S) {
    let alice = user(&store, "alice").await;
    if !store.grants_leases() {
        return refuses_all(&store, alice).await;
    }
    let first = append(&store, alice).await;
    let short = LeaseHolder::new();
    assert!(
        store
            .renew_lease(short, first, Duration::from_millis(300))
            .await
            .unwrap()
    );
    let second = append(&store, alice).await;
    assert!(store.leases_behind(second, None).await.unwrap());
    // Well past the end (sleeping longer is always safe).
    tokio::time::sleep(Duration::from_millis(900)).await;
    assert!(
        !store.leases_behind(second, None).await.unwrap(),
        "it ended"
    );
    // And a holder that comes back is granted a new one only at the head.
    assert!(!store.renew_lease(short, first, LONG).await.unwrap());
    assert!(store.renew_lease(short, second, LONG).await.unwrap());
    store.release_lease(short).await.unwrap();
}

/// The grant is atomic with appends: when an append and a renewal race,
/// either the renewal saw the append (and was refused, or granted past it),
/// or the appender's own check right after its commit sees the lease behind
/// it. A lease granted behind an entry whose writer then saw no lease is
/// what would let an instance serve a session after its logout answered.
pub async fn a_lease_is_never_granted_unseen_behind_a_concurrent_append<
    S: Store + RevocationLog + 'static,
>(
    store: S,
) {
    let alice = user(&store, "alice").await;
    if !store.grants_leases() {
        return refuses_all(&store, alice).await;
    }
    for round in 0..40 {
        let holder = LeaseHolder::new();
        let writer = {
            let store = store.clone();
            tokio::spawn(async move {
                let position = append(&store, alice).await;
                (position, store.leases_behind(position, None).await.unwrap())
            })
        };
        let reader = {
            let store = store.clone();
            tokio::spawn(async move {
                // Stagger the two a little differently each round.
                for _ in 0..round % 4 {
                    tokio::task::yield_now().await;
                }
                let applied = store.last_position().await.unwrap();
                let granted = store.renew_lease(holder, applied, LONG).await.unwrap();
                (applied, granted)
            })
        };
        let (entry, writer_saw_it) = writer.await.unwrap();
        let (applied, granted) = reader.await.unwrap();
        if granted && applied < entry {
            assert!(
                writer_saw_it,
                "round {round}: a lease at {applied} was granted behind the entry at \
                 {entry}, and its writer's check did not see it"
            );
        }
        store.release_lease(holder).await.unwrap();
    }
}
