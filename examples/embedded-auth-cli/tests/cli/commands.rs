//! The commands, run as `main` runs them: arguments parsed by clap, a fresh
//! `Authenticator` per command (as separate processes would have), standard
//! input as a string. Cheap hashing, and a `ManualClock` so expiry and
//! back-off are tested without sleeping.

use std::sync::Arc;
use std::time::Duration;

use auth_core::ManualClock;
use clap::Parser as _;
use embedded_auth_cli::cli::{self, Cli, Output};
use embedded_auth_cli::error::CommandError;
use tempfile::TempDir;

const PASSWORD: &str = "tangerine maple orbit 42\n";

/// A working directory with a store file, and the clock every command sees.
struct Shell {
    dir: TempDir,
    clock: ManualClock,
}

impl Shell {
    fn new() -> Self {
        Self {
            dir: tempfile::tempdir().unwrap(),
            clock: ManualClock::default(),
        }
    }

    fn store_path(&self) -> std::path::PathBuf {
        self.dir.path().join("auth-store.json")
    }

    /// `embedded-auth-cli --store <file> --insecure-fast-hashing <args…> <<< stdin`.
    async fn run(&self, args: &[&str], stdin: &str) -> Result<Output, CommandError> {
        let store = self.store_path();
        let mut argv = vec![
            "embedded-auth-cli",
            "--store",
            store.to_str().unwrap(),
            "--insecure-fast-hashing",
        ];
        argv.extend_from_slice(args);
        let cli = Cli::try_parse_from(argv).unwrap();
        let auth = cli::authenticator(&cli, Arc::new(self.clock.clone()))?;
        cli::run(&cli.command, &auth, &mut stdin.as_bytes()).await
    }

    /// Registers `name` and logs in; returns the token.
    async fn logged_in(&self, name: &str) -> String {
        self.run(&["register", name], PASSWORD).await.unwrap();
        let login = self.run(&["login", name], PASSWORD).await.unwrap();
        login.stdout.trim().to_owned()
    }
}

#[tokio::test]
async fn register_login_whoami_logout_then_the_token_is_refused() {
    let shell = Shell::new();

    let registered = shell
        .run(&["register", "John.Doe"], PASSWORD)
        .await
        .unwrap();
    let login = shell.run(&["login", "john.doe"], PASSWORD).await.unwrap();
    let token = login.stdout.trim();
    let whoami = shell.run(&["whoami", token], "").await.unwrap();
    let logout = shell.run(&["logout", token], "").await.unwrap();
    let after = shell.run(&["whoami", token], "").await.unwrap_err();

    assert!(
        registered
            .stdout
            .starts_with("registered John.Doe (user id ")
    );
    assert_eq!(
        token.len(),
        43,
        "only the token on stdout: {:?}",
        login.stdout
    );
    assert!(login.stderr.starts_with("logged in as John.Doe;"));
    assert!(whoami.stdout.starts_with("John.Doe\nuser id: "));
    assert_eq!(logout.stdout, "logged out John.Doe\n");
    assert_eq!(after.exit_code(), 3);
    assert_eq!(
        after.to_string(),
        "not logged in: the token is malformed, unknown, expired or revoked"
    );
}

#[tokio::test]
async fn a_wrong_password_and_an_unknown_name_fail_alike_with_exit_code_1() {
    let shell = Shell::new();
    shell.run(&["register", "alice"], PASSWORD).await.unwrap();

    let wrong = shell.run(&["login", "alice"], "wrong\n").await.unwrap_err();
    let unknown = shell.run(&["login", "nobody"], PASSWORD).await.unwrap_err();
    let unparsable = shell
        .run(&["login", "no body"], PASSWORD)
        .await
        .unwrap_err();

    for error in [&wrong, &unknown, &unparsable] {
        assert_eq!(error.exit_code(), 1);
        assert_eq!(error.report(), "invalid username or password");
    }
}

#[tokio::test]
async fn the_right_password_of_a_disabled_account_fails_with_exit_code_1_saying_so() {
    // Arrange: alice disabled by another program on the file (this CLI has
    // no command for it).
    let shell = Shell::new();
    shell.run(&["register", "alice"], PASSWORD).await.unwrap();
    let mut contents: serde_json::Value =
        serde_json::from_slice(&std::fs::read(shell.store_path()).unwrap()).unwrap();
    contents["users"]["alice"]["disabled_at"] = "2026-01-01T00:00:00Z".into();
    std::fs::write(shell.store_path(), contents.to_string()).unwrap();

    // Act
    let error = shell.run(&["login", "alice"], PASSWORD).await.unwrap_err();

    // Assert
    assert_eq!(error.exit_code(), 1);
    assert_eq!(error.report(), "this account is disabled");
}

#[tokio::test]
async fn the_sixth_failed_login_in_a_row_is_throttled_with_exit_code_6() {
    let shell = Shell::new();
    shell.run(&["register", "alice"], PASSWORD).await.unwrap();
    for _ in 0..5 {
        let error = shell.run(&["login", "alice"], "wrong\n").await.unwrap_err();
        assert_eq!(error.exit_code(), 1);
    }

    // Even the right password waits: back-off is checked before hashing.
    let throttled = shell.run(&["login", "ALICE"], PASSWORD).await.unwrap_err();
    shell.clock.advance(Duration::from_secs(1));
    let later = shell.run(&["login", "alice"], PASSWORD).await;

    assert_eq!(throttled.exit_code(), 6);
    assert_eq!(
        throttled.to_string(),
        "too many failed logins for this account; try again in 1 s"
    );
    assert!(later.is_ok(), "the wait is over: {later:?}");
}

