use std::borrow::Cow;
use std::convert::Infallible;

use axum::extract::FromRequestParts;
use axum::http::HeaderMap;
use axum::http::header::COOKIE;
use axum::http::request::Parts;

use super::encoding::decode_value;
use super::reserved::{COOKIE_NAME, SECURE_COOKIE_NAME};

/// What pages and the API show instead of the login cookie's value.
pub const HIDDEN_VALUE: &str = "(hidden: HttpOnly login cookie)";

/// One `name=value` pair of a `Cookie` header, exactly as received: a view
/// into [`RequestCookies`], so reading a header allocates once, not per pair.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ReceivedCookie<'a> {
    pub name: &'a str,
    /// The value as it was on the wire.
    pub raw_value: &'a str,
    decoded: &'a Decoded,
}

/// A value's decoded form, worked out once when the header is read.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Decoded {
    /// No `%` and no quotes: the raw value is the value.
    AsIs,
    Owned(String),
    /// The `%`-escapes aren't UTF-8.
    Invalid,
}

impl<'a> ReceivedCookie<'a> {
    /// The percent-decoded value; `None` when the escapes aren't UTF-8.
    pub fn decoded_value(&self) -> Option<&'a str> {
        match self.decoded {
            Decoded::AsIs => Some(self.raw_value),
            Decoded::Owned(value) => Some(value),
            Decoded::Invalid => None,
        }
    }

    /// The decoded value, or the raw one when it can't be decoded.
    pub fn value(&self) -> &'a str {
        self.decoded_value().unwrap_or(self.raw_value)
    }

    /// True for our login cookie, whose value no page or API ever echoes:
    /// it is HttpOnly, and a script that could fetch a page showing it would
    /// get around that.
    pub fn is_login_cookie(&self) -> bool {
        self.name == COOKIE_NAME || self.name == SECURE_COOKIE_NAME
    }

    /// The value to show a user: the decoded value, except for the login
    /// cookie, which is hidden.
    pub fn shown_value(&self) -> &'a str {
        if self.is_login_cookie() {
            HIDDEN_VALUE
        } else {
            self.value()
        }
    }

    /// Bytes the browser counts against its 4096 limit: name + raw value.
    pub fn size(&self) -> usize {
        self.name.len() + self.raw_value.len()
    }
}

/// Every cookie the request carried, in order, duplicates included.
///
/// Read from the raw header rather than a typed jar, because jars drop what
/// they can't decode or verify, and we want to show (and count) all of it.
/// The pairs are found by the cookie crate's parser and kept as offsets into
/// one copy of the header.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RequestCookies {
    text: String,
    pairs: Vec<Pair>,
    header_bytes: usize,
}

#[derive(Debug, Clone, PartialEq, Eq)]
struct Pair {
    name: std::ops::Range<usize>,
    value: std::ops::Range<usize>,
    decoded: Decoded,
}

impl RequestCookies {
    /// Parses every `Cookie` header (HTTP/2 may split them). Every pair is
    /// kept, nameless ones included (a bare `value` has an empty name, as
    /// Chromium sends it).
    pub fn from_headers(headers: &HeaderMap) -> Self {
        let lines = headers.get_all(COOKIE);
        // Sized once: the lines and the "; " between them.
        let mut text = String::with_capacity(lines.iter().map(|h| h.len() + 2).sum());
        let mut header_bytes = 0;
        for header in lines {
            let bytes = header.as_bytes();
            header_bytes += bytes.len();
            if !text.is_empty() {
                text.push_str("; ");
            }
            // Browsers send raw UTF-8 from document.cookie, which
            // HeaderValue::to_str refuses; bytes that aren't UTF-8 at all are
            // replaced rather than dropping the whole header.
            match std::str::from_utf8(bytes) {
                Ok(valid) => text.push_str(valid),
                Err(_) => text.push_str(&String::from_utf8_lossy(bytes)),
            }
        }
        let pairs = parse_pairs(&text);
        Self {
            text,
            pairs,
            header_bytes,
        }
    }

    fn view<'a>(&'a self, pair: &'a Pair) -> ReceivedCookie<'a> {
        ReceivedCookie {
            name: &self.text[pair.name.clone()],
            raw_value: &self.text[pair.value.clone()],
            decoded: &pair.decoded,
        }
    }

