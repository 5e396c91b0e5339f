//! [`RateLimitStore`] and [`DeviceStore`] for [`JsonFileStore`]: maps in the
//! file, changed under its write locks.

use std::time::Duration;

use auth_core::{
    AccountKey, Device, DeviceId, DeviceStore, RateKey, RateLimit, RateLimitStore, StoreError,
};
use chrono::{DateTime, Utc};

use super::contents::StoredDevice;
use super::{JsonFileStore, Outcome};

impl RateLimitStore for JsonFileStore {
    async fn take_rate(
        &self,
        key: &RateKey,
        limit: &RateLimit,
        now: DateTime<Utc>,
    ) -> Result<Result<(), Duration>, StoreError> {
        let (key, limit) = (key.as_str().to_owned(), *limit);
        self.update(move |contents| {
            let state = contents.rates.get(&key).copied();
            Ok(match limit.take(state, now) {
                Ok(next) => {
                    contents.rates.insert(key, next);
                    Outcome::Changed(Ok(()))
                }
                Err(wait) => Outcome::Unchanged(Err(wait)),
            })
        })
        .await
    }

    async fn charge_rate(
        &self,
        key: &RateKey,
        limit: &RateLimit,
        now: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let (key, limit) = (key.as_str().to_owned(), *limit);
        self.update(move |contents| {
            let state = contents.rates.get(&key).copied();
            contents.rates.insert(key, limit.charge(state, now));
            Ok(Outcome::Changed(()))
        })
        .await
    }

    async fn rate_wait(
        &self,
        key: &RateKey,
        limit: &RateLimit,
        now: DateTime<Utc>,
    ) -> Result<Option<Duration>, StoreError> {
        let (key, limit) = (key.as_str().to_owned(), *limit);
        self.read(move |contents| limit.wait(contents.rates.get(&key).copied(), now))
            .await
    }

    async fn clear_rate(&self, key: &RateKey) -> Result<(), StoreError> {
        let key = key.as_str().to_owned();
        self.update(move |contents| {
            Ok(match contents.rates.remove(&key) {
                Some(_) => Outcome::Changed(()),
                None => Outcome::Unchanged(()),
            })
        })
        .await
    }

    async fn purge_rates(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.update(move |contents| {
            let before = contents.rates.len();
            contents.rates.retain(|_, state| *state > now);
            Ok(Outcome::of_count(before - contents.rates.len()))
        })
        .await
    }
}

impl DeviceStore for JsonFileStore {
    async fn insert_device(&self, device: &Device) -> Result<(), StoreError> {
        let (key, stored) = (
            device.id.to_hex(),
            StoredDevice {
                account: device.account.as_str().to_owned(),
                created_at: device.created_at,
                expires_at: device.expires_at,
            },
        );
        self.update(move |contents| {
            contents.devices.insert(key, stored);
            Ok(Outcome::Changed(()))
        })
        .await
    }

    async fn find_device(&self, id: &DeviceId) -> Result<Option<Device>, StoreError> {
        let id = *id;
        self.read(move |contents| {
            contents.devices.get(&id.to_hex()).map(|stored| Device {
                id,
                account: AccountKey::from_stored(stored.account.clone()),
                created_at: stored.created_at,
                expires_at: stored.expires_at,
            })
        })
        .await
    }

    async fn purge_expired_devices(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.update(move |contents| {
            let before = contents.devices.len();
            contents.devices.retain(|_, device| device.expires_at > now);
            Ok(Outcome::of_count(before - contents.devices.len()))
        })
        .await
    }
}
