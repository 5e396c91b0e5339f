//! `auth-server import-flask`, run as the real binary on the committed Flask
//! fixture (tests/fixtures/flask_auth.db, made with werkzeug by
//! tests/fixtures/make_flask_db.py), then the imported users logging in
//! through the HTTP API. Each scenario runs on SQLite, and on PostgreSQL
//! when `AUTH_TEST_DATABASE_URL` is set.

use auth_core::conformance::user_named;
use auth_core::{StoreError, UserRepository as _, Username};
use auth_store_sea::{SeaStore, StoreOptions};
use poem::http::StatusCode;
use sea_orm::{ConnectionTrait as _, Database};

use crate::cli::{TestDatabase, flask_fixture, on_every_backend, run_auth_server};
use crate::helpers::{GOOD_PASSWORD, Options, spawn_app_with};

/// The fixture's importable users: name, password, whether today's policy
/// would refuse that password.
const IMPORTABLE: [(&str, &str, bool); 8] = [
    ("alice", "correct horse battery staple", false),
    ("bob", "tangerine maple orbit 42", false),
    ("carol", "violet anchor drizzle 77", false),
    ("dave", "password123", true),
    ("erin", "quiet lantern harbor 19", false),
    ("frank", "marble falcon tundra 63", false),
    ("Zoë", "glacier pepper violin 58", false),
    ("mallory", "amber willow quartz 36", false),
];

/// The fixture's conflicts, as the report lists them.
const CONFLICTS: [&str; 7] = [
    r#"conflict: flask id 8 "John.Doe": same canonical name "john.doe" as flask id 9 "john.doe", flask id 10 "ＪＯＨＮ.ＤＯＥ""#,
    r#"conflict: flask id 9 "john.doe": same canonical name "john.doe" as flask id 8 "John.Doe", flask id 10 "ＪＯＨＮ.ＤＯＥ""#,
    r#"conflict: flask id 10 "ＪＯＨＮ.ＤＯＥ": same canonical name "john.doe" as flask id 8 "John.Doe", flask id 9 "john.doe""#,
    r#"conflict: flask id 11 "jane doe": invalid username: username may only contain letters, digits and . _ - @ + (found ' ' at position 5)"#,
    r#"conflict: flask id 12 "grace": unsupported password hash: neither werkzeug scrypt/pbkdf2 nor scrypt PHC"#,
    r#"conflict: flask id 13 "heidi": unsupported password hash: neither werkzeug scrypt/pbkdf2 nor scrypt PHC"#,
    r#"conflict: flask id 14 "ivan": unsupported password hash: werkzeug scrypt parameters N=2^22,r=8,p=1 exceed the verify limits"#,
];

fn import(db: &TestDatabase, extra: &[&str]) -> String {
    let fixture = flask_fixture();
    let fixture = fixture.to_str().unwrap();
    db.run(&[&["import-flask"], extra, &[fixture]].concat(), "")
        .ok()
}

/// The report of the fixture's import without its first line (it names the
/// temporary path) and its last (a duration).
fn report_body(report: &str) -> Vec<&str> {
    report_body_of(report, 16)
}

/// [`report_body`] of an import that read `rows` users.
fn report_body_of(report: &str, rows: usize) -> Vec<&str> {
    let lines: Vec<&str> = report.lines().collect();
    assert!(
        lines[0].starts_with(&format!("import-flask: read {rows} users from ")),
        "{report}"
    );
    assert!(
        lines.last().unwrap().starts_with("finished in "),
        "{report}"
    );
    lines[1..lines.len() - 1].to_vec()
}

fn expected(imported: &str, skipped: &str, note: bool) -> Vec<String> {
    let mut lines = vec![
        imported.to_owned(),
        skipped.to_owned(),
        "conflicts (not imported): 7".to_owned(),
    ];
    if note {
        lines.push(
            "note: the target database does not exist or has no schema yet; the import will create it"
                .to_owned(),
        );
    }
    lines.extend(CONFLICTS.iter().map(|line| (*line).to_owned()));
    lines
}

on_every_backend!(
    importing_the_fixture_reports_every_outcome_and_a_second_run_skips_what_it_imported,
    every_imported_user_logs_in_over_http_and_is_rehashed_to_scrypt,
    a_dry_run_writes_nothing,
    a_name_taken_in_the_target_is_a_conflict_naming_that_user,
    look_alike_names_are_conflicts_and_imported_users_hold_their_skeleton,
);

async fn importing_the_fixture_reports_every_outcome_and_a_second_run_skips_what_it_imported(
    db: &TestDatabase,
) {
    let first = import(db, &[]);
    let second = import(db, &[]);

    assert_eq!(
        report_body(&first),
        expected("imported: 9", "skipped (already imported): 0", false)
    );
    assert_eq!(
        report_body(&second),
        expected("imported: 0", "skipped (already imported): 9", false)
    );
    let listed = db.run(&["user", "list"], "").ok();
    assert_eq!(listed.lines().count(), 1 + 9, "{listed}");
}

