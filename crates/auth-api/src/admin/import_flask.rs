//! `auth-server import-flask <auth.db>`: the Flask service's users, moved.
//!
//! Each user gets a new UUID, keeps the werkzeug hash as it is (verified at
//! the next login, then replaced by scrypt: `auth_core::werkzeug`), and its
//! Flask id is recorded in `flask_user_ids`, so a second run skips it and
//! applications can translate old ids. Nothing is merged or dropped
//! silently: a row that cannot be imported is a *conflict*, listed with its
//! reasons:
//!
//! - two or more Flask names with the same canonical form (`John.Doe`,
//!   `john.doe`): none of them is imported, and every member is listed;
//! - a name the `Username` rules refuse (or no name);
//! - a canonical name taken in the target by a user not from this Flask id;
//! - a password hash that could never verify (not werkzeug scrypt/pbkdf2
//!   nor scrypt PHC, malformed, or beyond the verify limits).
//!
//! The target's names and imported ids are loaded once; users are written
//! `--batch-size` (1,000) per transaction.
//!
//! # Report
//!
//! ```text
//! import-flask: read 16 users from tests/fixtures/flask_auth.db
//! imported: 9
//! skipped (already imported): 0
//! conflicts (not imported): 7
//! conflict: flask id 8 "John.Doe": same canonical name "john.doe" as flask id 9 "john.doe", flask id 10 "ＪＯＨＮ.ＤＯＥ"
//! conflict: flask id 11 "jane doe": invalid username: username may only contain letters, digits and . _ - @ + (found ' ' at position 5)
//! conflict: flask id 12 "grace": unsupported password hash: neither werkzeug scrypt/pbkdf2 nor scrypt PHC
//! finished in 0.4 s
//! ```
//!
//! With `--dry-run` the first line ends in `(dry run: nothing written)` and
//! the counts read `would import:` and `would skip (already imported):`.
//! The exit status is 0 whether or not there are conflicts: they are an
//! outcome to act on, not a failure.

use std::collections::{BTreeMap, HashMap};
use std::fmt;
use std::io::{IsTerminal as _, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use auth_core::werkzeug::is_werkzeug_hash;
use auth_core::{HashError, PasswordHash, PasswordHasher, User, UserId, Username, UsernameError};
use auth_store_sea::SeaStore;
use auth_store_sea::import::{
    FlaskImport, FlaskImportState, FlaskUser, read_flask_users, sqlite_file_missing,
};
use chrono::Utc;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use super::{AdminError, connect, hasher};
use crate::config::{Config, ImportFlaskArgs};

/// How to run an import.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImportOptions {
    /// Plan and report only.
    pub dry_run: bool,
    /// Users per transaction.
    pub batch_size: usize,
    /// Draw a progress bar (on standard error).
    pub progress: bool,
}

/// Why a Flask row was not imported. Never holds a password or a hash.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ConflictReason {
    /// The row has no username (NULL).
    MissingUsername,
    /// The name breaks the `Username` rules.
    InvalidUsername(UsernameError),
    /// Other rows have the same canonical name; none of them is imported.
    DuplicateCanonical {
        /// The shared canonical form.
        canonical: String,
        /// The other rows: Flask id and name as stored.
        others: Vec<(i64, String)>,
    },
    /// A user of the target database, not imported from this Flask id, has
    /// the canonical name.
    NameTaken {
        /// The canonical form.
        canonical: String,
        /// That user, when known (unknown if it appeared during the import).
        by: Option<UserId>,
        /// The Flask id that user was imported from, if any.
        by_flask_id: Option<i64>,
    },
    /// The row has no password hash (NULL).
    MissingPassword,
    /// The hash could never verify.
    UnsupportedHash(String),
}

