//! [`SessionStore`] for [`JsonFileStore`]: sessions keyed by their id in hex.

use std::collections::BTreeMap;

use auth_core::{PasswordHash, Session, SessionId, SessionStore, StoreError, UserId};
use chrono::{DateTime, Utc};

use super::contents::{StoredSession, session_key};
use super::{JsonFileStore, Outcome};

impl SessionStore for JsonFileStore {
    async fn insert_session(&self, session: &Session) -> Result<(), StoreError> {
        let key = session_key(&session.id);
        let stored = StoredSession::from_domain(session);
        self.update(move |contents| {
            contents.sessions.insert(key, stored);
            Ok(Outcome::Changed(()))
        })
        .await
    }

    async fn find_session(&self, id: &SessionId) -> Result<Option<Session>, StoreError> {
        let key = session_key(id);
        let found = self
            .read(move |mut contents| contents.sessions.remove(&key))
            .await?;
        Ok(found.map(|stored| stored.into_domain(*id)))
    }

    async fn touch_session(
        &self,
        id: &SessionId,
        last_seen_at: DateTime<Utc>,
        idle_expires_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let key = session_key(id);
        self.update(move |contents| {
            let Some(session) = contents.sessions.get_mut(&key) else {
                return Ok(Outcome::Unchanged(false));
            };
            session.last_seen_at = last_seen_at;
            session.idle_expires_at = idle_expires_at;
            Ok(Outcome::Changed(true))
        })
        .await
    }

    async fn revoke_session(&self, id: &SessionId) -> Result<bool, StoreError> {
        let key = session_key(id);
        self.update(move |contents| {
            Ok(match contents.sessions.remove(&key) {
                Some(_) => Outcome::Changed(true),
                None => Outcome::Unchanged(false),
            })
        })
        .await
    }

    async fn insert_session_if_credential(
        &self,
        session: &Session,
        credential: &PasswordHash,
    ) -> Result<bool, StoreError> {
        let key = session_key(&session.id);
        let stored = StoredSession::from_domain(session);
        let (user_id, credential) = (*session.user_id.as_uuid(), credential.as_str().to_owned());
        // Under the store's write locks: the check and the insert are one step.
        self.update(move |contents| {
            let current = contents
                .users
                .values()
                .any(|user| user.id == user_id && user.password_hash == credential);
            if !current {
                return Ok(Outcome::Unchanged(false));
            }
            contents.sessions.insert(key, stored);
            Ok(Outcome::Changed(true))
        })
        .await
    }

    async fn revoke_sessions_beyond(&self, user_id: UserId, keep: u32) -> Result<u64, StoreError> {
        let user_id = *user_id.as_uuid();
        self.update(move |contents| {
            let mut theirs: Vec<(DateTime<Utc>, String)> = contents
                .sessions
                .iter()
                .filter(|(_, session)| session.user_id == user_id)
                .map(|(key, session)| (session.created_at, key.clone()))
                .collect();
            // Newest first; the id (its hex key sorts as its bytes) breaks ties.
            theirs.sort_unstable_by(|a, b| b.cmp(a));
            let doomed: Vec<String> = theirs
                .into_iter()
                .skip(usize::try_from(keep).unwrap_or(usize::MAX))
                .map(|(_, key)| key)
                .collect();
            for key in &doomed {
                contents.sessions.remove(key);
            }
            Ok(Outcome::of_count(doomed.len()))
        })
        .await
    }

    async fn list_sessions(&self, user_id: UserId) -> Result<Vec<Session>, StoreError> {
        let user_id = *user_id.as_uuid();
        self.read(move |contents| {
            contents
                .sessions
                .into_iter()
                .filter(|(_, session)| session.user_id == user_id)
                // Keys are ids in hex as this store wrote them; another is skipped.
                .filter_map(|(key, session)| {
                    SessionId::from_hex(&key).map(|id| session.into_domain(id))
                })
                .collect()
        })
        .await
    }

    async fn revoke_other_sessions(
        &self,
        user_id: UserId,
        keep: &SessionId,
    ) -> Result<u64, StoreError> {
        let (user_id, keep) = (*user_id.as_uuid(), session_key(keep));
        self.update(move |contents| {
            let before = contents.sessions.len();
            contents
                .sessions
                .retain(|key, session| session.user_id != user_id || *key == keep);
            Ok(Outcome::of_count(before - contents.sessions.len()))
        })
        .await
    }

    async fn revoke_all_sessions(&self, user_id: UserId) -> Result<u64, StoreError> {
        let user_id = *user_id.as_uuid();
        self.update(move |contents| {
            Ok(removed(&mut contents.sessions, |session| {
                session.user_id == user_id
            }))
        })
        .await
    }

    async fn purge_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.update(move |contents| {
            Ok(removed(&mut contents.sessions, |session| {
                session.is_expired(now)
            }))
        })
        .await
    }
}

/// Removes the sessions matching `doomed` and says how many, as a change
/// only if there were any (an unchanged file is not rewritten).
fn removed(
    sessions: &mut BTreeMap<String, StoredSession>,
    doomed: impl Fn(&StoredSession) -> bool,
) -> Outcome<u64> {
    let before = sessions.len();
    sessions.retain(|_, session| !doomed(session));
    Outcome::of_count(before - sessions.len())
}
