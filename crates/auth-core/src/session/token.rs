//! The secrets and ids of a session: the [`SessionToken`] the client holds,
//! the [`SessionId`] stores key it by (SHA-256 of the token), and the
//! [`SessionHandle`] shown to its user (derived from the id, one way).

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

/// Length of a token's random part, in bytes.
const TOKEN_BYTES: usize = 32;
/// Length of an encoded token: 32 bytes in unpadded base64url.
const TOKEN_CHARS: usize = 43;

/// The secret a client presents (cookie or bearer). `Debug` hides it.
///
/// ```
/// use auth_core::SessionToken;
///
/// let token = SessionToken::generate()?;
/// assert_eq!(token.as_str().len(), 43);
/// assert_eq!(format!("{token:?}"), "SessionToken(***)");
/// let parsed = SessionToken::parse(token.as_str()).expect("a token we made parses");
/// assert_eq!(parsed.id(), token.id());
/// # Ok::<(), auth_core::TokenError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct SessionToken(Zeroizing<String>);

/// Why a token could not be made or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TokenError {
    /// The presented value is not a token this service issues.
    #[error("malformed session token")]
    Malformed,
    /// The operating system's random source failed (the cause kept).
    #[error("no randomness available")]
    NoRandomness(#[source] getrandom::Error),
}

/// 32 bytes from the OS CSPRNG as 43 characters of unpadded base64url: the
/// secret of every bearer token the crate hands out (session, device and
/// one-time tokens).
pub(crate) fn draw_secret() -> Result<Zeroizing<String>, TokenError> {
    let mut bytes = Zeroizing::new([0u8; TOKEN_BYTES]);
    getrandom::fill(bytes.as_mut()).map_err(TokenError::NoRandomness)?;
    Ok(Zeroizing::new(URL_SAFE_NO_PAD.encode(bytes.as_ref())))
}

/// A presented secret, if it has the shape [`draw_secret`] gives.
pub(crate) fn read_secret(input: &str) -> Result<Zeroizing<String>, TokenError> {
    if input.len() != TOKEN_CHARS {
        return Err(TokenError::Malformed);
    }
    let decoded = Zeroizing::new(
        URL_SAFE_NO_PAD
            .decode(input)
            .map_err(|_| TokenError::Malformed)?,
    );
    if decoded.len() != TOKEN_BYTES {
        return Err(TokenError::Malformed);
    }
    Ok(Zeroizing::new(input.to_owned()))
}

impl SessionToken {
    /// Draws a fresh token from the OS CSPRNG.
    ///
    /// # Errors
    /// [`TokenError::NoRandomness`] if the OS random source fails.
    pub fn generate() -> Result<Self, TokenError> {
        draw_secret().map(Self)
    }

    /// Reads a token presented by a client. Only the shape is checked here;
    /// whether a session exists is the store's answer.
    ///
    /// # Errors
    /// [`TokenError::Malformed`] unless it is 43 characters of base64url.
    ///
    /// ```
    /// use auth_core::{SessionToken, TokenError};
    /// assert_eq!(SessionToken::parse("not a token"), Err(TokenError::Malformed));
    /// ```
    pub fn parse(input: &str) -> Result<Self, TokenError> {
        read_secret(input).map(Self)
    }

    /// The token to hand to the client.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id under which the session is stored: SHA-256 of the token text.
    pub fn id(&self) -> SessionId {
        SessionId(Sha256::digest(self.0.as_bytes()).into())
    }
}

impl fmt::Debug for SessionToken {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionToken(***)")
    }
}

/// SHA-256 of a [`SessionToken`]: the only form of a session's key that is stored.
/// `Debug` prints none of it (it would let a log reader look sessions up).
///
/// ```
/// use auth_core::{SessionId, SessionToken};
/// let token = SessionToken::generate()?;
/// let id = token.id();
/// assert_eq!(SessionId::from_bytes(*id.as_bytes()), id);
/// # Ok::<(), auth_core::TokenError>(())
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionId([u8; 32]);

impl SessionId {
    /// Rebuilds an id read from storage.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The 32 bytes to store.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// The id as 64 lower-case hex digits, for stores and messages that
    /// carry text (a JSON map key, a `NOTIFY` payload).
    ///
    /// ```
    /// use auth_core::SessionId;
    /// let id = SessionId::from_bytes([0xab; 32]);
    /// assert_eq!(id.to_hex(), "ab".repeat(32));
    /// assert_eq!(SessionId::from_hex(&id.to_hex()), Some(id));
    /// ```
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }

    /// Reads back [`SessionId::to_hex`]: `None` unless `text` is exactly 64
    /// hex digits (either case).
    ///
    /// ```
    /// use auth_core::SessionId;
    /// assert_eq!(SessionId::from_hex("abc"), None);
    /// assert_eq!(SessionId::from_hex(&"zz".repeat(32)), None);
    /// ```
    pub fn from_hex(text: &str) -> Option<Self> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text, &mut bytes).ok()?;
        Some(Self(bytes))
    }
}

impl fmt::Debug for SessionId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("SessionId(..)")
    }
}

/// The public handle of a session, for its user's session list and for
/// `DELETE /sessions/{id}`: a UUID derived one way from the [`SessionId`],
/// so it is neither the token nor its hash, holding it lets nobody act as
/// the session, and no store needs to keep it.
///
/// ```
/// use auth_core::{SessionHandle, SessionToken};
/// let token = SessionToken::generate()?;
/// let handle = token.id().handle();
/// assert_eq!(handle, token.id().handle(), "stable");
/// assert_ne!(handle.to_string(), token.as_str());
/// assert_eq!(SessionHandle::parse(&handle.to_string()), Some(handle));
/// assert_eq!(SessionHandle::parse("nope"), None);
/// # Ok::<(), auth_core::TokenError>(())
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct SessionHandle(uuid::Uuid);

impl SessionHandle {
    /// Reads a handle as shown (a UUID).
    pub fn parse(text: &str) -> Option<Self> {
        uuid::Uuid::parse_str(text).ok().map(Self)
    }

    /// The UUID.
    pub fn as_uuid(&self) -> &uuid::Uuid {
        &self.0
    }
}

impl fmt::Display for SessionHandle {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl SessionId {
    /// The session's public handle: SHA-256 of a tag and the id, cut to a
    /// UUID (version 4 and variant bits set, so it reads as one).
    pub fn handle(&self) -> SessionHandle {
        let mut digest = Sha256::new();
        digest.update(b"session-handle:");
        digest.update(self.0);
        let bytes: [u8; 32] = digest.finalize().into();
        let mut first = [0u8; 16];
        first.copy_from_slice(&bytes[..16]);
        SessionHandle(uuid::Builder::from_random_bytes(first).into_uuid())
    }
}
