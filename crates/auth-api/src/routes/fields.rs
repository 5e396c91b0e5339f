//! Request fields whose schema states the length limits the domain enforces:
//! a new username ([`NewUsername`]) and a new password ([`NewPassword`]), for
//! `/register` and, later, every route that sets a password.
//!
//! The `minLength`/`maxLength` they put in the document are for clients,
//! SDKs and the e2e fuzzer; parsing does not check them. The domain does
//! (`Username::parse`, `PasswordPolicy::check`), so a body that breaks one
//! gets the answer it got before the schema stated the limits: `400
//! invalid_username` or `400 weak_password` with the domain's message, not
//! poem-openapi's validator failure (which would be `400 invalid_request`
//! with another sentence). The contract named those codes for these cases
//! first, and clients switch on them.
//!
//! Lengths count Unicode scalar values, as JSON Schema does. A username is
//! counted after NFKC normalisation, so a name whose normalised form is
//! shorter or longer (`ﬁ` becomes `fi`; a letter and a combining accent
//! become one character) can pass the schema and still be refused: one of
//! the username rules the schema cannot state, like its alphabet.
//!
//! The limits are read from `auth-core` ([`USERNAME_MIN_CHARS`],
//! [`PasswordPolicy::default`]). A server whose `Authenticator` is given
//! another password policy would still document the default's limits.

use std::borrow::Cow;

use auth_core::{PasswordPolicy, USERNAME_MAX_CHARS, USERNAME_MIN_CHARS};
use poem_openapi::registry::{MetaSchema, MetaSchemaRef};
use poem_openapi::types::{ParseError, ParseFromJSON, ParseResult, ToJSON, Type};
use serde_json::Value;

/// A string field whose schema says `minLength`/`maxLength` without
/// checking them: `$name`, its limits `(min, max)`, and how `Debug` shows it.
macro_rules! length_stated_string {
    ($(#[$meta:meta])* $name:ident, $limits:expr, |$value:ident, $f:ident| $debug:expr) => {
        $(#[$meta])*
        pub struct $name(String);

        impl $name {
            /// The value as sent.
            pub fn as_str(&self) -> &str {
                &self.0
            }

            /// The value as sent, owned.
            pub fn into_inner(self) -> String {
                self.0
            }

            /// `(minLength, maxLength)` as the schema states them.
            pub fn limits() -> (usize, usize) {
                $limits
            }
        }

        impl From<&str> for $name {
            fn from(value: &str) -> Self {
                Self(value.to_owned())
            }
        }

        impl std::fmt::Debug for $name {
            fn fmt(&self, $f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                let $value = &self.0;
                $debug
            }
        }

        impl Type for $name {
            const IS_REQUIRED: bool = true;
            type RawValueType = String;
            type RawElementValueType = String;

            fn name() -> Cow<'static, str> {
                "string".into()
            }

            fn schema_ref() -> MetaSchemaRef {
                let (min, max) = Self::limits();
                MetaSchemaRef::Inline(Box::new(MetaSchema {
                    min_length: Some(min),
                    max_length: Some(max),
                    ..MetaSchema::new("string")
                }))
            }

            fn as_raw_value(&self) -> Option<&String> {
                Some(&self.0)
            }

            fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a String> + 'a> {
                Box::new(std::iter::once(&self.0))
            }
        }

        impl ParseFromJSON for $name {
            /// Any JSON string, whatever its length: the domain decides.
            fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
                match value {
                    Some(Value::String(text)) => Ok(Self(text)),
                    other => Err(ParseError::expected_type(other.unwrap_or_default())),
                }
            }
        }

        impl ToJSON for $name {
            fn to_json(&self) -> Option<Value> {
                Some(Value::String(self.0.clone()))
            }
        }
    };
}

length_stated_string!(
    /// A username to register: 3–64 characters after NFKC normalisation
    /// (`Username::parse` checks them and the alphabet).
    NewUsername,
    (USERNAME_MIN_CHARS, USERNAME_MAX_CHARS),
    |value, f| f.debug_tuple("NewUsername").field(value).finish()
);

length_stated_string!(
    /// A password to set: 15–256 characters (`PasswordPolicy::check` checks
    /// them, its guessability and that it does not contain the username).
    NewPassword,
    {
        let policy = PasswordPolicy::default();
        (policy.min_chars, policy.max_chars)
    },
    |_value, f| f.write_str("NewPassword(***)")
);

/// A JSON string and nothing else. poem-openapi's `String` also takes a
/// number or a boolean (`{"username": 5}` reads as `"5"`), which the
/// document does not allow; the fields that pick an account or carry a
/// token take this instead, so `5` is `400 invalid_request`.
#[derive(Clone, PartialEq, Eq)]
pub struct Text(String);

impl Text {
    /// The value as sent.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The value as sent, owned.
    pub fn into_inner(self) -> String {
        self.0
    }
}

impl From<&str> for Text {
    fn from(value: &str) -> Self {
        Self(value.to_owned())
    }
}

/// Shows only the length: a `Text` may be a token.
impl std::fmt::Debug for Text {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Text({} chars)", self.0.chars().count())
    }
}

impl Type for Text {
    const IS_REQUIRED: bool = true;
    type RawValueType = String;
    type RawElementValueType = String;

    fn name() -> Cow<'static, str> {
        "string".into()
    }

    fn schema_ref() -> MetaSchemaRef {
        MetaSchemaRef::Inline(Box::new(MetaSchema::new("string")))
    }

    fn as_raw_value(&self) -> Option<&String> {
        Some(&self.0)
    }

    fn raw_element_iter<'a>(&'a self) -> Box<dyn Iterator<Item = &'a String> + 'a> {
        Box::new(std::iter::once(&self.0))
    }
}

impl ParseFromJSON for Text {
    fn parse_from_json(value: Option<Value>) -> ParseResult<Self> {
        match value {
            Some(Value::String(text)) => Ok(Self(text)),
            other => Err(ParseError::expected_type(other.unwrap_or_default())),
        }
    }
}

impl ToJSON for Text {
    fn to_json(&self) -> Option<Value> {
        Some(Value::String(self.0.clone()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn text_is_a_json_string_only() {
        assert_eq!(
            Text::parse_from_json(Some(Value::from("5")))
                .map(Text::into_inner)
                .ok(),
            Some("5".to_owned())
        );
        for other in [Value::from(5), Value::from(true), Value::Null] {
            assert!(Text::parse_from_json(Some(other)).is_err());
        }
        assert_eq!(format!("{:?}", Text::from("secret")), "Text(6 chars)");
    }

    #[test]
    fn the_schemas_state_the_contracts_limits() {
        assert_eq!(NewUsername::limits(), (3, 64));
        assert_eq!(NewPassword::limits(), (15, 256));
        let MetaSchemaRef::Inline(schema) = NewPassword::schema_ref() else {
            panic!("an inline string schema");
        };
        assert_eq!(
            (schema.ty, schema.min_length, schema.max_length),
            ("string", Some(15), Some(256))
        );
    }

    #[test]
    fn parsing_accepts_any_length_and_refuses_other_types() {
        let short = NewPassword::parse_from_json(Some(Value::String("x".into()))).unwrap();
        assert_eq!(short.as_str(), "x");
        assert!(NewUsername::parse_from_json(Some(Value::from(42))).is_err());
        assert!(NewUsername::parse_from_json(None).is_err());
    }

    #[test]
    fn a_new_password_never_shows_in_debug() {
        let password = NewPassword::from("tangerine maple orbit 42");
        assert_eq!(format!("{password:?}"), "NewPassword(***)");
    }
}
