//! The outbox worker's step: claim due mail, draw each link's token, write
//! the message, send it, and record the outcome.

use super::{AuthError, Authenticator};
use crate::{
    IssuedToken, Letter, MailComposer, MailError, MailId, MailKind, MailTransport, OneTimeToken,
    QueuedMail, Store, User,
};

/// What one [`Authenticator::deliver_mail`] pass did.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct DeliveryReport {
    /// Messages the transport accepted.
    pub sent: u32,
    /// Messages that failed and will be tried again.
    pub retried: u32,
    /// Messages given up on (refused for good, or out of attempts).
    pub failed: u32,
    /// Messages that no longer apply (the account is gone, or its address
    /// changed since), completed unsent.
    pub dropped: u32,
    /// Why each failed message failed (the transport's or composer's words,
    /// never a body), and whether it will be retried: for the logs.
    pub failures: Vec<DeliveryFailure>,
}

/// One message a pass could not send.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeliveryFailure {
    /// The message.
    pub id: MailId,
    /// Which message it is.
    pub kind: MailKind,
    /// What went wrong.
    pub error: MailError,
    /// When it will be tried again; `None`: given up.
    pub retry_at: Option<chrono::DateTime<chrono::Utc>>,
}

impl DeliveryReport {
    /// How many messages the pass claimed.
    pub fn claimed(&self) -> u32 {
        self.sent + self.retried + self.failed + self.dropped
    }
}

/// Whether `mail` still says something true to its recipient: a link to
/// verify or reset goes only to the account's current (verified, for a
/// reset) address, and a reset link only if the password (or address) has
/// not changed since it was asked for (a reset queued during a mail outage
/// must not undo a change made meanwhile); a notice of a changed address
/// goes only to a previous one.
fn applies(mail: &QueuedMail, user: &User) -> bool {
    let current = user.email.as_ref();
    let is_current = current.is_some_and(|email| email.address == mail.to);
    match mail.kind {
        MailKind::EmailVerification => current.is_some_and(|e| e.address == mail.to && !e.verified),
        MailKind::PasswordReset => {
            user.updated_at <= mail.created_at
                && current.is_some_and(|e| e.address == mail.to && e.verified)
        }
        MailKind::PasswordChanged => is_current,
        MailKind::EmailChanged => !is_current,
    }
}

impl<S: Store> Authenticator<S> {
    /// Claims up to `batch` due messages and sends each through `transport`
    /// as `composer` writes it. A message with a link gets a fresh token,
    /// issued just before the send (replacing any earlier one of the
    /// user's, so only the newest mail's link works). Transient failures
    /// are retried with the [`crate::OutboxPolicy`] back-off.
    ///
    /// ```
    /// # use std::sync::Arc;
    /// # use auth_core::*;
    /// # use std::sync::Mutex;
    /// struct Keep(Mutex<Vec<MailMessage>>);
    /// impl MailTransport for Keep {
    ///     async fn send(&self, message: &MailMessage) -> Result<(), MailError> {
    ///         self.0.lock().map_err(|_| MailError::Transient("poisoned".into()))?.push(message.clone());
    ///         Ok(())
    ///     }
    /// }
    /// struct Plain;
    /// impl MailComposer for Plain {
    ///     fn compose(&self, letter: &Letter<'_>) -> Result<MailMessage, MailError> {
    ///         let link = letter.token.map(|t| format!("https://example.com/verify?token={}", t.as_str()));
    ///         Ok(MailMessage { to: letter.to.clone(), subject: letter.kind.as_str().into(), text: link.unwrap_or_default(), html: String::new() })
    ///     }
    /// }
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// # let hasher = PasswordHasher::new(HashConfig::insecure_fast_for_tests())?;
    /// # let auth = Authenticator::new(MemoryStore::new(), hasher, Arc::new(SystemClock));
    /// # let client = Client::default();
    /// let email = EmailAddress::parse("alice@example.com")?;
    /// auth.register_with_email(Username::parse("alice")?, email, Password::new("tangerine maple orbit 42"), &client).await?;
    /// let outbox = Keep(Mutex::new(Vec::new()));
    /// assert_eq!(auth.deliver_mail(&outbox, &Plain, 10).await?.sent, 1);
    /// let sent = outbox.0.lock().map_err(|_| "poisoned")?.remove(0);
    /// let token = sent.text.rsplit('=').next().unwrap_or_default();
    /// auth.verify_email(token, &client).await?;
    /// assert!(auth.verify_email(token, &client).await.is_err()); // single use
    /// # Ok(()) }
    /// ```
    ///
    /// # Errors
    /// [`AuthError::Storage`] when the outbox cannot be read or updated
    /// (what was sent stays sent; an unrecorded send is retried).
    pub async fn deliver_mail<T: MailTransport, C: MailComposer>(
        &self,
        transport: &T,
        composer: &C,
        batch: u32,
    ) -> Result<DeliveryReport, AuthError> {
        let now = self.clock.now();
        let claimed = self.store.claim_mail(now, self.outbox.lease, batch).await?;
        let mut report = DeliveryReport::default();
        for mail in claimed {
            match self.deliver_one(&mail, transport, composer).await? {
                Outcome::Sent => report.sent += 1,
                Outcome::Dropped => report.dropped += 1,
                Outcome::Failed(error) => {
                    let delay = match &error {
                        MailError::Transient(_) => self.outbox.retry_delay(mail.attempts),
                        MailError::Rejected(_) => None,
                    };
                    let now = self.clock.now();
                    let retry_at = delay.map(|delay| crate::period::after(now, delay));
                    match retry_at {
                        Some(at) => {
                            self.store.retry_mail(mail.id, at).await?;
                            report.retried += 1;
                        }
                        None => {
                            self.store.fail_mail(mail.id, now).await?;
                            report.failed += 1;
                        }
                    }
                    report.failures.push(DeliveryFailure {
                        id: mail.id,
                        kind: mail.kind,
                        error,
                        retry_at,
                    });
                }
            }
        }
        Ok(report)
    }

