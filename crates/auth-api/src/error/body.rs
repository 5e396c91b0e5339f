//! The JSON body of every error answer.

use poem_openapi::Object;

/// Every error body. `mfa_required` alone adds the challenge's fields.
#[derive(Clone, PartialEq, Eq, Object)]
#[oai(example)]
pub struct ErrorBody {
    /// A sentence for humans; may change between versions.
    pub error: String,
    /// A stable snake_case code for programs; never changes for a given condition.
    pub code: String,
    /// `mfa_required` only: the single-use token for `POST /login/mfa`.
    #[oai(skip_serializing_if_is_none)]
    pub mfa_token: Option<String>,
    /// `mfa_required` only: what the login can be completed with.
    #[oai(skip_serializing_if_is_none)]
    pub methods: Option<Vec<String>>,
    /// `mfa_required` only: when `mfa_token` stops working.
    #[oai(skip_serializing_if_is_none)]
    pub expires_at: Option<chrono::DateTime<chrono::Utc>>,
}

/// Written by hand: `mfa_token` is a credential.
impl std::fmt::Debug for ErrorBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ErrorBody")
            .field("error", &self.error)
            .field("code", &self.code)
            .field("mfa_token", &self.mfa_token.as_ref().map(|_| "***"))
            .finish_non_exhaustive()
    }
}

/// A login's second-step challenge, as `mfa_required` carries it.
#[derive(Clone, PartialEq, Eq)]
pub struct MfaChallengeBody {
    /// The token (a credential: `Debug` hides it).
    pub token: String,
    /// `totp`, `recovery_code`.
    pub methods: Vec<&'static str>,
    /// When the token stops working.
    pub expires_at: chrono::DateTime<chrono::Utc>,
}

impl std::fmt::Debug for MfaChallengeBody {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MfaChallengeBody")
            .field("methods", &self.methods)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

impl poem_openapi::types::Example for ErrorBody {
    fn example() -> Self {
        Self {
            error: "invalid username or password".into(),
            code: "invalid_credentials".into(),
            mfa_token: None,
            methods: None,
            expires_at: None,
        }
    }
}
