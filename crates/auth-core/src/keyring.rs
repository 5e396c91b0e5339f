//! Secrets at rest: the [`Keyring`] that seals a secret (a TOTP key) into a
//! [`SealedSecret`] a store may keep, and opens it again.
//!
//! The cipher is XChaCha20-Poly1305 (RustCrypto's `chacha20poly1305`): its
//! 192-bit nonces are drawn at random, so instances sharing a key need no
//! shared counter. Every key has an id, and a sealed secret names the key
//! that sealed it, so a new key can be added (it seals from then on) while
//! secrets sealed under older keys still open. The associated data binds a
//! ciphertext to what it is about (`totp:<user id>`): a row copied onto
//! another user does not open.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use chacha20poly1305::aead::{Aead, KeyInit, Payload};
use chacha20poly1305::{XChaCha20Poly1305, XNonce};
use zeroize::Zeroizing;

const KEY_BYTES: usize = 32;
const NONCE_BYTES: usize = 24;
const KEY_ID_MAX: usize = 32;

/// Why a keyring could not be read, or a secret sealed or opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum KeyringError {
    /// A line of the key file is not `<id> <base64url of 32 bytes>` (the
    /// line number is given, never its content).
    #[error("line {line} of the key file is not '<id> <base64url of 32 bytes>'")]
    BadLine {
        /// 1-based.
        line: usize,
    },
    /// Two keys with one id: which one opens a secret would be ambiguous.
    #[error("the key id {0:?} appears twice in the key file")]
    DuplicateId(String),
    /// The file holds no key.
    #[error("the key file holds no key")]
    Empty,
    /// The secret names a key this keyring does not hold.
    #[error("the secret was sealed with key {0:?}, which is not in the key file")]
    UnknownKey(String),
    /// The secret is not one this keyring sealed, or was altered.
    #[error("the sealed secret does not open (altered, or sealed for something else)")]
    Corrupt,
    /// The operating system's random source failed.
    #[error("no randomness available")]
    NoRandomness,
}

struct Key {
    id: String,
    cipher: XChaCha20Poly1305,
}

/// The keys that seal and open secrets at rest. The last key seals; every
/// key opens what it sealed. `Debug` shows the ids only.
///
/// ```
/// use auth_core::Keyring;
///
/// let old = Keyring::generate_line("k1")?;
/// let ring = Keyring::parse(&old)?;
/// let sealed = ring.seal(b"twenty secret bytes!", b"totp:alice")?;
/// assert_eq!(ring.open(&sealed, b"totp:alice")?.as_slice(), b"twenty secret bytes!");
/// assert!(ring.open(&sealed, b"totp:bob").is_err());
///
/// // Rotation: a new key is appended; it seals, and the old one still opens.
/// let rotated = Keyring::parse(&format!("{old}\n{}", Keyring::generate_line("k2")?))?;
/// assert_eq!(rotated.current_id(), "k2");
/// assert_eq!(rotated.open(&sealed, b"totp:alice")?.as_slice(), b"twenty secret bytes!");
/// assert!(rotated.seal(b"x", b"c")?.as_str().starts_with("k2:"));
/// # Ok::<(), auth_core::KeyringError>(())
/// ```
pub struct Keyring {
    keys: Vec<Key>,
}

impl fmt::Debug for Keyring {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Keyring").field("ids", &self.ids()).finish()
    }
}

