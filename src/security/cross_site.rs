//! Cross-site request protection for every state-changing request, modelled
//! on Go 1.25's `http.CrossOriginProtection`: browsers say where a request
//! came from (`Sec-Fetch-Site`, or failing that `Origin`), and a request from
//! another site is refused. Requests with neither header don't come from a
//! browser page (curl, scripts), so they can't carry a victim's cookies
//! cross-site and are let through.

use axum::extract::Request;
use axum::http::header::{HOST, ORIGIN, REFERER};
use axum::http::{HeaderMap, HeaderName};
use axum::response::Response;

use crate::error::{PageError, error_response};

/// Parsed once: looking a header up by a `&str` parses the name each time.
const SEC_FETCH_SITE: HeaderName = HeaderName::from_static("sec-fetch-site");

/// The one exemption from the cross-site rules: the routes the cross-site
/// lab serves to the *other* site of a run (its site B), all under
/// [`LabPeerRoute::PREFIX`]. They must take a form posted from the other
/// site, be framed by it and answer its credentialed fetch, so the guard
/// neither refuses their cross-site POSTs nor marks their cross-site GETs.
/// They set and read only `lab-` cookies (`cookies::lab_cookies`), and
/// each answer names the run's other site in its own CSP and CORS headers.
///
/// The guard puts a `LabPeerRoute` in the extensions of every request it
/// exempts; a lab handler puts one in the extensions of a response that
/// may be framed (its CSP says by whom), and only then does the site-wide
/// `X-Frame-Options: DENY` stay off. A test proves that no other route
/// gained the exemption.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LabPeerRoute(());

impl LabPeerRoute {
    /// Every exempt path starts so.
    pub const PREFIX: &'static str = "/lab/peer/";

    /// The exemption, for a request to `path`: only below the prefix, and
    /// only for a path that means what it says (no dot segments, no
    /// escapes), so no other route can be reached through it.
    pub fn covering(path: &str) -> Option<Self> {
        let rest = path.strip_prefix(Self::PREFIX)?;
        let plain = !rest.is_empty()
            && rest
                .bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-');
        plain.then_some(Self(()))
    }
}

/// Why a request was refused.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CrossSite {
    FetchSite(String),
    Origin(String),
}

/// The 403 answer for a state-changing request from another site.
pub fn refusal(request: &Request) -> Option<Response> {
    if request.method().is_safe() {
        return None;
    }
    match check(request.headers()) {
        Ok(()) => None,
        Err(refused) => {
            let why = match &refused {
                CrossSite::FetchSite(site) => {
                    format!("your browser says it came from a {site} page (Sec-Fetch-Site: {site})")
                }
                CrossSite::Origin(origin) => format!("it came from {origin}, not from this site"),
            };
            tracing::warn!(method = %request.method(), reason = ?refused, "cross-site request refused");
            let page = PageError::cross_site(request.method().as_str(), &why);
            Some(error_response(request.uri().path(), page))
        }
    }
}

/// `Ok` for a same-origin browser request or a non-browser one.
pub fn check(headers: &HeaderMap) -> Result<(), CrossSite> {
    if let Some(site) = headers.get(SEC_FETCH_SITE) {
        let site = String::from_utf8_lossy(site.as_bytes());
        return match site.as_ref() {
            "same-origin" | "none" => Ok(()),
            other => Err(CrossSite::FetchSite(other.to_owned())),
        };
    }
    let Some(origin) = headers.get(ORIGIN) else {
        return Ok(());
    };
    let origin_text = String::from_utf8_lossy(origin.as_bytes()).into_owned();
    let origin_host = origin_text.split_once("://").map(|(_, host)| host);
    let host = headers.get(HOST).and_then(|h| h.to_str().ok());
    // Like Go, compare hosts (with port) and not schemes: behind a proxy
    // that terminates TLS the two schemes legitimately differ.
    match (origin_host, host) {
        (Some(origin_host), Some(host)) if origin_host.eq_ignore_ascii_case(host) => Ok(()),
        _ => Err(CrossSite::Origin(origin_text)),
    }
}

/// Whether a request came from another *site* (not merely another
/// origin): `Sec-Fetch-Site: cross-site`, or, from a browser without Fetch
/// Metadata, an `Origin` or `Referer` whose site differs from `Host`'s. A
/// request with none of them isn't from a page elsewhere.
///
/// Safe requests are judged by site, not origin: a link from another port
/// or subdomain of this site is how people move around it.
pub fn is_from_other_site(headers: &HeaderMap) -> bool {
    if let Some(site) = headers.get(SEC_FETCH_SITE) {
        return site.as_bytes() == b"cross-site";
    }
    // Most requests carry neither: look for them before reading Host.
    let Some(from) = headers.get(ORIGIN).or_else(|| headers.get(REFERER)) else {
        return false;
    };
    let Some(host) = headers.get(HOST).and_then(|h| h.to_str().ok()) else {
        return false;
    };
    let url = String::from_utf8_lossy(from.as_bytes());
    match url_host(&url) {
        // `Origin: null` (a sandboxed frame, a redirect chain across
        // sites) or an unreadable URL: nothing vouches for this site.
        None => true,
        Some(from_host) => site(from_host) != site(host_without_port(host)),
    }
}

/// The host of an absolute URL (`scheme://[user@]host[:port]/…`).
fn url_host(url: &str) -> Option<&str> {
    let (_, rest) = url.split_once("://")?;
    let authority = rest.split(['/', '?', '#']).next()?;
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host = host_without_port(host_port);
    (!host.is_empty()).then_some(host)
}

