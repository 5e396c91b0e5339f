//! [`ThrottleStore`] for [`SeaStore`]: one `login_failures` row per failed
//! login, counted by an aggregate on the (account, failed_at) index, and one
//! `login_reservations` row per attempt being evaluated, written under the
//! account's `throttle_locks` row.

use std::time::Duration;

use auth_core::{AccountKey, FailureStats, Reservation, StoreError, ThrottlePolicy, ThrottleStore};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveValue, ColumnTrait, ConnectionTrait, DatabaseTransaction, EntityTrait, PaginatorTrait,
    QueryFilter, QuerySelect, TransactionTrait,
};

use crate::entity::{login_failure, login_reservation, throttle_lock};
use crate::error::unavailable;
use crate::{SeaStore, stored_instant};

impl ThrottleStore for SeaStore {
    async fn record_login_failure(
        &self,
        account: &AccountKey,
        client_ip: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.bounded(async {
            login_failure::Entity::insert(login_failure::ActiveModel {
                id: ActiveValue::NotSet,
                account: ActiveValue::Set(account.as_str().to_owned()),
                client_ip: ActiveValue::Set(client_ip.map(str::to_owned)),
                failed_at: ActiveValue::Set(stored_instant(at)),
            })
            .exec_without_returning(&self.db)
            .await
            .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn login_failure_stats(
        &self,
        account: &AccountKey,
        since: DateTime<Utc>,
    ) -> Result<FailureStats, StoreError> {
        self.bounded(failure_stats(&self.db, account, since)).await
    }

    async fn reserve_login_attempt(
        &self,
        account: &AccountKey,
        policy: &ThrottlePolicy,
        now: DateTime<Utc>,
    ) -> Result<Result<Reservation, Duration>, StoreError> {
        self.bounded(async {
            let txn = self.db.begin().await.map_err(unavailable)?;
            lock_account(&txn, account, now).await?;
            // The reservations first, then the failures. A finishing attempt
            // commits its failure before it releases its place, and on
            // PostgreSQL (read committed) each statement sees what was
            // committed when it started: read in this order, a place gone
            // from the first count has its failure in the second. The other
            // order could miss both, and admit one attempt too many.
            let held = login_reservation::Entity::find()
                .filter(login_reservation::Column::Account.eq(account.as_str()))
                .filter(login_reservation::Column::ExpiresAt.gt(stored_instant(now)))
                .count(&txn)
                .await
                .map_err(unavailable)?;
            let stats = failure_stats(&txn, account, policy.account_since(now)).await?;
            if let Err(wait) = policy.admit(&stats, held, now) {
                txn.rollback().await.map_err(unavailable)?;
                return Ok(Err(wait));
            }
            let reservation = Reservation::new();
            login_reservation::Entity::insert(login_reservation::ActiveModel {
                id: ActiveValue::Set(*reservation.as_uuid()),
                account: ActiveValue::Set(account.as_str().to_owned()),
                expires_at: ActiveValue::Set(stored_instant(policy.reservation_expiry(now))),
            })
            .exec_without_returning(&txn)
            .await
            .map_err(unavailable)?;
            txn.commit().await.map_err(unavailable)?;
            Ok(Ok(reservation))
        })
        .await
    }

    async fn release_login_attempt(&self, reservation: &Reservation) -> Result<(), StoreError> {
        self.bounded(async {
            login_reservation::Entity::delete_by_id(*reservation.as_uuid())
                .exec(&self.db)
                .await
                .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn clear_login_failures(&self, account: &AccountKey) -> Result<u64, StoreError> {
        self.bounded(async {
            let result = login_failure::Entity::delete_many()
                .filter(login_failure::Column::Account.eq(account.as_str()))
                .exec(&self.db)
                .await
                .map_err(unavailable)?;
            Ok(result.rows_affected)
        })
        .await
    }

    async fn purge_login_failures(
        &self,
        before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        self.bounded(async {
            let failures = login_failure::Entity::delete_many()
                .filter(login_failure::Column::FailedAt.lt(stored_instant(before)))
                .exec(&self.db)
                .await
                .map_err(unavailable)?;
            let reservations = login_reservation::Entity::delete_many()
                .filter(login_reservation::Column::ExpiresAt.lte(stored_instant(now)))
                .exec(&self.db)
                .await
                .map_err(unavailable)?;
            // A lock row nobody has touched for a day only marks an account
            // once tried (unknown names included): it goes. One recreated by
            // the next attempt locks just the same.
            let idle = now - chrono::TimeDelta::days(1);
            throttle_lock::Entity::delete_many()
                .filter(throttle_lock::Column::TouchedAt.lt(stored_instant(idle)))
                .exec(&self.db)
                .await
                .map_err(unavailable)?;
            Ok(failures.rows_affected + reservations.rows_affected)
        })
        .await
    }
}

/// `COUNT(*)`, `MIN(failed_at)`, `MAX(failed_at)` of the account's rows
/// (the times are `NULL` when no row counts).
type Aggregate = (i64, Option<DateTime<Utc>>, Option<DateTime<Utc>>);

/// The account's failures at or after `since`, aggregated in one range scan
/// on the (account, failed_at) index.
async fn failure_stats(
    db: &impl ConnectionTrait,
    account: &AccountKey,
    since: DateTime<Utc>,
) -> Result<FailureStats, StoreError> {
    let aggregate = login_failure::Entity::find()
        .select_only()
        .column_as(login_failure::Column::Id.count(), "count")
        .column_as(login_failure::Column::FailedAt.min(), "oldest")
        .column_as(login_failure::Column::FailedAt.max(), "latest")
        .filter(login_failure::Column::Account.eq(account.as_str()))
        .filter(login_failure::Column::FailedAt.gte(stored_instant(since)))
        .into_tuple::<Aggregate>()
        .one(db)
        .await
        .map_err(unavailable)?;
    let mut stats = FailureStats::default();
    if let Some((count, Some(oldest), Some(latest))) = aggregate {
        stats.record(u64::try_from(count).unwrap_or(0), oldest..=latest);
    }
    Ok(stats)
}

/// Takes the account's lock for the rest of `txn`: an upsert of its
/// `throttle_locks` row. On PostgreSQL the row stays locked until the
/// transaction ends; on SQLite the first write takes the database's write
/// lock. Either way, what `txn` reads next cannot change under it, on any
/// instance, and other accounts wait only on SQLite's one writer.
async fn lock_account(
    txn: &DatabaseTransaction,
    account: &AccountKey,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    throttle_lock::Entity::insert(throttle_lock::ActiveModel {
        account: ActiveValue::Set(account.as_str().to_owned()),
        touched_at: ActiveValue::Set(stored_instant(now)),
    })
    .on_conflict(
        OnConflict::column(throttle_lock::Column::Account)
            .update_column(throttle_lock::Column::TouchedAt)
            .to_owned(),
    )
    .exec_without_returning(txn)
    .await
    .map_err(unavailable)?;
    Ok(())
}
