//! One `#[OpenApi]` impl per group of routes. Handlers are thin: parse into
//! domain types, call the `Authenticator`, map the result. Each operation
//! has its own error type (`crate::operation_errors!`), so the document
//! lists exactly the statuses and codes it answers.

pub mod admin;
pub mod email;
pub mod fields;
pub mod login;
pub mod logout;
pub mod me;
pub mod mfa;
pub mod ops;
pub mod pages;
pub mod passkey_login;
pub mod passkeys;
pub mod password;
pub mod protected;
pub mod recovery;
pub mod register;
pub mod sessions;
pub mod table;

use auth_core::{Authenticated, Authenticator, Store};
use poem_openapi::{Object, Tags};

use crate::error::ApiError;
use crate::security::SessionAuth;

/// Groups in the OpenAPI document.
#[derive(Debug, Tags)]
pub enum ApiTags {
    /// Register, log in, log out.
    Auth,
    /// Routes that need a session.
    Session,
    /// The caller's own account: profile, sessions, password, deletion,
    /// activity. Each needs a live session.
    Account,
    /// Email verification and password reset: the routes a link in a mail
    /// leads to, and asking for such a link. None needs a session.
    Recovery,
    /// Second factors: TOTP setup, confirmation and removal, recovery
    /// codes. Each needs a live session.
    Mfa,
    /// Passkeys (WebAuthn): registering, listing, renaming and removing
    /// them. Each needs a live session; logging in with one is under Auth.
    Passkeys,
    /// Liveness and readiness.
    Operations,
}

/// `{"username", "password"}`, the body of `/login`. No length limits: a
/// password set before today's policy (an imported account) must still log
/// in, and a name that cannot exist just fails as a wrong password does.
#[derive(Object)]
#[oai(example)]
pub struct Credentials {
    /// The username as registered, in any case (`John.Doe` and `john.doe`
    /// are one account).
    pub username: String,
    /// The account's password.
    #[oai(write_only)]
    pub password: String,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"***")
            .finish()
    }
}

impl poem_openapi::types::Example for Credentials {
    fn example() -> Self {
        Self {
            username: "john.doe".into(),
            password: "correct horse battery staple".into(),
        }
    }
}

/// `{"message": ...}`.
#[derive(Debug, Object)]
pub struct MessageBody {
    /// What happened.
    pub message: String,
}

/// The live session `presented`, or `unauthenticated` (the route's answer
/// to a missing, expired or revoked one: `unauthorized`, or
/// `not_logged_in` on the logout routes).
pub(crate) async fn live_session<S: Store>(
    auth: &Authenticator<S>,
    presented: &SessionAuth,
    unauthenticated: ApiError,
) -> Result<Authenticated, ApiError> {
    auth.authenticate(presented.token())
        .await
        .map_err(|error| ApiError::from_auth(error, unauthenticated))
}
