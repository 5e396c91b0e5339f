//! [`SessionStore`] for [`SeaStore`]: the `sessions` table, and the
//! revocation-log entry appended with every insert and delete.

use auth_core::{PasswordHash, Revocation, Session, SessionId, SessionStore, StoreError, UserId};
use chrono::{DateTime, Utc};
use sea_orm::sea_query::{Expr, Query};
use sea_orm::{
    ColumnTrait, Condition, ConnectionTrait as _, EntityTrait, QueryFilter, QueryOrder,
    QuerySelect, TransactionTrait, Value,
};

use crate::entity::{session, user};
use crate::error::unavailable;
use crate::revocations;
use crate::{SeaStore, stored_instant};

impl SeaStore {
    /// Deletes sessions and, if any went, appends `revocation` to the
    /// revocation log in the same transaction (so every instance's cache
    /// learns of it exactly when the delete commits).
    async fn delete_and_log(
        &self,
        delete: sea_orm::DeleteMany<session::Entity>,
        revocation: Revocation,
    ) -> Result<u64, StoreError> {
        let txn = self.db.begin().await.map_err(unavailable)?;
        let result = delete.exec(&txn).await.map_err(unavailable)?;
        if result.rows_affected > 0 {
            revocations::append(&txn, revocation)
                .await
                .map_err(unavailable)?;
        }
        txn.commit().await.map_err(unavailable)?;
        Ok(result.rows_affected)
    }
}

impl SessionStore for SeaStore {
    async fn insert_session(&self, session: &Session) -> Result<(), StoreError> {
        self.bounded(async {
            let txn = self.db.begin().await.map_err(unavailable)?;
            session::Entity::insert(session::ActiveModel::from_domain(session))
                .exec_without_returning(&txn)
                .await
                .map_err(unavailable)?;
            // Every instance's cached list of this user's sessions is stale now.
            revocations::append(&txn, Revocation::SessionList(session.user_id))
                .await
                .map_err(unavailable)?;
            txn.commit().await.map_err(unavailable)?;
            Ok(())
        })
        .await
    }

    async fn find_session(&self, id: &SessionId) -> Result<Option<Session>, StoreError> {
        self.bounded(async {
            let row = session::Entity::find_by_id(id.as_bytes().to_vec())
                .one(&self.db)
                .await
                .map_err(unavailable)?;
            Ok(row.map(session::Model::into_domain).transpose()?)
        })
        .await
    }

    async fn touch_session(
        &self,
        id: &SessionId,
        last_seen_at: DateTime<Utc>,
        idle_expires_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        self.bounded(async {
            let result = session::Entity::update_many()
                .col_expr(
                    session::Column::LastSeenAt,
                    Expr::value(Value::from(stored_instant(last_seen_at))),
                )
                .col_expr(
                    session::Column::IdleExpiresAt,
                    Expr::value(Value::from(stored_instant(idle_expires_at))),
                )
                .filter(session::Column::Id.eq(id.as_bytes().to_vec()))
                .exec(&self.db)
                .await
                .map_err(unavailable)?;
            Ok(result.rows_affected > 0)
        })
        .await
    }

    async fn revoke_session(&self, id: &SessionId) -> Result<bool, StoreError> {
        self.bounded(async {
            let delete = session::Entity::delete_many()
                .filter(session::Column::Id.eq(id.as_bytes().to_vec()));
            let deleted = self
                .delete_and_log(delete, Revocation::Session(*id))
                .await?;
            Ok(deleted > 0)
        })
        .await
    }

