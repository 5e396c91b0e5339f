//! The use cases' tests, over the [`MemoryStore`], one file per concern.

// Tests: a failed expectation is meant to panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod account;
mod cache;
mod devices;
mod hashing;
mod leases;
mod mfa;
mod registration;
mod throttle;
mod user_views;

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use crate::{
    AuthError, Authenticator, Client, HashConfig, ManualClock, MemoryStore, Password,
    PasswordHasher, ScryptParams, Username,
};

pub(super) const PASSWORD: &str = "tangerine maple orbit 42";

pub(super) fn hasher(log_n: u8) -> PasswordHasher {
    PasswordHasher::new(HashConfig {
        params: ScryptParams::new(log_n, 8, 1).unwrap(),
        ..HashConfig::insecure_fast_for_tests()
    })
    .unwrap()
}

pub(super) fn service(store: MemoryStore, clock: &ManualClock) -> Authenticator<MemoryStore> {
    Authenticator::new(store, hasher(4), Arc::new(clock.clone()))
}

pub(super) fn ip(text: &str) -> Option<IpAddr> {
    Some(text.parse().unwrap())
}

pub(super) async fn registered(auth: &Authenticator<MemoryStore>, name: &str) {
    auth.register(
        Username::parse(name).unwrap(),
        Password::new(PASSWORD),
        &Client::default(),
    )
    .await
    .unwrap();
}

pub(super) async fn fail(
    auth: &Authenticator<MemoryStore>,
    name: &str,
    from: Option<IpAddr>,
) -> AuthError {
    auth.login(
        name,
        Password::new("wrong password"),
        &Client::from_ip(from),
    )
    .await
    .unwrap_err()
}

pub(super) fn retry_after(error: &AuthError) -> Option<Duration> {
    match error {
        AuthError::Throttled { retry_after } => Some(*retry_after),
        _ => None,
    }
}
