//! The [`MemoryStore`]'s users: the uniqueness indexes (canonical name,
//! skeleton, email) change with the user under the store's lock.

use chrono::{DateTime, Utc};

use super::MemoryStore;
use crate::{
    AccountKey, EmailAddress, PasswordHash, QueuedMail, Revocation, StoreError, User, UserEmail,
    UserId, UserRepository, Username,
};

impl UserRepository for MemoryStore {
    async fn create_user(&self, user: &User) -> Result<(), StoreError> {
        let mut state = self.state();
        let key = user.username.canonical().to_owned();
        let skeleton = user.username.skeleton();
        // Every check and every insert under one lock: atomic.
        if state.by_canonical.contains_key(&key) || state.by_skeleton.contains_key(&skeleton) {
            return Err(StoreError::UsernameTaken);
        }
        if let Some(email) = &user.email {
            if state.by_email.contains_key(email.address.canonical()) {
                return Err(StoreError::EmailTaken);
            }
            state
                .by_email
                .insert(email.address.canonical().to_owned(), user.id);
        }
        state.by_canonical.insert(key, user.id);
        state.by_skeleton.insert(skeleton, user.id);
        state.users.insert(user.id, user.clone());
        Ok(())
    }

    async fn find_user_by_username(&self, username: &Username) -> Result<Option<User>, StoreError> {
        let state = self.state();
        Ok(state
            .by_canonical
            .get(username.canonical())
            .and_then(|id| state.users.get(id))
            .cloned())
    }

    async fn find_user_by_email(&self, email: &EmailAddress) -> Result<Option<User>, StoreError> {
        let state = self.state();
        Ok(state
            .by_email
            .get(email.canonical())
            .and_then(|id| state.users.get(id))
            .cloned())
    }

    async fn change_email(
        &self,
        id: UserId,
        email: &EmailAddress,
        updated_at: DateTime<Utc>,
        mail: &[QueuedMail],
    ) -> Result<bool, StoreError> {
        let mut state = self.state();
        if !state.users.contains_key(&id) {
            return Ok(false);
        }
        match state.by_email.get(email.canonical()) {
            Some(holder) if *holder != id => return Err(StoreError::EmailTaken),
            _ => {}
        }
        let state = &mut *state;
        let Some(user) = state.users.get_mut(&id) else {
            return Ok(false);
        };
        if let Some(previous) = user.email.take() {
            state.by_email.remove(previous.address.canonical());
        }
        state.by_email.insert(email.canonical().to_owned(), id);
        user.email = Some(UserEmail::unverified(email.clone()));
        user.updated_at = updated_at;
        state.outbox.enqueue(mail);
        Ok(true)
    }

    async fn mark_email_verified(
        &self,
        id: UserId,
        email: &EmailAddress,
    ) -> Result<bool, StoreError> {
        let mut state = self.state();
        let Some(user) = state.users.get_mut(&id) else {
            return Ok(false);
        };
        match user.email.take() {
            Some(current) => {
                let matches = current.address == *email;
                user.email = Some(current.verify(email));
                Ok(matches)
            }
            None => Ok(false),
        }
    }

    async fn find_user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        Ok(self.state().users.get(&id).cloned())
    }

    async fn set_password_hash(
        &self,
        id: UserId,
        hash: &PasswordHash,
        updated_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut state = self.state();
        let Some(user) = state.users.get_mut(&id) else {
            return Ok(false);
        };
        user.password_hash = hash.clone();
        user.updated_at = updated_at;
        Ok(true)
    }

    async fn replace_password_hash(
        &self,
        id: UserId,
        current: &PasswordHash,
        new: &PasswordHash,
        updated_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut state = self.state();
        match state.users.get_mut(&id) {
            Some(user) if user.password_hash.as_str() == current.as_str() => {
                user.password_hash = new.clone();
                user.updated_at = updated_at;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn delete_user(&self, id: UserId, account: &AccountKey) -> Result<bool, StoreError> {
        // One lock over every map: the deletion is one step.
        let mut state = self.state();
        let Some(user) = state.users.remove(&id) else {
            return Ok(false);
        };
        state.by_canonical.remove(user.username.canonical());
        if let Some(email) = &user.email {
            state.by_email.remove(email.address.canonical());
        }
        state.by_skeleton.retain(|_, holder| *holder != id);
        state.revoke_where(Revocation::User(id), |session| session.user_id == id);
        state.devices.retain(|_, device| device.account != *account);
        state
            .login_failures
            .retain(|failure| failure.account != *account);
        state.events.retain(|(_, event)| event.user_id != Some(id));
        state.tokens.remove_user(id);
        state.outbox.remove_user(id);
        state.factors.remove_user(id);
        state.passkeys.remove_user(id);
        Ok(true)
    }
}
