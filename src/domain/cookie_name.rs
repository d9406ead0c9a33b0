use std::fmt;

use thiserror::Error;

/// A cookie name as RFC 6265 allows it: an RFC 7230 token.
///
/// Browsers accept a few more characters, but a name outside the token
/// grammar is read differently by different parsers, so we refuse it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CookieName(String);

#[derive(Debug, Error, PartialEq, Eq)]
pub enum CookieNameError {
    #[error("the cookie name is empty")]
    Empty,
    #[error("the cookie name is longer than {max} bytes")]
    TooLong { max: usize },
    #[error(
        "the cookie name contains {0:?}, which a cookie name can't hold \
         (only letters, digits and !#$%&'*+-.^_`|~ are allowed)"
    )]
    NotAToken(char),
}

/// RFC 7230 `tchar`.
fn is_token_char(c: char) -> bool {
    u8::try_from(c).is_ok_and(crate::engine::grammar::is_token_byte)
}

impl CookieName {
    /// Both engines' limit for name+value; a longer name can never be stored.
    pub const MAX_BYTES: usize = crate::engine::MAX_NAME_VALUE_BYTES;

    pub fn parse(raw: &str) -> Result<Self, CookieNameError> {
        Self::check(raw)?;
        Ok(Self(raw.to_owned()))
    }

    /// What [`Self::parse`] checks, without keeping the name.
    pub fn check(raw: &str) -> Result<(), CookieNameError> {
        if raw.is_empty() {
            return Err(CookieNameError::Empty);
        }
        if raw.len() > Self::MAX_BYTES {
            return Err(CookieNameError::TooLong {
                max: Self::MAX_BYTES,
            });
        }
        if let Some(bad) = raw.chars().find(|c| !is_token_char(*c)) {
            return Err(CookieNameError::NotAToken(bad));
        }
        Ok(())
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for CookieName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_accepted() {
        for name in ["code", "userID", "__Host-id", "a.b_c-d!#$%&'*+^`|~"] {
            assert_eq!(CookieName::parse(name).unwrap().as_str(), name);
        }
    }

    #[test]
    fn non_tokens_are_refused_naming_the_character() {
        let cases = [
            ("", CookieNameError::Empty),
            ("a b", CookieNameError::NotAToken(' ')),
            ("a=b", CookieNameError::NotAToken('=')),
            ("a;b", CookieNameError::NotAToken(';')),
            ("a\"b", CookieNameError::NotAToken('"')),
            ("(x)", CookieNameError::NotAToken('(')),
            ("a\r\nb", CookieNameError::NotAToken('\r')),
            ("café", CookieNameError::NotAToken('é')),
        ];
        for (raw, want) in cases {
            assert_eq!(CookieName::parse(raw), Err(want), "{raw:?}");
        }
        assert_eq!(
            CookieName::parse(&"a".repeat(4097)),
            Err(CookieNameError::TooLong { max: 4096 })
        );
    }
}
