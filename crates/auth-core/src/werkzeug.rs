//! Verifying password hashes made by werkzeug (Flask's
//! `generate_password_hash`), so that users imported from the Flask service
//! log in with the password they have; [`crate::PasswordHasher`] then
//! replaces the hash with a scrypt PHC string on that first login
//! ([`crate::PasswordHasher::needs_rehash`] is true for every non-PHC string).
//!
//! Verification needs the feature `werkzeug` (off by default: an embedder
//! with no Flask users needs neither this code nor PBKDF2). Recognising the
//! format ([`is_werkzeug_hash`], [`crate::HashKind::Werkzeug`]) works
//! without it; a werkzeug hash is then [`crate::HashError::UnusableHash`].
//!
//! # Formats (werkzeug 3.1, `werkzeug/security.py`)
//!
//! A stored hash is `method$salt$hex`. The salt is text, used as its UTF-8
//! bytes (werkzeug draws 16 alphanumerics); `hex` is the derived key in
//! lower-case hex; the password is its UTF-8 bytes.
//!
//! | method | derived key |
//! |---|---|
//! | `scrypt:N:r:p` | `hashlib.scrypt(password, salt, n=N, r=r, p=p)`, 64 bytes |
//! | `scrypt` | the same with werkzeug's defaults N = 2^15, r = 8, p = 1 |
//! | `pbkdf2:sha256:iterations`, `pbkdf2:sha512:iterations` | `hashlib.pbkdf2_hmac(name, password, salt, iterations)`, digest size (32 or 64 bytes) |
//! | `pbkdf2:sha256`, `pbkdf2` (sha256), `pbkdf2:sha512` | iterations = 1,000,000 (werkzeug 3.1's default) |
//!
//! werkzeug itself always writes the iteration count; when it is missing,
//! werkzeug's `check_password_hash` assumes its *current* default, so we
//! assume what werkzeug 3.1 does. Other digests (`pbkdf2:sha1`, ...), the
//! pre-2.3 salted digests (`sha1$salt$hex`, `md5$...`) and plain text are
//! not supported: such a hash is [`crate::HashError::UnusableHash`].
//!
//! # Bounds
//!
//! A hash is verified with its own parameters, bounded like PHC strings by
//! [`crate::VerifyLimits`]: scrypt memory 128 · r · N ≤ `max_memory_bytes`,
//! p ≤ `max_p`, total work 128 · r · N · p ≤ `max_work_bytes`, PBKDF2
//! iterations ≤ `max_pbkdf2_iterations`. A malformed or
//! out-of-bounds hash is [`crate::HashError::UnusableHash`] (after the dummy
//! verification, as for PHC strings), never an allocation or a panic.
//!
//! # Passwords that change under NFKC
//!
//! [`Password`](crate::Password) is NFKC-normalised, and werkzeug hashed the
//! raw UTF-8 the user typed. Where the two differ (for example `ﬁ` U+FB01,
//! full-width letters, `½`), the imported hash cannot verify, and that user
//! must have their password reset (`auth-server user set-password`). Nearly
//! every password typed on a keyboard is unchanged by NFKC. `Password` is not
//! weakened to work around this: NFKC is what makes the same visible
//! password typed on two keyboards hash the same.
//!
//! # Timing
//!
//! Verifying a werkzeug hash costs what its own parameters cost, not what
//! the dummy hash of an unknown user costs, so until each imported user has
//! logged in once (and been rehashed), response times can tell an imported
//! account from an unknown name.

#[cfg(feature = "werkzeug")]
use hmac::Hmac;
#[cfg(feature = "werkzeug")]
use sha2::{Sha256, Sha512};
#[cfg(feature = "werkzeug")]
use subtle::ConstantTimeEq as _;

#[cfg(feature = "werkzeug")]
use crate::HashError;
#[cfg(feature = "werkzeug")]
use crate::VerifyLimits;

/// The PBKDF2 iteration count werkzeug 3.1 assumes when a hash omits it
/// (`DEFAULT_PBKDF2_ITERATIONS`; werkzeug 2.3 and 3.0 used 600,000, and
/// wrote it into every hash).
#[cfg(feature = "werkzeug")]
pub(crate) const WERKZEUG_DEFAULT_PBKDF2_ITERATIONS: u32 = 1_000_000;

