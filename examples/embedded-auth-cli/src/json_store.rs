//! [`JsonFileStore`]: every `auth-core` port over one JSON file.
//!
//! How it keeps the contract stated in `auth_core::store` (and checked by
//! the conformance suite in `tests/cli/json_store.rs`):
//!
//! - **One writer at a time, decided by the store.** A write takes an
//!   in-process `Mutex` (threads of this process) and then an exclusive OS
//!   lock on `<file>.lock` (other processes: two `register`s started at once
//!   from two shells), reads the file, changes it and writes it back. Whether
//!   a canonical name is taken is decided under both locks, so two racing
//!   registrations give exactly one success, never a check-then-insert race.
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
//! The file holds password hashes (PHC strings) and session ids (SHA-256 of
//! the tokens), never a password or a token. On Unix it is created with mode
//! 0600, since the hashes are still worth guarding.

use std::collections::BTreeMap;
use std::collections::btree_map::Entry;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, PoisonError};

use auth_core::{
    AccountKey, FailureBudget, FailureStats, PasswordHash, Session, SessionId, SessionStore,
    StoreError, ThrottleStore, User, UserId, UserRepository, Username,
};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

/// The layout version written in every file. A file with another version is
/// refused rather than guessed at.
const FORMAT: u32 = 1;

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

#[derive(Debug)]
struct Inner {
    path: PathBuf,
    /// Taken (exclusively) by every writer, in any process.
    lock_path: PathBuf,
    /// Where the next contents are written before the rename.
    temp_path: PathBuf,
    /// This process's writers, one at a time. A std `Mutex`, as in
    /// `MemoryStore`: it is only ever held on a blocking-pool thread, never
    /// across an `.await`. The file lock alone would exclude them too, but
    /// its behaviour between handles of one process varies by platform.
    writer: Mutex<()>,
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

/// Everything the file holds.
#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Contents {
    format: u32,
    /// By canonical username: the map key is the uniqueness index.
    users: BTreeMap<String, StoredUser>,
    /// By session id, in hex (the id is already a hash of the token).
    sessions: BTreeMap<String, StoredSession>,
    login_failures: Vec<StoredFailure>,
}

impl Default for Contents {
    fn default() -> Self {
        Self {
            format: FORMAT,
            users: BTreeMap::new(),
            sessions: BTreeMap::new(),
            login_failures: Vec::new(),
        }
    }
}

// No `Debug` on the stored forms: a derived one would print password hashes.
#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredUser {
    id: Uuid,
    /// The display form; the canonical key is recomputed from it on read.
    username: String,
    password_hash: String,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

#[derive(Clone, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredSession {
    user_id: Uuid,
    created_at: DateTime<Utc>,
    last_seen_at: DateTime<Utc>,
    idle_expires_at: DateTime<Utc>,
    expires_at: DateTime<Utc>,
}

#[derive(Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct StoredFailure {
    account: String,
    client_ip: Option<String>,
    at: DateTime<Utc>,
}

impl StoredUser {
    fn from_domain(user: &User) -> Self {
        Self {
            id: *user.id.as_uuid(),
            username: user.username.as_str().to_owned(),
            password_hash: user.password_hash.as_str().to_owned(),
            created_at: user.created_at,
            updated_at: user.updated_at,
        }
    }
}

impl StoredSession {
    fn from_domain(session: &Session) -> Self {
        Self {
            user_id: *session.user_id.as_uuid(),
            created_at: session.created_at,
            last_seen_at: session.last_seen_at,
            idle_expires_at: session.idle_expires_at,
            expires_at: session.expires_at,
        }
    }

    fn into_domain(self, id: SessionId) -> Session {
        Session {
            id,
            user_id: UserId::from_uuid(self.user_id),
            created_at: self.created_at,
            last_seen_at: self.last_seen_at,
            idle_expires_at: self.idle_expires_at,
            expires_at: self.expires_at,
        }
    }