async fn every_imported_user_logs_in_over_http_and_is_rehashed_to_scrypt(db: &TestDatabase) {
    import(db, &[]);
    let app = spawn_app_with(Options::default().on(&db.url)).await;

    for (name, password, weak) in IMPORTABLE {
        let before = stored_hash(&app.store, name).await;
        let login = app.post_login(name, password).await;
        let again = app.post_login(name, password).await;
        let after = stored_hash(&app.store, name).await;

        assert_eq!(login.status, StatusCode::OK, "{name}: {}", login.body);
        assert_eq!(login.body["password_change_recommended"], weak, "{name}");
        assert!(
            !before.starts_with('$'),
            "{name} starts with a werkzeug hash"
        );
        assert!(
            after.starts_with("$scrypt$ln=4,r=8,p=1$"),
            "{name}: rehashed"
        );
        assert_eq!(again.status, StatusCode::OK, "{name} with the new hash");
    }

    // NFKC: werkzeug hashed the ligatures, Password normalises them away.
    app.post_login("judy", "ﬁnch ﬂute harbor 88")
        .await
        .assert_error(401, "invalid_credentials");
    // Conflicts were not imported.
    for (name, password) in [
        ("John.Doe", "copper meadow lantern 11"),
        ("john.doe", "copper meadow lantern 12"),
        ("grace", "hunter2hunter2"),
    ] {
        app.post_login(name, password)
            .await
            .assert_error(401, "invalid_credentials");
    }
    // Applications translate old ids through flask_user_ids.
    let alice = app
        .store
        .find_user_by_username(&Username::parse("alice").unwrap())
        .await
        .unwrap()
        .unwrap();
    let ids = app.store.flask_user_ids().await.unwrap();
    assert_eq!(ids.len(), 9);
    assert_eq!(ids[0], (1, alice.id));
    app.store.clone().close().await;
}

async fn stored_hash(store: &SeaStore, name: &str) -> String {
    store
        .find_user_by_username(&Username::parse(name).unwrap())
        .await
        .unwrap()
        .unwrap_or_else(|| panic!("{name} was imported"))
        .password_hash
        .as_str()
        .to_owned()
}

async fn a_dry_run_writes_nothing(db: &TestDatabase) {
    let on_a_new_database = import(db, &["--dry-run"]);
    let sqlite_file = db.dir.path().join("auth.db");
    let new_file_created = sqlite_file.exists();

    db.run(&["user", "list"], "").ok(); // creates and migrates the database
    let on_an_empty_database = import(db, &["--dry-run"]);
    let listed = db.run(&["user", "list"], "").ok();
    import(db, &[]);
    let after_an_import = import(db, &["--dry-run"]);

    assert!(
        on_a_new_database
            .lines()
            .next()
            .unwrap()
            .ends_with("(dry run: nothing written)")
    );
    assert_eq!(
        report_body(&on_a_new_database),
        expected("would import: 9", "would skip (already imported): 0", true)
    );
    assert!(
        !new_file_created,
        "a dry run must not create {sqlite_file:?}"
    );
    assert_eq!(
        report_body(&on_an_empty_database),
        expected("would import: 9", "would skip (already imported): 0", false)
    );
    assert_eq!(listed.lines().count(), 1, "only the header: {listed}");
    assert_eq!(
        report_body(&after_an_import),
        expected("would import: 0", "would skip (already imported): 9", false)
    );
}

async fn a_name_taken_in_the_target_is_a_conflict_naming_that_user(db: &TestDatabase) {
    let created = db
        .run(
            &["user", "create", "Mallory"],
            &format!("{GOOD_PASSWORD}\n"),
        )
        .ok();
    let id = created
        .trim()
        .rsplit("(id ")
        .next()
        .unwrap()
        .trim_end_matches(')');

    let report = import(db, &[]);

    let body = report_body(&report);
    assert_eq!(body[0], "imported: 8");
    assert_eq!(body[2], "conflicts (not imported): 8");
    assert!(
        body.contains(&format!(
            r#"conflict: flask id 16 "mallory": canonical name "mallory" is taken in the target database by user {id}"#
        ).as_str()),
        "{report}"
    );
}

