//! Firefox: `CookieService::CheckPrefs` (third-party policy),
//! `CookieParser::Parse` (netwerk/cookie/CookieParser.cpp: ParseAttributes,
//! GetExpiry, FixDomain, FixPath), `CookieValidation::ValidateInContext`
//! (netwerk/cookie/CookieValidation.cpp) and `CookieStorage::AddCookie`'s
//! expiry check. Firefox reports one reason: the first check that fails.

use time::OffsetDateTime;

use super::host;
use super::http;
use super::reasons::ReasonId::{self, *};
use super::{
    Context, Engine, Expiry, FirefoxThirdParty, IgnoreCause, IgnoredAttribute,
    MAX_ATTRIBUTE_VALUE_BYTES, MAX_LIFETIME_SECONDS, MAX_NAME_VALUE_BYTES, Outcome, Policy,
    SameSite, Scheme, SetterUrl, StoredCookie, Verdict, expiry_in, starts_with_ignore_case,
};

/// `iswhitespace` in CookieParser.cpp.
fn is_ws(b: u8) -> bool {
    b == b' ' || b == b'\t'
}

/// `ContainsControlChars` in CookieParser.cpp: 0x00-0x1F except tab, and 0x7F.
fn has_ctl(text: &[u8]) -> bool {
    text.iter().any(|&b| (b <= 0x1f && b != 0x09) || b == 0x7f)
}

/// `CookieParser::GetTokenValue`: `(token, value, equals_found)`, advancing
/// `it` past the `;`.
fn get_token_value<'a>(line: &'a [u8], it: &mut usize) -> (&'a [u8], &'a [u8], bool) {
    while *it < line.len() && is_ws(line[*it]) {
        *it += 1;
    }
    let start = *it;
    while *it < line.len() && line[*it] != b';' && line[*it] != b'=' {
        *it += 1;
    }
    let mut end = *it;
    while end > start && is_ws(line[end - 1]) {
        end -= 1;
    }
    let token = &line[start..end];
    let equals = *it < line.len() && line[*it] == b'=';
    let mut value: &[u8] = b"";
    if equals {
        *it += 1;
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
        value = &line[start..end];
    }
    if *it < line.len() {
        *it += 1;
    }
    (token, value, equals)
}

/// An attribute kept by `ParseAttributes`, with the pair that set it.
#[derive(Default)]
struct Slot<'a> {
    value: &'a [u8],
    raw_name: &'a [u8],
    set: bool,
}

#[derive(Default)]
struct Parsed<'a> {
    name: &'a [u8],
    value: &'a [u8],
    path: Slot<'a>,
    domain: Slot<'a>,
    expires: Slot<'a>,
    max_age: Slot<'a>,
    secure: bool,
    http_only: bool,
    partitioned: bool,
    same_site: SameSite,
}

/// `CookieParser::CheckAttributeSize`: an over-long value is ignored; a
/// non-empty earlier value is overwritten (and Firefox warns).
fn set_slot<'a>(
    slot: &mut Slot<'a>,
    raw_name: &'a [u8],
    value: &'a [u8],
    ignored: &mut Vec<IgnoredAttribute>,
) {
    if value.len() > MAX_ATTRIBUTE_VALUE_BYTES {
        ignored.push(IgnoredAttribute::new(
            raw_name,
            value,
            IgnoreCause::TooLong,
            Some(FirefoxAttributeIgnored),
        ));
        return;
    }
    if slot.set {
        let warned = (!slot.value.is_empty()).then_some(FirefoxAttributeOverwritten);
        ignored.push(IgnoredAttribute::new(
            slot.raw_name,
            slot.value,
            IgnoreCause::Overridden,
            warned,
        ));
    }
    *slot = Slot {
        value,
        raw_name,
        set: true,
    };
}

