//! The decision for every Flask row, made before anything is written: a
//! pure function of the rows, the target's state and `now`.

use std::collections::{BTreeMap, HashMap};

use auth_core::{HashError, HashKind, PasswordHash, PasswordHasher, User, UserId, Username};
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
    struct Candidate {
        row: FlaskUser,
        name: Option<Username>,
        reasons: Vec<ConflictReason>,
    }
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
            Some(Ok(name)) => Some(name),
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

    // Every name that parses counts in its canonical group, whatever else
    // is wrong with its row: importing one member would pick a winner.
    let mut groups: HashMap<&str, Vec<usize>> = HashMap::new();
    for (index, candidate) in candidates.iter().enumerate() {
        if let Some(name) = &candidate.name {
            groups.entry(name.canonical()).or_default().push(index);
        }
    }
    let mut duplicates: BTreeMap<usize, ConflictReason> = BTreeMap::new();
    for (canonical, members) in &groups {
        if members.len() < 2 {
            continue;
        }
        for &member in members {
            let others = members
                .iter()
                .filter(|&&other| other != member)
                .map(|&other| {
                    let row = &candidates[other].row;
                    (row.id, row.username.clone().unwrap_or_default())
                })
                .collect();
            duplicates.insert(
                member,
                ConflictReason::DuplicateCanonical {
                    canonical: (*canonical).to_owned(),
                    others,
                },
            );
        }
    }

    for (index, mut candidate) in candidates.into_iter().enumerate() {
        if let Some(duplicate) = duplicates.remove(&index) {
            candidate.reasons.push(duplicate);
        }
        if let Some(name) = &candidate.name
            && let Some(existing) = state.by_canonical.get(name.canonical())
        {
            candidate.reasons.push(ConflictReason::NameTaken {
                canonical: name.canonical().to_owned(),
                by: Some(existing.id),
                by_flask_id: existing.flask_id,
            });
        }
        match (candidate.name, candidate.row.password) {
            (Some(username), Some(hash)) if candidate.reasons.is_empty() => {
                plan.import.push(FlaskImport {
                    flask_id: candidate.row.id,
                    user: User {
                        id: UserId::new(),
                        username,
                        password_hash: PasswordHash::from_stored(hash),
                        created_at: now,
                        updated_at: now,
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
