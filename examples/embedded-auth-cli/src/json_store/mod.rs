//! [`JsonFileStore`]: every `auth-core` port over one JSON file.
//!
//! How it keeps the contract stated in `auth_core::store` (and checked by
//! the conformance suite in `tests/cli/json_store.rs`):
//!
//! - **One writer at a time, decided by the store.** A write takes an
//!   in-process `Mutex` (threads of this process) and then an exclusive OS
//!   lock on `<file>.lock` (other processes: two `register`s started at once
//!   from two shells), reads the file, changes it and writes it back. Whether
//!   a canonical name, or a look-alike of it (the same skeleton), or an email
//!   address (by its lower-cased key) is taken is decided under both locks,
//!   so two racing registrations give exactly one success, never a
//!   check-then-insert race. An outbox claim is one such write too, so two
//!   workers (in any processes) never claim one message.
//! - **Writes appear whole.** New contents go to `<file>.tmp`, are flushed to
//!   disk and then renamed over the file. A rename is atomic, so a reader (or
//!   a crash) sees the old file or the new one, never half of one. Reads
//!   therefore take no lock, and a revoked session is gone for every handle
//!   as soon as `revoke_session` returns.
//! - **Timestamps round-trip exactly.** chrono writes RFC 3339 with as many
//!   fractional digits as the value has (nanoseconds at most), so the
//!   microsecond timestamps of `auth_core::Clock` read back equal.
//! - **Blocking I/O stays off the async workers.** Each operation runs on
//!   Tokio's blocking pool (`spawn_blocking`), so this store needs a Tokio
//!   runtime; a current-thread one is enough.
//!
//! What it is not: every write rewrites the whole file and every read parses
//! it. That suits a CLI or a few hundred users; a service with real traffic
//! wants a database (`auth-store-sea`), which keeps the same rules per row.
//!
//! The file holds password hashes (PHC strings), session ids (SHA-256 of
//! the tokens), one-time token hashes and email addresses, never a password
//! or a token (queued mail says only which message goes to whom). On Unix
//! it is created with mode 0600, since the hashes are still worth guarding.
//!
//! # Layout
//!
//! - `mod.rs`: [`JsonFileStore`], [`JsonStoreError`], and the two ways an
//!   operation reaches the file (`read`, `update`).
//! - `file.rs`: the file itself: loading, the locks, writing whole.
//! - `contents.rs`: what the file holds, and its mapping to the domain.
//! - `users.rs`, `sessions.rs`, `throttle.rs`, `limits.rs`, `events.rs`,
//!   `tokens.rs`, `outbox.rs`: the ports, as `auth_core::conformance` checks
//!   them (`limits.rs`: rate limits and device cookies; `outbox.rs`: queued
//!   mail).

mod contents;
mod events;
mod factors;
mod file;
mod limits;
mod outbox;
mod passkeys;
mod sessions;
mod throttle;
mod tokens;
mod users;

use std::io;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use auth_core::StoreError;

use self::contents::{Contents, FORMAT};
use self::file::Inner;

/// A [`auth_core::Store`] in one JSON file. Clones are handles on the same
/// file, and so is a second `open` of the same path, in this process or another.
///
/// ```no_run
/// use embedded_auth_cli::JsonFileStore;
///
/// let store = JsonFileStore::open("auth-store.json")?;
/// assert_eq!(store.path().to_str(), Some("auth-store.json"));
/// # Ok::<(), auth_core::StoreError>(())
/// ```
#[derive(Debug, Clone)]
pub struct JsonFileStore {
    inner: Arc<Inner>,
}

/// Why the file could not be used. The ports report it as
/// [`StoreError::Unavailable`], with this as the source, so the service sees
/// one kind of failure and the cause chain names the file.
#[derive(Debug, thiserror::Error)]
pub enum JsonStoreError {
    /// The file exists but cannot be read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The store file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: io::Error,
    },
    /// The file is not a store file (or was damaged by hand).
    #[error("{} is not a store file", path.display())]
    Parse {
        /// The store file.
        path: PathBuf,
        /// Where parsing stopped (line and column; no contents).
        #[source]
        source: serde_json::Error,
    },
    /// The file was written by another version of this store.
    #[error("{} has format version {found}; this build reads version {FORMAT}", path.display())]
    UnsupportedFormat {
        /// The store file.
        path: PathBuf,
        /// The version it declares.
        found: u32,
    },
    /// A user entry does not hold a valid user.
    #[error("{}: the user stored under {key:?} is invalid: {reason}", path.display())]
    CorruptUser {
        /// The store file.
        path: PathBuf,
        /// The canonical username it is stored under.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A queued message does not hold a valid message.
    #[error("{}: the mail stored under {key:?} is invalid: {reason}", path.display())]
    CorruptMail {
        /// The store file.
        path: PathBuf,
        /// Its id, as stored.
        key: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The lock file cannot be opened or locked.
    #[error("cannot lock {}", path.display())]
    Lock {
        /// The lock file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: io::Error,
    },
    /// The new contents cannot be written, flushed or renamed into place.
    #[error("cannot write {}", path.display())]
    Write {
        /// The store file.
        path: PathBuf,
        /// What the OS said.
        #[source]
        source: io::Error,
    },
    /// The blocking task running the operation panicked or was cancelled.
    #[error("the file operation did not finish")]
    Task(#[source] tokio::task::JoinError),
}

impl From<JsonStoreError> for StoreError {
    fn from(error: JsonStoreError) -> Self {
        StoreError::unavailable(error)
    }
}

/// What an update did to the contents: only a change is written back.
enum Outcome<T> {
    Changed(T),
    Unchanged(T),
}

impl Outcome<u64> {
    /// `count` removed entries: a change only if there were any (an
    /// unchanged file is not rewritten).
    fn of_count(count: usize) -> Self {
        let count = u64::try_from(count).unwrap_or(u64::MAX);
        if count == 0 {
            Outcome::Unchanged(0)
        } else {
            Outcome::Changed(count)
        }
    }
}

impl JsonFileStore {
    /// A store on `path`. The file is created by the first write; its
    /// directory must exist. An existing file is read once here, so an
    /// unreadable or foreign file is reported now rather than at the first login.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] with a [`JsonStoreError`] source.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let inner = Inner::at(path.into());
        inner.load()?;
        Ok(Self {
            inner: Arc::new(inner),
        })
    }

    /// The store file.
    pub fn path(&self) -> &Path {
        &self.inner.path
    }

    /// Runs `query` on the current contents. No lock: each write replaces
    /// the file in one rename, so any read sees a whole version of it.
    async fn read<T, F>(&self, query: F) -> Result<T, StoreError>
    where
        F: FnOnce(Contents) -> T + Send + 'static,
        T: Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        let contents = tokio::task::spawn_blocking(move || inner.load())
            .await
            .map_err(JsonStoreError::Task)??;
        Ok(query(contents))
    }

    /// Runs `change` under both locks on the current contents, and writes
    /// the result back if it reports a change. An `Err` from `change` writes
    /// nothing.
    async fn update<T, F>(&self, change: F) -> Result<T, StoreError>
    where
        F: FnOnce(&mut Contents) -> Result<Outcome<T>, StoreError> + Send + 'static,
        T: Send + 'static,
    {
        let inner = Arc::clone(&self.inner);
        tokio::task::spawn_blocking(move || inner.update(change))
            .await
            .map_err(JsonStoreError::Task)?
    }
}
