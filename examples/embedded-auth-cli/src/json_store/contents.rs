//! What the file holds: its format version and the stored forms of users
//! (with their email addresses), sessions, failures, reservations, rate
//! limits, devices, events, one-time tokens and queued mail, with their
//! mapping to the domain types.

use std::collections::BTreeMap;

use auth_core::{EmailAddress, MailId, MailKind, QueuedMail, Session, SessionId, User, UserId};
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
    /// The outbox: queued mail by its id (a UUID, hyphenated), sent or not.
    #[serde(default)]
    pub(super) mail: BTreeMap<String, StoredMail>,
    /// TOTP factors by user id (hyphenated).
    #[serde(default)]
    pub(super) totp: BTreeMap<String, super::factors::StoredTotp>,
    /// Unspent recovery-code hashes (hex) by user id.
    #[serde(default)]
    pub(super) recovery_codes: BTreeMap<String, Vec<String>>,
    /// Passkeys by their public id.
    #[serde(default)]
    pub(super) passkeys: BTreeMap<Uuid, super::passkeys::StoredPasskey>,
    /// Passkey ceremonies by the hex of their challenge hash.
    #[serde(default)]
    pub(super) ceremonies: BTreeMap<String, super::passkeys::StoredCeremony>,
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
            mail: BTreeMap::new(),
            totp: BTreeMap::new(),
            recovery_codes: BTreeMap::new(),
            passkeys: BTreeMap::new(),
            ceremonies: BTreeMap::new(),
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
    // Added later: absent in older files (no address).
    /// The address as typed; unique by its lower-cased key, which is
    /// recomputed from it on read and decided on under the write locks.
    #[serde(default)]
    pub(super) email: Option<String>,
    #[serde(default)]
    pub(super) email_verified: bool,
    // Added later: absent in older files (every account enabled). Set only
    // by another program on the file (this store has no admin ports).
    #[serde(default)]
    pub(super) disabled_at: Option<DateTime<Utc>>,
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

/// A message in the outbox. No secret: the link's token is drawn when it
/// is sent. Waiting until `completed_at` or `failed_at` is set.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StoredMail {
    pub(super) user_id: Uuid,
    /// `MailKind::as_str`.
    pub(super) kind: String,
    /// The address as typed.
    pub(super) recipient: String,
    pub(super) created_at: DateTime<Utc>,
    pub(super) attempts: u32,
    pub(super) next_attempt_at: DateTime<Utc>,
    pub(super) leased_until: Option<DateTime<Utc>>,
    pub(super) completed_at: Option<DateTime<Utc>>,
    pub(super) failed_at: Option<DateTime<Utc>>,
}

impl StoredMail {
    /// The map key and entry for `mail`, waiting and not leased.
    pub(super) fn from_domain(mail: &QueuedMail) -> (String, Self) {
        (
            mail_key(mail.id),
            Self {
                user_id: *mail.user_id.as_uuid(),
                kind: mail.kind.as_str().to_owned(),
                recipient: mail.to.as_str().to_owned(),
                created_at: mail.created_at,
                attempts: mail.attempts,
                next_attempt_at: mail.next_attempt_at,
                leased_until: None,
                completed_at: None,
                failed_at: None,
            },
        )
    }

    /// The message stored under `key`.
    ///
    /// # Errors
    /// Why it is not one: a key that is not a UUID, a kind this version does
    /// not know, a recipient that no longer parses.
    pub(super) fn to_domain(&self, key: &str) -> Result<QueuedMail, String> {
        let id = Uuid::parse_str(key).map_err(|_| "its key is not a mail id".to_owned())?;
        Ok(QueuedMail {
            id: MailId::from_uuid(id),
            user_id: UserId::from_uuid(self.user_id),
            kind: MailKind::parse(&self.kind)
                .ok_or_else(|| format!("unknown kind {:?}", self.kind))?,
            to: EmailAddress::from_stored(&self.recipient)
                .ok_or_else(|| "its recipient no longer parses".to_owned())?,
            created_at: self.created_at,
            attempts: self.attempts,
            next_attempt_at: self.next_attempt_at,
        })
    }

    /// Neither sent (or dropped) nor given up on.
    pub(super) fn is_waiting(&self) -> bool {
        self.completed_at.is_none() && self.failed_at.is_none()
    }
}

/// The map key of a message: its id, hyphenated.
pub(super) fn mail_key(id: MailId) -> String {
    id.as_uuid().to_string()
}

/// The key an address stored as typed is unique by, if it still parses.
pub(super) fn email_key(typed: &str) -> Option<String> {
    EmailAddress::from_stored(typed).map(|address| address.canonical().to_owned())
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
    // Added later: absent in older files (no actor: the user or a client).
    /// `Actor::as_str`.
    #[serde(default)]
    pub(super) actor: Option<String>,
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
            actor: event.actor.as_ref().map(|actor| actor.as_str().to_owned()),
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
            actor: self.actor.map(auth_core::Actor::from_stored),
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
            email: user
                .email
                .as_ref()
                .map(|email| email.address.as_str().to_owned()),
            email_verified: user.email.as_ref().is_some_and(|email| email.verified),
            disabled_at: user.disabled_at,
        }
    }

    /// Whether this user's address has the canonical key `key`. An address
    /// that no longer parses matches nothing (reading the user reports it).
    pub(super) fn has_email(&self, key: &str) -> bool {
        self.email
            .as_deref()
            .and_then(email_key)
            .is_some_and(|own| own == key)
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
