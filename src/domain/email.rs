use std::fmt;

use thiserror::Error;

/// An email address for the login app.
///
/// Deliberately loose (one `@`, something on each side, no spaces or control
/// characters, at most 254 bytes as RFC 5321 allows): the demo has no mail to
/// deliver, so the check only has to keep garbage out of the login cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

#[derive(Debug, Error, PartialEq, Eq)]
pub enum EmailError {
    #[error("the email address is empty")]
    Empty,
    #[error("the email address is longer than 254 bytes")]
    TooLong,
    #[error("the email address contains spaces or control characters")]
    ForbiddenCharacter,
    #[error("the email address needs exactly one @ with text on both sides")]
    Shape,
}

impl Email {
    pub const MAX_BYTES: usize = 254;

    pub fn parse(raw: &str) -> Result<Self, EmailError> {
        let email = raw.trim();
        if email.is_empty() {
            return Err(EmailError::Empty);
        }
        if email.len() > Self::MAX_BYTES {
            return Err(EmailError::TooLong);
        }
        if email.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(EmailError::ForbiddenCharacter);
        }
        match email.split_once('@') {
            Some((local, domain))
                if !local.is_empty() && !domain.is_empty() && !domain.contains('@') =>
            {
                Ok(Self(email.to_owned()))
            }
            _ => Err(EmailError::Shape),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for Email {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_addresses_are_trimmed_and_kept() {
        assert_eq!(
            Email::parse("  ada@example.com ").unwrap().as_str(),
            "ada@example.com"
        );
        assert_eq!(
            Email::parse("é@exämple.org").unwrap().as_str(),
            "é@exämple.org"
        );
    }

    #[test]
    fn invalid_addresses_say_why() {
        let long = format!("{}@example.com", "a".repeat(250));
        let cases = [
            ("", EmailError::Empty),
            ("   ", EmailError::Empty),
            (long.as_str(), EmailError::TooLong),
            ("ada lovelace@example.com", EmailError::ForbiddenCharacter),
            ("ada@exa\u{7}mple.com", EmailError::ForbiddenCharacter),
            ("ada.example.com", EmailError::Shape),
            ("@example.com", EmailError::Shape),
            ("ada@", EmailError::Shape),
            ("a@b@c", EmailError::Shape),
        ];
        for (raw, want) in cases {
            assert_eq!(Email::parse(raw), Err(want), "{raw:?}");
        }
    }
}
