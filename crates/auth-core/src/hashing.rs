//! Password hashing: scrypt in PHC strings, bounded in time and memory.
//!
//! scrypt at the default parameters takes ~128 MiB and a few hundred
//! milliseconds of one core per hash. [`PasswordHasher`] therefore
//!
//! - runs every hash on its own worker threads, never on an async worker
//!   (there it would stall every other request on that worker), at a lower
//!   OS priority (`thread_nice`), so that the async workers answering cheap
//!   requests preempt hashing instead of queueing behind it,
//! - has exactly `max_concurrent` such threads (memory = threads × cost),
//! - lets at most `max_queued` more wait, and answers
//!   [`HashError::Overloaded`] beyond that instead of growing without bound,
//! - refuses stored hashes whose parameters exceed [`VerifyLimits`], so a
//!   row claiming N=2^30 cannot allocate gigabytes.
//!
//! Besides its own PHC strings it verifies werkzeug's (users imported from
//! the Flask service, [`crate::werkzeug`]) and replaces them on a match.
//!
//! The blocking methods ([`PasswordHasher::hash_blocking`],
//! [`PasswordHasher::verify_blocking`]) are there for CLIs and embedders
//! without Tokio; they skip the queue.

use std::fmt;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError, mpsc};
use std::time::{Duration, Instant};

use password_hash::phc::{Output, PasswordHash as PhcHash, Salt};
use password_hash::{PasswordHasher as _, PasswordVerifier as _};
use scrypt::{Params, Scrypt};

use crate::Password;
use crate::werkzeug::{WerkzeugHash, is_werkzeug_hash};

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
    /// [`HashError::InvalidParams`] when scrypt rejects the combination
    /// (for example `log_n` = 0, i.e. N = 1, or `r` = 0).
    ///
    /// ```
    /// use auth_core::ScryptParams;
    /// assert!(ScryptParams::new(15, 8, 1).is_ok());
    /// assert!(ScryptParams::new(0, 8, 1).is_err());
    /// assert!(ScryptParams::new(15, 0, 1).is_err());
    /// ```
    pub fn new(log_n: u8, r: u32, p: u32) -> Result<Self, HashError> {
        if log_n == 0 || r.checked_mul(p).is_none() {
            return Err(HashError::InvalidParams(
                "N must exceed 1 and r·p must fit in 32 bits".into(),
            ));
        }
        Params::new(log_n, r, p).map_err(|error| HashError::InvalidParams(error.to_string()))?;
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

    /// Memory one hash needs: 128 · r · N bytes.
    pub fn memory_bytes(&self) -> u64 {
        (128u64 * u64::from(self.r)) << self.log_n
    }

    fn to_scrypt(self) -> Result<Params, HashError> {
        Params::new(self.log_n, self.r, self.p)
            .map_err(|error| HashError::InvalidParams(error.to_string()))
    }
}

/// Upper bounds on the parameters of a *stored* hash that will be verified.
///
/// ```
/// use auth_core::VerifyLimits;
/// assert_eq!(VerifyLimits::default().max_memory_bytes, 1 << 30);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifyLimits {
    /// Largest accepted 128 · r · N, in bytes (default 1 GiB = 8× the default cost).
    pub max_memory_bytes: u64,
    /// Largest accepted p (the work multiplier).
    pub max_p: u32,
    /// Largest accepted PBKDF2 iteration count of an imported werkzeug hash
    /// (default 5,000,000: 5× werkzeug 3.1's default of 1,000,000).
    pub max_pbkdf2_iterations: u32,
}

impl Default for VerifyLimits {
    fn default() -> Self {
        Self {
            max_memory_bytes: 1 << 30,
            max_p: 16,
            max_pbkdf2_iterations: 5_000_000,
        }
    }
}

