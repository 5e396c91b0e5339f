//! Usernames: parsed once at the edge, then trusted.
//!
//! A [`Username`] keeps the name as the user typed it (after Unicode NFKC
//! normalisation) for display, and a canonical key (NFKC + Unicode case
//! folding) that stores use for uniqueness and lookup. `John.Doe` and
//! `john.doe` therefore name the same account.
//!
//! A name also has a confusable skeleton (a [`UsernameSkeleton`], Unicode
//! UTS #39): stores keep it unique too, so `аdmin` with a Cyrillic `а`
//! cannot register beside `admin`, though it stays a different name.
//!
//! The same key names the account whose failed logins are counted (an
//! [`AccountKey`]); a name that does not parse gets a key of its own here
//! too, so every rule about what names one account sits in this file.

use std::fmt;

use unicode_normalization::UnicodeNormalization;

/// Shortest accepted name, in characters (Unicode scalar values) after NFKC.
pub const USERNAME_MIN_CHARS: usize = 3;
/// Longest accepted name, in characters (Unicode scalar values) after NFKC.
pub const USERNAME_MAX_CHARS: usize = 64;

/// Punctuation allowed besides letters and digits.
const ALLOWED_PUNCTUATION: [char; 5] = ['.', '_', '-', '@', '+'];

/// A valid username: 3 to 64 letters, digits or `. _ - @ +` after NFKC.
///
/// ```
/// use auth_core::Username;
///
/// let name = Username::parse("John.Doe")?;
/// assert_eq!(name.as_str(), "John.Doe");
/// assert_eq!(name.canonical(), "john.doe");
/// assert_eq!(name, Username::parse("JOHN.DOE")?); // equality is by canonical key
/// # Ok::<(), auth_core::UsernameError>(())
/// ```
#[derive(Clone)]
pub struct Username {
    display: String,
    canonical: String,
}

/// Why a username was rejected. Each variant says what to change.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UsernameError {
    /// The name is shorter than [`USERNAME_MIN_CHARS`].
    #[error("username must be at least {min} characters long (got {actual})")]
    TooShort {
        /// The minimum length.
        min: usize,
        /// The length received, in characters after normalisation.
        actual: usize,
    },
    /// The name is longer than [`USERNAME_MAX_CHARS`].
    #[error("username must be at most {max} characters long (got {actual})")]
    TooLong {
        /// The maximum length.
        max: usize,
        /// The length received, in characters after normalisation.
        actual: usize,
    },
    /// A character outside letters, digits and `. _ - @ +`.
    #[error(
        "username may only contain letters, digits and . _ - @ + (found {character:?} at position {position})"
    )]
    InvalidCharacter {
        /// The offending character (after normalisation).
        character: char,
        /// Its 1-based position, counted in characters.
        position: usize,
    },
}

impl Username {
    /// Parses untrusted input into a username.
    ///
    /// The input is NFKC-normalised first; the normalised form is what is
    /// checked, displayed and stored.
    ///
    /// # Errors
    /// [`UsernameError`] says which rule failed.
    ///
    /// ```
    /// use auth_core::{Username, UsernameError};
    ///
    /// assert!(Username::parse("ana_maria+test@example.org").is_ok());
    /// assert_eq!(
    ///     Username::parse("jo hn").unwrap_err(),
    ///     UsernameError::InvalidCharacter { character: ' ', position: 3 },
    /// );
    /// assert!(matches!(Username::parse("ab"), Err(UsernameError::TooShort { .. })));
    /// ```
    pub fn parse(input: &str) -> Result<Self, UsernameError> {
        // Cheap guard before normalising: NFKC can expand a character to at
        // most 18 others, so this never rejects a name that would fit.
        let raw_chars = input.chars().count();
        if raw_chars > USERNAME_MAX_CHARS * 18 {
            return Err(UsernameError::TooLong {
                max: USERNAME_MAX_CHARS,
                actual: raw_chars,
            });
        }
        let display: String = input.nfkc().collect();
        for (index, character) in display.chars().enumerate() {
            if !(character.is_alphanumeric() || ALLOWED_PUNCTUATION.contains(&character)) {
                return Err(UsernameError::InvalidCharacter {
                    character,
                    position: index + 1,
                });
            }
        }
        let actual = display.chars().count();
        if actual < USERNAME_MIN_CHARS {
            return Err(UsernameError::TooShort {
                min: USERNAME_MIN_CHARS,
                actual,
            });
        }
        if actual > USERNAME_MAX_CHARS {
            return Err(UsernameError::TooLong {
                max: USERNAME_MAX_CHARS,
                actual,
            });
        }
        let canonical = canonicalize(&display);
        Ok(Self { display, canonical })
    }

