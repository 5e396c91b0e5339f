//! `GET /reset` and `GET /verify`: the small pages behind the links in
//! mail; `GET /passkeys`: registering, using and removing passkeys, which
//! only a page of the service's own origin can do (a passkey is bound to
//! it). Each is one HTML document with its style and script inline, and a
//! Content-Security-Policy that allows exactly those (by hash) and requests
//! to this origin: no external asset, no other script. Opening a page
//! spends nothing; its script posts the link's token only when the user
//! submits (mail scanners follow links).

use std::sync::LazyLock;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use poem_openapi::payload::Html;
use poem_openapi::{ApiResponse, OpenApi};
use sha2::{Digest, Sha256};

use super::ApiTags;

const STYLE: &str = include_str!("../../pages/page.css");

/// A page, with the policy that lets exactly its own style and script run.
struct Page {
    html: String,
    policy: String,
}

impl Page {
    fn new(template: &str, script: &str) -> Self {
        let hash = |text: &str| STANDARD.encode(Sha256::digest(text.as_bytes()));
        Self {
            html: template
                .replace("{{STYLE}}", STYLE)
                .replace("{{SCRIPT}}", script),
            policy: format!(
                "default-src 'none'; script-src 'sha256-{}'; style-src 'sha256-{}'; \
                 connect-src 'self'; form-action 'none'; base-uri 'none'; frame-ancestors 'none'",
                hash(script),
                hash(STYLE),
            ),
        }
    }

    fn response(&self) -> PageResponse {
        PageResponse::Ok(Html(self.html.clone()), self.policy.clone())
    }
}

static RESET: LazyLock<Page> = LazyLock::new(|| {
    Page::new(
        include_str!("../../pages/reset.html"),
        include_str!("../../pages/reset.js"),
    )
});

static VERIFY: LazyLock<Page> = LazyLock::new(|| {
    Page::new(
        include_str!("../../pages/verify.html"),
        include_str!("../../pages/verify.js"),
    )
});

static PASSKEYS: LazyLock<Page> = LazyLock::new(|| {
    Page::new(
        include_str!("../../pages/passkeys.html"),
        include_str!("../../pages/passkeys.js"),
    )
});

/// The built-in pages.
#[derive(Debug, Default)]
pub struct PagesApi;

/// A page.
#[derive(Debug, ApiResponse)]
pub enum PageResponse {
    /// The page.
    #[oai(status = 200)]
    Ok(
        Html<String>,
        /// Allows only the page's own inline style and script, and requests
        /// to this origin.
        #[oai(header = "Content-Security-Policy")]
        String,
    ),
}

#[OpenApi]
impl PagesApi {
    /// The password-reset page
    ///
    /// The page a reset link opens (`/reset?token=…`): a form for the new
    /// password that posts the token to `POST /password/reset`. Opening it
    /// spends nothing. For people, not programs: apps call `POST
    /// /password/reset` themselves.
    #[oai(
        path = "/reset",
        method = "get",
        operation_id = "reset_page",
        tag = "ApiTags::Recovery"
    )]
    async fn reset_page(&self) -> PageResponse {
        RESET.response()
    }

    /// The email-verification page
    ///
    /// The page a verification link opens (`/verify?token=…`): a button
    /// that posts the token to `POST /email/verify`. Opening it spends
    /// nothing.
    #[oai(
        path = "/verify",
        method = "get",
        operation_id = "verify_page",
        tag = "ApiTags::Recovery"
    )]
    async fn verify_page(&self) -> PageResponse {
        VERIFY.response()
    }

    /// The passkeys page
    ///
    /// Log in (password, or a passkey without a username), register a
    /// passkey, list and remove them: the browser offers a passkey only to
    /// pages of the origin it was registered for (`--public-url`), so this
    /// page is where an app without its own frontend gets them. For
    /// people, not programs.
    #[oai(
        path = "/passkeys",
        method = "get",
        operation_id = "passkeys_page",
        tag = "ApiTags::Passkeys"
    )]
    async fn passkeys_page(&self) -> PageResponse {
        PASSKEYS.response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_policy_allows_exactly_the_inline_script_and_style() {
        for page in [&*RESET, &*VERIFY, &*PASSKEYS] {
            assert!(!page.html.contains("{{"), "every placeholder filled");
            assert!(!page.html.contains("src=") && !page.html.contains("href="));
            let scripts = page.policy.matches("sha256-").count();
            assert_eq!(scripts, 2, "{}", page.policy);
            assert!(page.policy.starts_with("default-src 'none';"));
        }
    }
}