/// Everything [`PasswordHasher`] needs to know.
///
/// ```
/// use auth_core::HashConfig;
/// let config = HashConfig::default();
/// assert!(config.max_concurrent >= 1);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HashConfig {
    /// Parameters for new hashes; stored hashes weaker than these are rehashed on login.
    pub params: ScryptParams,
    /// Bounds on stored hashes.
    pub limits: VerifyLimits,
    /// Hashes running at once. Peak hashing memory is this × `params.memory_bytes()`.
    pub max_concurrent: usize,
    /// Requests allowed to wait for a hashing slot; more get [`HashError::Overloaded`].
    pub max_queued: usize,
    /// Nice value of the hashing threads (Unix; 0 = same as the rest of the
    /// process). Positive values let request handling preempt hashing.
    pub thread_nice: i8,
}

impl Default for HashConfig {
    fn default() -> Self {
        Self {
            params: ScryptParams::default(),
            limits: VerifyLimits::default(),
            max_concurrent: std::thread::available_parallelism().map_or(1, |n| n.get()),
            max_queued: 32,
            thread_nice: 10,
        }
    }
}

/// A stored password hash (a PHC string for hashes this crate makes).
/// `Debug` does not print it.
///
/// ```
/// use auth_core::PasswordHash;
/// let stored = PasswordHash::from_stored("$scrypt$ln=4,r=8,p=1$c2FsdHNhbHQ$aGFzaGhhc2hoYXNo");
/// assert_eq!(format!("{stored:?}"), "PasswordHash(***)");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct PasswordHash(String);

impl PasswordHash {
    /// Wraps a hash read from storage. Any string is accepted here; verifying
    /// decides whether it is usable.
    pub fn from_stored(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The string to store.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(***)")
    }
}

/// The outcome of checking a password.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verification {
    /// The password matches. `rehashed` holds a new hash when the stored one
    /// used another algorithm or weaker parameters than configured.
    Match {
        /// Replacement hash to store, if the stored one is outdated.
        rehashed: Option<PasswordHash>,
    },
    /// The password does not match (or there was no user: see [`PasswordHasher::verify`]).
    Mismatch,
}

/// What went wrong while hashing or verifying (never a wrong password).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum HashError {
    /// All hashing slots are busy and the wait queue is full; retry later.
    #[error("password hashing is at capacity")]
    Overloaded,
    /// A stored hash cannot be verified: unknown format, malformed, or
    /// parameters beyond [`VerifyLimits`]. The reason never contains the hash.
    #[error("stored password hash is unusable: {0}")]
    UnusableHash(String),
    /// Configured parameters are invalid.
    #[error("invalid scrypt parameters: {0}")]
    InvalidParams(String),
    /// Hashing itself failed (no randomness, a panicked worker).
    #[error("password hashing failed: {0}")]
    Failed(String),
}

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
    /// Jobs for the hashing threads. There are `max_concurrent` of them: scrypt
    /// at ln=17 takes 128 MiB, so this caps memory at threads × 128 MiB.
    jobs: mpsc::Sender<Job>,
    /// Time per job, for metrics.
    timings: Timings,
    /// Jobs refused with `Overloaded`.
    rejected: AtomicU64,
    /// Requests admitted (running + waiting); bounded by max_concurrent + max_queued.
    admitted: AtomicUsize,
    running: AtomicUsize,
    /// Jobs run to completion (hashes and verifications), for metrics and tests.
    completed: AtomicU64,
}

impl fmt::Debug for PasswordHasher {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PasswordHasher")
            .field("config", &self.inner.config)
            .field("in_flight", &self.in_flight())
            .finish_non_exhaustive()
    }
}

/// Releases an admission slot when the request finishes or is dropped.
struct Admission(Arc<Inner>);
impl Drop for Admission {
    fn drop(&mut self) {
        self.0.admitted.fetch_sub(1, Ordering::AcqRel);
    }
}