    fn is_expired(&self, now: DateTime<Utc>) -> bool {
        self.idle_expires_at <= now || self.expires_at <= now
    }
}

/// The map key of a session: its id in lower-case hex.
fn session_key(id: &SessionId) -> String {
    id.to_hex()
}

/// What an update did to the contents: only a change is written back.
enum Outcome<T> {
    Changed(T),
    Unchanged(T),
}

impl JsonFileStore {
    /// A store on `path`. The file is created by the first write; its
    /// directory must exist. An existing file is read once here, so an
    /// unreadable or foreign file is reported now rather than at the first login.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] with a [`JsonStoreError`] source.
    pub fn open(path: impl Into<PathBuf>) -> Result<Self, StoreError> {
        let path = path.into();
        let inner = Inner {
            lock_path: with_suffix(&path, ".lock"),
            temp_path: with_suffix(&path, ".tmp"),
            path,
            writer: Mutex::new(()),
        };
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

    /// The domain user stored under `key`, checked: the name must still
    /// parse, and to the key it is stored under.
    fn user_from(&self, key: &str, stored: StoredUser) -> Result<User, StoreError> {
        let corrupt = |reason: String| JsonStoreError::CorruptUser {
            path: self.inner.path.clone(),
            key: key.to_owned(),
            reason,
        };
        let username = Username::parse(&stored.username).map_err(|e| corrupt(e.to_string()))?;
        if username.canonical() != key {
            return Err(corrupt(format!("its name folds to {:?}", username.canonical())).into());
        }
        Ok(User {
            id: UserId::from_uuid(stored.id),
            username,
            password_hash: PasswordHash::from_stored(stored.password_hash),
            created_at: stored.created_at,
            updated_at: stored.updated_at,
        })
    }
}

impl Inner {
    /// The contents on disk; empty if there is no file yet.
    fn load(&self) -> Result<Contents, JsonStoreError> {
        let bytes = match fs::read(&self.path) {
            Ok(bytes) => bytes,
            Err(error) if error.kind() == io::ErrorKind::NotFound => {
                return Ok(Contents::default());
            }
            Err(source) => {
                return Err(JsonStoreError::Read {
                    path: self.path.clone(),
                    source,
                });
            }
        };
        let contents: Contents =
            serde_json::from_slice(&bytes).map_err(|source| JsonStoreError::Parse {
                path: self.path.clone(),
                source,
            })?;
        if contents.format != FORMAT {
            return Err(JsonStoreError::UnsupportedFormat {
                path: self.path.clone(),
                found: contents.format,
            });
        }
        Ok(contents)
    }

    fn update<T>(
        &self,
        change: impl FnOnce(&mut Contents) -> Result<Outcome<T>, StoreError>,
    ) -> Result<T, StoreError> {
        // Poisoning carries no meaning here: the state is on disk, not behind the mutex.
        let _writer = self.writer.lock().unwrap_or_else(PoisonError::into_inner);
        let _file_lock = self.lock_file()?;
        let mut contents = self.load()?;
        match change(&mut contents)? {
            Outcome::Changed(value) => {
                self.save(&contents)?;
                Ok(value)
            }
            Outcome::Unchanged(value) => Ok(value),
        }
    }

    /// Opens and exclusively locks the lock file; dropping it unlocks.
    fn lock_file(&self) -> Result<File, JsonStoreError> {
        let lock_error = |source| JsonStoreError::Lock {
            path: self.lock_path.clone(),
            source,
        };
        let file = private_file()
            .write(true)
            .create(true)
            .truncate(false)
            .open(&self.lock_path)
            .map_err(lock_error)?;
        file.lock().map_err(lock_error)?;
        Ok(file)
    }

