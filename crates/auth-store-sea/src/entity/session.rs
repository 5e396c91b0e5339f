//! The `sessions` table, and its mapping to [`auth_core::Session`].

use auth_core::{Session, SessionId, UserAgent, UserId};
use sea_orm::ActiveValue::Set;
use sea_orm::entity::prelude::*;

use crate::error::CorruptRow;

/// A `sessions` row.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "sessions")]
pub struct Model {
    /// SHA-256 of the token, 32 bytes; never the token itself.
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Vec<u8>,
    pub user_id: Uuid,
    pub created_at: DateTimeUtc,
    pub last_seen_at: DateTimeUtc,
    pub idle_expires_at: DateTimeUtc,
    pub expires_at: DateTimeUtc,
    /// The login's `User-Agent`, bounded (`auth_core::UserAgent`).
    pub user_agent: Option<String>,
    /// The login's client address, canonical text.
    pub client_ip: Option<String>,
}

/// Written by hand: the id is enough to look a session up, so it stays out
/// of logs (as `SessionId`'s own `Debug` does).
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("id", &"..")
            .field("user_id", &self.user_id)
            .field("created_at", &self.created_at)
            .field("last_seen_at", &self.last_seen_at)
            .field("idle_expires_at", &self.idle_expires_at)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
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

impl ActiveModel {
    /// The row to insert for `session`.
    pub(crate) fn from_domain(session: &Session) -> Self {
        Self {
            id: Set(session.id.as_bytes().to_vec()),
            user_id: Set(*session.user_id.as_uuid()),
            created_at: Set(crate::stored_instant(session.created_at)),
            last_seen_at: Set(crate::stored_instant(session.last_seen_at)),
            idle_expires_at: Set(crate::stored_instant(session.idle_expires_at)),
            expires_at: Set(crate::stored_instant(session.expires_at)),
            user_agent: Set(session
                .user_agent
                .as_ref()
                .map(|agent| agent.as_str().to_owned())),
            client_ip: Set(session.client_ip.clone()),
        }
    }
}

impl Model {
    /// The domain session this row holds.
    ///
    /// # Errors
    /// [`CorruptRow::SessionIdLength`] unless the id is 32 bytes.
    pub(crate) fn into_domain(self) -> Result<Session, CorruptRow> {
        let id: [u8; 32] =
            self.id
                .as_slice()
                .try_into()
                .map_err(|_| CorruptRow::SessionIdLength {
                    user_id: self.user_id,
                    len: self.id.len(),
                })?;
        Ok(Session {
            id: SessionId::from_bytes(id),
            user_id: UserId::from_uuid(self.user_id),
            created_at: self.created_at,
            last_seen_at: self.last_seen_at,
            idle_expires_at: self.idle_expires_at,
            expires_at: self.expires_at,
            user_agent: self.user_agent.map(UserAgent::from_stored),
            client_ip: self.client_ip,
        })
    }
}

#[cfg(test)]
mod tests {
    use auth_core::conformance::{epoch, session_of};

    use super::*;

    fn row(id: Vec<u8>) -> Model {
        Model {
            id,
            user_id: Uuid::nil(),
            created_at: epoch(),
            last_seen_at: epoch(),
            idle_expires_at: epoch(),
            expires_at: epoch(),
            user_agent: None,
            client_ip: None,
        }
    }

    #[test]
    fn an_id_of_any_length_but_32_bytes_is_corrupt() {
        for len in [0, 16, 31, 33] {
            assert!(matches!(
                row(vec![1; len]).into_domain(),
                Err(CorruptRow::SessionIdLength { len: got, .. }) if got == len
            ));
        }
        assert!(row(vec![1; 32]).into_domain().is_ok());
    }

    #[test]
    fn debug_hides_the_id() {
        // 0xab prints as 171 in a derived Debug of Vec<u8>.
        assert!(!format!("{:?}", row(vec![0xab; 32])).contains("171"));
    }

    #[test]
    fn a_session_maps_to_a_row_and_back() {
        let session = session_of(auth_core::UserId::new(), epoch());
        let active = ActiveModel::from_domain(&session);
        let model = Model {
            id: active.id.unwrap(),
            user_id: active.user_id.unwrap(),
            created_at: active.created_at.unwrap(),
            last_seen_at: active.last_seen_at.unwrap(),
            idle_expires_at: active.idle_expires_at.unwrap(),
            expires_at: active.expires_at.unwrap(),
            user_agent: active.user_agent.unwrap(),
            client_ip: active.client_ip.unwrap(),
        };
        assert_eq!(model.into_domain().unwrap(), session);
    }
}
