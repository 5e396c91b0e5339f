//! `auth-server admin-key create | list | revoke`: the keys of the admin
//! API. A key is printed once, by `create`; the database keeps only its
//! SHA-256, so a lost key is revoked and replaced, never recovered.
//!
//! ```text
//! $ auth-server admin-key create --name support-desk
//! ak_Yk3…   (printed once: store it now)
//! $ auth-server admin-key list     # columns separated by tabs
//! name  id  created_at  revoked_at
//! support-desk  0193…  2026-12-03T10:00:00Z  -
//! $ auth-server admin-key revoke --name support-desk
//! revoked admin key support-desk; every instance refuses it from its next request
//! ```

use std::io::Write;

use auth_core::{AdminKeyName, Authenticator, Client};
use auth_store_sea::SeaStore;

use super::AdminError;
use crate::app::Root;
use crate::config::AdminKeyCommand;

/// Runs one `admin-key` command against the database of `--database-url`.
///
/// # Errors
/// [`AdminError`] naming what failed.
pub async fn run(root: &Root, command: &AdminKeyCommand) -> Result<(), AdminError> {
    let store = root.store(true).await?;
    let outcome = match root.authenticator(store.clone()) {
        Ok(auth) => execute(&auth, command, &mut std::io::stdout().lock()).await,
        Err(error) => Err(error.into()),
    };
    store.close().await;
    outcome
}

/// Runs one `admin-key` command with `auth`, writing to `output`.
///
/// # Errors
/// [`AdminError`] naming what failed.
pub async fn execute(
    auth: &Authenticator<SeaStore>,
    command: &AdminKeyCommand,
    output: &mut dyn Write,
) -> Result<(), AdminError> {
    let operator = Client::default();
    match command {
        AdminKeyCommand::Create { name } => {
            let parsed = parse(name)?;
            let (key, record) = auth
                .create_admin_key(parsed, &operator)
                .await
                .map_err(|error| AdminError::from_auth(error, name))?;
            eprintln!(
                "created admin key {} (id {}); it is printed once, on standard output: store it now",
                record.name, record.id
            );
            writeln!(output, "{}", key.as_str()).map_err(AdminError::Output)
        }
        AdminKeyCommand::List => {
            let keys = auth
                .admin_keys()
                .await
                .map_err(|error| AdminError::from_auth(error, ""))?;
            writeln!(output, "name\tid\tcreated_at\trevoked_at").map_err(AdminError::Output)?;
            for key in keys {
                let time = |at: chrono::DateTime<chrono::Utc>| {
                    at.to_rfc3339_opts(chrono::SecondsFormat::Secs, true)
                };
                writeln!(
                    output,
                    "{}\t{}\t{}\t{}",
                    key.name,
                    key.id,
                    time(key.created_at),
                    key.revoked_at.map_or_else(|| "-".to_owned(), time)
                )
                .map_err(AdminError::Output)?;
            }
            Ok(())
        }
        AdminKeyCommand::Revoke { name } => {
            let parsed = parse(name)?;
            let key = auth
                .revoke_admin_key(&parsed, &operator)
                .await
                .map_err(|error| AdminError::from_auth(error, name))?;
            writeln!(
                output,
                "revoked admin key {}; every instance refuses it from its next request",
                key.name
            )
            .map_err(AdminError::Output)
        }
    }
}

fn parse(name: &str) -> Result<AdminKeyName, AdminError> {
    AdminKeyName::parse(name).map_err(|reason| AdminError::InvalidKeyName {
        name: name.to_owned(),
        reason,
    })
}
