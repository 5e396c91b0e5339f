//! The database side of `auth-server import-flask`: reading the Flask
//! service's SQLite database, and writing imported users together with the
//! Flask id each had (table `flask_user_ids`).
//!
//! Deciding what to import (names that collide, hashes that cannot log in)
//! is the caller's business; this module reads and writes in bulk. The
//! importer loads what the target holds once ([`SeaStore::flask_import_state`]),
//! then writes batches ([`SeaStore::insert_flask_users`]), each one
//! transaction of a few multi-row INSERTs: 100,000 users are a hundred
//! commits, not two hundred thousand.
//!
//! The database still decides uniqueness: a name (or a look-alike of it)
//! registered, or a Flask id imported, by someone else between the load and
//! the write makes that batch fall back to one transaction per user, and the
//! rows that lost are reported, not lost.

use std::collections::HashMap;
use std::fmt;
use std::path::{Path, PathBuf};
use std::str::FromStr as _;

use auth_core::{StoreError, User, UserId};
use chrono::{DateTime, Utc};
use migration::SchemaManager;
use sea_orm::sqlx::sqlite::SqliteConnectOptions;
use sea_orm::sqlx::{Connection as _, SqliteConnection};
use sea_orm::{
    ActiveValue, DatabaseTransaction, DbErr, EntityTrait, QuerySelect, TransactionTrait,
};

use crate::SeaStore;
use crate::entity::{flask_user_id, user};
use crate::error::{is_unique_violation, unavailable};

/// A row of the Flask service's `users` table, as stored there. `username`
/// and `password` are `NOT NULL` in Flask's schema, but a hand-edited
/// database may hold NULLs: they are reported, not fatal.
#[derive(Clone, PartialEq, Eq)]
pub struct FlaskUser {
    /// Flask's integer primary key.
    pub id: i64,
    /// The name as Flask stored it.
    pub username: Option<String>,
    /// The werkzeug hash (or whatever the row holds).
    pub password: Option<String>,
}

/// Written by hand: the derived one would print the password hash.
impl fmt::Debug for FlaskUser {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlaskUser")
            .field("id", &self.id)
            .field("username", &self.username)
            .field("password", &"***")
            .finish()
    }
}

/// Why the Flask database could not be read. Messages name the file.
#[derive(Debug, thiserror::Error)]
pub enum FlaskReadError {
    /// No such file.
    #[error("the Flask database {0} does not exist")]
    Missing(PathBuf),
    /// SQLite could not open it (not a database, no permission, ...).
    #[error("cannot open the Flask database {path}")]
    Open {
        /// The file.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        source: sea_orm::sqlx::Error,
    },
    /// It opened, but has no `users(id, username, password)` table, or its
    /// values have other types.
    #[error(
        "{path} has no readable Flask `users` table (id INTEGER, username TEXT, password TEXT)"
    )]
    NotFlask {
        /// The file.
        path: PathBuf,
        /// What SQLite said.
        #[source]
        source: sea_orm::sqlx::Error,
    },
}

/// `users.id, users.username, users.password`.
type FlaskRow = (i64, Option<String>, Option<String>);

/// Reads every user of the Flask database at `path`, by id, opening it
/// read-only (the file is never written, nor created).
///
/// # Errors
/// [`FlaskReadError`] naming the file and what was wrong with it.
pub async fn read_flask_users(path: &Path) -> Result<Vec<FlaskUser>, FlaskReadError> {
    if !path.is_file() {
        return Err(FlaskReadError::Missing(path.to_owned()));
    }
    let options = SqliteConnectOptions::new()
        .filename(path)
        .read_only(true)
        .create_if_missing(false);
    let mut connection = SqliteConnection::connect_with(&options)
        .await
        .map_err(|source| FlaskReadError::Open {
            path: path.to_owned(),
            source,
        })?;
    let rows: Result<Vec<FlaskRow>, _> =
        sea_orm::sqlx::query_as("SELECT id, username, password FROM users ORDER BY id")
            .fetch_all(&mut connection)
            .await;
    // Read-only: nothing to flush; a failed close changes nothing.
    let _ = connection.close().await;
    let rows = rows.map_err(|source| match source {
        sea_orm::sqlx::Error::Database(_)
        | sea_orm::sqlx::Error::ColumnDecode { .. }
        | sea_orm::sqlx::Error::ColumnNotFound(_) => FlaskReadError::NotFlask {
            path: path.to_owned(),
            source,
        },
        other => FlaskReadError::Open {
            path: path.to_owned(),
            source: other,
        },
    })?;
    Ok(rows
        .into_iter()
        .map(|(id, username, password)| FlaskUser {
            id,
            username,
            password,
        })
        .collect())
}

