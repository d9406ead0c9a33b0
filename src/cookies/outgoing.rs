use axum::http::HeaderValue;
use axum::http::header::SET_COOKIE;
use axum::response::{IntoResponseParts, ResponseParts};
use time::OffsetDateTime;

use super::context::CookieContext;
use super::rules::{self, Finding};
use super::spec::CookieSpec;

/// A cookie that passed the rules, ready to send. The only way to make one
/// is [`prepare`], so nothing a browser would drop can reach [`SetCookies`].
#[derive(Debug, Clone)]
pub struct PreparedCookie {
    header: HeaderValue,
    /// The same header as text: `HeaderValue::to_str` refuses the non-ASCII
    /// bytes a wire value may hold, so it can't be read back from `header`.
    text: String,
    warnings: Vec<Finding>,
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
}

/// Why a cookie was not sent: at least one error, plus any warnings.
#[derive(Debug, Clone)]
pub struct Refused {
    pub spec_name: String,
    pub findings: Vec<Finding>,
}

impl Refused {
    pub fn errors(&self) -> impl Iterator<Item = &Finding> {
        self.findings.iter().filter(|f| f.is_error())
    }
}

/// Checks `spec` against every rule and builds its header, or refuses it.
pub fn prepare(
    spec: &CookieSpec,
    ctx: &CookieContext,
    now: OffsetDateTime,
) -> Result<PreparedCookie, Refused> {
    let findings = rules::check(spec, ctx, now);
    let refuse = |findings| Refused {
        spec_name: spec.name.clone(),
        findings,
    };
    if findings.iter().any(Finding::is_error) {
        if let Some(metrics) = ctx.metrics() {
            metrics.cookie_refused(&findings);
        }
        return Err(refuse(findings));
    }
    // The rules rule out control characters, so this cannot fail; if it ever
    // did, refusing is still the right answer.
    let text = spec.to_header_value(now);
    match HeaderValue::from_str(&text) {
        Ok(header) => Ok(PreparedCookie {
            header,
            text,
            warnings: findings,
        }),
        Err(_) => Err(refuse(findings)),
    }
}

/// The `Set-Cookie` headers of a response, in order.
#[derive(Debug, Clone, Default)]
pub struct SetCookies(Vec<PreparedCookie>);

impl SetCookies {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn one(cookie: PreparedCookie) -> Self {
        Self(vec![cookie])
    }

    pub fn push(&mut self, cookie: PreparedCookie) {
        self.0.push(cookie);
    }
}

impl IntoResponseParts for SetCookies {
    type Error = std::convert::Infallible;

    fn into_response_parts(self, mut res: ResponseParts) -> Result<ResponseParts, Self::Error> {
        for cookie in self.0 {
            res.headers_mut().append(SET_COOKIE, cookie.header);
        }
        Ok(res)
    }
}

#[cfg(test)]
mod tests {
    use time::macros::datetime;

    use super::*;
    use crate::cookies::{Rule, SameSite};

    const NOW: OffsetDateTime = datetime!(2026-11-26 12:00:00 UTC);

    fn local() -> CookieContext {
        CookieContext::new("127.0.0.1:5000", false)
    }

    #[test]
    fn a_valid_cookie_is_prepared_with_its_exact_header() {
        let prepared = prepare(&CookieSpec::new("userID", "a;b c"), &local(), NOW).unwrap();
        assert_eq!(prepared.header(), "userID=a%3Bb%20c; Path=/");
        assert!(prepared.warnings().is_empty());
    }

    #[test]
    fn a_cookie_with_an_error_is_refused_with_the_reason() {
        let spec = CookieSpec::new("id", "1").same_site(SameSite::None);
        let refused = prepare(&spec, &local(), NOW).unwrap_err();
        let errors: Vec<_> = refused.errors().map(|f| f.rule).collect();
        assert_eq!(errors, [Rule::SameSiteNoneInsecure]);
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
        assert_eq!(prepared.warnings()[0].rule, Rule::SessionWithoutHttpOnly);
    }

    #[test]
    fn set_cookies_become_one_header_each_in_order() {
        let mut cookies = SetCookies::new();
        cookies.push(prepare(&CookieSpec::new("a", "1"), &local(), NOW).unwrap());
        cookies.push(prepare(&CookieSpec::new("b", "2"), &local(), NOW).unwrap());
        let response = (cookies, "body").into_response();
        let headers: Vec<_> = response.headers().get_all(SET_COOKIE).iter().collect();
        assert_eq!(headers, ["a=1; Path=/", "b=2; Path=/"]);
    }

    use axum::response::IntoResponse;
}
