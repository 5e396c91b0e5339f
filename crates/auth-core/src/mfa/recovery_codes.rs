//! Recovery codes: the ten single-use codes a user with TOTP keeps on paper
//! for the day the phone is gone.
//!
//! Each code is 80 random bits (16 base32 characters, shown in groups of
//! four). Under the account's back-off a guesser gets a few attempts an
//! hour against ten codes, so about 2^77 hours per hit; and since 80 bits
//! cannot be enumerated either, a stolen database's SHA-256 of a code is as
//! good as a slow hash. The hash is salted with the user id, so one
//! precomputed table does not serve every account.

use std::fmt;

use sha2::{Digest, Sha256};
use zeroize::Zeroizing;

use crate::UserId;

/// Codes a user holds at once.
pub const RECOVERY_CODE_COUNT: usize = 10;
const CODE_CHARS: usize = 16;
const ALPHABET: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";

/// A recovery code as shown to the user once, or as typed back. `Debug`
/// hides it.
///
/// ```
/// use auth_core::{RecoveryCode, UserId};
///
/// let code = RecoveryCode::generate()?;
/// assert_eq!(code.as_str().len(), 19); // xxxx-xxxx-xxxx-xxxx
/// let typed = RecoveryCode::parse(&code.as_str().to_uppercase().replace('-', " ")).expect("same code");
/// let user = UserId::new();
/// assert_eq!(typed.hash_for(user), code.hash_for(user));
/// assert_ne!(code.hash_for(user), code.hash_for(UserId::new()));
/// assert!(RecoveryCode::parse("123456").is_none());
/// # Ok::<(), auth_core::TotpError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct RecoveryCode(Zeroizing<String>);

impl RecoveryCode {
    /// A fresh code from the OS CSPRNG.
    ///
    /// # Errors
    /// [`crate::TotpError::NoRandomness`].
    pub fn generate() -> Result<Self, crate::TotpError> {
        let mut bytes = Zeroizing::new([0u8; CODE_CHARS]);
        getrandom::fill(bytes.as_mut()).map_err(|_| crate::TotpError::NoRandomness)?;
        let mut text = String::with_capacity(CODE_CHARS + 3);
        for (index, byte) in bytes.iter().enumerate() {
            if index > 0 && index % 4 == 0 {
                text.push('-');
            }
            // 256 is a multiple of 32: the low five bits are uniform.
            text.push(char::from(ALPHABET[usize::from(byte & 31)]));
        }
        Ok(Self(Zeroizing::new(text)))
    }

    /// Ten fresh codes.
    ///
    /// # Errors
    /// [`crate::TotpError::NoRandomness`].
    pub fn generate_set() -> Result<Vec<Self>, crate::TotpError> {
        (0..RECOVERY_CODE_COUNT).map(|_| Self::generate()).collect()
    }

    /// Reads a code as typed: case, dashes and spaces do not matter.
    pub fn parse(input: &str) -> Option<Self> {
        let plain: String = input
            .chars()
            .filter(|c| !matches!(c, '-' | ' '))
            .map(|c| c.to_ascii_lowercase())
            .collect();
        if plain.len() != CODE_CHARS || !plain.bytes().all(|b| ALPHABET.contains(&b)) {
            return None;
        }
        let mut text = String::with_capacity(CODE_CHARS + 3);
        for (index, c) in plain.chars().enumerate() {
            if index > 0 && index % 4 == 0 {
                text.push('-');
            }
            text.push(c);
        }
        Some(Self(Zeroizing::new(text)))
    }

    /// The code in its display form, to show once.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// What a store keeps of `user`'s code.
    pub fn hash_for(&self, user: UserId) -> RecoveryCodeHash {
        let mut hasher = Sha256::new();
        hasher.update(b"auth-recovery-code:");
        hasher.update(user.as_uuid().as_bytes());
        hasher.update(self.0.as_bytes());
        RecoveryCodeHash(hasher.finalize().into())
    }
}

impl fmt::Debug for RecoveryCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("RecoveryCode(***)")
    }
}

/// The stored form of a recovery code: SHA-256 of the user id and the code.
///
/// ```
/// use auth_core::RecoveryCodeHash;
/// let hash = RecoveryCodeHash::from_bytes([7; 32]);
/// assert_eq!(hash.as_bytes(), &[7; 32]);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, Debug)]
pub struct RecoveryCodeHash([u8; 32]);

impl RecoveryCodeHash {
    /// Wraps a hash read back from a store.
    pub fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    /// The bytes to store.
    pub fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }
}

#[cfg(test)]
mod tests {
    use std::collections::HashSet;

    use super::*;

    #[test]
    fn a_set_is_ten_distinct_codes_that_parse_back() {
        let set = RecoveryCode::generate_set().unwrap();
        assert_eq!(set.len(), RECOVERY_CODE_COUNT);
        let distinct: HashSet<&str> = set.iter().map(RecoveryCode::as_str).collect();
        assert_eq!(distinct.len(), RECOVERY_CODE_COUNT);
        for code in &set {
            assert_eq!(RecoveryCode::parse(code.as_str()).as_ref(), Some(code));
        }
    }

    #[test]
    fn malformed_codes_are_refused() {
        for bad in [
            "",
            "abcd-efgh-ijkl-mno",
            "abcd-efgh-ijkl-mnop-q",
            "abcd-efgh-ijkl-mno1",
            "123456",
        ] {
            assert!(RecoveryCode::parse(bad).is_none(), "{bad}");
        }
        assert!(RecoveryCode::parse("ABCD EFGH IJKL MNOP").is_some());
    }
}
