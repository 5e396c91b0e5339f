//! The command line: arguments, wiring an [`Authenticator`], and what each
//! command does and prints.
//!
//! [`run`] is what `main` calls, and what the tests call, one command at a
//! time on a fresh [`Authenticator`], as separate processes would.

use std::io::BufRead;
use std::path::PathBuf;
use std::sync::Arc;

use auth_core::{
    Authenticator, Client, Clock, HashConfig, HashConfigError, Password, PasswordHasher,
    ScryptParams, Store, Username,
};
use chrono::SecondsFormat;
use clap::{Parser, Subcommand};

use crate::JsonFileStore;
use crate::error::{CommandError, EXIT_CODES};

/// Register, log in, check and end sessions, with `auth-core` and a JSON
/// file as the store. Passwords are read from standard input.
#[derive(Debug, Parser)]
#[command(name = "embedded-auth-cli", after_help = EXIT_CODES)]
pub struct Cli {
    /// The JSON file holding users, sessions and failed logins. Created by the
    /// first write; `<file>.lock` and `<file>.tmp` appear beside it.
    #[arg(long, default_value = "auth-store.json")]
    pub store: PathBuf,

    /// Hash new passwords with scrypt N=2^4 instead of OWASP's 2^17: instant,
    /// and no protection at all for a stolen file. Demos and tests only; a
    /// later login without this flag replaces such a hash.
    #[arg(long)]
    pub insecure_fast_hashing: bool,

    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The commands.
#[derive(Debug, Clone, Subcommand)]
pub enum Command {
    /// Create an account. The password is the first line of standard input.
    Register {
        /// 3–64 letters, digits or `. _ - @ +`; case-insensitive.
        #[arg(allow_hyphen_values = true)]
        username: Username,
    },
    /// Start a session and print its token. The password is the first line
    /// of standard input.
    Login {
        /// As typed: any case variant of the registered name.
        // Not parsed here: a name that cannot exist must fail (and count
        // towards the back-off) exactly like an unknown one.
        #[arg(allow_hyphen_values = true)]
        username: String,
    },
    /// Print whose session a token is.
    Whoami {
        /// The token `login` printed, or `-` to read it from standard input
        /// (arguments are visible to other users in `ps`).
        // Tokens are base64url: one in 64 starts with `-`.
        #[arg(allow_hyphen_values = true)]
        token: String,
    },
    /// End the session of a token (every copy of the token stops working).
    Logout {
        /// The token `login` printed, or `-` to read it from standard input.
        #[arg(allow_hyphen_values = true)]
        token: String,
    },
    /// Delete expired sessions and failed logins too old to count.
    Purge,
}

impl Command {
    /// The prompt to show when standard input is a terminal, if the command
    /// reads from it.
    pub fn prompt(&self) -> Option<String> {
        match self {
            Self::Register { username } => Some(format!(
                "New password for {username} (15+ characters; input is shown): "
            )),
            Self::Login { username } => Some(format!("Password for {username} (input is shown): ")),
            Self::Whoami { token } | Self::Logout { token } if token == "-" => {
                Some("Token: ".to_owned())
            }
            Self::Whoami { .. } | Self::Logout { .. } | Self::Purge => None,
        }
    }
}

/// What a successful command prints. `stdout` is for scripts
/// (`TOKEN=$(embedded-auth-cli login alice)`); `stderr` is for people.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Output {
    /// The result.
    pub stdout: String,
    /// Notes about it.
    pub stderr: String,
}

/// The hasher settings of this CLI.
///
/// One command hashes at most one password at a time, so one hashing thread
/// is enough (the default starts one per core) and peak hashing memory is
/// one hash: 128 MiB at the default cost. Nothing else in the process
/// competes with hashing, so there is nothing to lower its priority for.
///
/// Built through [`HashConfig::new`], the checked path an embedder with
/// configurable values would take.
///
/// # Errors
/// Never for these values.
pub fn hash_config(insecure_fast_hashing: bool) -> Result<HashConfig, HashConfigError> {
    let params = if insecure_fast_hashing {
        ScryptParams::insecure_fast_for_tests()
    } else {
        ScryptParams::default()
    };
    HashConfig::new(params, 1, HashConfig::default().max_queued, 0)
}

