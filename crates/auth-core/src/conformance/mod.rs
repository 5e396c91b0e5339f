//! The storage contract as tests, run by every [`crate::Store`].

// The rules are tests: a failed expectation is meant to panic.
#![allow(clippy::unwrap_used, clippy::expect_used)]
//!
//! Each rule is a public `async fn rule(store: S)`; [`crate::store_conformance!`]
//! expands to one `#[tokio::test]` per rule, each with a fresh store from the
//! caller's factory, so every rule shows up by name in each store's test
//! report and one failure does not hide the rest. A bug found in one store
//! becomes a rule here and so reaches every store.
//!
//! ```ignore
//! // tests/my_store.rs (needs tokio with "macros" and "rt-multi-thread")
//! auth_core::store_conformance!(|| async { Some(MyStore::connect_fresh().await) });
//!
//! // A factory may return None to skip (say why on stderr), and a teardown
//! // closure may follow to drop what the factory made:
//! auth_core::store_conformance!(
//!     || async { fresh_postgres_store().await },
//!     |store: MyStore| async move { store.drop_database().await }
//! );
//!
//! // Or it returns the store with a guard that cleans up when dropped, so
//! // the cleanup also happens when a rule panics (see `Fixture`):
//! auth_core::store_conformance!(|| async {
//!     let database = TestDatabase::create().await?;
//!     Some((MyStore::connect(database.url()).await, database))
//! });
//! ```

mod account;
mod admin;
mod leases;
mod limits;
mod mail;
mod mfa;
mod passkeys;
mod revocations;
mod sessions;
mod throttle;
mod tokens;
mod users;

pub use account::*;
pub use admin::*;
pub use leases::*;
pub use limits::*;
pub use mail::*;
pub use mfa::*;
pub use passkeys::*;
pub use revocations::*;
pub use sessions::*;
pub use throttle::*;
pub use tokens::*;
pub use users::*;

use chrono::{DateTime, TimeDelta, Utc};

use crate::{PasswordHash, Session, SessionToken, Store, StoreError, User, UserId, Username};

/// A fixed, microsecond-precise instant the rules start from.
pub fn epoch() -> DateTime<Utc> {
    DateTime::from_timestamp(1_767_225_600, 123_456_000).unwrap_or_default()
}

/// A user named `name`, created at [`epoch`].
///
/// # Panics
/// If `name` is not a valid username (a bug in the rule, not the store).
pub fn user_named(name: &str) -> User {
    #[allow(clippy::expect_used)] // rules pass literal, valid names
    let username = Username::parse(name).expect("rules use valid usernames");
    User {
        id: UserId::new(),
        username,
        password_hash: PasswordHash::from_stored(format!(
            "$scrypt$ln=4,r=8,p=1$c2FsdHNhbHRzYWx0$hash-of-{name}"
        )),
        created_at: epoch(),
        updated_at: epoch(),
        email: None,
        disabled_at: None,
    }
}

/// A session of `user_id` created at `created`, idle expiry one hour later,
/// absolute expiry one day later.
///
/// # Panics
/// If the OS has no randomness.
pub fn session_of(user_id: UserId, created: DateTime<Utc>) -> Session {
    #[allow(clippy::expect_used)] // no randomness means no test can run anyway
    let token = SessionToken::generate().expect("OS randomness");
    Session {
        id: token.id(),
        user_id,
        created_at: created,
        last_seen_at: created,
        idle_expires_at: created + TimeDelta::hours(1),
        expires_at: created + TimeDelta::days(1),
        user_agent: crate::UserAgent::new("Mozilla/5.0 (X11; Linux x86_64) conformance/1"),
        client_ip: Some("2001:db8::7".to_owned()),
    }
}

/// Creates each user through its own task and store handle, all at once,
/// and returns the ids of the creates that succeeded: how a rule (or an
/// adapter's own test, with separately opened handles) races registrations.
///
/// ```
/// use auth_core::MemoryStore;
/// use auth_core::conformance::{create_concurrently, user_named};
///
/// # #[tokio::main(flavor = "multi_thread", worker_threads = 2)]
/// # async fn main() {
/// let store = MemoryStore::new();
/// let racers = ["Racer", "racer", "RACER"].map(|name| (store.clone(), user_named(name)));
/// assert_eq!(create_concurrently(racers).await.len(), 1);
/// # }
/// ```
///
/// # Panics
/// If a create fails other than with [`StoreError::UsernameTaken`].
pub async fn create_concurrently<S: Store>(
    attempts: impl IntoIterator<Item = (S, User)>,
) -> Vec<UserId> {
    let tasks: Vec<_> = attempts
        .into_iter()
        .map(|(store, user)| {
            tokio::spawn(async move { store.create_user(&user).await.map(|()| user.id) })
        })
        .collect();
    let mut winners = Vec::new();
    for task in tasks {
        match task.await.unwrap() {
            Ok(id) => winners.push(id),
            Err(StoreError::UsernameTaken) => {}
            Err(other) => panic!("a losing create must be UsernameTaken, got {other:?}"),
        }
    }
    winners
}

