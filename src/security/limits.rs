//! Size limits on what a request may carry.

use axum::extract::Request;
use axum::http::StatusCode;
use axum::http::header::COOKIE;
use axum::response::Response;

use crate::error::{PageError, error_response};

/// A Cookie header larger than this gets 431. Browsers cap a site's cookies
/// near 180 × 4 KiB, but nothing legitimate here comes close to 64 KiB, and
/// every request pays for parsing it.
pub const MAX_COOKIE_HEADER_BYTES: usize = 64 * 1024;

/// The 431 answer for a request whose Cookie headers are too large.
pub fn oversized_cookie_header(request: &Request) -> Option<Response> {
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
    let page = PageError::new(
        StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
        "Too many cookies",
        format!(
            "Your browser sent {} KiB of cookies with this request; cookie-lab reads at most {} KiB. \
             Clear this site's cookies in your browser's settings, then reload.",
            bytes.div_ceil(1024),
            MAX_COOKIE_HEADER_BYTES / 1024
        ),
    );
    Some(error_response(request.uri().path(), page))
}
