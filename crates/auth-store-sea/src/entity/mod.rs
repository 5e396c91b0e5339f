//! SeaORM entities: one file per table, each with its mapping to and from
//! the domain type.
//!
//! Entities are this crate's private business: the domain types
//! (`auth_core::User`, `auth_core::Session`) are what leaves it. The schema
//! itself is owned by the `migration` crate, which never imports these.

pub(crate) mod admin_key;
pub(crate) mod device;
pub(crate) mod event;
pub(crate) mod flask_user_id;
pub(crate) mod login_failure;
pub(crate) mod login_reservation;
pub(crate) mod mail_outbox;
pub(crate) mod one_time_token;
pub(crate) mod passkey;
pub(crate) mod rate_limit;
pub(crate) mod recovery_code;
pub(crate) mod session;
pub(crate) mod session_revocation;
pub(crate) mod throttle_lock;
pub(crate) mod totp_factor;
pub(crate) mod user;
pub(crate) mod webauthn_challenge;
