//! The self-service parts of the ports for [`SeaStore`]: deleting a user
//! with everything tied to it (`UserRepository::delete_user`), and the
//! [`EventStore`] over the `events` table.

use auth_core::{AccountKey, EventStore, Revocation, SecurityEvent, StoreError, UserId};
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder, QuerySelect, TransactionTrait};

use crate::entity::{device, event, login_failure, mail_outbox, one_time_token, session, user};
use crate::error::unavailable;
use crate::revocations;
use crate::{SeaStore, stored_instant};

impl SeaStore {
    /// One transaction: the sessions (with their revocation-log entry, which
    /// every instance reads), the account's devices
    /// and failures, the user's events, then the user.
    pub(crate) async fn delete_account_rows(
        &self,
        id: UserId,
        account: &AccountKey,
    ) -> Result<bool, StoreError> {
        let uuid = *id.as_uuid();
        let txn = self.db.begin().await.map_err(unavailable)?;
        let sessions = session::Entity::delete_many()
            .filter(session::Column::UserId.eq(uuid))
            .exec(&txn)
            .await
            .map_err(unavailable)?;
        if sessions.rows_affected > 0 {
            revocations::append(&txn, Revocation::User(id))
                .await
                .map_err(unavailable)?;
        }
        device::Entity::delete_many()
            .filter(device::Column::Account.eq(account.as_str()))
            .exec(&txn)
            .await
            .map_err(unavailable)?;
        login_failure::Entity::delete_many()
            .filter(login_failure::Column::Account.eq(account.as_str()))
            .exec(&txn)
            .await
            .map_err(unavailable)?;
        event::Entity::delete_many()
            .filter(event::Column::UserId.eq(uuid))
            .exec(&txn)
            .await
            .map_err(unavailable)?;
        // Also cascaded by the foreign key; explicit so that it holds on a
        // SQLite connection without `foreign_keys` on.
        one_time_token::Entity::delete_many()
            .filter(one_time_token::Column::UserId.eq(uuid))
            .exec(&txn)
            .await
            .map_err(unavailable)?;
        mail_outbox::Entity::delete_many()
            .filter(mail_outbox::Column::UserId.eq(uuid))
            .exec(&txn)
            .await
            .map_err(unavailable)?;
        crate::second_factors::delete_user_factors(&txn, uuid).await?;
        crate::passkeys::delete_user_passkeys(&txn, uuid).await?;
        let deleted = user::Entity::delete_by_id(uuid)
            .exec(&txn)
            .await
            .map_err(unavailable)?;
        txn.commit().await.map_err(unavailable)?;
        Ok(deleted.rows_affected == 1)
    }
}

impl EventStore for SeaStore {
    async fn append_event(&self, event: &SecurityEvent) -> Result<(), StoreError> {
        self.bounded(async {
            event::Entity::insert(event::ActiveModel::from_domain(event))
                .exec_without_returning(&self.db)
                .await
                .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn user_events(
        &self,
        user_id: UserId,
        limit: u32,
    ) -> Result<Vec<SecurityEvent>, StoreError> {
        self.bounded(async {
            // The (user_id, at) index; the id orders events of one instant.
            let rows = event::Entity::find()
                .filter(event::Column::UserId.eq(*user_id.as_uuid()))
                .order_by_desc(event::Column::At)
                .order_by_desc(event::Column::Id)
                .limit(u64::from(limit))
                .all(&self.db)
                .await
                .map_err(unavailable)?;
            rows.into_iter()
                .map(|row| row.into_domain().map_err(StoreError::from))
                .collect()
        })
        .await
    }

    async fn purge_events(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        self.bounded(async {
            let result = event::Entity::delete_many()
                .filter(event::Column::At.lt(stored_instant(before)))
                .exec(&self.db)
                .await
                .map_err(unavailable)?;
            Ok(result.rows_affected)
        })
        .await
    }
}
