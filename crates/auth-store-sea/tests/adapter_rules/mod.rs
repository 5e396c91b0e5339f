//! Rules of this adapter that hold on both backends but are not part of
//! the storage contract (`auth_core::conformance`): the schema, the
//! migrations, the foreign keys. Written once; `sqlite.rs` and `postgres.rs`
//! each expand [`adapter_rules!`] with their own factory.

use auth_core::conformance::{epoch, session_of, user_named};
use auth_core::{
    AdminKey, AdminKeyHash, AdminKeyId, AdminKeyName, AdminKeyStore as _, AuditLog as _, EventKind,
    EventQuery, SessionStore as _, StoreError, User, UserDirectory as _, UserId,
    UserRepository as _, UserSearch, Username,
};
use auth_store_sea::SeaStore;
use chrono::TimeDelta;
use migration::{Migrator, MigratorTrait as _, SchemaManager};
use sea_orm::sea_query::{Expr, ExprTrait as _, Query};
use sea_orm::{ConnectionTrait, Statement, TryGetable};

/// One `#[tokio::test]` per rule below, each on a fresh store from
/// `$factory: || async { Option<(SeaStore, Guard)> }` (`None` skips; the
/// guard cleans up when dropped, also after a panic).
macro_rules! adapter_rules {
    ($factory:expr) => {
        $crate::adapter_rules::adapter_rules!(
            $factory;
            migrations_go_down_and_up_again,
            deleting_a_user_deletes_their_sessions,
            a_session_of_an_unknown_user_is_rejected,
            the_skeleton_migration_keeps_existing_look_alikes_and_the_oldest_holds_the_skeleton,
            the_admin_migration_leaves_users_enabled_and_events_without_an_actor,
            users_search_orders_names_by_their_bytes,
        );
    };
    ($factory:expr; $($rule:ident),+ $(,)?) => {$(
        #[tokio::test]
        async fn $rule() {
            let Some((store, guard)) = ($factory)().await else {
                return;
            };
            $crate::adapter_rules::$rule(&store).await;
            store.close().await;
            drop(guard);
        }
    )+};
}
pub(crate) use adapter_rules;

/// The first column of the one row `sql` returns, on either backend.
pub async fn query_value<T: TryGetable>(db: &impl ConnectionTrait, sql: &str) -> T {
    let statement = Statement::from_string(db.get_database_backend(), sql);
    let row = db.query_one_raw(statement).await.unwrap().unwrap();
    row.try_get_by_index(0).unwrap()
}

/// Down drops every table, and up restores a working schema.
pub async fn migrations_go_down_and_up_again(store: &SeaStore) {
    // Arrange
    let db = store.connection();
    let schema = SchemaManager::new(db);

    // Act + Assert: down drops everything…
    Migrator::down(db, None).await.unwrap();
    assert!(!schema.has_table("users").await.unwrap());
    assert!(!schema.has_table("sessions").await.unwrap());
    assert!(!schema.has_table("login_failures").await.unwrap());
    assert!(!schema.has_table("flask_user_ids").await.unwrap());
    assert!(!schema.has_table("admin_keys").await.unwrap());
    assert_eq!(
        Migrator::get_pending_migrations(db).await.unwrap().len(),
        Migrator::migrations().len()
    );

    // …and up restores a working schema.
    Migrator::up(db, None).await.unwrap();
    assert!(
        Migrator::get_pending_migrations(db)
            .await
            .unwrap()
            .is_empty()
    );
    let user = user_named("after.migrations");
    store.create_user(&user).await.unwrap();
    store
        .insert_session(&session_of(user.id, epoch()))
        .await
        .unwrap();
    assert!(
        store
            .set_user_disabled(user.id, Some(epoch()))
            .await
            .unwrap()
    );
    store
        .insert_admin_key(&AdminKey {
            id: AdminKeyId::new(),
            name: AdminKeyName::parse("after.migrations").unwrap(),
            hash: AdminKeyHash::from_bytes([1; 32]),
            created_at: epoch(),
            revoked_at: None,
        })
        .await
        .unwrap();
}

/// Sessions go with their user (`ON DELETE CASCADE`).
pub async fn deleting_a_user_deletes_their_sessions(store: &SeaStore) {
    let user = user_named("leaving");
    store.create_user(&user).await.unwrap();
    let session = session_of(user.id, epoch());
    store.insert_session(&session).await.unwrap();

    store
        .connection()
        .execute_unprepared("DELETE FROM users")
        .await
        .unwrap();

    assert_eq!(store.find_session(&session.id).await.unwrap(), None);
}

