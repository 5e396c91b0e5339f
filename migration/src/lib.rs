//! Database migrations of the auth service, for SQLite and PostgreSQL.
//!
//! [`Migrator`] is run by the server at start (unless told not to) and by the
//! `migration` CLI (`cargo run -p migration -- up | down | status | fresh`,
//! reading `DATABASE_URL`). Each migration writes its schema with SeaQuery's
//! schema builder and never imports entities: an entity change must not
//! silently change what an old migration creates. Migrations are never edited
//! once merged; a change is a new, later file.
//!
//! # Layout
//!
//! - `m20261124_000001_create_users`: the `users` table.
//! - `m20261124_000002_create_sessions`: the `sessions` table, its foreign
//!   key to `users` and its expiry indexes.
//! - `m20261124_000003_create_login_failures`: failed logins, for back-off
//!   shared by every instance.
//! - `m20261124_000004_create_flask_user_ids`: the Flask user id each
//!   imported user had (`auth-server import-flask`).
//! - `m20261201_000005_add_username_skeletons`: `users.skeleton`, unique, so
//!   look-alike names (`аdmin`, `admin`) cannot both register; backfilled
//!   with `auth_core::Username::skeleton`, the oldest of existing look-alikes
//!   keeping it. The one migration that calls `auth-core` (no entities).
//! - `m20261201_000006_create_throttle_state`: login reservations (the
//!   atomic back-off), their per-account locks, rate-limit budgets and
//!   device cookies.
//! - `m20261201_000007_create_events`: the security events (the audit trail).
//! - `m20261202_000008_create_session_revocations`: the revocation log, in
//!   commit order, that lets every instance confirm its cached sessions
//!   with one query per batch of requests.
//! - `m20261202_000009_create_one_time_tokens`: password-reset and
//!   email-verification tokens, one per user and purpose, stored as hashes.
//! - `m20261202_000010_add_email_and_outbox`: `users.email` (unique without
//!   regard to case) and `email_verified`; `mail_outbox`, the durable outbox.
//! - `m20261203_000011_create_second_factors`: TOTP factors and recovery codes.
//! - `m20261203_000012_create_passkeys`: passkeys (public keys only, a
//!   unique credential id) and the WebAuthn ceremonies waiting for an answer.
//! - `m20261203_000013_add_admin`: `users.disabled_at`, `events.actor`, and
//!   `admin_keys` (SHA-256 of each key, unique; a unique name).
//! - `m20261207_000014_create_revocation_leases`: each instance's cache
//!   lease (how far it applied the revocation log, until when, by the
//!   database's clock).
//! - `m20261207_000015_add_revocation_kind`: `session_revocations.kind`,
//!   so that a login or a factor change drops only the session list or the
//!   factors of that user from other instances' caches, not their sessions.

pub use sea_orm_migration::prelude::*;

mod m20261124_000001_create_users;
mod m20261124_000002_create_sessions;
mod m20261124_000003_create_login_failures;
mod m20261124_000004_create_flask_user_ids;
mod m20261201_000005_add_username_skeletons;
mod m20261201_000006_create_throttle_state;
mod m20261201_000007_create_events;
mod m20261202_000008_create_session_revocations;
mod m20261202_000009_create_one_time_tokens;
mod m20261202_000010_add_email_and_outbox;
mod m20261203_000011_create_second_factors;
mod m20261203_000012_create_passkeys;
mod m20261203_000013_add_admin;
mod m20261207_000014_create_revocation_leases;
mod m20261207_000015_add_revocation_kind;

/// Every migration, oldest first.
#[derive(Debug)]
pub struct Migrator;

#[async_trait::async_trait]
impl MigratorTrait for Migrator {
    fn migrations() -> Vec<Box<dyn MigrationTrait>> {
        vec![
            Box::new(m20261124_000001_create_users::Migration),
            Box::new(m20261124_000002_create_sessions::Migration),
            Box::new(m20261124_000003_create_login_failures::Migration),
            Box::new(m20261124_000004_create_flask_user_ids::Migration),
            Box::new(m20261201_000005_add_username_skeletons::Migration),
            Box::new(m20261201_000006_create_throttle_state::Migration),
            Box::new(m20261201_000007_create_events::Migration),
            Box::new(m20261202_000008_create_session_revocations::Migration),
            Box::new(m20261202_000009_create_one_time_tokens::Migration),
            Box::new(m20261202_000010_add_email_and_outbox::Migration),
            Box::new(m20261203_000011_create_second_factors::Migration),
            Box::new(m20261203_000012_create_passkeys::Migration),
            Box::new(m20261203_000013_add_admin::Migration),
            Box::new(m20261207_000014_create_revocation_leases::Migration),
            Box::new(m20261207_000015_add_revocation_kind::Migration),
        ]
    }
}
