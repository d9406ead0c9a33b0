//! Chromium: `ParsedCookie` (net/cookies/parsed_cookie.cc),
//! `CanonicalCookie::Create` (net/cookies/canonical_cookie.cc), the cookie
//! settings check in `URLRequestHttpJob`, and
//! `CookieBase::IsSetPermittedInContext` (net/cookies/cookie_base.cc), in
//! that order: each stage that excludes the cookie stops the later ones,
//! and the reasons of that stage are reported together, as
//! `CookieInclusionStatus` collects them.

use time::OffsetDateTime;

use super::host::{self, CanonHost};
use super::http;
use super::reasons::ReasonId::{self, *};
use super::{
    ChromiumThirdParty, Context, Engine, Expiry, IgnoreCause, IgnoredAttribute,
    MAX_ATTRIBUTE_VALUE_BYTES, MAX_NAME_VALUE_BYTES, Outcome, Policy, SameSite, Scheme, SetterUrl,
    StoredCookie, Verdict, expiry_in, starts_with_ignore_case,
};

/// `kWhitespace` in parsed_cookie.cc.
fn is_ws(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// `HttpUtil::IsControlChar`: 0x00-0x1F and 0x7F (tab included).
fn is_ctl(b: u8) -> bool {
    b <= 0x1f || b == 0x7f
}

/// `ParsedCookie::IsValidCookieName`: no CTL, `;` or `=` (also used for
/// attribute names).
fn valid_name(name: &[u8]) -> bool {
    !name.iter().any(|&b| is_ctl(b) || b == b';' || b == b'=')
}

/// `ParsedCookie::IsValidCookieValue` and `CookieAttributeValueHasValidCharSet`.
fn valid_value(value: &[u8]) -> bool {
    !value.iter().any(|&b| is_ctl(b) || b == b';')
}

/// An attribute pair as `ParsedCookie` keeps it.
struct Attr<'a> {
    /// Lowercased (`base::ToLowerASCII`), as `SetupAttributes` compares it.
    name: Vec<u8>,
    raw_name: &'a [u8],
    value: &'a [u8],
}

struct Parsed<'a> {
    name: &'a [u8],
    value: &'a [u8],
    had_separator: bool,
    attrs: Vec<Attr<'a>>,
}

const KNOWN: [&[u8]; 9] = [
    b"path",
    b"domain",
    b"expires",
    b"max-age",
    b"secure",
    b"httponly",
    b"samesite",
    b"priority",
    b"partitioned",
];

impl<'a> Parsed<'a> {
    /// `ParsedCookie::SetupAttributes`: the last pair with a known name wins.
    fn last(&self, name: &[u8]) -> Option<&Attr<'a>> {
        self.attrs.iter().rev().find(|a| a.name == name)
    }

    fn value_of(&self, name: &[u8]) -> Option<&'a [u8]> {
        self.last(name).map(|a| a.value)
    }

    fn has(&self, name: &[u8]) -> bool {
        self.last(name).is_some()
    }
}

/// `ParsedCookie::ParseToken`: skips leading whitespace, reads up to `;` or
/// `=`, trims trailing whitespace. Returns `None` when only whitespace is left.
fn parse_token(line: &[u8], it: &mut usize) -> Option<(usize, usize)> {
    while *it < line.len() && is_ws(line[*it]) {
        *it += 1;
    }
    if *it == line.len() {
        return None;
    }
    let start = *it;
    while *it < line.len() && line[*it] != b';' && line[*it] != b'=' {
        *it += 1;
    }
    let mut end = *it;
    while end > start && is_ws(line[end - 1]) {
        end -= 1;
    }
    Some((start, end))
}

/// `ParsedCookie::ParseValue`: skips leading whitespace, reads up to `;`
/// (`=` allowed), trims trailing whitespace.
fn parse_value(line: &[u8], it: &mut usize) -> (usize, usize) {
    while *it < line.len() && is_ws(line[*it]) {
        *it += 1;
    }
    let start = *it;
    while *it < line.len() && line[*it] != b';' {
        *it += 1;
    }
    let mut end = *it;
    while end > start && is_ws(line[end - 1]) {
        end -= 1;
    }
    (start, end)
}

