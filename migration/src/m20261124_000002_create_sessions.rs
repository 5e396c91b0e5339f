//! Creates `sessions`: one row per live login.
//!
//! The key is the SHA-256 of the session token (32 bytes), never the token,
//! so a leaked database cannot be replayed as cookies. Deleting a user
//! deletes their sessions (`ON DELETE CASCADE`). `user_agent` and
//! `client_ip` are nullable, for a later "list my sessions" feature.

use sea_orm_migration::prelude::*;

#[derive(DeriveMigrationName)]
pub struct Migration;

/// Bytes in a SHA-256 digest, the only valid length of `sessions.id`.
const SESSION_ID_BYTES: i32 = 32;

// `MigrationTrait` elides `SchemaManager`'s lifetime; under async_trait an explicit
// `'_` becomes early-bound and no longer matches the trait (E0195).
#[allow(elided_lifetimes_in_paths)]
#[async_trait::async_trait]
impl MigrationTrait for Migration {
    async fn up(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .create_table(
                Table::create()
                    .table(Sessions::Table)
                    .col(
                        ColumnDef::new(Sessions::Id)
                            .binary_len(32)
                            .not_null()
                            .primary_key()
                            // `length` counts bytes of a BLOB (SQLite) and of
                            // a bytea (PostgreSQL) alike.
                            .check(
                                Func::cust("length")
                                    .arg(Expr::col(Sessions::Id))
                                    .eq(SESSION_ID_BYTES),
                            ),
                    )
                    .col(ColumnDef::new(Sessions::UserId).uuid().not_null())
                    .col(
                        ColumnDef::new(Sessions::CreatedAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Sessions::LastSeenAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Sessions::IdleExpiresAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(
                        ColumnDef::new(Sessions::ExpiresAt)
                            .timestamp_with_time_zone()
                            .not_null(),
                    )
                    .col(ColumnDef::new(Sessions::UserAgent).text().null())
                    .col(ColumnDef::new(Sessions::ClientIp).text().null())
                    // Inline: SQLite cannot add a foreign key to an existing table.
                    .foreign_key(
                        ForeignKey::create()
                            .name("sessions_user_id_fkey")
                            .from(Sessions::Table, Sessions::UserId)
                            .to(Users::Table, Users::Id)
                            .on_delete(ForeignKeyAction::Cascade),
                    )
                    .to_owned(),
            )
            .await?;
        // user_id: revoke_all_sessions and the cascade. The two expiry
        // columns: the purge's `expires_at <= now OR idle_expires_at <= now`
        // can then use one index per arm.
        for (name, column) in [
            ("sessions_user_id_idx", Sessions::UserId),
            ("sessions_expires_at_idx", Sessions::ExpiresAt),
            ("sessions_idle_expires_at_idx", Sessions::IdleExpiresAt),
        ] {
            manager
                .create_index(
                    Index::create()
                        .name(name)
                        .table(Sessions::Table)
                        .col(column)
                        .to_owned(),
                )
                .await?;
        }
        Ok(())
    }

    async fn down(&self, manager: &SchemaManager) -> Result<(), DbErr> {
        manager
            .drop_table(Table::drop().table(Sessions::Table).to_owned())
            .await
    }
}

#[derive(DeriveIden)]
enum Sessions {
    Table,
    Id,
    UserId,
    CreatedAt,
    LastSeenAt,
    IdleExpiresAt,
    ExpiresAt,
    UserAgent,
    ClientIp,
}

/// The referenced table, named here rather than imported: migrations stay
/// frozen even when the code around them changes.
#[derive(DeriveIden)]
enum Users {
    Table,
    Id,
}
