//! The [`MemoryStore`]'s second factors: each user's TOTP factor and set of
//! recovery-code hashes, changed together under the store's lock.

use std::collections::{HashMap, HashSet};

use chrono::{DateTime, Utc};

use super::MemoryStore;
use crate::{
    RecoveryCodeHash, Revocation, SealedSecret, SecondFactorStore, StoreError, TotpFactor, UserId,
};

#[derive(Debug, Default)]
pub(super) struct Factors {
    totp: HashMap<UserId, TotpFactor>,
    codes: HashMap<UserId, HashSet<RecoveryCodeHash>>,
}

impl Factors {
    /// Forgets `user`'s factors (the account is being deleted).
    pub(super) fn remove_user(&mut self, user: UserId) {
        self.totp.remove(&user);
        self.codes.remove(&user);
    }
}

impl SecondFactorStore for MemoryStore {
    async fn find_totp(&self, user: UserId) -> Result<Option<TotpFactor>, StoreError> {
        Ok(self.state().factors.totp.get(&user).cloned())
    }

    async fn stage_totp(&self, factor: &TotpFactor) -> Result<bool, StoreError> {
        let mut state = self.state();
        let factors = &mut state.factors;
        if factors
            .totp
            .get(&factor.user_id)
            .is_some_and(TotpFactor::is_enabled)
        {
            return Ok(false);
        }
        let pending = TotpFactor {
            enabled_at: None,
            last_step: None,
            ..factor.clone()
        };
        factors.totp.insert(factor.user_id, pending);
        Ok(true)
    }

    async fn enable_totp(
        &self,
        user: UserId,
        secret: &SealedSecret,
        step: u64,
        codes: &[RecoveryCodeHash],
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut state = self.state();
        let factors = &mut state.factors;
        let Some(factor) = factors.totp.get_mut(&user) else {
            return Ok(false);
        };
        if factor.is_enabled() || factor.secret != *secret {
            return Ok(false);
        }
        factor.enabled_at = Some(at);
        factor.last_step = Some(step);
        factors.codes.insert(user, codes.iter().copied().collect());
        state.log(Revocation::SecondFactors(user));
        Ok(true)
    }

    async fn use_totp_step(&self, user: UserId, step: u64) -> Result<bool, StoreError> {
        let mut state = self.state();
        let Some(factor) = state.factors.totp.get_mut(&user) else {
            return Ok(false);
        };
        if !factor.is_enabled() || factor.last_step.is_some_and(|last| last >= step) {
            return Ok(false);
        }
        factor.last_step = Some(step);
        Ok(true)
    }

    async fn remove_totp(&self, user: UserId) -> Result<bool, StoreError> {
        let mut state = self.state();
        state.factors.codes.remove(&user);
        let removed = state.factors.totp.remove(&user).is_some();
        if removed {
            state.log(Revocation::SecondFactors(user));
        }
        Ok(removed)
    }

    async fn replace_recovery_codes(
        &self,
        user: UserId,
        codes: &[RecoveryCodeHash],
        _at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut state = self.state();
        let factors = &mut state.factors;
        if !factors.totp.get(&user).is_some_and(TotpFactor::is_enabled) {
            return Ok(false);
        }
        factors.codes.insert(user, codes.iter().copied().collect());
        state.log(Revocation::SecondFactors(user));
        Ok(true)
    }

    async fn use_recovery_code(
        &self,
        user: UserId,
        code: &RecoveryCodeHash,
    ) -> Result<bool, StoreError> {
        let mut state = self.state();
        let spent = state
            .factors
            .codes
            .get_mut(&user)
            .is_some_and(|codes| codes.remove(code));
        if spent {
            state.log(Revocation::SecondFactors(user));
        }
        Ok(spent)
    }

    async fn count_recovery_codes(&self, user: UserId) -> Result<u64, StoreError> {
        let state = self.state();
        let count = state.factors.codes.get(&user).map_or(0, HashSet::len);
        Ok(u64::try_from(count).unwrap_or(u64::MAX))
    }
}