impl fmt::Display for ConflictReason {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::MissingUsername => f.write_str("no username"),
            Self::InvalidUsername(reason) => write!(f, "invalid username: {reason}"),
            Self::DuplicateCanonical { canonical, others } => {
                write!(f, "same canonical name {canonical:?} as ")?;
                for (index, (id, name)) in others.iter().enumerate() {
                    let separator = if index == 0 { "" } else { ", " };
                    write!(f, "{separator}flask id {id} {name:?}")?;
                }
                Ok(())
            }
            Self::NameTaken {
                canonical,
                by,
                by_flask_id,
            } => {
                write!(
                    f,
                    "canonical name {canonical:?} is taken in the target database"
                )?;
                if let Some(by) = by {
                    write!(f, " by user {by}")?;
                }
                if let Some(flask_id) = by_flask_id {
                    write!(f, " (imported from flask id {flask_id})")?;
                }
                Ok(())
            }
            Self::MissingPassword => f.write_str("no password hash"),
            Self::UnsupportedHash(reason) => write!(f, "unsupported password hash: {reason}"),
        }
    }
}

/// A Flask row that was not imported, with every reason.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Conflict {
    /// Its Flask id.
    pub flask_id: i64,
    /// Its name as stored in Flask.
    pub username: Option<String>,
    /// Why (at least one).
    pub reasons: Vec<ConflictReason>,
}

impl fmt::Display for Conflict {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "flask id {}", self.flask_id)?;
        if let Some(name) = &self.username {
            write!(f, " {name:?}")?;
        }
        f.write_str(": ")?;
        for (index, reason) in self.reasons.iter().enumerate() {
            let separator = if index == 0 { "" } else { "; " };
            write!(f, "{separator}{reason}")?;
        }
        Ok(())
    }
}

/// What an import did (or, in a dry run, would do).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ImportReport {
    /// The Flask database.
    pub source: PathBuf,
    /// Nothing was written.
    pub dry_run: bool,
    /// The target had the schema (always, unless a dry run on a new database).
    pub target_schema_present: bool,
    /// Rows read from Flask.
    pub read: usize,
    /// Flask ids imported (or to import), ascending.
    pub imported: Vec<i64>,
    /// Flask ids skipped as imported before, ascending.
    pub skipped: Vec<i64>,
    /// Rows not imported, by Flask id.
    pub conflicts: Vec<Conflict>,
    /// How long it took.
    pub elapsed: Duration,
}

impl fmt::Display for ImportReport {
    /// The report format documented at the top of this module.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let dry_run = if self.dry_run {
            " (dry run: nothing written)"
        } else {
            ""
        };
        writeln!(
            f,
            "import-flask: read {} users from {}{dry_run}",
            self.read,
            self.source.display()
        )?;
        let (import, skip) = if self.dry_run {
            ("would import", "would skip")
        } else {
            ("imported", "skipped")
        };
        writeln!(f, "{import}: {}", self.imported.len())?;
        writeln!(f, "{skip} (already imported): {}", self.skipped.len())?;
        writeln!(f, "conflicts (not imported): {}", self.conflicts.len())?;
        if !self.target_schema_present {
            writeln!(
                f,
                "note: the target database does not exist or has no schema yet; the import will create it"
            )?;
        }
        for conflict in &self.conflicts {
            writeln!(f, "conflict: {conflict}")?;
        }
        writeln!(f, "finished in {:.1} s", self.elapsed.as_secs_f64())
    }
}

/// The decision for every Flask row.
#[derive(Debug, Default)]
struct Plan {
    import: Vec<FlaskImport>,
    skipped: Vec<i64>,
    conflicts: Vec<Conflict>,
}

/// Runs `import-flask` as the CLI does: migrate (unless `--dry-run` or
/// `--no-migrate`), import, print the report to standard output.
///
/// # Errors
/// [`AdminError`] naming what failed.
pub async fn run(config: &Config, args: &ImportFlaskArgs) -> Result<(), AdminError> {
    // Read first: a wrong path fails before the target is touched.
    let rows = read_flask_users(&args.flask_db).await?;
    let hasher = hasher(config)?;
    let options = ImportOptions {
        dry_run: args.dry_run,
        batch_size: usize::from(args.batch_size),
        progress: std::io::stdout().is_terminal(),
    };
    // A dry run does not even create the SQLite file: it would be empty anyway.
    let store = if args.dry_run && sqlite_file_missing(&config.database_url) {
        None
    } else {
        Some(connect(config, !args.dry_run).await?)
    };
    let report = import_rows(store.as_ref(), &hasher, &args.flask_db, rows, options).await;
    if let Some(store) = store {
        store.close().await;
    }
    let report = report?;
    let mut stdout = std::io::stdout().lock();
    write!(stdout, "{report}").map_err(AdminError::Output)
}

