//! Users and their ids.

use std::fmt;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::{PasswordHash, UserEmail, Username};

/// A user's id: a UUID v7, so ids sort by creation time and index well.
///
/// ```
/// use auth_core::UserId;
/// let id = UserId::new();
/// assert_eq!(id.as_uuid().get_version_num(), 7);
/// assert_eq!(UserId::from_uuid(*id.as_uuid()), id);
/// ```
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UserId(Uuid);

impl UserId {
    /// A fresh, time-ordered id.
    #[allow(clippy::new_without_default)] // a default id would be a random one: say so at the call site
    pub fn new() -> Self {
        Self(Uuid::now_v7())
    }

    /// Wraps an id read from storage or a request.
    pub fn from_uuid(uuid: Uuid) -> Self {
        Self(uuid)
    }

    /// The UUID.
    pub fn as_uuid(&self) -> &Uuid {
        &self.0
    }
}

impl fmt::Display for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

impl fmt::Debug for UserId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UserId({})", self.0)
    }
}

/// A registered user.
///
/// ```
/// use auth_core::{PasswordHash, User, UserId, Username};
/// use chrono::Utc;
///
/// let now = Utc::now();
/// let user = User {
///     id: UserId::new(),
///     username: Username::parse("alice")?,
///     password_hash: PasswordHash::from_stored("$scrypt$..."),
///     created_at: now,
///     updated_at: now,
///     email: None,
///     disabled_at: None,
/// };
/// assert!(!format!("{user:?}").contains("$scrypt$"));
/// assert!(!user.is_disabled());
/// # Ok::<(), auth_core::UsernameError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct User {
    /// Stable id.
    pub id: UserId,
    /// Name as typed, with its canonical key.
    pub username: Username,
    /// The stored hash (PHC string).
    pub password_hash: PasswordHash,
    /// Registration time.
    pub created_at: DateTime<Utc>,
    /// Last change (password hash or email replaced).
    pub updated_at: DateTime<Utc>,
    /// The account's email address, if it has one, and whether it is
    /// verified. Unique across accounts without regard to case.
    pub email: Option<UserEmail>,
    /// When an operator disabled the account (`None`: enabled). A disabled
    /// account has no sessions, and its right password gets
    /// [`crate::AuthError::AccountDisabled`]; stores create users enabled
    /// and change this only through [`crate::UserDirectory::set_user_disabled`].
    pub disabled_at: Option<DateTime<Utc>>,
}

impl User {
    /// Whether an operator has disabled the account.
    pub fn is_disabled(&self) -> bool {
        self.disabled_at.is_some()
    }
}
