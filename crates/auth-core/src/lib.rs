#![doc = include_str!("../README.md")]
//!
//! # Layout
//!
//! Every type has one path, at the crate root; the modules are private and
//! named for the files a reader opens:
//!
//! - `username.rs`, `password.rs`: parsed, normalised inputs ([`Username`],
//!   [`Password`]) and the [`PasswordPolicy`]; [`AccountKey`], whose login
//!   failures count together; [`UsernameSkeleton`], which names look alike.
//! - `hashing/`: scrypt PHC hashing ([`PasswordHasher`]) on bounded,
//!   lower-priority threads; `werkzeug.rs`: verifying the hashes of users
//!   imported from the Flask service (feature `werkzeug`).
//! - `user.rs`: [`User`] and [`UserId`], what stores keep about an account.
//! - `session.rs`: tokens, their stored ids, expiry rules ([`SessionPolicy`]).
//! - `period.rs`: [`Period`], a configured length of time, and checked time arithmetic.
//! - `clock.rs`: time as an input ([`Clock`]).
//! - `cache.rs`: the in-process [`SessionCache`] and its invalidation rules.
//! - `throttle.rs`: login back-off rules ([`ThrottlePolicy`], pure functions of failures and time).
//! - `store.rs`: the storage ports ([`Store`]); `memory.rs`: the reference [`MemoryStore`].
//! - `service.rs`: the use cases ([`Authenticator`]) and [`AuthError`].
//! - [`conformance`] (feature `testing`): the contract every store runs.

mod cache;
mod clock;
#[cfg(feature = "testing")]
pub mod conformance;
mod hashing;
mod memory;
mod password;
mod period;
mod service;
mod session;
mod store;
mod throttle;
mod user;
mod username;
mod werkzeug;

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
pub use throttle::{
    FailureBudget, FailureStats, ThrottlePolicy, address_budget_key, retry_after_secs,
};
pub use user::{User, UserId};
pub use username::{
    AccountKey, USERNAME_MAX_CHARS, USERNAME_MIN_CHARS, Username, UsernameError, UsernameSkeleton,
};
