//! Creates `one_time_tokens`: the password-reset and email-verification
//! tokens (`auth_core::OneTimeTokenStore`).
//!
//! The key is (user, purpose): a user holds at most one token of each kind,
//! and issuing a new one is an upsert on that key, so two concurrent
//! requests leave one token and no error. The token itself is never stored,
//! only its SHA-256 (`token_hash`, unique: consuming looks it up). `used_at`
//! marks a consumed token, kept until the purge so a replayed link is
//! refused like any other dead one. Deleting a user deletes their tokens.

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
                    .table(OneTimeTokens::Table)
                    .col(ColumnDef::new(OneTimeTokens::UserId).uuid().not_null())
                    .col(
                        ColumnDef::new(OneTimeTokens::Purpose)
                            .string_len(32)
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(OneTimeTokens::TokenHash)
                            .binary_len(32)
                            .not_null()
                            .check(
                                Func::cust("length")
                                    .arg(Expr::col(OneTimeTokens::TokenHash))
                                    .eq(32),
                            ),
                    )
                    // What the token vouches for beyond the user (the address
                    // a verification mail went to); NULL for a reset.
                    .col(ColumnDef::new(OneTimeTokens::Subject).text().null())
                    .col(
                        ColumnDef::new(OneTimeTokens::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(OneTimeTokens::ExpiresAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(OneTimeTokens::UsedAt)
                            .timestamp_with_time_zone()
                            .null(),
                    )
                    .primary_key(
                        Index::create()
                            .col(OneTimeTokens::UserId)
                            .col(OneTimeTokens::Purpose),
                    )
                    .foreign_key(
                        ForeignKey::create()
                            .name("one_time_tokens_user_id_fkey")
                            .from(OneTimeTokens::Table, OneTimeTokens::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("one_time_tokens_token_hash_key")
                    .table(OneTimeTokens::Table)
                    .col(OneTimeTokens::TokenHash)
                    .unique()
                    .to_owned(),
            )
            .await?;
        // The purge by expiry.
        manager
            .create_index(
                Index::create()
                    .name("one_time_tokens_expires_at_idx")
                    .table(OneTimeTokens::Table)
                    .col(OneTimeTokens::ExpiresAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(OneTimeTokens::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum OneTimeTokens {
    Table,
    UserId,
    Purpose,
    TokenHash,
    Subject,
    CreatedAt,
    ExpiresAt,
    UsedAt,
}

#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}
