//! The `flask_user_ids` table: the Flask user id each imported user had.

use sea_orm::entity::prelude::*;

/// A `flask_user_ids` row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "flask_user_ids")]
pub struct Model {
    /// The id in the Flask service's `users` table.
    #[sea_orm(primary_key, auto_increment = false)]
    pub flask_id: i64,
    /// The user it became.
    #[sea_orm(unique)]
    pub user_id: Uuid,
    pub imported_at: DateTimeUtc,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(
        belongs_to = "super::user::Entity",
        from = "Column::UserId",
        to = "super::user::Column::Id",
        on_delete = "Cascade"
    )]
    User,
}

impl Related<super::user::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::User.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}
