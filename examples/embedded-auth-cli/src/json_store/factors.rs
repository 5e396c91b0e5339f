//! [`SecondFactorStore`] for [`JsonFileStore`]: each user's TOTP factor and
//! recovery-code hashes, by user id. Every change is one rewrite under the
//! file's write locks, so a step or a code is spent by one caller only.

use auth_core::{
    RecoveryCodeHash, SealedSecret, SecondFactorStore, StoreError, TotpFactor, UserId,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{JsonFileStore, Outcome};

/// A TOTP factor as the file keeps it (the key sealed, never in clear).
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StoredTotp {
    user_id: Uuid,
    secret: String,
    created_at: DateTime<Utc>,
    enabled_at: Option<DateTime<Utc>>,
    last_step: Option<u64>,
}

impl StoredTotp {
    pub(super) fn user_id(&self) -> Uuid {
        self.user_id
    }

    fn to_domain(&self) -> TotpFactor {
        TotpFactor {
            user_id: UserId::from_uuid(self.user_id),
            secret: SealedSecret::from_stored(self.secret.clone()),
            created_at: self.created_at,
            enabled_at: self.enabled_at,
            last_step: self.last_step,
        }
    }
}

fn key(user: UserId) -> String {
    user.as_uuid().to_string()
}

fn hashes(codes: &[RecoveryCodeHash]) -> Vec<String> {
    codes
        .iter()
        .map(|code| hex::encode(code.as_bytes()))
        .collect()
}

impl SecondFactorStore for JsonFileStore {
    async fn find_totp(&self, user: UserId) -> Result<Option<TotpFactor>, StoreError> {
        let key = key(user);
        self.read(move |contents| contents.totp.get(&key).map(StoredTotp::to_domain))
            .await
    }

    async fn stage_totp(&self, factor: &TotpFactor) -> Result<bool, StoreError> {
        let stored = StoredTotp {
            user_id: *factor.user_id.as_uuid(),
            secret: factor.secret.as_str().to_owned(),
            created_at: factor.created_at,
            enabled_at: None,
            last_step: None,
        };
        let key = key(factor.user_id);
        self.update(move |contents| {
            if contents
                .totp
                .get(&key)
                .is_some_and(|f| f.enabled_at.is_some())
            {
                return Ok(Outcome::Unchanged(false));
            }
            contents.totp.insert(key, stored);
            Ok(Outcome::Changed(true))
        })
        .await
    }

    async fn enable_totp(
        &self,
        user: UserId,
        secret: &SealedSecret,
        step: u64,
        codes: &[RecoveryCodeHash],
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let (key, secret, codes) = (key(user), secret.as_str().to_owned(), hashes(codes));
        self.update(move |contents| {
            let Some(factor) = contents.totp.get_mut(&key) else {
                return Ok(Outcome::Unchanged(false));
            };
            if factor.enabled_at.is_some() || factor.secret != secret {
                return Ok(Outcome::Unchanged(false));
            }
            factor.enabled_at = Some(at);
            factor.last_step = Some(step);
            contents.recovery_codes.insert(key, codes);
            Ok(Outcome::Changed(true))
        })
        .await
    }

    async fn use_totp_step(&self, user: UserId, step: u64) -> Result<bool, StoreError> {
        let key = key(user);
        self.update(move |contents| match contents.totp.get_mut(&key) {
            Some(factor)
                if factor.enabled_at.is_some()
                    && factor.last_step.is_none_or(|last| last < step) =>
            {
                factor.last_step = Some(step);
                Ok(Outcome::Changed(true))
            }
            _ => Ok(Outcome::Unchanged(false)),
        })
        .await
    }

    async fn remove_totp(&self, user: UserId) -> Result<bool, StoreError> {
        let key = key(user);
        self.update(move |contents| {
            contents.recovery_codes.remove(&key);
            match contents.totp.remove(&key) {
                Some(_) => Ok(Outcome::Changed(true)),
                None => Ok(Outcome::Unchanged(false)),
            }
        })
        .await
    }

    async fn replace_recovery_codes(
        &self,
        user: UserId,
        codes: &[RecoveryCodeHash],
        _at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let (key, codes) = (key(user), hashes(codes));
        self.update(move |contents| {
            if contents
                .totp
                .get(&key)
                .is_none_or(|f| f.enabled_at.is_none())
            {
                return Ok(Outcome::Unchanged(false));
            }
            contents.recovery_codes.insert(key, codes);
            Ok(Outcome::Changed(true))
        })
        .await
    }

    async fn use_recovery_code(
        &self,
        user: UserId,
        code: &RecoveryCodeHash,
    ) -> Result<bool, StoreError> {
        let (key, code) = (key(user), hex::encode(code.as_bytes()));
        self.update(move |contents| {
            let Some(codes) = contents.recovery_codes.get_mut(&key) else {
                return Ok(Outcome::Unchanged(false));
            };
            let before = codes.len();
            codes.retain(|stored| *stored != code);
            if codes.len() == before {
                Ok(Outcome::Unchanged(false))
            } else {
                Ok(Outcome::Changed(true))
            }
        })
        .await
    }

    async fn count_recovery_codes(&self, user: UserId) -> Result<u64, StoreError> {
        let key = key(user);
        self.read(move |contents| {
            let count = contents.recovery_codes.get(&key).map_or(0, Vec::len);
            u64::try_from(count).unwrap_or(u64::MAX)
        })
        .await
    }
}
