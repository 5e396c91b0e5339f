//! The [`MemoryStore`]'s outbox: messages by id with their lease, under the
//! store's lock, so a claim is one step.

use std::collections::HashMap;
use std::time::Duration;

use chrono::{DateTime, Utc};

use super::MemoryStore;
use crate::{MailId, MailOutbox, OutboxStats, QueuedMail, StoreError, UserId};

#[derive(Debug, Default)]
pub(super) struct Outbox {
    mail: HashMap<MailId, Stored>,
}

#[derive(Debug)]
struct Stored {
    mail: QueuedMail,
    leased_until: Option<DateTime<Utc>>,
    state: State,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum State {
    Waiting,
    Done(DateTime<Utc>),
    Failed(DateTime<Utc>),
}

impl Outbox {
    pub(super) fn enqueue(&mut self, mail: &[QueuedMail]) {
        for message in mail {
            self.mail.insert(
                message.id,
                Stored {
                    mail: message.clone(),
                    leased_until: None,
                    state: State::Waiting,
                },
            );
        }
    }

    /// Forgets every message about `user` (the account is being deleted).
    pub(super) fn remove_user(&mut self, user: UserId) {
        self.mail.retain(|_, stored| stored.mail.user_id != user);
    }

    fn waiting(&mut self, id: MailId) -> Option<&mut Stored> {
        self.mail
            .get_mut(&id)
            .filter(|stored| stored.state == State::Waiting)
    }
}

impl MailOutbox for MemoryStore {
    async fn enqueue_mail(&self, mail: &[QueuedMail]) -> Result<(), StoreError> {
        self.state().outbox.enqueue(mail);
        Ok(())
    }

    async fn claim_mail(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<QueuedMail>, StoreError> {
        let lease = chrono::Duration::from_std(lease).map_err(StoreError::unavailable)?;
        let mut state = self.state();
        let mut due: Vec<&mut Stored> = state
            .outbox
            .mail
            .values_mut()
            .filter(|stored| {
                stored.state == State::Waiting
                    && stored.mail.next_attempt_at <= now
                    && stored.leased_until.is_none_or(|until| until <= now)
            })
            .collect();
        due.sort_by_key(|stored| (stored.mail.next_attempt_at, stored.mail.id));
        Ok(due
            .into_iter()
            .take(usize::try_from(limit).unwrap_or(usize::MAX))
            .map(|stored| {
                stored.mail.attempts = stored.mail.attempts.saturating_add(1);
                stored.leased_until = Some(now + lease);
                stored.mail.clone()
            })
            .collect())
    }

    async fn complete_mail(&self, id: MailId, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let mut state = self.state();
        Ok(state
            .outbox
            .waiting(id)
            .map(|stored| stored.state = State::Done(now))
            .is_some())
    }

    async fn retry_mail(&self, id: MailId, at: DateTime<Utc>) -> Result<bool, StoreError> {
        let mut state = self.state();
        Ok(state
            .outbox
            .waiting(id)
            .map(|stored| {
                stored.leased_until = None;
                stored.mail.next_attempt_at = at;
            })
            .is_some())
    }

    async fn fail_mail(&self, id: MailId, now: DateTime<Utc>) -> Result<bool, StoreError> {
        let mut state = self.state();
        Ok(state
            .outbox
            .waiting(id)
            .map(|stored| stored.state = State::Failed(now))
            .is_some())
    }

    async fn outbox_stats(&self) -> Result<OutboxStats, StoreError> {
        let state = self.state();
        let mut stats = OutboxStats::default();
        for stored in state.outbox.mail.values() {
            match stored.state {
                State::Waiting => {
                    stats.waiting += 1;
                    let queued = stored.mail.created_at;
                    stats.oldest_waiting = Some(
                        stats
                            .oldest_waiting
                            .map_or(queued, |oldest| oldest.min(queued)),
                    );
                }
                State::Failed(_) => stats.failed += 1,
                State::Done(_) => {}
            }
        }
        Ok(stats)
    }

    async fn purge_mail(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        let mut state = self.state();
        let was = state.outbox.mail.len();
        state.outbox.mail.retain(|_, stored| match stored.state {
            State::Waiting => true,
            State::Done(at) | State::Failed(at) => at >= before,
        });
        Ok((was - state.outbox.mail.len()) as u64)
    }
}
