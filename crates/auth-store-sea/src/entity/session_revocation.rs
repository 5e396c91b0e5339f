//! The `session_revocations` table (the revocation log), and its mapping to
//! [`auth_core::LoggedRevocation`].

use auth_core::{LogPosition, LoggedRevocation, Revocation, SessionId, UserId};
use sea_orm::entity::prelude::*;

use crate::error::CorruptRow;

/// A `session_revocations` row: a session id, or a user id for all of theirs.
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "session_revocations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub position: i64,
    /// The SHA-256 of the revoked session's token, as in `sessions.id`.
    pub session_id: Option<Vec<u8>>,
    pub user_id: Option<Uuid>,
    pub revoked_at: DateTimeUtc,
}

/// Written by hand: a session id is enough to look a session up.
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("position", &self.position)
            .field("user_id", &self.user_id)
            .field("revoked_at", &self.revoked_at)
            .finish_non_exhaustive()
    }
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl Model {
    /// The log entry this row holds.
    pub(crate) fn into_domain(self) -> Result<LoggedRevocation, CorruptRow> {
        let row = self.position;
        let corrupt = move || CorruptRow::Revocation { position: row };
        let position = u64::try_from(row).map_err(|_| corrupt())?;
        let revocation = match (self.session_id, self.user_id) {
            (Some(id), _) => {
                let id: [u8; 32] = id.as_slice().try_into().map_err(|_| corrupt())?;
                Revocation::Session(SessionId::from_bytes(id))
            }
            (None, Some(user)) => Revocation::User(UserId::from_uuid(user)),
            (None, None) => return Err(corrupt()),
        };
        Ok(LoggedRevocation {
            position: LogPosition::new(position),
            revocation,
        })
    }
}