/// Reads the Flask database at `source` and imports it into `store`.
///
/// # Errors
/// [`AdminError`] naming what failed.
pub async fn import_flask_db(
    store: &SeaStore,
    hasher: &PasswordHasher,
    source: &Path,
    options: ImportOptions,
) -> Result<ImportReport, AdminError> {
    let rows = read_flask_users(source).await?;
    import_rows(Some(store), hasher, source, rows, options).await
}

/// Plans, then (unless a dry run) writes. `store` is `None` only for a dry
/// run on a target that does not exist yet.
async fn import_rows(
    store: Option<&SeaStore>,
    hasher: &PasswordHasher,
    source: &Path,
    rows: Vec<FlaskUser>,
    options: ImportOptions,
) -> Result<ImportReport, AdminError> {
    let started = Instant::now();
    let read = rows.len();
    let state = match store {
        Some(store) => store
            .flask_import_state()
            .await
            .map_err(AdminError::Storage)?,
        None => FlaskImportState::default(),
    };
    let writer = match (options.dry_run, store) {
        (true, _) => None,
        (false, Some(store)) if state.schema_present => Some(store),
        (false, _) => return Err(AdminError::SchemaMissing),
    };
    let mut plan = plan(rows, &state, hasher);
    let mut imported: Vec<i64> = Vec::with_capacity(plan.import.len());
    if let Some(store) = writer {
        let progress = progress_bar(plan.import.len(), options.progress);
        for batch in plan.import.chunks(options.batch_size.max(1)) {
            let outcome = store
                .insert_flask_users(batch, Utc::now())
                .await
                .map_err(AdminError::Storage)?;
            imported.extend(&outcome.inserted);
            plan.skipped.extend(&outcome.already_imported);
            // Registered by someone else since the names were loaded.
            for flask_id in outcome.name_taken {
                if let Some(row) = batch.iter().find(|row| row.flask_id == flask_id) {
                    plan.conflicts.push(Conflict {
                        flask_id,
                        username: Some(row.user.username.as_str().to_owned()),
                        reasons: vec![ConflictReason::NameTaken {
                            canonical: row.user.username.canonical().to_owned(),
                            by: None,
                            by_flask_id: None,
                        }],
                    });
                }
            }
            progress.inc(batch.len() as u64);
        }
        progress.finish_and_clear();
    } else {
        imported.extend(plan.import.iter().map(|row| row.flask_id));
    }
    imported.sort_unstable();
    plan.skipped.sort_unstable();
    plan.conflicts.sort_by_key(|conflict| conflict.flask_id);
    Ok(ImportReport {
        source: source.to_owned(),
        dry_run: options.dry_run,
        target_schema_present: state.schema_present,
        read,
        imported,
        skipped: plan.skipped,
        conflicts: plan.conflicts,
        elapsed: started.elapsed(),
    })
}

/// A bar on standard error, or a hidden one (stdout not a terminal: a log,
/// a pipe, a test).
fn progress_bar(total: usize, visible: bool) -> ProgressBar {
    let bar = ProgressBar::with_draw_target(
        Some(total as u64),
        if visible {
            ProgressDrawTarget::stderr()
        } else {
            ProgressDrawTarget::hidden()
        },
    );
    if let Ok(style) =
        ProgressStyle::with_template("importing {bar:30} {pos}/{len} users, {eta} left")
    {
        bar.set_style(style);
    }
    bar
}