    /// The name as typed (NFKC-normalised), for display.
    ///
    /// ```
    /// assert_eq!(auth_core::Username::parse("Zoë")?.as_str(), "Zoë");
    /// # Ok::<(), auth_core::UsernameError>(())
    /// ```
    pub fn as_str(&self) -> &str {
        &self.display
    }

    /// The canonical key (NFKC + case folding): what uniqueness and lookups use.
    ///
    /// ```
    /// // Full case folding, not just lower-casing: ß folds to ss.
    /// assert_eq!(auth_core::Username::parse("Straße")?.canonical(), "strasse");
    /// # Ok::<(), auth_core::UsernameError>(())
    /// ```
    pub fn canonical(&self) -> &str {
        &self.canonical
    }

    /// The key this account's failed logins are counted under: its canonical
    /// key, so every case variant shares one back-off.
    ///
    /// ```
    /// use auth_core::Username;
    /// let key = Username::parse("Straße")?.account_key();
    /// assert_eq!(key.as_str(), "strasse");
    /// assert_eq!(key, Username::parse("STRASSE")?.account_key());
    /// # Ok::<(), auth_core::UsernameError>(())
    /// ```
    pub fn account_key(&self) -> AccountKey {
        AccountKey(self.canonical.clone())
    }

    /// The confusable skeleton of the canonical key (Unicode UTS #39,
    /// `unicode_security::skeleton`): names that look alike map to one
    /// skeleton, and stores keep skeletons unique as well as canonical keys.
    /// It is taken of the canonical key, so `Admin`, `admin` and `аdmin`
    /// (Cyrillic `а`, U+0430) share one.
    ///
    /// ```
    /// use auth_core::Username;
    ///
    /// let latin = Username::parse("Admin")?;
    /// let cyrillic = Username::parse("\u{430}dmin")?; // аdmin
    /// assert_ne!(latin, cyrillic); // two names: logging in as one is not the other
    /// assert_eq!(latin.skeleton(), cyrillic.skeleton()); // but only one may exist
    /// // A key, not a name: UTS #39 maps `m` to `rn` (they look alike).
    /// assert_eq!(cyrillic.skeleton().as_str(), "adrnin");
    /// # Ok::<(), auth_core::UsernameError>(())
    /// ```
    pub fn skeleton(&self) -> UsernameSkeleton {
        UsernameSkeleton(unicode_security::skeleton(&self.canonical).collect())
    }
}

/// What a name looks like: the UTS #39 skeleton of a canonical key, unique
/// among stored users. Only this module builds one ([`Username::skeleton`]),
/// so a store cannot be handed a skeleton computed some other way.
///
/// The skeleton is a key, not a name: it may hold characters the name does
/// not (`m` becomes `rn`, the digit `0` a capital `O`). A change to the
/// function (a new Unicode confusables table) changes stored keys, so it
/// needs a migration that recomputes them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct UsernameSkeleton(String);

impl UsernameSkeleton {
    /// The skeleton as stores keep it.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Whose failed logins count together: the key a [`crate::ThrottleStore`]
/// records and counts failures under. Only this module builds one, from a
/// parsed [`Username`] ([`Username::account_key`]) or from input that does
/// not parse ([`AccountKey::of_unparsable`]), so a store cannot be handed a
/// key folded some other way.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct AccountKey(String);

/// Marks the digest form, which no canonical key can equal (`:` is not
/// allowed in a username).
const UNPARSABLE_PREFIX: &str = "invalid:";

impl AccountKey {
    /// The key for a login with `input` as the username when `input` does
    /// not parse. Such a name can never log in, but it still gets a budget,
    /// so probing invalid names is throttled like probing valid ones. The key
    /// is `invalid:` and the hex SHA-256 of the case-folded input (its first
    /// 256 characters): what was typed into the username field may be a
    /// password, so it is not stored as typed.
    ///
    /// ```
    /// use auth_core::AccountKey;
    /// let key = AccountKey::of_unparsable("not a name");
    /// assert!(key.as_str().starts_with("invalid:"));
    /// assert_eq!(key.as_str().len(), "invalid:".len() + 64);
    /// assert_eq!(key, AccountKey::of_unparsable("NOT A NAME"));
    /// ```
    pub fn of_unparsable(input: &str) -> Self {
        use sha2::{Digest, Sha256};
        let bounded: String = input.chars().take(USERNAME_MAX_CHARS * 4).collect();
        let digest = Sha256::digest(caseless::default_case_fold_str(&bounded).as_bytes());
        Self(format!("{UNPARSABLE_PREFIX}{}", hex::encode(digest)))
    }

