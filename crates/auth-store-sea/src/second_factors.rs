//! [`SecondFactorStore`] for [`SeaStore`]: `totp_factors` and
//! `recovery_codes`.
//!
//! Each rule that must hold under concurrency is one conditional statement
//! whose `WHERE` repeats it, and the affected-row count is the answer: a
//! step is used by `UPDATE … WHERE last_step < step` (PostgreSQL re-checks
//! the condition after waiting on the row lock; SQLite has one writer), a
//! code is spent by `DELETE` of its row, a pending factor is replaced by an
//! upsert that does nothing once the factor is enabled.

use auth_core::{
    RecoveryCodeHash, Revocation, SealedSecret, SecondFactorStore, StoreError, TotpFactor, UserId,
};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait, OnConflict};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait, EntityTrait, PaginatorTrait, QueryFilter, Set,
    TransactionTrait,
};
use uuid::Uuid;

use crate::entity::recovery_code;
use crate::entity::totp_factor::{self, Column, stored_step};
use crate::error::unavailable;
use crate::revocations;
use crate::{SeaStore, stored_instant};

/// Logs that `user`'s factors changed, in the change's transaction, so
/// that every instance's cached summary of them (`GET /me`) is read again.
pub(crate) async fn changed(txn: &impl ConnectionTrait, user: UserId) -> Result<(), StoreError> {
    revocations::append(txn, Revocation::SecondFactors(user))
        .await
        .map_err(unavailable)
}

/// Deletes `user`'s factor and codes (within the account deletion's
/// transaction; the foreign keys cascade too).
pub(crate) async fn delete_user_factors(
    db: &impl ConnectionTrait,
    user: Uuid,
) -> Result<(), StoreError> {
    recovery_code::Entity::delete_many()
        .filter(recovery_code::Column::UserId.eq(user))
        .exec(db)
        .await
        .map_err(unavailable)?;
    totp_factor::Entity::delete_many()
        .filter(Column::UserId.eq(user))
        .exec(db)
        .await
        .map_err(unavailable)?;
    Ok(())
}

/// Replaces `user`'s codes with `codes` (inside a transaction).
async fn put_codes(
    db: &impl ConnectionTrait,
    user: Uuid,
    codes: &[RecoveryCodeHash],
    at: DateTime<Utc>,
) -> Result<(), StoreError> {
    recovery_code::Entity::delete_many()
        .filter(recovery_code::Column::UserId.eq(user))
        .exec(db)
        .await
        .map_err(unavailable)?;
    if codes.is_empty() {
        return Ok(());
    }
    let rows = codes.iter().map(|code| recovery_code::ActiveModel {
        user_id: Set(user),
        code_hash: Set(code.as_bytes().to_vec()),
        created_at: Set(stored_instant(at)),
    });
    recovery_code::Entity::insert_many(rows)
        .exec_without_returning(db)
        .await
        .map_err(unavailable)?;
    Ok(())
}

fn enabled(user: Uuid) -> Condition {
    Condition::all()
        .add(Column::UserId.eq(user))
        .add(Column::EnabledAt.is_not_null())
}

impl SecondFactorStore for SeaStore {
    async fn find_totp(&self, user: UserId) -> Result<Option<TotpFactor>, StoreError> {
        self.bounded(async {
            let row = totp_factor::Entity::find_by_id(*user.as_uuid())
                .one(&self.db)
                .await
                .map_err(unavailable)?;
            Ok(row.map(totp_factor::Model::into_domain))
        })
        .await
    }

    async fn stage_totp(&self, factor: &TotpFactor) -> Result<bool, StoreError> {
        let pending = TotpFactor {
            enabled_at: None,
            last_step: None,
            ..factor.clone()
        };
        self.bounded(async {
            let result = totp_factor::Entity::insert(totp_factor::ActiveModel::from(&pending))
                .on_conflict(
                    OnConflict::column(Column::UserId)
                        .update_columns([
                            Column::Secret,
                            Column::CreatedAt,
                            Column::EnabledAt,
                            Column::LastStep,
                        ])
                        .action_and_where(
                            Expr::col((totp_factor::Entity, Column::EnabledAt)).is_null(),
                        )
                        .to_owned(),
                )
                .exec_without_returning(&self.db)
                .await
                .map_err(unavailable)?;
            Ok(result == 1)
        })
        .await
    }

