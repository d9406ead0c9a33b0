use axum::http::HeaderValue;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponseParts, ResponseParts};
use time::OffsetDateTime;

use super::context::CookieContext;
use super::finding::{Finding, Severity};
use super::gate;
use super::reserved::{OwnCookie, Reserved, reserved};
use super::spec::CookieSpec;
use crate::domain::CookieName;
use crate::lint::LintReport;

/// A cookie that passed the rules, ready to send. The only way to make one
/// is [`prepare`], so nothing a browser would drop can reach [`SetCookies`].
#[derive(Debug, Clone)]
pub struct PreparedCookie {
    header: HeaderValue,
    /// The same header as text: `HeaderValue::to_str` refuses the non-ASCII
    /// bytes a wire value may hold, so it can't be read back from `header`.
    text: String,
    warnings: Vec<Finding>,
    /// What each engine does with it.
    judged: Box<gate::Judged>,
}

impl PreparedCookie {
    /// The exact `Set-Cookie` header value that will be sent.
    pub fn header(&self) -> &str {
        &self.text
    }

    /// What browsers will change about it, or why it is risky.
    pub fn warnings(&self) -> &[Finding] {
        &self.warnings
    }

    /// Each engine's verdict on it, as the lint reports it.
    pub fn report(&self) -> LintReport {
        self.judged.report(&self.text)
    }
}

/// Why a cookie was not sent.
#[derive(Debug, Clone)]
pub enum Refused {
    /// A browser would drop it: at least one error, plus any warnings.
    Dropped {
        spec_name: String,
        findings: Vec<Finding>,
        /// Each engine's verdict, when the cookie could be judged at all.
        report: Option<Box<LintReport>>,
    },
    /// A browser would take it, but cookie-lab's own policy withholds it.
    Withheld { spec_name: String, policy: Withheld },
}

/// Carried in the extensions of a response that refused a cookie: the
/// reasons, for the metrics layer to count (so the cookie code counts
/// nothing itself).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CookiesRefused(pub Vec<&'static str>);

/// Why cookie-lab refuses a cookie of its own accord, next to the engine
/// reasons: the label values a refusal can carry besides an engine's.
pub mod policy {
    /// A `;` or `=` in the name, or `;` in Path or Domain.
    pub const CANNOT_BE_WRITTEN: &str = "cannot-be-written";
    /// A name cookie-lab itself would not send (not an RFC 6265 token).
    pub const OWN_NAME_NOT_TOKEN: &str = "own-name-not-token";
    pub const HOST_NOT_A_HOST: &str = "host-not-a-host";
    pub const RESERVED_NAME: &str = "reserved-name";
    pub const CROSS_SITE: &str = "cross-site";
    pub const RESPONSE_CAP: &str = "response-cap";
    pub const ALL: [&str; 6] = [
        CANNOT_BE_WRITTEN,
        OWN_NAME_NOT_TOKEN,
        HOST_NOT_A_HOST,
        RESERVED_NAME,
        CROSS_SITE,
        RESPONSE_CAP,
    ];
}

/// cookie-lab's own reasons not to send a cookie a browser would take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Withheld {
    /// The name is one cookie-lab relies on itself.
    ReservedName(Reserved),
    /// A GET from another site: a link elsewhere must not change this
    /// site's cookies (login CSRF, logout CSRF, cookie bombs). `retry` is
    /// the request's own path and query, to try again from this site.
    CrossSite { retry: String },
    /// More than one response may set.
    ResponseCap,
}

impl Withheld {
    /// A label for logs and metrics.
    pub fn label(&self) -> &'static str {
        match self {
            Self::ReservedName(_) => policy::RESERVED_NAME,
            Self::CrossSite { .. } => policy::CROSS_SITE,
            Self::ResponseCap => policy::RESPONSE_CAP,
        }
    }
}

impl Refused {
    pub fn spec_name(&self) -> &str {
        match self {
            Self::Dropped { spec_name, .. } | Self::Withheld { spec_name, .. } => spec_name,
        }
    }

