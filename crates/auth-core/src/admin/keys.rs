//! Admin keys: the secret an operator's tool presents
//! ([`AdminKeyToken`]), what stores keep of it ([`AdminKeyHash`], SHA-256:
//! the key is 256 random bits, so a fast hash is enough and lookups can be
//! indexed), and the key's record ([`AdminKey`]).

use std::fmt;
use std::future::Future;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq as _;
use zeroize::Zeroizing;

use crate::session::{draw_secret, read_secret};
use crate::{StoreError, TokenError};

/// What every admin key starts with, so a leaked one is recognised (by
/// secret scanners too) and never mistaken for a session token.
const PREFIX: &str = "ak_";

/// The most characters of an [`AdminKeyName`].
pub const ADMIN_KEY_NAME_MAX_CHARS: usize = 64;

/// An admin key as its holder has it. `Debug` hides it; stores never see
/// it, only its [`AdminKeyHash`].
///
/// ```
/// use auth_core::AdminKeyToken;
/// let key = AdminKeyToken::generate()?;
/// assert!(key.as_str().starts_with("ak_"));
/// assert_eq!(format!("{key:?}"), "AdminKeyToken(***)");
/// let presented = AdminKeyToken::parse(key.as_str()).expect("a key we made parses");
/// assert!(presented.hash().matches(&key.hash()));
/// assert!(AdminKeyToken::parse("ak_short").is_err());
/// # Ok::<(), auth_core::TokenError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct AdminKeyToken(Zeroizing<String>);

impl AdminKeyToken {
    /// A new key: `ak_` and 32 bytes of the OS CSPRNG in base64url.
    ///
    /// # Errors
    /// [`TokenError::NoRandomness`].
    pub fn generate() -> Result<Self, TokenError> {
        let secret = draw_secret()?;
        Ok(Self(Zeroizing::new(format!("{PREFIX}{}", secret.as_str()))))
    }

    /// A presented key, if it has the shape [`AdminKeyToken::generate`] gives.
    ///
    /// # Errors
    /// [`TokenError::Malformed`].
    pub fn parse(input: &str) -> Result<Self, TokenError> {
        let secret = input.strip_prefix(PREFIX).ok_or(TokenError::Malformed)?;
        read_secret(secret)?;
        Ok(Self(Zeroizing::new(input.to_owned())))
    }

    /// The key, to show its holder once.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What stores keep and look the key up by.
    pub fn hash(&self) -> AdminKeyHash {
        AdminKeyHash(Sha256::digest(self.0.as_bytes()).into())
    }
}

impl fmt::Debug for AdminKeyToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AdminKeyToken(***)")
    }
}

/// SHA-256 of an [`AdminKeyToken`]: what stores keep.
///
/// ```
/// use auth_core::AdminKeyHash;
/// let hash = AdminKeyHash::from_bytes([7; 32]);
/// assert_eq!(AdminKeyHash::from_bytes(*hash.as_bytes()), hash);
/// assert!(hash.matches(&AdminKeyHash::from_bytes([7; 32])));
/// assert!(!hash.matches(&AdminKeyHash::from_bytes([8; 32])));
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct AdminKeyHash([u8; 32]);

impl AdminKeyHash {
    /// Wraps a hash read from storage.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 bytes.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Equality in constant time: a store finds a key by its hash through
    /// an index, and the use case compares what it found this way.
    pub fn matches(&self, other: &Self) -> bool {
        bool::from(self.0.ct_eq(&other.0))
    }
}

impl fmt::Debug for AdminKeyHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("AdminKeyHash(..)")
    }
}

/// An admin key's id (a UUID v7).
///
/// ```
/// use auth_core::AdminKeyId;
/// let id = AdminKeyId::new();
/// assert_eq!(AdminKeyId::from_uuid(*id.as_uuid()), id);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct AdminKeyId(uuid::Uuid);

impl AdminKeyId {
    /// A fresh, time-ordered id.
    #[allow(clippy::new_without_default)] // a default id would be a random one
    pub fn new() -> Self {
        Self(uuid::Uuid::now_v7())
    }

