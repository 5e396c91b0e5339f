//! [`ThrottleStore`] for [`SeaStore`]: one `login_failures` row per failed
//! login, counted by aggregates on the (key, failed_at) indexes.

use auth_core::{AccountKey, FailureBudget, FailureStats, StoreError, ThrottleStore};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::IntoCondition;
use sea_orm::{ActiveValue, ColumnTrait, EntityTrait, QueryFilter, QuerySelect};

use crate::entity::login_failure;
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
        client_ip: Option<&str>,
        account_since: DateTime<Utc>,
        ip_since: DateTime<Utc>,
    ) -> Result<FailureStats, StoreError> {
        self.bounded(async {
            let mut stats = FailureStats::default();
            let account_key = login_failure::Column::Account.eq(account.as_str());
            let account_failures = self.failures_since(account_key, account_since).await?;
            record(&mut stats, FailureBudget::Account, account_failures);
            if let Some(ip) = client_ip {
                let ip_key = login_failure::Column::ClientIp.eq(ip);
                let ip_failures = self.failures_since(ip_key, ip_since).await?;
                record(&mut stats, FailureBudget::ClientIp, ip_failures);
            }
            Ok(stats)
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

    async fn purge_login_failures(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        self.bounded(async {
            let result = login_failure::Entity::delete_many()
                .filter(login_failure::Column::FailedAt.lt(stored_instant(before)))
                .exec(&self.db)
                .await
                .map_err(unavailable)?;
            Ok(result.rows_affected)
        })
        .await
    }
}

/// `COUNT(*)`, `MIN(failed_at)`, `MAX(failed_at)` of one budget's rows (the
/// times are `NULL` when no row counts).
type Aggregate = (i64, Option<DateTime<Utc>>, Option<DateTime<Utc>>);

impl SeaStore {
    /// The failures matching `key` (an account or an IP) at or after
    /// `since`, aggregated in one range scan on that key's (key, failed_at)
    /// index.
    async fn failures_since(
        &self,
        key: impl IntoCondition,
        since: DateTime<Utc>,
    ) -> Result<Option<Aggregate>, StoreError> {
        login_failure::Entity::find()
            .select_only()
            .column_as(login_failure::Column::Id.count(), "count")
            .column_as(login_failure::Column::FailedAt.min(), "oldest")
            .column_as(login_failure::Column::FailedAt.max(), "latest")
            .filter(key)
            .filter(login_failure::Column::FailedAt.gte(stored_instant(since)))
            .into_tuple::<Aggregate>()
            .one(&self.db)
            .await
            .map_err(unavailable)
    }
}

fn record(stats: &mut FailureStats, budget: FailureBudget, aggregate: Option<Aggregate>) {
    if let Some((count, Some(oldest), Some(latest))) = aggregate {
        stats.record(budget, u64::try_from(count).unwrap_or(0), oldest..=latest);
    }
}
