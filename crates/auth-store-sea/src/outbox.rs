//! [`MailOutbox`] for [`SeaStore`]: the `mail_outbox` table.
//!
//! A claim is one `UPDATE … WHERE id IN (SELECT … LIMIT n) RETURNING *`
//! that takes the lease and counts the attempt. On PostgreSQL the subquery
//! locks its rows `FOR UPDATE SKIP LOCKED`, so concurrent claimers on
//! several instances each take other rows instead of waiting (and, under
//! read committed, a row another claim already leased no longer matches);
//! SQLite runs one writer at a time, so the statement is atomic there too.

use std::time::Duration;

use auth_core::{EmailAddress, MailId, MailOutbox, OutboxStats, QueuedMail, StoreError, UserId};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, ExprTrait as _, LockBehavior, LockType, Query};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, PaginatorTrait, QueryFilter,
    QueryOrder, QuerySelect, TransactionTrait,
};

use crate::entity::mail_outbox::{self, Column};
use crate::entity::user;
use crate::error::{is_unique_violation, unavailable};
use crate::{SeaStore, stored_instant};

/// `UserRepository::change_email`: the address and its mail in one
/// transaction.
pub(crate) async fn change_email(
    db: &DatabaseConnection,
    id: UserId,
    email: &EmailAddress,
    updated_at: DateTime<Utc>,
    mail: &[QueuedMail],
) -> Result<bool, StoreError> {
    let txn = db.begin().await.map_err(unavailable)?;
    let changed = user::Entity::update_many()
        .col_expr(user::Column::Email, Expr::value(email.as_str()))
        .col_expr(user::Column::EmailCanonical, Expr::value(email.canonical()))
        .col_expr(user::Column::EmailVerified, Expr::value(false))
        .col_expr(
            user::Column::UpdatedAt,
            Expr::value(stored_instant(updated_at)),
        )
        .filter(user::Column::Id.eq(*id.as_uuid()))
        .exec(&txn)
        .await
        .map_err(|error| {
            if is_unique_violation(&error) {
                StoreError::EmailTaken
            } else {
                unavailable(error)
            }
        })?;
    if changed.rows_affected == 0 {
        return Ok(false); // dropping the transaction rolls it back
    }
    insert(&txn, mail).await?;
    txn.commit().await.map_err(unavailable)?;
    Ok(true)
}

async fn insert(db: &impl ConnectionTrait, mail: &[QueuedMail]) -> Result<(), StoreError> {
    if mail.is_empty() {
        return Ok(());
    }
    mail_outbox::Entity::insert_many(mail.iter().map(mail_outbox::ActiveModel::from_domain))
        .exec_without_returning(db)
        .await
        .map_err(unavailable)?;
    Ok(())
}

fn waiting() -> sea_orm::Condition {
    sea_orm::Condition::all()
        .add(Column::CompletedAt.is_null())
        .add(Column::FailedAt.is_null())
}

impl MailOutbox for SeaStore {
    async fn enqueue_mail(&self, mail: &[QueuedMail]) -> Result<(), StoreError> {
        self.bounded(insert(&self.db, mail)).await
    }

    async fn claim_mail(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<QueuedMail>, StoreError> {
        let now = stored_instant(now);
        let lease = chrono::TimeDelta::from_std(lease).map_err(StoreError::unavailable)?;
        let until = stored_instant(now + lease);
        self.bounded(async {
            let due = Query::select()
                .column(Column::Id)
                .from(mail_outbox::Entity)
                .cond_where(
                    waiting().add(Column::NextAttemptAt.lte(now)).add(
                        sea_orm::Condition::any()
                            .add(Column::LeasedUntil.is_null())
                            .add(Column::LeasedUntil.lte(now)),
                    ),
                )
                .order_by(Column::NextAttemptAt, sea_orm::Order::Asc)
                .order_by(Column::Id, sea_orm::Order::Asc)
                .limit(u64::from(limit))
                .lock_with_behavior(LockType::Update, LockBehavior::SkipLocked)
                .to_owned();
            let rows = mail_outbox::Entity::update_many()
                .col_expr(Column::Attempts, Expr::col(Column::Attempts).add(1))
                .col_expr(Column::LeasedUntil, Expr::value(until))
                .filter(Column::Id.in_subquery(due))
                .exec_with_returning(&self.db)
                .await
                .map_err(unavailable)?;
            let mut claimed = rows
                .into_iter()
                .map(mail_outbox::Model::into_domain)
                .collect::<Result<Vec<_>, _>>()?;
            claimed.sort_by_key(|mail| (mail.next_attempt_at, mail.id));
            Ok(claimed)
        })
        .await
    }

    async fn complete_mail(&self, id: MailId, now: DateTime<Utc>) -> Result<bool, StoreError> {
        self.finish(id, Column::CompletedAt, now).await
    }

    async fn retry_mail(&self, id: MailId, at: DateTime<Utc>) -> Result<bool, StoreError> {
        let none: Option<DateTime<Utc>> = None;
        self.update_waiting(
            id,
            [
                (Column::LeasedUntil, Expr::value(none)),
                (Column::NextAttemptAt, Expr::value(stored_instant(at))),
            ],
        )
        .await
    }

    async fn fail_mail(&self, id: MailId, now: DateTime<Utc>) -> Result<bool, StoreError> {
        self.finish(id, Column::FailedAt, now).await
    }

    async fn outbox_stats(&self) -> Result<OutboxStats, StoreError> {
        self.bounded(async {
            let waiting_rows = mail_outbox::Entity::find().filter(waiting());
            let count = waiting_rows
                .clone()
                .count(&self.db)
                .await
                .map_err(unavailable)?;
            let oldest = waiting_rows
                .order_by_asc(Column::CreatedAt)
                .select_only()
                .column(Column::CreatedAt)
                .into_tuple::<DateTime<Utc>>()
                .one(&self.db)
                .await
                .map_err(unavailable)?;
            let failed = mail_outbox::Entity::find()
                .filter(Column::FailedAt.is_not_null())
                .count(&self.db)
                .await
                .map_err(unavailable)?;
            Ok(OutboxStats {
                waiting: count,
                failed,
                oldest_waiting: oldest,
            })
        })
        .await
    }

    async fn purge_mail(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let before = stored_instant(before);
        self.bounded(async {
            let result = mail_outbox::Entity::delete_many()
                .filter(
                    sea_orm::Condition::any()
                        .add(Column::CompletedAt.lt(before))
                        .add(Column::FailedAt.lt(before)),
                )
                .exec(&self.db)
                .await
                .map_err(unavailable)?;
            Ok(result.rows_affected)
        })
        .await
    }
}

impl SeaStore {
    /// Ends a waiting message: `column` (completed or failed) set to `at`.
    async fn finish(
        &self,
        id: MailId,
        column: Column,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.update_waiting(id, [(column, Expr::value(stored_instant(at)))])
            .await
    }

    /// Sets `values` on message `id` if it is still waiting; returns whether it was.
    async fn update_waiting<const N: usize>(
        &self,
        id: MailId,
        values: [(Column, Expr); N],
    ) -> Result<bool, StoreError> {
        self.bounded(async {
            let mut update = mail_outbox::Entity::update_many();
            for (column, value) in values {
                update = update.col_expr(column, value);
            }
            let result = update
                .filter(Column::Id.eq(*id.as_uuid()))
                .filter(waiting())
                .exec(&self.db)
                .await
                .map_err(unavailable)?;
            Ok(result.rows_affected > 0)
        })
        .await
    }
}
