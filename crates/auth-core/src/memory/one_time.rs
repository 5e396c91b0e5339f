//! The [`MemoryStore`]'s one-time tokens: one map by hash and one index by
//! user and purpose, changed together under the store's lock, so issuing
//! (replace) and consuming (check and mark) are each one step.

use std::collections::HashMap;

use chrono::{DateTime, Utc};

use super::MemoryStore;
use crate::{
    ConsumedToken, IssuedToken, OneTimeTokenHash, OneTimeTokenStore, StoreError, TokenPurpose,
    UserId,
};

#[derive(Debug, Default)]
pub(super) struct Tokens {
    by_hash: HashMap<OneTimeTokenHash, Stored>,
    /// The user's current token of each purpose: at most one.
    current: HashMap<(UserId, TokenPurpose), OneTimeTokenHash>,
}

#[derive(Debug)]
struct Stored {
    token: IssuedToken,
    used: bool,
}

impl Tokens {
    /// Forgets every token of `user` (the account is being deleted).
    pub(super) fn remove_user(&mut self, user: UserId) {
        self.by_hash
            .retain(|_, stored| stored.token.user_id != user);
        self.current.retain(|(holder, _), _| *holder != user);
    }
}

impl OneTimeTokenStore for MemoryStore {
    async fn issue_token(&self, token: &IssuedToken) -> Result<(), StoreError> {
        let mut state = self.state();
        let tokens = &mut state.tokens;
        if let Some(previous) = tokens
            .current
            .insert((token.user_id, token.purpose), token.hash)
        {
            tokens.by_hash.remove(&previous);
        }
        tokens.by_hash.insert(
            token.hash,
            Stored {
                token: token.clone(),
                used: false,
            },
        );
        Ok(())
    }

    async fn consume_token(
        &self,
        purpose: TokenPurpose,
        hash: &OneTimeTokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<ConsumedToken>, StoreError> {
        let mut state = self.state();
        let Some(stored) = state.tokens.by_hash.get_mut(hash) else {
            return Ok(None);
        };
        if stored.used || stored.token.purpose != purpose || !stored.token.is_live_at(now) {
            return Ok(None);
        }
        stored.used = true;
        Ok(Some(ConsumedToken {
            user_id: stored.token.user_id,
            subject: stored.token.subject.clone(),
        }))
    }

    async fn find_live_token(
        &self,
        purpose: TokenPurpose,
        hash: &OneTimeTokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<ConsumedToken>, StoreError> {
        let state = self.state();
        Ok(state
            .tokens
            .by_hash
            .get(hash)
            .filter(|stored| {
                !stored.used && stored.token.purpose == purpose && stored.token.is_live_at(now)
            })
            .map(|stored| ConsumedToken {
                user_id: stored.token.user_id,
                subject: stored.token.subject.clone(),
            }))
    }

    async fn revoke_tokens(&self, user: UserId, purpose: TokenPurpose) -> Result<bool, StoreError> {
        let mut state = self.state();
        let tokens = &mut state.tokens;
        let Some(hash) = tokens.current.remove(&(user, purpose)) else {
            return Ok(false);
        };
        Ok(tokens
            .by_hash
            .remove(&hash)
            .is_some_and(|stored| !stored.used))
    }

    async fn purge_tokens(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut state = self.state();
        let tokens = &mut state.tokens;
        let count = tokens.by_hash.len();
        tokens
            .by_hash
            .retain(|_, stored| stored.token.expires_at >= before);
        let Tokens { by_hash, current } = tokens;
        current.retain(|_, hash| by_hash.contains_key(hash));
        Ok((count - by_hash.len()) as u64)
    }
}
