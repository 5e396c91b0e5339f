//! Creates `events`: the security events (the audit trail), one row each,
//! appended and never changed; purged after the retention period.
//!
//! `user_id` has no foreign key: an event may name no account (a failed
//! login for an unknown name), and deleting an account deletes its events
//! in the same transaction, explicitly.

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
                    .table(Events::Table)
                    .col(
                        ColumnDef::new(Events::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Events::Kind).text().not_null())
                    .col(
                        ColumnDef::new(Events::At)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Events::UserId).uuid().null())
                    .col(ColumnDef::new(Events::ClientIp).text().null())
                    .col(ColumnDef::new(Events::UserAgent).text().null())
                    .col(ColumnDef::new(Events::RequestId).text().null())
                    .to_owned(),
            )
            .await?;
        // A user's newest events (GET /me/events), and the purge by age.
        for (name, columns) in [
            ("events_user_id_at_idx", vec![Events::UserId, Events::At]),
            ("events_at_idx", vec![Events::At]),
        ] {
            let mut index = Index::create();
            index.name(name).table(Events::Table);
            for column in columns {
                index.col(column);
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Events::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Events {
    Table,
    Id,
    Kind,
    At,
    UserId,
    ClientIp,
    UserAgent,
    RequestId,
}
