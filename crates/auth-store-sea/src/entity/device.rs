//! The `devices` table, and its mapping to [`auth_core::Device`].

use auth_core::{AccountKey, Device, DeviceId};
use sea_orm::ActiveValue::Set;
use sea_orm::entity::prelude::*;

use crate::error::CorruptRow;
use crate::stored_instant;

/// A `devices` row.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "devices")]
pub struct Model {
    /// SHA-256 of the device token, 32 bytes; never the token.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Vec<u8>,
    pub account: String,
    pub created_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
}

/// Written by hand: the id finds a device, so it stays out of logs.
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("id", &"..")
            .field("account", &self.account)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl From<&Device> for ActiveModel {
    fn from(device: &Device) -> Self {
        Self {
            id: Set(device.id.as_bytes().to_vec()),
            account: Set(device.account.as_str().to_owned()),
            created_at: Set(stored_instant(device.created_at)),
            expires_at: Set(stored_instant(device.expires_at)),
        }
    }
}

impl Model {
    /// The domain value.
    ///
    /// # Errors
    /// [`CorruptRow::DeviceIdLength`] unless the id is 32 bytes.
    pub(crate) fn into_domain(self) -> Result<Device, CorruptRow> {
        let row = self;
        let len = row.id.len();
        let id: [u8; 32] = row
            .id
            .try_into()
            .map_err(|_| CorruptRow::DeviceIdLength { len })?;
        Ok(Device {
            id: DeviceId::from_bytes(id),
            account: AccountKey::from_stored(row.account),
            created_at: row.created_at,
            expires_at: row.expires_at,
        })
    }
}
