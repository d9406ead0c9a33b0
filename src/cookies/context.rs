use std::convert::Infallible;
use std::net::IpAddr;

use axum::extract::FromRequestParts;
use axum::http::HeaderName;
use axum::http::header::HOST;
use axum::http::request::Parts;

use crate::engine::{Context, Scheme, SetterUrl, SetterUrlError, Subresource};

/// Where a cookie is being set: the page being answered (host, scheme,
/// path) and the request's context. The engines judge Domain, Secure, the
/// name prefixes, the default Path and SameSite against these.
#[derive(Debug, Clone)]
pub struct CookieContext {
    host: String,
    https: bool,
    /// The request's path: a cookie without a Path attribute gets its
    /// directory.
    path: String,
    /// Where the request came from, as the engines tell contexts apart.
    engine_context: Context,
    /// When the request came from another site (a link, a redirect, a form
    /// elsewhere), its path and query: demo cookies are then withheld, and
    /// the page offers this link to try again from this site.
    other_site_request: Option<String>,
}

/// Marks a request that arrived over HTTPS (set by whatever knows: a TLS
/// listener or a trusted proxy header). Absent means plain HTTP.
#[derive(Debug, Clone, Copy)]
pub struct ServedOverHttps;

/// Marks a request that came from another site (set by the security guard
/// from `Sec-Fetch-Site`, or `Origin`/`Referer` without it). Absent means
/// same-site, or a client that isn't a browser page.
#[derive(Debug, Clone)]
pub struct FromOtherSite {
    /// The request's path and query.
    pub target: String,
}

impl CookieContext {
    /// `host` may carry a port and any case; both are normalised away.
    pub fn new(host: &str, https: bool) -> Self {
        Self {
            host: normalise_host(host),
            https,
            path: "/".to_owned(),
            engine_context: Context::SameSite,
            other_site_request: None,
        }
    }

    /// A context whose host is not known (the CLI without `--host`): Domain
    /// is then only checked against the public suffix list.
    pub fn unknown_host(https: bool) -> Self {
        Self {
            host: String::new(),
            https,
            path: "/".to_owned(),
            engine_context: Context::SameSite,
            other_site_request: None,
        }
    }

    /// The same context for a request that did (or did not) come from
    /// another site.
    /// `target` is the request's path and query; `None` for a same-site
    /// or non-browser request.
    pub fn from_other_site_request(mut self, target: Option<String>) -> Self {
        self.other_site_request = target;
        self
    }

    /// The path and query of a request that came from another site.
    pub fn other_site_request(&self) -> Option<&str> {
        self.other_site_request.as_deref()
    }

    /// The same context for a request to `path`, made in `context`.
    pub fn for_request(mut self, path: &str, context: Context) -> Self {
        path.clone_into(&mut self.path);
        self.engine_context = context;
        self
    }

    /// The request context the engines judge a cookie in.
    pub fn engine_context(&self) -> Context {
        self.engine_context
    }

    /// The page being answered, as the engines see the URL that sets a
    /// cookie.
    pub fn setter(&self) -> Result<SetterUrl, SetterUrlError> {
        let scheme = if self.https {
            Scheme::Https
        } else {
            Scheme::Http
        };
        let bracketed;
        let host = if self.host.contains(':') {
            bracketed = format!("[{}]", self.host);
            bracketed.as_str()
        } else {
            self.host.as_str()
        };
        SetterUrl::new(scheme, host, &self.path)
    }

    pub fn host_is_unknown(&self) -> bool {
        self.host.is_empty()
    }

    pub fn host(&self) -> &str {
        &self.host
    }

    /// The path of the request being answered.
    pub fn path(&self) -> &str {
        &self.path
    }

    pub fn https(&self) -> bool {
        self.https
    }

    /// True when the host is an IP literal, where Domain can only be the
    /// address itself.
    pub fn host_is_ip(&self) -> bool {
        self.host.parse::<IpAddr>().is_ok()
    }

    /// Browsers treat localhost and loopback as secure contexts even over
    /// plain HTTP, so Secure cookies from them are kept.
    pub fn is_potentially_trustworthy(&self) -> bool {
        if self.https {
            return true;
        }
        if let Ok(ip) = self.host.parse::<IpAddr>() {
            return ip.is_loopback();
        }
        self.host == "localhost" || self.host.ends_with(".localhost")
    }
}

// Parsed once, not from a `&str` on every lookup.
const SEC_FETCH_SITE: HeaderName = HeaderName::from_static("sec-fetch-site");
const SEC_FETCH_DEST: HeaderName = HeaderName::from_static("sec-fetch-dest");

