//! The mail options: where links point, how mail is sent, how long links
//! live, and how the outbox retries. Parsed here; checked and built in
//! [`crate::app`].

use std::num::NonZeroU32;
use std::path::PathBuf;
use std::time::Duration;

use auth_core::Period;
use clap::Args;

use super::parse_period;

/// Mail and account-recovery options.
#[derive(Debug, Clone, Args)]
pub struct MailConfig {
    /// The address users reach the service at, for the links in mail
    /// (`{public-url}/reset?token=…`, `{public-url}/verify?token=…`), and
    /// the passkeys' relying party (its host is the RP ID, its origin the
    /// one accepted): `https://` with a domain name, or
    /// `http://localhost[:port]`; a path (`https://example.com/auth/`) is
    /// kept in the links and is not part of the origin. Point it at your
    /// own frontend, on the same origin, to serve those pages yourself.
    #[arg(
        long,
        env = "AUTH_PUBLIC_URL",
        default_value = "http://localhost:5000",
        global = true
    )]
    pub public_url: String,

    /// The SMTP server: `smtps://user:pass@host:465` (implicit TLS),
    /// `smtp://user:pass@host:587?tls=required` (STARTTLS), or
    /// `smtp://host:25` (plain, for a relay on the same host). Without it,
    /// each message is written as an `.eml` file to --mail-dir.
    #[arg(long, env = "AUTH_SMTP_URL", global = true, hide_env_values = true)]
    pub smtp_url: Option<String>,

    /// The sender of every message, as `Name <address>` or `address`.
    #[arg(
        long,
        env = "AUTH_MAIL_FROM",
        default_value = "Auth Service <no-reply@localhost.localdomain>",
        global = true
    )]
    pub mail_from: String,

    /// Where messages are written when no --smtp-url is given.
    #[arg(long, env = "AUTH_MAIL_DIR", default_value = "mail", global = true)]
    pub mail_dir: PathBuf,

    /// A directory of templates that replace the built-in ones, file by
    /// file (`password_reset.subject.txt`, `password_reset.txt`,
    /// `password_reset.html`, and so for `email_verification`,
    /// `password_changed`, `email_changed`). See docs/email.md.
    #[arg(long, env = "AUTH_MAIL_TEMPLATES", global = true)]
    pub mail_templates: Option<PathBuf>,

    /// The product name the templates show.
    #[arg(
        long,
        env = "AUTH_MAIL_PRODUCT",
        default_value = "Auth Service",
        global = true
    )]
    pub mail_product: String,

    /// How long an SMTP connection or command may take.
    #[arg(long, env = "AUTH_SMTP_TIMEOUT", default_value = "30s", value_parser = parse_period, global = true)]
    pub smtp_timeout: Period,

    /// How long a password-reset link works.
    #[arg(long, env = "AUTH_RESET_TOKEN_LIFETIME", default_value = "30m", value_parser = parse_period, global = true)]
    pub reset_token_lifetime: Period,

    /// How long an email-verification link works.
    #[arg(long, env = "AUTH_VERIFICATION_TOKEN_LIFETIME", default_value = "24h", value_parser = parse_period, global = true)]
    pub verification_token_lifetime: Period,

    /// `POST /password/forgot` requests per client address (IPv6 per /64)
    /// per hour, counted alike whether or not the account exists.
    #[arg(long, env = "AUTH_RESET_IP_MAX", default_value_t = NonZeroU32::new(10).unwrap_or(NonZeroU32::MIN), global = true)]
    pub reset_ip_max: NonZeroU32,

    /// Reset mails per account per hour; further requests answer alike and
    /// mail nothing.
    #[arg(long, env = "AUTH_RESET_ACCOUNT_MAX", default_value_t = NonZeroU32::new(3).unwrap_or(NonZeroU32::MIN), global = true)]
    pub reset_account_max: NonZeroU32,

    /// The wait after a failed send; it doubles with each failure, up to an
    /// hour.
    #[arg(long, env = "AUTH_MAIL_RETRY_BASE", default_value = "30s", value_parser = parse_period, global = true)]
    pub mail_retry_base: Period,

    /// Sends tried before a message is given up on (counted as failed).
    #[arg(long, env = "AUTH_MAIL_MAX_ATTEMPTS", default_value_t = 12, value_parser = clap::value_parser!(u32).range(1..=100), global = true)]
    pub mail_max_attempts: u32,

    /// How often each instance looks for mail to send.
    #[arg(long, env = "AUTH_MAIL_POLL_INTERVAL", default_value = "2s", value_parser = parse_period, global = true)]
    pub mail_poll_interval: Period,
}

impl MailConfig {
    /// The recovery policy these flags give.
    pub fn recovery_policy(&self) -> auth_core::RecoveryPolicy {
        let hour = Period::from_secs(3600);
        auth_core::RecoveryPolicy {
            reset_lifetime: self.reset_token_lifetime,
            verification_lifetime: self.verification_token_lifetime,
            resets_per_address: auth_core::RateLimit::new(self.reset_ip_max, hour),
            resets_per_account: auth_core::RateLimit::new(self.reset_account_max, hour),
            ..auth_core::RecoveryPolicy::default()
        }
    }

    /// The outbox retry policy these flags give.
    pub fn outbox_policy(&self) -> auth_core::OutboxPolicy {
        let defaults = auth_core::OutboxPolicy::default();
        auth_core::OutboxPolicy {
            retry_base: self.mail_retry_base.get(),
            max_attempts: self.mail_max_attempts,
            // Longer than a send can take (connect, then each command).
            lease: defaults
                .lease
                .max(self.smtp_timeout.get() * 4 + Duration::from_secs(10)),
            ..defaults
        }
    }
}
