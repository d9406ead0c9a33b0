//! `--allowed-hosts`: a request for another Host name is refused, so a
//! page whose DNS name was rebound to this server's address (DNS
//! rebinding) can't read its pages, `/metrics` or `/api/openapi.json`.

use axum::extract::Request;
use axum::http::header::HOST;
use axum::response::Response;

use crate::config::AllowedHosts;
use crate::error::{PageError, error_response};

/// Routes that answer any Host: load balancers probe them by address.
const ANY_HOST: [&str; 2] = ["/healthz", "/readyz"];

/// The 421 answer for a request whose Host is not allowed.
pub fn misdirected(allowed: &AllowedHosts, request: &Request) -> Option<Response> {
    let path = request.uri().path();
    if ANY_HOST.contains(&path) {
        return None;
    }
    let host = request
        .headers()
        .get(HOST)
        .and_then(|h| h.to_str().ok())
        .or_else(|| request.uri().host())
        .unwrap_or("");
    if allowed.allows(host) {
        return None;
    }
    tracing::warn!(host = %host.escape_debug(), "request for a host this server doesn't serve");
    let page = PageError::misdirected();
    Some(error_response(path, page))
}
