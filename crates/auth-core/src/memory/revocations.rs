//! The [`MemoryStore`]'s revocation log: entries appended under the same
//! lock as the changes they describe, so their order is the commit order.

use chrono::{DateTime, Utc};

use crate::REVOCATION_LOG_RETENTION;

use super::{MemoryStore, State};
use crate::{LogPosition, LoggedRevocation, Revocation, RevocationLog, Session, StoreError};

#[derive(Debug, Default)]
pub(super) struct Log {
    /// Oldest first, with when each was appended.
    entries: Vec<(LoggedRevocation, DateTime<Utc>)>,
    last: LogPosition,
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
}
