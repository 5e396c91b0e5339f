//! `JsonFileStore` runs the storage contract every `auth-core` store runs,
//! then the rules only a file shows: handles opened separately (as separate
//! processes would), reopening, damaged files.

use std::path::PathBuf;
use std::time::Duration;

use auth_core::conformance::{create_concurrently, epoch, session_of, user_named};
use auth_core::{
    Actor, Client, EmailAddress, EventKind, EventStore as _, MailKind, MailOutbox as _,
    OutboxStats, QueuedMail, SecurityEvent, SessionStore as _, StoreError, User,
    UserRepository as _, Username,
};
use embedded_auth_cli::{JsonFileStore, JsonStoreError};

/// Temporary directories made here start with this, so the teardown never
/// deletes anything else.
const DIR_PREFIX: &str = "embedded-auth-cli-test-";

/// `store.json` in a new directory that outlives this function (the store
/// needs it after the factory returns); [`remove`] deletes it.
fn fresh_file() -> PathBuf {
    tempfile::Builder::new()
        .prefix(DIR_PREFIX)
        .tempdir()
        .unwrap()
        .keep()
        .join("store.json")
}

fn remove(store: &JsonFileStore) {
    let dir = store.path().parent().unwrap();
    assert!(
        dir.file_name()
            .unwrap()
            .to_string_lossy()
            .starts_with(DIR_PREFIX)
    );
    std::fs::remove_dir_all(dir).unwrap();
}

// One #[tokio::test] per rule, each on a fresh file, deleted afterwards.
auth_core::store_conformance!(
    || async { Some(JsonFileStore::open(fresh_file()).unwrap()) },
    |store: JsonFileStore| async move { remove(&store) }
);

auth_core::one_time_token_conformance!(
    || async { Some(JsonFileStore::open(fresh_file()).unwrap()) },
    |store: JsonFileStore| async move { remove(&store) }
);

auth_core::mail_conformance!(
    || async { Some(JsonFileStore::open(fresh_file()).unwrap()) },
    |store: JsonFileStore| async move { remove(&store) }
);

auth_core::mfa_conformance!(
    || async { Some(JsonFileStore::open(fresh_file()).unwrap()) },
    |store: JsonFileStore| async move { remove(&store) }
);

auth_core::passkey_conformance!(
    || async { Some(JsonFileStore::open(fresh_file()).unwrap()) },
    |store: JsonFileStore| async move { remove(&store) }
);

