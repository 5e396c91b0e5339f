//! The template tests, compiled only under `#[cfg(test)] mod tests;` in
//! `templates.rs`: no request or flag reaches them, and the unwraps are the
//! expectations.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use auth_core::{EmailAddress, ManualClock, OneTimeToken, Username};

use super::*;

fn composer(public_url: &str) -> TemplateComposer {
    TemplateComposer::new(&Url::parse(public_url).unwrap(), "Acme Auth", None).unwrap()
}

struct Fixture {
    to: EmailAddress,
    username: Username,
    token: OneTimeToken,
    expires_at: DateTime<Utc>,
}

impl Fixture {
    fn new() -> Self {
        Self {
            to: EmailAddress::parse("alice@example.com").unwrap(),
            username: Username::parse("alice").unwrap(),
            token: OneTimeToken::generate().unwrap(),
            expires_at: "2026-01-01T13:00:00Z".parse().unwrap(),
        }
    }

    fn letter(&self, kind: MailKind) -> Letter<'_> {
        let link = kind.token_purpose().is_some();
        Letter {
            kind,
            to: &self.to,
            username: &self.username,
            token: link.then_some(&self.token),
            expires_at: link.then_some(self.expires_at),
        }
    }
}

#[test]
fn every_kind_renders_subject_text_and_html() {
    let clock = ManualClock::new("2026-01-01T12:00:00Z".parse().unwrap());
    let composer = composer("https://auth.example.com").with_clock(Arc::new(clock));
    let fixture = Fixture::new();
    for kind in MailKind::ALL {
        let message = composer.compose(&fixture.letter(kind)).unwrap();
        assert_eq!(message.to, fixture.to);
        assert!(
            message.subject.contains("Acme Auth"),
            "{kind:?}: {}",
            message.subject
        );
        assert!(!message.subject.contains('\n'));
        assert!(message.text.contains("Hello alice,"), "{kind:?}");
        assert!(message.html.contains("Hello alice,"), "{kind:?}");
        assert!(message.html.starts_with("<!DOCTYPE html>"), "{kind:?}");
        let token = fixture.token.as_str();
        if kind.token_purpose().is_some() {
            for body in [&message.text, &message.html] {
                assert!(body.contains(token), "{kind:?}");
                assert!(body.contains("expires in 60 minutes"), "{kind:?}");
                assert!(body.contains("(2026-01-01T13:00:00Z)"), "{kind:?}");
            }
        } else {
            assert!(!message.text.contains(token) && !message.html.contains(token));
        }
    }
}

#[test]
fn builtins_and_pages_match_the_kinds() {
    let composer = composer("https://auth.example.com");
    for kind in MailKind::ALL {
        for suffix in PARTS {
            assert!(builtin(kind, suffix).is_some(), "{kind:?}{suffix}");
        }
        assert_eq!(
            composer.page(kind).is_some(),
            kind.token_purpose().is_some()
        );
    }
}

#[test]
fn links_keep_a_path_prefix() {
    let fixture = Fixture::new();
    let token = fixture.token.as_str();
    for (public_url, reset, verify) in [
        (
            "https://auth.example.com",
            "https://auth.example.com/reset?token=",
            "https://auth.example.com/verify?token=",
        ),
        (
            "https://example.com/auth/",
            "https://example.com/auth/reset?token=",
            "https://example.com/auth/verify?token=",
        ),
        (
            "http://localhost:8080/auth",
            "http://localhost:8080/auth/reset?token=",
            "http://localhost:8080/auth/verify?token=",
        ),
    ] {
        let composer = composer(public_url);
        let text = |kind| composer.compose(&fixture.letter(kind)).unwrap().text;
        assert!(text(MailKind::PasswordReset).contains(&format!("\n{reset}{token}\n")));
        assert!(text(MailKind::EmailVerification).contains(&format!("\n{verify}{token}\n")));
    }
}

