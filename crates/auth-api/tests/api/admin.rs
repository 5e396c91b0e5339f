//! `auth-server user create | set-password | list | revoke-sessions |
//! clear-backoff`, run as the real binary, with their effect checked through
//! the HTTP API. Each scenario runs on SQLite, and on PostgreSQL when
//! `AUTH_TEST_DATABASE_URL` is set.
//!
//! The apps here run without the session cache: on SQLite there is no feed
//! carrying another process's revocations to it, so a cached session would
//! outlive a CLI revocation by up to the cache TTL (see docs/operations.md).

use poem::http::StatusCode;

use crate::cli::{TestDatabase, on_every_backend};
use crate::helpers::{GOOD_PASSWORD, Options, TestApp, spawn_app_with};

const NEW_PASSWORD: &str = "walnut harbor seventeen kites";

async fn app_on(db: &TestDatabase) -> TestApp {
    spawn_app_with(
        Options::default()
            .on(&db.url)
            .with("--session-cache-capacity", 0),
    )
    .await
}

fn line(password: &str) -> String {
    format!("{password}\n")
}

on_every_backend!(
    user_create_reads_the_password_from_stdin_and_the_user_logs_in,
    user_commands_fail_with_a_message_naming_the_problem,
    set_password_replaces_the_password_and_ends_every_session,
    revoke_sessions_ends_every_session_of_that_user_only,
    clear_backoff_lets_a_throttled_user_try_again,
    user_list_pages_by_name_and_shows_where_each_user_came_from,
);

async fn user_create_reads_the_password_from_stdin_and_the_user_logs_in(db: &TestDatabase) {
    let created = db
        .run(&["user", "create", "Alice"], &line(GOOD_PASSWORD))
        .ok();
    let app = app_on(db).await;
    let login = app.post_login("alice", GOOD_PASSWORD).await;

    assert!(created.starts_with("created user Alice (id "), "{created}");
    assert_eq!(login.status, StatusCode::OK, "{}", login.body);
    assert_eq!(login.body["password_change_recommended"], false);
    let me = app
        .get_protected_bearer(login.body["token"].as_str().unwrap())
        .await;
    assert_eq!(me.body["username"], "Alice");
}

