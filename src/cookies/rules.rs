//! What a browser does with a cookie, as data: each rule is a check of one
//! thing Chromium and Firefox enforce (RFC 6265bis and their own limits), and
//! each finding says what the browser will do and how to fix it.
//!
//! [`check`] is pure: a cookie and its context in, findings out. The pages,
//! the API and the CLI all call it, so they can never disagree.

use std::fmt;

use serde::Serialize;
use time::{Duration, OffsetDateTime};

use super::context::CookieContext;
use super::incoming::RequestCookies;
use super::spec::{CookieSpec, NamePrefix, SameSite};
use crate::domain::{CookieName, CookieNameError};

/// Chromium and Firefox drop a cookie whose name and value exceed this.
pub const MAX_NAME_VALUE_BYTES: usize = 4096;
/// RFC 6265bis: a longer attribute value is ignored.
pub const MAX_ATTRIBUTE_BYTES: usize = 1024;
/// RFC 6265bis: browsers cap Max-Age/Expires at 400 days.
pub const MAX_LIFETIME: Duration = Duration::days(400);
/// RFC 6265 asks browsers to keep at least 50 cookies per domain.
pub const WARN_COOKIE_COUNT: usize = 50;
/// nginx's default `large_client_header_buffers` line size: a longer Cookie
/// header gets a 400 from a default nginx in front of the app.
pub const WARN_HEADER_BYTES: usize = 8 * 1024;
/// Chromium keeps at most this many cookies per site (eTLD+1).
pub const BROWSER_MAX_COOKIES_PER_SITE: usize = 180;

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    /// The browser changes the cookie, or it works but is risky.
    Warning,
    /// The browser rejects the cookie: it is never stored.
    Error,
}

/// One rule a browser enforces. The serialised form is the rule id.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "kebab-case")]
pub enum Rule {
    NameNotToken,
    TooLarge,
    AttributeTooLong,
    AttributeInvalidCharacter,
    PathNotAbsolute,
    ValueNotCookieOctets,
    LifetimeCapped,
    #[serde(rename = "samesite-none-insecure")]
    SameSiteNoneInsecure,
    PartitionedInsecure,
    SecurePrefix,
    HostPrefix,
    HttpPrefix,
    DomainMismatch,
    DomainPublicSuffix,
    SecureOnHttp,
    #[serde(rename = "session-without-httponly")]
    SessionWithoutHttpOnly,
    TooManyCookies,
    CookieHeaderTooLarge,
}

impl Rule {
    pub fn id(self) -> &'static str {
        match self {
            Self::NameNotToken => "name-not-token",
            Self::TooLarge => "too-large",
            Self::AttributeTooLong => "attribute-too-long",
            Self::AttributeInvalidCharacter => "attribute-invalid-character",
            Self::PathNotAbsolute => "path-not-absolute",
            Self::ValueNotCookieOctets => "value-not-cookie-octets",
            Self::LifetimeCapped => "lifetime-capped",
            Self::SameSiteNoneInsecure => "samesite-none-insecure",
            Self::PartitionedInsecure => "partitioned-insecure",
            Self::SecurePrefix => "secure-prefix",
            Self::HostPrefix => "host-prefix",
            Self::HttpPrefix => "http-prefix",
            Self::DomainMismatch => "domain-mismatch",
            Self::DomainPublicSuffix => "domain-public-suffix",
            Self::SecureOnHttp => "secure-on-http",
            Self::SessionWithoutHttpOnly => "session-without-httponly",
            Self::TooManyCookies => "too-many-cookies",
            Self::CookieHeaderTooLarge => "cookie-header-too-large",
        }
    }

    pub fn severity(self) -> Severity {
        match self {
            Self::ValueNotCookieOctets
            | Self::PathNotAbsolute
            | Self::LifetimeCapped
            | Self::SessionWithoutHttpOnly
            | Self::TooManyCookies
            | Self::CookieHeaderTooLarge => Severity::Warning,
            Self::NameNotToken
            | Self::TooLarge
            | Self::AttributeTooLong
            | Self::AttributeInvalidCharacter
            | Self::SameSiteNoneInsecure
            | Self::PartitionedInsecure
            | Self::SecurePrefix
            | Self::HostPrefix
            | Self::HttpPrefix
            | Self::DomainMismatch
            | Self::DomainPublicSuffix
            | Self::SecureOnHttp => Severity::Error,
        }
    }

    /// Every rule, for documentation and exhaustive tests.
    pub const ALL: [Rule; 18] = [
        Self::NameNotToken,
        Self::TooLarge,
        Self::AttributeTooLong,
        Self::AttributeInvalidCharacter,
        Self::PathNotAbsolute,
        Self::ValueNotCookieOctets,
        Self::LifetimeCapped,
        Self::SameSiteNoneInsecure,
        Self::PartitionedInsecure,
        Self::SecurePrefix,
        Self::HostPrefix,
        Self::HttpPrefix,
        Self::DomainMismatch,
        Self::DomainPublicSuffix,
        Self::SecureOnHttp,
        Self::SessionWithoutHttpOnly,
        Self::TooManyCookies,
        Self::CookieHeaderTooLarge,
    ];
}