    /// Wraps an id read from storage.
    pub fn from_uuid(uuid: uuid::Uuid) -> Self {
        Self(uuid)
    }

    /// The UUID.
    pub fn as_uuid(&self) -> &uuid::Uuid {
        &self.0
    }
}

impl fmt::Display for AdminKeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

/// What an admin key is called: the name every event it causes records.
/// 1 to 64 ASCII letters, digits, `-`, `_` and `.`, so it reads the same
/// in a log line, a table and a URL.
///
/// ```
/// use auth_core::{AdminKeyName, AdminKeyNameError};
/// assert_eq!(AdminKeyName::parse("support-desk")?.as_str(), "support-desk");
/// assert_eq!(AdminKeyName::parse(""), Err(AdminKeyNameError::Empty));
/// assert!(matches!(AdminKeyName::parse("two words"), Err(AdminKeyNameError::InvalidCharacter { character: ' ' })));
/// # Ok::<(), AdminKeyNameError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AdminKeyName(String);

/// Why a key name was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum AdminKeyNameError {
    /// Nothing given.
    #[error("a key name cannot be empty")]
    Empty,
    /// Longer than [`ADMIN_KEY_NAME_MAX_CHARS`].
    #[error("a key name has at most {max} characters")]
    TooLong {
        /// The limit.
        max: usize,
    },
    /// A character other than ASCII letters, digits, `-`, `_`, `.`.
    #[error("{character:?} is not allowed in a key name (ASCII letters, digits, '-', '_', '.')")]
    InvalidCharacter {
        /// The first one refused.
        character: char,
    },
}

impl AdminKeyName {
    /// Checks a name given by an operator.
    ///
    /// # Errors
    /// [`AdminKeyNameError`] for the rule it breaks.
    pub fn parse(input: &str) -> Result<Self, AdminKeyNameError> {
        if input.is_empty() {
            return Err(AdminKeyNameError::Empty);
        }
        if let Some(character) = input
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        {
            return Err(AdminKeyNameError::InvalidCharacter { character });
        }
        if input.len() > ADMIN_KEY_NAME_MAX_CHARS {
            return Err(AdminKeyNameError::TooLong {
                max: ADMIN_KEY_NAME_MAX_CHARS,
            });
        }
        Ok(Self(input.to_owned()))
    }

    /// The name.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for AdminKeyName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A stored admin key: never the key itself.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AdminKey {
    /// Its id.
    pub id: AdminKeyId,
    /// Its name, unique among all keys (revoked ones too, so the events
    /// that name a key name one key).
    pub name: AdminKeyName,
    /// SHA-256 of the key.
    pub hash: AdminKeyHash,
    /// When it was made.
    pub created_at: DateTime<Utc>,
    /// When it was revoked; a revoked key is refused from then on.
    pub revoked_at: Option<DateTime<Utc>>,
}

impl AdminKey {
    /// Whether requests with this key are served.
    pub fn is_live(&self) -> bool {
        self.revoked_at.is_none()
    }
}

/// Admin keys. The contract is [`crate::admin_conformance!`].
pub trait AdminKeyStore: Send + Sync {
    /// Stores a new key.
    ///
    /// # Errors
    /// MUST return [`StoreError::NameTaken`], atomically, if a key (live or
    /// revoked) has the same name; [`StoreError::Unavailable`].
    fn insert_admin_key(
        &self,
        key: &AdminKey,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// The key whose hash is `hash`, revoked or not. A revocation MUST be
    /// seen at once by every handle on the store (no caching).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn find_admin_key(
        &self,
        hash: &AdminKeyHash,
    ) -> impl Future<Output = Result<Option<AdminKey>, StoreError>> + Send;

    /// Every key, revoked ones too, oldest first.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn list_admin_keys(&self) -> impl Future<Output = Result<Vec<AdminKey>, StoreError>> + Send;

    /// Marks the key named `name` revoked at `at`. Returns the key as
    /// revoked, or `None` if there is no such key or it was revoked
    /// already (the first revocation's time stays).
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn revoke_admin_key(
        &self,
        name: &AdminKeyName,
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<AdminKey>, StoreError>> + Send;
}
