//! One test binary: the store contract on `JsonFileStore`, then the commands.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod commands;
mod json_store;
