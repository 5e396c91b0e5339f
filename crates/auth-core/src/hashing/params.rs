//! What a [`crate::PasswordHasher`] is configured with, and the rules that
//! relate the pieces: which stored hashes still verify for given parameters
//! ([`VerifyLimits::for_params`]), and what a usable configuration is
//! ([`HashConfig::new`]).

use std::time::Duration;

use scrypt::Params;

/// scrypt cost parameters: N = 2^`log_n`, block size `r`, parallelism `p`.
///
/// ```
/// use auth_core::ScryptParams;
///
/// let owasp = ScryptParams::default();
/// assert_eq!((owasp.log_n(), owasp.r(), owasp.p()), (17, 8, 1));
/// assert_eq!(owasp.memory_bytes(), 128 * 1024 * 1024);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ScryptParams {
    log_n: u8,
    r: u32,
    p: u32,
}

impl Default for ScryptParams {
    /// OWASP's recommendation: N=2^17, r=8, p=1 (128 MiB).
    fn default() -> Self {
        Self {
            log_n: 17,
            r: 8,
            p: 1,
        }
    }
}

impl ScryptParams {
    /// Checks and builds parameters.
    ///
    /// # Errors
    /// [`HashConfigError::ScryptOutOfRange`] for N = 1 (`log_n` = 0) or an
    /// r · p beyond 32 bits; [`HashConfigError::ScryptRejected`] when scrypt
    /// refuses the combination (for example `r` = 0).
    ///
    /// ```
    /// use auth_core::ScryptParams;
    /// assert!(ScryptParams::new(15, 8, 1).is_ok());
    /// assert!(ScryptParams::new(0, 8, 1).is_err());
    /// assert!(ScryptParams::new(15, 0, 1).is_err());
    /// ```
    pub fn new(log_n: u8, r: u32, p: u32) -> Result<Self, HashConfigError> {
        // Checked before scrypt sees them: N = 1 is no work at all, and older
        // scrypt versions multiplied r · p unchecked.
        if log_n == 0 || r.checked_mul(p).is_none() {
            return Err(HashConfigError::ScryptOutOfRange { log_n, r, p });
        }
        Params::new(log_n, r, p).map_err(|source| HashConfigError::ScryptRejected {
            log_n,
            r,
            p,
            source,
        })?;
        Ok(Self { log_n, r, p })
    }

    /// Parameters so cheap that tests run in microseconds. Never in production.
    ///
    /// ```
    /// assert_eq!(auth_core::ScryptParams::insecure_fast_for_tests().log_n(), 4);
    /// ```
    pub fn insecure_fast_for_tests() -> Self {
        Self {
            log_n: 4,
            r: 8,
            p: 1,
        }
    }

    /// log2 of the CPU/memory cost N.
    pub fn log_n(&self) -> u8 {
        self.log_n
    }
    /// Block size.
    pub fn r(&self) -> u32 {
        self.r
    }
    /// Parallelism.
    pub fn p(&self) -> u32 {
        self.p
    }

    /// The least work a production hash may take: 128 · r · N · p ≥ 32 MiB,
    /// which is ln=15 with r=8 and p=1 (OWASP's floor for scrypt is N=2^17,
    /// or 2^15 with p=3; below 32 MiB a GPU guesses too fast).
    pub const MIN_WORK_BYTES: u64 = 32 << 20;

    /// Refuses parameters below [`ScryptParams::MIN_WORK_BYTES`]: only tests
    /// (and an operator who says so) may hash this cheaply.
    ///
    /// # Errors
    /// [`HashConfigError::TooWeak`].
    ///
    /// ```
    /// use auth_core::ScryptParams;
    /// assert!(ScryptParams::new(15, 8, 1)?.require_strong().is_ok());
    /// assert!(ScryptParams::new(14, 8, 2)?.require_strong().is_ok());
    /// assert!(ScryptParams::new(14, 8, 1)?.require_strong().is_err());
    /// assert!(ScryptParams::insecure_fast_for_tests().require_strong().is_err());
    /// # Ok::<(), auth_core::HashConfigError>(())
    /// ```
    pub fn require_strong(self) -> Result<Self, HashConfigError> {
        if self.work_bytes() < Self::MIN_WORK_BYTES {
            let Self { log_n, r, p } = self;
            return Err(HashConfigError::TooWeak { log_n, r, p });
        }
        Ok(self)
    }

