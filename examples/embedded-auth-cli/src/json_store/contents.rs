//! What the file holds: its format version and the stored forms of users,
//! sessions, failures, reservations, rate limits, devices, events and
//! one-time tokens, with their
//! mapping to the domain types.

use std::collections::BTreeMap;

use auth_core::{Session, SessionId, User, UserId};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The layout version written in every file. A file with another version is
/// refused rather than guessed at.
pub(super) const FORMAT: u32 = 1;

/// Everything the file holds.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct Contents {
    pub(super) format: u32,
    /// By canonical username: the map key is the uniqueness index.
    pub(super) users: BTreeMap<String, StoredUser>,
    /// By session id, in hex (the id is already a hash of the token).
    pub(super) sessions: BTreeMap<String, StoredSession>,
    pub(super) login_failures: Vec<StoredFailure>,
    // Added after the first files were written: absent there, empty.
    /// Places held by logins being evaluated, by reservation id.
    #[serde(default)]
    pub(super) reservations: BTreeMap<Uuid, StoredReservation>,
    /// Rate-limit states by `RateKey::as_str`.
    #[serde(default)]
    pub(super) rates: BTreeMap<String, DateTime<Utc>>,
    /// Device cookies by id, in hex.
    #[serde(default)]
    pub(super) devices: BTreeMap<String, StoredDevice>,
    /// Security events, in the order appended.
    #[serde(default)]
    pub(super) events: Vec<StoredEvent>,
    /// One-time tokens by `"{user id}:{purpose}"`: one per user and purpose.
    #[serde(default)]
    pub(super) tokens: BTreeMap<String, StoredToken>,
}

impl Default for Contents {
    fn default() -> Self {
        Self {
            format: FORMAT,
            users: BTreeMap::new(),
            sessions: BTreeMap::new(),
            login_failures: Vec::new(),
            reservations: BTreeMap::new(),
            rates: BTreeMap::new(),
            devices: BTreeMap::new(),
            events: Vec::new(),
            tokens: BTreeMap::new(),
        }
    }
}

// No `Debug` on the stored forms: a derived one would print password hashes.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StoredUser {
    pub(super) id: Uuid,
    /// The display form; the canonical key is recomputed from it on read.
    pub(super) username: String,
    pub(super) password_hash: String,
    pub(super) created_at: DateTime<Utc>,
    pub(super) updated_at: DateTime<Utc>,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StoredSession {
    pub(super) user_id: Uuid,
    pub(super) created_at: DateTime<Utc>,
    pub(super) last_seen_at: DateTime<Utc>,
    pub(super) idle_expires_at: DateTime<Utc>,
    pub(super) expires_at: DateTime<Utc>,
    // Added later: absent in older files.
    #[serde(default)]
    pub(super) user_agent: Option<String>,
    #[serde(default)]
    pub(super) client_ip: Option<String>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StoredFailure {
    pub(super) account: String,
    pub(super) client_ip: Option<String>,
    pub(super) at: DateTime<Utc>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StoredReservation {
    pub(super) account: String,
    pub(super) expires_at: DateTime<Utc>,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StoredDevice {
    pub(super) account: String,
    pub(super) created_at: DateTime<Utc>,
    pub(super) expires_at: DateTime<Utc>,
}

/// A one-time token: its hash only, in hex.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StoredToken {
    pub(super) user_id: Uuid,
    pub(super) hash: String,
    #[serde(default)]
    pub(super) subject: Option<String>,
    pub(super) expires_at: DateTime<Utc>,
    pub(super) used: bool,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StoredEvent {
    pub(super) kind: String,
    pub(super) at: DateTime<Utc>,
    pub(super) user_id: Option<Uuid>,
    pub(super) client_ip: Option<String>,
    pub(super) user_agent: Option<String>,
    pub(super) request_id: Option<String>,
}

impl StoredEvent {
    pub(super) fn from_domain(event: &auth_core::SecurityEvent) -> Self {
        Self {
            kind: event.kind.as_str().to_owned(),
            at: event.at,
            user_id: event.user_id.map(|id| *id.as_uuid()),
            client_ip: event.client_ip.clone(),
            user_agent: event
                .user_agent
                .as_ref()
                .map(|agent| agent.as_str().to_owned()),
            request_id: event.request_id.clone(),
        }
    }

    /// `None` for a kind this version does not know.
    pub(super) fn into_domain(self) -> Option<auth_core::SecurityEvent> {
        Some(auth_core::SecurityEvent {
            kind: auth_core::EventKind::parse(&self.kind)?,
            at: self.at,
            user_id: self.user_id.map(UserId::from_uuid),
            client_ip: self.client_ip,
            user_agent: self.user_agent.map(auth_core::UserAgent::from_stored),
            request_id: self.request_id,
        })
    }
}

impl StoredUser {
    pub(super) fn from_domain(user: &User) -> Self {
        Self {
            id: *user.id.as_uuid(),
            username: user.username.as_str().to_owned(),
            password_hash: user.password_hash.as_str().to_owned(),
            created_at: user.created_at,
            updated_at: user.updated_at,
        }
    }
}

impl StoredSession {
    pub(super) fn from_domain(session: &Session) -> Self {
        Self {
            user_id: *session.user_id.as_uuid(),
            created_at: session.created_at,
            last_seen_at: session.last_seen_at,
            idle_expires_at: session.idle_expires_at,
            expires_at: session.expires_at,
            user_agent: session
                .user_agent
                .as_ref()
                .map(|agent| agent.as_str().to_owned()),
            client_ip: session.client_ip.clone(),
        }
    }

    pub(super) fn into_domain(self, id: SessionId) -> Session {
        Session {
            id,
            user_id: UserId::from_uuid(self.user_id),
            created_at: self.created_at,
            last_seen_at: self.last_seen_at,
            idle_expires_at: self.idle_expires_at,
            expires_at: self.expires_at,
            user_agent: self.user_agent.map(auth_core::UserAgent::from_stored),
            client_ip: self.client_ip,
        }
    }

    pub(super) fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.idle_expires_at <= now || self.expires_at <= now
    }
}

/// The map key of a session: its id in lower-case hex.
pub(super) fn session_key(id: &SessionId) -> String {
    id.to_hex()
}
