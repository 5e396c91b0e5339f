//! `Config`: every option of `auth-server`, as a flag and an `AUTH_*`
//! environment variable. This module only parses: each value arrives typed
//! (a [`Period`] is already positive and at most 10 years), and a value that
//! does not parse is a usage error naming the flag (exit code 2) before
//! anything starts. Rules that combine values live in the types they are
//! about; [`crate::app`] applies them when it builds the service.

use std::net::SocketAddr;
use std::num::{NonZeroU32, NonZeroUsize};
use std::path::PathBuf;
use std::time::Duration;

use auth_core::Period;
use clap::{Args, Parser, Subcommand};
use ipnet::IpNet;

use crate::telemetry::LogFormat;

mod keys;
mod mail;

pub use keys::{KeyConfig, SecretKeyCommand};
pub use mail::MailConfig;

/// A user authentication service: register, log in, log out, protected routes.
#[derive(Debug, Parser)]
#[command(name = "auth-server", version, about, long_about = None)]
pub struct Cli {
    /// Server and database options (also for subcommands).
    #[command(flatten)]
    pub config: Config,
    /// What to do; without one, the server runs.
    #[command(subcommand)]
    pub command: Option<Command>,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the HTTP server (the default).
    Serve,
    /// Print the OpenAPI document (the content of docs/openapi.json; with
    /// --admin, the admin listener's, docs/admin-openapi.json).
    Openapi {
        /// The admin listener's document instead.
        #[arg(long)]
        admin: bool,
    },
    /// Import the users of the Flask service's SQLite database into the
    /// database of --database-url (migrated first unless --no-migrate).
    /// See docs/migrating-from-flask.md.
    ImportFlask(ImportFlaskArgs),
    /// Manage users in the database of --database-url. Passwords are read
    /// from standard input (one line), never from arguments.
    #[command(subcommand)]
    User(UserCommand),
    /// Manage the keys of --secret-key-file (see docs/mfa.md).
    #[command(subcommand)]
    SecretKey(SecretKeyCommand),
    /// Manage the keys of the admin API (--admin-bind; see docs/operations.md).
    #[command(subcommand)]
    AdminKey(AdminKeyCommand),
}

/// `auth-server admin-key ...`.
#[derive(Debug, Clone, Subcommand)]
pub enum AdminKeyCommand {
    /// Make a key and print it once (only its SHA-256 is stored): give it
    /// to the tool or person who calls the admin API.
    Create {
        /// What the key is for (`support-desk`): every event it causes
        /// names it. ASCII letters, digits, `-`, `_`, `.`; unique.
        #[arg(long)]
        name: String,
    },
    /// List the keys: name, id, creation and revocation times (never the keys).
    List,
    /// Revoke a key: every instance refuses it from the next request on.
    Revoke {
        /// The key's name.
        #[arg(long)]
        name: String,
    },
}

/// `auth-server import-flask`.
#[derive(Debug, Clone, Args)]
pub struct ImportFlaskArgs {
    /// The Flask service's SQLite file (its `auth.db`); opened read-only.
    pub flask_db: PathBuf,
    /// Print the report (what would be imported, skipped, and every
    /// conflict) without writing anything, migrations included.
    #[arg(long)]
    pub dry_run: bool,
    /// Users written per transaction.
    #[arg(long, default_value_t = 1000, value_parser = clap::value_parser!(u16).range(1..=5000))]
    pub batch_size: u16,
}