async fn user_commands_fail_with_a_message_naming_the_problem(db: &TestDatabase) {
    db.run(&["user", "create", "alice"], &line(GOOD_PASSWORD))
        .ok();

    db.run(&["user", "create", "bob"], &line("password123"))
        .fails_with("password refused: password must be at least 15 characters");
    db.run(&["user", "create", "bob"], &line("bob bob bob bob bob bob"))
        .fails_with("password refused: password must not contain the username");
    db.run(&["user", "create", "ALICE"], &line(NEW_PASSWORD))
        .fails_with(r#"the username "ALICE" is taken"#);
    db.run(&["user", "create", "jo hn"], &line(NEW_PASSWORD))
        .fails_with(r#"invalid username "jo hn": username may only contain"#);
    db.run(&["user", "create", "carol"], "")
        .fails_with("no password on standard input");
    db.run(&["user", "set-password", "alice"], &line("short"))
        .fails_with("password refused");
    for command in ["set-password", "revoke-sessions", "clear-backoff"] {
        db.run(&["user", command, "ghost"], &line(NEW_PASSWORD))
            .fails_with(r#"no user named "ghost""#);
    }
    // Nothing above was created, and alice kept her password.
    let listed = db.run(&["user", "list"], "").ok();
    assert_eq!(listed.lines().count(), 2, "{listed}");
    let app = app_on(db).await;
    assert_eq!(
        app.post_login("alice", GOOD_PASSWORD).await.status,
        StatusCode::OK
    );
}

async fn set_password_replaces_the_password_and_ends_every_session(db: &TestDatabase) {
    db.run(&["user", "create", "alice"], &line(GOOD_PASSWORD))
        .ok();
    let app = app_on(db).await;
    let token = app.post_login("alice", GOOD_PASSWORD).await.body["token"]
        .as_str()
        .unwrap()
        .to_owned();

    let changed = db
        .run(&["user", "set-password", "ALICE"], &line(NEW_PASSWORD))
        .ok();

    assert_eq!(
        changed,
        "password of alice changed; all of their sessions were ended\n"
    );
    app.get_protected_bearer(&token)
        .await
        .assert_error(401, "unauthorized");
    app.post_login("alice", GOOD_PASSWORD)
        .await
        .assert_error(401, "invalid_credentials");
    assert_eq!(
        app.post_login("alice", NEW_PASSWORD).await.status,
        StatusCode::OK
    );
}

async fn revoke_sessions_ends_every_session_of_that_user_only(db: &TestDatabase) {
    for name in ["alice", "bob"] {
        db.run(&["user", "create", name], &line(GOOD_PASSWORD)).ok();
    }
    let app = app_on(db).await;
    let mut tokens = Vec::new();
    for name in ["alice", "alice", "bob"] {
        let login = app.post_login(name, GOOD_PASSWORD).await;
        tokens.push(login.body["token"].as_str().unwrap().to_owned());
    }

    let revoked = db.run(&["user", "revoke-sessions", "alice"], "").ok();
    let nothing_left = db.run(&["user", "revoke-sessions", "alice"], "").ok();

    assert_eq!(revoked, "ended 2 sessions of alice\n");
    assert_eq!(nothing_left, "ended 0 sessions of alice\n");
    for token in &tokens[..2] {
        app.get_protected_bearer(token)
            .await
            .assert_error(401, "unauthorized");
    }
    assert_eq!(
        app.get_protected_bearer(&tokens[2]).await.status,
        StatusCode::OK
    );
}

async fn clear_backoff_lets_a_throttled_user_try_again(db: &TestDatabase) {
    db.run(&["user", "create", "alice"], &line(GOOD_PASSWORD))
        .ok();
    let app = app_on(db).await;
    for _ in 0..5 {
        app.post_login("alice", "not the password").await;
    }
    app.post_login("alice", GOOD_PASSWORD)
        .await
        .assert_error(429, "too_many_attempts");

    let cleared = db.run(&["user", "clear-backoff", "Alice"], "").ok();

    assert_eq!(cleared, "cleared 5 failed logins of alice\n");
    assert_eq!(
        app.post_login("alice", GOOD_PASSWORD).await.status,
        StatusCode::OK
    );
}

async fn user_list_pages_by_name_and_shows_where_each_user_came_from(db: &TestDatabase) {
    for name in ["carol", "Alice", "bob"] {
        db.run(&["user", "create", name], &line(GOOD_PASSWORD)).ok();
    }
    let fixture = crate::cli::flask_fixture();
    db.run(&["import-flask", fixture.to_str().unwrap()], "")
        .ok();

    let all = db.run(&["user", "list"], "").ok();
    let first_two = db.run(&["user", "list", "--limit", "2"], "").ok();
    let after_bob = db
        .run(&["user", "list", "--after", "BOB", "--limit", "2"], "")
        .ok();

    let names = |listing: &str| -> Vec<String> {
        listing
            .lines()
            .skip(1)
            .map(|row| row.split('\t').nth(1).unwrap().to_owned())
            .collect()
    };
    assert_eq!(
        all.lines().next().unwrap(),
        "id\tusername\tcreated_at\tpassword_hash\tflask_id"
    );
    // Flask's alice, bob and carol collide with the users created here:
    // they are conflicts, not listed twice.
    assert_eq!(
        names(&all),
        [
            "Alice", "bob", "carol", "dave", "erin", "frank", "judy", "mallory", "Zoë"
        ]
    );
    assert_eq!(names(&first_two), ["Alice", "bob"]);
    assert_eq!(names(&after_bob), ["carol", "dave"]);
    let rows: Vec<Vec<&str>> = all
        .lines()
        .skip(1)
        .map(|row| row.split('\t').collect())
        .collect();
    assert_eq!(&rows[0][3..], ["scrypt", "-"], "created here");
    assert_eq!(&rows[3][3..], ["werkzeug", "4"], "dave, from Flask id 4");
    assert!(
        !all.contains("$scrypt$") && !all.contains("pbkdf2"),
        "{all}"
    );
}