/// `ParsedCookie::ParseTokenValuePairs` and `IsValidCookieNameValuePair`.
fn parse<'a>(
    line: &'a [u8],
    ignored: &mut Vec<IgnoredAttribute>,
    warnings: &mut Vec<ReasonId>,
) -> Result<Parsed<'a>, ReasonId> {
    // FindFirstTerminator: "Block cookies that were truncated by control
    // characters."
    if line.iter().any(|&b| matches!(b, b'\n' | b'\r' | 0)) {
        return Err(ChromiumDisallowedCharacter);
    }
    if line.is_empty() {
        return Err(ChromiumNoCookieContent);
    }
    let mut it = 0;
    let mut first: Option<(&[u8], &[u8], bool)> = None;
    let mut attrs = Vec::new();
    while it != line.len() {
        let is_first = first.is_none();
        let token = parse_token(line, &mut it);
        let (token_start, token_end) = match token {
            Some(t) => t,
            // "Allow first token to be treated as empty-key if unparsable."
            None if is_first => (0, 0),
            None => break,
        };
        let mut had_separator = false;
        let name: &[u8] = if it == line.len() || line[it] != b'=' {
            if is_first {
                // A single value is a value with an empty name (Mozilla bug
                // 169091): rewind and parse it as a value.
                it = token_start;
                b""
            } else {
                &line[token_start..token_end]
            }
        } else {
            it += 1;
            had_separator = true;
            &line[token_start..token_end]
        };
        let (value_start, value_end) = parse_value(line, &mut it);
        let value = &line[value_start..value_end];
        if is_first {
            if name.is_empty() && value.is_empty() {
                return Err(ChromiumNoCookieContent);
            }
            if name.len() + value.len() > MAX_NAME_VALUE_BYTES {
                return Err(ChromiumNameValuePairExceedsMaxSize);
            }
            if !valid_name(name) || !valid_value(value) {
                return Err(ChromiumDisallowedCharacter);
            }
            first = Some((name, value, had_separator));
        } else {
            let lower = name.to_ascii_lowercase();
            if !valid_name(&lower) || !valid_value(value) {
                return Err(ChromiumDisallowedCharacter);
            }
            if value.len() > MAX_ATTRIBUTE_VALUE_BYTES {
                ignored.push(IgnoredAttribute::new(
                    name,
                    value,
                    IgnoreCause::TooLong,
                    Some(ChromiumWarnAttributeValueExceedsMaxSize),
                ));
                if !warnings.contains(&ChromiumWarnAttributeValueExceedsMaxSize) {
                    warnings.push(ChromiumWarnAttributeValueExceedsMaxSize);
                }
            } else {
                attrs.push(Attr {
                    name: lower,
                    raw_name: name,
                    value,
                });
            }
        }
        if it != line.len() {
            it += 1;
        }
    }
    let (name, value, had_separator) = first.ok_or(ChromiumNoCookieContent)?;
    Ok(Parsed {
        name,
        value,
        had_separator,
        attrs,
    })
}

/// `CookieAccessScheme` from `cookie_util::ProvisionalAccessScheme`: https
/// is cryptographic, localhost is trustworthy, anything else is not.
fn trustworthy(setter: &SetterUrl) -> bool {
    setter.scheme() == Scheme::Https || host::chromium_is_localhost(setter.host())
}

