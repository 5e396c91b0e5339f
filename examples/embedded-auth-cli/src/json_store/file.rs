//! The file itself: loading it, the two write locks, and replacing it whole
//! (temporary file, flush, rename, flush the directory).

use std::fs::{self, File, OpenOptions};
use std::io::{self, Write as _};
use std::path::{Path, PathBuf};
use std::sync::{Mutex, PoisonError};

use auth_core::StoreError;

use super::contents::{Contents, FORMAT};
use super::{JsonStoreError, Outcome};

/// One store file, shared by a store's clones: its path, the files beside
/// it, and this process's writer lock.
#[derive(Debug)]
pub(super) struct Inner {
    pub(super) path: PathBuf,
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

impl Inner {
    /// The store on `path`, with its lock and temporary files beside it.
    pub(super) fn at(path: PathBuf) -> Self {
        Self {
            lock_path: with_suffix(&path, ".lock"),
            temp_path: with_suffix(&path, ".tmp"),
            path,
            writer: Mutex::new(()),
        }
    }

    /// The contents on disk; empty if there is no file yet.
    pub(super) fn load(&self) -> Result<Contents, JsonStoreError> {
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

    pub(super) fn update<T>(
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
