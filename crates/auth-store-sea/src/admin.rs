//! The admin ports for [`SeaStore`]: [`AdminKeyStore`] over `admin_keys`,
//! [`UserDirectory`] over `users`, [`AuditLog`] over `events`.
//!
//! As elsewhere, the database decides: a key name is unique by its index
//! (a racing second insert gets the violation, answered `NameTaken`), and a
//! key is revoked by the one `UPDATE` whose `WHERE` finds it live. Both
//! searches page by a key that never changes for a row (the canonical
//! username; the event's `id`, which is its sequence number), so rows added
//! meanwhile do not shift a later page.

use auth_core::{
    AdminKey, AdminKeyHash, AdminKeyName, AdminKeyStore, AuditLog, EventQuery, EventSeq,
    LoggedEvent, StoreError, User, UserDirectory, UserId, UserSearch,
};
use chrono::{DateTime, TimeDelta, Utc};
use sea_orm::sea_query::{Expr, ExprTrait as _, LikeExpr};
use sea_orm::{ColumnTrait, Condition, EntityTrait, Order, QueryFilter, QueryOrder, QuerySelect};

use crate::entity::{admin_key, event, user};
use crate::error::{insert_admin_key_failed, is_unique_violation, unavailable};
use crate::{Backend, SeaStore, stored_instant};

impl AdminKeyStore for SeaStore {
    async fn insert_admin_key(&self, key: &AdminKey) -> Result<(), StoreError> {
        self.bounded(async {
            let inserted = admin_key::Entity::insert(admin_key::ActiveModel::from(key))
                .exec_without_returning(&self.db)
                .await;
            let Err(error) = inserted else {
                return Ok(());
            };
            // Which unique key was hit is asked afterwards, as for users.
            let name_taken = is_unique_violation(&error) && self.admin_key_named(&key.name).await?;
            Err(insert_admin_key_failed(error, name_taken))
        })
        .await
    }

    async fn find_admin_key(&self, hash: &AdminKeyHash) -> Result<Option<AdminKey>, StoreError> {
        self.bounded(async {
            let row = admin_key::Entity::find()
                .filter(admin_key::Column::KeyHash.eq(hash.as_bytes().to_vec()))
                .one(&self.db)
                .await
                .map_err(unavailable)?;
            Ok(row.map(admin_key::Model::into_domain).transpose()?)
        })
        .await
    }

    async fn list_admin_keys(&self) -> Result<Vec<AdminKey>, StoreError> {
        self.bounded(async {
            // The id (a UUID v7) orders keys made in one instant.
            let rows = admin_key::Entity::find()
                .order_by_asc(admin_key::Column::CreatedAt)
                .order_by_asc(admin_key::Column::Id)
                .all(&self.db)
                .await
                .map_err(unavailable)?;
            rows.into_iter()
                .map(|row| row.into_domain().map_err(StoreError::from))
                .collect()
        })
        .await
    }

    async fn revoke_admin_key(
        &self,
        name: &AdminKeyName,
        at: DateTime<Utc>,
    ) -> Result<Option<AdminKey>, StoreError> {
        self.bounded(async {
            // `revoked_at IS NULL` makes the UPDATE the check: of two racing
            // revocations one changes the row, and the first time stays.
            let result = admin_key::Entity::update_many()
                .col_expr(
                    admin_key::Column::RevokedAt,
                    Expr::value(stored_instant(at)),
                )
                .filter(admin_key::Column::Name.eq(name.as_str()))
                .filter(admin_key::Column::RevokedAt.is_null())
                .exec(&self.db)
                .await
                .map_err(unavailable)?;
            if result.rows_affected == 0 {
                return Ok(None);
            }
            // Read back outside the UPDATE: a revoked row never changes
            // again, so this is the revocation just made.
            let row = admin_key::Entity::find()
                .filter(admin_key::Column::Name.eq(name.as_str()))
                .one(&self.db)
                .await
                .map_err(unavailable)?;
            Ok(row.map(admin_key::Model::into_domain).transpose()?)
        })
        .await
    }
}

impl SeaStore {
    /// Whether a key (live or revoked) is named `name`.
    async fn admin_key_named(&self, name: &AdminKeyName) -> Result<bool, StoreError> {
        let id = admin_key::Entity::find()
            .filter(admin_key::Column::Name.eq(name.as_str()))
            .select_only()
            .column(admin_key::Column::Id)
            .into_tuple::<uuid::Uuid>()
            .one(&self.db)
            .await
            .map_err(unavailable)?;
        Ok(id.is_some())
    }