impl PasswordHasher {
    /// Builds a hasher.
    ///
    /// # Errors
    /// [`HashError::InvalidParams`] for bad parameters or a zero-sized pool;
    /// [`HashError::Failed`] if the OS has no randomness for the dummy hash.
    pub fn new(config: HashConfig) -> Result<Self, HashError> {
        if config.max_concurrent == 0 {
            return Err(HashError::InvalidParams(
                "max_concurrent must be at least 1".into(),
            ));
        }
        let params = config.params.to_scrypt()?;
        let dummy = dummy_hash(params)?;
        let jobs = spawn_workers(config.max_concurrent, config.thread_nice)?;
        Ok(Self {
            inner: Arc::new(Inner {
                scrypt: Scrypt::new_with_params(params),
                jobs,
                timings: Timings::default(),
                rejected: AtomicU64::new(0),
                dummy,
                admitted: AtomicUsize::new(0),
                running: AtomicUsize::new(0),
                completed: AtomicU64::new(0),
                config,
            }),
        })
    }

    /// The configuration in force.
    pub fn config(&self) -> &HashConfig {
        &self.inner.config
    }

    /// Requests holding or waiting for a hashing slot.
    pub fn in_flight(&self) -> usize {
        self.inner.admitted.load(Ordering::Acquire)
    }

    /// Requests waiting for a hashing slot (the queue depth).
    pub fn queued(&self) -> usize {
        self.in_flight()
            .saturating_sub(self.inner.running.load(Ordering::Acquire))
    }

    /// Hashing jobs (hashes and verifications) run to completion on the pool so far.
    pub fn jobs_completed(&self) -> u64 {
        self.inner.completed.load(Ordering::Acquire)
    }

    /// Whether a new job would be refused right now (every thread busy and
    /// the queue full). A hint for monitoring; to act on it, use
    /// [`PasswordHasher::reserve`], which decides and takes the place at once.
    pub fn is_saturated(&self) -> bool {
        let limit = self.inner.config.max_concurrent + self.inner.config.max_queued;
        self.in_flight() >= limit
    }

    /// Takes a place among the `max_concurrent + max_queued` admitted jobs
    /// now, before the caller's other work, or refuses at once.
    ///
    /// A login reserves before it reads the database: under a flood, only
    /// the requests that will actually be hashed do database work and hold
    /// memory, and every other one is refused in microseconds. A check
    /// followed by a later admission would let every request in the gap
    /// through. The place is released when the [`HashSlot`] is used and its
    /// job ends, or when it is dropped unused.
    ///
    /// # Errors
    /// [`HashError::Overloaded`] when every place is taken (counted in
    /// [`PasswordHasher::rejected`]).
    ///
    /// # Examples
    /// ```
    /// # use auth_core::{HashConfig, HashError, Password, PasswordHasher, ScryptParams};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), HashError> {
    /// let hasher = PasswordHasher::new(HashConfig {
    ///     params: ScryptParams::insecure_fast_for_tests(),
    ///     max_concurrent: 1,
    ///     max_queued: 0,
    ///     ..HashConfig::default()
    /// })?;
    /// let slot = hasher.reserve()?;
    /// assert!(matches!(hasher.reserve(), Err(HashError::Overloaded)));
    /// let hash = slot.hash(Password::new("a long secret phrase")).await?;
    /// assert!(hasher.reserve().is_ok(), "the place is free again");
    /// # let _ = hash; Ok(()) }
    /// ```
    pub fn reserve(&self) -> Result<HashSlot, HashError> {
        let inner = &self.inner;
        let limit = inner.config.max_concurrent + inner.config.max_queued;
        if inner.admitted.fetch_add(1, Ordering::AcqRel) >= limit {
            inner.admitted.fetch_sub(1, Ordering::AcqRel);
            inner.rejected.fetch_add(1, Ordering::AcqRel);
            return Err(HashError::Overloaded);
        }
        Ok(HashSlot {
            hasher: self.clone(),
            admission: Admission(Arc::clone(inner)),
        })
    }

    /// Jobs refused with [`HashError::Overloaded`] so far.
    pub fn rejected(&self) -> u64 {
        self.inner.rejected.load(Ordering::Acquire)
    }

