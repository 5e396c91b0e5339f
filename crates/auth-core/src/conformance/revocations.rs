//! Rules for [`RevocationLog`], run by stores that several processes share
//! ([`crate::revocation_log_conformance!`]).

use std::collections::BTreeSet;

use super::{epoch, session_of, user_named};
use crate::{LogPosition, LoggedRevocation, Revocation, RevocationLog, Store, User};

async fn stored_user<S: Store>(store: &S, name: &str) -> User {
    let user = user_named(name);
    store.create_user(&user).await.unwrap();
    user
}

/// Everything after `after`, page by page.
async fn read_all<S: RevocationLog>(store: &S, after: LogPosition) -> Vec<LoggedRevocation> {
    let mut all = Vec::new();
    let mut position = after;
    loop {
        let page = store.revocations_after(position, 3).await.unwrap();
        assert!(page.len() <= 3, "a page holds at most `limit` entries");
        let Some(last) = page.last() else {
            return all;
        };
        position = last.position;
        all.extend(page);
    }
}

/// Every call that removes sessions appends one entry naming what it
/// revoked; a call that removes nothing appends none; positions increase.
pub async fn revocations_are_logged_for_every_call_that_removes_sessions<
    S: Store + RevocationLog,
>(
    store: S,
) {
    let start = store
        .revocations_after(LogPosition::START, u32::MAX)
        .await
        .unwrap()
        .last()
        .map_or(LogPosition::START, |entry| entry.position);
    let alice = stored_user(&store, "alice").await;
    let sessions: Vec<_> = (0..5)
        .map(|minute| session_of(alice.id, epoch() + chrono::TimeDelta::minutes(minute)))
        .collect();
    for session in &sessions {
        store.insert_session(session).await.unwrap();
    }
    assert!(store.revoke_session(&sessions[0].id).await.unwrap());
    assert!(!store.revoke_session(&sessions[0].id).await.unwrap()); // nothing removed
    assert_eq!(store.revoke_sessions_beyond(alice.id, 3).await.unwrap(), 1);
    assert_eq!(store.revoke_sessions_beyond(alice.id, 3).await.unwrap(), 0);
    assert_eq!(
        store
            .revoke_other_sessions(alice.id, &sessions[4].id)
            .await
            .unwrap(),
        2
    );
    assert_eq!(store.revoke_all_sessions(alice.id).await.unwrap(), 1);
    assert_eq!(store.revoke_all_sessions(alice.id).await.unwrap(), 0);
    store.insert_session(&sessions[0]).await.unwrap();
    assert!(
        store
            .delete_user(alice.id, &alice.username.account_key())
            .await
            .unwrap()
    );

    let logged = read_all(&store, start).await;
    let what: Vec<_> = logged.iter().map(|entry| entry.revocation).collect();
    assert_eq!(
        what,
        [
            Revocation::Session(sessions[0].id),
            Revocation::User(alice.id),
            Revocation::User(alice.id),
            Revocation::User(alice.id),
            Revocation::User(alice.id),
        ]
    );
    assert!(
        logged
            .windows(2)
            .all(|pair| pair[0].position < pair[1].position),
        "positions increase: {logged:?}"
    );
    assert!(logged.iter().all(|entry| entry.position > start));
    let last = logged.last().map(|entry| entry.position).unwrap();
    assert!(
        store.revocations_after(last, 10).await.unwrap().is_empty(),
        "nothing after the last"
    );
}

/// Revocations made through many handles at once all get distinct
/// positions, and a reader following the log while they commit (always
/// asking for what follows the last position it saw) misses none of them:
/// positions are given out in commit order.
pub async fn revocations_concurrent_appends_are_read_in_commit_order<S: Store + RevocationLog>(
    store: S,
) {
    const WRITERS: usize = 24;
    let alice = stored_user(&store, "alice").await;
    let sessions: Vec<_> = (0..WRITERS)
        .map(|_| session_of(alice.id, epoch()))
        .collect();
    for session in &sessions {
        store.insert_session(session).await.unwrap();
    }
    let start = read_all(&store, LogPosition::START)
        .await
        .last()
        .map_or(LogPosition::START, |entry| entry.position);

    let done = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let reader = {
        let (store, done) = (store.clone(), done.clone());
        tokio::spawn(async move {
            let mut seen = Vec::new();
            let mut position = start;
            loop {
                let finished = done.load(std::sync::atomic::Ordering::SeqCst);
                let page = store.revocations_after(position, 1000).await.unwrap();
                if let Some(last) = page.last() {
                    position = last.position;
                }
                seen.extend(page);
                if finished {
                    return seen;
                }
                tokio::task::yield_now().await;
            }
        })
    };
    let writers: Vec<_> = sessions
        .iter()
        .map(|session| {
            let (store, id) = (store.clone(), session.id);
            tokio::spawn(async move { store.revoke_session(&id).await.unwrap() })
        })
        .collect();
    for writer in writers {
        assert!(writer.await.unwrap());
    }
    done.store(true, std::sync::atomic::Ordering::SeqCst);
    let seen = reader.await.unwrap();

    let positions: BTreeSet<_> = seen.iter().map(|entry| entry.position).collect();
    assert_eq!(positions.len(), seen.len(), "no position read twice");
    let revoked: BTreeSet<_> = seen
        .iter()
        .filter_map(|entry| match entry.revocation {
            Revocation::Session(id) => Some(*id.as_bytes()),
            Revocation::User(_) => None,
        })
        .collect();
    let expected: BTreeSet<_> = sessions
        .iter()
        .map(|session| *session.id.as_bytes())
        .collect();
    assert_eq!(
        revoked, expected,
        "the follower saw every revocation exactly once"
    );
}