/// Whether `url` names a SQLite file that does not exist yet. Connecting
/// would create it, which a dry run must not do.
///
/// ```
/// use auth_store_sea::import::sqlite_file_missing;
/// assert!(sqlite_file_missing("sqlite:///nonexistent/dir/auth.db"));
/// assert!(!sqlite_file_missing("postgres://postgres@127.0.0.1/auth"));
/// ```
pub fn sqlite_file_missing(url: &str) -> bool {
    url.starts_with("sqlite:")
        && SqliteConnectOptions::from_str(url).is_ok_and(|options| !options.get_filename().exists())
}

/// A user of the target database, as the importer needs to know it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ExistingUser {
    /// Its id.
    pub id: UserId,
    /// The Flask id it was imported from, if any.
    pub flask_id: Option<i64>,
}

/// What the target database holds before an import: loaded once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlaskImportState {
    /// Every user, by canonical username.
    pub by_canonical: HashMap<String, ExistingUser>,
    /// Every user holding a skeleton, by skeleton
    /// ([`auth_core::UsernameSkeleton::as_str`]): a Flask name with one of
    /// these looks like that user's and cannot be imported.
    pub by_skeleton: HashMap<String, ExistingUser>,
    /// Every Flask id imported so far, and the user it became.
    pub imported: HashMap<i64, UserId>,
    /// `false` when the schema is not there yet (a dry run on a database
    /// that was never migrated): the maps are then empty.
    pub schema_present: bool,
}

/// A user to import, and the Flask id it had.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FlaskImport {
    /// Flask's id.
    pub flask_id: i64,
    /// The new user (new UUID, the werkzeug hash as stored).
    pub user: User,
}

/// What [`SeaStore::insert_flask_users`] did with each row, by Flask id.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlaskBatchOutcome {
    /// Written, with their Flask id.
    pub inserted: Vec<i64>,
    /// Not written: the canonical name, or a look-alike (the same
    /// skeleton), was taken meanwhile.
    pub name_taken: Vec<i64>,
    /// Not written: the Flask id was imported meanwhile (a concurrent run).
    pub already_imported: Vec<i64>,
}

impl SeaStore {
    /// Loads every canonical username and skeleton, and every imported Flask
    /// id, in two queries.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`].
    pub async fn flask_import_state(&self) -> Result<FlaskImportState, StoreError> {
        let schema = SchemaManager::new(&self.db);
        let present = schema.has_table("users").await.map_err(unavailable)?
            && schema
                .has_table("flask_user_ids")
                .await
                .map_err(unavailable)?;
        if !present {
            return Ok(FlaskImportState::default());
        }
        let imported: HashMap<i64, UserId> = self.flask_user_ids().await?.into_iter().collect();
        let flask_id_of: HashMap<UserId, i64> = imported
            .iter()
            .map(|(flask_id, user_id)| (*user_id, *flask_id))
            .collect();
        let names: Vec<(String, Option<String>, uuid::Uuid)> = user::Entity::find()
            .select_only()
            .column(user::Column::UsernameCanonical)
            .column(user::Column::Skeleton)
            .column(user::Column::Id)
            .into_tuple()
            .all(&self.db)
            .await
            .map_err(unavailable)?;
        let mut by_canonical = HashMap::with_capacity(names.len());
        let mut by_skeleton = HashMap::with_capacity(names.len());
        for (canonical, skeleton, id) in names {
            let id = UserId::from_uuid(id);
            let existing = ExistingUser {
                id,
                flask_id: flask_id_of.get(&id).copied(),
            };
            by_canonical.insert(canonical, existing);
            // NULL: a look-alike of an older user, who holds the skeleton.
            if let Some(skeleton) = skeleton {
                by_skeleton.insert(skeleton, existing);
            }
        }
        Ok(FlaskImportState {
            by_canonical,
            by_skeleton,
            imported,
            schema_present: true,
        })
    }

    /// Every imported Flask id and the user it became, by Flask id.
    ///
    /// # Errors
    /// [`StoreError::Unavailable`].
    pub async fn flask_user_ids(&self) -> Result<Vec<(i64, UserId)>, StoreError> {
        let rows: Vec<(i64, uuid::Uuid)> = flask_user_id::Entity::find()
            .select_only()
            .column(flask_user_id::Column::FlaskId)
            .column(flask_user_id::Column::UserId)
            .into_tuple()
            .all(&self.db)
            .await
            .map_err(unavailable)?;
        let mut rows: Vec<(i64, UserId)> = rows
            .into_iter()
            .map(|(flask_id, id)| (flask_id, UserId::from_uuid(id)))
            .collect();
        rows.sort_unstable_by_key(|(flask_id, _)| *flask_id);
        Ok(rows)
    }

