//! The revocation log ([`RevocationLog`]) over `session_revocations` and
//! `revocation_log_head`, on both backends.
//!
//! Every delete of sessions appends its entry in the same transaction
//! ([`append`]). The entry's position comes from incrementing the head row,
//! which holds that row's lock (PostgreSQL) or the write lock (SQLite) until
//! the transaction ends: positions are given out in commit order, which is
//! what lets a reader trust that nothing below the last position it saw can
//! still appear (see the migration and `auth_core::SessionCache::shared`).

use std::time::Duration;

use auth_core::{
    LeaseHolder, LogPosition, LoggedRevocation, MAX_CACHE_LEASE, REVOCATION_LOG_RETENTION,
    Revocation, RevocationLog, StoreError,
};
use chrono::{TimeDelta, Utc};
use sea_orm::ActiveValue::Set;
use sea_orm::{
    ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder, QuerySelect,
    Statement,
};

use crate::entity::session_revocation;
use crate::error::unavailable;
use crate::{Backend, SeaStore, stored_instant};

/// The database's clock, in milliseconds since the Unix epoch: leases are
/// dated by it alone, so the instances' own clocks never need to agree.
fn now_ms(backend: Backend) -> &'static str {
    match backend {
        Backend::Postgres => "CAST(EXTRACT(EPOCH FROM now()) * 1000 AS BIGINT)",
        Backend::Sqlite => "CAST((julianday('now') - 2440587.5) * 86400000 AS INTEGER)",
    }
}

fn millis(duration: Duration) -> i64 {
    i64::try_from(duration.as_millis()).unwrap_or(i64::MAX)
}

/// A position as stored; one beyond `i64` cannot have been given out.
fn stored_position(position: LogPosition) -> i64 {
    i64::try_from(position.get()).unwrap_or(i64::MAX)
}

/// Appends `revocation` inside `txn`, at the next position.
pub(crate) async fn append<C: ConnectionTrait>(
    txn: &C,
    revocation: Revocation,
) -> Result<(), DbErr> {
    let backend = txn.get_database_backend();
    let head = txn
        .query_one_raw(Statement::from_string(
            backend,
            crate::notify::raise_head(backend),
        ))
        .await?
        .ok_or_else(|| DbErr::RecordNotFound("revocation_log_head".to_owned()))?;
    let position: i64 = head.try_get("", "position")?;
    let (session_id, user_id, kind) = session_revocation::columns(revocation);
    session_revocation::Entity::insert(session_revocation::ActiveModel {
        position: Set(position),
        session_id: Set(session_id),
        user_id: Set(user_id),
        revoked_at: Set(stored_instant(Utc::now())),
        kind: Set(kind),
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

    fn grants_leases(&self) -> bool {
        true
    }

    async fn renew_lease(
        &self,
        holder: LeaseHolder,
        applied: LogPosition,
        length: Duration,
    ) -> Result<bool, StoreError> {
        let length = millis(length.min(MAX_CACHE_LEASE));
        let applied = stored_position(applied);
        let now = now_ms(self.backend);
        // Granted only if nothing was appended beyond `applied`, checked in
        // the statement that grants: on PostgreSQL under a share lock on the
        // head row, which every append holds exclusively until it commits
        // (an append either committed before, and is seen, or waits until
        // this grant is visible to every writer's check); SQLite runs one
        // writer at a time.
        let (sql, values): (String, Vec<sea_orm::Value>) = match self.backend {
            Backend::Postgres => (
                format!(
                    "WITH head AS (SELECT position FROM revocation_log_head WHERE id = 1 FOR SHARE) \
                     INSERT INTO revocation_leases (holder, applied, expires_at) \
                     SELECT $1, $2, {now} + $3 FROM head WHERE head.position <= $2 \
                     ON CONFLICT (holder) DO UPDATE \
                     SET applied = EXCLUDED.applied, expires_at = EXCLUDED.expires_at"
                ),
                vec![(*holder.as_uuid()).into(), applied.into(), length.into()],
            ),
            Backend::Sqlite => (
                format!(
                    "INSERT INTO revocation_leases (holder, applied, expires_at) \
                     SELECT ?, ?, {now} + ? FROM revocation_log_head \
                     WHERE id = 1 AND position <= ? \
                     ON CONFLICT (holder) DO UPDATE \
                     SET applied = excluded.applied, expires_at = excluded.expires_at"
                ),
                vec![
                    (*holder.as_uuid()).into(),
                    applied.into(),
                    length.into(),
                    applied.into(),
                ],
            ),
        };
        self.bounded(async {
            let granted = self
                .db
                .execute_raw(Statement::from_sql_and_values(
                    self.db.get_database_backend(),
                    sql,
                    values,
                ))
                .await
                .map_err(unavailable)?
                .rows_affected()
                > 0;
            if granted {
                // Rows of instances gone for an hour; a handful at most.
                let purge = format!(
                    "DELETE FROM revocation_leases WHERE expires_at < {now} - {}",
                    millis(REVOCATION_LOG_RETENTION)
                );
                let _ = self.db.execute_unprepared(&purge).await;
            }
            Ok(granted)
        })
        .await
    }

    async fn leases_behind(
        &self,
        position: LogPosition,
        other_than: Option<LeaseHolder>,
    ) -> Result<bool, StoreError> {
        let now = now_ms(self.backend);
        let (first, second) = match self.backend {
            Backend::Postgres => ("$1", "$2"),
            Backend::Sqlite => ("?", "?"),
        };
        let mut values: Vec<sea_orm::Value> = vec![stored_position(position).into()];
        let mut sql = format!(
            "SELECT COUNT(*) AS behind FROM revocation_leases \
             WHERE applied < {first} AND expires_at > {now}"
        );
        if let Some(holder) = other_than {
            sql.push_str(&format!(" AND holder <> {second}"));
            values.push((*holder.as_uuid()).into());
        }
        self.bounded(async {
            let row = self
                .db
                .query_one_raw(Statement::from_sql_and_values(
                    self.db.get_database_backend(),
                    sql,
                    values,
                ))
                .await
                .map_err(unavailable)?;
            let behind: i64 = match row {
                Some(row) => row.try_get("", "behind").map_err(unavailable)?,
                None => 0,
            };
            Ok(behind > 0)
        })
        .await
    }

    async fn release_lease(&self, holder: LeaseHolder) -> Result<(), StoreError> {
        let placeholder = match self.backend {
            Backend::Postgres => "$1",
            Backend::Sqlite => "?",
        };
        self.bounded(async {
            self.db
                .execute_raw(Statement::from_sql_and_values(
                    self.db.get_database_backend(),
                    format!("DELETE FROM revocation_leases WHERE holder = {placeholder}"),
                    [(*holder.as_uuid()).into()],
                ))
                .await
                .map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    fn append_signal(&self) -> Option<auth_core::AppendSignal> {
        self.signal()
    }
}