/// The request's context from Fetch Metadata: a cross-site request is a
/// top-level navigation or an embedded one by its destination. Without
/// `Sec-Fetch-Site` (an old browser, curl) it is taken as same-site.
fn request_context(headers: &axum::http::HeaderMap) -> Context {
    let header = |name| headers.get(name).map(axum::http::HeaderValue::as_bytes);
    if header(SEC_FETCH_SITE) != Some(b"cross-site") {
        return Context::SameSite;
    }
    match header(SEC_FETCH_DEST) {
        Some(b"document") => Context::CrossSiteTopLevel,
        Some(b"iframe" | b"frame" | b"embed" | b"object") => {
            Context::CrossSiteSubresource(Subresource::Iframe)
        }
        Some(b"image") => Context::CrossSiteSubresource(Subresource::Image),
        _ => Context::CrossSiteSubresource(Subresource::Fetch),
    }
}

fn normalise_host(host: &str) -> String {
    let host = host.trim();
    let without_port = if let Some(rest) = host.strip_prefix('[') {
        // [v6]:port
        rest.split_once(']').map_or(rest, |(addr, _)| addr)
    } else if memchr::memchr_iter(b':', host.as_bytes()).count() == 1 {
        host.split_once(':').map_or(host, |(name, _)| name)
    } else {
        host
    };
    without_port.trim_end_matches('.').to_ascii_lowercase()
}

impl<S: Send + Sync> FromRequestParts<S> for CookieContext {
    type Rejection = Infallible;

    async fn from_request_parts(parts: &mut Parts, _state: &S) -> Result<Self, Self::Rejection> {
        let host = parts
            .headers
            .get(HOST)
            .and_then(|value| value.to_str().ok())
            .or_else(|| parts.uri.host())
            .unwrap_or("localhost");
        let https = parts.extensions.get::<ServedOverHttps>().is_some();
        let other_site = parts
            .extensions
            .get::<FromOtherSite>()
            .map(|from| from.target.clone());
        Ok(Self {
            host: normalise_host(host),
            https,
            path: parts.uri.path().to_owned(),
            engine_context: request_context(&parts.headers),
            other_site_request: other_site,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hosts_are_normalised() {
        assert_eq!(
            CookieContext::new("Example.COM:5000", false).host(),
            "example.com"
        );
        assert_eq!(
            CookieContext::new("127.0.0.1:5000", false).host(),
            "127.0.0.1"
        );
        assert_eq!(CookieContext::new("[::1]:5000", false).host(), "::1");
        assert_eq!(CookieContext::new("::1", false).host(), "::1");
        assert_eq!(
            CookieContext::new("example.com.", false).host(),
            "example.com"
        );
    }

    #[test]
    fn fetch_metadata_gives_the_engines_context() {
        let context = |pairs: &[(&'static str, &'static str)]| {
            request_context(&crate::test_support::headers(pairs))
        };
        assert_eq!(context(&[]), Context::SameSite);
        assert_eq!(
            context(&[("sec-fetch-site", "same-site")]),
            Context::SameSite
        );
        assert_eq!(
            context(&[
                ("sec-fetch-site", "cross-site"),
                ("sec-fetch-dest", "document")
            ]),
            Context::CrossSiteTopLevel
        );
        assert_eq!(
            context(&[
                ("sec-fetch-site", "cross-site"),
                ("sec-fetch-dest", "iframe")
            ]),
            Context::CrossSiteSubresource(Subresource::Iframe)
        );
        assert_eq!(
            context(&[
                ("sec-fetch-site", "cross-site"),
                ("sec-fetch-dest", "empty")
            ]),
            Context::CrossSiteSubresource(Subresource::Fetch)
        );
    }

    #[test]
    fn the_setter_is_the_page_being_answered() {
        let setter = CookieContext::new("[::1]:5000", false)
            .for_request("/inspect", Context::SameSite)
            .setter()
            .unwrap();
        assert_eq!((setter.host(), setter.path()), ("[::1]", "/inspect"));
        assert!(CookieContext::new("bad host", true).setter().is_err());
    }

    #[test]
    fn loopback_and_localhost_are_trustworthy_over_http() {
        for host in ["localhost:5000", "127.0.0.1", "[::1]:80", "app.localhost"] {
            assert!(
                CookieContext::new(host, false).is_potentially_trustworthy(),
                "{host}"
            );
        }
        assert!(!CookieContext::new("example.com", false).is_potentially_trustworthy());
        assert!(CookieContext::new("example.com", true).is_potentially_trustworthy());
    }
}
