//! The `login_failures` table: one row per failed login.

use sea_orm::entity::prelude::*;

/// A `login_failures` row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "login_failures")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// Canonical username (or the folded text of a name that does not parse).
    pub account: String,
    /// The client's IP address as text, when known.
    pub client_ip: Option<String>,
    pub failed_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
