//! Percent-encoding of cookie values, symmetric by construction.
//!
//! Written here rather than using `cookie`'s `encoded()` because that one
//! encodes by the URL userinfo set: it also escapes `:`, `/`, `=`, `@` and
//! more, which are legal cookie-octets. That would turn httpbin's `"bar:baz"`
//! into `%22bar%3Abaz%22`, and python-requests' own tests expect it verbatim.
//! We escape exactly what RFC 6265 forbids in a value, plus `%` itself so that
//! decoding is the inverse of encoding for every string.

use std::borrow::Cow;

use percent_encoding::{AsciiSet, CONTROLS, percent_decode_str, utf8_percent_encode};

/// Everything that is not an RFC 6265 cookie-octet, plus `%`. Bytes above
/// 0x7E (all of non-ASCII UTF-8) are always encoded by `percent_encoding`.
const NOT_COOKIE_OCTET: &AsciiSet = &CONTROLS
    .add(b' ')
    .add(b'"')
    .add(b',')
    .add(b';')
    .add(b'\\')
    .add(b'%');

/// Encodes `value` for a `Set-Cookie` header.
///
/// A value already in RFC 6265's quoted form (`"` cookie-octets `"`) is sent
/// as is: the grammar allows it, and that is how httpbin sends `"bar:baz"`.
pub fn encode_value(value: &str) -> Cow<'_, str> {
    if is_quoted_cookie_value(value) {
        return Cow::Borrowed(value);
    }
    utf8_percent_encode(value, NOT_COOKIE_OCTET).into()
}

/// Decodes a value read from a `Cookie` header.
///
/// `None` when the escapes don't decode to UTF-8: the caller shows the raw
/// text rather than guessing.
pub fn decode_value(raw: &str) -> Option<Cow<'_, str>> {
    percent_decode_str(raw).decode_utf8().ok()
}

fn is_quoted_cookie_value(value: &str) -> bool {
    let Some(inner) = value
        .strip_prefix('"')
        .and_then(|rest| rest.strip_suffix('"'))
    else {
        return false;
    };
    inner.bytes().all(|b| is_cookie_octet(b) && b != b'%')
}

/// RFC 6265 §4.1.1 `cookie-octet`; the same bytes `NOT_COOKIE_OCTET` escapes.
fn is_cookie_octet(b: u8) -> bool {
    matches!(b, 0x21 | 0x23..=0x2B | 0x2D..=0x3A | 0x3C..=0x5B | 0x5D..=0x7E)
}

#[cfg(test)]
mod tests {
    use super::*;

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
        assert_eq!(encode_value("say \"hi\""), "say%20%22hi%22");
    }

    #[test]
    fn quoted_values_are_kept_like_httpbin() {
        assert_eq!(encode_value("\"bar:baz\""), "\"bar:baz\"");
        assert_eq!(encode_value("\"\""), "\"\"");
        // Not all cookie-octets inside the quotes: encoded as usual.
        assert_eq!(encode_value("\"a b\""), "%22a%20b%22");
        assert_eq!(encode_value("\"50%\""), "%2250%25%22");
        assert_eq!(encode_value("\""), "%22");
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
    fn undecodable_escapes_are_reported() {
        assert_eq!(decode_value("%AFxyz"), None);
        // A lone % is not an escape: kept as text.
        assert_eq!(decode_value("50%").unwrap(), "50%");
    }
}
