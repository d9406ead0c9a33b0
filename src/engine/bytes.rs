//! The `\xNN` byte escape shared by the corpus files, the CLI, the API and
//! the tests (see `browser-truth-format.md`): a `Set-Cookie` line is bytes,
//! and JSON strings can only carry text.
//!
//! Writing: every byte outside `0x20..=0x7E`, and the backslash itself, is
//! written as `\xNN` with two lowercase hex digits; every other byte is
//! written as itself. Reading: `\xNN` (either case of hex digit) is one
//! byte; any other character is taken as its UTF-8 bytes, so `é` typed into
//! a JSON field means the two bytes `0xc3 0xa9`; a `\` not followed by `x`
//! and two hex digits is an error, never guessed at.

use std::fmt;

use serde::Serializer;

/// Writes `bytes` with the `\xNN` escape.
pub fn escape(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        if (0x20..=0x7e).contains(&b) && b != b'\\' {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out
}

/// Why a string could not be read as escaped bytes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnescapeError {
    /// Byte offset of the offending backslash in the input.
    pub at: usize,
}

impl fmt::Display for UnescapeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "a backslash at byte {} is not followed by x and two hex digits \
             (write a backslash as \\x5c)",
            self.at
        )
    }
}

impl std::error::Error for UnescapeError {}

/// Reads a string written with the `\xNN` escape back into bytes.
pub fn unescape(text: &str) -> Result<Vec<u8>, UnescapeError> {
    let input = text.as_bytes();
    let mut out = Vec::with_capacity(input.len());
    let mut i = 0;
    while i < input.len() {
        if input[i] != b'\\' {
            out.push(input[i]);
            i += 1;
            continue;
        }
        let hex = |j: usize| input.get(j).and_then(|c| char::from(*c).to_digit(16));
        match (input.get(i + 1), hex(i + 2), hex(i + 3)) {
            (Some(b'x'), Some(hi), Some(lo)) => {
                // Two hex digits are at most 0xff.
                out.push(u8::try_from(hi * 16 + lo).map_err(|_| UnescapeError { at: i })?);
                i += 4;
            }
            _ => return Err(UnescapeError { at: i }),
        }
    }
    Ok(out)
}

/// `serialize_with` helper: bytes as an escaped string.
pub(crate) fn serialize<S: Serializer>(bytes: &[u8], serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(&escape(bytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn printable_ascii_is_written_as_itself() {
        assert_eq!(escape(b"a=b; Path=/"), "a=b; Path=/");
        assert_eq!(escape(b" ~"), " ~");
    }

    #[test]
    fn controls_backslash_del_and_high_bytes_are_escaped_lowercase() {
        assert_eq!(escape(b"v=a\tb"), "v=a\\x09b");
        assert_eq!(escape(b"\\"), "\\x5c");
        assert_eq!(escape(&[0x7f, 0x1f, 0xff]), "\\x7f\\x1f\\xff");
        assert_eq!(escape("é".as_bytes()), "\\xc3\\xa9");
    }

    #[test]
    fn unescape_reverses_escape_for_every_byte() {
        let all: Vec<u8> = (0..=255).collect();
        assert_eq!(unescape(&escape(&all)).unwrap(), all);
    }

    #[test]
    fn unescape_takes_either_hex_case_and_raw_unicode_as_utf8() {
        assert_eq!(unescape("\\xFF\\xff").unwrap(), vec![0xff, 0xff]);
        assert_eq!(unescape("é").unwrap(), "é".as_bytes());
    }

    #[test]
    fn a_lone_or_short_backslash_escape_is_an_error() {
        assert_eq!(unescape("a\\"), Err(UnescapeError { at: 1 }));
        assert_eq!(unescape("\\x1"), Err(UnescapeError { at: 0 }));
        assert_eq!(unescape("\\n"), Err(UnescapeError { at: 0 }));
        assert_eq!(unescape("ab\\xzz"), Err(UnescapeError { at: 2 }));
    }
}
