//! The `users` table, and its mapping to [`auth_core::User`].

use auth_core::{EmailAddress, PasswordHash, User, UserEmail, UserId, Username};
use sea_orm::ActiveValue::Set;
use sea_orm::entity::prelude::*;

use crate::error::CorruptRow;

/// A `users` row.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "users")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    /// As typed (NFKC), for display.
    pub username: String,
    /// NFKC + case folding; carries the unique index.
    #[sea_orm(unique)]
    pub username_canonical: String,
    /// PHC string.
    pub password_hash: String,
    /// `Username::skeleton` of the canonical name; carries a unique index, so
    /// look-alike names cannot both register. NULL only for users the
    /// skeleton migration found to look like an older user (and for names
    /// that no longer parse): they keep their account, and the older user
    /// holds the skeleton for both.
    #[sea_orm(unique)]
    pub skeleton: Option<String>,
    pub created_at: DateTimeUtc,
    pub updated_at: DateTimeUtc,
    /// As typed; NULL when the account has none.
    pub email: Option<String>,
    /// Lower-cased; carries the unique index.
    #[sea_orm(unique)]
    pub email_canonical: Option<String>,
    pub email_verified: bool,
    /// When an operator disabled the account; NULL while it is enabled.
    pub disabled_at: Option<DateTimeUtc>,
}

/// Written by hand: the derived one would print the password hash.
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("password_hash", &"***")
            .field("created_at", &self.created_at)
            .field("updated_at", &self.updated_at)
            .field("disabled_at", &self.disabled_at)
            .finish_non_exhaustive()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {
    #[sea_orm(has_many = "super::session::Entity")]
    Session,
}

impl Related<super::session::Entity> for Entity {
    fn to() -> RelationDef {
        Relation::Session.def()
    }
}

impl ActiveModelBehavior for ActiveModel {}

impl ActiveModel {
    /// The row to insert for `user`.
    pub(crate) fn from_domain(user: &User) -> Self {
        Self {
            id: Set(*user.id.as_uuid()),
            username: Set(user.username.as_str().to_owned()),
            username_canonical: Set(user.username.canonical().to_owned()),
            password_hash: Set(user.password_hash.as_str().to_owned()),
            skeleton: Set(Some(user.username.skeleton().as_str().to_owned())),
            created_at: Set(crate::stored_instant(user.created_at)),
            updated_at: Set(crate::stored_instant(user.updated_at)),
            email: Set(user.email.as_ref().map(|e| e.address.as_str().to_owned())),
            email_canonical: Set(user
                .email
                .as_ref()
                .map(|e| e.address.canonical().to_owned())),
            email_verified: Set(user.email.as_ref().is_some_and(|e| e.verified)),
            // Kept as given (the service creates users enabled), so a
            // user reads back exactly as written, as from MemoryStore.
            disabled_at: Set(user.disabled_at.map(crate::stored_instant)),
        }
    }
}

impl Model {
    /// The domain user this row holds.
    ///
    /// # Errors
    /// [`CorruptRow::Username`] if the stored name no longer parses: written
    /// by something other than this store, or by a version with other rules.
    /// The canonical key (and the skeleton, when needed) is recomputed from
    /// the display form rather than trusted.
    pub(crate) fn into_domain(self) -> Result<User, CorruptRow> {
        let username = Username::parse(&self.username).map_err(|source| CorruptRow::Username {
            id: self.id,
            source,
        })?;
        let email = match self.email.as_deref() {
            Some(typed) => Some(UserEmail {
                address: EmailAddress::from_stored(typed)
                    .ok_or(CorruptRow::Email { id: self.id })?,
                verified: self.email_verified,
            }),
            None => None,
        };
        Ok(User {
            id: UserId::from_uuid(self.id),
            email,
            username,
            password_hash: PasswordHash::from_stored(self.password_hash),
            created_at: self.created_at,
            updated_at: self.updated_at,
            disabled_at: self.disabled_at,
        })
    }
}

#[cfg(test)]
mod tests {
    use auth_core::conformance::user_named;

    use super::*;

    #[test]
    fn debug_hides_the_password_hash() {
        let user = user_named("alice");
        let model = Model {
            id: *user.id.as_uuid(),
            username: user.username.as_str().to_owned(),
            username_canonical: user.username.canonical().to_owned(),
            password_hash: user.password_hash.as_str().to_owned(),
            skeleton: Some(user.username.skeleton().as_str().to_owned()),
            created_at: user.created_at,
            updated_at: user.updated_at,
            email: None,
            email_canonical: None,
            email_verified: false,
            disabled_at: None,
        };
        assert!(!format!("{model:?}").contains("scrypt"));
        assert_eq!(model.into_domain().unwrap(), user);
    }
}