    /// Memory one hash needs: 128 · r · N bytes.
    pub fn memory_bytes(&self) -> u64 {
        (128u64 * u64::from(self.r)) << self.log_n
    }

    /// Work one hash computes: p runs of 128 · r · N bytes each, the
    /// measure [`ScryptParams::MIN_WORK_BYTES`] and
    /// [`VerifyLimits::max_work_bytes`] use.
    ///
    /// ```
    /// use auth_core::ScryptParams;
    /// assert_eq!(ScryptParams::new(15, 8, 2)?.work_bytes(), 2 * 32 << 20);
    /// # Ok::<(), auth_core::HashConfigError>(())
    /// ```
    pub fn work_bytes(&self) -> u64 {
        self.memory_bytes().saturating_mul(u64::from(self.p))
    }

    /// scrypt's own parameter type; every `ScryptParams` passed its checks.
    pub(super) fn to_scrypt(self) -> Result<Params, HashConfigError> {
        let Self { log_n, r, p } = self;
        Params::new(log_n, r, p).map_err(|source| HashConfigError::ScryptRejected {
            log_n,
            r,
            p,
            source,
        })
    }
}

/// Upper bounds on the parameters of a *stored* hash that will be verified.
///
/// Memory and work are bounded separately: 128 · r · N is what one
/// verification allocates, 128 · r · N · p is what it computes (p runs of
/// that size). Bounding memory and p alone would let a row with the largest
/// memory *and* the largest p cost 16× the memory bound in work.
///
/// ```
/// use auth_core::VerifyLimits;
/// assert_eq!(VerifyLimits::default().max_memory_bytes, 1 << 30);
/// assert_eq!(VerifyLimits::default().max_work_bytes, 1 << 30);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyLimits {
    /// Largest accepted 128 · r · N, in bytes (default 1 GiB = 8× the default cost).
    pub max_memory_bytes: u64,
    /// Largest accepted p (the work multiplier).
    pub max_p: u32,
    /// Largest accepted total work 128 · r · N · p, in bytes (default
    /// 1 GiB = 8× the default cost): what bounds the CPU one row can take.
    pub max_work_bytes: u64,
    /// Largest accepted PBKDF2 iteration count of an imported werkzeug hash
    /// (default 5,000,000: 5× werkzeug 3.1's default of 1,000,000).
    pub max_pbkdf2_iterations: u32,
}

impl Default for VerifyLimits {
    fn default() -> Self {
        Self {
            max_memory_bytes: 1 << 30,
            max_p: 16,
            max_work_bytes: 1 << 30,
            max_pbkdf2_iterations: 5_000_000,
        }
    }
}

impl VerifyLimits {
    /// The limits for a hasher making new hashes with `params`: stored hashes
    /// up to 8× that memory, and up to 8× that total work (128 · r · N · p),
    /// still verify, and never less than the default allows. An operator who
    /// lowers the cost must not lock out everyone hashed at the old one; the
    /// other bounds are the defaults.
    ///
    /// ```
    /// use auth_core::{ScryptParams, VerifyLimits};
    ///
    /// let heavy = ScryptParams::new(18, 8, 1)?; // 256 MiB
    /// assert_eq!(VerifyLimits::for_params(&heavy).max_memory_bytes, 8 * 256 << 20);
    /// let parallel = ScryptParams::new(17, 8, 4)?; // 128 MiB, 4 × the work
    /// assert_eq!(VerifyLimits::for_params(&parallel).max_work_bytes, 8 * 4 * 128 << 20);
    /// // Cheap parameters keep the default bound, not 8× their own cost.
    /// let cheap = ScryptParams::insecure_fast_for_tests();
    /// assert_eq!(VerifyLimits::for_params(&cheap), VerifyLimits::default());
    /// # Ok::<(), auth_core::HashConfigError>(())
    /// ```
    pub fn for_params(params: &ScryptParams) -> Self {
        let defaults = Self::default();
        Self {
            max_memory_bytes: params
                .memory_bytes()
                .saturating_mul(8)
                .max(defaults.max_memory_bytes),
            max_work_bytes: params
                .work_bytes()
                .saturating_mul(8)
                .max(defaults.max_work_bytes),
            ..defaults
        }
    }

