//! `auth-server`: wiring only. Config, logs, database, migrations, serve,
//! graceful shutdown.

use std::sync::Arc;

use anyhow::Context as _;
use auth_api::config::{Cli, Command, Config};
use auth_api::cookie::CookieSettings;
use auth_api::{HttpSettings, build_app, telemetry};
use auth_core::{Authenticator, PasswordHasher, SessionCache, SystemClock};
use auth_store_sea::{SeaStore, StoreOptions};
use clap::Parser as _;
use poem::Server;
use poem::listener::TcpListener;

fn main() -> anyhow::Result<()> {
    let cli = Cli::parse();
    match cli.command.unwrap_or(Command::Serve) {
        Command::Openapi => {
            println!("{}", auth_api::openapi_json());
            Ok(())
        }
        Command::ImportFlask(args) => Ok(auth_api::admin::import_flask(&cli.config, &args)?),
        Command::User(command) => Ok(auth_api::admin::user(&cli.config, command)?),
        Command::Serve => {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .enable_all()
                .build()
                .context("starting the Tokio runtime")?;
            runtime.block_on(serve(cli.config))
        }
    }
}

async fn serve(config: Config) -> anyhow::Result<()> {
    telemetry::init(config.log_format, &config.log);
    let hash_config = config.hash_config()?;
    let session_policy = config.session_policy()?;
    let throttle_policy = config.throttle_policy()?;
    let cors_origins = config.cors_origins()?;

    let store = SeaStore::connect(
        &config.database_url,
        &StoreOptions {
            // 0 lets the store pick its backend's default.
            max_connections: config.database_max_connections()?,
            acquire_timeout: config.database_timeout,
            operation_timeout: config.database_timeout,
            connect_timeout: config.database_timeout,
            ..StoreOptions::default()
        },
    )
    .await
    .context("connecting to the database")?;
    if config.no_migrate {
        tracing::info!("migrations skipped (--no-migrate)");
    } else {
        store
            .migrate()
            .await
            .context("running database migrations")?;
    }

    let hasher = PasswordHasher::new(hash_config).context("configuring password hashing")?;
    let auth = Authenticator::new(store.clone(), hasher, Arc::new(SystemClock))
        .with_session_policy(session_policy)
        .with_throttle_policy(throttle_policy);
    // Several instances share a PostgreSQL store: a cached session is then
    // confirmed against the store on every use (one indexed read instead of
    // two), so another instance's logout counts at once; the NOTIFY feed
    // evicts entries early. One process owns a SQLite file, so its cache is
    // trusted as is.
    let cache = if store.has_revocation_feed() {
        SessionCache::validated(config.session_cache_capacity, config.session_cache_ttl)
    } else {
        SessionCache::new(config.session_cache_capacity, config.session_cache_ttl)
    };
    if cache.is_enabled() && store.has_revocation_feed() {
        cache.suspend();
        let feed = cache.clone();
        let follower = store.clone();
        tokio::spawn(async move {
            follower
                .follow_revocations(move |event| feed.apply(event))
                .await
        });
    }
    let auth = auth.with_session_cache(cache);
    let purge = tokio::spawn(purge_periodically(auth.clone(), config.purge_interval));
    let app = build_app(
        auth,
        HttpSettings {
            cookie: CookieSettings {
                secure: config.cookie_secure,
                max_age: session_policy.absolute_timeout,
            },
            max_body_bytes: config.max_body_bytes,
            trusted_proxies: config.trusted_proxies.clone(),
            cors_origins,
        },
    );

    let listener = TcpListener::bind(config.bind);
    tracing::info!(bind = %config.bind, backend = store.backend_name(), "auth-server listening");
    Server::new(listener)
        .run_with_graceful_shutdown(app, shutdown_signal(), Some(config.shutdown_timeout))
        .await
        .with_context(|| format!("serving on {}", config.bind))?;
    purge.abort();
    tracing::info!("stopped accepting; in-flight requests finished; closing the database pool");
    store.close().await;
    Ok(())
}

/// Deletes expired sessions and stale login failures every `interval`. Each
/// run is two indexed DELETEs; running it on every instance is harmless.
async fn purge_periodically<S: auth_core::Store>(
    auth: Authenticator<S>,
    interval: std::time::Duration,
) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        match auth.purge_expired().await {
            Ok(purged) => tracing::debug!(
                sessions = purged.sessions,
                login_failures = purged.login_failures,
                "purged expired records"
            ),
            Err(error) => {
                tracing::warn!(error = %auth_api::error::error_chain(&error), "purge failed")
            }
        }
    }
}

/// Resolves on SIGINT (Ctrl-C) or SIGTERM.
async fn shutdown_signal() {
    let interrupt = async {
        if let Err(error) = tokio::signal::ctrl_c().await {
            tracing::error!(%error, "cannot listen for SIGINT");
            std::future::pending::<()>().await;
        }
    };
    #[cfg(unix)]
    let terminate = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut signal) => {
                signal.recv().await;
            }
            Err(error) => {
                tracing::error!(%error, "cannot listen for SIGTERM");
                std::future::pending::<()>().await;
            }
        }
    };
    #[cfg(not(unix))]
    let terminate = std::future::pending::<()>();
    tokio::select! {
        () = interrupt => tracing::info!("SIGINT received, shutting down"),
        () = terminate => tracing::info!("SIGTERM received, shutting down"),
    }
}
