//! Host facts both engines need: IP literals, potentially trustworthy
//! hosts, registrable domains (the `psl` crate) and Chromium's host
//! canonicalisation of a Domain attribute.

use std::net::{Ipv4Addr, Ipv6Addr};

/// Whether `host` (lowercase, IPv6 in brackets) is an IP literal.
pub(crate) fn is_ip(host: &str) -> bool {
    host.parse::<Ipv4Addr>().is_ok() || ipv6_in_brackets(host).is_some()
}

fn ipv6_in_brackets(host: &str) -> Option<Ipv6Addr> {
    host.strip_prefix('[')?.strip_suffix(']')?.parse().ok()
}

fn is_loopback_ip(host: &str) -> bool {
    host.parse::<Ipv4Addr>().is_ok_and(|ip| ip.is_loopback())
        || ipv6_in_brackets(host).is_some_and(|ip| ip.is_loopback())
}

/// Chromium `net::IsLocalhost` (net/base/url_util.cc): `localhost`,
/// `*.localhost` (with or without a trailing dot), 127.0.0.0/8 and `[::1]`.
pub(crate) fn chromium_is_localhost(host: &str) -> bool {
    let name = host.strip_suffix('.').unwrap_or(host);
    name == "localhost" || name.ends_with(".localhost") || is_loopback_ip(host)
}

/// Firefox `nsMixedContentBlocker::IsPotentiallyTrustworthyLoopbackHost`
/// (dom/security/nsMixedContentBlocker.cpp): `localhost`, `*.localhost`,
/// 127.0.0.0/8 and `::1`.
pub(crate) fn firefox_is_loopback(host: &str) -> bool {
    host == "localhost" || host.ends_with(".localhost") || is_loopback_ip(host)
}

/// The registrable domain (eTLD+1, private registries included) of an
/// ASCII host, or `None` for an IP, a public suffix or a name with too few
/// labels. Leading dots are skipped and a trailing dot is kept, as in
/// Chromium's `registry_controlled_domains::GetDomainAndRegistry`.
pub(crate) fn registrable_domain(host: &str) -> Option<&str> {
    let host = host.trim_start_matches('.');
    if host.is_empty() || is_ip(host) {
        return None;
    }
    let domain = psl::domain(host.as_bytes())?;
    std::str::from_utf8(domain.as_bytes()).ok()
}

/// What Chromium's `CanonicalizeHost` makes of a Domain attribute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum CanonHost {
    /// The canonical ASCII host (lowercase, IPv4 in dotted decimal).
    Ascii(String),
    /// A valid UTF-8 name with non-ASCII characters: Chromium turns it into
    /// punycode, which the model does not compute. It can never equal an
    /// ASCII host (the IDNA mapping of, say, full-width letters to ASCII is
    /// not modelled).
    NonAscii,
    /// Canonicalisation fails: Chromium returns an empty host.
    Invalid,
}

/// Chromium `CanonicalizeHost` (net/base/url_util.cc, url/url_canon_host.cc)
/// for the bytes of a Domain attribute, following the URL Standard's host
/// parser that Chromium's canonicaliser now matches: forbidden domain code
/// points fail, a name that ends in a number must be an IPv4 address.
pub(crate) fn chromium_canonicalize_host(raw: &[u8]) -> CanonHost {
    if raw.is_empty() {
        return CanonHost::Invalid;
    }
    if !raw.is_ascii() {
        return match std::str::from_utf8(raw) {
            Ok(text) if !text.chars().any(is_forbidden_domain_char) => CanonHost::NonAscii,
            _ => CanonHost::Invalid,
        };
    }
    let text: String = raw
        .iter()
        .map(|b| char::from(b.to_ascii_lowercase()))
        .collect();
    if let Some(inner) = text.strip_prefix('[') {
        return match inner
            .strip_suffix(']')
            .and_then(|v6| v6.parse::<Ipv6Addr>().ok())
        {
            Some(ip) => CanonHost::Ascii(format!("[{ip}]")),
            None => CanonHost::Invalid,
        };
    }
    if text.chars().any(is_forbidden_domain_char) {
        return CanonHost::Invalid;
    }
    match whatwg_ipv4(&text) {
        Ipv4Parse::NotIpv4 => CanonHost::Ascii(text),
        Ipv4Parse::Ipv4(ip) => CanonHost::Ascii(ip.to_string()),
        Ipv4Parse::Failure => CanonHost::Invalid,
    }
}

/// URL Standard "forbidden domain code point".
fn is_forbidden_domain_char(c: char) -> bool {
    matches!(
        c,
        '\0'..='\x20'
            | '#'
            | '%'
            | '/'
            | ':'
            | '<'
            | '>'
            | '?'
            | '@'
            | '['
            | '\\'
            | ']'
            | '^'
            | '|'
            | '\x7f'
    )
}

enum Ipv4Parse {
    NotIpv4,
    Ipv4(Ipv4Addr),
    Failure,
}

