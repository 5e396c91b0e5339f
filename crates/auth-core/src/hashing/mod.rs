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
//! - keeps one place per thread for logins ([`HashPurpose`]): registrations
//!   and password changes cannot take them, and waiting logins start first,
//! - answers [`HashError::Overloaded`] unrun to a job that waited longer
//!   than [`HashConfig::queue_timeout`], and drops a queued job whose
//!   caller went away, freeing its place at once,
//! - pads the verification of a stored hash weaker than the configured
//!   parameters (an old scrypt cost, an imported werkzeug hash) with the
//!   missing work, in the same job, so it takes what an unknown user's
//!   dummy verification takes,
//! - refuses stored hashes whose parameters exceed [`VerifyLimits`]
//!   (memory, p, and their product, the total work), so a row claiming
//!   N=2^30, or the largest memory with the largest p, cannot allocate
//!   gigabytes or take minutes of CPU.
//!
//! With the feature `werkzeug` it also verifies werkzeug's hashes (users
//! imported from the Flask service, [`crate::werkzeug`]) and replaces them on
//! a match; without it such a hash is [`HashError::UnusableHash`].
//!
//! The blocking methods ([`PasswordHasher::hash_blocking`],
//! [`PasswordHasher::verify_blocking`]) are there for CLIs and embedders
//! without Tokio; they skip the queue.
//!
//! # Layout
//!
//! - `params`: [`ScryptParams`], [`VerifyLimits`], [`HashConfig`] and the
//!   rules that relate them.
//! - `scrypt`: [`PasswordHasher`]: hash, verify, rehash, the dummy hash,
//!   reading PHC strings.
//! - `slot`: [`HashSlot`] and [`HashPurpose`], which places a job may take.
//! - `parity`: work done only so timing says nothing: the dummy hash, and
//!   the padding that brings a weaker stored hash up to the configured cost.
//! - `pool`: the bounded worker threads and their admission by class; it
//!   runs any closure and knows nothing of scrypt.
//! - `queue`: the waiting jobs in priority order, cancellation and the
//!   queue-time bound.
//! - `timings`: the job-duration histogram ([`TimingsSnapshot`]).

mod params;
mod parity;
mod pool;
mod queue;
mod scrypt;
mod slot;
mod timings;

use std::fmt;

pub use self::params::{HashConfig, HashConfigError, ScryptParams, VerifyLimits};
pub use self::scrypt::PasswordHasher;
pub use self::slot::{HashPurpose, HashSlot};
pub use self::timings::TimingsSnapshot;

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

    /// Which format the hash is in, judged from its shape alone: which
    /// verifier it goes to, not whether it verifies
    /// ([`PasswordHasher::check_usable`] says that).
    ///
    /// ```
    /// use auth_core::{HashKind, PasswordHash};
    ///
    /// let kind = |stored: &str| PasswordHash::from_stored(stored).kind();
    /// assert_eq!(kind("$scrypt$ln=17,r=8,p=1$c2FsdA$aGFzaA"), HashKind::Scrypt);
    /// assert_eq!(kind("pbkdf2:sha256:600000$salt$00ff"), HashKind::Werkzeug);
    /// assert_eq!(kind("$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"), HashKind::Unknown);
    /// assert_eq!(kind("hunter2"), HashKind::Unknown);
    /// ```
    pub fn kind(&self) -> HashKind {
        if self::scrypt::is_scrypt_phc(&self.0) {
            HashKind::Scrypt
        } else if crate::werkzeug::is_werkzeug_hash(&self.0) {
            HashKind::Werkzeug
        } else {
            HashKind::Unknown
        }
    }
}

impl fmt::Debug for PasswordHash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("PasswordHash(***)")
    }
}

/// The format of a [`PasswordHash`], from [`PasswordHash::kind`].
///
/// ```
/// use auth_core::{HashKind, PasswordHash};
/// let imported = PasswordHash::from_stored("scrypt:32768:8:1$salt$00ff");
/// assert_eq!(imported.kind(), HashKind::Werkzeug);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum HashKind {
    /// A scrypt PHC string (`$scrypt$...`), the format this crate writes.
    Scrypt,
    /// werkzeug's `method$salt$hex` with method `scrypt` or `pbkdf2`: a user
    /// imported from the Flask service, replaced at the next login. Verified
    /// only with the feature `werkzeug`; this kind is recognised either way.
    Werkzeug,
    /// Anything else (another PHC algorithm, plain text, garbage): never verifies.
    Unknown,
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
#[derive(Debug, thiserror::Error)]
pub enum HashError {
    /// All hashing slots open to the job's purpose are busy and the wait
    /// queue is full, or the job waited longer than the queue timeout; retry later.
    #[error("password hashing is at capacity")]
    Overloaded,
    /// A stored hash cannot be verified: unknown format, malformed, or
    /// parameters beyond [`VerifyLimits`]. The reason never contains the hash.
    #[error("stored password hash is unusable: {0}")]
    UnusableHash(String),
    /// Configured parameters are invalid.
    #[error(transparent)]
    InvalidParams(#[from] HashConfigError),
    /// Hashing itself failed (no randomness, a panicked job, no threads);
    /// the cause is the source.
    #[error("password hashing failed")]
    Failed(#[source] Box<dyn std::error::Error + Send + Sync>),
}

impl HashError {
    /// [`HashError::Failed`] with `cause` as its source.
    pub(crate) fn failed(cause: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self::Failed(cause.into())
    }
}

impl From<pool::PoolError> for HashError {
    fn from(error: pool::PoolError) -> Self {
        match error {
            pool::PoolError::Overloaded | pool::PoolError::TimedOut => Self::Overloaded,
            other => Self::failed(other),
        }
    }
}
