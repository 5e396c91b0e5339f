//! The `rate_limits` table: one budget's state (GCRA).

use sea_orm::entity::prelude::*;

/// A `rate_limits` row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "rate_limits")]
pub struct Model {
    /// `auth_core::RateKey::as_str`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub key: String,
    /// The budget's theoretical arrival time; at or before now, it is full.
    pub arrives_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
