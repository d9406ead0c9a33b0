//! What the unit tests of several modules build the same way.

use axum::http::header::COOKIE;
use axum::http::{HeaderMap, HeaderValue};

use crate::cookies::RequestCookies;

/// Request headers from name/value pairs, in order (a repeated name is
/// appended, as a client would send it twice).
pub(crate) fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
    let mut map = HeaderMap::new();
    for (name, value) in pairs {
        map.append(*name, HeaderValue::from_static(value));
    }
    map
}

/// The cookies of one `Cookie` header.
pub(crate) fn request_cookies(header: &str) -> RequestCookies {
    let mut map = HeaderMap::new();
    if let Ok(value) = HeaderValue::from_str(header) {
        map.insert(COOKIE, value);
    }
    RequestCookies::from_headers(&map)
}
