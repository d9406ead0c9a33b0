//! RFC 6265's grammar for what a server *should* send: a token for a name,
//! cookie-octets (optionally double-quoted) for a value. Neither engine
//! enforces it — both store far more — so it decides advice and what
//! cookie-lab itself writes, never a verdict. One definition for both.

/// RFC 7230 `tchar`, the bytes of an RFC 6265 cookie name.
pub fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// A non-empty RFC 7230 token.
pub fn is_token(name: &[u8]) -> bool {
    !name.is_empty() && name.iter().copied().all(is_token_byte)
}

/// RFC 6265 §4.1.1 `cookie-octet`: visible ASCII but `"`, `,`, `;` and `\`.
pub fn is_cookie_octet(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E)
}

/// A value without the double quotes of RFC 6265's quoted form, if it has
/// them.
pub fn unquoted(value: &[u8]) -> &[u8] {
    value
        .strip_prefix(b"\"")
        .and_then(|v| v.strip_suffix(b"\""))
        .unwrap_or(value)
}

/// An RFC 6265 `cookie-value`: cookie-octets, optionally inside double quotes.
pub fn is_cookie_value(value: &[u8]) -> bool {
    unquoted(value).iter().copied().all(is_cookie_octet)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tokens_are_rfc_7230_tokens() {
        assert!(is_token(b"session_id"));
        assert!(is_token(b"!#$%&'*+-.^_`|~"));
        assert!(!is_token(b""));
        assert!(!is_token(b"a b"));
        assert!(!is_token(b"(x)"));
        assert!(!is_token("é".as_bytes()));
    }

    #[test]
    fn cookie_values_are_octets_maybe_quoted() {
        assert!(is_cookie_value(b"abc"));
        assert!(is_cookie_value(b"\"abc\""));
        assert!(is_cookie_value(b""));
        assert!(!is_cookie_value(b"a b"));
        assert!(!is_cookie_value(b"a,b"));
        assert!(!is_cookie_value(b"\"a"));
        assert!(!is_cookie_value("é".as_bytes()));
        assert_eq!(unquoted(b"\"x\""), b"x");
        assert_eq!(unquoted(b"\""), b"\"");
    }
}