    /// Every finding of a cookie a browser would drop; none for a withheld one.
    pub fn findings(&self) -> &[Finding] {
        match self {
            Self::Dropped { findings, .. } => findings,
            Self::Withheld { .. } => &[],
        }
    }

    pub fn errors(&self) -> impl Iterator<Item = &Finding> {
        self.findings().iter().filter(|f| f.is_error())
    }

    pub fn warnings(&self) -> impl Iterator<Item = &Finding> {
        self.findings().iter().filter(|f| !f.is_error())
    }

    /// What the response that refuses it carries, for the layer that
    /// counts refusals: each reason once.
    pub fn counted(&self) -> CookiesRefused {
        let mut ids: Vec<&'static str> = Vec::new();
        match self {
            Self::Dropped { .. } => {
                for finding in self.errors() {
                    if !ids.contains(&finding.id) {
                        ids.push(finding.id);
                    }
                }
            }
            Self::Withheld { policy, .. } => ids.push(policy.label()),
        }
        CookiesRefused(ids)
    }

    /// Each engine's verdict, when the cookie was judged.
    pub fn report(&self) -> Option<&LintReport> {
        match self {
            Self::Dropped { report, .. } => report.as_deref(),
            Self::Withheld { .. } => None,
        }
    }

    /// The policy that withheld it, if it was withheld.
    pub fn withheld(&self) -> Option<&Withheld> {
        match self {
            Self::Withheld { policy, .. } => Some(policy),
            Self::Dropped { .. } => None,
        }
    }

    /// Why, in one sentence a user reads.
    pub fn reason(&self) -> String {
        let name = self.spec_name();
        match self {
            Self::Dropped { .. } => {
                let reasons: Vec<&str> = self.errors().map(|f| f.message.as_str()).collect();
                let why = if self.errors().any(|f| f.engine.is_some()) {
                    "because a browser would reject it"
                } else {
                    "because it can't be sent as asked"
                };
                format!("cookie {name:?} was not set {why}: {}", reasons.join(" "))
            }
            Self::Withheld { policy, .. } => match policy {
                Withheld::ReservedName(why) => format!(
                    "nothing was set: the cookie name {name:?} is reserved, because {}",
                    why.purpose()
                ),
                Withheld::CrossSite { .. } => {
                    "nothing was set, because the request came from another \
                     site: only this site's own pages may change its cookies"
                        .to_owned()
                }
                Withheld::ResponseCap => format!(
                    "nothing was set: one response sets at most {MAX_COOKIES_PER_RESPONSE} cookies \
                     and {} KiB of Set-Cookie headers",
                    MAX_SET_COOKIE_BYTES / 1024
                ),
            },
        }
    }
}

/// One response sets at most this many cookies: a longer query string to
/// the httpbin routes would otherwise answer with thousands of headers, and
/// a browser given them evicts the site's other cookies.
pub const MAX_COOKIES_PER_RESPONSE: usize = 20;
/// One response's `Set-Cookie` headers come to at most this many bytes, so
/// a few responses can't push the Cookie header past what the site reads.
pub const MAX_SET_COOKIE_BYTES: usize = 8 * 1024;

/// Checks a demo cookie (one a route builds from what the user asked for)
/// against cookie-lab's policy and every browser rule, and builds its
/// header, or refuses it. The policy comes first and is not a rule: a
/// reserved name or a GET from another site is refused whatever a browser
/// would do with the cookie.
pub fn prepare(
    spec: &CookieSpec,
    ctx: &CookieContext,
    now: OffsetDateTime,
) -> Result<PreparedCookie, Refused> {
    let withhold = |policy| {
        Err(Refused::Withheld {
            spec_name: spec.name.clone(),
            policy,
        })
    };
    if let Some(why) = reserved(&spec.name) {
        return withhold(Withheld::ReservedName(why));
    }
    if let Some(retry) = ctx.other_site_request() {
        return withhold(Withheld::CrossSite {
            retry: retry.to_owned(),
        });
    }
    check_and_build(spec, ctx, now)
}