    async fn enable_totp(
        &self,
        user: UserId,
        secret: &SealedSecret,
        step: u64,
        codes: &[RecoveryCodeHash],
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let uuid = *user.as_uuid();
        self.bounded(async {
            let txn = self.db.begin().await.map_err(unavailable)?;
            let result = totp_factor::Entity::update_many()
                .col_expr(Column::EnabledAt, Expr::value(stored_instant(at)))
                .col_expr(Column::LastStep, Expr::value(stored_step(step)))
                .filter(Column::UserId.eq(uuid))
                .filter(Column::EnabledAt.is_null())
                .filter(Column::Secret.eq(secret.as_str()))
                .exec(&txn)
                .await
                .map_err(unavailable)?;
            if result.rows_affected != 1 {
                return Ok(false);
            }
            put_codes(&txn, uuid, codes, at).await?;
            changed(&txn, user).await?;
            txn.commit().await.map_err(unavailable)?;
            Ok(true)
        })
        .await
    }

    async fn use_totp_step(&self, user: UserId, step: u64) -> Result<bool, StoreError> {
        let step = stored_step(step);
        self.bounded(async {
            let result = totp_factor::Entity::update_many()
                .col_expr(Column::LastStep, Expr::value(step))
                .filter(enabled(*user.as_uuid()))
                .filter(
                    Condition::any()
                        .add(Column::LastStep.is_null())
                        .add(Column::LastStep.lt(step)),
                )
                .exec(&self.db)
                .await
                .map_err(unavailable)?;
            Ok(result.rows_affected == 1)
        })
        .await
    }

    async fn remove_totp(&self, user: UserId) -> Result<bool, StoreError> {
        let uuid = *user.as_uuid();
        self.bounded(async {
            let txn = self.db.begin().await.map_err(unavailable)?;
            recovery_code::Entity::delete_many()
                .filter(recovery_code::Column::UserId.eq(uuid))
                .exec(&txn)
                .await
                .map_err(unavailable)?;
            let removed = totp_factor::Entity::delete_by_id(uuid)
                .exec(&txn)
                .await
                .map_err(unavailable)?
                .rows_affected
                == 1;
            if removed {
                changed(&txn, user).await?;
            }
            txn.commit().await.map_err(unavailable)?;
            Ok(removed)
        })
        .await
    }

    async fn replace_recovery_codes(
        &self,
        user: UserId,
        codes: &[RecoveryCodeHash],
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let uuid = *user.as_uuid();
        self.bounded(async {
            let txn = self.db.begin().await.map_err(unavailable)?;
            // A no-op update of the enabled factor: it locks the row on
            // PostgreSQL, so a concurrent removal waits for these codes (and
            // deletes them) rather than leaving them behind.
            let locked = totp_factor::Entity::update_many()
                .col_expr(Column::LastStep, Expr::col(Column::LastStep))
                .filter(enabled(uuid))
                .exec(&txn)
                .await
                .map_err(unavailable)?;
            if locked.rows_affected != 1 {
                return Ok(false);
            }
            put_codes(&txn, uuid, codes, at).await?;
            changed(&txn, user).await?;
            txn.commit().await.map_err(unavailable)?;
            Ok(true)
        })
        .await
    }

    async fn use_recovery_code(
        &self,
        user: UserId,
        code: &RecoveryCodeHash,
    ) -> Result<bool, StoreError> {
        self.bounded(async {
            let txn = self.db.begin().await.map_err(unavailable)?;
            let spent = recovery_code::Entity::delete_many()
                .filter(recovery_code::Column::UserId.eq(*user.as_uuid()))
                .filter(recovery_code::Column::CodeHash.eq(code.as_bytes().to_vec()))
                .exec(&txn)
                .await
                .map_err(unavailable)?
                .rows_affected
                == 1;
            if spent {
                changed(&txn, user).await?;
            }
            txn.commit().await.map_err(unavailable)?;
            Ok(spent)
        })
        .await
    }

    async fn count_recovery_codes(&self, user: UserId) -> Result<u64, StoreError> {
        self.bounded(async {
            recovery_code::Entity::find()
                .filter(recovery_code::Column::UserId.eq(*user.as_uuid()))
                .count(&self.db)
                .await
                .map_err(unavailable)
        })
        .await
    }
}
