//! Running the real `auth-server` binary (its operator subcommands) against
//! a fresh database: a SQLite file, or a PostgreSQL database of its own when
//! `AUTH_TEST_DATABASE_URL` is set (`auth_store_sea::testing::PgTestDatabase`,
//! dropped when the test ends, passing or panicking).

use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use auth_store_sea::testing::PgTestDatabase;

/// The committed Flask fixture (tests/fixtures/make_flask_db.py made it).
pub fn flask_fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/fixtures/flask_auth.db")
}

/// A database for one test.
pub struct TestDatabase {
    pub url: String,
    /// Holds the SQLite file (and anything else the test writes there).
    pub dir: tempfile::TempDir,
    /// Drops the PostgreSQL database when the test ends.
    _postgres: Option<PgTestDatabase>,
}

impl TestDatabase {
    /// A SQLite file that does not exist yet.
    pub fn sqlite() -> Self {
        let dir = tempfile::tempdir().unwrap();
        Self {
            url: format!("sqlite://{}", dir.path().join("auth.db").display()),
            dir,
            _postgres: None,
        }
    }

    /// An empty PostgreSQL database, or `None` (the test skips, saying so)
    /// when `AUTH_TEST_DATABASE_URL` is unset.
    pub async fn postgres() -> Option<Self> {
        let database = PgTestDatabase::create().await?;
        Some(Self {
            url: database.url().to_owned(),
            dir: tempfile::tempdir().unwrap(),
            _postgres: Some(database),
        })
    }

    /// Runs `auth-server <args>` on this database, with cheap scrypt
    /// parameters, `stdin` as standard input.
    pub fn run(&self, args: &[&str], stdin: &str) -> Output {
        run_auth_server(
            &[
                &[
                    "--database-url",
                    &self.url,
                    "--scrypt-log-n",
                    "4",
                    "--insecure-allow-weak-hashing",
                ],
                args,
            ]
            .concat(),
            stdin,
        )
    }
}

/// What a run printed, and how it ended.
#[derive(Debug)]
pub struct Output {
    pub success: bool,
    /// The exit code (`None` if a signal ended it).
    pub code: Option<i32>,
    pub stdout: String,
    pub stderr: String,
}

impl Output {
    /// Asserts success and returns standard output.
    #[track_caller]
    pub fn ok(self) -> String {
        assert!(self.success, "expected success: {self:?}");
        self.stdout
    }

    /// Asserts a non-zero exit with `message` on standard error.
    #[track_caller]
    pub fn fails_with(self, message: &str) {
        assert!(!self.success, "expected failure: {self:?}");
        assert!(
            self.stderr.contains(message),
            "stderr lacks {message:?}: {self:?}"
        );
    }
}

/// Runs the real binary. Blocking, which is fine in a test: nothing else
/// runs on the test's runtime meanwhile.
pub fn run_auth_server(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_auth-server"))
        .args(args)
        // The server's logs, if any, must not mix with what tests read.
        .env("AUTH_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    // A command that does not read stdin may exit first: ignore broken pipes.
    let _ = child.stdin.take().unwrap().write_all(stdin.as_bytes());
    let output = child.wait_with_output().unwrap();
    Output {
        success: output.status.success(),
        code: output.status.code(),
        stdout: String::from_utf8(output.stdout).unwrap(),
        stderr: String::from_utf8(output.stderr).unwrap(),
    }
}

/// One `#[tokio::test]` per backend for a scenario `async fn(&TestDatabase)`:
/// `NAME::sqlite` always, `NAME::postgres` when the server is configured.
macro_rules! on_every_backend {
    ($($name:ident),+ $(,)?) => {$(
        mod $name {
            #[tokio::test]
            async fn sqlite() {
                let db = crate::cli::TestDatabase::sqlite();
                super::$name(&db).await;
            }

            #[tokio::test]
            async fn postgres() {
                let Some(db) = crate::cli::TestDatabase::postgres().await else {
                    return;
                };
                super::$name(&db).await;
            }
        }
    )+};
}
pub(crate) use on_every_backend;