#[cfg(feature = "werkzeug")]
/// werkzeug's scrypt defaults: N = 2^15, r = 8, p = 1.
const DEFAULT_SCRYPT: (u8, u32, u32) = (15, 8, 1);

#[cfg(feature = "werkzeug")]
/// Length of werkzeug's scrypt key (hashlib's default `dklen`).
const SCRYPT_KEY_BYTES: usize = 64;

/// Whether `stored` is in werkzeug's format (its method is `scrypt` or
/// `pbkdf2`, followed by `:` or `$`): such a string is this module's to
/// verify or refuse, whether or not it is well-formed.
///
/// Public through [`crate::PasswordHash::kind`]:
///
/// ```
/// use auth_core::{HashKind, PasswordHash};
/// let kind = |stored: &str| PasswordHash::from_stored(stored).kind();
/// assert_eq!(kind("scrypt:32768:8:1$salt$00ff"), HashKind::Werkzeug);
/// assert_eq!(kind("pbkdf2:sha256:600000$salt$00ff"), HashKind::Werkzeug);
/// assert_eq!(kind("pbkdf2$salt$00ff"), HashKind::Werkzeug);
/// assert_eq!(kind("$scrypt$ln=17,r=8,p=1$c2FsdA$aGFzaA"), HashKind::Scrypt);
/// assert_eq!(kind("sha1$salt$00ff"), HashKind::Unknown);
/// assert_eq!(kind("plain text"), HashKind::Unknown);
/// ```
pub(crate) fn is_werkzeug_hash(stored: &str) -> bool {
    ["scrypt", "pbkdf2"].iter().any(|method| {
        stored
            .strip_prefix(method)
            .is_some_and(|rest| rest.starts_with(':') || rest.starts_with('$'))
    })
}

#[cfg(feature = "werkzeug")]
/// The PBKDF2 digests werkzeug hashes this module verifies.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Digest {
    Sha256,
    Sha512,
}

#[cfg(feature = "werkzeug")]
impl Digest {
    fn output_bytes(self) -> usize {
        match self {
            Self::Sha256 => 32,
            Self::Sha512 => 64,
        }
    }
}

#[cfg(feature = "werkzeug")]
/// A parsed werkzeug hash, within the verify limits.
#[derive(Clone)]
pub(crate) enum WerkzeugHash {
    Scrypt {
        params: scrypt::Params,
        salt: String,
        expected: Vec<u8>,
    },
    Pbkdf2 {
        digest: Digest,
        iterations: u32,
        salt: String,
        expected: Vec<u8>,
    },
}

#[cfg(feature = "werkzeug")]
impl std::fmt::Debug for WerkzeugHash {
    /// The salt and key stay out of logs, as [`crate::PasswordHash`]'s do.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Scrypt { params, .. } => write!(
                f,
                "WerkzeugHash::Scrypt(ln={},r={},p={})",
                params.log_n(),
                params.r(),
                params.p()
            ),
            Self::Pbkdf2 {
                digest, iterations, ..
            } => write!(f, "WerkzeugHash::Pbkdf2({digest:?}, {iterations})"),
        }
    }
}

#[cfg(feature = "werkzeug")]
fn unusable(reason: impl Into<String>) -> HashError {
    HashError::UnusableHash(reason.into())
}

