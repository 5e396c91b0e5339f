//! Rules of this adapter that hold on both backends but are not part of
//! the storage contract (`auth_core::conformance`): the schema, the
//! migrations, the foreign keys. Written once; `sqlite.rs` and `postgres.rs`
//! each expand [`adapter_rules!`] with their own factory.

use auth_core::conformance::{epoch, session_of, user_named};
use auth_core::{SessionStore as _, StoreError, UserId, UserRepository as _};
use auth_store_sea::SeaStore;
use migration::{Migrator, MigratorTrait as _, SchemaManager};
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