    async fn insert_session_if_credential(
        &self,
        session: &Session,
        credential: &PasswordHash,
    ) -> Result<bool, StoreError> {
        self.bounded(async {
            // One statement, INSERT … SELECT … FROM users WHERE the hash is
            // still `credential`: atomic on both backends, no lock held
            // between a check and the insert.
            let condition = Query::select()
                .exprs([
                    Expr::val(session.id.as_bytes().to_vec()),
                    Expr::val(*session.user_id.as_uuid()),
                    Expr::val(stored_instant(session.created_at)),
                    Expr::val(stored_instant(session.last_seen_at)),
                    Expr::val(stored_instant(session.idle_expires_at)),
                    Expr::val(stored_instant(session.expires_at)),
                    Expr::val(
                        session
                            .user_agent
                            .as_ref()
                            .map(|agent| agent.as_str().to_owned()),
                    ),
                    Expr::val(session.client_ip.clone()),
                ])
                .from(user::Entity)
                .and_where(user::Column::Id.eq(*session.user_id.as_uuid()))
                .and_where(user::Column::PasswordHash.eq(credential.as_str()))
                .to_owned();
            let mut insert = Query::insert();
            insert.into_table(session::Entity).columns([
                session::Column::Id,
                session::Column::UserId,
                session::Column::CreatedAt,
                session::Column::LastSeenAt,
                session::Column::IdleExpiresAt,
                session::Column::ExpiresAt,
                session::Column::UserAgent,
                session::Column::ClientIp,
            ]);
            // As many columns as values: sea-query refuses only a mismatch.
            insert
                .select_from(condition)
                .map_err(StoreError::unavailable)?;
            let txn = self.db.begin().await.map_err(unavailable)?;
            let inserted = txn
                .execute(&insert)
                .await
                .map_err(unavailable)?
                .rows_affected()
                == 1;
            if inserted {
                revocations::append(&txn, Revocation::SessionList(session.user_id))
                    .await
                    .map_err(unavailable)?;
            }
            txn.commit().await.map_err(unavailable)?;
            Ok(inserted)
        })
        .await
    }

    async fn revoke_sessions_beyond(&self, user_id: UserId, keep: u32) -> Result<u64, StoreError> {
        self.bounded(async {
            // The ids first (a user has few sessions; `user_id` is indexed),
            // then one delete; a session inserted in between is newer than
            // all of them and stays.
            let doomed: Vec<Vec<u8>> = session::Entity::find()
                .select_only()
                .column(session::Column::Id)
                .filter(session::Column::UserId.eq(*user_id.as_uuid()))
                .order_by_desc(session::Column::CreatedAt)
                .order_by_desc(session::Column::Id)
                .offset(u64::from(keep))
                // SQLite needs a LIMIT before OFFSET; this one bounds nothing.
                .limit(i64::MAX.unsigned_abs())
                .into_tuple()
                .all(&self.db)
                .await
                .map_err(unavailable)?;
            if doomed.is_empty() {
                return Ok(0);
            }
            let delete = session::Entity::delete_many().filter(session::Column::Id.is_in(doomed));
            // Other instances drop this user's cached sessions and re-read them.
            self.delete_and_log(delete, Revocation::User(user_id)).await
        })
        .await
    }

    async fn list_sessions(&self, user_id: UserId) -> Result<Vec<Session>, StoreError> {
        self.bounded(async {
            let rows = session::Entity::find()
                .filter(session::Column::UserId.eq(*user_id.as_uuid()))
                .all(&self.db)
                .await
                .map_err(unavailable)?;
            rows.into_iter()
                .map(|row| row.into_domain().map_err(StoreError::from))
                .collect()
        })
        .await
    }

    async fn revoke_other_sessions(
        &self,
        user_id: UserId,
        keep: &SessionId,
    ) -> Result<u64, StoreError> {
        self.bounded(async {
            let delete = session::Entity::delete_many()
                .filter(session::Column::UserId.eq(*user_id.as_uuid()))
                .filter(session::Column::Id.ne(keep.as_bytes().to_vec()));
            // Every instance drops the user's cached sessions; the kept one
            // is simply read again.
            self.delete_and_log(delete, Revocation::User(user_id)).await
        })
        .await
    }

    async fn revoke_all_sessions(&self, user_id: UserId) -> Result<u64, StoreError> {
        self.bounded(async {
            let delete = session::Entity::delete_many()
                .filter(session::Column::UserId.eq(*user_id.as_uuid()));
            self.delete_and_log(delete, Revocation::User(user_id)).await
        })
        .await
    }

    async fn purge_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.bounded(async {
            let now = stored_instant(now);
            let result = session::Entity::delete_many()
                .filter(
                    Condition::any()
                        .add(session::Column::ExpiresAt.lte(now))
                        .add(session::Column::IdleExpiresAt.lte(now)),
                )
                .exec(&self.db)
                .await
                .map_err(unavailable)?;
            Ok(result.rows_affected)
        })
        .await
    }
}
