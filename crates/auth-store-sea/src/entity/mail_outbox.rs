//! The `mail_outbox` table, and its mapping to [`auth_core::QueuedMail`].

use auth_core::{EmailAddress, MailId, MailKind, QueuedMail, UserId};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::entity::prelude::*;

use crate::error::CorruptRow;
use crate::stored_instant;

/// A `mail_outbox` row: one message to send. No secret: the link's token
/// is drawn when it is sent.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "mail_outbox")]
pub struct Model {
    #[sea_orm(primary_key, auto_increment = false)]
    pub id: Uuid,
    pub user_id: Uuid,
    /// `auth_core::MailKind::as_str`.
    pub kind: String,
    /// The address as typed.
    pub recipient: String,
    pub created_at: DateTimeUtc,
    pub attempts: i32,
    pub next_attempt_at: DateTimeUtc,
    pub leased_until: Option<DateTimeUtc>,
    pub completed_at: Option<DateTimeUtc>,
    pub failed_at: Option<DateTimeUtc>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl ActiveModel {
    /// The row to insert for `mail`.
    pub(crate) fn from_domain(mail: &QueuedMail) -> Self {
        Self {
            id: Set(*mail.id.as_uuid()),
            user_id: Set(*mail.user_id.as_uuid()),
            kind: Set(mail.kind.as_str().to_owned()),
            recipient: Set(mail.to.as_str().to_owned()),
            created_at: Set(stored_instant(mail.created_at)),
            attempts: Set(i32::try_from(mail.attempts).unwrap_or(i32::MAX)),
            next_attempt_at: Set(stored_instant(mail.next_attempt_at)),
            leased_until: NotSet,
            completed_at: NotSet,
            failed_at: NotSet,
        }
    }
}

impl Model {
    /// The message this row holds.
    ///
    /// # Errors
    /// [`CorruptRow::Mail`] for a kind this version does not know or a
    /// recipient that no longer parses.
    pub(crate) fn into_domain(self) -> Result<QueuedMail, CorruptRow> {
        let corrupt = || CorruptRow::Mail { id: self.id };
        Ok(QueuedMail {
            id: MailId::from_uuid(self.id),
            user_id: UserId::from_uuid(self.user_id),
            kind: MailKind::parse(&self.kind).ok_or_else(corrupt)?,
            to: EmailAddress::from_stored(&self.recipient).ok_or_else(corrupt)?,
            created_at: self.created_at,
            attempts: u32::try_from(self.attempts).unwrap_or(0),
            next_attempt_at: self.next_attempt_at,
        })
    }
}
