//! The decision for every Flask row, made before anything is written: a
//! pure function of the rows, the target's state and `now`.

use std::collections::{BTreeMap, HashMap};

use auth_core::{
    HashError, HashKind, PasswordHash, PasswordHasher, User, UserId, Username, UsernameSkeleton,
};
use auth_store_sea::import::{FlaskImport, FlaskImportState, FlaskUser};
use chrono::{DateTime, Utc};

use super::report::{Conflict, ConflictReason};

/// The decision for every Flask row.
#[derive(Debug, Default)]
pub(super) struct Plan {
    pub(super) import: Vec<FlaskImport>,
    pub(super) skipped: Vec<i64>,
    pub(super) conflicts: Vec<Conflict>,
}

/// Decides, without writing, what happens to each row.
/// `now` is the creation time of every imported user.
pub(super) fn plan(
    rows: Vec<FlaskUser>,
    state: &FlaskImportState,
    hasher: &PasswordHasher,
    now: DateTime<Utc>,
) -> Plan {
    let mut plan = Plan::default();
    let mut candidates = Vec::with_capacity(rows.len());
    for row in rows {
        if state.imported.contains_key(&row.id) {
            plan.skipped.push(row.id);
            continue;
        }
        let mut reasons = Vec::new();
        let name = match row.username.as_deref().map(Username::parse) {
            None => {
                reasons.push(ConflictReason::MissingUsername);
                None
            }
            Some(Err(reason)) => {
                reasons.push(ConflictReason::InvalidUsername(reason));
                None
            }
            Some(Ok(name)) => {
                let skeleton = name.skeleton();
                Some((name, skeleton))
            }
        };
        match row.password.as_deref() {
            None => reasons.push(ConflictReason::MissingPassword),
            Some(stored) => {
                if let Err(reason) = check_hash(hasher, stored) {
                    reasons.push(ConflictReason::UnsupportedHash(reason));
                }
            }
        }
        candidates.push(Candidate { row, name, reasons });
    }

    let mut duplicates = duplicates(&candidates);
    for (index, mut candidate) in candidates.into_iter().enumerate() {
        candidate
            .reasons
            .extend(duplicates.remove(&index).unwrap_or_default());
        if let Some((name, skeleton)) = &candidate.name {
            // A taken canonical name has the same skeleton: say the first only.
            if let Some(existing) = state.by_canonical.get(name.canonical()) {
                candidate.reasons.push(ConflictReason::NameTaken {
                    canonical: name.canonical().to_owned(),
                    by: Some(existing.id),
                    by_flask_id: existing.flask_id,
                });
            } else if let Some(existing) = state.by_skeleton.get(skeleton.as_str()) {
                candidate.reasons.push(ConflictReason::LookAlikeTaken {
                    skeleton: skeleton.as_str().to_owned(),
                    by: existing.id,
                    by_flask_id: existing.flask_id,
                });
            }
        }
        match (candidate.name.map(|(name, _)| name), candidate.row.password) {
            (Some(username), Some(hash)) if candidate.reasons.is_empty() => {
                plan.import.push(FlaskImport {
                    flask_id: candidate.row.id,
                    user: User {
                        id: UserId::new(),
                        username,
                        password_hash: PasswordHash::from_stored(hash),
                        created_at: now,
                        updated_at: now,
                        email: None,
                        disabled_at: None,
                    },
                });
            }
            _ => plan.conflicts.push(Conflict {
                flask_id: candidate.row.id,
                username: candidate.row.username,
                reasons: candidate.reasons,
            }),
        }
    }
    plan
}

/// A row being planned: its name (parsed) and skeleton, and what is wrong.
struct Candidate {
    row: FlaskUser,
    name: Option<(Username, UsernameSkeleton)>,
    reasons: Vec<ConflictReason>,
}

