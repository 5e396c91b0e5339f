//! The composition root: the one place that turns a [`Config`] into running
//! parts. `main.rs` (the server), every admin subcommand and the API tests
//! build through it, so a flag means the same thing everywhere and nothing
//! is wired twice.
//!
//! - [`Root::new`] applies the rules that combine flags (scrypt parameters,
//!   CORS origins, the pool size on PostgreSQL) before anything connects.
//! - [`Root::store`] connects (and migrates, unless `--no-migrate`);
//!   [`Root::authenticator`] adds hashing, the policies and the session cache.
//! - [`Root::start`] does both and adds what only a server needs: the
//!   revocation feed, the purge task and the HTTP endpoint, as an [`App`].

use std::sync::Arc;
use std::time::Duration;

use auth_core::{
    Authenticator, Clock, DevicePolicy, HashConfig, HashConfigError, HashError, LeasePolicy,
    MfaPolicy, OutboxPolicy, PasswordHasher, RateLimit, RecoveryPolicy, RegisterLimits,
    ScryptParams, SessionCache, SessionPolicy, StoreError, SystemClock, ThrottlePolicy,
};
use auth_store_sea::{Backend, SeaStore, StoreOptions};

/// How much longer than the hash-queue timeout a login's reserved place is
/// held if the login never gives it back: enough for the hash itself (a
/// second at the default cost; verify work is bounded to 8×).
const RESERVATION_MARGIN: Duration = Duration::from_secs(15);
use poem::endpoint::BoxEndpoint;
use poem::{EndpointExt as _, Response};

use crate::config::Config;
use crate::cookie::CookieSettings;
use crate::cors::CorsOrigins;
use crate::mail::{DirectoryMailer, MailStats, Mailer, SmtpMailer, TemplateComposer};
use crate::server::ConnectionLimits;
use crate::{HttpSettings, build_app};