    /// Writes `contents` to the temporary file, flushes it, renames it over
    /// the store file and flushes the directory entry.
    fn save(&self, contents: &Contents) -> Result<(), JsonStoreError> {
        let write_error = |source| JsonStoreError::Write {
            path: self.path.clone(),
            source,
        };
        let json = serde_json::to_vec_pretty(contents).map_err(|e| write_error(e.into()))?;
        let mut temp = private_file()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&self.temp_path)
            .map_err(write_error)?;
        temp.write_all(&json).map_err(write_error)?;
        temp.sync_all().map_err(write_error)?;
        drop(temp);
        fs::rename(&self.temp_path, &self.path).map_err(write_error)?;
        sync_directory_of(&self.path).map_err(write_error)
    }
}

/// Open options that create files readable by the owner only (Unix).
fn private_file() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options
}

/// Makes a rename durable: on Unix the directory entry must be flushed too.
fn sync_directory_of(path: &Path) -> io::Result<()> {
    #[cfg(unix)]
    {
        let directory = match path.parent() {
            Some(parent) if !parent.as_os_str().is_empty() => parent,
            _ => Path::new("."),
        };
        File::open(directory)?.sync_all()
    }
    #[cfg(not(unix))]
    {
        let _ = path;
        Ok(())
    }
}

/// `store.json` + `.lock` = `store.json.lock`, in the same directory (a
/// rename is only atomic within one file system).
fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name = path.as_os_str().to_owned();
    name.push(suffix);
    PathBuf::from(name)
}

impl UserRepository for JsonFileStore {
    async fn create_user(&self, user: &User) -> Result<(), StoreError> {
        let key = user.username.canonical().to_owned();
        let stored = StoredUser::from_domain(user);
        self.update(move |contents| match contents.users.entry(key) {
            // Decided under the write locks: this is the atomic uniqueness check.
            Entry::Occupied(_) => Err(StoreError::UsernameTaken),
            Entry::Vacant(slot) => {
                slot.insert(stored);
                Ok(Outcome::Changed(()))
            }
        })
        .await
    }

    async fn find_user_by_username(&self, username: &Username) -> Result<Option<User>, StoreError> {
        let key = username.canonical().to_owned();
        let found = self
            .read(move |mut contents| contents.users.remove(&key).map(|user| (key, user)))
            .await?;
        found
            .map(|(key, user)| self.user_from(&key, user))
            .transpose()
    }

    async fn find_user_by_id(&self, id: UserId) -> Result<Option<User>, StoreError> {
        let id = *id.as_uuid();
        let found = self
            .read(move |contents| contents.users.into_iter().find(|(_, user)| user.id == id))
            .await?;
        found
            .map(|(key, user)| self.user_from(&key, user))
            .transpose()
    }

    async fn set_password_hash(
        &self,
        id: UserId,
        hash: &PasswordHash,
        updated_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let id = *id.as_uuid();
        let hash = hash.as_str().to_owned();
        self.update(move |contents| {
            let Some(user) = contents.users.values_mut().find(|user| user.id == id) else {
                return Ok(Outcome::Unchanged(false));
            };
            user.password_hash = hash;
            user.updated_at = updated_at;
            Ok(Outcome::Changed(true))
        })
        .await
    }
}

impl SessionStore for JsonFileStore {
    async fn insert_session(&self, session: &Session) -> Result<(), StoreError> {
        let key = session_key(&session.id);
        let stored = StoredSession::from_domain(session);
        self.update(move |contents| {
            contents.sessions.insert(key, stored);
            Ok(Outcome::Changed(()))
        })
        .await
    }

    async fn find_session(&self, id: &SessionId) -> Result<Option<Session>, StoreError> {
        let key = session_key(id);
        let found = self
            .read(move |mut contents| contents.sessions.remove(&key))
            .await?;
        Ok(found.map(|stored| stored.into_domain(*id)))
    }

