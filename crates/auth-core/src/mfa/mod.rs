//! Second factors: a TOTP key ([`TotpSecret`], stored sealed as a
//! [`TotpFactor`]), its recovery codes ([`RecoveryCode`]), what a user types
//! at the second step ([`MfaCode`]), and the port that keeps them
//! ([`SecondFactorStore`]). The use cases are in `service/mfa.rs`.

mod recovery_codes;
mod totp;

use std::future::Future;

use chrono::{DateTime, Utc};

pub use recovery_codes::{RECOVERY_CODE_COUNT, RecoveryCode, RecoveryCodeHash};
pub use totp::{TOTP_SKEW_STEPS, TOTP_STEP_SECONDS, TotpCode, TotpError, TotpSecret};

use crate::{SealedSecret, StoreError, UserId};

/// A code given at the second step: six digits are a TOTP code, anything
/// else must be a recovery code.
///
/// ```
/// use auth_core::MfaCode;
/// assert!(matches!(MfaCode::parse("123 456"), Some(MfaCode::Totp(_))));
/// assert!(matches!(MfaCode::parse("abcd-efgh-ijkl-mnop"), Some(MfaCode::Recovery(_))));
/// assert!(MfaCode::parse("hello").is_none());
/// ```
#[derive(Debug, Clone)]
pub enum MfaCode {
    /// From the authenticator app.
    Totp(TotpCode),
    /// One of the ten printed codes.
    Recovery(RecoveryCode),
}

impl MfaCode {
    /// `None` for text that is neither form (it cannot match anything).
    pub fn parse(input: &str) -> Option<Self> {
        TotpCode::parse(input)
            .map(Self::Totp)
            .or_else(|| RecoveryCode::parse(input).map(Self::Recovery))
    }
}

/// A user's TOTP factor as stored. It is pending from setup until a correct
/// code confirms it (`enabled_at`), and only an enabled factor is asked for
/// at login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TotpFactor {
    /// Whose.
    pub user_id: UserId,
    /// The key, sealed for `totp:<user id>`.
    pub secret: SealedSecret,
    /// When setup made it.
    pub created_at: DateTime<Utc>,
    /// When a code confirmed it; `None` while pending.
    pub enabled_at: Option<DateTime<Utc>>,
    /// The last step a code was accepted for: no code of this step or an
    /// earlier one is accepted again (RFC 6238 §5.2).
    pub last_step: Option<u64>,
}

impl TotpFactor {
    /// Whether login asks for it.
    pub fn is_enabled(&self) -> bool {
        self.enabled_at.is_some()
    }
}

/// The associated data a user's TOTP key is sealed for.
pub(crate) fn totp_context(user: UserId) -> Vec<u8> {
    format!("totp:{}", user.as_uuid()).into_bytes()
}

/// Where second factors are kept. Every method is atomic; the ones that
/// return `bool` say whether they changed anything, and are how concurrent
/// requests are told apart (two logins with one code: one gets `true`).
/// Deleting a user deletes their factor and codes.
///
/// The contract is `auth_core::conformance::mfa_conformance!`.
pub trait SecondFactorStore: Send + Sync {
    /// The user's TOTP factor, pending or enabled.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn find_totp(
        &self,
        user: UserId,
    ) -> impl Future<Output = Result<Option<TotpFactor>, StoreError>> + Send;

    /// Stores a pending factor (`enabled_at` and `last_step` are `None`),
    /// replacing a pending one; `false` (and nothing changed) if the user
    /// has an enabled one.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn stage_totp(
        &self,
        factor: &TotpFactor,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Enables the pending factor sealed as `secret` (not one a newer setup
    /// replaced), records `step` as used, and replaces the user's recovery
    /// codes with `codes`, in one transaction; `false` if there is no such
    /// pending factor.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn enable_totp(
        &self,
        user: UserId,
        secret: &crate::SealedSecret,
        step: u64,
        codes: &[RecoveryCodeHash],
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Records `step` as used if the enabled factor's last used step is
    /// older (or none): `false` for a replay, or if there is no enabled
    /// factor.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn use_totp_step(
        &self,
        user: UserId,
        step: u64,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Removes the factor (pending or enabled) and every recovery code;
    /// `false` if there was no factor.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn remove_totp(&self, user: UserId) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Replaces the user's recovery codes, if their factor is enabled.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn replace_recovery_codes(
        &self,
        user: UserId,
        codes: &[RecoveryCodeHash],
        at: DateTime<Utc>,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// Spends one of the user's recovery codes: `true` once per code.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn use_recovery_code(
        &self,
        user: UserId,
        code: &RecoveryCodeHash,
    ) -> impl Future<Output = Result<bool, StoreError>> + Send;

    /// How many unspent recovery codes the user has.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] only.
    fn count_recovery_codes(
        &self,
        user: UserId,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
}
