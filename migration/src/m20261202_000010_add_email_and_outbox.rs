//! Adds the account's email address to `users`, and creates `mail_outbox`,
//! the durable outbox (`auth_core::MailOutbox`).
//!
//! `users.email` is the address as typed; `users.email_canonical` its
//! lower-cased key, unique (several NULLs are allowed on both databases),
//! so two accounts never share an address whatever its case;
//! `email_verified` is false until a verification link is followed. One
//! `ALTER TABLE` per column: SQLite takes one change per statement.
//!
//! A `mail_outbox` row says which message goes to whom; it holds no
//! secret (the link's token is drawn when the message is sent). A worker
//! claims due rows by setting `leased_until`; `completed_at` or `failed_at`
//! ends a row, kept until the purge. Deleting a user deletes its mail.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

// See m20261124_000002 for why the lifetime lint is allowed.
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for column in [
            ColumnDef::new(Users::Email).text().null().to_owned(),
            ColumnDef::new(Users::EmailCanonical)
                .text()
                .null()
                .to_owned(),
            ColumnDef::new(Users::EmailVerified)
                .boolean()
                .not_null()
                .default(false)
                .to_owned(),
        ] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Users::Table)
                        .add_column(column)
                        .to_owned(),
                )
                .await?;
        }
        manager
            .create_index(
                Index::create()
                    .name("users_email_canonical_key")
                    .table(Users::Table)
                    .col(Users::EmailCanonical)
                    .unique()
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(MailOutbox::Table)
                    .col(
                        ColumnDef::new(MailOutbox::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(MailOutbox::UserId).uuid().not_null())
                    .col(ColumnDef::new(MailOutbox::Kind).string_len(32).not_null())
                    .col(ColumnDef::new(MailOutbox::Recipient).text().not_null())
                    .col(
                        ColumnDef::new(MailOutbox::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(MailOutbox::Attempts)
                            .integer()
                            .not_null()
                            .default(0),
                    )
                    .col(
                        ColumnDef::new(MailOutbox::NextAttemptAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(MailOutbox::LeasedUntil)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(MailOutbox::CompletedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .col(
                        ColumnDef::new(MailOutbox::FailedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("mail_outbox_user_id_fkey")
                            .from(MailOutbox::Table, MailOutbox::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // The worker's claim: due rows, oldest due first.
        manager
            .create_index(
                Index::create()
                    .name("mail_outbox_next_attempt_at_idx")
                    .table(MailOutbox::Table)
                    .col(MailOutbox::NextAttemptAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("mail_outbox_user_id_idx")
                    .table(MailOutbox::Table)
                    .col(MailOutbox::UserId)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(MailOutbox::Table).to_owned())
            .await?;
        manager
            .drop_index(
                Index::drop()
                    .name("users_email_canonical_key")
                    .table(Users::Table)
                    .to_owned(),
            )
            .await?;
        for column in [Users::EmailVerified, Users::EmailCanonical, Users::Email] {
            manager
                .alter_table(
                    Table::alter()
                        .table(Users::Table)
                        .drop_column(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
    Email,
    EmailCanonical,
    EmailVerified,
}

#[derive(DeriveIden)]
enum MailOutbox {
    Table,
    Id,
    UserId,
    Kind,
    Recipient,
    CreatedAt,
    Attempts,
    NextAttemptAt,
    LeasedUntil,
    CompletedAt,
    FailedAt,
}
