//! What the admin use cases store: `users.disabled_at`, `events.actor`, and
//! `admin_keys` (`auth_core::AdminKeyStore`).
//!
//! `users.disabled_at` is NULL for an enabled account (every existing one);
//! `events.actor` is NULL for an event caused by the account's own user or
//! an anonymous client, else `admin_key:<name>` or `operator`. One
//! `ALTER TABLE` per column: SQLite takes one change per statement.
//!
//! An `admin_keys` row holds the SHA-256 of the key, never the key: the
//! key is 256 random bits, so the hash is the lookup key and carries a
//! unique index. `name` is unique among all keys, revoked ones too, so the
//! events that name a key name one key; `revoked_at` is set once.

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
                    .table(Users::Table)
                    .add_column(
                        ColumnDef::new(Users::DisabledAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Events::Table)
                    .add_column(ColumnDef::new(Events::Actor).text().null())
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(AdminKeys::Table)
                    .col(
                        ColumnDef::new(AdminKeys::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(AdminKeys::Name).text().not_null())
                    .col(ColumnDef::new(AdminKeys::KeyHash).binary_len(32).not_null())
                    .col(
                        ColumnDef::new(AdminKeys::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(AdminKeys::RevokedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .to_owned(),
            )
            .await?;
        // Named unique indexes rather than inline UNIQUEs, as in
        // m20261124_000001: the same statement on both backends.
        for (name, column) in [
            ("admin_keys_name_key", AdminKeys::Name),
            ("admin_keys_key_hash_key", AdminKeys::KeyHash),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(AdminKeys::Table)
                        .col(column)
                        .unique()
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(AdminKeys::Table).to_owned())
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Events::Table)
                    .drop_column(Events::Actor)
                    .to_owned(),
            )
            .await?;
        manager
            .alter_table(
                Table::alter()
                    .table(Users::Table)
                    .drop_column(Users::DisabledAt)
                    .to_owned(),
            )
            .await
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    DisabledAt,
}

#[derive(DeriveIden)]
enum Events {
    Table,
    Actor,
}

#[derive(DeriveIden)]
enum AdminKeys {
    Table,
    Id,
    Name,
    KeyHash,
    CreatedAt,
    RevokedAt,
}
