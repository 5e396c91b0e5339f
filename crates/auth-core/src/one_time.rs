//! One-time tokens: the secrets in password-reset and email-verification
//! links ([`OneTimeToken`]), the only form of them a store keeps
//! ([`OneTimeTokenHash`]), what is stored about each ([`IssuedToken`]), and
//! the port that issues and consumes them ([`OneTimeTokenStore`]).
//!
//! A token is 256 random bits, so its SHA-256 is as hard to invert as the
//! token is to guess: no slow hash is needed, and a store looks tokens up by
//! hash with an index. The lookup's timing can reveal at most how much of a
//! *hash* prefix matched some stored hash, which tells nothing about any
//! token (this is the same argument as for session ids).

use std::fmt;
use std::future::Future;
use std::time::Duration;

use chrono::{DateTime, Utc};
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::{Period, StoreError, TokenError, UserId};

/// What a one-time token may be used for. A token of one purpose is never
/// accepted for another: stores look tokens up by purpose and hash.
///
/// ```
/// use auth_core::TokenPurpose;
/// assert_eq!(TokenPurpose::parse(TokenPurpose::PasswordReset.as_str()), Some(TokenPurpose::PasswordReset));
/// assert_eq!(TokenPurpose::parse("something else"), None);
/// assert_eq!(TokenPurpose::PasswordReset.default_lifetime().get().as_secs(), 30 * 60);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TokenPurpose {
    /// Setting a new password without the old one (`POST /password/reset`).
    PasswordReset,
    /// Proving that the account's user reads mail at its address.
    EmailVerification,
    /// The second step of a login with a second factor (`mfa_token`): the
    /// password was right, a code is still due.
    MfaLogin,
}

impl TokenPurpose {
    /// Every purpose, for stores that keep one table per purpose or check a
    /// column's values.
    pub const ALL: [Self; 3] = [Self::PasswordReset, Self::EmailVerification, Self::MfaLogin];

    /// The stable name stores keep.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::PasswordReset => "password_reset",
            Self::EmailVerification => "email_verification",
            Self::MfaLogin => "mfa_login",
        }
    }

    /// Reads back [`TokenPurpose::as_str`].
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL
            .into_iter()
            .find(|purpose| purpose.as_str() == text)
    }

    /// How long a token lives unless configured otherwise: a reset link 30
    /// minutes (it sets a password, so an old mail should stop working
    /// soon), a verification link 24 hours (a user may read mail once a day).
    pub fn default_lifetime(self) -> Period {
        match self {
            Self::PasswordReset => Period::from_secs(30 * 60),
            Self::EmailVerification => Period::from_secs(24 * 60 * 60),
            // A code is typed within seconds; five minutes covers finding the phone.
            Self::MfaLogin => Period::from_secs(5 * 60),
        }
    }
}

impl fmt::Display for TokenPurpose {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The secret in a link. `Debug` hides it; it is zeroised on drop.
///
/// ```
/// use auth_core::OneTimeToken;
///
/// let token = OneTimeToken::generate()?;
/// assert_eq!(token.as_str().len(), 43);
/// assert_eq!(format!("{token:?}"), "OneTimeToken(***)");
/// let presented = OneTimeToken::parse(token.as_str())?;
/// assert_eq!(presented.hash(), token.hash());
/// # Ok::<(), auth_core::TokenError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct OneTimeToken(Zeroizing<String>);

impl OneTimeToken {
    /// Draws a fresh token from the OS CSPRNG.
    ///
    /// # Errors
    /// [`TokenError::NoRandomness`] if the OS random source fails.
    pub fn generate() -> Result<Self, TokenError> {
        crate::session::draw_secret().map(Self)
    }

    /// Reads a token a user presented. Only the shape is checked; whether
    /// it is live is the store's answer.
    ///
    /// # Errors
    /// [`TokenError::Malformed`] unless it is 43 characters of base64url.
    ///
    /// ```
    /// use auth_core::{OneTimeToken, TokenError};
    /// assert_eq!(OneTimeToken::parse("short"), Err(TokenError::Malformed));
    /// assert_eq!(OneTimeToken::parse(&"!".repeat(43)), Err(TokenError::Malformed));
    /// ```
    pub fn parse(input: &str) -> Result<Self, TokenError> {
        crate::session::read_secret(input).map(Self)
    }

    /// The token to put in the link. Never log it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The hash a store keeps and looks the token up by: SHA-256 of a tag
    /// and the token, so it never equals a session id made from the same text.
    pub fn hash(&self) -> OneTimeTokenHash {
        let mut digest = Sha256::new();
        digest.update(b"one-time-token:");
        digest.update(self.0.as_bytes());
        OneTimeTokenHash(digest.finalize().into())
    }
}

impl fmt::Debug for OneTimeToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OneTimeToken(***)")
    }
}

/// The stored form of a [`OneTimeToken`]. `Debug` prints none of it.
///
/// ```
/// use auth_core::OneTimeTokenHash;
/// let hash = OneTimeTokenHash::from_bytes([7; 32]);
/// assert_eq!(*hash.as_bytes(), [7; 32]);
/// assert_eq!(format!("{hash:?}"), "OneTimeTokenHash(..)");
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct OneTimeTokenHash([u8; 32]);