/// URL Standard "ends in a number checker" and "IPv4 parser".
fn whatwg_ipv4(host: &str) -> Ipv4Parse {
    let mut parts: Vec<&str> = host.split('.').collect();
    if parts.len() > 1 && parts.last() == Some(&"") {
        parts.pop();
    }
    let Some(last) = parts.last() else {
        return Ipv4Parse::NotIpv4;
    };
    let ends_in_number = (!last.is_empty() && last.bytes().all(|b| b.is_ascii_digit()))
        || ipv4_number(last).is_some();
    if !ends_in_number {
        return Ipv4Parse::NotIpv4;
    }
    if parts.len() > 4 {
        return Ipv4Parse::Failure;
    }
    let mut numbers = Vec::with_capacity(parts.len());
    for part in &parts {
        match ipv4_number(part) {
            Some(n) => numbers.push(n),
            None => return Ipv4Parse::Failure,
        }
    }
    let Some((&last, init)) = numbers.split_last() else {
        return Ipv4Parse::Failure;
    };
    if init.iter().any(|&n| n > 255) {
        return Ipv4Parse::Failure;
    }
    let room = 5 - numbers.len() as u32;
    if u128::from(last) >= 256u128.pow(room) {
        return Ipv4Parse::Failure;
    }
    let mut ip = u128::from(last);
    for (i, &n) in init.iter().enumerate() {
        ip += u128::from(n) * 256u128.pow(3 - i as u32);
    }
    match u32::try_from(ip) {
        Ok(ip) => Ipv4Parse::Ipv4(Ipv4Addr::from(ip)),
        Err(_) => Ipv4Parse::Failure,
    }
}

/// URL Standard "IPv4 number parser": decimal, `0x` hex or leading-zero octal.
fn ipv4_number(part: &str) -> Option<u64> {
    if part.is_empty() {
        return None;
    }
    let (digits, radix) = if let Some(hex) = part.strip_prefix("0x").or(part.strip_prefix("0X")) {
        (hex, 16)
    } else if part.len() > 1 && part.starts_with('0') {
        (&part[1..], 8)
    } else {
        (part, 10)
    };
    if digits.is_empty() {
        return Some(0);
    }
    if !digits.chars().all(|c| c.is_digit(radix)) {
        return None;
    }
    // Saturate: any value this large fails the range checks anyway.
    Some(u64::from_str_radix(digits, radix).unwrap_or(u64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_and_localhost_names_are_trustworthy_for_both_engines() {
        for host in [
            "localhost",
            "sub.localhost",
            "127.0.0.1",
            "127.9.9.9",
            "[::1]",
        ] {
            assert!(chromium_is_localhost(host), "{host}");
            assert!(firefox_is_loopback(host), "{host}");
        }
        for host in [
            "cookie-lab.test",
            "localhost.example",
            "128.0.0.1",
            "[::2]",
            "xlocalhost",
        ] {
            assert!(!chromium_is_localhost(host), "{host}");
            assert!(!firefox_is_loopback(host), "{host}");
        }
        // Chromium's IsLocalHostname also takes the trailing-dot form.
        assert!(chromium_is_localhost("localhost."));
        assert!(!firefox_is_loopback("localhost."));
    }

    #[test]
    fn registrable_domains_follow_the_public_suffix_list() {
        assert_eq!(
            registrable_domain("www.example.co.uk"),
            Some("example.co.uk")
        );
        assert_eq!(registrable_domain("co.uk"), None);
        assert_eq!(registrable_domain("localhost"), None);
        assert_eq!(registrable_domain("sub.localhost"), Some("sub.localhost"));
        assert_eq!(
            registrable_domain(".cookie-lab.test"),
            Some("cookie-lab.test")
        );
        assert_eq!(
            registrable_domain("cookie-lab.test."),
            Some("cookie-lab.test.")
        );
        assert_eq!(registrable_domain("127.0.0.1"), None);
        // A private-section suffix counts, as with INCLUDE_PRIVATE_REGISTRIES.
        assert_eq!(registrable_domain("foo.github.io"), Some("foo.github.io"));
        assert_eq!(registrable_domain("github.io"), None);
    }

    #[test]
    fn canonicalisation_lowercases_and_fails_on_forbidden_characters() {
        assert_eq!(
            chromium_canonicalize_host(b"LocalHost"),
            CanonHost::Ascii("localhost".into())
        );
        assert_eq!(
            chromium_canonicalize_host(b".Cookie-Lab.TEST."),
            CanonHost::Ascii(".cookie-lab.test.".into())
        );
        for bad in [
            &b"a b"[..],
            b"a/b",
            b"a:b",
            b"a@b",
            b"a|b",
            b"a^b",
            b"a<b",
            b"",
        ] {
            assert_eq!(
                chromium_canonicalize_host(bad),
                CanonHost::Invalid,
                "{bad:?}"
            );
        }
        assert_eq!(
            chromium_canonicalize_host("café.test".as_bytes()),
            CanonHost::NonAscii
        );
        assert_eq!(
            chromium_canonicalize_host(&[0xff, b'a']),
            CanonHost::Invalid
        );
    }

    #[test]
    fn names_ending_in_a_number_must_be_ipv4() {
        assert_eq!(
            chromium_canonicalize_host(b"127.1"),
            CanonHost::Ascii("127.0.0.1".into())
        );
        assert_eq!(
            chromium_canonicalize_host(b"0x7f.0.0.1"),
            CanonHost::Ascii("127.0.0.1".into())
        );
        assert_eq!(chromium_canonicalize_host(b"1.2.3.4.5"), CanonHost::Invalid);
        assert_eq!(
            chromium_canonicalize_host(b"example.256"),
            CanonHost::Invalid
        );
        assert_eq!(chromium_canonicalize_host(b"256.0.0.0"), CanonHost::Invalid);
        assert_eq!(
            chromium_canonicalize_host(b"[::1]"),
            CanonHost::Ascii("[::1]".into())
        );
        assert_eq!(
            chromium_canonicalize_host(b"example.com1"),
            CanonHost::Ascii("example.com1".into())
        );
    }
}