/// `CookieParser::ParseAttributes` with `network.cookie.valueless_cookie`
/// on: a first pair without `=` is a name with an empty value.
fn parse<'a>(line: &'a [u8], ignored: &mut Vec<IgnoredAttribute>) -> Result<Parsed<'a>, ReasonId> {
    let mut it = 0;
    let (token, value, equals) = get_token_value(line, &mut it);
    let mut parsed = Parsed {
        name: token,
        value: if equals { value } else { b"" },
        ..Parsed::default()
    };
    while it < line.len() {
        let (token, value, _) = get_token_value(line, &mut it);
        if has_ctl(token) || has_ctl(value) {
            return Err(FirefoxInvalidCharAttributes);
        }
        let lower = token.to_ascii_lowercase();
        match lower.as_slice() {
            b"path" => set_slot(&mut parsed.path, token, value, ignored),
            b"domain" => set_slot(&mut parsed.domain, token, value, ignored),
            b"expires" => set_slot(&mut parsed.expires, token, value, ignored),
            b"max-age" => set_slot(&mut parsed.max_age, token, value, ignored),
            // Any value of these is ignored; only presence counts.
            b"secure" => parsed.secure = true,
            b"partitioned" => parsed.partitioned = true,
            b"httponly" => parsed.http_only = true,
            b"samesite" => {
                parsed.same_site = if value.eq_ignore_ascii_case(b"lax") {
                    SameSite::Lax
                } else if value.eq_ignore_ascii_case(b"strict") {
                    SameSite::Strict
                } else if value.eq_ignore_ascii_case(b"none") {
                    SameSite::None
                } else {
                    // "Reset to Default if unknown token value (see Bug 1682450)"
                    ignored.push(IgnoredAttribute::new(
                        token,
                        value,
                        IgnoreCause::InvalidValue,
                        Some(FirefoxSameSiteValueInvalid),
                    ));
                    SameSite::Unspecified
                };
            }
            _ => ignored.push(IgnoredAttribute::new(
                token,
                value,
                IgnoreCause::Unknown,
                None,
            )),
        }
    }
    Ok(parsed)
}

/// `CookieParser::ParseMaxAgeAttribute`: `Ok(Some(seconds))`, `Ok(None)`
/// when empty, `Err(())` when not digits. A leading `-` means already
/// expired whatever follows; overflow saturates.
fn parse_max_age(text: &[u8]) -> Result<Option<i64>, ()> {
    match text.first() {
        None => return Ok(None),
        Some(b'-') => return Ok(Some(i64::MIN)),
        Some(_) => {}
    }
    let mut value: i64 = 0;
    for &b in text {
        if !b.is_ascii_digit() {
            return Err(());
        }
        match value
            .checked_mul(10)
            .and_then(|v| v.checked_add(i64::from(b - b'0')))
        {
            Some(v) => value = v,
            None => return Ok(Some(i64::MAX)),
        }
    }
    Ok(Some(value))
}

/// `CookieParser::GetExpiry` (with `MaybeCapMaxAge`, `MaybeCapExpiry` and
/// `network.cookie.maxageCap` = 400 days): milliseconds from now, or `None`
/// for a session cookie.
fn expiry(
    parsed: &Parsed<'_>,
    now: OffsetDateTime,
    ignored: &mut Vec<IgnoredAttribute>,
) -> Option<i128> {
    const CAP_MS: i128 = MAX_LIFETIME_SECONDS as i128 * 1000;
    let max_age = &parsed.max_age;
    match parse_max_age(max_age.value) {
        Ok(Some(i64::MIN)) => {
            note_superseded(parsed, ignored);
            return Some(i128::MIN);
        }
        Ok(Some(seconds)) => {
            note_superseded(parsed, ignored);
            return Some((i128::from(seconds) * 1000).min(CAP_MS + 1000));
        }
        Ok(None) => {}
        Err(()) => ignored.push(IgnoredAttribute::new(
            max_age.raw_name,
            max_age.value,
            IgnoreCause::Unparsable,
            Some(FirefoxInvalidMaxAge),
        )),
    }
    let expires = &parsed.expires;
    if expires.value.is_empty() {
        return None;
    }
    let Some(at) = super::dates::nspr_parse_time(expires.value) else {
        ignored.push(IgnoredAttribute::new(
            expires.raw_name,
            expires.value,
            IgnoreCause::Unparsable,
            None,
        ));
        return None;
    };
    let now_ms = i128::from(now.unix_timestamp()) * 1000 + i128::from(now.millisecond());
    Some(i128::from(at) * 1000 - now_ms)
}

