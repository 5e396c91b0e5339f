//! From database errors to [`StoreError`]: the only place that looks at
//! what kind of error the database reported.
//!
//! A unique violation is recognised by SeaORM's classification
//! ([`DbErr::sql_err`] → [`SqlErr::UniqueConstraintViolation`]), which reads
//! the SQLSTATE on PostgreSQL and the extended result code on SQLite, never
//! the message text. Everything else is [`StoreError::Unavailable`] with the
//! cause kept as its source, for logs. No message built here contains a
//! password hash, a session id or a connection URL.

use std::time::Duration;

use auth_core::{StoreError, UsernameError};
use sea_orm::{DbErr, SqlErr};
use uuid::Uuid;

use crate::DatabaseUrlError;

/// Any failure but a refused unique key: the store could not answer.
pub(crate) fn unavailable(error: DbErr) -> StoreError {
    StoreError::unavailable(error)
}

/// A failed `INSERT INTO users`. The unique keys a new user can hit in
/// practice are `username_canonical`, `skeleton` and `email_canonical` (the
/// id is a fresh UUID v7); `email_taken` tells whether the address is held
/// (asked only after a unique violation), else the name, or a look-alike,
/// is taken.
pub(crate) fn create_user_failed(error: DbErr, email_taken: bool) -> StoreError {
    if !is_unique_violation(&error) {
        unavailable(error)
    } else if email_taken {
        StoreError::EmailTaken
    } else {
        StoreError::UsernameTaken
    }
}

/// A failed `INSERT INTO admin_keys`. Its unique keys are `name` and
/// `key_hash`; `name_taken` tells whether a key holds the name (asked only
/// after a unique violation). A duplicate hash alone means the same key was
/// stored twice, which no caller does: that stays `Unavailable`.
pub(crate) fn insert_admin_key_failed(error: DbErr, name_taken: bool) -> StoreError {
    if is_unique_violation(&error) && name_taken {
        StoreError::NameTaken
    } else {
        unavailable(error)
    }
}

/// Whether the database refused a write for a unique key (both backends).
pub(crate) fn is_unique_violation(error: &DbErr) -> bool {
    matches!(error.sql_err(), Some(SqlErr::UniqueConstraintViolation(_)))
}

/// A row that does not map back to a domain value. It was not written by
/// this store (or by a version with other rules), so the store is treated
/// as failing rather than the row as absent.
#[derive(Debug, thiserror::Error)]
pub(crate) enum CorruptRow {
    /// The stored display name no longer parses as a [`auth_core::Username`].
    #[error("users row {id}: the stored username is not a valid username")]
    Username {
        /// The row.
        id: Uuid,
        /// Which rule it breaks.
        #[source]
        source: UsernameError,
    },
    /// The stored email address no longer parses.
    #[error("users row {id}: the stored email is not a valid address")]
    Email {
        /// The row.
        id: Uuid,
    },
    /// An outbox row with a kind or recipient this version cannot read.
    #[error("mail_outbox row {id}: unknown kind or invalid recipient")]
    Mail {
        /// The row.
        id: Uuid,
    },
    /// A revocation-log row naming neither a 32-byte session id nor a user.
    #[error("session_revocations row {position}: names neither a session nor a user")]
    Revocation {
        /// The row.
        position: i64,
    },
    /// A session id that is not a 32-byte SHA-256 digest.
    #[error("sessions row of user {user_id}: the id is {len} bytes, expected 32")]
    SessionIdLength {
        /// The owner, to find the row (the id itself is not logged).
        user_id: Uuid,
        /// The stored length.
        len: usize,
    },
    /// An event kind this version does not know (written by a newer one).
    #[error("events row {id}: unknown event kind")]
    EventKind {
        /// The row.
        id: i64,
    },
    /// An admin key whose name no longer parses or whose hash is not a
    /// 32-byte SHA-256 digest.
    #[error("admin_keys row {id}: invalid name or a hash that is not 32 bytes")]
    AdminKey {
        /// The row.
        id: Uuid,
    },
    /// A device id that is not a 32-byte SHA-256 digest.
    #[error("devices row: the id is {len} bytes, expected 32")]
    DeviceIdLength {
        /// The stored length.
        len: usize,
    },
}

impl From<CorruptRow> for StoreError {
    fn from(error: CorruptRow) -> Self {
        StoreError::unavailable(error)
    }
}

/// Why [`crate::SeaStore::connect`] refused or failed before the database
/// answered. Messages name the problem, never the URL (it may hold a
/// password).
#[derive(Debug, thiserror::Error)]
pub(crate) enum ConnectError {
    /// The URL names no supported backend.
    #[error(transparent)]
    Url(#[from] DatabaseUrlError),
    /// The first connection did not open in time.
    #[error("no database connection within {0:?}")]
    Timeout(Duration),
}

impl From<ConnectError> for StoreError {
    fn from(error: ConnectError) -> Self {
        StoreError::unavailable(error)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_other_than_unique_violations_are_unavailable() {
        let error = create_user_failed(DbErr::Custom("disk I/O error".into()), false);
        assert!(matches!(error, StoreError::Unavailable(_)));
    }

    #[test]
    fn a_failed_admin_key_insert_other_than_a_unique_violation_is_unavailable() {
        let error = insert_admin_key_failed(DbErr::Custom("disk I/O error".into()), true);
        assert!(matches!(error, StoreError::Unavailable(_)));
    }

    #[test]
    fn corrupt_rows_are_unavailable_and_say_which_row() {
        let id = Uuid::nil();
        let error: StoreError = CorruptRow::SessionIdLength {
            user_id: id,
            len: 3,
        }
        .into();
        let StoreError::Unavailable(source) = error else {
            panic!("expected Unavailable");
        };
        assert_eq!(
            source.to_string(),
            format!("sessions row of user {id}: the id is 3 bytes, expected 32")
        );
    }
}

/// A store operation that did not finish within its time limit.
#[derive(Debug, thiserror::Error)]
#[error("the database did not answer within {0:?}")]
pub(crate) struct OperationTimedOut(pub(crate) std::time::Duration);