/// `auth-server user ...`.
#[derive(Debug, Clone, Subcommand)]
pub enum UserCommand {
    /// Create a user. The password (one line) is read from standard input;
    /// the password policy applies.
    Create {
        /// The new username (compared ignoring case and Unicode width).
        username: String,
    },
    /// Set a user's password and end all of their sessions. The password
    /// (one line) is read from standard input; the password policy applies.
    SetPassword {
        /// Whose password.
        username: String,
    },
    /// List users by name: id, name, creation time, hash kind (`werkzeug`
    /// = imported from Flask, replaced at the next login), Flask id.
    List {
        /// Start after this username (for paging).
        #[arg(long)]
        after: Option<String>,
        /// List at most this many (default: all).
        #[arg(long)]
        limit: Option<u64>,
    },
    /// End every session of a user ("log out everywhere").
    RevokeSessions {
        /// Whose sessions.
        username: String,
    },
    /// Clear a user's login back-off, so they may try again at once.
    ClearBackoff {
        /// Whose back-off.
        username: String,
    },
    /// Disable a user: end their sessions; their logins get `403
    /// account_disabled` until `enable`.
    Disable {
        /// Whom.
        username: String,
    },
    /// Enable a disabled user again.
    Enable {
        /// Whom.
        username: String,
    },
    /// Delete a user and everything tied to it.
    Delete {
        /// Whom.
        username: String,
    },
}

