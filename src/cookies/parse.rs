//! Reading a `Set-Cookie` line (for the linter), with the cookie crate.

use thiserror::Error;

use super::spec::{CookieSpec, SameSite};

#[derive(Debug, Error, PartialEq, Eq)]
pub enum SetCookieParseError {
    #[error("the Set-Cookie line is empty")]
    Empty,
    #[error("the Set-Cookie line has no name=value pair before its first ';'")]
    NoPair,
    #[error("the Set-Cookie line spans several lines (it contains CR or LF)")]
    LineBreak,
}

/// Parses `line`, with or without a `Set-Cookie:` prefix, into the spec a
/// browser would read from it. The value stays in wire form; attributes the
/// cookie crate can't read (an unknown SameSite, a bad date) are dropped, as
/// browsers drop them.
pub fn parse_set_cookie(line: &str) -> Result<CookieSpec, SetCookieParseError> {
    let line = strip_header_name(line.trim());
    if line.is_empty() {
        return Err(SetCookieParseError::Empty);
    }
    if line.contains(['\r', '\n']) {
        return Err(SetCookieParseError::LineBreak);
    }
    // An empty name is something to lint (name-not-token), not unusable
    // input, but the cookie crate refuses it: parse with a stand-in name.
    let empty_name = line.trim_start().starts_with('=');
    let parsed = if empty_name {
        cookie::Cookie::parse(format!("x{}", line.trim_start()))
    } else {
        cookie::Cookie::parse(line)
    }
    .map_err(|_| SetCookieParseError::NoPair)?;

    Ok(CookieSpec {
        name: if empty_name {
            String::new()
        } else {
            parsed.name().to_owned()
        },
        value: parsed.value().to_owned(),
        wire_value: true,
        max_age: parsed.max_age(),
        expires: parsed.expires_datetime(),
        path: parsed.path().map(str::to_owned),
        domain: parsed.domain().map(str::to_owned),
        secure: parsed.secure() == Some(true),
        http_only: parsed.http_only() == Some(true),
        same_site: parsed.same_site().map(|s| match s {
            cookie::SameSite::Strict => SameSite::Strict,
            cookie::SameSite::Lax => SameSite::Lax,
            cookie::SameSite::None => SameSite::None,
        }),
        partitioned: parsed.partitioned() == Some(true),
    })
}

/// `line` without a leading `Set-Cookie:` (any case).
pub(crate) fn strip_header_name(line: &str) -> &str {
    const PREFIX: &str = "set-cookie:";
    match line.get(..PREFIX.len()) {
        Some(head) if head.eq_ignore_ascii_case(PREFIX) => line[PREFIX.len()..].trim_start(),
        _ => line,
    }
}

#[cfg(test)]
mod tests {
    use time::Duration;
    use time::macros::datetime;

    use super::*;

    #[test]
    fn every_attribute_is_read() {
        let spec = parse_set_cookie(
            "Set-Cookie: id=a%20b; Max-Age=60; Expires=Thu, 26 Nov 2026 12:00:00 GMT; Path=/app; \
             Domain=.example.com; Secure; HttpOnly; SameSite=Strict; Partitioned",
        )
        .unwrap();
        assert_eq!(spec.name, "id");
        assert_eq!(spec.value, "a%20b");
        assert!(spec.wire_value);
        assert_eq!(spec.max_age, Some(Duration::seconds(60)));
        assert_eq!(spec.expires, Some(datetime!(2026-11-26 12:00:00 UTC)));
        assert_eq!(spec.path.as_deref(), Some("/app"));
        assert_eq!(spec.domain.as_deref(), Some("example.com"));
        assert!(spec.secure && spec.http_only && spec.partitioned);
        assert_eq!(spec.same_site, Some(SameSite::Strict));
    }

    #[test]
    fn the_header_name_is_optional_and_case_insensitive() {
        for line in [
            "a=1",
            "Set-Cookie: a=1",
            "set-cookie:a=1",
            "  SET-COOKIE:   a=1  ",
        ] {
            let spec = parse_set_cookie(line).unwrap();
            assert_eq!(
                (spec.name.as_str(), spec.value.as_str()),
                ("a", "1"),
                "{line:?}"
            );
            assert_eq!(spec.path, None, "no Path attribute means none, not /");
        }
    }

    #[test]
    fn unusable_lines_say_why() {
        assert_eq!(parse_set_cookie(""), Err(SetCookieParseError::Empty));
        assert_eq!(
            parse_set_cookie("Set-Cookie:"),
            Err(SetCookieParseError::Empty)
        );
        assert_eq!(
            parse_set_cookie("novalue; Path=/"),
            Err(SetCookieParseError::NoPair)
        );
        assert_eq!(
            parse_set_cookie("a=1\r\nX: y"),
            Err(SetCookieParseError::LineBreak)
        );
    }

    #[test]
    fn an_empty_name_is_kept_for_the_rules() {
        let spec = parse_set_cookie("=value; Path=/").unwrap();
        assert_eq!(spec.name, "");
        assert_eq!(spec.value, "value");
    }

    #[test]
    fn the_quoted_form_keeps_its_quotes() {
        assert_eq!(
            parse_set_cookie("foo=\"bar:baz\"").unwrap().value,
            "\"bar:baz\""
        );
    }
}
