//! Security events: what happened to an account, when, from where. The
//! audit trail a user reads (`GET /me/events`) and an operator keeps.
//!
//! An event holds no secret: no password, token, hash or code; the client
//! address and user agent are what the request said.

use std::fmt;

use chrono::{DateTime, Utc};

use crate::{Client, UserAgent, UserId};

/// What happened. The stored and shown name is [`EventKind::as_str`].
///
/// ```
/// use auth_core::EventKind;
/// assert_eq!(EventKind::LoginFailed.as_str(), "login_failed");
/// assert_eq!(EventKind::parse("password_changed"), Some(EventKind::PasswordChanged));
/// assert_eq!(EventKind::parse("nonsense"), None);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventKind {
    /// An account was created.
    Registered,
    /// A login started a session.
    LoginSucceeded,
    /// A login with a wrong password (for an existing account).
    LoginFailed,
    /// A login refused by a limit before its password was checked.
    LoginThrottled,
    /// A session was ended by its own logout.
    LoggedOut,
    /// Sessions were ended by their user from another session (one, the
    /// others, or all of them).
    SessionRevoked,
    /// The password was changed.
    PasswordChanged,
    /// A reset link was asked for (recorded off the request path, only for
    /// an account that gets the mail).
    PasswordResetRequested,
    /// The password was set with a reset link.
    PasswordReset,
    /// The account's email address was set or changed (unverified).
    EmailChanged,
    /// The account's email address was verified.
    EmailVerified,
    /// A second factor (TOTP) was confirmed and is now asked for at login.
    MfaEnabled,
    /// The second factor was turned off.
    MfaDisabled,
    /// A wrong second-factor code (TOTP or recovery code), counted like a
    /// wrong password.
    MfaFailed,
    /// A recovery code was spent.
    RecoveryCodeUsed,
    /// New recovery codes replaced the old ones.
    RecoveryCodesRegenerated,
    /// A passkey was registered.
    PasskeyAdded,
    /// A passkey was removed.
    PasskeyRemoved,
    /// The right password (or passkey) of a disabled account: no session.
    LoginDisabled,
    /// An operator disabled the account (its sessions were ended).
    AccountDisabled,
    /// An operator enabled the account again.
    AccountEnabled,
    /// An operator deleted the account (kept after the account's own events
    /// went with it).
    AccountDeleted,
    /// An operator cleared the account's login back-off.
    BackoffCleared,
    /// An admin key was made (no account; the actor is the operator).
    AdminKeyCreated,
    /// An admin key was revoked.
    AdminKeyRevoked,
}

impl EventKind {
    /// Every kind, in a stable order.
    pub const ALL: [Self; 25] = [
        Self::Registered,
        Self::LoginSucceeded,
        Self::LoginFailed,
        Self::LoginThrottled,
        Self::LoggedOut,
        Self::SessionRevoked,
        Self::PasswordChanged,
        Self::PasswordResetRequested,
        Self::PasswordReset,
        Self::EmailChanged,
        Self::EmailVerified,
        Self::MfaEnabled,
        Self::MfaDisabled,
        Self::MfaFailed,
        Self::RecoveryCodeUsed,
        Self::RecoveryCodesRegenerated,
        Self::PasskeyAdded,
        Self::PasskeyRemoved,
        Self::LoginDisabled,
        Self::AccountDisabled,
        Self::AccountEnabled,
        Self::AccountDeleted,
        Self::BackoffCleared,
        Self::AdminKeyCreated,
        Self::AdminKeyRevoked,
    ];