    /// Whether a stored scrypt hash with these parameters is within the
    /// memory, p and total-work bounds. Computed in `u128` with checked
    /// arithmetic: the values come from a row and may be absurd.
    pub(crate) fn admits_scrypt(&self, log_n: u8, r: u32, p: u32) -> bool {
        let Some((memory, work)) = scrypt_cost(log_n, r, p) else {
            return false;
        };
        memory <= u128::from(self.max_memory_bytes)
            && p <= self.max_p
            && work <= u128::from(self.max_work_bytes)
    }
}

/// Memory (128 · r · N) and work (that × p) of scrypt parameters, in bytes;
/// `None` if they do not fit in `u128`.
pub(crate) fn scrypt_cost(log_n: u8, r: u32, p: u32) -> Option<(u128, u128)> {
    let n = 1u128.checked_shl(u32::from(log_n))?;
    let memory = n.checked_mul(128 * u128::from(r))?;
    Some((memory, memory.checked_mul(u128::from(p))?))
}

/// Everything [`crate::PasswordHasher`] needs to know. Build it with
/// [`HashConfig::new`], which checks the values and derives the limits; the
/// fields are public so that tests can state a configuration literally.
///
/// ```
/// use auth_core::{HashConfig, ScryptParams};
/// let config = HashConfig::new(ScryptParams::default(), 2, 32, 10)?;
/// assert_eq!(config.max_concurrent, 2);
/// assert!(HashConfig::default().max_concurrent >= 1);
/// # Ok::<(), auth_core::HashConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashConfig {
    /// Parameters for new hashes; stored hashes weaker than these are rehashed on login.
    pub params: ScryptParams,
    /// Bounds on stored hashes ([`VerifyLimits::for_params`] of `params`).
    pub limits: VerifyLimits,
    /// Hashes running at once. Peak hashing memory is this × `params.memory_bytes()`.
    pub max_concurrent: usize,
    /// Requests allowed to wait for a hashing slot; more get [`crate::HashError::Overloaded`].
    pub max_queued: usize,
    /// Nice value of the hashing threads (Unix; 0 = same as the rest of the
    /// process). Positive values let request handling preempt hashing.
    pub thread_nice: i8,
    /// Longest a job waits for a busy hashing thread before it is answered
    /// [`crate::HashError::Overloaded`] unrun (default
    /// [`HashConfig::DEFAULT_QUEUE_TIMEOUT`]). A client that waited that long
    /// has most likely given up; hashing for it would only delay those still
    /// waiting. Checked when a thread frees up; zero refuses every job that
    /// would wait behind another.
    pub queue_timeout: Duration,
}

/// The range of Unix nice values.
const NICE_RANGE: std::ops::RangeInclusive<i8> = -20..=19;

impl Default for HashConfig {
    fn default() -> Self {
        let params = ScryptParams::default();
        Self {
            params,
            limits: VerifyLimits::for_params(&params),
            max_concurrent: std::thread::available_parallelism().map_or(1, |n| n.get()),
            max_queued: 32,
            thread_nice: 10,
            queue_timeout: Self::DEFAULT_QUEUE_TIMEOUT,
        }
    }
}

impl HashConfig {
    /// The default [`HashConfig::queue_timeout`]: 2 s, about five hashes at
    /// the default cost (≈ 0.4 s each) behind one thread; longer than most
    /// clients wait for a login, short enough that a retry soon finds room.
    pub const DEFAULT_QUEUE_TIMEOUT: Duration = Duration::from_secs(2);

    /// Checks the values and builds a configuration whose limits follow from
    /// `params` ([`VerifyLimits::for_params`]).
    ///
    /// # Errors
    /// [`HashConfigError::ZeroConcurrency`] for `max_concurrent` = 0 (no
    /// hash would ever run); [`HashConfigError::NiceOutOfRange`] for a
    /// `thread_nice` outside -20..=19.
    ///
    /// ```
    /// use auth_core::{HashConfig, HashConfigError, ScryptParams, VerifyLimits};
    ///
    /// let params = ScryptParams::new(15, 8, 1)?;
    /// let config = HashConfig::new(params, 4, 64, 10)?;
    /// assert_eq!(config.limits, VerifyLimits::for_params(&params));
    ///
    /// let refused = HashConfig::new(params, 0, 64, 10).unwrap_err();
    /// assert_eq!(refused, HashConfigError::ZeroConcurrency);
    /// assert_eq!(refused.to_string(), "hash concurrency must be at least 1, got 0");
    /// # Ok::<(), HashConfigError>(())
    /// ```
    pub fn new(
        params: ScryptParams,
        max_concurrent: usize,
        max_queued: usize,
        thread_nice: i8,
    ) -> Result<Self, HashConfigError> {
        if max_concurrent == 0 {
            return Err(HashConfigError::ZeroConcurrency);
        }
        if !NICE_RANGE.contains(&thread_nice) {
            return Err(HashConfigError::NiceOutOfRange { nice: thread_nice });
        }
        Ok(Self {
            params,
            limits: VerifyLimits::for_params(&params),
            max_concurrent,
            max_queued,
            thread_nice,
            queue_timeout: Self::DEFAULT_QUEUE_TIMEOUT,
        })
    }

