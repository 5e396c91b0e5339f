//! An example of embedding `auth-core` in a program that is not the auth
//! server: a command-line tool with storage of its own, a JSON file. No
//! poem, no SeaORM, no server.
//!
//! ```sh
//! embedded-auth-cli register alice <<< 'tangerine maple orbit 42'
//! TOKEN=$(embedded-auth-cli login alice <<< 'tangerine maple orbit 42')
//! embedded-auth-cli whoami "$TOKEN"
//! embedded-auth-cli logout "$TOKEN"
//! ```
//!
//! `docs/embedding.md` at the workspace root walks through it.
//!
//! # Layout
//!
//! - `json_store/`: [`JsonFileStore`], every `auth-core` port over one JSON
//!   file. `tests/cli/json_store.rs` runs the store conformance suite on it.
//! - [`cli`]: the arguments, [`cli::authenticator`] (the wiring of
//!   `auth-core`), and [`cli::run`], what each command does and prints.
//! - [`error`]: [`error::CommandError`], the one `match` from
//!   `auth_core::AuthError` to an exit code and a message.
//! - `main.rs`: wiring only.
//!
//! # What it must never do
//!
//! Print or store a password; store a token (the store only receives its
//! hash, `auth_core::SessionId`); decide username uniqueness outside the
//! store's write lock.

pub mod cli;
pub mod error;
mod json_store;

pub use json_store::{JsonFileStore, JsonStoreError};

/// `docs/embedding.md`: its Rust examples compile and run as doctests of this crate.
#[cfg(doctest)]
#[doc = include_str!("../../../docs/embedding.md")]
pub struct EmbeddingGuide;