impl Keyring {
    /// Reads a key file: one key per line, `<id> <base64url of 32 bytes>`;
    /// blank lines and `#` comments are skipped; the last key seals.
    ///
    /// # Errors
    /// [`KeyringError::BadLine`], [`KeyringError::DuplicateId`],
    /// [`KeyringError::Empty`].
    pub fn parse(text: &str) -> Result<Self, KeyringError> {
        let mut keys: Vec<Key> = Vec::new();
        for (index, line) in text.lines().enumerate() {
            let line = line.trim();
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let bad = KeyringError::BadLine { line: index + 1 };
            let mut parts = line.split_whitespace();
            let (Some(id), Some(encoded), None) = (parts.next(), parts.next(), parts.next()) else {
                return Err(bad);
            };
            if !valid_id(id) {
                return Err(bad);
            }
            let bytes = Zeroizing::new(URL_SAFE_NO_PAD.decode(encoded).map_err(|_| bad.clone())?);
            if bytes.len() != KEY_BYTES {
                return Err(bad);
            }
            if keys.iter().any(|key| key.id == id) {
                return Err(KeyringError::DuplicateId(id.to_owned()));
            }
            let cipher = XChaCha20Poly1305::new_from_slice(&bytes).map_err(|_| bad)?;
            keys.push(Key {
                id: id.to_owned(),
                cipher,
            });
        }
        if keys.is_empty() {
            return Err(KeyringError::Empty);
        }
        Ok(Self { keys })
    }

    /// A new key-file line with a fresh random key and the given id (an id
    /// is 1 to 32 of `A-Z a-z 0-9 - _ .`).
    ///
    /// # Errors
    /// [`KeyringError::BadLine`] for an unusable id,
    /// [`KeyringError::NoRandomness`].
    pub fn generate_line(id: &str) -> Result<String, KeyringError> {
        if !valid_id(id) {
            return Err(KeyringError::BadLine { line: 1 });
        }
        let mut key = Zeroizing::new([0u8; KEY_BYTES]);
        getrandom::fill(key.as_mut()).map_err(|_| KeyringError::NoRandomness)?;
        Ok(format!("{id} {}", URL_SAFE_NO_PAD.encode(key.as_ref())))
    }

    /// The id of the key that seals.
    pub fn current_id(&self) -> &str {
        self.current().id.as_str()
    }

    /// Every key's id, oldest first.
    pub fn ids(&self) -> Vec<&str> {
        self.keys.iter().map(|key| key.id.as_str()).collect()
    }

    fn current(&self) -> &Key {
        // `parse` refuses an empty file, so there is a last key.
        &self.keys[self.keys.len() - 1]
    }

    /// Seals `plaintext` under the current key, bound to `context`.
    ///
    /// # Errors
    /// [`KeyringError::NoRandomness`]; [`KeyringError::Corrupt`] if the
    /// cipher refuses (it does not for inputs under gigabytes).
    pub fn seal(&self, plaintext: &[u8], context: &[u8]) -> Result<SealedSecret, KeyringError> {
        let key = self.current();
        let mut nonce = [0u8; NONCE_BYTES];
        getrandom::fill(&mut nonce).map_err(|_| KeyringError::NoRandomness)?;
        let ciphertext = key
            .cipher
            .encrypt(
                XNonce::from_slice(&nonce),
                Payload {
                    msg: plaintext,
                    aad: context,
                },
            )
            .map_err(|_| KeyringError::Corrupt)?;
        let mut body = nonce.to_vec();
        body.extend_from_slice(&ciphertext);
        Ok(SealedSecret(format!(
            "{}:{}",
            key.id,
            URL_SAFE_NO_PAD.encode(body)
        )))
    }

    /// Opens a secret this keyring (any of its keys) sealed for `context`.
    ///
    /// # Errors
    /// [`KeyringError::UnknownKey`], [`KeyringError::Corrupt`].
    pub fn open(
        &self,
        sealed: &SealedSecret,
        context: &[u8],
    ) -> Result<Zeroizing<Vec<u8>>, KeyringError> {
        let (id, body) = sealed.0.split_once(':').ok_or(KeyringError::Corrupt)?;
        let key = self
            .keys
            .iter()
            .find(|key| key.id == id)
            .ok_or_else(|| KeyringError::UnknownKey(id.to_owned()))?;
        let body = URL_SAFE_NO_PAD
            .decode(body)
            .map_err(|_| KeyringError::Corrupt)?;
        if body.len() < NONCE_BYTES {
            return Err(KeyringError::Corrupt);
        }
        let (nonce, ciphertext) = body.split_at(NONCE_BYTES);
        key.cipher
            .decrypt(
                XNonce::from_slice(nonce),
                Payload {
                    msg: ciphertext,
                    aad: context,
                },
            )
            .map(Zeroizing::new)
            .map_err(|_| KeyringError::Corrupt)
    }