    /// Writes `batch` (users and their Flask ids) in one transaction. If the
    /// database refuses a name or a Flask id that was free when the import
    /// started, the batch is retried one user per transaction and the rows
    /// that lost are reported in the outcome.
    ///
    /// Keep batches to a few thousand rows: they are one transaction. (The
    /// users are inserted [`USERS_PER_STATEMENT`] per statement, whatever
    /// the batch size.)
    ///
    /// # Errors
    /// [`StoreError::Unavailable`] for anything but a unique violation.
    pub async fn insert_flask_users(
        &self,
        batch: &[FlaskImport],
        imported_at: DateTime<Utc>,
    ) -> Result<FlaskBatchOutcome, StoreError> {
        if batch.is_empty() {
            return Ok(FlaskBatchOutcome::default());
        }
        let transaction = self.db.begin().await.map_err(unavailable)?;
        match insert_rows(&transaction, batch, imported_at).await {
            Ok(()) => {
                transaction.commit().await.map_err(unavailable)?;
                Ok(FlaskBatchOutcome {
                    inserted: batch.iter().map(|row| row.flask_id).collect(),
                    ..FlaskBatchOutcome::default()
                })
            }
            Err(error) if is_unique_violation(&error) => {
                transaction.rollback().await.map_err(unavailable)?;
                self.insert_flask_users_one_by_one(batch, imported_at).await
            }
            Err(error) => Err(unavailable(error)),
        }
    }

    /// The slow path of [`SeaStore::insert_flask_users`]: one transaction per
    /// user, so that one taken name does not keep the others out.
    async fn insert_flask_users_one_by_one(
        &self,
        batch: &[FlaskImport],
        imported_at: DateTime<Utc>,
    ) -> Result<FlaskBatchOutcome, StoreError> {
        let mut outcome = FlaskBatchOutcome::default();
        for row in batch {
            let transaction = self.db.begin().await.map_err(unavailable)?;
            let inserted = user::Entity::insert(user::ActiveModel::from_domain(&row.user))
                .exec_without_returning(&transaction)
                .await;
            let lost = match inserted {
                Ok(_) => {
                    match insert_mappings(&transaction, std::slice::from_ref(row), imported_at)
                        .await
                    {
                        Ok(()) => None,
                        Err(error) if is_unique_violation(&error) => {
                            Some(&mut outcome.already_imported)
                        }
                        Err(error) => return Err(unavailable(error)),
                    }
                }
                Err(error) if is_unique_violation(&error) => Some(&mut outcome.name_taken),
                Err(error) => return Err(unavailable(error)),
            };
            match lost {
                None => {
                    transaction.commit().await.map_err(unavailable)?;
                    outcome.inserted.push(row.flask_id);
                }
                Some(list) => {
                    transaction.rollback().await.map_err(unavailable)?;
                    list.push(row.flask_id);
                }
            }
        }
        Ok(outcome)
    }
}

/// Users per multi-row INSERT: each binds eleven values (`users` has eleven
/// columns), and SQLite allows 32,766 per statement (PostgreSQL 65,535), so
/// `--batch-size 5000` is two statements. Lower it when `users` gains a
/// column: 3,000 rows of eleven values would be over SQLite's limit.
pub const USERS_PER_STATEMENT: usize = 2_500;

async fn insert_rows(
    transaction: &DatabaseTransaction,
    batch: &[FlaskImport],
    imported_at: DateTime<Utc>,
) -> Result<(), DbErr> {
    for rows in batch.chunks(USERS_PER_STATEMENT) {
        user::Entity::insert_many(
            rows.iter()
                .map(|row| user::ActiveModel::from_domain(&row.user)),
        )
        .exec_without_returning(transaction)
        .await?;
    }
    insert_mappings(transaction, batch, imported_at).await
}

async fn insert_mappings(
    transaction: &DatabaseTransaction,
    batch: &[FlaskImport],
    imported_at: DateTime<Utc>,
) -> Result<(), DbErr> {
    let imported_at = crate::stored_instant(imported_at);
    flask_user_id::Entity::insert_many(batch.iter().map(|row| flask_user_id::ActiveModel {
        flask_id: ActiveValue::Set(row.flask_id),
        user_id: ActiveValue::Set(*row.user.id.as_uuid()),
        imported_at: ActiveValue::Set(imported_at),
    }))
    .exec_without_returning(transaction)
    .await?;
    Ok(())
}
