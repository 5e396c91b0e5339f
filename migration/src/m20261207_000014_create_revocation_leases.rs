//! Creates `revocation_leases`: one row per server process whose session
//! cache serves hits without reading the revocation log
//! (`auth_core::RevocationLog::renew_lease`).
//!
//! `applied` is the log position the holder's cache had applied when the
//! lease was granted; `expires_at` is when the lease ends, in milliseconds
//! since the Unix epoch by the database's own clock (every instance compares
//! against the same clock). A writer waits, after its commit, until no row
//! with `expires_at` in the future has `applied` below its entry. The table
//! holds a few rows (one per instance; dead ones are purged after an hour).

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
                    .table(RevocationLeases::Table)
                    .col(
                        ColumnDef::new(RevocationLeases::Holder)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(RevocationLeases::Applied)
                            .big_integer()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(RevocationLeases::ExpiresAt)
                            .big_integer()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(RevocationLeases::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum RevocationLeases {
    Table,
    Holder,
    Applied,
    ExpiresAt,
}
