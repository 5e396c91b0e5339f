//! [`DirectoryMailer`]: each message as an `.eml` file in a directory.

use std::fs;
use std::io::{self, Write};
use std::path::{Path, PathBuf};

use auth_core::{MailError, MailMessage, MailTransport};
use chrono::Utc;
use lettre::message::Mailbox;

use super::{MailSetupError, build_message, parse_from};

/// Writes each message as a complete RFC 5322 file,
/// `<UTC time>-<UUID v7>.eml` (names sort by sending time), readable by
/// any mail client or parser. Files are only ever renamed into place
/// whole, so a reader never sees half a message, and are private to the
/// server's user (mode 0600): each holds a live link.
#[derive(Debug, Clone)]
pub struct DirectoryMailer {
    dir: PathBuf,
    from: Mailbox,
}

impl DirectoryMailer {
    /// A mailer writing into `dir`, created (mode 0700 on unix) if
    /// missing, as `from` (`Auth Service <no-reply@example.com>`).
    ///
    /// # Errors
    /// [`MailSetupError::From`], or [`MailSetupError::Directory`] if `dir`
    /// cannot be created.
    pub fn new(dir: PathBuf, from: &str) -> Result<Self, MailSetupError> {
        let from = parse_from(from)?;
        let mut builder = fs::DirBuilder::new();
        builder.recursive(true);
        #[cfg(unix)]
        std::os::unix::fs::DirBuilderExt::mode(&mut builder, 0o700);
        builder
            .create(&dir)
            .map_err(|source| MailSetupError::Directory {
                path: dir.clone(),
                source,
            })?;
        Ok(Self { dir, from })
    }

    /// The directory written to.
    pub fn dir(&self) -> &Path {
        &self.dir
    }
}

impl MailTransport for DirectoryMailer {
    async fn send(&self, message: &MailMessage) -> Result<(), MailError> {
        let bytes = build_message(&self.from, message)?.formatted();
        let name = format!(
            "{}-{}.eml",
            Utc::now().format("%Y%m%dT%H%M%S%.6fZ"),
            uuid::Uuid::now_v7()
        );
        let path = self.dir.join(&name);
        let temp = self.dir.join(format!(".{name}.tmp"));
        // Blocking file IO off the runtime's workers.
        let written = {
            let path = path.clone();
            tokio::task::spawn_blocking(move || write_whole(&temp, &path, &bytes))
                .await
                .unwrap_or_else(|join| Err(io::Error::other(join)))
        };
        match written {
            Ok(()) => {
                tracing::info!(path = %path.display(), "mail written");
                Ok(())
            }
            Err(error) => Err(MailError::Transient(format!(
                "writing {}: {error}",
                path.display()
            ))),
        }
    }
}

/// Writes `bytes` to `temp` (new, 0600), flushes it to disk, renames it to
/// `path`; removes `temp` on failure. The temporary name starts with a dot
/// and ends in `.tmp`, so a reader looking for `*.eml` passes it by.
fn write_whole(temp: &Path, path: &Path, bytes: &[u8]) -> io::Result<()> {
    let mut options = fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    let result = options.open(temp).and_then(|mut file| {
        file.write_all(bytes)?;
        file.sync_all()
    });
    let result = result.and_then(|()| fs::rename(temp, path));
    if result.is_err() {
        // Best effort: the file may not exist, and the write's error is the one to report.
        let _ = fs::remove_file(temp);
    }
    result
}

#[cfg(test)]
#[allow(clippy::unwrap_used, clippy::expect_used)]
mod tests {
    use auth_core::EmailAddress;

    use super::*;

    const LINK: &str =
        "https://auth.example.com/reset?token=abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG";

    fn message() -> MailMessage {
        MailMessage {
            to: EmailAddress::parse("alice@example.com").unwrap(),
            subject: "Reset your password".into(),
            text: format!("Hello alice,\n\nOpen this link to reset your password:\n\n{LINK}\n"),
            html: format!("<p>Hello alice,</p><p><a href=\"{LINK}\">Reset your password</a></p>"),
        }
    }

    /// Undoes quoted-printable soft breaks and `=3D`, enough to find a link.
    fn unfold(body: &str) -> String {
        body.replace("=\r\n", "").replace("=3D", "=")
    }

    #[tokio::test]
    async fn writes_a_whole_private_eml() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("outbox");
        let mailer =
            DirectoryMailer::new(dir.clone(), "Auth Service <no-reply@example.com>").unwrap();
        assert!(dir.is_dir());
        mailer.send(&message()).await.unwrap();

        let names: Vec<_> = fs::read_dir(&dir)
            .unwrap()
            .map(|entry| entry.unwrap().file_name().into_string().unwrap())
            .collect();
        assert_eq!(names.len(), 1, "no temporary file left: {names:?}");
        let name = &names[0];
        assert!(name.ends_with(".eml") && !name.starts_with('.'), "{name}");
        let path = dir.join(name);
        #[cfg(unix)]
        {
            use std::os::unix::fs::PermissionsExt;
            let mode = fs::metadata(&path).unwrap().permissions().mode();
            assert_eq!(mode & 0o777, 0o600);
        }

        let eml = fs::read_to_string(&path).unwrap();
        let (head, body) = eml
            .split_once("\r\n\r\n")
            .expect("headers, blank line, body");
        assert!(head.contains("\r\nTo: alice@example.com\r\n"), "{head}");
        assert!(head.contains("Subject: Reset your password\r\n"), "{head}");
        assert!(
            head.contains("From: \"Auth Service\" <no-reply@example.com>"),
            "{head}"
        );
        assert!(
            head.contains("@example.com>\r\n"),
            "Message-ID at the sender's domain"
        );
        assert!(head.contains("Date: "), "{head}");
        let boundary = head
            .split("boundary=\"")
            .nth(1)
            .and_then(|rest| rest.split('"').next())
            .expect("a multipart boundary");
        assert!(
            head.contains("Content-Type: multipart/alternative;"),
            "{head}"
        );
        let parts: Vec<_> = body.split(&format!("--{boundary}")).collect();
        // Preamble, text, HTML, and the closing `--`.
        assert_eq!(parts.len(), 4, "{body}");
        assert!(parts[3].starts_with("--"));
        assert!(parts[1].contains("Content-Type: text/plain; charset=utf-8"));
        assert!(unfold(parts[1]).contains(LINK));
        assert!(parts[2].contains("Content-Type: text/html; charset=utf-8"));
        assert!(unfold(parts[2]).contains(&format!("<a href=\"{LINK}\">")));
    }

    #[tokio::test]
    async fn an_unwritable_directory_is_transient() {
        let root = tempfile::tempdir().unwrap();
        let dir = root.path().join("gone");
        let mailer = DirectoryMailer::new(dir.clone(), "no-reply@example.com").unwrap();
        fs::remove_dir(&dir).unwrap();
        let result = mailer.send(&message()).await;
        let Err(MailError::Transient(text)) = result else {
            panic!("expected a transient error, got {result:?}");
        };
        assert!(!text.contains("token="), "{text}");
    }

    #[test]
    fn refuses_a_bad_from_or_directory() {
        let root = tempfile::tempdir().unwrap();
        assert!(matches!(
            DirectoryMailer::new(root.path().into(), "nobody"),
            Err(MailSetupError::From { .. })
        ));
        let file = root.path().join("file");
        fs::write(&file, "").unwrap();
        assert!(matches!(
            DirectoryMailer::new(file.join("sub"), "no-reply@example.com"),
            Err(MailSetupError::Directory { .. })
        ));
    }
}
