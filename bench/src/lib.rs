//! Helpers shared by the bench binaries (`src/bin/`): a minimal HTTP/1.1
//! client over a keep-alive TCP stream, and argument parsing.
//!
//! Everything here talks to `127.0.0.1` only; `bench/run.sh` drives it.

pub mod args;
pub mod http;