async fn look_alike_names_are_conflicts_and_imported_users_hold_their_skeleton(db: &TestDatabase) {
    // Arrange: `rnodern` registered here; in Flask, `admin` and `аdmin`
    // (Cyrillic а), `modern` (looks like `rnodern`) and `erin`.
    let created = db
        .run(
            &["user", "create", "rnodern"],
            &format!("{GOOD_PASSWORD}\n"),
        )
        .ok();
    let id = created
        .trim()
        .rsplit("(id ")
        .next()
        .unwrap()
        .trim_end_matches(')');
    let names = ["admin", "\u{430}dmin", "modern", "erin"];
    let flask = make_flask_db(db, (1..).zip(names.map(str::to_owned))).await;

    // Act
    let report = db.run(&["import-flask", &flask], "").ok();

    // Assert: a conflict's header quotes the name as stored (the second is
    // the Cyrillic one); the look-alike reason escapes it.
    let body = report_body_of(&report, 4);
    assert_eq!(body[0], "imported: 1", "{report}");
    assert_eq!(
        body[3..],
        [
            r#"conflict: flask id 1 "admin": looks like flask id 2 "\u{430}dmin" (same skeleton "adrnin")"#.to_owned(),
            r#"conflict: flask id 2 "аdmin": looks like flask id 1 "admin" (same skeleton "adrnin")"#.to_owned(),
            format!(
                r#"conflict: flask id 3 "modern": looks like the name of user {id} in the target database (same skeleton "rnodern")"#
            ),
        ],
        "{report}"
    );
    // The imported user holds its skeleton: a look-alike cannot register.
    let store = SeaStore::connect(&db.url, &StoreOptions::default())
        .await
        .unwrap();
    let look_alike = store.create_user(&user_named("\u{435}rin")).await; // Cyrillic е
    assert!(
        matches!(look_alike, Err(StoreError::UsernameTaken)),
        "{look_alike:?}"
    );
    store.close().await;
}

/// `flask.db` in the test's directory: Flask's `users` table holding
/// `rows` (id, name), all with one werkzeug hash. Returns its path.
async fn make_flask_db(db: &TestDatabase, rows: impl IntoIterator<Item = (i64, String)>) -> String {
    let flask = db.dir.path().join("flask.db");
    let flask_url = format!("sqlite://{}?mode=rwc", flask.display());
    let connection = Database::connect(&flask_url).await.unwrap();
    connection
        .execute_unprepared(
            "CREATE TABLE users (id INTEGER PRIMARY KEY, username VARCHAR(80) UNIQUE NOT NULL, \
             password VARCHAR(255) NOT NULL)",
        )
        .await
        .unwrap();
    let hash = "pbkdf2:sha256:600000$bdd5ubwS0klUps5K$4e9e425f1c2fc731740590800341e0ef6d2a5cd5d137ea715ee967fca6c3df6e";
    let values: Vec<String> = rows
        .into_iter()
        .map(|(id, name)| format!("({id}, '{name}', '{hash}')"))
        .collect();
    connection
        .execute_unprepared(&format!("INSERT INTO users VALUES {}", values.join(",")))
        .await
        .unwrap();
    connection.close().await.unwrap();
    flask.to_str().unwrap().to_owned()
}

#[tokio::test]
async fn thousands_of_users_import_in_batches() {
    // Arrange: a Flask database of 2,345 users (one werkzeug hash shared).
    let db = TestDatabase::sqlite();
    let flask = make_flask_db(&db, (1..=2345).map(|id| (id, format!("user{id:05}")))).await;
    let flask = flask.as_str();

    // Act
    let report = db
        .run(&["import-flask", "--batch-size", "1000", flask], "")
        .ok();
    let again = db.run(&["import-flask", flask], "").ok();

    // Assert
    assert!(report.contains("\nimported: 2345\n"), "{report}");
    assert!(
        report.contains("\nconflicts (not imported): 0\n"),
        "{report}"
    );
    assert!(
        again.contains("\nskipped (already imported): 2345\n"),
        "{again}"
    );
    let store = SeaStore::connect(&db.url, &StoreOptions::default())
        .await
        .unwrap();
    let ids = store.flask_user_ids().await.unwrap();
    assert_eq!(ids.len(), 2345);
    assert_eq!(ids.last().unwrap().0, 2345);
    store.close().await;
}

#[tokio::test]
async fn an_unreadable_flask_database_fails_with_a_message_naming_it() {
    let db = TestDatabase::sqlite();
    let missing = db.dir.path().join("nope.db");
    let not_sqlite = db.dir.path().join("notes.txt");
    std::fs::write(&not_sqlite, "not a database, just text").unwrap();
    db.run(&["user", "list"], "").ok(); // our own database: no Flask `users.password`
    let ours = db.dir.path().join("auth.db");

    for (path, message) in [
        (&missing, "does not exist"),
        (&not_sqlite, "has no readable Flask `users` table"),
        (&ours, "has no readable Flask `users` table"),
    ] {
        let path = path.to_str().unwrap();
        let output = run_auth_server(&["--database-url", &db.url, "import-flask", path], "");
        assert!(output.stderr.contains(path), "{output:?}");
        output.fails_with(message);
    }
}
