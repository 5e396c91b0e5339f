//! Creates `login_failures`: one row per failed login, for back-off shared by
//! every instance on the database.
//!
//! `account` is the canonical username (or the case-folded text of a name
//! that does not parse); `client_ip` is the client's address as text. Rows
//! are purged once older than every back-off window.

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
                    .table(LoginFailures::Table)
                    .col(
                        ColumnDef::new(LoginFailures::Id)
                            .big_integer()
                            .not_null()
                            .auto_increment()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(LoginFailures::Account).text().not_null())
                    .col(ColumnDef::new(LoginFailures::ClientIp).text().null())
                    .col(
                        ColumnDef::new(LoginFailures::FailedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        // Each stats query is a range scan on one of these; the purge uses the last.
        for (name, columns) in [
            (
                "login_failures_account_failed_at_idx",
                vec![LoginFailures::Account, LoginFailures::FailedAt],
            ),
            (
                "login_failures_client_ip_failed_at_idx",
                vec![LoginFailures::ClientIp, LoginFailures::FailedAt],
            ),
            (
                "login_failures_failed_at_idx",
                vec![LoginFailures::FailedAt],
            ),
        ] {
            let mut index = Index::create();
            index.name(name).table(LoginFailures::Table);
            for column in columns {
                index.col(column);
            }
            manager.create_index(index.to_owned()).await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(LoginFailures::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum LoginFailures {
    Table,
    Id,
    Account,
    ClientIp,
    FailedAt,
}