#[cfg(feature = "werkzeug")]
impl WerkzeugHash {
    /// Parses `stored` and checks its parameters against `limits`, without
    /// computing anything.
    ///
    /// # Errors
    /// [`HashError::UnusableHash`] for a malformed string, an unsupported
    /// digest or parameters beyond `limits`. The reason never contains the
    /// salt or the key.
    pub(crate) fn parse(stored: &str, limits: &VerifyLimits) -> Result<Self, HashError> {
        let mut parts = stored.splitn(3, '$');
        let (Some(method), Some(salt), Some(hex)) = (parts.next(), parts.next(), parts.next())
        else {
            return Err(unusable("werkzeug hash without method$salt$hash"));
        };
        let mut arguments = method.split(':');
        match arguments.next() {
            Some("scrypt") => {
                let arguments: Vec<&str> = arguments.collect();
                let (log_n, r, p) = match arguments.as_slice() {
                    [] => DEFAULT_SCRYPT,
                    [n, r, p] => (log2_of_power_of_two(n)?, decimal(r)?, decimal(p)?),
                    _ => return Err(unusable("werkzeug scrypt takes N:r:p")),
                };
                let params = bounded_scrypt_params(log_n, r, p, limits)?;
                Ok(Self::Scrypt {
                    params,
                    salt: salt.to_owned(),
                    expected: decode_hex(hex, SCRYPT_KEY_BYTES)?,
                })
            }
            Some("pbkdf2") => {
                let arguments: Vec<&str> = arguments.collect();
                let (name, iterations) = match arguments.as_slice() {
                    [] => ("sha256", WERKZEUG_DEFAULT_PBKDF2_ITERATIONS),
                    [name] => (*name, WERKZEUG_DEFAULT_PBKDF2_ITERATIONS),
                    [name, iterations] => (*name, decimal(iterations)?),
                    _ => return Err(unusable("werkzeug pbkdf2 takes digest:iterations")),
                };
                let digest = match name {
                    "sha256" => Digest::Sha256,
                    "sha512" => Digest::Sha512,
                    // The name comes from the row, but it is no secret.
                    other => {
                        return Err(unusable(format!(
                            "unsupported pbkdf2 digest {:?} (sha256 and sha512 are)",
                            truncated(other)
                        )));
                    }
                };
                if iterations == 0 || iterations > limits.max_pbkdf2_iterations {
                    return Err(unusable(format!(
                        "pbkdf2 iterations {iterations} outside 1..={}",
                        limits.max_pbkdf2_iterations
                    )));
                }
                Ok(Self::Pbkdf2 {
                    digest,
                    iterations,
                    salt: salt.to_owned(),
                    expected: decode_hex(hex, digest.output_bytes())?,
                })
            }
            _ => Err(unusable("not a werkzeug scrypt or pbkdf2 hash")),
        }
    }

    /// Derives the key of `password` with this hash's parameters and
    /// compares it with the stored one in constant time.
    ///
    /// # Errors
    /// [`HashError::Failed`] if the key derivation refuses its inputs
    /// (unreachable for parsed hashes).
    pub(crate) fn verify(&self, password: &[u8]) -> Result<bool, HashError> {
        let (computed, expected) = match self {
            Self::Scrypt {
                params,
                salt,
                expected,
            } => {
                let mut key = zeroize::Zeroizing::new(vec![0u8; SCRYPT_KEY_BYTES]);
                scrypt::scrypt(password, salt.as_bytes(), params, &mut key)
                    .map_err(HashError::failed)?;
                (key, expected)
            }
            Self::Pbkdf2 {
                digest,
                iterations,
                salt,
                expected,
            } => {
                let mut key = zeroize::Zeroizing::new(vec![0u8; digest.output_bytes()]);
                derive_pbkdf2(*digest, password, salt.as_bytes(), *iterations, &mut key)?;
                (key, expected)
            }
        };
        Ok(bool::from(computed.as_slice().ct_eq(expected.as_slice())))
    }
}

#[cfg(feature = "werkzeug")]
/// PBKDF2-HMAC into `key`.
///
/// `pbkdf2_hmac_with_params` is not generic, so its HMAC loop is compiled
/// inside the `pbkdf2` crate, which the workspace optimises even in dev
/// builds; the generic `pbkdf2::<Hmac<D>>` would be compiled here, at this
/// crate's opt-level, and takes ~4 s per million iterations unoptimised
/// (tests, `cargo run`). Its `Params` refuse fewer than 1,000 rounds, which
/// the generic function does quickly enough anyway.
fn derive_pbkdf2(
    digest: Digest,
    password: &[u8],
    salt: &[u8],
    iterations: u32,
    key: &mut [u8],
) -> Result<(), HashError> {
    match pbkdf2::Params::new(iterations) {
        Ok(params) => {
            let algorithm = match digest {
                Digest::Sha256 => pbkdf2::Algorithm::Pbkdf2Sha256,
                Digest::Sha512 => pbkdf2::Algorithm::Pbkdf2Sha512,
            };
            pbkdf2::pbkdf2_hmac_with_params(password, salt, algorithm, params, key);
            Ok(())
        }
        Err(_) => match digest {
            Digest::Sha256 => pbkdf2::pbkdf2::<Hmac<Sha256>>(password, salt, iterations, key),
            Digest::Sha512 => pbkdf2::pbkdf2::<Hmac<Sha512>>(password, salt, iterations, key),
        }
        .map_err(HashError::failed),
    }
}

