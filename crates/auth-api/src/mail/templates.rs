//! [`TemplateComposer`]: messages from minijinja templates, built in or
//! an operator's.

use std::collections::BTreeMap;
use std::fmt;
use std::path::Path;
use std::sync::Arc;

use auth_core::{Clock, Letter, MailComposer, MailError, MailKind, MailMessage, SystemClock};
use chrono::{DateTime, SecondsFormat, Utc};
use minijinja::{Environment, UndefinedBehavior, Value};
use url::Url;

use super::{MailSetupError, one_line};

#[cfg(test)]
mod tests;

/// The three templates of a kind, by file-name suffix.
const PARTS: [&str; 3] = [".subject.txt", ".txt", ".html"];

/// The built-in template `<kind><suffix>`, from `templates/mail/`.
macro_rules! builtin {
    ($($kind:ident => $name:literal),* $(,)?) => {
        fn builtin(kind: MailKind, suffix: &str) -> Option<&'static str> {
            match (kind, suffix) {
                $(
                    (MailKind::$kind, ".subject.txt") => Some(include_str!(concat!(
                        "../../templates/mail/", $name, ".subject.txt"
                    ))),
                    (MailKind::$kind, ".txt") => Some(include_str!(concat!(
                        "../../templates/mail/", $name, ".txt"
                    ))),
                    (MailKind::$kind, ".html") => Some(include_str!(concat!(
                        "../../templates/mail/", $name, ".html"
                    ))),
                )*
                _ => None,
            }
        }
    };
}

builtin!(
    EmailVerification => "email_verification",
    PasswordReset => "password_reset",
    PasswordChanged => "password_changed",
    EmailChanged => "email_changed",
);

/// Writes each [`MailKind`] from three templates: `<kind>.subject.txt`,
/// `<kind>.txt` and `<kind>.html` (`<kind>` is [`MailKind::as_str`]).
/// `.html` templates are HTML-escaped; the others are not.
///
/// Variables: `product`, `username`, `email` (the recipient), and, for the
/// kinds with a link (`email_verification`, `password_reset`), `link`,
/// `expires_at` (RFC 3339, UTC) and `expires_in_minutes` (rounded up).
/// Printing an undefined variable is an error (a typo must not send a
/// blank link); `{% if link %}` is allowed.
#[derive(Clone)]
pub struct TemplateComposer {
    env: Environment<'static>,
    product: String,
    reset: Url,
    verify: Url,
    clock: Arc<dyn Clock>,
}

/// What one message's templates see; `link` is absent for notices.
struct Vars<'a> {
    username: &'a str,
    email: &'a str,
    link: Option<(String, DateTime<Utc>)>,
}

impl TemplateComposer {
    /// A composer whose links start at `public_url` (a path prefix is kept:
    /// `https://example.com/auth/` gives `https://example.com/auth/reset?token=…`).
    /// A file in `override_dir` named like a template replaces that one;
    /// the rest stay built in. Every template is compiled and rendered once
    /// with sample values here, so a broken one stops the server at start.
    ///
    /// # Errors
    /// [`MailSetupError::PublicUrl`] unless `public_url` is `http(s)` with
    /// no query or fragment; [`MailSetupError::Template`], naming the file,
    /// for one that cannot be read, compiled or rendered.
    pub fn new(
        public_url: &Url,
        product: &str,
        override_dir: Option<&Path>,
    ) -> Result<Self, MailSetupError> {
        let base = link_base(public_url)?;
        let join = |path: &str| {
            base.join(path)
                .map_err(|error| MailSetupError::PublicUrl(error.to_string()))
        };
        let mut env = Environment::new();
        env.set_undefined_behavior(UndefinedBehavior::SemiStrict);
        let mut files = BTreeMap::new();
        for kind in MailKind::ALL {
            for suffix in PARTS {
                let name = format!("{}{suffix}", kind.as_str());
                let (source, file) = source_of(kind, suffix, &name, override_dir)?;
                env.add_template_owned(name.clone(), source)
                    .map_err(|error| template_error(&file, &error))?;
                files.insert(name, file);
            }
        }
        if let Some(dir) = override_dir {
            warn_unknown_files(dir, &files);
        }
        let composer = Self {
            env,
            product: product.to_owned(),
            reset: join("reset")?,
            verify: join("verify")?,
            clock: Arc::new(SystemClock),
        };
        composer.check_all(&files)?;
        Ok(composer)
    }

    /// The same composer, counting `expires_in_minutes` from `clock`.
    #[must_use]
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> Self {
        self.clock = clock;
        self
    }

    /// The page a link of `kind` opens, or `None` for a notice.
    fn page(&self, kind: MailKind) -> Option<&Url> {
        match kind {
            MailKind::EmailVerification => Some(&self.verify),
            MailKind::PasswordReset => Some(&self.reset),
            MailKind::PasswordChanged | MailKind::EmailChanged => None,
        }
    }

    fn link(&self, kind: MailKind, token: &str) -> Option<String> {
        let mut link = self.page(kind)?.clone();
        link.query_pairs_mut().clear().append_pair("token", token);
        Some(link.into())
    }

