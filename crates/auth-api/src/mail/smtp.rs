//! [`SmtpMailer`]: delivery through an SMTP server, with lettre's async
//! client over rustls.

use std::fmt;
use std::time::Duration;

use auth_core::{MailError, MailMessage, MailTransport};
use lettre::message::Mailbox;
use lettre::{AsyncSmtpTransport, AsyncTransport, Tokio1Executor};
use url::{Host, Url};

use super::{MailSetupError, build_message, parse_from};

/// How the connection is protected, from the URL.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Security {
    /// `smtp://`: no TLS at all.
    Plain,
    /// `smtp://…?tls=opportunistic`: STARTTLS if the server offers it.
    Opportunistic,
    /// `smtp://…?tls=required`: STARTTLS or no delivery.
    StartTls,
    /// `smtps://`: TLS from the first byte.
    Implicit,
}

/// Sends mail through an SMTP server.
///
/// The URL says where and how (lettre's own syntax, checked more strictly
/// here so that a typo cannot silently turn TLS off):
///
/// | URL | connection | default port |
/// | --- | --- | --- |
/// | `smtp://host[:port]` | plain, never encrypted: a local relay or a test server | 25 |
/// | `smtp://host[:port]?tls=opportunistic` | STARTTLS if offered, else plain (a man in the middle can strip it) | 587 |
/// | `smtp://host[:port]?tls=required` | STARTTLS, or no delivery | 587 |
/// | `smtps://host[:port]` | implicit TLS (RFC 8314), the recommended form | 465 |
///
/// `user:pass@` (percent-encoded) logs in with AUTH PLAIN or LOGIN; it is
/// refused unless the connection is encrypted (`smtps://` or
/// `tls=required`) or the host is a loopback address. A path (`/name`)
/// replaces the name sent in EHLO (by default this host's name).
/// Certificates are checked against the Mozilla roots (webpki-roots).
#[derive(Clone)]
pub struct SmtpMailer {
    transport: AsyncSmtpTransport<Tokio1Executor>,
    from: Mailbox,
    timeout: Duration,
    /// `scheme://host:port`, for `Debug`: never the credentials.
    endpoint: String,
}

impl SmtpMailer {
    /// A mailer for `url`, sending as `from` (`Auth Service
    /// <no-reply@example.com>` or a bare address). `timeout` bounds one
    /// delivery, connecting included: lettre's own timeout covers only the
    /// connection under tokio, and a server that stops answering must not
    /// hold a worker forever.
    ///
    /// # Errors
    /// [`MailSetupError::SmtpUrl`] or [`MailSetupError::From`]; neither
    /// repeats the URL, which may hold a password.
    pub fn new(url: &str, from: &str, timeout: Duration) -> Result<Self, MailSetupError> {
        let parsed = Url::parse(url)
            .map_err(|error| MailSetupError::SmtpUrl(format!("not a URL ({error})")))?;
        let security = check_url(&parsed)?;
        let from = parse_from(from)?;
        let transport = AsyncSmtpTransport::<Tokio1Executor>::from_url(url)
            .map_err(|error| MailSetupError::SmtpUrl(error.to_string()))?
            .timeout(Some(timeout))
            .build();
        let endpoint = format!(
            "{}://{}:{} ({security:?})",
            parsed.scheme(),
            parsed.host_str().unwrap_or_default(),
            parsed
                .port()
                .map_or_else(|| "default".to_owned(), |p| p.to_string()),
        );
        Ok(Self {
            transport,
            from,
            timeout,
            endpoint,
        })
    }
}

