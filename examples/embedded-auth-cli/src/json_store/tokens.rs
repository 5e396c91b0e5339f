//! [`OneTimeTokenStore`] for [`JsonFileStore`]: one entry per user and
//! purpose, so issuing replaces; consuming checks and marks the entry in one
//! rewrite under the file's write locks, so only one use wins; finding a
//! live token is a read.

use auth_core::{
    ConsumedToken, IssuedToken, OneTimeTokenHash, OneTimeTokenStore, StoreError, TokenPurpose,
    UserId,
};
use chrono::{DateTime, Utc};

use super::contents::StoredToken;
use super::{JsonFileStore, Outcome};

fn key(user: UserId, purpose: TokenPurpose) -> String {
    format!("{}:{}", user.as_uuid(), purpose.as_str())
}

impl OneTimeTokenStore for JsonFileStore {
    async fn issue_token(&self, token: &IssuedToken) -> Result<(), StoreError> {
        let key = key(token.user_id, token.purpose);
        let stored = StoredToken {
            user_id: *token.user_id.as_uuid(),
            hash: token.hash.to_hex(),
            subject: token.subject.clone(),
            expires_at: token.expires_at,
            used: false,
        };
        self.update(move |contents| {
            contents.tokens.insert(key, stored);
            Ok(Outcome::Changed(()))
        })
        .await
    }

    async fn consume_token(
        &self,
        purpose: TokenPurpose,
        hash: &OneTimeTokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<ConsumedToken>, StoreError> {
        let hash = hash.to_hex();
        self.update(move |contents| {
            let found = contents.tokens.iter_mut().find(|(key, token)| {
                token.hash == hash && key.ends_with(&format!(":{}", purpose.as_str()))
            });
            match found {
                Some((_, token)) if !token.used && now < token.expires_at => {
                    token.used = true;
                    Ok(Outcome::Changed(Some(ConsumedToken {
                        user_id: UserId::from_uuid(token.user_id),
                        subject: token.subject.clone(),
                    })))
                }
                _ => Ok(Outcome::Unchanged(None)),
            }
        })
        .await
    }

    async fn find_live_token(
        &self,
        purpose: TokenPurpose,
        hash: &OneTimeTokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<ConsumedToken>, StoreError> {
        let hash = hash.to_hex();
        // A read: what `consume_token` would give, nothing marked.
        self.read(move |contents| {
            contents
                .tokens
                .into_iter()
                .find(|(key, token)| {
                    token.hash == hash && key.ends_with(&format!(":{}", purpose.as_str()))
                })
                .filter(|(_, token)| !token.used && now < token.expires_at)
                .map(|(_, token)| ConsumedToken {
                    user_id: UserId::from_uuid(token.user_id),
                    subject: token.subject,
                })
        })
        .await
    }

    async fn revoke_tokens(&self, user: UserId, purpose: TokenPurpose) -> Result<bool, StoreError> {
        let key = key(user, purpose);
        self.update(move |contents| match contents.tokens.remove(&key) {
            Some(token) => Ok(Outcome::Changed(!token.used)),
            None => Ok(Outcome::Unchanged(false)),
        })
        .await
    }

    async fn purge_tokens(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        self.update(move |contents| {
            let count = contents.tokens.len();
            contents
                .tokens
                .retain(|_, token| token.expires_at >= before);
            Ok(Outcome::of_count(count - contents.tokens.len()))
        })
        .await
    }
}