    /// Subject, text and HTML; on failure, the template's name and error.
    fn render(
        &self,
        kind: MailKind,
        vars: &Vars<'_>,
    ) -> Result<[String; 3], (String, minijinja::Error)> {
        let mut context = BTreeMap::from([
            ("product", Value::from(self.product.as_str())),
            ("username", Value::from(vars.username)),
            ("email", Value::from(vars.email)),
        ]);
        if let Some((link, expires_at)) = &vars.link {
            let left = (*expires_at - self.clock.now()).num_seconds();
            let seconds = u64::try_from(left).unwrap_or(0);
            context.insert("link", Value::from(link.as_str()));
            context.insert(
                "expires_at",
                Value::from(expires_at.to_rfc3339_opts(SecondsFormat::Secs, true)),
            );
            context.insert("expires_in_minutes", Value::from(seconds.div_ceil(60)));
        }
        let context = Value::from(context);
        let mut out = [String::new(), String::new(), String::new()];
        for (slot, suffix) in out.iter_mut().zip(PARTS) {
            let name = format!("{}{suffix}", kind.as_str());
            *slot = self
                .env
                .get_template(&name)
                .and_then(|template| template.render(&context))
                .map_err(|error| (name, error))?;
        }
        Ok(out)
    }

    /// Renders every template with sample values.
    fn check_all(&self, files: &BTreeMap<String, String>) -> Result<(), MailSetupError> {
        let expires_at = self.clock.now() + chrono::TimeDelta::hours(1);
        for kind in MailKind::ALL {
            let vars = Vars {
                username: "sample_user",
                email: "user@example.com",
                link: self
                    .link(kind, &"A".repeat(43))
                    .map(|link| (link, expires_at)),
            };
            self.render(kind, &vars).map_err(|(name, error)| {
                let file = files.get(&name).map_or(name.as_str(), String::as_str);
                template_error(file, &error)
            })?;
        }
        Ok(())
    }
}

impl MailComposer for TemplateComposer {
    fn compose(&self, letter: &Letter<'_>) -> Result<MailMessage, MailError> {
        let kind = letter.kind;
        let link = match (letter.token, letter.expires_at) {
            _ if self.page(kind).is_none() => None,
            (Some(token), Some(expires_at)) => self
                .link(kind, token.as_str())
                .map(|link| (link, expires_at)),
            _ => {
                return Err(MailError::Rejected(format!(
                    "a {} mail needs a token and its expiry",
                    kind.as_str()
                )));
            }
        };
        let vars = Vars {
            username: letter.username.as_str(),
            email: letter.to.as_str(),
            link,
        };
        // The error's kind and place only: its detail may quote a value (the link).
        let [subject, text, html] = self.render(kind, &vars).map_err(|(name, error)| {
            MailError::Rejected(format!(
                "template {name} line {}: {}",
                error.line().unwrap_or(0),
                error.kind()
            ))
        })?;
        Ok(MailMessage {
            to: letter.to.clone(),
            subject: one_line(&subject),
            text,
            html,
        })
    }
}

impl fmt::Debug for TemplateComposer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TemplateComposer")
            .field("product", &self.product)
            .field("reset", &self.reset.as_str())
            .field("verify", &self.verify.as_str())
            .finish_non_exhaustive()
    }
}

/// `public_url` as a base to join pages onto: with a trailing `/`, or
/// `https://example.com/auth` + `reset` would be `https://example.com/reset`.
fn link_base(public_url: &Url) -> Result<Url, MailSetupError> {
    if !matches!(public_url.scheme(), "http" | "https") {
        return Err(MailSetupError::PublicUrl(format!(
            "{public_url}: not http or https"
        )));
    }
    if public_url.query().is_some() || public_url.fragment().is_some() {
        return Err(MailSetupError::PublicUrl(format!(
            "{public_url}: a query or fragment cannot prefix a link"
        )));
    }
    let mut base = public_url.clone();
    if !base.path().ends_with('/') {
        let path = format!("{}/", base.path());
        base.set_path(&path);
    }
    Ok(base)
}

/// A template's source, and how to name its file in an error: the
/// operator's file if there is one, else the built-in one.
fn source_of(
    kind: MailKind,
    suffix: &str,
    name: &str,
    override_dir: Option<&Path>,
) -> Result<(String, String), MailSetupError> {
    if let Some(dir) = override_dir {
        let path = dir.join(name);
        match std::fs::read_to_string(&path) {
            Ok(source) => return Ok((source, path.display().to_string())),
            Err(error) if error.kind() == std::io::ErrorKind::NotFound && dir.is_dir() => {}
            Err(error) => {
                let file = if dir.is_dir() { &path } else { dir };
                return Err(MailSetupError::Template {
                    file: file.display().to_string(),
                    reason: error.to_string(),
                });
            }
        }
    }
    let source = builtin(kind, suffix).ok_or_else(|| MailSetupError::Template {
        file: name.to_owned(),
        reason: "no such built-in template".to_owned(),
    })?;
    Ok((source.to_owned(), format!("built-in {name}")))
}

/// Names the files in `dir` that no template reads: likely a typo.
fn warn_unknown_files(dir: &Path, known: &BTreeMap<String, String>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let name = entry.file_name().to_string_lossy().into_owned();
        // Dot files: editors' and Kubernetes' (`..data`) bookkeeping.
        if !name.starts_with('.') && !known.contains_key(&name) {
            tracing::warn!(file = %entry.path().display(), "not a mail template name, ignored");
        }
    }
}

fn template_error(file: &str, error: &minijinja::Error) -> MailSetupError {
    MailSetupError::Template {
        file: file.to_owned(),
        reason: error.to_string(),
    }
}