    /// Durations of the hashing jobs so far, as a histogram.
    pub fn timings(&self) -> TimingsSnapshot {
        self.inner.timings.snapshot()
    }

    /// Hashes a new password on the bounded pool ([`PasswordHasher::reserve`]
    /// then [`HashSlot::hash`]).
    ///
    /// # Errors
    /// [`HashError::Overloaded`] when the queue is full; [`HashError::Failed`] otherwise.
    pub async fn hash(&self, password: Password) -> Result<PasswordHash, HashError> {
        self.reserve()?.hash(password).await
    }

    /// Verifies `password` against `stored`, or against the dummy hash when
    /// there is no user (`None`), so both cases do the same work
    /// ([`PasswordHasher::reserve`] then [`HashSlot::verify`]).
    ///
    /// # Errors
    /// [`HashError::Overloaded`] when the queue is full; otherwise as
    /// [`HashSlot::verify`].
    pub async fn verify(
        &self,
        password: Password,
        stored: Option<&PasswordHash>,
    ) -> Result<Verification, HashError> {
        self.reserve()?.verify(password, stored).await
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
            .map_err(|error| HashError::Failed(error.to_string()))?;
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
        if is_werkzeug_hash(stored.as_str()) {
            return self.verify_werkzeug(password, stored);
        }
        let parsed = match self.parse_usable(stored.as_str()) {
            Ok(parsed) => parsed,
            Err(error) => {
                self.verify_dummy(password);
                return Err(error);
            }
        };
        match self
            .inner
            .scrypt
            .verify_password(password.expose().as_bytes(), &parsed)
        {
            Ok(()) => {
                let rehashed = if self.needs_rehash(stored) {
                    Some(self.hash_blocking(password)?)
                } else {
                    None
                };
                Ok(Verification::Match { rehashed })
            }
            Err(password_hash::Error::PasswordInvalid) => Ok(Verification::Mismatch),
            Err(error) => Err(HashError::UnusableHash(error.to_string())),
        }
    }

    /// A werkzeug hash: verified with its own (bounded) parameters, and
    /// always replaced on a match (it is not a PHC string).
    fn verify_werkzeug(
        &self,
        password: &Password,
        stored: &PasswordHash,
    ) -> Result<Verification, HashError> {
        let parsed = match WerkzeugHash::parse(stored.as_str(), &self.inner.config.limits) {
            Ok(parsed) => parsed,
            Err(error) => {
                self.verify_dummy(password);
                return Err(error);
            }
        };
        if !parsed.verify(password.expose().as_bytes())? {
            return Ok(Verification::Mismatch);
        }
        let rehashed = if self.needs_rehash(stored) {
            Some(self.hash_blocking(password)?)
        } else {
            None
        };
        Ok(Verification::Match { rehashed })
    }

    /// Checks, without hashing anything, that `stored` could be verified:
    /// a scrypt PHC string or a supported werkzeug hash, within the verify
    /// limits. For importers, which must not take in hashes that can never
    /// log in.
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
    /// let werkzeug = format!("pbkdf2:sha256:600000$salt${}", "0".repeat(64));
    /// assert!(hasher.check_usable(&PasswordHash::from_stored(werkzeug)).is_ok());
    /// assert!(hasher.check_usable(&PasswordHash::from_stored("hunter2")).is_err());
    /// # Ok::<(), auth_core::HashError>(())
    /// ```
    pub fn check_usable(&self, stored: &PasswordHash) -> Result<(), HashError> {
        if is_werkzeug_hash(stored.as_str()) {
            WerkzeugHash::parse(stored.as_str(), &self.inner.config.limits).map(drop)
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
        params.log_n() < want.log_n || params.r() < want.r || params.p() < want.p
    }

    fn parse_usable(&self, stored: &str) -> Result<PhcHash, HashError> {
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
        let memory = 128u64
            .saturating_mul(u64::from(params.r()))
            .checked_shl(u32::from(params.log_n()))
            .unwrap_or(u64::MAX);
        if memory > limits.max_memory_bytes || params.p() > limits.max_p {
            return Err(HashError::UnusableHash(format!(
                "parameters ln={},r={},p={} exceed the verify limits",
                params.log_n(),
                params.r(),
                params.p()
            )));
        }
        Ok(parsed)
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

/// A reserved place in the hashing queue, from [`PasswordHasher::reserve`]:
/// the job it runs is never refused. Dropped unused, it frees the place.
#[must_use = "a slot holds a place in the hashing queue until it is used or dropped"]
pub struct HashSlot {
    hasher: PasswordHasher,
    admission: Admission,
}

impl fmt::Debug for HashSlot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("HashSlot").finish_non_exhaustive()
    }
}

impl HashSlot {
    /// Hashes a new password in this slot.
    ///
    /// # Errors
    /// [`HashError::Failed`] if scrypt, the OS random source or the
    /// hashing threads fail.
    pub async fn hash(self, password: Password) -> Result<PasswordHash, HashError> {
        let hasher = self.hasher.clone();
        self.run(move || hasher.hash_blocking(&password)).await?
    }