    async fn deliver_one<T: MailTransport, C: MailComposer>(
        &self,
        mail: &QueuedMail,
        transport: &T,
        composer: &C,
    ) -> Result<Outcome, AuthError> {
        let user = self.store.find_user_by_id(mail.user_id).await?;
        let Some(user) = user.filter(|user| applies(mail, user)) else {
            self.store.complete_mail(mail.id, self.clock.now()).await?;
            return Ok(Outcome::Dropped);
        };
        let mut token = None;
        let mut expires_at = None;
        if let Some(purpose) = mail.kind.token_purpose() {
            let fresh =
                OneTimeToken::generate().map_err(|error| AuthError::Internal(Box::new(error)))?;
            let mut issued = IssuedToken::new(
                user.id,
                purpose,
                &fresh,
                self.clock.now(),
                self.recovery.lifetime(purpose),
            );
            if mail.kind == MailKind::EmailVerification {
                issued = issued.about(mail.to.as_str());
            }
            if let Err(error) = self.store.issue_token(&issued).await {
                return Ok(Outcome::Failed(MailError::Transient(error.to_string())));
            }
            expires_at = Some(issued.expires_at);
            token = Some(fresh);
        }
        let letter = Letter {
            kind: mail.kind,
            to: &mail.to,
            username: &user.username,
            token: token.as_ref(),
            expires_at,
        };
        let message = match composer.compose(&letter) {
            Ok(message) => message,
            Err(error) => return Ok(Outcome::Failed(error)),
        };
        match transport.send(&message).await {
            Ok(()) => {
                self.store.complete_mail(mail.id, self.clock.now()).await?;
                Ok(Outcome::Sent)
            }
            Err(error) => Ok(Outcome::Failed(error)),
        }
    }

    /// Queues mail whose loss would not undo the use case that queues it
    /// (a notice after the change is made): a store failure is counted
    /// ([`Authenticator::mail_not_queued`]), not returned.
    pub(super) async fn queue_mail(&self, mail: &[QueuedMail]) {
        if self.store.enqueue_mail(mail).await.is_err() {
            self.events
                .mail_not_queued
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        }
    }

    /// How many messages (a verification after registering, a notice after
    /// a reset) the store could not queue; their use case still succeeded.
    pub fn mail_not_queued(&self) -> u64 {
        self.events
            .mail_not_queued
            .load(std::sync::atomic::Ordering::Relaxed)
    }
}

enum Outcome {
    Sent,
    Dropped,
    Failed(MailError),
}
