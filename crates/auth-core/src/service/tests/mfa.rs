//! The second factor's rules over the memory store: confirmation, replay,
//! the step window, recovery codes, the `mfa_token`, the shared back-off,
//! and the code every sensitive change needs.

use std::sync::Arc;
use std::time::Duration;

use super::{PASSWORD, registered, service};
use crate::{
    AuthError, Authenticated, Authenticator, Client, Clock, EventKind, Keyring, LoginSuccess,
    ManualClock, MemoryStore, MfaChallenge, MfaPolicy, Password, RecoveryCode, TotpSecret,
    UserRepository, Username,
};

fn with_keys(auth: Authenticator<MemoryStore>) -> Authenticator<MemoryStore> {
    let ring = Keyring::parse(&Keyring::generate_line("k1").unwrap()).unwrap();
    auth.with_mfa_policy(MfaPolicy {
        keyring: Some(Arc::new(ring)),
        issuer: "Example".into(),
    })
}

/// alice, logged in, with TOTP confirmed: her session, key and codes.
async fn enrolled(
    auth: &Authenticator<MemoryStore>,
    clock: &ManualClock,
) -> (Authenticated, TotpSecret, Vec<RecoveryCode>) {
    registered(auth, "alice").await;
    let client = Client::default();
    let login = auth
        .login("alice", Password::new(PASSWORD), &client)
        .await
        .unwrap();
    let me = auth.authenticate(login.token.as_str()).await.unwrap();
    let setup = auth
        .start_totp_setup(&me, Password::new(PASSWORD), &client)
        .await
        .unwrap();
    assert!(
        setup.otpauth_uri.contains("Example"),
        "{}",
        setup.otpauth_uri
    );
    let codes = auth
        .confirm_totp(&me, &setup.secret.code_at(clock.now()), &client)
        .await
        .unwrap();
    // The confirming code's step is spent: move to the next one.
    clock.advance(Duration::from_secs(30));
    (me, setup.secret, codes)
}

async fn challenge(auth: &Authenticator<MemoryStore>) -> MfaChallenge {
    match auth
        .login("alice", Password::new(PASSWORD), &Client::default())
        .await
    {
        Err(AuthError::MfaRequired(challenge)) => challenge,
        other => panic!("expected mfa_required, got {other:?}"),
    }
}

async fn complete(
    auth: &Authenticator<MemoryStore>,
    challenge: &MfaChallenge,
    code: &str,
) -> Result<LoginSuccess, AuthError> {
    auth.login_mfa(challenge.token.as_str(), code, &Client::default())
        .await
}

#[tokio::test]
async fn setup_is_inactive_until_a_correct_code_confirms_it() {
    let clock = ManualClock::default();
    let auth = with_keys(service(MemoryStore::new(), &clock));
    registered(&auth, "alice").await;
    let client = Client::default();
    let login = auth
        .login("alice", Password::new(PASSWORD), &client)
        .await
        .unwrap();
    let me = auth.authenticate(login.token.as_str()).await.unwrap();
    let wrong = auth
        .start_totp_setup(&me, Password::new("wrong password"), &client)
        .await;
    assert!(
        matches!(wrong, Err(AuthError::InvalidCredentials)),
        "{wrong:?}"
    );
    let setup = auth
        .start_totp_setup(&me, Password::new(PASSWORD), &client)
        .await
        .unwrap();

    // Pending: login still starts a session, and a wrong code does not confirm.
    auth.login("alice", Password::new(PASSWORD), &client)
        .await
        .unwrap();
    let bad = auth.confirm_totp(&me, "000000", &client).await;
    assert!(
        matches!(bad, Err(AuthError::InvalidCode)) || setup.secret.code_at(clock.now()) == "000000"
    );
    let codes = auth
        .confirm_totp(&me, &setup.secret.code_at(clock.now()), &client)
        .await
        .unwrap();
    assert_eq!(codes.len(), 10);

    assert!(matches!(
        auth.login("alice", Password::new(PASSWORD), &client).await,
        Err(AuthError::MfaRequired(_))
    ));
    let again = auth
        .start_totp_setup(&me, Password::new(PASSWORD), &client)
        .await;
    assert!(
        matches!(again, Err(AuthError::MfaAlreadyEnabled)),
        "{again:?}"
    );
    let factors = auth.second_factors(me.user.id).await.unwrap();
    assert!(factors.totp);
    assert_eq!(factors.recovery_codes_left, 10);
    let kinds: Vec<_> = auth
        .events(me.user.id, 20)
        .await
        .unwrap()
        .iter()
        .map(|e| e.kind)
        .collect();
    assert!(kinds.contains(&EventKind::MfaEnabled), "{kinds:?}");
}

