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
//!   `john.doe`), or that look alike (the same skeleton: `admin`, `аdmin`
//!   with a Cyrillic `а`): none of them is imported, and every member is
//!   listed (look-alikes with non-ASCII characters escaped, `\u{430}dmin`);
//! - a name the `Username` rules refuse (or no name);
//! - a canonical name taken in the target by a user not from this Flask id,
//!   or a name that looks like such a user's;
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

//! # Layout
//! - `plan.rs`: the decision for every row (pure: rows, target state, `now`).
//! - `report.rs`: conflicts and the report, as printed.
//! - this file: reading, writing in batches, the progress bar.

mod plan;
mod report;

use std::io::{IsTerminal as _, Write};
use std::path::Path;
use std::time::Instant;

use auth_core::PasswordHasher;
use auth_store_sea::SeaStore;
use auth_store_sea::import::{FlaskImportState, FlaskUser, read_flask_users, sqlite_file_missing};
use chrono::Utc;
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

pub use report::{Conflict, ConflictReason, ImportReport};

use super::AdminError;
use crate::app::Root;
use crate::config::ImportFlaskArgs;

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

/// Runs `import-flask` as the CLI does: migrate (unless `--dry-run` or
/// `--no-migrate`), import, print the report to standard output.
///
/// # Errors
/// [`AdminError`] naming what failed.
pub async fn run(root: &Root, args: &ImportFlaskArgs) -> Result<(), AdminError> {
    // Read first: a wrong path fails before the target is touched.
    let rows = read_flask_users(&args.flask_db).await?;
    let hasher = root.hasher()?;
    let options = ImportOptions {
        dry_run: args.dry_run,
        batch_size: usize::from(args.batch_size),
        progress: std::io::stdout().is_terminal(),
    };
    // A dry run does not even create the SQLite file: it would be empty anyway.
    let store = if args.dry_run && sqlite_file_missing(&root.config().database_url) {
        None
    } else {
        Some(root.store(!args.dry_run).await?)
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
    let mut plan = plan::plan(rows, &state, hasher, Utc::now());
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
            // Registered by someone else since the names were loaded (the
            // name or a look-alike: the unique violation does not say which).
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
