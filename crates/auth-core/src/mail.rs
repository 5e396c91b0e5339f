//! Mail as a delivery port: what a message is ([`MailMessage`]), how one is
//! written ([`MailComposer`], from a [`Letter`]) and how one is sent
//! ([`MailTransport`]). The server's adapters (SMTP, a directory of `.eml`
//! files, templates) live outside the domain.

use std::future::Future;

use chrono::{DateTime, Utc};

use crate::{EmailAddress, MailKind, OneTimeToken, Username};

/// A message ready to send: one recipient, a subject, a text and an HTML
/// body. `Debug` leaves the bodies out (they may hold a link's token).
///
/// ```
/// use auth_core::{EmailAddress, MailMessage};
/// let message = MailMessage {
///     to: EmailAddress::parse("alice@example.com")?,
///     subject: "Reset your password".into(),
///     text: "https://auth.example.com/reset?token=secret".into(),
///     html: "<a href=\"https://auth.example.com/reset?token=secret\">Reset</a>".into(),
/// };
/// assert!(!format!("{message:?}").contains("secret"));
/// # Ok::<(), auth_core::EmailError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct MailMessage {
    /// The one recipient.
    pub to: EmailAddress,
    /// The subject line.
    pub subject: String,
    /// The plain-text body.
    pub text: String,
    /// The HTML body.
    pub html: String,
}

impl std::fmt::Debug for MailMessage {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MailMessage")
            .field("to", &self.to)
            .field("subject", &self.subject)
            .finish_non_exhaustive()
    }
}

/// What a transport or a composer can fail with. The text is for logs and
/// MUST NOT hold the message's bodies.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MailError {
    /// Worth trying again later: the server is unreachable, timed out, or
    /// answered with a 4xx reply.
    #[error("mail not sent, will retry: {0}")]
    Transient(String),
    /// Will never succeed as it is: the server refused it for good (a 5xx
    /// reply), or the message could not be written.
    #[error("mail refused: {0}")]
    Rejected(String),
}

/// Sends a message. Implementations: SMTP, a directory of `.eml` files,
/// or an embedder's own provider API.
pub trait MailTransport: Send + Sync {
    /// Sends `message`, or says whether trying again may help.
    ///
    /// # Errors
    /// [`MailError::Transient`] or [`MailError::Rejected`].
    fn send(&self, message: &MailMessage) -> impl Future<Output = Result<(), MailError>> + Send;
}

/// Everything a template may say about one message.
#[derive(Debug, Clone, Copy)]
pub struct Letter<'a> {
    /// Which message.
    pub kind: MailKind,
    /// Its recipient.
    pub to: &'a EmailAddress,
    /// The account it is about.
    pub username: &'a Username,
    /// The link's token, for kinds with a link ([`MailKind::token_purpose`]).
    pub token: Option<&'a OneTimeToken>,
    /// When that token stops working.
    pub expires_at: Option<DateTime<Utc>>,
}

/// Writes a [`MailMessage`] for a [`Letter`]: templates, links.
pub trait MailComposer: Send + Sync {
    /// The message for `letter`.
    ///
    /// # Errors
    /// [`MailError::Rejected`] if a template fails to render.
    fn compose(&self, letter: &Letter<'_>) -> Result<MailMessage, MailError>;
}
