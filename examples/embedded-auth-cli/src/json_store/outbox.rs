//! [`MailOutbox`] for [`JsonFileStore`]: messages by id in the file, with
//! their lease. A claim reads, picks and leases in one rewrite under the
//! file's write locks, so two workers (in any processes) never claim one
//! message while its lease holds.

use std::time::Duration;

use auth_core::{MailId, MailOutbox, OutboxStats, QueuedMail, StoreError};
use chrono::{DateTime, Utc};

use super::contents::{StoredMail, mail_key};
use super::{JsonFileStore, JsonStoreError, Outcome};

impl JsonFileStore {
    /// Changes the waiting message `id` with `change`; `false` if there is
    /// no such waiting message (unknown, done or failed).
    async fn change_waiting_mail(
        &self,
        id: MailId,
        change: impl FnOnce(&mut StoredMail) + Send + 'static,
    ) -> Result<bool, StoreError> {
        let key = mail_key(id);
        self.update(move |contents| match contents.mail.get_mut(&key) {
            Some(stored) if stored.is_waiting() => {
                change(stored);
                Ok(Outcome::Changed(true))
            }
            _ => Ok(Outcome::Unchanged(false)),
        })
        .await
    }
}

impl MailOutbox for JsonFileStore {
    async fn enqueue_mail(&self, mail: &[QueuedMail]) -> Result<(), StoreError> {
        let mail: Vec<_> = mail.iter().map(StoredMail::from_domain).collect();
        self.update(move |contents| {
            if mail.is_empty() {
                return Ok(Outcome::Unchanged(()));
            }
            contents.mail.extend(mail);
            Ok(Outcome::Changed(()))
        })
        .await
    }

    async fn claim_mail(
        &self,
        now: DateTime<Utc>,
        lease: Duration,
        limit: u32,
    ) -> Result<Vec<QueuedMail>, StoreError> {
        let lease = chrono::Duration::from_std(lease).map_err(StoreError::unavailable)?;
        // The latest representable time rather than a panic.
        let until = now
            .checked_add_signed(lease)
            .unwrap_or(DateTime::<Utc>::MAX_UTC);
        let path = self.inner.path.clone();
        self.update(move |contents| {
            let mut due = Vec::new();
            for (key, stored) in &contents.mail {
                let free = stored.leased_until.is_none_or(|held| held <= now);
                if stored.is_waiting() && stored.next_attempt_at <= now && free {
                    // A message this version cannot read is reported, not
                    // skipped: it would otherwise wait forever, unnoticed.
                    let mail =
                        stored
                            .to_domain(key)
                            .map_err(|reason| JsonStoreError::CorruptMail {
                                path: path.clone(),
                                key: key.clone(),
                                reason,
                            })?;
                    due.push((key.clone(), mail));
                }
            }
            // Oldest due first; the id breaks ties, as in every store.
            due.sort_by_key(|(_, mail)| (mail.next_attempt_at, mail.id));
            due.truncate(usize::try_from(limit).unwrap_or(usize::MAX));
            let mut claimed = Vec::with_capacity(due.len());
            for (key, mut mail) in due {
                if let Some(stored) = contents.mail.get_mut(&key) {
                    stored.attempts = stored.attempts.saturating_add(1);
                    stored.leased_until = Some(until);
                    mail.attempts = stored.attempts;
                    claimed.push(mail);
                }
            }
            Ok(if claimed.is_empty() {
                Outcome::Unchanged(claimed)
            } else {
                Outcome::Changed(claimed)
            })
        })
        .await
    }

    async fn complete_mail(&self, id: MailId, now: DateTime<Utc>) -> Result<bool, StoreError> {
        self.change_waiting_mail(id, move |stored| stored.completed_at = Some(now))
            .await
    }

    async fn retry_mail(&self, id: MailId, at: DateTime<Utc>) -> Result<bool, StoreError> {
        self.change_waiting_mail(id, move |stored| {
            stored.leased_until = None;
            stored.next_attempt_at = at;
        })
        .await
    }

    async fn fail_mail(&self, id: MailId, now: DateTime<Utc>) -> Result<bool, StoreError> {
        self.change_waiting_mail(id, move |stored| stored.failed_at = Some(now))
            .await
    }

    async fn outbox_stats(&self) -> Result<OutboxStats, StoreError> {
        self.read(|contents| {
            let mut stats = OutboxStats::default();
            for stored in contents.mail.values() {
                if stored.is_waiting() {
                    stats.waiting += 1;
                    let queued = stored.created_at;
                    stats.oldest_waiting = Some(
                        stats
                            .oldest_waiting
                            .map_or(queued, |oldest| oldest.min(queued)),
                    );
                } else if stored.failed_at.is_some() {
                    stats.failed += 1;
                }
            }
            stats
        })
        .await
    }

    async fn purge_mail(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        self.update(move |contents| {
            let count = contents.mail.len();
            contents
                .mail
                .retain(|_, stored| match stored.completed_at.or(stored.failed_at) {
                    None => true,
                    Some(finished) => finished >= before,
                });
            Ok(Outcome::of_count(count - contents.mail.len()))
        })
        .await
    }
}