/// Why the service could not be built. [`StartError::is_usage`] tells a
/// bad flag (exit code 2, like a flag that does not parse) from a failure.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// A flag's value, or a combination of flags, cannot work.
    #[error("{flag}: {reason}")]
    Config {
        /// The flag at fault, as typed on the command line.
        flag: &'static str,
        /// What is wrong with it.
        reason: String,
    },
    /// The database did not answer.
    #[error("cannot connect to the database of --database-url")]
    Connect(#[source] StoreError),
    /// A migration failed.
    #[error("running database migrations")]
    Migrate(#[source] StoreError),
    /// The hashing threads could not be started.
    #[error("starting the password hashing threads")]
    Hashing(#[source] HashError),
}

impl StartError {
    /// A configuration mistake rather than a failure at run time.
    pub fn is_usage(&self) -> bool {
        matches!(self, Self::Config { .. })
    }

    fn config(flag: &'static str, reason: impl std::fmt::Display) -> Self {
        Self::Config {
            flag,
            reason: reason.to_string(),
        }
    }
}

/// The flag behind a hashing setting `HashConfig` refused.
fn hash_flag(error: &HashConfigError) -> &'static str {
    match error {
        HashConfigError::ScryptOutOfRange { .. } | HashConfigError::ScryptRejected { .. } => {
            "--scrypt-log-n/--scrypt-r/--scrypt-p"
        }
        HashConfigError::TooWeak { .. } => {
            "--scrypt-log-n/--scrypt-r/--scrypt-p (or --insecure-allow-weak-hashing)"
        }
        HashConfigError::ZeroConcurrency => "--hash-concurrency",
        HashConfigError::NiceOutOfRange { .. } => "--hash-thread-nice",
    }
}

/// The configuration with its cross-flag rules applied, and the clock.
#[derive(Debug, Clone)]
pub struct Root {
    config: Config,
    backend: Backend,
    hash: HashConfig,
    session_policy: SessionPolicy,
    throttle_policy: ThrottlePolicy,
    device_policy: DevicePolicy,
    register_limits: RegisterLimits,
    recovery_policy: RecoveryPolicy,
    outbox_policy: OutboxPolicy,
    public_url: url::Url,
    /// The passkeys' relying party, from `--public-url` (its host is the
    /// RP ID, its origin the one accepted). `Err` for a URL passkeys cannot
    /// use (an IP address, `http` other than localhost, a path): only
    /// serving needs it, so only [`Root::start`] refuses it, and the admin
    /// commands still run.
    relying_party: Result<auth_core::RelyingParty, auth_core::RelyingPartyError>,
    /// `Err` on PostgreSQL without `--secret-key-file`: only serving needs
    /// the keys (the admin commands never open a secret), so only
    /// [`Root::start`] refuses it.
    key_file: Result<Option<std::path::PathBuf>, ()>,
    cors_origins: CorsOrigins,
    clock: Arc<dyn Clock>,
}

impl Root {
    /// Checks what the flags say together; connects to nothing.
    ///
    /// # Errors
    /// [`StartError::Config`] naming the flag at fault.
    pub fn new(config: Config) -> Result<Self, StartError> {
        let backend = Backend::of_url(&config.database_url)
            .map_err(|error| StartError::config("--database-url", error))?;
        if config.admin_bind == Some(config.bind) {
            return Err(StartError::config(
                "--admin-bind",
                "must differ from --bind: the admin API is never served on the public listener",
            ));
        }
        if backend == Backend::Postgres && config.database_max_connections == Some(1) {
            return Err(StartError::config(
                "--database-max-connections",
                "must be at least 2 on PostgreSQL: the revocation feed holds one connection",
            ));
        }
        let params = ScryptParams::new(config.scrypt_log_n, config.scrypt_r, config.scrypt_p)
            .and_then(|params| {
                if config.insecure_allow_weak_hashing {
                    Ok(params)
                } else {
                    params.require_strong()
                }
            })
            .map_err(|error| StartError::config(hash_flag(&error), error))?;
        let hash = HashConfig::new(
            params,
            config
                .hash_concurrency
                .map_or(HashConfig::default().max_concurrent, |n| n.get()),
            config.hash_queue,
            config.hash_thread_nice,
        )
        .map_err(|error| StartError::config(hash_flag(&error), error))?
        .with_queue_timeout(config.hash_queue_timeout.get());
        let cors_origins = CorsOrigins::parse(&config.cors_allowed_origins)
            .map_err(|error| StartError::config("--cors-allowed-origins", error))?;
        let public_url = url::Url::parse(&config.mail.public_url)
            .ok()
            .filter(|url| matches!(url.scheme(), "http" | "https") && url.has_host())
            .ok_or_else(|| {
                StartError::config("--public-url", "must be an http:// or https:// URL")
            })?;
        let relying_party =
            auth_core::RelyingParty::named(&config.mail.public_url, &config.keys.totp_issuer);
        // More attempts of one account in flight than hashing threads would only queue.
        let in_flight = u32::try_from(hash.max_concurrent).unwrap_or(u32::MAX);
        let key_file = crate::keys::key_file(
            config.keys.secret_key_file.as_deref(),
            backend,
            &config.database_url,
        )
        .map_err(drop);
        Ok(Self {
            key_file,
            backend,
            hash,
            session_policy: SessionPolicy::new(
                config.session_idle_timeout,
                config.session_absolute_timeout,
            )
            .with_max_sessions_per_user(config.max_sessions_per_user),
            throttle_policy: ThrottlePolicy {
                account_max_failures: config.login_account_max_failures.get(),
                in_flight,
                // Longer than any attempt can take: its wait in the queue and its hash.
                reservation_ttl: config.hash_queue_timeout.get() + RESERVATION_MARGIN,
                ..ThrottlePolicy::new(
                    config.login_free_failures,
                    config.login_max_delay,
                    config.login_ip_max_failures,
                    config.login_ip_window,
                )
            },
            device_policy: DevicePolicy {
                lifetime: config.device_cookie_lifetime.get(),
                attempts: RateLimit::new(
                    config.login_device_max_attempts,
                    config.login_device_window,
                ),
            },
            register_limits: RegisterLimits {
                per_address: RateLimit::new(config.register_ip_max, config.register_ip_window),
                global: RateLimit::new(config.register_max, config.register_window),
            },
            recovery_policy: config.mail.recovery_policy(),
            outbox_policy: config.mail.outbox_policy(),
            public_url,
            relying_party,
            cors_origins,
            clock: Arc::new(SystemClock),
            config,
        })
    }

    /// Replaces the wall clock (tests pass a `ManualClock`).
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The flags this root was built from.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Opens the database of `--database-url`, migrated when `migrate` is
    /// set and `--no-migrate` is not.
    ///
    /// # Errors
    /// [`StartError::Connect`], [`StartError::Migrate`].
    pub async fn store(&self, migrate: bool) -> Result<SeaStore, StartError> {
        let timeout = self.config.database_timeout.get();
        let store = SeaStore::connect(
            &self.config.database_url,
            &StoreOptions {
                // 0 lets the store pick its backend's default.
                max_connections: self.config.database_max_connections.unwrap_or(0),
                acquire_timeout: timeout,
                operation_timeout: timeout,
                connect_timeout: timeout,
                ..StoreOptions::default()
            },
        )
        .await
        .map_err(StartError::Connect)?;
        if !migrate {
            return Ok(store);
        }
        if self.config.no_migrate {
            tracing::info!("migrations skipped (--no-migrate)");
        } else {
            store.migrate().await.map_err(StartError::Migrate)?;
        }
        Ok(store)
    }

    /// Password hashing at the configured cost (what the import needs
    /// without the rest of the use cases).
    ///
    /// # Errors
    /// [`StartError::Hashing`].
    pub fn hasher(&self) -> Result<PasswordHasher, StartError> {
        PasswordHasher::new(self.hash.clone()).map_err(StartError::Hashing)
    }

    /// The use cases over `store`: hashing at the configured cost, the
    /// session and back-off policies, the session cache, and the keys that
    /// seal TOTP secrets (`--secret-key-file`, read or on SQLite created).
    ///
    /// The cache strategy is correctness logic. Several instances share a
    /// PostgreSQL store, so a cached session is served only after a read of
    /// the store's revocation log that started after the request arrived
    /// (one read for every request waiting then), and another instance's
    /// logout counts at once. One process owns a SQLite file, so its cache
    /// is trusted as is.
    ///
    /// # Errors
    /// [`StartError::Hashing`].
    pub fn authenticator(&self, store: SeaStore) -> Result<Authenticator<SeaStore>, StartError> {
        let hasher = self.hasher()?;
        let capacity = self.config.session_cache_capacity;
        let ttl = self.config.session_cache_ttl.get();
        let cache = if store.is_shared() {
            SessionCache::shared(capacity, ttl, store.clone())
        } else {
            SessionCache::new(capacity, ttl)
        };
        let keyring = match &self.key_file {
            Ok(file) => Some(Arc::new(
                crate::keys::load(file.as_deref(), self.backend)
                    .map_err(|error| StartError::config("--secret-key-file", error))?,
            )),
            Err(()) => None,
        };
        let mfa = MfaPolicy {
            keyring,
            issuer: self.config.keys.totp_issuer.clone(),
        };
        let auth = Authenticator::new(store, hasher, self.clock.clone());
        let auth = match &self.relying_party {
            Ok(relying_party) => auth.with_relying_party(relying_party.clone()),
            Err(_) => auth,
        };
        Ok(auth
            .with_mfa_policy(mfa)
            .with_session_policy(self.session_policy)
            .with_throttle_policy(self.throttle_policy)
            .with_device_policy(self.device_policy)
            .with_register_limits(self.register_limits)
            .with_recovery_policy(self.recovery_policy)
            .with_outbox_policy(self.outbox_policy)
            .with_event_retention(self.config.event_retention)
            .with_audit_sink(Arc::new(crate::telemetry::audit_event))
            .with_session_cache(cache))
    }

    /// The mail transport: SMTP when `--smtp-url` is given, else a
    /// directory of `.eml` files (`--mail-dir`).
    ///
    /// # Errors
    /// [`StartError::Config`] naming the flag at fault.
    pub fn mailer(&self) -> Result<Mailer, StartError> {
        let mail = &self.config.mail;
        match &mail.smtp_url {
            Some(url) => SmtpMailer::new(url, &mail.mail_from, mail.smtp_timeout.get())
                .map(Mailer::Smtp)
                .map_err(|error| StartError::config("--smtp-url/--mail-from", error)),
            None => {
                let mailer = DirectoryMailer::new(mail.mail_dir.clone(), &mail.mail_from)
                    .map_err(|error| StartError::config("--mail-dir/--mail-from", error))?;
                tracing::info!(
                    dir = %mailer.dir().display(),
                    "no --smtp-url: mail is written to files"
                );
                Ok(Mailer::Directory(mailer))
            }
        }
    }

    /// The templates of every message, links from `--public-url`.
    ///
    /// # Errors
    /// [`StartError::Config`] when a template of `--mail-templates` fails.
    pub fn composer(&self) -> Result<TemplateComposer, StartError> {
        let mail = &self.config.mail;
        TemplateComposer::new(
            &self.public_url,
            &mail.mail_product,
            mail.mail_templates.as_deref(),
        )
        .map(|composer| composer.with_clock(self.clock.clone()))
        .map_err(|error| StartError::config("--mail-templates", error))
    }

    /// The whole server: store, use cases, background tasks, endpoint.
    ///
    /// # Errors
    /// [`StartError`] for whatever failed first.
    pub async fn start(&self) -> Result<App, StartError> {
        if self.key_file.is_err() {
            return Err(StartError::config(
                "--secret-key-file",
                crate::keys::KeyFileError::Required,
            ));
        }
        if let Err(error) = &self.relying_party {
            return Err(StartError::config("--public-url", error.clone()));
        }
        let mailer = self.mailer()?;
        let composer = self.composer()?;
        let store = self.store(true).await?;
        let auth = self.authenticator(store.clone())?;
        let mail_stats = MailStats::default();
        let lease = LeasePolicy {
            length: self.config.session_cache_lease,
            ..LeasePolicy::default()
        };
        let mut tasks = vec![
            tokio::spawn(purge_periodically(
                auth.clone(),
                self.config.purge_interval.get(),
            )),
            tokio::spawn(crate::mail::worker::deliver_periodically(
                auth.clone(),
                mailer,
                composer,
                self.config.mail.mail_poll_interval.get(),
                mail_stats.clone(),
            )),
        ];
        // Serves shared-cache hits without a database read while it holds.
        if let Some(keeper) = auth.session_cache().lease_keeper(lease) {
            tasks.push(tokio::spawn(keeper.run()));
        }
        let settings = HttpSettings {
            cookie: CookieSettings {
                secure: self.config.cookie_secure,
                max_age: self.session_policy.absolute_timeout,
                device_max_age: self.device_policy.lifetime,
            },
            max_body_bytes: self.config.max_body_bytes,
            body_read_timeout: self.config.body_read_timeout.get(),
            refusal_delay: self.config.refusal_delay,
            trusted_proxies: self.config.trusted_proxies.clone(),
            cors_origins: self.cors_origins.clone(),
            mail_stats,
        };
        let admin_endpoint = self.config.admin_bind.map(|_| {
            let endpoint = crate::build_admin_app(auth.clone(), settings.clone())
                .map_to_response()
                .boxed();
            Arc::new(endpoint)
        });
        let endpoint = build_app(auth.clone(), settings).map_to_response().boxed();
        Ok(App {
            endpoint: Arc::new(endpoint),
            admin_endpoint,
            limits: ConnectionLimits {
                max_connections: self.config.max_connections.get(),
                header_read_timeout: self.config.header_read_timeout.get(),
                idle_timeout: self.config.idle_timeout.get(),
                http2_max_streams: self.config.http2_max_streams.get(),
            },
            shutdown_timeout: self.config.shutdown_timeout.get(),
            auth,
            backend: self.backend,
            tasks: BackgroundTasks(tasks),
        })
    }
}

/// A built server: its endpoint, the use cases behind it, and its
/// background tasks (stopped when the `App` is dropped).
pub struct App {
    endpoint: Arc<BoxEndpoint<'static, Response>>,
    /// The admin API, when `--admin-bind` is set.
    admin_endpoint: Option<Arc<BoxEndpoint<'static, Response>>>,
    limits: ConnectionLimits,
    shutdown_timeout: Duration,
    auth: Authenticator<SeaStore>,
    backend: Backend,
    tasks: BackgroundTasks,
}

impl std::fmt::Debug for App {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("App")
            .field("backend", &self.backend)
            .field("tasks", &self.tasks)
            .finish_non_exhaustive()
    }
}

