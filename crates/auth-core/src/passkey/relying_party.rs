//! The relying party: the site passkeys are registered for. Its id (the
//! host) and origin come from the service's public URL, parsed once at the
//! edge: an authenticator signs the origin it saw, so a passkey of
//! `https://auth.example.com` is useless to a phishing site.

use std::fmt;
use std::sync::Arc;

use webauthn_rs::prelude::Url;
use webauthn_rs::{Webauthn, WebauthnBuilder};

/// Why a public URL cannot be a relying party.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RelyingPartyError {
    /// Not a URL.
    #[error("{url}: not a URL ({reason})")]
    NotAUrl {
        /// What was given.
        url: String,
        /// The parser's complaint.
        reason: String,
    },
    /// `http` other than `localhost`, or another scheme: browsers offer
    /// WebAuthn only to secure contexts.
    #[error("{url}: passkeys need https (http only for http://localhost)")]
    NotSecure {
        /// What was given.
        url: String,
    },
    /// An IP address: an RP ID must be a domain name.
    #[error("{url}: passkeys need a domain name, not an IP address")]
    IpAddress {
        /// What was given.
        url: String,
    },
    /// A query, fragment or user info, or no host: the relying party is an
    /// origin (a path is allowed: it only prefixes the mail links).
    #[error("{url}: passkeys need an origin, optionally with a path (no query, fragment or user)")]
    NotAnOrigin {
        /// What was given.
        url: String,
    },
    /// webauthn-rs refused the id and origin.
    #[error("{url}: webauthn-rs refused it as a relying party ({reason})")]
    Refused {
        /// What was given.
        url: String,
        /// Its complaint.
        reason: String,
    },
}

/// The relying party: the RP ID (the public URL's host) and the one origin
/// assertions must come from. Cheap to clone.
///
/// ```
/// use auth_core::{RelyingParty, RelyingPartyError};
/// let rp = RelyingParty::from_public_url("https://auth.example.com")?;
/// assert_eq!(rp.id(), "auth.example.com");
/// assert_eq!(rp.origin(), "https://auth.example.com");
/// assert_eq!(RelyingParty::from_public_url("http://localhost:5000")?.origin(), "http://localhost:5000");
/// assert!(matches!(RelyingParty::from_public_url("http://example.com"), Err(RelyingPartyError::NotSecure { .. })));
/// assert!(matches!(RelyingParty::from_public_url("https://10.0.0.1"), Err(RelyingPartyError::IpAddress { .. })));
/// // A path prefix (for the mail links) leaves the origin as it is.
/// assert_eq!(RelyingParty::from_public_url("https://example.com/auth/")?.origin(), "https://example.com");
/// assert!(matches!(RelyingParty::from_public_url("https://example.com/?x=1"), Err(RelyingPartyError::NotAnOrigin { .. })));
/// # Ok::<(), RelyingPartyError>(())
/// ```
#[derive(Clone)]
pub struct RelyingParty {
    id: String,
    origin: String,
    webauthn: Arc<Webauthn>,
}

impl fmt::Debug for RelyingParty {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RelyingParty")
            .field("id", &self.id)
            .field("origin", &self.origin)
            .finish_non_exhaustive()
    }
}

impl RelyingParty {
    /// Parses the service's public URL (`--public-url`) as a relying
    /// party, named `name` in the browser's prompts.
    ///
    /// # Errors
    /// A [`RelyingPartyError`] saying what is wrong with the URL.
    pub fn from_public_url(url: &str) -> Result<Self, RelyingPartyError> {
        Self::named(url, "auth-server")
    }

    /// As [`RelyingParty::from_public_url`], with the name the browser shows.
    ///
    /// # Errors
    /// As [`RelyingParty::from_public_url`].
    pub fn named(url: &str, name: &str) -> Result<Self, RelyingPartyError> {
        let given = || url.to_owned();
        let parsed = Url::parse(url).map_err(|error| RelyingPartyError::NotAUrl {
            url: given(),
            reason: error.to_string(),
        })?;
        let host = match parsed.host() {
            Some(url::Host::Domain(host)) => host.to_owned(),
            Some(_) => return Err(RelyingPartyError::IpAddress { url: given() }),
            None => return Err(RelyingPartyError::NotAnOrigin { url: given() }),
        };
        match parsed.scheme() {
            "https" => {}
            "http" if host == "localhost" => {}
            _ => return Err(RelyingPartyError::NotSecure { url: given() }),
        }
        // The path is not part of an origin: browsers sign
        // scheme://host[:port] whatever page the ceremony runs on.
        if parsed.query().is_some()
            || parsed.fragment().is_some()
            || !parsed.username().is_empty()
            || parsed.password().is_some()
        {
            return Err(RelyingPartyError::NotAnOrigin { url: given() });
        }
        let origin = parsed.origin().ascii_serialization();
        let origin_url = Url::parse(&origin).map_err(|error| RelyingPartyError::NotAUrl {
            url: given(),
            reason: error.to_string(),
        })?;
        let refused = |error: webauthn_rs::prelude::WebauthnError| RelyingPartyError::Refused {
            url: given(),
            reason: error.to_string(),
        };
        let webauthn = WebauthnBuilder::new(&host, &origin_url)
            .map_err(refused)?
            .rp_name(name)
            .build()
            .map_err(refused)?;
        Ok(Self {
            id: host,
            origin,
            webauthn: Arc::new(webauthn),
        })
    }

    /// The RP ID: the public URL's host.
    pub fn id(&self) -> &str {
        &self.id
    }

    /// The one origin accepted (`https://host[:port]`).
    pub fn origin(&self) -> &str {
        &self.origin
    }

    pub(crate) fn webauthn(&self) -> &Webauthn {
        &self.webauthn
    }
}
