//! The `login_reservations` table: a place held by a login being evaluated.

use sea_orm::entity::prelude::*;

/// A `login_reservations` row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "login_reservations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// The account key the place is held on.
    pub account: String,
    /// When the place is free again if the attempt never finishes.
    pub expires_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}