/// Server options.
#[derive(Debug, Clone, Args)]
pub struct Config {
    /// Address to listen on.
    #[arg(
        long,
        env = "AUTH_BIND",
        default_value = "127.0.0.1:5000",
        global = true
    )]
    pub bind: SocketAddr,

    /// Address of the admin API's listener (its own /openapi.json and
    /// /docs; every route needs an admin key). Off when unset; never the
    /// same as --bind. Bind it to a private interface (see docs/operations.md).
    #[arg(long, env = "AUTH_ADMIN_BIND", global = true)]
    pub admin_bind: Option<SocketAddr>,

    /// Database URL: `sqlite://path` (file created if missing) or `postgres://user@host/db`.
    #[arg(
        long,
        env = "AUTH_DATABASE_URL",
        default_value = "sqlite://auth.db",
        global = true,
        hide_env_values = true
    )]
    pub database_url: String,

    /// Maximum database connections in the pool (unset or 0: 8 on SQLite, 10
    /// on PostgreSQL; at least 2 on PostgreSQL, where the revocation feed holds one).
    #[arg(long, env = "AUTH_DATABASE_MAX_CONNECTIONS", global = true)]
    pub database_max_connections: Option<u32>,

    /// How long a request waits for the database before failing with 503 `storage_unavailable`.
    #[arg(long, env = "AUTH_DATABASE_TIMEOUT", default_value = "5s", value_parser = parse_period, global = true)]
    pub database_timeout: Period,

    /// Do not run migrations on start (run `migration up` separately).
    #[arg(long, env = "AUTH_NO_MIGRATE", global = true)]
    pub no_migrate: bool,

    /// Mark the session cookie `Secure` (set this when clients use HTTPS).
    #[arg(long, env = "AUTH_COOKIE_SECURE", global = true)]
    pub cookie_secure: bool,

    /// A session unused this long ends (e.g. `30m`, `24h`; at most 10 years).
    #[arg(long, env = "AUTH_SESSION_IDLE_TIMEOUT", default_value = "24h", value_parser = parse_period, global = true)]
    pub session_idle_timeout: Period,

    /// A session ends this long after login, however active (also the
    /// cookie's Max-Age; at most 10 years).
    #[arg(long, env = "AUTH_SESSION_ABSOLUTE_TIMEOUT", default_value = "7d", value_parser = parse_period, global = true)]
    pub session_absolute_timeout: Period,

    /// Live sessions one user may hold; a login beyond it ends the oldest.
    #[arg(
        long,
        env = "AUTH_MAX_SESSIONS_PER_USER",
        default_value = "100",
        global = true
    )]
    pub max_sessions_per_user: NonZeroU32,

    /// scrypt cost: log2(N). 17 is OWASP's recommendation (128 MiB per hash with r=8).
    #[arg(long, env = "AUTH_SCRYPT_LOG_N", default_value_t = 17, global = true)]
    pub scrypt_log_n: u8,

    /// scrypt block size r.
    #[arg(long, env = "AUTH_SCRYPT_R", default_value_t = 8, global = true)]
    pub scrypt_r: u32,

    /// scrypt parallelism p.
    #[arg(long, env = "AUTH_SCRYPT_P", default_value_t = 1, global = true)]
    pub scrypt_p: u32,

    /// Accept scrypt parameters below 32 MiB of work (ln=15 with r=8): for
    /// tests and benchmarks only. Hashes made this cheaply fall quickly to a
    /// GPU if the database leaks.
    #[arg(long, env = "AUTH_INSECURE_ALLOW_WEAK_HASHING", global = true)]
    pub insecure_allow_weak_hashing: bool,

    /// Password hashes computed at once (default: CPU count). Peak hashing memory is this × the scrypt cost.
    #[arg(long, env = "AUTH_HASH_CONCURRENCY", global = true)]
    pub hash_concurrency: Option<NonZeroUsize>,

    /// Requests allowed to wait for a hashing slot; beyond that, 503 `server_busy`.
    #[arg(long, env = "AUTH_HASH_QUEUE", default_value_t = 32, global = true)]
    pub hash_queue: usize,

    /// Longest time a login or registration waits for a hashing thread; past
    /// it the request gets 503 `server_busy` without hashing (its client has
    /// likely given up).
    #[arg(long, env = "AUTH_HASH_QUEUE_TIMEOUT", default_value = "2s", value_parser = parse_period, global = true)]
    pub hash_queue_timeout: Period,

    /// Nice value of the hashing threads (0-19; 0 = no change). Higher lets
    /// cheap requests (session checks) preempt password hashing.
    #[arg(long, env = "AUTH_HASH_THREAD_NICE", default_value_t = 10, value_parser = clap::value_parser!(i8).range(0..=19), global = true)]
    pub hash_thread_nice: i8,

    /// Connections served at once; past it, new ones wait in the kernel's
    /// backlog until one closes. Keep it below the process's open-file limit.
    #[arg(
        long,
        env = "AUTH_MAX_CONNECTIONS",
        default_value = "10000",
        global = true
    )]
    pub max_connections: NonZeroUsize,

    /// Time a client has to send a request's whole header; also how long a
    /// kept-alive connection may wait between two requests.
    #[arg(long, env = "AUTH_HEADER_READ_TIMEOUT", default_value = "10s", value_parser = parse_period, global = true)]
    pub header_read_timeout: Period,

    /// Time a client has to send a request's whole body.
    #[arg(long, env = "AUTH_BODY_READ_TIMEOUT", default_value = "10s", value_parser = parse_period, global = true)]
    pub body_read_timeout: Period,

    /// A connection that moves no byte for this long is closed.
    #[arg(long, env = "AUTH_IDLE_TIMEOUT", default_value = "60s", value_parser = parse_period, global = true)]
    pub idle_timeout: Period,

    /// Concurrent streams per HTTP/2 connection.
    #[arg(
        long,
        env = "AUTH_HTTP2_MAX_STREAMS",
        default_value = "100",
        global = true
    )]
    pub http2_max_streams: NonZeroU32,

    /// Largest accepted request body, in bytes; larger bodies get 413.
    #[arg(long, env = "AUTH_MAX_BODY_BYTES", default_value_t = 64 * 1024, global = true)]
    pub max_body_bytes: usize,

    /// Log format.
    #[arg(long, env = "AUTH_LOG_FORMAT", value_enum, default_value_t = LogFormat::Text, global = true)]
    pub log_format: LogFormat,

    /// Log filter (tracing `EnvFilter` syntax, e.g. `info` or `auth_api=debug,info`).
    #[arg(long, env = "AUTH_LOG", default_value = "info", global = true)]
    pub log: String,

    /// On SIGINT/SIGTERM, how long in-flight requests may take to finish.
    #[arg(long, env = "AUTH_SHUTDOWN_TIMEOUT", default_value = "30s", value_parser = parse_period, global = true)]
    pub shutdown_timeout: Period,

    /// Proxies (IPs or CIDRs, comma-separated) whose `X-Forwarded-For` is believed
    /// for the client address. Empty: the socket's peer is the client.
    #[arg(
        long,
        env = "AUTH_TRUSTED_PROXIES",
        value_delimiter = ',',
        value_parser = parse_ip_net,
        global = true
    )]
    pub trusted_proxies: Vec<IpNet>,

    /// Origins allowed to call the API from a browser with credentials (CORS),
    /// comma-separated, e.g. `https://app.example.com`. Empty: CORS off. `*` is refused.
    #[arg(
        long,
        env = "AUTH_CORS_ALLOWED_ORIGINS",
        value_delimiter = ',',
        global = true
    )]
    pub cors_allowed_origins: Vec<String>,

    /// Failed logins per account before back-off starts.
    #[arg(
        long,
        env = "AUTH_LOGIN_FREE_FAILURES",
        default_value_t = 5,
        global = true
    )]
    pub login_free_failures: u32,

    /// Longest back-off between two login attempts on one account.
    #[arg(long, env = "AUTH_LOGIN_MAX_DELAY", default_value = "15m", value_parser = parse_period, global = true)]
    pub login_max_delay: Period,

    /// Hard cap on failed logins per account per 24 hours (NIST SP 800-63B:
    /// at most 100); past it, the account waits for the oldest to age out.
    #[arg(
        long,
        env = "AUTH_LOGIN_ACCOUNT_MAX_FAILURES",
        default_value = "100",
        global = true
    )]
    pub login_account_max_failures: NonZeroU32,

    /// Failed logins per client address (IPv6 per /64), across accounts,
    /// allowed at once; the budget refills at this many per
    /// `--login-ip-window`, so after tripping it the wait is one interval
    /// (18 s by default). Clients with a device cookie for the account are
    /// not counted.
    #[arg(
        long,
        env = "AUTH_LOGIN_IP_MAX_FAILURES",
        default_value = "50",
        global = true
    )]
    pub login_ip_max_failures: NonZeroU32,

    /// The time in which the per-address budget refills completely.
    #[arg(long, env = "AUTH_LOGIN_IP_WINDOW", default_value = "15m", value_parser = parse_period, global = true)]
    pub login_ip_window: Period,

    /// Login attempts one device cookie may make on its account at once; it
    /// refills at this many per `--login-device-window`, and a success
    /// refills it.
    #[arg(
        long,
        env = "AUTH_LOGIN_DEVICE_MAX_ATTEMPTS",
        default_value = "10",
        global = true
    )]
    pub login_device_max_attempts: NonZeroU32,

    /// The time in which a device's budget refills completely.
    #[arg(long, env = "AUTH_LOGIN_DEVICE_WINDOW", default_value = "1h", value_parser = parse_period, global = true)]
    pub login_device_window: Period,

    /// How long a device cookie vouches for its account after the login
    /// that issued it (its `Max-Age`).
    #[arg(long, env = "AUTH_DEVICE_COOKIE_LIFETIME", default_value = "180d", value_parser = parse_period, global = true)]
    pub device_cookie_lifetime: Period,

    /// Registrations per client address (IPv6 per /64) allowed at once;
    /// refilled at this many per `--register-ip-window`.
    #[arg(
        long,
        env = "AUTH_REGISTER_IP_MAX",
        default_value = "20",
        global = true
    )]
    pub register_ip_max: NonZeroU32,

    /// The time in which the per-address registration budget refills.
    #[arg(long, env = "AUTH_REGISTER_IP_WINDOW", default_value = "1h", value_parser = parse_period, global = true)]
    pub register_ip_window: Period,

    /// Registrations from all clients together allowed at once, shared by
    /// every instance; refilled at this many per `--register-window`.
    #[arg(long, env = "AUTH_REGISTER_MAX", default_value = "6000", global = true)]
    pub register_max: NonZeroU32,

    /// The time in which the global registration budget refills.
    #[arg(long, env = "AUTH_REGISTER_WINDOW", default_value = "1h", value_parser = parse_period, global = true)]
    pub register_window: Period,

    /// Sessions kept in the in-process cache (0 disables it). Logout stays
    /// immediate: local revocations drop entries at once, and on PostgreSQL
    /// a cached session is served only after a read of the revocation log
    /// (one per batch of requests). With SQLite, run one server process per
    /// database file, or set 0.
    #[arg(
        long,
        env = "AUTH_SESSION_CACHE_CAPACITY",
        default_value_t = 10_000,
        global = true
    )]
    pub session_cache_capacity: u64,

    /// How long a cached session is trusted before it is read again. This
    /// bounds how long a revocation made outside this process on SQLite (the
    /// `user` admin commands) can go unseen; HTTP logouts and, on
    /// PostgreSQL, every revocation apply at once. On PostgreSQL it is
    /// capped at 15 minutes (a quarter of the revocation log's retention).
    #[arg(long, env = "AUTH_SESSION_CACHE_TTL", default_value = "5s", value_parser = parse_period, global = true)]
    pub session_cache_ttl: Period,

    /// On PostgreSQL: how long one grant of this instance's cache lease
    /// lasts. While it holds, cache hits are served without a database
    /// read; in exchange every revocation, login and second-factor change
    /// waits, before it answers, until every instance holding a lease has
    /// applied it (a few milliseconds) or that lease has ended: this long at
    /// most for an instance that died without shutting down. At most 5s;
    /// `0s` turns leases off (every hit then waits for a read of the
    /// revocation log, one per batch).
    #[arg(long, env = "AUTH_SESSION_CACHE_LEASE", default_value = "2s", value_parser = parse_lease, global = true)]
    pub session_cache_lease: Duration,

    /// How long an answer refusing a request for load or by a limit (`503
    /// server_busy`, `429 too_many_attempts`) is held before it is sent, so
    /// that clients retrying at once cannot turn refusals into a CPU flood
    /// that starves the hashing of admitted logins. `0s` sends them at once.
    #[arg(long, env = "AUTH_REFUSAL_DELAY", default_value = "500ms", value_parser = parse_delay, global = true)]
    pub refusal_delay: Duration,

    /// How long security events (the audit trail, `GET /me/events`) are kept.
    #[arg(long, env = "AUTH_EVENT_RETENTION", default_value = "90d", value_parser = parse_period, global = true)]
    pub event_retention: Period,

    /// Mail: links, SMTP, templates, link lifetimes, outbox retries.
    #[command(flatten)]
    pub mail: MailConfig,

    /// Secret keys (TOTP secrets at rest) and the TOTP issuer name.
    #[command(flatten)]
    pub keys: KeyConfig,

    /// How often expired sessions and stale login failures are deleted.
    #[arg(long, env = "AUTH_PURGE_INTERVAL", default_value = "10m", value_parser = parse_period, global = true)]
    pub purge_interval: Period,
}