fn host_without_port(host: &str) -> &str {
    if let Some(rest) = host.strip_prefix('[') {
        return rest.split_once(']').map_or(rest, |(v6, _)| v6);
    }
    match host.rsplit_once(':') {
        Some((name, port)) if port.bytes().all(|b| b.is_ascii_digit()) => name,
        _ => host,
    }
}

/// A host's site: its registrable domain (eTLD+1 by the public suffix
/// list), or the host itself for IP addresses and bare names.
pub(crate) fn site(host: &str) -> String {
    let host = host.trim_end_matches('.').to_ascii_lowercase();
    if host.parse::<std::net::IpAddr>().is_ok() {
        return host;
    }
    psl::domain_str(&host).map_or(host.clone(), str::to_owned)
}

#[cfg(test)]
mod tests {
    use axum::http::HeaderValue;

    use super::*;
    use crate::test_support::headers;

    #[test]
    fn same_origin_and_user_initiated_requests_pass() {
        assert_eq!(
            check(&headers(&[("sec-fetch-site", "same-origin")])),
            Ok(())
        );
        assert_eq!(check(&headers(&[("sec-fetch-site", "none")])), Ok(()));
        assert_eq!(
            check(&headers(&[
                ("origin", "http://127.0.0.1:5000"),
                ("host", "127.0.0.1:5000")
            ])),
            Ok(())
        );
        assert_eq!(
            check(&headers(&[
                ("origin", "https://Example.com"),
                ("host", "example.com")
            ])),
            Ok(())
        );
    }

    #[test]
    fn safe_requests_are_judged_by_site() {
        let from = |pairs: &[(&'static str, &'static str)]| {
            let mut h = headers(pairs);
            h.insert("host", HeaderValue::from_static("app.example.com:5000"));
            is_from_other_site(&h)
        };
        assert!(from(&[("sec-fetch-site", "cross-site")]));
        for same in ["same-site", "same-origin", "none"] {
            let mut h = headers(&[("origin", "http://evil.example")]);
            h.insert("sec-fetch-site", HeaderValue::from_static(same));
            assert!(!is_from_other_site(&h), "Sec-Fetch-Site {same} wins");
        }
        assert!(!from(&[]), "no browser headers");
        assert!(!from(&[("origin", "https://www.example.com")]));
        assert!(!from(&[("referer", "http://example.com:8080/page?x=1")]));
        assert!(from(&[("origin", "http://evil.example")]));
        assert!(from(&[("origin", "null")]));
        assert!(from(&[("referer", "http://example.com.evil.example/")]));
        assert!(from(&[("referer", "http://user@evil.example:80/x")]));
    }

    #[test]
    fn loopback_names_are_sites_of_their_own() {
        let mut h = headers(&[("origin", "http://localhost:5150")]);
        h.insert("host", HeaderValue::from_static("127.0.0.1:5101"));
        assert!(is_from_other_site(&h));
        let mut h = headers(&[("origin", "http://127.0.0.1:5150")]);
        h.insert("host", HeaderValue::from_static("127.0.0.1:5101"));
        assert!(!is_from_other_site(&h), "another port is the same site");
        let mut h = headers(&[("origin", "http://[::1]:5150")]);
        h.insert("host", HeaderValue::from_static("[::1]:5101"));
        assert!(!is_from_other_site(&h));
    }

    #[test]
    fn only_plain_paths_below_the_lab_peer_prefix_are_exempt() {
        for path in ["/lab/peer/visit", "/lab/peer/clear-frame", "/lab/peer/hop"] {
            assert!(LabPeerRoute::covering(path).is_some(), "{path}");
        }
        for path in [
            "/lab",
            "/lab/",
            "/lab/peer",
            "/lab/peer/",
            "/lab/peers/visit",
            "/lab/peerx",
            "/labpeer/visit",
            "/LAB/PEER/visit",
            "/lab/peer/../login",
            "/lab/peer/%2e%2e/login",
            "/lab/peer/visit/../../login",
            "/lab/peer/a/b",
            "/login",
            "/lab/start",
            "/lab/clear",
            "/api/lab/x",
        ] {
            assert!(LabPeerRoute::covering(path).is_none(), "{path}");
        }
    }

    #[test]
    fn requests_without_browser_headers_pass() {
        assert_eq!(check(&headers(&[("host", "127.0.0.1:5000")])), Ok(()));
    }

    #[test]
    fn cross_site_requests_are_refused() {
        for site in ["cross-site", "same-site"] {
            let mut h = headers(&[
                ("origin", "http://127.0.0.1:5000"),
                ("host", "127.0.0.1:5000"),
            ]);
            h.insert("sec-fetch-site", HeaderValue::from_static(site));
            assert_eq!(
                check(&h),
                Err(CrossSite::FetchSite(site.to_owned())),
                "Sec-Fetch-Site wins over Origin"
            );
        }
        for origin in [
            "http://evil.example",
            "null",
            "http://127.0.0.1:5001",
            "http://127.0.0.1:5000.evil.example",
        ] {
            let h = {
                let mut h = headers(&[("host", "127.0.0.1:5000")]);
                h.insert("origin", HeaderValue::from_str(origin).unwrap());
                h
            };
            assert_eq!(
                check(&h),
                Err(CrossSite::Origin(origin.to_owned())),
                "{origin}"
            );
        }
    }
}