/// What a [`crate::store_conformance!`] factory makes for one rule: a store,
/// or a store and a guard `(S, G)` that lives until the test ends, panicking
/// or not (a test database whose `Drop` removes it).
///
/// ```
/// use auth_core::MemoryStore;
/// use auth_core::conformance::Fixture;
///
/// struct DropsTheDatabase; // stands for a guard whose Drop cleans up
/// let fixture = (MemoryStore::new(), DropsTheDatabase);
/// let _for_the_rule: MemoryStore = fixture.store();
/// ```
pub trait Fixture: Send + 'static {
    /// The store the rule runs on.
    type Store: Store;

    /// A handle on the store, for the rule.
    fn store(&self) -> Self::Store;
}

impl<S: Store> Fixture for S {
    type Store = S;

    fn store(&self) -> S {
        self.clone()
    }
}

impl<S: Store, G: Send + 'static> Fixture for (S, G) {
    type Store = S;

    fn store(&self) -> S {
        self.0.clone()
    }
}

/// Expands to one `#[tokio::test]` per conformance rule.
///
/// The first argument is a factory, `|| async { Option<F> }`, called once
/// per test, where `F` is a [`conformance::Fixture`](crate::conformance::Fixture):
/// the store, or the store and a guard; `None` skips that test (print the
/// reason). The optional second argument is a teardown, `|fixture: F| async
/// { .. }`, run after each rule that passes (a panicking rule skips it; a
/// guard's `Drop` still runs).
/// The calling crate needs `tokio` with the `macros` and `rt-multi-thread`
/// features among its dev-dependencies.
#[macro_export]
macro_rules! store_conformance {
    ($factory:expr) => {
        $crate::store_conformance!($factory, |_store| async {});
    };
    ($factory:expr, $teardown:expr) => {
        $crate::__store_conformance_rules!(
            $factory,
            $teardown;
            users_round_trip_every_field,
            users_are_found_by_any_case_variant_of_their_name,
            users_case_variants_collide,
            users_unicode_compatibility_forms_collide,
            users_concurrent_creates_of_one_name_have_exactly_one_winner,
            users_confusable_names_collide,
            users_concurrent_creates_of_confusable_names_have_exactly_one_winner,
            users_distinct_names_coexist,
            users_missing_are_none,
            users_set_password_hash_changes_only_that_user,
            users_set_password_hash_of_unknown_user_is_false,
            users_replace_password_hash_is_a_compare_and_swap,
            users_written_through_one_handle_are_seen_through_another,
            sessions_round_trip_every_field_exactly,
            sessions_unknown_are_none,
            sessions_touch_updates_last_seen_and_idle_expiry_only,
            sessions_touch_of_unknown_session_is_false,
            sessions_revoke_removes_exactly_one,
            sessions_revoked_are_gone_for_every_handle,
            sessions_revoke_all_leaves_other_users_alone,
            sessions_beyond_the_newest_are_revoked_oldest_first,
            sessions_are_inserted_only_for_the_current_credential,
            sessions_purge_removes_idle_and_absolute_expired_only,
            sessions_concurrent_inserts_are_all_kept,
            throttle_counts_failures_per_account_within_the_window,
            throttle_unknown_account_has_no_failures,
            throttle_clear_removes_only_that_account,
            throttle_purge_removes_old_failures_and_expired_reservations_only,
            throttle_concurrent_failures_are_all_counted_for_every_handle,
            throttle_concurrent_reservations_get_exactly_the_places_allowed,
            throttle_released_and_expired_reservations_free_their_places,
            throttle_reservations_apply_the_back_off,
            rates_concurrent_takes_get_exactly_the_burst,
            rates_state_reads_back_exactly,
            rates_concurrent_charges_are_all_counted,
            rates_keys_are_independent_and_cleared_one_at_a_time,
            rates_purge_removes_full_budgets_only,
            devices_round_trip_every_field,
            devices_purge_removes_expired_only,
            sessions_are_listed_per_user_with_every_field,
            sessions_revoke_others_keeps_the_given_one_and_other_users,
            users_deleted_take_their_sessions_devices_failures_and_events,
            events_are_the_users_own_newest_first_and_exact,
            events_purge_removes_old_events_only,
            events_concurrent_appends_are_all_kept,
        );
    };
}

/// Expands to one `#[tokio::test]` per rule of the revocation log
/// ([`RevocationLog`](crate::RevocationLog)), for stores that implement it;
/// the arguments are those of [`crate::store_conformance!`].
#[macro_export]
macro_rules! revocation_log_conformance {
    ($factory:expr) => {
        $crate::revocation_log_conformance!($factory, |_store| async {});
    };
    ($factory:expr, $teardown:expr) => {
        $crate::__store_conformance_rules!(
            $factory,
            $teardown;
            revocations_are_logged_for_every_call_that_removes_sessions,
            revocations_are_logged_for_every_change_to_what_is_kept_per_user,
            revocations_last_position_is_the_newest_entry,
            revocations_concurrent_appends_are_read_in_commit_order,
            leases_are_granted_only_at_the_newest_position,
            leases_behind_names_each_live_lease_below_a_position,
            an_ended_lease_holds_no_writer_back,
            a_lease_is_never_granted_unseen_behind_a_concurrent_append,
        );
    };
}

