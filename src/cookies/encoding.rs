//! Percent-encoding of cookie values, symmetric by construction.
//!
//! Written here rather than using `cookie`'s `encoded()` because that one
//! encodes by the URL userinfo set: it also escapes `:`, `/`, `=`, `@` and
//! more, which are legal cookie-octets. We escape exactly what RFC 6265
//! forbids in a value, plus `%` itself so that decoding is the inverse of
//! encoding for every string.
//!
//! RFC 6265 also allows a value in double quotes. Like Werkzeug (and so
//! httpbin), Go and Python's `http.cookies`, we treat those quotes as syntax:
//! `a="x"` reads as `x`. Our own encoding escapes `"`, so it never produces
//! that form and the round trip stays exact.

use std::borrow::Cow;

use percent_encoding::{AsciiSet, CONTROLS, percent_decode, utf8_percent_encode};

use crate::engine::grammar::{is_cookie_value, unquoted};

/// Everything that is not an RFC 6265 cookie-octet
/// ([`crate::engine::grammar::is_cookie_octet`], checked by a test), plus `%`. Bytes above
/// 0x7E (all of non-ASCII UTF-8) are always encoded by `percent_encoding`.
const NOT_COOKIE_OCTET: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b',')
    .add(b';')
    .add(b'\\')
    .add(b'%');

/// Encodes text for a `Set-Cookie` header.
pub fn encode_value(value: &str) -> Cow<'_, str> {
    utf8_percent_encode(value, NOT_COOKIE_OCTET).into()
}

/// Decodes a value read from a `Cookie` header: drops the quotes of RFC
/// 6265's quoted form, then percent-decodes.
///
/// `None` when the escapes don't decode to UTF-8: the caller shows the raw
/// text rather than guessing.
pub fn decode_value(raw: &str) -> Option<Cow<'_, str>> {
    percent_decode(unquoted(raw.as_bytes())).decode_utf8().ok()
}

/// True when `value` is already a legal RFC 6265 `cookie-value` (cookie-octets,
/// optionally in double quotes) with no `%` that decoding would read as an
/// escape: it can then go on the wire as is, as httpbin sends it.
pub fn is_plain_cookie_value(value: &str) -> bool {
    is_cookie_value(value.as_bytes()) && !unquoted(value.as_bytes()).contains(&b'%')
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::grammar::is_cookie_octet;

    #[test]
    fn exactly_the_bytes_that_are_no_cookie_octet_and_percent_are_escaped() {
        for b in 0u8..0x80 {
            let text = char::from(b).to_string();
            let escaped = encode_value(&text) != text.as_str();
            assert_eq!(escaped, !is_cookie_octet(b) || b == b'%', "byte {b:#04x}");
        }
    }

    #[test]
    fn cookie_octets_pass_through() {
        assert_eq!(encode_value("underscored"), "underscored");
        assert_eq!(encode_value("a:b/c=d@e?f"), "a:b/c=d@e?f");
    }

    #[test]
    fn forbidden_bytes_are_escaped() {
        assert_eq!(encode_value("a;b c"), "a%3Bb%20c");
        assert_eq!(encode_value("café"), "caf%C3%A9");
        assert_eq!(encode_value("a,b\\c"), "a%2Cb%5Cc");
        assert_eq!(encode_value("100%"), "100%25");
        assert_eq!(encode_value("line\r\nbreak"), "line%0D%0Abreak");
        assert_eq!(encode_value("\"bar:baz\""), "%22bar:baz%22");
    }

    #[test]
    fn the_escape_set_is_exactly_the_non_cookie_octets_and_percent() {
        for b in 0u8..=0x7F {
            let escaped = encode_value(std::str::from_utf8(&[b]).unwrap()).len() == 3;
            assert_eq!(escaped, !is_cookie_octet(b) || b == b'%', "byte {b:#04x}");
        }
    }

    #[test]
    fn decoding_inverts_encoding() {
        for value in [
            "",
            "a;b c",
            "café",
            "\"bar:baz\"",
            "\"",
            "100%",
            "%41",
            "日本語 🍪",
            "\u{0}\u{7f}",
        ] {
            assert_eq!(
                decode_value(&encode_value(value)).unwrap(),
                value,
                "{value:?}"
            );
        }
    }

    #[test]
    fn the_quoted_form_reads_without_its_quotes() {
        assert_eq!(decode_value("\"bar:baz\"").unwrap(), "bar:baz");
        assert_eq!(decode_value("\"\"").unwrap(), "");
        assert_eq!(
            decode_value("\"a").unwrap(),
            "\"a",
            "one quote is not the quoted form"
        );
    }

    #[test]
    fn undecodable_escapes_are_reported() {
        assert_eq!(decode_value("%AFxyz"), None);
        // A lone % is not an escape: kept as text.
        assert_eq!(decode_value("50%").unwrap(), "50%");
    }

    #[test]
    fn plain_cookie_values_are_recognised() {
        for value in ["v", "\"bar:baz\"", "\"\"", "a=b/c"] {
            assert!(is_plain_cookie_value(value), "{value:?}");
        }
        for value in ["a b", "café", "50%", "a;b", "\"a b\"", "\"x"] {
            assert!(!is_plain_cookie_value(value), "{value:?}");
        }
    }
}
