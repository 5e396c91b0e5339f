//! The `webauthn_challenges` table, and its mapping to [`auth_core::Ceremony`].

use auth_core::{Ceremony, OneTimeTokenHash, UserId};
use sea_orm::ActiveValue::Set;
use sea_orm::entity::prelude::*;

use crate::stored_instant;

/// A `webauthn_challenges` row: a ceremony waiting for its answer.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "webauthn_challenges")]
pub struct Model {
    /// SHA-256 of the `challenge_id`; never the id.
    #[sea_orm(primary_key, auto_increment = false)]
    pub challenge_hash: Vec<u8>,
    pub user_id: Option<Uuid>,
    /// webauthn-rs's ceremony state as JSON.
    pub state: String,
    pub expires_at: DateTimeUtc,
}

/// Written by hand: the state holds the challenge.
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("user_id", &self.user_id)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// `None` for a row whose hash is not 32 bytes (it cannot be written so).
    pub(crate) fn into_domain(self) -> Option<Ceremony> {
        let hash: [u8; 32] = self.challenge_hash.try_into().ok()?;
        Some(Ceremony {
            challenge: OneTimeTokenHash::from_bytes(hash),
            user_id: self.user_id.map(UserId::from_uuid),
            state: self.state,
            expires_at: self.expires_at,
        })
    }
}

impl From<&Ceremony> for ActiveModel {
    fn from(ceremony: &Ceremony) -> Self {
        Self {
            challenge_hash: Set(ceremony.challenge.as_bytes().to_vec()),
            user_id: Set(ceremony.user_id.map(|user| *user.as_uuid())),
            state: Set(ceremony.state.clone()),
            expires_at: Set(stored_instant(ceremony.expires_at)),
        }
    }
}
