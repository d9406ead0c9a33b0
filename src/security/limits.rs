//! Size limits on what a request may carry.

use axum::extract::Request;
use axum::http::Method;
use axum::http::header::COOKIE;
use axum::response::Response;

use crate::error::{PageError, PostAction, error_response};

/// A Cookie header larger than this gets 431. Browsers cap a site's cookies
/// near 180 × 4 KiB, but nothing legitimate here comes close to 64 KiB, and
/// every request pays for parsing it.
pub const MAX_COOKIE_HEADER_BYTES: usize = 64 * 1024;

/// The route the 431 page's button posts to. It alone reads an oversized
/// Cookie header (names only), to send a removal for each cookie in it.
pub const CLEAR_COOKIES_ROUTE: &str = "/cookies/clear";

/// The 431 page's way out.
static CLEAR_COOKIES: PostAction = PostAction {
    href: CLEAR_COOKIES_ROUTE,
    label: "Clear this site's cookies",
};

/// The 431 answer for a request whose Cookie headers are too large.
pub fn oversized_cookie_header(request: &Request) -> Option<Response> {
    if request.method() == Method::POST && request.uri().path() == CLEAR_COOKIES_ROUTE {
        return None;
    }
    let bytes: usize = request
        .headers()
        .get_all(COOKIE)
        .iter()
        .map(|v| v.len())
        .sum();
    if bytes <= MAX_COOKIE_HEADER_BYTES {
        return None;
    }
    tracing::warn!(bytes, "Cookie header too large");
    let page = PageError::cookie_header_too_large(bytes, MAX_COOKIE_HEADER_BYTES, &CLEAR_COOKIES);
    Some(error_response(request.uri().path(), page))
}
