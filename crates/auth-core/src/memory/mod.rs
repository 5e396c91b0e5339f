//! [`MemoryStore`]: the reference store, for tests, examples and embedding.
//!
//! One `std::sync::Mutex` over all maps: every operation is a few map
//! operations and never awaits while holding the lock, so a std mutex is
//! both correct and cheaper than an async one. Clones share the data.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use chrono::{DateTime, Utc};

mod admin;
mod mfa;
mod one_time;
mod outbox;
mod passkeys;
mod revocations;
mod users;

use crate::{
    AccountKey, Device, DeviceId, DeviceStore, EventStore, FailureStats, PasswordHash, RateKey,
    RateLimit, RateLimitStore, Reservation, Revocation, SecurityEvent, Session, SessionId,
    SessionStore, StoreError, ThrottlePolicy, ThrottleStore, User, UserId, UsernameSkeleton,
};

/// An in-memory [`crate::Store`], correct under concurrency.
///
/// ```
/// use auth_core::{MemoryStore, PasswordHash, User, UserId, UserRepository, Username};
/// use chrono::Utc;
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let store = MemoryStore::new();
/// let now = Utc::now();
/// let user = User {
///     id: UserId::new(),
///     username: Username::parse("Alice")?,
///     password_hash: PasswordHash::from_stored("$scrypt$..."),
///     created_at: now,
///     updated_at: now,
///     email: None,
///     disabled_at: None,
/// };
/// store.create_user(&user).await?;
/// let found = store.find_user_by_username(&Username::parse("ALICE")?).await?;
/// assert_eq!(found, Some(user));
/// # Ok(()) }
/// ```
#[derive(Debug, Clone, Default)]
pub struct MemoryStore {
    state: Arc<Mutex<State>>,
}

#[derive(Debug, Default)]
struct State {
    users: HashMap<UserId, User>,
    /// canonical email -> id: no two users share an address.
    by_email: HashMap<String, UserId>,
    /// canonical username -> id: the uniqueness index.
    by_canonical: HashMap<String, UserId>,
    /// skeleton -> id: no two users' names look alike.
    by_skeleton: HashMap<UsernameSkeleton, UserId>,
    sessions: HashMap<SessionId, Session>,
    login_failures: Vec<LoginFailure>,
    /// Places held by logins being evaluated: holder and expiry.
    reservations: HashMap<Reservation, (AccountKey, DateTime<Utc>)>,
    /// Rate-limit states (theoretical arrival times).
    rates: HashMap<RateKey, DateTime<Utc>>,
    devices: HashMap<DeviceId, Device>,
    /// In the order appended, each with its sequence number.
    events: Vec<(crate::EventSeq, SecurityEvent)>,
    /// The last sequence number given to an event.
    last_event_seq: i64,
    admin_keys: admin::Keys,
    revocations: revocations::Log,
    tokens: one_time::Tokens,
    outbox: outbox::Outbox,
    factors: mfa::Factors,
    passkeys: passkeys::Passkeys,
}