impl App {
    /// The HTTP endpoint: every route, with every middleware.
    pub fn endpoint(&self) -> Arc<BoxEndpoint<'static, Response>> {
        self.endpoint.clone()
    }

    /// The admin API's endpoint (its routes, document and Swagger UI), when
    /// `--admin-bind` is set.
    pub fn admin_endpoint(&self) -> Option<Arc<BoxEndpoint<'static, Response>>> {
        self.admin_endpoint.clone()
    }

    /// The use cases the endpoint serves.
    pub fn auth(&self) -> &Authenticator<SeaStore> {
        &self.auth
    }

    /// `sqlite` or `postgres`.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// The configured connection limits.
    pub fn limits(&self) -> ConnectionLimits {
        self.limits
    }

    /// Serves the endpoint on `listener` with the configured connection
    /// limits until `shutdown` resolves, then lets open requests finish
    /// within `--shutdown-timeout`.
    ///
    /// # Errors
    /// When the listener's address cannot be read.
    pub async fn serve(
        &self,
        listener: tokio::net::TcpListener,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> std::io::Result<()> {
        crate::server::serve(
            listener,
            self.endpoint.clone(),
            self.limits,
            shutdown,
            self.shutdown_timeout,
        )
        .await
    }

    /// Serves the admin endpoint on `listener`, as [`App::serve`] does the
    /// public one (same connection limits). Returns at once when
    /// `--admin-bind` is not set.
    ///
    /// # Errors
    /// When the listener's address cannot be read.
    pub async fn serve_admin(
        &self,
        listener: tokio::net::TcpListener,
        shutdown: impl std::future::Future<Output = ()>,
    ) -> std::io::Result<()> {
        let Some(endpoint) = self.admin_endpoint.clone() else {
            return Ok(());
        };
        crate::server::serve(
            listener,
            endpoint,
            self.limits,
            shutdown,
            self.shutdown_timeout,
        )
        .await
    }

    /// Stops the background tasks, gives up the cache lease (so that no
    /// other instance's write waits for this one) and closes the database pool.
    pub async fn shutdown(self) {
        drop(self.tasks);
        self.auth.session_cache().release_lease().await;
        self.auth.store().clone().close().await;
    }
}