    /// The same configuration with another [`HashConfig::queue_timeout`].
    ///
    /// ```
    /// use std::time::Duration;
    /// use auth_core::{HashConfig, ScryptParams};
    ///
    /// let config = HashConfig::new(ScryptParams::default(), 2, 32, 10)?;
    /// assert_eq!(config.queue_timeout, HashConfig::DEFAULT_QUEUE_TIMEOUT);
    /// let config = config.with_queue_timeout(Duration::from_millis(500));
    /// assert_eq!(config.queue_timeout, Duration::from_millis(500));
    /// # Ok::<(), auth_core::HashConfigError>(())
    /// ```
    #[must_use]
    pub fn with_queue_timeout(self, queue_timeout: Duration) -> Self {
        Self {
            queue_timeout,
            ..self
        }
    }

    /// Cheap scrypt ([`ScryptParams::insecure_fast_for_tests`]), two hashing
    /// threads, a queue no test fills and a queue timeout no test reaches
    /// (60 s, so a slow machine is no reason for `Overloaded`): the one configuration for tests
    /// that hash but are not about the bounds. Feature `testing`. Never in
    /// production.
    ///
    /// ```
    /// use auth_core::{HashConfig, ScryptParams};
    /// let config = HashConfig::insecure_fast_for_tests();
    /// assert_eq!(config.params, ScryptParams::insecure_fast_for_tests());
    /// assert_eq!(config.max_concurrent, 2);
    /// ```
    #[cfg(feature = "testing")]
    pub fn insecure_fast_for_tests() -> Self {
        let params = ScryptParams::insecure_fast_for_tests();
        Self {
            params,
            limits: VerifyLimits::for_params(&params),
            max_concurrent: 2,
            max_queued: 1024,
            queue_timeout: Duration::from_secs(60),
            ..Self::default()
        }
    }
}

