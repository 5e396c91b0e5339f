//! [`PasskeyStore`] and [`CeremonyStore`] for [`SeaStore`]: `passkeys` and
//! `webauthn_challenges`.
//!
//! A credential id is unique by the table's index (a racing second
//! registration gets the unique violation, answered `false`); a counter is
//! never lowered because the `UPDATE`'s `WHERE` repeats the rule; a
//! ceremony is taken by the one `DELETE` that affects its row, so of two
//! instances finishing one challenge, one wins.

use auth_core::{
    Ceremony, CeremonyStore, OneTimeTokenHash, Passkey, PasskeyId, PasskeyName, PasskeyStore,
    StoreError, UserId,
};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::Expr;
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, QueryOrder,
    TransactionTrait,
};
use uuid::Uuid;

use crate::entity::passkey::{self, Column};
use crate::entity::webauthn_challenge;
use crate::error::{is_unique_violation, unavailable};
use crate::{SeaStore, second_factors, stored_instant};

/// Deletes `user`'s passkeys and ceremonies (within the account deletion's
/// transaction; the foreign keys cascade too).
pub(crate) async fn delete_user_passkeys(
    db: &impl ConnectionTrait,
    user: Uuid,
) -> Result<(), StoreError> {
    passkey::Entity::delete_many()
        .filter(Column::UserId.eq(user))
        .exec(db)
        .await
        .map_err(unavailable)?;
    webauthn_challenge::Entity::delete_many()
        .filter(webauthn_challenge::Column::UserId.eq(user))
        .exec(db)
        .await
        .map_err(unavailable)?;
    Ok(())
}

fn owned(user: UserId, id: PasskeyId) -> Condition {
    Condition::all()
        .add(Column::Id.eq(*id.as_uuid()))
        .add(Column::UserId.eq(*user.as_uuid()))
}

impl PasskeyStore for SeaStore {
    async fn add_passkey(&self, passkey: &Passkey) -> Result<bool, StoreError> {
        self.bounded(async {
            let txn = self.db.begin().await.map_err(unavailable)?;
            match passkey::Entity::insert(passkey::ActiveModel::from(passkey))
                .exec_without_returning(&txn)
                .await
            {
                Ok(_) => {}
                // Dropping `txn` rolls it back (PostgreSQL has aborted it anyway).
                Err(error) if is_unique_violation(&error) => return Ok(false),
                Err(error) => return Err(unavailable(error)),
            }
            second_factors::changed(&txn, passkey.user_id).await?;
            txn.commit().await.map_err(unavailable)?;
            Ok(true)
        })
        .await
    }

    async fn list_passkeys(&self, user: UserId) -> Result<Vec<Passkey>, StoreError> {
        self.bounded(async {
            let rows = passkey::Entity::find()
                .filter(Column::UserId.eq(*user.as_uuid()))
                .order_by_asc(Column::CreatedAt)
                .order_by_asc(Column::Id)
                .all(&self.db)
                .await
                .map_err(unavailable)?;
            Ok(rows.into_iter().map(passkey::Model::into_domain).collect())
        })
        .await
    }

    async fn find_passkey_by_credential_id(
        &self,
        credential_id: &[u8],
    ) -> Result<Option<Passkey>, StoreError> {
        self.bounded(async {
            let row = passkey::Entity::find()
                .filter(Column::CredentialId.eq(credential_id.to_vec()))
                .one(&self.db)
                .await
                .map_err(unavailable)?;
            Ok(row.map(passkey::Model::into_domain))
        })
        .await
    }

    async fn rename_passkey(
        &self,
        user: UserId,
        id: PasskeyId,
        name: &PasskeyName,
    ) -> Result<bool, StoreError> {
        self.bounded(async {
            let result = passkey::Entity::update_many()
                .col_expr(Column::Name, Expr::value(name.as_str()))
                .filter(owned(user, id))
                .exec(&self.db)
                .await
                .map_err(unavailable)?;
            Ok(result.rows_affected == 1)
        })
        .await
    }

    async fn record_passkey_use(
        &self,
        id: PasskeyId,
        credential: &str,
        sign_count: u32,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let count = i64::from(sign_count);
        let mut condition = Condition::all().add(Column::Id.eq(*id.as_uuid()));
        if sign_count > 0 {
            condition = condition.add(Column::SignCount.lt(count));
        }
        self.bounded(async {
            let result = passkey::Entity::update_many()
                .col_expr(Column::Credential, Expr::value(credential))
                .col_expr(Column::SignCount, Expr::value(count))
                .col_expr(Column::LastUsedAt, Expr::value(stored_instant(at)))
                .filter(condition)
                .exec(&self.db)
                .await
                .map_err(unavailable)?;
            Ok(result.rows_affected == 1)
        })
        .await
    }

    async fn remove_passkey(&self, user: UserId, id: PasskeyId) -> Result<bool, StoreError> {
        self.bounded(async {
            let txn = self.db.begin().await.map_err(unavailable)?;
            let removed = passkey::Entity::delete_many()
                .filter(owned(user, id))
                .exec(&txn)
                .await
                .map_err(unavailable)?
                .rows_affected
                == 1;
            if removed {
                second_factors::changed(&txn, user).await?;
            }
            txn.commit().await.map_err(unavailable)?;
            Ok(removed)
        })
        .await
    }

    async fn count_passkeys(&self, user: UserId) -> Result<u64, StoreError> {
        self.bounded(async {
            passkey::Entity::find()
                .filter(Column::UserId.eq(*user.as_uuid()))
                .count(&self.db)
                .await
                .map_err(unavailable)
        })
        .await
    }
}

impl CeremonyStore for SeaStore {
    async fn put_ceremony(&self, ceremony: &Ceremony) -> Result<(), StoreError> {
        self.bounded(async {
            webauthn_challenge::Entity::insert(webauthn_challenge::ActiveModel::from(ceremony))
                .exec_without_returning(&self.db)
                .await
                .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn take_ceremony(
        &self,
        challenge: &OneTimeTokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<Ceremony>, StoreError> {
        let key = challenge.as_bytes().to_vec();
        self.bounded(async {
            let Some(row) = webauthn_challenge::Entity::find_by_id(key.clone())
                .one(&self.db)
                .await
                .map_err(unavailable)?
            else {
                return Ok(None);
            };
            // The one DELETE that removes the row is the one use.
            let deleted = webauthn_challenge::Entity::delete_by_id(key)
                .exec(&self.db)
                .await
                .map_err(unavailable)?;
            if deleted.rows_affected != 1 {
                return Ok(None);
            }
            Ok(row
                .into_domain()
                .filter(|ceremony| ceremony.expires_at > now))
        })
        .await
    }

    async fn purge_ceremonies(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.bounded(async {
            let removed = webauthn_challenge::Entity::delete_many()
                .filter(webauthn_challenge::Column::ExpiresAt.lte(stored_instant(now)))
                .exec(&self.db)
                .await
                .map_err(unavailable)?;
            Ok(removed.rows_affected)
        })
        .await
    }
}
