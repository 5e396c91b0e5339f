//! Who is asking: what a use case knows of the request beyond its inputs,
//! for the limits (address, device cookie) and for what is recorded
//! (sessions and events keep the address and the user agent).

use std::fmt;
use std::net::IpAddr;

use crate::DeviceToken;

/// Longest user agent kept, in characters: longer ones are cut (a header
/// can be kilobytes; a session list shows a line).
pub const USER_AGENT_MAX_CHARS: usize = 256;

/// A client's `User-Agent`, as recorded: at most [`USER_AGENT_MAX_CHARS`]
/// characters, control characters replaced by `?`, never empty.
///
/// ```
/// use auth_core::UserAgent;
/// let agent = UserAgent::new("curl/8.5\u{7}x").ok_or("empty")?;
/// assert_eq!(agent.as_str(), "curl/8.5?x");
/// assert_eq!(UserAgent::new("x".repeat(1000).as_str()).map(|a| a.as_str().len()), Some(256));
/// assert_eq!(UserAgent::new("   "), None);
/// # Ok::<(), &str>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct UserAgent(String);

impl UserAgent {
    /// The recorded form of `header`, or `None` for a blank one.
    pub fn new(header: &str) -> Option<Self> {
        let trimmed = header.trim();
        if trimmed.is_empty() {
            return None;
        }
        let kept = trimmed
            .chars()
            .take(USER_AGENT_MAX_CHARS)
            .map(|c| if c.is_control() { '?' } else { c })
            .collect();
        Some(Self(kept))
    }

    /// Rebuilds one a store kept.
    pub fn from_stored(stored: String) -> Self {
        Self(stored)
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for UserAgent {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UserAgent({:?})", self.0)
    }
}

/// Who is asking, as far as the limits and the records care: the client
/// address (the address budgets; IPv6 per /64), the device cookie it
/// presented, its user agent.
///
/// ```
/// use auth_core::Client;
/// let client = Client::from_ip("203.0.113.5".parse().ok());
/// assert!(client.device.is_none());
/// assert_eq!(client.recorded_ip().as_deref(), Some("203.0.113.5"));
/// ```
#[derive(Debug, Clone, Default)]
pub struct Client {
    /// The client's address, if known.
    pub ip: Option<IpAddr>,
    /// The device cookie presented with the request, if it parses.
    pub device: Option<DeviceToken>,
    /// The `User-Agent` header, if any.
    pub user_agent: Option<UserAgent>,
    /// The request's id, recorded with its events (the API accepts 1–128
    /// characters of `A–Z a–z 0–9 - _ . :`).
    pub request_id: Option<String>,
    /// Whether the client keeps a device cookie if it is given one (a
    /// browser or an HTTP client with a cookie jar): only then does a login
    /// issue one ([`crate::LoginSuccess::device`]).
    pub keeps_device_cookie: bool,
}

impl Client {
    /// A client known by its address only.
    pub fn from_ip(ip: Option<IpAddr>) -> Self {
        Self {
            ip,
            ..Self::default()
        }
    }

    /// The address as sessions and events record it: canonical text
    /// (`::ffff:a.b.c.d` is `a.b.c.d`), the whole address, not its budget key.
    pub fn recorded_ip(&self) -> Option<String> {
        self.ip.map(|ip| ip.to_canonical().to_string())
    }
}
