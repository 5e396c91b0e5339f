//! [`OneTimeTokenStore`] for [`SeaStore`]: one `one_time_tokens` row per
//! user and purpose.
//!
//! Issuing is one upsert on that key, so a new token replaces the previous
//! one atomically. Consuming reads the live row's user, then marks it used
//! with an `UPDATE` that repeats every condition (`used_at IS NULL`
//! included): of concurrent consumers only one changes the row (PostgreSQL
//! re-checks the condition after waiting on the row lock; SQLite runs one
//! writer at a time), and only the one that changed it gets the user.

use auth_core::{
    ConsumedToken, IssuedToken, OneTimeTokenHash, OneTimeTokenStore, StoreError, TokenPurpose,
    UserId,
};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ColumnTrait, Condition, EntityTrait, QueryFilter, QuerySelect};

use crate::entity::one_time_token::{self, Column};
use crate::error::unavailable;
use crate::{SeaStore, stored_instant};

/// The row `hash` names, if it is a live, unused token of `purpose` at `now`.
fn live(purpose: TokenPurpose, hash: &OneTimeTokenHash, now: DateTime<Utc>) -> Condition {
    Condition::all()
        .add(Column::TokenHash.eq(hash.as_bytes().to_vec()))
        .add(Column::Purpose.eq(purpose.as_str()))
        .add(Column::UsedAt.is_null())
        .add(Column::ExpiresAt.gt(stored_instant(now)))
}

impl OneTimeTokenStore for SeaStore {
    async fn issue_token(&self, token: &IssuedToken) -> Result<(), StoreError> {
        self.bounded(async {
            one_time_token::Entity::insert(one_time_token::ActiveModel::from(token))
                .on_conflict(
                    OnConflict::columns([Column::UserId, Column::Purpose])
                        .update_columns([
                            Column::TokenHash,
                            Column::Subject,
                            Column::CreatedAt,
                            Column::ExpiresAt,
                            Column::UsedAt,
                        ])
                        .to_owned(),
                )
                .exec_without_returning(&self.db)
                .await
                .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn consume_token(
        &self,
        purpose: TokenPurpose,
        hash: &OneTimeTokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<ConsumedToken>, StoreError> {
        self.bounded(async {
            let Some(found) = self.live_token(purpose, hash, now).await? else {
                return Ok(None);
            };
            let marked = one_time_token::Entity::update_many()
                .col_expr(Column::UsedAt, Expr::value(stored_instant(now)))
                .filter(live(purpose, hash, now))
                .exec(&self.db)
                .await
                .map_err(unavailable)?;
            Ok((marked.rows_affected == 1).then_some(found))
        })
        .await
    }

    async fn find_live_token(
        &self,
        purpose: TokenPurpose,
        hash: &OneTimeTokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<ConsumedToken>, StoreError> {
        self.bounded(self.live_token(purpose, hash, now)).await
    }

    async fn revoke_tokens(&self, user: UserId, purpose: TokenPurpose) -> Result<bool, StoreError> {
        self.bounded(async {
            let removed = one_time_token::Entity::delete_many()
                .filter(Column::UserId.eq(*user.as_uuid()))
                .filter(Column::Purpose.eq(purpose.as_str()))
                .filter(Column::UsedAt.is_null())
                .exec(&self.db)
                .await
                .map_err(unavailable)?;
            // A used token holds no power; it goes too, uncounted. Only a
            // used one: a token issued since the first delete stays.
            one_time_token::Entity::delete_many()
                .filter(Column::UserId.eq(*user.as_uuid()))
                .filter(Column::Purpose.eq(purpose.as_str()))
                .filter(Column::UsedAt.is_not_null())
                .exec(&self.db)
                .await
                .map_err(unavailable)?;
            Ok(removed.rows_affected > 0)
        })
        .await
    }

    async fn purge_tokens(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        self.bounded(async {
            let removed = one_time_token::Entity::delete_many()
                .filter(Column::ExpiresAt.lt(stored_instant(before)))
                .exec(&self.db)
                .await
                .map_err(unavailable)?;
            Ok(removed.rows_affected)
        })
        .await
    }
}

impl SeaStore {
    async fn live_token(
        &self,
        purpose: TokenPurpose,
        hash: &OneTimeTokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<ConsumedToken>, StoreError> {
        let found = one_time_token::Entity::find()
            .filter(live(purpose, hash, now))
            .select_only()
            .column(Column::UserId)
            .column(Column::Subject)
            .into_tuple::<(uuid::Uuid, Option<String>)>()
            .one(&self.db)
            .await
            .map_err(unavailable)?;
        Ok(found.map(|(user, subject)| ConsumedToken {
            user_id: UserId::from_uuid(user),
            subject,
        }))
    }
}