/// Decides, without writing, what happens to each row.
fn plan(rows: Vec<FlaskUser>, state: &FlaskImportState, hasher: &PasswordHasher) -> Plan {
    struct Candidate {
        row: FlaskUser,
        name: Option<Username>,
        reasons: Vec<ConflictReason>,
    }
    let mut plan = Plan::default();
    let mut candidates = Vec::with_capacity(rows.len());
    for row in rows {
        if state.imported.contains_key(&row.id) {
            plan.skipped.push(row.id);
            continue;
        }
        let mut reasons = Vec::new();
        let name = match row.username.as_deref().map(Username::parse) {
            None => {
                reasons.push(ConflictReason::MissingUsername);
                None
            }
            Some(Err(reason)) => {
                reasons.push(ConflictReason::InvalidUsername(reason));
                None
            }
            Some(Ok(name)) => Some(name),
        };
        match row.password.as_deref() {
            None => reasons.push(ConflictReason::MissingPassword),
            Some(stored) => {
                if let Err(reason) = check_hash(hasher, stored) {
                    reasons.push(ConflictReason::UnsupportedHash(reason));
                }
            }
        }
        candidates.push(Candidate { row, name, reasons });
    }

    // Every name that parses counts in its canonical group, whatever else
    // is wrong with its row: importing one member would pick a winner.
    let mut groups: HashMap<&str, Vec<usize>> = HashMap::new();
    for (index, candidate) in candidates.iter().enumerate() {
        if let Some(name) = &candidate.name {
            groups.entry(name.canonical()).or_default().push(index);
        }
    }
    let mut duplicates: BTreeMap<usize, ConflictReason> = BTreeMap::new();
    for (canonical, members) in &groups {
        if members.len() < 2 {
            continue;
        }
        for &member in members {
            let others = members
                .iter()
                .filter(|&&other| other != member)
                .map(|&other| {
                    let row = &candidates[other].row;
                    (row.id, row.username.clone().unwrap_or_default())
                })
                .collect();
            duplicates.insert(
                member,
                ConflictReason::DuplicateCanonical {
                    canonical: (*canonical).to_owned(),
                    others,
                },
            );
        }
    }

    let now = Utc::now();
    for (index, mut candidate) in candidates.into_iter().enumerate() {
        if let Some(duplicate) = duplicates.remove(&index) {
            candidate.reasons.push(duplicate);
        }
        if let Some(name) = &candidate.name
            && let Some(existing) = state.by_canonical.get(name.canonical())
        {
            candidate.reasons.push(ConflictReason::NameTaken {
                canonical: name.canonical().to_owned(),
                by: Some(existing.id),
                by_flask_id: existing.flask_id,
            });
        }
        match (candidate.name, candidate.row.password) {
            (Some(username), Some(hash)) if candidate.reasons.is_empty() => {
                plan.import.push(FlaskImport {
                    flask_id: candidate.row.id,
                    user: User {
                        id: UserId::new(),
                        username,
                        password_hash: PasswordHash::from_stored(hash),
                        created_at: now,
                        updated_at: now,
                    },
                });
            }
            _ => plan.conflicts.push(Conflict {
                flask_id: candidate.row.id,
                username: candidate.row.username,
                reasons: candidate.reasons,
            }),
        }
    }
    plan
}

