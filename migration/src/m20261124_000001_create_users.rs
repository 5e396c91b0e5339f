//! Creates `users`: one row per account.
//!
//! `username` keeps the name as typed (NFKC) for display;
//! `username_canonical` (NFKC + case folding) carries the unique index that
//! decides, atomically, whether a name is taken.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

// `MigrationTrait` elides `SchemaManager`'s lifetime; under async_trait an explicit
// `'_` becomes early-bound and no longer matches the trait (E0195).
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Users::Table)
                    .col(ColumnDef::new(Users::Id).uuid().not_null().primary_key())
                    .col(ColumnDef::new(Users::Username).text().not_null())
                    .col(ColumnDef::new(Users::UsernameCanonical).text().not_null())
                    .col(ColumnDef::new(Users::PasswordHash).text().not_null())
                    .col(
                        ColumnDef::new(Users::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Users::UpdatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        // A named unique index rather than an inline UNIQUE: the same
        // statement on both backends, and a readable name in errors.
        manager
            .create_index(
                Index::create()
                    .name("users_username_canonical_key")
                    .table(Users::Table)
                    .col(Users::UsernameCanonical)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        // Dropping the table drops its indexes on both backends.
        manager
            .drop_table(Table::drop().table(Users::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Username,
    UsernameCanonical,
    PasswordHash,
    CreatedAt,
    UpdatedAt,
}