/// Expands to one `#[tokio::test]` per rule of the one-time token port
/// ([`OneTimeTokenStore`](crate::OneTimeTokenStore)), for stores that
/// implement it; the arguments are those of [`crate::store_conformance!`].
#[macro_export]
macro_rules! one_time_token_conformance {
    ($factory:expr) => {
        $crate::one_time_token_conformance!($factory, |_store| async {});
    };
    ($factory:expr, $teardown:expr) => {
        $crate::__store_conformance_rules!(
            $factory,
            $teardown;
            tokens_are_consumed_exactly_once,
            tokens_concurrent_consumes_have_exactly_one_winner,
            tokens_expired_are_never_consumed,
            tokens_issue_replaces_only_the_users_token_of_that_purpose,
            tokens_of_another_purpose_or_unknown_are_refused,
            tokens_revoke_ends_only_that_purpose,
            tokens_purge_removes_expired_only,
            tokens_die_with_their_user,
            tokens_give_back_their_subject,
            tokens_are_found_live_without_being_consumed,
        );
    };
}

/// Expands to one `#[tokio::test]` per rule of account addresses and the
/// outbox ([`MailOutbox`](crate::MailOutbox)); the arguments are those of
/// [`crate::store_conformance!`].
#[macro_export]
macro_rules! mail_conformance {
    ($factory:expr) => {
        $crate::mail_conformance!($factory, |_store| async {});
    };
    ($factory:expr, $teardown:expr) => {
        $crate::__store_conformance_rules!(
            $factory,
            $teardown;
            emails_round_trip_and_are_found_by_any_case,
            emails_are_unique_without_regard_to_case,
            emails_change_unverifies_frees_the_old_and_queues_mail,
            emails_are_verified_only_at_the_current_address,
            emails_and_mail_go_with_their_user,
            outbox_claims_due_mail_in_order_with_every_field,
            outbox_leases_hold_until_they_end,
            outbox_concurrent_claims_never_share_a_message,
            outbox_complete_retry_and_fail,
            outbox_purge_removes_finished_mail_only,
        );
    };
}

/// Expands to one `#[tokio::test]` per rule of second factors
/// ([`SecondFactorStore`](crate::SecondFactorStore)); the arguments are
/// those of [`crate::store_conformance!`].
#[macro_export]
macro_rules! mfa_conformance {
    ($factory:expr) => {
        $crate::mfa_conformance!($factory, |_store| async {});
    };
    ($factory:expr, $teardown:expr) => {
        $crate::__store_conformance_rules!(
            $factory,
            $teardown;
            mfa_staging_and_enabling_follow_the_pending_key,
            mfa_steps_are_used_once_and_in_order,
            mfa_recovery_codes_are_single_use_and_replaced_whole,
            mfa_factors_go_with_removal_and_with_their_user,
        );
    };
}

/// Expands to one `#[tokio::test]` per rule of passkeys and their
/// ceremonies ([`PasskeyStore`](crate::PasskeyStore),
/// [`CeremonyStore`](crate::CeremonyStore)); the arguments are those of
/// [`crate::store_conformance!`].
#[macro_export]
macro_rules! passkey_conformance {
    ($factory:expr) => {
        $crate::passkey_conformance!($factory, |_store| async {});
    };
    ($factory:expr, $teardown:expr) => {
        $crate::__store_conformance_rules!(
            $factory,
            $teardown;
            passkeys_round_trip_and_credential_ids_are_unique,
            passkeys_are_renamed_and_removed_by_their_owner_only,
            passkey_use_never_lowers_the_counter,
            ceremonies_are_taken_once_and_expire,
            passkeys_go_with_their_user,
        );
    };
}

/// Expands to one `#[tokio::test]` per rule of the admin ports
/// ([`AdminKeyStore`](crate::AdminKeyStore),
/// [`UserDirectory`](crate::UserDirectory), [`AuditLog`](crate::AuditLog));
/// the arguments are those of [`crate::store_conformance!`].
#[macro_export]
macro_rules! admin_conformance {
    ($factory:expr) => {
        $crate::admin_conformance!($factory, |_store| async {});
    };
    ($factory:expr, $teardown:expr) => {
        $crate::__store_conformance_rules!(
            $factory,
            $teardown;
            admin_keys_round_trip_and_names_are_unique,
            admin_keys_revoked_are_revoked_for_every_handle,
            users_search_matches_name_or_email_and_pages_hold_still,
            users_disabled_read_back_and_enable_again,
            events_search_filters_pages_and_keeps_the_actor,
        );
    };
}

#[doc(hidden)]
#[macro_export]
macro_rules! __store_conformance_rules {
    ($factory:expr, $teardown:expr; $($rule:ident),* $(,)?) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 4)]
            async fn $rule() {
                let Some(fixture) = ($factory)().await else {
                    return;
                };
                $crate::conformance::$rule($crate::conformance::Fixture::store(&fixture)).await;
                ($teardown)(fixture).await;
            }
        )*
    };
}
