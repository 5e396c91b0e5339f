//! Passkeys (WebAuthn): what a store keeps of a registered credential
//! ([`Passkey`], with its public handle [`PasskeyId`] and its
//! [`PasskeyName`]), the state of a ceremony between its two requests
//! ([`Ceremony`]), the ports that keep them ([`PasskeyStore`],
//! [`CeremonyStore`]), and the relying party the ceremonies are bound to
//! ([`RelyingParty`], in `relying_party.rs`). The use cases are in
//! `service/passkeys.rs` and `service/passkey_login.rs`.
//!
//! Only public keys are stored: a passkey's private key never leaves the
//! authenticator. The verification itself (signatures, origin, challenge,
//! counters) is webauthn-rs's; this module never parses CBOR.

mod relying_party;

use std::fmt;
use std::future::Future;

use chrono::{DateTime, Utc};
use uuid::Uuid;

pub use relying_party::{RelyingParty, RelyingPartyError};

use crate::{OneTimeTokenHash, StoreError, UserId};

/// The public handle of a registered passkey (`/webauthn/credentials/{id}`):
/// not the credential id, which is the authenticator's.
///
/// ```
/// use auth_core::PasskeyId;
/// let id = PasskeyId::new();
/// assert_eq!(PasskeyId::parse(&id.to_string()), Some(id));
/// assert_eq!(PasskeyId::parse("not-a-uuid"), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PasskeyId(Uuid);

impl PasskeyId {
    /// A new random handle (UUIDv7, so ids sort by creation).
    #[allow(clippy::new_without_default)]
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }

    /// Wraps a stored id.
    pub fn from_uuid(uuid: Uuid) -> Self {
        Self(uuid)
    }

    /// Reads a handle a client sent; `None` if it is not a UUID.
    pub fn parse(input: &str) -> Option<Self> {
        Uuid::parse_str(input).ok().map(Self)
    }

    /// The UUID.
    pub fn as_uuid(&self) -> &Uuid {
        &self.0
    }
}

impl fmt::Display for PasskeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// The longest passkey name, in characters.
pub const PASSKEY_NAME_MAX_CHARS: usize = 64;

/// What the user calls a passkey ("MacBook Touch ID"): trimmed, 1 to
/// [`PASSKEY_NAME_MAX_CHARS`] characters, no control characters.
///
/// ```
/// use auth_core::PasskeyName;
/// assert_eq!(PasskeyName::parse("  Phone ").unwrap().as_str(), "Phone");
/// assert!(PasskeyName::parse("   ").is_none());
/// assert!(PasskeyName::parse(&"x".repeat(65)).is_none());
/// assert!(PasskeyName::parse("a\u{7}b").is_none());
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasskeyName(String);

impl PasskeyName {
    /// `None` for a name that breaks the rules.
    pub fn parse(input: &str) -> Option<Self> {
        let name = input.trim();
        let chars = name.chars().count();
        if chars == 0 || chars > PASSKEY_NAME_MAX_CHARS || name.chars().any(char::is_control) {
            return None;
        }
        Some(Self(name.to_owned()))
    }

    /// Wraps a stored name (checked when it was set).
    pub fn from_stored(name: impl Into<String>) -> Self {
        Self(name.into())
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A registered passkey, as stored.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Passkey {
    /// The public handle.
    pub id: PasskeyId,
    /// Whose.
    pub user_id: UserId,
    /// The authenticator's credential id (raw bytes): unique among all
    /// users, it is how an assertion finds its passkey.
    pub credential_id: Vec<u8>,
    /// What the user calls it.
    pub name: PasskeyName,
    /// webauthn-rs's `Passkey` as JSON: the credential's public key, its
    /// signature counter and backup flags. Opaque to stores.
    pub credential: String,
    /// The authenticator's signature counter after the last use (0 for the
    /// many passkeys that keep none); an update never lowers it.
    pub sign_count: u32,
    /// When it was registered.
    pub created_at: DateTime<Utc>,
    /// When it last logged in.
    pub last_used_at: Option<DateTime<Utc>>,
}

/// A ceremony between its options and its answer: what the server must
/// remember of the challenge it sent. Stored under the hash of the
/// `challenge_id` given to the client, so any instance can finish it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Ceremony {
    /// SHA-256 of the `challenge_id` (a [`crate::OneTimeToken`]).
    pub challenge: OneTimeTokenHash,
    /// The user a registration or a login with a username is for; `None`
    /// for a discoverable login (the authenticator will say whose).
    pub user_id: Option<UserId>,
    /// webauthn-rs's ceremony state (its challenge), as JSON. Opaque to stores.
    pub state: String,
    /// When it stops working.
    pub expires_at: DateTime<Utc>,
}

/// How long a ceremony's challenge can be answered: 5 minutes.
pub const CEREMONY_LIFETIME: std::time::Duration = std::time::Duration::from_secs(300);

/// Where registered passkeys are kept. Every method is atomic; the ones
/// returning `bool` say whether they changed anything. Deleting a user
/// deletes their passkeys.
///
/// The contract is `auth_core::conformance::passkey_conformance!`.
pub trait PasskeyStore: Send + Sync {
    /// Stores a new passkey; `false` (and nothing changed) if a passkey
    /// with its credential id exists, whoever's it is.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn add_passkey(
        &self,
        passkey: &Passkey,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// The user's passkeys, oldest first.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn list_passkeys(
        &self,
        user: UserId,
    ) -> impl Future<Output = Result<Vec<Passkey>, StoreError>> + Send;

    /// The passkey with this credential id, whoever's it is.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn find_passkey_by_credential_id(
        &self,
        credential_id: &[u8],
    ) -> impl Future<Output = Result<Option<Passkey>, StoreError>> + Send;

    /// Renames the user's passkey `id`; `false` if the user has no such
    /// passkey (another user's is not renamed).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn rename_passkey(
        &self,
        user: UserId,
        id: PasskeyId,
        name: &PasskeyName,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// After a login: replaces the stored credential (counter, backup
    /// flags) and sets `last_used_at`, only if `sign_count` is 0 or above
    /// the stored one (a counter never goes back: a clone would); `false`
    /// otherwise, or if the passkey is gone.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn record_passkey_use(
        &self,
        id: PasskeyId,
        credential: &str,
        sign_count: u32,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Removes the user's passkey `id`; `false` if the user has no such
    /// passkey (another user's is left alone).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn remove_passkey(
        &self,
        user: UserId,
        id: PasskeyId,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// How many passkeys the user has.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn count_passkeys(&self, user: UserId) -> impl Future<Output = Result<u64, StoreError>> + Send;
}

/// Where ceremonies wait for their answer, shared by every instance.
/// Deleting a user deletes their ceremonies.
///
/// The contract is `auth_core::conformance::passkey_conformance!`.
pub trait CeremonyStore: Send + Sync {
    /// Stores a ceremony (challenge hashes are random: they never collide).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn put_ceremony(
        &self,
        ceremony: &Ceremony,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Deletes and returns the ceremony of `challenge` if it is live at
    /// `now`: it MUST be returned at most once, however many callers race
    /// (delete-returning), and never once expired.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn take_ceremony(
        &self,
        challenge: &OneTimeTokenHash,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<Ceremony>, StoreError>> + Send;

    /// Deletes ceremonies that expired before `now`; how many.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn purge_ceremonies(
        &self,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}