impl OneTimeTokenHash {
    /// Rebuilds a hash read from storage.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 bytes to store.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The hash as 64 lower-case hex digits, for stores that keep text.
    ///
    /// ```
    /// use auth_core::OneTimeTokenHash;
    /// assert_eq!(OneTimeTokenHash::from_bytes([0xab; 32]).to_hex(), "ab".repeat(32));
    /// ```
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for OneTimeTokenHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("OneTimeTokenHash(..)")
    }
}

/// What a store keeps about one issued token.
///
/// ```
/// use auth_core::{IssuedToken, OneTimeToken, TokenPurpose, UserId};
/// use chrono::Utc;
///
/// let token = OneTimeToken::generate()?;
/// let now = Utc::now();
/// let issued = IssuedToken::new(UserId::new(), TokenPurpose::PasswordReset, &token, now,
///     TokenPurpose::PasswordReset.default_lifetime());
/// assert_eq!((issued.expires_at - now).num_minutes(), 30);
/// assert_eq!(issued.subject, None);
/// let verify = IssuedToken::new(UserId::new(), TokenPurpose::EmailVerification, &token, now,
///     TokenPurpose::EmailVerification.default_lifetime()).about("alice@example.com");
/// assert_eq!(verify.subject.as_deref(), Some("alice@example.com"));
/// assert!(issued.is_live_at(now));
/// assert!(!issued.is_live_at(issued.expires_at));
/// # Ok::<(), auth_core::TokenError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IssuedToken {
    /// Whose token it is.
    pub user_id: UserId,
    /// What it may be used for.
    pub purpose: TokenPurpose,
    /// Its hash; the token itself is only in the mail.
    pub hash: OneTimeTokenHash,
    /// What it vouches for, if more than the user: the address a
    /// verification mail went to. Consuming returns it, so the caller acts
    /// on what was mailed, not on whatever the account holds by then (two
    /// address changes racing could otherwise let the first address's
    /// owner verify the second).
    pub subject: Option<String>,
    /// When it was issued.
    pub created_at: DateTime<Utc>,
    /// The first instant at which it no longer works.
    pub expires_at: DateTime<Utc>,
}

impl IssuedToken {
    /// The record for `token`, issued at `now` for `lifetime`.
    pub fn new(
        user_id: UserId,
        purpose: TokenPurpose,
        token: &OneTimeToken,
        now: DateTime<Utc>,
        lifetime: Period,
    ) -> Self {
        Self {
            user_id,
            purpose,
            hash: token.hash(),
            subject: None,
            created_at: now,
            expires_at: crate::period::after(now, lifetime.get()),
        }
    }

    /// The same token, vouching for `subject` too.
    #[must_use]
    pub fn about(mut self, subject: impl Into<String>) -> Self {
        self.subject = Some(subject.into());
        self
    }

    /// Whether it still works at `now` (consumption aside).
    pub fn is_live_at(&self, now: DateTime<Utc>) -> bool {
        now < self.expires_at
    }
}

/// What consuming a token gives: whose it was and what it vouched for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConsumedToken {
    /// The token's user.
    pub user_id: UserId,
    /// [`IssuedToken::subject`], as issued.
    pub subject: Option<String>,
}

/// How long a used or expired token is kept before
/// [`OneTimeTokenStore::purge_tokens`] may remove it: long enough to answer
/// "this link was already used" questions from the audit trail's side, short
/// enough that the table stays small.
pub const SPENT_TOKEN_RETENTION: Duration = Duration::from_secs(7 * 24 * 60 * 60);

/// One-time tokens (password reset, email verification).
///
/// The rules, checked by [`crate::one_time_token_conformance!`]:
/// a user has at most one live token per purpose (issuing replaces the
/// previous one), a token is consumed at most once however many callers race
/// for it, and an expired token is never consumed.
pub trait OneTimeTokenStore: Send + Sync {
    /// Stores `token`, replacing (so invalidating) any token the same user
    /// holds for the same purpose, used or not.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only. Issuing for a user the store does
    /// not know MAY fail this way.
    fn issue_token(
        &self,
        token: &IssuedToken,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;

    /// Consumes the live token of `purpose` whose hash is `hash`: marks it
    /// used and returns its user and subject, atomically, so of two concurrent calls at
    /// most one gets `Some`. Unknown, used, expired (`now >= expires_at`)
    /// and other-purpose tokens all give `None`.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn consume_token(
        &self,
        purpose: TokenPurpose,
        hash: &OneTimeTokenHash,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<ConsumedToken>, StoreError>> + Send;

    /// The user and subject of the live token of `purpose` whose hash is
    /// `hash`, without consuming it (`None` as [`Self::consume_token`]
    /// would): a reset checks the new password against the user's name
    /// before it spends the link, so a weak password does not cost it.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn find_live_token(
        &self,
        purpose: TokenPurpose,
        hash: &OneTimeTokenHash,
        now: DateTime<Utc>,
    ) -> impl Future<Output = Result<Option<ConsumedToken>, StoreError>> + Send;

    /// Invalidates `user`'s token of `purpose`, if any (a password changed
    /// by other means ends a pending reset). Returns whether one was live
    /// or unused.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn revoke_tokens(
        &self,
        user: UserId,
        purpose: TokenPurpose,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Removes tokens that expired before `before`, used or not; returns how
    /// many went.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn purge_tokens(
        &self,
        before: DateTime<Utc>,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}