#[cfg(feature = "werkzeug")]
/// scrypt parameters within `limits`. r · p is checked before scrypt's own
/// constructor sees it: that multiplies in `u32` unchecked, which panics
/// with overflow checks on.
fn bounded_scrypt_params(
    log_n: u8,
    r: u32,
    p: u32,
    limits: &VerifyLimits,
) -> Result<scrypt::Params, HashError> {
    if r == 0 || p == 0 || r.checked_mul(p).is_none() {
        return Err(unusable("invalid werkzeug scrypt parameters"));
    }
    if !limits.admits_scrypt(log_n, r, p) {
        return Err(unusable(format!(
            "werkzeug scrypt parameters N=2^{log_n},r={r},p={p} exceed the verify limits"
        )));
    }
    scrypt::Params::new(log_n, r, p).map_err(|_| unusable("invalid werkzeug scrypt parameters"))
}

#[cfg(feature = "werkzeug")]
/// A positive decimal of ASCII digits (werkzeug writes nothing else).
fn decimal(text: &str) -> Result<u32, HashError> {
    if text.is_empty() || text.len() > 10 || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(unusable("werkzeug hash parameter is not a number"));
    }
    text.parse()
        .map_err(|_| unusable("werkzeug hash parameter is too large"))
}

#[cfg(feature = "werkzeug")]
/// log2 of N; scrypt (and hashlib) need N to be a power of two above 1.
fn log2_of_power_of_two(text: &str) -> Result<u8, HashError> {
    let n = decimal(text)?;
    if n < 2 || !n.is_power_of_two() {
        return Err(unusable(format!(
            "werkzeug scrypt N={n} is not a power of two above 1"
        )));
    }
    // n ≤ u32::MAX, so the exponent is at most 31.
    u8::try_from(n.trailing_zeros()).map_err(|_| unusable("werkzeug scrypt N is too large"))
}

#[cfg(feature = "werkzeug")]
/// Lower-case hex of exactly `bytes` bytes, as hashlib's `.hex()` writes it.
/// (werkzeug compares the hex text, so upper case would never match there.)
fn decode_hex(hex: &str, bytes: usize) -> Result<Vec<u8>, HashError> {
    if hex.len() != bytes * 2 {
        return Err(unusable(format!(
            "werkzeug hash is {} hex digits long, expected {}",
            hex.len(),
            bytes * 2
        )));
    }
    let nibble = |digit: u8| match digit {
        b'0'..=b'9' => Ok(digit - b'0'),
        b'a'..=b'f' => Ok(digit - b'a' + 10),
        _ => Err(unusable("werkzeug hash is not lower-case hex")),
    };
    hex.as_bytes()
        .chunks_exact(2)
        .map(|pair| Ok((nibble(pair[0])? << 4) | nibble(pair[1])?))
        .collect()
}

#[cfg(feature = "werkzeug")]
/// At most 16 characters of a stored value, for error messages.
fn truncated(text: &str) -> String {
    text.chars().take(16).collect()
}

#[cfg(feature = "werkzeug")]
#[cfg(test)]
mod tests {
    use super::*;
    use crate::{HashConfig, Password, PasswordHash, PasswordHasher, ScryptParams, Verification};

