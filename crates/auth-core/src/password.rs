//! Passwords (secrets) and the policy a new password must meet.
//!
//! [`Password`] holds any Unicode text, NFKC-normalised, never truncated,
//! zeroised on drop and never printed. [`PasswordPolicy`] is applied only when
//! a password is *set* (registration, change): logins accept whatever the
//! user typed, so a policy change never locks anyone out.

use std::fmt;

use unicode_normalization::UnicodeNormalization;
use zeroize::{Zeroize, Zeroizing};

use crate::Username;

/// A password as typed. `Debug` and `Display` print `Password(***)`.
///
/// ```
/// use auth_core::Password;
///
/// let password = Password::new("correct horse battery staple");
/// assert_eq!(format!("{password:?}"), "Password(***)");
/// assert_eq!(password.char_count(), 28);
/// ```
pub struct Password {
    normalised: Zeroizing<String>,
    /// Characters as typed, before NFKC: the count the user sees and the one
    /// the OpenAPI `minLength`/`maxLength` describe. NFKC can turn one typed
    /// character into several (`½` becomes `1⁄2`), so counting after it would
    /// accept a password the published schema calls too short.
    typed_chars: usize,
}

impl Password {
    /// Wraps a password, normalising it to NFKC so that the same visible
    /// password typed on two keyboards hashes the same. The input is zeroised.
    ///
    /// ```
    /// use auth_core::Password;
    /// // U+212B ANGSTROM SIGN and U+00C5 are the same after NFKC.
    /// assert_eq!(Password::new("\u{212B}").expose(), Password::new("\u{C5}").expose());
    /// ```
    pub fn new(input: impl Into<String>) -> Self {
        let mut input = input.into();
        let typed_chars = input.chars().count();
        let normalised: String = input.nfkc().collect();
        input.zeroize();
        Self {
            normalised: Zeroizing::new(normalised),
            typed_chars,
        }
    }

    /// The normalised password. Only hashing should need this.
    ///
    /// ```
    /// assert_eq!(auth_core::Password::new("hunter2").expose(), "hunter2");
    /// ```
    pub fn expose(&self) -> &str {
        &self.normalised
    }

    /// Length in characters (Unicode scalar values) as typed, before
    /// normalisation, as NIST counts it and as the API schema states it.
    ///
    /// ```
    /// assert_eq!(auth_core::Password::new("pässwörd").char_count(), 8);
    /// // "½" is one character typed, three after NFKC ("1⁄2").
    /// let half = auth_core::Password::new("½");
    /// assert_eq!((half.char_count(), half.expose().chars().count()), (1, 3));
    /// ```
    pub fn char_count(&self) -> usize {
        self.typed_chars
    }
}

impl Clone for Password {
    fn clone(&self) -> Self {
        Self {
            normalised: Zeroizing::new(self.normalised.as_str().to_owned()),
            typed_chars: self.typed_chars,
        }
    }
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(***)")
    }
}

impl fmt::Display for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("***")
    }
}

/// Why a new password was rejected. Each message says what to do instead.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PasswordError {
    /// Fewer characters than the policy's minimum.
    #[error(
        "password must be at least {min} characters long (got {actual}); a few unrelated words make a good one"
    )]
    TooShort {
        /// The policy's minimum.
        min: usize,
        /// Characters received.
        actual: usize,
    },
    /// More characters than the policy's maximum.
    #[error("password must be at most {max} characters long")]
    TooLong {
        /// The policy's maximum.
        max: usize,
    },
    /// More bytes than the policy allows (bounds hashing work for wide scripts).
    #[error("password must be at most {max} bytes long in UTF-8")]
    TooManyBytes {
        /// The policy's maximum in bytes.
        max: usize,
    },
    /// The password contains the username.
    #[error("password must not contain the username")]
    ContainsUsername,
    /// The password is common, breached or otherwise easy to guess.
    #[error("password is too easy to guess: {reason}; choose a longer, less common one")]
    TooCommon {
        /// What makes it guessable, from the strength estimator.
        reason: String,
    },
}

/// Rules for *new* passwords, after NIST SP 800-63B-4: length, a blocklist of
/// common and breached passwords, not the username; no composition rules.
///
/// The blocklist is `zxcvbn`'s offline estimator, which embeds the common
/// password, name and word lists and catches their variations
/// (`Password123!`, keyboard walks, repeats).
///
/// ```
/// use auth_core::{Password, PasswordError, PasswordPolicy, Username};
///
/// let policy = PasswordPolicy::default();
/// let user = Username::parse("alice")?;
/// assert!(policy.check(&Password::new("tangerine maple orbit 42"), &user).is_ok());
/// assert!(matches!(
///     policy.check(&Password::new("password123"), &user),
///     Err(PasswordError::TooShort { min: 15, .. })
/// ));
/// # Ok::<(), auth_core::UsernameError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PasswordPolicy {
    /// Minimum length in characters (NIST: 15 for single-factor passwords).
    pub min_chars: usize,
    /// Maximum length in characters (NIST: allow at least 64).
    pub max_chars: usize,
    /// Maximum length in UTF-8 bytes, so 256 four-byte characters still fit.
    pub max_bytes: usize,
    /// Minimum `zxcvbn` score (0–4) a password needs; 3 means more than
    /// 10^10 guesses. 0 disables the guessability check.
    pub min_strength: u8,
}

impl Default for PasswordPolicy {
    fn default() -> Self {
        Self {
            min_chars: 15,
            max_chars: 256,
            max_bytes: 1024,
            min_strength: 3,
        }
    }
}