    /// Verifies `password` against `stored`, or against the dummy hash when
    /// there is no user (`None`), so both cases do the same work. A match on
    /// an outdated hash also computes its replacement, in the same slot.
    ///
    /// # Errors
    /// [`HashError::UnusableHash`] for a stored hash that cannot be checked
    /// (after spending the same time as a real check); [`HashError::Failed`]
    /// if the hashing threads fail.
    pub async fn verify(
        self,
        password: Password,
        stored: Option<&PasswordHash>,
    ) -> Result<Verification, HashError> {
        let hasher = self.hasher.clone();
        let stored = stored.cloned();
        self.run(move || hasher.verify_blocking(&password, stored.as_ref()))
            .await?
    }

    /// Waits for a hashing thread and runs the job there. The admission
    /// moves into the job, so a client that disconnects mid-hash still holds
    /// its place until the hash ends: memory stays bounded.
    async fn run<T, F>(self, job: F) -> Result<T, HashError>
    where
        F: FnOnce() -> T + Send + 'static,
        T: Send + 'static,
    {
        let HashSlot { hasher, admission } = self;
        let state = Arc::clone(&hasher.inner);
        let (sender, receiver) = tokio::sync::oneshot::channel();
        let work: Job = Box::new(move || {
            // The request went away while queued (client disconnected,
            // timed out): nobody wants the answer, so spend no CPU on it.
            if sender.is_closed() {
                return;
            }
            state.running.fetch_add(1, Ordering::AcqRel);
            let started = Instant::now();
            // A panicking job must not take its worker thread with it.
            let output = std::panic::catch_unwind(std::panic::AssertUnwindSafe(job));
            state.timings.record(started.elapsed());
            state.running.fetch_sub(1, Ordering::AcqRel);
            state.completed.fetch_add(1, Ordering::AcqRel);
            drop(admission);
            if let Ok(output) = output {
                let _ = sender.send(output);
            }
        });
        hasher
            .inner
            .jobs
            .send(work)
            .map_err(|_| HashError::Failed("hashing threads are gone".into()))?;
        receiver
            .await
            .map_err(|_| HashError::Failed("hashing job ended abnormally".into()))
    }
}

/// A job for a hashing thread.
type Job = Box<dyn FnOnce() + Send>;

/// Starts `count` hashing threads at nice value `nice`, fed by one channel.
/// They end when the last [`PasswordHasher`] clone (the sender) is dropped.
fn spawn_workers(count: usize, nice: i8) -> Result<mpsc::Sender<Job>, HashError> {
    let (sender, receiver) = mpsc::channel::<Job>();
    let receiver = Arc::new(Mutex::new(receiver));
    for index in 0..count {
        let receiver = Arc::clone(&receiver);
        std::thread::Builder::new()
            .name(format!("scrypt-{index}"))
            .spawn(move || {
                lower_priority(nice);
                loop {
                    // The lock is held only while waiting for the next job.
                    let next = receiver
                        .lock()
                        .unwrap_or_else(PoisonError::into_inner)
                        .recv();
                    match next {
                        Ok(job) => job(),
                        Err(_) => return,
                    }
                }
            })
            .map_err(|error| {
                HashError::Failed(format!("cannot start a hashing thread: {error}"))
            })?;
    }
    Ok(sender)
}

/// Best effort: a process not allowed to change priorities still hashes,
/// just without the preemption benefit.
fn lower_priority(nice: i8) {
    #[cfg(unix)]
    if nice != 0 {
        use thread_priority::unix::{
            NormalThreadSchedulePolicy, ThreadSchedulePolicy, set_thread_priority_and_policy,
            thread_native_id,
        };
        use thread_priority::{ThreadPriority, ThreadPriorityValue};
        // The crate maps 0..=99 linearly onto nice 20..=-20.
        let level = (99.0 * (1.0 - (f64::from(nice) + 20.0) / 40.0))
            .round()
            .clamp(0.0, 99.0) as u8;
        if let Ok(value) = ThreadPriorityValue::try_from(level) {
            let _ = set_thread_priority_and_policy(
                thread_native_id(),
                ThreadPriority::Crossplatform(value),
                ThreadSchedulePolicy::Normal(NormalThreadSchedulePolicy::Other),
            );
        }
    }
    #[cfg(not(unix))]
    let _ = nice;
}

/// Upper bounds of the job-duration histogram, in seconds.
const TIMING_BOUNDS: [f64; 12] = [
    0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
];

/// A lock-free histogram of job durations.
#[derive(Debug, Default)]
struct Timings {
    buckets: [AtomicU64; TIMING_BOUNDS.len()],
    count: AtomicU64,
    sum_micros: AtomicU64,
}

impl Timings {
    fn record(&self, elapsed: Duration) {
        let secs = elapsed.as_secs_f64();
        if let Some(index) = TIMING_BOUNDS.iter().position(|bound| secs <= *bound) {
            self.buckets[index].fetch_add(1, Ordering::Relaxed);
        }
        self.count.fetch_add(1, Ordering::Relaxed);
        let micros = u64::try_from(elapsed.as_micros()).unwrap_or(u64::MAX);
        self.sum_micros.fetch_add(micros, Ordering::Relaxed);
    }