    // Made by werkzeug 3.1.8 (tests/fixtures/make_flask_db.py; the same rows
    // are in tests/fixtures/flask_auth.db).
    const ALICE_SCRYPT: &str = "scrypt:32768:8:1$pNiERhSKEe3aTnDC$bd35ce9bbceacafd1159354d4b35273fedbb026dbd42bfeff06e6baa9f5b96de613a95dcbff2301934a8b0837d22fa5c5b69747187cc47ec29b6ab6960fe99dc";
    const ZOE_SCRYPT_16384: &str = "scrypt:16384:8:1$CdLjDocTA8qI1VJF$af4ca5b4c6b1f5c3dd5453cee2eb28ac5bcf832e70827dda676b29298c21ade25adb3394a286d328705c1d42a46f982381099d7e6e89a193f93ff01c85013d93";
    const BOB_PBKDF2_SHA256: &str = "pbkdf2:sha256:1000000$EjeTCBtbYBvTzmnR$faf0695c6c94a0855ae4e3abd5d5abe9d9082be2bdcddcece4d25f2358956d82";
    const CAROL_PBKDF2_SHA512: &str = "pbkdf2:sha512:1000000$a4PZfpecn2nzfAIn$78bcfc1d4732ab1cfc85c7d72f40e5ec73937e2770a678a186e633e53eb212078ea486d040c675307107b8608068df918e1a8c0d87fac97320c683fbe3e41503";
    const ERIN_PBKDF2_600000: &str = "pbkdf2:sha256:600000$bdd5ubwS0klUps5K$4e9e425f1c2fc731740590800341e0ef6d2a5cd5d137ea715ee967fca6c3df6e";
    const FRANK_NO_ITERATIONS: &str = "pbkdf2:sha256$joodv7ZS301ZRH9O$9236c0c0c4f6c263ac79bca99fe754bcf6df846c9c54dab36bf582d66811771c";
    const JUDY_LIGATURES: &str = "scrypt:32768:8:1$QnFAv8h4pooKhO7b$132f2c56501193a71c529a1ea38bf2486443bc07b9ae070337c252c0883d79bf70733d03d12c4a01eaf3965ee9ee11b7be77e3430965028d7274656a65819619";

    fn hasher() -> PasswordHasher {
        PasswordHasher::new(HashConfig::insecure_fast_for_tests()).unwrap()
    }

    fn verify(stored: &str, password: &str) -> Result<Verification, HashError> {
        hasher().verify_blocking(
            &Password::new(password),
            Some(&PasswordHash::from_stored(stored)),
        )
    }

    #[track_caller]
    fn assert_matches_and_is_rehashed(stored: &str, password: &str) {
        let Ok(Verification::Match {
            rehashed: Some(new_hash),
        }) = verify(stored, password)
        else {
            panic!("{password:?} must match {stored:.20}… and be rehashed");
        };
        assert!(
            new_hash.as_str().starts_with("$scrypt$ln=4,r=8,p=1$"),
            "{new_hash:?}"
        );
        assert!(matches!(
            verify(stored, "a wrong password"),
            Ok(Verification::Mismatch)
        ));
    }

    #[test]
    fn werkzeug_default_scrypt_verifies_and_is_rehashed_to_phc() {
        assert_matches_and_is_rehashed(ALICE_SCRYPT, "correct horse battery staple");
        assert_matches_and_is_rehashed(ZOE_SCRYPT_16384, "glacier pepper violin 58");
    }

    #[test]
    fn werkzeug_pbkdf2_sha256_and_sha512_verify() {
        assert_matches_and_is_rehashed(BOB_PBKDF2_SHA256, "tangerine maple orbit 42");
        assert_matches_and_is_rehashed(CAROL_PBKDF2_SHA512, "violet anchor drizzle 77");
        assert_matches_and_is_rehashed(ERIN_PBKDF2_600000, "quiet lantern harbor 19");
    }

    #[test]
    fn pbkdf2_below_a_thousand_iterations_verifies_too() {
        // Made by werkzeug 3.1.8 with methods pbkdf2:sha256:1 and pbkdf2:sha512:999.
        assert_matches_and_is_rehashed(
            "pbkdf2:sha256:1$PKY4pKUnrGmecRgm$4325146a97537f5e8e0ae73e35806ac48701651252cb5c03e1a2860d4bf6d118",
            "few rounds here",
        );
        assert_matches_and_is_rehashed(
            "pbkdf2:sha512:999$i8EcnecBEdA9Fgc4$4e0f7d6b4623b8c40dc6b86cc6f3c253d4b4d3ab2cda8ec94994a0f948b34b6f76e062e2e4872b1ea01d617d3d1e8710abd2a54466b2e3acb26c1801e2489161",
            "few rounds here",
        );
    }

