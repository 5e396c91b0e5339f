//! The revocation log ([`RevocationLog`]) over `session_revocations` and
//! `revocation_log_head`, on both backends.
//!
//! Every delete of sessions appends its entry in the same transaction
//! ([`append`]). The entry's position comes from incrementing the head row,
//! which holds that row's lock (PostgreSQL) or the write lock (SQLite) until
//! the transaction ends: positions are given out in commit order, which is
//! what lets a reader trust that nothing below the last position it saw can
//! still appear (see the migration and `auth_core::SessionCache::shared`).

use auth_core::{
    LogPosition, LoggedRevocation, REVOCATION_LOG_RETENTION, Revocation, RevocationLog, StoreError,
};
use chrono::{TimeDelta, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Statement,
};

use crate::entity::session_revocation;
use crate::error::unavailable;
use crate::{SeaStore, stored_instant};

/// Appends `revocation` inside `txn`, at the next position.
pub(crate) async fn append<C: ConnectionTrait>(
    txn: &C,
    revocation: Revocation,
) -> Result<(), DbErr> {
    let head = txn
        .query_one_raw(Statement::from_string(
            txn.get_database_backend(),
            "UPDATE revocation_log_head SET position = position + 1 WHERE id = 1 RETURNING position",
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("revocation_log_head".to_owned()))?;
    let position: i64 = head.try_get("", "position")?;
    let (session_id, user_id) = match revocation {
        Revocation::Session(id) => (Some(id.as_bytes().to_vec()), None),
        Revocation::User(id) => (None, Some(*id.as_uuid())),
    };
    session_revocation::Entity::insert(session_revocation::ActiveModel {
        position: Set(position),
        session_id: Set(session_id),
        user_id: Set(user_id),
        revoked_at: Set(stored_instant(Utc::now())),
    })
    .exec_without_returning(txn)
    .await?;
    // The log trims itself: an indexed range that is empty most of the time.
    let oldest_kept =
        Utc::now() - TimeDelta::from_std(REVOCATION_LOG_RETENTION).unwrap_or(TimeDelta::MAX);
    session_revocation::Entity::delete_many()
        .filter(session_revocation::Column::RevokedAt.lt(stored_instant(oldest_kept)))
        .exec(txn)
        .await?;
    Ok(())
}

impl SeaStore {
    /// Whether other server processes may revoke sessions in this store, so
    /// that a session cache must confirm its hits against the log
    /// (`auth_core::SessionCache::shared`): PostgreSQL, where several
    /// instances share one database. A SQLite file has one server process.
    pub fn is_shared(&self) -> bool {
        self.backend == crate::Backend::Postgres
    }
}

impl RevocationLog for SeaStore {
    async fn revocations_after(
        &self,
        after: LogPosition,
        limit: u32,
    ) -> Result<Vec<LoggedRevocation>, StoreError> {
        self.bounded(async {
            // A position beyond i64 cannot have been stored: nothing follows it.
            let Ok(after) = i64::try_from(after.get()) else {
                return Ok(Vec::new());
            };
            let rows = session_revocation::Entity::find()
                .filter(session_revocation::Column::Position.gt(after))
                .order_by_asc(session_revocation::Column::Position)
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

    async fn last_position(&self) -> Result<LogPosition, StoreError> {
        self.bounded(async {
            // The head row is raised inside each appending transaction, so
            // what a reader sees of it is the newest committed position.
            let head = self
                .db
                .query_one_raw(Statement::from_string(
                    self.db.get_database_backend(),
                    "SELECT position FROM revocation_log_head WHERE id = 1",
                ))
                .await
                .map_err(unavailable)?;
            let position: i64 = match head {
                Some(row) => row.try_get("", "position").map_err(unavailable)?,
                None => 0,
            };
            Ok(LogPosition::new(u64::try_from(position).unwrap_or(0)))
        })
        .await
    }
}
