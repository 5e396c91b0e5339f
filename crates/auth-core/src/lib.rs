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
//! - `session/`: sessions and their expiry rules ([`SessionPolicy`]);
//!   `session/token.rs`: tokens, their stored ids and public handles.
//! - `period.rs`: [`Period`], a configured length of time, and checked time arithmetic.
//! - `clock.rs`: time as an input ([`Clock`]).
//! - `cache/`: the in-process [`SessionCache`] and its invalidation rules;
//!   `cache/confirm.rs`: confirming a process's cached sessions against a
//!   shared store's [`RevocationLog`], one query for all waiting requests.
//! - `revocation.rs`: the entries of that log ([`Revocation`], [`LogPosition`]).
//! - `throttle/`: login back-off rules ([`ThrottlePolicy`], pure functions
//!   of failures and time), rate limits as rate plus burst ([`RateLimit`],
//!   [`RegisterLimits`]) and address keys.
//! - `event.rs`: security events ([`SecurityEvent`], [`EventKind`]), the audit trail.
//! - `device.rs`: device cookies ([`DeviceToken`], [`DevicePolicy`]), which
//!   exempt a known client from the address budget and the account back-off.
//! - `one_time.rs`: the tokens in reset and verification links
//!   ([`OneTimeToken`], stored only as [`OneTimeTokenHash`]) and their port,
//!   [`OneTimeTokenStore`].
//! - `email.rs`: account addresses ([`EmailAddress`], [`UserEmail`]),
//!   unique without regard to case.
//! - `outbox.rs`: the durable outbox ([`QueuedMail`], [`MailOutbox`]);
//!   `mail.rs`: the delivery ports ([`MailTransport`], [`MailComposer`]).
//! - `passkey/`: passkeys (WebAuthn): the stored [`Passkey`], its ports
//!   [`PasskeyStore`] and [`CeremonyStore`], and the [`RelyingParty`]
//!   (`passkey/relying_party.rs`) from the public URL.
//! - `recovery.rs`: link lifetimes and request budgets ([`RecoveryPolicy`]).
//! - `store.rs`: the storage ports ([`Store`]); `memory.rs`: the reference [`MemoryStore`].
//! - `service/`: the use cases ([`Authenticator`]) and [`AuthError`];
//!   `client.rs`: who is asking ([`Client`], [`UserAgent`]).
//! - [`conformance`] (feature `testing`): the contract every store runs.

mod admin;
mod cache;
mod client;
mod clock;
#[cfg(feature = "testing")]
pub mod conformance;
mod device;
mod email;
mod event;
mod hashing;
mod keyring;
mod mail;
mod memory;
mod mfa;
mod one_time;
mod outbox;
mod passkey;
mod password;
mod period;
mod recovery;
mod revocation;
mod service;
mod session;
mod store;
mod throttle;
mod user;
mod username;
mod werkzeug;

pub use admin::{
    ADMIN_KEY_NAME_MAX_CHARS, AdminKey, AdminKeyHash, AdminKeyId, AdminKeyName, AdminKeyNameError,
    AdminKeyStore, AdminKeyToken, AdminStore, AuditLog, EventQuery, EventSeq, LoggedEvent,
    USER_SEARCH_MAX_CHARS, UserDirectory, UserSearch,
};
pub use cache::{LeaseKeeper, LeasePolicy, SessionCache};
pub use client::{Client, USER_AGENT_MAX_CHARS, UserAgent};
pub use clock::{Clock, ManualClock, SystemClock};
pub use device::{Device, DeviceId, DevicePolicy, DeviceToken};
pub use email::{EMAIL_MAX_LEN, EmailAddress, EmailError, UserEmail};
pub use event::{Actor, EventKind, SecurityEvent};
pub use hashing::{
    HashConfig, HashConfigError, HashError, HashKind, HashPurpose, HashSlot, PasswordHash,
    PasswordHasher, ScryptParams, TimingsSnapshot, Verification, VerifyLimits,
};
pub use keyring::{Keyring, KeyringError, SealedSecret};
pub use mail::{Letter, MailComposer, MailError, MailMessage, MailTransport};
pub use memory::MemoryStore;
pub use mfa::{
    MfaCode, RECOVERY_CODE_COUNT, RecoveryCode, RecoveryCodeHash, SecondFactorStore,
    TOTP_SKEW_STEPS, TOTP_STEP_SECONDS, TotpCode, TotpError, TotpFactor, TotpSecret,
};
pub use one_time::{
    ConsumedToken, IssuedToken, OneTimeToken, OneTimeTokenHash, OneTimeTokenStore,
    SPENT_TOKEN_RETENTION, TokenPurpose,
};
pub use outbox::{MailId, MailKind, MailOutbox, OutboxPolicy, OutboxStats, QueuedMail};
pub use passkey::{
    CEREMONY_LIFETIME, Ceremony, CeremonyStore, PASSKEY_NAME_MAX_CHARS, Passkey, PasskeyId,
    PasskeyName, PasskeyStore, RelyingParty, RelyingPartyError,
};
pub use password::{Password, PasswordError, PasswordPolicy};
pub use period::{Period, PeriodError};
pub use recovery::RecoveryPolicy;
pub use revocation::{
    AppendNotifier, AppendSignal, LeaseHolder, LogPosition, LoggedRevocation, MAX_CACHE_LEASE,
    REVOCATION_LOG_RETENTION, Revocation,
};
pub use service::{
    AuditSink, AuthError, Authenticated, Authenticator, BackoffState, DEFAULT_EVENT_RETENTION,
    DeliveryFailure, DeliveryReport, EventPage, LoginSuccess, MAX_ADMIN_PAGE, MAX_EVENTS_PAGE,
    MfaChallenge, MfaMethod, MfaPolicy, PasskeyOptions, Purged, ResetTarget, SecondFactors,
    TotpSetup, UserOverview, UserPage,
};
pub use session::{Session, SessionHandle, SessionId, SessionPolicy, SessionToken, TokenError};
pub use store::{
    DeviceStore, EventStore, RateLimitStore, RevocationLog, SessionStore, Store, StoreError,
    ThrottleStore, UserRepository,
};
pub use throttle::{
    FailureStats, IN_FLIGHT_WAIT, RateKey, RateLimit, RegisterLimits, Reservation, ThrottlePolicy,
    address_budget_key, retry_after_secs,
};
pub use user::{User, UserId};
pub use username::{
    AccountKey, USERNAME_MAX_CHARS, USERNAME_MIN_CHARS, Username, UsernameError, UsernameSkeleton,
};
