//! What each engine's HTTP/1.1 parser hands its cookie code, given the
//! bytes that follow `Set-Cookie:` on the wire. A CR, LF or NUL cannot be
//! part of a header value, so a line holding one is really several header
//! lines (or no valid response at all), and the two engines cut it
//! differently.

use super::{IgnoreCause, IgnoredAttribute};

/// The header value the cookie code receives, and the header lines that
/// followed it on the wire (not part of this cookie).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Delivered {
    Value {
        value: Vec<u8>,
        rest: Vec<u8>,
    },
    /// The engine refuses the whole response (a network error): the cookie
    /// code never sees the line.
    ResponseFailed,
}

impl Delivered {
    /// The value the engine's cookie code parses, noting the header lines
    /// that followed it as ignored; `None` when the response failed.
    pub(crate) fn into_value(self, ignored: &mut Vec<IgnoredAttribute>) -> Option<Vec<u8>> {
        match self {
            Delivered::ResponseFailed => None,
            Delivered::Value { value, rest } => {
                if !rest.is_empty() {
                    ignored.push(IgnoredAttribute::new(
                        b"",
                        &rest,
                        IgnoreCause::OtherHeaderLines,
                        None,
                    ));
                }
                Some(value)
            }
        }
    }
}

fn is_lws(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

fn trim_lws(mut bytes: &[u8]) -> &[u8] {
    while let [first, rest @ ..] = bytes {
        if !is_lws(*first) {
            break;
        }
        bytes = rest;
    }
    while let [rest @ .., last] = bytes {
        if !is_lws(*last) {
            break;
        }
        bytes = rest;
    }
    bytes
}

/// A line with no CR, LF or NUL, as nearly every line is, reaches both
/// engines' cookie code trimmed and whole: the same answer the engines'
/// line cutting below gives it, found in one scan.
fn one_line(raw: &[u8]) -> Option<Delivered> {
    (!raw.iter().any(|&b| matches!(b, 0 | b'\r' | b'\n'))).then(|| Delivered::Value {
        value: trim_lws(raw).to_vec(),
        rest: Vec::new(),
    })
}

/// The header block ends at the first empty line (`LF LF` or `LF CR LF`,
/// as `HttpUtil::LocateEndOfHeaders` and Firefox's `ParseHead` find it);
/// what follows is the body.
fn end_of_headers(raw: &[u8]) -> &[u8] {
    let mut was_lf = false;
    for (i, &b) in raw.iter().enumerate() {
        match b {
            b'\n' if was_lf => return &raw[..i],
            b'\n' => was_lf = true,
            b'\r' => {}
            _ => was_lf = false,
        }
    }
    raw
}

/// Chromium: a response holding a NUL in its headers fails to load
/// (measured). `HttpUtil::AssembleRawHeaders` (net/http/http_util.cc) cuts
/// lines at any CR or LF, and appends a line starting with a space or tab
/// to the previous header as one space plus the line without its leading
/// whitespace; `HttpResponseHeaders` trims the value.
pub(crate) fn chromium(raw: &[u8]) -> Delivered {
    if let Some(one_line) = one_line(raw) {
        return one_line;
    }
    if raw.contains(&0) {
        return Delivered::ResponseFailed;
    }
    let raw = end_of_headers(raw);
    let first_end = raw
        .iter()
        .position(|&b| b == b'\r' || b == b'\n')
        .unwrap_or(raw.len());
    let mut value = raw[..first_end].to_vec();
    let mut lines = raw[first_end..]
        .split(|&b| b == b'\r' || b == b'\n')
        .filter(|line| !line.is_empty())
        .peekable();
    while let Some(line) = lines.next_if(|line| is_lws(line[0])) {
        value.push(b' ');
        value.extend_from_slice(trim_lws(line));
    }
    let rest = lines.collect::<Vec<_>>().join(&b'\n');
    Delivered::Value {
        value: trim_lws(&value).to_vec(),
        rest,
    }
}

/// Firefox: a NUL fails the response (measured). `nsHttpTransaction`
/// (netwerk/protocol/http/nsHttpTransaction.cpp, ParseLineSegment) cuts
/// lines at LF only, dropping a CR just before it, so a lone CR stays in
/// the value; a line starting with a space or tab is appended to the
/// previous one as it is. `nsHttpHeaderArray::ParseHeaderLine` trims the
/// value.
pub(crate) fn firefox(raw: &[u8]) -> Delivered {
    if let Some(one_line) = one_line(raw) {
        return one_line;
    }
    if raw.contains(&0) {
        return Delivered::ResponseFailed;
    }
    let raw = end_of_headers(raw);
    let mut segments = raw
        .split(|&b| b == b'\n')
        .map(|line| line.strip_suffix(b"\r").unwrap_or(line))
        .peekable();
    let mut value = segments.next().unwrap_or_default().to_vec();
    while let Some(line) = segments.next_if(|line| line.first().is_some_and(|&b| is_lws(b))) {
        value.extend_from_slice(line);
    }
    let rest = segments
        .filter(|line| !line.is_empty())
        .collect::<Vec<_>>()
        .join(&b'\n');
    Delivered::Value {
        value: trim_lws(&value).to_vec(),
        rest,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn value(d: Delivered) -> (Vec<u8>, Vec<u8>) {
        match d {
            Delivered::Value { value, rest } => (value, rest),
            Delivered::ResponseFailed => panic!("failed"),
        }
    }

    #[test]
    fn a_plain_value_passes_through_trimmed() {
        assert_eq!(value(chromium(b" a=1 ")).0, b"a=1");
        assert_eq!(value(firefox(b"\ta=1\t")).0, b"a=1");
    }

    #[test]
    fn nul_fails_the_response_in_both() {
        assert_eq!(chromium(b"a=\x001"), Delivered::ResponseFailed);
        assert_eq!(firefox(b"a=\x001"), Delivered::ResponseFailed);
    }

    #[test]
    fn lf_ends_the_header_in_both() {
        assert_eq!(value(chromium(b"v=a\nb")), (b"v=a".to_vec(), b"b".to_vec()));
        assert_eq!(value(firefox(b"v=a\nb")), (b"v=a".to_vec(), b"b".to_vec()));
        assert_eq!(value(firefox(b"v=a\r\nb")).0, b"v=a");
    }

    #[test]
    fn a_lone_cr_ends_the_header_in_chromium_only() {
        assert_eq!(value(chromium(b"v=a\rb")).0, b"v=a");
        assert_eq!(value(firefox(b"v=a\rb")).0, b"v=a\rb");
    }

    #[test]
    fn folded_lines_are_joined() {
        assert_eq!(value(chromium(b"v=a\r\n   b")).0, b"v=a b");
        assert_eq!(value(firefox(b"v=a\r\n   b")).0, b"v=a   b");
        assert_eq!(value(chromium(b"v=a\r\n b\r\nc: d")).1, b"c: d");
    }

    #[test]
    fn an_empty_line_ends_the_headers() {
        assert_eq!(
            value(chromium(b"v=a\r\n\r\n b")),
            (b"v=a".to_vec(), Vec::new())
        );
        assert_eq!(value(firefox(b"v=a\n\n b")), (b"v=a".to_vec(), Vec::new()));
    }
}
