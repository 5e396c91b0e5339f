//! The account-recovery policy: how long reset and verification links live
//! and how often they may be asked for.

use std::num::NonZeroU32;

use crate::{Period, RateLimit, TokenPurpose};

/// Lifetimes of the links mailed and the budgets of asking for them.
/// Defaults: a reset link lives 30 minutes and a verification link 24
/// hours; 10 reset requests per client address and 3 reset mails per
/// account per hour; 5 verification mails per account per hour.
///
/// ```
/// use auth_core::{RecoveryPolicy, TokenPurpose};
/// let policy = RecoveryPolicy::default();
/// assert_eq!(policy.lifetime(TokenPurpose::PasswordReset).get().as_secs(), 1800);
/// assert_eq!(policy.resets_per_account.burst(), 3);
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RecoveryPolicy {
    /// How long a reset link works.
    pub reset_lifetime: Period,
    /// How long a verification link works.
    pub verification_lifetime: Period,
    /// `POST /password/forgot` per client address (IPv6 per /64), counted
    /// for every request whether or not the account exists.
    pub resets_per_address: RateLimit,
    /// Reset mails per account: more requests are answered alike and mail
    /// nothing, so a mailbox cannot be flooded.
    pub resets_per_account: RateLimit,
    /// Verification mails per account (`PUT /me/email`).
    pub verifications_per_account: RateLimit,
}

impl RecoveryPolicy {
    /// The lifetime of a token of `purpose`.
    pub fn lifetime(&self, purpose: TokenPurpose) -> Period {
        match purpose {
            TokenPurpose::PasswordReset => self.reset_lifetime,
            TokenPurpose::EmailVerification => self.verification_lifetime,
            TokenPurpose::MfaLogin => TokenPurpose::MfaLogin.default_lifetime(),
        }
    }
}

fn per_hour(count: u32) -> RateLimit {
    RateLimit::new(
        NonZeroU32::new(count).unwrap_or(NonZeroU32::MIN),
        Period::from_secs(3600),
    )
}

impl Default for RecoveryPolicy {
    fn default() -> Self {
        Self {
            reset_lifetime: TokenPurpose::PasswordReset.default_lifetime(),
            verification_lifetime: TokenPurpose::EmailVerification.default_lifetime(),
            resets_per_address: per_hour(10),
            resets_per_account: per_hour(3),
            verifications_per_account: per_hour(5),
        }
    }
}
