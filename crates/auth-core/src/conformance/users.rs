//! Rules for [`UserRepository`].

use chrono::TimeDelta;

use super::{create_concurrently, epoch, user_named};
use crate::{PasswordHash, Store, StoreError, UserId, Username};

fn name(input: &str) -> Username {
    #[allow(clippy::expect_used)] // literal, valid names
    Username::parse(input).expect("valid username")
}

/// A created user reads back identically by id and by name.
pub async fn users_round_trip_every_field<S: Store>(store: S) {
    let user = user_named("Round.Trip");
    store.create_user(&user).await.unwrap();
    let by_id = store.find_user_by_id(user.id).await.unwrap().unwrap();
    assert_eq!(by_id, user);
    assert_eq!(
        by_id.username.as_str(),
        "Round.Trip",
        "display form kept as typed"
    );
    assert_eq!(by_id.password_hash, user.password_hash);
    assert_eq!(by_id.created_at, user.created_at);
    assert_eq!(by_id.updated_at, user.updated_at);
    let by_name = store
        .find_user_by_username(&name("round.trip"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(by_name.id, user.id);
}

/// Lookups use the canonical key; the display form is the first registrant's.
pub async fn users_are_found_by_any_case_variant_of_their_name<S: Store>(store: S) {
    let user = user_named("John.Doe");
    store.create_user(&user).await.unwrap();
    for variant in ["john.doe", "JOHN.DOE", "jOhN.dOe"] {
        let found = store.find_user_by_username(&name(variant)).await.unwrap();
        let found = found.unwrap_or_else(|| panic!("{variant} not found"));
        assert_eq!(found.id, user.id);
        assert_eq!(found.username.as_str(), "John.Doe");
    }
}

/// A case variant of a taken name is `UsernameTaken`, and the original is untouched.
pub async fn users_case_variants_collide<S: Store>(store: S) {
    let first = user_named("John.Doe");
    store.create_user(&first).await.unwrap();
    let second = user_named("john.doe");
    let result = store.create_user(&second).await;
    assert!(
        matches!(result, Err(StoreError::UsernameTaken)),
        "{result:?}"
    );
    let found = store
        .find_user_by_username(&name("JOHN.DOE"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found, first);
    assert_eq!(store.find_user_by_id(second.id).await.unwrap(), None);
}

/// Names equal after NFKC + case folding collide (fullwidth letters, ß / SS).
pub async fn users_unicode_compatibility_forms_collide<S: Store>(store: S) {
    store.create_user(&user_named("Straße")).await.unwrap();
    assert!(matches!(
        store.create_user(&user_named("STRASSE")).await,
        Err(StoreError::UsernameTaken)
    ));
    store.create_user(&user_named("ｗｉｄｅ")).await.unwrap();
    assert!(matches!(
        store.create_user(&user_named("WIDE")).await,
        Err(StoreError::UsernameTaken)
    ));
}

/// A name with the skeleton of a taken one (`аdmin`, Cyrillic `а`, beside
/// `admin`) is `UsernameTaken`, either way round; it is not stored, and a
/// lookup by it finds no one (the look-alike never names the other account).
pub async fn users_confusable_names_collide<S: Store>(store: S) {
    for (first, look_alike) in [
        ("admin", "\u{430}dmin"),         // Cyrillic а
        ("g\u{3bf}\u{3bf}gle", "Google"), // Greek ο ο, registered first
        ("modern", "rnodern"),            // r n looks like m
    ] {
        let first = user_named(first);
        store.create_user(&first).await.unwrap();
        let second = user_named(look_alike);
        let result = store.create_user(&second).await;
        assert!(
            matches!(result, Err(StoreError::UsernameTaken)),
            "{look_alike}: {result:?}"
        );
        assert_eq!(store.find_user_by_id(second.id).await.unwrap(), None);
        assert_eq!(
            store.find_user_by_username(&second.username).await.unwrap(),
            None,
            "{look_alike} must not find {:?}",
            first.username
        );
        let found = store.find_user_by_username(&first.username).await.unwrap();
        assert_eq!(found, Some(first));
    }
}

/// Racing creates of look-alike names, each a different canonical name:
/// exactly one `Ok`, so the skeleton is decided atomically too (not by a
/// lookup before the insert). First two racers, then sixteen.
pub async fn users_concurrent_creates_of_confusable_names_have_exactly_one_winner<S: Store>(
    store: S,
) {
    let pair = ["admin", "\u{430}dmin"].map(|n| (store.clone(), user_named(n)));
    assert_eq!(create_concurrently(pair).await.len(), 1, "admin / аdmin");

    // `paypal` with Latin or Cyrillic p and a in each of four places:
    // sixteen canonical keys, one skeleton.
    let racers: Vec<_> = (0..16u8)
        .map(|mask| {
            let pick = |bit: u8, latin: char, cyrillic: char| {
                if mask & (1 << bit) == 0 {
                    latin
                } else {
                    cyrillic
                }
            };
            let name: String = [
                pick(0, 'p', '\u{440}'),
                pick(1, 'a', '\u{430}'),
                'y',
                pick(2, 'p', '\u{440}'),
                pick(3, 'a', '\u{430}'),
                'l',
            ]
            .into_iter()
            .collect();
            (store.clone(), user_named(&name))
        })
        .collect();
    let winners = create_concurrently(racers).await;
    assert_eq!(winners.len(), 1, "exactly one of sixteen look-alikes wins");
    let found = store
        .find_user_by_id(winners[0])
        .await
        .unwrap()
        .expect("the winner is stored");
    assert_eq!(found.username.skeleton(), name("paypal").skeleton());
}

/// 50 concurrent creates of one canonical name: exactly one `Ok`, the rest `UsernameTaken`.
pub async fn users_concurrent_creates_of_one_name_have_exactly_one_winner<S: Store>(store: S) {
    let winners = create_concurrently((0..50).map(|i| {
        let user = user_named(if i % 2 == 0 { "Racer" } else { "racer" });
        (store.clone(), user)
    }))
    .await;
    assert_eq!(winners.len(), 1, "exactly one create wins");
    let found = store
        .find_user_by_username(&name("RACER"))
        .await
        .unwrap()
        .unwrap();
    assert_eq!(found.id, winners[0]);
}

/// Different names are different users.
pub async fn users_distinct_names_coexist<S: Store>(store: S) {
    let names = ["alice", "alice2", "bob", "Zoë", "名前です", "a.b_c-d@e+f"];
    let mut ids = Vec::new();
    for n in names {
        let user = user_named(n);
        store.create_user(&user).await.unwrap();
        ids.push(user.id);
    }
    for (n, id) in names.iter().zip(ids) {
        let found = store
            .find_user_by_username(&name(n))
            .await
            .unwrap()
            .unwrap();
        assert_eq!(found.id, id, "{n}");
        assert_eq!(found.username.as_str(), *n);
    }
}

/// Unknown ids and names are `None`, not errors.
pub async fn users_missing_are_none<S: Store>(store: S) {
    assert_eq!(store.find_user_by_id(UserId::new()).await.unwrap(), None);
    assert_eq!(
        store.find_user_by_username(&name("nobody")).await.unwrap(),
        None
    );
}

/// `set_password_hash` replaces the hash and `updated_at` of one user only.
pub async fn users_set_password_hash_changes_only_that_user<S: Store>(store: S) {
    let alice = user_named("alice");
    let bob = user_named("bob");
    store.create_user(&alice).await.unwrap();
    store.create_user(&bob).await.unwrap();
    let new_hash = PasswordHash::from_stored("$scrypt$ln=17,r=8,p=1$bmV3c2FsdG5ld3NhbHQ$new-hash");
    let later = epoch() + TimeDelta::minutes(5);
    assert!(
        store
            .set_password_hash(alice.id, &new_hash, later)
            .await
            .unwrap()
    );
    let alice_now = store.find_user_by_id(alice.id).await.unwrap().unwrap();
    assert_eq!(alice_now.password_hash, new_hash);
    assert_eq!(alice_now.updated_at, later);
    assert_eq!(alice_now.created_at, alice.created_at);
    assert_eq!(store.find_user_by_id(bob.id).await.unwrap().unwrap(), bob);
}

/// `replace_password_hash` swaps only while the stored hash is the given
/// one: a rehash never overwrites a password set meanwhile.
pub async fn users_replace_password_hash_is_a_compare_and_swap<S: Store>(store: S) {
    let alice = user_named("alice");
    store.create_user(&alice).await.unwrap();
    let set_meanwhile =
        PasswordHash::from_stored("$scrypt$ln=17,r=8,p=1$bWVhbndoaWxl$set-meanwhile");
    let rehash = PasswordHash::from_stored("$scrypt$ln=17,r=8,p=1$cmVoYXNo$rehash-of-old");
    let later = epoch() + TimeDelta::minutes(5);
    store
        .set_password_hash(alice.id, &set_meanwhile, later)
        .await
        .unwrap();

    let stale = store
        .replace_password_hash(alice.id, &alice.password_hash, &rehash, later)
        .await
        .unwrap();
    let current = store
        .replace_password_hash(alice.id, &set_meanwhile, &rehash, later)
        .await
        .unwrap();

    assert!(!stale, "a stale compare must not swap");
    assert!(current);
    let stored = store.find_user_by_id(alice.id).await.unwrap().unwrap();
    assert_eq!(stored.password_hash, rehash);
    assert!(
        !store
            .replace_password_hash(UserId::new(), &rehash, &set_meanwhile, later)
            .await
            .unwrap()
    );
}

/// `set_password_hash` on an unknown id is `false` and creates nothing.
pub async fn users_set_password_hash_of_unknown_user_is_false<S: Store>(store: S) {
    let ghost = UserId::new();
    let hash = PasswordHash::from_stored("$scrypt$whatever");
    assert!(
        !store
            .set_password_hash(ghost, &hash, epoch())
            .await
            .unwrap()
    );
    assert_eq!(store.find_user_by_id(ghost).await.unwrap(), None);
}

/// Two handles (clones) see the same users.
pub async fn users_written_through_one_handle_are_seen_through_another<S: Store>(store: S) {
    let other = store.clone();
    let user = user_named("shared");
    store.create_user(&user).await.unwrap();
    assert_eq!(other.find_user_by_id(user.id).await.unwrap(), Some(user));
}