/// The rows that share a canonical name or a skeleton with other rows, by
/// index into `candidates`, with those reasons.
fn duplicates(candidates: &[Candidate]) -> BTreeMap<usize, Vec<ConflictReason>> {
    // Every name that parses counts in its canonical group and in its
    // skeleton group, whatever else is wrong with its row: importing one
    // member would pick a winner.
    let mut canonical_groups: HashMap<&str, Vec<usize>> = HashMap::new();
    let mut skeleton_groups: HashMap<&str, Vec<usize>> = HashMap::new();
    for (index, candidate) in candidates.iter().enumerate() {
        if let Some((name, skeleton)) = &candidate.name {
            canonical_groups
                .entry(name.canonical())
                .or_default()
                .push(index);
            skeleton_groups
                .entry(skeleton.as_str())
                .or_default()
                .push(index);
        }
    }
    let canonical_of = |index: usize| candidates[index].name.as_ref().map(|(n, _)| n.canonical());
    let stored_name = |index: usize| {
        let row = &candidates[index].row;
        (row.id, row.username.clone().unwrap_or_default())
    };
    let mut duplicates: BTreeMap<usize, Vec<ConflictReason>> = BTreeMap::new();
    for (canonical, members) in &canonical_groups {
        if members.len() < 2 {
            continue;
        }
        for &member in members {
            let others = members.iter().filter(|&&other| other != member);
            duplicates
                .entry(member)
                .or_default()
                .push(ConflictReason::DuplicateCanonical {
                    canonical: (*canonical).to_owned(),
                    others: others.map(|&other| stored_name(other)).collect(),
                });
        }
    }
    // Look-alikes with another canonical name: those with the same one are
    // listed above already.
    for (skeleton, members) in &skeleton_groups {
        for &member in members {
            let others: Vec<_> = members
                .iter()
                .filter(|&&other| canonical_of(other) != canonical_of(member))
                .map(|&other| stored_name(other))
                .collect();
            if !others.is_empty() {
                duplicates
                    .entry(member)
                    .or_default()
                    .push(ConflictReason::DuplicateSkeleton {
                        skeleton: (*skeleton).to_owned(),
                        others,
                    });
            }
        }
    }

    duplicates
}

/// Why `stored` could never verify, or `Ok`. The reason never quotes the
/// value: a "hash" that is not one may be a plain-text password.
fn check_hash(hasher: &PasswordHasher, stored: &str) -> Result<(), String> {
    let hash = PasswordHash::from_stored(stored);
    match hasher.check_usable(&hash) {
        Ok(()) => Ok(()),
        Err(_) if hash.kind() == HashKind::Unknown => {
            Err("neither werkzeug scrypt/pbkdf2 nor scrypt PHC".to_owned())
        }
        Err(HashError::UnusableHash(reason)) => Err(reason),
        Err(other) => Err(other.to_string()),
    }
}

#[cfg(test)]
mod tests {
    use auth_core::HashConfig;
    use auth_store_sea::import::ExistingUser;

    use super::*;

    const SCRYPT: &str = "scrypt:32768:8:1$pNiERhSKEe3aTnDC$bd35ce9bbceacafd1159354d4b35273fedbb026dbd42bfeff06e6baa9f5b96de613a95dcbff2301934a8b0837d22fa5c5b69747187cc47ec29b6ab6960fe99dc";

    fn hasher() -> PasswordHasher {
        PasswordHasher::new(HashConfig::insecure_fast_for_tests()).unwrap()
    }

    fn row(id: i64, name: &str, password: &str) -> FlaskUser {
        FlaskUser {
            id,
            username: Some(name.to_owned()),
            password: Some(password.to_owned()),
        }
    }

    fn reasons(plan: &Plan, flask_id: i64) -> Vec<String> {
        plan.conflicts
            .iter()
            .find(|conflict| conflict.flask_id == flask_id)
            .map(|conflict| conflict.reasons.iter().map(ToString::to_string).collect())
            .unwrap_or_default()
    }

    #[test]
    fn a_canonical_group_is_imported_not_at_all_and_every_member_is_listed() {
        let plan = plan(
            vec![
                row(1, "John.Doe", SCRYPT),
                row(2, "john.doe", SCRYPT),
                row(3, "ＪＯＨＮ.ＤＯＥ", "plain text"),
                row(4, "alice", SCRYPT),
            ],
            &FlaskImportState::default(),
            &hasher(),
            Utc::now(),
        );
        assert_eq!(
            plan.import
                .iter()
                .map(|row| row.flask_id)
                .collect::<Vec<_>>(),
            [4]
        );
        assert_eq!(
            reasons(&plan, 1),
            [
                r#"same canonical name "john.doe" as flask id 2 "john.doe", flask id 3 "ＪＯＨＮ.ＤＯＥ""#
            ]
        );
        assert_eq!(reasons(&plan, 2).len(), 1);
        // Every reason is listed, not just the first.
        assert_eq!(reasons(&plan, 3).len(), 2, "{:?}", reasons(&plan, 3));
    }