/// [`prepare`] for a cookie cookie-lab's own code built: the engines still
/// judge it, the demo policy doesn't apply (the login cookie's name is
/// reserved, and `/profile` reseals it on a navigation from anywhere). Its
/// own policy does: cookie-lab's own cookies have RFC 6265 token names,
/// which every server framework reads back.
pub(in crate::cookies) fn prepare_own(
    spec: &CookieSpec,
    ctx: &CookieContext,
    now: OffsetDateTime,
    _own: OwnCookie,
) -> Result<PreparedCookie, Refused> {
    if let Err(err) = CookieName::check(&spec.name) {
        return Err(Refused::Dropped {
            spec_name: spec.name.clone(),
            findings: vec![policy_error(policy::OWN_NAME_NOT_TOKEN, err.to_string())],
            report: None,
        });
    }
    build(spec, || gate::judge(spec, ctx, now))
}

/// An error of cookie-lab's own policy, not an engine's.
fn policy_error(id: &'static str, message: String) -> Finding {
    Finding {
        id,
        engine: None,
        severity: Severity::Error,
        message,
        fix: "Change the cookie as the message says.".to_owned(),
    }
}

/// Why the cookie asked for can't be written as one `Set-Cookie` line that
/// means it: a `;` or `=` in the name, or a `;` in Path or Domain, would be
/// read as the end of the name or the start of another attribute (the
/// engines would store some other cookie), and a control character ends or
/// corrupts the header. Values are percent-encoded, so they always can.
fn unwritable(spec: &CookieSpec) -> Option<String> {
    // A tab may be sent (what the engines make of it is theirs to say).
    // Bytes: every byte of a multi-byte character is above 0x7F.
    let control = |text: &str| text.bytes().any(|b| (b < 0x20 && b != b'\t') || b == 0x7f);
    if let Some(c) = spec.name.chars().find(|&c| c == ';' || c == '=') {
        return Some(format!(
            "the name {:?} holds {c:?}, which a Set-Cookie line reads as the end of the name: a browser would store another cookie than the one asked for",
            spec.name
        ));
    }
    if control(&spec.name) {
        return Some(format!(
            "the name {:?} holds a control character, which can't be sent in a header",
            spec.name
        ));
    }
    for (attribute, value) in [("Path", &spec.path), ("Domain", &spec.domain)] {
        let Some(value) = value else { continue };
        if memchr::memchr(b';', value.as_bytes()).is_some() || control(value) {
            return Some(format!(
                "the {attribute} {value:?} holds a ';' or a control character, which would end the attribute (or the header) early and add attributes nobody asked for"
            ));
        }
    }
    None
}

fn check_and_build(
    spec: &CookieSpec,
    ctx: &CookieContext,
    now: OffsetDateTime,
) -> Result<PreparedCookie, Refused> {
    build(spec, || gate::judge(spec, ctx, now))
}

