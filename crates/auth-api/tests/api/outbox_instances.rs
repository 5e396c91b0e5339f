//! Two instances on one PostgreSQL database, as deployed, both running the
//! outbox: every queued message is sent exactly once (the claims take
//! `FOR UPDATE SKIP LOCKED` leases). Skipped, saying so, without
//! `AUTH_TEST_DATABASE_URL`: a SQLite file has one server process.

use std::collections::HashSet;

use auth_core::MailOutbox as _;
use serde_json::json;

use crate::cli::TestDatabase;
use crate::helpers::{GOOD_PASSWORD, Options, TestApp, spawn_app_with};

const MESSAGES: usize = 40;

/// Sends in small batches until a pass finds nothing; returns the count.
async fn drain(app: &TestApp) -> u32 {
    let mut sent = 0;
    loop {
        let report = app
            .app
            .auth()
            .deliver_mail(&app.mailer, &app.composer, 3)
            .await
            .unwrap();
        if report.claimed() == 0 {
            return sent;
        }
        sent += report.sent;
        tokio::task::yield_now().await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_instances_send_each_queued_message_exactly_once() {
    let Some(db) = TestDatabase::postgres().await else {
        return;
    };
    let a = spawn_app_with(Options::default().on(&db.url)).await;
    let b = spawn_app_with(Options::default().on(&db.url)).await;
    for n in 0..MESSAGES {
        let reply = a
            .post_json(
                "/register",
                &json!({
                    "username": format!("user{n}"),
                    "password": GOOD_PASSWORD,
                    "email": format!("user{n}@example.com"),
                }),
            )
            .await;
        assert_eq!(reply.status.as_u16(), 201, "{}", reply.body);
    }
    assert_eq!(
        a.store.outbox_stats().await.unwrap().waiting,
        MESSAGES as u64
    );

    let (by_a, by_b) = tokio::join!(drain(&a), drain(&b));

    assert_eq!(
        by_a as usize + by_b as usize,
        MESSAGES,
        "a {by_a}, b {by_b}"
    );
    let mut mail = a.deliver().await;
    mail.extend(b.deliver().await);
    let recipients: HashSet<String> = mail.iter().map(|mail| mail.to.clone()).collect();
    assert_eq!(mail.len(), MESSAGES, "one file per message");
    assert_eq!(recipients.len(), MESSAGES, "no message twice");
    let stats = a.store.outbox_stats().await.unwrap();
    assert_eq!((stats.waiting, stats.failed), (0, 0));
}
