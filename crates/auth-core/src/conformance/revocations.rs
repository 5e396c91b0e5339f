//! Rules for [`RevocationLog`], run by stores that several processes share
//! ([`crate::revocation_log_conformance!`]).

use std::collections::BTreeSet;

use super::mfa::{codes, pending};
use super::passkeys::passkey;
use super::{epoch, session_of, user_named};
use crate::{
    LogPosition, LoggedRevocation, PasswordHash, Revocation, RevocationLog, SealedSecret, Store,
    User, UserId,
};

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
/// revoked, every new session one naming its user; a call that removes
/// nothing appends none; positions increase.
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
    let mut expected = vec![Revocation::SessionList(alice.id); sessions.len()];
    expected.extend([
        Revocation::Session(sessions[0].id),
        Revocation::User(alice.id),
        Revocation::User(alice.id),
        Revocation::User(alice.id),
        Revocation::SessionList(alice.id), // the insert again
        Revocation::User(alice.id),
    ]);
    assert_eq!(what.len(), expected.len(), "{what:?}");
    for (got, want) in what.iter().zip(&expected) {
        assert!(got.covers(*want), "{got:?} logged where {want:?} was due");
    }
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

/// Every change to what a cache keeps per user appends an entry, so that
/// other instances drop their copy: a new session
/// [`Revocation::SessionList`], a second factor enabled, removed or spent
/// [`Revocation::SecondFactors`] (or, for either, [`Revocation::User`],
/// which covers both); a call that changes nothing appends nothing.
pub async fn revocations_are_logged_for_every_change_to_what_is_kept_per_user<
    S: Store + RevocationLog,
>(
    store: S,
) {
    let alice = stored_user(&store, "alice").await;
    let mut position = read_all(&store, LogPosition::START)
        .await
        .last()
        .map_or(LogPosition::START, |entry| entry.position);
    // After each step: exactly one entry for alice if it changed something,
    // of the kind due (or one that covers it).
    let mut expect_logged = async |due: Option<fn(UserId) -> Revocation>, step: &str| {
        let after = read_all(&store, position).await;
        let got: Vec<_> = after.iter().map(|entry| entry.revocation).collect();
        match due {
            Some(kind) => assert!(
                matches!(got.as_slice(), [one] if one.covers(kind(alice.id))),
                "{step}: {got:?}, wanted {:?}",
                kind(alice.id)
            ),
            None => assert!(got.is_empty(), "{step}: {got:?}"),
        }
        if let Some(entry) = after.last() {
            position = entry.position;
        }
    };

    let session = session_of(alice.id, epoch());
    let stale = PasswordHash::from_stored("$scrypt$not-the-current-one");
    assert!(
        !store
            .insert_session_if_credential(&session, &stale)
            .await
            .unwrap()
    );
    expect_logged(None, "a login refused for a changed password").await;
    assert!(
        store
            .insert_session_if_credential(&session, &alice.password_hash)
            .await
            .unwrap()
    );
    expect_logged(Some(Revocation::SessionList), "a login").await;

    let secret = SealedSecret::from_stored("k:one");
    assert!(store.stage_totp(&pending(alice.id, "k:one")).await.unwrap());
    expect_logged(None, "staging shows nothing yet").await;
    let at = epoch();
    assert!(
        store
            .enable_totp(alice.id, &secret, 1, &codes(1), at)
            .await
            .unwrap()
    );
    expect_logged(Some(Revocation::SecondFactors), "TOTP enabled").await;
    assert!(store.use_totp_step(alice.id, 2).await.unwrap());
    expect_logged(None, "a step used shows nothing").await;
    assert!(
        store
            .use_recovery_code(alice.id, &codes(1)[0])
            .await
            .unwrap()
    );
    expect_logged(Some(Revocation::SecondFactors), "a recovery code spent").await;
    assert!(
        !store
            .use_recovery_code(alice.id, &codes(1)[0])
            .await
            .unwrap()
    );
    expect_logged(None, "a code spent twice").await;
    assert!(
        store
            .replace_recovery_codes(alice.id, &codes(2), at)
            .await
            .unwrap()
    );
    expect_logged(Some(Revocation::SecondFactors), "new recovery codes").await;
    assert!(store.remove_totp(alice.id).await.unwrap());
    expect_logged(Some(Revocation::SecondFactors), "TOTP removed").await;
    assert!(!store.remove_totp(alice.id).await.unwrap());
    expect_logged(None, "TOTP removed twice").await;

    let key = passkey(alice.id, b"credential", 1);
    assert!(store.add_passkey(&key).await.unwrap());
    expect_logged(Some(Revocation::SecondFactors), "a passkey added").await;
    assert!(
        !store
            .add_passkey(&passkey(alice.id, b"credential", 2))
            .await
            .unwrap()
    );
    expect_logged(None, "a credential id registered twice").await;
    assert!(store.remove_passkey(alice.id, key.id).await.unwrap());
    expect_logged(Some(Revocation::SecondFactors), "a passkey removed").await;
    assert!(!store.remove_passkey(alice.id, key.id).await.unwrap());
    expect_logged(None, "a passkey removed twice").await;
}

/// [`RevocationLog::last_position`] is the newest entry's position, and
/// stays below what is appended next.
pub async fn revocations_last_position_is_the_newest_entry<S: Store + RevocationLog>(store: S) {
    let alice = stored_user(&store, "alice").await;
    let session = session_of(alice.id, epoch());
    store.insert_session(&session).await.unwrap();
    assert!(store.revoke_session(&session.id).await.unwrap());
    let newest = read_all(&store, LogPosition::START)
        .await
        .last()
        .map(|entry| entry.position)
        .unwrap();
    assert_eq!(store.last_position().await.unwrap(), newest);
    store.insert_session(&session).await.unwrap();
    let next = store.last_position().await.unwrap();
    assert!(next > newest);
    assert!(store.revocations_after(next, 10).await.unwrap().is_empty());
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
            _ => None,
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
