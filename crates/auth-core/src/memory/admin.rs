//! The admin ports of [`MemoryStore`]: keys, user search, the audit trail.

use chrono::{DateTime, Utc};

use super::MemoryStore;
use crate::{
    AdminKey, AdminKeyHash, AdminKeyName, AdminKeyStore, AuditLog, EventQuery, LoggedEvent,
    StoreError, User, UserDirectory, UserId, UserSearch,
};

/// Admin keys, oldest first.
#[derive(Debug, Default)]
pub(super) struct Keys(Vec<AdminKey>);

impl AdminKeyStore for MemoryStore {
    async fn insert_admin_key(&self, key: &AdminKey) -> Result<(), StoreError> {
        let mut state = self.state();
        if state.admin_keys.0.iter().any(|kept| kept.name == key.name) {
            return Err(StoreError::NameTaken);
        }
        state.admin_keys.0.push(key.clone());
        Ok(())
    }

    async fn find_admin_key(&self, hash: &AdminKeyHash) -> Result<Option<AdminKey>, StoreError> {
        Ok(self
            .state()
            .admin_keys
            .0
            .iter()
            .find(|key| key.hash == *hash)
            .cloned())
    }

    async fn list_admin_keys(&self) -> Result<Vec<AdminKey>, StoreError> {
        Ok(self.state().admin_keys.0.clone())
    }

    async fn revoke_admin_key(
        &self,
        name: &AdminKeyName,
        at: DateTime<Utc>,
    ) -> Result<Option<AdminKey>, StoreError> {
        let mut state = self.state();
        Ok(state
            .admin_keys
            .0
            .iter_mut()
            .find(|key| key.name == *name && key.is_live())
            .map(|key| {
                key.revoked_at = Some(at);
                key.clone()
            }))
    }
}

impl UserDirectory for MemoryStore {
    async fn search_users(&self, search: &UserSearch, limit: u32) -> Result<Vec<User>, StoreError> {
        let state = self.state();
        let mut found: Vec<&User> = state
            .users
            .values()
            .filter(|user| {
                let name = user.username.canonical();
                search.after().is_none_or(|after| name > after)
                    && search.matches(
                        name,
                        user.email.as_ref().map(|email| email.address.canonical()),
                    )
            })
            .collect();
        found.sort_unstable_by(|a, b| a.username.canonical().cmp(b.username.canonical()));
        Ok(found
            .into_iter()
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .cloned()
            .collect())
    }

    async fn set_user_disabled(
        &self,
        id: UserId,
        disabled_at: Option<DateTime<Utc>>,
    ) -> Result<bool, StoreError> {
        let mut state = self.state();
        Ok(state
            .users
            .get_mut(&id)
            .map(|user| user.disabled_at = disabled_at)
            .is_some())
    }
}

impl AuditLog for MemoryStore {
    async fn search_events(
        &self,
        query: &EventQuery,
        limit: u32,
    ) -> Result<Vec<LoggedEvent>, StoreError> {
        let state = self.state();
        Ok(state
            .events
            .iter()
            .rev()
            .filter(|(seq, event)| query.matches(*seq, event))
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .map(|(seq, event)| LoggedEvent {
                seq: *seq,
                event: event.clone(),
            })
            .collect())
    }
}
