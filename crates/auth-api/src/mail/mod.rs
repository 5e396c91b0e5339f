//! The mail adapters: auth-core's delivery ports ([`auth_core::MailTransport`],
//! [`auth_core::MailComposer`]) over real mail.
//!
//! Two transports, because the server has two ways to run: [`SmtpMailer`]
//! hands messages to an SMTP server (production); [`DirectoryMailer`]
//! writes each one as an `.eml` file, so the embedded default, with no SMTP
//! server configured, still delivers its links somewhere an operator or a
//! test can read them. Both build the message with `build_message`, so
//! what lands in the directory is byte for byte what SMTP would carry.
//! [`TemplateComposer`] writes the messages from templates.
//!
//! - `smtp.rs`: [`SmtpMailer`], lettre's async SMTP client over rustls.
//! - `dir.rs`: [`DirectoryMailer`], one `.eml` file a message.
//! - `templates.rs`: [`TemplateComposer`], minijinja templates and links.

mod dir;
mod smtp;
mod templates;
pub mod worker;

use std::path::PathBuf;

use auth_core::{MailError, MailMessage, MailTransport};
use lettre::Message;
use lettre::message::{Mailbox, MultiPart};

pub use dir::DirectoryMailer;
pub use smtp::SmtpMailer;
pub use templates::TemplateComposer;
pub use worker::{MailSnapshot, MailStats};

/// Why a mail adapter could not be built: a start-up error, so the server
/// refuses to start rather than fail at its first message. No variant
/// holds an SMTP password.
#[derive(Debug, thiserror::Error)]
pub enum MailSetupError {
    /// The SMTP URL is not one [`SmtpMailer::new`] accepts.
    #[error("invalid SMTP URL: {0}")]
    SmtpUrl(String),
    /// The sender is not a mailbox (`Name <address>` or `address`).
    #[error("invalid mail sender {from:?}: {reason}")]
    From {
        /// What was given.
        from: String,
        /// Why it was refused.
        reason: String,
    },
    /// The mail directory could not be created.
    #[error("mail directory {}: {source}", path.display())]
    Directory {
        /// The directory.
        path: PathBuf,
        /// The failure.
        source: std::io::Error,
    },
    /// The public URL cannot be the base of a link.
    #[error("invalid public URL for mail links: {0}")]
    PublicUrl(String),
    /// A template could not be read, compiled or rendered.
    #[error("mail template {file}: {reason}")]
    Template {
        /// The file (a path for an operator's template, a name for a built-in one).
        file: String,
        /// Why.
        reason: String,
    },
}

/// The configured transport: what the composition root holds.
#[derive(Debug, Clone)]
pub enum Mailer {
    /// Deliver through an SMTP server.
    Smtp(SmtpMailer),
    /// Write `.eml` files to a directory.
    Directory(DirectoryMailer),
}

impl MailTransport for Mailer {
    async fn send(&self, message: &MailMessage) -> Result<(), MailError> {
        match self {
            Self::Smtp(mailer) => mailer.send(message).await,
            Self::Directory(mailer) => mailer.send(message).await,
        }
    }
}

/// Parses the sender, as both transports take it.
fn parse_from(from: &str) -> Result<Mailbox, MailSetupError> {
    from.trim()
        .parse::<Mailbox>()
        .map_err(|error| MailSetupError::From {
            from: from.to_owned(),
            reason: error.to_string(),
        })
}

/// The RFC 5322 message for `message`: `multipart/alternative`, text then
/// HTML (clients show the last part they can), with a `Message-ID` at the
/// sender's domain rather than this host's name, which is nobody's business.
///
/// # Errors
/// [`MailError::Rejected`]: the recipient is not an address lettre accepts,
/// or the message cannot be built. The text never holds a body.
pub(crate) fn build_message(from: &Mailbox, message: &MailMessage) -> Result<Message, MailError> {
    let to = message
        .to
        .as_str()
        .parse::<lettre::Address>()
        .map_err(|error| MailError::Rejected(format!("recipient not accepted: {error}")))?;
    let message_id = format!("<{}@{}>", uuid::Uuid::now_v7(), from.email.domain());
    Message::builder()
        .from(from.clone())
        .to(Mailbox::new(None, to))
        .subject(one_line(&message.subject))
        .message_id(Some(message_id))
        .date_now()
        .multipart(MultiPart::alternative_plain_html(
            message.text.clone(),
            message.html.clone(),
        ))
        .map_err(|error| MailError::Rejected(format!("message not built: {error}")))
}

/// `text` on one line, runs of whitespace (line breaks too) made one space:
/// a subject is one header line, and a line break in it would start another.
pub(crate) fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use super::*;

    #[test]
    fn one_line_folds_line_breaks() {
        assert_eq!(
            one_line("  Reset\r\n your\tpassword \n"),
            "Reset your password"
        );
    }

    #[test]
    fn a_sender_is_a_mailbox() {
        let from = parse_from("Auth Service <no-reply@example.com>").unwrap();
        assert_eq!(from.email.domain(), "example.com");
        assert!(matches!(
            parse_from("no reply"),
            Err(MailSetupError::From { .. })
        ));
    }
}