    /// The key as stores keep it.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Rebuilds a key a store kept ([`AccountKey::as_str`]), for records
    /// that name their account ([`crate::Device`]). Only compared, never
    /// parsed: a key that was never issued matches no account.
    ///
    /// ```
    /// use auth_core::{AccountKey, Username};
    /// let key = Username::parse("Alice")?.account_key();
    /// assert_eq!(AccountKey::from_stored(key.as_str().to_owned()), key);
    /// # Ok::<(), auth_core::UsernameError>(())
    /// ```
    pub fn from_stored(stored: String) -> Self {
        Self(stored)
    }
}

/// NFKC(casefold(NFKC(s))): folding can produce characters that need
/// normalising again, so the key is stable under repeated application.
fn canonicalize(display: &str) -> String {
    caseless::default_case_fold_str(display).nfkc().collect()
}

impl PartialEq for Username {
    fn eq(&self, other: &Self) -> bool {
        self.canonical == other.canonical
    }
}
impl Eq for Username {}

impl std::hash::Hash for Username {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.canonical.hash(state);
    }
}

impl fmt::Display for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display)
    }
}

impl fmt::Debug for Username {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_tuple("Username").field(&self.display).finish()
    }
}

impl std::str::FromStr for Username {
    type Err = UsernameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn case_variants_share_a_canonical_key() {
        let a = Username::parse("John.Doe").unwrap();
        let b = Username::parse("john.doe").unwrap();
        assert_eq!(a.canonical(), b.canonical());
        assert_eq!(a.as_str(), "John.Doe");
        assert_eq!(b.as_str(), "john.doe");
    }

    #[test]
    fn compatibility_forms_are_normalised() {
        // Fullwidth letters and the "fi" ligature become their plain forms.
        let name = Username::parse("Ｊｏｈｎ").unwrap();
        assert_eq!(name.as_str(), "John");
        assert_eq!(Username::parse("ﬁona").unwrap().as_str(), "fiona");
    }

    #[test]
    fn length_is_counted_in_characters_after_normalisation() {
        assert_eq!(
            Username::parse("ab"),
            Err(UsernameError::TooShort { min: 3, actual: 2 })
        );
        assert!(Username::parse("abc").is_ok());
        assert!(Username::parse(&"é".repeat(64)).is_ok());
        assert_eq!(
            Username::parse(&"a".repeat(65)),
            Err(UsernameError::TooLong {
                max: 64,
                actual: 65
            })
        );
    }

    #[test]
    fn whitespace_control_and_symbols_are_rejected_with_their_position() {
        for (input, character, position) in [
            ("jo hn", ' ', 3),
            ("john\n", '\n', 5),
            ("\u{7}bell", '\u{7}', 1),
            ("john!", '!', 5),
            ("a/b/c", '/', 2),
            ("tab\there", '\t', 4),
            ("zero\u{200b}width", '\u{200b}', 5),
        ] {
            assert_eq!(
                Username::parse(input),
                Err(UsernameError::InvalidCharacter {
                    character,
                    position
                }),
                "{input:?}"
            );
        }
    }

    #[test]
    fn allowed_punctuation_and_unicode_letters_pass() {
        for name in ["a.b_c-d@e+f", "Zoë", "名前です", "user123", "Ωμέγα"] {
            assert!(Username::parse(name).is_ok(), "{name}");
        }
    }

    #[test]
    fn empty_input_is_too_short() {
        assert_eq!(
            Username::parse(""),
            Err(UsernameError::TooShort { min: 3, actual: 0 })
        );
    }

    #[test]
    fn account_keys_of_valid_names_never_look_like_unparsable_ones() {
        let unparsable = AccountKey::of_unparsable("x");
        assert_eq!(Username::parse("invalid:x").ok(), None);
        assert!(unparsable.as_str().starts_with(UNPARSABLE_PREFIX));
        assert_eq!(
            Username::parse("Alice").unwrap().account_key().as_str(),
            "alice"
        );
    }

    fn name(input: &str) -> Username {
        Username::parse(input).unwrap()
    }

