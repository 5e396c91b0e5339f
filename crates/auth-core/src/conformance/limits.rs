//! Rules for [`crate::RateLimitStore`] and [`crate::DeviceStore`].

use std::num::NonZeroU32;
use std::time::Duration;

use chrono::TimeDelta;

use super::epoch;
use super::throttle::key;
use crate::{Device, DeviceId, Period, RateKey, RateLimit, Store};

fn limit(count: u32, secs: u64) -> RateLimit {
    #[allow(clippy::expect_used)] // rules pass positive literals
    RateLimit::new(
        NonZeroU32::new(count).expect("positive"),
        Period::from_secs(secs),
    )
}

fn address(text: &str) -> std::net::IpAddr {
    #[allow(clippy::expect_used)] // rules pass literal addresses
    text.parse().expect("rules use valid addresses")
}

/// Of a burst of concurrent takes, exactly the limit's burst succeed,
/// through any handle.
pub async fn rates_concurrent_takes_get_exactly_the_burst<S: Store>(store: S) {
    let mut tasks = Vec::new();
    for _ in 0..30 {
        let store = store.clone();
        tasks.push(tokio::spawn(async move {
            store
                .take_rate(&RateKey::register_global(), &limit(10, 100), epoch())
                .await
        }));
    }
    let mut granted = 0;
    for task in tasks {
        if task.await.unwrap().unwrap().is_ok() {
            granted += 1;
        }
    }
    assert_eq!(granted, 10);
    assert_eq!(
        store
            .rate_wait(&RateKey::register_global(), &limit(10, 100), epoch())
            .await
            .unwrap(),
        Some(Duration::from_secs(10))
    );
}

/// The state reads back to the microsecond: the wait is exact.
pub async fn rates_state_reads_back_exactly<S: Store>(store: S) {
    let key = RateKey::login_address(address("192.0.2.1"));
    let one_per_10s = limit(1, 10);
    store
        .take_rate(&key, &one_per_10s, epoch())
        .await
        .unwrap()
        .unwrap();
    let later = epoch() + TimeDelta::microseconds(3_500_001);
    assert_eq!(
        store.rate_wait(&key, &one_per_10s, later).await.unwrap(),
        Some(Duration::from_micros(6_499_999))
    );
    assert_eq!(
        store.take_rate(&key, &one_per_10s, later).await.unwrap(),
        Err(Duration::from_micros(6_499_999))
    );
    let refilled = epoch() + TimeDelta::seconds(10);
    store
        .take_rate(&key, &one_per_10s, refilled)
        .await
        .unwrap()
        .unwrap();
}

/// Concurrent charges are all counted, even past the burst.
pub async fn rates_concurrent_charges_are_all_counted<S: Store>(store: S) {
    let key = RateKey::login_address(address("192.0.2.1"));
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (store, key) = (store.clone(), key.clone());
        tasks.push(tokio::spawn(async move {
            store.charge_rate(&key, &limit(5, 50), epoch()).await
        }));
    }
    for task in tasks {
        task.await.unwrap().unwrap();
    }
    // 20 charges of 10 s each, 50 s of burst: 150 s past it, and one more interval.
    assert_eq!(
        store.rate_wait(&key, &limit(5, 50), epoch()).await.unwrap(),
        Some(Duration::from_secs(160))
    );
}

/// Keys are independent; clearing one leaves the others alone.
pub async fn rates_keys_are_independent_and_cleared_one_at_a_time<S: Store>(store: S) {
    let one = limit(1, 60);
    let a = RateKey::register_address(address("192.0.2.1"));
    let b = RateKey::register_address(address("192.0.2.2"));
    for key in [&a, &b] {
        store.take_rate(key, &one, epoch()).await.unwrap().unwrap();
    }
    store.clear_rate(&a).await.unwrap();
    assert_eq!(store.rate_wait(&a, &one, epoch()).await.unwrap(), None);
    assert!(store.rate_wait(&b, &one, epoch()).await.unwrap().is_some());
    let login = RateKey::login_address(address("192.0.2.2"));
    assert_eq!(store.rate_wait(&login, &one, epoch()).await.unwrap(), None);
}

/// Purge removes the budgets that are full again, and only those.
pub async fn rates_purge_removes_full_budgets_only<S: Store>(store: S) {
    let a = RateKey::register_address(address("192.0.2.1"));
    let b = RateKey::register_address(address("192.0.2.2"));
    store
        .take_rate(&a, &limit(1, 10), epoch())
        .await
        .unwrap()
        .unwrap();
    store
        .take_rate(&b, &limit(1, 100), epoch())
        .await
        .unwrap()
        .unwrap();
    let later = epoch() + TimeDelta::seconds(50);
    assert_eq!(store.purge_rates(later).await.unwrap(), 1);
    assert!(
        store
            .rate_wait(&b, &limit(1, 100), later)
            .await
            .unwrap()
            .is_some()
    );
}

fn device(byte: u8, expires_in: TimeDelta) -> Device {
    Device {
        id: DeviceId::from_bytes([byte; 32]),
        account: key("alice"),
        created_at: epoch(),
        expires_at: epoch() + expires_in,
    }
}

/// Every field of a device reads back exactly; an unknown id is `None`.
pub async fn devices_round_trip_every_field<S: Store>(store: S) {
    let stored = device(1, TimeDelta::days(180));
    store.insert_device(&stored).await.unwrap();
    assert_eq!(store.find_device(&stored.id).await.unwrap(), Some(stored));
    let unknown = DeviceId::from_bytes([2; 32]);
    assert_eq!(store.find_device(&unknown).await.unwrap(), None);
}

/// Purge removes the devices expired at `now`, and only those.
pub async fn devices_purge_removes_expired_only<S: Store>(store: S) {
    let short = device(1, TimeDelta::hours(1));
    let long = device(2, TimeDelta::days(1));
    store.insert_device(&short).await.unwrap();
    store.insert_device(&long).await.unwrap();
    let now = epoch() + TimeDelta::hours(1);
    assert_eq!(store.purge_expired_devices(now).await.unwrap(), 1);
    assert_eq!(store.find_device(&short.id).await.unwrap(), None);
    assert_eq!(store.find_device(&long.id).await.unwrap(), Some(long));
}
