//! Hashing: rehashes, the policy on old passwords, the places kept for logins.

use std::sync::Arc;

use super::*;
use crate::{Clock, HashPurpose, User, UserId, UserRepository};

#[tokio::test]
async fn a_login_rehashes_a_hash_made_with_weaker_parameters() {
    let clock = ManualClock::default();
    let store = MemoryStore::new();
    let old = service(store.clone(), &clock);
    registered(&old, "alice").await;
    let name = Username::parse("alice").unwrap();
    let before = store.find_user_by_username(&name).await.unwrap().unwrap();
    assert!(before.password_hash.as_str().starts_with("$scrypt$ln=4,"));

    let stronger = Authenticator::new(store.clone(), hasher(6), Arc::new(clock.clone()));
    let login = stronger
        .login("alice", Password::new(PASSWORD), &Client::default())
        .await
        .unwrap();
    let after = store.find_user_by_username(&name).await.unwrap().unwrap();
    assert!(
        after.password_hash.as_str().starts_with("$scrypt$ln=6,"),
        "rehashed"
    );
    assert_eq!(login.user.password_hash, after.password_hash);
    // The new hash verifies, and a second login does not rehash again.
    stronger
        .login("alice", Password::new(PASSWORD), &Client::default())
        .await
        .unwrap();
    let again = store.find_user_by_username(&name).await.unwrap().unwrap();
    assert_eq!(again.password_hash, after.password_hash);
}

#[tokio::test]
async fn a_password_below_todays_policy_logs_in_with_a_change_recommended() {
    let clock = ManualClock::default();
    let store = MemoryStore::new();
    let auth = service(store.clone(), &clock);
    registered(&auth, "alice").await;
    // As an import would store it: hashed without the policy.
    let now = clock.now();
    store
        .create_user(&User {
            id: UserId::new(),
            username: Username::parse("dave").unwrap(),
            password_hash: hasher(4)
                .hash_blocking(&Password::new("password123"))
                .unwrap(),
            created_at: now,
            updated_at: now,
            email: None,
            disabled_at: None,
        })
        .await
        .unwrap();

    let weak = auth
        .login("dave", Password::new("password123"), &Client::default())
        .await
        .unwrap();
    let strong = auth
        .login("alice", Password::new(PASSWORD), &Client::default())
        .await
        .unwrap();

    assert!(weak.password_change_recommended);
    assert!(!strong.password_change_recommended);
}

#[tokio::test]
async fn a_stored_hash_with_absurd_parameters_is_refused_not_allocated() {
    let clock = ManualClock::default();
    let store = MemoryStore::new();
    let auth = service(store.clone(), &clock);
    let now = clock.now();
    store
        .create_user(&User {
            id: UserId::new(),
            username: Username::parse("mallory").unwrap(),
            password_hash: crate::PasswordHash::from_stored(
                "$scrypt$ln=30,r=8,p=1$aM15713r3Xsvxbi31lqr1Q$nFNh2CVHVjNldFVKDHDlm4CbdRSCdEBsjjJxD+iCs5E",
            ),
            created_at: now,
            updated_at: now,
            email: None,
            disabled_at: None,
        })
        .await
        .unwrap();
    let error = auth
        .login("mallory", Password::new("password"), &Client::default())
        .await
        .unwrap_err();
    assert!(
        matches!(error, AuthError::UnusableStoredHash { .. }),
        "{error:?}"
    );
}

/// An authenticator whose pool has 1 thread + 3 waiting places: 4 in
/// all, 2 of them for setting passwords.
fn small_pool(store: MemoryStore, clock: &ManualClock) -> Authenticator<MemoryStore> {
    let hasher = PasswordHasher::new(HashConfig {
        max_concurrent: 1,
        max_queued: 3,
        ..HashConfig::insecure_fast_for_tests()
    })
    .unwrap();
    Authenticator::new(store, hasher, Arc::new(clock.clone()))
}

#[tokio::test]
async fn a_registration_flood_cannot_take_the_hashing_places_kept_for_logins() {
    // Arrange: alice exists; registrations hold their whole share.
    let clock = ManualClock::default();
    let auth = small_pool(MemoryStore::new(), &clock);
    registered(&auth, "alice").await;
    let held: Vec<_> = (0..3)
        .map(|_| auth.hasher().reserve(HashPurpose::SetPassword).unwrap())
        .collect();
    // Act
    let registration = auth
        .register(
            Username::parse("mallory").unwrap(),
            Password::new(PASSWORD),
            &Client::default(),
        )
        .await;
    let user_id = auth
        .login("alice", Password::new(PASSWORD), &Client::default())
        .await;
    // Assert: the registration is refused, the login is not.
    assert!(matches!(registration, Err(AuthError::Overloaded)));
    let user_id = user_id.unwrap().user.id;
    assert!(matches!(
        auth.set_password(user_id, Password::new("violet canyon ember 93"))
            .await,
        Err(AuthError::Overloaded)
    ));
    assert!(matches!(
        fail(&auth, "nobody", None).await,
        AuthError::InvalidCredentials
    ));
    drop(held);
}

#[tokio::test]
async fn registering_a_taken_name_answers_without_hashing_even_when_the_pool_is_full() {
    // Arrange: alice exists; every hashing place is taken.
    let clock = ManualClock::default();
    let auth = small_pool(MemoryStore::new(), &clock);
    registered(&auth, "alice").await;
    let hashed = auth.hasher().jobs_completed();
    let held: Vec<_> = (0..4)
        .map(|_| auth.hasher().reserve(HashPurpose::Login).unwrap())
        .collect();
    // Act: the same name, in another case.
    let outcome = auth
        .register(
            Username::parse("Alice").unwrap(),
            Password::new(PASSWORD),
            &Client::default(),
        )
        .await;
    // Assert
    assert!(
        matches!(outcome, Err(AuthError::UsernameTaken)),
        "{outcome:?}"
    );
    assert_eq!(auth.hasher().jobs_completed(), hashed, "no hash was made");
    assert_eq!(auth.hasher().rejected(), 0, "no place was asked for");
    drop(held);
}

#[tokio::test]
async fn set_password_applies_the_policy_and_ends_all_sessions() {
    let clock = ManualClock::default();
    let auth = service(MemoryStore::new(), &clock);
    let user = auth
        .register(
            Username::parse("alice").unwrap(),
            Password::new(PASSWORD),
            &Client::default(),
        )
        .await
        .unwrap();
    let login = auth
        .login("alice", Password::new(PASSWORD), &Client::default())
        .await
        .unwrap();
    assert!(matches!(
        auth.set_password(user.id, Password::new("short")).await,
        Err(AuthError::WeakPassword(_))
    ));
    auth.set_password(user.id, Password::new("a brand new passphrase here"))
        .await
        .unwrap();
    assert!(matches!(
        auth.authenticate(login.token.as_str()).await,
        Err(AuthError::NotAuthenticated)
    ));
    auth.login(
        "alice",
        Password::new("a brand new passphrase here"),
        &Client::default(),
    )
    .await
    .unwrap();
}