fn note_superseded(parsed: &Parsed<'_>, ignored: &mut Vec<IgnoredAttribute>) {
    if !parsed.expires.value.is_empty() {
        ignored.push(IgnoredAttribute::new(
            parsed.expires.raw_name,
            parsed.expires.value,
            IgnoreCause::Superseded,
            None,
        ));
    }
}

/// `CookieCommons::IsSubdomainOf`.
fn is_subdomain_of(a: &[u8], b: &[u8]) -> bool {
    a == b || (a.len() > b.len() && a.ends_with(b) && a[a.len() - b.len() - 1] == b'.')
}

/// `CookieCommons::GetBaseDomain`: the base domain and whether Domain must
/// equal the host (an IP, a single label such as `localhost`, a public
/// suffix: `NS_ERROR_HOST_IS_IP_ADDRESS`, `NS_ERROR_INSUFFICIENT_DOMAIN_LEVELS`).
fn base_domain(host: &str) -> (&str, bool) {
    match host::registrable_domain(host) {
        Some(base) => (base, false),
        None => (host, true),
    }
}

/// `CookieParser::FixDomain` then `CookieValidation::CheckDomain`: the
/// cookie host (a leading dot marks a domain cookie), or `None` when the
/// Domain attribute fails.
fn cookie_host(setter: &SetterUrl, domain: &[u8]) -> Option<Vec<u8>> {
    let host_from_uri = setter.host().as_bytes();
    if domain.is_empty() {
        return Some(host_from_uri.to_vec());
    }
    // "Tolerate leading '.' characters, but not if it's otherwise an empty
    // host."
    let cut = if domain.len() > 1 && domain[0] == b'.' {
        &domain[1..]
    } else {
        domain
    };
    let cookie_host = cut.to_ascii_lowercase();
    let (base, require_host_match) = base_domain(setter.host());
    if require_host_match {
        return (host_from_uri == cookie_host.as_slice()).then_some(cookie_host);
    }
    (is_subdomain_of(&cookie_host, base.as_bytes()) && is_subdomain_of(host_from_uri, &cookie_host))
        .then(|| [&b"."[..], &cookie_host].concat())
}

/// `CookieParser::FixPath` with `GetPathFromURI` (the directory of the
/// request path without its trailing `/`).
fn cookie_path(setter: &SetterUrl, path: &[u8]) -> Vec<u8> {
    if path.first() == Some(&b'/') {
        return path.to_vec();
    }
    let default = super::chromium::default_path(setter.path());
    if default.len() <= MAX_ATTRIBUTE_VALUE_BYTES {
        default
    } else {
        path.to_vec()
    }
}

/// `CookiePrefixes::Check`: the first prefix that matches (any case)
/// decides. The snapshot read (CookiePrefixes.cpp) lists `__Host-` before
/// `__Host-Http-`, which would spare `__Host-Http-` the HttpOnly rule, but
/// Firefox 153 refuses `__Host-Http-n=1; Secure; Path=/` (recorded), so it
/// checks `__Host-Http-` first, as Chromium does.
fn prefix_valid(
    name: &[u8],
    trustworthy: bool,
    secure: bool,
    http_only: bool,
    host: &[u8],
    path: &[u8],
) -> bool {
    let host_rules = || host.first() != Some(&b'.') && path == b"/";
    if starts_with_ignore_case(name, b"__Secure-") {
        trustworthy && secure
    } else if starts_with_ignore_case(name, b"__Host-Http-") {
        trustworthy && secure && http_only && host_rules()
    } else if starts_with_ignore_case(name, b"__Host-") {
        trustworthy && secure && host_rules()
    } else if starts_with_ignore_case(name, b"__Http-") {
        trustworthy && secure && http_only
    } else {
        true
    }
}

/// `CookieValidation::CheckName` (`valueless_cookie` rejects an empty name).
fn name_valid(name: &[u8]) -> bool {
    !name.is_empty()
        && name.first() != Some(&b' ')
        && name.last() != Some(&b' ')
        && !name
            .iter()
            .any(|&b| (b <= 0x1f && b != 0x09) || b == b';' || b == b'=' || b == 0x7f)
}

