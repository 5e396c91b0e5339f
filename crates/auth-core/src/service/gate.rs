//! The limits a password check passes before it is hashed, and what its
//! verdict updates afterwards: the login's, and the self-service routes'
//! that confirm a password (change, deletion).
//!
//! A client whose device cookie vouches for the account spends the device's
//! own budget; any other client must be within its address budget and
//! reserve one of the account's places
//! ([`crate::ThrottleStore::reserve_login_attempt`]), which it gives back
//! once the verdict is recorded.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use chrono::{DateTime, Utc};

use super::{AuthError, Authenticator, throttled};
use crate::{
    AccountKey, Client, DeviceId, DeviceToken, EventKind, FailureStats, RateKey, Reservation,
    Store, UserId, Username,
};

/// How an attempt got past the limits, and so what its outcome updates.
pub(super) enum Gate<S: Store> {
    /// A device cookie vouched for the account: its budget was spent up front.
    Device(DeviceId),
    /// Any other client: a reserved place on the account, the address's budget.
    Stranger {
        place: HeldPlace<S>,
        address: Option<RateKey>,
        stats: FailureStats,
    },
}

impl<S: Store> Gate<S> {
    /// Gives the reserved place back, if any.
    pub(super) async fn release(self) {
        if let Self::Stranger { place, .. } = self {
            place.release().await;
        }
    }
}

/// The places this instance holds per account: a fast path that refuses an
/// attempt without asking the store when this instance alone already holds
/// as many places as an account can ever have (a flood on one account would
/// otherwise cost a store transaction per refusal). The store's count,
/// across instances, still decides every attempt this lets through.
#[derive(Debug, Clone, Default)]
pub(super) struct LocalPlaces(Arc<Mutex<HashMap<AccountKey, u64>>>);

impl LocalPlaces {
    fn held(&self, account: &AccountKey) -> u64 {
        self.lock().get(account).copied().unwrap_or(0)
    }

    fn take(&self, account: &AccountKey) {
        *self.lock().entry(account.clone()).or_insert(0) += 1;
    }