/// `cookie_util::GetCookieDomainWithString`: the cookie's domain (without
/// a leading dot) and whether it is host-only, or `None` for an invalid
/// Domain (the caller adds `EXCLUDE_INVALID_DOMAIN`).
fn cookie_domain(
    setter: &SetterUrl,
    domain: &[u8],
    reasons: &mut Vec<ReasonId>,
    warnings: &mut Vec<ReasonId>,
) -> Option<(String, bool)> {
    if !domain.is_ascii() {
        // kCookieDomainRejectNonASCII is disabled: only a warning.
        warnings.push(ChromiumWarnDomainNonAscii);
    }
    let url_host = setter.host();
    // A name ending in ".." has an empty label before the last one.
    if url_host.ends_with("..") {
        return None;
    }
    let is_host_ip = host::is_ip(url_host);
    let matches_host = domain.eq_ignore_ascii_case(url_host.as_bytes())
        || (domain.first() == Some(&b'.') && domain[1..].eq_ignore_ascii_case(url_host.as_bytes()));
    if domain.is_empty() || (is_host_ip && matches_host) {
        return Some((url_host.to_owned(), true));
    }
    if is_host_ip {
        return None;
    }
    if domain.contains(&b'%') {
        return None;
    }
    let canon = host::chromium_canonicalize_host(domain);
    if canon == CanonHost::Invalid {
        return None;
    }
    let Some(url_registrable) = host::registrable_domain(url_host) else {
        // An IP, intranet name or public suffix may only name itself, and
        // the cookie is then host-only.
        let stripped = domain.strip_prefix(b".").unwrap_or(domain);
        return (stripped.to_ascii_lowercase() == url_host.as_bytes())
            .then(|| (url_host.to_owned(), true));
    };
    let cookie_domain = match canon {
        CanonHost::Ascii(canon) if canon.starts_with('.') => canon,
        CanonHost::Ascii(canon) => format!(".{canon}"),
        CanonHost::NonAscii | CanonHost::Invalid => {
            // The punycode of a non-ASCII name is never this ASCII site.
            reasons.push(ChromiumDomainMismatch);
            return None;
        }
    };
    if host::registrable_domain(&cookie_domain) != Some(url_registrable) {
        reasons.push(ChromiumDomainMismatch);
        return None;
    }
    let is_suffix = if url_host.len() < cookie_domain.len() {
        cookie_domain == format!(".{url_host}")
    } else {
        url_host.ends_with(&cookie_domain)
    };
    is_suffix.then(|| (cookie_domain[1..].to_owned(), false))
}

/// `cookie_util::CanonPathWithString`: the Path attribute if it starts with
/// `/`, else the request path up to (not including) its last `/`.
fn cookie_path(setter: &SetterUrl, path: &[u8]) -> Vec<u8> {
    if path.first() == Some(&b'/') {
        return path.to_vec();
    }
    default_path(setter.path())
}

