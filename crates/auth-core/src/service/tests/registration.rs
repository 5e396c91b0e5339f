//! The registration limits: per address and in all.

use std::num::NonZeroU32;

use super::*;
use crate::{Period, RateLimit, RegisterLimits};

fn limited(clock: &ManualClock, per_address: u32, global: u32) -> Authenticator<MemoryStore> {
    service(MemoryStore::new(), clock).with_register_limits(RegisterLimits {
        per_address: RateLimit::new(
            NonZeroU32::new(per_address).unwrap(),
            Period::from_secs(3600),
        ),
        global: RateLimit::new(NonZeroU32::new(global).unwrap(), Period::from_secs(3600)),
    })
}

async fn register_from(
    auth: &Authenticator<MemoryStore>,
    name: &str,
    password: &str,
    from: &str,
) -> Result<crate::User, AuthError> {
    auth.register(
        Username::parse(name).unwrap(),
        Password::new(password),
        &Client::from_ip(ip(from)),
    )
    .await
}

#[tokio::test]
async fn one_address_gets_its_budget_and_others_are_not_affected() {
    let clock = ManualClock::default();
    let auth = limited(&clock, 2, 100);
    for name in ["user1", "user2"] {
        register_from(&auth, name, PASSWORD, "203.0.113.1")
            .await
            .unwrap();
    }

    let third = register_from(&auth, "user3", PASSWORD, "203.0.113.1").await;
    let same_64 = register_from(&auth, "user4", PASSWORD, "2001:db8::1").await;
    let elsewhere = register_from(&auth, "user5", PASSWORD, "198.51.100.1").await;

    // 2 per hour: the next one in 30 minutes.
    assert_eq!(
        third.as_ref().err().and_then(retry_after),
        Some(std::time::Duration::from_secs(1800))
    );
    assert!(same_64.is_ok() && elsewhere.is_ok());
}

#[tokio::test]
async fn the_global_budget_holds_across_addresses() {
    let clock = ManualClock::default();
    let auth = limited(&clock, 10, 3);
    for i in 0..3 {
        register_from(
            &auth,
            &format!("user{i}"),
            PASSWORD,
            &format!("203.0.113.{i}"),
        )
        .await
        .unwrap();
    }

    let fourth = register_from(&auth, "user9", PASSWORD, "198.51.100.9").await;

    assert!(
        matches!(fourth, Err(AuthError::Throttled { .. })),
        "{fourth:?}"
    );
}

#[tokio::test]
async fn taken_names_and_weak_passwords_spend_no_budget() {
    let clock = ManualClock::default();
    let auth = limited(&clock, 1, 100);
    registered(&auth, "alice").await;
    for _ in 0..5 {
        let taken = register_from(&auth, "Alice", PASSWORD, "203.0.113.1").await;
        assert!(matches!(taken, Err(AuthError::UsernameTaken)), "{taken:?}");
        let weak = register_from(&auth, "bob", "short", "203.0.113.1").await;
        assert!(matches!(weak, Err(AuthError::WeakPassword(_))), "{weak:?}");
    }

    let real = register_from(&auth, "bob", PASSWORD, "203.0.113.1").await;

    assert!(real.is_ok(), "{real:?}");
}
