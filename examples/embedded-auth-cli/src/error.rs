//! [`CommandError`]: why a command failed, and the one `match` from
//! [`AuthError`] to an exit code and a message.
//!
//! Like the server's `ApiError::from_auth`, the matches have no `_ =>` arm: a
//! new `AuthError` variant does not compile here until someone picks its
//! exit code and words.

use std::error::Error;
use std::fmt;
use std::io;

use auth_core::retry_after_secs;
use auth_core::{AuthError, HashError, StoreError};

/// The exit codes, as `--help` lists them.
pub const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  invalid username or password (or the account needs a second factor, or is disabled)
  2  usage error (bad arguments, invalid username, nothing on stdin)
  3  not logged in: the token is malformed, unknown, expired or revoked
  4  username or email address taken (or a second factor already on or off)
  5  password refused by the policy
  6  too many failed logins for this account: retry later
  7  password hashing at capacity: retry shortly
  8  the store file cannot be read or written
  9  internal error";

/// Why a command failed.
#[derive(Debug)]
pub enum CommandError {
    /// What `auth-core` refused, or why it could not answer.
    Auth(AuthError),
    /// Standard input ended before the password or token.
    MissingInput {
        /// What was expected.
        what: &'static str,
    },
    /// Standard input could not be read.
    ReadInput(io::Error),
    /// The store file cannot be used.
    OpenStore(StoreError),
    /// The password hasher could not start (bad parameters, no threads).
    StartHasher(HashError),
}

impl From<AuthError> for CommandError {
    fn from(error: AuthError) -> Self {
        Self::Auth(error)
    }
}

impl CommandError {
    /// The process exit code (see [`EXIT_CODES`]).
    pub fn exit_code(&self) -> u8 {
        match self {
            Self::Auth(error) => match error {
                AuthError::InvalidCredentials | AuthError::UnusableStoredHash { .. } => 1,
                // No command here enrols a second factor; an account given
                // one by another program cannot log in through this CLI.
                AuthError::MfaRequired(_)
                | AuthError::InvalidCode
                | AuthError::SecondFactorRequired => 1,
                // The right password of an account disabled by another
                // program on the file: it cannot log in, as with code 1's
                // other causes; the message says why.
                AuthError::AccountDisabled => 1,
                AuthError::MfaAlreadyEnabled | AuthError::MfaNotEnabled => 4,
                // No command here takes a reset or verification link or
                // changes an address; should one, these are its codes.
                AuthError::NotAuthenticated
                | AuthError::SessionNotFound
                | AuthError::InvalidToken => 3,
                // No command here registers or uses a passkey (that needs
                // a browser); should one, these are its codes.
                AuthError::PasskeyRefused => 1,
                AuthError::InvalidPasskeyRegistration | AuthError::PasskeyNotFound => 3,
                AuthError::UsernameTaken | AuthError::EmailTaken => 4,
                // No command here runs the admin use cases (this store has
                // no admin ports); should one, these are their codes.
                AuthError::UserNotFound | AuthError::AdminKeyNotFound => 3,
                AuthError::AdminKeyNameTaken | AuthError::NoVerifiedEmail => 4,
                AuthError::WeakPassword(_) => 5,
                AuthError::Throttled { .. } => 6,
                AuthError::Overloaded => 7,
                AuthError::Storage(_) => 8,
                AuthError::Internal(_) => 9,
            },
            Self::MissingInput { .. } | Self::ReadInput(_) => 2,
            Self::OpenStore(_) => 8,
            Self::StartHasher(_) => 9,
        }
    }

    /// The message and its causes on one line, for stderr:
    /// `the store failed: storage unavailable: cannot write auth.json: …`.
    pub fn report(&self) -> String {
        let mut line = self.to_string();
        let mut cause = self.source();
        while let Some(error) = cause {
            line.push_str(": ");
            line.push_str(&error.to_string());
            cause = error.source();
        }
        line
    }
}

impl fmt::Display for CommandError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::Auth(error) => match error {
                AuthError::InvalidCredentials => f.write_str("invalid username or password"),
                // A server logs this for its operator and answers exactly as
                // for a wrong password. Whoever runs this CLI can read the
                // store file anyway, so it says why.
                AuthError::UnusableStoredHash { reason, .. } => write!(
                    f,
                    "invalid username or password (the account's stored hash cannot be verified: {reason})"
                ),
                AuthError::NotAuthenticated => f.write_str(
                    "not logged in: the token is malformed, unknown, expired or revoked",
                ),
                AuthError::SessionNotFound => f.write_str("no such session of yours"),
                AuthError::PasskeyRefused => f.write_str("the passkey was not accepted"),
                AuthError::InvalidPasskeyRegistration => {
                    f.write_str("the passkey registration was not accepted")
                }
                AuthError::PasskeyNotFound => f.write_str("no such passkey of yours"),
                AuthError::MfaRequired(_) | AuthError::SecondFactorRequired => f.write_str(
                    "this account has two-factor authentication on, which this CLI does not support",
                ),
                AuthError::InvalidCode => f.write_str("wrong or already used second-factor code"),
                AuthError::MfaAlreadyEnabled => {
                    f.write_str("two-factor authentication is already on")
                }
                AuthError::MfaNotEnabled => f.write_str("two-factor authentication is off"),
                AuthError::InvalidToken => {
                    f.write_str("the link's token is malformed, unknown, used or expired")
                }
                AuthError::UsernameTaken => f.write_str(
                    "that username is taken (names that differ only in case are one account)",
                ),
                AuthError::EmailTaken => f.write_str(
                    "that email address is taken (addresses that differ only in case are one)",
                ),
                AuthError::AccountDisabled => f.write_str("this account is disabled"),
                AuthError::UserNotFound => f.write_str("no such user"),
                AuthError::NoVerifiedEmail => {
                    f.write_str("the account has no verified email address")
                }
                AuthError::AdminKeyNameTaken => {
                    f.write_str("an admin key with this name exists (revoked ones keep their names)")
                }
                AuthError::AdminKeyNotFound => f.write_str("no live admin key has this name"),
                AuthError::WeakPassword(reason) => reason.fmt(f),
                AuthError::Throttled { retry_after } => write!(
                    f,
                    "too many failed logins for this account; try again in {} s",
                    retry_after_secs(*retry_after)
                ),
                AuthError::Overloaded => {
                    f.write_str("password hashing is at capacity; try again shortly")
                }
                AuthError::Storage(_) => f.write_str("the store failed"),
                // The detail is the source, which `report` appends.
                AuthError::Internal(_) => f.write_str("internal error"),
            },
            Self::MissingInput { what } => write!(f, "expected the {what} on standard input"),
            Self::ReadInput(_) => f.write_str("cannot read standard input"),
            Self::OpenStore(_) => f.write_str("cannot open the store"),
            Self::StartHasher(_) => f.write_str("cannot start password hashing"),
        }
    }
}

impl Error for CommandError {
    /// The cause below what [`fmt::Display`] already says: for `Auth`, the
    /// `AuthError`'s own source (its message was replaced above).
    fn source(&self) -> Option<&(dyn Error + 'static)> {
        match self {
            Self::Auth(error) => error.source(),
            Self::MissingInput { .. } => None,
            Self::ReadInput(error) => Some(error),
            Self::OpenStore(error) => Some(error),
            Self::StartHasher(error) => Some(error),
        }
    }
}