#[tokio::test]
async fn a_code_works_once_and_within_one_step_either_side() {
    let clock = ManualClock::default();
    let auth = with_keys(service(MemoryStore::new(), &clock));
    let (_, secret, _) = enrolled(&auth, &clock).await;

    let first = challenge(&auth).await;
    let code = secret.code_at(clock.now());
    let login = complete(&auth, &first, &code).await.unwrap();
    assert_eq!(login.user.username.as_str(), "alice");

    // The same code again, in the same step, on a new challenge: a replay.
    let second = challenge(&auth).await;
    let replay = complete(&auth, &second, &code).await;
    assert!(matches!(replay, Err(AuthError::InvalidCode)), "{replay:?}");

    // The next step's code is accepted now (a phone slightly ahead)...
    let ahead = secret.code_at(clock.now() + chrono::Duration::seconds(30));
    complete(&auth, &second, &ahead).await.unwrap();
    // ...and then the current step's code is older than the last used one.
    clock.advance(Duration::from_secs(90));
    let third = challenge(&auth).await;
    let behind = secret.code_at(clock.now() - chrono::Duration::seconds(30));
    complete(&auth, &third, &behind).await.unwrap();

    // Two steps away is refused either way.
    clock.advance(Duration::from_secs(120));
    let fourth = challenge(&auth).await;
    for offset in [-60, 60] {
        let far = secret.code_at(clock.now() + chrono::Duration::seconds(offset));
        if far != secret.code_at(clock.now())
            && far != secret.code_at(clock.now() + chrono::Duration::seconds(30))
        {
            let refused = complete(&auth, &fourth, &far).await;
            assert!(
                matches!(refused, Err(AuthError::InvalidCode)),
                "{offset}: {refused:?}"
            );
        }
    }
}

#[tokio::test]
async fn an_mfa_token_is_single_use_expires_and_dies_with_a_password_change() {
    let clock = ManualClock::default();
    let auth = with_keys(service(MemoryStore::new(), &clock));
    let (me, secret, codes) = enrolled(&auth, &clock).await;

    let used = challenge(&auth).await;
    complete(&auth, &used, &secret.code_at(clock.now()))
        .await
        .unwrap();
    let reused = complete(&auth, &used, codes[0].as_str()).await;
    assert!(matches!(reused, Err(AuthError::InvalidToken)), "{reused:?}");

    let expiring = challenge(&auth).await;
    clock.advance(Duration::from_secs(5 * 60));
    let late = complete(&auth, &expiring, codes[0].as_str()).await;
    assert!(matches!(late, Err(AuthError::InvalidToken)), "{late:?}");

    let pending = challenge(&auth).await;
    let new = Password::new("violet canyon ember 93");
    auth.change_password(
        &me,
        Password::new(PASSWORD),
        Some(codes[1].as_str()),
        new,
        &Client::default(),
    )
    .await
    .unwrap();
    let stale = complete(&auth, &pending, codes[2].as_str()).await;
    assert!(matches!(stale, Err(AuthError::InvalidToken)), "{stale:?}");

    let malformed = auth
        .login_mfa("not a token", "123456", &Client::default())
        .await;
    assert!(
        matches!(malformed, Err(AuthError::InvalidToken)),
        "{malformed:?}"
    );
}

#[tokio::test]
async fn a_recovery_code_works_once_and_regenerating_ends_the_old_ones() {
    let clock = ManualClock::default();
    let auth = with_keys(service(MemoryStore::new(), &clock));
    let (me, secret, codes) = enrolled(&auth, &clock).await;

    let first = challenge(&auth).await;
    complete(&auth, &first, &codes[0].as_str().to_uppercase())
        .await
        .unwrap();
    let second = challenge(&auth).await;
    let again = complete(&auth, &second, codes[0].as_str()).await;
    assert!(matches!(again, Err(AuthError::InvalidCode)), "{again:?}");
    assert_eq!(
        auth.second_factors(me.user.id)
            .await
            .unwrap()
            .recovery_codes_left,
        9
    );

    let fresh = auth
        .regenerate_recovery_codes(
            &me,
            Password::new(PASSWORD),
            &secret.code_at(clock.now()),
            &Client::default(),
        )
        .await
        .unwrap();
    let old = complete(&auth, &second, codes[1].as_str()).await;
    assert!(matches!(old, Err(AuthError::InvalidCode)), "{old:?}");
    complete(&auth, &second, fresh[0].as_str()).await.unwrap();
}