pub(super) fn default_path(url_path: &str) -> Vec<u8> {
    match url_path.rfind('/') {
        None | Some(0) => b"/".to_vec(),
        Some(i) => url_path.as_bytes()[..i].to_vec(),
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Prefix {
    Secure,
    HostHttp,
    Http,
    Host,
}

/// `kPrefixes` in cookie_util.cc: the more specific `__Host-Http-` is
/// matched before `__Host-`.
const PREFIXES: [(&[u8], Prefix); 4] = [
    (b"__Secure-", Prefix::Secure),
    (b"__Host-Http-", Prefix::HostHttp),
    (b"__Http-", Prefix::Http),
    (b"__Host-", Prefix::Host),
];

/// `cookie_util::GetCookiePrefix`, case-insensitive.
fn prefix_of(name: &[u8]) -> Option<Prefix> {
    PREFIXES
        .iter()
        .find(|(p, _)| starts_with_ignore_case(name, p))
        .map(|(_, kind)| *kind)
}

/// `cookie_util::IsCookiePrefixValid` with a URL: `domain` and `path` are
/// the raw attribute values (empty when absent).
fn prefix_valid(
    prefix: Prefix,
    setter: &SetterUrl,
    secure: bool,
    http_only: bool,
    domain: &[u8],
    path: &[u8],
) -> bool {
    let secure_ok = secure && trustworthy(setter);
    let host_ok = || {
        secure_ok
            && path == b"/"
            && (domain.is_empty()
                || (host::is_ip(setter.host()) && domain == setter.host().as_bytes()))
    };
    match prefix {
        Prefix::Secure => secure_ok,
        Prefix::Host => host_ok(),
        Prefix::Http => secure_ok && http_only,
        Prefix::HostHttp => secure_ok && http_only && host_ok(),
    }
}

/// `cookie_util::HasHiddenPrefixName`: a nameless cookie whose value
/// (leading spaces and tabs skipped) starts with a prefix.
fn has_hidden_prefix(value: &[u8]) -> bool {
    let start = value.iter().position(|&b| !is_ws(b)).unwrap_or(value.len());
    prefix_of(&value[start..]).is_some()
}

/// `base::StringToInt64`: `Ok` for a perfect conversion (optional `+` or
/// `-`, digits only), else `Err` with the best effort (saturated on
/// overflow).
fn string_to_int64(text: &[u8]) -> Result<i64, i64> {
    let (negative, digits) = match text.first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if digits.is_empty() {
        return Err(0);
    }
    let mut value: i64 = 0;
    for &b in digits {
        if !b.is_ascii_digit() {
            return Err(value);
        }
        let digit = i64::from(b - b'0');
        let next = value.checked_mul(10).and_then(|v| {
            if negative {
                v.checked_sub(digit)
            } else {
                v.checked_add(digit)
            }
        });
        match next {
            Some(v) => value = v,
            None => return Err(if negative { i64::MIN } else { i64::MAX }),
        }
    }
    Ok(value)
}

/// `StringToCookieSameSite` (net/cookies/cookie_constants.cc).
fn same_site_of(value: &[u8]) -> Option<SameSite> {
    [
        (&b"none"[..], SameSite::None),
        (b"lax", SameSite::Lax),
        (b"strict", SameSite::Strict),
    ]
    .into_iter()
    .find(|(name, _)| value.eq_ignore_ascii_case(name))
    .map(|(_, s)| s)
}

/// `CanonicalCookie::ParseExpiration`: seconds from `now`, `Some(i128::MAX)`
/// for `Time::Max`, `Some(i128::MIN)` for `Time::Min`, `None` for a session
/// cookie.
fn expiration(
    parsed: &Parsed<'_>,
    now: OffsetDateTime,
    ignored: &mut Vec<IgnoredAttribute>,
) -> Option<i128> {
    let expires = parsed.last(b"expires");
    if let Some(max_age) = parsed.last(b"max-age") {
        match string_to_int64(max_age.value) {
            Ok(seconds) => {
                if let Some(expires) = expires {
                    ignored.push(IgnoredAttribute::new(
                        expires.raw_name,
                        expires.value,
                        IgnoreCause::Superseded,
                        None,
                    ));
                }
                // "If delta-seconds is less than or equal to zero, let
                // expiry-time be the earliest representable date and time."
                return Some(if seconds <= 0 {
                    i128::MIN
                } else {
                    i128::from(seconds)
                });
            }
            Err(i64::MIN) => return Some(i128::MIN),
            Err(i64::MAX) => return Some(i128::MAX),
            Err(_) => ignored.push(IgnoredAttribute::new(
                max_age.raw_name,
                max_age.value,
                IgnoreCause::Unparsable,
                None,
            )),
        }
    }
    let expires = expires?;
    if expires.value.is_empty() {
        ignored.push(IgnoredAttribute::new(
            expires.raw_name,
            expires.value,
            IgnoreCause::Unparsable,
            None,
        ));
        return None;
    }
    match super::dates::chromium_parse_expires(expires.value) {
        Some(at) => Some(i128::from(at) - i128::from(now.unix_timestamp())),
        None => {
            ignored.push(IgnoredAttribute::new(
                expires.raw_name,
                expires.value,
                IgnoreCause::Unparsable,
                None,
            ));
            None
        }
    }
}

/// Records the attributes `SetupAttributes` skips: unknown names and the
/// earlier copies of repeated ones.
fn note_unused_attributes(parsed: &Parsed<'_>, ignored: &mut Vec<IgnoredAttribute>) {
    for (i, attr) in parsed.attrs.iter().enumerate() {
        let cause = if !KNOWN.contains(&attr.name.as_slice()) {
            IgnoreCause::Unknown
        } else if parsed.attrs[i + 1..]
            .iter()
            .any(|later| later.name == attr.name)
        {
            IgnoreCause::Overridden
        } else {
            continue;
        };
        ignored.push(IgnoredAttribute::new(
            attr.raw_name,
            attr.value,
            cause,
            None,
        ));
    }
}

pub(super) fn evaluate(
    line: &[u8],
    setter: &SetterUrl,
    context: Context,
    now: OffsetDateTime,
    policy: &Policy,
) -> Verdict {
    let mut verdict = Verdict::new(Engine::Chromium, context);
    let mut ignored = Vec::new();
    let mut warnings = Vec::new();

    // ---- The HTTP parser (net/http/http_util.cc) ----
    let Some(line) = http::chromium(line).into_value(&mut ignored) else {
        verdict.outcome = Outcome::ResponseFailed;
        return verdict;
    };
    let line = line.as_slice();

    // ---- ParsedCookie ----
    let parsed = match parse(line, &mut ignored, &mut warnings) {
        Ok(parsed) => parsed,
        Err(reason) => {
            verdict.ignored = ignored;
            return verdict.reject(vec![reason]);
        }
    };
    note_unused_attributes(&parsed, &mut ignored);

    // ---- CanonicalCookie::Create ----
    let mut reasons = Vec::new();
    if policy.chromium_block_ambiguous_nameless
        && parsed.name.is_empty()
        && parsed.had_separator
        && parsed.value.contains(&b'=')
    {
        reasons.push(ChromiumAmbiguousSerialization);
    }
    let domain_attr = parsed.value_of(b"domain").unwrap_or_default();
    if let Some(attr) = parsed.last(b"domain").filter(|a| a.value.is_empty()) {
        ignored.push(IgnoredAttribute::new(
            attr.raw_name,
            attr.value,
            IgnoreCause::InvalidValue,
            None,
        ));
    }
    let domain = cookie_domain(setter, domain_attr, &mut reasons, &mut warnings);
    if domain.is_none() {
        reasons.push(ChromiumInvalidDomain);
    }
    let path_attr = parsed.value_of(b"path").unwrap_or_default();
    if let Some(attr) = parsed
        .last(b"path")
        .filter(|a| a.value.first() != Some(&b'/'))
    {
        ignored.push(IgnoredAttribute::new(
            attr.raw_name,
            attr.value,
            IgnoreCause::NotAbsolute,
            None,
        ));
    }
    let path = cookie_path(setter, path_attr);
    let secure = parsed.has(b"secure");
    let http_only = parsed.has(b"httponly");
    let partitioned = parsed.has(b"partitioned");
    let prefix_ok = if parsed.name.is_empty() {
        !has_hidden_prefix(parsed.value)
    } else {
        prefix_of(parsed.name)
            .is_none_or(|p| prefix_valid(p, setter, secure, http_only, domain_attr, path_attr))
    };
    if !prefix_ok {
        reasons.push(ChromiumInvalidPrefix);
    }
    // IsCookiePartitionedValid: every request made by a page has a
    // partition key (the top-level site), so the attribute is checked.
    if partitioned && !(secure && trustworthy(setter)) {
        reasons.push(ChromiumInvalidPartitioned);
    }
    verdict.warnings = warnings;
    let Some((domain, host_only)) = domain.filter(|_| reasons.is_empty()) else {
        verdict.ignored = ignored;
        return verdict.reject(reasons);
    };

    let same_site = match parsed.last(b"samesite") {
        None => SameSite::Unspecified,
        Some(attr) => same_site_of(attr.value).unwrap_or_else(|| {
            ignored.push(IgnoredAttribute::new(
                attr.raw_name,
                attr.value,
                IgnoreCause::InvalidValue,
                None,
            ));
            SameSite::Unspecified
        }),
    };
    let expiry = match expiration(&parsed, now, &mut ignored) {
        None => Expiry::Session,
        // ValidateAndAdjustExpiryDate caps at creation + 400 days.
        Some(delta) => expiry_in(now, delta),
    };
    verdict.ignored = ignored;
    let cookie = StoredCookie {
        name: parsed.name.to_vec(),
        value: parsed.value.to_vec(),
        domain,
        host_only,
        path,
        secure,
        http_only,
        same_site,
        effective_same_site: if same_site == SameSite::Unspecified {
            SameSite::Lax
        } else {
            same_site
        },
        expiry,
        partitioned,
    };

    // ---- Cookie settings (URLRequestHttpJob::CanSetCookie) ----
    if context.is_cross_site_subresource()
        && policy.chromium_third_party == ChromiumThirdParty::Block
        && !partitioned
    {
        let mut verdict = verdict.reject(vec![ChromiumUserPreferences]);
        verdict.outcome = Outcome::Blocked;
        return verdict;
    }

    // ---- CookieBase::IsSetPermittedInContext ----
    let mut reasons = Vec::new();
    if secure && !trustworthy(setter) {
        reasons.push(ChromiumSecureOnly);
    }
    if same_site == SameSite::None && !secure {
        reasons.push(ChromiumSameSiteNoneInsecure);
    }
    // A cross-site subresource has a CROSS_SITE context, below SAME_SITE_LAX;
    // a top-level navigation, same-site or not, is at least Lax for a set.
    if context.is_cross_site_subresource() {
        match same_site {
            SameSite::Strict => reasons.push(ChromiumSameSiteStrict),
            SameSite::Lax => reasons.push(ChromiumSameSiteLax),
            SameSite::Unspecified => reasons.push(ChromiumSameSiteUnspecifiedTreatedAsLax),
            SameSite::None => {}
        }
    }
    if !reasons.is_empty() {
        return verdict.reject(reasons);
    }
    if secure && setter.scheme() != Scheme::Https {
        verdict
            .warnings
            .push(ChromiumWarnSecureAccessGrantedNonCryptographic);
    }

    // ---- CookieMonster::SetCanonicalCookie: an expired cookie deletes ----
    let outcome = if cookie.expiry == Expiry::Expired {
        Outcome::Deleted
    } else {
        Outcome::Stored
    };
    verdict.finish(outcome, cookie)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn string_to_int64_matches_base() {
        assert_eq!(string_to_int64(b"42"), Ok(42));
        assert_eq!(string_to_int64(b"+42"), Ok(42));
        assert_eq!(string_to_int64(b"-42"), Ok(-42));
        assert_eq!(string_to_int64(b"12abc"), Err(12));
        assert_eq!(string_to_int64(b""), Err(0));
        assert_eq!(string_to_int64(b"-"), Err(0));
        assert_eq!(string_to_int64(b"9223372036854775807"), Ok(i64::MAX));
        assert_eq!(string_to_int64(b"9223372036854775808"), Err(i64::MAX));
        assert_eq!(string_to_int64(b"-99999999999999999999"), Err(i64::MIN));
        assert_eq!(string_to_int64(b" 1"), Err(0));
    }

    #[test]
    fn default_path_is_the_directory_of_the_request_path() {
        assert_eq!(default_path("/p/q/r"), b"/p/q");
        assert_eq!(default_path("/p/q/"), b"/p/q");
        assert_eq!(default_path("/p"), b"/");
        assert_eq!(default_path("/"), b"/");
    }

    #[test]
    fn parse_splits_name_value_and_attributes_like_parsed_cookie() {
        let mut ignored = Vec::new();
        let mut warnings = Vec::new();
        let p = parse(
            b" a b = c d ;Path= /x ; secure",
            &mut ignored,
            &mut warnings,
        )
        .unwrap();
        assert_eq!((p.name, p.value), (&b"a b"[..], &b"c d"[..]));
        assert_eq!(p.value_of(b"path"), Some(&b"/x"[..]));
        assert!(p.has(b"secure"));
        let p = parse(b"novalue; Path=/", &mut ignored, &mut warnings).unwrap();
        assert_eq!((p.name, p.value), (&b""[..], &b"novalue"[..]));
        let p = parse(b"=a=b", &mut ignored, &mut warnings).unwrap();
        assert_eq!(
            (p.name, p.value, p.had_separator),
            (&b""[..], &b"a=b"[..], true)
        );
    }
}
