//! Creates the state of the atomic back-off, the rate limits and the device
//! cookies:
//!
//! - `login_reservations`: one row per login attempt being evaluated (a
//!   place held on its account), expiring on its own if the attempt never
//!   finishes.
//! - `throttle_locks`: one row per account with recent attempts; a
//!   reservation locks it (an upsert) so that the count and the insert are
//!   atomic per account on both backends. Purged when untouched.
//! - `rate_limits`: one row per budget (registrations per address and in
//!   all, failed logins per address, attempts per device), holding its
//!   "theoretical arrival time"; a budget that is full again has no row.
//! - `devices`: device cookies, by the SHA-256 of the token.

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
                    .table(LoginReservations::Table)
                    .col(
                        ColumnDef::new(LoginReservations::Id)
                            .uuid()
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(LoginReservations::Account).text().not_null())
                    .col(
                        ColumnDef::new(LoginReservations::ExpiresAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("login_reservations_account_expires_at_idx")
                    .table(LoginReservations::Table)
                    .col(LoginReservations::Account)
                    .col(LoginReservations::ExpiresAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("login_reservations_expires_at_idx")
                    .table(LoginReservations::Table)
                    .col(LoginReservations::ExpiresAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(ThrottleLocks::Table)
                    .col(
                        ColumnDef::new(ThrottleLocks::Account)
                            .text()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(ThrottleLocks::TouchedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        // The daily purge of untouched lock rows is a range on it.
        manager
            .create_index(
                Index::create()
                    .name("throttle_locks_touched_at_idx")
                    .table(ThrottleLocks::Table)
                    .col(ThrottleLocks::TouchedAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(RateLimits::Table)
                    .col(
                        ColumnDef::new(RateLimits::Key)
                            .text()
                            .not_null()
                            .primary_key(),
                    )
                    .col(
                        ColumnDef::new(RateLimits::ArrivesAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("rate_limits_arrives_at_idx")
                    .table(RateLimits::Table)
                    .col(RateLimits::ArrivesAt)
                    .to_owned(),
            )
            .await?;
        manager
            .create_table(
                Table::create()
                    .table(Devices::Table)
                    .col(
                        ColumnDef::new(Devices::Id)
                            .binary_len(32)
                            .not_null()
                            .primary_key(),
                    )
                    .col(ColumnDef::new(Devices::Account).text().not_null())
                    .col(
                        ColumnDef::new(Devices::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Devices::ExpiresAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .to_owned(),
            )
            .await?;
        manager
            .create_index(
                Index::create()
                    .name("devices_expires_at_idx")
                    .table(Devices::Table)
                    .col(Devices::ExpiresAt)
                    .to_owned(),
            )
            .await
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        for table in [
            Devices::Table.into_iden(),
            RateLimits::Table.into_iden(),
            ThrottleLocks::Table.into_iden(),
            LoginReservations::Table.into_iden(),
        ] {
            manager
                .drop_table(Table::drop().table(table).to_owned())
                .await?;
        }
        Ok(())
    }
}

#[derive(DeriveIden)]
enum LoginReservations {
    Table,
    Id,
    Account,
    ExpiresAt,
}

#[derive(DeriveIden)]
enum ThrottleLocks {
    Table,
    Account,
    TouchedAt,
}

#[derive(DeriveIden)]
enum RateLimits {
    Table,
    Key,
    ArrivesAt,
}

#[derive(DeriveIden)]
enum Devices {
    Table,
    Id,
    Account,
    CreatedAt,
    ExpiresAt,
}
