//! Rules for [`OneTimeTokenStore`], run by [`crate::one_time_token_conformance!`].

use chrono::{DateTime, TimeDelta, Utc};

use super::{epoch, user_named};
use crate::{
    IssuedToken, OneTimeToken, OneTimeTokenStore, Period, Store, TokenPurpose, User, UserId,
};

async fn stored_user<S: Store>(store: &S, name: &str) -> User {
    let user = user_named(name);
    store.create_user(&user).await.unwrap();
    user
}

/// A fresh token of `purpose` for `user`, issued at [`epoch`] for an hour.
fn token_for(user: UserId, purpose: TokenPurpose) -> (OneTimeToken, IssuedToken) {
    let token = OneTimeToken::generate().unwrap();
    let issued = IssuedToken::new(user, purpose, &token, epoch(), Period::from_secs(3600));
    (token, issued)
}

fn during() -> DateTime<Utc> {
    epoch() + TimeDelta::minutes(5)
}

/// A live token is consumed once, giving its user; a second use gets `None`.
pub async fn tokens_are_consumed_exactly_once<S: Store + OneTimeTokenStore>(store: S) {
    let alice = stored_user(&store, "alice").await;
    let (token, issued) = token_for(alice.id, TokenPurpose::PasswordReset);
    store.issue_token(&issued).await.unwrap();
    let hash = token.hash();
    assert_eq!(
        store
            .consume_token(TokenPurpose::PasswordReset, &hash, during())
            .await
            .unwrap()
            .map(|consumed| consumed.user_id),
        Some(alice.id)
    );
    assert_eq!(
        store
            .consume_token(TokenPurpose::PasswordReset, &hash, during())
            .await
            .unwrap()
            .map(|consumed| consumed.user_id),
        None,
        "a used token is refused"
    );
}

/// Of many concurrent consumers of one token, through separate handles,
/// exactly one wins.
pub async fn tokens_concurrent_consumes_have_exactly_one_winner<S: Store + OneTimeTokenStore>(
    store: S,
) {
    let alice = stored_user(&store, "alice").await;
    let (token, issued) = token_for(alice.id, TokenPurpose::EmailVerification);
    store.issue_token(&issued).await.unwrap();
    let hash = token.hash();
    let racers: Vec<_> = (0..16)
        .map(|_| {
            let store = store.clone();
            tokio::spawn(async move {
                store
                    .consume_token(TokenPurpose::EmailVerification, &hash, during())
                    .await
                    .unwrap()
                    .map(|consumed| consumed.user_id)
            })
        })
        .collect();
    let mut winners = 0;
    for racer in racers {
        if let Some(user) = racer.await.unwrap() {
            assert_eq!(user, alice.id);
            winners += 1;
        }
    }
    assert_eq!(winners, 1, "one of the concurrent uses wins");
}

/// A token works until just before `expires_at` and never from it on.
pub async fn tokens_expired_are_never_consumed<S: Store + OneTimeTokenStore>(store: S) {
    let alice = stored_user(&store, "alice").await;
    let (late, issued) = token_for(alice.id, TokenPurpose::PasswordReset);
    store.issue_token(&issued).await.unwrap();
    assert_eq!(
        store
            .consume_token(TokenPurpose::PasswordReset, &late.hash(), issued.expires_at)
            .await
            .unwrap()
            .map(|consumed| consumed.user_id),
        None,
        "expired at expires_at"
    );
    let (on_time, issued) = token_for(alice.id, TokenPurpose::PasswordReset);
    store.issue_token(&issued).await.unwrap();
    let last_moment = issued.expires_at - TimeDelta::microseconds(1);
    assert_eq!(
        store
            .consume_token(TokenPurpose::PasswordReset, &on_time.hash(), last_moment)
            .await
            .unwrap()
            .map(|consumed| consumed.user_id),
        Some(alice.id)
    );
}

/// Issuing replaces the user's previous token of that purpose, and nothing
/// else: their token of the other purpose and other users' tokens still work.
pub async fn tokens_issue_replaces_only_the_users_token_of_that_purpose<
    S: Store + OneTimeTokenStore,