fn file_error(error: &StoreError) -> &JsonStoreError {
    let StoreError::Unavailable(source) = error else {
        panic!("expected Unavailable, got {error:?}");
    };
    source.downcast_ref().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn racing_creates_through_separately_opened_handles_have_one_winner() {
    // Arrange: 20 handles that share no mutex, only the file and its lock,
    // as 20 processes would.
    let file = fresh_file();
    let handles: Vec<_> = (0..20)
        .map(|_| JsonFileStore::open(&file).unwrap())
        .collect();

    // Act
    let winners = create_concurrently(handles.iter().cloned().enumerate().map(|(i, store)| {
        let user = user_named(if i % 2 == 0 { "Racer" } else { "racer" });
        (store, user)
    }))
    .await;

    // Assert
    assert_eq!(winners.len(), 1);
    remove(&handles[0]);
}

#[tokio::test]
async fn a_reopened_file_reads_back_every_field_exactly() {
    let store = JsonFileStore::open(fresh_file()).unwrap();
    let user = user_named("Zoë.Round-Trip");
    let session = session_of(user.id, epoch());
    store.create_user(&user).await.unwrap();
    store.insert_session(&session).await.unwrap();

    let reopened = JsonFileStore::open(store.path()).unwrap();

    let name = Username::parse("zoë.round-trip").unwrap();
    assert_eq!(
        reopened.find_user_by_username(&name).await.unwrap(),
        Some(user)
    );
    assert_eq!(
        reopened.find_session(&session.id).await.unwrap(),
        Some(session)
    );
    remove(&store);
}

#[tokio::test]
async fn a_reopened_file_reads_back_the_disabled_time_and_the_events_actor() {
    // Arrange: a user disabled (as another program on the file would have
    // written it) and an event caused by an operator.
    let store = JsonFileStore::open(fresh_file()).unwrap();
    let user = User {
        disabled_at: Some(epoch()),
        ..user_named("alice")
    };
    store.create_user(&user).await.unwrap();
    let event = SecurityEvent::new(
        EventKind::AccountDisabled,
        Some(user.id),
        &Client::default(),
        epoch(),
    )
    .by(Some(Actor::operator()));
    store.append_event(&event).await.unwrap();

    // Act
    let reopened = JsonFileStore::open(store.path()).unwrap();

    // Assert
    assert_eq!(
        reopened.find_user_by_id(user.id).await.unwrap(),
        Some(user.clone())
    );
    assert_eq!(reopened.user_events(user.id, 10).await.unwrap(), [event]);
    remove(&store);
}

#[tokio::test]
async fn a_damaged_file_is_refused_when_opened() {
    let file = fresh_file();
    std::fs::write(&file, "{\"format\": 1, \"users\": {").unwrap();

    let error = JsonFileStore::open(&file).unwrap_err();

    assert!(matches!(file_error(&error), JsonStoreError::Parse { .. }));
    std::fs::remove_dir_all(file.parent().unwrap()).unwrap();
}

#[tokio::test]
async fn a_file_of_another_format_version_is_refused_when_opened() {
    let file = fresh_file();
    std::fs::write(
        &file,
        r#"{"format": 2, "users": {}, "sessions": {}, "login_failures": []}"#,
    )
    .unwrap();

    let error = JsonFileStore::open(&file).unwrap_err();

    assert!(matches!(
        file_error(&error),
        JsonStoreError::UnsupportedFormat { found: 2, .. }
    ));
    std::fs::remove_dir_all(file.parent().unwrap()).unwrap();
}

#[tokio::test]
async fn a_user_stored_under_another_names_key_is_unavailable_not_trusted() {
    // Arrange: edited by hand, "bob"'s entry now holds alice.
    let store = JsonFileStore::open(fresh_file()).unwrap();
    store.create_user(&user_named("bob")).await.unwrap();
    let text = std::fs::read_to_string(store.path()).unwrap();
    std::fs::write(
        store.path(),
        text.replace("\"username\": \"bob\"", "\"username\": \"alice\""),
    )
    .unwrap();

    // Act
    let error = store
        .find_user_by_username(&Username::parse("bob").unwrap())
        .await
        .unwrap_err();

    // Assert
    assert!(matches!(
        file_error(&error),
        JsonStoreError::CorruptUser { key, .. } if key == "bob"
    ));
    remove(&store);
}

#[tokio::test]
async fn a_failed_write_leaves_the_file_as_it_was() {
    // Arrange: a directory where the temporary file would go makes the write fail.
    let store = JsonFileStore::open(fresh_file()).unwrap();
    store.create_user(&user_named("alice")).await.unwrap();
    let before = std::fs::read(store.path()).unwrap();
    let mut temp = store.path().as_os_str().to_owned();
    temp.push(".tmp");
    std::fs::create_dir(&temp).unwrap();

    // Act
    let error = store.create_user(&user_named("bob")).await.unwrap_err();

    // Assert
    assert!(matches!(file_error(&error), JsonStoreError::Write { .. }));
    assert_eq!(std::fs::read(store.path()).unwrap(), before);
    remove(&store);
}

#[tokio::test]
async fn a_file_from_before_addresses_and_the_outbox_still_loads() {
    // Arrange: a file as the previous version wrote it: no `email` on the
    // user, no `mail` map.
    let file = fresh_file();
    std::fs::write(
        &file,
        r#"{"format": 1, "users": {"alice": {
            "id": "0190b3c1-7a2e-7cc0-8000-000000000001", "username": "Alice",
            "password_hash": "$scrypt$ln=4,r=8,p=1$c2FsdA$aGFzaA",
            "created_at": "2026-01-01T00:00:00.123456Z",
            "updated_at": "2026-01-01T00:00:00.123456Z"}},
          "sessions": {}, "login_failures": []}"#,
    )
    .unwrap();

    // Act
    let store = JsonFileStore::open(&file).unwrap();
    let alice = store
        .find_user_by_username(&Username::parse("alice").unwrap())
        .await
        .unwrap()
        .unwrap();

    // Assert
    assert_eq!(alice.email, None);
    assert_eq!(alice.disabled_at, None);
    assert_eq!(store.outbox_stats().await.unwrap(), OutboxStats::default());
    remove(&store);
}