impl fmt::Display for Rule {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.id())
    }
}

/// What one rule found.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, utoipa::ToSchema)]
pub struct Finding {
    /// The rule id, e.g. `samesite-none-insecure`.
    pub rule: Rule,
    pub severity: Severity,
    /// What the browser will do, in a sentence.
    pub message: String,
    /// How to change the cookie so it works.
    pub fix: String,
}

impl Finding {
    fn new(rule: Rule, message: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            rule,
            severity: rule.severity(),
            message: message.into(),
            fix: fix.into(),
        }
    }

    pub fn is_error(&self) -> bool {
        self.severity == Severity::Error
    }
}

/// Every finding for `spec` set in `ctx` at `now`, errors first.
pub fn check(spec: &CookieSpec, ctx: &CookieContext, now: OffsetDateTime) -> Vec<Finding> {
    let mut findings = Vec::new();
    let removal = spec.is_removal_at(now);
    check_name(spec, &mut findings);
    // Encoded once here rather than in each rule: it scans the whole value.
    let encoded = spec.encoded_value();
    check_size(spec, &encoded, &mut findings);
    check_value_octets(&encoded, &mut findings);
    check_attributes(spec, &mut findings);
    check_path(spec, &mut findings);
    if !removal {
        check_lifetime(spec, now, &mut findings);
        check_http_only(spec, &mut findings);
    }
    check_secure_requirements(spec, ctx, &mut findings);
    check_prefixes(spec, &mut findings);
    check_domain(spec, ctx, &mut findings);
    findings.sort_by_key(|f| std::cmp::Reverse(f.severity));
    findings
}

fn check_name(spec: &CookieSpec, out: &mut Vec<Finding>) {
    let why = match CookieName::parse(&spec.name) {
        Ok(_) | Err(CookieNameError::TooLong { .. }) => return, // too-large says it
        Err(CookieNameError::Empty) => "the name is empty".to_owned(),
        Err(CookieNameError::NotAToken(c)) => format!("the name contains {c:?}"),
    };
    out.push(Finding::new(
        Rule::NameNotToken,
        format!("Browsers parse this cookie inconsistently or ignore it: {why}, and a cookie name must be an RFC 7230 token."),
        "Use only letters, digits and !#$%&'*+-.^_`|~ in the name.",
    ));
}

fn check_size(spec: &CookieSpec, encoded: &str, out: &mut Vec<Finding>) {
    let bytes = spec.name.len() + encoded.len();
    if bytes > MAX_NAME_VALUE_BYTES {
        out.push(Finding::new(
            Rule::TooLarge,
            format!(
                "The browser ignores this cookie: its name and encoded value take {bytes} bytes, \
                 and browsers keep at most {MAX_NAME_VALUE_BYTES}."
            ),
            format!(
                "Shorten the value by {} bytes, or keep the data on the server and put only an id in the cookie.",
                bytes - MAX_NAME_VALUE_BYTES
            ),
        ));
    }
}