    #[test]
    fn pbkdf2_without_iterations_uses_werkzeugs_default() {
        assert_matches_and_is_rehashed(FRANK_NO_ITERATIONS, "marble falcon tundra 63");
        let parsed = WerkzeugHash::parse(FRANK_NO_ITERATIONS, &VerifyLimits::default()).unwrap();
        assert!(matches!(
            parsed,
            WerkzeugHash::Pbkdf2 {
                digest: Digest::Sha256,
                iterations: WERKZEUG_DEFAULT_PBKDF2_ITERATIONS,
                ..
            }
        ));
        let bare = WerkzeugHash::parse("pbkdf2$s$", &VerifyLimits::default());
        assert!(bare.is_err(), "empty hex is malformed");
        let scrypt_defaults = WerkzeugHash::parse(
            &format!("scrypt$s${}", "0".repeat(128)),
            &VerifyLimits::default(),
        )
        .unwrap();
        assert_eq!(
            format!("{scrypt_defaults:?}"),
            "WerkzeugHash::Scrypt(ln=15,r=8,p=1)"
        );
    }

    #[test]
    fn a_password_that_nfkc_changes_cannot_verify_against_its_werkzeug_hash() {
        // werkzeug hashed the ligatures; Password holds "finch flute harbor 88".
        assert!(matches!(
            verify(JUDY_LIGATURES, "ﬁnch ﬂute harbor 88"),
            Ok(Verification::Mismatch)
        ));
    }

    #[test]
    fn absurd_parameters_are_refused_without_computing() {
        let key64 = "0".repeat(128);
        let key32 = "0".repeat(64);
        for stored in [
            // 128 · 8 · 2^22 = 4 GiB > 1 GiB
            format!("scrypt:4194304:8:1$salt${key64}"),
            // r so large that 128 · r · N overflows
            format!("scrypt:2147483648:4294967295:1$salt${key64}"),
            format!("scrypt:16:8:17$salt${key64}"),
            format!("scrypt:16:4294967295:4294967295$salt${key64}"),
            format!("pbkdf2:sha256:5000001$salt${key32}"),
            format!("pbkdf2:sha256:4294967295$salt${key32}"),
            format!("pbkdf2:sha256:99999999999$salt${key32}"),
        ] {
            let started = std::time::Instant::now();
            let outcome = verify(&stored, "pw");
            assert!(
                matches!(outcome, Err(HashError::UnusableHash(ref reason)) if !reason.contains("salt")),
                "{stored}: {outcome:?}"
            );
            // Only the dummy verification (ln=4) ran: well under a second even unoptimised.
            assert!(started.elapsed() < std::time::Duration::from_secs(2));
        }
    }

    #[test]
    fn a_scrypt_hash_within_each_bound_but_over_the_total_work_is_refused() {
        // N=2^20, r=8 is the 1 GiB memory bound, p=2 is below max_p; the
        // work (2 GiB) is over the bound. Refused before computing anything.
        let key = "00".repeat(SCRYPT_KEY_BYTES);
        let stored = PasswordHash::from_stored(format!("scrypt:1048576:8:2$salt${key}"));
        let outcome = hasher().check_usable(&stored);
        assert!(
            matches!(outcome, Err(HashError::UnusableHash(ref reason)) if reason.contains("exceed")),
            "{outcome:?}"
        );
        let within = PasswordHash::from_stored(format!("scrypt:1048576:8:1$salt${key}"));
        assert!(hasher().check_usable(&within).is_ok());
    }

    #[test]
    fn a_weaker_werkzeug_scrypt_hash_is_padded_to_the_configured_work() {
        // Arrange: a werkzeug scrypt hash at N=16 (16 KiB of work), made the
        // way werkzeug does; the hasher is configured at ln=6 (64 KiB).
        let params = scrypt::Params::new(4, 8, 1).unwrap();
        let mut key = [0u8; SCRYPT_KEY_BYTES];
        scrypt::scrypt(b"imported phrase", b"pNiERhSKEe3aTnDC", &params, &mut key).unwrap();
        let hex: String = key.iter().map(|byte| format!("{byte:02x}")).collect();
        let stored = PasswordHash::from_stored(format!("scrypt:16:8:1$pNiERhSKEe3aTnDC${hex}"));
        let configured = ScryptParams::new(6, 8, 1).unwrap();
        let hasher = PasswordHasher::new(HashConfig {
            params: configured,
            ..HashConfig::insecure_fast_for_tests()
        })
        .unwrap();
        // Act
        let outcome = hasher.verify_blocking(&Password::new("a guess"), Some(&stored));
        // Assert
        assert!(matches!(outcome, Ok(Verification::Mismatch)), "{outcome:?}");
        assert_eq!(hasher.padding_work(), configured.work_bytes() - 16 * 1024);
        assert!(matches!(
            hasher.verify_blocking(&Password::new("imported phrase"), Some(&stored)),
            Ok(Verification::Match { rehashed: Some(_) })
        ));
    }

