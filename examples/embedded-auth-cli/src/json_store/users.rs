//! [`UserRepository`] for [`JsonFileStore`]: users keyed by canonical
//! username, the key, the skeleton and the email address decided under the
//! write locks.

use std::collections::btree_map::Entry;

use auth_core::{
    AccountKey, EmailAddress, PasswordHash, QueuedMail, StoreError, User, UserEmail, UserId,
    UserRepository, Username,
};
use chrono::{DateTime, Utc};

use super::contents::{StoredMail, StoredUser};
use super::{JsonFileStore, JsonStoreError, Outcome};

impl JsonFileStore {
    /// The domain user stored under `key`, checked: the name must still
    /// parse, and to the key it is stored under; its address, if any, must
    /// still parse.
    fn user_from(&self, key: &str, stored: StoredUser) -> Result<User, StoreError> {
        let corrupt = |reason: String| JsonStoreError::CorruptUser {
            path: self.inner.path.clone(),
            key: key.to_owned(),
            reason,
        };
        let username = Username::parse(&stored.username).map_err(|e| corrupt(e.to_string()))?;
        if username.canonical() != key {
            return Err(corrupt(format!("its name folds to {:?}", username.canonical())).into());
        }
        let email = match stored.email.as_deref() {
            Some(typed) => Some(UserEmail {
                address: EmailAddress::from_stored(typed)
                    .ok_or_else(|| corrupt("its email address no longer parses".to_owned()))?,
                verified: stored.email_verified,
            }),
            None => None,
        };
        Ok(User {
            id: UserId::from_uuid(stored.id),
            username,
            password_hash: PasswordHash::from_stored(stored.password_hash),
            created_at: stored.created_at,
            updated_at: stored.updated_at,
            email,
            disabled_at: stored.disabled_at,
        })
    }
}

impl UserRepository for JsonFileStore {
    async fn create_user(&self, user: &User) -> Result<(), StoreError> {
        let key = user.username.canonical().to_owned();
        let skeleton = user.username.skeleton();
        let email = user
            .email
            .as_ref()
            .map(|email| email.address.canonical().to_owned());
        let stored = StoredUser::from_domain(user);
        self.update(move |contents| {
            // Decided under the write locks, as the key is. The file keeps no
            // skeletons or address keys (they follow from the names and the
            // addresses), so each create scans: fine at this store's few
            // hundred users. A stored name or address that no longer parses
            // is skipped here; reading it reports the file.
            let look_alike = contents.users.values().any(|other| {
                Username::parse(&other.username).is_ok_and(|name| name.skeleton() == skeleton)
            });
            let email_taken = email
                .as_deref()
                .is_some_and(|email| contents.users.values().any(|other| other.has_email(email)));
            match contents.users.entry(key) {
                Entry::Occupied(_) => Err(StoreError::UsernameTaken),
                Entry::Vacant(_) if look_alike => Err(StoreError::UsernameTaken),
                Entry::Vacant(_) if email_taken => Err(StoreError::EmailTaken),
                Entry::Vacant(slot) => {
                    slot.insert(stored);
                    Ok(Outcome::Changed(()))
                }
            }
        })
        .await
    }

    async fn find_user_by_username(&self, username: &Username) -> Result<Option<User>, StoreError> {
        let key = username.canonical().to_owned();
        let found = self
            .read(move |mut contents| contents.users.remove(&key).map(|user| (key, user)))
            .await?;
        found
            .map(|(key, user)| self.user_from(&key, user))
            .transpose()
    }

    async fn find_user_by_email(&self, email: &EmailAddress) -> Result<Option<User>, StoreError> {
        let email = email.canonical().to_owned();
        let found = self
            .read(move |contents| {
                contents
                    .users
                    .into_iter()
                    .find(|(_, user)| user.has_email(&email))
            })
            .await?;
        found
            .map(|(key, user)| self.user_from(&key, user))
            .transpose()
    }