/// Only wire values can hold these: text values are percent-encoded.
fn check_value_octets(value: &str, out: &mut Vec<Finding>) {
    let inner = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value);
    // Bytes, not chars: this runs on every cookie sent. The first byte that
    // isn't ASCII starts a character, so the report can name it.
    let Some(at) = inner.bytes().position(|b| {
        !b.is_ascii() || matches!(b, b' ' | b'"' | b',' | b';' | b'\\') || b.is_ascii_control()
    }) else {
        return;
    };
    let bad = inner
        .get(at..)
        .and_then(|rest| rest.chars().next())
        .unwrap_or_default();
    out.push(Finding::new(
        Rule::ValueNotCookieOctets,
        format!(
            "The value contains {bad:?}, which RFC 6265 does not allow in a cookie value: browsers keep it, \
             but servers, proxies and libraries may cut the value short or read it differently."
        ),
        "Percent-encode the value (cookie-lab does this for every value it sets).",
    ));
}

fn check_attributes(spec: &CookieSpec, out: &mut Vec<Finding>) {
    for (attribute, value) in [("Path", &spec.path), ("Domain", &spec.domain)] {
        let Some(value) = value else { continue };
        if value.len() > MAX_ATTRIBUTE_BYTES {
            out.push(Finding::new(
                Rule::AttributeTooLong,
                format!(
                    "The browser ignores the {attribute} attribute: its value is {} bytes, over the {MAX_ATTRIBUTE_BYTES}-byte limit, \
                     so the cookie would not be scoped as asked.",
                    value.len()
                ),
                format!("Keep {attribute} under {MAX_ATTRIBUTE_BYTES} bytes."),
            ));
        }
        if let Some(bad) = value.chars().find(|c| c.is_control() || *c == ';') {
            out.push(Finding::new(
                Rule::AttributeInvalidCharacter,
                format!(
                    "{attribute} contains {bad:?}, which would end the attribute or the header early: \
                     the browser would read a different cookie than the one asked for."
                ),
                format!("Remove control characters and ';' from {attribute}."),
            ));
        }
    }
}

/// RFC 6265 §5.2.4: a Path that doesn't start with `/` (after the browser
/// trims it) is ignored, and the cookie gets the page's directory instead.
fn check_path(spec: &CookieSpec, out: &mut Vec<Finding>) {
    let Some(path) = spec.path.as_deref() else {
        return;
    };
    if path.trim().starts_with('/') && path.trim() == path {
        return;
    }
    let message = if path.trim().starts_with('/') {
        format!(
            "The browser trims the spaces around Path={path:?} and scopes the cookie to {:?}.",
            path.trim()
        )
    } else {
        format!(
            "The browser ignores Path={path:?} because it doesn't start with '/', and scopes the cookie to the \
             directory of the page that set it instead."
        )
    };
    out.push(Finding::new(
        Rule::PathNotAbsolute,
        message,
        "Give a Path that starts with '/', such as Path=/.",
    ));
}

fn check_lifetime(spec: &CookieSpec, now: OffsetDateTime, out: &mut Vec<Finding>) {
    let too_long_max_age = spec.max_age.is_some_and(|age| age > MAX_LIFETIME);
    let too_late_expires = spec.expires.is_some_and(|at| at - now > MAX_LIFETIME);
    if too_long_max_age || too_late_expires {
        out.push(Finding::new(
            Rule::LifetimeCapped,
            "The browser shortens this cookie's lifetime to 400 days, the longest Chromium and Firefox keep a cookie.",
            "Set Max-Age (or Expires) to at most 400 days (34560000 seconds) and refresh the cookie while it is in use.",
        ));
    }
}