    #[test]
    fn a_pbkdf2_hash_is_padded_by_a_whole_configured_verification() {
        let hasher = hasher();
        let stored = PasswordHash::from_stored(
            "pbkdf2:sha256:1$PKY4pKUnrGmecRgm$4325146a97537f5e8e0ae73e35806ac48701651252cb5c03e1a2860d4bf6d118",
        );
        let outcome = hasher.verify_blocking(&Password::new("a guess"), Some(&stored));
        assert!(matches!(outcome, Ok(Verification::Mismatch)), "{outcome:?}");
        assert_eq!(
            hasher.padding_work(),
            HashConfig::insecure_fast_for_tests().params.work_bytes()
        );
    }

    #[test]
    fn the_pbkdf2_bound_is_configurable() {
        let limits = VerifyLimits {
            max_pbkdf2_iterations: 600_000,
            ..VerifyLimits::default()
        };
        assert!(WerkzeugHash::parse(ERIN_PBKDF2_600000, &limits).is_ok());
        assert!(matches!(
            WerkzeugHash::parse(BOB_PBKDF2_SHA256, &limits),
            Err(HashError::UnusableHash(reason)) if reason.contains("iterations")
        ));
    }

    #[test]
    fn malformed_and_unsupported_werkzeug_strings_are_unusable_not_a_panic() {
        let key64 = "0".repeat(128);
        for stored in [
            "scrypt".to_owned(),
            "scrypt:".to_owned(),
            "scrypt$salt".to_owned(),
            format!("scrypt:32768:8$salt${key64}"),
            format!("scrypt:32768:8:1:1$salt${key64}"),
            format!("scrypt:30000:8:1$salt${key64}"),
            format!("scrypt:1:8:1$salt${key64}"),
            format!("scrypt:0:8:1$salt${key64}"),
            format!("scrypt:32768:0:1$salt${key64}"),
            format!("scrypt:32768:8:0$salt${key64}"),
            format!("scrypt:-32768:8:1$salt${key64}"),
            format!("scrypt: 32768:8:1$salt${key64}"),
            format!("scrypt:32768:8:1$salt${}", "0".repeat(127)),
            format!("scrypt:32768:8:1$salt${}", "A".repeat(128)),
            format!("scrypt:32768:8:1$salt${}", "é".repeat(64)),
            format!("pbkdf2:sha1:1000$salt${}", "0".repeat(40)),
            format!("pbkdf2:md5$salt${}", "0".repeat(32)),
            format!("pbkdf2:sha256:0$salt${}", "0".repeat(64)),
            format!("pbkdf2:sha256:1000:1$salt${}", "0".repeat(64)),
            format!("pbkdf2:sha512:1000$salt${}", "0".repeat(64)),
        ] {
            assert!(
                matches!(verify(&stored, "pw"), Err(HashError::UnusableHash(_))),
                "{stored}"
            );
        }
    }

    #[test]
    fn foreign_formats_are_not_werkzeugs_and_stay_unusable() {
        for stored in [
            "sha1$Xq3vLm9Z$64db7b9b67e5c50039c4846beef58e8e9a96c543",
            "hunter2hunter2",
            "argon2:x$y$z",
        ] {
            assert!(!is_werkzeug_hash(stored));
            assert!(matches!(
                verify(stored, "pw"),
                Err(HashError::UnusableHash(_))
            ));
        }
    }

    #[test]
    fn errors_and_debug_never_contain_the_salt_or_key() {
        let stored = format!("scrypt:4194304:8:1$SECRETSALT${}", "ab".repeat(64));
        let error = verify(&stored, "pw").unwrap_err().to_string();
        assert!(
            !error.contains("SECRETSALT") && !error.contains("abab"),
            "{error}"
        );
        let parsed = WerkzeugHash::parse(ALICE_SCRYPT, &VerifyLimits::default()).unwrap();
        let debug = format!("{parsed:?}");
        assert!(
            !debug.contains("pNiERh") && !debug.contains("bd35ce"),
            "{debug}"
        );
    }
}
