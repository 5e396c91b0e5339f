//! The key file behind secrets at rest (`--secret-key-file`): where it is,
//! creating it on the embedded default, and adding a key for a rotation
//! (`auth-server secret-key add`). The format and the cipher are
//! `auth_core::Keyring`'s.
//!
//! On SQLite the file defaults to `<database file>.keys` and is created on
//! first start (mode 0600): one process owns that database, so it owns the
//! keys too. On PostgreSQL several instances share the database, and each
//! must open what another sealed: the file is required and never created by
//! a start (a typo would otherwise give one instance its own key).

use std::fs::{self, OpenOptions};
use std::io::Write as _;
use std::os::unix::fs::{OpenOptionsExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};

use auth_core::{Keyring, KeyringError};
use auth_store_sea::Backend;

/// Why the key file cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum KeyFileError {
    /// PostgreSQL without `--secret-key-file`.
    #[error(
        "required with PostgreSQL (every instance must use the same keys): create one with \
         `auth-server secret-key add --secret-key-file FILE` and give it to every instance"
    )]
    Required,
    /// PostgreSQL and the file does not exist.
    #[error(
        "{0} does not exist (with PostgreSQL it is never created at start; use `auth-server secret-key add`)"
    )]
    Missing(PathBuf),
    /// The file cannot be read or written.
    #[error("{path}: {source}")]
    Io {
        /// Which file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The content is not a key file.
    #[error("{path}: {source}")]
    Invalid {
        /// Which file.
        path: PathBuf,
        /// What is wrong (never a key).
        source: KeyringError,
    },
}

const HEADER: &str = "# auth-server secret keys: one per line, \"<id> <base64url of 32 bytes>\".\n\
# The last line seals new secrets; every line opens what it sealed. Remove a\n\
# key only once nothing sealed with it is left (docs/mfa.md, \"Rotating keys\").\n";

/// Where the key file is: the flag's path, or on SQLite `<database>.keys`;
/// `None` for an in-memory SQLite database (its keys live as long as it).
///
/// # Errors
/// [`KeyFileError::Required`] on PostgreSQL without the flag.
pub fn key_file(
    flag: Option<&Path>,
    backend: Backend,
    database_url: &str,
) -> Result<Option<PathBuf>, KeyFileError> {
    if let Some(path) = flag {
        return Ok(Some(path.to_owned()));
    }
    match backend {
        Backend::Postgres => Err(KeyFileError::Required),
        Backend::Sqlite => Ok(sqlite_file(database_url).map(|db| {
            let mut name = db.into_os_string();
            name.push(".keys");
            PathBuf::from(name)
        })),
    }
}

/// The database file of a `sqlite:` URL, `None` for an in-memory one.
fn sqlite_file(url: &str) -> Option<PathBuf> {
    let rest = url.strip_prefix("sqlite:")?;
    let rest = rest.strip_prefix("//").unwrap_or(rest);
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() || path == ":memory:" || query.contains("mode=memory") {
        return None;
    }
    Some(PathBuf::from(path))
}

/// The keyring for a start: read from `file`; on SQLite a missing file is
/// created with one new key; no file at all (in-memory SQLite) gives a
/// fresh key kept in memory.
///
/// # Errors
/// [`KeyFileError`] naming the file.
pub fn load(file: Option<&Path>, backend: Backend) -> Result<Keyring, KeyFileError> {
    let Some(path) = file else {
        let line =
            Keyring::generate_line("memory").map_err(|source| invalid(Path::new(""), source))?;
        return Keyring::parse(&line).map_err(|source| invalid(Path::new(""), source));
    };
    if !path.exists() {
        if backend == Backend::Postgres {
            return Err(KeyFileError::Missing(path.to_owned()));
        }
        add(path, None)?;
        tracing::info!(file = %path.display(), "created the secret key file (keep it with the database's backups, apart from them)");
    }
    let text = fs::read_to_string(path).map_err(|source| io(path, source))?;
    warn_if_readable_by_others(path);
    Keyring::parse(&text).map_err(|source| invalid(path, source))
}