fn check_http_only(spec: &CookieSpec, out: &mut Vec<Finding>) {
    if spec.http_only || !looks_like_a_session(&spec.name) {
        return;
    }
    out.push(Finding::new(
        Rule::SessionWithoutHttpOnly,
        "This looks like a session cookie but any script on the page can read it, so one XSS bug leaks the session.",
        "Add HttpOnly unless JavaScript really needs to read this cookie.",
    ));
}

fn looks_like_a_session(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    ["session", "sess", "sid", "token", "auth", "jwt", "login"]
        .iter()
        .any(|word| name.contains(word))
}

fn check_secure_requirements(spec: &CookieSpec, ctx: &CookieContext, out: &mut Vec<Finding>) {
    if spec.same_site == Some(SameSite::None) && !spec.secure {
        out.push(Finding::new(
            Rule::SameSiteNoneInsecure,
            "The browser rejects this cookie: SameSite=None is only accepted together with Secure.",
            "Add Secure (and serve the site over HTTPS), or use SameSite=Lax.",
        ));
    }
    if spec.partitioned && !spec.secure {
        out.push(Finding::new(
            Rule::PartitionedInsecure,
            "The browser rejects this cookie: Partitioned cookies (CHIPS) must be Secure.",
            "Add Secure, or drop Partitioned.",
        ));
    }
    if spec.secure && !ctx.is_potentially_trustworthy() {
        out.push(Finding::new(
            Rule::SecureOnHttp,
            format!(
                "The browser rejects this cookie: it is marked Secure but is set by http://{}, an insecure origin \
                 (only HTTPS, localhost and loopback addresses may set Secure cookies).",
                ctx.host()
            ),
            "Serve the site over HTTPS, or drop Secure while testing on plain HTTP.",
        ));
    }
}

fn check_prefixes(spec: &CookieSpec, out: &mut Vec<Finding>) {
    let Some(kind) = NamePrefix::of(&spec.name) else {
        return;
    };
    let prefix = &spec.name[..spec.name.find('-').map_or(0, |i| i + 1)];
    let host = kind.requires_host_only_root();
    let http = kind.requires_http_only();

    if !spec.secure {
        let rule = if host {
            Rule::HostPrefix
        } else if http {
            Rule::HttpPrefix
        } else {
            Rule::SecurePrefix
        };
        out.push(Finding::new(
            rule,
            format!("The browser rejects this cookie: a name starting with {prefix} requires the Secure attribute."),
            "Add Secure.",
        ));
    }
    if host {
        if spec.path.as_deref() != Some("/") {
            out.push(Finding::new(
                Rule::HostPrefix,
                format!(
                    "The browser rejects this cookie: a name starting with {prefix} requires Path=/, got {}.",
                    spec.path.as_deref().map_or("no Path".to_owned(), |p| format!("Path={p}"))
                ),
                "Set Path=/.",
            ));
        }
        if spec.domain.is_some() {
            out.push(Finding::new(
                Rule::HostPrefix,
                format!("The browser rejects this cookie: a name starting with {prefix} must not have a Domain attribute."),
                "Remove Domain: the cookie then belongs to exactly the host that set it.",
            ));
        }
    }
    if http && !spec.http_only {
        out.push(Finding::new(
            Rule::HttpPrefix,
            format!(
                "The browser rejects this cookie: a name starting with {prefix} requires HttpOnly."
            ),
            "Add HttpOnly.",
        ));
    }
}