/// The cookie, refused when it can't be written (before any judging) or
/// when `judge` finds an engine rejects it, else ready to send.
fn build(
    spec: &CookieSpec,
    judge: impl FnOnce() -> Result<gate::Judgement, gate::Unjudgeable>,
) -> Result<PreparedCookie, Refused> {
    if let Some(why) = unwritable(spec) {
        return Err(Refused::Dropped {
            spec_name: spec.name.clone(),
            findings: vec![policy_error(policy::CANNOT_BE_WRITTEN, why)],
            report: None,
        });
    }
    let judgement = match judge() {
        Ok(judgement) => judgement,
        Err(gate::Unjudgeable(why)) => {
            return Err(Refused::Dropped {
                spec_name: spec.name.clone(),
                findings: vec![policy_error(policy::HOST_NOT_A_HOST, why)],
                report: None,
            });
        }
    };
    if judgement.rejected() {
        return Err(Refused::Dropped {
            spec_name: spec.name.clone(),
            findings: judgement.findings,
            report: Some(Box::new(judgement.judged.report(&judgement.header))),
        });
    }
    // An engine that accepts the line accepts no control character, and the
    // value is percent-encoded, so this cannot fail; if it ever did,
    // refusing is still the right answer.
    match HeaderValue::from_str(&judgement.header) {
        Ok(header) => Ok(PreparedCookie {
            header,
            text: judgement.header,
            warnings: judgement.findings,
            judged: judgement.judged,
        }),
        Err(_) => Err(Refused::Dropped {
            spec_name: spec.name.clone(),
            findings: vec![policy_error(
                "not-a-header",
                "the Set-Cookie line can't be sent as an HTTP header".to_owned(),
            )],
            report: Some(Box::new(judgement.judged.report(&judgement.header))),
        }),
    }
}

/// The `Set-Cookie` headers of a response, in order: at most
/// [`MAX_COOKIES_PER_RESPONSE`] of them in [`MAX_SET_COOKIE_BYTES`], unless
/// cookie-lab's own code adds them.
#[derive(Debug, Clone, Default)]
pub struct SetCookies {
    cookies: Vec<PreparedCookie>,
    bytes: usize,
}

impl SetCookies {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn one(cookie: PreparedCookie) -> Self {
        let mut one = Self::new();
        one.push_unchecked(cookie);
        one
    }

    /// Adds a cookie, unless the response would then set more than one
    /// response may.
    pub fn push(&mut self, cookie: PreparedCookie) -> Result<(), Refused> {
        if self.cookies.len() >= MAX_COOKIES_PER_RESPONSE
            || self.bytes + cookie.text.len() > MAX_SET_COOKIE_BYTES
        {
            return Err(Refused::Withheld {
                spec_name: cookie.text.split('=').next().unwrap_or_default().to_owned(),
                policy: Withheld::ResponseCap,
            });
        }
        self.push_unchecked(cookie);
        Ok(())
    }

    /// Adds one of cookie-lab's own cookies (the login cookie, the 431
    /// page's removals), which the per-response cap doesn't bind.
    pub(in crate::cookies) fn push_own(&mut self, cookie: PreparedCookie, _own: OwnCookie) {
        self.push_unchecked(cookie);
    }

    fn push_unchecked(&mut self, cookie: PreparedCookie) {
        self.bytes += cookie.text.len();
        self.cookies.push(cookie);
    }

    pub fn len(&self) -> usize {
        self.cookies.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cookies.is_empty()
    }
}

impl IntoResponseParts for SetCookies {
    type Error = std::convert::Infallible;

