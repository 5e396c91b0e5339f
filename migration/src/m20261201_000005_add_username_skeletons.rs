//! Adds `users.skeleton`: the Unicode UTS #39 confusable skeleton of each
//! user's canonical name, with the unique index `users_skeleton_key`, so
//! `аdmin` (Cyrillic `а`) cannot register beside `admin`.
//!
//! **The value comes from `auth_core`.** The backfill computes each skeleton
//! with `auth_core::Username::skeleton`, the function the store writes new
//! rows with, from the stored display name (parsed as the store reads it),
//! so old and new rows agree by construction. `auth-core` has no web or
//! database dependency; this migration still imports no entity. A later
//! change to that function (a new confusables table) changes what new rows
//! get, so it needs a migration of its own that recomputes the column.
//!
//! **Existing look-alikes.** An old database (or a Flask import before this
//! release) may hold two users whose names share a skeleton. Neither loses
//! anything: the oldest (by `created_at`, then id) keeps the skeleton, and
//! each later one gets NULL, which a unique index allows on SQLite and
//! PostgreSQL alike. Their names, passwords and sessions are untouched and
//! they log in as before (logins look users up by canonical name); a new
//! look-alike is still refused, since the oldest holds the skeleton. A row
//! whose name no longer parses (it could not log in before either) gets NULL
//! too. Each such row is logged as a warning, with a summary; later they are
//! `SELECT id, username FROM users WHERE skeleton IS NULL`.
//!
//! The whole migration is one transaction on both backends, so a failure
//! leaves `users` as it was. Down drops the index and the column.

use std::collections::HashMap;

use auth_core::Username;
use chrono::{DateTime, Utc};
use sea_orm_migration::prelude::*;
use uuid::Uuid;

#[derive(DeriveMigrationName)]
pub struct Migration;

const INDEX: &str = "users_skeleton_key";

/// Rows per backfill UPDATE: three bound values each, well under SQLite's
/// 32,766 per statement.
const UPDATES_PER_STATEMENT: usize = 500;

/// The target of this migration's log lines. The `migration` CLI shows only
/// `sea_orm_migration`'s messages unless run with `-v`, and an operator
/// running it must see which users were left without a skeleton.
const LOG_TARGET: &str = "sea_orm_migration::m20261201_000005_add_username_skeletons";

// See m20261124_000002 for why the lifetime lint is allowed.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    /// SQLite too: the backfill is many statements, and a half-filled column
    /// must never be left behind (nor an fsync paid per row).
    fn use_transaction(&self) -> Option<bool> {
        Some(true)
    }

    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .add_column(ColumnDef::new(Users::Skeleton).text().null())
                    .to_owned(),
            )
            .await?;
        let db = manager.get_connection();
        let rows = db
            .query_all(
                &Query::select()
                    .columns([Users::Id, Users::Username, Users::CreatedAt])
                    .from(Users::Table)
                    .to_owned(),
            )
            .await?;
        let mut users = Vec::with_capacity(rows.len());
        for row in rows {
            users.push(StoredUser {
                id: row.try_get("", "id")?,
                username: row.try_get("", "username")?,
                created_at: row.try_get("", "created_at")?,
            });
        }
        let backfill = assign_skeletons(users);
        // One UPDATE per row cost ~12 s per 100,000 users; a CASE over a
        // chunk of ids is one statement per UPDATES_PER_STATEMENT rows.
        for chunk in backfill.assigned.chunks(UPDATES_PER_STATEMENT) {
            let mut skeletons = CaseStatement::new();
            for (id, skeleton) in chunk {
                skeletons = skeletons.case(Expr::col(Users::Id).eq(*id), skeleton.as_str());
            }
            db.execute(
                &Query::update()
                    .table(Users::Table)
                    .value(Users::Skeleton, skeletons)
                    .and_where(Expr::col(Users::Id).is_in(chunk.iter().map(|(id, _)| *id)))
                    .to_owned(),
            )
            .await?;
        }
        report(&backfill);
        manager
            .create_index(
                Index::create()
                    .name(INDEX)
                    .table(Users::Table)
                    .col(Users::Skeleton)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // SQLite cannot drop an indexed column: the index goes first.
        manager
            .drop_index(Index::drop().name(INDEX).table(Users::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .drop_column(Users::Skeleton)
                    .to_owned(),
            )
            .await
    }
}

