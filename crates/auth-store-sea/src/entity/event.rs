//! The `events` table, and its mapping to [`auth_core::SecurityEvent`].

use auth_core::{Actor, EventKind, SecurityEvent, UserAgent, UserId};
use sea_orm::ActiveValue::{NotSet, Set};
use sea_orm::entity::prelude::*;

use crate::error::CorruptRow;
use crate::stored_instant;

/// An `events` row.
#[derive(Clone, Debug, PartialEq, Eq, DeriveEntityModel)]
#[sea_orm(table_name = "events")]
pub struct Model {
    #[sea_orm(primary_key)]
    pub id: i64,
    /// `EventKind::as_str`.
    pub kind: String,
    pub at: DateTimeUtc,
    pub user_id: Option<Uuid>,
    pub client_ip: Option<String>,
    pub user_agent: Option<String>,
    pub request_id: Option<String>,
    /// `Actor::as_str`: who acted on the account's behalf, if not its user.
    pub actor: Option<String>,
}

#[derive(Copy, Clone, Debug, EnumIter, DeriveRelation)]
pub enum Relation {}

impl ActiveModelBehavior for ActiveModel {}

impl ActiveModel {
    /// The row to append for `event`.
    pub(crate) fn from_domain(event: &SecurityEvent) -> Self {
        Self {
            id: NotSet,
            kind: Set(event.kind.as_str().to_owned()),
            at: Set(stored_instant(event.at)),
            user_id: Set(event.user_id.map(|id| *id.as_uuid())),
            client_ip: Set(event.client_ip.clone()),
            user_agent: Set(event
                .user_agent
                .as_ref()
                .map(|agent| agent.as_str().to_owned())),
            request_id: Set(event.request_id.clone()),
            actor: Set(event.actor.as_ref().map(|actor| actor.as_str().to_owned())),
        }
    }
}

impl Model {
    /// The domain event (its sequence number is `id`).
    ///
    /// # Errors
    /// [`CorruptRow::EventKind`] for a kind this version does not know.
    pub(crate) fn into_domain(self) -> Result<SecurityEvent, CorruptRow> {
        let kind = EventKind::parse(&self.kind).ok_or(CorruptRow::EventKind { id: self.id })?;
        Ok(SecurityEvent {
            kind,
            at: self.at,
            user_id: self.user_id.map(UserId::from_uuid),
            client_ip: self.client_ip,
            user_agent: self.user_agent.map(UserAgent::from_stored),
            request_id: self.request_id,
            actor: self.actor.map(Actor::from_stored),
        })
    }
}