#[derive(Debug)]
struct LoginFailure {
    account: AccountKey,
    at: DateTime<Utc>,
}

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    fn state(&self) -> MutexGuard<'_, State> {
        // A panic while holding the lock leaves the maps consistent (each
        // operation writes last), so a poisoned lock is still usable.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl SessionStore for MemoryStore {
    async fn insert_session(&self, session: &Session) -> Result<(), StoreError> {
        let mut state = self.state();
        state.sessions.insert(session.id, session.clone());
        state.log(Revocation::SessionList(session.user_id));
        Ok(())
    }

    async fn find_session(&self, id: &SessionId) -> Result<Option<Session>, StoreError> {
        Ok(self.state().sessions.get(id).cloned())
    }

    async fn touch_session(
        &self,
        id: &SessionId,
        last_seen_at: DateTime<Utc>,
        idle_expires_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let mut state = self.state();
        let Some(session) = state.sessions.get_mut(id) else {
            return Ok(false);
        };
        session.last_seen_at = last_seen_at;
        session.idle_expires_at = idle_expires_at;
        Ok(true)
    }

    async fn revoke_session(&self, id: &SessionId) -> Result<bool, StoreError> {
        let id = *id;
        Ok(self
            .state()
            .revoke_where(Revocation::Session(id), |session| session.id == id)
            > 0)
    }

    async fn insert_session_if_credential(
        &self,
        session: &Session,
        credential: &PasswordHash,
    ) -> Result<bool, StoreError> {
        // One lock over users and sessions: the check and the insert are atomic.
        let mut state = self.state();
        let current = state
            .users
            .get(&session.user_id)
            .is_some_and(|user| user.password_hash.as_str() == credential.as_str());
        if current {
            state.sessions.insert(session.id, session.clone());
            state.log(Revocation::SessionList(session.user_id));
        }
        Ok(current)
    }

    async fn revoke_sessions_beyond(&self, user_id: UserId, keep: u32) -> Result<u64, StoreError> {
        let mut state = self.state();
        let mut theirs: Vec<_> = state
            .sessions
            .values()
            .filter(|session| session.user_id == user_id)
            .map(|session| (session.created_at, *session.id.as_bytes()))
            .collect();
        // Newest first; the id breaks ties, as in every store.
        theirs.sort_unstable_by(|a, b| b.cmp(a));
        let doomed: Vec<SessionId> = theirs
            .into_iter()
            .skip(usize::try_from(keep).unwrap_or(usize::MAX))
            .map(|(_, id)| SessionId::from_bytes(id))
            .collect();
        Ok(state.revoke_where(Revocation::User(user_id), |session| {
            doomed.contains(&session.id)
        }))
    }

    async fn list_sessions(&self, user_id: UserId) -> Result<Vec<Session>, StoreError> {
        Ok(self
            .state()
            .sessions
            .values()
            .filter(|session| session.user_id == user_id)
            .cloned()
            .collect())
    }

    async fn revoke_other_sessions(
        &self,
        user_id: UserId,
        keep: &SessionId,
    ) -> Result<u64, StoreError> {
        let keep = *keep;
        Ok(self
            .state()
            .revoke_where(Revocation::User(user_id), |session| {
                session.user_id == user_id && session.id != keep
            }))
    }

    async fn revoke_all_sessions(&self, user_id: UserId) -> Result<u64, StoreError> {
        Ok(self
            .state()
            .revoke_where(Revocation::User(user_id), |session| {
                session.user_id == user_id
            }))
    }

    async fn purge_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut state = self.state();
        let before = state.sessions.len();
        state
            .sessions
            .retain(|_, session| session.idle_expires_at > now && session.expires_at > now);
        Ok((before - state.sessions.len()) as u64)
    }
}

impl ThrottleStore for MemoryStore {
    async fn record_login_failure(
        &self,
        account: &AccountKey,
        _client_ip: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        self.state().login_failures.push(LoginFailure {
            account: account.clone(),
            at,
        });
        Ok(())
    }

    async fn login_failure_stats(
        &self,
        account: &AccountKey,
        since: DateTime<Utc>,
    ) -> Result<FailureStats, StoreError> {
        Ok(self.state().failure_stats(account, since))
    }

    async fn reserve_login_attempt(
        &self,
        account: &AccountKey,
        policy: &ThrottlePolicy,
        now: DateTime<Utc>,
    ) -> Result<Result<Reservation, Duration>, StoreError> {
        // One lock over failures and reservations: the decision is atomic.
        let mut state = self.state();
        let stats = state.failure_stats(account, policy.account_since(now));
        let held = state
            .reservations
            .values()
            .filter(|(holder, expires_at)| holder == account && *expires_at > now)
            .count() as u64;
        if let Err(wait) = policy.admit(&stats, held, now) {
            return Ok(Err(wait));
        }
        let reservation = Reservation::new();
        state.reservations.insert(
            reservation,
            (account.clone(), policy.reservation_expiry(now)),
        );
        Ok(Ok(reservation))
    }

    async fn release_login_attempt(&self, reservation: &Reservation) -> Result<(), StoreError> {
        self.state().reservations.remove(reservation);
        Ok(())
    }

