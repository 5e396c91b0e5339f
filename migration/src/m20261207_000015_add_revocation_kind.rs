//! Adds `session_revocations.kind`: what an entry naming a user drops from
//! the other instances' caches. 0 (every row before this migration, and what
//! an older binary writes) is everything of that user, or the one session
//! the row names; 1 is only the user's session list (a login); 2 only their
//! second factors (a factor enabled, removed or spent).
//!
//! Narrow kinds keep a row's `user_id` set and `session_id` empty, so a
//! binary from before this migration, which does not read the column, takes
//! them for "everything of that user": more than needed, never less. That is
//! what keeps a rolling upgrade safe in both directions.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

// See m20261124_000002 for why the lifetime lint is allowed.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(SessionRevocations::Table)
                    .add_column(
                        ColumnDef::new(SessionRevocations::Kind)
                            .small_integer()
                            .not_null()
                            .default(0),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .alter_table(
                Table::alter()
                    .table(SessionRevocations::Table)
                    .drop_column(SessionRevocations::Kind)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum SessionRevocations {
    Table,
    Kind,
}