/// A session must belong to a user that exists (the foreign key).
pub async fn a_session_of_an_unknown_user_is_rejected(store: &SeaStore) {
    let result = store
        .insert_session(&session_of(UserId::new(), epoch()))
        .await;
    assert!(
        matches!(result, Err(StoreError::Unavailable(_))),
        "{result:?}"
    );
}

/// The migration that added `users.skeleton`.
const SKELETON_MIGRATION: &str = "m20261201_000005_add_username_skeletons";

/// The skeleton migration on a database that already holds look-alikes
/// (registered before it, or imported from Flask): every user keeps their
/// account, the oldest of each group holds the skeleton and later ones get
/// NULL, and each stored skeleton is the one `Username::skeleton` computes.
pub async fn the_skeleton_migration_keeps_existing_look_alikes_and_the_oldest_holds_the_skeleton(
    store: &SeaStore,
) {
    // Arrange: the schema as it was before that migration, with look-alikes
    // inserted newest first, so neither row order nor id decides.
    let db = store.connection();
    let migrations: Vec<String> = Migrator::migrations()
        .iter()
        .map(|migration| migration.name().to_owned())
        .collect();
    let position = migrations
        .iter()
        .position(|name| name == SKELETON_MIGRATION)
        .unwrap();
    let steps = u32::try_from(migrations.len() - position).unwrap();
    Migrator::down(db, Some(steps)).await.unwrap();
    let schema = SchemaManager::new(db);
    assert!(!schema.has_column("users", "skeleton").await.unwrap());
    let [latin, modern, alice, rnodern, cyrillic] = [
        ("admin", 60),
        ("Modern", 120),
        ("alice", 90),
        ("rnodern", 30),
        ("\u{430}dmin", 0), // аdmin, the oldest
    ]
    .map(|(name, minutes)| {
        let mut user = user_named(name);
        user.created_at = epoch() + TimeDelta::minutes(minutes);
        user.updated_at = user.created_at;
        user
    });
    // And more users than one backfill statement takes.
    let fillers: Vec<User> = (0..1_200)
        .map(|i| user_named(&format!("filler-{i}")))
        .collect();
    let look_alikes = [&latin, &modern, &alice, &rnodern, &cyrillic];
    insert_without_skeleton(db, look_alikes.into_iter().chain(&fillers)).await;

    // Act
    Migrator::up(db, None).await.unwrap();

    // Assert
    for (user, holds_the_skeleton) in [
        (&cyrillic, true),
        (&latin, false),
        (&rnodern, true),
        (&modern, false),
        (&alice, true),
    ] {
        let expected = holds_the_skeleton.then(|| user.username.skeleton().as_str().to_owned());
        assert_eq!(
            stored_skeleton(db, user.id).await,
            expected,
            "{}",
            user.username
        );
        // Nobody lost an account or a login: found by name, hash intact.
        let found = store.find_user_by_username(&user.username).await.unwrap();
        assert_eq!(found.as_ref(), Some(user), "{}", user.username);
    }
    let all = Query::select()
        .columns([("users", "username"), ("users", "skeleton")])
        .from("users")
        .to_owned();
    let mut assigned = 0;
    for row in db.query_all(&all).await.unwrap() {
        let name: String = row.try_get("", "username").unwrap();
        if let Some(skeleton) = row.try_get::<Option<String>>("", "skeleton").unwrap() {
            let computed = Username::parse(&name).unwrap().skeleton();
            assert_eq!(skeleton, computed.as_str(), "{name}");
            assigned += 1;
        }
    }
    assert_eq!(assigned, fillers.len() + 3);
    // From now on the index refuses look-alikes, of the NULL rows too
    // (`adrnin` looks like `admin`; `modern` and `rnodern` look alike).
    for look_alike in ["adrnin", "rn\u{43e}dern"] {
        let result = store.create_user(&user_named(look_alike)).await;
        assert!(
            matches!(result, Err(StoreError::UsernameTaken)),
            "{look_alike}: {result:?}"
        );
    }
    let newcomer = user_named("newcomer");
    store.create_user(&newcomer).await.unwrap();
    assert_eq!(
        stored_skeleton(db, newcomer.id).await.as_deref(),
        Some(newcomer.username.skeleton().as_str())
    );
}

