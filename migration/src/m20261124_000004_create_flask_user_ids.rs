//! Creates `flask_user_ids`: which user each Flask user became.
//!
//! `auth-server import-flask` gives imported users new UUIDs and records the
//! old integer id here, so that a second run skips them (the primary key on
//! `flask_id` decides), and applications that stored Flask ids can translate
//! them (`SELECT user_id FROM flask_user_ids WHERE flask_id = ?`). Deleting a
//! user deletes their row (`ON DELETE CASCADE`).

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
                    .table(FlaskUserIds::Table)
                    .col(
                        // The Flask table's INTEGER PRIMARY KEY (SQLite: 64 bits).
                        ColumnDef::new(FlaskUserIds::FlaskId)
                            .big_integer()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(FlaskUserIds::UserId).uuid().not_null())
                    .col(
                        ColumnDef::new(FlaskUserIds::ImportedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    // Inline: SQLite cannot add a foreign key to an existing table.
                    .foreign_key(
                        ForeignKey::create()
                            .name("flask_user_ids_user_id_fkey")
                            .from(FlaskUserIds::Table, FlaskUserIds::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // One Flask id per user: the translation the other way, and the cascade.
        manager
            .create_index(
                Index::create()
                    .name("flask_user_ids_user_id_key")
                    .table(FlaskUserIds::Table)
                    .col(FlaskUserIds::UserId)
                    .unique()
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(FlaskUserIds::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum FlaskUserIds {
    Table,
    FlaskId,
    UserId,
    ImportedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}