#[tokio::test]
async fn a_reopened_file_reads_back_the_address_and_the_queued_mail_exactly() {
    let store = JsonFileStore::open(fresh_file()).unwrap();
    let user = user_named("alice");
    store.create_user(&user).await.unwrap();
    let address = EmailAddress::parse("Alice.Smith@Example.com").unwrap();
    let mail = QueuedMail::new(
        user.id,
        MailKind::EmailVerification,
        address.clone(),
        epoch(),
    );
    assert!(
        store
            .change_email(user.id, &address, epoch(), std::slice::from_ref(&mail))
            .await
            .unwrap()
    );
    assert!(store.mark_email_verified(user.id, &address).await.unwrap());

    let reopened = JsonFileStore::open(store.path()).unwrap();

    let found = reopened.find_user_by_id(user.id).await.unwrap().unwrap();
    let email = found.email.unwrap();
    assert_eq!(email.address.as_str(), "Alice.Smith@Example.com");
    assert!(email.verified);
    let claimed = reopened
        .claim_mail(epoch(), Duration::from_secs(60), 10)
        .await
        .unwrap();
    assert_eq!(
        claimed,
        [QueuedMail {
            attempts: 1,
            ..mail
        }]
    );
    remove(&store);
}

#[tokio::test]
async fn a_user_whose_address_no_longer_parses_is_unavailable_not_trusted() {
    // Arrange: edited by hand, alice's address is no longer one.
    let store = JsonFileStore::open(fresh_file()).unwrap();
    let alice = user_named("alice");
    store.create_user(&alice).await.unwrap();
    let address = EmailAddress::parse("alice@example.com").unwrap();
    store
        .change_email(alice.id, &address, epoch(), &[])
        .await
        .unwrap();
    let text = std::fs::read_to_string(store.path()).unwrap();
    std::fs::write(
        store.path(),
        text.replace("\"alice@example.com\"", "\"alice@localhost\""),
    )
    .unwrap();

    // Act
    let error = store.find_user_by_id(alice.id).await.unwrap_err();

    // Assert
    assert!(matches!(
        file_error(&error),
        JsonStoreError::CorruptUser { key, .. } if key == "alice"
    ));
    remove(&store);
}

#[tokio::test]
async fn a_claim_reports_due_mail_it_cannot_read_and_leases_nothing() {
    // Arrange: edited by hand (or written by a newer version), a queued
    // message has a kind this version does not know.
    let store = JsonFileStore::open(fresh_file()).unwrap();
    let alice = user_named("alice");
    store.create_user(&alice).await.unwrap();
    let to = EmailAddress::parse("alice@example.com").unwrap();
    let good = QueuedMail::new(alice.id, MailKind::PasswordChanged, to.clone(), epoch());
    let bad = QueuedMail::new(alice.id, MailKind::EmailChanged, to, epoch());
    store.enqueue_mail(&[good, bad]).await.unwrap();
    let text = std::fs::read_to_string(store.path()).unwrap();
    std::fs::write(
        store.path(),
        text.replace("\"email_changed\"", "\"carrier_pigeon\""),
    )
    .unwrap();
    let before = std::fs::read(store.path()).unwrap();

    // Act
    let error = store
        .claim_mail(epoch(), Duration::from_secs(60), 10)
        .await
        .unwrap_err();

    // Assert
    assert!(matches!(
        file_error(&error),
        JsonStoreError::CorruptMail { reason, .. } if reason.contains("carrier_pigeon")
    ));
    assert_eq!(std::fs::read(store.path()).unwrap(), before);
    remove(&store);
}