    async fn change_email(
        &self,
        id: UserId,
        email: &EmailAddress,
        updated_at: DateTime<Utc>,
        mail: &[QueuedMail],
    ) -> Result<bool, StoreError> {
        let id = *id.as_uuid();
        let (typed, key) = (email.as_str().to_owned(), email.canonical().to_owned());
        let mail: Vec<_> = mail.iter().map(StoredMail::from_domain).collect();
        // One rewrite of the file: the check, the address and its mail are
        // one step, and all of it is written or none.
        self.update(move |contents| {
            if !contents.users.values().any(|user| user.id == id) {
                return Ok(Outcome::Unchanged(false));
            }
            let taken = contents
                .users
                .values()
                .any(|other| other.id != id && other.has_email(&key));
            if taken {
                return Err(StoreError::EmailTaken);
            }
            let Some(user) = contents.users.values_mut().find(|user| user.id == id) else {
                return Ok(Outcome::Unchanged(false));
            };
            user.email = Some(typed);
            user.email_verified = false;
            user.updated_at = updated_at;
            contents.mail.extend(mail);
            Ok(Outcome::Changed(true))
        })
        .await
    }

    async fn mark_email_verified(
        &self,
        id: UserId,
        email: &EmailAddress,
    ) -> Result<bool, StoreError> {
        let id = *id.as_uuid();
        let key = email.canonical().to_owned();
        // Under the write locks: the address checked is the one marked.
        self.update(
            move |contents| match contents.users.values_mut().find(|user| user.id == id) {
                Some(user) if user.has_email(&key) => {
                    if user.email_verified {
                        Ok(Outcome::Unchanged(true))
                    } else {
                        user.email_verified = true;
                        Ok(Outcome::Changed(true))
                    }
                }
                _ => Ok(Outcome::Unchanged(false)),
            },
        )
        .await
    }

    async fn find_user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let id = *id.as_uuid();
        let found = self
            .read(move |contents| contents.users.into_iter().find(|(_, user)| user.id == id))
            .await?;
        found
            .map(|(key, user)| self.user_from(&key, user))
            .transpose()
    }

    async fn set_password_hash(
        &self,
        id: UserId,
        hash: &PasswordHash,
        updated_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let id = *id.as_uuid();
        let hash = hash.as_str().to_owned();
        self.update(move |contents| {
            let Some(user) = contents.users.values_mut().find(|user| user.id == id) else {
                return Ok(Outcome::Unchanged(false));
            };
            user.password_hash = hash;
            user.updated_at = updated_at;
            Ok(Outcome::Changed(true))
        })
        .await
    }

    async fn replace_password_hash(
        &self,
        id: UserId,
        current: &PasswordHash,
        new: &PasswordHash,
        updated_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let id = *id.as_uuid();
        let (current, new) = (current.as_str().to_owned(), new.as_str().to_owned());
        // Under the store's write locks: the compare and the swap are one step.
        self.update(
            move |contents| match contents.users.values_mut().find(|user| user.id == id) {
                Some(user) if user.password_hash == current => {
                    user.password_hash = new;
                    user.updated_at = updated_at;
                    Ok(Outcome::Changed(true))
                }
                _ => Ok(Outcome::Unchanged(false)),
            },
        )
        .await
    }

    async fn delete_user(&self, id: UserId, account: &AccountKey) -> Result<bool, StoreError> {
        let (id, account) = (*id.as_uuid(), account.as_str().to_owned());
        // One rewrite of the file: the deletion is one step.
        self.update(move |contents| {
            let before = contents.users.len();
            contents.users.retain(|_, user| user.id != id);
            if contents.users.len() == before {
                return Ok(Outcome::Unchanged(false));
            }
            contents.sessions.retain(|_, session| session.user_id != id);
            contents
                .devices
                .retain(|_, device| device.account != account);
            contents
                .login_failures
                .retain(|failure| failure.account != account);
            contents.events.retain(|event| event.user_id != Some(id));
            contents.tokens.retain(|_, token| token.user_id != id);
            contents.mail.retain(|_, mail| mail.user_id != id);
            let key = id.to_string();
            contents.totp.retain(|_, factor| factor.user_id() != id);
            contents.recovery_codes.remove(&key);
            contents.passkeys.retain(|_, stored| stored.user_id() != id);
            contents
                .ceremonies
                .retain(|_, stored| stored.user_id() != Some(id));
            Ok(Outcome::Changed(true))
        })
        .await
    }
}