/// The store and the [`Authenticator`] over it, as `cli` says. `clock` is
/// [`auth_core::SystemClock`] in `main`, a `ManualClock` in tests.
///
/// The default session policy (24 h idle, 7 days absolute), password policy
/// and login back-off apply. No session cache: the process lives for one
/// command, so there is nothing to reuse.
///
/// # Errors
/// [`CommandError::OpenStore`], [`CommandError::StartHasher`].
pub fn authenticator(
    cli: &Cli,
    clock: Arc<dyn Clock>,
) -> Result<Authenticator<JsonFileStore>, CommandError> {
    let store = JsonFileStore::open(&cli.store).map_err(CommandError::OpenStore)?;
    let config = hash_config(cli.insecure_fast_hashing)
        .map_err(|error| CommandError::StartHasher(error.into()))?;
    let hasher = PasswordHasher::new(config).map_err(CommandError::StartHasher)?;
    Ok(Authenticator::new(store, hasher, clock))
}

/// Runs one command. `input` is standard input, where passwords (and `-`
/// tokens) are read from, one line each.
///
/// # Errors
/// [`CommandError::Auth`] with what `auth-core` refused; the input errors.
pub async fn run<S: Store>(
    command: &Command,
    auth: &Authenticator<S>,
    input: &mut impl BufRead,
) -> Result<Output, CommandError> {
    match command {
        Command::Register { username } => {
            let password = Password::new(read_line(input, "password")?);
            // A local user: no address budget applies, and no device cookie is kept.
            let user = auth
                .register(username.clone(), password, &Client::default())
                .await?;
            Ok(Output {
                stdout: format!("registered {} (user id {})\n", user.username, user.id),
                stderr: String::new(),
            })
        }
        Command::Login { username } => {
            let password = Password::new(read_line(input, "password")?);
            let login = auth.login(username, password, &Client::default()).await?;
            let mut stderr = format!(
                "logged in as {}; the session ends after {} h without use, and at {} at the latest\n",
                login.user.username,
                auth.session_policy().idle_timeout.as_secs() / 3600,
                rfc3339(login.session.expires_at),
            );
            if login.password_change_recommended {
                stderr.push_str(
                    "note: this password would not be accepted today; please choose a new one\n",
                );
            }
            Ok(Output {
                stdout: format!("{}\n", login.token.as_str()),
                stderr,
            })
        }
        Command::Whoami { token } => {
            let token = token_from(token, input)?;
            let me = auth.authenticate(&token).await?;
            Ok(Output {
                stdout: format!(
                    "{}\nuser id: {}\nlogged in: {}\nsession ends: {} (earlier if unused until {})\n",
                    me.user.username,
                    me.user.id,
                    rfc3339(me.session.created_at),
                    rfc3339(me.session.expires_at),
                    rfc3339(me.session.idle_expires_at),
                ),
                stderr: String::new(),
            })
        }
        Command::Logout { token } => {
            let token = token_from(token, input)?;
            let ended = auth.logout(&token, &Client::default()).await?;
            Ok(Output {
                stdout: format!("logged out {}\n", ended.user.username),
                stderr: String::new(),
            })
        }
        Command::Purge => {
            let purged = auth.purge_expired().await?;
            Ok(Output {
                stdout: format!(
                    "deleted {} expired sessions, {} old failed logins, {} refilled rate limits and {} expired devices\n",
                    purged.sessions, purged.login_failures, purged.rate_limits, purged.devices
                ),
                stderr: String::new(),
            })
        }
    }
}

/// The token argument, or the first line of `input` for `-`.
fn token_from(argument: &str, input: &mut impl BufRead) -> Result<String, CommandError> {
    if argument == "-" {
        Ok(read_line(input, "token")?.trim().to_owned())
    } else {
        Ok(argument.to_owned())
    }
}

/// One line of `input` without its line ending. The caller wraps a password
/// in [`Password`] at once, which zeroises this string. (A real tool would
/// also turn off terminal echo, for example with the `rpassword` crate.)
fn read_line(input: &mut impl BufRead, what: &'static str) -> Result<String, CommandError> {
    let mut line = String::new();
    if input
        .read_line(&mut line)
        .map_err(CommandError::ReadInput)?
        == 0
    {
        return Err(CommandError::MissingInput { what });
    }
    if line.ends_with('\n') {
        line.pop();
        if line.ends_with('\r') {
            line.pop();
        }
    }
    Ok(line)
}

fn rfc3339(time: chrono::DateTime<chrono::Utc>) -> String {
    time.to_rfc3339_opts(SecondsFormat::Secs, true)
}
