//! Device cookies: a known client is not punished for strangers' failures.

use std::num::NonZeroU32;
use std::time::Duration;

use super::*;
use crate::{DevicePolicy, DeviceToken, Period, RateLimit, ThrottlePolicy};

const NAT: &str = "203.0.113.77";

/// Address budget of 3 failures, the default account back-off.
fn small_address_budget(clock: &ManualClock) -> Authenticator<MemoryStore> {
    service(MemoryStore::new(), clock).with_throttle_policy(ThrottlePolicy {
        address: RateLimit::new(NonZeroU32::new(3).unwrap(), Period::from_secs(900)),
        ..ThrottlePolicy::default()
    })
}

/// A browser behind the NAT: it keeps the cookies it is given.
fn browser() -> Client {
    Client {
        keeps_device_cookie: true,
        ..Client::from_ip(ip(NAT))
    }
}

async fn device_of(auth: &Authenticator<MemoryStore>, name: &str) -> DeviceToken {
    let login = auth
        .login(name, Password::new(PASSWORD), &browser())
        .await
        .unwrap();
    login
        .device
        .expect("a first login from a client issues a device cookie")
}

fn with_device(token: &DeviceToken) -> Client {
    Client {
        device: Some(token.clone()),
        ..browser()
    }
}

#[tokio::test]
async fn a_device_cookie_logs_in_while_its_address_is_over_budget_and_a_stranger_is_refused() {
    // Arrange: alice has logged in from behind the NAT before; then someone
    // behind the same NAT spends the address budget on other names.
    let clock = ManualClock::default();
    let auth = small_address_budget(&clock);
    registered(&auth, "alice").await;
    let device = device_of(&auth, "alice").await;
    for i in 0..3 {
        fail(&auth, &format!("target{i}"), ip(NAT)).await;
    }
    // Act
    let stranger = auth
        .login("alice", Password::new(PASSWORD), &browser())
        .await;
    let known = auth
        .login("alice", Password::new(PASSWORD), &with_device(&device))
        .await;
    // Assert
    assert!(
        matches!(stranger, Err(AuthError::Throttled { .. })),
        "{stranger:?}"
    );
    let known = known.unwrap();
    assert!(known.device.is_none(), "the cookie it has still vouches");
}

#[tokio::test]
async fn a_device_cookie_skips_the_accounts_back_off_that_strangers_filled() {
    let clock = ManualClock::default();
    let auth = service(MemoryStore::new(), &clock);
    registered(&auth, "alice").await;
    let device = device_of(&auth, "alice").await;
    for _ in 0..6 {
        fail(&auth, "alice", ip("198.51.100.66")).await;
    }
    assert!(retry_after(&fail(&auth, "alice", ip("198.51.100.66")).await).is_some());

    let known = auth
        .login("alice", Password::new(PASSWORD), &with_device(&device))
        .await;

    assert!(known.is_ok(), "{known:?}");
    // The owner's success through the device leaves the strangers' back-off.
    assert!(retry_after(&fail(&auth, "alice", ip("198.51.100.66")).await).is_some());
}

#[tokio::test]
async fn a_device_has_its_own_small_budget_refilled_by_a_success() {
    let clock = ManualClock::default();
    let auth = service(MemoryStore::new(), &clock).with_device_policy(DevicePolicy {
        attempts: RateLimit::new(NonZeroU32::new(3).unwrap(), Period::from_secs(3600)),
        ..DevicePolicy::default()
    });
    registered(&auth, "alice").await;
    let device = device_of(&auth, "alice").await;
    let guess = |password: &'static str| {
        let auth = auth.clone();
        let client = with_device(&device);
        async move { auth.login("alice", Password::new(password), &client).await }
    };

    for _ in 0..2 {
        assert!(matches!(
            guess("wrong password").await,
            Err(AuthError::InvalidCredentials)
        ));
    }
    assert!(guess(PASSWORD).await.is_ok(), "the third attempt, right");
    for _ in 0..3 {
        assert!(matches!(
            guess("wrong password").await,
            Err(AuthError::InvalidCredentials)
        ));
    }
    let spent = guess(PASSWORD).await;

    // Three attempts, then one every 20 minutes (3 per hour).
    assert_eq!(
        spent.as_ref().err().and_then(retry_after),
        Some(Duration::from_secs(1200))
    );
    clock.advance(Duration::from_secs(1200));
    assert!(guess(PASSWORD).await.is_ok());
}

#[tokio::test]
async fn a_device_cookie_vouches_only_for_its_own_account() {
    let clock = ManualClock::default();
    let auth = small_address_budget(&clock);
    registered(&auth, "alice").await;
    registered(&auth, "bob").await;
    let alices = device_of(&auth, "alice").await;
    for i in 0..3 {
        fail(&auth, &format!("target{i}"), ip(NAT)).await;
    }

    let as_bob = auth
        .login("bob", Password::new(PASSWORD), &with_device(&alices))
        .await;

    assert!(
        matches!(as_bob, Err(AuthError::Throttled { .. })),
        "{as_bob:?}"
    );
}

#[tokio::test]
async fn an_expired_device_cookie_vouches_for_nothing_and_is_purged() {
    let clock = ManualClock::default();
    let auth = small_address_budget(&clock);
    registered(&auth, "alice").await;
    let device = device_of(&auth, "alice").await;
    clock.advance(auth.device_policy().lifetime);
    for i in 0..3 {
        fail(&auth, &format!("target{i}"), ip(NAT)).await;
    }

    let late = auth
        .login("alice", Password::new(PASSWORD), &with_device(&device))
        .await;

    assert!(matches!(late, Err(AuthError::Throttled { .. })), "{late:?}");
    assert_eq!(auth.purge_expired().await.unwrap().devices, 1);
}