    /// Whether `sealed` was sealed by an older key than the current one (a
    /// candidate for re-sealing after a rotation).
    pub fn is_stale(&self, sealed: &SealedSecret) -> bool {
        sealed.key_id() != Some(self.current_id())
    }
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= KEY_ID_MAX
        && id
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// A secret as stored: `<key id>:<base64url of nonce and ciphertext>`.
/// Opening it needs the [`Keyring`]; `Debug` shows the key id only.
///
/// ```
/// use auth_core::SealedSecret;
/// let sealed = SealedSecret::from_stored("k1:AAAA");
/// assert_eq!(sealed.key_id(), Some("k1"));
/// assert_eq!(format!("{sealed:?}"), "SealedSecret(k1:***)");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct SealedSecret(String);

impl SealedSecret {
    /// Wraps a value read back from a store.
    pub fn from_stored(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The stored form.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The id of the key that sealed it.
    pub fn key_id(&self) -> Option<&str> {
        self.0.split_once(':').map(|(id, _)| id)
    }
}

impl fmt::Debug for SealedSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SealedSecret({}:***)", self.key_id().unwrap_or("?"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_file_with_comments_and_two_keys_seals_with_the_last() {
        let text = format!(
            "# keys\n\n{}\n{}\n",
            Keyring::generate_line("old").unwrap(),
            Keyring::generate_line("new").unwrap()
        );
        let ring = Keyring::parse(&text).unwrap();
        assert_eq!(ring.ids(), ["old", "new"]);
        assert_eq!(ring.current_id(), "new");
        let sealed = ring.seal(b"s", b"c").unwrap();
        assert!(!ring.is_stale(&sealed));
    }

    #[test]
    fn bad_files_are_refused_without_echoing_a_key() {
        assert!(matches!(
            Keyring::parse("# nothing\n"),
            Err(KeyringError::Empty)
        ));
        let line = Keyring::generate_line("k").unwrap();
        assert!(matches!(
            Keyring::parse(&format!("{line}\n{line}")),
            Err(KeyringError::DuplicateId(id)) if id == "k"
        ));
        for bad in ["k", "k short", "k:x AAAA", "k a b", &format!("{line}x")] {
            assert!(
                matches!(Keyring::parse(bad), Err(KeyringError::BadLine { line: 1 })),
                "{bad}"
            );
        }
        assert!(Keyring::generate_line("has space").is_err());
    }

    #[test]
    fn altered_or_foreign_secrets_do_not_open() {
        let ring = Keyring::parse(&Keyring::generate_line("k").unwrap()).unwrap();
        let other = Keyring::parse(&Keyring::generate_line("k").unwrap()).unwrap();
        let sealed = ring.seal(b"secret", b"ctx").unwrap();
        assert_eq!(
            other.open(&sealed, b"ctx").unwrap_err(),
            KeyringError::Corrupt
        );
        let mut text = sealed.as_str().to_owned();
        let last = text.pop().unwrap();
        text.push(if last == 'A' { 'B' } else { 'A' });
        assert_eq!(
            ring.open(&SealedSecret::from_stored(text), b"ctx")
                .unwrap_err(),
            KeyringError::Corrupt
        );
        assert_eq!(
            ring.open(&SealedSecret::from_stored("gone:AAAA"), b"ctx")
                .unwrap_err(),
            KeyringError::UnknownKey("gone".into())
        );
        for junk in ["", "k", "k:", "k:!!", "k:AAAA"] {
            assert!(ring.open(&SealedSecret::from_stored(junk), b"ctx").is_err());
        }
    }

    #[test]
    fn a_sealed_secret_never_shows_its_bytes() {
        let ring = Keyring::parse(&Keyring::generate_line("k").unwrap()).unwrap();
        let sealed = ring.seal(b"plaintext", b"ctx").unwrap();
        assert_eq!(format!("{sealed:?}"), "SealedSecret(k:***)");
        assert!(!format!("{ring:?}").contains(&sealed.as_str()[2..]));
    }
}