    #[test]
    fn imported_ids_are_skipped_and_taken_names_conflict() {
        let mallory = UserId::new();
        let state = FlaskImportState {
            by_canonical: HashMap::from([
                (
                    "mallory".to_owned(),
                    ExistingUser {
                        id: mallory,
                        flask_id: None,
                    },
                ),
                (
                    "alice".to_owned(),
                    ExistingUser {
                        id: UserId::new(),
                        flask_id: Some(1),
                    },
                ),
            ]),
            by_skeleton: HashMap::new(),
            imported: HashMap::from([(1, UserId::new())]),
            schema_present: true,
        };
        let plan = plan(
            vec![row(1, "alice", SCRYPT), row(2, "Mallory", SCRYPT)],
            &state,
            &hasher(),
            Utc::now(),
        );
        assert_eq!(plan.skipped, [1]);
        assert!(plan.import.is_empty());
        assert_eq!(
            reasons(&plan, 2),
            [format!(
                r#"canonical name "mallory" is taken in the target database by user {mallory}"#
            )]
        );
    }

    #[test]
    fn look_alikes_in_flask_are_imported_not_at_all_and_each_names_the_others() {
        let plan = plan(
            vec![
                row(1, "admin", SCRYPT),
                row(2, "\u{430}dmin", SCRYPT), // Cyrillic а
                row(3, "Admin", SCRYPT),
                row(4, "alice", SCRYPT),
            ],
            &FlaskImportState::default(),
            &hasher(),
            Utc::now(),
        );

        let imported: Vec<i64> = plan.import.iter().map(|row| row.flask_id).collect();
        assert_eq!(imported, [4]);
        assert_eq!(
            reasons(&plan, 1),
            [
                r#"same canonical name "admin" as flask id 3 "Admin""#,
                r#"looks like flask id 2 "\u{430}dmin" (same skeleton "adrnin")"#,
            ]
        );
        assert_eq!(
            reasons(&plan, 2),
            [r#"looks like flask id 1 "admin", flask id 3 "Admin" (same skeleton "adrnin")"#]
        );
        assert_eq!(reasons(&plan, 3).len(), 2, "{:?}", reasons(&plan, 3));
    }

    #[test]
    fn a_look_alike_of_a_target_user_is_a_conflict_naming_that_user() {
        let holder = UserId::new();
        let existing = ExistingUser {
            id: holder,
            flask_id: Some(7),
        };
        let state = FlaskImportState {
            by_canonical: HashMap::from([("rnodern".to_owned(), existing)]),
            by_skeleton: HashMap::from([("rnodern".to_owned(), existing)]),
            imported: HashMap::from([(7, holder)]),
            schema_present: true,
        };

        let plan = plan(
            vec![row(1, "Modern", SCRYPT), row(2, "rnodern", SCRYPT)],
            &state,
            &hasher(),
            Utc::now(),
        );

        assert!(plan.import.is_empty());
        // The two rows also look like each other; a taken canonical name is
        // not said twice as a look-alike.
        assert_eq!(
            reasons(&plan, 1),
            [
                r#"looks like flask id 2 "rnodern" (same skeleton "rnodern")"#.to_owned(),
                format!(
                    r#"looks like the name of user {holder} in the target database (same skeleton "rnodern") (imported from flask id 7)"#
                ),
            ]
        );
        assert_eq!(
            reasons(&plan, 2),
            [
                r#"looks like flask id 1 "Modern" (same skeleton "rnodern")"#.to_owned(),
                format!(
                    r#"canonical name "rnodern" is taken in the target database by user {holder} (imported from flask id 7)"#
                ),
            ]
        );
    }

    #[test]
    fn hash_reasons_never_quote_the_stored_value() {
        let plan = plan(
            vec![
                row(1, "grace", "hunter2hunter2"),
                row(
                    2,
                    "ivan",
                    &format!("scrypt:4194304:8:1$salt${}", "0".repeat(128)),
                ),
                row(3, "nat", "$argon2id$v=19$m=65536,t=3,p=4$c2FsdA$aGFzaA"),
                FlaskUser {
                    id: 4,
                    username: None,
                    password: None,
                },
            ],
            &FlaskImportState::default(),
            &hasher(),
            Utc::now(),
        );
        assert!(plan.import.is_empty());
        let all: Vec<String> = (1..=4).flat_map(|id| reasons(&plan, id)).collect();
        assert_eq!(
            all[0],
            "unsupported password hash: neither werkzeug scrypt/pbkdf2 nor scrypt PHC"
        );
        assert!(all[1].contains("exceed the verify limits"), "{}", all[1]);
        assert!(
            all[2].starts_with("unsupported password hash") && !all[2].contains("c2FsdA"),
            "{}",
            all[2]
        );
        assert_eq!(all[3..], ["no username", "no password hash"]);
        assert!(all.iter().all(|reason| !reason.contains("hunter2")));
    }
}
