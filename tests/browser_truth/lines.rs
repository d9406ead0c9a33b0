//! A Set-Cookie line is bytes. The JSON files write each byte outside
//! 0x20..=0x7E, and the backslash, as `\xNN` (see
//! `/work/browser-truth-format.md`), and Expires dates as `{now+N}` /
//! `{now-N}` placeholders that are filled in when a line is set.

use time::OffsetDateTime;
use time::format_description::FormatItem;
use time::macros::format_description;

/// IMF-fixdate, the date form of HTTP: `Wed, 09 Jun 2027 10:18:14 GMT`.
const IMF_FIXDATE: &[FormatItem<'static>] = format_description!(
    "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
);

/// The bytes a JSON line stands for.
pub(crate) fn decode(text: &str) -> Result<Vec<u8>, String> {
    let mut bytes = Vec::with_capacity(text.len());
    let mut rest = text.as_bytes();
    while let Some((&first, tail)) = rest.split_first() {
        match first {
            b'\\' => {
                let hex = tail
                    .strip_prefix(b"x")
                    .and_then(|t| t.get(..2))
                    .filter(|h| h.iter().all(|c| matches!(c, b'0'..=b'9' | b'a'..=b'f')))
                    .ok_or_else(|| {
                        format!("{text:?}: a backslash must start \\xNN (two lowercase hex digits)")
                    })?;
                let hex = std::str::from_utf8(hex).map_err(|e| e.to_string())?;
                bytes.push(u8::from_str_radix(hex, 16).map_err(|e| e.to_string())?);
                rest = &tail[3..];
            }
            0x20..=0x7e => {
                bytes.push(first);
                rest = tail;
            }
            other => {
                return Err(format!(
                    "{text:?}: the byte 0x{other:02x} must be written as \\x{other:02x}"
                ));
            }
        }
    }
    Ok(bytes)
}

/// The JSON form of `bytes`: the inverse of [`decode`].
pub(crate) fn encode(bytes: &[u8]) -> String {
    let mut text = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'\\' => text.push_str("\\x5c"),
            0x20..=0x7e => text.push(char::from(b)),
            _ => text.push_str(&format!("\\x{b:02x}")),
        }
    }
    text
}

/// `line` with every `{now+N}` / `{now-N}` replaced by that instant as an
/// IMF-fixdate. Anything else in braces is left alone.
pub(crate) fn expand(line: &[u8], now: OffsetDateTime) -> Vec<u8> {
    let mut out = Vec::with_capacity(line.len() + 32);
    let mut rest = line;
    while !rest.is_empty() {
        if let Some((seconds, used)) = placeholder(rest) {
            let at = now + time::Duration::seconds(seconds);
            let date = at
                .to_offset(time::UtcOffset::UTC)
                .format(IMF_FIXDATE)
                .unwrap_or_else(|e| panic!("formatting {at}: {e}"));
            out.extend_from_slice(date.as_bytes());
            rest = &rest[used..];
        } else {
            out.push(rest[0]);
            rest = &rest[1..];
        }
    }
    out
}

/// `{now+N}` or `{now-N}` at the start of `text`: (±N, bytes used).
fn placeholder(text: &[u8]) -> Option<(i64, usize)> {
    let body = text.strip_prefix(b"{now")?;
    let (sign, digits) = match body.first()? {
        b'+' => (1, &body[1..]),
        b'-' => (-1, &body[1..]),
        _ => return None,
    };
    let len = digits.iter().take_while(|b| b.is_ascii_digit()).count();
    if len == 0 || digits.get(len) != Some(&b'}') {
        return None;
    }
    let n: i64 = std::str::from_utf8(&digits[..len]).ok()?.parse().ok()?;
    Some((sign * n, 4 + 1 + len + 1))
}

/// A name or value read back from a jar: the same escaping as a line.
pub(crate) fn encode_str(text: &str) -> String {
    encode(text.as_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_round_trip() {
        let bytes: Vec<u8> = (0..=255).collect();
        assert_eq!(decode(&encode(&bytes)).unwrap(), bytes);
        assert_eq!(encode(b"v=a\tb\\"), "v=a\\x09b\\x5c");
        assert!(decode("a\\x0").is_err());
        assert!(decode("a\\xAB").is_err(), "hex digits are lowercase");
        assert!(decode("a\\nb").is_err());
        assert!(decode("caf\u{e9}").is_err(), "non-ASCII is escaped");
    }

    #[test]
    fn placeholders_become_imf_fixdates() {
        let now = time::macros::datetime!(2026-11-29 12:00:00 UTC);
        assert_eq!(
            expand(b"n=1; Expires={now+3600}", now),
            b"n=1; Expires=Sun, 29 Nov 2026 13:00:00 GMT".to_vec()
        );
        assert_eq!(
            expand(b"{now-86400}{now+x}{now}", now),
            b"Sat, 28 Nov 2026 12:00:00 GMT{now+x}{now}".to_vec()
        );
    }
}