/// Why `stored` could never verify, or `Ok`. The reason never quotes the
/// value: a "hash" that is not one may be a plain-text password.
fn check_hash(hasher: &PasswordHasher, stored: &str) -> Result<(), String> {
    match hasher.check_usable(&PasswordHash::from_stored(stored)) {
        Ok(()) => Ok(()),
        Err(_) if !is_werkzeug_hash(stored) && !stored.starts_with('$') => {
            Err("neither werkzeug scrypt/pbkdf2 nor scrypt PHC".to_owned())
        }
        Err(HashError::UnusableHash(reason)) => Err(reason),
        Err(other) => Err(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use auth_core::HashConfig;
    use auth_store_sea::import::ExistingUser;

    use super::*;

    const SCRYPT: &str = "scrypt:32768:8:1$pNiERhSKEe3aTnDC$bd35ce9bbceacafd1159354d4b35273fedbb026dbd42bfeff06e6baa9f5b96de613a95dcbff2301934a8b0837d22fa5c5b69747187cc47ec29b6ab6960fe99dc";

    fn hasher() -> PasswordHasher {
        PasswordHasher::new(HashConfig::insecure_fast_for_tests()).unwrap()
    }

    fn row(id: i64, name: &str, password: &str) -> FlaskUser {
        FlaskUser {
            id,
            username: Some(name.to_owned()),
            password: Some(password.to_owned()),
        }
    }

    fn reasons(plan: &Plan, flask_id: i64) -> Vec<String> {
        plan.conflicts
            .iter()
            .find(|conflict| conflict.flask_id == flask_id)
            .map(|conflict| conflict.reasons.iter().map(ToString::to_string).collect())
            .unwrap_or_default()
    }

    #[test]
    fn a_canonical_group_is_imported_not_at_all_and_every_member_is_listed() {
        let plan = plan(
            vec![
                row(1, "John.Doe", SCRYPT),
                row(2, "john.doe", SCRYPT),
                row(3, "ＪＯＨＮ.ＤＯＥ", "plain text"),
                row(4, "alice", SCRYPT),
            ],
            &FlaskImportState::default(),
            &hasher(),
        );
        assert_eq!(
            plan.import
                .iter()
                .map(|row| row.flask_id)
                .collect::<Vec<_>>(),
            [4]
        );
        assert_eq!(
            reasons(&plan, 1),
            [
                r#"same canonical name "john.doe" as flask id 2 "john.doe", flask id 3 "ＪＯＨＮ.ＤＯＥ""#
            ]
        );
        assert_eq!(reasons(&plan, 2).len(), 1);
        // Every reason is listed, not just the first.
        assert_eq!(reasons(&plan, 3).len(), 2, "{:?}", reasons(&plan, 3));
    }

    #[test]
    fn imported_ids_are_skipped_and_taken_names_conflict() {
        let mallory = UserId::new();
        let state = FlaskImportState {
            by_canonical: HashMap::from([
                (
                    "mallory".to_owned(),
                    ExistingUser {
                        id: mallory,
                        flask_id: None,
                    },
                ),
                (
                    "alice".to_owned(),
                    ExistingUser {
                        id: UserId::new(),
                        flask_id: Some(1),
                    },
                ),
            ]),
            imported: HashMap::from([(1, UserId::new())]),
            schema_present: true,
        };
        let plan = plan(
            vec![row(1, "alice", SCRYPT), row(2, "Mallory", SCRYPT)],
            &state,
            &hasher(),
        );
        assert_eq!(plan.skipped, [1]);
        assert!(plan.import.is_empty());
        assert_eq!(
            reasons(&plan, 2),
            [format!(
                r#"canonical name "mallory" is taken in the target database by user {mallory}"#
            )]
        );
    }

    #[test]
    fn hash_reasons_never_quote_the_stored_value() {
        let plan = plan(
            vec![
                row(1, "grace", "hunter2hunter2"),
                row(
                    2,
                    "ivan",
                    &format!("scrypt:4194304:8:1$salt${}", "0".repeat(128)),
                ),
                row(3, "nat", "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"),
                FlaskUser {
                    id: 4,
                    username: None,
                    password: None,
                },
            ],
            &FlaskImportState::default(),
            &hasher(),
        );
        assert!(plan.import.is_empty());
        let all: Vec<String> = (1..=4).flat_map(|id| reasons(&plan, id)).collect();
        assert_eq!(
            all[0],
            "unsupported password hash: neither werkzeug scrypt/pbkdf2 nor scrypt PHC"
        );
        assert!(all[1].contains("exceed the verify limits"), "{}", all[1]);
        assert!(
            all[2].starts_with("unsupported password hash") && !all[2].contains("c2FsdA"),
            "{}",
            all[2]
        );
        assert_eq!(all[3..], ["no username", "no password hash"]);
        assert!(all.iter().all(|reason| !reason.contains("hunter2")));
    }
}
