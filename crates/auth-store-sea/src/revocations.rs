//! The revocation feed on PostgreSQL: each revocation sends a `NOTIFY` in the
//! transaction that deletes the rows, and every instance `LISTEN`s, so their
//! session caches drop a revoked session as soon as the delete commits.
//!
//! This is the only backend-specific SQL in the store. SQLite has no feed:
//! run one server process per SQLite file (or disable the session cache).

use std::time::Duration;

use auth_core::{CacheEvent, SessionId, UserId};
use sea_orm::sqlx::postgres::PgListener;
use sea_orm::{ConnectionTrait, DatabaseBackend, Statement};

use crate::{Backend, SeaStore};

/// The `LISTEN`/`NOTIFY` channel revocations are sent on.
pub const REVOCATION_CHANNEL: &str = "auth_session_revocations";

/// Longest pause between two reconnection attempts of the listener.
const MAX_RECONNECT_DELAY: Duration = Duration::from_secs(5);

/// What a revocation says, as sent over the channel.
pub(crate) enum Revoked {
    Session(SessionId),
    User(UserId),
}

impl Revoked {
    fn payload(&self) -> String {
        match self {
            Self::Session(id) => format!("s:{}", id.to_hex()),
            Self::User(id) => format!("u:{id}"),
        }
    }
}

/// Reads a payload back. Unknown payloads are ignored (`None`).
fn parse(payload: &str) -> Option<CacheEvent> {
    let (kind, value) = payload.split_once(':')?;
    match kind {
        "s" => SessionId::from_hex(value).map(CacheEvent::SessionRevoked),
        "u" => value
            .parse()
            .ok()
            .map(|uuid| CacheEvent::UserRevoked(UserId::from_uuid(uuid))),
        _ => None,
    }
}

/// Sends the notification inside `txn` (delivered only if it commits).
pub(crate) async fn notify<C: ConnectionTrait>(
    txn: &C,
    revoked: &Revoked,
) -> Result<(), sea_orm::DbErr> {
    txn.execute_raw(Statement::from_sql_and_values(
        DatabaseBackend::Postgres,
        "SELECT pg_notify($1, $2)",
        [REVOCATION_CHANNEL.into(), revoked.payload().into()],
    ))
    .await
    .map(|_| ())
}

impl SeaStore {
    /// Whether this store has a revocation feed (PostgreSQL).
    pub fn has_revocation_feed(&self) -> bool {
        self.backend == Backend::Postgres
    }

    /// Follows revocations made by every instance, forever, reporting them
    /// and the feed's state to `on_event` ([`CacheEvent::Listening`] once
    /// connected, [`CacheEvent::Lost`] when the connection drops, then
    /// `Listening` again after reconnecting). Returns at once without a feed.
    pub async fn follow_revocations(&self, on_event: impl Fn(CacheEvent) + Send + Sync + 'static) {
        if !self.has_revocation_feed() {
            return;
        }
        let pool = self.db.get_postgres_connection_pool().clone();
        let mut delay = Duration::from_millis(100);
        loop {
            match listen(&pool).await {
                Ok(mut listener) => {
                    on_event(CacheEvent::Listening);
                    delay = Duration::from_millis(100);
                    // `Ok(None)` or an error: the connection dropped, and
                    // notifications may have been missed.
                    while let Ok(Some(notification)) = listener.try_recv().await {
                        if let Some(event) = parse(notification.payload()) {
                            on_event(event);
                        }
                    }
                    tracing::warn!(
                        "revocation feed lost; session cache suspended until it reconnects"
                    );
                    on_event(CacheEvent::Lost);
                }
                Err(error) => {
                    tracing::warn!(error = %error, "revocation feed cannot connect; retrying");
                }
            }
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(MAX_RECONNECT_DELAY);
        }
    }
}

async fn listen(pool: &sea_orm::sqlx::PgPool) -> Result<PgListener, sea_orm::sqlx::Error> {
    let mut listener = PgListener::connect_with(pool).await?;
    listener.listen(REVOCATION_CHANNEL).await?;
    Ok(listener)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn payloads_round_trip() {
        let session = SessionId::from_bytes([0xab; 32]);
        let user = UserId::new();
        assert_eq!(
            parse(&Revoked::Session(session).payload()),
            Some(CacheEvent::SessionRevoked(session))
        );
        assert_eq!(
            parse(&Revoked::User(user).payload()),
            Some(CacheEvent::UserRevoked(user))
        );
    }

    #[test]
    fn unknown_or_malformed_payloads_are_ignored() {
        for payload in [
            "",
            "x:1",
            "s:zz",
            "s:",
            "u:not-a-uuid",
            &format!("s:{}", "é".repeat(32)),
        ] {
            assert_eq!(parse(payload), None, "{payload:?}");
        }
    }
}