impl PasswordPolicy {
    /// Checks a new password for `username`.
    ///
    /// # Errors
    /// The first rule that fails, as a [`PasswordError`].
    ///
    /// ```
    /// use auth_core::{Password, PasswordError, PasswordPolicy, Username};
    ///
    /// let policy = PasswordPolicy::default();
    /// let user = Username::parse("Margaret")?;
    /// assert_eq!(
    ///     policy.check(&Password::new("my name is margaret, ok?"), &user),
    ///     Err(PasswordError::ContainsUsername),
    /// );
    /// assert!(matches!(
    ///     policy.check(&Password::new("passwordpassword1"), &user),
    ///     Err(PasswordError::TooCommon { .. })
    /// ));
    /// # Ok::<(), auth_core::UsernameError>(())
    /// ```
    pub fn check(&self, password: &Password, username: &Username) -> Result<(), PasswordError> {
        let secret = password.expose();
        if secret.len() > self.max_bytes {
            return Err(PasswordError::TooManyBytes {
                max: self.max_bytes,
            });
        }
        let actual = password.char_count();
        if actual < self.min_chars {
            return Err(PasswordError::TooShort {
                min: self.min_chars,
                actual,
            });
        }
        if actual > self.max_chars {
            return Err(PasswordError::TooLong {
                max: self.max_chars,
            });
        }
        let folded = Zeroizing::new(caseless::default_case_fold_str(secret));
        if folded.contains(username.canonical()) {
            return Err(PasswordError::ContainsUsername);
        }
        if self.min_strength > 0 {
            let estimate = zxcvbn::zxcvbn(secret, &[username.as_str()]);
            if (estimate.score() as u8) < self.min_strength {
                let reason = estimate
                    .feedback()
                    .and_then(|feedback| feedback.warning())
                    .map(|warning| warning.to_string().trim_end_matches('.').to_lowercase())
                    .unwrap_or_else(|| "it follows a predictable pattern".to_owned());
                return Err(PasswordError::TooCommon { reason });
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn alice() -> Username {
        Username::parse("alice").unwrap()
    }

    #[test]
    fn debug_and_display_hide_the_secret() {
        let password = Password::new("super secret value");
        assert_eq!(format!("{password:?}"), "Password(***)");
        assert_eq!(format!("{password}"), "***");
    }

    #[test]
    fn spaces_and_unicode_are_kept_and_never_truncated() {
        let long = "ünïcödé and spaces ".repeat(13);
        let password = Password::new(long.clone());
        assert_eq!(password.expose(), long.nfkc().collect::<String>());
    }

    #[test]
    fn length_limits_are_in_characters() {
        let policy = PasswordPolicy::default();
        assert_eq!(
            policy.check(&Password::new("short pass"), &alice()),
            Err(PasswordError::TooShort {
                min: 15,
                actual: 10
            })
        );
        let too_long = "x7Q!".repeat(65);
        assert_eq!(
            policy.check(&Password::new(too_long), &alice()),
            Err(PasswordError::TooLong { max: 256 })
        );
    }

    #[test]
    fn length_is_counted_as_typed_not_after_normalisation() {
        // Schemathesis found this: fewer than 15 typed characters that NFKC
        // turns into 15 or more ("½" → "1⁄2") passed a minimum the schema states as 15.
        let policy = PasswordPolicy {
            min_strength: 0,
            ..PasswordPolicy::default()
        };
        let expanding = "½½½½½ ¼¼¼ ¾¾";
        assert!(Password::new(expanding).expose().chars().count() >= 15);
        assert_eq!(
            policy.check(&Password::new(expanding), &alice()),
            Err(PasswordError::TooShort {
                min: 15,
                actual: 12
            })
        );
    }

    #[test]
    fn byte_bound_applies_to_wide_characters() {
        let policy = PasswordPolicy {
            max_bytes: 40,
            ..PasswordPolicy::default()
        };
        // 15 characters, 45 bytes.
        let wide = "漢字かなカナ漢字かなカナ漢字か";
        assert_eq!(
            policy.check(&Password::new(wide), &alice()),
            Err(PasswordError::TooManyBytes { max: 40 })
        );
    }

    #[test]
    fn common_passwords_are_rejected_even_when_long_enough() {
        let policy = PasswordPolicy::default();
        for common in [
            "password1234567",
            "qwertyuiopasdfgh",
            "aaaaaaaaaaaaaaaa",
            "123456789012345",
        ] {
            assert!(
                matches!(
                    policy.check(&Password::new(common), &alice()),
                    Err(PasswordError::TooCommon { .. })
                ),
                "{common}"
            );
        }
    }

    #[test]
    fn username_inside_password_is_rejected_case_insensitively() {
        let policy = PasswordPolicy::default();
        assert_eq!(
            policy.check(&Password::new("xx ALICE rides a bicycle"), &alice()),
            Err(PasswordError::ContainsUsername)
        );
    }

    #[test]
    fn passphrases_pass() {
        let policy = PasswordPolicy::default();
        for good in [
            "tangerine maple orbit 42",
            "Ängstliche Kühe tanzen Samba",
            "correct horse battery staple",
        ] {
            assert_eq!(
                policy.check(&Password::new(good), &alice()),
                Ok(()),
                "{good}"
            );
        }
    }

    #[test]
    fn too_common_message_is_actionable() {
        let error = PasswordPolicy::default()
            .check(&Password::new("password1234567"), &alice())
            .unwrap_err();
        assert!(
            error
                .to_string()
                .starts_with("password is too easy to guess"),
            "{error}"
        );
    }

    proptest! {
        #[test]
        fn check_never_panics(input in any::<String>()) {
            let _ = PasswordPolicy::default().check(&Password::new(input), &alice());
        }

        #[test]
        fn normalisation_is_idempotent(input in any::<String>()) {
            let once = Password::new(input);
            let twice = Password::new(once.expose());
            prop_assert_eq!(once.expose(), twice.expose());
        }
    }
}
