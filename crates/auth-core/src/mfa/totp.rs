//! TOTP (RFC 6238) keys and codes: a [`TotpSecret`] of 160 random bits, the
//! [`TotpCode`] a user types, and which time step a code matches.
//!
//! The HMAC, the truncation and the `otpauth://` URI come from `totp-rs`;
//! this file fixes the parameters every authenticator app understands
//! (SHA-1, 6 digits, 30-second steps) and the window of ±1 step.

use std::fmt;

use chrono::{DateTime, Utc};
use zeroize::Zeroizing;

/// Seconds per step.
pub const TOTP_STEP_SECONDS: u64 = 30;
/// Steps before and after the current one that are still accepted.
pub const TOTP_SKEW_STEPS: u16 = 1;
const SECRET_BYTES: usize = 20;

/// Why a TOTP key could not be made or used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TotpError {
    /// The operating system's random source failed.
    #[error("no randomness available")]
    NoRandomness,
    /// The stored key is not 160 bits (it was not made here).
    #[error("the stored TOTP key has the wrong length")]
    BadKey,
}

/// A user's TOTP key. `Debug` hides it; it is stored only sealed
/// ([`crate::Keyring`]).
///
/// ```
/// use auth_core::{TotpCode, TotpSecret};
/// use chrono::{TimeZone, Utc};
///
/// let secret = TotpSecret::generate()?;
/// assert_eq!(secret.to_base32().len(), 32);
/// let now = Utc.timestamp_opt(1_700_000_000, 0).unwrap();
/// let code = TotpCode::parse(&secret.code_at(now)).expect("six digits");
/// assert_eq!(secret.matching_step(&code, now), Some(1_700_000_000 / 30));
/// assert_eq!(format!("{secret:?}"), "TotpSecret(***)");
/// # Ok::<(), auth_core::TotpError>(())
/// ```
#[derive(Clone)]
pub struct TotpSecret(Zeroizing<Vec<u8>>);

impl fmt::Debug for TotpSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpSecret(***)")
    }
}

impl TotpSecret {
    /// 160 bits from the OS CSPRNG (the length RFC 4226 recommends).
    ///
    /// # Errors
    /// [`TotpError::NoRandomness`].
    pub fn generate() -> Result<Self, TotpError> {
        let mut bytes = Zeroizing::new(vec![0u8; SECRET_BYTES]);
        getrandom::fill(bytes.as_mut_slice()).map_err(|_| TotpError::NoRandomness)?;
        Ok(Self(bytes))
    }

    /// A key opened from its sealed form.
    ///
    /// # Errors
    /// [`TotpError::BadKey`] unless it is 160 bits.
    pub fn from_bytes(bytes: Zeroizing<Vec<u8>>) -> Result<Self, TotpError> {
        if bytes.len() == SECRET_BYTES {
            Ok(Self(bytes))
        } else {
            Err(TotpError::BadKey)
        }
    }

    /// The raw key, to seal.
    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    /// The key in base32, as typed into an authenticator app.
    pub fn to_base32(&self) -> String {
        totp_rs::Secret::from(self.0.to_vec()).to_base32()
    }

    fn totp(&self, issuer: Option<&str>, account: &str) -> totp_rs::Totp {
        totp_rs::Builder::new()
            .with_secret(self.0.to_vec())
            .with_skew(TOTP_SKEW_STEPS)
            .with_step_duration(TOTP_STEP_SECONDS)
            .with_issuer(issuer.map(label))
            .with_account_name(label(account))
            // The parameters above are RFC 6238's and the key is 160
            // bits: `build` would accept them; the unchecked form only
            // saves an error path that cannot be taken.
            .build_noncompliant()
    }

    /// The `otpauth://totp/…` URI an authenticator app scans. `:` in the
    /// issuer or account (the label's separator) becomes `_`.
    pub fn otpauth_uri(&self, issuer: &str, account: &str) -> String {
        // `to_url` fails only on an empty account name.
        let account = if account.is_empty() {
            "account"
        } else {
            account
        };
        self.totp(Some(issuer), account)
            .to_url()
            .unwrap_or_default()
    }

