//! The HTTP contract, driven through the real router over a real SQLite file.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod cli;
mod connections;
mod credentials;
mod helpers;
mod passkey_device;

mod admin;
mod admin_api;
mod errors;
mod flask_import;
mod hashing;
mod instances;
mod limits;
mod login;
mod logout;
mod me;
mod mfa;
mod openapi;
mod ops;
mod outbox_instances;
mod passkeys;
mod password;
mod protected;
mod recovery;
mod recovery_limits;
mod register;
mod revocation_race;
mod security;
mod self_service_instances;
mod sessions;
mod startup;
mod views_instances;