    /// The first cookie named `name`: browsers send the most specific path
    /// first, so that is the one a server should use.
    pub fn get(&self, name: &str) -> Option<ReceivedCookie<'_>> {
        self.iter().find(|c| c.name == name)
    }

    pub fn iter(&self) -> impl Iterator<Item = ReceivedCookie<'_>> {
        self.pairs.iter().map(|pair| self.view(pair))
    }

    pub fn len(&self) -> usize {
        self.pairs.len()
    }

    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty()
    }

    /// Total size of the `Cookie` header(s) in bytes.
    pub fn header_bytes(&self) -> usize {
        self.header_bytes
    }

    /// `name (N B), …` for logs: names and sizes only, never values.
    pub fn summary(&self) -> String {
        self.iter()
            .map(|c| format!("{} ({} B)", c.name, c.size()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

/// Splits a Cookie header into pairs as Chromium writes them: `name=value`,
/// and a bare `value` for a cookie with an empty name (Chromium stores and
/// sends those; `=value` is read the same way). Written by hand because the
/// cookie crate's parser refuses nameless pairs, which the inspector must
/// show. Whitespace around names and values is trimmed; empty segments
/// (`;;`, a lone `=`) are skipped.
fn parse_pairs(text: &str) -> Vec<Pair> {
    let trim = |start: usize, end: usize| {
        let part = &text[start..end];
        let leading = part.len() - part.trim_start_matches([' ', '\t']).len();
        let kept = part.trim_matches([' ', '\t']).len();
        start + leading..start + leading + kept
    };
    let mut pairs = Vec::new();
    let mut start = 0;
    while start <= text.len() {
        let end = memchr::memchr(b';', &text.as_bytes()[start..]).map_or(text.len(), |i| start + i);
        let segment = trim(start, end);
        if !segment.is_empty() {
            let (name, value) = match memchr::memchr(b'=', &text.as_bytes()[segment.clone()]) {
                Some(at) => (
                    trim(segment.start, segment.start + at),
                    trim(segment.start + at + 1, segment.end),
                ),
                None => (segment.start..segment.start, segment),
            };
            if name.is_empty() && value.is_empty() {
                start = end + 1;
                continue;
            }
            pairs.push(Pair {
                decoded: decode(&text[value.clone()]),
                name,
                value,
            });
        }
        start = end + 1;
    }
    pairs
}

fn decode(raw: &str) -> Decoded {
    // Most values need no decoding: one memchr instead of a decoding pass
    // (the crate's, which uses SIMD; core's goes a word at a time).
    if memchr::memchr(b'%', raw.as_bytes()).is_none() && !raw.starts_with('"') {
        return Decoded::AsIs;
    }
    match decode_value(raw) {
        Some(Cow::Borrowed(same)) if same.len() == raw.len() => Decoded::AsIs,
        Some(value) => Decoded::Owned(value.into_owned()),
        None => Decoded::Invalid,
    }
}

impl<S: Send + Sync> FromRequestParts<S> for RequestCookies {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        Ok(Self::from_headers(&parts.headers))
    }
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;

    fn read(headers: &[&[u8]]) -> RequestCookies {
        let mut map = HeaderMap::new();
        for h in headers {
            map.append(COOKIE, HeaderValue::from_bytes(h).unwrap());
        }
        RequestCookies::from_headers(&map)
    }

    fn names_values(cookies: &RequestCookies) -> Vec<(&str, &str)> {
        cookies.iter().map(|c| (c.name, c.value())).collect()
    }

    #[test]
    fn pairs_are_split_trimmed_and_decoded() {
        let cookies = read(&[b"userID=a%3Bb%20c;  code=underscored ;x=caf%C3%A9"]);
        assert_eq!(
            names_values(&cookies),
            [("userID", "a;b c"), ("code", "underscored"), ("x", "café")]
        );
    }

    #[test]
    fn duplicates_are_kept_in_order_and_the_first_wins() {
        let cookies = read(&[b"code=specific; code=general"]);
        assert_eq!(cookies.len(), 2);
        assert_eq!(cookies.get("code").unwrap().value(), "specific");
    }

    #[test]
    fn nameless_pairs_are_kept_and_empty_segments_skipped() {
        let cookies = read(&[b"novalue; =nameless; ;; = ; a=1; b=; c=x=y;\t d = 4 ;"]);
        assert_eq!(
            names_values(&cookies),
            [
                ("", "novalue"),
                ("", "nameless"),
                ("a", "1"),
                ("b", ""),
                ("c", "x=y"),
                ("d", "4")
            ]
        );
        assert_eq!(cookies.get("").unwrap().value(), "novalue");
    }

    #[test]
    fn undecodable_values_are_kept_raw() {
        let cookies = read(&[b"sid=%AFxyz"]);
        let sid = cookies.get("sid").unwrap();
        assert_eq!(sid.decoded_value(), None);
        assert_eq!(sid.value(), "%AFxyz");
    }

    #[test]
    fn raw_utf8_and_invalid_bytes_do_not_stop_the_rest() {
        let cookies = read(&["js=café; a=1".as_bytes(), b"bad=\xff\xfe; b=2"]);
        assert_eq!(cookies.get("js").unwrap().value(), "café");
        assert_eq!(cookies.get("b").unwrap().value(), "2");
        assert_eq!(cookies.len(), 4);
    }

    #[test]
    fn the_login_cookie_value_is_never_shown() {
        let cookies = read(&[b"lab_session=abc.def; userID=alice"]);
        assert_eq!(
            cookies.get("lab_session").unwrap().shown_value(),
            HIDDEN_VALUE
        );
        assert_eq!(cookies.get("userID").unwrap().shown_value(), "alice");
    }

    #[test]
    fn quoted_values_read_without_their_quotes_and_empty_values_are_kept() {
        let cookies = read(&[b"q=\"bar:baz\"; e=; f=x"]);
        assert_eq!(
            names_values(&cookies),
            [("q", "bar:baz"), ("e", ""), ("f", "x")]
        );
        assert_eq!(cookies.get("q").unwrap().raw_value, "\"bar:baz\"");
    }

    #[test]
    fn several_cookie_headers_are_read_in_order() {
        let cookies = read(&[b"a=1", b"b=2; a=3"]);
        assert_eq!(names_values(&cookies), [("a", "1"), ("b", "2"), ("a", "3")]);
        assert_eq!(cookies.header_bytes(), 11);
    }

    #[test]
    fn sizes_and_summary_never_include_values() {
        let cookies = read(&[b"code=underscored; userID=secret"]);
        assert_eq!(cookies.header_bytes(), 31);
        assert_eq!(cookies.get("code").unwrap().size(), 15);
        assert_eq!(cookies.summary(), "code (15 B), userID (12 B)");
        assert!(!cookies.summary().contains("secret"));
    }
}
