//! The options for secrets at rest and second factors. Parsed here; the
//! file is found and read in [`crate::keys`].

use std::path::PathBuf;

use clap::{Args, Subcommand};

/// Secret keys and TOTP options.
#[derive(Debug, Clone, Args)]
pub struct KeyConfig {
    /// The file of keys that seal secrets at rest (TOTP keys): one
    /// `<id> <base64url key>` per line, the last one sealing. Default with
    /// SQLite: `<database file>.keys`, created (mode 0600) on first start.
    /// Required with PostgreSQL, the same file on every instance; make it
    /// with `auth-server secret-key add --secret-key-file FILE`.
    #[arg(long, env = "AUTH_SECRET_KEY_FILE", global = true)]
    pub secret_key_file: Option<PathBuf>,

    /// The issuer name authenticator apps show beside a TOTP entry
    /// (`otpauth://totp/<issuer>:<username>`), and the relying party's
    /// name browsers show when they ask for a passkey.
    #[arg(
        long,
        env = "AUTH_TOTP_ISSUER",
        default_value = "auth-server",
        global = true
    )]
    pub totp_issuer: String,
}

/// `auth-server secret-key ...`.
#[derive(Debug, Clone, Subcommand)]
pub enum SecretKeyCommand {
    /// Append a new key to --secret-key-file (created, mode 0600, if
    /// absent). It seals new secrets from each instance's next start;
    /// the old keys still open what they sealed. Prints the new key's id,
    /// never the key.
    Add {
        /// The new key's id (letters, digits, `-`, `_`, `.`; at most 32).
        /// Default: `k<unix time>`.
        #[arg(long)]
        id: Option<String>,
    },
}
