//! [`ThrottleStore`] for [`JsonFileStore`]: a list of failures, counted by
//! reading it through, and the reservations, decided under the write locks.

use std::time::Duration;

use auth_core::{AccountKey, FailureStats, Reservation, StoreError, ThrottlePolicy, ThrottleStore};
use chrono::{DateTime, Utc};

use super::contents::{Contents, StoredFailure, StoredReservation};
use super::{JsonFileStore, Outcome};

impl ThrottleStore for JsonFileStore {
    async fn record_login_failure(
        &self,
        account: &AccountKey,
        client_ip: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let failure = StoredFailure {
            account: account.as_str().to_owned(),
            client_ip: client_ip.map(str::to_owned),
            at,
        };
        self.update(move |contents| {
            contents.login_failures.push(failure);
            Ok(Outcome::Changed(()))
        })
        .await
    }

    async fn login_failure_stats(
        &self,
        account: &AccountKey,
        since: DateTime<Utc>,
    ) -> Result<FailureStats, StoreError> {
        let account = account.as_str().to_owned();
        self.read(move |contents| failure_stats(&contents, &account, since))
            .await
    }

    async fn reserve_login_attempt(
        &self,
        account: &AccountKey,
        policy: &ThrottlePolicy,
        now: DateTime<Utc>,
    ) -> Result<Result<Reservation, Duration>, StoreError> {
        let (account, policy) = (account.as_str().to_owned(), *policy);
        // Under the store's write locks: the count and the insert are one step.
        self.update(move |contents| {
            let stats = failure_stats(contents, &account, policy.account_since(now));
            let held = contents
                .reservations
                .values()
                .filter(|held| held.account == account && held.expires_at > now)
                .count() as u64;
            if let Err(wait) = policy.admit(&stats, held, now) {
                return Ok(Outcome::Unchanged(Err(wait)));
            }
            let reservation = Reservation::new();
            contents.reservations.insert(
                *reservation.as_uuid(),
                StoredReservation {
                    account,
                    expires_at: policy.reservation_expiry(now),
                },
            );
            Ok(Outcome::Changed(Ok(reservation)))
        })
        .await
    }

    async fn release_login_attempt(&self, reservation: &Reservation) -> Result<(), StoreError> {
        let id = *reservation.as_uuid();
        self.update(move |contents| {
            Ok(match contents.reservations.remove(&id) {
                Some(_) => Outcome::Changed(()),
                None => Outcome::Unchanged(()),
            })
        })
        .await
    }

    async fn clear_login_failures(&self, account: &AccountKey) -> Result<u64, StoreError> {
        let account = account.as_str().to_owned();
        self.update(move |contents| {
            let before = contents.login_failures.len();
            contents
                .login_failures
                .retain(|failure| failure.account != account);
            Ok(Outcome::of_count(before - contents.login_failures.len()))
        })
        .await
    }

    async fn purge_login_failures(
        &self,
        before: DateTime<Utc>,
        now: DateTime<Utc>,
    ) -> Result<u64, StoreError> {
        self.update(move |contents| {
            let count = contents.login_failures.len() + contents.reservations.len();
            contents
                .login_failures
                .retain(|failure| failure.at >= before);
            contents
                .reservations
                .retain(|_, held| held.expires_at > now);
            let left = contents.login_failures.len() + contents.reservations.len();
            Ok(Outcome::of_count(count - left))
        })
        .await
    }
}

fn failure_stats(contents: &Contents, account: &str, since: DateTime<Utc>) -> FailureStats {
    let mut stats = FailureStats::default();
    for failure in &contents.login_failures {
        if failure.account == account && failure.at >= since {
            stats.record(1, failure.at..=failure.at);
        }
    }
    stats
}
