//! [`PasswordHasher`]: scrypt PHC hashes made and verified on the bounded
//! [`Pool`], rehash decisions, verifying unknown users against the dummy
//! hash and padding weaker stored hashes (the work itself is in `parity`),
//! and reading stored PHC strings without trusting them.

use std::fmt;
use std::num::NonZeroUsize;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use password_hash::phc::PasswordHash as PhcHash;
use password_hash::{PasswordHasher as _, PasswordVerifier as _};
use scrypt::{Params, Scrypt};

use super::parity::{Padding, dummy_hash, work_of};
use super::pool::Pool;
use super::slot::{HashPurpose, HashSlot};
use super::{
    HashConfig, HashConfigError, HashError, HashKind, PasswordHash, TimingsSnapshot, Verification,
};
use crate::Password;

/// Hashes and verifies passwords on a bounded pool. Cheap to clone (shared state).
///
/// ```
/// use auth_core::{HashConfig, Password, PasswordHasher, ScryptParams, Verification};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), auth_core::HashError> {
/// let hasher = PasswordHasher::new(HashConfig {
///     params: ScryptParams::insecure_fast_for_tests(),
///     ..HashConfig::default()
/// })?;
/// let hash = hasher.hash(Password::new("a long secret phrase")).await?;
/// assert!(hash.as_str().starts_with("$scrypt$ln=4,r=8,p=1$"));
/// let outcome = hasher.verify(Password::new("a long secret phrase"), Some(&hash)).await?;
/// assert_eq!(outcome, Verification::Match { rehashed: None });
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct PasswordHasher {
    inner: Arc<Inner>,
}

struct Inner {
    config: HashConfig,
    scrypt: Scrypt,
    /// A hash of nothing with the current parameters: unknown users are
    /// verified against it so they cost exactly what a wrong password costs.
    dummy: String,
    /// `max_concurrent` threads: scrypt at ln=17 takes 128 MiB, so this caps
    /// memory at threads × 128 MiB.
    pool: Pool,
    /// Work (128 · r · N · p bytes) spent padding weaker stored hashes up to
    /// the configured cost: the tests' evidence that it ran.
    padding_work: AtomicU64,
}

impl fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("config", &self.inner.config)
            .field("in_flight", &self.in_flight())
            .finish_non_exhaustive()
    }
}