    /// `users.username_canonical` compared and ordered by its bytes, as
    /// [`UserDirectory::search_users`] requires. SQLite's default (`BINARY`)
    /// collation is that already; PostgreSQL uses the database's collation
    /// (often a locale that ignores punctuation), so it is told `"C"`. That
    /// expression is not the unique index's, so on PostgreSQL a page is a
    /// scan and a top-N sort: fine for an operator's search, which scans for
    /// its `LIKE` anyway.
    fn canonical_name_bytes(&self) -> Expr {
        let column = Expr::col((user::Entity, user::Column::UsernameCanonical));
        match self.backend {
            Backend::Postgres => Expr::cust_with_expr(r#"$1 COLLATE "C""#, column),
            Backend::Sqlite => column,
        }
    }
}

/// The `LIKE` escape character of [`contains_pattern`].
const LIKE_ESCAPE: char = '\\';

/// A `LIKE` pattern (with [`LIKE_ESCAPE`]) matching any text that contains
/// `text`, its `%`, `_` and escape characters taken literally.
fn contains_pattern(text: &str) -> LikeExpr {
    let mut pattern = String::with_capacity(text.len() + 2);
    pattern.push('%');
    for c in text.chars() {
        if matches!(c, '%' | '_' | LIKE_ESCAPE) {
            pattern.push(LIKE_ESCAPE);
        }
        pattern.push(c);
    }
    pattern.push('%');
    LikeExpr::new(pattern).escape(LIKE_ESCAPE)
}

impl UserDirectory for SeaStore {
    async fn search_users(&self, search: &UserSearch, limit: u32) -> Result<Vec<User>, StoreError> {
        let mut condition = Condition::all();
        if let Some(after) = search.after() {
            condition = condition.add(self.canonical_name_bytes().gt(after));
        }
        // Both columns hold canonical forms already, as does the text, so
        // SQLite's ASCII-case-insensitive LIKE finds what PostgreSQL's does.
        if let Some(text) = search.text() {
            condition = condition.add(
                Condition::any()
                    .add(user::Column::UsernameCanonical.like(contains_pattern(text)))
                    .add(user::Column::EmailCanonical.like(contains_pattern(text))),
            );
        }
        self.bounded(async {
            let rows = user::Entity::find()
                .filter(condition)
                .order_by(self.canonical_name_bytes(), Order::Asc)
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

    async fn set_user_disabled(
        &self,
        id: UserId,
        disabled_at: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError> {
        self.bounded(async {
            let result = user::Entity::update_many()
                .col_expr(
                    user::Column::DisabledAt,
                    Expr::value(disabled_at.map(stored_instant)),
                )
                .filter(user::Column::Id.eq(*id.as_uuid()))
                .exec(&self.db)
                .await
                .map_err(unavailable)?;
            Ok(result.rows_affected == 1)
        })
        .await
    }
}

/// The first instant a row can hold (whole microseconds, see
/// [`stored_instant`]) that is not before `instant`: a stored `at` is
/// `>= instant` exactly when it is `>=` this, so `since` filters as
/// [`EventQuery::matches`] does on the events read back.
fn first_stored_from(instant: DateTime<Utc>) -> DateTime<Utc> {
    let stored = stored_instant(instant);
    if stored < instant {
        stored
            .checked_add_signed(TimeDelta::microseconds(1))
            .unwrap_or(stored)
    } else {
        stored
    }
}

impl AuditLog for SeaStore {
    async fn search_events(
        &self,
        query: &EventQuery,
        limit: u32,
    ) -> Result<Vec<LoggedEvent>, StoreError> {
        let mut condition = Condition::all();
        if let Some(user_id) = query.user_id {
            condition = condition.add(event::Column::UserId.eq(*user_id.as_uuid()));
        }
        if let Some(kind) = query.kind {
            condition = condition.add(event::Column::Kind.eq(kind.as_str()));
        }
        if let Some(since) = query.since {
            condition = condition.add(event::Column::At.gte(first_stored_from(since)));
        }
        if let Some(before) = query.before {
            condition = condition.add(event::Column::Id.lt(before.get()));
        }
        self.bounded(async {
            // `id` is the autoincrement key: the order of appending.
            let rows = event::Entity::find()
                .filter(condition)
                .order_by_desc(event::Column::Id)
                .limit(u64::from(limit))
                .all(&self.db)
                .await
                .map_err(unavailable)?;
            rows.into_iter()
                .map(|row| {
                    let seq = EventSeq::new(row.id);
                    Ok(LoggedEvent {
                        seq,
                        event: row.into_domain()?,
                    })
                })
                .collect()
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn like_wildcards_and_the_escape_in_the_text_are_literal() {
        let pattern = contains_pattern(r"a%b_c\d");
        let expected = LikeExpr::new(r"%a\%b\_c\\d%").escape('\\');
        assert_eq!(format!("{pattern:?}"), format!("{expected:?}"));
    }

    #[test]
    fn since_starts_at_the_next_whole_microsecond() {
        let whole = DateTime::from_timestamp(1_767_225_600, 5_000).unwrap();
        let between = DateTime::from_timestamp(1_767_225_600, 5_001).unwrap();
        let next = DateTime::from_timestamp(1_767_225_600, 6_000).unwrap();
        assert_eq!(first_stored_from(whole), whole);
        assert_eq!(first_stored_from(between), next);
    }
}