>(
    store: S,
) {
    let alice = stored_user(&store, "alice").await;
    let bob = stored_user(&store, "bob").await;
    let (old_reset, issued) = token_for(alice.id, TokenPurpose::PasswordReset);
    store.issue_token(&issued).await.unwrap();
    let (verify, issued) = token_for(alice.id, TokenPurpose::EmailVerification);
    store.issue_token(&issued).await.unwrap();
    let (bobs_reset, issued) = token_for(bob.id, TokenPurpose::PasswordReset);
    store.issue_token(&issued).await.unwrap();
    let (new_reset, issued) = token_for(alice.id, TokenPurpose::PasswordReset);
    store.issue_token(&issued).await.unwrap();

    let consume = |purpose, token: &OneTimeToken| {
        let hash = token.hash();
        let store = store.clone();
        async move {
            store
                .consume_token(purpose, &hash, during())
                .await
                .unwrap()
                .map(|consumed| consumed.user_id)
        }
    };
    assert_eq!(consume(TokenPurpose::PasswordReset, &old_reset).await, None);
    assert_eq!(
        consume(TokenPurpose::EmailVerification, &verify).await,
        Some(alice.id)
    );
    assert_eq!(
        consume(TokenPurpose::PasswordReset, &bobs_reset).await,
        Some(bob.id)
    );
    assert_eq!(
        consume(TokenPurpose::PasswordReset, &new_reset).await,
        Some(alice.id)
    );
}

/// A token is refused for another purpose (and stays usable for its own),
/// and an unknown token is refused.
pub async fn tokens_of_another_purpose_or_unknown_are_refused<S: Store + OneTimeTokenStore>(
    store: S,
) {
    let alice = stored_user(&store, "alice").await;
    let (token, issued) = token_for(alice.id, TokenPurpose::EmailVerification);
    store.issue_token(&issued).await.unwrap();
    assert_eq!(
        store
            .consume_token(TokenPurpose::PasswordReset, &token.hash(), during())
            .await
            .unwrap()
            .map(|consumed| consumed.user_id),
        None
    );
    let unknown = OneTimeToken::generate().unwrap();
    assert_eq!(
        store
            .consume_token(TokenPurpose::EmailVerification, &unknown.hash(), during())
            .await
            .unwrap()
            .map(|consumed| consumed.user_id),
        None
    );
    assert_eq!(
        store
            .consume_token(TokenPurpose::EmailVerification, &token.hash(), during())
            .await
            .unwrap()
            .map(|consumed| consumed.user_id),
        Some(alice.id)
    );
}

/// Revoking ends the user's token of that purpose only; it reports whether
/// an unused one was there.
pub async fn tokens_revoke_ends_only_that_purpose<S: Store + OneTimeTokenStore>(store: S) {
    let alice = stored_user(&store, "alice").await;
    let (reset, issued) = token_for(alice.id, TokenPurpose::PasswordReset);
    store.issue_token(&issued).await.unwrap();
    let (verify, issued) = token_for(alice.id, TokenPurpose::EmailVerification);
    store.issue_token(&issued).await.unwrap();
    assert!(
        store
            .revoke_tokens(alice.id, TokenPurpose::PasswordReset)
            .await
            .unwrap()
    );
    assert!(
        !store
            .revoke_tokens(alice.id, TokenPurpose::PasswordReset)
            .await
            .unwrap(),
        "nothing left to revoke"
    );
    assert_eq!(
        store
            .consume_token(TokenPurpose::PasswordReset, &reset.hash(), during())
            .await
            .unwrap()
            .map(|consumed| consumed.user_id),
        None
    );
    assert_eq!(
        store
            .consume_token(TokenPurpose::EmailVerification, &verify.hash(), during())
            .await
            .unwrap()
            .map(|consumed| consumed.user_id),
        Some(alice.id)
    );
    assert!(
        !store
            .revoke_tokens(alice.id, TokenPurpose::EmailVerification)
            .await
            .unwrap(),
        "a used token is not counted as revoked"
    );
}

