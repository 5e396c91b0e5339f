//! The `admin_keys` table, and its mapping to [`auth_core::AdminKey`].

use auth_core::{AdminKey, AdminKeyHash, AdminKeyId, AdminKeyName};
use sea_orm::ActiveValue::Set;
use sea_orm::entity::prelude::*;

use crate::error::CorruptRow;
use crate::stored_instant;

/// An `admin_keys` row.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "admin_keys")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// `AdminKeyName::as_str`; unique, revoked keys included.
    #[sea_orm(unique)]
    pub name: String,
    /// SHA-256 of the key, 32 bytes; never the key. Unique: the lookup key.
    #[sea_orm(unique)]
    pub key_hash: Vec<u8>,
    pub created_at: DateTimeUtc,
    pub revoked_at: Option<DateTimeUtc>,
}

/// Written by hand: the hash finds a key, so it stays out of logs (as
/// `AdminKeyHash`'s own `Debug` does).
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("id", &self.id)
            .field("name", &self.name)
            .field("key_hash", &"..")
            .field("created_at", &self.created_at)
            .field("revoked_at", &self.revoked_at)
            .finish()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl From<&AdminKey> for ActiveModel {
    fn from(key: &AdminKey) -> Self {
        Self {
            id: Set(*key.id.as_uuid()),
            name: Set(key.name.as_str().to_owned()),
            key_hash: Set(key.hash.as_bytes().to_vec()),
            created_at: Set(stored_instant(key.created_at)),
            revoked_at: Set(key.revoked_at.map(stored_instant)),
        }
    }
}

impl Model {
    /// The domain key.
    ///
    /// # Errors
    /// [`CorruptRow::AdminKey`] for a name that no longer parses or a hash
    /// that is not 32 bytes: written by something other than this store.
    pub(crate) fn into_domain(self) -> Result<AdminKey, CorruptRow> {
        let id = self.id;
        let name = AdminKeyName::parse(&self.name).map_err(|_| CorruptRow::AdminKey { id })?;
        let hash: [u8; 32] = self
            .key_hash
            .try_into()
            .map_err(|_| CorruptRow::AdminKey { id })?;
        Ok(AdminKey {
            id: AdminKeyId::from_uuid(id),
            name,
            hash: AdminKeyHash::from_bytes(hash),
            created_at: self.created_at,
            revoked_at: self.revoked_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(key_hash: Vec<u8>) -> Model {
        Model {
            id: Uuid::nil(),
            name: "support".to_owned(),
            key_hash,
            created_at: chrono::DateTime::UNIX_EPOCH,
            revoked_at: None,
        }
    }

    #[test]
    fn debug_hides_the_key_hash() {
        let shown = format!("{:?}", row(vec![0xab; 32]));
        assert!(!shown.contains("171"), "{shown}");
        assert!(shown.contains("support"), "{shown}");
    }

    #[test]
    fn a_hash_that_is_not_32_bytes_is_a_corrupt_row() {
        assert!(matches!(
            row(vec![1; 31]).into_domain(),
            Err(CorruptRow::AdminKey { .. })
        ));
        assert_eq!(
            row(vec![1; 32]).into_domain().ok().map(|key| key.hash),
            Some(AdminKeyHash::from_bytes([1; 32]))
        );
    }
}