    fn skeleton_of(input: &str) -> String {
        Username::parse(input)
            .unwrap()
            .skeleton()
            .as_str()
            .to_owned()
    }

    #[test]
    fn look_alike_letters_of_other_scripts_share_the_latin_skeleton() {
        for (latin, look_alike) in [
            ("admin", "\u{430}dmin"),                             // Cyrillic а
            ("google", "g\u{3bf}\u{3bf}gle"),                     // Greek ο ο
            ("paypal", "\u{440}\u{430}y\u{440}\u{430}\u{4cf}"),   // Cyrillic р а р а ӏ
            ("example", "\u{435}\u{445}\u{430}m\u{440}l\u{435}"), // Cyrillic е х а р е
        ] {
            let (latin, look_alike) = (name(latin), name(look_alike));
            assert_ne!(latin.canonical(), look_alike.canonical(), "two names");
            assert_eq!(latin.skeleton(), look_alike.skeleton(), "{look_alike:?}");
        }
    }

    #[test]
    fn case_and_compatibility_variants_share_one_skeleton() {
        // Taken of the canonical key: the Cyrillic capital А folds to а first.
        for variant in ["Admin", "ADMIN", "ＡＤＭＩＮ", "\u{410}DMIN", "\u{430}dmin"] {
            assert_eq!(skeleton_of(variant), skeleton_of("admin"), "{variant}");
        }
    }

    #[test]
    fn rn_and_m_share_a_skeleton() {
        assert_eq!(skeleton_of("modern"), "rnodern");
        assert_eq!(skeleton_of("rnodern"), "rnodern");
        assert_eq!(skeleton_of("admin"), "adrnin");
    }

    #[test]
    fn the_digit_one_looks_like_l_but_zero_and_capital_i_are_folded_away_first() {
        // UTS #39 maps 1 to l: `admin1` and `adminl` are one skeleton.
        assert_eq!(skeleton_of("admin1"), skeleton_of("adminl"));
        // It maps 0 to a capital O, and the canonical key has no capitals:
        // `b0b` and `bob` stay two names.
        assert_eq!(skeleton_of("b0b"), "bOb");
        assert_eq!(skeleton_of("BOB"), "bob");
        // Capital I (a look-alike of l) is folded to i before the skeleton.
        assert_eq!(skeleton_of("AIice"), "aiice");
        assert_ne!(skeleton_of("AIice"), skeleton_of("alice"));
    }

    #[test]
    fn names_the_table_does_not_map_together_keep_distinct_skeletons() {
        let names = [
            "alice",
            "alice2",
            "bob",
            "Zoë",
            "zoe",
            "名前です",
            "a.b_c-d@e+f",
            "avvw",
            "aww",
            "cldog",
            "ddog",
        ];
        let skeletons: std::collections::HashSet<String> =
            names.iter().map(|n| skeleton_of(n)).collect();
        assert_eq!(skeletons.len(), names.len(), "{skeletons:?}");
    }

    #[test]
    fn error_messages_are_actionable() {
        let message = Username::parse("jo hn").unwrap_err().to_string();
        assert!(message.contains("position 3"), "{message}");
    }

    proptest! {
        #[test]
        fn parse_never_panics(input in any::<String>()) {
            let _ = Username::parse(&input);
        }

        #[test]
        fn canonicalisation_is_idempotent(input in "[\\p{L}\\p{N}._@+-]{3,64}") {
            if let Ok(name) = Username::parse(&input) {
                // Folding can lengthen a name (ß -> ss), so re-parsing may fail
                // on length; when it succeeds the key must not move.
                if let Ok(again) = Username::parse(name.canonical()) {
                    prop_assert_eq!(again.canonical(), name.canonical());
                }
                prop_assert_eq!(canonicalize(name.canonical()), name.canonical());
            }
        }

        #[test]
        fn the_skeleton_depends_on_the_canonical_key_only(input in "[\\p{L}\\p{N}._@+-]{3,64}") {
            if let Ok(name) = Username::parse(&input)
                && let Ok(folded) = Username::parse(name.canonical())
            {
                prop_assert_eq!(folded.skeleton(), name.skeleton());
            }
        }

        #[test]
        fn parsing_the_display_form_gives_the_same_name(input in "\\PC{0,80}") {
            if let Ok(name) = Username::parse(&input) {
                let again = Username::parse(name.as_str()).unwrap();
                prop_assert_eq!(again.as_str(), name.as_str());
            }
        }
    }
}