    async fn touch_session(
        &self,
        id: &SessionId,
        last_seen_at: DateTime<Utc>,
        idle_expires_at: DateTime<Utc>,
    ) -> Result<bool, StoreError> {
        let key = session_key(id);
        self.update(move |contents| {
            let Some(session) = contents.sessions.get_mut(&key) else {
                return Ok(Outcome::Unchanged(false));
            };
            session.last_seen_at = last_seen_at;
            session.idle_expires_at = idle_expires_at;
            Ok(Outcome::Changed(true))
        })
        .await
    }

    async fn revoke_session(&self, id: &SessionId) -> Result<bool, StoreError> {
        let key = session_key(id);
        self.update(move |contents| {
            Ok(match contents.sessions.remove(&key) {
                Some(_) => Outcome::Changed(true),
                None => Outcome::Unchanged(false),
            })
        })
        .await
    }

    async fn revoke_all_sessions(&self, user_id: UserId) -> Result<u64, StoreError> {
        let user_id = *user_id.as_uuid();
        self.update(move |contents| {
            Ok(removed(&mut contents.sessions, |session| {
                session.user_id == user_id
            }))
        })
        .await
    }

    async fn purge_expired_sessions(&self, now: DateTime<Utc>) -> Result<u64, StoreError> {
        self.update(move |contents| {
            Ok(removed(&mut contents.sessions, |session| {
                session.is_expired(now)
            }))
        })
        .await
    }
}

/// Removes the sessions matching `doomed` and says how many, as a change
/// only if there were any (an unchanged file is not rewritten).
fn removed(
    sessions: &mut BTreeMap<String, StoredSession>,
    doomed: impl Fn(&StoredSession) -> bool,
) -> Outcome<u64> {
    let before = sessions.len();
    sessions.retain(|_, session| !doomed(session));
    count_outcome(before - sessions.len())
}

fn count_outcome(count: usize) -> Outcome<u64> {
    let count = u64::try_from(count).unwrap_or(u64::MAX);
    if count == 0 {
        Outcome::Unchanged(0)
    } else {
        Outcome::Changed(count)
    }
}

impl ThrottleStore for JsonFileStore {
    async fn record_login_failure(
        &self,
        account: &AccountKey,
        client_ip: Option<&str>,
        at: DateTime<Utc>,
    ) -> Result<(), StoreError> {
        let failure = StoredFailure {
            account: account.as_str().to_owned(),
            client_ip: client_ip.map(str::to_owned),
            at,
        };
        self.update(move |contents| {
            contents.login_failures.push(failure);
            Ok(Outcome::Changed(()))
        })
        .await
    }

    async fn login_failure_stats(
        &self,
        account: &AccountKey,
        client_ip: Option<&str>,
        account_since: DateTime<Utc>,
        ip_since: DateTime<Utc>,
    ) -> Result<FailureStats, StoreError> {
        let account = account.as_str().to_owned();
        let client_ip = client_ip.map(str::to_owned);
        self.read(move |contents| {
            let mut stats = FailureStats::default();
            for failure in &contents.login_failures {
                let at = failure.at;
                if failure.account == account && at >= account_since {
                    stats.record(FailureBudget::Account, 1, at..=at);
                }
                if client_ip.is_some() && failure.client_ip == client_ip && at >= ip_since {
                    stats.record(FailureBudget::ClientIp, 1, at..=at);
                }
            }
            stats
        })
        .await
    }

    async fn clear_login_failures(&self, account: &AccountKey) -> Result<u64, StoreError> {
        let account = account.as_str().to_owned();
        self.update(move |contents| {
            let before = contents.login_failures.len();
            contents
                .login_failures
                .retain(|failure| failure.account != account);
            Ok(count_outcome(before - contents.login_failures.len()))
        })
        .await
    }

    async fn purge_login_failures(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        self.update(move |contents| {
            let count = contents.login_failures.len();
            contents
                .login_failures
                .retain(|failure| failure.at >= before);
            Ok(count_outcome(count - contents.login_failures.len()))
        })
        .await
    }
}
