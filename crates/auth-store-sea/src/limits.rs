//! [`RateLimitStore`] and [`DeviceStore`] for [`SeaStore`]: one
//! `rate_limits` row per budget, read and written under its own row lock;
//! one `devices` row per device cookie.

use std::time::Duration;

use auth_core::{Device, DeviceId, DeviceStore, RateKey, RateLimit, RateLimitStore, StoreError};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, OnConflict};
use sea_orm::{ActiveValue, ColumnTrait, EntityTrait, QueryFilter, QuerySelect, TransactionTrait};

use crate::entity::{device, rate_limit};
use crate::error::unavailable;
use crate::{SeaStore, stored_instant};

impl SeaStore {
    /// Reads the budget `key` under its row lock, lets `decide` compute the
    /// new state (or none), and writes it, in one transaction: the lock is
    /// an upsert that inserts `now` (a full budget) or rewrites the row as it
    /// is, which holds the row on PostgreSQL and the write lock on SQLite.
    async fn update_rate<T>(
        &self,
        key: &RateKey,
        now: DateTime<Utc>,
        decide: impl FnOnce(DateTime<Utc>) -> (Option<DateTime<Utc>>, T) + Send,
    ) -> Result<T, StoreError> {
        self.bounded(async {
            let txn = self.db.begin().await.map_err(unavailable)?;
            rate_limit::Entity::insert(rate_limit::ActiveModel {
                key: ActiveValue::Set(key.as_str().to_owned()),
                arrives_at: ActiveValue::Set(stored_instant(now)),
            })
            .on_conflict(
                OnConflict::column(rate_limit::Column::Key)
                    .value(
                        rate_limit::Column::ArrivesAt,
                        Expr::col((rate_limit::Entity, rate_limit::Column::ArrivesAt)),
                    )
                    .to_owned(),
            )
            .exec_without_returning(&txn)
            .await
            .map_err(unavailable)?;
            let state = rate_limit::Entity::find_by_id(key.as_str())
                .select_only()
                .column(rate_limit::Column::ArrivesAt)
                .into_tuple::<DateTime<Utc>>()
                .one(&txn)
                .await
                .map_err(unavailable)?
                .unwrap_or(now);
            let (next, answer) = decide(state);
            match next {
                Some(next) => {
                    rate_limit::Entity::update_many()
                        .col_expr(
                            rate_limit::Column::ArrivesAt,
                            Expr::value(stored_instant(next)),
                        )
                        .filter(rate_limit::Column::Key.eq(key.as_str()))
                        .exec(&txn)
                        .await
                        .map_err(unavailable)?;
                    txn.commit().await.map_err(unavailable)?;
                }
                None => txn.rollback().await.map_err(unavailable)?,
            }
            Ok(answer)
        })
        .await
    }
}

impl RateLimitStore for SeaStore {
    async fn take_rate(
        &self,
        key: &RateKey,
        limit: &RateLimit,
        now: DateTime<Utc>,
    ) -> Result<Result<(), Duration>, StoreError> {
        self.update_rate(key, now, |state| match limit.take(Some(state), now) {
            Ok(next) => (Some(next), Ok(())),
            Err(wait) => (None, Err(wait)),
        })
        .await
    }

    async fn charge_rate(
        &self,
        key: &RateKey,
        limit: &RateLimit,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.update_rate(key, now, |state| (Some(limit.charge(Some(state), now)), ()))
            .await
    }

    async fn rate_wait(
        &self,
        key: &RateKey,
        limit: &RateLimit,
        now: DateTime<Utc>,
    ) -> Result<Option<Duration>, StoreError> {
        self.bounded(async {
            let state = rate_limit::Entity::find_by_id(key.as_str())
                .select_only()
                .column(rate_limit::Column::ArrivesAt)
                .into_tuple::<DateTime<Utc>>()
                .one(&self.db)
                .await
                .map_err(unavailable)?;
            Ok(limit.wait(state, now))
        })
        .await
    }

    async fn clear_rate(&self, key: &RateKey) -> Result<(), StoreError> {
        self.bounded(async {
            rate_limit::Entity::delete_by_id(key.as_str())
                .exec(&self.db)
                .await
                .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn purge_rates(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.bounded(async {
            let result = rate_limit::Entity::delete_many()
                .filter(rate_limit::Column::ArrivesAt.lte(stored_instant(now)))
                .exec(&self.db)
                .await
                .map_err(unavailable)?;
            Ok(result.rows_affected)
        })
        .await
    }
}

impl DeviceStore for SeaStore {
    async fn insert_device(&self, device: &Device) -> Result<(), StoreError> {
        self.bounded(async {
            device::Entity::insert(device::ActiveModel::from(device))
                .exec_without_returning(&self.db)
                .await
                .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn find_device(&self, id: &DeviceId) -> Result<Option<Device>, StoreError> {
        self.bounded(async {
            let row = device::Entity::find_by_id(id.as_bytes().to_vec())
                .one(&self.db)
                .await
                .map_err(unavailable)?;
            Ok(row.map(device::Model::into_domain).transpose()?)
        })
        .await
    }

    async fn purge_expired_devices(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.bounded(async {
            let result = device::Entity::delete_many()
                .filter(device::Column::ExpiresAt.lte(stored_instant(now)))
                .exec(&self.db)
                .await
                .map_err(unavailable)?;
            Ok(result.rows_affected)
        })
        .await
    }
}
