//! The revocation log's append hint on PostgreSQL (`LISTEN`/`NOTIFY`).
//!
//! Every append also notifies [`CHANNEL`] (in the statement that raises the
//! log's head), which PostgreSQL delivers when the appending transaction
//! commits. One listener per store
//! (and its clones), on a connection of its own opened on the first
//! [`auth_core::RevocationLog::append_signal`] call, raises the
//! [`AppendSignal`] that lease keepers wait on, so another instance's logout
//! is applied within a round trip instead of at the keeper's next poll.
//!
//! Only a hint. A notification lost (the listener's connection killed, the
//! database restarted) costs a writer up to one keeper poll, never a stale
//! answer: the keeper still polls, and a writer still waits until every
//! lease has applied its entry. Whenever the listener's connection is lost
//! or (re)established it raises the signal itself, since appends in between
//! went unheard.

use std::sync::Arc;
use std::time::Duration;

use auth_core::{AppendNotifier, AppendSignal};
use sea_orm::DbBackend;
use sea_orm::sqlx::postgres::{PgConnectOptions, PgListener, PgPoolOptions};

use crate::{Backend, SeaStore};

/// The channel every append notifies.
pub(crate) const CHANNEL: &str = "auth_revocation_log";

/// How long the listener waits before connecting again after a failure.
const RECONNECT_AFTER: Duration = Duration::from_secs(1);

/// The statement that raises the log's head by one and returns the new
/// position; on PostgreSQL it also notifies [`CHANNEL`] (delivered when the
/// appending transaction commits), in the same round trip.
pub(crate) fn raise_head(backend: DbBackend) -> String {
    let raise = "UPDATE revocation_log_head SET position = position + 1 WHERE id = 1 \
                 RETURNING position";
    match backend {
        DbBackend::Postgres => format!("{raise}, pg_notify('{CHANNEL}', '')"),
        _ => raise.to_owned(),
    }
}

impl SeaStore {
    /// The append hint, its listener started on the first call: PostgreSQL
    /// only, and only from within a Tokio runtime (which runs the listener).
    pub(crate) fn signal(&self) -> Option<AppendSignal> {
        if self.backend != Backend::Postgres {
            return None;
        }
        let runtime = tokio::runtime::Handle::try_current().ok()?;
        let signal = self.appends.get_or_init(|| {
            let (notifier, signal) = AppendSignal::channel();
            let options = self.db.get_postgres_connection_pool().connect_options();
            runtime.spawn(listen(options, notifier));
            signal
        });
        Some(signal.clone())
    }
}

/// Raises `notifier` for every notification on [`CHANNEL`] until nobody
/// listens to it any more (every store clone and keeper gone).
async fn listen(options: Arc<PgConnectOptions>, notifier: AppendNotifier) {
    // A pool of one of its own: the listener never takes a place of the
    // store's pool, and a dead connection is replaced by the listener.
    let pool = PgPoolOptions::new()
        .max_connections(1)
        .connect_lazy_with((*options).clone());
    loop {
        tokio::select! {
            failed = heard(&pool, &notifier) => {
                tracing::debug!(error = %failed, "revocation log listener lost its connection");
            }
            () = notifier.unheard() => break,
        }
        // Appends may have gone unheard: keepers read the log now.
        notifier.notify();
        tokio::select! {
            () = tokio::time::sleep(RECONNECT_AFTER) => {}
            () = notifier.unheard() => break,
        }
    }
    pool.close().await;
}

/// Listens until the connection fails; returns why.
async fn heard(pool: &sea_orm::sqlx::PgPool, notifier: &AppendNotifier) -> sea_orm::sqlx::Error {
    let mut listener = match PgListener::connect_with(pool).await {
        Ok(listener) => listener,
        Err(error) => return error,
    };
    if let Err(error) = listener.listen(CHANNEL).await {
        return error;
    }
    // Anything appended before LISTEN took effect was not heard.
    notifier.notify();
    loop {
        match listener.try_recv().await {
            Ok(Some(_)) => notifier.notify(),
            // The connection was lost and is being replaced (listening
            // again): what was appended meanwhile went unheard.
            Ok(None) => notifier.notify(),
            Err(error) => return error,
        }
    }
}