/// `CookieValidation::CheckValue` (`=` is only refused for a nameless
/// cookie, which `CheckName` already refused).
fn value_valid(value: &[u8]) -> bool {
    value.first() != Some(&b' ')
        && value.last() != Some(&b' ')
        && !value
            .iter()
            .any(|&b| (b <= 0x1f && b != 0x09) || b == b';' || b == 0x7f)
}

pub(super) fn evaluate(
    line: &[u8],
    setter: &SetterUrl,
    context: Context,
    now: OffsetDateTime,
    policy: &Policy,
) -> Verdict {
    let mut verdict = Verdict::new(Engine::Firefox, context);
    let mut ignored = Vec::new();
    let foreign = context.is_cross_site_subresource();

    // CookieService::CheckPrefs, before any parsing.
    if foreign && policy.firefox_third_party == FirefoxThirdParty::Reject {
        let mut verdict = verdict.reject(vec![ReasonId::FirefoxThirdParty]);
        verdict.outcome = Outcome::Blocked;
        return verdict;
    }

    // ---- The HTTP parser (nsHttpTransaction, nsHttpHeaderArray) ----
    let Some(line) = http::firefox(line).into_value(&mut ignored) else {
        verdict.outcome = Outcome::ResponseFailed;
        return verdict;
    };
    let line = line.as_slice();

    // ---- CookieParser::ParseAttributes ----
    let parsed = match parse(line, &mut ignored) {
        Ok(parsed) => parsed,
        Err(reason) => {
            verdict.ignored = ignored;
            return verdict.reject(vec![reason]);
        }
    };

    // ---- GetExpiry, FixDomain, FixPath ----
    let expiry_ms = expiry(&parsed, now, &mut ignored);
    let host = cookie_host(setter, parsed.domain.value);
    if parsed.domain.set && parsed.domain.value.is_empty() {
        ignored.push(IgnoredAttribute::new(
            parsed.domain.raw_name,
            b"",
            IgnoreCause::InvalidValue,
            None,
        ));
    }
    if parsed.path.set && parsed.path.value.first() != Some(&b'/') {
        ignored.push(IgnoredAttribute::new(
            parsed.path.raw_name,
            parsed.path.value,
            IgnoreCause::NotAbsolute,
            None,
        ));
    }
    let path = cookie_path(setter, parsed.path.value);
    verdict.ignored = ignored;

    // Total Cookie Protection: a foreign cookie must be partitioned.
    let must_be_partitioned = foreign && total_cookie_protection(policy);
    let mut warnings = Vec::new();
    if must_be_partitioned && !parsed.partitioned {
        if policy.firefox_third_party == FirefoxThirdParty::PartitionOptIn {
            return verdict.reject(vec![FirefoxForeignNoPartitionedError]);
        }
        warnings.push(FirefoxForeignNoPartitionedWarning);
    }

    // ---- CookieValidation::ValidateInternal ----
    let (name, value) = (parsed.name, parsed.value);
    let reject = |verdict: Verdict, reason| verdict.reject(vec![reason]);
    if name.is_empty() && value.is_empty() {
        return reject(verdict, FirefoxEmptyNameAndValue);
    }
    if name.len() + value.len() > MAX_NAME_VALUE_BYTES {
        return reject(verdict, FirefoxOversize);
    }
    if !name_valid(name) {
        return reject(verdict, FirefoxInvalidCharName);
    }
    if !value_valid(value) {
        return reject(verdict, FirefoxInvalidCharValue);
    }
    if path.contains(&b'\t') {
        return reject(verdict, FirefoxInvalidPath);
    }
    if !parsed.secure && parsed.same_site == SameSite::None {
        return reject(verdict, FirefoxNoneRequiresSecure);
    }
    // ---- ValidateForHostInternal ----
    let Some(host) = host else {
        return reject(verdict, FirefoxInvalidDomain);
    };
    let trustworthy = setter.scheme() == Scheme::Https || host::firefox_is_loopback(setter.host());
    if !prefix_valid(
        name,
        trustworthy,
        parsed.secure,
        parsed.http_only,
        &host,
        &path,
    ) {
        return reject(verdict, FirefoxInvalidPrefix);
    }
    if parsed.secure && !trustworthy {
        return reject(verdict, FirefoxSecureButNonHttps);
    }
    // ---- ValidateInContextInternal (laxByDefault off: unset means None) ----
    if foreign && matches!(parsed.same_site, SameSite::Lax | SameSite::Strict) {
        return reject(verdict, FirefoxForNonSameSiteness);
    }
    if parsed.partitioned && !parsed.secure {
        return reject(verdict, FirefoxPartitionedRequiresSecure);
    }

    // Console warnings are only logged for a cookie that passed.
    for reason in verdict.ignored.iter().filter_map(|i| i.reason) {
        if !warnings.contains(&reason) {
            warnings.push(reason);
        }
    }
    verdict.warnings = warnings;

    let host_only = host.first() != Some(&b'.');
    let domain = String::from_utf8_lossy(host.strip_prefix(b".").unwrap_or(&host)).into_owned();
    let expiry = match expiry_ms {
        None => Expiry::Session,
        // CookieStorage::AddCookie: "cookie has already expired" when
        // expiry <= now.
        Some(ms) if ms <= 0 => Expiry::Expired,
        Some(ms) => expiry_in(now, ms.div_euclid(1000).max(1)),
    };
    let cookie = StoredCookie {
        name: name.to_vec(),
        // Measured, not read: Firefox 153 gives back a value's invalid UTF-8
        // as U+FFFD while the name keeps its bytes (the recorder reads both
        // from the Cookie header Firefox sends; tests/browser-truth). The
        // size and character checks above saw the bytes as sent.
        value: String::from_utf8_lossy(value).into_owned().into_bytes(),
        domain,
        host_only,
        path,
        secure: parsed.secure,
        http_only: parsed.http_only,
        same_site: parsed.same_site,
        effective_same_site: if parsed.same_site == SameSite::Unspecified {
            SameSite::None
        } else {
            parsed.same_site
        },
        expiry,
        // CHIPS: `Partitioned` puts a cookie in the top-level site's jar
        // whatever the third-party setting. Measured, not read: the source
        // read gates CHIPS on cookieBehavior 5, but Firefox ESR 153 with
        // cookieBehavior 0 keeps a Partitioned cookie partitioned too (the
        // lab's browser test with all cookies accepted, tests/browser/lab.rs).
        partitioned: parsed.partitioned || must_be_partitioned,
    };
    let outcome = if cookie.expiry == Expiry::Expired {
        Outcome::Deleted
    } else {
        Outcome::Stored
    };
    verdict.finish(outcome, cookie)
}