/// A `users` row, as far as the backfill needs it.
#[derive(Debug, Clone)]
struct StoredUser {
    id: Uuid,
    username: String,
    created_at: DateTime<Utc>,
}

/// What the backfill writes, and what it leaves NULL.
#[derive(Debug, Default, PartialEq, Eq)]
struct Backfill {
    /// Rows that get a skeleton, oldest first.
    assigned: Vec<(Uuid, String)>,
    /// `(later user, older user holding the skeleton)`: left NULL.
    look_alikes: Vec<(Uuid, Uuid)>,
    /// Rows whose name does not parse: left NULL.
    unparsable: Vec<Uuid>,
}

/// The rule: oldest first (`created_at`, then id), the first user of each
/// skeleton keeps it. Sorted here rather than by SQL: SQLite compares the
/// timestamps as text.
fn assign_skeletons(mut users: Vec<StoredUser>) -> Backfill {
    users.sort_by_key(|user| (user.created_at, user.id));
    let mut holder: HashMap<String, Uuid> = HashMap::new();
    let mut backfill = Backfill::default();
    for user in users {
        let Ok(name) = Username::parse(&user.username) else {
            backfill.unparsable.push(user.id);
            continue;
        };
        let skeleton = name.skeleton().as_str().to_owned();
        match holder.get(&skeleton) {
            Some(older) => backfill.look_alikes.push((user.id, *older)),
            None => {
                holder.insert(skeleton.clone(), user.id);
                backfill.assigned.push((user.id, skeleton));
            }
        }
    }
    backfill
}

/// Logs each row left without a skeleton (ids only: the log is no place for
/// names), then a summary.
fn report(backfill: &Backfill) {
    for (later, older) in &backfill.look_alikes {
        tracing::warn!(
            target: LOG_TARGET,
            user_id = %later,
            look_alike_of = %older,
            "user {later} keeps its account but no skeleton: its name looks like that of the older user {older}"
        );
    }
    for id in &backfill.unparsable {
        tracing::warn!(
            target: LOG_TARGET,
            user_id = %id,
            "user {id} has a stored name that does not parse as a username: no skeleton"
        );
    }
    tracing::info!(
        target: LOG_TARGET,
        "username skeletons: {} assigned, {} look-alikes of older users and {} unparsable names left NULL",
        backfill.assigned.len(),
        backfill.look_alikes.len(),
        backfill.unparsable.len()
    );
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Username,
    CreatedAt,
    Skeleton,
}

#[cfg(test)]
mod tests {
    use chrono::TimeDelta;

    use super::*;

    fn user(name: &str, minutes: i64) -> StoredUser {
        StoredUser {
            id: Uuid::now_v7(),
            username: name.to_owned(),
            created_at: DateTime::from_timestamp(1_767_225_600, 0).unwrap()
                + TimeDelta::minutes(minutes),
        }
    }

    #[test]
    fn the_oldest_look_alike_keeps_the_skeleton_and_later_ones_get_none() {
        // Listed newest first, and with ids in the other order, so neither
        // the row order nor the id decides.
        let latin = user("admin", 10);
        let cyrillic = user("\u{430}dmin", 0); // аdmin, registered first
        let modern = user("modern", 5);
        let alice = user("alice", 20);
        let broken = user("not a name", 1);

        let backfill = assign_skeletons(vec![
            latin.clone(),
            alice.clone(),
            modern.clone(),
            cyrillic.clone(),
            broken.clone(),
        ]);

        let skeleton = |name: &str| {
            Username::parse(name)
                .unwrap()
                .skeleton()
                .as_str()
                .to_owned()
        };
        assert_eq!(
            backfill,
            Backfill {
                assigned: vec![
                    (cyrillic.id, skeleton("admin")),
                    (modern.id, skeleton("modern")),
                    (alice.id, skeleton("alice")),
                ],
                look_alikes: vec![(latin.id, cyrillic.id)],
                unparsable: vec![broken.id],
            }
        );
    }

    #[test]
    fn equal_times_fall_back_to_the_id() {
        let mut first = user("admin", 0);
        let mut second = user("\u{430}dmin", 0);
        (first.id, second.id) = (Uuid::from_u128(1), Uuid::from_u128(2));

        let backfill = assign_skeletons(vec![second.clone(), first.clone()]);

        assert_eq!(backfill.look_alikes, [(second.id, first.id)]);
    }
}
