//! Request-side budgets: what a Cookie header costs, against the limits a
//! browser or a proxy enforces. Advice, not an engine's verdict on one
//! cookie (the engine model in [`crate::engine`] gives those).

use super::finding::{Finding, Severity};
use super::incoming::RequestCookies;

/// RFC 6265 asks browsers to keep at least 50 cookies per domain.
pub const WARN_COOKIE_COUNT: usize = 50;
/// nginx's default `large_client_header_buffers` line size: a longer Cookie
/// header gets a 400 from a default nginx in front of the app.
pub const WARN_HEADER_BYTES: usize = 8 * 1024;
/// Chromium keeps at most this many cookies per site (eTLD+1).
pub const BROWSER_MAX_COOKIES_PER_SITE: usize = 180;

/// Findings about the whole Cookie header of a request.
pub fn check_request(cookies: &RequestCookies) -> Vec<Finding> {
    let mut findings = Vec::new();
    let count = cookies.len();
    if count > WARN_COOKIE_COUNT {
        findings.push(budget(
            "too-many-cookies",
            format!(
                "This request carried {count} cookies. RFC 6265 only promises {WARN_COOKIE_COUNT} per domain; \
                 Chromium keeps at most {BROWSER_MAX_COOKIES_PER_SITE} per site and silently evicts the oldest."
            ),
            "Merge cookies, or keep state on the server and send one id.",
        ));
    }
    let bytes = cookies.header_bytes();
    if bytes > WARN_HEADER_BYTES {
        findings.push(budget(
            "cookie-header-too-large",
            format!(
                "The Cookie header is {bytes} bytes. A default nginx refuses request header lines over \
                 {WARN_HEADER_BYTES} bytes with a 400, and every request pays for it."
            ),
            "Delete cookies you no longer need, or raise the proxy's header buffer (nginx: large_client_header_buffers).",
        ));
    }
    findings
}

fn budget(id: &'static str, message: String, fix: &str) -> Finding {
    Finding {
        id,
        engine: None,
        severity: Severity::Warning,
        message,
        fix: fix.to_owned(),
    }
}

#[cfg(test)]
mod tests {

    use super::*;
    use crate::test_support::request_cookies as header;

    #[test]
    fn budgets_warn_past_50_cookies_and_8_kib() {
        let fifty: Vec<String> = (0..50).map(|i| format!("c{i}=1")).collect();
        assert!(check_request(&header(&fifty.join("; "))).is_empty());
        let many: Vec<String> = (0..51).map(|i| format!("c{i}=1")).collect();
        let ids: Vec<_> = check_request(&header(&many.join("; ")))
            .into_iter()
            .map(|f| f.id)
            .collect();
        assert_eq!(ids, ["too-many-cookies"]);
        let big = format!("a={}", "x".repeat(WARN_HEADER_BYTES));
        let ids: Vec<_> = check_request(&header(&big))
            .into_iter()
            .map(|f| f.id)
            .collect();
        assert_eq!(ids, ["cookie-header-too-large"]);
    }
}
