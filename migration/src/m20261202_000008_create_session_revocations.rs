//! Creates the revocation log: `session_revocations`, one row per call that
//! removed sessions, and `revocation_log_head`, the one row whose counter
//! numbers them.
//!
//! A revoking transaction increments the head (`UPDATE … RETURNING`), which
//! locks that row until the transaction ends, then appends its entry at the
//! new position. So positions are given out in commit order, and a reader
//! that sees position n has seen every position below n: each instance
//! confirms its cached sessions by reading what follows the last position
//! it applied (`auth_core::SessionCache::shared`). Rows are purged after an
//! hour (`auth_core::REVOCATION_LOG_RETENTION`); the head keeps counting.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

// See m20261124_000002 for why the lifetime lint is allowed.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(RevocationLogHead::Table)
                    .col(
                        ColumnDef::new(RevocationLogHead::Id)
                            .integer()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(RevocationLogHead::Position)
                            .big_integer()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        let mut head = Query::insert();
        head.into_table(RevocationLogHead::Table)
            .columns([RevocationLogHead::Id, RevocationLogHead::Position])
            .values([1.into(), 0i64.into()])
            .map_err(|error| DbErr::Migration(error.to_string()))?;
        manager.exec_stmt(head).await?;
        manager
            .create_table(
                Table::create()
                    .table(SessionRevocations::Table)
                    .col(
                        ColumnDef::new(SessionRevocations::Position)
                            .big_integer()
                            .not_null()
                            .primary_key(),
                    )
                    // One of the two is set: a session, or all of a user's.
                    .col(
                        ColumnDef::new(SessionRevocations::SessionId)
                            .binary_len(32)
                            .null(),
                    )
                    .col(ColumnDef::new(SessionRevocations::UserId).uuid().null())
                    .col(
                        ColumnDef::new(SessionRevocations::RevokedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        // The purge by age.
        manager
            .create_index(
                Index::create()
                    .name("session_revocations_revoked_at_idx")
                    .table(SessionRevocations::Table)
                    .col(SessionRevocations::RevokedAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(SessionRevocations::Table).to_owned())
            .await?;
        manager
            .drop_table(Table::drop().table(RevocationLogHead::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum RevocationLogHead {
    Table,
    Id,
    Position,
}

#[derive(DeriveIden)]
enum SessionRevocations {
    Table,
    Position,
    SessionId,
    UserId,
    RevokedAt,
}
