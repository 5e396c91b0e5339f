//! One `#[OpenApi]` impl per group of routes. Handlers are thin: parse into
//! domain types, call the `Authenticator`, map the result. Each operation
//! has its own error type (`crate::operation_errors!`), so the document
//! lists exactly the statuses and codes it answers.

pub mod fields;
pub mod login;
pub mod logout;
pub mod ops;
pub mod protected;
pub mod register;
pub mod table;

use poem_openapi::{Object, Tags};

/// Groups in the OpenAPI document.
#[derive(Debug, Tags)]
pub enum ApiTags {
    /// Register, log in, log out.
    Auth,
    /// Routes that need a session.
    Session,
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