    fn snapshot(&self) -> TimingsSnapshot {
        let mut cumulative = 0;
        let buckets = TIMING_BOUNDS
            .iter()
            .zip(&self.buckets)
            .map(|(bound, count)| {
                cumulative += count.load(Ordering::Relaxed);
                (*bound, cumulative)
            })
            .collect();
        TimingsSnapshot {
            buckets,
            count: self.count.load(Ordering::Relaxed),
            sum_seconds: self.sum_micros.load(Ordering::Relaxed) as f64 / 1e6,
        }
    }
}

/// Job durations as a cumulative histogram (Prometheus style).
#[derive(Debug, Clone, PartialEq)]
pub struct TimingsSnapshot {
    /// `(upper bound in seconds, jobs at or under it)`, ascending.
    pub buckets: Vec<(f64, u64)>,
    /// All jobs.
    pub count: u64,
    /// Total time of all jobs, in seconds.
    pub sum_seconds: f64,
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

/// A PHC string with the given parameters, a random salt and a random
/// output: verifying against it costs a real verification and never matches.
fn dummy_hash(params: Params) -> Result<String, HashError> {
    let mut salt = [0u8; Salt::RECOMMENDED_LENGTH];
    let mut output = [0u8; Params::RECOMMENDED_LEN];
    getrandom::fill(&mut salt).map_err(|error| HashError::Failed(error.to_string()))?;
    getrandom::fill(&mut output).map_err(|error| HashError::Failed(error.to_string()))?;
    let hash = PhcHash {
        algorithm: scrypt::phc::ALG_ID,
        version: None,
        params: params
            .try_into()
            .map_err(|error: password_hash::Error| HashError::Failed(error.to_string()))?,
        salt: Some(Salt::new(&salt).map_err(|error| HashError::Failed(error.to_string()))?),
        hash: Some(Output::new(&output).map_err(|error| HashError::Failed(error.to_string()))?),
    };
    Ok(hash.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hasher(params: ScryptParams) -> PasswordHasher {
        PasswordHasher::new(HashConfig {
            params,
            max_concurrent: 2,
            max_queued: 2,
            ..HashConfig::default()
        })
        .unwrap()
    }

    fn fast() -> PasswordHasher {
        hasher(ScryptParams::insecure_fast_for_tests())
    }

    /// Fast hashes on a pool of `max_concurrent` threads and `max_queued` places.
    fn fast_pool(max_concurrent: usize, max_queued: usize) -> PasswordHasher {
        PasswordHasher::new(HashConfig {
            params: ScryptParams::insecure_fast_for_tests(),
            max_concurrent,
            max_queued,
            ..HashConfig::default()
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
        assert_eq!(
            hasher.verify_blocking(&Password::new("right one"), Some(&hash)),
            Ok(Verification::Match { rehashed: None })
        );
        assert_eq!(
            hasher.verify_blocking(&Password::new("wrong one"), Some(&hash)),
            Ok(Verification::Mismatch)
        );
    }

    #[test]
    fn unknown_user_verifies_against_the_dummy_and_never_matches() {
        let hasher = fast();
        assert_eq!(
            hasher.verify_blocking(&Password::new("anything"), None),
            Ok(Verification::Mismatch)
        );
        assert!(hasher.inner.dummy.starts_with("$scrypt$ln=4,r=8,p=1$"));
    }

    #[test]
    fn known_vector_from_the_scrypt_crate_verifies() {
        // Made by the reference implementation (scrypt crate's own test vector).
        let stored = PasswordHash::from_stored(
            "$scrypt$ln=16,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E",
        );
        let hasher = hasher(ScryptParams::new(16, 8, 1).unwrap());
        assert_eq!(
            hasher.verify_blocking(&Password::new("password"), Some(&stored)),
            Ok(Verification::Match { rehashed: None })
        );
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
        let first = hasher.reserve().unwrap();
        let second = hasher.reserve().unwrap();
        assert_eq!(
            hasher.in_flight(),
            2,
            "reserved places count before any job"
        );
        assert!(hasher.is_saturated());
        assert!(matches!(hasher.reserve(), Err(HashError::Overloaded)));
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
        let third = hasher.reserve().unwrap();
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
    async fn a_full_queue_answers_overloaded_and_frees_slots_afterwards() {
        // One slot, one queue place: the third concurrent request is refused.
        let hasher = fast_pool(1, 1);
        let gate = Arc::new(std::sync::Barrier::new(2));
        let blocker = {
            let hasher = hasher.clone();
            let gate = Arc::clone(&gate);
            tokio::spawn(async move { hasher.reserve().unwrap().run(move || gate.wait()).await })
        };
        while hasher.inner.running.load(Ordering::Acquire) == 0 {
            tokio::task::yield_now().await;
        }
        let queued = {
            let hasher = hasher.clone();
            tokio::spawn(async move { hasher.hash(Password::new("queued")).await })
        };
        while hasher.in_flight() < 2 {
            tokio::task::yield_now().await;
        }
        assert_eq!(hasher.queued(), 1);
        assert_eq!(
            hasher.hash(Password::new("refused")).await,
            Err(HashError::Overloaded)
        );
        gate.wait();
        blocker.await.unwrap().unwrap();
        assert!(queued.await.unwrap().is_ok());
        assert_eq!(hasher.in_flight(), 0);
        assert!(hasher.hash(Password::new("after")).await.is_ok());
    }

    #[cfg(target_os = "linux")]
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn hashing_threads_run_at_the_configured_nice_value() {
        let hasher = PasswordHasher::new(HashConfig {
            params: ScryptParams::insecure_fast_for_tests(),
            max_concurrent: 1,
            thread_nice: 10,
            ..HashConfig::default()
        })
        .unwrap();
        let (name, nice) = hasher
            .reserve()
            .unwrap()
            .run(|| {
                let stat = std::fs::read_to_string("/proc/thread-self/stat").unwrap();
                // Fields after the ")" that closes the name: state is field 3, nice is 19.
                let (_, rest) = stat.rsplit_once(')').unwrap();
                let nice: i64 = rest.split_whitespace().nth(16).unwrap().parse().unwrap();
                (std::thread::current().name().map(str::to_owned), nice)
            })
            .await
            .unwrap();
        assert_eq!(name.as_deref(), Some("scrypt-0"));
        assert!((9..=10).contains(&nice), "nice {nice}");
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_panicking_job_fails_cleanly_and_the_thread_survives() {
        let hasher = PasswordHasher::new(HashConfig {
            params: ScryptParams::insecure_fast_for_tests(),
            max_concurrent: 1,
            ..HashConfig::default()
        })
        .unwrap();
        let failed = hasher.reserve().unwrap().run(|| panic!("boom")).await;
        assert!(matches!(failed, Err(HashError::Failed(_))));
        assert!(hasher.hash(Password::new("still works")).await.is_ok());
        assert_eq!(hasher.in_flight(), 0);
        let timings = hasher.timings();
        assert_eq!(timings.count, 2);
        assert_eq!(timings.buckets.last().map(|(_, n)| *n), Some(2));
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn a_queued_job_whose_request_went_away_is_not_run() {
        let hasher = fast_pool(1, 4);
        let gate = Arc::new(std::sync::Barrier::new(2));
        let blocker = {
            let (hasher, gate) = (hasher.clone(), Arc::clone(&gate));
            tokio::spawn(async move { hasher.reserve().unwrap().run(move || gate.wait()).await })
        };
        while hasher.inner.running.load(Ordering::Acquire) == 0 {
            tokio::task::yield_now().await;
        }
        let ran = Arc::new(std::sync::atomic::AtomicBool::new(false));
        let abandoned = {
            let (hasher, ran) = (hasher.clone(), Arc::clone(&ran));
            tokio::spawn(async move {
                hasher
                    .reserve()
                    .unwrap()
                    .run(move || ran.store(true, Ordering::SeqCst))
                    .await
            })
        };
        while hasher.in_flight() < 2 {
            tokio::task::yield_now().await;
        }
        assert!(!hasher.is_saturated());
        abandoned.abort();
        let _ = abandoned.await;
        gate.wait();
        blocker.await.unwrap().unwrap();
        // The next job runs after the abandoned one was dropped unrun.
        assert!(hasher.hash(Password::new("next")).await.is_ok());
        assert!(!ran.load(Ordering::SeqCst), "the abandoned job never ran");
        assert_eq!(hasher.in_flight(), 0);
    }

    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn never_more_hashes_run_than_permits() {
        let hasher = fast_pool(2, 100);
        let peak = Arc::new(AtomicUsize::new(0));
        let mut tasks = Vec::new();
        for _ in 0..40 {
            let hasher = hasher.clone();
            let peak = Arc::clone(&peak);
            tasks.push(tokio::spawn(async move {
                let inner = Arc::clone(&hasher.inner);
                hasher
                    .reserve()
                    .unwrap()
                    .run(move || {
                        let now = inner.running.load(Ordering::Acquire);
                        peak.fetch_max(now, Ordering::AcqRel);
                        std::thread::sleep(std::time::Duration::from_millis(1));
                    })
                    .await
            }));
        }
        for task in tasks {
            task.await.unwrap().unwrap();
        }
        let peak = peak.load(Ordering::Acquire);
        assert!((1..=2).contains(&peak), "peak {peak}");
    }
}