/// `10.0.0.0/8`, `10.0.0.1` (one address) or `::1`, spaces ignored.
fn parse_ip_net(value: &str) -> Result<IpNet, String> {
    let value = value.trim();
    value
        .parse::<IpNet>()
        .or_else(|_| value.parse::<std::net::IpAddr>().map(IpNet::from))
        .map_err(|_| format!("{value:?} is not an IP address or CIDR range"))
}

/// `500ms`, `0s` (humantime syntax), at most a minute: a short pause that may be zero.
fn parse_delay(value: &str) -> Result<Duration, String> {
    let delay = humantime::parse_duration(value.trim()).map_err(|error| error.to_string())?;
    if delay > Duration::from_secs(60) {
        return Err(format!("{value} is longer than the maximum of 1 minute"));
    }
    Ok(delay)
}

/// `2s`, `500ms`, `0s` (off), at most [`auth_core::MAX_CACHE_LEASE`]; a
/// lease shorter than 100 ms would be renewed more often than it is worth.
fn parse_lease(value: &str) -> Result<Duration, String> {
    let lease = humantime::parse_duration(value.trim()).map_err(|error| error.to_string())?;
    if lease > auth_core::MAX_CACHE_LEASE {
        return Err(format!("{value} is longer than the maximum of 5s"));
    }
    if !lease.is_zero() && lease < Duration::from_millis(100) {
        return Err(format!(
            "{value} is shorter than the minimum of 100ms (0s turns leases off)"
        ));
    }
    Ok(lease)
}

