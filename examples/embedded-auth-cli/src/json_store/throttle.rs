//! [`ThrottleStore`] for [`JsonFileStore`]: a list of failures, counted by
//! reading it through.

use auth_core::{AccountKey, FailureBudget, FailureStats, StoreError, ThrottleStore};
use chrono::{DateTime, Utc};

use super::contents::StoredFailure;
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
        client_ip: Option<&str>,
        account_since: DateTime<Utc>,
        ip_since: DateTime<Utc>,
    ) -> Result<FailureStats, StoreError> {
        let account = account.as_str().to_owned();
        let client_ip = client_ip.map(str::to_owned);
        self.read(move |contents| {
            let mut stats = FailureStats::default();
            for failure in &contents.login_failures {
                let at = failure.at;
                if failure.account == account && at >= account_since {
                    stats.record(FailureBudget::Account, 1, at..=at);
                }
                if client_ip.is_some() && failure.client_ip == client_ip && at >= ip_since {
                    stats.record(FailureBudget::ClientIp, 1, at..=at);
                }
            }
            stats
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

    async fn purge_login_failures(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        self.update(move |contents| {
            let count = contents.login_failures.len();
            contents
                .login_failures
                .retain(|failure| failure.at >= before);
            Ok(Outcome::of_count(count - contents.login_failures.len()))
        })
        .await
    }
}
