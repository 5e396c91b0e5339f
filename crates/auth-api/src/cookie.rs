//! The `session` cookie: set on login, cleared on logout.

use std::time::Duration;

use poem::web::cookie::{Cookie, SameSite};

/// Name of the session cookie (the original service's name; clients rely on it).
pub const SESSION_COOKIE: &str = "session";

/// How the session cookie is built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CookieSettings {
    /// Add `Secure` (set it whenever clients reach the service over HTTPS).
    pub secure: bool,
    /// `Max-Age`: the session's absolute lifetime.
    pub max_age: Duration,
}

impl CookieSettings {
    /// `session=<token>; HttpOnly; SameSite=Lax; Path=/; Max-Age=<lifetime>` (+ `Secure`).
    pub fn session(&self, token: &str) -> String {
        let mut cookie = self.base(token);
        cookie.set_max_age(self.max_age);
        cookie.to_string()
    }

    /// A cookie that clears `session` in the browser.
    pub fn removal(&self) -> String {
        let mut cookie = self.base("");
        cookie.make_removal();
        cookie.to_string()
    }

    fn base(&self, value: &str) -> Cookie {
        let mut cookie = Cookie::new_with_str(SESSION_COOKIE, value);
        cookie.set_http_only(true);
        cookie.set_same_site(SameSite::Lax);
        cookie.set_path("/");
        cookie.set_secure(self.secure);
        cookie
    }
}