/// `30m`, `24h`, `7d` (humantime syntax), checked by [`Period::new`].
fn parse_period(value: &str) -> Result<Period, String> {
    let duration = humantime::parse_duration(value.trim()).map_err(|error| error.to_string())?;
    Period::new(duration).map_err(|error| error.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(args: &[&str]) -> Result<Config, clap::Error> {
        Cli::try_parse_from(std::iter::once("auth-server").chain(args.iter().copied()))
            .map(|cli| cli.config)
    }

    #[test]
    fn every_flag_parses_with_its_default() {
        let config = parse(&[]).unwrap();
        assert_eq!(config.bind.to_string(), "127.0.0.1:5000");
        assert_eq!(
            config.session_absolute_timeout,
            Period::from_secs(7 * 86_400)
        );
        assert_eq!(config.login_ip_max_failures.get(), 50);
        assert_eq!(config.database_max_connections, None);
    }

    #[test]
    fn trusted_proxies_accept_addresses_and_ranges() {
        assert_eq!(
            parse_ip_net(" 10.0.0.1").unwrap(),
            "10.0.0.1/32".parse::<IpNet>().unwrap()
        );
        assert_eq!(
            parse_ip_net("10.0.0.0/8").unwrap(),
            "10.0.0.0/8".parse::<IpNet>().unwrap()
        );
        assert_eq!(
            parse_ip_net("::1").unwrap(),
            "::1/128".parse::<IpNet>().unwrap()
        );
        assert!(parse_ip_net("proxy.local").is_err());
        let config = parse(&["--trusted-proxies", "10.0.0.1, 192.168.0.0/16"]).unwrap();
        assert_eq!(config.trusted_proxies.len(), 2);
    }

    // Every duration flag, through the real binary: tests/api/startup.rs.
    #[test]
    fn a_duration_past_ten_years_is_a_usage_error_naming_the_flag() {
        let error = parse(&["--login-ip-window", "300000y"]).unwrap_err();
        assert_eq!(error.kind(), clap::error::ErrorKind::ValueValidation);
        let text = error.to_string();
        assert!(text.contains("--login-ip-window"), "{text}");
        assert!(
            text.contains("longer than the maximum of 10 years"),
            "{text}"
        );
    }

    #[test]
    fn a_zero_duration_is_a_usage_error() {
        let error = parse(&["--session-idle-timeout", "0s"]).unwrap_err();
        assert!(error.to_string().contains("must be positive"), "{error}");
    }

    #[test]
    fn a_malformed_duration_is_a_usage_error() {
        let error = parse(&["--session-idle-timeout", "soon"]).unwrap_err();
        assert_eq!(error.kind(), clap::error::ErrorKind::ValueValidation);
    }

    #[test]
    fn zero_budgets_and_pools_are_usage_errors() {
        for flag in [
            "--login-ip-max-failures",
            "--login-account-max-failures",
            "--hash-concurrency",
            "--max-connections",
            "--http2-max-streams",
        ] {
            assert!(parse(&[flag, "0"]).is_err(), "{flag}");
            assert!(parse(&[flag, "3"]).is_ok(), "{flag}");
        }
    }

    #[test]
    fn the_hashing_threads_nice_value_is_between_0_and_19() {
        assert!(parse(&["--hash-thread-nice", "20"]).is_err());
        assert!(parse(&["--hash-thread-nice", "19"]).is_ok());
    }
}