/// Why a hashing configuration was refused. Each message names the value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum HashConfigError {
    /// N = 2^`log_n` must exceed 1 and r · p must fit in 32 bits.
    #[error(
        "scrypt parameters ln={log_n},r={r},p={p} are out of range: N must exceed 1 and r·p must fit in 32 bits"
    )]
    ScryptOutOfRange {
        /// The refused log2 of N.
        log_n: u8,
        /// The refused block size.
        r: u32,
        /// The refused parallelism.
        p: u32,
    },
    /// scrypt itself refuses the combination (for example r = 0 or p = 0).
    #[error("scrypt refuses the parameters ln={log_n},r={r},p={p}")]
    ScryptRejected {
        /// The refused log2 of N.
        log_n: u8,
        /// The refused block size.
        r: u32,
        /// The refused parallelism.
        p: u32,
        /// scrypt's own error.
        #[source]
        source: scrypt::errors::InvalidParams,
    },
    /// Below [`ScryptParams::MIN_WORK_BYTES`] (see [`ScryptParams::require_strong`]).
    #[error(
        "scrypt parameters ln={log_n},r={r},p={p} are too weak: 128·r·N·p must be at least 32 MiB (ln=15 with r=8, p=1)"
    )]
    TooWeak {
        /// The refused log2 of N.
        log_n: u8,
        /// The refused block size.
        r: u32,
        /// The refused parallelism.
        p: u32,
    },
    /// `max_concurrent` = 0: no hash would ever run.
    #[error("hash concurrency must be at least 1, got 0")]
    ZeroConcurrency,
    /// A nice value outside -20..=19.
    #[error("hashing thread nice value must be within -20..=19, got {nice}")]
    NiceOutOfRange {
        /// The refused value.
        nice: i8,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_hashes_up_to_eight_times_the_configured_memory_still_verify() {
        let params = ScryptParams::new(18, 8, 1).unwrap();
        let limits = VerifyLimits::for_params(&params);
        assert_eq!(limits.max_memory_bytes, 8 * params.memory_bytes());
        assert_eq!(limits.max_p, VerifyLimits::default().max_p);
        assert_eq!(
            limits.max_pbkdf2_iterations,
            VerifyLimits::default().max_pbkdf2_iterations
        );
    }

    #[test]
    fn stored_hashes_up_to_eight_times_the_configured_work_still_verify() {
        let params = ScryptParams::new(17, 8, 4).unwrap();
        let limits = VerifyLimits::for_params(&params);
        assert_eq!(limits.max_work_bytes, 8 * params.work_bytes());
        assert!(limits.admits_scrypt(18, 8, 16), "8× the work");
        assert!(!limits.admits_scrypt(19, 8, 16), "16× the work");
    }

    #[test]
    fn a_hash_within_the_memory_and_p_bounds_but_over_the_total_work_is_refused() {
        // ln=20, r=8 is exactly the 1 GiB memory bound and p=16 the p bound,
        // but together 16 GiB of work: 16× a default-bound verification.
        let limits = VerifyLimits::default();
        assert!(limits.admits_scrypt(20, 8, 1));
        assert!(limits.admits_scrypt(17, 8, 8));
        assert!(limits.admits_scrypt(4, 8, 16));
        assert!(!limits.admits_scrypt(20, 8, 2));
        assert!(!limits.admits_scrypt(20, 8, 16));
        assert!(!limits.admits_scrypt(17, 8, 16));
        // Absurd values are refused, not overflowed.
        assert!(!limits.admits_scrypt(255, u32::MAX, u32::MAX));
        assert!(!limits.admits_scrypt(63, u32::MAX, u32::MAX));
    }

    #[test]
    fn lowering_the_cost_never_lowers_the_limit_below_the_default() {
        for log_n in [4, 10, 15, 17] {
            let params = ScryptParams::new(log_n, 8, 1).unwrap();
            assert_eq!(
                VerifyLimits::for_params(&params).max_memory_bytes,
                VerifyLimits::default().max_memory_bytes,
                "ln={log_n}"
            );
            assert_eq!(
                VerifyLimits::for_params(&params).max_work_bytes,
                VerifyLimits::default().max_work_bytes,
                "ln={log_n}"
            );
        }
    }

    #[test]
    fn new_derives_the_limits_from_the_params() {
        let params = ScryptParams::new(19, 8, 1).unwrap();
        let config = HashConfig::new(params, 3, 7, 5).unwrap();
        assert_eq!(
            config,
            HashConfig {
                params,
                limits: VerifyLimits::for_params(&params),
                max_concurrent: 3,
                max_queued: 7,
                thread_nice: 5,
                queue_timeout: HashConfig::DEFAULT_QUEUE_TIMEOUT,
            }
        );
    }

    #[test]
    fn new_refuses_what_could_never_hash_and_names_the_value() {
        let params = ScryptParams::insecure_fast_for_tests();
        assert_eq!(
            HashConfig::new(params, 0, 1, 0),
            Err(HashConfigError::ZeroConcurrency)
        );
        let too_nice = HashConfig::new(params, 1, 1, 20).unwrap_err();
        assert_eq!(too_nice, HashConfigError::NiceOutOfRange { nice: 20 });
        assert!(too_nice.to_string().contains("got 20"), "{too_nice}");
        assert!(HashConfig::new(params, 1, 0, -20).is_ok());
        assert!(HashConfig::new(params, 1, 0, 19).is_ok());
    }

    #[test]
    fn invalid_scrypt_parameters_name_themselves() {
        let error = ScryptParams::new(0, 8, 1).unwrap_err();
        assert!(error.to_string().contains("ln=0,r=8,p=1"), "{error}");
        let error = ScryptParams::new(15, 0, 1).unwrap_err();
        assert!(matches!(
            error,
            HashConfigError::ScryptRejected { r: 0, .. }
        ));
        assert!(
            std::error::Error::source(&error).is_some(),
            "scrypt's cause is kept"
        );
    }

    #[test]
    fn the_default_config_has_the_limits_of_its_params() {
        let config = HashConfig::default();
        assert_eq!(config.limits, VerifyLimits::for_params(&config.params));
        assert_eq!(config.limits, VerifyLimits::default());
    }
}
