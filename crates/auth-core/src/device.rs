//! Device cookies (OWASP, "Slow Down Online Guessing Attacks with Device
//! Cookies"): a client that has logged in to an account carries a token
//! that vouches for it on that account. Its attempts skip the address
//! budget and the account's back-off, which strangers' failures fill, and
//! spend a small budget of their own instead: an attacker guessing from
//! behind the victim's NAT, or against the victim's account, no longer
//! locks the victim out.
//!
//! The token is 32 random bytes the client holds; the store keeps only its
//! SHA-256 ([`DeviceId`]) with the account it vouches for, so a leaked
//! database yields no usable cookie and a token cannot be moved to another
//! account. (OWASP signs the cookie instead; a stored hash needs no key
//! shared by every instance and is as unforgeable.)

use std::fmt;
use std::num::NonZeroU32;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};

use crate::period::{self, Period};
use crate::{AccountKey, RateLimit, SessionToken, TokenError};

/// The device token a client holds (same shape as a session token).
/// `Debug` hides it.
///
/// ```
/// use auth_core::DeviceToken;
/// let token = DeviceToken::generate()?;
/// assert_eq!(format!("{token:?}"), "DeviceToken(***)");
/// let again = DeviceToken::parse(token.as_str())?;
/// assert_eq!(again.id(), token.id());
/// # Ok::<(), auth_core::TokenError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct DeviceToken(SessionToken);

impl DeviceToken {
    /// Draws a fresh token from the OS CSPRNG.
    ///
    /// # Errors
    /// [`TokenError::NoRandomness`] if the OS random source fails.
    pub fn generate() -> Result<Self, TokenError> {
        SessionToken::generate().map(Self)
    }

    /// Reads a token presented by a client (its shape only).
    ///
    /// # Errors
    /// [`TokenError::Malformed`] unless it is 43 characters of base64url.
    pub fn parse(input: &str) -> Result<Self, TokenError> {
        SessionToken::parse(input).map(Self)
    }

    /// The token to hand to the client.
    pub fn as_str(&self) -> &str {
        self.0.as_str()
    }

    /// The stored key: SHA-256 of a domain tag and the token, so a device
    /// token's id never equals a session token's.
    pub fn id(&self) -> DeviceId {
        let mut digest = Sha256::new();
        digest.update(b"device:");
        digest.update(self.0.as_str().as_bytes());
        DeviceId(digest.finalize().into())
    }
}

impl fmt::Debug for DeviceToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DeviceToken(***)")
    }
}

/// The stored form of a [`DeviceToken`]. `Debug` prints none of it.
///
/// ```
/// use auth_core::DeviceId;
/// let id = DeviceId::from_bytes([7; 32]);
/// assert_eq!(DeviceId::from_bytes(*id.as_bytes()), id);
/// assert_eq!(id.to_hex().len(), 64);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct DeviceId([u8; 32]);

impl DeviceId {
    /// Rebuilds an id read from storage.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 bytes to store.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// 64 lower-case hex digits (the key of the device's budget).
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for DeviceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("DeviceId(..)")
    }
}

/// A device a store knows: which account it vouches for, until when.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Device {
    /// SHA-256 of the token.
    pub id: DeviceId,
    /// The account it vouches for.
    pub account: AccountKey,
    /// When it was issued (at a successful login).
    pub created_at: DateTime<Utc>,
    /// When it stops vouching.
    pub expires_at: DateTime<Utc>,
}

impl Device {
    /// Whether it vouches for `account` at `now`. The account is compared
    /// by its key: a token issued for `alice` says nothing about `bob`.
    pub fn vouches_for(&self, account: &AccountKey, now: DateTime<Utc>) -> bool {
        self.expires_at > now && self.account == *account
    }
}

/// How device cookies are issued and what their attempts may spend.
/// Defaults: valid 180 days; 10 attempts at once, refilled at 10 per hour
/// (one every 6 minutes), and a successful login refills it.
///
/// ```
/// use auth_core::{AccountKey, DevicePolicy, Username};
/// use chrono::Utc;
///
/// let policy = DevicePolicy::default();
/// let account = Username::parse("alice")?.account_key();
/// let (token, device) = policy.issue(account.clone(), Utc::now())?;
/// assert_eq!(device.id, token.id());
/// assert!(device.vouches_for(&account, Utc::now()));
/// assert!(!device.vouches_for(&Username::parse("bob")?.account_key(), Utc::now()));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DevicePolicy {
    /// How long a device cookie vouches (and its `Max-Age`).
    pub lifetime: Duration,
    /// The attempts one device may make on its account.
    pub attempts: RateLimit,
}

impl Default for DevicePolicy {
    fn default() -> Self {
        Self {
            lifetime: Duration::from_secs(180 * 86_400),
            attempts: RateLimit::new(NonZeroU32::MIN.saturating_add(9), Period::from_secs(3600)),
        }
    }
}

impl DevicePolicy {
    /// A new device for `account`: the token for the client and the record
    /// for the store.
    ///
    /// # Errors
    /// [`TokenError::NoRandomness`] if the OS random source fails.
    pub fn issue(
        &self,
        account: AccountKey,
        now: DateTime<Utc>,
    ) -> Result<(DeviceToken, Device), TokenError> {
        let token = DeviceToken::generate()?;
        let device = Device {
            id: token.id(),
            account,
            created_at: now,
            expires_at: period::after(now, self.lifetime),
        };
        Ok((token, device))
    }
}