    /// The stored and shown name.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Registered => "registered",
            Self::LoginSucceeded => "login_succeeded",
            Self::LoginFailed => "login_failed",
            Self::LoginThrottled => "login_throttled",
            Self::LoggedOut => "logged_out",
            Self::SessionRevoked => "session_revoked",
            Self::PasswordChanged => "password_changed",
            Self::PasswordResetRequested => "password_reset_requested",
            Self::PasswordReset => "password_reset",
            Self::EmailChanged => "email_changed",
            Self::EmailVerified => "email_verified",
            Self::MfaEnabled => "mfa_enabled",
            Self::MfaDisabled => "mfa_disabled",
            Self::MfaFailed => "mfa_failed",
            Self::RecoveryCodeUsed => "recovery_code_used",
            Self::RecoveryCodesRegenerated => "recovery_codes_regenerated",
            Self::PasskeyAdded => "passkey_added",
            Self::PasskeyRemoved => "passkey_removed",
            Self::LoginDisabled => "login_disabled",
            Self::AccountDisabled => "account_disabled",
            Self::AccountEnabled => "account_enabled",
            Self::AccountDeleted => "account_deleted",
            Self::BackoffCleared => "backoff_cleared",
            Self::AdminKeyCreated => "admin_key_created",
            Self::AdminKeyRevoked => "admin_key_revoked",
        }
    }

    /// Reads a stored name back.
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|kind| kind.as_str() == name)
    }
}

impl fmt::Display for EventKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// One security event, as stored by an [`crate::EventStore`].
///
/// ```
/// use auth_core::{Client, EventKind, SecurityEvent, UserId};
/// let client = Client::from_ip("203.0.113.5".parse().ok());
/// let event = SecurityEvent::new(EventKind::LoginSucceeded, Some(UserId::new()), &client, chrono::Utc::now());
/// assert_eq!(event.client_ip.as_deref(), Some("203.0.113.5"));
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SecurityEvent {
    /// What happened.
    pub kind: EventKind,
    /// When.
    pub at: DateTime<Utc>,
    /// Whose account, when it is known to exist.
    pub user_id: Option<UserId>,
    /// The client's address (canonical text).
    pub client_ip: Option<String>,
    /// The client's user agent.
    pub user_agent: Option<UserAgent>,
    /// The request's id (`X-Request-Id`), to find it in the logs.
    pub request_id: Option<String>,
    /// Who acted, when not the account's own user or an anonymous client:
    /// an admin key, or an operator at the command line.
    pub actor: Option<Actor>,
}

/// Who caused an event on someone else's behalf: `admin_key:<name>` (a
/// request to the admin API with that key) or `operator` (an `auth-server`
/// command run with the database's credentials).
///
/// ```
/// use auth_core::{Actor, AdminKeyName};
/// let name = AdminKeyName::parse("support-desk")?;
/// assert_eq!(Actor::admin_key(&name).as_str(), "admin_key:support-desk");
/// assert_eq!(Actor::operator().as_str(), "operator");
/// assert_eq!(Actor::from_stored("operator".to_owned()), Actor::operator());
/// # Ok::<(), auth_core::AdminKeyNameError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Actor(String);

impl Actor {
    /// A request made with the admin key named `name`.
    pub fn admin_key(name: &crate::AdminKeyName) -> Self {
        Self(format!("admin_key:{}", name.as_str()))
    }

    /// A command run at the command line.
    pub fn operator() -> Self {
        Self("operator".to_owned())
    }

    /// Wraps what a store kept.
    pub fn from_stored(stored: String) -> Self {
        Self(stored)
    }

    /// The stored and shown form.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Actor {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl SecurityEvent {
    /// An event of `kind` for `user_id`, from `client`, at `at`.
    pub fn new(
        kind: EventKind,
        user_id: Option<UserId>,
        client: &Client,
        at: DateTime<Utc>,
    ) -> Self {
        Self {
            kind,
            at,
            user_id,
            client_ip: client.recorded_ip(),
            user_agent: client.user_agent.clone(),
            request_id: client.request_id.clone(),
            actor: None,
        }
    }

    /// The same event, caused by `actor`.
    #[must_use]
    pub fn by(mut self, actor: Option<Actor>) -> Self {
        self.actor = actor;
        self
    }
}
