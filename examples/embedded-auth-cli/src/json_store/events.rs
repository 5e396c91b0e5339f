//! [`EventStore`] for [`JsonFileStore`]: a list in the file, appended under
//! its write locks.

use auth_core::{EventStore, SecurityEvent, StoreError, UserId};
use chrono::{DateTime, Utc};

use super::contents::StoredEvent;
use super::{JsonFileStore, Outcome};

impl EventStore for JsonFileStore {
    async fn append_event(&self, event: &SecurityEvent) -> Result<(), StoreError> {
        let stored = StoredEvent::from_domain(event);
        self.update(move |contents| {
            contents.events.push(stored);
            Ok(Outcome::Changed(()))
        })
        .await
    }

    async fn user_events(
        &self,
        user_id: UserId,
        limit: u32,
    ) -> Result<Vec<SecurityEvent>, StoreError> {
        let user_id = *user_id.as_uuid();
        self.read(move |contents| {
            let mut theirs: Vec<(usize, StoredEvent)> = contents
                .events
                .into_iter()
                .enumerate()
                .filter(|(_, event)| event.user_id == Some(user_id))
                .collect();
            // Newest first; of equal times, the later appended first.
            theirs.sort_by(|(i, a), (j, b)| (b.at, j).cmp(&(a.at, i)));
            theirs
                .into_iter()
                .filter_map(|(_, event)| event.into_domain())
                .take(usize::try_from(limit).unwrap_or(usize::MAX))
                .collect()
        })
        .await
    }

    async fn purge_events(&self, before: DateTime<Utc>) -> Result<u64, StoreError> {
        self.update(move |contents| {
            let count = contents.events.len();
            contents.events.retain(|event| event.at >= before);
            Ok(Outcome::of_count(count - contents.events.len()))
        })
        .await
    }
}