/// Appends a new key to `path` (created with mode 0600 if absent), which
/// seals from the next start on; returns its id. `id` defaults to
/// `k<unix seconds>`.
///
/// # Errors
/// [`KeyFileError`] naming the file (an existing file must parse, and the
/// id must be new).
pub fn add(path: &Path, id: Option<&str>) -> Result<String, KeyFileError> {
    let existing = match fs::read_to_string(path) {
        Ok(text) => Some(text),
        Err(error) if error.kind() == std::io::ErrorKind::NotFound => None,
        Err(source) => return Err(io(path, source)),
    };
    let id = id.map_or_else(
        || format!("k{}", chrono::Utc::now().timestamp()),
        str::to_owned,
    );
    let line = Keyring::generate_line(&id).map_err(|source| invalid(path, source))?;
    // What is appended: the header first in a new file; a newline first if
    // the file's last line has none.
    let addition = match &existing {
        None => format!("{HEADER}{line}\n"),
        Some(text) if !text.is_empty() && !text.ends_with('\n') => format!("\n{line}\n"),
        Some(_) => format!("{line}\n"),
    };
    // The whole new content must parse: a duplicate id is refused here.
    let whole = format!("{}{addition}", existing.as_deref().unwrap_or(""));
    Keyring::parse(&whole).map_err(|source| invalid(path, source))?;
    let mut file = OpenOptions::new()
        .append(true)
        .create(true)
        .mode(0o600)
        .open(path)
        .map_err(|source| io(path, source))?;
    file.write_all(addition.as_bytes())
        .and_then(|()| file.sync_all())
        .map_err(|source| io(path, source))?;
    Ok(id)
}

fn warn_if_readable_by_others(path: &Path) {
    if let Ok(meta) = fs::metadata(path)
        && meta.permissions().mode() & 0o077 != 0
    {
        tracing::warn!(file = %path.display(), "the secret key file is readable by other users: chmod 600 it");
    }
}

fn io(path: &Path, source: std::io::Error) -> KeyFileError {
    KeyFileError::Io {
        path: path.to_owned(),
        source,
    }
}

fn invalid(path: &Path, source: KeyringError) -> KeyFileError {
    KeyFileError::Invalid {
        path: path.to_owned(),
        source,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_file_sits_beside_the_sqlite_database() {
        let file = |url| key_file(None, Backend::Sqlite, url).unwrap();
        assert_eq!(
            file("sqlite://auth.db"),
            Some(PathBuf::from("auth.db.keys"))
        );
        assert_eq!(
            file("sqlite:///var/lib/a.db?mode=rwc"),
            Some(PathBuf::from("/var/lib/a.db.keys"))
        );
        assert_eq!(file("sqlite::memory:"), None);
        assert!(matches!(
            key_file(None, Backend::Postgres, "postgres://x"),
            Err(KeyFileError::Required)
        ));
    }

    #[test]
    fn a_missing_file_is_created_private_on_sqlite_only() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("auth.db.keys");
        assert!(matches!(
            load(Some(&path), Backend::Postgres),
            Err(KeyFileError::Missing(_))
        ));
        let ring = load(Some(&path), Backend::Sqlite).unwrap();
        assert_eq!(ring.ids().len(), 1);
        assert_eq!(
            fs::metadata(&path).unwrap().permissions().mode() & 0o777,
            0o600
        );
        // The same keys at the next start.
        assert_eq!(
            load(Some(&path), Backend::Postgres).unwrap().ids(),
            ring.ids()
        );
    }

    #[test]
    fn adding_a_key_makes_it_current_and_keeps_the_old_ones() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("keys");
        add(&path, Some("first")).unwrap();
        add(&path, Some("second")).unwrap();
        let ring = load(Some(&path), Backend::Postgres).unwrap();
        assert_eq!(ring.ids(), ["first", "second"]);
        assert_eq!(ring.current_id(), "second");
        assert!(matches!(
            add(&path, Some("first")),
            Err(KeyFileError::Invalid { .. })
        ));
        fs::write(&path, "garbage\n").unwrap();
        let error = load(Some(&path), Backend::Sqlite).unwrap_err().to_string();
        assert!(error.contains("line 1"), "{error}");
    }
}
