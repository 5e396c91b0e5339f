//! The `passkeys` table, and its mapping to [`auth_core::Passkey`].

use auth_core::{Passkey, PasskeyId, PasskeyName, UserId};
use sea_orm::ActiveValue::Set;
use sea_orm::entity::prelude::*;

use crate::stored_instant;

/// A `passkeys` row: a registered credential's public key and counter.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "passkeys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    /// The authenticator's credential id; unique.
    pub credential_id: Vec<u8>,
    pub name: String,
    /// webauthn-rs's `Passkey` as JSON: public key, counter, backup flags.
    pub credential: String,
    /// The signature counter, repeated for the update's `WHERE`.
    pub sign_count: i64,
    pub created_at: DateTimeUtc,
    pub last_used_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    pub(crate) fn into_domain(self) -> Passkey {
        Passkey {
            id: PasskeyId::from_uuid(self.id),
            user_id: UserId::from_uuid(self.user_id),
            credential_id: self.credential_id,
            name: PasskeyName::from_stored(self.name),
            credential: self.credential,
            // Written from a u32: always in range.
            sign_count: u32::try_from(self.sign_count).unwrap_or(u32::MAX),
            created_at: self.created_at,
            last_used_at: self.last_used_at,
        }
    }
}

impl From<&Passkey> for ActiveModel {
    fn from(passkey: &Passkey) -> Self {
        Self {
            id: Set(*passkey.id.as_uuid()),
            user_id: Set(*passkey.user_id.as_uuid()),
            credential_id: Set(passkey.credential_id.clone()),
            name: Set(passkey.name.as_str().to_owned()),
            credential: Set(passkey.credential.clone()),
            sign_count: Set(i64::from(passkey.sign_count)),
            created_at: Set(stored_instant(passkey.created_at)),
            last_used_at: Set(passkey.last_used_at.map(stored_instant)),
        }
    }
}