/// Whether `policy` is Total Cookie Protection (cookieBehavior 5, with or
/// without opt-in partitioning), which partitions every foreign cookie.
fn total_cookie_protection(policy: &Policy) -> bool {
    matches!(
        policy.firefox_third_party,
        FirefoxThirdParty::Partition | FirefoxThirdParty::PartitionOptIn
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn get_token_value_trims_and_splits_like_cookie_parser() {
        let line = b"  a b = c d ; x";
        let mut it = 0;
        assert_eq!(
            get_token_value(line, &mut it),
            (&b"a b"[..], &b"c d"[..], true)
        );
        assert_eq!(get_token_value(line, &mut it), (&b"x"[..], &b""[..], false));
        assert_eq!(it, line.len());
    }

    #[test]
    fn max_age_is_digits_or_a_leading_minus() {
        assert_eq!(parse_max_age(b"10"), Ok(Some(10)));
        assert_eq!(parse_max_age(b"-abc"), Ok(Some(i64::MIN)));
        assert_eq!(parse_max_age(b"+10"), Err(()));
        assert_eq!(parse_max_age(b"1e3"), Err(()));
        assert_eq!(parse_max_age(b""), Ok(None));
        assert_eq!(parse_max_age(b"99999999999999999999"), Ok(Some(i64::MAX)));
    }

    #[test]
    fn subdomain_check_needs_a_dot_boundary() {
        assert!(is_subdomain_of(b"a.example.com", b"example.com"));
        assert!(is_subdomain_of(b"example.com", b"example.com"));
        assert!(!is_subdomain_of(b"badexample.com", b"example.com"));
        assert!(!is_subdomain_of(b"example.com", b"a.example.com"));
    }
}
