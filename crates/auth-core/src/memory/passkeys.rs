//! The [`MemoryStore`]'s passkeys and ceremonies, under the store's lock.

use std::collections::{BTreeMap, HashMap};

use chrono::{DateTime, Utc};

use super::MemoryStore;
use crate::{
    Ceremony, CeremonyStore, OneTimeTokenHash, Passkey, PasskeyId, PasskeyName, PasskeyStore,
    Revocation, StoreError, UserId,
};

#[derive(Debug, Default)]
pub(super) struct Passkeys {
    /// By public handle (UUIDv7: in creation order).
    by_id: BTreeMap<PasskeyId, Passkey>,
    ceremonies: HashMap<OneTimeTokenHash, Ceremony>,
}

impl Passkeys {
    /// Forgets `user`'s passkeys and ceremonies (the account is being deleted).
    pub(super) fn remove_user(&mut self, user: UserId) {
        self.by_id.retain(|_, passkey| passkey.user_id != user);
        self.ceremonies
            .retain(|_, ceremony| ceremony.user_id != Some(user));
    }
}

fn count(n: usize) -> u64 {
    u64::try_from(n).unwrap_or(u64::MAX)
}

impl PasskeyStore for MemoryStore {
    async fn add_passkey(&self, passkey: &Passkey) -> Result<bool, StoreError> {
        let mut state = self.state();
        let passkeys = &mut state.passkeys.by_id;
        if passkeys
            .values()
            .any(|stored| stored.credential_id == passkey.credential_id)
        {
            return Ok(false);
        }
        passkeys.insert(passkey.id, passkey.clone());
        state.log(Revocation::SecondFactors(passkey.user_id));
        Ok(true)
    }

    async fn list_passkeys(&self, user: UserId) -> Result<Vec<Passkey>, StoreError> {
        let state = self.state();
        let mut list: Vec<Passkey> = state
            .passkeys
            .by_id
            .values()
            .filter(|passkey| passkey.user_id == user)
            .cloned()
            .collect();
        list.sort_by_key(|passkey| (passkey.created_at, passkey.id));
        Ok(list)
    }

    async fn find_passkey_by_credential_id(
        &self,
        credential_id: &[u8],
    ) -> Result<Option<Passkey>, StoreError> {
        let state = self.state();
        Ok(state
            .passkeys
            .by_id
            .values()
            .find(|passkey| passkey.credential_id == credential_id)
            .cloned())
    }

    async fn rename_passkey(
        &self,
        user: UserId,
        id: PasskeyId,
        name: &PasskeyName,
    ) -> Result<bool, StoreError> {
        let mut state = self.state();
        match state.passkeys.by_id.get_mut(&id) {
            Some(passkey) if passkey.user_id == user => {
                passkey.name = name.clone();
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn record_passkey_use(
        &self,
        id: PasskeyId,
        credential: &str,
        sign_count: u32,
        at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut state = self.state();
        match state.passkeys.by_id.get_mut(&id) {
            Some(passkey) if sign_count == 0 || sign_count > passkey.sign_count => {
                credential.clone_into(&mut passkey.credential);
                passkey.sign_count = sign_count;
                passkey.last_used_at = Some(at);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn remove_passkey(&self, user: UserId, id: PasskeyId) -> Result<bool, StoreError> {
        let mut state = self.state();
        let passkeys = &mut state.passkeys.by_id;
        if passkeys
            .get(&id)
            .is_some_and(|passkey| passkey.user_id == user)
        {
            passkeys.remove(&id);
            state.log(Revocation::SecondFactors(user));
            return Ok(true);
        }
        Ok(false)
    }

    async fn count_passkeys(&self, user: UserId) -> Result<u64, StoreError> {
        let state = self.state();
        Ok(count(
            state
                .passkeys
                .by_id
                .values()
                .filter(|passkey| passkey.user_id == user)
                .count(),
        ))
    }
}

impl CeremonyStore for MemoryStore {
    async fn put_ceremony(&self, ceremony: &Ceremony) -> Result<(), StoreError> {
        self.state()
            .passkeys
            .ceremonies
            .insert(ceremony.challenge, ceremony.clone());
        Ok(())
    }

    async fn take_ceremony(
        &self,
        challenge: &OneTimeTokenHash,
        now: DateTime<Utc>,
    ) -> Result<Option<Ceremony>, StoreError> {
        let mut state = self.state();
        Ok(state
            .passkeys
            .ceremonies
            .remove(challenge)
            .filter(|ceremony| ceremony.expires_at > now))
    }

    async fn purge_ceremonies(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut state = self.state();
        let ceremonies = &mut state.passkeys.ceremonies;
        let before = ceremonies.len();
        ceremonies.retain(|_, ceremony| ceremony.expires_at > now);
        Ok(count(before - ceremonies.len()))
    }
}