#[tokio::test]
async fn wrong_codes_spend_the_password_back_off() {
    let clock = ManualClock::default();
    let auth = with_keys(service(MemoryStore::new(), &clock));
    let (_, secret, _) = enrolled(&auth, &clock).await;

    // Each flow gets a fresh token but no fresh budget: after the free
    // failures, even the right code is refused until the back-off ends.
    let mut throttled = None;
    for _ in 0..20 {
        let flow = match auth
            .login("alice", Password::new(PASSWORD), &Client::default())
            .await
        {
            Err(AuthError::MfaRequired(challenge)) => challenge,
            Err(AuthError::Throttled { retry_after }) => {
                throttled = Some(retry_after);
                break;
            }
            other => panic!("{other:?}"),
        };
        match complete(&auth, &flow, "abcd-abcd-abcd-abcd").await {
            Err(AuthError::InvalidCode) => {}
            Err(AuthError::Throttled { retry_after }) => {
                throttled = Some(retry_after);
                break;
            }
            other => panic!("{other:?}"),
        }
    }
    assert!(
        throttled.is_some(),
        "wrong codes never reached the back-off"
    );
    let wrong_password = auth
        .login("alice", Password::new("wrong password"), &Client::default())
        .await;
    assert!(
        matches!(wrong_password, Err(AuthError::Throttled { .. })),
        "{wrong_password:?}"
    );
    let _ = secret;
}

#[tokio::test]
async fn sensitive_changes_and_removal_need_the_second_factor() {
    let clock = ManualClock::default();
    let auth = with_keys(service(MemoryStore::new(), &clock));
    let (me, secret, codes) = enrolled(&auth, &clock).await;
    let client = Client::default();
    let new = || Password::new("violet canyon ember 93");

    let missing = auth
        .change_password(&me, Password::new(PASSWORD), None, new(), &client)
        .await;
    assert!(
        matches!(missing, Err(AuthError::SecondFactorRequired)),
        "{missing:?}"
    );
    let wrong = auth
        .delete_account(&me, Password::new(PASSWORD), Some("000000"), &client)
        .await;
    assert!(
        matches!(wrong, Err(AuthError::InvalidCode)) || secret.code_at(clock.now()) == "000000",
        "{wrong:?}"
    );
    let email = crate::EmailAddress::parse("alice@example.com").unwrap();
    let no_code = auth
        .change_email(&me, email, Password::new(PASSWORD), None, &client)
        .await;
    assert!(
        matches!(no_code, Err(AuthError::SecondFactorRequired)),
        "{no_code:?}"
    );

    let no_disable = auth
        .disable_totp(&me, Password::new(PASSWORD), "", &client)
        .await;
    assert!(
        matches!(no_disable, Err(AuthError::InvalidCode)),
        "{no_disable:?}"
    );
    auth.disable_totp(&me, Password::new(PASSWORD), codes[0].as_str(), &client)
        .await
        .unwrap();
    assert!(!auth.second_factors(me.user.id).await.unwrap().totp);
    let off = auth
        .disable_totp(&me, Password::new(PASSWORD), codes[1].as_str(), &client)
        .await;
    assert!(matches!(off, Err(AuthError::MfaNotEnabled)), "{off:?}");
    // Off again: the password alone logs in and changes things.
    auth.login("alice", Password::new(PASSWORD), &client)
        .await
        .unwrap();
    auth.change_password(&me, Password::new(PASSWORD), None, new(), &client)
        .await
        .unwrap();
    let user = auth
        .store()
        .find_user_by_username(&Username::parse("alice").unwrap())
        .await
        .unwrap();
    assert!(user.is_some());
}

#[tokio::test]
async fn a_secret_sealed_under_an_old_key_still_opens_after_rotation() {
    let clock = ManualClock::default();
    let store = MemoryStore::new();
    let old = Keyring::generate_line("old").unwrap();
    let first = service(store.clone(), &clock).with_mfa_policy(MfaPolicy {
        keyring: Some(Arc::new(Keyring::parse(&old).unwrap())),
        issuer: "Example".into(),
    });
    let (_, secret, _) = enrolled(&first, &clock).await;
    let rotated = format!("{old}\n{}", Keyring::generate_line("new").unwrap());
    let second = service(store, &clock).with_mfa_policy(MfaPolicy {
        keyring: Some(Arc::new(Keyring::parse(&rotated).unwrap())),
        issuer: "Example".into(),
    });
    let flow = challenge(&second).await;
    complete(&second, &flow, &secret.code_at(clock.now()))
        .await
        .unwrap();
}
