use std::fmt;

use thiserror::Error;

/// An email address for the login app.
///
/// Deliberately loose (one `@`, something on each side, no spaces or control
/// characters, at most 254 bytes as RFC 5321 allows): the demo has no mail to
/// deliver, so the check only has to keep garbage out of the login cookie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

#[derive(Debug, Clone, Error, PartialEq, Eq)]
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
        Self::check(email)?;
        Ok(Self(email.to_owned()))
    }

    /// [`Email::parse`], keeping `raw`'s own buffer (trimmed in place): a
    /// form field is already a String, so no copy is made.
    pub fn parse_owned(mut raw: String) -> Result<Self, EmailError> {
        let start = raw.len() - raw.trim_start().len();
        let end = raw.trim_end().len();
        Self::check(&raw[start..end.max(start)])?;
        raw.truncate(end);
        raw.drain(..start);
        Ok(Self(raw))
    }

    /// The rules, on the trimmed text.
    fn check(email: &str) -> Result<(), EmailError> {
        if email.is_empty() {
            return Err(EmailError::Empty);
        }
        if email.len() > Self::MAX_BYTES {
            return Err(EmailError::TooLong);
        }
        // In ASCII the whitespace and control characters are exactly the
        // bytes up to the space, and DEL; an @ is only ever the byte 0x40 in
        // UTF-8. One branch-free pass counts both; text with non-ASCII also
        // gets the char tests.
        let bytes = email.as_bytes();
        let (mut forbidden, mut ats) = (false, 0usize);
        for &b in bytes {
            forbidden |= (b <= b' ') | (b == 0x7f);
            ats += usize::from(b == b'@');
        }
        if !email.is_ascii() {
            forbidden |= email.chars().any(|c| c.is_whitespace() || c.is_control());
        }
        if forbidden {
            return Err(EmailError::ForbiddenCharacter);
        }
        // Exactly one @, with text on both sides.
        match bytes.iter().position(|&b| b == b'@') {
            Some(at) if ats == 1 && at > 0 && at + 1 < bytes.len() => Ok(()),
            _ => Err(EmailError::Shape),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
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
            assert_eq!(Email::parse(raw), Err(want.clone()), "{raw:?}");
            assert_eq!(Email::parse_owned(raw.to_owned()), Err(want), "{raw:?}");
        }
    }

    #[test]
    fn parse_owned_trims_like_parse() {
        for raw in [
            "ada@example.com",
            "  ada@example.com ",
            "\tada@example.com",
            "ada@example.com\u{3000}",
            "\u{a0}é@exämple.org\n",
        ] {
            assert_eq!(
                Email::parse_owned(raw.to_owned()),
                Email::parse(raw),
                "{raw:?}"
            );
        }
        assert_eq!(
            Email::parse_owned(" ada@example.com ".to_owned())
                .unwrap()
                .as_str(),
            "ada@example.com"
        );
    }

    #[test]
    fn every_ascii_space_or_control_character_is_forbidden() {
        // The byte test for ASCII must agree with the char test.
        for byte in 0..=0x7fu8 {
            let c = char::from(byte);
            let email = format!("a{c}b@example.com");
            let forbidden = c.is_whitespace() || c.is_control();
            assert_eq!(
                Email::parse(&email) == Err(EmailError::ForbiddenCharacter),
                forbidden,
                "{c:?}"
            );
        }
        for c in ['\u{85}', '\u{a0}', '\u{2028}', '\u{3000}', '\u{200b}'] {
            let forbidden = c.is_whitespace() || c.is_control();
            assert_eq!(
                Email::parse(&format!("a{c}b@example.com")) == Err(EmailError::ForbiddenCharacter),
                forbidden,
                "{c:?}"
            );
        }
    }
}
