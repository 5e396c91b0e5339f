//! The cookies: `session` (set on login, cleared on logout) and `device`
//! (set on a client's first login to an account; see `auth_core::DevicePolicy`).

use std::time::Duration;

use auth_core::DeviceToken;
use poem::http::HeaderMap;
use poem::http::header::COOKIE;
use poem::web::cookie::{Cookie, SameSite};

/// Name of the session cookie (the original service's name; clients rely on it).
pub const SESSION_COOKIE: &str = "session";

/// Name of the device cookie.
pub const DEVICE_COOKIE: &str = "device";

/// Where the device cookie is sent: only to the login routes, which are all
/// that read it.
pub const DEVICE_COOKIE_PATH: &str = "/login";

/// How the cookies are built.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CookieSettings {
    /// Add `Secure` (set it whenever clients reach the service over HTTPS).
    pub secure: bool,
    /// `Max-Age`: the session's absolute lifetime.
    pub max_age: Duration,
    /// `Max-Age` of the device cookie: how long it vouches.
    pub device_max_age: Duration,
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

    /// `device=<token>; HttpOnly; SameSite=Strict; Path=/login; Max-Age=<lifetime>`
    /// (+ `Secure`): strict, since only a login the user makes on this
    /// site should count as coming from the device.
    pub fn device(&self, token: &DeviceToken) -> String {
        let mut cookie = Cookie::new_with_str(DEVICE_COOKIE, token.as_str());
        cookie.set_http_only(true);
        cookie.set_same_site(SameSite::Strict);
        cookie.set_path(DEVICE_COOKIE_PATH);
        cookie.set_secure(self.secure);
        cookie.set_max_age(self.device_max_age);
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

/// The device cookie of a request, if it has one that parses; any other
/// value is ignored (the request is then from an unknown client, which is
/// what a forged or stale cookie makes it).
pub fn device_token(headers: &HeaderMap) -> Option<DeviceToken> {
    headers
        .get_all(COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == DEVICE_COOKIE)
        .and_then(|(_, value)| DeviceToken::parse(value).ok())
}

#[cfg(test)]
mod tests {
    use super::*;
    use poem::http::HeaderValue;

    #[test]
    fn the_device_cookie_is_found_among_others_and_garbage_is_ignored() {
        let token = DeviceToken::generate().unwrap();
        let mut headers = HeaderMap::new();
        headers.append(COOKIE, HeaderValue::from_static("session=abc; theme=dark"));
        let pair = format!("other=1; {DEVICE_COOKIE}={}", token.as_str());
        headers.append(COOKIE, HeaderValue::from_str(&pair).unwrap());
        assert_eq!(device_token(&headers), Some(token));

        let mut forged = HeaderMap::new();
        forged.insert(COOKIE, HeaderValue::from_static("device=not-a-token"));
        assert_eq!(device_token(&forged), None);
        assert_eq!(device_token(&HeaderMap::new()), None);
    }

    #[test]
    fn the_device_cookie_is_strict_http_only_and_scoped_to_login() {
        let settings = CookieSettings {
            secure: true,
            max_age: Duration::from_secs(60),
            device_max_age: Duration::from_secs(86_400),
        };
        let token = DeviceToken::generate().unwrap();
        let text = settings.device(&token);
        for part in [
            "HttpOnly",
            "SameSite=Strict",
            "Path=/login",
            "Max-Age=86400",
            "Secure",
        ] {
            assert!(text.contains(part), "{text} lacks {part}");
        }
    }
}
