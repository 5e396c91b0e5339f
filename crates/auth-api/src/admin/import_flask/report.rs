//! What an import decided, as the operator reads it. Never holds a password
//! or a hash.

use std::fmt;
use std::path::PathBuf;
use std::time::Duration;

use auth_core::{UserId, UsernameError};

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
    /// Other rows have names that look like this one (the same skeleton,
    /// another canonical name: `admin`, `аdmin` with a Cyrillic `а`); none
    /// of them is imported.
    DuplicateSkeleton {
        /// The shared skeleton.
        skeleton: String,
        /// The other rows: Flask id and name as stored.
        others: Vec<(i64, String)>,
    },
    /// A user of the target database, not imported from this Flask id, has
    /// the canonical name.
    NameTaken {
        /// The canonical form.
        canonical: String,
        /// That user, when known (unknown if it appeared during the import:
        /// then the name or a look-alike of it was taken, the database did
        /// not say which).
        by: Option<UserId>,
        /// The Flask id that user was imported from, if any.
        by_flask_id: Option<i64>,
    },
    /// A user of the target database, not imported from this Flask id, has
    /// a name that looks like this one (the same skeleton).
    LookAlikeTaken {
        /// The shared skeleton.
        skeleton: String,
        /// That user.
        by: UserId,
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
            Self::DuplicateSkeleton { skeleton, others } => {
                // Escaped: look-alikes print alike, which is the problem.
                write!(f, "looks like ")?;
                for (index, (id, name)) in others.iter().enumerate() {
                    let separator = if index == 0 { "" } else { ", " };
                    write!(f, "{separator}flask id {id} \"{}\"", name.escape_default())?;
                }
                write!(f, " (same skeleton {skeleton:?})")
            }
            Self::NameTaken {
                canonical,
                by: None,
                ..
            } => write!(
                f,
                "canonical name {canonical:?}, or a look-alike, was taken in the target database during the import"
            ),
            Self::NameTaken {
                canonical,
                by: Some(by),
                by_flask_id,
            } => {
                write!(
                    f,
                    "canonical name {canonical:?} is taken in the target database by user {by}"
                )?;
                imported_from(f, *by_flask_id)
            }
            Self::LookAlikeTaken {
                skeleton,
                by,
                by_flask_id,
            } => {
                write!(
                    f,
                    "looks like the name of user {by} in the target database (same skeleton {skeleton:?})"
                )?;
                imported_from(f, *by_flask_id)
            }
            Self::MissingPassword => f.write_str("no password hash"),
            Self::UnsupportedHash(reason) => write!(f, "unsupported password hash: {reason}"),
        }
    }
}

fn imported_from(f: &mut fmt::Formatter<'_>, flask_id: Option<i64>) -> fmt::Result {
    match flask_id {
        Some(flask_id) => write!(f, " (imported from flask id {flask_id})"),
        None => Ok(()),
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