impl PasswordHasher {
    /// Builds a hasher and starts its threads (named `scrypt-0`, `scrypt-1`, ...).
    ///
    /// # Errors
    /// [`HashError::InvalidParams`] for bad parameters or a zero-sized pool;
    /// [`HashError::Failed`] if the OS has no randomness for the dummy hash
    /// or refuses a thread.
    pub fn new(config: HashConfig) -> Result<Self, HashError> {
        // The fields are public, so a config may not have come from `HashConfig::new`.
        let threads =
            NonZeroUsize::new(config.max_concurrent).ok_or(HashConfigError::ZeroConcurrency)?;
        let params = config.params.to_scrypt()?;
        let dummy = dummy_hash(params)?;
        let pool = Pool::start(
            "scrypt",
            threads,
            config.max_queued,
            config.thread_nice,
            config.queue_timeout,
        )?;
        Ok(Self {
            inner: Arc::new(Inner {
                scrypt: Scrypt::new_with_params(params),
                dummy,
                pool,
                config,
                padding_work: AtomicU64::new(0),
            }),
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &HashConfig {
        &self.inner.config
    }

    /// Requests holding or waiting for a hashing slot.
    pub fn in_flight(&self) -> usize {
        self.inner.pool.in_flight()
    }

    /// Requests waiting for a hashing slot (the queue depth).
    pub fn queued(&self) -> usize {
        self.inner.pool.queued()
    }

    /// Hashing jobs (hashes and verifications) run to completion on the pool so far.
    pub fn jobs_completed(&self) -> u64 {
        self.inner.pool.completed()
    }

    /// Whether a new job would be refused right now (every thread busy and
    /// the queue full). A hint for monitoring; to act on it, use
    /// [`PasswordHasher::reserve`], which decides and takes the place at once.
    pub fn is_saturated(&self) -> bool {
        self.inner.pool.is_saturated()
    }

    /// Takes a place among the `max_concurrent + max_queued` admitted jobs
    /// now, before the caller's other work, or refuses at once. `purpose`
    /// decides which places are open ([`HashPurpose`]): a
    /// [`HashPurpose::SetPassword`] job may hold all but one per thread (at
    /// least one) and starts only when no login waits, so registrations
    /// and password changes never crowd out logins.
    ///
    /// A login reserves before it reads the database: under a flood, only
    /// the requests that will actually be hashed do database work and hold
    /// memory, and every other one is refused in microseconds. A check
    /// followed by a later admission would let every request in the gap
    /// through. The place is released when the [`HashSlot`] is used and its
    /// job ends, or when it is dropped unused.
    ///
    /// # Errors
    /// [`HashError::Overloaded`] when every place open to `purpose` is
    /// taken (counted in [`PasswordHasher::rejected`]).
    ///
    /// # Examples
    /// ```
    /// # use auth_core::{HashConfig, HashError, HashPurpose, Password, PasswordHasher, ScryptParams};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), HashError> {
    /// let hasher = PasswordHasher::new(HashConfig {
    ///     params: ScryptParams::insecure_fast_for_tests(),
    ///     max_concurrent: 1,
    ///     max_queued: 0,
    ///     ..HashConfig::default()
    /// })?;
    /// let slot = hasher.reserve(HashPurpose::Login)?;
    /// assert!(matches!(hasher.reserve(HashPurpose::Login), Err(HashError::Overloaded)));
    /// let hash = slot.hash(Password::new("a long secret phrase")).await?;
    /// assert!(hasher.reserve(HashPurpose::Login).is_ok(), "the place is free again");
    /// # let _ = hash; Ok(()) }
    /// ```
    pub fn reserve(&self, purpose: HashPurpose) -> Result<HashSlot, HashError> {
        Ok(HashSlot::new(
            self.clone(),
            self.inner.pool.reserve(purpose.class())?,
        ))
    }

    /// How many places (running or waiting) jobs of `purpose` may hold at
    /// once: all `max_concurrent + max_queued` for logins, all but one per
    /// thread (at least one) for setting passwords.
    ///
    /// ```
    /// use auth_core::{HashConfig, HashPurpose, PasswordHasher, ScryptParams};
    ///
    /// let hasher = PasswordHasher::new(HashConfig {
    ///     params: ScryptParams::insecure_fast_for_tests(),
    ///     max_concurrent: 2,
    ///     max_queued: 8,
    ///     ..HashConfig::default()
    /// })?;
    /// assert_eq!(hasher.places(HashPurpose::Login), 10);
    /// assert_eq!(hasher.places(HashPurpose::SetPassword), 8);
    /// # Ok::<(), auth_core::HashError>(())
    /// ```
    pub fn places(&self, purpose: HashPurpose) -> usize {
        self.inner.pool.places(purpose.class())
    }

    /// Reservations refused with [`HashError::Overloaded`] so far (full
    /// pool or full share; the queue timeout counts in
    /// [`PasswordHasher::timed_out`]).
    pub fn rejected(&self) -> u64 {
        self.inner.pool.rejected()
    }

    /// Jobs answered [`HashError::Overloaded`] unrun so far because they
    /// waited longer than [`HashConfig::queue_timeout`] for a thread.
    pub fn timed_out(&self) -> u64 {
        self.inner.pool.timed_out()
    }

    /// Durations of the hashing jobs so far, as a histogram.
    pub fn timings(&self) -> TimingsSnapshot {
        self.inner.pool.timings()
    }

    /// Hashes a new password on the bounded pool: a
    /// [`HashPurpose::SetPassword`] job ([`PasswordHasher::reserve`] then
    /// [`HashSlot::hash`]).
    ///
    /// # Errors
    /// [`HashError::Overloaded`] when the queue is full; [`HashError::Failed`] otherwise.
    pub async fn hash(&self, password: Password) -> Result<PasswordHash, HashError> {
        self.reserve(HashPurpose::SetPassword)?.hash(password).await
    }

    /// Verifies `password` against `stored`, or against the dummy hash when
    /// there is no user (`None`), so both cases do the same work: a
    /// [`HashPurpose::Login`] job ([`PasswordHasher::reserve`] then
    /// [`HashSlot::verify`]).
    ///
    /// # Errors
    /// [`HashError::Overloaded`] when the queue is full; otherwise as
    /// [`HashSlot::verify`].
    pub async fn verify(
        &self,
        password: Password,
        stored: Option<&PasswordHash>,
    ) -> Result<Verification, HashError> {
        self.reserve(HashPurpose::Login)?
            .verify(password, stored)
            .await
    }

    /// [`PasswordHasher::hash`] on the calling thread, without the queue.
    ///
    /// # Errors
    /// [`HashError::Failed`] if scrypt or the OS random source fails.
    pub fn hash_blocking(&self, password: &Password) -> Result<PasswordHash, HashError> {
        let hash = self
            .inner
            .scrypt
            .hash_password(password.expose().as_bytes())
            .map_err(HashError::failed)?;
        Ok(PasswordHash(hash.to_string()))
    }

    /// [`PasswordHasher::verify`] on the calling thread, without the queue.
    ///
    /// # Errors
    /// As [`PasswordHasher::verify`], less `Overloaded`.
    pub fn verify_blocking(
        &self,
        password: &Password,
        stored: Option<&PasswordHash>,
    ) -> Result<Verification, HashError> {
        let Some(stored) = stored else {
            self.verify_dummy(password);
            return Ok(Verification::Mismatch);
        };
        if stored.kind() == HashKind::Werkzeug {
            return self.verify_werkzeug(password, stored);
        }
        let (parsed, params) = match self.parse_usable(stored.as_str()) {
            Ok(parsed) => parsed,
            Err(error) => {
                self.verify_dummy(password);
                return Err(error);
            }
        };
        let outcome = self
            .inner
            .scrypt
            .verify_password(password.expose().as_bytes(), &parsed);
        self.pad(password, work_of(&params));
        match outcome {
            Ok(()) => self.matched(password, stored),
            Err(password_hash::Error::PasswordInvalid) => Ok(Verification::Mismatch),
            Err(error) => Err(HashError::UnusableHash(error.to_string())),
        }
    }

    /// A match: with a replacement hash if `stored` is outdated.
    fn matched(
        &self,
        password: &Password,
        stored: &PasswordHash,
    ) -> Result<Verification, HashError> {
        let rehashed = if self.needs_rehash(stored) {
            Some(self.hash_blocking(password)?)
        } else {
            None
        };
        Ok(Verification::Match { rehashed })
    }

    /// A werkzeug hash: verified with its own (bounded) parameters, and
    /// always replaced on a match (it is not a PHC string).
    #[cfg(feature = "werkzeug")]
    fn verify_werkzeug(
        &self,
        password: &Password,
        stored: &PasswordHash,
    ) -> Result<Verification, HashError> {
        let parsed = match self.parse_werkzeug(stored) {
            Ok(parsed) => parsed,
            Err(error) => {
                self.verify_dummy(password);
                return Err(error);
            }
        };
        let matches = parsed.verify(password.expose().as_bytes());
        // PBKDF2 work has no scrypt equivalent: it is padded by a whole
        // configured verification, so it never answers faster than an
        // unknown user (it may answer slower, until its first login replaces it).
        let done = match &parsed {
            crate::werkzeug::WerkzeugHash::Scrypt { params, .. } => work_of(params),
            crate::werkzeug::WerkzeugHash::Pbkdf2 { .. } => 0,
        };
        self.pad(password, done);
        if !matches? {
            return Ok(Verification::Mismatch);
        }
        self.matched(password, stored)
    }

    /// Without the feature, a werkzeug hash is as unusable as any foreign
    /// one, and costs the same dummy verification.
    #[cfg(not(feature = "werkzeug"))]
    fn verify_werkzeug(
        &self,
        password: &Password,
        stored: &PasswordHash,
    ) -> Result<Verification, HashError> {
        self.verify_dummy(password);
        self.parse_werkzeug(stored).map(|never| match never {})
    }

    #[cfg(feature = "werkzeug")]
    fn parse_werkzeug(
        &self,
        stored: &PasswordHash,
    ) -> Result<crate::werkzeug::WerkzeugHash, HashError> {
        crate::werkzeug::WerkzeugHash::parse(stored.as_str(), &self.inner.config.limits)
    }

    #[cfg(not(feature = "werkzeug"))]
    fn parse_werkzeug(
        &self,
        _stored: &PasswordHash,
    ) -> Result<std::convert::Infallible, HashError> {
        Err(HashError::UnusableHash(
            "werkzeug hashes are not verified in this build (auth-core feature `werkzeug`)".into(),
        ))
    }

    /// Checks, without hashing anything, that `stored` could be verified:
    /// a scrypt PHC string or a supported werkzeug hash (feature
    /// `werkzeug`), within the verify limits. For importers, which must not
    /// take in hashes that can never log in.
    ///
    /// # Errors
    /// [`HashError::UnusableHash`] with the reason (never the hash).
    ///
    /// ```
    /// use auth_core::{HashConfig, PasswordHash, PasswordHasher, ScryptParams};
    ///
    /// let hasher = PasswordHasher::new(HashConfig {
    ///     params: ScryptParams::insecure_fast_for_tests(),
    ///     ..HashConfig::default()
    /// })?;
    /// let ours = hasher.hash_blocking(&auth_core::Password::new("a long secret phrase"))?;
    /// assert!(hasher.check_usable(&ours).is_ok());
    /// assert!(hasher.check_usable(&PasswordHash::from_stored("hunter2")).is_err());
    /// # Ok::<(), auth_core::HashError>(())
    /// ```
    pub fn check_usable(&self, stored: &PasswordHash) -> Result<(), HashError> {
        if stored.kind() == HashKind::Werkzeug {
            self.parse_werkzeug(stored).map(drop)
        } else {
            self.parse_usable(stored.as_str()).map(drop)
        }
    }

    /// Whether `stored` uses another algorithm, is unreadable, or has weaker
    /// parameters (lower N, r or p) than configured.
    ///
    /// ```
    /// use auth_core::{HashConfig, PasswordHash, PasswordHasher, ScryptParams};
    ///
    /// let hasher = PasswordHasher::new(HashConfig {
    ///     params: ScryptParams::new(5, 8, 1)?,
    ///     ..HashConfig::default()
    /// })?;
    /// let weaker = PasswordHash::from_stored("$scrypt$ln=4,r=8,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNoaGFzaGhhc2g");
    /// assert!(hasher.needs_rehash(&weaker));
    /// assert!(hasher.needs_rehash(&PasswordHash::from_stored("pbkdf2:sha256:600000$salt$abcd")));
    /// # Ok::<(), auth_core::HashError>(())
    /// ```
    pub fn needs_rehash(&self, stored: &PasswordHash) -> bool {
        let Ok(parsed) = PhcHash::new(stored.as_str()) else {
            return true;
        };
        if parsed.algorithm.as_str() != "scrypt" {
            return true;
        }
        let Ok(params) = read_params(&parsed) else {
            return true;
        };
        let want = self.inner.config.params;
        // Compared field by field: Params == Params is never true between
        // parsed and constructed values (their output length field differs).
        params.log_n() < want.log_n() || params.r() < want.r() || params.p() < want.p()
    }

    /// `stored` parsed, with its scrypt parameters, if it is within the limits.
    fn parse_usable(&self, stored: &str) -> Result<(PhcHash, Params), HashError> {
        let parsed =
            PhcHash::new(stored).map_err(|_| HashError::UnusableHash("not a PHC string".into()))?;
        if parsed.algorithm.as_str() != "scrypt" {
            return Err(HashError::UnusableHash(format!(
                "unsupported algorithm {:?}",
                parsed.algorithm.as_str()
            )));
        }
        let params = read_params(&parsed)?;
        let limits = self.inner.config.limits;
        if !limits.admits_scrypt(params.log_n(), params.r(), params.p()) {
            return Err(HashError::UnusableHash(format!(
                "parameters ln={},r={},p={} exceed the verify limits",
                params.log_n(),
                params.r(),
                params.p()
            )));
        }
        Ok((parsed, params))
    }

    /// After verifying a stored hash that took `done` bytes of work
    /// (128 · r · N · p), runs what is missing to one verification at the
    /// configured parameters, on this (worker) thread. Otherwise a user
    /// with an old, cheaper hash answers faster than an unknown user, whose
    /// dummy verification costs the configured work: timing would tell
    /// them apart.
    fn pad(&self, password: &Password, done: u128) {
        let padding = Padding::between(self.inner.config.params, done);
        let work = padding.run(password.expose().as_bytes());
        if work > 0 {
            self.inner.padding_work.fetch_add(work, Ordering::Relaxed);
        }
    }

    /// Work spent on padding so far ([`PasswordHasher::pad`]).
    #[cfg(test)]
    pub(crate) fn padding_work(&self) -> u64 {
        self.inner.padding_work.load(Ordering::Relaxed)
    }

    fn verify_dummy(&self, password: &Password) {
        if let Ok(parsed) = PhcHash::new(&self.inner.dummy) {
            // The result is meaningless; only the work matters.
            let _ = self
                .inner
                .scrypt
                .verify_password(password.expose().as_bytes(), &parsed);
        }
    }
}

/// Whether `stored` is a PHC string of scrypt (`$scrypt$...`), the format
/// this module writes; whether it is well-formed is for verifying to find out.
pub(super) fn is_scrypt_phc(stored: &str) -> bool {
    stored
        .strip_prefix('$')
        .and_then(|rest| rest.strip_prefix(scrypt::phc::ALG_ID.as_str()))
        .is_some_and(|rest| rest.starts_with('$'))
}

/// The scrypt parameters of a parsed PHC string. scrypt's own parser
/// multiplies r · p in `u32` unchecked, which panics with overflow checks on,
/// so r and p are range-checked first: a stored row must never cause a panic.
fn read_params(parsed: &PhcHash) -> Result<Params, HashError> {
    let decimal = |name: &str| {
        parsed
            .params
            .get(name)
            .and_then(|value| value.decimal().ok())
    };
    let (r, p) = (decimal("r").unwrap_or(8), decimal("p").unwrap_or(1));
    if r.checked_mul(p).is_none() {
        return Err(HashError::UnusableHash("invalid scrypt parameters".into()));
    }
    Params::try_from(parsed)
        .map_err(|_| HashError::UnusableHash("invalid scrypt parameters".into()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ScryptParams;

    /// The test configuration with other scrypt parameters.
    fn hasher(params: ScryptParams) -> PasswordHasher {
        PasswordHasher::new(HashConfig {
            params,
            ..HashConfig::insecure_fast_for_tests()
        })
        .unwrap()
    }

    fn fast() -> PasswordHasher {
        PasswordHasher::new(HashConfig::insecure_fast_for_tests()).unwrap()
    }

    /// Fast hashes on a pool of `max_concurrent` threads and `max_queued` places.
    fn fast_pool(max_concurrent: usize, max_queued: usize) -> PasswordHasher {
        PasswordHasher::new(HashConfig {
            max_concurrent,
            max_queued,
            ..HashConfig::insecure_fast_for_tests()
        })
        .unwrap()
    }

    #[test]
    fn hashes_are_phc_strings_with_the_configured_parameters_and_fresh_salts() {
        let hasher = fast();
        let a = hasher
            .hash_blocking(&Password::new("same password"))
            .unwrap();
        let b = hasher
            .hash_blocking(&Password::new("same password"))
            .unwrap();
        assert!(a.as_str().starts_with("$scrypt$ln=4,r=8,p=1$"), "{a:?}");
        assert_ne!(a, b, "salts must differ");
    }

    #[test]
    fn verify_matches_only_the_right_password() {
        let hasher = fast();
        let hash = hasher.hash_blocking(&Password::new("right one")).unwrap();
        assert!(matches!(
            hasher.verify_blocking(&Password::new("right one"), Some(&hash)),
            Ok(Verification::Match { rehashed: None })
        ));
        assert!(matches!(
            hasher.verify_blocking(&Password::new("wrong one"), Some(&hash)),
            Ok(Verification::Mismatch)
        ));
    }

    #[test]
    fn unknown_user_verifies_against_the_dummy_and_never_matches() {
        let hasher = fast();
        assert!(matches!(
            hasher.verify_blocking(&Password::new("anything"), None),
            Ok(Verification::Mismatch)
        ));
        assert!(hasher.inner.dummy.starts_with("$scrypt$ln=4,r=8,p=1$"));
    }

    #[test]
    fn known_vector_from_the_scrypt_crate_verifies() {
        // Made by the reference implementation (scrypt crate's own test vector).
        let stored = PasswordHash::from_stored(
            "$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E",
        );
        let hasher = hasher(ScryptParams::new(16, 8, 1).unwrap());
        assert!(matches!(
            hasher.verify_blocking(&Password::new("password"), Some(&stored)),
            Ok(Verification::Match { rehashed: None })
        ));
    }

    #[test]
    fn weaker_stored_hash_is_rehashed_on_match_and_stronger_is_kept() {
        let old = fast()
            .hash_blocking(&Password::new("a passphrase"))
            .unwrap();
        let stronger = hasher(ScryptParams::new(6, 8, 1).unwrap());
        assert!(stronger.needs_rehash(&old));
        let Ok(Verification::Match {
            rehashed: Some(new_hash),
        }) = stronger.verify_blocking(&Password::new("a passphrase"), Some(&old))
        else {
            panic!("expected a match with a new hash");
        };
        assert!(new_hash.as_str().starts_with("$scrypt$ln=6,r=8,p=1$"));
        assert!(!stronger.needs_rehash(&new_hash));
        // A configuration weaker than the stored hash does not downgrade it.
        assert!(!fast().needs_rehash(&new_hash));
    }

    #[tokio::test]
    async fn verifying_a_weaker_stored_hash_pads_it_to_the_configured_work_in_the_same_job() {
        // Arrange: stored at ln=4 (16 KiB of work), configured at ln=6 (64 KiB).
        let old = fast()
            .hash_blocking(&Password::new("a passphrase"))
            .unwrap();
        let stronger = hasher(ScryptParams::new(6, 8, 1).unwrap());
        let missing = stronger.config().params.work_bytes() - fast().config().params.work_bytes();
        // Act: a wrong password, as a guesser would send.
        let outcome = stronger
            .verify(Password::new("a guess"), Some(&old))
            .await
            .unwrap();
        // Assert: one job, which also did the missing work.
        assert_eq!(outcome, Verification::Mismatch);
        assert_eq!(stronger.jobs_completed(), 1);
        assert_eq!(stronger.padding_work(), missing);
        // A match pads too (then rehashes).
        let matched = stronger.verify_blocking(&Password::new("a passphrase"), Some(&old));
        assert!(matches!(
            matched,
            Ok(Verification::Match { rehashed: Some(_) })
        ));
        assert_eq!(stronger.padding_work(), 2 * missing);
    }

    #[test]
    fn hashes_at_the_configured_cost_and_unknown_users_need_no_padding() {
        let current = fast()
            .hash_blocking(&Password::new("a passphrase"))
            .unwrap();
        let stronger = hasher(ScryptParams::new(5, 8, 1).unwrap())
            .hash_blocking(&Password::new("a passphrase"))
            .unwrap();
        let hasher = fast();
        for stored in [Some(&current), Some(&stronger), None] {
            let _ = hasher.verify_blocking(&Password::new("a guess"), stored);
        }
        assert_eq!(hasher.padding_work(), 0);
    }

    #[test]
    fn absurd_stored_parameters_are_refused_without_allocating() {
        let hasher = fast();
        // ln=30, r=8 would need 128 GiB.
        let absurd = PasswordHash::from_stored(
            "$scrypt$ln=30,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E",
        );
        let error = hasher
            .verify_blocking(&Password::new("password"), Some(&absurd))
            .unwrap_err();
        assert!(matches!(error, HashError::UnusableHash(ref reason) if reason.contains("exceed")));
        let many_p = PasswordHash::from_stored(
            "$scrypt$ln=4,r=8,p=64$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E",
        );
        assert!(matches!(
            hasher.verify_blocking(&Password::new("password"), Some(&many_p)),
            Err(HashError::UnusableHash(_))
        ));
    }

    #[test]
    fn a_stored_hash_within_each_bound_but_over_the_total_work_is_unusable() {
        // ln=20, r=8 is the 1 GiB memory bound and p=2 is far below max_p,
        // but 2 GiB of work is over the 1 GiB work bound.
        let hasher = fast();
        let heavy = PasswordHash::from_stored(
            "$scrypt$ln=20,r=8,p=2$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E",
        );
        assert!(matches!(
            hasher.check_usable(&heavy),
            Err(HashError::UnusableHash(ref reason)) if reason.contains("exceed")
        ));
        assert!(matches!(
            hasher.verify_blocking(&Password::new("password"), Some(&heavy)),
            Err(HashError::UnusableHash(ref reason)) if reason.contains("exceed")
        ));
    }

    #[test]
    fn foreign_and_malformed_hashes_are_unusable_not_a_panic() {
        let hasher = fast();
        for stored in [
            "",
            "plain",
            "$scrypt$ln=4,r=4294967295,p=4294967295$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E",
            "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
            "$scrypt$ln=x$$",
        ] {
            assert!(
                matches!(
                    hasher.verify_blocking(
                        &Password::new("pw"),
                        Some(&PasswordHash::from_stored(stored))
                    ),
                    Err(HashError::UnusableHash(_))
                ),
                "{stored:?}"
            );
        }
    }

    #[test]
    fn errors_never_contain_the_hash() {
        let secret_hash = "$scrypt$ln=30,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E";
        let error = fast()
            .verify_blocking(
                &Password::new("pw"),
                Some(&PasswordHash::from_stored(secret_hash)),
            )
            .unwrap_err();
        assert!(!error.to_string().contains("nFNh2CVH"));
        assert!(!error.to_string().contains("aM15713r3"));
    }

    #[tokio::test]
    async fn a_reserved_slot_holds_its_place_until_used_or_dropped() {
        let hasher = fast_pool(1, 1);
        let first = hasher.reserve(HashPurpose::Login).unwrap();
        let second = hasher.reserve(HashPurpose::Login).unwrap();
        assert_eq!(
            hasher.in_flight(),
            2,
            "reserved places count before any job"
        );
        assert!(hasher.is_saturated());
        assert!(matches!(
            hasher.reserve(HashPurpose::Login),
            Err(HashError::Overloaded)
        ));
        assert!(matches!(
            hasher.hash(Password::new("refused")).await,
            Err(HashError::Overloaded)
        ));
        assert_eq!(hasher.rejected(), 2);

        drop(second);
        assert_eq!(
            hasher.in_flight(),
            1,
            "a slot dropped unused frees its place"
        );
        let third = hasher.reserve(HashPurpose::Login).unwrap();
        let hash = first
            .hash(Password::new("a long secret phrase"))
            .await
            .unwrap();
        let outcome = third
            .verify(Password::new("a long secret phrase"), Some(&hash))
            .await
            .unwrap();
        assert_eq!(outcome, Verification::Match { rehashed: None });
        assert_eq!(
            hasher.in_flight(),
            0,
            "used slots are released when their job ends"
        );
        assert_eq!(hasher.jobs_completed(), 2);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_full_queue_refuses_hashes_with_overloaded() {
        let hasher = fast_pool(1, 0);
        let slot = hasher.reserve(HashPurpose::Login).unwrap();
        assert!(matches!(
            hasher.hash(Password::new("refused")).await,
            Err(HashError::Overloaded)
        ));
        assert!(matches!(
            hasher.verify(Password::new("refused"), None).await,
            Err(HashError::Overloaded)
        ));
        assert_eq!(hasher.rejected(), 2);
        drop(slot);
        assert!(hasher.hash(Password::new("after")).await.is_ok());
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hashing_threads_are_named_for_scrypt() {
        let hasher = fast_pool(1, 0);
        let name = hasher
            .inner
            .pool
            .reserve(super::super::pool::Class::Primary)
            .unwrap()
            .run(|| std::thread::current().name().map(str::to_owned))
            .await
            .unwrap();
        assert_eq!(name.as_deref(), Some("scrypt-0"));
    }

    #[test]
    fn a_zero_sized_pool_is_refused() {
        let error = PasswordHasher::new(HashConfig {
            max_concurrent: 0,
            ..HashConfig::insecure_fast_for_tests()
        })
        .unwrap_err();
        assert!(matches!(
            error,
            HashError::InvalidParams(HashConfigError::ZeroConcurrency)
        ));
    }

    #[test]
    fn the_kind_follows_the_verifier_a_hash_goes_to() {
        let ours = fast()
            .hash_blocking(&Password::new("a passphrase"))
            .unwrap();
        assert_eq!(ours.kind(), HashKind::Scrypt);
        for (stored, kind) in [
            ("$scrypt$ln=x$$", HashKind::Scrypt),
            ("scrypt:32768:8:1$salt$00", HashKind::Werkzeug),
            ("scrypt$salt$00", HashKind::Werkzeug),
            ("pbkdf2$salt$00", HashKind::Werkzeug),
            ("$scryptx$ln=4$c2FsdA$aGFzaA", HashKind::Unknown),
            (
                "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA",
                HashKind::Unknown,
            ),
            ("sha1$salt$00ff", HashKind::Unknown),
            ("", HashKind::Unknown),
        ] {
            assert_eq!(PasswordHash::from_stored(stored).kind(), kind, "{stored:?}");
        }
    }

    #[test]
    fn a_failure_keeps_its_cause() {
        let error = HashError::failed(super::super::pool::PoolError::Panicked);
        let cause = std::error::Error::source(&error).map(ToString::to_string);
        assert_eq!(cause.as_deref(), Some("the job panicked"));
    }

    #[cfg(not(feature = "werkzeug"))]
    #[test]
    fn without_the_feature_a_werkzeug_hash_is_unusable() {
        let hasher = fast();
        let stored = PasswordHash::from_stored(
            "pbkdf2:sha256:1$PKY4pKUnrGmecRgm$4325146a97537f5e8e0ae73e35806ac48701651252cb5c03e1a2860d4bf6d118",
        );
        assert_eq!(stored.kind(), HashKind::Werkzeug);
        for outcome in [
            hasher
                .verify_blocking(&Password::new("few rounds here"), Some(&stored))
                .map(drop),
            hasher.check_usable(&stored),
        ] {
            assert!(
                matches!(outcome, Err(HashError::UnusableHash(ref reason)) if reason.contains("werkzeug")),
                "{outcome:?}"
            );
        }
    }
}