    async fn clear_login_failures(&self, account: &AccountKey) -> Result<u64, StoreError> {
        let mut state = self.state();
        let before = state.login_failures.len();
        state
            .login_failures
            .retain(|failure| failure.account != *account);
        Ok((before - state.login_failures.len()) as u64)
    }

    async fn purge_login_failures(
        &self,
        before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        let mut state = self.state();
        let count = state.login_failures.len() + state.reservations.len();
        state.login_failures.retain(|failure| failure.at >= before);
        state
            .reservations
            .retain(|_, (_, expires_at)| *expires_at > now);
        Ok((count - state.login_failures.len() - state.reservations.len()) as u64)
    }
}

impl State {
    fn failure_stats(&self, account: &AccountKey, since: DateTime<Utc>) -> FailureStats {
        let mut stats = FailureStats::default();
        for failure in &self.login_failures {
            if failure.account == *account && failure.at >= since {
                stats.record(1, failure.at..=failure.at);
            }
        }
        stats
    }
}

impl RateLimitStore for MemoryStore {
    async fn take_rate(
        &self,
        key: &RateKey,
        limit: &RateLimit,
        now: DateTime<Utc>,
    ) -> Result<Result<(), Duration>, StoreError> {
        let mut state = self.state();
        let current = state.rates.get(key).copied();
        Ok(limit.take(current, now).map(|next| {
            state.rates.insert(key.clone(), next);
        }))
    }

    async fn charge_rate(
        &self,
        key: &RateKey,
        limit: &RateLimit,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let mut state = self.state();
        let current = state.rates.get(key).copied();
        state.rates.insert(key.clone(), limit.charge(current, now));
        Ok(())
    }

    async fn rate_wait(
        &self,
        key: &RateKey,
        limit: &RateLimit,
        now: DateTime<Utc>,
    ) -> Result<Option<Duration>, StoreError> {
        Ok(limit.wait(self.state().rates.get(key).copied(), now))
    }

    async fn clear_rate(&self, key: &RateKey) -> Result<(), StoreError> {
        self.state().rates.remove(key);
        Ok(())
    }

    async fn purge_rates(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut state = self.state();
        let before = state.rates.len();
        state.rates.retain(|_, tat| *tat > now);
        Ok((before - state.rates.len()) as u64)
    }
}

impl DeviceStore for MemoryStore {
    async fn insert_device(&self, device: &Device) -> Result<(), StoreError> {
        self.state().devices.insert(device.id, device.clone());
        Ok(())
    }

    async fn find_device(&self, id: &DeviceId) -> Result<Option<Device>, StoreError> {
        Ok(self.state().devices.get(id).cloned())
    }

    async fn purge_expired_devices(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut state = self.state();
        let before = state.devices.len();
        state.devices.retain(|_, device| device.expires_at > now);
        Ok((before - state.devices.len()) as u64)
    }
}

impl EventStore for MemoryStore {
    async fn append_event(&self, event: &SecurityEvent) -> Result<(), StoreError> {
        let mut state = self.state();
        state.last_event_seq += 1;
        let seq = crate::EventSeq::new(state.last_event_seq);
        state.events.push((seq, event.clone()));
        Ok(())
    }

    async fn user_events(
        &self,
        user_id: UserId,
        limit: u32,
    ) -> Result<Vec<SecurityEvent>, StoreError> {
        let state = self.state();
        let mut theirs: Vec<(usize, &SecurityEvent)> = state
            .events
            .iter()
            .map(|(_, event)| event)
            .enumerate()
            .filter(|(_, event)| event.user_id == Some(user_id))
            .collect();
        // Newest first; of equal times, the later appended first.
        theirs.sort_unstable_by(|(i, a), (j, b)| (b.at, j).cmp(&(a.at, i)));
        Ok(theirs
            .into_iter()
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .map(|(_, event)| event.clone())
            .collect())
    }

    async fn purge_events(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut state = self.state();
        let count = state.events.len();
        state.events.retain(|(_, event)| event.at >= before);
        Ok((count - state.events.len()) as u64)
    }
}