fn check_domain(spec: &CookieSpec, ctx: &CookieContext, out: &mut Vec<Finding>) {
    let Some(raw) = spec.domain.as_deref() else {
        return;
    };
    let domain = raw
        .trim_start_matches('.')
        .trim_end_matches('.')
        .to_ascii_lowercase();
    let host = ctx.host();
    if is_public_suffix(&domain) && domain != host {
        out.push(Finding::new(
            Rule::DomainPublicSuffix,
            format!(
                "The browser rejects this cookie: Domain={raw} is a public suffix (like com or github.io), \
                 and a cookie for a public suffix would be sent to every site under it."
            ),
            "Remove Domain, or use your own registrable domain (e.g. example.com).",
        ));
        return;
    }
    if ctx.host_is_unknown() {
        return;
    }
    let matches = if ctx.host_is_ip() {
        domain == host
    } else {
        !domain.is_empty() && (host == domain || host.ends_with(&format!(".{domain}")))
    };
    if !matches {
        out.push(Finding::new(
            Rule::DomainMismatch,
            format!(
                "The browser rejects this cookie: Domain={raw} does not domain-match the host {host} that sets it \
                 (a site may only set cookies for itself or a parent domain)."
            ),
            format!("Remove Domain, or use {host} or one of its parent domains."),
        ));
    }
}

/// True for names on the Public Suffix List (com, co.uk, github.io…). Names
/// only covered by the list's implicit `*` rule (e.g. `localhost`) don't count.
fn is_public_suffix(domain: &str) -> bool {
    psl::suffix(domain.as_bytes())
        .is_some_and(|suffix| suffix.is_known() && suffix.as_bytes() == domain.as_bytes())
}

