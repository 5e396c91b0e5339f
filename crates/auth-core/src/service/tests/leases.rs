//! Cache leases between instances over one store: hits served without a
//! log read while the lease holds, and writes that answer only once every
//! leased instance has applied them (or its lease has ended).

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::*;
use crate::{LeasePolicy, SessionCache};

fn leased(store: &MemoryStore, clock: &ManualClock) -> Authenticator<MemoryStore> {
    let cache = SessionCache::shared(100, Duration::from_secs(60), store.clone());
    Authenticator::new(store.clone(), hasher(4), Arc::new(clock.clone())).with_session_cache(cache)
}

/// Starts `auth`'s keeper (polling every 2 ms) and waits for its first grant.
async fn keep_lease(
    auth: &Authenticator<MemoryStore>,
    length: Duration,
) -> tokio::task::JoinHandle<()> {
    keep_lease_polling_every(auth, length, Duration::from_millis(2)).await
}

async fn logged_in(auth: &Authenticator<MemoryStore>) -> crate::LoginSuccess {
    auth.login("alice", Password::new(PASSWORD), &Client::default())
        .await
        .unwrap()
}

/// Logs `login` out through `there`; once that answered, `here` refuses it.
async fn logged_out_there_refused_here(
    here: &Authenticator<MemoryStore>,
    there: &Authenticator<MemoryStore>,
    login: &crate::LoginSuccess,
    round: usize,
) {
    there
        .logout(login.token.as_str(), &Client::default())
        .await
        .unwrap();
    assert!(
        matches!(
            here.authenticate(login.token.as_str()).await,
            Err(AuthError::NotAuthenticated)
        ),
        "round {round}: served here after the logout answered there"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_leased_cache_serves_hits_without_reading_the_log() {
    let (store, clock) = (MemoryStore::new(), ManualClock::default());
    let here = leased(&store, &clock);
    registered(&here, "alice").await;
    let login = logged_in(&here).await;
    let _keeper = keep_lease(&here, Duration::from_secs(2)).await;
    here.authenticate(login.token.as_str()).await.unwrap();

    let before = here.session_cache().confirmation_rounds();
    let started = Instant::now();
    for _ in 0..500 {
        here.authenticate(login.token.as_str()).await.unwrap();
    }
    let rounds = here.session_cache().confirmation_rounds() - before;
    // Without the lease each of these sequential hits waits for a round of
    // its own (500); with it only the keeper reads, every 2 ms.
    let keeper_rounds = started.elapsed().as_millis() / 2 + 2;
    assert!(
        u128::from(rounds) <= keeper_rounds,
        "{rounds} rounds for 500 hits in {:?}",
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_write_answers_only_once_every_leased_instance_has_applied_it() {
    let (store, clock) = (MemoryStore::new(), ManualClock::default());
    let (here, there) = (leased(&store, &clock), leased(&store, &clock));
    registered(&here, "alice").await;
    let _keepers = (
        keep_lease(&here, Duration::from_secs(2)).await,
        keep_lease(&there, Duration::from_secs(2)).await,
    );
    for round in 0..30 {
        let login = logged_in(&there).await;
        let user = login.user.id;
        // The login answered: its session is listed here at once, from a
        // list kept before it.
        let me = here.authenticate(login.token.as_str()).await.unwrap();
        let listed = here.my_sessions(&me).await.unwrap();
        assert!(
            listed.iter().any(|s| s.id == login.session.id),
            "round {round}"
        );
        assert!(here.session_cache().is_leased());

        logged_out_there_refused_here(&here, &there, &login, round).await;
        assert!(
            here.list_sessions(user)
                .await
                .unwrap()
                .iter()
                .all(|s| s.id != login.session.id)
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_instance_that_stops_renewing_holds_writes_back_only_until_its_lease_ends() {
    let (store, clock) = (MemoryStore::new(), ManualClock::default());
    let (here, there) = (leased(&store, &clock), leased(&store, &clock));
    registered(&here, "alice").await;
    let login = logged_in(&there).await;
    let keeper = keep_lease(&here, Duration::from_millis(400)).await;
    here.authenticate(login.token.as_str()).await.unwrap();
    // The keeper stops (a stalled process, a lost connection): nothing here
    // applies the log any more, and its lease still holds for a while.
    keeper.abort();
    let _ = keeper.await;
    assert!(here.session_cache().is_leased());

    let started = Instant::now();
    there
        .logout(login.token.as_str(), &Client::default())
        .await
        .unwrap();
    let waited = started.elapsed();
    assert!(
        !here.session_cache().is_leased(),
        "the logout answered after {waited:?}, while this instance still trusted its lease"
    );
    assert!(
        waited < crate::MAX_CACHE_LEASE,
        "bounded by the lease: {waited:?}"
    );
    // Without its lease every hit waits for a log read: the logout counts.
    assert!(matches!(
        here.authenticate(login.token.as_str()).await,
        Err(AuthError::NotAuthenticated)
    ));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_released_lease_holds_no_write_back() {
    let (store, clock) = (MemoryStore::new(), ManualClock::default());
    let (here, there) = (leased(&store, &clock), leased(&store, &clock));
    registered(&here, "alice").await;
    let login = logged_in(&there).await;
    let keeper = keep_lease(&here, Duration::from_secs(5)).await;
    keeper.abort();
    let _ = keeper.await;
    // A process shutting down gives its lease up.
    here.session_cache().release_lease().await;
    assert!(!here.session_cache().is_leased());

    let started = Instant::now();
    there
        .logout(login.token.as_str(), &Client::default())
        .await
        .unwrap();
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "waited {:?} for a released lease of 5 s",
        started.elapsed()
    );
}

/// Starts `auth`'s keeper polling every `poll` (with or without the
/// store's signal) and waits for its first grant.
async fn keep_lease_polling_every(
    auth: &Authenticator<MemoryStore>,
    length: Duration,
    poll: Duration,
) -> tokio::task::JoinHandle<()> {
    let keeper = auth
        .session_cache()
        .lease_keeper(LeasePolicy {
            length,
            poll,
            signalled_poll: poll,
        })
        .unwrap();
    let task = tokio::spawn(keeper.run());
    while !auth.session_cache().is_leased() {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    task
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_stores_append_signal_wakes_a_keeper_before_its_poll() {
    let (store, clock) = (MemoryStore::new(), ManualClock::default());
    let (here, there) = (leased(&store, &clock), leased(&store, &clock));
    registered(&here, "alice").await;
    let login = logged_in(&there).await;
    let (length, poll) = (Duration::from_secs(4), Duration::from_secs(60));
    let _keeper = keep_lease_polling_every(&here, length, poll).await;
    here.authenticate(login.token.as_str()).await.unwrap();

    let started = Instant::now();
    there
        .logout(login.token.as_str(), &Client::default())
        .await
        .unwrap();
    // Without the signal the logout would wait for here's lease to run out
    // (about 3.6 s): its keeper sleeps for a minute between polls.
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "{:?}",
        started.elapsed()
    );
    assert!(
        here.session_cache().is_leased(),
        "renewed at the new position"
    );
    assert!(matches!(
        here.authenticate(login.token.as_str()).await,
        Err(AuthError::NotAuthenticated)
    ));
}

/// The memory store's log, with an append signal that never comes: a
/// notification channel that dropped.
#[derive(Clone)]
struct Deaf(MemoryStore);

impl crate::RevocationLog for Deaf {
    async fn revocations_after(
        &self,
        after: crate::LogPosition,
        limit: u32,
    ) -> Result<Vec<crate::LoggedRevocation>, crate::StoreError> {
        self.0.revocations_after(after, limit).await
    }

    async fn last_position(&self) -> Result<crate::LogPosition, crate::StoreError> {
        self.0.last_position().await
    }

    fn grants_leases(&self) -> bool {
        true
    }

    async fn renew_lease(
        &self,
        holder: crate::LeaseHolder,
        applied: crate::LogPosition,
        length: Duration,
    ) -> Result<bool, crate::StoreError> {
        self.0.renew_lease(holder, applied, length).await
    }

    async fn leases_behind(
        &self,
        position: crate::LogPosition,
        other_than: Option<crate::LeaseHolder>,
    ) -> Result<bool, crate::StoreError> {
        self.0.leases_behind(position, other_than).await
    }

    async fn release_lease(&self, holder: crate::LeaseHolder) -> Result<(), crate::StoreError> {
        self.0.release_lease(holder).await
    }

    fn append_signal(&self) -> Option<crate::AppendSignal> {
        let (notifier, signal) = crate::AppendSignal::channel();
        drop(notifier);
        Some(signal)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_dropped_signal_costs_writers_a_poll_never_a_stale_answer() {
    use crate::RevocationLog as _;
    let (store, clock) = (MemoryStore::new(), ManualClock::default());
    let deaf = SessionCache::shared(100, Duration::from_secs(60), Deaf(store.clone()));
    let here = Authenticator::new(store.clone(), hasher(4), Arc::new(clock.clone()))
        .with_session_cache(deaf);
    let there = leased(&store, &clock);
    registered(&here, "alice").await;
    let keeper = here
        .session_cache()
        .lease_keeper(LeasePolicy {
            length: Duration::from_secs(2),
            poll: Duration::from_secs(60),
            signalled_poll: Duration::from_millis(20),
        })
        .unwrap();
    let _keeper = tokio::spawn(keeper.run());
    while !here.session_cache().is_leased() {
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
    assert!(Deaf(store.clone()).append_signal().is_some());
    for round in 0..10 {
        let login = logged_in(&there).await;
        here.authenticate(login.token.as_str()).await.unwrap();
        logged_out_there_refused_here(&here, &there, &login, round).await;
        assert!(
            here.session_cache().is_leased(),
            "round {round}: the polls renew it"
        );
    }
}
