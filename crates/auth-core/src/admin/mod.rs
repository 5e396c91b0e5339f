//! What the admin use cases need beyond the other ports: admin keys
//! ([`AdminKeyStore`]), finding and disabling users ([`UserDirectory`]),
//! and reading the whole audit trail ([`AuditLog`]).
//!
//! These ports are optional for an embedder: the admin use cases
//! (`service/admin.rs`) exist for a store that implements [`AdminStore`],
//! and a service without an admin API needs none of them. Their contract is
//! [`crate::admin_conformance!`].
//!
//! # Layout
//! - `keys.rs`: the key a caller presents, its stored hash, its name.
//! - `directory.rs`: user search and the audit trail's query.

mod directory;
mod keys;

pub use directory::{
    AuditLog, EventQuery, EventSeq, LoggedEvent, USER_SEARCH_MAX_CHARS, UserDirectory, UserSearch,
};
pub use keys::{
    ADMIN_KEY_NAME_MAX_CHARS, AdminKey, AdminKeyHash, AdminKeyId, AdminKeyName, AdminKeyNameError,
    AdminKeyStore, AdminKeyToken,
};

/// Every port the admin use cases use: the [`crate::Store`] and the three
/// admin ports. Implemented for every type that has them all.
pub trait AdminStore: crate::Store + AdminKeyStore + UserDirectory + AuditLog {}

impl<T> AdminStore for T where T: crate::Store + AdminKeyStore + UserDirectory + AuditLog {}