/// What the browser's request says about its cookie jar: too many cookies,
/// or a `Cookie` header too big for a default proxy in front of the app.
pub fn check_request(cookies: &RequestCookies) -> Vec<Finding> {
    let mut findings = Vec::new();
    let count = cookies.len();
    if count > WARN_COOKIE_COUNT {
        findings.push(Finding::new(
            Rule::TooManyCookies,
            format!(
                "This request carried {count} cookies. RFC 6265 only promises {WARN_COOKIE_COUNT} per domain; \
                 Chromium keeps at most {BROWSER_MAX_COOKIES_PER_SITE} per site and silently evicts the oldest."
            ),
            "Merge cookies, or keep state on the server and send one id.",
        ));
    }
    let bytes = cookies.header_bytes();
    if bytes > WARN_HEADER_BYTES {
        findings.push(Finding::new(
            Rule::CookieHeaderTooLarge,
            format!(
                "The Cookie header is {bytes} bytes. A default nginx refuses request header lines over \
                 {WARN_HEADER_BYTES} bytes with a 400, and every request pays for it."
            ),
            "Delete cookies you no longer need, or raise the proxy's header buffer (nginx: large_client_header_buffers).",
        ));
    }
    findings
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;

    const NOW: OffsetDateTime = datetime!(2026-11-26 12:00:00 UTC);

    fn rules(spec: &CookieSpec, host: &str, https: bool) -> Vec<Rule> {
        check(spec, &CookieContext::new(host, https), NOW)
            .into_iter()
            .map(|f| f.rule)
            .collect()
    }

    fn plain(name: &str, value: &str) -> CookieSpec {
        CookieSpec::new(name, value)
    }

    #[test]
    fn a_plain_cookie_has_no_findings() {
        assert_eq!(
            rules(&plain("userID", "alice"), "127.0.0.1:5000", false),
            []
        );
    }

    #[test]
    fn name_must_be_a_token() {
        assert_eq!(
            rules(&plain("a b", "1"), "localhost", false),
            [Rule::NameNotToken]
        );
        assert_eq!(
            rules(&plain("", "1"), "localhost", false),
            [Rule::NameNotToken]
        );
        assert_eq!(rules(&plain("a-b.c", "1"), "localhost", false), []);
    }

    #[test]
    fn name_and_encoded_value_over_4096_bytes_is_too_large() {
        let fits = plain("userID", &"x".repeat(4090));
        assert_eq!(rules(&fits, "localhost", false), []);
        let over = plain("userID", &"x".repeat(4091));
        assert_eq!(rules(&over, "localhost", false), [Rule::TooLarge]);
        // Counted encoded: 2048 × "é" is 4096 bytes of text but 12288 on the wire.
        let encoded = plain("a", &"é".repeat(700));
        assert_eq!(rules(&encoded, "localhost", false), [Rule::TooLarge]);
    }

    #[test]
    fn attributes_over_1024_bytes_or_with_control_characters_are_refused() {
        let long = plain("a", "1").path(format!("/{}", "p".repeat(1024)));
        assert_eq!(rules(&long, "localhost", false), [Rule::AttributeTooLong]);
        let fits = plain("a", "1").path(format!("/{}", "p".repeat(1023)));
        assert_eq!(rules(&fits, "localhost", false), []);
        let injected = plain("a", "1").path("/; Domain=evil.example");
        assert_eq!(
            rules(&injected, "localhost", false),
            [Rule::AttributeInvalidCharacter]
        );
        let crlf = CookieSpec {
            domain: Some("localhost\r\nX-Evil: 1".into()),
            ..plain("a", "1")
        };
        assert!(rules(&crlf, "localhost", false).contains(&Rule::AttributeInvalidCharacter));
    }

    #[test]
    fn a_path_must_start_with_a_slash_to_be_used() {
        assert_eq!(
            rules(&plain("a", "1").path("app"), "localhost", false),
            [Rule::PathNotAbsolute]
        );
        assert_eq!(
            rules(&plain("a", "1").path(""), "localhost", false),
            [Rule::PathNotAbsolute]
        );
        assert_eq!(
            rules(&plain("a", "1").path(" "), "localhost", false),
            [Rule::PathNotAbsolute]
        );
        assert_eq!(
            rules(&plain("a", "1").path(" /app"), "localhost", false),
            [Rule::PathNotAbsolute]
        );
        assert_eq!(rules(&plain("a", "1").path("/app"), "localhost", false), []);
        let no_path = CookieSpec {
            path: None,
            ..plain("a", "1")
        };
        assert_eq!(rules(&no_path, "localhost", false), []);
    }

    #[test]
    fn lifetimes_past_400_days_are_capped_with_a_warning() {
        let capped = plain("a", "1").max_age(Duration::days(401));
        assert_eq!(rules(&capped, "localhost", false), [Rule::LifetimeCapped]);
        let ok = plain("a", "1").max_age(Duration::days(400));
        assert_eq!(rules(&ok, "localhost", false), []);
        let far = CookieSpec {
            expires: Some(datetime!(2030-01-01 0:00 UTC)),
            ..plain("a", "1")
        };
        assert_eq!(rules(&far, "localhost", false), [Rule::LifetimeCapped]);
        assert_eq!(
            check(&capped, &CookieContext::new("localhost", false), NOW)[0].severity,
            Severity::Warning
        );
    }

    #[test]
    fn same_site_none_and_partitioned_need_secure() {
        let none = plain("a", "1").same_site(SameSite::None);
        assert_eq!(
            rules(&none, "localhost", false),
            [Rule::SameSiteNoneInsecure]
        );
        assert_eq!(rules(&none.clone().secure(true), "localhost", false), []);
        let partitioned = CookieSpec {
            partitioned: true,
            ..plain("a", "1")
        };
        assert_eq!(
            rules(&partitioned, "localhost", false),
            [Rule::PartitionedInsecure]
        );
        assert_eq!(rules(&partitioned.secure(true), "localhost", false), []);
    }

    #[test]
    fn secure_from_plain_http_is_refused_except_on_loopback() {
        let secure = plain("a", "1").secure(true);
        assert_eq!(rules(&secure, "example.com", false), [Rule::SecureOnHttp]);
        assert_eq!(rules(&secure, "example.com", true), []);
        assert_eq!(rules(&secure, "127.0.0.1:5000", false), []);
        assert_eq!(rules(&secure, "localhost", false), []);
    }

    #[test]
    fn prefixes_match_case_insensitively() {
        assert_eq!(
            rules(&plain("__Secure-id", "1"), "localhost", false),
            [Rule::SecurePrefix]
        );
        assert_eq!(
            rules(&plain("__SECURE-id", "1"), "localhost", false),
            [Rule::SecurePrefix]
        );
        assert_eq!(
            rules(&plain("__Secure-id", "1").secure(true), "localhost", false),
            []
        );
        assert_eq!(rules(&plain("_Secure-id", "1"), "localhost", false), []);
    }

    #[test]
    fn host_prefix_needs_secure_root_path_and_no_domain() {
        let ok = plain("__Host-id", "1").secure(true);
        assert_eq!(rules(&ok, "localhost", false), []);
        assert_eq!(
            rules(&ok.clone().path("/app"), "localhost", false),
            [Rule::HostPrefix]
        );
        let with_domain = CookieSpec {
            domain: Some("localhost".into()),
            ..ok.clone()
        };
        assert_eq!(rules(&with_domain, "localhost", false), [Rule::HostPrefix]);
        assert_eq!(
            rules(&plain("__host-id", "1"), "localhost", false),
            [Rule::HostPrefix]
        );
    }

    #[test]
    fn http_prefixes_also_need_http_only() {
        let secure = plain("__Http-id", "1").secure(true);
        assert_eq!(rules(&secure, "localhost", false), [Rule::HttpPrefix]);
        assert_eq!(rules(&secure.http_only(true), "localhost", false), []);
        let host_http = plain("__Host-Http-id", "1").secure(true).path("/x");
        assert_eq!(
            rules(&host_http, "localhost", false),
            [Rule::HostPrefix, Rule::HttpPrefix]
        );
        assert_eq!(
            rules(&host_http.path("/").http_only(true), "localhost", false),
            []
        );
    }

    #[test]
    fn domain_must_domain_match_the_host() {
        let with = |d: &str| CookieSpec {
            domain: Some(d.into()),
            ..plain("a", "1")
        };
        assert_eq!(rules(&with("example.com"), "www.example.com", false), []);
        assert_eq!(rules(&with(".example.com"), "example.com", false), []);
        assert_eq!(
            rules(&with("other.com"), "www.example.com", false),
            [Rule::DomainMismatch]
        );
        assert_eq!(
            rules(&with("ample.com"), "example.com", false),
            [Rule::DomainMismatch]
        );
        assert_eq!(
            rules(&with("www.example.com"), "example.com", false),
            [Rule::DomainMismatch]
        );
        assert_eq!(rules(&with("127.0.0.1"), "127.0.0.1:5000", false), []);
        assert_eq!(
            rules(&with("0.0.1"), "127.0.0.1", false),
            [Rule::DomainMismatch]
        );
    }

    #[test]
    fn a_public_suffix_is_never_a_cookie_domain() {
        let with = |d: &str| CookieSpec {
            domain: Some(d.into()),
            ..plain("a", "1")
        };
        assert_eq!(
            rules(&with("com"), "example.com", false),
            [Rule::DomainPublicSuffix]
        );
        assert_eq!(
            rules(&with("github.io"), "me.github.io", false),
            [Rule::DomainPublicSuffix]
        );
        assert_eq!(
            rules(&with(".co.uk"), "shop.co.uk", false),
            [Rule::DomainPublicSuffix]
        );
        // A near miss: the registrable domain under the suffix is fine.
        assert_eq!(rules(&with("me.github.io"), "me.github.io", false), []);
        assert_eq!(rules(&with("localhost"), "localhost", false), []);
        // The host may be a public suffix itself and set a host cookie.
        assert_eq!(rules(&with("github.io"), "github.io", false), []);
    }

    #[test]
    fn without_a_known_host_domain_is_only_checked_against_the_suffix_list() {
        let ctx = CookieContext::unknown_host(true);
        let with = |d: &str| CookieSpec {
            domain: Some(d.into()),
            ..plain("a", "1")
        };
        assert!(check(&with("example.com"), &ctx, NOW).is_empty());
        assert_eq!(
            check(&with("com"), &ctx, NOW)[0].rule,
            Rule::DomainPublicSuffix
        );
    }

    #[test]
    fn wire_values_outside_cookie_octets_get_a_warning() {
        let wire = |v: &str| CookieSpec {
            wire_value: true,
            ..plain("a", v)
        };
        assert_eq!(
            rules(&wire("a b"), "localhost", false),
            [Rule::ValueNotCookieOctets]
        );
        assert_eq!(
            rules(&wire("café"), "localhost", false),
            [Rule::ValueNotCookieOctets]
        );
        let named = check(&wire("café"), &CookieContext::new("localhost", false), NOW);
        assert!(named[0].message.contains("'é'"), "{}", named[0].message);
        assert_eq!(rules(&wire("\"bar:baz\""), "localhost", false), []);
        assert_eq!(rules(&wire("caf%C3%A9"), "localhost", false), []);
        // Text values are encoded, so never trip it.
        assert_eq!(rules(&plain("a", "a b,c"), "localhost", false), []);
    }

    #[test]
    fn a_big_cookie_jar_gets_request_warnings() {
        use axum::http::{HeaderMap, HeaderValue, header::COOKIE};
        let jar = |n: usize, size: usize| {
            let header = (0..n)
                .map(|i| format!("c{i}={}", "v".repeat(size)))
                .collect::<Vec<_>>()
                .join("; ");
            let mut headers = HeaderMap::new();
            headers.insert(COOKIE, HeaderValue::from_str(&header).unwrap());
            check_request(&RequestCookies::from_headers(&headers))
                .into_iter()
                .map(|f| f.rule)
                .collect::<Vec<_>>()
        };
        assert_eq!(jar(50, 10), []);
        assert_eq!(jar(51, 10), [Rule::TooManyCookies]);
        assert_eq!(jar(20, 400), []);
        assert_eq!(jar(20, 4000), [Rule::CookieHeaderTooLarge]);
        assert_eq!(
            jar(60, 200),
            [Rule::TooManyCookies, Rule::CookieHeaderTooLarge]
        );
    }

    #[test]
    fn every_rule_has_a_distinct_id_matching_its_serde_name() {
        let mut ids: Vec<_> = Rule::ALL.iter().map(|r| r.id()).collect();
        for rule in Rule::ALL {
            assert_eq!(serde_json::to_value(rule).unwrap(), rule.id());
        }
        ids.sort_unstable();
        ids.dedup();
        assert_eq!(ids.len(), Rule::ALL.len());
    }

    #[test]
    fn session_like_names_without_http_only_get_a_warning() {
        assert_eq!(
            rules(&plain("session_id", "1"), "localhost", false),
            [Rule::SessionWithoutHttpOnly]
        );
        assert_eq!(
            rules(
                &plain("session_id", "1").http_only(true),
                "localhost",
                false
            ),
            []
        );
        assert_eq!(rules(&plain("userID", "1"), "localhost", false), []);
    }

    #[test]
    fn removals_skip_lifetime_and_session_warnings_but_keep_prefix_rules() {
        let removal = CookieSpec::removal("session", Some("/".into()), None);
        assert_eq!(rules(&removal, "localhost", false), []);
        let host = CookieSpec::removal("__Host-id", Some("/".into()), None);
        assert_eq!(rules(&host, "localhost", false), []);
        let insecure = CookieSpec {
            secure: false,
            ..host
        };
        assert_eq!(rules(&insecure, "localhost", false), [Rule::HostPrefix]);
    }

    #[test]
    fn errors_come_before_warnings() {
        let spec = plain("session", "1")
            .same_site(SameSite::None)
            .max_age(Duration::days(500));
        let found = check(&spec, &CookieContext::new("localhost", false), NOW);
        assert_eq!(found.first().map(|f| f.severity), Some(Severity::Error));
        assert_eq!(found.last().map(|f| f.severity), Some(Severity::Warning));
    }
}