#[tokio::test]
async fn a_case_variant_of_a_taken_name_is_refused_with_exit_code_4() {
    let shell = Shell::new();
    shell.run(&["register", "Straße"], PASSWORD).await.unwrap();

    let error = shell
        .run(&["register", "STRASSE"], PASSWORD)
        .await
        .unwrap_err();

    assert_eq!(error.exit_code(), 4);
}

#[tokio::test]
async fn a_weak_password_is_refused_with_exit_code_5_saying_what_to_change() {
    let shell = Shell::new();

    let short = shell
        .run(&["register", "alice"], "password123\n")
        .await
        .unwrap_err();
    let with_name = shell
        .run(&["register", "alice"], "alice in the wonderland garden\n")
        .await
        .unwrap_err();

    assert_eq!(short.exit_code(), 5);
    assert!(
        short
            .to_string()
            .starts_with("password must be at least 15 characters long")
    );
    assert_eq!(
        with_name.to_string(),
        "password must not contain the username"
    );
}

#[test]
fn an_invalid_username_is_a_usage_error_before_anything_runs() {
    let error = Cli::try_parse_from(["embedded-auth-cli", "register", "jo hn"]).unwrap_err();

    assert_eq!(error.exit_code(), 2);
    assert!(error.to_string().contains(
        "username may only contain letters, digits and . _ - @ + (found ' ' at position 3)"
    ));
}

#[test]
fn a_token_starting_with_a_hyphen_is_a_token_not_a_flag() {
    let token = "-jzlaTob6iP1ZCejjhiCSqNKSEpxFC9gRlfVlS9d2qw";

    let cli = Cli::try_parse_from(["embedded-auth-cli", "whoami", token]).unwrap();

    assert!(matches!(cli.command, cli::Command::Whoami { token: t } if t == token));
}

#[tokio::test]
async fn whoami_and_logout_read_the_token_from_stdin_given_a_dash() {
    let shell = Shell::new();
    let token = shell.logged_in("alice").await;

    let whoami = shell
        .run(&["whoami", "-"], &format!("{token}\r\n"))
        .await
        .unwrap();
    let logout = shell
        .run(&["logout", "-"], &format!("{token}\n"))
        .await
        .unwrap();

    assert!(whoami.stdout.starts_with("alice\n"));
    assert_eq!(logout.stdout, "logged out alice\n");
}

#[tokio::test]
async fn nothing_on_stdin_is_a_usage_error() {
    let shell = Shell::new();

    let error = shell.run(&["register", "alice"], "").await.unwrap_err();

    assert_eq!(error.exit_code(), 2);
    assert_eq!(error.to_string(), "expected the password on standard input");
}

#[tokio::test]
async fn a_session_unused_for_a_day_is_refused_and_purge_deletes_old_ones() {
    let shell = Shell::new();
    let idle = shell.logged_in("alice").await;
    shell.clock.advance(Duration::from_secs(23 * 3600));
    let used = shell.logged_in("bob").await;
    shell.clock.advance(Duration::from_secs(3600));

    let expired = shell.run(&["whoami", &idle], "").await.unwrap_err();
    shell.run(&["whoami", &used], "").await.unwrap();
    shell.clock.advance(Duration::from_secs(8 * 24 * 3600));
    let purged = shell.run(&["purge"], "").await.unwrap();

    assert_eq!(expired.exit_code(), 3);
    // alice's session was deleted when found expired; bob's is purged now.
    assert_eq!(
        purged.stdout,
        "deleted 1 expired sessions, 0 old failed logins, 1 refilled rate limits and 0 expired devices\n"
    );
}

#[tokio::test]
async fn the_store_file_holds_neither_the_password_nor_the_token() {
    let shell = Shell::new();

    let token = shell.logged_in("alice").await;

    let file = std::fs::read_to_string(shell.store_path()).unwrap();
    assert!(file.contains("\"alice\""));
    assert!(file.contains("$scrypt$"));
    assert!(!file.contains(PASSWORD.trim()));
    assert!(!file.contains(&token));
}

#[tokio::test]
async fn a_damaged_store_file_is_exit_code_8_naming_the_file() {
    let shell = Shell::new();
    std::fs::write(shell.store_path(), "not json").unwrap();

    let error = shell.run(&["whoami", "-"], "token\n").await.unwrap_err();

    assert_eq!(error.exit_code(), 8);
    let report = error.report();
    assert!(
        report.starts_with("cannot open the store: storage unavailable: "),
        "{report}"
    );
    assert!(
        report.contains("auth-store.json is not a store file: expected ident at line 1 column 2"),
        "{report}"
    );
}

#[tokio::test]
async fn a_login_without_the_fast_flag_replaces_a_fast_hash() {
    let shell = Shell::new();
    shell.run(&["register", "alice"], PASSWORD).await.unwrap();
    let store = shell.store_path();
    let stored_hash = || {
        let file = std::fs::read_to_string(&store).unwrap();
        let json: serde_json::Value = serde_json::from_str(&file).unwrap();
        json["users"]["alice"]["password_hash"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(stored_hash().starts_with("$scrypt$ln=4,"));

    // As `embedded-auth-cli login alice`, without --insecure-fast-hashing.
    let cli = Cli::try_parse_from([
        "embedded-auth-cli",
        "--store",
        store.to_str().unwrap(),
        "login",
        "alice",
    ])
    .unwrap();
    let auth = cli::authenticator(&cli, Arc::new(shell.clock.clone())).unwrap();
    cli::run(&cli.command, &auth, &mut PASSWORD.as_bytes())
        .await
        .unwrap();

    assert!(stored_hash().starts_with("$scrypt$ln=17,r=8,p=1$"));
}