/// Purging removes tokens that expired before the cut-off, used or not,
/// and keeps the rest usable.
pub async fn tokens_purge_removes_expired_only<S: Store + OneTimeTokenStore>(store: S) {
    let alice = stored_user(&store, "alice").await;
    let bob = stored_user(&store, "bob").await;
    let carol = stored_user(&store, "carol").await;
    let (_, expired) = token_for(alice.id, TokenPurpose::PasswordReset);
    store.issue_token(&expired).await.unwrap();
    let (used, issued) = token_for(bob.id, TokenPurpose::PasswordReset);
    store.issue_token(&issued).await.unwrap();
    assert!(
        store
            .consume_token(TokenPurpose::PasswordReset, &used.hash(), during())
            .await
            .unwrap()
            .map(|consumed| consumed.user_id)
            .is_some()
    );
    let (kept, mut issued) = token_for(carol.id, TokenPurpose::PasswordReset);
    issued.expires_at = epoch() + TimeDelta::days(2);
    store.issue_token(&issued).await.unwrap();

    let cut_off = epoch() + TimeDelta::days(1);
    assert_eq!(store.purge_tokens(cut_off).await.unwrap(), 2);
    assert_eq!(store.purge_tokens(cut_off).await.unwrap(), 0);
    assert_eq!(
        store
            .consume_token(TokenPurpose::PasswordReset, &kept.hash(), cut_off)
            .await
            .unwrap()
            .map(|consumed| consumed.user_id),
        Some(carol.id)
    );
}

/// Deleting a user removes their tokens: a link mailed before the deletion
/// never works, even for a new account that reuses the name.
pub async fn tokens_die_with_their_user<S: Store + OneTimeTokenStore>(store: S) {
    let alice = stored_user(&store, "alice").await;
    let (token, issued) = token_for(alice.id, TokenPurpose::PasswordReset);
    store.issue_token(&issued).await.unwrap();
    assert!(
        store
            .delete_user(alice.id, &alice.username.account_key())
            .await
            .unwrap()
    );
    stored_user(&store, "alice").await;
    assert_eq!(
        store
            .consume_token(TokenPurpose::PasswordReset, &token.hash(), during())
            .await
            .unwrap()
            .map(|consumed| consumed.user_id),
        None
    );
}

/// A token's subject comes back exactly as issued, and a token issued
/// without one gives none.
pub async fn tokens_give_back_their_subject<S: Store + OneTimeTokenStore>(store: S) {
    let alice = stored_user(&store, "alice").await;
    let (verify, issued) = token_for(alice.id, TokenPurpose::EmailVerification);
    let address = "Alice.Ünïcode+tag@example.com";
    store.issue_token(&issued.about(address)).await.unwrap();
    let (reset, issued) = token_for(alice.id, TokenPurpose::PasswordReset);
    store.issue_token(&issued).await.unwrap();
    assert_eq!(
        store
            .consume_token(TokenPurpose::EmailVerification, &verify.hash(), during())
            .await
            .unwrap(),
        Some(crate::ConsumedToken {
            user_id: alice.id,
            subject: Some(address.to_owned())
        })
    );
    assert_eq!(
        store
            .consume_token(TokenPurpose::PasswordReset, &reset.hash(), during())
            .await
            .unwrap(),
        Some(crate::ConsumedToken {
            user_id: alice.id,
            subject: None
        })
    );
}

/// A live token is found without being spent; a used, expired or
/// other-purpose one is not found.
pub async fn tokens_are_found_live_without_being_consumed<S: Store + OneTimeTokenStore>(store: S) {
    let alice = stored_user(&store, "alice").await;
    let (token, issued) = token_for(alice.id, TokenPurpose::PasswordReset);
    let issued = issued.about("subject");
    store.issue_token(&issued).await.unwrap();
    let hash = token.hash();
    for _ in 0..2 {
        let found = store
            .find_live_token(TokenPurpose::PasswordReset, &hash, during())
            .await
            .unwrap()
            .unwrap();
        assert_eq!(
            (found.user_id, found.subject.as_deref()),
            (alice.id, Some("subject"))
        );
    }
    let other = store
        .find_live_token(TokenPurpose::EmailVerification, &hash, during())
        .await
        .unwrap();
    assert_eq!(other, None);
    let expired = store
        .find_live_token(TokenPurpose::PasswordReset, &hash, issued.expires_at)
        .await
        .unwrap();
    assert_eq!(expired, None);
    store
        .consume_token(TokenPurpose::PasswordReset, &hash, during())
        .await
        .unwrap()
        .unwrap();
    let used = store
        .find_live_token(TokenPurpose::PasswordReset, &hash, during())
        .await
        .unwrap();
    assert_eq!(used, None);
}
