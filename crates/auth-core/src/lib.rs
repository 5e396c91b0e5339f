#![doc = include_str!("../README.md")]
//!
//! # Layout
//!
//! - [`username`], [`password`]: parsed, normalised inputs and the password policy.
//! - [`hashing`]: scrypt PHC hashing on bounded, lower-priority threads; [`werkzeug`]:
//!   verifying the hashes of users imported from the Flask service (feature `werkzeug`).
//! - [`session`]: tokens, their stored ids, expiry rules.
//! - [`clock`]: time as an input.
//! - [`cache`]: the in-process session cache and its invalidation rules.
//! - [`throttle`]: login back-off rules (pure functions of failures and time).
//! - [`store`]: the storage ports; [`memory`]: the reference implementation.
//! - [`service`]: the use cases ([`Authenticator`]) and [`AuthError`].
//! - `conformance` (feature `testing`): the contract every store runs.

pub mod cache;
pub mod clock;
#[cfg(feature = "testing")]
pub mod conformance;
pub mod hashing;
pub mod memory;
pub mod password;
mod period;
pub mod service;
pub mod session;
pub mod store;
pub mod throttle;
pub mod user;
pub mod username;
pub mod werkzeug;

pub use cache::{CacheEvent, SessionCache};
pub use clock::{Clock, ManualClock, SystemClock};
pub use hashing::{
    HashConfig, HashConfigError, HashError, HashKind, HashPurpose, HashSlot, PasswordHash,
    PasswordHasher, ScryptParams, TimingsSnapshot, Verification, VerifyLimits,
};
pub use memory::MemoryStore;
pub use password::{Password, PasswordError, PasswordPolicy};
pub use period::{Period, PeriodError};
pub use service::{AuthError, Authenticated, Authenticator, LoginSuccess, Purged};
pub use session::{Session, SessionId, SessionPolicy, SessionToken, TokenError};
pub use store::{SessionStore, Store, StoreError, ThrottleStore, UserRepository};
pub use throttle::{FailureStats, ThrottlePolicy};
pub use user::{User, UserId};
pub use username::{USERNAME_MAX_CHARS, USERNAME_MIN_CHARS, Username, UsernameError};