    /// The code for the step containing `at` (what an app shows then).
    pub fn code_at(&self, at: DateTime<Utc>) -> String {
        self.totp(None, "").generate(unix_seconds(at)).to_string()
    }

    /// The step (Unix time ÷ 30) within ±1 of `at`'s that `code` is the
    /// code of, compared in constant time; `None` if no step matches.
    pub fn matching_step(&self, code: &TotpCode, at: DateTime<Utc>) -> Option<u64> {
        self.totp(None, "").check(&code.0, unix_seconds(at))
    }
}

fn unix_seconds(at: DateTime<Utc>) -> u64 {
    u64::try_from(at.timestamp()).unwrap_or(0)
}

fn label(text: &str) -> String {
    text.replace(':', "_")
}

/// Six digits as typed (spaces allowed: apps show `123 456`).
///
/// ```
/// use auth_core::TotpCode;
/// assert!(TotpCode::parse("123 456").is_some());
/// assert!(TotpCode::parse("12345").is_none());
/// assert!(TotpCode::parse("12345a").is_none());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct TotpCode(String);

impl TotpCode {
    /// `None` unless six ASCII digits remain once spaces are removed.
    pub fn parse(input: &str) -> Option<Self> {
        let digits: String = input.chars().filter(|c| *c != ' ').collect();
        (digits.len() == 6 && digits.bytes().all(|b| b.is_ascii_digit())).then_some(Self(digits))
    }
}

impl fmt::Debug for TotpCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("TotpCode(***)")
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;

    /// RFC 6238 appendix B, SHA-1, with its 20-byte key: the 8-digit
    /// values' last six digits.
    #[test]
    fn rfc_6238_vectors() {
        let secret =
            TotpSecret::from_bytes(Zeroizing::new(b"12345678901234567890".to_vec())).unwrap();
        for (time, code) in [
            (59, "287082"),
            (1_111_111_109, "081804"),
            (2_000_000_000, "279037"),
        ] {
            let at = Utc.timestamp_opt(time, 0).unwrap();
            assert_eq!(secret.code_at(at), code);
        }
    }

    #[test]
    fn one_step_either_side_matches_two_do_not() {
        let secret = TotpSecret::generate().unwrap();
        let now = Utc.timestamp_opt(1_800_000_015, 0).unwrap();
        let step: u64 = 1_800_000_015 / 30;
        for offset in [-1i64, 0, 1] {
            let at = now + chrono::Duration::seconds(30 * offset);
            let code = TotpCode::parse(&secret.code_at(at)).unwrap();
            assert_eq!(
                secret.matching_step(&code, now),
                Some(step.checked_add_signed(offset).unwrap())
            );
        }
        for offset in [-2i64, 2] {
            let at = now + chrono::Duration::seconds(30 * offset);
            let code = TotpCode::parse(&secret.code_at(at)).unwrap();
            // A neighbouring step may by chance have the same code (1 in 10^6).
            if secret.code_at(at) != secret.code_at(now) {
                assert_eq!(secret.matching_step(&code, now), None, "offset {offset}");
            }
        }
    }

    #[test]
    fn the_uri_names_issuer_and_account_and_carries_the_key() {
        let secret = TotpSecret::generate().unwrap();
        let uri = secret.otpauth_uri("Auth: Co", "al:ice");
        assert!(uri.starts_with("otpauth://totp/"), "{uri}");
        assert!(
            uri.contains(&format!("secret={}", secret.to_base32())),
            "{uri}"
        );
        assert!(uri.contains("al_ice"), "{uri}");
        assert!(!secret.otpauth_uri("x", "").is_empty());
    }

    #[test]
    fn keys_of_another_length_are_refused() {
        assert_eq!(
            TotpSecret::from_bytes(Zeroizing::new(vec![0; 16])).unwrap_err(),
            TotpError::BadKey
        );
    }
}
