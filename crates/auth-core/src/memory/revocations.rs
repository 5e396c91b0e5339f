//! The [`MemoryStore`]'s revocation log: entries appended under the same
//! lock as the changes they describe, so their order is the commit order.

use std::collections::HashMap;
use std::time::{Duration, Instant};

use chrono::{DateTime, Utc};

use crate::REVOCATION_LOG_RETENTION;

use super::{MemoryStore, State};
use crate::{
    AppendNotifier, AppendSignal, LeaseHolder, LogPosition, LoggedRevocation, MAX_CACHE_LEASE,
    Revocation, RevocationLog, Session, StoreError,
};

#[derive(Debug, Default)]
pub(super) struct Log {
    /// Oldest first, with when each was appended.
    entries: Vec<(LoggedRevocation, DateTime<Utc>)>,
    last: LogPosition,
    /// Cache leases: how far each holder had applied, and until when.
    leases: HashMap<LeaseHolder, (LogPosition, Instant)>,
    /// Raised on every append once a keeper asked for it.
    signal: Option<(AppendNotifier, AppendSignal)>,
}

impl State {
    /// Removes the sessions `doomed` picks and, if there were any, logs
    /// `revocation`; returns how many went.
    pub(super) fn revoke_where(
        &mut self,
        revocation: Revocation,
        doomed: impl Fn(&Session) -> bool,
    ) -> u64 {
        let before = self.sessions.len();
        self.sessions.retain(|_, session| !doomed(session));
        let removed = (before - self.sessions.len()) as u64;
        if removed > 0 {
            self.log(revocation);
        }
        removed
    }

    /// Appends `revocation` to the log (under the lock of the change it describes).
    pub(super) fn log(&mut self, revocation: Revocation) {
        let now = Utc::now();
        let log = &mut self.revocations;
        let oldest_kept = crate::period::before(now, REVOCATION_LOG_RETENTION);
        log.entries.retain(|(_, at)| *at >= oldest_kept);
        log.last = LogPosition::new(log.last.get() + 1);
        log.entries.push((
            LoggedRevocation {
                position: log.last,
                revocation,
            },
            now,
        ));
        // Seen once the lock (the "commit") is released.
        if let Some((notifier, _)) = &log.signal {
            notifier.notify();
        }
    }
}

impl RevocationLog for MemoryStore {
    async fn revocations_after(
        &self,
        after: LogPosition,
        limit: u32,
    ) -> Result<Vec<LoggedRevocation>, StoreError> {
        let state = self.state();
        Ok(state
            .revocations
            .entries
            .iter()
            .map(|(entry, _)| *entry)
            .filter(|entry| entry.position > after)
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .collect())
    }

    async fn last_position(&self) -> Result<LogPosition, StoreError> {
        Ok(self.state().revocations.last)
    }

    // Several caches in one process may share a memory store (tests, an
    // embedder's workers): the leases are checked under the lock that
    // appends, which makes the check and the grant atomic with them.
    fn grants_leases(&self) -> bool {
        true
    }

    async fn renew_lease(
        &self,
        holder: LeaseHolder,
        applied: LogPosition,
        length: Duration,
    ) -> Result<bool, StoreError> {
        let mut state = self.state();
        let log = &mut state.revocations;
        if applied < log.last {
            return Ok(false);
        }
        let now = Instant::now();
        log.leases
            .retain(|_, (_, until)| *until + REVOCATION_LOG_RETENTION > now);
        log.leases
            .insert(holder, (applied, now + length.min(MAX_CACHE_LEASE)));
        Ok(true)
    }

    async fn leases_behind(
        &self,
        position: LogPosition,
        other_than: Option<LeaseHolder>,
    ) -> Result<bool, StoreError> {
        let now = Instant::now();
        Ok(self
            .state()
            .revocations
            .leases
            .iter()
            .filter(|(holder, _)| Some(**holder) != other_than)
            .any(|(_, (applied, until))| *applied < position && *until > now))
    }

    async fn release_lease(&self, holder: LeaseHolder) -> Result<(), StoreError> {
        self.state().revocations.leases.remove(&holder);
        Ok(())
    }

    fn append_signal(&self) -> Option<AppendSignal> {
        let mut state = self.state();
        let (_, signal) = state
            .revocations
            .signal
            .get_or_insert_with(AppendSignal::channel);
        Some(signal.clone())
    }
}