#[test]
fn html_is_escaped_and_text_is_not() {
    let composer = TemplateComposer::new(
        &Url::parse("https://auth.example.com").unwrap(),
        "Acme & <Co>",
        None,
    )
    .unwrap();
    // A username cannot hold `<` or `&`; the templates must escape it anyway.
    let vars = Vars {
        username: "<b>&",
        email: "a&b@example.com",
        link: None,
    };
    let [subject, text, html] = composer.render(MailKind::PasswordChanged, &vars).unwrap();
    assert!(html.contains("Hello &lt;b&gt;&amp;,"), "{html}");
    assert!(html.contains("Acme &amp; &lt;Co&gt;") && !html.contains("<Co>"));
    assert!(text.contains("Hello <b>&,") && text.contains("Acme & <Co>"));
    assert!(subject.contains("Acme & <Co>"));

    let to = EmailAddress::parse("a&b@example.com").unwrap();
    let mut fixture = Fixture::new();
    fixture.to = to;
    let message = composer
        .compose(&fixture.letter(MailKind::EmailChanged))
        .unwrap();
    assert!(
        message.html.contains("a&amp;b@example.com"),
        "{}",
        message.html
    );
}

#[test]
fn an_override_replaces_one_template_only() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("password_reset.subject.txt"),
        "{{ product }}:\n  new password for {{ username }}\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("README"), "not a template").unwrap();
    let url = Url::parse("https://auth.example.com").unwrap();
    let composer = TemplateComposer::new(&url, "Acme", Some(dir.path())).unwrap();
    let fixture = Fixture::new();
    let reset = composer
        .compose(&fixture.letter(MailKind::PasswordReset))
        .unwrap();
    assert_eq!(reset.subject, "Acme: new password for alice");
    assert!(
        reset.text.contains("choose a new password"),
        "built-in text stays"
    );
    let verify = composer
        .compose(&fixture.letter(MailKind::EmailVerification))
        .unwrap();
    assert_eq!(verify.subject, "Confirm your email address for Acme");
}

#[test]
fn a_broken_override_fails_at_start_naming_its_file() {
    let url = Url::parse("https://auth.example.com").unwrap();
    for (file, source) in [
        ("email_changed.html", "<p>{% if username %}unclosed</p>"),
        ("email_changed.txt", "{{ username | no_such_filter }}"),
        // `link` is undefined in a notice: caught before the first message.
        ("password_changed.txt", "Reset at {{ link }}"),
    ] {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join(file), source).unwrap();
        let error = TemplateComposer::new(&url, "Acme", Some(dir.path())).unwrap_err();
        let MailSetupError::Template { file: named, .. } = &error else {
            panic!("{error}");
        };
        assert_eq!(
            *named,
            dir.path().join(file).display().to_string(),
            "{error}"
        );
    }
}

#[test]
fn a_missing_override_dir_fails_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing");
    let url = Url::parse("https://auth.example.com").unwrap();
    let error = TemplateComposer::new(&url, "Acme", Some(&missing)).unwrap_err();
    assert!(matches!(error, MailSetupError::Template { .. }), "{error}");
    assert!(error.to_string().contains("missing"), "{error}");
}

#[test]
fn a_link_kind_without_its_token_is_rejected() {
    let composer = composer("https://auth.example.com");
    let fixture = Fixture::new();
    for kind in [MailKind::PasswordReset, MailKind::EmailVerification] {
        let mut letter = fixture.letter(kind);
        letter.token = None;
        assert!(matches!(
            composer.compose(&letter),
            Err(MailError::Rejected(_))
        ));
        let mut letter = fixture.letter(kind);
        letter.expires_at = None;
        assert!(matches!(
            composer.compose(&letter),
            Err(MailError::Rejected(_))
        ));
    }
}

#[test]
fn refuses_a_public_url_that_cannot_prefix_links() {
    for url in [
        "mailto:a@example.com",
        "https://a.example.com/?x=1",
        "ftp://a.example.com/",
    ] {
        let result = TemplateComposer::new(&Url::parse(url).unwrap(), "Acme", None);
        assert!(matches!(result, Err(MailSetupError::PublicUrl(_))), "{url}");
    }
}