    fn give_back(&self, account: &AccountKey) {
        let mut held = self.lock();
        if let Some(count) = held.get_mut(account) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                held.remove(account);
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<AccountKey, u64>> {
        // Counts only: a panic elsewhere leaves them usable.
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// A reserved place on an account, given back when the attempt ends
/// however it ends: awaited on the normal path, and if the attempt's future
/// is dropped (the client hung up while it waited for a hash), from a task
/// spawned on the current Tokio runtime. Without a runtime the place is
/// freed when the reservation expires.
pub(super) struct HeldPlace<S: Store> {
    store: S,
    reservation: Option<Reservation>,
    local: LocalPlaces,
    account: AccountKey,
}

impl<S: Store> HeldPlace<S> {
    /// Gives the place back now. If the store cannot take it back, the
    /// place is freed when the reservation expires.
    async fn release(mut self) {
        if let Some(reservation) = self.reservation.take() {
            self.local.give_back(&self.account);
            let _ = self.store.release_login_attempt(&reservation).await;
        }
    }
}

impl<S: Store> Drop for HeldPlace<S> {
    fn drop(&mut self) {
        let Some(reservation) = self.reservation.take() else {
            return;
        };
        self.local.give_back(&self.account);
        if let Ok(runtime) = tokio::runtime::Handle::try_current() {
            let store = self.store.clone();
            runtime.spawn(async move {
                let _ = store.release_login_attempt(&reservation).await;
            });
        }
    }
}

impl<S: Store> Authenticator<S> {
    /// The limits an attempt must be within before it is hashed. A refusal
    /// is recorded as a `login_throttled` event (at most one per account a
    /// minute on this instance).
    pub(super) async fn pass_gate(
        &self,
        name: Option<&Username>,
        account: &AccountKey,
        client: &Client,
    ) -> Result<Gate<S>, AuthError> {
        match self.try_gate(account, client).await {
            Err(AuthError::Throttled { retry_after }) => {
                self.record_throttled(name, account, client).await;
                Err(throttled(retry_after))
            }
            other => other,
        }
    }

    async fn try_gate(&self, account: &AccountKey, client: &Client) -> Result<Gate<S>, AuthError> {
        let now = self.clock.now();
        if let Some(device) = self
            .vouching_device(account, client.device.as_ref(), now)
            .await?
        {
            let key = RateKey::device(&device);
            self.store
                .take_rate(&key, &self.devices.attempts, now)
                .await?
                .map_err(throttled)?;
            return Ok(Gate::Device(device));
        }
        let address = client.ip.map(RateKey::login_address);
        if let Some(key) = &address
            && let Some(wait) = self
                .store
                .rate_wait(key, &self.throttle.address, now)
                .await?
        {
            return Err(throttled(wait));
        }
        // Refusals that need no store: this instance alone holds every
        // place the account could have.
        let most = self
            .throttle
            .free_failures
            .saturating_add(self.throttle.in_flight);
        if self.places.held(account) >= u64::from(most.max(1)) {
            return Err(throttled(crate::IN_FLIGHT_WAIT));
        }
        // A read next: a flood on a throttled account costs reads, not
        // the write of a reservation.
        let since = self.throttle.account_since(now);
        let stats = self.store.login_failure_stats(account, since).await?;
        if let Some(wait) = self.throttle.retry_after(&stats, now) {
            return Err(throttled(wait));
        }
        let reservation = self
            .store
            .reserve_login_attempt(account, &self.throttle, now)
            .await?
            .map_err(throttled)?;
        self.places.take(account);
        let place = HeldPlace {
            store: self.store.clone(),
            reservation: Some(reservation),
            local: self.places.clone(),
            account: account.clone(),
        };
        Ok(Gate::Stranger {
            place,
            address,
            stats,
        })
    }

    /// The presented device cookie's id, if it vouches for `account` now.
    pub(super) async fn vouching_device(
        &self,
        account: &AccountKey,
        token: Option<&DeviceToken>,
        now: DateTime<Utc>,
    ) -> Result<Option<DeviceId>, AuthError> {
        let Some(token) = token else {
            return Ok(None);
        };
        let device = self.store.find_device(&token.id()).await?;
        Ok(device
            .filter(|device| device.vouches_for(account, now))
            .map(|device| device.id))
    }

    /// A wrong password: counted against the account and the address (a
    /// device's failure was paid for by the budget it spent), and recorded
    /// as a `login_failed` event when the account exists.
    pub(super) async fn count_failure(
        &self,
        gate: &Gate<S>,
        account: &AccountKey,
        client: &Client,
        user_id: Option<UserId>,
    ) -> Result<(), AuthError> {
        self.count_failure_as(gate, account, client, user_id, EventKind::LoginFailed)
            .await
    }

    /// A failure of the same budget as a wrong password, recorded as
    /// `kind` (a wrong second-factor code is `mfa_failed`).
    pub(super) async fn count_failure_as(
        &self,
        gate: &Gate<S>,
        account: &AccountKey,
        client: &Client,
        user_id: Option<UserId>,
        kind: EventKind,
    ) -> Result<(), AuthError> {
        if let Gate::Stranger { address, .. } = gate {
            let now = self.clock.now();
            let ip = client.ip.map(crate::address_budget_key);
            self.store
                .record_login_failure(account, ip.as_deref(), now)
                .await?;
            if let Some(key) = address {
                self.store
                    .charge_rate(key, &self.throttle.address, now)
                    .await?;
            }
        }
        self.record(kind, user_id, client).await;
        Ok(())
    }

    /// The right password: a stranger's success clears the account's
    /// failures, a device's refills the device's budget.
    pub(super) async fn count_success(
        &self,
        gate: &Gate<S>,
        account: &AccountKey,
    ) -> Result<(), AuthError> {
        match gate {
            Gate::Device(device) => {
                self.store.clear_rate(&RateKey::device(device)).await?;
            }
            Gate::Stranger { stats, .. } => {
                if stats.account_failures > 0 {
                    self.store.clear_login_failures(account).await?;
                }
            }
        }
        Ok(())
    }

    /// A `login_throttled` event, unless one was recorded for the account
    /// in the last minute on this instance: a flood of refused attempts
    /// must not become a flood of writes.
    async fn record_throttled(
        &self,
        name: Option<&Username>,
        account: &AccountKey,
        client: &Client,
    ) {
        if self.events.throttled_recently.get(account).is_some() {
            return;
        }
        self.events.throttled_recently.insert(account.clone(), ());
        let user_id = match name {
            // The event is the user's only if the account exists.
            Some(name) => match self.store.find_user_by_username(name).await {
                Ok(user) => user.map(|user| user.id),
                Err(_) => None,
            },
            None => None,
        };
        self.record(EventKind::LoginThrottled, user_id, client)
            .await;
    }
}
