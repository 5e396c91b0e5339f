//! [`PasskeyStore`] and [`CeremonyStore`] for [`JsonFileStore`]: passkeys
//! by id and ceremonies by challenge hash. Every change is one rewrite
//! under the file's write locks, so a credential id is registered once and
//! a ceremony is taken once.

use auth_core::{
    Ceremony, CeremonyStore, OneTimeTokenHash, Passkey, PasskeyId, PasskeyName, PasskeyStore,
    StoreError, UserId,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{JsonFileStore, Outcome};

/// A passkey as the file keeps it (public key and counter; no secret).
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StoredPasskey {
    user_id: Uuid,
    /// Hex.
    credential_id: String,
    name: String,
    credential: String,
    sign_count: u32,
    created_at: DateTime<Utc>,
    last_used_at: Option<DateTime<Utc>>,
}

impl StoredPasskey {
    pub(super) fn user_id(&self) -> Uuid {
        self.user_id
    }

    fn to_domain(&self, id: Uuid) -> Option<Passkey> {
        Some(Passkey {
            id: PasskeyId::from_uuid(id),
            user_id: UserId::from_uuid(self.user_id),
            credential_id: hex::decode(&self.credential_id).ok()?,
            name: PasskeyName::from_stored(self.name.clone()),
            credential: self.credential.clone(),
            sign_count: self.sign_count,
            created_at: self.created_at,
            last_used_at: self.last_used_at,
        })
    }
}

/// A ceremony as the file keeps it, by the hex of its challenge hash.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(super) struct StoredCeremony {
    user_id: Option<Uuid>,
    state: String,
    expires_at: DateTime<Utc>,
}

impl StoredCeremony {
    pub(super) fn user_id(&self) -> Option<Uuid> {
        self.user_id
    }
}

impl PasskeyStore for JsonFileStore {
    async fn add_passkey(&self, passkey: &Passkey) -> Result<bool, StoreError> {
        let stored = StoredPasskey {
            user_id: *passkey.user_id.as_uuid(),
            credential_id: hex::encode(&passkey.credential_id),
            name: passkey.name.as_str().to_owned(),
            credential: passkey.credential.clone(),
            sign_count: passkey.sign_count,
            created_at: passkey.created_at,
            last_used_at: passkey.last_used_at,
        };
        let id = *passkey.id.as_uuid();
        self.update(move |contents| {
            if contents
                .passkeys
                .values()
                .any(|other| other.credential_id == stored.credential_id)
            {
                return Ok(Outcome::Unchanged(false));
            }
            contents.passkeys.insert(id, stored);
            Ok(Outcome::Changed(true))
        })
        .await
    }

    async fn list_passkeys(&self, user: UserId) -> Result<Vec<Passkey>, StoreError> {
        let user = *user.as_uuid();
        self.read(move |contents| {
            let mut list: Vec<Passkey> = contents
                .passkeys
                .iter()
                .filter(|(_, stored)| stored.user_id == user)
                .filter_map(|(id, stored)| stored.to_domain(*id))
                .collect();
            list.sort_by_key(|passkey| (passkey.created_at, passkey.id));
            list
        })
        .await
    }

    async fn find_passkey_by_credential_id(
        &self,
        credential_id: &[u8],
    ) -> Result<Option<Passkey>, StoreError> {
        let wanted = hex::encode(credential_id);
        self.read(move |contents| {
            contents
                .passkeys
                .iter()
                .find(|(_, stored)| stored.credential_id == wanted)
                .and_then(|(id, stored)| stored.to_domain(*id))
        })
        .await
    }

    async fn rename_passkey(
        &self,
        user: UserId,
        id: PasskeyId,
        name: &PasskeyName,
    ) -> Result<bool, StoreError> {
        let (user, id, name) = (*user.as_uuid(), *id.as_uuid(), name.as_str().to_owned());
        self.update(move |contents| match contents.passkeys.get_mut(&id) {
            Some(stored) if stored.user_id == user => {
                stored.name = name;
                Ok(Outcome::Changed(true))
            }
            _ => Ok(Outcome::Unchanged(false)),
        })
        .await
    }

    async fn record_passkey_use(
        &self,
        id: PasskeyId,
        credential: &str,
        sign_count: u32,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let (id, credential) = (*id.as_uuid(), credential.to_owned());
        self.update(move |contents| match contents.passkeys.get_mut(&id) {
            Some(stored) if sign_count == 0 || sign_count > stored.sign_count => {
                stored.credential = credential;
                stored.sign_count = sign_count;
                stored.last_used_at = Some(at);
                Ok(Outcome::Changed(true))
            }
            _ => Ok(Outcome::Unchanged(false)),
        })
        .await
    }

    async fn remove_passkey(&self, user: UserId, id: PasskeyId) -> Result<bool, StoreError> {
        let (user, id) = (*user.as_uuid(), *id.as_uuid());
        self.update(move |contents| {
            if contents
                .passkeys
                .get(&id)
                .is_some_and(|stored| stored.user_id == user)
            {
                contents.passkeys.remove(&id);
                return Ok(Outcome::Changed(true));
            }
            Ok(Outcome::Unchanged(false))
        })
        .await
    }

    async fn count_passkeys(&self, user: UserId) -> Result<u64, StoreError> {
        let user = *user.as_uuid();
        self.read(move |contents| {
            let count = contents
                .passkeys
                .values()
                .filter(|stored| stored.user_id == user)
                .count();
            u64::try_from(count).unwrap_or(u64::MAX)
        })
        .await
    }
}

impl CeremonyStore for JsonFileStore {
    async fn put_ceremony(&self, ceremony: &Ceremony) -> Result<(), StoreError> {
        let key = hex::encode(ceremony.challenge.as_bytes());
        let stored = StoredCeremony {
            user_id: ceremony.user_id.map(|user| *user.as_uuid()),
            state: ceremony.state.clone(),
            expires_at: ceremony.expires_at,
        };
        self.update(move |contents| {
            contents.ceremonies.insert(key, stored);
            Ok(Outcome::Changed(()))
        })
        .await
    }

    async fn take_ceremony(
        &self,
        challenge: &OneTimeTokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<Ceremony>, StoreError> {
        let challenge = *challenge;
        let key = hex::encode(challenge.as_bytes());
        self.update(move |contents| match contents.ceremonies.remove(&key) {
            Some(stored) => {
                let live = (stored.expires_at > now).then(|| Ceremony {
                    challenge,
                    user_id: stored.user_id.map(UserId::from_uuid),
                    state: stored.state,
                    expires_at: stored.expires_at,
                });
                Ok(Outcome::Changed(live))
            }
            None => Ok(Outcome::Unchanged(None)),
        })
        .await
    }

    async fn purge_ceremonies(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.update(move |contents| {
            let before = contents.ceremonies.len();
            contents
                .ceremonies
                .retain(|_, stored| stored.expires_at > now);
            let removed = before - contents.ceremonies.len();
            Ok(Outcome::of_count(removed))
        })
        .await
    }
}
