//! The `totp_factors` table, and its mapping to [`auth_core::TotpFactor`].

use auth_core::{SealedSecret, TotpFactor, UserId};
use sea_orm::ActiveValue::Set;
use sea_orm::entity::prelude::*;

use crate::stored_instant;

/// A `totp_factors` row: a user's TOTP key, sealed, and its replay guard.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "totp_factors")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub user_id: Uuid,
    /// `auth_core::SealedSecret`: the key under the keyring, never in clear.
    pub secret: String,
    pub created_at: DateTimeUtc,
    pub enabled_at: Option<DateTimeUtc>,
    /// The last time step a code was accepted for.
    pub last_step: Option<i64>,
}

/// Written by hand: even sealed, the key stays out of logs.
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("user_id", &self.user_id)
            .field("enabled_at", &self.enabled_at)
            .field("last_step", &self.last_step)
            .finish_non_exhaustive()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    pub(crate) fn into_domain(self) -> TotpFactor {
        TotpFactor {
            user_id: UserId::from_uuid(self.user_id),
            secret: SealedSecret::from_stored(self.secret),
            created_at: self.created_at,
            enabled_at: self.enabled_at,
            // Steps are Unix time ÷ 30: never negative, far below i64::MAX.
            last_step: self.last_step.and_then(|step| u64::try_from(step).ok()),
        }
    }
}

/// A step as stored (saturating: a step past i64::MAX cannot occur).
pub(crate) fn stored_step(step: u64) -> i64 {
    i64::try_from(step).unwrap_or(i64::MAX)
}

impl From<&TotpFactor> for ActiveModel {
    fn from(factor: &TotpFactor) -> Self {
        Self {
            user_id: Set(*factor.user_id.as_uuid()),
            secret: Set(factor.secret.as_str().to_owned()),
            created_at: Set(stored_instant(factor.created_at)),
            enabled_at: Set(factor.enabled_at.map(stored_instant)),
            last_step: Set(factor.last_step.map(stored_step)),
        }
    }
}