/// The migration that added `users.disabled_at`, `events.actor` and `admin_keys`.
const ADMIN_MIGRATION: &str = "m20261203_000013_add_admin";

/// Rows written before the admin migration read back unchanged: every
/// account enabled, every event without an actor; and down removes what
/// it added.
pub async fn the_admin_migration_leaves_users_enabled_and_events_without_an_actor(
    store: &SeaStore,
) {
    // Arrange: the schema as it was before that migration, with a user
    // and an event written then.
    let db = store.connection();
    let migrations: Vec<String> = Migrator::migrations()
        .iter()
        .map(|migration| migration.name().to_owned())
        .collect();
    let position = migrations
        .iter()
        .position(|name| name == ADMIN_MIGRATION)
        .unwrap();
    let steps = u32::try_from(migrations.len() - position).unwrap();
    Migrator::down(db, Some(steps)).await.unwrap();
    let schema = SchemaManager::new(db);
    assert!(!schema.has_table("admin_keys").await.unwrap());
    assert!(!schema.has_column("users", "disabled_at").await.unwrap());
    assert!(!schema.has_column("events", "actor").await.unwrap());
    let user = user_named("before.admin");
    insert_without_skeleton(db, [&user]).await;
    let at = epoch() + TimeDelta::seconds(7);
    let event = Query::insert()
        .into_table("events")
        .columns(["kind", "at", "user_id"])
        .values_panic([
            EventKind::LoginSucceeded.as_str().into(),
            at.into(),
            (*user.id.as_uuid()).into(),
        ])
        .to_owned();
    db.execute(&event).await.unwrap();

    // Act
    Migrator::up(db, None).await.unwrap();

    // Assert
    let found = store.find_user_by_id(user.id).await.unwrap().unwrap();
    assert_eq!(found.disabled_at, None);
    let logged = store
        .search_events(&EventQuery::default(), 10)
        .await
        .unwrap();
    assert_eq!(logged.len(), 1);
    assert_eq!(logged[0].event.kind, EventKind::LoginSucceeded);
    assert_eq!(logged[0].event.at, at);
    assert_eq!(logged[0].event.actor, None);
}

/// The search lists by the canonical name's bytes (as `MemoryStore` and
/// SQLite do), not by a PostgreSQL locale's collation, which would put
/// `ann_a` first by ignoring the punctuation; and pages after a name that
/// way too.
pub async fn users_search_orders_names_by_their_bytes(store: &SeaStore) {
    for name in ["annb", "ann_a", "ann-c", "ann.b"] {
        store.create_user(&user_named(name)).await.unwrap();
    }
    let names = |users: Vec<User>| -> Vec<String> {
        users
            .into_iter()
            .map(|user| user.username.as_str().to_owned())
            .collect()
    };

    let all = store
        .search_users(&UserSearch::everyone(), 10)
        .await
        .unwrap();
    let after = UserSearch::new(None, Some("ann.b".to_owned()));
    let rest = store.search_users(&after, 10).await.unwrap();

    assert_eq!(names(all), ["ann-c", "ann.b", "ann_a", "annb"]);
    assert_eq!(names(rest), ["ann_a", "annb"]);
}

/// `users` as rows of the `users` table before it had a `skeleton` column,
/// in one statement (six values each: keep it under 5,000 users).
async fn insert_without_skeleton<'a>(
    db: &impl ConnectionTrait,
    users: impl IntoIterator<Item = &'a User>,
) {
    let mut statement = Query::insert();
    statement.into_table("users").columns([
        "id",
        "username",
        "username_canonical",
        "password_hash",
        "created_at",
        "updated_at",
    ]);
    for user in users {
        statement.values_panic([
            (*user.id.as_uuid()).into(),
            user.username.as_str().into(),
            user.username.canonical().into(),
            user.password_hash.as_str().into(),
            user.created_at.into(),
            user.updated_at.into(),
        ]);
    }
    db.execute(&statement).await.unwrap();
}

async fn stored_skeleton(db: &impl ConnectionTrait, id: UserId) -> Option<String> {
    // Qualified: SQLite reads an unqualified "skeleton" as a string literal
    // on a pooled connection that has not seen the new column yet.
    let statement = Query::select()
        .column(("users", "skeleton"))
        .from("users")
        .and_where(Expr::col("id").eq(*id.as_uuid()))
        .to_owned();
    let row = db.query_one(&statement).await.unwrap().unwrap();
    row.try_get("", "skeleton").unwrap()
}
