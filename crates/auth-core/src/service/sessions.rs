//! Sessions in use: authenticating a token, logging out.

use chrono::{DateTime, Utc};

use super::{AuthError, Authenticated, Authenticator};
use crate::{Client, EventKind, Session, SessionId, SessionToken, Store, UserId};

impl<S: Store> Authenticator<S> {
    /// Resolves a presented token to its user and session, applying idle
    /// and absolute expiry. Writes last-seen at most once per touch interval.
    ///
    /// # Errors
    /// [`AuthError::NotAuthenticated`] for a malformed, unknown, expired or
    /// revoked token; [`AuthError::Storage`].
    pub async fn authenticate(&self, token: &str) -> Result<Authenticated, AuthError> {
        let token = SessionToken::parse(token).map_err(|_| AuthError::NotAuthenticated)?;
        let id = token.id();
        let now = self.clock.now();
        // Each generation is read before the read it guards (the cache's,
        // then the store's): an invalidation racing that read always wins
        // over the insert that follows it.
        let generation = self.cache.generation();
        let arrival = self.cache.arrival();
        if let Some(hit) = self.cache.get(&id, arrival).await? {
            if hit.session.is_active(now) {
                if self.sessions.touch(&hit.session, now).is_some() {
                    return self.touch_cached(id, hit, now, generation).await;
                }
                return Ok(hit);
            }
            // Expired by this copy; another instance may have extended it
            // since. The store decides.
            self.cache.invalidate_session(&id);
        }
        // Boxed: the store's futures are large, and a session check's future
        // is moved and boxed by the web framework on every request; the hit
        // above, the common case, should not carry them.
        Box::pin(self.authenticate_from_store(id, now, arrival)).await
    }

    /// A hit whose last-seen write is due: written, then cached again.
    async fn touch_cached(
        &self,
        id: SessionId,
        mut hit: Authenticated,
        now: DateTime<Utc>,
        generation: u64,
    ) -> Result<Authenticated, AuthError> {
        if Box::pin(self.touch_if_due(&mut hit.session, now)).await? {
            self.cache.insert(id, hit.clone(), generation);
        }
        Ok(hit)
    }

    /// The cache missed (or is off): the session and its user from the store.
    async fn authenticate_from_store(
        &self,
        id: SessionId,
        now: DateTime<Utc>,
        arrival: crate::cache::Arrival,
    ) -> Result<Authenticated, AuthError> {
        let generation = self.cache.generation();
        let Some(mut session) = self.store.find_session(&id).await? else {
            return Err(AuthError::NotAuthenticated);
        };
        if !session.is_active(now) {
            return self.drop_expired(&id).await;
        }
        self.touch_if_due(&mut session, now).await?;
        let Some(user) = self.store.find_user_by_id(session.user_id).await? else {
            return Err(AuthError::NotAuthenticated);
        };
        // A session a login made while its account was being disabled.
        if user.is_disabled() {
            return Err(AuthError::NotAuthenticated);
        }
        let authenticated = Authenticated {
            user,
            session,
            arrival,
        };
        self.cache.insert(id, authenticated.clone(), generation);
        Ok(authenticated)
    }

    /// An expired session can never be used again: delete it now.
    async fn drop_expired(&self, id: &SessionId) -> Result<Authenticated, AuthError> {
        self.cache.invalidate_session(id);
        self.store.revoke_session(id).await?;
        Err(AuthError::NotAuthenticated)
    }

    /// Writes last-seen when due (at most once per touch interval). Returns
    /// whether it wrote. A session gone from the store is not authenticated.
    async fn touch_if_due(
        &self,
        session: &mut Session,
        now: DateTime<Utc>,
    ) -> Result<bool, AuthError> {
        let Some((last_seen_at, idle_expires_at)) = self.sessions.touch(session, now) else {
            return Ok(false);
        };
        if !self
            .store
            .touch_session(&session.id, last_seen_at, idle_expires_at)
            .await?
        {
            self.cache.invalidate_session(&session.id);
            return Err(AuthError::NotAuthenticated);
        }
        session.last_seen_at = last_seen_at;
        session.idle_expires_at = idle_expires_at;
        self.cache.sessions_changed(session.user_id);
        Ok(true)
    }

    /// Ends the session of `token`, for every copy of it.
    ///
    /// # Errors
    /// [`AuthError::NotAuthenticated`] if it is not a live session; [`AuthError::Storage`].
    pub async fn logout(&self, token: &str, client: &Client) -> Result<Authenticated, AuthError> {
        let authenticated = self.authenticate(token).await?;
        let revoked = self.store.revoke_session(&authenticated.session.id).await;
        // Dropped from the cache whatever the store said: never serve a
        // session this instance may have revoked.
        self.cache.invalidate_session(&authenticated.session.id);
        if !revoked? {
            // Revoked concurrently by another request: this one did not log out.
            return Err(AuthError::NotAuthenticated);
        }
        self.cache.settle().await;
        self.record(EventKind::LoggedOut, Some(authenticated.user.id), client)
            .await;
        Ok(authenticated)
    }

    /// Ends every session of a user ("log out everywhere") and returns how many.
    ///
    /// # Errors
    /// [`AuthError::Storage`].
    pub async fn logout_everywhere(
        &self,
        user_id: UserId,
        client: &Client,
    ) -> Result<u64, AuthError> {
        let revoked = self.store.revoke_all_sessions(user_id).await;
        self.cache.invalidate_user(user_id);
        let revoked = revoked?;
        self.cache.settle().await;
        if revoked > 0 {
            self.record(EventKind::SessionRevoked, Some(user_id), client)
                .await;
        }
        Ok(revoked)
    }
}
