//! The `throttle_locks` table: the row a reservation locks, per account.

use sea_orm::entity::prelude::*;

/// A `throttle_locks` row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "throttle_locks")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub account: String,
    /// The last reservation's time; untouched rows are purged.
    pub touched_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