    fn into_response_parts(self, mut res: ResponseParts) -> Result<ResponseParts, Self::Error> {
        for cookie in self.cookies {
            res.headers_mut().append(SET_COOKIE, cookie.header);
        }
        Ok(res)
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::cookies::SameSite;

    const NOW: OffsetDateTime = datetime!(2026-11-26 12:00:00 UTC);

    fn local() -> CookieContext {
        CookieContext::new("127.0.0.1:5000", false)
    }

    #[test]
    fn a_valid_cookie_is_prepared_with_its_exact_header() {
        let spec = CookieSpec::new("userID", "a;b c").same_site(SameSite::Lax);
        let prepared = prepare(&spec, &local(), NOW).unwrap();
        assert_eq!(prepared.header(), "userID=a%3Bb%20c; SameSite=Lax; Path=/");
        assert!(prepared.warnings().is_empty());
    }

    #[test]
    fn a_cookie_with_an_error_is_refused_with_the_reason() {
        let spec = CookieSpec::new("id", "1").same_site(SameSite::None);
        let refused = prepare(&spec, &local(), NOW).unwrap_err();
        let errors: Vec<_> = refused.errors().map(Finding::label).collect();
        assert_eq!(
            errors,
            [
                "chromium: EXCLUDE_SAMESITE_NONE_INSECURE",
                "firefox: CookieRejectedNonRequiresSecure2"
            ]
        );
    }

    #[test]
    fn reserved_names_are_withheld_before_any_rule_runs() {
        for name in ["lab_session", "__HOST-lab_session", "cookie_lab_probe"] {
            let refused = prepare(&CookieSpec::new(name, "x"), &local(), NOW).unwrap_err();
            assert!(
                matches!(refused.withheld(), Some(Withheld::ReservedName(_))),
                "{name}: {refused:?}"
            );
            let removal = CookieSpec::removal(name, Some("/".to_owned()), None);
            assert!(prepare(&removal, &local(), NOW).is_err(), "{name} removal");
        }
    }

    #[test]
    fn a_get_from_another_site_sets_nothing() {
        let ctx = local().from_other_site_request(Some("/cookies?max_age=5".to_owned()));
        let refused = prepare(&CookieSpec::new("userID", "a"), &ctx, NOW).unwrap_err();
        assert_eq!(
            refused.withheld(),
            Some(&Withheld::CrossSite {
                retry: "/cookies?max_age=5".to_owned()
            })
        );
    }

    #[test]
    fn a_non_ascii_wire_value_is_reported_exactly() {
        // Found by the set_cookie fuzz target: the header text came back empty.
        let spec = CookieSpec {
            wire_value: true,
            ..CookieSpec::new("a", "café")
        };
        let prepared = prepare(&spec, &local(), NOW).unwrap();
        assert_eq!(prepared.header(), "a=café; Path=/");
    }

    #[test]
    fn warnings_do_not_stop_a_cookie() {
        let spec = CookieSpec::new("session", "1");
        let prepared = prepare(&spec, &local(), NOW).unwrap();
        let ids: Vec<_> = prepared.warnings().iter().map(|f| f.id).collect();
        assert!(ids.contains(&"session-without-httponly"), "{ids:?}");
    }

    #[test]
    fn set_cookies_become_one_header_each_in_order() {
        let mut cookies = SetCookies::new();
        cookies
            .push(prepare(&CookieSpec::new("a", "1"), &local(), NOW).unwrap())
            .unwrap();
        cookies
            .push(prepare(&CookieSpec::new("b", "2"), &local(), NOW).unwrap())
            .unwrap();
        let response = (cookies, "body").into_response();
        let headers: Vec<_> = response.headers().get_all(SET_COOKIE).iter().collect();
        assert_eq!(headers, ["a=1; Path=/", "b=2; Path=/"]);
    }

    #[test]
    fn one_response_sets_at_most_twenty_cookies() {
        let mut cookies = SetCookies::new();
        for i in 0..MAX_COOKIES_PER_RESPONSE {
            let spec = CookieSpec::new(format!("c{i}"), "v");
            cookies
                .push(prepare(&spec, &local(), NOW).unwrap())
                .unwrap();
        }
        let one_more = prepare(&CookieSpec::new("c20", "v"), &local(), NOW).unwrap();
        assert_eq!(
            cookies.push(one_more).unwrap_err().withheld(),
            Some(&Withheld::ResponseCap)
        );
        assert_eq!(cookies.len(), MAX_COOKIES_PER_RESPONSE);
    }

    #[test]
    fn one_response_sets_at_most_8_kib_of_headers() {
        let mut cookies = SetCookies::new();
        let big = |name: &str| CookieSpec::new(name, "v".repeat(4000));
        cookies
            .push(prepare(&big("a"), &local(), NOW).unwrap())
            .unwrap();
        cookies
            .push(prepare(&big("b"), &local(), NOW).unwrap())
            .unwrap();
        let third = prepare(&big("c"), &local(), NOW).unwrap();
        assert_eq!(
            cookies.push(third).unwrap_err().withheld(),
            Some(&Withheld::ResponseCap)
        );
    }

    use axum::response::IntoResponse;
}
