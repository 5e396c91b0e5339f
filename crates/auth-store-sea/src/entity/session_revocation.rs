//! The `session_revocations` table (the revocation log), and its mapping to
//! [`auth_core::LoggedRevocation`].

use auth_core::{LogPosition, LoggedRevocation, Revocation, SessionId, UserId};
use sea_orm::entity::prelude::*;

use crate::error::CorruptRow;

/// A `session_revocations` row: a session id, or a user id and what of
/// theirs (`kind`, migration `m20261207_000015`).
#[derive(Clone, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "session_revocations")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub position: i64,
    /// The SHA-256 of the revoked session's token, as in `sessions.id`.
    pub session_id: Option<Vec<u8>>,
    pub user_id: Option<Uuid>,
    pub revoked_at: DateTimeUtc,
    /// [`KIND_ALL`], [`KIND_SESSION_LIST`] or [`KIND_SECOND_FACTORS`].
    pub kind: i16,
}

/// The one session named, or everything of the user named: what every row
/// from before `kind` existed means.
pub(crate) const KIND_ALL: i16 = 0;
/// Only the user's session list.
pub(crate) const KIND_SESSION_LIST: i16 = 1;
/// Only the user's second factors.
pub(crate) const KIND_SECOND_FACTORS: i16 = 2;

/// How `revocation` is stored: (`session_id`, `user_id`, `kind`).
pub(crate) fn columns(revocation: Revocation) -> (Option<Vec<u8>>, Option<Uuid>, i16) {
    match revocation {
        Revocation::Session(id) => (Some(id.as_bytes().to_vec()), None, KIND_ALL),
        Revocation::User(id) => (None, Some(*id.as_uuid()), KIND_ALL),
        Revocation::SessionList(id) => (None, Some(*id.as_uuid()), KIND_SESSION_LIST),
        Revocation::SecondFactors(id) => (None, Some(*id.as_uuid()), KIND_SECOND_FACTORS),
    }
}

/// Written by hand: a session id is enough to look a session up.
impl std::fmt::Debug for Model {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Model")
            .field("position", &self.position)
            .field("user_id", &self.user_id)
            .field("revoked_at", &self.revoked_at)
            .field("kind", &self.kind)
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
            (None, Some(user)) => {
                let user = UserId::from_uuid(user);
                match self.kind {
                    KIND_SESSION_LIST => Revocation::SessionList(user),
                    KIND_SECOND_FACTORS => Revocation::SecondFactors(user),
                    // A kind written by a newer binary: everything of that
                    // user covers whatever it meant.
                    _ => Revocation::User(user),
                }
            }
            (None, None) => return Err(corrupt()),
        };
        Ok(LoggedRevocation {
            position: LogPosition::new(position),
            revocation,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn row(session_id: Option<Vec<u8>>, user_id: Option<Uuid>, kind: i16) -> Model {
        Model {
            position: 1,
            session_id,
            user_id,
            revoked_at: chrono::Utc::now(),
            kind,
        }
    }

    #[test]
    fn every_kind_reads_back_as_written() {
        let user = UserId::new();
        for revocation in [
            Revocation::Session(SessionId::from_bytes([3; 32])),
            Revocation::User(user),
            Revocation::SessionList(user),
            Revocation::SecondFactors(user),
        ] {
            let (session_id, user_id, kind) = columns(revocation);
            let read = row(session_id, user_id, kind).into_domain().unwrap();
            assert_eq!(read.revocation, revocation);
        }
    }

    #[test]
    fn a_kind_from_a_newer_binary_drops_everything_of_the_user() {
        let user = UserId::new();
        let read = row(None, Some(*user.as_uuid()), 9).into_domain().unwrap();
        assert_eq!(read.revocation, Revocation::User(user));
        assert!(row(None, None, KIND_ALL).into_domain().is_err());
    }
}
