//! Email addresses on accounts: parsed at the edge, unique without regard
//! to case.

use std::fmt;

/// The longest address accepted, in bytes: the SMTP path limit (RFC 5321
/// §4.5.3.1.3, 256 octets with the angle brackets).
pub const EMAIL_MAX_LEN: usize = 254;

/// Why an address was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum EmailError {
    /// Not an `addr-spec` (RFC 5322), longer than [`EMAIL_MAX_LEN`], or
    /// with a part the address crate refuses.
    #[error("not a valid email address")]
    Invalid,
}

/// A validated email address, kept as typed (mail goes to what the user
/// typed) with its canonical key: the whole address lower-cased, so
/// `Alice@Example.com` and `alice@example.com` are one address. (Local
/// parts are case-sensitive in theory and never in practice; treating them
/// as one stops two accounts claiming one mailbox.)
///
/// ```
/// use auth_core::EmailAddress;
/// let email = EmailAddress::parse("  Alice@Example.COM ")?;
/// assert_eq!(email.as_str(), "Alice@Example.COM");
/// assert_eq!(email.canonical(), "alice@example.com");
/// assert_eq!(email, EmailAddress::parse("alice@example.com")?);
/// assert!(EmailAddress::parse("alice").is_err());
/// assert!(EmailAddress::parse("alice@").is_err());
/// assert!(EmailAddress::parse("Alice <alice@example.com>").is_err());
/// # Ok::<(), auth_core::EmailError>(())
/// ```
#[derive(Clone)]
pub struct EmailAddress {
    typed: String,
    canonical: String,
}

impl EmailAddress {
    /// Parses an address (surrounding whitespace removed). Only a bare
    /// `local@domain` is accepted: no display name, no comments, a domain
    /// with a dot or an address literal.
    ///
    /// # Errors
    /// [`EmailError::Invalid`].
    pub fn parse(input: &str) -> Result<Self, EmailError> {
        let typed = input.trim();
        if typed.is_empty() || typed.len() > EMAIL_MAX_LEN || typed.chars().any(char::is_control) {
            return Err(EmailError::Invalid);
        }
        let options = email_address::Options::default()
            .without_display_text()
            .without_domain_literal();
        let parsed = email_address::EmailAddress::parse_with_options(typed, options)
            .map_err(|_| EmailError::Invalid)?;
        // `a@localhost` is valid RFC 5322 but no one's real mailbox.
        if !parsed.domain().contains('.') {
            return Err(EmailError::Invalid);
        }
        Ok(Self {
            typed: typed.to_owned(),
            canonical: typed.to_lowercase(),
        })
    }

    /// Rebuilds an address read back from storage (as typed); `None` if it
    /// no longer parses.
    pub fn from_stored(typed: &str) -> Option<Self> {
        Self::parse(typed).ok()
    }

    /// The address as typed.
    pub fn as_str(&self) -> &str {
        &self.typed
    }

    /// The key that is unique across accounts.
    pub fn canonical(&self) -> &str {
        &self.canonical
    }
}

impl PartialEq for EmailAddress {
    fn eq(&self, other: &Self) -> bool {
        self.canonical == other.canonical
    }
}

impl Eq for EmailAddress {}

impl std::hash::Hash for EmailAddress {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.canonical.hash(state);
    }
}

impl fmt::Display for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.typed)
    }
}

impl fmt::Debug for EmailAddress {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EmailAddress({})", self.typed)
    }
}

/// An account's address and whether its owner proved it (by following the
/// verification link mailed to it). Changing the address makes it
/// unverified again: the rule lives here.
///
/// ```
/// use auth_core::{EmailAddress, UserEmail};
/// let email = UserEmail::unverified(EmailAddress::parse("alice@example.com")?);
/// assert!(!email.verified);
/// assert!(email.verify(&EmailAddress::parse("ALICE@example.com")?).verified);
/// # Ok::<(), auth_core::EmailError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserEmail {
    /// The address.
    pub address: EmailAddress,
    /// Whether a verification link sent to it was followed.
    pub verified: bool,
}

impl UserEmail {
    /// A new address, not yet verified.
    pub fn unverified(address: EmailAddress) -> Self {
        Self {
            address,
            verified: false,
        }
    }

    /// Marks it verified if `proved` is this address (a link mailed to an
    /// earlier address proves nothing about this one).
    #[must_use]
    pub fn verify(mut self, proved: &EmailAddress) -> Self {
        if self.address == *proved {
            self.verified = true;
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refuses_what_is_not_a_bare_address() {
        for bad in [
            "",
            "   ",
            "a",
            "@example.com",
            "a@",
            "a@b",
            "a b@example.com",
            "a@[127.0.0.1]",
            "Alice <a@example.com>",
            "a\r\n@example.com",
        ] {
            assert_eq!(
                EmailAddress::parse(bad).map(|e| e.typed),
                Err(EmailError::Invalid),
                "{bad:?}"
            );
        }
        let long = format!("{}@example.com", "a".repeat(EMAIL_MAX_LEN));
        assert!(EmailAddress::parse(&long).is_err());
    }

    #[test]
    fn case_does_not_make_a_second_address() {
        let a = EmailAddress::parse("Bob.Smith@Example.org").map(|e| e.canonical);
        assert_eq!(a.as_deref(), Ok("bob.smith@example.org"));
    }
}
