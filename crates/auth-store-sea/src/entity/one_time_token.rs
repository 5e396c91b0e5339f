//! The `one_time_tokens` table, and its mapping from [`auth_core::IssuedToken`].

use auth_core::IssuedToken;
use sea_orm::ActiveValue::Set;
use sea_orm::entity::prelude::*;

use crate::stored_instant;

/// A `one_time_tokens` row: a user's current token of one purpose.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "one_time_tokens")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    /// `auth_core::TokenPurpose::as_str`.
    #[sea_orm(primary_key, auto_increment = false)]
    pub purpose: String,
    /// SHA-256 of the token (`auth_core::OneTimeToken::hash`); never the token.
    pub token_hash: Vec<u8>,
    /// `auth_core::IssuedToken::subject`.
    pub subject: Option<String>,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    pub used_at: Option<DateTimeUtc>,
}

/// Written by hand: the hash finds the token's row.
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("user_id", &self.user_id)
            .field("purpose", &self.purpose)
            .field("expires_at", &self.expires_at)
            .field("used_at", &self.used_at)
            .finish_non_exhaustive()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl From<&IssuedToken> for ActiveModel {
    fn from(token: &IssuedToken) -> Self {
        Self {
            user_id: Set(*token.user_id.as_uuid()),
            purpose: Set(token.purpose.as_str().to_owned()),
            token_hash: Set(token.hash.as_bytes().to_vec()),
            subject: Set(token.subject.clone()),
            created_at: Set(stored_instant(token.created_at)),
            expires_at: Set(stored_instant(token.expires_at)),
            used_at: Set(None),
        }
    }
}