/// What lettre would accept, less what would be unsafe or a likely typo
/// (lettre ignores unknown query keys, so `?TLS=required` would mean plain).
fn check_url(url: &Url) -> Result<Security, MailSetupError> {
    let refuse = |reason: &str| Err(MailSetupError::SmtpUrl(reason.to_owned()));
    if url.host_str().is_none_or(str::is_empty) {
        return refuse("no host");
    }
    let mut tls = None;
    for (key, value) in url.query_pairs() {
        if key != "tls" || tls.is_some() {
            return refuse("the only query parameter is one `tls` (required or opportunistic)");
        }
        tls = Some(value.into_owned());
    }
    let security = match (url.scheme(), tls.as_deref()) {
        ("smtp", None) => Security::Plain,
        ("smtp", Some("opportunistic")) => Security::Opportunistic,
        ("smtp", Some("required")) => Security::StartTls,
        ("smtp", Some(_)) => return refuse("`tls` is `required` or `opportunistic`"),
        ("smtps", None) => Security::Implicit,
        ("smtps", Some(_)) => return refuse("`smtps://` is always TLS: no `tls` parameter"),
        _ => return refuse("the scheme is `smtp` or `smtps`"),
    };
    let has_user = !url.username().is_empty();
    if has_user != url.password().is_some() {
        return refuse("credentials need both a user and a password");
    }
    let encrypted = matches!(security, Security::StartTls | Security::Implicit);
    if has_user && !encrypted && !is_loopback(url) {
        return refuse(
            "credentials would cross the network unencrypted: use `smtps://` or `?tls=required`",
        );
    }
    Ok(security)
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(Host::Ipv4(ip)) => ip.is_loopback(),
        Some(Host::Ipv6(ip)) => ip.is_loopback(),
        Some(Host::Domain(name)) => name.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

/// 5xx is for good; everything else (4xx, refused or dropped connections,
/// TLS failures, timeouts, garbled replies) may pass. lettre's text names
/// the failure and the server's reply, never the message.
fn classify(error: &lettre::transport::smtp::Error) -> MailError {
    if error.is_permanent() {
        MailError::Rejected(format!("SMTP: {error}"))
    } else {
        MailError::Transient(format!("SMTP: {error}"))
    }
}

impl MailTransport for SmtpMailer {
    async fn send(&self, message: &MailMessage) -> Result<(), MailError> {
        let email = build_message(&self.from, message)?;
        match tokio::time::timeout(self.timeout, self.transport.send(email)).await {
            Ok(Ok(_response)) => Ok(()),
            Ok(Err(error)) => Err(classify(&error)),
            Err(_elapsed) => Err(MailError::Transient(format!(
                "SMTP: no answer within {:?}",
                self.timeout
            ))),
        }
    }
}

impl fmt::Debug for SmtpMailer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SmtpMailer")
            .field("endpoint", &self.endpoint)
            .field("from", &self.from.to_string())
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use std::time::Instant;

    use auth_core::EmailAddress;

    use super::*;

    const FROM: &str = "Auth Service <no-reply@example.com>";
    const TIMEOUT: Duration = Duration::from_secs(2);

    #[test]
    fn accepts_each_documented_form() {
        for url in [
            "smtp://127.0.0.1:2525",
            "smtp://mail.example.com?tls=opportunistic",
            "smtp://user:p%40ss@mail.example.com:587?tls=required",
            "smtps://user:pass@mail.example.com",
            "smtp://user:pass@localhost:1025",
        ] {
            let mailer = SmtpMailer::new(url, FROM, TIMEOUT);
            assert!(mailer.is_ok(), "{url}: {:?}", mailer.err());
        }
    }

    #[test]
    fn refuses_a_bad_url_without_repeating_it() {
        for url in [
            "",
            "mail.example.com",
            "http://mail.example.com",
            "smtp://",
            "smtp://mail.example.com?tls=always",
            "smtp://mail.example.com?TLS=required",
            "smtp://mail.example.com?tls=required&tls=opportunistic",
            "smtps://mail.example.com?tls=required",
            "smtp://user:hunter2@mail.example.com",
            "smtp://user:hunter2@mail.example.com?tls=opportunistic",
            "smtp://user@mail.example.com?tls=required",
            "smtp://mail.example.com:99999",
        ] {
            let error = SmtpMailer::new(url, FROM, TIMEOUT).expect_err(url);
            assert!(
                matches!(error, MailSetupError::SmtpUrl(_)),
                "{url}: {error}"
            );
            assert!(!error.to_string().contains("hunter2"), "{error}");
        }
    }

    #[test]
    fn refuses_a_bad_from() {
        for from in ["", "no-reply", "Auth <no-reply>", "a@b@c"] {
            let error = SmtpMailer::new("smtp://127.0.0.1:25", from, TIMEOUT).expect_err(from);
            assert!(
                matches!(error, MailSetupError::From { .. }),
                "{from}: {error}"
            );
        }
    }

    #[test]
    fn debug_shows_no_password() {
        let mailer =
            SmtpMailer::new("smtps://user:hunter2@mail.example.com", FROM, TIMEOUT).unwrap();
        let shown = format!("{mailer:?}");
        assert!(
            shown.contains("mail.example.com") && !shown.contains("hunter2"),
            "{shown}"
        );
    }

    #[tokio::test]
    async fn no_listener_is_transient_and_quick() {
        let port = {
            let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            listener.local_addr().unwrap().port()
        };
        let mailer = SmtpMailer::new(&format!("smtp://127.0.0.1:{port}"), FROM, TIMEOUT).unwrap();
        let message = MailMessage {
            to: EmailAddress::parse("alice@example.com").unwrap(),
            subject: "Reset your password".into(),
            text: "secret-body-text".into(),
            html: "<p>secret-body-html</p>".into(),
        };
        let started = Instant::now();
        let result = mailer.send(&message).await;
        assert!(started.elapsed() < TIMEOUT + Duration::from_secs(1));
        let Err(MailError::Transient(text)) = result else {
            panic!("expected a transient error, got {result:?}");
        };
        assert!(!text.contains("secret-body"), "{text}");
    }
}