/// Aborted on drop, so a dropped [`App`] (a finished test) leaves nothing running.
#[derive(Debug)]
struct BackgroundTasks(Vec<tokio::task::JoinHandle<()>>);

impl Drop for BackgroundTasks {
    fn drop(&mut self) {
        for task in &self.0 {
            task.abort();
        }
    }
}

/// Deletes expired sessions and stale login failures every `interval`. Each
/// run is two indexed DELETEs; running it on every instance is harmless.
async fn purge_periodically(auth: Authenticator<SeaStore>, interval: Duration) {
    let mut ticker = tokio::time::interval(interval);
    ticker.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        ticker.tick().await;
        match auth.purge_expired().await {
            Ok(purged) => tracing::debug!(
                sessions = purged.sessions,
                login_failures = purged.login_failures,
                tokens = purged.tokens,
                mail = purged.mail,
                ceremonies = purged.ceremonies,
                "purged expired records"
            ),
            Err(error) => {
                tracing::warn!(error = %crate::error::error_chain(&error), "purge failed")
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use clap::Parser as _;

    use super::*;
    use crate::config::Cli;

    fn root(args: &[&str]) -> Result<Root, StartError> {
        let cli = Cli::try_parse_from(std::iter::once("auth-server").chain(args.iter().copied()))
            .unwrap();
        Root::new(cli.config)
    }

    #[test]
    fn the_defaults_build_a_root() {
        assert!(root(&[]).is_ok());
    }

    #[test]
    fn a_pool_of_one_is_refused_on_postgresql_only() {
        let url = [
            "--database-url",
            "postgres://db/auth",
            "--secret-key-file",
            "/etc/auth/secret.keys",
        ];
        let error = root(&[&url[..], &["--database-max-connections", "1"]].concat()).unwrap_err();
        assert!(error.is_usage());
        assert!(
            error.to_string().starts_with("--database-max-connections:"),
            "{error}"
        );
        assert!(root(&[&url[..], &["--database-max-connections", "2"]].concat()).is_ok());
        assert!(root(&["--database-max-connections", "1"]).is_ok());
    }

    #[tokio::test]
    async fn serving_postgresql_without_a_secret_key_file_is_refused_before_connecting() {
        let root = root(&["--database-url", "postgres://nowhere.invalid/auth"]).unwrap();
        let error = root.start().await.err().unwrap();
        assert!(error.is_usage());
        assert!(error.to_string().contains("--secret-key-file"), "{error}");
    }

    #[tokio::test]
    async fn serving_with_a_public_url_passkeys_cannot_use_is_refused_before_connecting() {
        for url in [
            "https://example.com/?x=1",
            "http://example.com",
            "https://192.0.2.7",
        ] {
            let root = root(&["--public-url", url]).unwrap();
            let error = root.start().await.err().unwrap();
            assert!(error.is_usage(), "{url}: {error}");
            assert!(error.to_string().starts_with("--public-url:"), "{error}");
        }
        let root = root(&["--public-url", "https://auth.example.com"]).unwrap();
        assert_eq!(
            root.relying_party.as_ref().unwrap().origin(),
            "https://auth.example.com"
        );
        // A path prefix for the mail links: the origin is the same.
        let prefixed = super::tests::root(&["--public-url", "https://example.com/auth/"]).unwrap();
        assert_eq!(
            prefixed.relying_party.as_ref().unwrap().origin(),
            "https://example.com"
        );
    }

    #[test]
    fn scrypt_below_ln_15_is_refused_unless_explicitly_allowed() {
        let error = root(&["--scrypt-log-n", "14"]).unwrap_err();
        assert!(error.is_usage());
        assert!(error.to_string().contains("too weak"), "{error}");
        assert!(root(&["--scrypt-log-n", "15"]).is_ok());
        assert!(root(&["--scrypt-log-n", "4", "--insecure-allow-weak-hashing"]).is_ok());
    }

    #[test]
    fn the_admin_listener_is_never_the_public_one() {
        let error =
            root(&["--bind", "127.0.0.1:5000", "--admin-bind", "127.0.0.1:5000"]).unwrap_err();
        assert!(error.is_usage());
        assert!(error.to_string().starts_with("--admin-bind:"), "{error}");
        assert!(root(&["--admin-bind", "127.0.0.1:5001"]).is_ok());
    }

    #[test]
    fn a_wildcard_cors_origin_is_refused() {
        let error = root(&["--cors-allowed-origins", "*"]).unwrap_err();
        assert!(
            error.to_string().starts_with("--cors-allowed-origins:"),
            "{error}"
        );
    }

    #[test]
    fn scrypt_parameters_scrypt_rejects_are_refused() {
        let error = root(&["--scrypt-r", "0"]).unwrap_err();
        assert!(error.is_usage(), "{error}");
    }

    #[test]
    fn an_unsupported_database_scheme_is_refused() {
        let error = root(&["--database-url", "mysql://db/auth"]).unwrap_err();
        assert!(error.to_string().starts_with("--database-url:"), "{error}");
    }

    #[test]
    fn the_flags_reach_the_policies() {
        let root = root(&[
            "--session-idle-timeout",
            "30m",
            "--login-account-max-failures",
            "7",
            "--login-ip-max-failures",
            "9",
            "--hash-concurrency",
            "3",
            "--register-ip-max",
            "4",
            "--register-window",
            "2h",
            "--login-device-max-attempts",
            "6",
        ])
        .unwrap();
        assert_eq!(root.session_policy.idle_timeout, Duration::from_secs(1800));
        assert_eq!(root.throttle_policy.account_max_failures, 7);
        assert_eq!(root.throttle_policy.address.burst(), 9);
        assert_eq!(root.throttle_policy.in_flight, 3);
        assert_eq!(root.register_limits.per_address.burst(), 4);
        assert_eq!(
            root.register_limits.global.interval(),
            Duration::from_secs(7200) / 6000
        );
        assert_eq!(root.device_policy.attempts.burst(), 6);
    }
}
